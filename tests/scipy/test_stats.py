"""fad.scipy.stats against scipy.stats: log densities, densities and CDFs (values and
shapes, with loc/scale, invalid parameters giving NaN and points off the support -inf),
derivatives against finite differences, stable derivatives in the tails, vmap against a
loop, jit against eager."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.stats as sst   # a test oracle only
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
from fad.scipy import stats
from fad.test_util import check_grads, check_vmap

SETTINGS = settings(max_examples=10, deadline=None)
RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)   # SciPy's divide-by-zero warnings
        yield


def agree(dist, fn, *args, rtol=1e-12, **kw):
    got = np.asarray(getattr(getattr(stats, dist), fn)(*args, **kw))
    want = np.asarray(getattr(getattr(sst, dist), fn)(*args, **kw))
    assert got.shape == want.shape, (dist, fn, got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-300, equal_nan=True,
                               err_msg=f"{dist}.{fn}")
    jitted = fad.jit(lambda *a: getattr(getattr(stats, dist), fn)(*a, **kw))(*args)
    np.testing.assert_allclose(jitted, got, rtol=1e-14, atol=1e-300, equal_nan=True)


X = np.concatenate([RNG.standard_normal(12) * 3, [0.0, -40.0, 40.0, np.inf, -np.inf]])
SCALES = np.array([[1.0], [2.5], [0.0], [-1.0]])   # the last two are invalid: NaN


@SETTINGS
@given(x=st.lists(st.floats(-30, 30), min_size=1, max_size=5), loc=st.floats(-3, 3),
       scale=st.floats(0.1, 10))
def test_norm_hypothesis(x, loc, scale):
    x = np.array(x)
    for fn in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"):
        agree("norm", fn, x, loc, scale)
    q = sst.norm.cdf(x)
    agree("norm", "ppf", q, loc, scale)
    agree("norm", "isf", q, loc, scale)


@pytest.mark.parametrize("fn", ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"])
def test_norm_edges(fn):
    agree("norm", fn, X)
    agree("norm", fn, X, 0.5, SCALES)
    check_grads(lambda x, loc, scale: getattr(stats.norm, fn)(x, loc, scale),
                (X[:5], 0.3, 1.5), order=2)
    check_vmap(lambda x: getattr(stats.norm, fn)(x, 1.0, 2.0), (X[:5],))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for v in (1e3, -1e3, 50.0, -50.0, 0.0):
            assert np.isfinite(fad.grad(getattr(stats.norm, fn))(v)) or fn == "pdf"


def test_norm_quantiles():
    q = np.array([0.0, 1e-300, 1e-10, 0.3, 0.5, 0.9, 1.0])
    agree("norm", "ppf", q, 1.0, 2.0)
    agree("norm", "isf", q, 1.0, SCALES)
    check_grads(lambda q, s: stats.norm.ppf(q, 0.5, s), (np.array([0.05, 0.3, 0.9]), 1.7),
                order=2)


def test_t():
    df = np.array([[0.5], [3.0], [30.0], [np.inf], [-1.0]])
    agree("t", "logpdf", X[:12], df)
    agree("t", "pdf", X[:12], df, 1.0, 2.0)
    agree("t", "logpdf", X[:4], 4.0, 0.0, SCALES)
    check_grads(lambda x, d, s: stats.t.logpdf(x, d, 0.5, s), (X[:5], 4.0, 1.3), order=2)
    check_vmap(lambda d: stats.t.logpdf(X[:4], d), (np.array([1.0, 5.0]),))


def test_gamma():
    x = np.concatenate([np.abs(X[:12]), [0.0, -1.0]])
    a = np.array([[0.5], [1.0], [2.5], [-1.0]])
    agree("gamma", "logpdf", x, a)
    agree("gamma", "pdf", x, a, 0.1, 2.0)
    agree("gamma", "logpdf", x, 2.0, 0.0, SCALES)
    check_grads(lambda x, a, s: stats.gamma.logpdf(x, a, scale=s), (x[:5] + 0.1, 2.5, 2.0),
                order=2)


def test_beta():
    x = np.array([0.0, 0.1, 0.5, 0.99, 1.0, 1.5, -0.1])
    a = np.array([[0.5], [1.0], [2.5], [-1.0]])
    b = np.array([[2.0], [0.5], [1.0], [3.0]])
    agree("beta", "logpdf", x, a, b)
    agree("beta", "pdf", x, 2.0, 3.0, -0.1, 1.5)
    check_grads(lambda x, a, b: stats.beta.logpdf(x, a, b), (x[1:4], 2.5, 1.5), order=2)


def test_poisson():
    k = np.array([0, 1, 2, 5, 1.5, -1, 30])
    mu = np.array([[0.0], [0.5], [4.0], [-1.0]])
    agree("poisson", "logpmf", k, mu)
    agree("poisson", "pmf", k, mu, 1)
    check_grads(lambda mu: stats.poisson.logpmf(k[:4], mu), (2.5,), order=2)
    check_vmap(lambda mu: stats.poisson.pmf(k, mu), (np.array([0.5, 3.0]),))


def test_bernoulli():
    k = np.array([0, 1, 2, 0.5, -1])
    p = np.array([[0.0], [0.3], [1.0]])
    for fn in ("logpmf", "pmf", "cdf", "logcdf"):
        agree("bernoulli", fn, k, p)
    agree("bernoulli", "logpmf", k, 1.5)   # invalid p: NaN
    check_grads(lambda p: stats.bernoulli.logpmf(k[:2], p), (0.3,), order=2)
    check_grads(lambda p: stats.bernoulli.cdf(k, p), (0.3,), order=2)


def test_dirichlet():
    alpha = np.array([1.0, 2.0, 3.0])
    x = np.array([[0.2, 0.1], [0.3, 0.4], [0.5, 0.5]])
    agree("dirichlet", "logpdf", x, alpha)
    agree("dirichlet", "pdf", x[:, 0], alpha)
    agree("dirichlet", "logpdf", x[:2, 0], alpha)     # K - 1 components
    check_grads(stats.dirichlet.logpdf, (x[:2], alpha), order=2)
    check_vmap(lambda a: stats.dirichlet.logpdf(x[:, 0], a), (np.stack([alpha, alpha + 1]),))
    for bad_x, bad_a, match in ((x + 0.1, alpha, "simplex"), (x, -alpha, "greater than 0"),
                                (x[:1], alpha, "same number of entries")):
        with pytest.raises(ValueError, match=match):
            stats.dirichlet.logpdf(bad_x, bad_a)
    # abstract values cannot be checked: off the simplex is -inf, as in JAX
    assert fad.jit(stats.dirichlet.logpdf)(x[:, 0] + 0.1, alpha) == -np.inf


MEAN = np.array([0.5, -1.0])
COV = np.array([[2.0, 0.3], [0.3, 1.0]])
PTS = RNG.standard_normal((4, 2))


@pytest.mark.parametrize("args", [(PTS, MEAN, COV), (PTS[0], MEAN, COV),
                                  (PTS, MEAN, np.array([1.0, 2.0])), (PTS, None, COV),
                                  (PTS[:, 0], 0.5, 2.0), (0.3, 0.5, 2.0), (PTS, MEAN, 2.0)],
                         ids=["matrix", "one point", "diagonal", "no mean", "1-d points",
                              "scalar", "scalar cov"])
def test_multivariate_normal(args):
    agree("multivariate_normal", "logpdf", *args)
    agree("multivariate_normal", "pdf", *args)


def test_multivariate_normal_singular_and_derivatives():
    singular = np.array([[1.0, 1.0], [1.0, 1.0]])
    agree("multivariate_normal", "logpdf", PTS, MEAN, singular, allow_singular=True)
    pts = np.array([[1.0, 1.5], [0.2, -0.3]])     # on and off the support
    agree("multivariate_normal", "logpdf", pts, MEAN, singular, allow_singular=True)
    agree("multivariate_normal", "logpdf", PTS, MEAN, COV, allow_singular=True)
    check_grads(stats.multivariate_normal.logpdf, (PTS, MEAN, COV), order=2)
    check_grads(lambda x, m: stats.multivariate_normal.logpdf(x, m, COV, allow_singular=True),
                (PTS, MEAN), order=2)
    check_vmap(lambda m: stats.multivariate_normal.logpdf(PTS, m, COV), (np.stack([MEAN,
                                                                                 -MEAN]),))
    assert np.all(np.isfinite(fad.grad(lambda x: stats.multivariate_normal.logpdf(
        x, MEAN, singular, allow_singular=True).sum())(pts)))


@pytest.mark.parametrize("dist,fn,args", [
    ("norm", "logpdf", ()), ("norm", "pdf", ()), ("norm", "cdf", ()), ("norm", "logsf", ()),
    ("norm", "ppf", ()), ("t", "logpdf", (3.0,)), ("gamma", "logpdf", (2.0,)),
    ("beta", "logpdf", (2.0, 3.0))])
def test_stats_default_loc_scale_keep_float32(dist, fn, args):
    """The Python-int defaults loc=0, scale=1 adopt the arguments' dtype (NEP 50), so
    float32 arguments give float32 results eagerly and under jit."""
    x = np.array([0.2, 0.45, 0.7], np.float32)
    params = tuple(np.float32(p) for p in args)
    f = getattr(getattr(stats, dist), fn)
    want = getattr(getattr(sst, dist), fn)(x.astype(np.float64), *args)
    for got in (f(x, *params), fad.jit(f)(x, *params)):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # Python scalars alone still compute in float64
    assert np.asarray(stats.norm.logpdf(0.5)).dtype == np.float64
    assert np.asarray(stats.norm.logpdf(np.array([1, 2]))).dtype == np.float64
