"""Differences, interpolation and 1-D convolution: ``gradient``, ``ediff1d``, ``interp``,
``convolve``, ``correlate`` (``diff`` is with the shape functions).

Each follows NumPy's formulas step by step (the same operations in the same dtypes), so
traced results match NumPy's to rounding; where NumPy picks a formula from the data
(``gradient`` with evenly spaced coordinates), concrete data picks the same way.
``convolve`` and ``correlate`` gather the sliding windows of the zero-padded signal
(a static gather) and contract them with the kernel (``dot_general``).
"""
from __future__ import annotations

import numpy as np

from fad import lax
from fad.core.trace import Tracer
from fad.numpy import _elementwise, _shape, _sorting, _ufuncs
from fad.numpy._indexing import take
from fad.numpy._promote import (accept_traced_sequences_in, any_traced, asarray, cast,
                                dtype_of, ndim_of, normalize_axis, promote, shape_of)

_F64, _C128 = np.dtype(np.float64), np.dtype(np.complex128)


# -- gradient ------------------------------------------------------------------------------------

def _spacings(f, varargs, axes):
    """NumPy's reading of ``gradient``'s spacing: a scalar per axis, or the differences of
    a coordinate array (a scalar again when those are concretely all equal)."""
    n = len(varargs)
    if n == 0:
        return [1.0] * len(axes)
    if n == 1 and ndim_of(asarray(varargs[0])) == 0:
        return list(varargs) * len(axes)
    if n != len(axes):
        raise TypeError("invalid number of arguments")
    spacings = []
    for axis, distances in zip(axes, varargs):
        coords = asarray(distances)
        if ndim_of(coords) == 0:
            spacings.append(distances)
            continue
        if ndim_of(coords) != 1:
            raise ValueError("distances must be either scalars or 1d")
        if shape_of(coords)[0] != shape_of(f)[axis]:
            raise ValueError("when 1d, distances must match the length of the "
                             "corresponding dimension")
        if dtype_of(coords).kind in "iu":
            coords = cast(coords, _F64)
        diffs = _shape.diff(coords)
        if not isinstance(diffs, Tracer) and (diffs == diffs[0]).all():
            diffs = diffs[0]
        spacings.append(diffs)
    return spacings


def _gradient_axis(f, axis, dx, edge_order, otype):
    n = shape_of(f)[axis]
    if n < edge_order + 1:
        raise ValueError("Shape of array too small to calculate a numerical gradient, at "
                         "least (edge_order + 1) elements are required.")

    def part(lo, hi):
        return _shape.slice_axis(f, lo, hi, axis)

    uniform = ndim_of(asarray(dx)) == 0
    if uniform:
        interior = (part(2, n) - part(0, n - 2)) / (2. * dx)
    else:
        shape = [1] * ndim_of(f)
        shape[axis] = -1
        dx1, dx2 = _shape.reshape(dx[0:-1], shape), _shape.reshape(dx[1:], shape)
        a = -(dx2) / (dx1 * (dx1 + dx2))
        b = (dx2 - dx1) / (dx1 * dx2)
        c = dx1 / (dx2 * (dx1 + dx2))
        interior = a * part(0, n - 2) + b * part(1, n - 1) + c * part(2, n)
    if edge_order == 1:
        first = (part(1, 2) - part(0, 1)) / (dx if uniform else dx[0])
        last = (part(n - 1, n) - part(n - 2, n - 1)) / (dx if uniform else dx[-1])
    else:
        if uniform:
            a, b, c = -1.5 / dx, 2. / dx, -0.5 / dx
        else:
            dx1, dx2 = dx[0], dx[1]
            a = -(2. * dx1 + dx2) / (dx1 * (dx1 + dx2))
            b = (dx1 + dx2) / (dx1 * dx2)
            c = - dx1 / (dx2 * (dx1 + dx2))
        first = a * part(0, 1) + b * part(1, 2) + c * part(2, 3)
        if uniform:
            a, b, c = 0.5 / dx, -2. / dx, 1.5 / dx
        else:
            dx1, dx2 = dx[-2], dx[-1]
            a = (dx2) / (dx1 * (dx1 + dx2))
            b = - (dx2 + dx1) / (dx1 * dx2)
            c = (2. * dx2 + dx1) / (dx2 * (dx1 + dx2))
        last = a * part(n - 3, n - 2) + b * part(n - 2, n - 1) + c * part(n - 1, n)
    pieces = [cast(asarray(p), otype) for p in (first, interior, last)]
    return _shape.concatenate(pieces, axis)


def gradient(f, *varargs, axis=None, edge_order=1):
    """Like ``numpy.gradient``: second-order central differences inside, first- or
    second-order (``edge_order``) one-sided ones at the ends; spacing one scalar, a
    scalar or a coordinate array per axis (any of them may be traced). A tuple for
    several axes.

    >>> gradient(np.array([1., 4., 9., 16.]), 2.)
    array([1.5, 2. , 3. , 3.5])
    """
    if not any_traced([f, *varargs]):
        return np.gradient(f, *varargs, axis=axis, edge_order=edge_order)
    f = asarray(f)
    nd = ndim_of(f)
    axes = tuple(range(nd)) if axis is None else tuple(
        normalize_axis(a, nd) for a in (axis if isinstance(axis, (tuple, list))
                                                else (axis,)))
    if len(set(axes)) != len(axes):
        raise ValueError("repeated axis")
    spacings = _spacings(f, varargs, axes)
    if edge_order > 2:
        raise ValueError("'edge_order' greater than 2 not supported")
    otype = dtype_of(f)
    if otype.kind not in "fc":
        f, otype = cast(f, _F64), _F64
    outs = tuple(_gradient_axis(f, ax, dx, edge_order, otype) for ax, dx in zip(axes, spacings))
    return outs[0] if len(outs) == 1 else outs


# -- ediff1d -------------------------------------------------------------------------------------

def ediff1d(ary, to_end=None, to_begin=None):
    """Like ``numpy.ediff1d``: the differences of the flattened ``ary``, in its dtype, with
    ``to_begin`` and ``to_end`` attached.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.ediff1d(np.array([1, 2, 4, 7]), to_begin=0)
    array([0, 1, 2, 3])
    """
    if not any_traced([ary, to_end, to_begin]):
        return np.ediff1d(ary, to_end, to_begin)
    ary = _shape.ravel(asarray(ary))
    dtype, n = dtype_of(ary), shape_of(ary)[0]
    parts = [_ufuncs.subtract(_shape.slice_axis(ary, 1, max(n, 1), 0),
                              _shape.slice_axis(ary, 0, max(n - 1, 0), 0))]
    for extra, where, at_end in ((to_begin, "to_begin", False), (to_end, "to_end", True)):
        if extra is None:
            continue
        extra = _shape.ravel(asarray(extra))
        if not np.can_cast(dtype_of(extra), dtype, casting="same_kind"):
            raise TypeError(f"dtype of `{where}` must be compatible with input `ary` under "
                            "the `same_kind` rule.")
        extra = cast(extra, dtype)
        parts = parts + [extra] if at_end else [extra] + parts
    return _shape.concatenate(parts) if len(parts) > 1 else parts[0]


# -- interp --------------------------------------------------------------------------------------

def _periodic(x, xp, fp, period):
    """NumPy's periodic ``interp``: everything modulo ``period``, the samples sorted and
    extended by one on each side."""
    if isinstance(period, Tracer):
        raise TypeError("fad.numpy.interp: period must be static")
    if period == 0:
        raise ValueError("period must be a non-zero value")
    period = abs(period)
    x, xp = _ufuncs.remainder(x, period), _ufuncs.remainder(xp, period)
    order = _sorting.argsort(xp)
    xp, fp = take(xp, order), take(fp, order)
    n = shape_of(xp)[0]
    xp = _shape.concatenate([_shape.slice_axis(xp, n - 1, n, 0) - period, xp,
                             _shape.slice_axis(xp, 0, 1, 0) + period])
    fp = _shape.concatenate([_shape.slice_axis(fp, n - 1, n, 0), fp,
                             _shape.slice_axis(fp, 0, 1, 0)])
    return x, xp, fp


def interp(x, xp, fp, left=None, right=None, period=None):
    """Like ``numpy.interp``: piecewise-linear interpolation of the samples ``(xp, fp)``
    (``xp`` increasing) at ``x``, ``left``/``right`` outside (``fp``'s ends by default),
    or periodic with ``period``. float64, or complex128 for complex ``fp``, as NumPy.

    >>> interp(np.array([0.5, 3.]), np.array([0., 1., 2.]), np.array([0., 10., 0.]))
    array([5., 0.])
    """
    if not any_traced([x, xp, fp, left, right]):
        return np.interp(x, xp, fp, left, right, period)
    out_dtype = _C128 if dtype_of(asarray(fp)).kind == "c" else _F64
    x, xp, fp = cast(asarray(x), _F64), cast(asarray(xp), _F64), cast(asarray(fp), out_dtype)
    if ndim_of(xp) != 1 or ndim_of(fp) != 1:
        raise ValueError("Data points must be 1-D sequences")
    if shape_of(xp)[0] != shape_of(fp)[0]:
        raise ValueError("fp and xp are not of the same length")
    if shape_of(xp)[0] == 0:
        raise ValueError("array of sample points is empty")
    if period is not None:
        x, xp, fp = _periodic(x, xp, fp, period)
        left = right = None
    n = shape_of(xp)[0]
    first, last = take(fp, 0), take(fp, n - 1)
    left = first if left is None else cast(asarray(left), out_dtype)
    right = last if right is None else cast(asarray(right), out_dtype)
    j = _ufuncs.subtract(_sorting.searchsorted(xp, x, "right"), 1)   # xp[j] <= x < xp[j+1]
    if n > 1:
        jc = _elementwise.clip(j, 0, n - 2)
        x0, x1, f0, f1 = take(xp, jc), take(xp, jc + 1), take(fp, jc), take(fp, jc + 1)
        slope = (f1 - f0) / (x1 - x0)
        out = slope * (x - x0) + f0
        # NumPy's fallbacks for an infinite slope: from the other end, then the flat value
        out = _elementwise.where(_ufuncs.isnan(out), slope * (x - x1) + f1, out)
        out = _elementwise.where(_ufuncs.logical_and(_ufuncs.isnan(out), f0 == f1), f0, out)
        out = _elementwise.where(x0 == x, f0, out)
    else:
        out = _shape.broadcast_to(first, shape_of(x))
    out = _elementwise.where(j == n - 1, last, out)
    out = _elementwise.where(x > take(xp, n - 1), right, out)
    out = _elementwise.where(j < 0, left, out)
    return _elementwise.where(_ufuncs.isnan(x), cast(x, out_dtype), out)


# -- convolve and correlate ---------------------------------------------------------------------

_MODES = {"full": "full", "same": "same", "valid": "valid", 2: "full", 1: "same",
          0: "valid", "f": "full", "s": "same", "v": "valid"}


def _signal_operands(a, v, scalars_ok):
    """``a`` and ``v`` as 1-D arrays of one dtype (``convolve`` takes scalars as 1-element
    arrays; ``correlate`` refuses them, as NumPy's do)."""
    a, v = asarray(a), asarray(v)
    if scalars_ok:
        a = _shape.reshape(a, (1,)) if ndim_of(a) == 0 else a
        v = _shape.reshape(v, (1,)) if ndim_of(v) == 0 else v
    if ndim_of(a) == 0 or ndim_of(v) == 0:
        raise ValueError("object of too small depth for desired array")
    if ndim_of(a) != 1 or ndim_of(v) != 1:
        raise ValueError("object too deep for desired array")
    if shape_of(a)[0] == 0:
        raise ValueError("a cannot be empty")
    if shape_of(v)[0] == 0:
        raise ValueError("v cannot be empty")
    return promote(a, v)


def _full_windows(a, w):
    """``out[i] = sum_j apad[i + j] * w[j]``, ``apad`` being ``a`` with ``len(w) - 1``
    zeros on each side: the full sliding product, ``len(a) + len(w) - 1`` entries."""
    n, m = shape_of(a)[0], shape_of(w)[0]
    zero = np.zeros((), dtype_of(a))[()]
    padded = lax.pad(a, zero, [(m - 1, m - 1, 0)])
    windows = np.arange(n + m - 1)[:, None] + np.arange(m)[None, :]
    gathered = lax.gather(padded, windows[..., None], (0,))
    return lax.dot_general(gathered, w, (((1,), (0,)), ((), ())))


def _cut(full, n, m, mode, offset_same):
    if mode == "full":
        return full
    if mode == "same":
        length, start = max(n, m), offset_same
    else:
        length, start = max(n, m) - min(n, m) + 1, min(n, m) - 1
    return _shape.slice_axis(full, start, start + length, 0)


def _mode(mode):
    try:
        return _MODES[mode.lower() if isinstance(mode, str) else mode]
    except (KeyError, TypeError):
        raise ValueError(f"mode must be one of 'valid', 'same', or 'full' (got {mode!r})") \
            from None


def correlate(a, v, mode="valid"):
    """Like ``numpy.correlate``: ``c[k] = sum_n a[n + k] * conj(v[n])`` (NumPy conjugates
    the second operand), modes ``'valid'``, ``'same'``, ``'full'``.

    >>> correlate(np.array([1., 2., 3.]), np.array([0., 1.]), "full")
    array([1., 2., 3., 0.])
    """
    if not any_traced([a, v]):
        return np.correlate(a, v, mode)
    mode = _mode(mode)
    a, v = _signal_operands(a, v, scalars_ok=False)
    n, m = shape_of(a)[0], shape_of(v)[0]
    w = _ufuncs.conjugate(v) if dtype_of(v).kind == "c" else v
    full = _full_windows(a, w)
    # ('same' centres the longer operand; NumPy computes with the longer one first)
    offset = (m - 1) // 2 if n >= m else (n + m - 1) - m - (n - 1) // 2
    return _cut(full, n, m, mode, offset)


def convolve(a, v, mode="full"):
    """Like ``numpy.convolve``: ``c[k] = sum_n a[n] * v[k - n]``, modes ``'full'``,
    ``'same'``, ``'valid'``.

    >>> convolve(np.array([1., 2., 3.]), np.array([0., 1., 0.5]))
    array([0. , 1. , 2.5, 4. , 1.5])
    """
    if not any_traced([a, v]):
        return np.convolve(a, v, mode)
    mode = _mode(mode)
    a, v = _signal_operands(a, v, scalars_ok=True)
    n, m = shape_of(a)[0], shape_of(v)[0]
    full = _full_windows(a, lax.rev(v, (0,)))
    return _cut(full, n, m, mode, (min(n, m) - 1) // 2)


__all__ = ["gradient", "ediff1d", "interp", "correlate", "convolve"]
accept_traced_sequences_in(globals())
