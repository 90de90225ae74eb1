"""fad.scipy.special (and the primitives of fad.lax.special_functions under it) against
scipy.special: values and dtypes on hypothesis inputs and at the edges (tails, poles,
zeros, NaN, inf), derivatives against finite differences, finite derivatives where the
functions are stable, vmap against a loop, jit and staged jaxprs against eager."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.special as sps   # a test oracle only
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
from fad import lax
from fad.errors import ConcretizationTypeError
from fad.scipy import special
from fad.test_util import check_grads, check_jaxpr, check_matches_numpy, check_vmap

SETTINGS = settings(max_examples=15, deadline=None)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)   # log(0) in derivatives at poles
        yield


def agree(name, *args, rtol=1e-13, atol=1e-300):
    """Values and dtypes as SciPy's. (atol: below ndtr(-37.5), about 1e-307, SciPy's erfc
    underflows to 0 where fad's keeps subnormal values.)"""
    got, want = getattr(special, name)(*args), getattr(sps, name)(*args)
    assert np.asarray(got).dtype == np.asarray(want).dtype, name
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True, err_msg=name)


EDGES = np.array([0.0, -0.0, 1e-300, -1e-300, 0.5, -0.5, 6.0, 6.01, -19.99, -20.0, -20.01,
                  -38.0, -1e3, 50.0, -50.0, 1e3, 30.0, -30.0, 30.0001, np.inf, -np.inf,
                  np.nan])
REAL = ["ndtr", "log_ndtr", "i0e", "i1e", "expit", "log_expit", "erf", "erfc", "gammaln"]


@SETTINGS
# (no subnormal x: 1/x overflows there, and SciPy and math.lgamma disagree on gammaln)
@given(x=st.lists(st.floats(-60, 60, allow_subnormal=False), min_size=1, max_size=6))
def test_real_functions_match_scipy(x):
    x = np.array(x)
    for name in REAL:   # (gammaln: math.lgamma's absolute precision near its roots 1, 2)
        agree(name, x, rtol=1e-12, atol=1e-14 if name == "gammaln" else 1e-300)
    small = x[np.abs(x) < 700]
    agree("i0", small, rtol=1e-12)
    agree("i1", small, rtol=1e-12)
    pos = np.abs(x) + 0.1
    agree("digamma", pos, rtol=1e-12)
    agree("polygamma", 2, pos, rtol=1e-12)
    agree("betaln", pos, pos[::-1] + 0.5, rtol=1e-12)
    agree("entr", x)


@pytest.mark.parametrize("name", REAL + ["i0", "i1"])
def test_edges_and_dtypes(name):
    edges = EDGES[np.abs(EDGES) < 700] if name in ("i0", "i1") else EDGES
    if name == "gammaln":   # (SciPy: gammaln(-inf) = -inf; lax.lgamma: inf, as at the poles)
        edges = edges[edges != -np.inf]
    agree(name, edges)
    agree(name, np.float32(0.3), rtol=2e-6)
    agree(name, np.array([1, 2]))
    agree(name, edges.astype(np.float32), rtol=2e-6)


@SETTINGS
@given(p=st.lists(st.floats(0, 1), min_size=1, max_size=6),
       tiny=st.floats(-320, 0))
def test_inverse_functions_match_scipy(p, tiny):
    p = np.concatenate([p, [10.0 ** tiny, 1 - 1e-16, 0.25, 0.75]])
    agree("ndtri", p)
    agree("erfinv", 2 * p - 1)
    agree("erfcinv", 2 * p)
    agree("logit", p)


def test_inverse_edges():
    y = np.array([-1.0, 1.0, 0.0, 1e-20, -1e-300, 1.5, -2.0, np.nan, 0.5, -0.5])
    agree("erfinv", y)
    agree("ndtri", (y + 1) / 2)
    agree("ndtri", np.array([5e-324, 1e-300, 0.0, 1.0]))
    agree("erfinv", y.astype(np.float32), rtol=2e-6)


def test_xlogy_family():
    x = np.array([0.0, 0.0, 0.0, 1.0, 2.0, -1.5, 0.0])
    y = np.array([0.0, np.nan, -1.0, 0.0, 3.0, 0.5, np.inf])
    agree("xlogy", x, y)
    agree("xlog1py", x, y - 1)
    agree("xlogy", np.float32(2), np.float32(3))
    # JAX's convention: d/dx is log(y); d/dy is x / y, 0 where x == 0 (even at y == 0)
    gx, gy = fad.grad(special.xlogy, argnums=(0, 1))(0.0, 2.0)
    assert (gx, gy) == (np.log(2.0), 0.0)
    assert fad.grad(special.xlogy, argnums=1)(0.0, 0.0) == 0.0
    assert fad.grad(special.xlog1py, argnums=1)(0.0, -1.0) == 0.0
    assert fad.grad(fad.grad(special.xlogy, argnums=1))(0.0, 2.0) == 0.5   # d2/dxdy = 1/y
    for fn in (special.xlogy, special.xlog1py):
        check_grads(fn, (np.array([-0.7, 0.2, 1.3]), np.array([0.4, 1.1, 2.0])), order=2)
        check_vmap(fn, (np.array([0.0, 1.0]), np.array([0.0, 2.0])))
    check_grads(special.entr, (np.array([0.3, 1.2, 4.0]),), order=2)
    assert fad.grad(special.entr)(0.0) == np.inf and fad.grad(special.entr)(-1.0) == 0.0


@pytest.mark.parametrize("name", ["log_ndtr", "ndtr", "expit", "log_expit", "i0e", "i1e"])
def test_stable_derivatives(name):
    fn = getattr(special, name)
    for v in (1e3, -1e3, 50.0, -50.0, 0.0, -20.0, -10.0):
        assert np.isfinite(fad.grad(fn)(v)) and np.isfinite(fad.grad(fad.grad(fn))(v)), v
        assert np.isfinite(fad.grad(fn)(np.float32(v)))


def test_log_ndtr_tails():
    # d/dx log ndtr(x) = pdf / cdf ~ -x for x -> -inf, without overflow or cancellation
    np.testing.assert_allclose(fad.grad(special.log_ndtr)(-1e3), 1e3 / (1 - 1e-6 + 3e-12),
                               rtol=1e-12)
    np.testing.assert_allclose(fad.grad(special.log_ndtr)(30.0),
                               np.exp(-450 - 0.5 * np.log(2 * np.pi)), rtol=1e-12)


@pytest.mark.parametrize("name,x", [
    ("log_ndtr", [-25.0, -15.0, -3.0, -0.4, 0.7, 4.0, 9.0]),
    ("ndtr", [-9.0, -0.4, 0.3, 2.0]), ("i0", [-3.0, 0.4, 2.0]), ("i1", [-3.0, 0.4, 2.0]),
    ("i0e", [-35.0, -3.0, -0.5, 0.3, 2.0, 40.0]), ("i1e", [-35.0, -3.0, -0.5, 0.3, 2.0, 40.0]),
    ("erfinv", [-0.99, -0.7, -0.2, 0.1, 0.6]), ("erfcinv", [0.01, 0.7, 1.3, 1.9]),
    ("ndtri", [0.01, 0.3, 0.5, 0.9]), ("logit", [0.01, 0.4, 0.6, 0.99]),
    ("gammaln", [-2.5, 0.3, 4.0]), ("digamma", [0.3, 4.0]), ("log_expit", [-40.0, 0.0, 3.0]),
])
def test_derivatives(name, x):
    fn = getattr(special, name)
    check_grads(fn, (np.array(x),), order=2)
    check_vmap(fn, (np.array(x),))
    check_matches_numpy(fn, np.array(x))
    np.testing.assert_allclose(fad.jit(fn)(np.array(x)), fn(np.array(x)), rtol=1e-15)


def test_special_values_of_the_derivatives():
    assert fad.grad(special.i1e)(0.0) == 0.5 and fad.grad(special.i0e)(0.0) == 0.0
    np.testing.assert_allclose(fad.grad(special.erfinv)(0.0), np.sqrt(np.pi) / 2)
    np.testing.assert_allclose(fad.grad(special.ndtri)(0.5), np.sqrt(2 * np.pi))


def test_polygamma_and_betaln():
    pos = np.array([0.3, 1.7, 4.0])
    agree("polygamma", np.array([0, 1, 3]), pos[:, None], rtol=1e-12)
    check_grads(lambda x: special.polygamma(1, x), (pos,), order=2)
    check_grads(special.betaln, (pos, pos[::-1] + 0.5), order=2)
    with pytest.raises(ValueError, match="non-negative integers"):
        special.polygamma(-1, pos)
    with pytest.raises(ConcretizationTypeError, match="order n must be concrete"):
        fad.jit(special.polygamma)(1, pos)


def test_logsumexp_b_and_sign():
    x = np.random.default_rng(0).standard_normal((3, 4))
    b = np.array([1.0, -2.0, 0.5, 0.0])
    for axis in (None, 0, 1):
        got = special.logsumexp(x, axis=axis, b=b, return_sign=True)
        want = sps.logsumexp(x, axis=axis, b=b, return_sign=True)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-13)
        np.testing.assert_array_equal(got[1], want[1])
    check_grads(lambda x: special.logsumexp(x, axis=1, b=b, return_sign=True)[0], (x,),
                order=2)


def test_primitives_jaxpr_and_vmap():
    x = np.array([0.1, 0.4])
    for fn in (lax.erf_inv, lax.ndtri, lax.bessel_i0e, lax.bessel_i1e):
        check_jaxpr(fn, (x,))
        check_vmap(fn, (x,))
    check_jaxpr(lax.xlogy, (x, x))
    check_vmap(lambda a: lax.xlog1py(a, x), (np.stack([x, -x]),))
    with pytest.raises(TypeError):
        fad.jit(lax.ndtri)(np.array([1 + 1j]))


def test_erfcinv_keeps_float32():
    y = np.array([0.1, 0.9, 1.7], np.float32)
    for got in (special.erfcinv(y), fad.jit(special.erfcinv)(y)):
        assert got.dtype == np.float32 == sps.erfcinv(y).dtype
        np.testing.assert_allclose(got, sps.erfcinv(y), rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_logsumexp_complex_return_sign_is_scipys_split(dtype):
    """SciPy: the real log|sum| and the complex sign sum/|sum|."""
    rng = np.random.default_rng(3)
    a = (rng.uniform(-2, 2, (2, 3)) + 1j * rng.uniform(-3, 3, (2, 3))).astype(dtype)
    b = (rng.uniform(-2, 2, (2, 3)) + 1j * rng.uniform(-1, 1, (2, 3))).astype(dtype)
    tol = 1e-5 if dtype == np.complex64 else 1e-12
    for kw in (dict(b=b, axis=0), dict(axis=None), dict(b=b.real.astype(dtype), axis=1)):
        want = sps.logsumexp(a, return_sign=True, **kw)
        f = lambda a: special.logsumexp(a, return_sign=True, **kw)  # noqa: E731
        for got in (f(a), fad.jit(f)(a)):
            for g, w in zip(got, want):
                assert np.asarray(g).dtype == np.asarray(w).dtype
                np.testing.assert_allclose(g, w, rtol=tol, atol=tol)
    # a zero sum: -inf and sign 0, as in SciPy
    log, sign = special.logsumexp(np.array([1 + 1j, 1 + 1j]), b=np.array([1, -1]),
                                  return_sign=True)
    assert log == -np.inf and sign == 0 and np.iscomplexobj(sign)
    # derivatives of both (the sign's too: z/|z| is not constant for complex z)
    a, b = a.astype(np.complex128), b.astype(np.complex128)
    check_grads(lambda a, b: special.logsumexp(a, axis=0, b=b, return_sign=True), (a, b),
                order=1)


@pytest.mark.parametrize("name", ["erf", "erfc", "ndtr", "log_ndtr", "digamma", "psi",
                                  "erfinv", "ndtri", "gammaln", "i0e", "i1e"])
def test_special_real_only_functions_refuse_complex(name):
    """Never a silently wrong number: a real-only function refuses complex arguments with
    a TypeError, eagerly as under jit (SciPy's erf(0.5+0.3j) is 0.5616+0.2676j; fad's
    eager erf used to drop the imaginary part)."""
    f = getattr(special, name)
    z = np.array([0.5 + 0.3j, 1.0 - 1.0j])
    for g in (f, fad.jit(f)):
        with pytest.raises(TypeError, match="complex"):
            g(z)
    with pytest.raises(TypeError, match="complex"):   # the lax kernels too, eagerly
        lax.erf(z)
    assert np.isrealobj(f(z.real))


@pytest.mark.parametrize("name", ["xlogy", "xlog1py"])
def test_xlogy_complex_under_jit(name):
    f, ref = getattr(special, name), getattr(sps, name)
    x = np.array([0j, 1 + 1j, -0.5 + 2j, 0j])
    y = np.array([0.5 + 0.3j, 2 - 1j, 0.3 + 0.2j, np.nan + 0j])
    for got in (f(x, y), fad.jit(f)(x, y), fad.vmap(f)(x, y)):
        assert got.dtype == np.complex128
        np.testing.assert_allclose(got, ref(x, y), rtol=1e-12, equal_nan=True)
    got64 = fad.jit(f)(x.astype(np.complex64), y.astype(np.complex64))
    assert got64.dtype == np.complex64
    check_grads(lambda a, b: f(a, b), (x[1:3], y[1:3]), order=2)
