"""Operators and array methods on tracers, routed to fad.numpy."""
from __future__ import annotations

from fad.core.trace import Tracer
import fad.numpy as fnp


def _swap(fn):
    return lambda self, other: fn(other, self)


Tracer.__neg__ = lambda self: fnp.negative(self)
Tracer.__pos__ = lambda self: self
Tracer.__abs__ = lambda self: fnp.absolute(self)
Tracer.__add__ = lambda self, other: fnp.add(self, other)
Tracer.__radd__ = _swap(fnp.add)
Tracer.__sub__ = lambda self, other: fnp.subtract(self, other)
Tracer.__rsub__ = _swap(fnp.subtract)
Tracer.__mul__ = lambda self, other: fnp.multiply(self, other)
Tracer.__rmul__ = _swap(fnp.multiply)
Tracer.__truediv__ = lambda self, other: fnp.divide(self, other)
Tracer.__rtruediv__ = _swap(fnp.divide)
Tracer.__pow__ = lambda self, other: fnp.power(self, other)
Tracer.__rpow__ = _swap(fnp.power)
Tracer.__lt__ = lambda self, other: fnp.less(self, other)
Tracer.__le__ = lambda self, other: fnp.less_equal(self, other)
Tracer.__gt__ = lambda self, other: fnp.greater(self, other)
Tracer.__ge__ = lambda self, other: fnp.greater_equal(self, other)
Tracer.__eq__ = lambda self, other: fnp.equal(self, other)
Tracer.__ne__ = lambda self, other: fnp.not_equal(self, other)
Tracer.sum = lambda self, axis=None, dtype=None, keepdims=False: fnp.sum(self, axis, dtype, keepdims)
Tracer.mean = lambda self, axis=None, dtype=None, keepdims=False: fnp.mean(self, axis, dtype, keepdims)
Tracer.reshape = lambda self, *shape, order="C": fnp.reshape(
    self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape, order)
