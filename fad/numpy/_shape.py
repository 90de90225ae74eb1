"""Shape manipulation and creation."""
from __future__ import annotations

import numpy as np

from fad import lax
from fad.core.abstract import get_aval
from fad.core.trace import Tracer
from fad.numpy._promote import asarray, promote


def reshape(a, shape, order="C"):
    """Like ``numpy.reshape`` (C order; one ``-1`` allowed)."""
    if not isinstance(a, Tracer):
        return np.reshape(a, shape, order=order)
    if order != "C":
        raise NotImplementedError("fad.numpy.reshape supports order='C' only")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    size = get_aval(a).size
    if shape.count(-1) > 1:
        raise ValueError("can only specify one unknown dimension (-1)")
    if -1 in shape:
        known = int(np.prod([d for d in shape if d != -1]))
        if known == 0 or size % known:
            raise ValueError(f"cannot reshape array of size {size} into shape {shape}")
        shape = tuple(size // known if d == -1 else d for d in shape)
    return lax.reshape(a, shape)


def stack(arrays, axis=0):
    """Like ``numpy.stack``."""
    arrays = list(arrays)
    if not any(isinstance(a, Tracer) for a in arrays):
        return np.stack(arrays, axis=axis)
    if not arrays:
        raise ValueError("need at least one array to stack")
    arrays = promote(*[asarray(a) for a in arrays])
    shapes = {get_aval(a).shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"all input arrays must have the same shape, got {sorted(shapes)}")
    ndim = get_aval(arrays[0]).ndim + 1
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    axis %= ndim
    return lax.concatenate([lax.expand_dims(a, (axis,)) for a in arrays], axis)


__all__ = ["reshape", "stack"]
