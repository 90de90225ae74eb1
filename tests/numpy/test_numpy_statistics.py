"""fad.numpy's statistics: the NaN-ignoring reductions, NumPy's order of complex numbers in
max/min/argmax/argmin, median/quantile/percentile (every method, NaN forms), average,
cov/corrcoef, real_if_close/iscomplex/isreal.

Oracles: NumPy for values and dtypes (staged, type-checked: check_matches_numpy), finite
differences for derivatives, a Python loop for vmap, eager evaluation for jit.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad.errors import ConcretizationTypeError
from fad.test_util import check_grads, check_matches_numpy, check_vmap

SETTINGS = settings(max_examples=10, deadline=None)
RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4, 5))
XN = X.copy()
XN[0, 1, 2] = np.nan
XN[1, :, 3] = np.nan           # an all-NaN slice along axis 1


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)   # NumPy's all-NaN slice warnings
        yield


@st.composite
def arrays_with_nans(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    x[rng.random(shape) < 0.3] = np.nan
    axis = draw(st.sampled_from([None] + list(range(-len(shape), len(shape)))))
    return x, axis


# -- NaN-ignoring reductions --------------------------------------------------------------------

NAN_REDUCTIONS = ["nansum", "nanprod", "nanmax", "nanmin", "nanmean", "nanvar", "nanstd",
                  "nanmedian"]


@SETTINGS
@given(data=arrays_with_nans(), keepdims=st.booleans())
def test_nan_reductions_match_numpy(data, keepdims):
    x, axis = data
    for name in NAN_REDUCTIONS:
        check_matches_numpy(lambda a: getattr(fnp, name)(a, axis=axis, keepdims=keepdims), x)
    for name in ("nancumsum", "nancumprod"):
        check_matches_numpy(lambda a: getattr(fnp, name)(a, axis=axis), x)


@pytest.mark.parametrize("name", NAN_REDUCTIONS + ["nancumsum", "nancumprod"])
@pytest.mark.parametrize("dtype", [np.float32, np.int16, np.complex128, np.bool_])
def test_nan_reduction_dtypes(name, dtype):
    x = (X * 3).astype(dtype) if dtype != np.complex128 else XN + 1j * X
    kw = {"ddof": 1} if name in ("nanvar", "nanstd") else {}
    check_matches_numpy(lambda a: getattr(fnp, name)(a, axis=1, **kw), x)


def test_nan_reductions_grads_are_zero_at_nans():
    x = XN[0]
    nan = np.isnan(x)
    for name in ("nansum", "nanmean", "nanvar", "nanmax", "nanprod", "nanmedian"):
        g = fad.grad(lambda a: getattr(fnp, name)(a))(x)
        assert np.all(g[nan] == 0) and np.all(np.isfinite(g)), name
        check_grads(lambda a: getattr(fnp, name)(a, axis=1), (x,), order=2)
    check_grads(lambda a: fnp.nancumsum(a, axis=0), (x,), order=2)
    check_grads(lambda a: fnp.nancumprod(a, axis=1), (x,), order=2)


def test_nanargmax_all_nan_slices():
    check_matches_numpy(lambda a: fnp.nanargmax(a, axis=1), XN[0])
    check_matches_numpy(lambda a: fnp.nanargmin(a), XN)
    with pytest.raises(ValueError, match="All-NaN slice"):
        fnp.nanargmax(XN, axis=1)
    with pytest.raises(ValueError, match="All-NaN slice"):   # known values under grad
        fad.grad(lambda a: fnp.sum(a) + fnp.nanargmax(a, axis=1).sum())(XN)
    out = fad.jit(lambda a: fnp.nanargmax(a, axis=1))(XN)   # abstract: -1, as in JAX
    assert out[1, 3] == -1 and np.array_equal(np.delete(out[1], 3), np.nanargmax(
        np.delete(XN[1], 3, axis=1), axis=0))


def test_nan_reductions_vmap_and_jit():
    for name in ("nanmean", "nanmax", "nanvar", "nanmedian"):
        fn = getattr(fnp, name)
        check_vmap(lambda a: fn(a, axis=0), (XN,), in_axes=2)
        np.testing.assert_allclose(fad.jit(lambda a: fn(a, axis=1))(XN), fn(XN, axis=1),
                                   equal_nan=True)


# -- complex order ------------------------------------------------------------------------------

COMPLEX = np.array([[1 + 1j, 1 + 3j, 1 + 3j, 0 + 5j], [1 - 2j, -1 + 0j, 2 - 7j, 2 - 8j]])
COMPLEX_NAN = np.array([1 + 1j, complex(0, np.nan), complex(np.nan, 1), 2 + 0j])


@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin", "nanmax", "nanmin",
                                  "nanargmax", "nanargmin", "ptp"])
def test_complex_order_matches_numpy(name):
    fn = getattr(fnp, name)
    for axis in (None, 0, 1):
        check_matches_numpy(lambda a: fn(a, axis=axis), COMPLEX)
        check_matches_numpy(lambda a: fn(a, axis=axis, keepdims=True), COMPLEX)
    check_matches_numpy(fn, COMPLEX_NAN)
    check_matches_numpy(lambda a: fn(a[None], axis=1), COMPLEX_NAN)


def test_complex_median():
    z = np.array([[1 + 2j, 0 - 1j, 1 + 0j, 3 + 3j], [2 + 2j, complex(np.nan, 1), 1, 0]])
    check_matches_numpy(lambda a: fnp.median(a, axis=1), z)
    check_matches_numpy(lambda a: fnp.nanmedian(a, axis=1, keepdims=True), z)
    check_grads(fnp.median, (z[0],), order=2)


def test_complex_extremum_derivative_goes_to_the_winner():
    z = np.array([1 + 1j, 1 + 3j, 1.5 - 3j, 0 + 5j])
    check_grads(fnp.max, (z,), order=2)
    check_grads(lambda a: fnp.min(a.reshape(2, 2), axis=0), (z,), order=2)
    g = fad.grad(lambda a: fnp.real(fnp.max(a)))(z)
    np.testing.assert_array_equal(g, [0, 0, 1, 0])
    check_vmap(lambda a: fnp.argmax(a), (COMPLEX,))


# -- median and quantiles -----------------------------------------------------------------------

METHODS = ["linear", "lower", "higher", "nearest", "midpoint", "hazen", "weibull",
           "median_unbiased", "normal_unbiased", "interpolated_inverted_cdf", "inverted_cdf",
           "averaged_inverted_cdf", "closest_observation"]
QS = [0.3, 0, 1, np.array([0.0, 0.25, 0.5, 1.0]), np.float32(0.7),
      np.array([[0.1, 0.9], [0.5, 0.6]])]


@pytest.mark.parametrize("method", METHODS)
def test_quantile_methods_match_numpy(method):
    for q in QS:
        for axis in (None, 1, (0, 2)):
            check_matches_numpy(lambda a: fnp.quantile(a, q, axis=axis, method=method), X)
            if np.ndim(q) == 2 and axis == (0, 2):
                continue   # NumPy's nanquantile misplaces 2-D q's axes for tuple axes
            check_matches_numpy(lambda a: fnp.nanquantile(a, q, axis=axis, method=method,
                                                          keepdims=True), XN)
        check_matches_numpy(lambda a: fnp.quantile(a, q, axis=1, method=method), XN)


@SETTINGS
@given(data=arrays_with_nans(), keepdims=st.booleans(),
       q=st.sampled_from([0.5, 0.01, np.array([0.2, 0.8])]))
def test_order_statistics_hypothesis(data, keepdims, q):
    x, axis = data
    check_matches_numpy(lambda a: fnp.median(a, axis=axis, keepdims=keepdims), x)
    check_matches_numpy(lambda a: fnp.nanpercentile(a, np.multiply(q, 100), axis=axis,
                                                    keepdims=keepdims), x)
    dense = np.nan_to_num(x, nan=0.25)
    check_matches_numpy(lambda a: fnp.percentile(a, np.multiply(q, 100), axis=axis,
                                                 keepdims=keepdims), dense)


@pytest.mark.parametrize("dtype", [np.int32, np.float32, np.uint8])
def test_quantile_dtypes(dtype):
    x = (np.abs(X) * 3).astype(dtype)
    check_matches_numpy(lambda a: fnp.median(a, axis=1), x)
    for method in ("linear", "lower", "midpoint", "nearest"):
        check_matches_numpy(lambda a: fnp.quantile(a, 0.3, axis=1, method=method), x)
        check_matches_numpy(lambda a: fnp.quantile(a, np.array([0.3, 0.5]), method=method), x)


def test_traced_q_values_and_derivatives():
    q = np.array([0.13, 0.47, 0.91])   # (no kink of a piecewise linear quantile nearby)
    for method in ("linear", "lower", "midpoint", "hazen", "nearest"):
        check_matches_numpy(lambda a, q: fnp.quantile(a, q, axis=1, method=method), X, q)
        check_matches_numpy(lambda a, q: fnp.nanquantile(a, q, axis=1, method=method), XN, q)
    check_grads(lambda q: fnp.quantile(X, q, axis=1), (q,), order=2)
    check_grads(lambda q: fnp.nanpercentile(XN[0], q, axis=1), (q * 100,), order=2)


def test_order_statistics_derivatives():
    q = np.array([0.1, 0.5, 0.93])
    for method in ("linear", "lower", "midpoint", "weibull"):
        check_grads(lambda a: fnp.quantile(a, q, axis=1, method=method), (X,), order=2)
        check_grads(lambda a: fnp.nanquantile(a, q, axis=1, method=method), (XN[0],), order=2)
    check_grads(lambda a: fnp.median(a, axis=(0, 2)), (X,), order=2)
    check_grads(lambda a: fnp.nanmedian(a, axis=1), (XN[0],), order=2)
    # the derivative goes to the middle elements
    x = np.array([4.0, 1.0, 3.0, 2.0])
    np.testing.assert_array_equal(fad.grad(fnp.median)(x), [0, 0, 0.5, 0.5])
    np.testing.assert_allclose(fad.grad(lambda a: fnp.quantile(a, 0.5))(x[:3]), [0, 0, 1])


def test_order_statistics_vmap_and_jit():
    q = np.array([0.2, 0.7])
    check_vmap(lambda a: fnp.quantile(a, q, axis=0), (X,))
    check_vmap(lambda a: fnp.nanquantile(a, q), (XN,))
    check_vmap(lambda a, q: fnp.quantile(a, q), (X, np.array([0.1, 0.5, 0.9])))
    check_vmap(lambda a: fnp.median(a), (XN,), in_axes=1)
    for fn in (lambda a: fnp.percentile(a, [10, 50], axis=1),
               lambda a: fnp.nanmedian(a, axis=1, keepdims=True)):
        np.testing.assert_allclose(fad.jit(fn)(XN), fn(XN), equal_nan=True)


def test_quantile_errors():
    with pytest.raises(ValueError, match="Quantiles must be in the range"):
        fad.jit(lambda a: fnp.quantile(a, 1.5))(X)
    with pytest.raises(ValueError, match="Percentiles must be in the range"):
        fad.jit(lambda a: fnp.percentile(a, -1))(X)
    with pytest.raises(ValueError, match="not a valid method"):
        fad.jit(lambda a: fnp.quantile(a, 0.5, method="cubic"))(X)
    with pytest.raises(TypeError, match="real numbers"):
        fad.jit(lambda a: fnp.quantile(a, 0.5))(COMPLEX)
    with pytest.raises(TypeError, match="weights="):
        fad.jit(lambda a: fnp.quantile(a, 0.5, method="inverted_cdf", weights=a))(X)


# -- average, cov, corrcoef ---------------------------------------------------------------------

M = RNG.standard_normal((3, 6))
Y = RNG.standard_normal((2, 6))
FW = np.array([1, 2, 1, 3, 1, 1])
AW = RNG.uniform(0.5, 2.0, 6)


def test_average_weights_returned():
    check_matches_numpy(lambda a, w: fnp.average(a, axis=1, weights=w), M, AW)
    check_matches_numpy(lambda a, w: fnp.average(a, axis=1, weights=w, returned=True), M, AW)
    check_matches_numpy(lambda a: fnp.average(a, returned=True), M)
    check_grads(lambda a, w: fnp.average(a, axis=1, weights=w), (M, AW), order=2)


@pytest.mark.parametrize("kwargs", [{}, {"bias": True}, {"ddof": 2}, {"fweights": FW},
                                    {"rowvar": False}, {"dtype": np.float32}])
def test_cov_matches_numpy(kwargs):
    m = M.T if kwargs.get("rowvar") is False else M
    check_matches_numpy(lambda m: fnp.cov(m, **kwargs), m)
    check_matches_numpy(lambda m, y: fnp.cov(m, y, **kwargs), m, Y.T if "rowvar" in kwargs else Y)
    check_matches_numpy(lambda m, w: fnp.cov(m, aweights=w, **kwargs), m, AW)


def test_cov_corrcoef_shapes_and_complex():
    for m in (M[0], M + 1j * Y[:1], M.astype(np.float32), M.astype(np.int32)):
        check_matches_numpy(fnp.cov, m)
        check_matches_numpy(fnp.corrcoef, m)
    check_matches_numpy(fnp.corrcoef, M, Y)


def test_cov_corrcoef_derivatives_vmap_jit():
    check_grads(fnp.cov, (M,), order=2)
    check_grads(lambda m, w: fnp.cov(m, aweights=w), (M, AW), order=2)
    check_grads(fnp.corrcoef, (M,), order=2)
    check_vmap(fnp.cov, (np.stack([M, 2 * M + 1]),))
    np.testing.assert_allclose(fad.jit(fnp.corrcoef)(M, Y), np.corrcoef(M, Y))


def test_cov_errors():
    with pytest.raises(ValueError, match="more than 2 dimensions"):
        fad.jit(fnp.cov)(X)
    with pytest.raises(TypeError, match="fweights must be integer"):
        fad.grad(lambda w: fnp.cov(M, fweights=w).sum())(FW + 0.5)
    with pytest.raises(ValueError, match="incompatible numbers of samples"):
        fad.jit(lambda w: fnp.cov(M, aweights=w))(AW[:3])


# -- real_if_close, iscomplex, isreal -----------------------------------------------------------

def test_complex_predicates():
    for v in (np.array([1 + 1e-16j, 2 + 0j]), COMPLEX, np.array([1.0, 2.0]), np.array(3)):
        check_matches_numpy(fnp.iscomplex, v)
        check_matches_numpy(fnp.isreal, v)
    check_vmap(fnp.iscomplex, (COMPLEX,))


def test_real_if_close():
    z = np.array([1 + 1e-16j, 2 + 0j])
    np.testing.assert_array_equal(fnp.real_if_close(z), np.real_if_close(z))
    g = fad.grad(lambda x: fnp.real_if_close(x * (1 + 0j)).sum())(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(g, [1.0, 1.0])
    assert fad.jvp(fnp.real_if_close, (COMPLEX,), (COMPLEX,))[0].dtype == np.complex128
    with pytest.raises(ConcretizationTypeError, match="fad.numpy.real"):
        fad.jit(fnp.real_if_close)(z)
    x = np.array([1.0, 2.0])
    assert fad.jit(fnp.real_if_close)(x).dtype == np.float64
