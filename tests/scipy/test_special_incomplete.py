"""The incomplete gamma and beta functions (fad.scipy.special.gammainc, gammaincc,
betainc: the primitives of fad.scipy._incomplete) and the distributions' CDFs built on
them, against SciPy (hypothesis grids and the domain's edges), against reference values
computed with mpmath at 40 digits where SciPy itself is off, derivatives against finite
differences and against exact reference derivatives, vmap against a loop, jit and staged
jaxprs against eager evaluation."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.special as sps   # a test oracle only
import scipy.stats as sst
from hypothesis import example, given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
import fad.scipy._incomplete as incomplete
import fad.scipy.stats as fst
from fad.scipy import special
from fad.test_util import check_grads, check_jaxpr, check_vmap

SETTINGS = settings(max_examples=15, deadline=None)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)   # (SciPy's, at the edges)
        yield


def close(got, want, rtol, atol=1e-300, dtype=np.float64):
    assert np.asarray(got).dtype == dtype, (np.asarray(got).dtype, dtype)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)


def in_float32(ref, *args):
    """SciPy's float64 result at float32 arguments, rounded to float32: what fad computes
    (SciPy's own float32 betainc computes in single precision)."""
    return ref(*(np.float64(a) for a in args)).astype(np.float32)


logs = st.floats(-3, 4)
spreads = st.floats(-2, 2)


# -- values --------------------------------------------------------------------------------------

@SETTINGS
@given(st.lists(st.tuples(logs, spreads), min_size=1, max_size=8))
def test_gamma_values_match_scipy(points):
    # x within a few standard deviations of a, and far from it
    a = np.array([10.0 ** la for la, _ in points])
    spread = np.array([s for _, s in points])
    x = np.concatenate([a * np.exp(spread / np.sqrt(np.maximum(a, 1))), a * np.exp(2 * spread)])
    a = np.concatenate([a, a])
    # (SciPy's own error grows in the far tails of large a: at a = 10**3.625, x = a e^0.5,
    # Q = 4.0468277743862e-275 (mpmath), fad 4.0468277743868e-275, SciPy 4.0468277744110e-275)
    large = a >= 1e3
    for ours, scipys in ((special.gammainc, sps.gammainc), (special.gammaincc, sps.gammaincc)):
        got, want = ours(a, x), scipys(a, x)
        close(got[~large], want[~large], rtol=5e-12)
        close(got[large], want[large], rtol=5e-11)
    a32, x32 = a.astype(np.float32), x.astype(np.float32)
    close(special.gammainc(a32, x32), in_float32(sps.gammainc, a32, x32), 1e-7, 1e-38,
          np.float32)
    close(special.gammaincc(a32, x32), in_float32(sps.gammaincc, a32, x32), 1e-7, 1e-38,
          np.float32)


@SETTINGS
# (x not subnormal: there SciPy's betainc is off by ~1%, and mpmath agrees with fad's —
# e.g. a = 0.1, b = 10, x = 5e-324: 6.1526e-33, SciPy 6.2001e-33)
@given(st.lists(st.tuples(st.floats(-2, 4), st.floats(-2, 4),
                          st.one_of(st.just(0.0), st.floats(1e-300, 1)), spreads),
                min_size=1, max_size=8))
def test_beta_values_match_scipy(points):
    a = np.array([10.0 ** p[0] for p in points])
    b = np.array([10.0 ** p[1] for p in points])
    mean, sd = a / (a + b), np.sqrt(a * b / (a + b) ** 2 / (a + b + 1))
    near = np.clip(mean + sd * np.array([p[3] for p in points]), 1e-300, 1 - 1e-16)
    a, b = np.concatenate([a, a]), np.concatenate([b, b])
    x = np.concatenate([np.array([p[2] for p in points]), near])
    close(special.betainc(a, b, x), sps.betainc(a, b, x), rtol=1e-11)
    close(special.betainc(b, a, 1 - x), sps.betainc(b, a, 1 - x), rtol=1e-11)
    close(special.betaincc(a, b, x), sps.betaincc(a, b, x), rtol=1e-11)
    a32, b32, x32 = (v.astype(np.float32) for v in (a, b, x))
    close(special.betainc(a32, b32, x32), in_float32(sps.betainc, a32, b32, x32), 1e-7, 1e-38,
          np.float32)


# (a, x, P, Q) and (a, b, x, I), by mpmath at 40 digits (for a >= 1e12 by quadrature of
# the integral at 70): tiny and huge parameters, deep tails, points where SciPy's gammainc
# is off by 2e-10 (a = 1.9e6), and where one shape parameter dwarfs the other
GAMMA_REFERENCE = [
    (1e-300, 1e-300, 1.0, 6.901983122333122e-298),
    (0.01, 0.5, 0.9943732438060329, 0.0056267561939671844),
    (0.5, 30.0, 0.9999999999999906, 9.485737571073848e-15),
    (25.0, 100.0, 1.0, 7.857610724654743e-20),
    (1500.0, 1480.0, 0.3049926190158563, 0.6950073809841437),
    (1926265.8770990986, 1919979.9125891575, 2.896380555111966e-06, 0.9999971036194449),
    (1000000.0, 1005000.0, 0.999999701250986, 2.987490140114635e-07),
    (100000000.0, 99990000.0, 0.15865525352814383, 0.8413447464718562),
    (1e12, 1000005000000.0, 0.9999997133365342, 2.866634658372596e-07),
    (1e20, 1.000000001e+20, 1.0, 7.619806002612024e-24),    # (SciPy: off by 1e-11)
]
BETA_REFERENCE = [
    (100000000.0, 3.0, 0.99999996, 0.23810328827902855),
    (3.0, 100000000.0, 4e-08, 0.7618967120294688),
    (100.0, 0.01, 0.9959808969495466, 0.0070372789523431905),
    (0.01, 0.02, 0.3, 0.6611784272511073),
]


def test_reference_values():
    a, x, p, q = map(np.array, zip(*GAMMA_REFERENCE))
    close(special.gammainc(a, x), p, rtol=5e-14)
    close(special.gammaincc(a, x), q, rtol=5e-14)
    a, b, x, i = map(np.array, zip(*BETA_REFERENCE))
    close(special.betainc(a, b, x), i, rtol=5e-14)


def test_tiny_parameters_keep_the_complement():
    # 1 - x^a for b = 1: the complement near 0 to full relative precision, not 1 - (1 - e)
    a, x = np.array([1e-300, 1e-12, 1e-5]), np.array([0.25, 1e-300, 0.5])
    close(special.betaincc(a, 1.0, x), -np.expm1(a * np.log(x)), rtol=1e-14)
    y = np.array([0.75, 0.5, 1e-3])
    close(special.betainc(1.0, a, y), -np.expm1(a * np.log1p(-y)), rtol=1e-14)
    close(special.gammaincc(1e-300, 1e-300), 6.901983122333122e-298, rtol=1e-14)


def test_huge_parameters():
    # Temme's expansion around x = a (no O(sqrt(a)) iteration): P(a, a) -> 1/2 + 1/(3
    # sqrt(2 pi a)); float32's largest parameters too
    a = np.array([1e12, 1e20, 3e38])
    close(special.gammainc(a, a), 0.5 + 1 / (3 * np.sqrt(2 * np.pi * a)), rtol=1e-15)
    assert special.gammainc(np.float32(3e38), np.float32(3e38)) == np.float32(0.5)


EDGES = np.array([0.0, 1e-300, 0.5, 1.0, 2.0, 1e5, np.inf, -1.0, np.nan])


def test_edges_match_scipy():
    # exactly at the special values (0, inf, NaN, negative), closely elsewhere
    a, x = (g.ravel() for g in np.meshgrid(EDGES, EDGES))
    special_at = ~np.isin(a, EDGES[1:6]) | ~np.isin(x, EDGES[1:6])
    for name in ("gammainc", "gammaincc"):
        got, want = getattr(special, name)(a, x), getattr(sps, name)(a, x)
        np.testing.assert_array_equal(got[special_at], want[special_at], err_msg=name)
        np.testing.assert_allclose(got, want, rtol=5e-14, atol=1e-300, err_msg=name)
    unit = np.array([0.0, 1e-300, 0.25, 0.5, 1.0, -0.5, 1.5, np.nan])
    a, b, x = (g.ravel() for g in np.meshgrid(EDGES, EDGES, unit))
    special_at = ~np.isin(a, EDGES[1:6]) | ~np.isin(b, EDGES[1:6]) | ~np.isin(x, unit[1:4])
    for name in ("betainc", "betaincc"):   # (5e-13: a = b = 1e5 at x = 1/2)
        got, want = getattr(special, name)(a, b, x), getattr(sps, name)(a, b, x)
        np.testing.assert_array_equal(got[special_at], want[special_at], err_msg=name)
        np.testing.assert_allclose(got, want, rtol=5e-13, atol=1e-300, err_msg=name)


def test_dtypes_and_errors():
    f32, f64 = np.float32(2.0), np.float64(2.0)
    assert special.gammainc(f32, f32).dtype == np.float32
    assert special.betainc(f32, f32, np.float32(0.5)).dtype == np.float32
    assert special.gammaincc(f32, f64).dtype == np.float64
    assert special.gammainc(2, 3).dtype == np.float64
    assert np.shape(special.betainc(np.ones((2, 1)), np.ones(3), 0.5)) == (2, 3)
    assert type(special.gammainc(2.0, 1.0)) is np.float64
    with pytest.raises(TypeError, match="complex"):
        special.gammainc(1 + 1j, 2.0)
    with pytest.raises(TypeError, match="complex"):
        special.betainc(1.0, 2.0, 0.5j)
    with pytest.raises(ValueError, match="broadcast"):
        special.gammainc(np.ones(2), np.ones(3))


# -- derivatives ---------------------------------------------------------------------------------

A = np.array([0.3, 0.01, 2.0, 25.0, 1500.0, 0.7])
X = np.array([0.2, 0.5, 5.0, 20.0, 1490.0, 1.05])    # (series, small x, fraction, Temme...)


@pytest.mark.parametrize("fn", [special.gammainc, special.gammaincc])
def test_gamma_derivatives_against_finite_differences(fn):
    check_grads(fn, (A, X), order=2, atol=1e-5, rtol=1e-5)


def test_beta_derivatives_against_finite_differences():
    a = np.array([0.3, 300.0, 2.5, 3.0, 40.0])
    b = np.array([2.0, 3.0, 300.0, 4.0, 35.0])
    x = np.array([0.2, 0.99, 0.01, 0.6, 0.55])       # (fraction, BGRAT both ways, swap)
    check_grads(special.betainc, (a, b, x), order=2, atol=1e-5, rtol=1e-5)
    check_grads(special.betaincc, (a, b, x), order=1, atol=1e-5, rtol=1e-5)


# (a, x, dP/da, d2P/da2) and (a, b, x, dI/da, dI/db, d2I/da2, d2I/dadb, d2I/db2), mpmath
GAMMA_SLOPES = [
    (0.3, 0.2, -1.0233803072203944, 0.958991143292019),
    (0.01, 0.5, -0.5655459117152578, -0.5677203168932935),
    (0.001, 0.01, -4.023271651801227, 14.63604454504851),
    (0.7, 1.05, -0.40463743235403926, -0.12382715989128444),
    (2.0, 5.0, -0.05585989605253678, -0.052213228055569744),
    (30.0, 20.0, -0.010205257324989506, 0.004150326116724295),
    (1e-05, 2.0, -0.04890203843888691, -0.15277370971913218),
]
BETA_SLOPES = [
    (1000.0, 3.0, 0.997, -0.0006714482795676609, 0.2361851187952039, 6.758172977593228e-07,
     -0.00011940104431122088, -0.0017550770201759703),
    (2.5, 800.0, 0.002, -0.26025503263669303, 0.0006152504765952221, 0.1230664474259305,
     -0.00014229489883687708, -7.921891368407602e-08),
    (0.4, 300.0, 0.0005, -0.9671338448855944, 0.0006060814630698232, 1.3847659299811033,
     0.0004013860450260883, -1.5164901290338547e-06),
    (3.0, 4.0, 0.3, -0.17009430633809858, 0.0962062275230379, 0.08921626719225985,
     -0.032067795257672456, 0.004451195289644726),
    (0.2, 0.3, 0.6, -1.1462574432525057, 0.8878048508978916, 3.948997227329615,
     1.1861069693243536, -3.433745817652208),
]


def test_shape_derivatives_are_exact():
    a, x, d1, d2 = map(np.array, zip(*GAMMA_SLOPES))
    p = lambda a, x: special.gammainc(a, x)
    close(fad.vmap(fad.grad(p))(a, x), d1, rtol=1e-13)
    close(fad.vmap(fad.grad(fad.grad(p)))(a, x), d2, rtol=1e-13)
    close(fad.vmap(fad.grad(lambda a, x: special.gammaincc(a, x)))(a, x), -d1, rtol=1e-13)
    a, b, x, da, db, daa, dab, dbb = map(np.array, zip(*BETA_SLOPES))
    i = lambda a, b: special.betainc(a, b, x)
    hessian = fad.hessian(lambda a, b: fnp.sum(i(a, b)), argnums=(0, 1))(a, b)
    close(fad.grad(lambda a: fnp.sum(i(a, b)))(a), da, rtol=1e-13)
    close(fad.grad(lambda b: fnp.sum(i(a, b)))(b), db, rtol=1e-13)
    for got, want in [(hessian[0][0], daa), (hessian[0][1], dab), (hessian[1][1], dbb)]:
        close(np.diagonal(got), want, rtol=1e-12)


def test_x_derivatives_are_the_densities_to_any_order():
    a, x = 2.5, 1.7
    density = lambda x: x ** (a - 1) * np.exp(-x) / sps.gamma(a)
    assert np.isclose(fad.grad(lambda x: special.gammainc(a, x))(x), density(x), rtol=1e-14)
    third = fad.grad(fad.grad(fad.grad(lambda x: special.gammainc(a, x))))(x)
    assert np.isclose(third, density(x) * (((a - 1) / x - 1) ** 2 - (a - 1) / x ** 2),
                      rtol=1e-12)
    check_grads(lambda x: special.betainc(2.5, 0.7, x), (np.array([0.3, 0.9]),), order=3)
    # mixed: a-derivatives of x-derivatives, closed forms too
    check_grads(lambda a, x: fad.grad(lambda x: fnp.sum(special.gammainc(a, x)))(x),
                (A[:4], X[:4]), order=2, atol=1e-5, rtol=1e-5)


def test_third_shape_derivative_is_refused():
    third = fad.grad(fad.grad(fad.grad(lambda a: special.gammainc(a, 2.0))))
    with pytest.raises(TypeError, match="order 3 or more.*gammainc|gammainc.*order 3"):
        third(1.5)
    with pytest.raises(TypeError, match="betainc"):
        fad.grad(fad.grad(fad.grad(lambda b: special.betainc(2.0, b, 0.3))))(1.5)


def test_derivatives_at_the_edges():
    # constant in a where x is 0 or inf, or a is: 0 (not NaN); x-derivative 0 at inf
    da = fad.vmap(fad.grad(lambda a, x: special.gammainc(a, x)))
    np.testing.assert_array_equal(da(np.array([2.0, 2.0, np.inf]), np.array([0.0, np.inf, 3.0])),
                                  [0.0, 0.0, 0.0])
    assert fad.grad(lambda x: special.gammaincc(2.0, x))(np.inf) == 0.0
    db = fad.vmap(fad.grad(lambda b, x: special.betainc(2.0, b, x)))
    np.testing.assert_array_equal(db(np.array([3.0, 3.0]), np.array([0.0, 1.0])), [0.0, 0.0])
    assert np.isnan(fad.grad(lambda a: special.gammainc(a, 1.0))(0.0))


# -- transformations -----------------------------------------------------------------------------

def test_vmap_matches_a_loop():
    check_vmap(special.gammainc, (A, X))
    check_vmap(special.betainc, (A[:4] + 0.5, np.full(4, 2.0), np.full(4, 0.4)))
    check_vmap(lambda a, x: fad.grad(lambda a: special.gammaincc(a, x))(a), (A, X))
    check_vmap(special.betainc, (np.ones((2, 3)), np.full(2, 2.0), np.full((2, 3), 0.3)),
               in_axes=(1, None, 1))


def test_jit_and_jaxprs_match_eager():
    f = lambda a, b, x: special.betainc(a, b, x) + special.gammainc(a, x * 3)
    args = (A[:4] + 0.5, np.full(4, 2.0), np.full(4, 0.4))
    check_jaxpr(f, args, rtol=0)
    np.testing.assert_array_equal(fad.jit(f)(*args), f(*args))
    g = fad.jit(fad.grad(lambda a: fnp.sum(special.gammaincc(a, X))))
    np.testing.assert_array_equal(g(A), fad.grad(lambda a: fnp.sum(special.gammaincc(
        a, X)))(A))
    assert incomplete.igamma_p in {e.primitive for e in fad.make_jaxpr(
        special.gammainc)(2.0, 1.0).jaxpr.eqns}


# -- the distributions ---------------------------------------------------------------------------

FNS = ("cdf", "sf", "logcdf", "logsf")


# log of the smallest normal float64: a probability below it is subnormal, which SciPy's
# kernels flush to 0 (log -inf) where fad keeps it (poisson.logsf(1.5, 5e-160, 0.5) is
# -734.3 here, -733.6 exactly, -inf in SciPy)
LOG_TINY = np.log(np.finfo(np.float64).tiny)


def agree_stats(dist, args, rtol=1e-10, atol=1e-13):
    for fn in FNS:
        got = np.asarray(getattr(getattr(fst, dist), fn)(*args))
        want = np.asarray(getattr(getattr(sst, dist), fn)(*args))
        if fn.startswith("log"):
            flushed = (want == -np.inf) & (got < LOG_TINY)
            got = np.where(flushed, -np.inf, got)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=f"{dist}.{fn}")


@SETTINGS
@given(x=st.lists(st.floats(-30, 30), min_size=1, max_size=5), df=st.floats(0.3, 200),
       loc=st.floats(-2, 2), scale=st.floats(0.2, 3))
def test_t_matches_scipy(x, df, loc, scale):
    agree_stats("t", (np.array(x), df, loc, scale))


@SETTINGS
@given(x=st.lists(st.floats(-1, 60), min_size=1, max_size=5), a=st.floats(0.05, 50),
       scale=st.floats(0.2, 3))
def test_gamma_matches_scipy(x, a, scale):
    agree_stats("gamma", (np.array(x), a, -0.5, scale))


@SETTINGS
@given(x=st.lists(st.floats(-0.2, 1.2), min_size=1, max_size=5), a=st.floats(0.05, 50),
       b=st.floats(0.05, 50))
def test_beta_matches_scipy(x, a, b):
    agree_stats("beta", (np.array(x), a, b))


@SETTINGS
@given(k=st.lists(st.floats(-3, 60), min_size=1, max_size=5), mu=st.floats(0, 40))
@example(k=[2.0], mu=4.979252049465389e-160)   # (a subnormal sf: SciPy flushes it to 0)
def test_poisson_matches_scipy(k, mu):
    agree_stats("poisson", (np.array(k), mu, 0.5))


def test_distributions_at_the_edges():
    # the tails to full relative precision (where SciPy's logcdf rounds to 0, no test of it)
    np.testing.assert_allclose(fst.t.sf(1e4, 3.0), sst.t.sf(1e4, 3.0), rtol=1e-12)
    np.testing.assert_allclose(fst.gamma.sf(60.0, 2.0), sst.gamma.sf(60.0, 2.0), rtol=1e-12)
    np.testing.assert_allclose(fst.beta.sf(0.9999, 2.0, 3.0), sst.beta.sf(0.9999, 2.0, 3.0),
                               rtol=1e-12)
    np.testing.assert_allclose(fst.poisson.logcdf(30.0, 2.0), -3.769552855325826e-26,
                               rtol=1e-12)
    np.testing.assert_allclose(fst.t.cdf(1.5, np.inf), sst.norm.cdf(1.5), rtol=1e-15)
    inf = np.array([-np.inf, np.inf, np.nan])
    for dist, params in [("t", (3.0,)), ("gamma", (2.0,)), ("beta", (2.0, 3.0)),
                         ("poisson", (2.0,))]:
        for fn in FNS:
            got = getattr(getattr(fst, dist), fn)(inf, *params)
            np.testing.assert_array_equal(got, getattr(getattr(sst, dist), fn)(inf, *params),
                                          err_msg=f"{dist}.{fn}")
    bad = [fst.t.cdf(1.0, -1.0), fst.gamma.sf(1.0, 0.0), fst.beta.logcdf(0.5, 1.0, -2.0),
           fst.poisson.cdf(2.0, -1.0), fst.t.cdf(1.0, 3.0, 0.0, -1.0)]
    assert np.all(np.isnan(bad))
    assert fst.t.cdf(np.float32(0.5), np.float32(3.0)).dtype == np.float32


def test_distribution_derivatives():
    x = np.array([-1.5, 0.3, 2.0])
    check_grads(lambda x, df, loc, scale: fst.t.cdf(x, df, loc, scale),
                (x, np.array([2.5, 7.0, 0.8]), np.array(0.2), np.array(1.3)), order=2)
    check_grads(lambda x, a, scale: fst.gamma.logsf(x, a, 0.0, scale),
                (np.array([0.5, 2.0, 6.0]), np.array([0.7, 2.0, 3.0]), np.array(1.5)), order=2)
    check_grads(lambda x, a, b: fst.beta.logcdf(x, a, b),
                (np.array([0.2, 0.5, 0.9]), np.array([0.7, 2.0, 30.0]), np.array(2.5)), order=2)
    check_grads(lambda mu: fst.poisson.sf(np.array([0.0, 3.0, 7.0]), mu), (np.array(4.0),),
                order=2)


def test_distribution_derivatives_where_formulas_meet():
    # at the centre of t, the slope is the density (no NaN from 0 * inf); below the support
    # the gradients are 0, not NaN; k has none (a step function)
    assert np.isclose(fad.grad(fst.t.cdf)(0.0, 3.0), fst.t.pdf(0.0, 3.0), rtol=1e-14)
    assert np.isclose(fad.grad(fst.t.cdf)(1e-15, 3.0), fst.t.pdf(0.0, 3.0), rtol=1e-14)
    g = fad.grad(lambda x, df: fst.t.logsf(x, df), argnums=(0, 1))(0.0, 3.0)
    assert np.all(np.isfinite(g))
    for f in (lambda x: fst.gamma.cdf(x, 0.5), lambda x: fst.beta.sf(x, 0.5, 0.5)):
        assert fad.grad(f)(-1.0) == 0.0
    assert fad.grad(lambda k: fst.poisson.cdf(k, 2.0))(3.0) == 0.0
    assert np.isclose(fad.grad(lambda mu: fst.poisson.cdf(3.0, mu))(2.0),
                      -sst.poisson.pmf(3, 2.0), rtol=1e-13)
