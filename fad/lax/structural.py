"""Shape primitives: broadcasting, reshaping, transposing, and array creation.

``broadcast_in_dim``, ``reshape``, ``transpose`` (and ``full``, ``broadcast_to``,
``expand_dims``, ``moveaxis``, ``batch_axis_at``, the axis normalisers) are defined in
``plumbing``, below the rules that use them; their transposes are registered here."""
from __future__ import annotations

import builtins

import numpy as np

from fad.core import dtypes
from fad.core.abstract import ShapedArray, get_aval
from fad.core.ad_util import Zero
from fad.core.primitive import Primitive
from fad.interpreters.batching import batch_rules
from fad.interpreters.transpose import is_undefined
from fad.lax.elementwise import select_n, sub
from fad.lax.plumbing import (_def_checked_impl, batch_axis_at, broadcast_in_dim,
                              broadcast_in_dim_p, broadcast_to, expand_dims, full, moveaxis,
                              normalize_axis, reduce_sum, reshape, reshape_p,
                              transpose, transpose_p)
from fad.lax.rules import all_batched_at_front, deflinear, unbroadcast

_pyslice = builtins.slice


# -- the transposes of broadcast_in_dim, reshape and transpose ------------------------------

def _broadcast_in_dim_transpose(ct, x, *, shape, broadcast_dimensions):
    dims = broadcast_dimensions
    summed = tuple(d for d in range(len(shape)) if d not in dims)
    kept_ones = tuple(i for i, d in enumerate(dims) if x.aval.shape[i] == 1 and shape[d] != 1)
    ct = reduce_sum(ct, summed + tuple(dims[i] for i in kept_ones)) if summed or kept_ones else ct
    return [reshape(ct, x.aval.shape)]


def _transpose_transpose(ct, x, *, permutation):
    return [transpose(ct, np.argsort(permutation))]


deflinear(broadcast_in_dim_p, _broadcast_in_dim_transpose)
deflinear(reshape_p, lambda ct, x, *, new_sizes: [reshape(ct, x.aval.shape)])
deflinear(transpose_p, _transpose_transpose)


# -- squeeze --------------------------------------------------------------------------------

def squeeze(x, dimensions):
    """Remove the size-1 axes ``dimensions``.

    >>> import numpy as np, fad, fad.lax as lax
    >>> lax.squeeze(np.ones((1, 2, 1)), (0, 2)).shape
    (2,)
    """
    ndim = get_aval(x).ndim
    dims = tuple(sorted(normalize_axis(d, ndim, "squeeze") for d in dimensions))
    if len(set(dims)) != len(dims):
        raise ValueError(f"squeeze: repeated axis in {tuple(dimensions)}")
    return squeeze_p.bind(x, dimensions=dims) if dims else x


def _squeeze_rule(x, *, dimensions):
    for d in dimensions:
        if d >= x.ndim or x.shape[d] != 1:
            raise ValueError(f"squeeze: axis {d} of shape {x.shape} does not have size 1")
    return ShapedArray(tuple(s for i, s in enumerate(x.shape) if i not in dimensions),
                       x.dtype, x.weak_type)


def _squeeze_batch(args, dims, *, dimensions):
    (x,), (bd,) = args, dims
    x = moveaxis(x, bd, 0) if bd != 0 else x
    return squeeze_p.bind(x, dimensions=tuple(d + 1 for d in dimensions)), 0


squeeze_p = Primitive("squeeze")
_def_checked_impl(squeeze_p, lambda x, *, dimensions: np.squeeze(x, dimensions))
squeeze_p.def_abstract_eval(_squeeze_rule)
deflinear(squeeze_p, lambda ct, x, *, dimensions: [reshape(ct, x.aval.shape)])
batch_rules[squeeze_p] = _squeeze_batch


def _static_ints(values, name, what):
    try:
        return tuple(int(v) for v in values)
    except TypeError:
        raise TypeError(f"{name}: {what} must be static integers, got {values!r}") from None


# -- rev ------------------------------------------------------------------------------------

def rev(operand, dimensions):
    """Reverse ``operand`` along the axes ``dimensions``.

    >>> rev(np.arange(3), (0,))
    array([2, 1, 0])
    """
    ndim = get_aval(operand).ndim
    dims = tuple(sorted(normalize_axis(d, ndim, "rev")
                        for d in _static_ints(dimensions, "rev", "dimensions")))
    if len(set(dims)) != len(dims):
        raise ValueError(f"rev: repeated axis in {tuple(dimensions)}")
    return rev_p.bind(operand, dimensions=dims) if dims else operand


def _rev_rule(x, *, dimensions):
    if any(not 0 <= d < x.ndim for d in dimensions) or len(set(dimensions)) != len(dimensions):
        raise ValueError(f"rev: dimensions {dimensions} are not distinct axes of an array "
                         f"of shape {x.shape}")
    return x


def _rev_batch(args, dims, *, dimensions):
    (x,), (bd,) = args, dims
    return rev_p.bind(x, dimensions=tuple(d + (d >= bd) for d in dimensions)), bd


rev_p = Primitive("rev")
_def_checked_impl(rev_p, lambda x, *, dimensions: np.flip(x, dimensions).copy())
rev_p.def_abstract_eval(_rev_rule)
deflinear(rev_p, lambda ct, x, *, dimensions: [rev_p.bind(ct, dimensions=dimensions)])
batch_rules[rev_p] = _rev_batch


# -- slice ----------------------------------------------------------------------------------

def slice(operand, start_indices, limit_indices, strides=None):  # noqa: A001 - the lax name
    """``operand[start:limit:stride, ...]`` with static, non-negative bounds per axis.

    >>> slice(np.arange(10), (1,), (8,), (3,))
    array([1, 4, 7])
    """
    start = _static_ints(start_indices, "slice", "start_indices")
    limit = _static_ints(limit_indices, "slice", "limit_indices")
    strides = None if strides is None else _static_ints(strides, "slice", "strides")
    if strides is not None and all(s == 1 for s in strides):
        strides = None
    shape = get_aval(operand).shape
    if strides is None and start == (0,) * len(shape) and limit == shape:
        return operand
    return slice_p.bind(operand, start_indices=start, limit_indices=limit, strides=strides)


def _slice_impl(x, *, start_indices, limit_indices, strides):
    strides = strides or (1,) * len(start_indices)
    return np.asarray(x)[tuple(map(_pyslice, start_indices, limit_indices, strides))].copy()


def _slice_rule(x, *, start_indices, limit_indices, strides):
    strides = strides or (1,) * x.ndim
    if not len(start_indices) == len(limit_indices) == len(strides) == x.ndim:
        raise ValueError(f"slice: start_indices {start_indices}, limit_indices "
                         f"{limit_indices} and strides {strides} need one entry per axis of "
                         f"the operand of shape {x.shape}")
    for d, s, l, st in zip(x.shape, start_indices, limit_indices, strides):
        if not 0 <= s <= l <= d or st < 1:
            raise ValueError(f"slice: bounds start={start_indices}, limit={limit_indices}, "
                             f"strides={strides} are invalid for an operand of shape "
                             f"{x.shape} (need 0 <= start <= limit <= size, stride >= 1)")
    shape = tuple(-(-(l - s) // st) for s, l, st in zip(start_indices, limit_indices, strides))
    return ShapedArray(shape, x.dtype, x.weak_type)


def _slice_transpose(ct, x, *, start_indices, limit_indices, strides):
    shape, dtype = x.aval.shape, get_aval(ct).dtype
    out_shape = get_aval(ct).shape
    if 0 in out_shape:
        return [full(shape, 0, dtype)]
    strides = strides or (1,) * len(shape)
    config = tuple((s, d - (s + (o - 1) * st + 1), st - 1)
                   for d, s, o, st in zip(shape, start_indices, out_shape, strides))
    return [pad(ct, np.zeros((), dtype)[()], config)]


def _slice_batch(args, dims, *, start_indices, limit_indices, strides):
    (x,), (bd,) = args, dims
    size = get_aval(x).shape[bd]
    start = start_indices[:bd] + (0,) + start_indices[bd:]
    limit = limit_indices[:bd] + (size,) + limit_indices[bd:]
    strides = None if strides is None else strides[:bd] + (1,) + strides[bd:]
    return slice_p.bind(x, start_indices=start, limit_indices=limit, strides=strides), bd


slice_p = Primitive("slice")
_def_checked_impl(slice_p, _slice_impl)
slice_p.def_abstract_eval(_slice_rule)
deflinear(slice_p, _slice_transpose)
batch_rules[slice_p] = _slice_batch


def slice_in_dim(operand, start_index, limit_index, stride: int = 1, axis: int = 0):
    """``slice`` along one axis; ``None`` bounds mean the ends, negative ones count from
    the end (like Python's, but not clipped).

    >>> slice_in_dim(np.arange(6).reshape(2, 3), 1, None, axis=-1)
    array([[1, 2],
           [4, 5]])
    """
    shape = get_aval(operand).shape
    axis = normalize_axis(int(axis), len(shape), "slice_in_dim")
    size = shape[axis]
    start = 0 if start_index is None else int(start_index)
    limit = size if limit_index is None else int(limit_index)
    start, limit = start + size if start < 0 else start, limit + size if limit < 0 else limit
    starts, limits, strides = [0] * len(shape), list(shape), [1] * len(shape)
    starts[axis], limits[axis], strides[axis] = start, limit, int(stride)
    return slice(operand, starts, limits, strides)


def index_in_dim(operand, index: int, axis: int = 0, keepdims: bool = True):
    """Element ``index`` (static; negative counts from the end) along ``axis``.

    >>> import numpy as np, fad, fad.lax as lax
    >>> x = np.array([[1, 2], [3, 4]])
    >>> lax.index_in_dim(x, -1)
    array([[3, 4]])
    >>> lax.index_in_dim(x, 0, axis=1, keepdims=False)
    array([1, 3])
    """
    shape = get_aval(operand).shape
    axis = normalize_axis(int(axis), len(shape), "index_in_dim")
    index, size = int(index), shape[axis]
    if not -size <= index < size:
        raise IndexError(f"index_in_dim: index {index} is out of bounds for axis {axis} "
                         f"of size {size}")
    index %= size
    out = slice_in_dim(operand, index, index + 1, 1, axis)
    return out if keepdims else squeeze(out, (axis,))


# -- concatenate ----------------------------------------------------------------------------

def concatenate(operands, dimension: int):
    """Join arrays of one rank and dtype along the axis ``dimension``.

    >>> concatenate([np.zeros(2), np.ones(1)], 0)
    array([0., 0., 1.])
    """
    operands = list(operands)
    if not operands:
        raise ValueError("concatenate: needs at least one operand")
    ndim = get_aval(operands[0]).ndim
    if ndim == 0:
        raise ValueError("concatenate: operands must have at least one axis, got scalars")
    dimension = normalize_axis(int(dimension), ndim, "concatenate")
    if len(operands) == 1:
        return operands[0]
    return concatenate_p.bind(*operands, dimension=dimension)


def _concatenate_rule(*xs, dimension):
    shapes = [x.shape for x in xs]
    ok = all(len(s) == len(shapes[0]) for s in shapes) and 0 <= dimension < len(shapes[0])
    ok = ok and all(s[:dimension] + s[dimension + 1:] == shapes[0][:dimension] +
                    shapes[0][dimension + 1:] for s in shapes)
    if not ok:
        raise ValueError(f"concatenate: cannot join operands of shapes "
                         f"{', '.join(map(str, shapes))} along dimension {dimension}")
    if len({x.dtype for x in xs}) > 1:
        raise TypeError(f"concatenate: operands must share one dtype, got "
                        f"{', '.join(str(x.dtype) for x in xs)}")
    shape = list(shapes[0])
    shape[dimension] = sum(s[dimension] for s in shapes)
    return ShapedArray(shape, xs[0].dtype, all(x.weak_type for x in xs))


def _concatenate_transpose(ct, *xs, dimension):
    out, start = [], 0
    for x in xs:
        size = (x.aval if is_undefined(x) else get_aval(x)).shape[dimension]
        out.append(slice_in_dim(ct, start, start + size, 1, dimension)
                   if is_undefined(x) else None)
        start += size
    return out


def _concatenate_batch(args, dims, *, dimension):
    return concatenate_p.bind(*all_batched_at_front(args, dims), dimension=dimension + 1), 0


concatenate_p = Primitive("concatenate")
_def_checked_impl(concatenate_p, lambda *xs, dimension: np.concatenate(xs, dimension))
concatenate_p.def_abstract_eval(_concatenate_rule)
deflinear(concatenate_p, _concatenate_transpose)
batch_rules[concatenate_p] = _concatenate_batch


# -- pad ------------------------------------------------------------------------------------

def pad(operand, padding_value, padding_config):
    """Pad ``operand`` with the scalar ``padding_value``: per axis ``(lo, hi, interior)``
    adds ``lo`` elements before, ``hi`` after and ``interior`` between neighbours;
    negative ``lo``/``hi`` crop instead.

    >>> pad(np.array([1, 2]), 0, [(1, -1, 1)])
    array([0, 1, 0])
    """
    aval = get_aval(operand)
    if type(padding_value) in dtypes.PYTHON_SCALAR_TYPES:
        padding_value = np.asarray(padding_value, aval.dtype)[()]
    try:
        config = tuple((int(lo), int(hi), int(i)) for lo, hi, i in padding_config)
    except (TypeError, ValueError):
        raise TypeError(f"pad: padding_config must be a sequence of static (lo, hi, "
                        f"interior) integer triples, got {padding_config!r}") from None
    return pad_p.bind(operand, padding_value, padding_config=config)


def _pad_axis(x, value, axis, lo, hi, interior):
    n = x.shape[axis]
    core = n + max(n - 1, 0) * interior
    size = max(lo, 0) + core + max(hi, 0)
    out = np.full(x.shape[:axis] + (size,) + x.shape[axis + 1:], value, x.dtype)
    index = [_pyslice(None)] * x.ndim
    index[axis] = _pyslice(max(lo, 0), max(lo, 0) + core, interior + 1)
    out[tuple(index)] = x
    index[axis] = _pyslice(max(-lo, 0), size - max(-hi, 0))
    return out[tuple(index)]


def _pad_impl(x, padding_value, *, padding_config):
    out = np.asarray(x)
    for axis, (lo, hi, interior) in enumerate(padding_config):
        out = _pad_axis(out, padding_value, axis, lo, hi, interior)
    return out.copy()


def _pad_rule(x, value, *, padding_config):
    if value.shape != () or value.dtype != x.dtype:
        raise TypeError(f"pad: padding_value must be a scalar of the operand's dtype "
                        f"{x.dtype}, got {value}")
    if len(padding_config) != x.ndim or any(i < 0 for _, _, i in padding_config):
        raise ValueError(f"pad: padding_config {padding_config} needs one (lo, hi, "
                         f"interior >= 0) triple per axis of the operand of shape {x.shape}")
    shape = tuple(lo + hi + n + max(n - 1, 0) * i for n, (lo, hi, i) in zip(x.shape,
                                                                              padding_config))
    if any(d < 0 for d in shape):
        raise ValueError(f"pad: padding_config {padding_config} crops more than the whole "
                         f"operand of shape {x.shape}")
    return ShapedArray(shape, x.dtype, x.weak_type)


def _pad_transpose(ct, x, value, *, padding_config):
    aval = x.aval if is_undefined(x) else get_aval(x)
    zero = np.zeros((), get_aval(ct).dtype)[()]
    uncropped = pad(ct, zero, [(-lo, -hi, 0) for lo, hi, _ in padding_config])
    ct_x = slice(uncropped, (0,) * aval.ndim, get_aval(uncropped).shape,
                 tuple(i + 1 for _, _, i in padding_config))
    ct_value = None
    if is_undefined(value):
        axes = tuple(range(aval.ndim))
        ct_value = sub(reduce_sum(ct, axes), reduce_sum(ct_x, axes))
    return [ct_x if is_undefined(x) else None, ct_value]


def _pad_batch(args, dims, *, padding_config):
    (x, value), (bd, vd) = args, dims
    if vd is None:
        config = padding_config[:bd] + ((0, 0, 0),) + padding_config[bd:]
        return pad_p.bind(x, value, padding_config=config), bd
    # A padding value per batch element: pad with zeros, then select where padding went.
    size = get_aval(value).shape[vd]
    aval = get_aval(x)
    x = batch_axis_at(x, bd, size)
    zero = np.zeros((), aval.dtype)[()]
    padded = pad_p.bind(x, zero, padding_config=((0, 0, 0), *padding_config))
    in_shape = get_aval(x).shape[1:]
    mask = _pad_impl(np.zeros(in_shape, bool), np.True_, padding_config=padding_config)
    values = broadcast_in_dim(value, get_aval(padded).shape, (0,))
    return select_n(mask, padded, values), 0


pad_p = Primitive("pad")
_def_checked_impl(pad_p, _pad_impl)
pad_p.def_abstract_eval(_pad_rule)
deflinear(pad_p, _pad_transpose)
batch_rules[pad_p] = _pad_batch


# -- iota -----------------------------------------------------------------------------------

def iota(dtype, size: int):
    """``[0, 1, ..., size - 1]`` of ``dtype``.

    >>> import numpy as np, fad, fad.lax as lax
    >>> lax.iota(np.int32, 4)
    array([0, 1, 2, 3], dtype=int32)
    """
    return broadcasted_iota(dtype, (size,), 0)


def broadcasted_iota(dtype, shape, dimension: int):
    """An array of ``shape`` whose entries are their index along axis ``dimension``.

    >>> broadcasted_iota(np.int64, (2, 3), 1)
    array([[0, 1, 2],
           [0, 1, 2]])
    """
    shape = _static_ints(shape, "broadcasted_iota", "shape")
    dimension = normalize_axis(int(dimension), len(shape), "broadcasted_iota")
    return iota_p.bind(dtype=dtypes.check_dtype(dtype), shape=shape, dimension=dimension)


def _iota_impl(*, dtype, shape, dimension):
    line = np.arange(shape[dimension], dtype=dtype)
    return broadcast_in_dim_p.impl(line, shape=shape, broadcast_dimensions=(dimension,))


def _iota_rule(*, dtype, shape, dimension):
    if dtype.kind not in "iuf" or any(d < 0 for d in shape) or not 0 <= dimension < len(shape):
        raise ValueError(f"iota: cannot make an iota of dtype {dtype} and shape {shape} "
                         f"along dimension {dimension}")
    return ShapedArray(shape, dtype)


iota_p = Primitive("iota")
_def_checked_impl(iota_p, _iota_impl)
iota_p.def_abstract_eval(_iota_rule)


__all__ = ["broadcast_in_dim", "broadcast_to", "full", "reshape", "squeeze", "expand_dims",
           "transpose", "moveaxis", "rev", "slice", "slice_in_dim", "index_in_dim",
           "concatenate", "pad", "iota", "broadcasted_iota",
           "broadcast_in_dim_p", "reshape_p", "squeeze_p", "transpose_p", "rev_p", "slice_p",
           "concatenate_p", "pad_p", "iota_p", "unbroadcast", "Zero"]
