"""NumPy's type promotion for fad.numpy: the only place operands change dtype."""
from __future__ import annotations

import numpy as np

from fad.core import dtypes
from fad.core.abstract import get_aval
from fad.core.trace import Tracer
from fad.lax import convert_element_type

_SCALARS = (bool, int, float, complex)


def is_traced(*args) -> bool:
    for a in args:
        if isinstance(a, Tracer):
            return True
    return False


def asarray(x):
    """``x`` as an array or tracer (lists and tuples become NumPy arrays)."""
    if isinstance(x, (Tracer, np.ndarray, np.generic)):
        return x
    if type(x) in _SCALARS:
        return x
    if isinstance(x, (list, tuple)):
        if any(isinstance(e, Tracer) for e in _iter_nested(x)):
            from fad.numpy import stack
            return stack([asarray(e) for e in x])
        return np.asarray(x)
    out = np.asarray(x)
    dtypes.check_dtype(out.dtype, "argument")
    return out


def _iter_nested(x):
    for e in x:
        if isinstance(e, (list, tuple)):
            yield from _iter_nested(e)
        else:
            yield e


def promote(*args):
    """Convert operands to their common dtype by NumPy's rules; Python scalars stay weak
    (they adopt the array dtype, as in NumPy 2)."""
    avals = [get_aval(a) for a in args]
    dtype, weak = dtypes.result_type(*avals)
    out = []
    for a, av in zip(args, avals):
        if type(a) in _SCALARS:
            out.append(np.asarray(a, dtype)[()])
        elif av.dtype != dtype:
            out.append(convert_element_type(a, dtype))
        else:
            out.append(a)
    return out


def promote_inexact(*args):
    """``promote``, then move integers and bools to the float dtype NumPy would use."""
    args = promote(*args)
    dtype = get_aval(args[0]).dtype
    if dtype.kind in "fc":
        return args
    target = dtypes.to_inexact_dtype(dtype)
    return [convert_element_type(a, target) for a in args]
