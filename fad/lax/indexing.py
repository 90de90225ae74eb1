"""Indexing primitives: dynamic slices and a static-shape gather/scatter.

``dynamic_slice`` and ``dynamic_update_slice`` take their start indices as separate
scalar operands, which may be traced. Starts are clamped so that the window fits inside
the operand (as in JAX); the Python wrappers first wrap negative starts once (``-1`` is
the last element).

``gather(operand, indices, axes)`` picks single elements along the ``k`` distinct
``axes``: ``indices`` has shape ``batch + (k,)``, and the result has shape
``batch + rest``, where ``rest`` is the operand's shape with ``axes`` removed. The
scatters (``scatter``, ``scatter_add``, ``scatter_mul``, ``scatter_min``,
``scatter_max``) write ``updates`` of that same shape back into a copy of the operand.
Negative indices are not wrapped here (``fad.numpy`` does that). **Out-of-bounds indices
are clamped into range, by gather and by every scatter alike**, so that ``scatter_add``
is exactly the transpose of ``gather``. (``x.at[idx]`` in ``fad.numpy`` drops
out-of-bounds updates and fills out-of-bounds gets, JAX's other modes, by padding the
operand with one slot that those indices are sent to; see ``fad.numpy._indexing``.)
Duplicate indices accumulate in the accumulating scatters (like ``np.add.at``); in
``scatter`` the last write wins.
"""
from __future__ import annotations

import numpy as np

from fad.core import dtypes
from fad.core.abstract import ShapedArray, get_aval
from fad.core.ad_util import Zero, add_tangents
from fad.core.primitive import Primitive
from fad.core.trace import Tracer
from fad.interpreters.batching import batch_rules
from fad.interpreters.jvp import jvp_rules
from fad.interpreters.transpose import is_undefined, transpose_rules
from fad.lax.elementwise import add, bitwise_and, clamp, div, eq, lt, select_n
from fad.lax.plumbing import (_def_checked_impl, batch_axis_at, broadcast_in_dim,
                              convert_element_type, expand_dims, full, moveaxis, mul,
                              normalize_axes, normalize_axis, reshape)
from fad.lax.rules import linear_jvp
from fad.lax.structural import broadcasted_iota, concatenate, iota, slice_in_dim, squeeze

_INDEX_DTYPE = np.dtype(np.int64)


def _aval(x):
    return x.aval if is_undefined(x) else get_aval(x)


def _batch_size(args, dims):
    return next(get_aval(x).shape[d] for x, d in zip(args, dims) if d is not None)


# -- start indices ----------------------------------------------------------------------------

def _check_starts(name, operand, starts):
    if len(starts) != operand.ndim:
        raise ValueError(f"{name}: got {len(starts)} start indices for an operand of shape "
                         f"{operand.shape}; it needs one per axis")
    for s in starts:
        if s.shape != () or s.dtype.kind not in "iu":
            raise TypeError(f"{name}: start indices must be integer scalars, got {s}")


def _clamped_starts(starts, shape, sizes):
    return [int(min(max(int(s), 0), d - z)) for s, d, z in zip(starts, shape, sizes)]


def _wrap_start(i, size, name):
    """A start index with negative values counted from the end (once)."""
    aval = get_aval(i)
    if aval.shape != () or aval.dtype.kind not in "iu":
        raise TypeError(f"{name}: start indices must be integer scalars, got {aval}")
    if isinstance(i, Tracer):
        return select_n(lt(i, 0), i, add(i, size)) if aval.dtype.kind == "i" else i
    i = int(i)
    return i + size if i < 0 else i


def _start_list(start_indices, shape, name):
    if isinstance(start_indices, (Tracer, np.ndarray)) and get_aval(start_indices).ndim == 1:
        start_indices = [reshape(slice_in_dim(start_indices, j, j + 1), ())
                         for j in range(get_aval(start_indices).shape[0])]
    starts = list(start_indices)
    if len(starts) != len(shape):
        raise ValueError(f"{name}: got {len(starts)} start indices for an operand of shape "
                         f"{shape}; it needs one per axis")
    return [_wrap_start(s, d, name) for s, d in zip(starts, shape)]


def _window_indices(starts, dims, sizes):
    """For starts of shape ``(B,)``: indices ``(B, *sizes, n)`` of every element of each
    batch element's window, with the starts clamped like ``dynamic_slice`` does."""
    size = get_aval(starts[0]).shape[0]
    shape = (size, *sizes)
    cols = []
    for axis, (s, d, z) in enumerate(zip(starts, dims, sizes)):
        s = clamp(0, convert_element_type(s, _INDEX_DTYPE), d - z)
        col = add(broadcast_in_dim(s, shape, (0,)),
                  broadcasted_iota(_INDEX_DTYPE, shape, axis + 1))
        cols.append(expand_dims(col, (-1,)))
    return concatenate(cols, -1)


def _with_batch_column(indices):
    """Prepend the batch position (axis 0) as a first index column."""
    shape = get_aval(indices).shape
    col = broadcasted_iota(get_aval(indices).dtype, shape[:-1] + (1,), 0)
    return concatenate([col, indices], -1)


def _batched_starts(starts, sdims, size):
    return [batch_axis_at(s, d, size) for s, d in zip(starts, sdims)]


# -- dynamic_slice --------------------------------------------------------------------------

def dynamic_slice(operand, start_indices, slice_sizes):
    """The window of static ``slice_sizes`` at (possibly traced) ``start_indices``,
    clamped to lie inside ``operand``.

    >>> dynamic_slice(np.arange(5), (3,), (3,))
    array([2, 3, 4])
    """
    shape = get_aval(operand).shape
    starts = _start_list(start_indices, shape, "dynamic_slice")
    sizes = tuple(int(z) for z in slice_sizes)
    return dynamic_slice_p.bind(operand, *starts, slice_sizes=sizes)


def _dynamic_slice_impl(operand, *starts, slice_sizes):
    operand = np.asarray(operand)
    starts = _clamped_starts(starts, operand.shape, slice_sizes)
    return operand[tuple(slice(s, s + z) for s, z in zip(starts, slice_sizes))].copy()


def _dynamic_slice_rule(operand, *starts, slice_sizes):
    _check_starts("dynamic_slice", operand, starts)
    if len(slice_sizes) != operand.ndim or any(
            not 0 <= z <= d for z, d in zip(slice_sizes, operand.shape)):
        raise ValueError(f"dynamic_slice: slice_sizes {slice_sizes} do not fit an operand of "
                         f"shape {operand.shape}")
    return ShapedArray(slice_sizes, operand.dtype, operand.weak_type)


def _dynamic_slice_transpose(ct, operand, *starts, slice_sizes):
    zeros = full(operand.aval.shape, 0, get_aval(ct).dtype)
    return [dynamic_update_slice_p.bind(zeros, ct, *starts)] + [None] * len(starts)


def _dynamic_slice_batch(args, dims, *, slice_sizes):
    (x, *starts), (xd, *sdims) = args, dims
    shape = get_aval(x).shape
    if all(d is None for d in sdims):
        sizes = slice_sizes[:xd] + (shape[xd],) + slice_sizes[xd:]
        starts = starts[:xd] + [0] + starts[xd:]
        return dynamic_slice_p.bind(x, *starts, slice_sizes=sizes), xd
    size = _batch_size(args, dims)
    dims_ = shape if xd is None else shape[:xd] + shape[xd + 1:]
    indices = _window_indices(_batched_starts(starts, sdims, size), dims_, slice_sizes)
    if xd is None:
        return gather(x, indices, tuple(range(len(dims_)))), 0
    indices = _with_batch_column(indices)
    return gather(batch_axis_at(x, xd, size), indices, tuple(range(len(shape)))), 0


dynamic_slice_p = Primitive("dynamic_slice")
_def_checked_impl(dynamic_slice_p, _dynamic_slice_impl)
dynamic_slice_p.def_abstract_eval(_dynamic_slice_rule)
jvp_rules[dynamic_slice_p] = linear_jvp(dynamic_slice_p, (0,))
transpose_rules[dynamic_slice_p] = _dynamic_slice_transpose
batch_rules[dynamic_slice_p] = _dynamic_slice_batch


# -- dynamic_update_slice -------------------------------------------------------------------

def dynamic_update_slice(operand, update, start_indices):
    """A copy of ``operand`` with ``update`` written at ``start_indices`` (possibly
    traced), clamped so that ``update`` fits.

    >>> dynamic_update_slice(np.zeros(4), np.ones(2), (3,))
    array([0., 0., 1., 1.])
    """
    shape = get_aval(operand).shape
    starts = _start_list(start_indices, shape, "dynamic_update_slice")
    return dynamic_update_slice_p.bind(operand, update, *starts)


def _dynamic_update_slice_impl(operand, update, *starts):
    out = np.array(operand, copy=True)
    update = np.asarray(update)
    starts = _clamped_starts(starts, out.shape, update.shape)
    out[tuple(slice(s, s + z) for s, z in zip(starts, update.shape))] = update
    return out


def _dynamic_update_slice_rule(operand, update, *starts):
    _check_starts("dynamic_update_slice", operand, starts)
    if update.ndim != operand.ndim or any(u > d for u, d in zip(update.shape, operand.shape)):
        raise ValueError(f"dynamic_update_slice: an update of shape {update.shape} does not "
                         f"fit an operand of shape {operand.shape}")
    if update.dtype != operand.dtype:
        raise TypeError(f"dynamic_update_slice: the update's dtype {update.dtype} differs "
                        f"from the operand's {operand.dtype}")
    return operand


def _dynamic_update_slice_transpose(ct, operand, update, *starts):
    ushape = _aval(update).shape
    ct_op = ct_up = None
    if is_undefined(operand):
        zeros = full(ushape, 0, get_aval(ct).dtype)
        ct_op = dynamic_update_slice_p.bind(ct, zeros, *starts)
    if is_undefined(update):
        ct_up = dynamic_slice_p.bind(ct, *starts, slice_sizes=ushape)
    return [ct_op, ct_up] + [None] * len(starts)


def _dynamic_update_slice_batch(args, dims):
    (x, u, *starts), (xd, ud, *sdims) = args, dims
    size = _batch_size(args, dims)
    x, u = batch_axis_at(x, xd, size), batch_axis_at(u, ud, size)
    if all(d is None for d in sdims):
        return dynamic_update_slice_p.bind(x, u, 0, *starts), 0
    shape, ushape = get_aval(x).shape[1:], get_aval(u).shape[1:]
    indices = _window_indices(_batched_starts(starts, sdims, size), shape, ushape)
    return scatter(x, _with_batch_column(indices), u, tuple(range(len(shape) + 1))), 0


dynamic_update_slice_p = Primitive("dynamic_update_slice")
_def_checked_impl(dynamic_update_slice_p, _dynamic_update_slice_impl)
dynamic_update_slice_p.def_abstract_eval(_dynamic_update_slice_rule)
jvp_rules[dynamic_update_slice_p] = linear_jvp(dynamic_update_slice_p, (0, 1))
transpose_rules[dynamic_update_slice_p] = _dynamic_update_slice_transpose
batch_rules[dynamic_update_slice_p] = _dynamic_update_slice_batch


def _one_axis_starts(operand, start_index, axis, name):
    ndim = get_aval(operand).ndim
    axis = normalize_axis(int(axis), ndim, name)
    starts = [0] * ndim
    starts[axis] = start_index
    return starts, axis


def dynamic_slice_in_dim(operand, start_index, slice_size: int, axis: int = 0):
    """``dynamic_slice`` along one axis (whole extent along the others).

    >>> import numpy as np, fad, fad.lax as lax
    >>> x = np.arange(6)
    >>> fad.jit(lambda i: lax.dynamic_slice_in_dim(x, i, 2))(3)
    array([3, 4])
    """
    starts, axis = _one_axis_starts(operand, start_index, axis, "dynamic_slice_in_dim")
    sizes = list(get_aval(operand).shape)
    sizes[axis] = int(slice_size)
    return dynamic_slice(operand, starts, sizes)


def dynamic_index_in_dim(operand, index, axis: int = 0, keepdims: bool = True):
    """Element ``index`` (possibly traced) along ``axis``.

    >>> import numpy as np, fad, fad.lax as lax
    >>> x = np.array([[1, 2], [3, 4], [5, 6]])
    >>> fad.jit(lambda i: lax.dynamic_index_in_dim(x, i, keepdims=False))(2)
    array([5, 6])
    """
    ndim = get_aval(operand).ndim
    axis = normalize_axis(int(axis), ndim, "dynamic_index_in_dim")
    out = dynamic_slice_in_dim(operand, index, 1, axis)
    return out if keepdims else squeeze(out, (axis,))


def dynamic_update_slice_in_dim(operand, update, start_index, axis: int):
    """``dynamic_update_slice`` at ``start_index`` along ``axis`` (0 along the others).

    >>> import numpy as np, fad, fad.lax as lax
    >>> f = lambda u: lax.dynamic_update_slice_in_dim(np.zeros(5), u, 1, axis=0)
    >>> f(np.ones(2))
    array([0., 1., 1., 0., 0.])
    >>> fad.grad(lambda u: f(u) @ np.arange(5.0))(np.ones(2))
    array([1., 2.])
    """
    starts, _ = _one_axis_starts(operand, start_index, axis, "dynamic_update_slice_in_dim")
    return dynamic_update_slice(operand, update, starts)


# -- gather ---------------------------------------------------------------------------------

def _as_indices(indices):
    return indices if isinstance(indices, Tracer) else np.asarray(indices)


def _index_shape(name, operand, indices, axes):
    """Check ``indices`` against ``operand`` and ``axes``; the result shape of a gather."""
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{name}: indices must be integers, got {indices}")
    if indices.ndim < 1 or indices.shape[-1] != len(axes):
        raise ValueError(f"{name}: indices of shape {indices.shape} must end in an axis of "
                         f"size {len(axes)}, one index per axis in axes={axes}")
    if len(set(axes)) != len(axes) or any(not 0 <= a < operand.ndim for a in axes):
        raise ValueError(f"{name}: axes {axes} are not distinct axes of an operand of shape "
                         f"{operand.shape}")
    if indices.size and any(operand.shape[a] == 0 for a in axes):
        raise ValueError(f"{name}: cannot index into an axis of size 0 (operand shape "
                         f"{operand.shape}, axes {axes})")
    rest = tuple(d for i, d in enumerate(operand.shape) if i not in axes)
    return indices.shape[:-1] + rest


def _flat_index_view(operand, indices, axes):
    """(view of ``operand`` with ``axes`` first, clamped indices as a tuple of ``(n,)``
    arrays, n); with no axes, a leading size-1 axis is indexed by zeros."""
    k = len(axes)
    n = int(np.prod(indices.shape[:-1], dtype=np.int64))
    if k == 0:
        return operand[None], (np.zeros(n, np.int64),), n
    view = np.moveaxis(operand, axes, tuple(range(k)))
    hi = np.array([operand.shape[a] - 1 for a in axes])
    flat = np.clip(indices.reshape(n, k), 0, np.maximum(hi, 0))
    return view, tuple(flat.T), n


def gather(operand, indices, axes):
    """``result[b..., rest...] = operand`` at index ``indices[b..., j]`` along each
    ``axes[j]`` (clamped into range); see the module docstring.

    >>> gather(np.arange(12).reshape(3, 4), np.array([[2, 1], [0, 3]]), (0, 1))
    array([9, 3])
    """
    operand_ndim = get_aval(operand).ndim
    axes = normalize_axes(axes, operand_ndim, "gather")
    return gather_p.bind(operand, _as_indices(indices), axes=axes)


def _gather_impl(operand, indices, *, axes):
    operand, indices = np.asarray(operand), np.asarray(indices)
    view, index, n = _flat_index_view(operand, indices, axes)
    rest = view.shape[max(len(axes), 1):]
    return view[index].reshape(indices.shape[:-1] + rest)


def _gather_rule(operand, indices, *, axes):
    shape = _index_shape("gather", operand, indices, axes)
    return ShapedArray(shape, operand.dtype, operand.weak_type)


def _gather_transpose(ct, operand, indices, *, axes):
    zeros = full(operand.aval.shape, 0, get_aval(ct).dtype)
    return [scatter_add_p.bind(zeros, indices, ct, axes=axes), None]


def _gather_batch(args, dims, *, axes):
    (x, idx), (xd, id_) = args, dims
    nbatch = get_aval(idx).ndim - 1 - (id_ is not None)
    if id_ is None:
        shifted = tuple(a + (a >= xd) for a in axes)
        out_dim = nbatch + xd - sum(a < xd for a in shifted)
        return gather_p.bind(x, idx, axes=shifted), out_dim
    if xd is None:
        if id_ == nbatch + 1:  # the batch axis follows the index axis: move it
            idx, id_ = moveaxis(idx, id_, 0), 0
        return gather_p.bind(x, idx, axes=axes), id_
    size = _batch_size(args, dims)
    idx = _with_batch_column(batch_axis_at(idx, id_, size))
    x = batch_axis_at(x, xd, size)
    return gather_p.bind(x, idx, axes=(0, *(a + 1 for a in axes))), 0


gather_p = Primitive("gather")
_def_checked_impl(gather_p, _gather_impl)
gather_p.def_abstract_eval(_gather_rule)
jvp_rules[gather_p] = linear_jvp(gather_p, (0,))
transpose_rules[gather_p] = _gather_transpose
batch_rules[gather_p] = _gather_batch


# -- scatters -------------------------------------------------------------------------------

def _last_writers(index, n, dims):
    """Positions (in 0..n-1) of the last write to each distinct target."""
    if n == 0:
        return np.zeros(0, np.int64)
    flat = np.ravel_multi_index(index, dims)[::-1]
    _, first = np.unique(flat, return_index=True)
    return n - 1 - first


def _scatter_impl(ufunc):
    def impl(operand, indices, updates, *, axes):
        out = np.array(operand, copy=True)
        indices = np.asarray(indices)
        view, index, n = _flat_index_view(out, indices, axes)
        k = max(len(axes), 1)
        updates = np.asarray(updates, out.dtype).reshape((n,) + view.shape[k:])
        if ufunc is None:
            keep = _last_writers(index, n, view.shape[:k])
            view[tuple(i[keep] for i in index)] = updates[keep]
        else:
            ufunc.at(view, index, updates)
        return out
    return impl


def _scatter_rule(name, kinds):
    def rule(operand, indices, updates, *, axes):
        shape = _index_shape(name, operand, indices, axes)
        if updates.shape != shape:
            raise ValueError(f"{name}: updates must have shape {shape} (index batch shape + "
                             f"the operand's shape {operand.shape} without axes {axes}), "
                             f"got {updates.shape}")
        if updates.dtype != operand.dtype:
            raise TypeError(f"{name}: the updates' dtype {updates.dtype} differs from the "
                            f"operand's {operand.dtype}")
        if operand.dtype.kind not in kinds:
            raise TypeError(f"{name} does not accept operands of dtype {operand.dtype}")
        return operand
    return rule


def _scatter_batch(prim):
    def rule(args, dims, *, axes):
        (x, idx, u), (xd, id_, ud) = args, dims
        size = _batch_size(args, dims)
        if id_ is None:  # keep the operand's batch axis where it is
            if xd is None:
                x, xd = batch_axis_at(x, None, size), 0
            shifted = tuple(a + (a >= xd) for a in axes)
            pos = get_aval(idx).ndim - 1 + xd - sum(a < xd for a in shifted)
            return prim.bind(x, idx, batch_axis_at(u, ud, size, pos), axes=shifted), xd
        idx = _with_batch_column(batch_axis_at(idx, id_, size))
        x, u = batch_axis_at(x, xd, size), batch_axis_at(u, ud, size)
        return prim.bind(x, idx, u, axes=(0, *(a + 1 for a in axes))), 0
    return rule


def _scatter_primitive(name, ufunc, kinds):
    prim = Primitive(name)
    _def_checked_impl(prim, _scatter_impl(ufunc))
    prim.def_abstract_eval(_scatter_rule(name, kinds))
    batch_rules[prim] = _scatter_batch(prim)
    return prim


scatter_p = _scatter_primitive("scatter", None, "biufc")
scatter_add_p = _scatter_primitive("scatter_add", np.add, "iufc")
scatter_mul_p = _scatter_primitive("scatter_mul", np.multiply, "iufc")
scatter_min_p = _scatter_primitive("scatter_min", np.minimum, "biufc")
scatter_max_p = _scatter_primitive("scatter_max", np.maximum, "biufc")


def _scatter_api(prim, doc):
    def op(operand, indices, updates, axes):
        axes = normalize_axes(axes, get_aval(operand).ndim, prim.name)
        if type(updates) in dtypes.PYTHON_SCALAR_TYPES:
            updates = np.asarray(updates, get_aval(operand).dtype)
        return prim.bind(operand, _as_indices(indices), updates, axes=axes)
    op.__name__ = prim.name
    op.__doc__ = doc
    return op


scatter = _scatter_api(scatter_p, """A copy of ``operand`` with ``updates`` written at
    ``indices`` along ``axes`` (the shapes of ``gather``); the last write wins.

    >>> scatter(np.zeros(3), np.array([[1], [1]]), np.array([5., 7.]), (0,))
    array([0., 7., 0.])
    """)
scatter_add = _scatter_api(scatter_add_p, """Add ``updates`` into a copy of ``operand`` at
    ``indices`` along ``axes``; duplicates accumulate (``np.add.at``).

    >>> scatter_add(np.zeros(3), np.array([[1], [1]]), np.array([5., 7.]), (0,))
    array([ 0., 12.,  0.])
    """)
scatter_mul = _scatter_api(scatter_mul_p, """Like ``scatter_add``, multiplying.

    >>> scatter_mul(np.ones(3), np.array([[1], [1]]), np.array([2., 3.]), (0,))
    array([1., 6., 1.])
    """)
scatter_min = _scatter_api(scatter_min_p, """Like ``scatter_add``, taking the minimum.

    >>> scatter_min(np.zeros(3), np.array([[0], [2]]), np.array([-1., 5.]), (0,))
    array([-1.,  0.,  0.])
    """)
scatter_max = _scatter_api(scatter_max_p, """Like ``scatter_add``, taking the maximum.

    >>> scatter_max(np.zeros(3), np.array([[0], [2]]), np.array([-1., 5.]), (0,))
    array([0., 0., 5.])
    """)


def _zeros(x):
    aval = get_aval(x)
    return np.zeros(aval.shape, aval.dtype)


def _scalar(value, x):
    return np.asarray(value, get_aval(x).dtype)[()]


def _winners(indices, axes, operand_shape):
    """Boolean of the index batch shape: which updates survive in ``scatter``."""
    batch = get_aval(indices).shape[:-1]
    k = len(axes)
    ids = reshape(iota(_INDEX_DTYPE, int(np.prod(batch, dtype=np.int64))), batch)
    target = np.full(tuple(operand_shape[a] for a in axes), -1, _INDEX_DTYPE)
    written = scatter_p.bind(target, indices, ids, axes=tuple(range(k)))
    return eq(gather_p.bind(written, indices, axes=tuple(range(k))), ids)


def _scatter_transpose(ct, operand, indices, updates, *, axes):
    ushape = _aval(updates).shape
    ct_op = ct_up = None
    if is_undefined(operand):
        zeros = np.zeros(ushape, get_aval(ct).dtype)
        ct_op = scatter_p.bind(ct, indices, zeros, axes=axes)
    if is_undefined(updates):
        won = _winners(indices, axes, _aval(operand).shape)
        won = broadcast_in_dim(won, ushape, tuple(range(get_aval(won).ndim)))
        picked = gather_p.bind(ct, indices, axes=axes)
        ct_up = select_n(won, _scalar(0, picked), picked)
    return [ct_op, None, ct_up]


def _scatter_add_transpose(ct, operand, indices, updates, *, axes):
    return [ct if is_undefined(operand) else None, None,
            gather_p.bind(ct, indices, axes=axes) if is_undefined(updates) else None]


def _scatter_mul_transpose(ct, operand, indices, updates, *, axes):
    if is_undefined(updates):
        raise TypeError("scatter_mul is linear in its operand only, not in its updates")
    return [scatter_mul_p.bind(ct, indices, updates, axes=axes), None, None]


def _others_product(shape, indices, updates, axes):
    """For each update, the product of the other updates written to the same place."""
    is0 = eq(updates, 0)
    one, zero = _scalar(1, updates), _scalar(0, updates)
    dtype = get_aval(updates).dtype
    safe = select_n(is0, updates, one)
    prod_nonzero = scatter_mul_p.bind(np.ones(shape, dtype), indices, safe, axes=axes)
    n_zeros = scatter_add_p.bind(np.zeros(shape, dtype), indices, select_n(is0, zero, one),
                                 axes=axes)
    prod_g = gather_p.bind(prod_nonzero, indices, axes=axes)
    zeros_g = gather_p.bind(n_zeros, indices, axes=axes)
    only_zero = bitwise_and(eq(zeros_g, 1), is0)
    return select_n(eq(zeros_g, 0), select_n(only_zero, zero, prod_g), div(prod_g, safe))


def _scatter_mul_jvp(primals, tangents, *, axes):
    (x, idx, u), (tx, _, tu) = primals, tangents
    ans = scatter_mul_p.bind(x, idx, u, axes=axes)
    out = Zero.like(ans)
    if type(tx) is not Zero:
        out = scatter_mul_p.bind(tx, idx, u, axes=axes)
    if type(tu) is not Zero:
        others = _others_product(get_aval(x).shape, idx, u, axes)
        spread = scatter_add_p.bind(_zeros(x), idx, mul(tu, others), axes=axes)
        out = add_tangents(out, mul(x, spread))
    return ans, out


def _scatter_extremum_jvp(prim):
    """Tangent of the winner; ties (among the operand and the updates at a place) are
    split equally, as ``max``/``min`` do."""
    def rule(primals, tangents, *, axes):
        (x, idx, u), (tx, _, tu) = primals, tangents
        ans = prim.bind(x, idx, u, axes=axes)
        if type(tx) is Zero and type(tu) is Zero:
            return ans, Zero.like(ans)
        one, zero = _scalar(1, ans), _scalar(0, ans)
        w_x = select_n(eq(x, ans), zero, one)
        w_u = select_n(eq(u, gather_p.bind(ans, idx, axes=axes)), zero, one)
        count = add(w_x, scatter_add_p.bind(_zeros(x), idx, w_u, axes=axes))
        num = Zero.like(ans)
        if type(tx) is not Zero:
            num = mul(w_x, tx)
        if type(tu) is not Zero:
            num = add_tangents(num, scatter_add_p.bind(_zeros(x), idx, mul(w_u, tu),
                                                       axes=axes))
        return ans, div(num, count)
    return rule


jvp_rules[scatter_p] = linear_jvp(scatter_p, (0, 2))
jvp_rules[scatter_add_p] = linear_jvp(scatter_add_p, (0, 2))
jvp_rules[scatter_mul_p] = _scatter_mul_jvp
jvp_rules[scatter_min_p] = _scatter_extremum_jvp(scatter_min_p)
jvp_rules[scatter_max_p] = _scatter_extremum_jvp(scatter_max_p)
transpose_rules[scatter_p] = _scatter_transpose
transpose_rules[scatter_add_p] = _scatter_add_transpose
transpose_rules[scatter_mul_p] = _scatter_mul_transpose

__all__ = ["dynamic_slice", "dynamic_update_slice", "dynamic_slice_in_dim",
           "dynamic_index_in_dim", "dynamic_update_slice_in_dim", "gather", "scatter",
           "scatter_add", "scatter_mul", "scatter_min", "scatter_max", "dynamic_slice_p",
           "dynamic_update_slice_p", "gather_p", "scatter_p", "scatter_add_p",
           "scatter_mul_p", "scatter_min_p", "scatter_max_p"]
