"""Transformations composed with each other, against Python loops and closed forms."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad.test_util import check_grads

RNG = np.random.default_rng(42)
D, N = 5, 8
X = RNG.standard_normal((N, D))
Y = np.where(RNG.standard_normal(N) > 0, 1.0, -1.0)
PARAMS = {"w": RNG.standard_normal(D) * 0.5, "b": 0.1}


def np_sigmoid(z):
    return 1 / (1 + np.exp(-z))


def logistic_loss(params, x, y):
    """log(1 + exp(-y (w.x + b))) for one example."""
    z = fnp.sum(params["w"] * x) + params["b"]
    return fnp.log(1.0 + fnp.exp(-y * z))


def logsumexp(x):
    return fnp.log(fnp.sum(fnp.exp(x)))


# -- per-example gradients -------------------------------------------------------------------

def test_per_example_gradients_match_loop_and_closed_form():
    per_ex = fad.vmap(fad.grad(logistic_loss), in_axes=(None, 0, 0))(PARAMS, X, Y)
    assert per_ex["w"].shape == (N, D) and per_ex["b"].shape == (N,)
    for i in range(N):
        gi = fad.grad(logistic_loss)(PARAMS, X[i], Y[i])
        np.testing.assert_allclose(per_ex["w"][i], gi["w"], rtol=1e-12)
        np.testing.assert_allclose(per_ex["b"][i], gi["b"], rtol=1e-12)
    z = X @ PARAMS["w"] + PARAMS["b"]
    coef = -Y * np_sigmoid(-Y * z)
    np.testing.assert_allclose(per_ex["w"], coef[:, None] * X, rtol=1e-12)
    np.testing.assert_allclose(per_ex["b"], coef, rtol=1e-12)


def test_grad_through_vmap_of_op_whose_operands_both_carry_tangents():
    xs = np.array([1.0, 2.0, 3.0])
    # d/db sum_i (x_i b + b) = sum_i (x_i + 1)
    g = fad.grad(lambda b: fnp.sum(fad.vmap(lambda x: x * b + b)(xs)))(2.0)
    np.testing.assert_allclose(g, (xs + 1).sum())


def test_mean_of_per_example_gradients_is_gradient_of_mean_loss():
    per_ex = fad.vmap(fad.grad(logistic_loss), in_axes=(None, 0, 0))(PARAMS, X, Y)

    def mean_loss(params):
        return fnp.mean(fad.vmap(logistic_loss, in_axes=(None, 0, 0))(params, X, Y))
    g = fad.grad(mean_loss)(PARAMS)
    np.testing.assert_allclose(g["w"], per_ex["w"].mean(0), rtol=1e-12)
    np.testing.assert_allclose(g["b"], per_ex["b"].mean(0), rtol=1e-12)


def test_per_example_gradients_of_matmul_model():
    W = RNG.standard_normal((3, D)) * 0.3

    def loss(W, x, y):
        h = fnp.tanh(fnp.matmul(W, x))
        return (fnp.sum(h) - y) ** 2
    per_ex = fad.vmap(fad.grad(loss), in_axes=(None, 0, 0))(W, X, Y)
    want = np.stack([fad.grad(loss)(W, X[i], Y[i]) for i in range(N)])
    np.testing.assert_allclose(per_ex, want, rtol=1e-12)
    h = np.tanh(X @ W.T)
    r = 2 * (h.sum(1) - Y)
    np.testing.assert_allclose(per_ex, r[:, None, None] * (1 - h ** 2)[:, :, None]
                               * X[:, None, :], rtol=1e-10)


def test_per_example_value_and_grad_with_aux():
    def loss_aux(params, x, y):
        loss = logistic_loss(params, x, y)
        return loss, {"margin": y * (fnp.sum(params["w"] * x) + params["b"])}
    (loss, aux), g = fad.vmap(fad.value_and_grad(loss_aux, has_aux=True),
                              in_axes=(None, 0, 0))(PARAMS, X, Y)
    z = X @ PARAMS["w"] + PARAMS["b"]
    np.testing.assert_allclose(loss, np.log1p(np.exp(-Y * z)), rtol=1e-12)
    np.testing.assert_allclose(aux["margin"], Y * z, rtol=1e-12)
    assert g["w"].shape == (N, D)


def test_gradient_of_per_example_gradient_norms():
    """Second order through vmap(grad): checked against finite differences."""
    def sq_norms(w):
        g = fad.vmap(fad.grad(logistic_loss), in_axes=(None, 0, 0))({"w": w, "b": 0.1}, X, Y)
        return fnp.sum(g["w"] * g["w"])
    check_grads(sq_norms, (PARAMS["w"],), order=1, modes=("fwd", "rev"))


# -- grad of vmap, vmap of vmap --------------------------------------------------------------

def test_grad_of_vmap():
    f = lambda v: fnp.sin(v) * fnp.sum(v * v)  # noqa: E731
    xs = RNG.standard_normal((4, 3))
    g = fad.grad(lambda xs: fnp.sum(fad.vmap(f)(xs)))(xs)
    want = np.stack([np.cos(x) * (x * x).sum() + np.sin(x).sum() * 2 * x for x in xs])
    np.testing.assert_allclose(g, want, rtol=1e-12)


def test_grad_of_vmap_with_unbatched_parameter():
    xs = RNG.standard_normal((6, 3))
    w = RNG.standard_normal(3)
    g = fad.grad(lambda w: fnp.sum(fad.vmap(lambda x: fnp.tanh(fnp.sum(w * x)))(xs)))(w)
    want = ((1 - np.tanh(xs @ w) ** 2)[:, None] * xs).sum(0)
    np.testing.assert_allclose(g, want, rtol=1e-12)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 1), st.integers(0, 1))
def test_vmap_of_vmap_of_grad_different_axes(ax_outer, out_ax):
    a = RNG.standard_normal((3, 4))           # outer over one axis, inner over the other
    b = RNG.standard_normal(2)
    f = lambda s, v: fnp.sum(fnp.sin(s * v))  # noqa: E731 - scalar s, vector v
    g = fad.grad(f)                           # d/ds = sum(v cos(s v))
    inner = fad.vmap(g, in_axes=(0, None))
    got = fad.vmap(inner, in_axes=(ax_outer, None), out_axes=out_ax)(
        a if ax_outer == 0 else a.T, b)
    want = np.array([[np.sum(b * np.cos(s * b)) for s in row] for row in a])
    np.testing.assert_allclose(got if out_ax == 0 else got.T, want, rtol=1e-12)


def test_closure_over_batched_value_inside_grad():
    scales = np.array([0.5, 1.0, 2.0])
    got = fad.vmap(lambda a: fad.grad(lambda x: a * x ** 3)(2.0))(scales)
    np.testing.assert_allclose(got, 12.0 * scales)
    got = fad.grad(lambda c: fnp.sum(fad.vmap(lambda a: a * c * c)(scales)))(3.0)
    np.testing.assert_allclose(got, 2 * 3.0 * scales.sum())


# -- vmap of forward mode, Jacobians, Hessians -----------------------------------------------

def test_vmap_of_jvp_over_tangents_gives_jacobian():
    x = RNG.standard_normal(3)
    f = lambda v: fnp.sin(v) * fnp.sum(v)  # noqa: E731
    cols = fad.vmap(lambda t: fad.jvp(f, (x,), (t,))[1], out_axes=1)(np.eye(3))
    np.testing.assert_allclose(cols, fad.jacrev(f)(x), rtol=1e-12)


def test_vmap_of_jvp_over_primals_and_tangents():
    xs, ts = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 3))
    outs, tans = fad.vmap(lambda x, t: fad.jvp(fnp.exp, (x,), (t,)))(xs, ts)
    np.testing.assert_allclose(outs, np.exp(xs))
    np.testing.assert_allclose(tans, np.exp(xs) * ts)


def test_vmap_of_vjp_function_gives_jacobian_rows():
    x = RNG.standard_normal(3)
    A = RNG.standard_normal((2, 3))
    f = lambda v: fnp.tanh(fnp.sum(A * v, axis=1))  # noqa: E731
    _, f_vjp = fad.vjp(f, x)
    rows = fad.vmap(f_vjp)(np.eye(2))[0]
    np.testing.assert_allclose(rows, fad.jacfwd(f)(x), rtol=1e-12)
    _, f_jvp = fad.linearize(f, x)
    cols = fad.vmap(f_jvp, out_axes=1)(np.eye(3))
    np.testing.assert_allclose(cols, rows, rtol=1e-12)


def test_vmap_of_hessian():
    xs = RNG.standard_normal((4, 3))
    hs = fad.vmap(fad.hessian(logsumexp))(xs)
    for x, h in zip(xs, hs):
        s = np.exp(x) / np.exp(x).sum()
        np.testing.assert_allclose(h, np.diag(s) - np.outer(s, s), atol=1e-12)


def test_vmap_of_hvp_and_jacfwd_of_vmap():
    xs, vs = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    f = lambda x: fnp.sum(x ** 4)  # noqa: E731
    got = fad.vmap(lambda x, v: fad.hvp(f, (x,), (v,)))(xs, vs)
    np.testing.assert_allclose(got, 12 * xs ** 2 * vs, rtol=1e-12)
    J = fad.jacfwd(fad.vmap(fnp.sin))(xs[0])
    np.testing.assert_allclose(J, np.diag(np.cos(xs[0])), rtol=1e-12)


def test_jacfwd_of_jacrev_and_jacrev_of_jacfwd_agree():
    x = RNG.standard_normal(3)
    f = lambda v: fnp.sum(fnp.exp(v) * fnp.sin(v)) * fnp.sum(v * v)  # noqa: E731
    h1 = fad.jacfwd(fad.jacrev(f))(x)
    h2 = fad.jacrev(fad.jacfwd(f))(x)
    np.testing.assert_allclose(h1, h2, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h1, h1.T, rtol=1e-10, atol=1e-12)
    check_grads(fad.grad(f), (x,), order=1)


def test_grad_of_grad_of_vmap_sum():
    # d^2/dc^2 sum_i (c x_i)^3 = 6 c sum x_i^3
    xs = np.array([0.5, -1.0, 2.0])
    h = fad.grad(fad.grad(lambda c: fnp.sum(fad.vmap(lambda x: (c * x) ** 3)(xs))))(1.5)
    np.testing.assert_allclose(h, 6 * 1.5 * (xs ** 3).sum())


def test_seed_vmap_of_derivative():
    f3 = lambda x: x ** 4 + 3 * x ** 2 + 2 * x  # noqa: E731
    np.testing.assert_allclose(fad.vmap(fad.grad(f3))(np.array([1.0, 2.0, 3.0])),
                               [12.0, 46.0, 128.0])
