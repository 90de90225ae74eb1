"""fad.numpy.polyval and polyfit against NumPy (values and dtypes, staged), their
derivatives against finite differences, vmap against a loop, jit against eager."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad.test_util import check_grads, check_matches_numpy, check_vmap

SETTINGS = settings(max_examples=10, deadline=None)
RNG = np.random.default_rng(0)
P = RNG.standard_normal(4)
X = RNG.standard_normal(7)
Y = RNG.standard_normal(7)
Y2 = RNG.standard_normal((7, 2))


@SETTINGS
@given(n=st.integers(1, 5), shape=st.sampled_from([(), (3,), (2, 3)]),
       seed=st.integers(0, 2 ** 16))
def test_polyval_matches_numpy(n, shape, seed):
    rng = np.random.default_rng(seed)
    p, x = rng.standard_normal(n), rng.standard_normal(shape)
    check_matches_numpy(fnp.polyval, p, x)
    check_matches_numpy(fnp.polyval, p + 1j * rng.standard_normal(n), x)
    check_grads(fnp.polyval, (p, x), order=2)


@pytest.mark.parametrize("pdt,xdt", [(np.float32, np.float32), (np.int64, np.float32),
                                     (np.int32, np.int64), (np.float64, np.complex64)])
def test_polyval_dtypes(pdt, xdt):
    check_matches_numpy(fnp.polyval, np.array([1, 2, 3], pdt), np.arange(4).astype(xdt))


def test_polyval_vmap_jit():
    check_vmap(fnp.polyval, (np.stack([P, 2 * P]), X[:2]))
    check_vmap(lambda x: fnp.polyval(P, x), (X,))
    np.testing.assert_allclose(fad.jit(fnp.polyval)(P, X), np.polyval(P, X))


@pytest.mark.parametrize("deg", [0, 1, 3])
def test_polyfit_matches_numpy(deg):
    check_matches_numpy(lambda x, y: fnp.polyfit(x, y, deg), X, Y)
    check_matches_numpy(lambda x, y: fnp.polyfit(x, y, deg), X, Y2)
    check_matches_numpy(lambda x, y, w: fnp.polyfit(x, y, deg, w=w), X, Y, np.abs(Y) + 1)
    check_matches_numpy(lambda x, y: fnp.polyfit(x, y, deg, cov=True), X, Y)
    check_matches_numpy(lambda x, y: fnp.polyfit(x, y, deg, cov="unscaled"), X, Y2)


def test_polyfit_full():
    c, resids, rank, s, rcond = fad.jit(lambda x, y: fnp.polyfit(x, y, 2, full=True))(X, Y)
    c0, resids0, rank0, s0, rcond0 = np.polyfit(X, Y, 2, full=True)
    np.testing.assert_allclose(c, c0, rtol=1e-10)
    np.testing.assert_allclose(resids, resids0, rtol=1e-10)
    np.testing.assert_allclose(s, s0, rtol=1e-10)
    assert int(rank) == rank0 and rcond == rcond0


def test_polyfit_derivatives_vmap():
    check_grads(lambda x, y: fnp.polyfit(x, y, 2), (X, Y), order=2)
    check_grads(lambda y, w: fnp.polyfit(X, y, 1, w=w), (Y2, np.abs(Y) + 1), order=1)
    check_vmap(lambda y: fnp.polyfit(X, y, 2), (Y2,), in_axes=1)
    # fitting exact data recovers the polynomial, and its derivative in the data is exact
    np.testing.assert_allclose(fnp.polyfit(X, np.polyval(P, X), 3), P, rtol=1e-10)


def test_polyfit_errors():
    with pytest.raises(ValueError, match="deg >= 0"):
        fad.jit(lambda x, y: fnp.polyfit(x, y, -1))(X, Y)
    with pytest.raises(TypeError, match="same length"):
        fad.jit(lambda x, y: fnp.polyfit(x, y, 1))(X, Y[:3])
    with pytest.raises(TypeError, match="1D vector"):
        fad.jit(lambda x, y: fnp.polyfit(x, y, 1))(Y2, Y)


@pytest.mark.parametrize("dtype", [np.float32, np.complex64, np.int32])
def test_polyfit_single_precision_gives_double_like_numpy(dtype):
    """NumPy's Vandermonde matrix promotes x with int64: float32 data fits in float64."""
    x = (np.arange(6) - 2).astype(dtype)
    y = np.stack([np.linspace(-1, 2, 6), np.cos(np.arange(6))], 1).astype(dtype)
    w = np.linspace(0.5, 1, 6).astype(np.float32)
    for kw in ({}, dict(w=w), dict(full=True), dict(cov=True)):
        want = np.polyfit(x, y, 2, **kw)
        for got in (fnp.polyfit(x, y, 2, **kw), fad.jit(lambda a, b: fnp.polyfit(a, b, 2,
                                                                                   **kw))(x, y)):
            want_l = want if isinstance(want, tuple) else (want,)
            got_l = got if isinstance(got, tuple) else (got,)
            for g, e in zip(got_l, want_l):
                g, e = np.asarray(g), np.asarray(e)
                assert g.dtype == e.dtype and g.shape == e.shape
                np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)
