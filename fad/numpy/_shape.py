"""Shape manipulation: reshape, transpose, stacking, splitting, tiling, flipping,
rotating; inserting and deleting entries at static positions; ``diff``.

(``repeat`` and ``roll``, which gather when traced, are with ``take`` in ``_indexing``.)
``insert`` and ``delete`` let NumPy itself apply the call to an array of labels (the
positions in the operands): the labels it returns are the static gather that builds the
result, so every form of ``obj`` NumPy reads is read as NumPy reads it."""
from __future__ import annotations

import operator

import numpy as np
from numpy.exceptions import AxisError

from fad import lax
from fad.core import doc_examples as _doc_examples
from fad.core.trace import Tracer
from fad.errors import ConcretizationTypeError
from fad.numpy import _ufuncs
from fad.numpy._promote import (accept_traced_sequences_in, any_traced, asarray,
                                canonical_axes, cast, concrete_or_none, dtype_of, ndim_of,
                                normalize_axis, promote, shape_of, stack_arrays)


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
    """Like ``numpy.reshape`` (orders ``'C'`` and ``'F'``; one ``-1`` allowed).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.reshape(np.arange(6), (2, -1))
    array([[0, 1, 2],
           [3, 4, 5]])
    >>> fnp.reshape(np.arange(6), (2, 3), order='F')
    array([[0, 2, 4],
           [1, 3, 5]])
    """
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
    """Like ``numpy.ravel``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.ravel(np.array([[1, 2], [3, 4]]))
    array([1, 2, 3, 4])
    """
    if not isinstance(a, Tracer):
        return np.ravel(a, order=order)
    return reshape(a, (-1,), order=order)


def transpose(a, axes=None):
    """Like ``numpy.transpose``: reverse the axes, or permute them by ``axes``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.transpose(np.array([[1, 2], [3, 4]]))
    array([[1, 3],
           [2, 4]])
    >>> fnp.transpose(np.ones((2, 3, 4)), (1, 0, 2)).shape
    (3, 2, 4)
    """
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
    """Array API name of ``transpose``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.permute_dims(np.ones((2, 3, 4)), (2, 0, 1)).shape
    (4, 2, 3)
    """
    return transpose(a, axes)


def swapaxes(a, axis1, axis2):
    """Like ``numpy.swapaxes``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.swapaxes(np.ones((2, 3, 4)), 0, 2).shape
    (4, 3, 2)
    """
    if not isinstance(a, Tracer):
        return np.swapaxes(a, axis1, axis2)
    a = asarray(a)
    ndim = ndim_of(a)
    perm = list(range(ndim))
    i, j = normalize_axis(axis1, ndim), normalize_axis(axis2, ndim)
    perm[i], perm[j] = j, i
    return lax.transpose(a, perm)


def moveaxis(a, source, destination):
    """Like ``numpy.moveaxis`` (ints or sequences of axes).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.moveaxis(np.ones((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
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
    """Like ``numpy.expand_dims`` (an int or a tuple of positions in the result).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.expand_dims(np.array([1, 2]), 0).shape
    (1, 2)
    >>> fnp.expand_dims(np.array([1, 2]), (0, 2)).shape
    (1, 2, 1)
    """
    if not isinstance(a, Tracer):
        return np.expand_dims(a, axis)
    a = asarray(a)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    axes = canonical_axes(axes, ndim_of(a) + len(axes))
    return lax.expand_dims(a, axes)


def squeeze(a, axis=None):
    """Like ``numpy.squeeze``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.squeeze(np.ones((1, 2, 1))).shape
    (2,)
    >>> fnp.squeeze(np.ones((1, 2, 1)), axis=0).shape
    (2, 1)
    """
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
    """Like ``numpy.broadcast_to``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.broadcast_to(np.array([1, 2]), (2, 2))
    array([[1, 2],
           [1, 2]])
    """
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
    """Like ``numpy.broadcast_arrays`` (returns a tuple).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> [a.shape for a in fnp.broadcast_arrays(np.ones((2, 1)), np.ones(3))]
    [(2, 3), (2, 3)]
    """
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
    fn.__doc__ = f"Like ``numpy.{np_fn.__name__}``.\n\n" + _doc_examples.call_example(
        f"fnp.{np_fn.__name__}(x)", f"np.{np_fn.__name__}(x)", "np.array([1.0, 2.0])",
        "np.ones(2)") + "\n"
    return fn


atleast_1d = _atleast(1, np.atleast_1d)
atleast_2d = _atleast(2, np.atleast_2d)
atleast_3d = _atleast(3, np.atleast_3d)


# -- joining ----------------------------------------------------------------------------------

def concatenate(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """Like ``numpy.concatenate``; ``axis=None`` flattens first.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.concatenate([np.array([1, 2]), np.array([3])])
    array([1, 2, 3])
    >>> fad.grad(lambda x: fnp.concatenate([x, 2 * x]).sum())(np.ones(2))
    array([3., 3.])
    """
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
    """Like ``numpy.stack``: join along a new axis.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.stack([np.array([1, 2]), np.array([3, 4])], axis=1)
    array([[1, 3],
           [2, 4]])
    """
    arrays = list(arrays)
    if not any_traced(arrays):
        return np.stack(arrays, axis=axis, out=out, dtype=dtype, casting=casting)
    return stack_arrays(arrays, axis, dtype)


def hstack(tup, *, dtype=None, casting="same_kind"):
    """Like ``numpy.hstack``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.hstack([np.array([1, 2]), np.array([3])])
    array([1, 2, 3])
    """
    if not any_traced(tup):
        return np.hstack(tup, dtype=dtype, casting=casting)
    arrs = [atleast_1d(a) for a in tup]
    return concatenate(arrs, 0 if ndim_of(arrs[0]) == 1 else 1, dtype=dtype)


def vstack(tup, *, dtype=None, casting="same_kind"):
    """Like ``numpy.vstack``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.vstack([np.array([1, 2]), np.array([3, 4])])
    array([[1, 2],
           [3, 4]])
    """
    if not any_traced(tup):
        return np.vstack(tup, dtype=dtype, casting=casting)
    return concatenate([atleast_2d(a) for a in tup], 0, dtype=dtype)


row_stack = vstack


def dstack(tup):
    """Like ``numpy.dstack``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.dstack([np.array([1, 2]), np.array([3, 4])]).shape
    (1, 2, 2)
    """
    if not any_traced(tup):
        return np.dstack(tup)
    return concatenate([atleast_3d(a) for a in tup], 2)


def column_stack(tup):
    """Like ``numpy.column_stack``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.column_stack([np.array([1, 2]), np.array([3, 4])])
    array([[1, 3],
           [2, 4]])
    """
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
    """Like ``numpy.array_split`` (static split points).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> [a.tolist() for a in fnp.array_split(np.arange(5), 2)]
    [[0, 1, 2], [3, 4]]
    """
    if not isinstance(ary, Tracer):
        return np.array_split(ary, indices_or_sections, axis)
    return _split(ary, indices_or_sections, axis, even=False)


def split(ary, indices_or_sections, axis=0):
    """Like ``numpy.split`` (static split points; equal sections must divide evenly).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> [a.tolist() for a in fnp.split(np.arange(6), 3)]
    [[0, 1], [2, 3], [4, 5]]
    >>> [a.tolist() for a in fnp.split(np.arange(6), [1, 4])]
    [[0], [1, 2, 3], [4, 5]]
    """
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


def _ndim_any(ary):
    return ndim_of(ary) if isinstance(ary, Tracer) else np.ndim(ary)


def hsplit(ary, indices_or_sections):
    """Like ``numpy.hsplit``: ``split`` along axis 1 (axis 0 of a 1-D array).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> [a.tolist() for a in fnp.hsplit(np.array([[1, 2], [3, 4]]), 2)]
    [[[1], [3]], [[2], [4]]]
    """
    if _ndim_any(ary) == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(ary, indices_or_sections, 1 if _ndim_any(ary) > 1 else 0)


def vsplit(ary, indices_or_sections):
    """Like ``numpy.vsplit``: ``split`` along axis 0 of an array of 2 or more dimensions.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> [a.tolist() for a in fnp.vsplit(np.array([[1, 2], [3, 4]]), 2)]
    [[[1, 2]], [[3, 4]]]
    """
    if _ndim_any(ary) < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, 0)


def dsplit(ary, indices_or_sections):
    """Like ``numpy.dsplit``: ``split`` along axis 2 of an array of 3 or more dimensions.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> [a.shape for a in fnp.dsplit(np.ones((1, 2, 4)), 2)]
    [(1, 2, 2), (1, 2, 2)]
    """
    if _ndim_any(ary) < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, 2)


# -- repetition, flipping, rolling ----------------------------------------------------------------

def tile(A, reps):
    """Like ``numpy.tile``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.tile(np.array([1, 2]), 2)
    array([1, 2, 1, 2])
    >>> fnp.tile(np.array([1, 2]), (2, 1))
    array([[1, 2],
           [1, 2]])
    """
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
    """Like ``numpy.flip``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.flip(np.array([[1, 2], [3, 4]]))
    array([[4, 3],
           [2, 1]])
    """
    if not isinstance(m, Tracer):
        return np.flip(m, axis)
    m = asarray(m)
    axes = canonical_axes(axis, ndim_of(m))
    return lax.rev(m, axes) if axes else m


def fliplr(m):
    """Like ``numpy.fliplr``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.fliplr(np.array([[1, 2], [3, 4]]))
    array([[2, 1],
           [4, 3]])
    """
    if not isinstance(m, Tracer):
        return np.fliplr(m)
    if ndim_of(m) < 2:
        raise ValueError("Input must be >= 2-d.")
    return flip(m, 1)


def flipud(m):
    """Like ``numpy.flipud``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.flipud(np.array([[1, 2], [3, 4]]))
    array([[3, 4],
           [1, 2]])
    """
    if not isinstance(m, Tracer):
        return np.flipud(m)
    if ndim_of(m) < 1:
        raise ValueError("Input must be >= 1-d.")
    return flip(m, 0)


def diff(a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    """Like ``numpy.diff``: ``n``-th discrete difference along ``axis``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.diff(np.array([1, 4, 9, 16]))
    array([3, 5, 7])
    >>> fnp.diff(np.array([1, 4, 9, 16]), n=2)
    array([2, 2])
    """
    if not any_traced([a, prepend, append]):
        return np.diff(a, n, axis, prepend, append)
    a = asarray(a)
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n!r}")
    if ndim_of(a) == 0:
        raise ValueError("diff requires input that is at least one dimensional")
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


def rot90(m, k=1, axes=(0, 1)):
    """Like ``numpy.rot90``: rotate by ``k`` quarter turns from ``axes[0]`` towards
    ``axes[1]``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.rot90(np.array([[1, 2], [3, 4]]))
    array([[2, 4],
           [1, 3]])
    """
    if not isinstance(m, Tracer):
        return np.rot90(m, k, axes)
    m = asarray(m)
    axes = tuple(axes)
    ndim = ndim_of(m)
    if len(axes) != 2:
        raise ValueError("len(axes) must be 2.")
    if axes[0] == axes[1] or abs(axes[0] - axes[1]) == ndim:
        raise ValueError("Axes must be different.")
    if not all(-ndim <= ax < ndim for ax in axes):
        raise ValueError(f"Axes={axes} out of range for array of ndim={ndim}.")
    first, second = (ax % ndim for ax in axes)
    k = operator.index(k) % 4
    if k == 0:
        return m
    if k == 2:
        return lax.rev(m, (first, second))
    perm = list(range(ndim))
    perm[first], perm[second] = second, first
    if k == 1:   # flip along the second axis, then swap the two
        return lax.transpose(lax.rev(m, (second,)), perm)
    return lax.rev(lax.transpose(m, perm), (second,))


def rollaxis(a, axis, start=0):
    """Like ``numpy.rollaxis`` (``moveaxis`` is the clearer spelling).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.rollaxis(np.ones((2, 3, 4)), 2).shape
    (4, 2, 3)
    """
    if not isinstance(a, Tracer):
        return np.rollaxis(a, axis, start)
    a = asarray(a)
    n = ndim_of(a)
    axis = normalize_axis(axis, n)
    start = operator.index(start)
    if start < 0:
        start += n
    if not 0 <= start < n + 1:
        raise AxisError(f"start={start - n if start < 0 else start} must be in the range "
                        f"[{-n}, {n + 1})")
    if axis < start:
        start -= 1
    if axis == start:
        return a
    order = [i for i in range(n) if i != axis]
    order.insert(start, axis)
    return lax.transpose(a, order)


# -- inserting and deleting (static positions) --------------------------------------------------

def _static_positions(obj, name):
    """``obj`` (an int, slice, sequence or array of positions or a mask) without tracers:
    where entries go or come from decides the output's shape."""
    if isinstance(obj, slice) or not (isinstance(obj, Tracer) or (
            isinstance(obj, (list, tuple)) and any_traced(obj))):
        return obj
    value = concrete_or_none(asarray(obj))
    if value is None:
        raise ConcretizationTypeError(
            f"fad.numpy.{name} needs static positions (obj decides the output shape), got a "
            "traced obj; pass Python ints, a slice or a NumPy array")
    return np.asarray(value)


def _gather_labels(sources, labels):
    """The entries of the flattened ``sources`` (joined) at ``labels``, a static array of
    positions in that join: the output of ``insert``/``delete`` computed by NumPy on the
    labels themselves."""
    flat = [reshape(s, (-1,)) for s in sources]
    flat = lax.concatenate(flat, 0) if len(flat) > 1 else flat[0]
    return lax.gather(flat, labels.astype(np.int64)[..., None], (0,))


def insert(arr, obj, values, axis=None):
    """Like ``numpy.insert`` (``obj`` static: an int, slice or sequence of positions);
    ``values`` are cast to ``arr``'s dtype as NumPy casts them.

    >>> insert(np.array([1., 2., 3.]), [1, 3], 0.5)
    array([1. , 0.5, 2. , 3. , 0.5])
    """
    if not any_traced([arr, obj, values]):
        return np.insert(arr, obj, values, axis)
    arr = asarray(arr)
    obj = _static_positions(obj, "insert")
    values = cast(asarray(values), dtype_of(arr))
    n, k = _size(shape_of(arr)), _size(shape_of(values))
    labels = np.insert(np.arange(n).reshape(shape_of(arr)), obj,
                       np.arange(n, n + k).reshape(shape_of(values)), axis)
    return _gather_labels([arr, values], labels)


def delete(arr, obj, axis=None):
    """Like ``numpy.delete`` (``obj`` static: an int, slice, sequence of positions or a
    boolean mask).

    >>> delete(np.arange(5.0), slice(1, None, 2))
    array([0., 2., 4.])
    """
    if not any_traced([arr, obj]):
        return np.delete(arr, obj, axis)
    arr = asarray(arr)
    obj = _static_positions(obj, "delete")
    labels = np.delete(np.arange(_size(shape_of(arr))).reshape(shape_of(arr)), obj, axis)
    return _gather_labels([arr], labels)


def append(arr, values, axis=None):
    """Like ``numpy.append``: ``concatenate`` after flattening both when ``axis`` is None.

    >>> append(np.array([1, 2]), [[3.5]])
    array([1. , 2. , 3.5])
    """
    if not any_traced([arr, values]):
        return np.append(arr, values, axis)
    arr, values = asarray(arr), asarray(values)
    if axis is None:
        arr = arr if ndim_of(arr) == 1 else ravel(arr)
        values, axis = ravel(values), ndim_of(arr) - 1
    return concatenate((arr, values), axis)


def shape(a):
    """Like ``numpy.shape``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.shape(np.ones((2, 3)))
    (2, 3)
    >>> fnp.shape(1.0)
    ()
    """
    return shape_of(a) if isinstance(a, Tracer) else np.shape(a)


def ndim(a):
    """Like ``numpy.ndim``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.ndim(np.ones((2, 3)))
    2
    >>> fnp.ndim(1.0)
    0
    """
    return ndim_of(a) if isinstance(a, Tracer) else np.ndim(a)


def size(a, axis=None):
    """Like ``numpy.size``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.size(np.ones((2, 3)))
    6
    >>> fnp.size(np.ones((2, 3)), axis=1)
    3
    """
    if not isinstance(a, Tracer):
        return np.size(a, axis)
    return _size(shape_of(a)) if axis is None else shape_of(a)[normalize_axis(axis, ndim_of(a))]


__all__ = ["reshape", "ravel", "transpose", "permute_dims", "swapaxes", "moveaxis",
           "expand_dims", "squeeze", "broadcast_to", "broadcast_arrays", "atleast_1d",
           "atleast_2d", "atleast_3d", "concatenate", "concat", "stack", "hstack", "vstack",
           "row_stack", "dstack", "column_stack", "array_split", "split", "hsplit", "vsplit",
           "dsplit", "tile", "flip", "fliplr", "flipud", "rot90", "rollaxis", "insert",
           "delete", "append", "diff", "shape", "ndim", "size"]
accept_traced_sequences_in(globals())
