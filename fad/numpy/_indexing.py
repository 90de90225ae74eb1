"""NumPy indexing on traced arrays, and functional updates ``x.at[idx].set(y)``.

``getitem`` follows NumPy's rules: integers, slices (any step), ``None``, ``...``,
integer arrays (concrete or traced) and concrete boolean masks. Basic indices become one
``lax.rev`` and one ``lax.slice``; advanced (array) indices one ``lax.gather``, whose
broadcast index dimensions go where NumPy puts them (in place when the advanced indices
are adjacent, first otherwise). Updates index a constant array of flat positions the
same way and scatter into the flattened operand.

Out-of-bounds indices follow JAX's ``mode`` of ``x.at[idx]`` (see ``IndexUpdateHelper``):
``mode="clip"`` clamps them into range; dropping an update or filling a ``get`` sends them
to one extra element padded onto the end of each integer-indexed axis (``_with_slots``),
which is then sliced off or holds the fill value. The padding is ordinary ``lax.pad`` and
``lax.slice``, so eager evaluation, ``jit``, ``vmap`` and the derivatives agree by
construction: a dropped update lands in the padding and takes no derivative with it.
"""
from __future__ import annotations

import numpy as np

from fad import lax
from fad.core.trace import Tracer, describe
from fad.errors import ConcretizationTypeError
from fad.numpy import _elementwise, _shape, _ufuncs
from fad.numpy._promote import (accept_traced_sequences_in, any_traced, asarray, cast,
                                concrete_or_none, dtype_of, ndim_of, normalize_axis,
                                shape_of)

_BAD_INDEX = ("only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and "
              "integer or boolean arrays are valid indices")


# -- parsing ------------------------------------------------------------------------------------

def _classify(entry):
    """``(kind, value)`` for one entry of an index tuple."""
    if entry is None:
        return "new", None
    if entry is Ellipsis:
        return "ellipsis", None
    if isinstance(entry, slice):
        return "slice", entry
    if isinstance(entry, (bool, np.bool_)):
        raise IndexError("fad.numpy does not support indexing with a Python bool scalar")
    if isinstance(entry, (int, np.integer)):
        return "int", int(entry)
    if isinstance(entry, Tracer):
        kind = dtype_of(entry).kind
        if kind in "iu":
            return "adv", entry
        if kind == "b":
            mask = concrete_or_none(entry)
            if mask is None:
                raise IndexError(
                    "a boolean mask index must be concrete (its result shape depends on its "
                    f"values), got {describe(entry)}, which is abstract; use fad.numpy.where(mask, "
                    "x, other) instead")
            return "mask", np.asarray(mask)
        raise IndexError(_BAD_INDEX)
    arr = asarray(entry)
    if isinstance(arr, Tracer):
        return _classify(arr)
    arr = np.asarray(arr)
    if arr.dtype == np.bool_:
        return "mask", arr
    if arr.dtype.kind not in "iu" and not (arr.size == 0 and arr.dtype.kind == "f"):
        raise IndexError(_BAD_INDEX)
    if arr.ndim == 0:
        return "int", int(arr)
    return "adv", arr.astype(np.intp)


def _parse(idx, shape):
    """The index as a list of ``(kind, value, dim)`` with masks expanded and the ellipsis
    replaced by full slices; ``dim`` is the operand axis (``None`` for new axes)."""
    entries = [_classify(e) for e in (idx if isinstance(idx, tuple) else (idx,))]
    for kind, val in entries:
        if kind == "mask" and val.ndim == 0:
            raise IndexError("fad.numpy does not support 0-d boolean mask indices")
    expanded = list(entries)
    used = sum(val.ndim if kind == "mask" else kind in ("int", "slice", "adv")
               for kind, val in expanded)
    if used > len(shape):
        raise IndexError(f"too many indices for array: array is {len(shape)}-dimensional, "
                         f"but {used} were indexed")
    n_ell = sum(kind == "ellipsis" for kind, _ in expanded)
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    fill = [("slice", slice(None))] * (len(shape) - used)
    if n_ell:
        i = next(i for i, (kind, _) in enumerate(expanded) if kind == "ellipsis")
        expanded[i:i + 1] = fill
    else:
        expanded += fill
    out, dim = [], 0
    for kind, val in expanded:
        if kind == "new":
            out.append(("new", None, None))
        elif kind == "mask":
            if val.shape != shape[dim:dim + val.ndim]:
                raise IndexError(f"boolean index did not match indexed array along axis {dim}"
                                 f"; size of axis is {shape[dim]} but size of corresponding "
                                 f"boolean axis is {val.shape[0]}")
            out += [("adv", nz.astype(np.intp), dim + k) for k, nz in enumerate(np.nonzero(val))]
            dim += val.ndim
        else:
            out.append((kind, val, dim))
            dim += 1
    return out


def _numpy_indexes_alike(idx):
    """Whether NumPy indexes with ``idx`` exactly as fad does when every index is in bounds
    (then NumPy's indexing is the eager fast path of ``x.at[idx]``): integers, slices,
    ``None``, ``...`` and integer or boolean (not 0-d) arrays, no tracer. (fad refuses a
    Python bool and a 0-d mask, which NumPy takes; lists go the general way.)"""
    for entry in (idx if type(idx) is tuple else (idx,)):
        t = type(entry)
        if t is np.ndarray:
            kind = entry.dtype.kind
            if not (kind in "iu" or kind == "b" and entry.ndim):
                return False
        elif t is bool or not isinstance(entry, _NUMPY_INDEX_TYPES):
            return False
    return True


_NUMPY_INDEX_TYPES = (int, np.integer, slice, type(None), type(Ellipsis))


# -- getitem ------------------------------------------------------------------------------------

def _basic_slices(x, entries):
    """Apply slices and static integers; returns the operand (integer axes kept, size 1)."""
    shape = shape_of(x)
    starts, limits, strides, rev = [0] * len(shape), list(shape), [1] * len(shape), []
    for kind, val, d in entries:
        n = shape[d] if d is not None else None
        if kind == "int":
            if not -n <= val < n:
                raise IndexError(f"index {val} is out of bounds for axis {d} with size {n}")
            starts[d], limits[d] = val % n, val % n + 1
        elif kind == "slice":
            start, stop, step = val.indices(n)
            length = len(range(start, stop, step))
            if step < 0:
                rev.append(d)
                start, step = n - 1 - start, -step
            starts[d], strides[d] = (start, step) if length else (0, 1)
            limits[d] = start + (length - 1) * step + 1 if length else 0
    if rev:
        x = lax.rev(x, tuple(rev))
    if starts != [0] * len(shape) or limits != list(shape) or strides != [1] * len(shape):
        x = lax.slice(x, tuple(starts), tuple(limits), tuple(strides))
    return x


def _check_in_bounds(i, n, d):
    """NumPy's ``IndexError`` for a concrete index ``i`` outside ``[-n, n)``."""
    i = np.asarray(i)
    if i.size and (i.max() >= n or i.min() < -n):
        bad = i.max() if i.max() >= n else i.min()
        raise IndexError(f"index {bad} is out of bounds for axis {d} with size {n}")


def _wrapped(i, n):
    """Integer index ``i`` with negative entries counted from the end, once."""
    if isinstance(i, Tracer):
        i = cast(i, np.dtype(np.intp))
    return _elementwise.where(_ufuncs.less(i, 0), _ufuncs.add(i, n), i)


def _normalized_index(i, n, d):
    """An advanced index with negative entries wrapped (bounds-checked when concrete; a
    traced index out of bounds is clamped by ``lax.gather``)."""
    if not isinstance(i, Tracer):
        _check_in_bounds(i, n, d)
    return _wrapped(i, n)


def _gather_advanced(x, entries):
    """Gather the advanced axes; returns ``(result, number of broadcast index dims)``."""
    adv = [(val, d) for kind, val, d in entries if kind == "adv"]
    shape = shape_of(x)
    idxs = [_normalized_index(i, shape[d], d) for i, d in adv]
    try:
        bshape = np.broadcast_shapes(*(shape_of(i) for i in idxs))
    except ValueError:
        raise IndexError("shape mismatch: indexing arrays could not be broadcast together "
                         f"with shapes {' '.join(str(shape_of(i)) for i in idxs)}") from None
    if any(isinstance(i, Tracer) for i in idxs):
        indices = _shape.stack([_shape.broadcast_to(i, bshape) for i in idxs], axis=-1)
    else:
        indices = np.stack([np.broadcast_to(i, bshape) for i in idxs], axis=-1)
    return lax.gather(x, indices, tuple(d for _, d in adv)), len(bshape)


def getitem(x, idx):
    """``x[idx]`` with NumPy's semantics, for a traced ``x`` or traced indices.

    A static index (a Python int, a NumPy array) out of bounds raises NumPy's
    ``IndexError``; a traced one cannot be checked and is clamped into range, as in JAX
    (``x.at[idx].get(mode=...)`` chooses otherwise)."""
    x = asarray(x)
    entries = _parse(idx, shape_of(x))
    if any(kind == "adv" for kind, _, _ in entries):
        return _advanced_getitem(x, entries)
    x = _basic_slices(x, entries)
    out_shape, sliced = [], iter(shape_of(x))
    for kind, _, _ in entries:
        if kind == "new":
            out_shape.append(1)
        else:
            size = next(sliced)
            if kind == "slice":
                out_shape.append(size)
    return lax.reshape(x, tuple(out_shape)) if tuple(out_shape) != shape_of(x) else x


def _advanced_getitem(x, entries):
    entries = [("adv", np.asarray(val, np.intp), d) if kind == "int" else (kind, val, d)
               for kind, val, d in entries]
    x = _basic_slices(x, entries)
    out, nb = _gather_advanced(x, entries)
    adv_pos = [i for i, (kind, _, _) in enumerate(entries) if kind == "adv"]
    adjacent = adv_pos[-1] - adv_pos[0] + 1 == len(adv_pos)
    # Axes of ``out``: nb broadcast dims, then the sliced dims in order.
    order, shape, slice_axis = [], [], nb
    if not adjacent:
        order += list(range(nb))
        shape += list(shape_of(out)[:nb])
    for i, (kind, _, _) in enumerate(entries):
        if kind == "new":
            shape.append(1)
        elif kind == "slice":
            order.append(slice_axis)
            shape.append(shape_of(out)[slice_axis])
            slice_axis += 1
        elif adjacent and i == adv_pos[0]:
            order += list(range(nb))
            shape += list(shape_of(out)[:nb])
    out = lax.transpose(out, tuple(order))
    return lax.reshape(out, tuple(shape)) if tuple(shape) != shape_of(out) else out


# -- out-of-bounds modes ------------------------------------------------------------------------

# what each ``mode`` of ``x.at[idx]`` does with an out-of-bounds index: "clip" clamps it
# into range, "slot" sends it to the padding slot (a ``get`` fills, an update is dropped)
_GET_POLICIES = {None: "clip", "promise_in_bounds": "clip", "clip": "clip", "drop": "slot",
                 "fill": "slot"}
_UPDATE_POLICIES = {None: "slot", "promise_in_bounds": "slot", "clip": "clip",
                    "drop": "slot", "fill": "slot"}


def _policy(mode, policies, method):
    if isinstance(mode, str) or mode is None:
        policy = policies.get(mode)
        if policy is not None:
            return policy
    raise ValueError(f"x.at[idx].{method}: mode must be None, 'promise_in_bounds', 'clip', "
                     f"'drop' or 'fill', got {mode!r}")


def _bounded(i, n, policy):
    """Index ``i`` (an int, an integer array or tracer) along an axis of size ``n``, with
    negative entries counted from the end once and the entries still outside ``[0, n)``
    clamped into it (``policy="clip"``) or sent to ``n``, the padding slot ("slot")."""
    w = _wrapped(i, n)
    if policy == "clip":
        w = _elementwise.clip(w, 0, max(n - 1, 0))
    else:
        inside = _ufuncs.logical_and(_ufuncs.greater_equal(w, 0), _ufuncs.less(w, n))
        w = _elementwise.where(inside, w, np.intp(n))
    return int(w) if isinstance(i, int) else w


def _bounded_index(entries, shape, policy):
    """The parsed index rebuilt with every integer entry ``_bounded``; and whether an entry
    may use the padding slot."""
    index, uses_slot = [], False
    for kind, val, d in entries:
        if kind in ("int", "adv"):
            val = _bounded(val, shape[d], policy)
            uses_slot |= policy == "slot" and (isinstance(val, Tracer) or
                                               bool(np.any(np.asarray(val) == shape[d])))
        index.append(None if kind == "new" else val)
    return tuple(index), uses_slot


def _with_slots(x, entries, value):
    """``x`` with one element ``value`` padded onto the end of each integer-indexed axis."""
    axes = {d for kind, _, d in entries if kind in ("int", "adv")}
    config = [(0, int(d in axes), 0) for d in range(len(shape_of(x)))]
    return lax.pad(x, cast(value, dtype_of(x)), config)


def _default_fill(dtype):
    """JAX's fill for out-of-bounds gets: NaN, the most negative signed integer, the
    largest unsigned one, ``True``."""
    if dtype.kind in "fc":
        return np.nan
    if dtype.kind in "iu":
        return np.iinfo(dtype).min if dtype.kind == "i" else np.iinfo(dtype).max
    return True


def _fill_scalar(fill_value, dtype):
    if fill_value is None:
        return _default_fill(dtype)
    if len(shape_of(asarray(fill_value))) != 0:
        raise ValueError(f"fill_value must be a scalar, got one of shape "
                         f"{shape_of(asarray(fill_value))}")
    return fill_value


def _get(x, idx, mode=None, fill_value=None):
    """``x[idx]`` with out-of-bounds indices handled by ``mode`` (see ``IndexUpdateHelper``)."""
    policy = _policy(mode, _GET_POLICIES, "get")
    x = asarray(x)
    if not isinstance(x, Tracer) and _numpy_indexes_alike(idx):
        try:
            return x[idx]
        except IndexError:   # out of bounds: ``mode`` decides, below
            pass
    entries = _parse(idx, shape_of(x))
    index, uses_slot = _bounded_index(entries, shape_of(x), policy)
    if uses_slot:
        x = _with_slots(x, entries, _fill_scalar(fill_value, dtype_of(x)))
    if isinstance(x, Tracer) or _has_tracer(index):
        return getitem(x, index)
    return x[index]


# -- take -------------------------------------------------------------------------------------

_TAKE_MODES = (None, "raise", "wrap", "clip", "fill")


def _take_index(indices, n, axis, mode, fill_value, name):
    """``(indices, mode of get)`` for NumPy's (and JAX's) modes of ``take``."""
    if mode not in _TAKE_MODES:
        raise ValueError(f"{name}: mode must be None, 'raise', 'wrap', 'clip' or 'fill', got "
                         f"{mode!r}")
    if fill_value is not None and mode not in (None, "fill"):
        raise ValueError(f"{name}: fill_value applies to mode='fill' (or None) only, not to "
                         f"mode={mode!r}")
    if mode == "wrap":
        return _ufuncs.remainder(indices, n), "promise_in_bounds"
    if mode == "clip":   # NumPy's clip: negative indices go to 0, not from the end
        return _elementwise.clip(indices, 0, max(n - 1, 0)), "promise_in_bounds"
    if mode == "fill":
        return indices, "fill"
    known = concrete_or_none(indices)
    if known is None:
        if mode == "raise":
            raise ConcretizationTypeError(
                f"{name}(..., mode='raise') cannot check traced indices for bounds; use "
                "mode='fill' (the default for traced indices), 'clip' or 'wrap'")
        return indices, "fill"
    _check_in_bounds(known, n, axis)
    return indices, "promise_in_bounds"


def take(a, indices, axis=None, out=None, mode=None, fill_value=None):
    """Like ``numpy.take``, with JAX's ``fill`` mode; indices may be traced.

    ``mode``: ``'raise'`` (NumPy's default) raises ``IndexError`` for out-of-bounds
    indices, ``'wrap'`` takes them modulo the axis size, ``'clip'`` clamps them into range
    (negative ones to 0, as NumPy does), ``'fill'`` (JAX's default) gives ``fill_value``
    for them (NaN for floats; see ``IndexUpdateHelper``). The default ``None`` raises for
    concrete indices, as NumPy does, and fills for traced ones, which cannot be checked.
    Every mode gives the same values eagerly and under ``jit``/``vmap``/``grad``.

    >>> take(np.array([1., 2., 3.]), np.array([0, 5]), mode="fill")
    array([ 1., nan])
    """
    traced = isinstance(a, Tracer) or isinstance(indices, Tracer)
    if not traced and mode in (None, "raise", "wrap", "clip") and fill_value is None:
        return np.take(a, indices, axis, out, mode or "raise")
    if out is not None:
        raise TypeError("fad.numpy.take cannot write into out= here (fad arrays are "
                        "immutable); drop out= and use the returned value")
    a = asarray(a)
    if axis is None:
        a, axis = _shape.ravel(a), 0
    axis = normalize_axis(axis, len(shape_of(a)))
    indices, get_mode = _take_index(indices, shape_of(a)[axis], axis, mode, fill_value,
                                    "take")
    return _get(a, (slice(None),) * axis + (indices,), get_mode, fill_value)


def take_along_axis(arr, indices, axis, mode=None, fill_value=None):
    """Like ``numpy.take_along_axis``, with the modes of ``take`` (JAX's ``fill`` too).

    >>> take_along_axis(np.array([[1., 2.], [3., 4.]]), np.array([[1], [2]]), 1, "fill")
    array([[ 2.],
           [nan]])
    """
    traced = isinstance(arr, Tracer) or isinstance(indices, Tracer)
    if not traced and mode in (None, "raise") and fill_value is None:
        return np.take_along_axis(arr, indices, axis)
    arr = asarray(arr)
    if axis is None:
        arr, axis = _shape.ravel(arr), 0
    nd = len(shape_of(arr))
    axis = normalize_axis(axis, nd)
    if len(shape_of(indices)) != nd:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    indices, get_mode = _take_index(indices, shape_of(arr)[axis], axis, mode, fill_value,
                                    "take_along_axis")
    grids = [np.arange(n).reshape([-1 if k == d else 1 for k in range(nd)])
             for d, n in enumerate(shape_of(arr))]
    grids[axis] = indices
    return _get(arr, tuple(grids), get_mode, fill_value)


# -- repeat and roll (NumPy's shape functions, gathers when traced) -----------------------

def repeat(a, repeats, axis=None):
    """Like ``numpy.repeat``; ``repeats`` must be concrete (static output shape).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.repeat(np.array([1, 2]), 2)
    array([1, 1, 2, 2])
    >>> fnp.repeat(np.array([[1, 2]]), np.array([1, 2]), axis=1)
    array([[1, 2, 2]])
    """
    if not isinstance(a, Tracer) and not isinstance(repeats, Tracer):
        return np.repeat(a, repeats, axis)
    a = asarray(a)
    reps = concrete_or_none(repeats)
    if reps is None:
        raise TypeError("fad.numpy.repeat needs concrete repeats: the output shape depends "
                        "on them (pass a NumPy array or Python ints)")
    if axis is None:
        a, axis = _shape.ravel(a), 0
    axis = normalize_axis(axis, ndim_of(a))
    n = shape_of(a)[axis]
    reps = np.asarray(reps)
    if reps.ndim == 0 or reps.shape == (1,):
        r = int(reps.reshape(()))
        shape = shape_of(a)
        x = lax.expand_dims(a, (axis + 1,))
        x = lax.broadcast_to(x, shape[:axis + 1] + (r,) + shape[axis + 1:])
        return lax.reshape(x, shape[:axis] + (n * r,) + shape[axis + 1:])
    if reps.shape != (n,):
        raise ValueError(f"operands could not be broadcast together with shape ({n},) "
                         f"{reps.shape}")
    return take(a, np.repeat(np.arange(n), reps), axis=axis)


def roll(a, shift, axis=None):
    """Like ``numpy.roll``; a traced ``shift`` uses a gather.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.roll(np.array([1, 2, 3, 4]), 1)
    array([4, 1, 2, 3])
    >>> fad.jit(fnp.roll)(np.array([1, 2, 3, 4]), -1)
    array([2, 3, 4, 1])
    """
    if not isinstance(a, Tracer) and not isinstance(shift, Tracer):
        return np.roll(a, shift, axis)
    a = asarray(a)
    if axis is None:
        return _shape.reshape(roll(_shape.ravel(a), shift, 0), shape_of(a))
    if isinstance(shift, Tracer):
        axes = np.atleast_1d(axis).tolist()
        shifts = [shift] * len(axes)
    else:
        shifts, axes = (x.tolist() for x in np.broadcast_arrays(np.atleast_1d(shift),
                                                                np.atleast_1d(axis)))
    for s, ax in zip(shifts, axes):
        a = _roll_axis(a, s, normalize_axis(ax, ndim_of(a)))
    return a


def _roll_axis(a, shift, axis):
    n = shape_of(a)[axis]
    if n == 0:
        return a
    if isinstance(shift, Tracer):
        return take(a, _ufuncs.remainder(_ufuncs.subtract(np.arange(n), shift), n), axis=axis)
    s = int(shift) % n
    if s == 0:
        return a
    return lax.concatenate([_shape.slice_axis(a, n - s, n, axis),
                            _shape.slice_axis(a, 0, n - s, axis)], axis)


# -- functional updates -------------------------------------------------------------------------

_NUMPY_UPDATES = {"add": np.add, "multiply": np.multiply, "min": np.minimum,
                  "max": np.maximum}
_SCATTERS = {"set": lax.scatter, "add": lax.scatter_add, "multiply": lax.scatter_mul,
             "min": lax.scatter_min, "max": lax.scatter_max}


def _has_tracer(idx):
    entries = idx if isinstance(idx, tuple) else (idx,)
    return any(isinstance(e, Tracer) or (isinstance(e, list) and any(
        isinstance(v, Tracer) for v in e)) for e in entries)


def _numpy_update(x, idx, values, op):
    """``_scatter_update`` by NumPy, nothing traced (``IndexError`` when out of bounds)."""
    out = np.array(x, copy=True)
    vals = np.asarray(values).astype(out.dtype, copy=False)
    if op == "set":
        out[idx] = vals
    else:
        _NUMPY_UPDATES[op].at(out, idx, vals)
    return out


def _scatter_update(x, idx, values, op):
    """``x`` with ``x[idx]`` combined with ``values`` by ``op``, every index in bounds."""
    if not isinstance(x, Tracer) and not isinstance(values, Tracer) and not _has_tracer(idx):
        return _numpy_update(x, idx, values, op)
    x = asarray(x)
    shape, size = shape_of(x), int(np.prod(shape_of(x)))
    positions = getitem(np.arange(size).reshape(shape), idx) if _has_tracer(idx) else \
        np.arange(size).reshape(shape)[idx]
    vals = cast(asarray(values), dtype_of(x))
    vals = _shape.broadcast_to(vals, shape_of(positions)) if shape_of(vals) != \
        shape_of(positions) else vals
    n = int(np.prod(shape_of(positions)))
    flat_pos = lax.reshape(positions, (n, 1)) if isinstance(positions, Tracer) else \
        positions.reshape(n, 1)
    out = _SCATTERS[op](lax.reshape(x, (size,)), flat_pos, lax.reshape(vals, (n,)), (0,))
    return lax.reshape(out, shape)


def update(x, idx, values, op, mode=None):
    """``x`` with ``x[idx]`` combined with ``values`` by ``op`` (a new array); indices out
    of bounds are dropped or clipped by ``mode`` (see ``IndexUpdateHelper``)."""
    policy = _policy(mode, _UPDATE_POLICIES, op)
    x = asarray(x)
    if isinstance(values, (list, tuple)) and any_traced(values):
        values = asarray(values)
    if (not isinstance(x, Tracer) and not isinstance(values, Tracer)
            and _numpy_indexes_alike(idx)):
        try:
            return _numpy_update(x, idx, values, op)
        except IndexError:   # out of bounds: ``mode`` decides, below
            pass
    shape = shape_of(x)
    entries = _parse(idx, shape)
    index, uses_slot = _bounded_index(entries, shape, policy)
    if not uses_slot:
        return _scatter_update(x, index, values, op)
    out = _scatter_update(_with_slots(x, entries, 0), index, values, op)
    return lax.slice(out, (0,) * len(shape), shape)


class _IndexUpdateRef:
    """``x.at[idx]``: the functional update methods for one index (see
    ``IndexUpdateHelper`` for ``mode``; ``indices_are_sorted`` and ``unique_indices`` are
    JAX's performance hints, accepted and not needed)."""

    __slots__ = ("array", "index")

    def __init__(self, array, index):
        self.array, self.index = array, index

    def get(self, *, indices_are_sorted=False, unique_indices=False, mode=None,
            fill_value=None):
        """``x[idx]``; out-of-bounds indices are clamped, or give ``fill_value`` with
        ``mode='fill'``/``'drop'``."""
        if fill_value is not None and _policy(mode, _GET_POLICIES, "get") != "slot":
            raise ValueError(f"x.at[idx].get: fill_value applies to mode='fill' or 'drop' "
                             f"only, not to mode={mode!r}")
        return _get(self.array, self.index, mode, fill_value)

    def set(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """A copy of ``x`` with ``x[idx] = values``."""
        return update(self.array, self.index, values, "set", mode)

    def add(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """A copy of ``x`` with ``values`` added at ``idx`` (repeated indices accumulate)."""
        return update(self.array, self.index, values, "add", mode)

    def subtract(self, values, *, indices_are_sorted=False, unique_indices=False,
                 mode=None):
        """A copy of ``x`` with ``values`` subtracted at ``idx``."""
        return update(self.array, self.index, _ufuncs.negative(values), "add", mode)

    def multiply(self, values, *, indices_are_sorted=False, unique_indices=False,
                 mode=None):
        """A copy of ``x`` multiplied by ``values`` at ``idx``."""
        return update(self.array, self.index, values, "multiply", mode)

    mul = multiply

    def min(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """A copy of ``x`` with ``minimum(x[idx], values)`` at ``idx``."""
        return update(self.array, self.index, values, "min", mode)

    def max(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """A copy of ``x`` with ``maximum(x[idx], values)`` at ``idx``."""
        return update(self.array, self.index, values, "max", mode)


class IndexUpdateHelper:
    """The ``.at`` property: ``x.at[idx].set(y)`` and friends return updated copies.

    ``x.at[idx].set/add/subtract/multiply/mul/min/max(values, mode=None)`` and
    ``x.at[idx].get(mode=None, fill_value=None)`` follow JAX. Negative indices count from
    the end, as in NumPy (-1 is the last element; below ``-n`` is out of bounds). What an
    out-of-bounds index does depends on ``mode``, never on whether the index (or ``x``)
    is a Python int, a NumPy array or a tracer, so the result is the same eagerly and
    under ``jit``, ``vmap`` and ``grad``:

    * ``None`` (the default) and ``"promise_in_bounds"``: an update is dropped, a
      ``get`` is clamped into range (as plain indexing with a traced index is);
    * ``"clip"``: the index is clamped into range, for updates and ``get`` alike;
    * ``"drop"`` and ``"fill"``: an update is dropped; a ``get`` gives ``fill_value``
      (by default NaN for inexact dtypes, the most negative value of signed integers,
      the largest of unsigned ones, ``True`` for booleans).

    Derivatives follow the values: a dropped update contributes nothing (its values get
    a zero derivative), a clipped one goes to the clamped position. Repeated indices
    accumulate in ``add``/``multiply``/``min``/``max``; in ``set`` the last write wins.
    Plain ``x[5]`` with a static index out of bounds raises NumPy's ``IndexError``.

    >>> import numpy as np, fad.numpy as fnp
    >>> fnp.at(np.zeros(3))[np.array([0, 5, -1])].add(1.0)
    array([1., 0., 1.])
    >>> fnp.at(np.arange(3.0))[5].get(), fnp.at(np.arange(3.0))[5].get(mode="fill")
    (np.float64(2.0), np.float64(nan))
    """

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index):
        return _IndexUpdateRef(self.array, index)


def at(x):
    """``x.at`` for any array-like: ``fad.numpy.at(x)[idx].add(y)``, with the out-of-bounds
    ``mode`` of ``IndexUpdateHelper`` (updates out of bounds are dropped by default, ``get``
    clamps). NumPy arrays and scalars also have ``x.at`` itself once fad.numpy is imported
    (``fad/numpy/_numpy_at.py``); ``at(x)`` takes lists too.

    >>> at(np.zeros(3))[3].set(1.0)            # out of bounds: dropped
    array([0., 0., 0.])
    >>> at(np.zeros(3))[3].set(1.0, mode="clip")
    array([0., 0., 1.])
    """
    return IndexUpdateHelper(x)


__all__ = ["take", "take_along_axis", "repeat", "roll", "at"]
accept_traced_sequences_in(globals())
