"""Shape primitives: broadcasting, reshaping, transposing, and array creation."""
from __future__ import annotations

import numpy as np

from fad.core import dtypes
from fad.core.abstract import ShapedArray, get_aval
from fad.core.ad_util import Zero
from fad.core.primitive import Primitive
from fad.interpreters.batching import batch_rules
from fad.interpreters.transpose import transpose_rules
from fad.lax.rules import deflinear, unbroadcast


def _normalize_axis(axis, ndim, name):
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}: axis {axis} is out of range for an array of rank {ndim}")
    return axis % ndim


# -- broadcast_in_dim -----------------------------------------------------------------------

def broadcast_in_dim(x, shape, broadcast_dimensions):
    """Broadcast ``x`` to ``shape``; operand axis ``i`` becomes output axis
    ``broadcast_dimensions[i]`` (its size must be 1 or equal to that axis)."""
    shape, dims = tuple(int(d) for d in shape), tuple(int(d) for d in broadcast_dimensions)
    if get_aval(x).shape == shape and dims == tuple(range(len(shape))):
        return x
    return broadcast_in_dim_p.bind(x, shape=shape, broadcast_dimensions=dims)


def _broadcast_in_dim_impl(x, *, shape, broadcast_dimensions):
    x = np.asarray(x)
    expanded = [1] * len(shape)
    for i, d in enumerate(broadcast_dimensions):
        expanded[d] = x.shape[i]
    return np.broadcast_to(x.reshape(expanded), shape).copy()


def _broadcast_in_dim_rule(x, *, shape, broadcast_dimensions):
    dims = broadcast_dimensions
    ok = (len(dims) == x.ndim and all(0 <= d < len(shape) for d in dims)
          and all(a < b for a, b in zip(dims, dims[1:]))
          and all(x.shape[i] in (1, shape[d]) for i, d in enumerate(dims)))
    if not ok:
        raise ValueError(f"broadcast_in_dim: cannot broadcast operand of shape {x.shape} to "
                         f"{shape} with broadcast_dimensions={dims}")
    return ShapedArray(shape, x.dtype, x.weak_type)


def _broadcast_in_dim_transpose(ct, x, *, shape, broadcast_dimensions):
    from fad.lax.reductions import reduce_sum
    dims = broadcast_dimensions
    summed = tuple(d for d in range(len(shape)) if d not in dims)
    kept_ones = tuple(i for i, d in enumerate(dims) if x.aval.shape[i] == 1 and shape[d] != 1)
    ct = reduce_sum(ct, summed + tuple(dims[i] for i in kept_ones)) if summed or kept_ones else ct
    return [reshape(ct, x.aval.shape)]


def _broadcast_in_dim_batch(args, dims, *, shape, broadcast_dimensions):
    (x,), (bd,) = args, dims
    x = moveaxis(x, bd, 0) if bd != 0 else x
    size = get_aval(x).shape[0]
    return broadcast_in_dim_p.bind(x, shape=(size, *shape), broadcast_dimensions=(
        0, *(d + 1 for d in broadcast_dimensions))), 0


broadcast_in_dim_p = Primitive("broadcast_in_dim")
broadcast_in_dim_p.def_impl(_broadcast_in_dim_impl)
broadcast_in_dim_p.def_abstract_eval(_broadcast_in_dim_rule)
deflinear(broadcast_in_dim_p, _broadcast_in_dim_transpose)
batch_rules[broadcast_in_dim_p] = _broadcast_in_dim_batch


def broadcast_to(x, shape):
    """NumPy's ``broadcast_to`` (trailing axes aligned)."""
    shape = tuple(shape)
    ndim = get_aval(x).ndim
    if len(shape) < ndim:
        raise ValueError(f"broadcast_to: cannot broadcast shape {get_aval(x).shape} to {shape}")
    return broadcast_in_dim(x, shape, tuple(range(len(shape) - ndim, len(shape))))


def full(shape, fill_value, dtype=None):
    """An array of ``shape`` filled with ``fill_value`` (a scalar, possibly traced)."""
    dtype = get_aval(fill_value).dtype if dtype is None else dtypes.check_dtype(dtype)
    from fad.lax.elementwise import convert_element_type
    value = convert_element_type(fill_value, dtype)
    if not isinstance(value, (np.ndarray, np.generic)) or np.ndim(value):
        return broadcast_in_dim(value, tuple(shape), ())
    return np.full(tuple(shape), value, dtype)


# -- reshape, squeeze, expand_dims ------------------------------------------------------------

def reshape(x, new_sizes):
    new_sizes = tuple(int(d) for d in new_sizes)
    if get_aval(x).shape == new_sizes:
        return x
    return reshape_p.bind(x, new_sizes=new_sizes)


def _reshape_rule(x, *, new_sizes):
    if int(np.prod(new_sizes, dtype=np.int64)) != x.size or any(d < 0 for d in new_sizes):
        raise ValueError(f"reshape: cannot reshape an array of shape {x.shape} "
                         f"({x.size} elements) into shape {new_sizes}")
    return ShapedArray(new_sizes, x.dtype, x.weak_type)


def _reshape_batch(args, dims, *, new_sizes):
    (x,), (bd,) = args, dims
    x = moveaxis(x, bd, 0) if bd != 0 else x
    return reshape_p.bind(x, new_sizes=(get_aval(x).shape[0], *new_sizes)), 0


reshape_p = Primitive("reshape")
reshape_p.def_impl(lambda x, *, new_sizes: np.reshape(x, new_sizes))
reshape_p.def_abstract_eval(_reshape_rule)
deflinear(reshape_p, lambda ct, x, *, new_sizes: [reshape(ct, x.aval.shape)])
batch_rules[reshape_p] = _reshape_batch


def squeeze(x, dimensions):
    """Remove the size-1 axes ``dimensions``."""
    ndim = get_aval(x).ndim
    dims = tuple(sorted(_normalize_axis(d, ndim, "squeeze") for d in dimensions))
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
squeeze_p.def_impl(lambda x, *, dimensions: np.squeeze(x, dimensions))
squeeze_p.def_abstract_eval(_squeeze_rule)
deflinear(squeeze_p, lambda ct, x, *, dimensions: [reshape(ct, x.aval.shape)])
batch_rules[squeeze_p] = _squeeze_batch


def expand_dims(x, dimensions):
    """Insert size-1 axes at the positions ``dimensions`` of the result."""
    ndim = get_aval(x).ndim + len(dimensions)
    dims = tuple(sorted(_normalize_axis(d, ndim, "expand_dims") for d in dimensions))
    if len(set(dims)) != len(dims):
        raise ValueError(f"expand_dims: repeated axis in {dimensions}")
    shape = list(get_aval(x).shape)
    for d in dims:
        shape.insert(d, 1)
    return reshape(x, shape)


# -- transpose -----------------------------------------------------------------------------

def transpose(x, permutation):
    """Permute the axes: output axis ``i`` is operand axis ``permutation[i]``."""
    perm = tuple(int(p) for p in permutation)
    if perm == tuple(range(len(perm))) and len(perm) == get_aval(x).ndim:
        return x
    return transpose_p.bind(x, permutation=perm)


def _transpose_rule(x, *, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise ValueError(f"transpose: permutation {permutation} is not a permutation of the "
                         f"axes of an array of shape {x.shape}")
    return ShapedArray(tuple(x.shape[p] for p in permutation), x.dtype, x.weak_type)


def _transpose_transpose(ct, x, *, permutation):
    return [transpose(ct, np.argsort(permutation))]


def _transpose_batch(args, dims, *, permutation):
    (x,), (bd,) = args, dims
    perm = (bd, *(p + (p >= bd) for p in permutation))
    return transpose_p.bind(x, permutation=perm), 0


transpose_p = Primitive("transpose")
transpose_p.def_impl(lambda x, *, permutation: np.transpose(x, permutation))
transpose_p.def_abstract_eval(_transpose_rule)
deflinear(transpose_p, _transpose_transpose)
batch_rules[transpose_p] = _transpose_batch


def moveaxis(x, source: int, destination: int):
    ndim = get_aval(x).ndim
    source = _normalize_axis(source, ndim, "moveaxis")
    destination = _normalize_axis(destination, ndim, "moveaxis")
    if source == destination:
        return x
    perm = [i for i in range(ndim) if i != source]
    perm.insert(destination, source)
    return transpose(x, perm)


__all__ = ["broadcast_in_dim", "broadcast_to", "full", "reshape", "squeeze", "expand_dims",
           "transpose", "moveaxis", "broadcast_in_dim_p", "reshape_p", "squeeze_p",
           "transpose_p", "unbroadcast", "Zero"]
