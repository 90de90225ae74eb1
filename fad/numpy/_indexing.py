"""NumPy indexing on traced arrays, and functional updates ``x.at[idx].set(y)``.

``getitem`` follows NumPy's rules: integers, slices (any step), ``None``, ``...``,
integer arrays (concrete or traced) and concrete boolean masks. Basic indices become one
``lax.rev`` and one ``lax.slice``; advanced (array) indices one ``lax.gather``, whose
broadcast index dimensions go where NumPy puts them (in place when the advanced indices
are adjacent, first otherwise). Updates index a constant array of flat positions the
same way and scatter into the flattened operand.
"""
from __future__ import annotations


import numpy as np

from fad import lax
from fad.core.trace import Tracer
from fad.numpy._promote import asarray, cast, concrete_or_none, dtype_of, shape_of

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
                    f"values), got the abstract tracer {entry!r}; use fad.numpy.where(mask, "
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


def _normalized_index(i, n, d):
    """An advanced index with negative entries wrapped (bounds-checked when concrete)."""
    if isinstance(i, Tracer):
        from fad.numpy._elementwise import where
        from fad.numpy._ufuncs import add, less
        i = cast(i, np.dtype(np.intp))
        return where(less(i, 0), add(i, n), i)
    if i.size and (i.max() >= n or i.min() < -n):
        bad = i.max() if i.max() >= n else i.min()
        raise IndexError(f"index {bad} is out of bounds for axis {d} with size {n}")
    return np.where(i < 0, i + n, i)


def _gather_advanced(x, entries):
    """Gather the advanced axes; returns ``(result, number of broadcast index dims)``."""
    from fad.numpy._shape import broadcast_to, stack
    adv = [(val, d) for kind, val, d in entries if kind == "adv"]
    shape = shape_of(x)
    idxs = [_normalized_index(i, shape[d], d) for i, d in adv]
    try:
        bshape = np.broadcast_shapes(*(shape_of(i) for i in idxs))
    except ValueError:
        raise IndexError("shape mismatch: indexing arrays could not be broadcast together "
                         f"with shapes {' '.join(str(shape_of(i)) for i in idxs)}") from None
    if any(isinstance(i, Tracer) for i in idxs):
        indices = stack([broadcast_to(i, bshape) for i in idxs], axis=-1)
    else:
        indices = np.stack([np.broadcast_to(i, bshape) for i in idxs], axis=-1)
    return lax.gather(x, indices, tuple(d for _, d in adv)), len(bshape)


def getitem(x, idx):
    """``x[idx]`` with NumPy's semantics, for a traced ``x`` or traced indices."""
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


def take(a, indices, axis=None, out=None, mode=None):
    """Like ``numpy.take`` (``mode='raise'`` semantics; indices may be traced)."""
    if not isinstance(a, Tracer) and not isinstance(indices, Tracer):
        return np.take(a, indices, axis, out, mode)
    from fad.numpy._promote import canonical_axis
    from fad.numpy._shape import ravel
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = canonical_axis(axis, len(shape_of(a)))
    return getitem(a, (slice(None),) * axis + (indices,))


def take_along_axis(arr, indices, axis):
    """Like ``numpy.take_along_axis``."""
    if not isinstance(arr, Tracer) and not isinstance(indices, Tracer):
        return np.take_along_axis(arr, indices, axis)
    from fad.numpy._promote import canonical_axis
    from fad.numpy._shape import ravel
    arr = asarray(arr)
    if axis is None:
        arr, axis = ravel(arr), 0
    nd = len(shape_of(arr))
    axis = canonical_axis(axis, nd)
    if len(shape_of(indices)) != nd:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    grids = [np.arange(n).reshape([-1 if k == d else 1 for k in range(nd)])
             for d, n in enumerate(shape_of(arr))]
    grids[axis] = indices
    return getitem(arr, tuple(grids))


# -- functional updates -------------------------------------------------------------------------

_NUMPY_UPDATES = {"add": np.add, "multiply": np.multiply, "min": np.minimum,
                  "max": np.maximum}


def _has_tracer(idx):
    entries = idx if isinstance(idx, tuple) else (idx,)
    return any(isinstance(e, Tracer) or (isinstance(e, list) and any(
        isinstance(v, Tracer) for v in e)) for e in entries)


def update(x, idx, values, op):
    """``x`` with ``x[idx]`` combined with ``values`` by ``op`` (a new array)."""
    if not isinstance(x, Tracer) and not isinstance(values, Tracer) and not _has_tracer(idx):
        out = np.array(x, copy=True)
        vals = np.asarray(values).astype(out.dtype, copy=False)
        if op == "set":
            out[idx] = vals
        else:
            _NUMPY_UPDATES[op].at(out, idx, vals)
        return out
    from fad.numpy._shape import broadcast_to
    x = asarray(x)
    shape, size = shape_of(x), int(np.prod(shape_of(x)))
    positions = getitem(np.arange(size).reshape(shape), idx) if _has_tracer(idx) else \
        np.arange(size).reshape(shape)[idx]
    vals = cast(asarray(values), dtype_of(x))
    vals = broadcast_to(vals, shape_of(positions)) if shape_of(vals) != shape_of(positions) \
        else vals
    n = int(np.prod(shape_of(positions)))
    flat_pos = lax.reshape(positions, (n, 1)) if isinstance(positions, Tracer) else \
        positions.reshape(n, 1)
    scatter = {"set": lax.scatter, "add": lax.scatter_add, "multiply": lax.scatter_mul,
               "min": lax.scatter_min, "max": lax.scatter_max}[op]
    out = scatter(lax.reshape(x, (size,)), flat_pos, lax.reshape(vals, (n,)), (0,))
    return lax.reshape(out, shape)


class _IndexUpdateRef:
    """``x.at[idx]``: the functional update methods for one index."""

    __slots__ = ("array", "index")

    def __init__(self, array, index):
        self.array, self.index = array, index

    def get(self, **kwargs):
        """``x[idx]``."""
        if isinstance(self.array, Tracer) or _has_tracer(self.index):
            return getitem(self.array, self.index)
        return np.asarray(self.array)[self.index]

    def set(self, values, **kwargs):
        """A copy of ``x`` with ``x[idx] = values``."""
        return update(self.array, self.index, values, "set")

    def add(self, values, **kwargs):
        """A copy of ``x`` with ``values`` added at ``idx`` (repeated indices accumulate)."""
        return update(self.array, self.index, values, "add")

    def subtract(self, values, **kwargs):
        """A copy of ``x`` with ``values`` subtracted at ``idx``."""
        from fad.numpy._ufuncs import negative
        return update(self.array, self.index, negative(values), "add")

    def multiply(self, values, **kwargs):
        """A copy of ``x`` multiplied by ``values`` at ``idx``."""
        return update(self.array, self.index, values, "multiply")

    mul = multiply

    def min(self, values, **kwargs):
        """A copy of ``x`` with ``minimum(x[idx], values)`` at ``idx``."""
        return update(self.array, self.index, values, "min")

    def max(self, values, **kwargs):
        """A copy of ``x`` with ``maximum(x[idx], values)`` at ``idx``."""
        return update(self.array, self.index, values, "max")


class IndexUpdateHelper:
    """The ``.at`` property: ``x.at[idx].set(y)`` and friends return updated copies."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index):
        return _IndexUpdateRef(self.array, index)


def at(x):
    """``x.at`` for any array: ``fad.numpy.at(x)[idx].add(y)`` works on NumPy arrays too."""
    return IndexUpdateHelper(x)


__all__ = ["take", "take_along_axis", "at"]
