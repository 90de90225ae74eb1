"""fad.custom_jvp and fad.custom_vjp: the rules used by every transformation, checked
against closed forms, finite differences (where the rule is the true derivative), a
Python loop for vmap, and eager evaluation for jit."""
import functools

import numpy as np
import pytest

import fad
import fad.numpy as fnp
from fad.custom_derivatives import SymbolicZero
from fad import lax
from fad.test_util import check_grads, check_jaxpr, check_vmap


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# -- the functions of the issue ------------------------------------------------------------

@fad.custom_vjp
def log1pexp(x):
    return fnp.log1p(fnp.exp(x))


def _log1pexp_fwd(x):
    return log1pexp(x), x


def _log1pexp_bwd(x, g):
    return (g * (1.0 - 1.0 / (1.0 + fnp.exp(x))),)


log1pexp.defvjp(_log1pexp_fwd, _log1pexp_bwd)


@fad.custom_jvp
def safe_norm(x):
    return fnp.sqrt(fnp.sum(x * x))


@safe_norm.defjvp
def _safe_norm_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    n = safe_norm(x)
    nonzero = n > 0
    scale = fnp.where(nonzero, 1.0 / fnp.where(nonzero, n, 1.0), 0.0)
    return n, fnp.sum(x * t) * scale


@fad.custom_vjp
def clip_gradient(lo, hi, x):
    return x


def _clip_fwd(lo, hi, x):
    return x, None


def _clip_bwd(lo, hi, _, g):
    return (fnp.clip(g, lo, hi),)


clip_gradient = fad.custom_vjp(clip_gradient.fun, nondiff_argnums=(0, 1))
clip_gradient.defvjp(_clip_fwd, _clip_bwd)


@fad.custom_jvp
def sin_custom(x):
    return fnp.sin(x)


@sin_custom.defjvp
def _sin_custom_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return sin_custom(x), fnp.cos(x) * t   # the true derivative: finite differences agree


def test_log1pexp_gradient_is_finite_and_the_sigmoid():
    for x in (1000.0, 0.0, -3.0, 2.5):
        with np.errstate(over="ignore"):
            g = fad.grad(log1pexp)(x)
        assert np.isfinite(g)
        np.testing.assert_allclose(g, _sigmoid(x), rtol=1e-12)


def test_log1pexp_under_vmap_jit_vjp():
    xs = np.array([0.0, 1000.0, -3.0])
    with np.errstate(over="ignore"):
        np.testing.assert_allclose(fad.vmap(fad.grad(log1pexp))(xs), _sigmoid(xs))
        np.testing.assert_allclose(fad.jit(fad.grad(log1pexp))(1000.0), 1.0)
        out, pullback = fad.vjp(log1pexp, xs)
        np.testing.assert_allclose(pullback(np.ones(3))[0], _sigmoid(xs))
        np.testing.assert_allclose(fad.jit(fad.vmap(log1pexp))(xs[:1]), np.log1p(np.exp(xs[:1])))
    check_vmap(log1pexp, (np.array([0.5, -1.0]),))


def test_staged_grad_three_times_equals_interpreted():
    def loss(x):
        return fnp.sum(log1pexp(x) * safe_norm(x) + sin_custom(x))

    x = np.array([0.3, -1.2, 2.0])
    with fad.disable_staging():
        want = fad.grad(loss)(x)
    for _ in range(3):
        np.testing.assert_array_equal(fad.grad(loss)(x), want)
    for _ in range(3):
        np.testing.assert_array_equal(fad.vmap(fad.grad(loss))(np.stack([x, 2 * x])),
                                      np.stack([want, fad.grad(loss)(2 * x)]))


def test_safe_norm_derivative_finite_at_zero():
    np.testing.assert_array_equal(fad.grad(safe_norm)(np.zeros(3)), np.zeros(3))
    x = np.array([3.0, 4.0])
    np.testing.assert_allclose(fad.grad(safe_norm)(x), x / 5.0)
    primal, tangent = fad.jvp(safe_norm, (x,), (np.array([1.0, 0.0]),))
    np.testing.assert_allclose((primal, tangent), (5.0, 0.6))
    np.testing.assert_allclose(fad.jit(fad.grad(safe_norm))(x), x / 5.0)
    np.testing.assert_allclose(fad.vmap(fad.grad(safe_norm))(np.stack([x, 0 * x])),
                               np.stack([x / 5.0, 0 * x]))
    # the Hessian of the norm: (I - u u^T) / |x|
    u = x / 5.0
    np.testing.assert_allclose(fad.hessian(safe_norm)(x), (np.eye(2) - np.outer(u, u)) / 5.0)


def test_custom_jvp_rule_is_used_and_checks_out():
    check_grads(sin_custom, (0.7,), order=2, modes=("fwd", "rev"))
    check_grads(safe_norm, (np.array([1.0, -2.0, 0.5]),), order=2, modes=("fwd", "rev"))
    check_jaxpr(sin_custom, (np.array([0.1, 0.2]),))
    check_vmap(fad.grad(sin_custom), (np.array([0.1, 0.2]),))

    @fad.custom_jvp
    def f(x):
        return fnp.sin(x)

    f.defjvp(lambda p, t: (f(p[0]), 3.0 * t[0]))
    assert fad.grad(f)(0.1) == 3.0
    assert fad.jvp(f, (0.1,), (1.0,))[1] == 3.0
    assert fad.grad(fad.grad(f))(0.1) == 0.0
    np.testing.assert_allclose(fad.vmap(fad.grad(f))(np.ones(2)), [3.0, 3.0])
    assert f(0.1) == np.sin(0.1)


def test_clip_gradient():
    def loss(x):
        return fnp.sum(clip_gradient(-1.0, 1.0, x) * 10.0)

    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(fad.grad(loss)(x), [1.0, 1.0])
    np.testing.assert_array_equal(fad.jit(fad.grad(loss))(x), [1.0, 1.0])
    np.testing.assert_array_equal(fad.vmap(fad.grad(lambda y: 0.5 * clip_gradient(-1.0, 1.0, y)))(
        np.array([1.0, 2.0])), [0.5, 0.5])
    np.testing.assert_array_equal(clip_gradient(-1.0, 1.0, x), x)


def test_inside_a_scan_body():
    def loss(x, fn):
        def body(c, r):
            return c + fn(c * r), c
        return lax.scan(body, x, np.array([0.5, 1.5, -0.2]))[0]

    def loop(x, fn):
        for r in (0.5, 1.5, -0.2):
            x = x + fn(x * r)
        return x

    with np.errstate(over="ignore"):
        for fn in (sin_custom, log1pexp):
            np.testing.assert_allclose(fad.grad(loss)(0.4, fn), fad.grad(loop)(0.4, fn))
            np.testing.assert_allclose(fad.jit(fad.grad(loss), static_argnums=1)(0.4, fn),
                                       fad.grad(loop)(0.4, fn))
        np.testing.assert_allclose(fad.jvp(lambda x: loss(x, sin_custom), (0.4,), (1.0,))[1],
                                   fad.grad(loop)(0.4, sin_custom))


def test_pytrees_in_and_out():
    @fad.custom_jvp
    def f(d):
        return {"p": d["a"] * d["b"], "q": (fnp.sin(d["a"]),)}

    @f.defjvp
    def f_jvp(primals, tangents):
        (d,), (t,) = primals, tangents
        out = f(d)
        return out, {"p": t["a"] * d["b"] + d["a"] * t["b"], "q": (fnp.cos(d["a"]) * t["a"],)}

    @fad.custom_vjp
    def g(x, pair):
        return {"s": x * pair[0] + pair[1]}

    def g_fwd(x, pair):
        return g(x, pair), (x, pair[0])

    def g_bwd(res, ct):
        x, a = res
        return ct["s"] * a, (ct["s"] * x, None)

    g.defvjp(g_fwd, g_bwd)

    def ref(d):
        return {"p": d["a"] * d["b"], "q": (fnp.sin(d["a"]),)}

    d = {"a": 0.3, "b": 2.0}
    lossf = lambda d: f(d)["p"] + 2.0 * f(d)["q"][0]
    lossr = lambda d: ref(d)["p"] + 2.0 * ref(d)["q"][0]
    got, want = fad.grad(lossf)(d), fad.grad(lossr)(d)
    np.testing.assert_allclose([got["a"], got["b"]], [want["a"], want["b"]])
    gx, gpair = fad.grad(lambda x, p: g(x, p)["s"], argnums=(0, 1))(2.0, (3.0, 4.0))
    assert (gx, gpair) == (3.0, (2.0, 0.0))
    np.testing.assert_allclose(fad.jvp(f, (d,), ({"a": 1.0, "b": 0.0},))[1]["q"][0], np.cos(0.3))


def test_closures_over_traced_values():
    def outer(y, x):
        @fad.custom_jvp
        def f(x):
            return fnp.sin(x) * y

        @f.defjvp
        def f_jvp(primals, tangents):
            (x,), (t,) = primals, tangents
            return f(x), fnp.cos(x) * y * t

        return fad.grad(f)(x)

    ys = np.array([1.0, 2.0])
    np.testing.assert_allclose(fad.vmap(outer, (0, None))(ys, 0.3), np.cos(0.3) * ys)
    np.testing.assert_allclose(fad.jit(outer)(2.0, 0.3), np.cos(0.3) * 2.0)

    def outer_vjp(y, x):
        @fad.custom_vjp
        def f(x):
            return x * y

        f.defvjp(lambda x: (f(x), None), lambda _, g: (g * y,))
        return fad.grad(f)(x)

    np.testing.assert_allclose(fad.vmap(outer_vjp, (0, None))(ys, 0.3), ys)
    np.testing.assert_allclose(fad.jit(outer_vjp)(2.0, 0.3), 2.0)

    def wrt_closed_over(y):
        f = fad.custom_jvp(lambda x: x * y)
        f.defjvp(lambda p, t: (f(p[0]), t[0] * y))
        return f(1.0)

    with pytest.raises(TypeError, match="closed-over value"):
        fad.grad(wrt_closed_over)(2.0)


def test_nondiff_argnums_custom_jvp():
    @fad.custom_jvp
    def app(fn, x):
        return fn(x)

    app = fad.custom_jvp(app.fun, nondiff_argnums=(0,))

    @app.defjvp
    def app_jvp(fn, primals, tangents):
        (x,), (t,) = primals, tangents
        return app(fn, x), 5.0 * t

    assert fad.grad(lambda x: app(fnp.sin, x))(0.2) == 5.0
    assert fad.jvp(lambda x: app(fnp.cos, x), (0.2,), (2.0,))[1] == 10.0


def test_defjvps_and_integer_inputs():
    @fad.custom_jvp
    def f(x, y):
        return x * y

    f.defjvps(lambda t, ans, x, y: 7.0 * t, None)
    assert fad.grad(f)(2.0, 3.0) == 7.0
    assert fad.grad(f, argnums=1)(2.0, 3.0) == 0.0

    @fad.custom_jvp
    def scale(x, n):
        return x * n

    @scale.defjvp
    def scale_jvp(primals, tangents):
        (x, n), (tx, tn) = primals, tangents
        assert tn.dtype == fad.float0
        return scale(x, n), tx * n

    assert fad.grad(scale)(2.0, 3) == 3.0


def test_errors():
    with pytest.raises(TypeError, match="forward-mode autodiff"):
        fad.jvp(log1pexp, (1.0,), (1.0,))
    with pytest.raises(TypeError, match="forward-mode autodiff"):
        fad.jit(lambda x: fad.jvp(log1pexp, (x,), (1.0,)))(1.0)

    bad = fad.custom_vjp(lambda x, y: x * y)
    bad.defvjp(lambda x, y: (x * y, (x, y)), lambda r, g: (g * r[1],))
    with pytest.raises(TypeError, match="one cotangent per differentiable argument, 2"):
        fad.grad(bad)(1.0, 2.0)

    bad_shape = fad.custom_vjp(lambda x: x * 2.0)
    bad_shape.defvjp(lambda x: (x * 2.0, None), lambda r, g: (fnp.ones(4),))
    with pytest.raises(TypeError, match=r"expected shape \(3,\)"):
        fad.grad(lambda x: fnp.sum(bad_shape(x)))(np.ones(3))

    bad_jvp = fad.custom_jvp(lambda x: x)
    bad_jvp.defjvp(lambda p, t: (p[0], (t[0], t[0])))
    with pytest.raises(TypeError, match="tangent output"):
        fad.jvp(bad_jvp, (1.0,), (1.0,))

    with pytest.raises(AttributeError, match="No JVP defined"):
        fad.grad(fad.custom_jvp(lambda x: x))(1.0)


def test_compositions_reverse_over_batching_and_reverse_over_reverse():
    xs = np.array([0.3, -1.0, 2.0])
    s = _sigmoid(xs)
    np.testing.assert_allclose(fad.grad(lambda x: fnp.sum(fad.vmap(log1pexp)(x)))(xs), s)
    np.testing.assert_allclose(fad.jacrev(fad.vmap(log1pexp))(xs), np.diag(s))
    np.testing.assert_allclose(fad.jacfwd(fad.vmap(sin_custom))(xs), np.diag(np.cos(xs)))
    np.testing.assert_allclose(fad.grad(fad.grad(log1pexp))(0.3), s[0] * (1 - s[0]))
    with pytest.raises(TypeError, match="forward-mode autodiff"):
        fad.hessian(log1pexp)(0.3)

    def loss(x):
        return lax.scan(lambda c, r: (c + log1pexp(c * r), None), x, np.array([0.5, 1.5]))[0]

    want = np.array([fad.grad(loss)(x) for x in xs])
    np.testing.assert_allclose(fad.vmap(fad.grad(loss))(xs), want)
    np.testing.assert_allclose(fad.grad(lambda x: fnp.sum(fad.vmap(loss)(x)))(xs), want)


def test_unused_results_of_a_custom_jvp_function_are_dropped():
    @fad.custom_jvp
    def two(x):
        return fnp.sin(x), fnp.exp(x) * 3.0

    @two.defjvp
    def two_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return two(x), (fnp.cos(x) * t, fnp.exp(x) * 3.0 * t)

    def first(x):
        return two(x)[0]

    lowered = fad.jit(first).lower(np.float64(0.5))
    (eqn,) = [e for e in lowered.jaxpr.jaxpr.eqns if e.primitive.name == "custom_jvp_call"]
    assert len(eqn.outvars) == 1
    assert "exp" not in str(eqn.params["call_jaxpr"])
    assert float(fad.jit(first)(0.5)) == np.sin(0.5)
    np.testing.assert_allclose(fad.jit(fad.grad(first))(0.5), np.cos(0.5))
    np.testing.assert_allclose(fad.grad(lambda x: two(x)[1])(0.5), 3 * np.exp(0.5))
    np.testing.assert_allclose(fad.jit(fad.vmap(fad.grad(first)))(np.array([0.1, 0.2])),
                               np.cos([0.1, 0.2]))


def _symbolic_pair():
    seen = []

    @fad.custom_jvp
    def f(x, y):
        return fnp.sin(x) * y

    @functools.partial(f.defjvp, symbolic_zeros=True)
    def f_jvp(primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        seen.append((type(tx) is SymbolicZero, type(ty) is SymbolicZero))
        out = f(x, y)
        if type(tx) is SymbolicZero and type(ty) is SymbolicZero:
            return out, SymbolicZero(tx.aval)
        parts = []
        if type(tx) is not SymbolicZero:
            parts.append(fnp.cos(x) * y * tx)
        if type(ty) is not SymbolicZero:
            parts.append(fnp.sin(x) * ty)
        return out, sum(parts[1:], parts[0])
    return f, seen


def test_symbolic_zeros_reach_the_rule_and_may_come_back():
    f, seen = _symbolic_pair()
    x, y = 0.7, 1.3
    assert fad.grad(f)(x, y) == pytest.approx(np.cos(x) * y)
    assert seen[-1] == (False, True)          # y not differentiated: a symbolic zero
    assert fad.grad(f, argnums=1)(x, y) == pytest.approx(np.sin(x))
    assert seen[-1] == (True, False)
    gx, gy = fad.grad(f, argnums=(0, 1))(x, y)
    assert (gx, gy) == (pytest.approx(np.cos(x) * y), pytest.approx(np.sin(x)))
    assert seen[-1] == (False, False)
    # jvp with a tangent only for x; jit, vmap and hessian compose
    _, t = fad.jvp(lambda a: f(a, y), (x,), (1.0,))
    assert t == pytest.approx(np.cos(x) * y)
    np.testing.assert_allclose(fad.jit(fad.grad(f))(x, y), np.cos(x) * y)
    xs = np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(fad.vmap(fad.grad(f), in_axes=(0, None))(xs, y),
                               np.cos(xs) * y)
    np.testing.assert_allclose(fad.hessian(f)(x, y), -np.sin(x) * y)
    # a rule returning a symbolic zero for the output: a zero tangent, never built
    _, t = fad.jvp(lambda a: f(a, y), (x,), (0.0,))
    assert t == 0.0


def test_symbolic_zeros_rule_traced_once_per_pattern():
    f, seen = _symbolic_pair()
    g = fad.jit(fad.grad(f))
    g(0.5, 1.0)
    g(0.6, 1.0)
    assert seen.count((False, True)) == 1
