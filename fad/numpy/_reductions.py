"""Reductions with NumPy's ``axis``/``keepdims`` conventions."""
from __future__ import annotations

import numpy as np

from fad import lax
from fad.core.abstract import get_aval
from fad.core.trace import Tracer
from fad.numpy._promote import promote_inexact


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int) or hasattr(axis, "__index__"):
        return (int(axis),)
    return tuple(int(a) for a in axis)


def _keep(out, axes, ndim, keepdims):
    if not keepdims:
        return out
    axes = tuple(a % ndim for a in axes)
    return lax.expand_dims(out, axes)


def sum(a, axis=None, dtype=None, keepdims=False):  # noqa: A001
    """Like ``numpy.sum``."""
    if not isinstance(a, Tracer):
        return np.sum(a, axis=axis, dtype=dtype, keepdims=keepdims)
    aval = get_aval(a)
    if dtype is not None:
        a = lax.convert_element_type(a, dtype)
    elif aval.dtype.kind in "bi" and aval.dtype.itemsize < 8:
        a = lax.convert_element_type(a, np.int64)
    elif aval.dtype.kind == "u" and aval.dtype.itemsize < 8:
        a = lax.convert_element_type(a, np.uint64)
    axes = _axes(axis, aval.ndim)
    return _keep(lax.reduce_sum(a, axes), axes, aval.ndim, keepdims)


def mean(a, axis=None, dtype=None, keepdims=False):
    """Like ``numpy.mean``."""
    if not isinstance(a, Tracer):
        return np.mean(a, axis=axis, dtype=dtype, keepdims=keepdims)
    aval = get_aval(a)
    axes = _axes(axis, aval.ndim)
    n = 1
    for ax in axes:
        n *= aval.shape[ax]
    (a,) = promote_inexact(a) if dtype is None else (lax.convert_element_type(a, dtype),)
    return lax.div(sum(a, axis=axis, keepdims=keepdims), n)


__all__ = ["sum", "mean"]
