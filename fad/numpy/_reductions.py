"""Reductions with NumPy's ``axis``/``keepdims``/``dtype`` conventions, their NaN-ignoring
forms (``nansum`` ... ``nanstd``, zero derivative at the NaNs, as in JAX), and NumPy's
order of complex numbers (real part, then imaginary part) in ``max``/``min``/``argmax``/
``argmin``."""
from __future__ import annotations

import builtins
import functools

import numpy as np

from fad import lax
from fad.core import doc_examples as _doc_examples
from fad.core.trace import Tracer
from fad.lax.sort import take_along_axis as _take_along_axis
from fad.numpy import _ufuncs as uf
from fad.numpy._promote import (asarray, canonical_axes, cast, concrete_or_none, dtype_of,
                                normalize_axis, shape_of)


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
    """Like ``numpy.sum``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.sum(a), fnp.sum(a, axis=0)
    (np.float64(10.0), array([4., 6.]))
    >>> fad.grad(fnp.sum)(a)
    array([[1., 1.],
           [1., 1.]])
    """
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
    """Like ``numpy.prod``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.prod(a, axis=1)
    array([ 2., 12.])
    >>> fad.grad(fnp.prod)(np.array([2.0, 3.0, 4.0]))
    array([12.,  8.,  6.])
    """
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
        if not axes:
            res = a
        elif dtype_of(a).kind == "c":
            res = _complex_extremum(a, axes, name == "maximum")
        else:
            res = lax_fn(a, axes)
        if initial is not None:
            res = cast(ufunc(res, initial), dtype_of(a))
        return _keep(res, axes, keepdims)
    fn.__name__ = fn.__qualname__ = np_fn.__name__
    fn.__doc__ = f"Like ``numpy.{np_fn.__name__}``.\n\n" + _doc_examples.call_example(
        f"fnp.{np_fn.__name__}(x, axis=0)", f"np.{np_fn.__name__}(x, axis=0)",
        "np.array([[1.0, 4.0], [3.0, 2.0]])", f"x == np.{np_fn.__name__}(x, axis=0)") + "\n"
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
    fn.__doc__ = f"Like ``numpy.{np_fn.__name__}``.\n\n" + _doc_examples.call_example(
        f"fnp.{np_fn.__name__}(x > 1.5, axis=0)", f"np.{np_fn.__name__}(x > 1.5, axis=0)",
        "np.array([[1.0, 4.0], [3.0, 2.0]])", exact=True) + "\n"
    return fn


all = _boolean_reduction(np.all, lax.reduce_and)  # noqa: A001
any = _boolean_reduction(np.any, lax.reduce_or)  # noqa: A001


def _count(a, axes):
    n = 1
    for ax in axes:
        n *= shape_of(a)[ax]
    return n


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    """Like ``numpy.mean``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.mean(a, axis=0)
    array([2., 3.])
    >>> fad.grad(fnp.mean)(np.array([1.0, 2.0, 3.0, 4.0]))
    array([0.25, 0.25, 0.25, 0.25])
    """
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
    """Like ``numpy.var``: the mean squared deviation, divided by ``n - ddof``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> x = np.array([1.0, 2.0, 3.0, 4.0])
    >>> fnp.var(x), fnp.var(x, ddof=1).round(3)
    (np.float64(1.25), np.float64(1.667))
    >>> fad.grad(fnp.var)(x)
    array([-0.75, -0.25,  0.25,  0.75])
    """
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
    """Like ``numpy.std``: the square root of ``var``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> x = np.array([1.0, 3.0])
    >>> fnp.std(x)
    np.float64(1.0)
    >>> fad.grad(fnp.std)(x)
    array([-0.5,  0.5])
    """
    if not isinstance(a, Tracer):
        kw = {} if correction is None else {"correction": correction}
        return np.std(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                      **kw, **({} if where is None else {"where": where}))
    return _root_of_variance(var(a, axis, dtype, out, ddof, keepdims, where=where,
                                 correction=correction))


def _root_of_variance(v):
    """``sqrt(v)`` with derivative 0 (a subgradient) where ``v == 0``: the standard
    deviation is the 2-norm of the deviations (over ``sqrt(n)``), which takes the
    subgradient 0 where they are all 0, instead of ``sqrt'(0) * 0 = inf * 0 = NaN``.
    The same bits as ``sqrt(v)``; NaN goes through the root."""
    nonzero = uf.not_equal(v, 0)
    return lax.select_n(nonzero, v, uf.sqrt(lax.select_n(nonzero, 1, v)))


def ptp(a, axis=None, out=None, keepdims=False):
    """Like ``numpy.ptp``: ``max - min``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.ptp(a), fnp.ptp(a, axis=1)
    (np.float64(3.0), array([1., 1.]))
    """
    if not isinstance(a, Tracer):
        return np.ptp(a, axis=axis, out=out, keepdims=keepdims)
    return uf.subtract(max(a, axis, keepdims=keepdims), min(a, axis, keepdims=keepdims))


def _arg_extremum(np_fn, lax_fn, name):
    def fn(a, axis=None, out=None, *, keepdims=False):
        if not isinstance(a, Tracer):
            return np_fn(a, axis=axis, out=out, keepdims=keepdims)
        a = asarray(a)
        ndim = len(shape_of(a))
        pick = lax_fn
        if dtype_of(a).kind == "c":   # NumPy's order: real parts, then imaginary parts
            pick = functools.partial(_complex_arg, largest=name == "argmax")
        if axis is None:
            _check_nonempty(a, tuple(range(ndim)), name)
            res = pick(lax.reshape(a, (_count(a, range(ndim)),)), 0, np.dtype(np.intp))
            return lax.reshape(res, (1,) * ndim) if keepdims else res
        axis = normalize_axis(axis, ndim)
        if shape_of(a)[axis] == 0:
            raise ValueError(f"attempt to get {name} of an empty sequence")
        res = pick(a, axis, np.dtype(np.intp))
        return _keep(res, (axis,), keepdims)
    fn.__name__ = fn.__qualname__ = np_fn.__name__
    fn.__doc__ = f"Like ``numpy.{np_fn.__name__}``.\n\n" + _doc_examples.call_example(
        f"fnp.{np_fn.__name__}(x, axis=1)", f"np.{np_fn.__name__}(x, axis=1)",
        "np.array([[1.0, 4.0], [3.0, 2.0]])", exact=True) + "\n"
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
    fn.__doc__ = f"Like ``numpy.{np_fn.__name__}``.\n\n" + _doc_examples.call_example(
        f"fnp.{np_fn.__name__}(x)", f"np.{np_fn.__name__}(x)", "np.array([1.0, 4.0, 3.0])",
        # (the derivative of the sum of the running sums: each x[i] is in n - i of them)
        "np.arange(3, 0, -1)" if np_fn is np.cumsum else None) + "\n"
    return fn


cumsum = _cumulative(np.cumsum, lax.cumsum, lax.cummax)      # bool: running "or"
cumprod = _cumulative(np.cumprod, lax.cumprod, lax.cummin)   # bool: running "and"


def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """Like ``numpy.average``: the (weighted) mean along ``axis``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> fnp.average(x, weights=np.array([3.0, 1.0, 0.0]))
    np.float64(1.25)
    >>> fad.grad(lambda w: fnp.average(x, weights=w))(np.ones(3)).round(3)
    array([-0.333,  0.   ,  0.333])
    """
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


# -- NumPy's order of complex numbers ----------------------------------------------------------
# NumPy orders complex numbers by real part, then imaginary part, and an element with a NaN
# in either part wins max and min (its first occurrence). lax's reductions are for real
# numbers, so the winner's index is found from the parts, and the value is taken there:
# the derivative flows to that one element.

def _complex_arg(a, axis, index_dtype, largest):
    """Index of the first maximum (``largest``) or minimum of complex ``a`` along ``axis``
    in NumPy's order; of the first NaN if there is one."""
    re, im = lax.real(a), lax.imag(a)
    nan = lax.bitwise_or(lax.ne(re, re), lax.ne(im, im))
    reduce, bound = (lax.reduce_max, -np.inf) if largest else (lax.reduce_min, np.inf)
    shape, kept = shape_of(a), tuple(i for i in range(len(shape_of(a))) if i != axis)

    def spread(r):   # a reduced value back along ``axis``
        return lax.broadcast_in_dim(r, shape, kept)

    on_re = lax.eq(re, spread(reduce(re, (axis,))))
    im_there = lax.select_n(on_re, np.full(shape, bound, dtype_of(im)), im)
    hit = lax.bitwise_and(on_re, lax.eq(im, spread(reduce(im_there, (axis,)))))
    hit = lax.select_n(spread(lax.reduce_or(nan, (axis,))), hit, nan)
    return lax.argmax(hit, axis, index_dtype)


def _complex_extremum(a, axes, largest):
    """``max`` (``largest``) or ``min`` of complex ``a`` over ``axes`` in NumPy's order."""
    shape, n = shape_of(a), _count(a, axes)
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    if kept + axes != tuple(range(len(shape))):
        a = lax.transpose(a, kept + axes)
    a = lax.reshape(a, tuple(shape[i] for i in kept) + (n,))
    last = len(kept)
    where = _complex_arg(a, last, np.dtype(np.int64), largest)
    picked = _take_along_axis(a, lax.expand_dims(where, (last,)), last)
    return lax.reshape(picked, tuple(shape[i] for i in kept))


# -- NaN-ignoring reductions ------------------------------------------------------------------
# Each replaces the NaNs by the reduction's identity (a select, so the derivative there is
# zero, as in JAX) and reduces; integer and bool arrays hold no NaN and reduce as they are.

def _has_nans(a) -> bool:
    return dtype_of(a).kind in "fc"


def _nan_to(a, value):
    """``a`` with its NaNs replaced by the scalar ``value``."""
    return lax.select_n(uf.isnan(a), a, np.asarray(value, dtype_of(a))[()])


def _nan_doc(fn, np_fn, more="", derivative=None, exact=False):
    fn.__name__ = fn.__qualname__ = np_fn.__name__
    example = _doc_examples.call_example(
        f"fnp.{np_fn.__name__}(x)", f"np.{np_fn.__name__}(x)", "np.array([2.0, np.nan, 3.0])",
        derivative, exact)
    fn.__doc__ = (f"Like ``numpy.{np_fn.__name__}``: NaNs are ignored; their derivative is "
                  f"zero.{more}\n\n{example}\n")
    return fn


def _nan_reduction(np_fn, reduction, identity):
    def fn(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
        if not isinstance(a, Tracer):
            return np_fn(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims,
                         **({} if initial is None else {"initial": initial}),
                         **({} if where is None else {"where": where}))
        a = asarray(a)
        if _has_nans(a):
            a = _nan_to(a, identity)
        return reduction(a, axis, dtype, out, keepdims, initial, where)
    return _nan_doc(fn, np_fn, derivative=(
        "~np.isnan(x)" if identity == 0 else "np.where(np.isnan(x), 0, np.nanprod(x) / x)"))


nansum = _nan_reduction(np.nansum, sum, 0)
nanprod = _nan_reduction(np.nanprod, prod, 1)


def _nan_cumulative(np_fn, cumulative, identity):
    def fn(a, axis=None, dtype=None, out=None):
        if not isinstance(a, Tracer):
            return np_fn(a, axis=axis, dtype=dtype, out=out)
        a = asarray(a)
        return cumulative(_nan_to(a, identity) if _has_nans(a) else a, axis, dtype, out)
    return _nan_doc(fn, np_fn)


nancumsum = _nan_cumulative(np.nancumsum, cumsum, 0)
nancumprod = _nan_cumulative(np.nancumprod, cumprod, 1)


def _nan_extremum(np_fn, extremum, largest):
    def fn(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        if not isinstance(a, Tracer):
            return np_fn(a, axis=axis, out=out, keepdims=keepdims,
                         **({} if initial is None else {"initial": initial}),
                         **({} if where is None else {"where": where}))
        a = asarray(a)
        if not _has_nans(a):
            return extremum(a, axis, out, keepdims, initial, where)
        nan = uf.isnan(a)
        bound = -np.inf if largest else np.inf
        res = extremum(_nan_to(a, complex(bound, bound) if dtype_of(a).kind == "c" else bound),
                       axis, out, keepdims, initial, where)
        if initial is not None:   # (NumPy's fmax.reduce: the initial value stands)
            return res
        all_nan = all(nan, axis, keepdims=keepdims)
        return lax.select_n(all_nan, res, np.asarray(np.nan, dtype_of(a))[()])
    return _nan_doc(fn, np_fn, " An all-NaN slice gives NaN (NumPy also warns).",
                    f"x == np.{np_fn.__name__}(x)")


nanmax = _nan_extremum(np.nanmax, max, True)
nanmin = _nan_extremum(np.nanmin, min, False)


def _nan_arg_extremum(np_fn, arg, largest):
    def fn(a, axis=None, out=None, *, keepdims=False):
        if not isinstance(a, Tracer):
            return np_fn(a, axis=axis, out=out, keepdims=keepdims)
        a = asarray(a)
        if not _has_nans(a):
            return arg(a, axis, out, keepdims=keepdims)
        bound = -np.inf if largest else np.inf
        nan = uf.isnan(a)
        res = arg(_nan_to(a, complex(bound, bound) if dtype_of(a).kind == "c" else bound),
                  axis, out, keepdims=keepdims)
        all_nan = all(nan, axis, keepdims=keepdims)
        known = concrete_or_none(all_nan)
        if known is not None and np.any(known):
            raise ValueError("All-NaN slice encountered")
        return lax.select_n(all_nan, res, np.asarray(-1, dtype_of(res))[()])
    return _nan_doc(fn, np_fn, " An all-NaN slice raises ``ValueError`` as in NumPy where "
                    "the values are known (eagerly, under ``grad``), and gives -1 (as in "
                    "JAX) under ``jit`` and ``vmap``.", exact=True)


nanargmax = _nan_arg_extremum(np.nanargmax, argmax, True)
nanargmin = _nan_arg_extremum(np.nanargmin, argmin, False)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    """Like ``numpy.nanmean``: the mean of the non-NaN values (NaN for an all-NaN slice);
    the derivative at the NaNs is zero.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.nanmean(np.array([1.0, np.nan, 3.0]))
    np.float64(2.0)
    """
    if not isinstance(a, Tracer):
        return np.nanmean(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims,
                          **({} if where is None else {"where": where}))
    a = asarray(a)
    if not _has_nans(a):
        return mean(a, axis, dtype, out, keepdims, where=where)
    _no_out_where("nanmean", out, where)
    res_dtype = _accumulator_dtype(np.mean, dtype_of(a), None if dtype is None else np.dtype(dtype))
    total = sum(_nan_to(a, 0), axis, res_dtype, keepdims=keepdims)
    count = sum(uf.logical_not(uf.isnan(a)), axis, np.intp, keepdims=keepdims)
    return cast(uf.true_divide(total, count), res_dtype)


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
           mean=None, correction=None):
    """Like ``numpy.nanvar``: the variance of the non-NaN values, divided by ``count -
    ddof`` (NaN where that is not positive); the derivative at the NaNs is zero.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.nanvar(np.array([1.0, np.nan, 3.0]))
    np.float64(1.0)
    """
    if not isinstance(a, Tracer):
        kw = {} if correction is None else {"correction": correction}
        return np.nanvar(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                         **kw, **({} if where is None else {"where": where}))
    a = asarray(a)
    if not _has_nans(a):
        return var(a, axis, dtype, out, ddof, keepdims, where=where, correction=correction)
    _no_out_where("nanvar", out, where)
    ddof = ddof if correction is None else correction
    res_dtype = _accumulator_dtype(np.var, dtype_of(a), None if dtype is None else np.dtype(dtype))
    x = cast(a, dtype_of(a) if dtype is None else np.result_type(dtype_of(a), dtype))
    nan = uf.isnan(x)
    count = sum(uf.logical_not(nan), axis, np.intp, keepdims=True)
    centred = uf.subtract(x, uf.true_divide(sum(_nan_to(x, 0), axis, keepdims=True), count))
    centred = _nan_to(centred, 0)
    if dtype_of(centred).kind == "c":
        sq = lax.add(lax.square(lax.real(centred)), lax.square(lax.imag(centred)))
    else:
        sq = lax.square(centred)
    dof = uf.subtract(count if keepdims else _drop(count, axis), ddof)
    with np.errstate(divide="ignore", invalid="ignore"):
        res = uf.true_divide(sum(sq, axis, keepdims=keepdims), dof)
    res = lax.select_n(uf.less_equal(dof, 0), cast(res, res_dtype),
                       np.asarray(np.nan, res_dtype)[()])
    return res


def _drop(kept, axis):
    """A keepdims reduction's result without the reduced axes."""
    axes = canonical_axes(axis, len(shape_of(kept)))
    return lax.reshape(kept, tuple(d for i, d in enumerate(shape_of(kept)) if i not in axes))


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
           mean=None, correction=None):
    """Like ``numpy.nanstd``: the square root of ``nanvar``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.nanstd(np.array([1.0, np.nan, 3.0]))
    np.float64(1.0)
    """
    if not isinstance(a, Tracer):
        kw = {} if correction is None else {"correction": correction}
        return np.nanstd(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                         **kw, **({} if where is None else {"where": where}))
    return _root_of_variance(nanvar(a, axis, dtype, out, ddof, keepdims, where=where,
                                    correction=correction))


__all__ = ["sum", "prod", "max", "min", "amax", "amin", "all", "any", "mean", "var", "std",
           "ptp", "argmax", "argmin", "cumsum", "cumprod", "average", "nansum", "nanprod",
           "nancumsum", "nancumprod", "nanmax", "nanmin", "nanargmax", "nanargmin", "nanmean",
           "nanvar", "nanstd"]
