"""``pad``: NumPy's padding modes on ``lax.pad`` (constant) and a static gather (``edge``
and ``wrap``) or mirrored slices (``reflect``, ``symmetric``).

Axes are padded one after another, each from the array padded along the axes before it,
which is how NumPy fills the corners (the later axis wins). ``edge`` and ``wrap`` are a
static map from output to input positions (``_source_positions``); ``reflect`` and
``symmetric`` repeat NumPy's construction step by step (``_pad_axis_reflecting``), so
that ``reflect_type="odd"``, which computes ``2 * edge - value`` on values computed
that way before, rounds as NumPy does however wide the padding.
"""
from __future__ import annotations

import numpy as np

from fad import lax
from fad.core.trace import Tracer
from fad.errors import ConcretizationTypeError
from fad.numpy import _shape, _ufuncs
from fad.numpy._promote import (accept_traced_sequences_in, any_traced, asarray, cast,
                                concrete_or_none, dtype_of, ndim_of, shape_of)

_MODES = ("constant", "edge", "reflect", "symmetric", "wrap", "empty")
_NUMPY_ONLY_MODES = ("linear_ramp", "maximum", "mean", "median", "minimum")
_KEYWORDS = {"constant": {"constant_values"}, "reflect": {"reflect_type"},
             "symmetric": {"reflect_type"}}


def _pair_layout(shape, ndim: int) -> np.ndarray:
    """NumPy's reading of ``pad_width`` / ``constant_values`` of ``shape``: which of its
    (flattened) entries pads each side of each axis, an ``(ndim, 2)`` array. One value
    pads every side; two (except ``[[b], [a]]``-shaped ones) are ``(before, after)`` for
    every axis; otherwise they are broadcast to one pair per axis."""
    labels = np.arange(int(np.prod(shape))).reshape(shape)
    if labels.ndim < 3 and labels.size == 1:
        return np.zeros((ndim, 2), np.intp)
    if labels.ndim < 3 and labels.size == 2 and labels.shape != (2, 1):
        return np.broadcast_to(labels.ravel(), (ndim, 2))
    try:
        return np.broadcast_to(labels, (ndim, 2))
    except ValueError:
        raise ValueError(f"pad: cannot broadcast {shape} to one (before, after) pair per "
                         f"axis of a {ndim}-dimensional array, shape ({ndim}, 2)") from None


def _as_pairs(x, ndim: int, as_index: bool = False):
    """``x`` as an ``(ndim, 2)`` nested list of ``(before, after)`` values (NumPy's
    ``_as_pairs``); entries may be traced scalars."""
    if isinstance(x, Tracer) or (isinstance(x, (list, tuple)) and any_traced(x)):
        x = asarray(x)
        layout = _pair_layout(shape_of(x), ndim)
        flat = lax.reshape(x, (int(np.prod(shape_of(x))),))
        entries = {i: lax.reshape(lax.slice(flat, (i,), (i + 1,)), ())
                   for i in np.unique(layout).tolist()}
        return [[entries[i] for i in row] for row in layout.tolist()]
    x = np.array(x)
    if as_index:
        x = np.round(x).astype(np.intp)
        if x.size and x.min() < 0:
            raise ValueError("index can't contain negative values")
    return x.ravel()[_pair_layout(x.shape, ndim)].tolist()


def _pad_widths(pad_width, ndim):
    if isinstance(pad_width, Tracer) or (isinstance(pad_width, (list, tuple))
                                         and any_traced(pad_width)):
        pad_width = concrete_or_none(asarray(pad_width))
        if pad_width is None:
            raise ConcretizationTypeError(
                "fad.numpy.pad needs a static pad_width (the output shape depends on it); "
                "pass Python ints or a NumPy array")
    if isinstance(pad_width, dict):   # {axis: width or (before, after)}, NumPy >= 2.3
        pairs = [(0, 0)] * ndim
        for axis, width in pad_width.items():
            pairs[axis] = (width, width) if isinstance(width, int) else tuple(width)
        pad_width = pairs
    widths = np.asarray(pad_width)
    if widths.dtype.kind != "i":
        raise TypeError("`pad_width` must be of integral type.")
    return [(int(lo), int(hi)) for lo, hi in _as_pairs(widths, ndim, as_index=True)]


def _source_positions(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """For ``edge`` and ``wrap``: the input position along an axis of size ``n`` each
    output position copies."""
    i = np.arange(-before, n + after)
    return np.clip(i, 0, n - 1) if mode == "edge" else i % n


def _gather_axis(x, positions, axis):
    out = lax.gather(x, positions[:, None], (axis,))
    return lax.moveaxis(out, 0, axis) if axis else out


def _part(x, axis, start, stop):
    return _shape.slice_axis(x, start, stop, axis)


def _reflected_chunk(x, axis, start, stop, edge, odd):
    """``x[stop-1], ..., x[start]`` along ``axis``; for odd reflection ``2 * edge - it``
    (NumPy's arithmetic, so the values are NumPy's to the last bit)."""
    chunk = lax.rev(_part(x, axis, start, stop), (axis,))
    if not odd:
        return chunk
    return _ufuncs.subtract(_ufuncs.multiply(_part(x, axis, edge, edge + 1),
                                             np.asarray(2, dtype_of(x))), chunk)


def _pad_axis_reflecting(x, axis, before, after, mode, odd):
    """``reflect``/``symmetric`` padding as NumPy builds it: chunks of the values filled
    so far (whole periods of the original), mirrored about the current edge, added on
    each side in turn until the widths are reached."""
    n = shape_of(x)[axis]
    with_edge = mode == "symmetric"
    while before > 0 or after > 0:
        size = shape_of(x)[axis]
        if with_edge:
            period, offset = size // n * n, 1
        else:
            period, offset = (size - 1) // (n - 1) * (n - 1), 0
        if before > 0:
            k = min(period, before)
            chunk = _reflected_chunk(x, axis, 1 - offset, k + 1 - offset, 0, odd)
            x, before = lax.concatenate([chunk, x], axis), before - k
        if after > 0:
            k = min(period, after)
            last = shape_of(x)[axis] - 1
            chunk = _reflected_chunk(x, axis, last + offset - k, last + offset, last, odd)
            x, after = lax.concatenate([x, chunk], axis), after - k
    return x


def _pad_axis_copying(x, axis, before, after, mode, reflect_type):
    n = shape_of(x)[axis]
    if n == 0:
        raise ValueError(f"can't extend empty axis {axis} using modes other than 'constant' "
                         "or 'empty'")
    if mode in ("reflect", "symmetric") and n > 1:
        return _pad_axis_reflecting(x, axis, before, after, mode, reflect_type == "odd")
    # (a single element reflects to itself: NumPy extends it like ``edge``)
    return _gather_axis(x, _source_positions(n, before, after, "edge" if n == 1 else mode),
                        axis)


def _check_keywords(mode, kwargs):
    unsupported = set(kwargs) - _KEYWORDS.get(mode, set())
    if unsupported:
        raise ValueError(f"unsupported keyword arguments for mode '{mode}': {unsupported}")
    reflect_type = kwargs.get("reflect_type", "even")
    if reflect_type not in ("even", "odd"):
        raise ValueError(f"reflect_type must be 'even' or 'odd', got {reflect_type!r}")
    return reflect_type


def pad(array, pad_width, mode="constant", **kwargs):
    """Like ``numpy.pad``: ``pad_width`` in every form NumPy reads (an int, a pair, a pair
    per axis); modes ``constant`` (``constant_values``, which may be traced), ``edge``,
    ``reflect`` and ``symmetric`` (``reflect_type`` even or odd), ``wrap``, and ``empty``
    (zeros). Traced, the statistic modes (``mean``, ``maximum``, ...), ``linear_ramp``
    and a callable mode are not supported.

    >>> pad(np.array([1., 2., 3.]), (2, 1), mode="reflect")
    array([3., 2., 1., 2., 3., 2.])
    """
    if not (isinstance(array, Tracer) or any_traced([kwargs.get("constant_values"),
                                                     pad_width, array])):
        return np.pad(array, pad_width, mode, **kwargs)
    if callable(mode) or mode in _NUMPY_ONLY_MODES:
        raise NotImplementedError(f"fad.numpy.pad supports the modes {_MODES} on traced "
                                  f"arrays, not {mode!r}")
    if mode not in _MODES:
        raise ValueError(f"mode {mode!r} is not supported")
    reflect_type = _check_keywords(mode, kwargs)
    array = asarray(array)
    ndim, dt = ndim_of(array), dtype_of(array)
    widths = _pad_widths(pad_width, ndim)
    if mode in ("constant", "empty"):
        values = _as_pairs(kwargs.get("constant_values", 0), ndim)
        for axis, ((lo, hi), (v_lo, v_hi)) in enumerate(zip(widths, values)):
            for config, value in (((lo, 0, 0), v_lo), ((0, hi, 0), v_hi)):
                if config != (0, 0, 0):
                    full = [(0, 0, 0)] * ndim
                    full[axis] = config
                    array = lax.pad(array, cast(value, dt), full)
        return array
    for axis, (lo, hi) in enumerate(widths):
        if lo or hi:
            array = _pad_axis_copying(array, axis, lo, hi, mode, reflect_type)
    return array


__all__ = ["pad"]
accept_traced_sequences_in(globals())
