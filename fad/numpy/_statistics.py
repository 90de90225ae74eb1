"""Order statistics and correlations: ``median``, ``quantile``, ``percentile`` and their
NaN-ignoring forms, ``cov`` and ``corrcoef``.

Traced, the order statistics sort along the reduced axes (``lax.sort``, whose derivative
goes through the permutation) and take the elements NumPy's method picks, interpolating
between two neighbours as NumPy does (``numpy.lib._function_base_impl._lerp``): the
derivative flows to the selected elements, shared by the interpolation weights. The
indices and weights are computed with NumPy's own formulas, on NumPy values when the
quantiles are concrete, so results match NumPy's to the last bit.
"""
from __future__ import annotations

import builtins

import numpy as np

from fad import lax
from fad.core import dtypes
from fad.core.trace import Tracer
from fad.lax.sort import take_along_axis as _take_along_axis
from fad.numpy import _elementwise as el
from fad.numpy import _linalg
from fad.numpy import _reductions as red
from fad.numpy import _ufuncs as uf
from fad.numpy._promote import (accept_traced_sequences_in, asarray, canonical_axes, cast,
                                concrete_or_none, dtype_of, is_traced, is_weak, promote, shape_of)

# -- the reduced axes, merged last and sorted --------------------------------------------------


def _sorted_last(a, axis):
    """``a`` with the reduced ``axis`` (None, int or tuple) merged into one last axis and
    sorted along it (NaNs last); with the kept shape and the keepdims shape."""
    shape = shape_of(a)
    axes = canonical_axes(axis, len(shape))
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    n = int(np.prod([shape[i] for i in axes], dtype=np.int64))
    kept_shape = tuple(shape[i] for i in kept)
    keep_shape = tuple(1 if i in axes else d for i, d in enumerate(shape))
    if kept + axes != tuple(range(len(shape))):
        a = lax.transpose(a, kept + axes)
    a = lax.reshape(a, kept_shape + (n,))
    return lax.sort(a, len(kept_shape)), kept_shape, keep_shape


def _valid_count(s):
    """The number of non-NaN values along the last axis (NaNs are sorted last)."""
    return red.sum(uf.logical_not(uf.isnan(s)), axis=-1, dtype=np.intp)


def _pick(s, idx, q_nd):
    """``s[..., idx]`` along the last axis for integer ``idx`` of shape ``q_shape`` (the
    same index in every slice) or ``q_shape + kept`` (one per slice), where ``q_shape``
    has ``q_nd`` axes: the result has shape ``q_shape + kept``."""
    kept, n = shape_of(s)[:-1], shape_of(s)[-1]
    idx = cast(idx, np.dtype(np.int64))
    q_shape = shape_of(idx)[:q_nd]
    if len(shape_of(idx)) == q_nd:
        idx = lax.broadcast_in_dim(idx, q_shape + kept, tuple(range(q_nd)))
    idx = lax.clamp(np.int64(0), idx, np.int64(max(n - 1, 0)))
    # take_along_axis wants the slices first and the indices of each slice last
    k = len(kept)
    idx = lax.transpose(idx, tuple(range(q_nd, q_nd + k)) + tuple(range(q_nd)))
    q_size = int(np.prod(q_shape, dtype=np.int64))
    got = _take_along_axis(s, lax.reshape(idx, kept + (q_size,)), k)
    got = lax.reshape(got, kept + q_shape)
    return lax.transpose(got, tuple(range(k, k + q_nd)) + tuple(range(k)))


def _restore(res, q_nd, kept_shape, keep_shape, keepdims):
    """The reduced result ``q_shape + kept_shape`` in NumPy's layout."""
    if keepdims:
        q_shape = shape_of(res)[:q_nd]
        return lax.reshape(res, q_shape + keep_shape)
    return res


# -- median --------------------------------------------------------------------------------------

def _middle_mean(s, n, dtype):
    """The mean of the one or two middle values of the first ``n`` along the last axis."""
    lo = uf.floor_divide(uf.subtract(n, 1), 2)
    hi = uf.floor_divide(n, 2)
    a = cast(_pick(s, lo, 0), dtype)
    b = cast(_pick(s, hi, 0), dtype)
    return uf.true_divide(uf.add(a, b), np.asarray(2, dtype)[()])


def _median(a, axis, keepdims, ignore_nan):
    a = asarray(a)
    dtype = red._accumulator_dtype(np.mean, dtype_of(a), None)
    s, kept_shape, keep_shape = _sorted_last(a, axis)
    inexact = dtype_of(a).kind in "fc"
    n = _valid_count(s) if ignore_nan and inexact else shape_of(s)[-1]
    if shape_of(s)[-1] == 0:
        res = lax.full(kept_shape, np.nan, dtype)
    else:
        res = _middle_mean(s, n, dtype)
        if inexact:   # a NaN in the slice (or, ignoring NaNs, nothing but NaNs) gives NaN
            bad = uf.equal(n, 0) if ignore_nan else uf.isnan(_pick(s, shape_of(s)[-1] - 1, 0))
            res = el.where(bad, np.asarray(np.nan, dtype)[()], res)
    return _restore(res, 0, kept_shape, keep_shape, keepdims)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """Like ``numpy.median``: the mean of the middle values of the sorted slice (NaN if it
    holds a NaN); the derivative goes to those middle values.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.median(np.array([3.0, 1.0, 2.0, 10.0]))
    np.float64(2.5)
    >>> fad.grad(fnp.median)(np.array([3.0, 1.0, 2.0]))
    array([0., 0., 1.])
    """
    if not isinstance(a, Tracer):
        return np.median(a, axis, out, overwrite_input, keepdims)
    _no_out(out, "median")
    return _median(a, axis, keepdims, ignore_nan=False)


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """Like ``numpy.nanmedian``: ``median`` of the non-NaN values (NaN for an all-NaN
    slice); the derivative goes to the middle values, none to the NaNs.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.nanmedian(np.array([3.0, np.nan, 1.0]))
    np.float64(2.0)
    """
    if not isinstance(a, Tracer):
        return np.nanmedian(a, axis, out, overwrite_input, keepdims)
    _no_out(out, "nanmedian")
    return _median(a, axis, keepdims, ignore_nan=True)


def _no_out(out, name):
    if out is not None:
        raise TypeError(f"fad.numpy.{name} cannot write into out= (fad arrays are immutable); "
                        "drop out= and use the returned value")


# -- quantiles -----------------------------------------------------------------------------------
# NumPy's methods, each as (virtual index of quantile q among n sorted values, weight of the
# upper neighbour): the Hyndman & Fan definitions of numpy.lib._function_base_impl.

# (Written with Python's operators, as NumPy writes them: a Python int count stays weak.)

def _hf_index(alpha, beta):
    return lambda n, q: n * q + (alpha + q * (1 - alpha - beta)) - 1


def _as_index(fn):
    return lambda n, q: cast(fn(n, q), np.dtype(np.intp))


def _boundary(offset, odd_only):
    """The discrete methods ``inverted_cdf`` and ``closest_observation``."""
    def index(n, q):
        virtual = n * q - 1 - offset
        below = uf.floor(virtual)
        at_previous = (virtual - below) == 0
        if odd_only:
            at_previous = uf.logical_and(at_previous, below % 2 == 1)
        res = cast(el.where(at_previous, below, below + 1), np.dtype(np.intp))
        return uf.maximum(res, 0)
    return index


def _midpoint_index(n, q):
    return 0.5 * (uf.floor((n - 1) * q) + uf.ceil((n - 1) * q))


_METHODS = {
    # method: (virtual index, gamma fix or None)
    "inverted_cdf": (_boundary(0, False), None),
    "averaged_inverted_cdf": (lambda n, q: n * q - 1,
                              lambda g, i: el.where(g == 0, 0.5, 1.0)),
    "closest_observation": (_boundary(0.5, True), None),
    "interpolated_inverted_cdf": (_hf_index(0, 1), None),
    "hazen": (_hf_index(0.5, 0.5), None),
    "weibull": (_hf_index(0, 0), None),
    "linear": (lambda n, q: (n - 1) * q, None),
    "median_unbiased": (_hf_index(1 / 3.0, 1 / 3.0), None),
    "normal_unbiased": (_hf_index(3 / 8.0, 3 / 8.0), None),
    "lower": (_as_index(lambda n, q: uf.floor((n - 1) * q)), None),
    "higher": (_as_index(lambda n, q: uf.ceil((n - 1) * q)), None),
    "midpoint": (_midpoint_index, lambda g, i: el.where(i % 1 == 0, 0.0, 0.5)),
    "nearest": (_as_index(lambda n, q: el.round((n - 1) * q)), None),
}
_PICKING = ("inverted_cdf", "closest_observation", "lower", "higher", "nearest")


def _lerp(a, b, t):
    """NumPy's interpolation: ``a + (b - a) t``, or ``b - (b - a)(1 - t)`` for ``t >= 0.5``
    (with Python's operators, as NumPy's: a Python float ``t`` keeps ``a``'s dtype)."""
    diff = b - a
    low, high = a + diff * t, b - diff * (1 - t)
    if isinstance(t, float):
        return high if t >= 0.5 else low
    return el.where(t >= 0.5, high, low)


def _quantile(a, q, axis, method, keepdims, weak_q, ignore_nan):
    if dtype_of(a).kind == "c":
        raise TypeError("a must be an array of real numbers")
    if method not in _METHODS:
        raise ValueError(f"{method!r} is not a valid method. Use one of: {tuple(_METHODS)}")
    if len(shape_of(q)) > 2:
        raise ValueError("q must be a scalar or 1d")
    s, kept_shape, keep_shape = _sorted_last(a, axis)
    inexact = dtype_of(a).kind == "f"
    n_all = shape_of(s)[-1]
    n = _valid_count(s) if ignore_nan and inexact else n_all
    q_nd = len(shape_of(q))
    if not isinstance(n, int):   # one count per slice: quantile axes first, then slices
        q = lax.reshape(q, shape_of(q) + (1,) * len(kept_shape))
        n = cast(n, dtype_of(q)) if dtype_of(q).kind == "f" else n
    index_fn, fix_gamma = _METHODS[method]
    virtual = index_fn(n, q)
    if method in _PICKING or (method == "linear" and dtype_of(virtual).kind in "iu"):
        res = _pick(s, virtual, q_nd)
    else:
        below = uf.floor(virtual)
        top = uf.subtract(n, 1)
        above_end, before_start = uf.greater_equal(virtual, top), uf.less(virtual, 0)
        prev = el.where(above_end, top, el.where(before_start, 0, below))
        nxt = el.where(above_end, top, el.where(before_start, 0, uf.add(below, 1)))
        gamma = uf.subtract(virtual, below)
        if fix_gamma is not None:
            gamma = cast(fix_gamma(gamma, virtual), dtype_of(virtual))
        if weak_q:   # NumPy makes gamma a Python float: the result keeps a's float dtype
            known = concrete_or_none(gamma)
            gamma = float(known) if known is not None and np.ndim(known) == 0 else \
                cast(gamma, dtypes.to_inexact_dtype(dtype_of(a)))
        if not isinstance(gamma, float) and len(shape_of(gamma)) == q_nd:
            gamma = lax.reshape(gamma, shape_of(gamma) + (1,) * len(kept_shape))
        res = _lerp(_pick(s, prev, q_nd), _pick(s, nxt, q_nd), gamma)
    if inexact:   # a NaN in the slice (or, ignoring NaNs, nothing but NaNs) gives NaN
        if ignore_nan:
            bad = uf.equal(n, 0)
        else:
            bad = uf.isnan(_pick(s, n_all - 1, 0))
        nan = np.asarray(np.nan, dtype_of(res))[()]
        res = el.where(bad, nan, res)
    return _restore(res, q_nd, kept_shape, keep_shape, keepdims)


def _quantile_entry(name, a, q, axis, out, method, keepdims, weights, scale, ignore_nan):
    _no_out(out, name)
    if weights is not None:
        raise TypeError(f"fad.numpy.{name} does not support weights= on traced values; "
                        "pass NumPy arrays to use NumPy's weighted quantiles")
    weak_q = is_weak(q)   # a Python scalar (or a tracer standing for one): a keeps its dtype
    q = asarray(q)
    if scale != 1:
        q = uf.true_divide(q, scale)
    known = concrete_or_none(q)
    if known is not None and not (np.all(known >= 0) and np.all(known <= 1)):
        what = ("Percentiles", "[0, 100]") if scale == 100 else ("Quantiles", "[0, 1]")
        raise ValueError(f"{what[0]} must be in the range {what[1]}")
    return _quantile(asarray(a), q, axis, method, keepdims, weak_q, ignore_nan)


def _quantile_function(np_fn, scale, ignore_nan, doc):
    def fn(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False,
           *, weights=None):
        if not is_traced(a, q):
            return np_fn(a, q, axis, out, overwrite_input, method, keepdims, weights=weights)
        return _quantile_entry(np_fn.__name__, a, q, axis, out, method, keepdims, weights,
                               scale, ignore_nan)
    fn.__name__ = fn.__qualname__ = np_fn.__name__
    fn.__doc__ = doc
    return fn


quantile = _quantile_function(np.quantile, 1, False, """Like ``numpy.quantile``, with
    every ``method`` of NumPy; ``q`` may be traced. The derivative goes to the one or two
    sorted elements each quantile is read from (weighted by the interpolation). Traced,
    ``weights=`` (NumPy's weighted ``inverted_cdf``) is not supported.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> x = np.array([4.0, 1.0, 3.0, 2.0])
    >>> float(fnp.quantile(x, 0.5))
    2.5
    >>> fad.grad(lambda x: fnp.quantile(x, 0.5))(x)   # halfway between 2.0 and 3.0
    array([0. , 0. , 0.5, 0.5])
    """)
percentile = _quantile_function(np.percentile, 100, False,
                                """Like ``numpy.percentile``: ``quantile(a, q / 100)``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> x = np.array([4.0, 1.0, 3.0, 2.0])
    >>> fad.jit(lambda x: fnp.percentile(x, 25.0))(x) == np.percentile(x, 25.0)
    np.True_
    """)
nanquantile = _quantile_function(np.nanquantile, 1, True, """Like ``numpy.nanquantile``:
    ``quantile`` of the non-NaN values of each slice (NaN for an all-NaN slice); no
    derivative goes to the NaNs.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> x = np.array([4.0, np.nan, 1.0])
    >>> fad.grad(lambda x: fnp.nanquantile(x, 0.5))(x)
    array([0.5, 0. , 0.5])
    """)
nanpercentile = _quantile_function(np.nanpercentile, 100, True,
                                   """Like ``numpy.nanpercentile``: ``nanquantile(a, q / 100)``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> x = np.array([4.0, np.nan, 1.0])
    >>> fad.jit(lambda x: fnp.nanpercentile(x, 50.0))(x)
    np.float64(2.5)
    """)


# -- covariance and correlation -----------------------------------------------------------------

def _weights(fweights, aweights, n):
    """NumPy's combined observation weights (checked where their values are known)."""
    w = None
    if fweights is not None:
        fweights = cast(asarray(fweights), np.dtype(np.float64))
        known = concrete_or_none(fweights)
        if known is not None and not np.all(known == np.around(known)):
            raise TypeError("fweights must be integer")
        _check_weights(fweights, known, n, "fweights")
        w = fweights
    if aweights is not None:
        aweights = cast(asarray(aweights), np.dtype(np.float64))
        _check_weights(aweights, concrete_or_none(aweights), n, "aweights")
        w = aweights if w is None else uf.multiply(w, aweights)
    return w, aweights


def _check_weights(w, known, n, name):
    if len(shape_of(w)) > 1:
        raise ValueError(f"cannot handle multidimensional {name}")
    if shape_of(w)[0] != n:
        raise ValueError(f"incompatible numbers of samples and {name}")
    if known is not None and np.any(known < 0):
        raise ValueError(f"{name} cannot be negative")


def _as_rows(m, rowvar, dtype):
    x = cast(asarray(m), dtype)
    nd = len(shape_of(x))
    x = lax.reshape(x, (1,) * (2 - nd) + shape_of(x))
    return lax.transpose(x, (1, 0)) if not rowvar and nd != 1 else x


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
        dtype=None):
    """Like ``numpy.cov``: the covariance matrix of the variables in the rows of ``m``
    (columns if not ``rowvar``), with ``y``'s appended; frequency and analytic weights may
    be traced. Zero or negative degrees of freedom divide by zero (NumPy also warns).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> x = np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])
    >>> fnp.cov(x)
    array([[ 1., -1.],
           [-1.,  1.]])
    """
    if not is_traced(m, y, fweights, aweights):
        return np.cov(m, y, rowvar, bias, ddof, fweights, aweights, dtype=dtype)
    if ddof is not None and ddof != int(ddof):
        raise ValueError("ddof must be integer")
    m = asarray(m)
    if len(shape_of(m)) > 2:
        raise ValueError("m has more than 2 dimensions")
    if y is not None:
        y = asarray(y)
        if len(shape_of(y)) > 2:
            raise ValueError("y has more than 2 dimensions")
    if dtype is None:
        dtype = np.result_type(dtype_of(m), *(() if y is None else (dtype_of(y),)), np.float64)
    x = _as_rows(m, rowvar, dtype)
    if shape_of(x)[0] == 0:
        return np.array([]).reshape(0, 0)
    if y is not None:
        yr = cast(asarray(y), dtype)
        yr = lax.reshape(yr, (1,) * (2 - len(shape_of(yr))) + shape_of(yr))
        if not rowvar and shape_of(yr)[0] != 1:
            yr = lax.transpose(yr, (1, 0))
        x = lax.concatenate([x, yr], 0)
    if ddof is None:
        ddof = 0 if bias else 1
    w, aweights = _weights(fweights, aweights, shape_of(x)[1])
    avg, w_sum = red.average(x, axis=1, weights=w, returned=True)
    w_sum = lax.index_in_dim(w_sum, 0, 0, keepdims=False)
    if w is None:
        fact = builtins.max(shape_of(x)[1] - ddof, 0.0)
    elif ddof == 0:
        fact = w_sum
    elif aweights is None:
        fact = uf.subtract(w_sum, ddof)
    else:
        fact = uf.subtract(w_sum, uf.true_divide(uf.multiply(ddof, red.sum(uf.multiply(
            w, aweights))), w_sum))
    if isinstance(fact, Tracer):   # NumPy: no degrees of freedom divide by zero
        fact = uf.maximum(fact, 0.0)
    x = cast(uf.subtract(x, lax.expand_dims(avg, (1,))), dtype_of(x))   # (in place in NumPy)
    xw = uf.conj(x if w is None else uf.multiply(x, w))
    x, xw = promote(x, xw)
    c = lax.dot_general(x, xw, (((1,), (1,)), ((), ())))
    with np.errstate(divide="ignore", invalid="ignore"):   # (NumPy scales c in place)
        c = cast(uf.multiply(c, uf.true_divide(1, fact)), dtype_of(c))
    return lax.reshape(c, tuple(d for d in shape_of(c) if d != 1))


def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """Like ``numpy.corrcoef``: ``cov`` normalised by the standard deviations, clipped to
    ``[-1, 1]`` (real and imaginary parts).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> x = np.array([0.0, 1.0, 2.0])
    >>> fnp.corrcoef(x, 2 * x + 1).round(6)
    array([[1., 1.],
           [1., 1.]])
    """
    if not is_traced(x, y):
        return np.corrcoef(x, y, rowvar, dtype=dtype)
    c = cov(x, y, rowvar, dtype=dtype)
    if len(shape_of(c)) != 2:   # one variable: NumPy's c / c
        return uf.true_divide(c, c)
    d = lax.real(_linalg.diagonal(c)) if dtype_of(c).kind == "c" else _linalg.diagonal(c)
    std = uf.sqrt(d)
    c = uf.true_divide(c, lax.expand_dims(std, (1,)))
    c = uf.true_divide(c, lax.expand_dims(std, (0,)))
    if dtype_of(c).kind == "c":
        return lax.complex(el.clip(lax.real(c), -1, 1), el.clip(lax.imag(c), -1, 1))
    return el.clip(c, -1, 1)


__all__ = ["median", "nanmedian", "quantile", "percentile", "nanquantile", "nanpercentile",
           "cov", "corrcoef"]
accept_traced_sequences_in(globals())
