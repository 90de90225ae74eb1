"""Counting and set functions: ``unique``, ``bincount``, ``histogram``.

Their output sizes depend on the data. Concrete inputs (and tracers with concrete values,
under ``grad``/``jvp``) get NumPy's sizes; abstract ones (under ``jit``/``vmap``) need a
static size, JAX's ``size=`` for ``unique`` and ``length=`` for ``bincount``, or static
``bins`` and ``range`` for ``histogram``. The traced computations sort
(``lax.sort``), search (``lax.searchsorted``) and scatter-add, so the values they pick
keep their derivatives (``unique``'s values, ``histogram``'s and ``bincount``'s
weights); the counts are integers.
"""
from __future__ import annotations

import numpy as np

from fad import lax
from fad.core.trace import Tracer
from fad.errors import ConcretizationTypeError
from fad.numpy import _creation, _elementwise, _reductions, _shape, _ufuncs
from fad.numpy._indexing import at
from fad.numpy._promote import (accept_traced_sequences_in, any_traced, asarray, cast,
                                concrete_or_none, dtype_of, promote, shape_of)

_INTP = np.dtype(np.intp)


def _static_size(value, what):
    if value is None or not isinstance(value, Tracer):
        return None if value is None else int(value)
    known = concrete_or_none(value)
    if known is None:
        raise ConcretizationTypeError(f"fad.numpy.{what} must be static (it is an output "
                                      "size); pass a Python int")
    return int(known)


# -- unique ------------------------------------------------------------------------------------

def _padded(x, size, fill):
    """``x`` (1-D) cut or padded with ``fill`` to ``size`` entries."""
    n = shape_of(x)[0]
    if n >= size:
        return _shape.slice_axis(x, 0, size, 0)
    return _shape.concatenate([x, _creation.full((size - n,), fill, dtype_of(x))])


def _unique_from_numpy(a, value, flags, equal_nan, size, fill_value):
    """NumPy's ``unique`` of the concrete ``value`` of ``a``; the unique values are
    gathered from ``a`` so that they keep its derivative."""
    out = np.unique(value, return_index=True, return_inverse=True, return_counts=True,
                    equal_nan=equal_nan)
    values, index, inverse, counts = out
    if isinstance(a, Tracer):
        values = lax.gather(_shape.ravel(a), index.astype(np.int64)[:, None], (0,))
    if size is not None:
        fill = fill_value if fill_value is not None else values[0] if len(index) else 0
        values, index, counts = (_padded(values, size, fill), _padded(index, size, 0),
                                 _padded(counts, size, 0))
    return [values] + [r for r, keep in zip((index, inverse, counts), flags) if keep]


def _unique_traced(a, flags, equal_nan, size, fill_value):
    """``unique`` of an abstract ``a`` to ``size`` entries: sort, mark where a new value
    starts, number the groups by a running count, scatter each group's first entry."""
    flat = _shape.ravel(a)
    n = shape_of(flat)[0]
    if n == 0:
        raise ValueError("fad.numpy.unique: cannot take the unique values of an empty "
                         "traced array with size=")
    srt, perm = lax.sort((flat, np.arange(n, dtype=np.int64)), 0, True, 1)
    later, earlier = _shape.slice_axis(srt, 1, n, 0), _shape.slice_axis(srt, 0, n - 1, 0)
    differs = _ufuncs.not_equal(later, earlier)
    if equal_nan and dtype_of(flat).kind in "fc":
        both_nan = _ufuncs.logical_and(_ufuncs.isnan(later), _ufuncs.isnan(earlier))
        differs = _ufuncs.logical_and(differs, _ufuncs.logical_not(both_nan))
    starts = _shape.concatenate([np.ones(1, bool), differs])
    group = _ufuncs.subtract(lax.cumsum(cast(starts, _INTP), 0), np.intp(1))
    slot = _elementwise.where(starts, group, np.intp(size))   # out of range: dropped
    fill = _shape.slice_axis(srt, 0, 1, 0) if fill_value is None else fill_value
    values = at(_shape.broadcast_to(cast(asarray(fill), dtype_of(flat)), (size,)))[slot].set(
        srt, mode="drop")
    results = [values]
    if flags[0]:
        results.append(at(np.zeros(size, _INTP))[slot].set(perm, mode="drop"))
    if flags[1]:
        inverse = at(np.zeros(n, _INTP))[perm].set(group)
        results.append(_shape.reshape(inverse, shape_of(a)))
    if flags[2]:
        results.append(at(np.zeros(size, _INTP))[group].add(np.intp(1), mode="drop"))
    return results


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
           equal_nan=True, sorted=True, size=None, fill_value=None):  # noqa: A002
    """Like ``numpy.unique`` (with ``axis=None``), with JAX's ``size`` and ``fill_value``:
    with ``size``, the first ``size`` sorted unique values, padded with ``fill_value``
    (by default the smallest unique value; indices and counts are padded with 0).
    Under ``jit``/``vmap`` (an abstract ``ar``) ``size`` is needed; ``axis`` needs a
    concrete ``ar``. The unique values keep ``ar``'s derivative.

    >>> unique(np.array([3., 1., 3.]), return_counts=True)
    (array([1., 3.]), array([1, 2]))
    """
    if not isinstance(ar, Tracer) and size is None:
        return np.unique(ar, return_index, return_inverse, return_counts, axis,
                         equal_nan=equal_nan, sorted=sorted)
    flags = (bool(return_index), bool(return_inverse), bool(return_counts))
    size = _static_size(size, "unique(size=...)")
    value = concrete_or_none(ar) if isinstance(ar, Tracer) else np.asarray(ar)
    if axis is not None:
        raise NotImplementedError("fad.numpy.unique(axis=...) is supported for NumPy arrays "
                                  "without size= only; use axis=None")
    if value is not None:
        results = _unique_from_numpy(ar, value, flags, equal_nan, size, fill_value)
    elif size is None:
        raise ConcretizationTypeError(
            "fad.numpy.unique: the number of unique values of a traced array is not known "
            "while tracing; pass size= (and optionally fill_value=) to get that many, "
            "padded, as in JAX")
    else:
        results = _unique_traced(ar, flags, equal_nan, size, fill_value)
    return results[0] if len(results) == 1 else tuple(results)


# -- bincount ----------------------------------------------------------------------------------

def _check_bincount_input(x):
    dt = dtype_of(x)
    if dt.kind not in "biu":
        raise TypeError(f"Cannot cast array data from {dt!r} to dtype('int64') according to "
                        "the rule 'safe'")
    if len(shape_of(x)) != 1:
        raise ValueError("object too deep for desired array" if shape_of(x) else
                         "object of too small depth for desired array")


def bincount(x, weights=None, minlength=0, *, length=None):
    """Like ``numpy.bincount``, with JAX's ``length``: the output's static length
    (entries of ``x`` at or past it are dropped), needed under ``jit``/``vmap``. A traced
    ``x`` cannot be checked: its negative entries are dropped (NumPy raises). Weighted
    counts are float64, as NumPy makes them.

    >>> bincount(np.array([0, 2, 2]), length=4)
    array([1, 0, 2, 0])
    """
    length = _static_size(length, "bincount(length=...)")
    if not any_traced([x, weights]) and length is None:
        return np.bincount(x, weights, minlength)
    x = asarray(x)
    _check_bincount_input(x)
    if length is None:
        value = concrete_or_none(x)
        if value is None:
            raise ConcretizationTypeError(
                "fad.numpy.bincount: the number of bins of a traced x is not known while "
                "tracing; pass length= (the static output length), as in JAX")
        length = max(int(np.max(value, initial=-1)) + 1, int(minlength))
    if weights is not None and shape_of(asarray(weights)) != shape_of(x):
        raise ValueError("The weights and list don't have the same length.")
    if weights is None or shape_of(x)[0] == 0:   # (NumPy counts nothing in intp)
        updates, dtype = np.intp(1), _INTP
    else:
        weights = asarray(weights)
        if dtype_of(weights).kind == "c":
            raise TypeError("Cannot cast array data from dtype('complex128') to "
                            "dtype('float64') according to the rule 'safe'")
        updates, dtype = cast(weights, np.dtype(np.float64)), np.dtype(np.float64)
    slot = _elementwise.where(_ufuncs.less(x, 0), np.intp(length), cast(x, _INTP))
    return at(np.zeros(length, dtype))[slot].add(updates, mode="drop")


# -- histogram ---------------------------------------------------------------------------------

def _edges(a, bins, range, weighted):  # noqa: A002
    """The bin edges: NumPy's for a NumPy ``a`` or static ``bins``/``range``; else equal
    bins spanning the traced data, so that the edges keep its derivative (a number of
    bins named by a string is read off ``a``'s concrete value)."""
    if not isinstance(a, Tracer):
        return np.histogram_bin_edges(a, bins, range)
    if isinstance(bins, str):
        if weighted:
            raise TypeError("Automated estimation of the number of bins is not supported "
                            "for weighted data")
        value = concrete_or_none(a)
        if value is None:
            raise ConcretizationTypeError(
                f"fad.numpy.histogram: bins={bins!r} is computed from the data, which is "
                "abstract here; pass a number of bins (and range=), or the bin edges")
        bins = len(np.histogram_bin_edges(value, bins, range)) - 1
    empty = np.zeros(0, dtype_of(a))
    if np.ndim(bins) == 1:
        return np.histogram_bin_edges(empty, bins)
    if range is not None:
        return np.histogram_bin_edges(empty, bins, range)
    return _traced_edges(a, bins)


def _traced_edges(a, bins):
    """Equal bins spanning the (abstract) data, as NumPy makes them from its min and max."""
    bins = int(bins)
    if bins < 1:
        raise ValueError("`bins` must be positive, when an integer")
    flat = _shape.ravel(a)
    if shape_of(flat)[0] == 0:
        return np.linspace(0, 1, bins + 1)
    lo, hi = _reductions.min(flat), _reductions.max(flat)
    same = _ufuncs.equal(lo, hi)
    lo = _elementwise.where(same, _ufuncs.subtract(lo, 0.5), lo)
    hi = _elementwise.where(same, _ufuncs.add(hi, 0.5), hi)
    dtype = np.result_type(dtype_of(flat), dtype_of(lo))
    dtype = np.dtype(np.float64) if dtype.kind in "biu" else dtype
    return _creation.linspace(lo, hi, bins + 1, dtype=dtype)


def histogram(a, bins=10, range=None, density=None, weights=None):  # noqa: A002
    """Like ``numpy.histogram``: ``(counts, bin_edges)``. Traced, ``bins`` (a number or
    the edges) and ``range`` must be static, or ``a`` concrete; with ``range=None`` and a
    number of bins the edges span the traced data's minimum and maximum. Counts are
    integers (not differentiable); weighted sums are differentiable in the weights.

    >>> histogram(np.array([0.5, 1.5, 1.7]), bins=2, range=(0, 2))
    (array([1, 2]), array([0., 1., 2.]))
    """
    if not any_traced([a, weights, range, bins]):
        return np.histogram(a, bins, range, density, weights)
    if any_traced([range]):
        raise ConcretizationTypeError("fad.numpy.histogram: range must be static")
    a = _shape.ravel(asarray(a))
    if weights is not None:
        weights = _shape.ravel(asarray(weights))
        if shape_of(weights) != shape_of(a):
            raise ValueError("weights should have the same shape as a.")
    if any_traced([bins]):
        bins = asarray(bins)
        if len(shape_of(bins)) == 0:   # a number of bins: an output size
            bins = _static_size(bins, "histogram(bins=...)")
        elif len(shape_of(bins)) != 1:
            raise ValueError("`bins` must be 1d, when an array")
    if isinstance(bins, Tracer):   # traced edges
        known = concrete_or_none(bins)
        if known is not None and np.any(np.diff(known) < 0):
            raise ValueError("`bins` must increase monotonically, when an array")
        edges = bins
    else:
        edges = _edges(a, bins, range, weights is not None)
    counts = _bin_sums(a, edges, weights)
    if density:
        widths = cast(_shape.diff(edges), np.dtype(np.float64))
        counts = _ufuncs.true_divide(_ufuncs.true_divide(counts, widths),
                                     _reductions.sum(counts))
    return counts, edges


def _bin_sums(a, edges, weights):
    """How many entries of ``a`` (or what weight) fall in each bin: ``[e_i, e_i+1)``, the
    last bin closed; entries outside (and NaNs) are dropped."""
    m = shape_of(edges)[0] - 1
    a_cmp, e_cmp = promote(a, edges)
    right = lax.searchsorted(e_cmp, a_cmp, "right")
    at_last = _ufuncs.equal(a_cmp, _shape.slice_axis(e_cmp, m, m + 1, 0))
    index = _elementwise.where(at_last, np.intp(m - 1), _ufuncs.subtract(right, np.intp(1)))
    inside = _ufuncs.logical_and(_ufuncs.greater_equal(index, 0), _ufuncs.less(index, m))
    slot = _elementwise.where(inside, index, np.intp(m))
    if weights is None:
        return at(np.zeros(m, _INTP))[slot].add(np.intp(1), mode="drop")
    return at(np.zeros(m, dtype_of(weights)))[slot].add(weights, mode="drop")


__all__ = ["unique", "bincount", "histogram"]
accept_traced_sequences_in(globals())
