"""Shape manipulation: reshape, transpose, stacking, splitting, tiling, flipping.

(``repeat`` and ``roll``, which gather when traced, are with ``take`` in ``_indexing``.)"""
from __future__ import annotations

import operator

import numpy as np

from fad import lax
from fad.core.trace import Tracer
from fad.numpy import _ufuncs
from fad.numpy._promote import (any_traced, asarray, canonical_axes, normalize_axis,
                                dtype_of, ndim_of, promote, shape_of, stack_arrays)


def _size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def slice_axis(x, start: int, stop: int, axis: int, step: int = 1):
    """``x[..., start:stop:step, ...]`` on ``axis`` (non-negative, in-range bounds)."""
    shape = shape_of(x)
    if start == 0 and stop == shape[axis] and step == 1:
        return x
    starts, limits, strides = [0] * len(shape), list(shape), [1] * len(shape)
    starts[axis], limits[axis], strides[axis] = start, stop, step
    return lax.slice(x, tuple(starts), tuple(limits), tuple(strides))


# -- reshaping --------------------------------------------------------------------------------

def _resolve_shape(shape, size):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(operator.index(d)
                                                                       for d in shape)
    unknown = [i for i, d in enumerate(shape) if d == -1]
    if len(unknown) > 1:
        raise ValueError("can only specify one unknown dimension")
    if unknown:
        known = _size(d for d in shape if d != -1)
        if known == 0 or size % known:
            raise ValueError(f"cannot reshape array of size {size} into shape {shape}")
        shape = tuple(size // known if d == -1 else d for d in shape)
    if _size(shape) != size or any(d < 0 for d in shape):
        raise ValueError(f"cannot reshape array of size {size} into shape {shape}")
    return shape


def reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    """Like ``numpy.reshape`` (orders ``'C'`` and ``'F'``; one ``-1`` allowed)."""
    shape = newshape if shape is None else shape
    if not isinstance(a, Tracer):
        return np.reshape(a, shape, order=order)
    a = asarray(a)
    shape = _resolve_shape(shape, _size(shape_of(a)))
    if order == "F":
        return transpose(lax.reshape(transpose(a), shape[::-1]))
    if order not in ("C", "A"):
        raise ValueError(f"fad.numpy.reshape supports order 'C' and 'F', got {order!r}")
    return lax.reshape(a, shape)


def ravel(a, order="C"):
    """Like ``numpy.ravel``."""
    if not isinstance(a, Tracer):
        return np.ravel(a, order=order)
    return reshape(a, (-1,), order=order)


def transpose(a, axes=None):
    """Like ``numpy.transpose``: reverse the axes, or permute them by ``axes``."""
    if not isinstance(a, Tracer):
        return np.transpose(a, axes)
    a = asarray(a)
    ndim = ndim_of(a)
    if axes is None:
        return lax.transpose(a, tuple(range(ndim))[::-1])
    axes = tuple(normalize_axis(ax, ndim) for ax in axes)
    if sorted(axes) != list(range(ndim)):
        raise ValueError("axes don't match array")
    return lax.transpose(a, axes)


def permute_dims(a, axes=None):
    """Array API name of ``transpose``."""
    return transpose(a, axes)


def swapaxes(a, axis1, axis2):
    """Like ``numpy.swapaxes``."""
    if not isinstance(a, Tracer):
        return np.swapaxes(a, axis1, axis2)
    a = asarray(a)
    ndim = ndim_of(a)
    perm = list(range(ndim))
    i, j = normalize_axis(axis1, ndim), normalize_axis(axis2, ndim)
    perm[i], perm[j] = j, i
    return lax.transpose(a, perm)


def moveaxis(a, source, destination):
    """Like ``numpy.moveaxis`` (ints or sequences of axes)."""
    if not isinstance(a, Tracer):
        return np.moveaxis(a, source, destination)
    a = asarray(a)
    ndim = ndim_of(a)
    src = [normalize_axis(s, ndim) for s in np.atleast_1d(source).tolist()]
    dst = [normalize_axis(d, ndim) for d in np.atleast_1d(destination).tolist()]
    if len(src) != len(dst):
        raise ValueError("`source` and `destination` arguments must have the same number "
                         "of elements")
    order = [i for i in range(ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return lax.transpose(a, order)


def expand_dims(a, axis):
    """Like ``numpy.expand_dims`` (an int or a tuple of positions in the result)."""
    if not isinstance(a, Tracer):
        return np.expand_dims(a, axis)
    a = asarray(a)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    axes = canonical_axes(axes, ndim_of(a) + len(axes))
    return lax.expand_dims(a, axes)


def squeeze(a, axis=None):
    """Like ``numpy.squeeze``."""
    if not isinstance(a, Tracer):
        return np.squeeze(a, axis)
    a = asarray(a)
    shape = shape_of(a)
    if axis is None:
        axes = tuple(i for i, d in enumerate(shape) if d == 1)
    else:
        axes = canonical_axes(axis, len(shape))
        if any(shape[i] != 1 for i in axes):
            raise ValueError("cannot select an axis to squeeze out which has size not equal "
                             "to one")
    return lax.squeeze(a, axes)


def broadcast_to(array, shape):
    """Like ``numpy.broadcast_to``."""
    if not isinstance(array, Tracer):
        return np.broadcast_to(array, shape)
    array = asarray(array)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    try:
        if np.broadcast_shapes(shape_of(array), shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"operands could not be broadcast together with remapped shapes "
                         f"[original->remapped]: {shape_of(array)} and requested shape "
                         f"{shape}") from None
    return lax.broadcast_to(array, shape)


def broadcast_arrays(*args):
    """Like ``numpy.broadcast_arrays`` (returns a tuple)."""
    if not any_traced(args):
        return np.broadcast_arrays(*args)
    args = [asarray(a) for a in args]
    shape = np.broadcast_shapes(*(shape_of(a) for a in args))
    return tuple(broadcast_to(a, shape) for a in args)


def _atleast_shape(shape, nd):
    """NumPy's padding of ``shape`` to ``nd`` dims: (n,) -> (1, n) and (1, n, 1)."""
    if len(shape) >= nd:
        return shape
    if len(shape) == 0:
        return (1,) * nd
    if len(shape) == 1:
        return ((1,) + shape + (1,))[:nd]
    return shape + (1,)


def _atleast(nd, np_fn):
    def fn(*arys):
        if not any_traced(arys):
            return np_fn(*arys)
        outs = []
        for a in map(asarray, arys):
            new = _atleast_shape(shape_of(a), nd)
            outs.append(lax.reshape(a, new) if new != shape_of(a) else a)
        return outs[0] if len(outs) == 1 else tuple(outs)
    fn.__name__ = fn.__qualname__ = np_fn.__name__
    fn.__doc__ = f"Like ``numpy.{np_fn.__name__}``."
    return fn


atleast_1d = _atleast(1, np.atleast_1d)
atleast_2d = _atleast(2, np.atleast_2d)
atleast_3d = _atleast(3, np.atleast_3d)


# -- joining ----------------------------------------------------------------------------------

def concatenate(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """Like ``numpy.concatenate``; ``axis=None`` flattens first."""
    arrays = list(arrays)
    if not any_traced(arrays):
        return np.concatenate(arrays, axis=axis, out=out, dtype=dtype, casting=casting)
    arrays = [asarray(a) for a in arrays]
    if axis is None:
        arrays, axis = [ravel(a) if isinstance(a, Tracer) else np.ravel(a) for a in arrays], 0
    if dtype is not None:
        arrays = [lax.convert_element_type(a, dtype) for a in arrays]
    arrays = promote(*arrays)
    shapes = [shape_of(a) for a in arrays]
    if any(len(s) == 0 for s in shapes):
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    ndim = len(shapes[0])
    axis = normalize_axis(axis, ndim)
    for i, s in enumerate(shapes):
        if len(s) != ndim:
            raise ValueError("all the input array dimensions except for the concatenation "
                             f"axis must match exactly, but array 0 has {ndim} dimension(s) "
                             f"and the array at index {i} has {len(s)} dimension(s)")
        if s[:axis] + s[axis + 1:] != shapes[0][:axis] + shapes[0][axis + 1:]:
            raise ValueError("all the input array dimensions except for the concatenation "
                             f"axis must match exactly, but the shapes are {shapes[0]} and "
                             f"{s} (array at index {i}) with axis {axis}")
    return lax.concatenate(arrays, axis) if len(arrays) > 1 else arrays[0]


concat = concatenate


def stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """Like ``numpy.stack``: join along a new axis."""
    arrays = list(arrays)
    if not any_traced(arrays):
        return np.stack(arrays, axis=axis, out=out, dtype=dtype, casting=casting)
    return stack_arrays(arrays, axis, dtype)


def hstack(tup, *, dtype=None, casting="same_kind"):
    """Like ``numpy.hstack``."""
    if not any_traced(tup):
        return np.hstack(tup, dtype=dtype, casting=casting)
    arrs = [atleast_1d(a) for a in tup]
    return concatenate(arrs, 0 if ndim_of(arrs[0]) == 1 else 1, dtype=dtype)


def vstack(tup, *, dtype=None, casting="same_kind"):
    """Like ``numpy.vstack``."""
    if not any_traced(tup):
        return np.vstack(tup, dtype=dtype, casting=casting)
    return concatenate([atleast_2d(a) for a in tup], 0, dtype=dtype)


row_stack = vstack


def dstack(tup):
    """Like ``numpy.dstack``."""
    if not any_traced(tup):
        return np.dstack(tup)
    return concatenate([atleast_3d(a) for a in tup], 2)


def column_stack(tup):
    """Like ``numpy.column_stack``."""
    if not any_traced(tup):
        return np.column_stack(tup)
    cols = [reshape(asarray(a), (-1, 1)) if ndim_of(asarray(a)) < 2 else asarray(a)
            for a in tup]
    return concatenate(cols, 1)


# -- splitting --------------------------------------------------------------------------------

def _split_points(n, indices_or_sections, even):
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        if even and n % sections:
            raise ValueError("array split does not result in an equal division")
        each, extra = divmod(n, sections)
        sizes = [each + 1] * extra + [each] * (sections - extra)
        return np.cumsum([0] + sizes).tolist()
    points = [int(i) for i in indices_or_sections]
    return [0] + points + [n]


def array_split(ary, indices_or_sections, axis=0):
    """Like ``numpy.array_split`` (static split points)."""
    if not isinstance(ary, Tracer):
        return np.array_split(ary, indices_or_sections, axis)
    return _split(ary, indices_or_sections, axis, even=False)


def split(ary, indices_or_sections, axis=0):
    """Like ``numpy.split`` (static split points; equal sections must divide evenly)."""
    if not isinstance(ary, Tracer):
        return np.split(ary, indices_or_sections, axis)
    return _split(ary, indices_or_sections, axis, even=True)


def _split(ary, indices_or_sections, axis, even):
    ary = asarray(ary)
    axis = normalize_axis(axis, ndim_of(ary))
    n = shape_of(ary)[axis]
    bounds = _split_points(n, indices_or_sections, even)
    outs = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        lo, hi = slice(lo, hi).indices(n)[:2]
        outs.append(slice_axis(ary, lo, max(lo, hi), axis))
    return outs


def hsplit(ary, indices_or_sections):
    """Like ``numpy.hsplit``."""
    return split(ary, indices_or_sections, 1 if np.ndim(ary) > 1 or (
        isinstance(ary, Tracer) and ndim_of(ary) > 1) else 0)


def vsplit(ary, indices_or_sections):
    """Like ``numpy.vsplit``."""
    return split(ary, indices_or_sections, 0)


# -- repetition, flipping, rolling ----------------------------------------------------------------

def tile(A, reps):
    """Like ``numpy.tile``."""
    if not isinstance(A, Tracer):
        return np.tile(A, reps)
    A = asarray(A)
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    shape = shape_of(A)
    nd = max(len(shape), len(reps))
    shape = (1,) * (nd - len(shape)) + shape
    reps = (1,) * (nd - len(reps)) + tuple(int(r) for r in reps)
    x = lax.reshape(A, shape)
    big = tuple(d for r, s in zip(reps, shape) for d in (r, s))
    x = lax.broadcast_in_dim(x, big, tuple(range(1, 2 * nd, 2)))
    return lax.reshape(x, tuple(r * s for r, s in zip(reps, shape)))


def flip(m, axis=None):
    """Like ``numpy.flip``."""
    if not isinstance(m, Tracer):
        return np.flip(m, axis)
    m = asarray(m)
    axes = canonical_axes(axis, ndim_of(m))
    return lax.rev(m, axes) if axes else m


def fliplr(m):
    """Like ``numpy.fliplr``."""
    if not isinstance(m, Tracer):
        return np.fliplr(m)
    if ndim_of(m) < 2:
        raise ValueError("Input must be >= 2-d.")
    return flip(m, 1)


def flipud(m):
    """Like ``numpy.flipud``."""
    if not isinstance(m, Tracer):
        return np.flipud(m)
    if ndim_of(m) < 1:
        raise ValueError("Input must be >= 1-d.")
    return flip(m, 0)


def diff(a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    """Like ``numpy.diff``: ``n``-th discrete difference along ``axis``."""
    if not any_traced([a, prepend, append]):
        return np.diff(a, n, axis, prepend, append)
    a = asarray(a)
    axis = normalize_axis(axis, ndim_of(a))
    parts = [a]
    for extra, at_end in ((prepend, False), (append, True)):
        if extra is not np._NoValue:
            shape = list(shape_of(a))
            shape[axis] = 1
            e = asarray(extra)
            e = broadcast_to(e, tuple(shape)) if ndim_of(e) == 0 else e
            parts = parts + [e] if at_end else [e] + parts
    a = concatenate(parts, axis) if len(parts) > 1 else a
    op = _ufuncs.not_equal if dtype_of(a) == np.bool_ else _ufuncs.subtract
    for _ in range(n):
        m = shape_of(a)[axis]
        a = op(slice_axis(a, 1, m, axis), slice_axis(a, 0, max(m - 1, 0), axis))
    return a


def shape(a):
    """Like ``numpy.shape``."""
    return shape_of(a) if isinstance(a, Tracer) else np.shape(a)


def ndim(a):
    """Like ``numpy.ndim``."""
    return ndim_of(a) if isinstance(a, Tracer) else np.ndim(a)


def size(a, axis=None):
    """Like ``numpy.size``."""
    if not isinstance(a, Tracer):
        return np.size(a, axis)
    return _size(shape_of(a)) if axis is None else shape_of(a)[normalize_axis(axis, ndim_of(a))]


__all__ = ["reshape", "ravel", "transpose", "permute_dims", "swapaxes", "moveaxis",
           "expand_dims", "squeeze", "broadcast_to", "broadcast_arrays", "atleast_1d",
           "atleast_2d", "atleast_3d", "concatenate", "concat", "stack", "hstack", "vstack",
           "row_stack", "dstack", "column_stack", "array_split", "split", "hsplit", "vsplit",
           "tile", "flip", "fliplr", "flipud", "diff", "shape", "ndim",
           "size"]
