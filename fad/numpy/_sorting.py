"""Sorting on ``lax.sort``: ``sort`` and ``argsort`` (stable, NaNs last, like NumPy)."""
from __future__ import annotations

import numpy as np

from fad import lax
from fad.core.trace import Tracer
from fad.numpy._promote import normalize_axis, shape_of
from fad.numpy._shape import ravel


def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Like ``numpy.sort`` (``axis=None`` sorts the flattened array)."""
    if not isinstance(a, Tracer):
        return np.sort(a, axis, kind, order, stable=stable)
    if axis is None:
        a, axis = ravel(a), 0
    return lax.sort(a, normalize_axis(axis, len(shape_of(a))))


def argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Like ``numpy.argsort``: the indices that sort ``a`` (stable)."""
    if not isinstance(a, Tracer):
        return np.argsort(a, axis, kind, order, stable=stable)
    if axis is None or not shape_of(a):   # (NumPy sorts a 0-d array as a 1-element one)
        a, axis = ravel(a), 0
    shape = shape_of(a)
    axis = normalize_axis(axis, len(shape))
    iota = np.broadcast_to(np.arange(shape[axis]).reshape(
        [-1 if d == axis else 1 for d in range(len(shape))]), shape)
    return lax.sort((a, iota), axis, True, 1)[1]


__all__ = ["sort", "argsort"]
