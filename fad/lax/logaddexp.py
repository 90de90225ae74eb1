"""``logaddexp`` and ``logaddexp2``: ``log(exp(x) + exp(y))`` (base 2: ``log2(2**x + 2**y)``)
as primitives of their own, computed by NumPy's overflow-free ufuncs.

The derivative with respect to one operand is the weight of that operand in the sum,
a logistic function of the difference of the operands:

    d/dx logaddexp(x, y) = exp(x) / (exp(x) + exp(y)) = logistic(x - y)

(in base 2, ``logistic((x - y) * log(2))``). Written with the difference rather than
with the result (``exp(x - ans)``), it is accurate at every magnitude, never overflows,
and does not need the primal result, so a compiled gradient need not compute it.

Where ``x == y`` the weights are exactly 1/2, also at equal infinities
(``logaddexp(-inf, -inf) == -inf``), where ``x - y`` is nan: the difference is taken as
0 there. When the other operand is a constant with only finite values, that case cannot
arise and the derivative is just ``logistic(x - y)``, or ``logistic(x)`` if that
constant is 0 (the softplus ``logaddexp(0, x)``).
"""
from __future__ import annotations

import math

import numpy as np

from fad.core.abstract import get_aval
from fad.core.trace import Tracer
from fad.lax.elementwise import _promote, eq, logistic, mul, select_n, sub
from fad.lax.rules import REAL_FLOAT_KINDS, defderiv, elementwise

logaddexp_p = elementwise("logaddexp", np.logaddexp, REAL_FLOAT_KINDS)
logaddexp2_p = elementwise("logaddexp2", np.logaddexp2, REAL_FLOAT_KINDS)


def logaddexp(x, y):
    """``log(exp(x) + exp(y))`` elementwise, without overflow, with NumPy broadcasting.

    >>> logaddexp(np.float64(0.0), np.float64(0.0))
    np.float64(0.6931471805599453)
    """
    return logaddexp_p.bind(*_promote(x, y, "logaddexp"))


def logaddexp2(x, y):
    """``log2(2**x + 2**y)`` elementwise, without overflow, with NumPy broadcasting.

    >>> logaddexp2(np.float64(1.0), np.float64(1.0))
    np.float64(2.0)
    """
    return logaddexp2_p.bind(*_promote(x, y, "logaddexp2"))


def _finite_constant(v):
    """Whether ``v`` is a concrete value (not traced) whose entries are all finite."""
    return not isinstance(v, Tracer) and bool(np.isfinite(v).all())


def _weight(scale):
    """The partial derivative in operand ``a`` (the other being ``b``):
    ``logistic((a - b) * scale)``, with the difference taken as 0 where ``a == b``."""
    def weight(a, b):
        if _finite_constant(b):     # no equal infinities: the plain difference is safe
            d = a if not np.asarray(b).any() else sub(a, b)
        elif _finite_constant(a):
            d = sub(a, b)
        else:                       # 0 - 0 where a == b: no inf - inf, and no warning
            tie, zero = eq(a, b), np.zeros((), get_aval(a).dtype)[()]
            d = sub(select_n(tie, a, zero), select_n(tie, b, zero))
        if scale != 1:
            d = mul(d, np.asarray(scale, get_aval(a).dtype)[()])
        return logistic(d)
    return weight


for _prim, _scale in ((logaddexp_p, 1), (logaddexp2_p, math.log(2))):
    _w = _weight(_scale)
    defderiv(_prim, lambda ans, x, y, _w=_w: _w(x, y), lambda ans, x, y, _w=_w: _w(y, x))

__all__ = ["logaddexp", "logaddexp2", "logaddexp_p", "logaddexp2_p"]
