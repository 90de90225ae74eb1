"""logaddexp and logaddexp2: values against NumPy (infinities and nan included),
derivatives against the closed form ``logistic(x - y)`` in both modes and under jit and
vmap (every way the rule picks its formula), second derivatives, and the size of the
programs they stage. The table in test_elementwise.py runs the generic checks too."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import fad
import fad.numpy as fnp
from fad import lax
from fad.test_util import check_grads, check_vmap

# NumPy's own logaddexp warns of nan operands (fad's derivatives add no warnings: below)
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered in logaddexp")

INF, NAN = np.inf, np.nan
# every pairing of finite values, infinities of both signs and nan
SPECIALS = np.array([-INF, -3.0, -0.5, 0.0, 1.5, 40.0, INF, NAN])
XS, YS = np.meshgrid(SPECIALS, SPECIALS)
XS, YS = XS.ravel(), YS.ravel()

FNS = [(lax.logaddexp, np.logaddexp, 1.0), (lax.logaddexp2, np.logaddexp2, math.log(2))]
IDS = ["logaddexp", "logaddexp2"]


def _sigmoid(z):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-z))


def _closed_form(x, y, scale):
    """(d/dx, d/dy): the weights of the operands, 1/2 each where x == y (also infinite)."""
    with np.errstate(invalid="ignore"):
        d = np.where(x == y, 0.0, x - y) * scale
    return _sigmoid(d), _sigmoid(-d)


@pytest.mark.parametrize("fn,ref,scale", FNS, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_values_match_numpy(fn, ref, scale, dtype):
    x, y = XS.astype(dtype), YS.astype(dtype)
    got = fn(x, y)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, ref(x, y))          # nan where NumPy has nan
    np.testing.assert_array_equal(fad.jit(fn)(x, y), ref(x, y))
    np.testing.assert_array_equal(fn(x[:, None], y[None, :8]), ref(x[:, None], y[None, :8]))
    assert fn(dtype(1.0), 2.0) == ref(dtype(1.0), dtype(2.0))   # a Python scalar adopts the dtype
    with pytest.raises(TypeError):
        fad.make_jaxpr(fn)(np.arange(3), np.arange(3))       # floats only


@pytest.mark.parametrize("fn,ref,scale", FNS, ids=IDS)
def test_fad_numpy_routes_to_the_primitive(fn, ref, scale):
    fnp_fn = getattr(fnp, ref.__name__)
    closed = fad.make_jaxpr(fnp_fn)(np.ones(3), np.zeros(3))
    assert [e.primitive.name for e in closed.eqns] == [ref.__name__]
    np.testing.assert_array_equal(fnp_fn(XS, YS), ref(XS, YS))
    np.testing.assert_array_equal(fnp_fn(np.int64(3), 2), ref(np.int64(3), 2))  # ints -> float


def _derivatives(fn, x, y):
    """(d/dx, d/dy) elementwise by jvp (forward) and by vjp (reverse)."""
    ones = np.ones_like(x)
    fwd = (fad.jvp(lambda a: fn(a, y), (x,), (ones,))[1],
           fad.jvp(lambda b: fn(x, b), (y,), (ones,))[1])
    rev = fad.vjp(fn, x, y)[1](ones)
    return fwd, rev


@pytest.mark.parametrize("fn,ref,scale", FNS, ids=IDS)
def test_derivatives_match_the_closed_form_everywhere(fn, ref, scale):
    want = _closed_form(XS, YS, scale)
    for got in _derivatives(fn, XS, YS):
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-14, atol=0)
    no_nan = ~np.isnan(XS) & ~np.isnan(YS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # no overflow or invalid-value warnings
        _derivatives(fn, XS[no_nan], YS[no_nan])
    finite = np.isfinite(XS) & np.isfinite(YS)
    for got in _derivatives(fn, XS[finite], YS[finite]):
        assert all(np.isfinite(g).all() for g in got)
    # the documented values at the edges
    (dx, dy), _ = _derivatives(fn, np.array([INF, -INF, INF, -INF, 1e20, 1000.0]),
                               np.array([INF, -INF, 1.0, 1.0, 1e20, -1000.0]))
    np.testing.assert_array_equal(dx, [0.5, 0.5, 1.0, 0.0, 0.5, 1.0])
    np.testing.assert_array_equal(dy, [0.5, 0.5, 0.0, 1.0, 0.5, 0.0])


@pytest.mark.parametrize("fn,ref,scale", FNS, ids=IDS)
def test_derivatives_with_one_constant_operand(fn, ref, scale):
    """The rule drops the tie guard when the other operand is a finite constant, and the
    difference too when that constant is 0 (softplus): the same values either way."""
    x = np.array([-INF, -30.0, -1.0, 0.0, 2.0, 800.0, INF])
    for c in (0.0, 1.5, np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])):
        want_x, want_c = _closed_form(x, np.broadcast_to(c, x.shape), scale)
        for f, want in ((lambda a: fn(a, c), want_x), (lambda a: fn(c, a), want_x)):
            g = fad.grad(lambda a: lax.reduce_sum(f(a), (0,)))(x)
            np.testing.assert_allclose(g, want, rtol=1e-14, atol=0)
            np.testing.assert_allclose(fad.jit(fad.grad(lambda a: lax.reduce_sum(f(a), (0,))))(x),
                                       want, rtol=1e-14, atol=0)
            np.testing.assert_allclose(fad.jvp(f, (x,), (np.ones_like(x),))[1], want,
                                       rtol=1e-14, atol=0)


@pytest.mark.parametrize("fn,ref,scale", FNS, ids=IDS)
def test_derivatives_under_jit_and_vmap(fn, ref, scale):
    """Traced operands (jit, vmap with either or both batched) take the guarded formula."""
    want = _closed_form(XS, YS, scale)
    g = fad.jit(fad.grad(lambda a, b: lax.reduce_sum(fn(a, b), (0,)), argnums=(0, 1)))(XS, YS)
    for got, w in zip(g, want):
        np.testing.assert_allclose(got, w, rtol=1e-14, atol=0)
    per_example = fad.vmap(fad.grad(fn, argnums=(0, 1)))(XS, YS)
    for got, w in zip(per_example, want):
        np.testing.assert_allclose(got, w, rtol=1e-14, atol=0)
    y0 = 0.7
    gx = fad.vmap(fad.grad(fn), in_axes=(0, None))(XS, y0)
    np.testing.assert_allclose(gx, _closed_form(XS, np.full_like(XS, y0), scale)[0],
                               rtol=1e-14, atol=0)
    check_vmap(fn, (XS.reshape(8, 8), YS[:8]), in_axes=(1, None))


@pytest.mark.parametrize("fn,ref,scale", FNS, ids=IDS)
def test_second_derivatives(fn, ref, scale):
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-3, 3, 5), rng.uniform(-3, 3, 5)
    check_grads(fn, (x, y), order=2, modes=("fwd", "rev"))
    check_grads(lambda a: fn(a, 0.0), (x,), order=2, modes=("fwd", "rev"))
    check_grads(lambda a: fn(1.25, a), (y,), order=2, modes=("fwd", "rev"))
    # d2/dx2 = scale * s (1 - s), s = logistic(scale (x - y)); d2/dxdy its negative
    s = _sigmoid(scale * (x - y))
    d2 = fad.vmap(fad.grad(fad.grad(fn)))(x, y)
    np.testing.assert_allclose(d2, scale * s * (1 - s), rtol=1e-12)
    dxy = fad.vmap(fad.grad(fad.grad(fn), argnums=1))(x, y)
    np.testing.assert_allclose(dxy, -scale * s * (1 - s), rtol=1e-12)


def test_gradient_programs_are_lean():
    """Softplus's gradient is one logistic; both operands traced: a guarded difference."""
    x = np.linspace(-2, 2, 5)
    closed = fad.make_jaxpr(fad.grad(lambda a: lax.reduce_sum(lax.logaddexp(0.0, a), (0,))))(x)
    names = [e.primitive.name for e in closed.eqns]
    assert names.count("logistic") == 1 and "select_n" not in names and "sub" not in names
    closed = fad.make_jaxpr(fad.grad(lambda a, b: lax.reduce_sum(lax.logaddexp(a, b), (0,)),
                                     argnums=(0, 1)))(x, x)
    names = [e.primitive.name for e in closed.eqns]
    assert names.count("logistic") == 2 and names.count("select_n") == 4
    assert "exp" not in names and "log1p" not in names


def test_per_example_logistic_regression_program():
    """The benchmark's program: nothing but the arithmetic the hand-written NumPy does."""
    def loss(w, x, y):
        return fnp.logaddexp(0.0, -y * fnp.dot(x, w))
    per_example = fad.vmap(fad.grad(loss), in_axes=(None, 0, 0))
    rng = np.random.default_rng(1)
    w, X, Y = rng.standard_normal(4), rng.standard_normal((6, 4)), np.sign(rng.standard_normal(6))
    closed = fad.make_jaxpr(per_example)(w, X, Y)
    names = sorted(e.primitive.name for e in closed.eqns)
    assert names == sorted(["dot_general", "neg", "mul", "logaddexp", "logistic", "mul",
                            "dot_general"]), names
    want = (-Y / (1 + np.exp(Y * (X @ w))))[:, None] * X
    np.testing.assert_allclose(per_example(w, X, Y), want, rtol=1e-13)
    np.testing.assert_allclose(fad.jit(per_example)(w, X, Y), want, rtol=1e-13)
