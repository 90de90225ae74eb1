"""Reductions with NumPy's ``axis``/``keepdims``/``dtype`` conventions."""
from __future__ import annotations

import builtins
import functools

import numpy as np

from fad import lax
from fad.core.trace import Tracer
from fad.numpy import _ufuncs as uf
from fad.numpy._promote import (asarray, canonical_axes, normalize_axis, cast, dtype_of,
                                shape_of)


@functools.lru_cache(maxsize=1024)
def _accumulator_dtype(np_fn, dtype, out_dtype):
    """The dtype NumPy's ``np_fn`` returns for input ``dtype`` and ``dtype=out_dtype``."""
    return np_fn(np.zeros((1,), dtype), dtype=out_dtype).dtype


def _keep(out, axes, keepdims):
    return lax.expand_dims(out, axes) if keepdims and axes else out


def _prepare(a, axis, np_fn, dtype):
    """``(a cast to the accumulation dtype, axes)`` for a traced reduction."""
    a = asarray(a)
    axes = canonical_axes(axis, len(shape_of(a)))
    acc = _accumulator_dtype(np_fn, dtype_of(a), None if dtype is None else np.dtype(dtype))
    return cast(a, acc), axes


def _check_nonempty(a, axes, name):
    if builtins.any(shape_of(a)[i] == 0 for i in axes):
        raise ValueError(f"zero-size array to reduction operation {name} which has no identity")


def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):  # noqa: A001
    """Like ``numpy.sum``."""
    if not isinstance(a, Tracer):
        if initial is None and where is None:
            return np.sum(a, axis, dtype, out, keepdims)
        return np.sum(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims,
                      **({} if initial is None else {"initial": initial}),
                      **({} if where is None else {"where": where}))
    _no_out_where("sum", out, where)
    a, axes = _prepare(a, axis, np.sum, dtype)
    if dtype_of(a).kind == "b":
        out = lax.reduce_or(a, axes)
    else:
        out = lax.reduce_sum(a, axes)
    if initial is not None:
        out = uf.add(out, cast(initial, dtype_of(out)))
    return _keep(out, axes, keepdims)


def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """Like ``numpy.prod``."""
    if not isinstance(a, Tracer):
        return np.prod(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims,
                       **({} if initial is None else {"initial": initial}),
                       **({} if where is None else {"where": where}))
    _no_out_where("prod", out, where)
    a, axes = _prepare(a, axis, np.prod, dtype)
    out = lax.reduce_and(a, axes) if dtype_of(a).kind == "b" else lax.reduce_prod(a, axes)
    if initial is not None:
        out = uf.multiply(out, cast(initial, dtype_of(out)))
    return _keep(out, axes, keepdims)


def _extremum(np_fn, lax_fn, ufunc, name):
    def fn(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        if not isinstance(a, Tracer):
            return np_fn(a, axis=axis, out=out, keepdims=keepdims,
                         **({} if initial is None else {"initial": initial}),
                         **({} if where is None else {"where": where}))
        _no_out_where(name, out, where)
        a = asarray(a)
        axes = canonical_axes(axis, len(shape_of(a)))
        if initial is None:
            _check_nonempty(a, axes, name)
        res = lax_fn(a, axes) if axes else a
        if initial is not None:
            res = cast(ufunc(res, initial), dtype_of(a))
        return _keep(res, axes, keepdims)
    fn.__name__ = fn.__qualname__ = np_fn.__name__
    fn.__doc__ = f"Like ``numpy.{np_fn.__name__}``."
    return fn


max = amax = _extremum(np.max, lax.reduce_max, uf.maximum, "maximum")  # noqa: A001
min = amin = _extremum(np.min, lax.reduce_min, uf.minimum, "minimum")  # noqa: A001


def _no_out_where(name, out, where):
    if out is not None or where is not None:
        raise TypeError(f"fad.numpy.{name} does not support out= or where= on traced values")


def _boolean_reduction(np_fn, lax_fn):
    def fn(a, axis=None, out=None, keepdims=False, *, where=None):
        if not isinstance(a, Tracer):
            return np_fn(a, axis=axis, out=out, keepdims=keepdims,
                         **({} if where is None else {"where": where}))
        _no_out_where(np_fn.__name__, out, where)
        axes = canonical_axes(axis, len(shape_of(a)))
        b = a if dtype_of(a).kind == "b" else uf.not_equal(a, 0)
        return _keep(lax_fn(b, axes) if axes else b, axes, keepdims)
    fn.__name__ = fn.__qualname__ = np_fn.__name__
    fn.__doc__ = f"Like ``numpy.{np_fn.__name__}``."
    return fn


all = _boolean_reduction(np.all, lax.reduce_and)  # noqa: A001
any = _boolean_reduction(np.any, lax.reduce_or)  # noqa: A001


def _count(a, axes):
    n = 1
    for ax in axes:
        n *= shape_of(a)[ax]
    return n


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    """Like ``numpy.mean``."""
    if not isinstance(a, Tracer):
        return np.mean(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims,
                       **({} if where is None else {"where": where}))
    _no_out_where("mean", out, where)
    res_dtype = _accumulator_dtype(np.mean, dtype_of(a), None if dtype is None else np.dtype(dtype))
    acc = np.float32 if res_dtype == np.float16 else res_dtype
    axes = canonical_axes(axis, len(shape_of(a)))
    total = sum(cast(a, acc), axis=axes, keepdims=keepdims)
    return cast(uf.true_divide(total, _count(a, axes)), res_dtype)


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None,
        correction=None):
    """Like ``numpy.var``: the mean squared deviation, divided by ``n - ddof``."""
    if not isinstance(a, Tracer):
        kw = {} if correction is None else {"correction": correction}
        return np.var(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                      **kw, **({} if where is None else {"where": where}))
    _no_out_where("var", out, where)
    ddof = ddof if correction is None else correction
    res_dtype = _accumulator_dtype(np.var, dtype_of(a), None if dtype is None else np.dtype(dtype))
    axes = canonical_axes(axis, len(shape_of(a)))
    acc = np.result_type(dtype_of(a), np.float64 if dtype_of(a).kind in "iub" else dtype_of(a))
    x = cast(a, acc if dtype is None else np.result_type(acc, dtype))
    centred = uf.subtract(x, _mean_keep(x, axes))
    if dtype_of(centred).kind == "c":
        sq = lax.add(lax.square(lax.real(centred)), lax.square(lax.imag(centred)))
    else:
        sq = lax.square(centred)
    n = builtins.max(_count(a, axes) - ddof, 0)
    return cast(uf.true_divide(sum(sq, axis=axes, keepdims=keepdims), n), res_dtype)


def _mean_keep(x, axes):
    return uf.true_divide(sum(x, axis=axes, keepdims=True), _count(x, axes))


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None,
        correction=None):
    """Like ``numpy.std``: the square root of ``var``."""
    if not isinstance(a, Tracer):
        kw = {} if correction is None else {"correction": correction}
        return np.std(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                      **kw, **({} if where is None else {"where": where}))
    return uf.sqrt(var(a, axis, dtype, out, ddof, keepdims, where=where, correction=correction))


def ptp(a, axis=None, out=None, keepdims=False):
    """Like ``numpy.ptp``: ``max - min``."""
    if not isinstance(a, Tracer):
        return np.ptp(a, axis=axis, out=out, keepdims=keepdims)
    return uf.subtract(max(a, axis, keepdims=keepdims), min(a, axis, keepdims=keepdims))


def _arg_extremum(np_fn, lax_fn, name):
    def fn(a, axis=None, out=None, *, keepdims=False):
        if not isinstance(a, Tracer):
            return np_fn(a, axis=axis, out=out, keepdims=keepdims)
        ndim = len(shape_of(a))
        if axis is None:
            _check_nonempty(a, tuple(range(ndim)), name)
            res = lax_fn(lax.reshape(a, (_count(a, range(ndim)),)), 0, np.dtype(np.intp))
            return lax.reshape(res, (1,) * ndim) if keepdims else res
        axis = normalize_axis(axis, ndim)
        if shape_of(a)[axis] == 0:
            raise ValueError(f"attempt to get {name} of an empty sequence")
        res = lax_fn(a, axis, np.dtype(np.intp))
        return _keep(res, (axis,), keepdims)
    fn.__name__ = fn.__qualname__ = np_fn.__name__
    fn.__doc__ = f"Like ``numpy.{np_fn.__name__}``."
    return fn


argmax = _arg_extremum(np.argmax, lax.argmax, "argmax")
argmin = _arg_extremum(np.argmin, lax.argmin, "argmin")


def _cumulative(np_fn, lax_fn, bool_fn):
    def fn(a, axis=None, dtype=None, out=None):
        if not isinstance(a, Tracer):
            return np_fn(a, axis=axis, dtype=dtype, out=out)
        if out is not None:
            raise TypeError(f"fad.numpy.{np_fn.__name__} does not support out=")
        if axis is None:
            a = lax.reshape(a, (int(np.prod(shape_of(a))),))
            axis = 0
        axis = normalize_axis(axis, len(shape_of(a)))
        acc = _accumulator_dtype(np_fn, dtype_of(a), None if dtype is None else np.dtype(dtype))
        a = cast(a, acc)
        return bool_fn(a, axis) if acc.kind == "b" else lax_fn(a, axis)
    fn.__name__ = fn.__qualname__ = np_fn.__name__
    fn.__doc__ = f"Like ``numpy.{np_fn.__name__}``."
    return fn


cumsum = _cumulative(np.cumsum, lax.cumsum, lax.cummax)      # bool: running "or"
cumprod = _cumulative(np.cumprod, lax.cumprod, lax.cummin)   # bool: running "and"


def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """Like ``numpy.average``: the (weighted) mean along ``axis``."""
    if not isinstance(a, Tracer) and not isinstance(weights, Tracer):
        return np.average(a, axis=axis, weights=weights, returned=returned, keepdims=keepdims)
    a = asarray(a)
    if weights is None:
        avg = mean(a, axis, keepdims=keepdims)
        scl = cast(np.asarray(_count(a, canonical_axes(axis, len(shape_of(a))))),
                   dtype_of(avg))
        return (avg, lax.broadcast_to(scl, shape_of(avg))) if returned else avg
    w = asarray(weights)
    if shape_of(w) != shape_of(a):
        if axis is None or len(shape_of(w)) != 1:
            raise TypeError("Axis must be specified when shapes of a and weights differ.")
        ax = normalize_axis(axis, len(shape_of(a)))
        if shape_of(w)[0] != shape_of(a)[ax]:
            raise ValueError("Length of weights not compatible with specified axis.")
        shape = [1] * len(shape_of(a))
        shape[ax] = shape_of(w)[0]
        w = lax.reshape(w, shape) if isinstance(w, Tracer) else np.reshape(w, shape)
    kinds = dtype_of(a).kind + dtype_of(w).kind
    dt = np.result_type(dtype_of(a), dtype_of(w), *(["f8"] if set(kinds) <= set("iub") else []))
    a, w = cast(a, dt), cast(w, dt)
    scl = sum(uf.multiply(w, np.ones(shape_of(a), dt)) if shape_of(w) != shape_of(a) else w,
              axis=axis, keepdims=keepdims)
    avg = uf.true_divide(sum(uf.multiply(a, w), axis=axis, keepdims=keepdims), scl)
    return (avg, scl) if returned else avg


__all__ = ["sum", "prod", "max", "min", "amax", "amin", "all", "any", "mean", "var", "std",
           "ptp", "argmax", "argmin", "cumsum", "cumprod", "average"]
