"""Sorting: ``sort`` (several operands sorted together by their first ``num_keys``),
``argsort`` and ``top_k``.

Orders follow NumPy: ascending, stable, NaNs last. Derivatives go through the
permutation: the JVP sorts an iota alongside the operands and gathers the tangents with
it, using the private linear primitive ``take_along_axis`` (whose transpose is
``scatter_add_along_axis`` and vice versa).
"""
from __future__ import annotations

import numpy as np

from fad.core import dtypes
from fad.core.abstract import ShapedArray, get_aval
from fad.core.ad_util import Zero
from fad.core.primitive import Primitive
from fad.interpreters.batching import batch_rules
from fad.interpreters.jvp import jvp_rules
from fad.interpreters.transpose import is_undefined, transpose_rules
from fad.lax.plumbing import batch_axis_at, normalize_axis
from fad.lax.rules import defjvp_zero, linear_jvp

# -- take_along_axis and its transpose ---------------------------------------------------------


def take_along_axis(operand, indices, axis: int):
    """``np.take_along_axis`` for in-range ``indices`` of the operand's rank whose shape
    equals the operand's except along ``axis``. Linear in ``operand``."""
    axis = normalize_axis(axis, get_aval(operand).ndim, "take_along_axis")
    return take_along_axis_p.bind(operand, indices, axis=axis)


def _take_rule(x, idx, *, axis):
    if not dtypes.is_integer(idx.dtype):
        raise TypeError(f"take_along_axis: indices must be integers, got {idx.dtype}")
    if idx.ndim != x.ndim or not 0 <= axis < x.ndim or any(
            a != b for i, (a, b) in enumerate(zip(x.shape, idx.shape)) if i != axis):
        raise TypeError(f"take_along_axis: indices of shape {idx.shape} do not fit an operand "
                        f"of shape {x.shape} along axis {axis}")
    return ShapedArray(idx.shape, x.dtype, x.weak_type)


def _scatter_impl(updates, indices, *, axis, shape):
    updates, indices = np.asarray(updates), np.asarray(indices)
    out = np.zeros(shape, updates.dtype)
    where = list(np.ix_(*(np.arange(n) for n in indices.shape)))
    where[axis] = indices
    np.add.at(out, tuple(where), updates)
    return out


def _scatter_rule(updates, idx, *, axis, shape):
    _take_rule(ShapedArray(shape, updates.dtype), idx, axis=axis)
    if updates.shape != idx.shape:
        raise TypeError(f"scatter_add_along_axis: updates of shape {updates.shape} do not "
                        f"match indices of shape {idx.shape}")
    return ShapedArray(shape, updates.dtype, updates.weak_type)


def _take_transpose(ct, x, idx, *, axis):
    if is_undefined(idx):
        raise TypeError("take_along_axis is not linear in its indices")
    return [scatter_add_along_axis_p.bind(ct, idx, axis=axis, shape=x.aval.shape), None]


def _scatter_transpose(ct, updates, idx, *, axis, shape):
    if is_undefined(idx):
        raise TypeError("scatter_add_along_axis is not linear in its indices")
    return [take_along_axis_p.bind(ct, idx, axis=axis), None]


def _along_batch(prim):
    def rule(args, dims, *, axis, **params):
        (x, idx), (xd, idd) = args, dims
        size = get_aval(x).shape[xd] if xd is not None else get_aval(idx).shape[idd]
        x, idx = batch_axis_at(x, xd, size), batch_axis_at(idx, idd, size)
        if "shape" in params:
            params = {"shape": (size, *params["shape"])}
        return prim.bind(x, idx, axis=axis + 1, **params), 0
    return rule


take_along_axis_p = Primitive("take_along_axis")
take_along_axis_p.def_impl(lambda x, idx, *, axis: np.take_along_axis(np.asarray(x), idx, axis))
take_along_axis_p.def_abstract_eval(_take_rule)
scatter_add_along_axis_p = Primitive("scatter_add_along_axis")
scatter_add_along_axis_p.def_impl(_scatter_impl)
scatter_add_along_axis_p.def_abstract_eval(_scatter_rule)
for _p, _t in ((take_along_axis_p, _take_transpose),
               (scatter_add_along_axis_p, _scatter_transpose)):
    jvp_rules[_p] = linear_jvp(_p, (0,))
    transpose_rules[_p] = _t
    batch_rules[_p] = _along_batch(_p)


# -- sort -------------------------------------------------------------------------------------


def sort(operand, dimension: int = -1, is_stable: bool = True, num_keys: int = 1):
    """Sort along ``dimension``, ascending with NaNs last. ``operand`` is an array, or a
    tuple/list of arrays of one shape sorted together (lexicographically by the first
    ``num_keys``), in which case a tuple is returned. Sorting is always stable.

    >>> sort((np.array([3., 1., 2.]), np.array([0, 1, 2])))
    (array([1., 2., 3.]), array([1, 2, 0]))
    """
    single = not isinstance(operand, (tuple, list))
    operands = (operand,) if single else tuple(operand)
    if not operands:
        raise TypeError("sort needs at least one operand")
    avals = [get_aval(x) for x in operands]
    if avals[0].ndim == 0:
        raise ValueError("sort: cannot sort a 0-d (scalar) array")
    dimension = normalize_axis(dimension, avals[0].ndim, "sort")
    params = dict(dimension=dimension, is_stable=bool(is_stable), num_keys=int(num_keys))
    _sort_rule(*avals, **params)
    out = sort_p.bind(*operands, **params)
    return out[0] if single else tuple(out)


def _sort_impl(*operands, dimension, is_stable, num_keys):
    operands = [np.asarray(x) for x in operands]
    if len(operands) == 1:
        return [np.sort(operands[0], axis=dimension, kind="stable")]
    if num_keys == 1:
        perm = np.argsort(operands[0], axis=dimension, kind="stable")
    else:
        perm = np.lexsort(operands[num_keys - 1::-1], axis=dimension)
    return [np.take_along_axis(x, perm, dimension) for x in operands]


def _sort_rule(*operands, dimension, is_stable, num_keys):
    shapes = [x.shape for x in operands]
    if any(s != shapes[0] for s in shapes):
        raise TypeError(f"sort: operands must have one shape, got shapes "
                        f"{', '.join(map(str, shapes))}")
    if not 0 <= dimension < len(shapes[0]):
        raise ValueError(f"sort: dimension {dimension} is out of range for shape {shapes[0]}")
    if not 1 <= num_keys <= len(operands):
        raise ValueError(f"sort: num_keys={num_keys} must be between 1 and the number of "
                         f"operands ({len(operands)})")
    for x in operands[:num_keys]:
        if x.dtype.kind not in "biufc":
            raise TypeError(f"sort cannot order keys of dtype {x.dtype}")
    return [ShapedArray(x.shape, x.dtype, x.weak_type) for x in operands]


def _iota(shape, dimension):
    """A constant int64 array counting along ``dimension``."""
    counts = np.arange(shape[dimension], dtype=np.int64)
    return np.broadcast_to(counts.reshape([-1 if i == dimension else 1
                                           for i in range(len(shape))]), shape)


def _sort_jvp(primals, tangents, *, dimension, **params):
    iota = _iota(get_aval(primals[0]).shape, dimension)
    *outs, perm = sort_p.bind(*primals, iota, dimension=dimension, **params)
    tangents_out = [Zero.like(o) if type(t) is Zero else take_along_axis(t, perm, dimension)
                    for o, t in zip(outs, tangents)]
    return outs, tangents_out


def _sort_batch(args, dims, *, dimension, **params):
    if all(d is not None and d == dims[0] for d in dims):
        bd = dims[0]
        return sort_p.bind(*args, dimension=dimension + (dimension >= bd), **params), dims
    size = next(get_aval(x).shape[d] for x, d in zip(args, dims) if d is not None)
    args = [batch_axis_at(x, d, size) for x, d in zip(args, dims)]
    return sort_p.bind(*args, dimension=dimension + 1, **params), [0] * len(args)


sort_p = Primitive("sort", multiple_results=True)
sort_p.def_impl(_sort_impl)
sort_p.def_abstract_eval(_sort_rule)
jvp_rules[sort_p] = _sort_jvp
batch_rules[sort_p] = _sort_batch


def argsort(operand, dimension: int = -1, is_stable: bool = True):
    """The int64 indices that sort ``operand`` along ``dimension`` (stable, NaNs last).

    >>> argsort(np.array([3., 1., 2.]))
    array([1, 2, 0])
    """
    aval = get_aval(operand)
    if aval.ndim == 0:
        raise ValueError("argsort: cannot sort a 0-d (scalar) array")
    dimension = normalize_axis(dimension, aval.ndim, "argsort")
    return sort((operand, _iota(aval.shape, dimension)), dimension, is_stable, 1)[1]


# -- top_k --------------------------------------------------------------------------------------


def top_k(operand, k: int):
    """The ``k`` largest entries along the last axis, in descending order, and their
    int64 indices (the lower index first among ties; NaNs rank lowest).

    >>> top_k(np.array([1., 3., 2.]), 2)
    [array([3., 2.]), array([1, 2])]
    """
    aval = get_aval(operand)
    _top_k_rule(aval, k=int(k))
    return top_k_p.bind(operand, k=int(k))


def _descending_key(x):
    return ~x if x.dtype.kind in "biu" else -x


def _top_k_impl(x, *, k):
    x = np.asarray(x)
    idx = np.argsort(_descending_key(x), axis=-1, kind="stable")[..., :k]
    return [np.take_along_axis(x, idx, -1), idx.astype(np.int64)]


def _top_k_rule(x, *, k):
    if x.ndim == 0:
        raise ValueError("top_k: the operand must have at least one axis")
    if not 0 <= k <= x.shape[-1]:
        raise ValueError(f"top_k: k={k} is out of range for an operand of shape {x.shape}")
    if x.dtype.kind not in "biuf":
        raise TypeError(f"top_k cannot order values of dtype {x.dtype}")
    shape = x.shape[:-1] + (k,)
    return [ShapedArray(shape, x.dtype, x.weak_type), ShapedArray(shape, np.int64)]


def _top_k_jvp(primals, tangents, *, k):
    (x,), (t,) = primals, tangents
    values, idx = top_k_p.bind(x, k=k)
    if type(t) is Zero:
        return [values, idx], [Zero.like(values), Zero.like(idx)]
    return [values, idx], [take_along_axis(t, idx, get_aval(x).ndim - 1), Zero.like(idx)]


def _top_k_batch(args, dims, *, k):
    (x,), (bd,) = args, dims
    if bd == get_aval(x).ndim - 1:
        x, bd = batch_axis_at(x, bd, None), 0
    return top_k_p.bind(x, k=k), [bd, bd]


top_k_p = Primitive("top_k", multiple_results=True)
top_k_p.def_impl(_top_k_impl)
top_k_p.def_abstract_eval(_top_k_rule)
jvp_rules[top_k_p] = _top_k_jvp
batch_rules[top_k_p] = _top_k_batch

# -- searchsorted -------------------------------------------------------------------------------


def searchsorted(sorted_arr, query, side: str = "left"):
    """Where each entry of ``query`` would go in ``sorted_arr`` (ascending along its last
    axis, NaNs last, complex numbers lexicographically) to keep it sorted: the int64
    count of entries below it (``side="left"``) or not above it (``"right"``), as
    ``numpy.searchsorted``. Both operands have one dtype and the same leading axes
    (``sorted_arr`` ``(*batch, n)``, ``query`` ``(*batch, m)``): each batch element is
    searched in its own row. Piecewise constant: its derivative is zero.

    >>> searchsorted(np.array([1., 2., 3.]), np.array([2., 0.5]), side="right")
    array([2, 0])
    """
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    _searchsorted_rule(get_aval(sorted_arr), get_aval(query), side=side)
    return searchsorted_p.bind(sorted_arr, query, side=side)


# (``side`` has a default so that tests which build calls from operands alone find one)
def _searchsorted_impl(sorted_arr, query, *, side="left"):
    sorted_arr, query = np.asarray(sorted_arr), np.asarray(query)
    out = np.empty(query.shape, np.int64)
    for i in np.ndindex(query.shape[:-1]):
        out[i] = np.searchsorted(sorted_arr[i], query[i], side)
    return out


def _searchsorted_rule(sorted_arr, query, *, side="left"):
    if sorted_arr.dtype != query.dtype or sorted_arr.dtype.kind not in "biufc":
        raise TypeError(f"searchsorted: operands must share one ordered dtype, got "
                        f"{sorted_arr.dtype} and {query.dtype}")
    if (sorted_arr.ndim == 0 or query.ndim != sorted_arr.ndim
            or sorted_arr.shape[:-1] != query.shape[:-1]):
        raise TypeError(f"searchsorted: operands of shapes {sorted_arr.shape} and "
                        f"{query.shape} need the same leading (batch) axes and one last "
                        "axis each")
    return ShapedArray(query.shape, np.int64)


def _searchsorted_batch(args, dims, *, side="left"):
    size = next(get_aval(x).shape[d] for x, d in zip(args, dims) if d is not None)
    args = [batch_axis_at(x, d, size) for x, d in zip(args, dims)]
    return searchsorted_p.bind(*args, side=side), 0


searchsorted_p = Primitive("searchsorted")
searchsorted_p.def_impl(_searchsorted_impl)
searchsorted_p.def_abstract_eval(_searchsorted_rule)
defjvp_zero(searchsorted_p)
batch_rules[searchsorted_p] = _searchsorted_batch

__all__ = ["sort", "argsort", "top_k", "searchsorted", "sort_p", "top_k_p", "searchsorted_p"]
