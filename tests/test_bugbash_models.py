"""Bug bash: research-style NumPy code (an MLP with softmax cross-entropy, per-example
gradients, Hessian and Gauss-Newton products, a Newton solver with Python control flow,
plain-``numpy`` code traced through ``__array_ufunc__``/``__array_function__``, indexing
and ``.at`` updates) against finite differences, closed forms and Python loops."""
import numpy as np
import pytest

import fad
import fad.numpy as fnp
import fad.scipy.special as fss
from fad.test_util import check_grads, check_vmap
from fad.tree_util import tree_leaves

RNG = np.random.default_rng(0)
N, D, H, C = 6, 5, 8, 3
X = RNG.standard_normal((N, D))
Y = RNG.integers(0, C, N)
PARAMS = [(RNG.standard_normal((D, H)) / np.sqrt(D), RNG.standard_normal(H) * 0.1),
          (RNG.standard_normal((H, C)) / np.sqrt(H), RNG.standard_normal(C) * 0.1)]
SIZES = [D * H, H, H * C, C]


def predict(params, x):
    for W, b in params[:-1]:
        x = fnp.tanh(x @ W + b)
    W, b = params[-1]
    return x @ W + b


def loss(params, x, y):
    logits = predict(params, x)
    logp = logits - fss.logsumexp(logits, axis=-1, keepdims=True)
    return -fnp.mean(logp[fnp.arange(x.shape[0]), y])


def example_loss(params, x, y):
    logits = predict(params, x)
    return fss.logsumexp(logits) - logits[y]


def unflatten(theta):
    parts, start = [], 0
    for n in SIZES:
        parts.append(theta[start:start + n])
        start += n
    W1, b1, W2, b2 = parts
    return [(W1.reshape(D, H), b1), (W2.reshape(H, C), b2)]


THETA = np.concatenate([a.ravel() for a in tree_leaves(PARAMS)])


def flat_loss(theta):
    return loss(unflatten(theta), X, Y)


def test_mlp_gradient_against_finite_differences():
    check_grads(lambda p: loss(p, X, Y), (PARAMS,), order=2)
    # against a hand-written backward pass
    (W1, b1), (W2, b2) = PARAMS
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dz = (p - np.eye(C)[Y]) / N
    dh = dz @ W2.T * (1 - h ** 2)
    want = [(X.T @ dh, dh.sum(0)), (h.T @ dz, dz.sum(0))]
    for g, w in zip(tree_leaves(fad.grad(loss)(PARAMS, X, Y)), tree_leaves(want)):
        np.testing.assert_allclose(g, w, atol=1e-12)


@pytest.mark.parametrize("jit", [False, True])
def test_per_example_gradients(jit):
    per_ex = fad.vmap(fad.grad(example_loss), in_axes=(None, 0, 0))
    if jit:
        per_ex = fad.jit(per_ex)
    got = per_ex(PARAMS, X, Y)
    rows = [fad.grad(example_loss)(PARAMS, X[i], Y[i]) for i in range(N)]
    for leaf, *leaves in zip(tree_leaves(got), *map(tree_leaves, rows)):
        np.testing.assert_allclose(leaf, np.stack(leaves), atol=1e-12)
    mean_grad = fad.grad(loss)(PARAMS, X, Y)
    for leaf, want in zip(tree_leaves(got), tree_leaves(mean_grad)):
        np.testing.assert_allclose(leaf.mean(0), want, atol=1e-12)


def test_hessian_vector_products_three_ways():
    Hm = fad.hessian(flat_loss)(THETA)
    np.testing.assert_allclose(Hm, Hm.T, atol=1e-12)
    v = RNG.standard_normal(THETA.size)
    np.testing.assert_allclose(fad.hvp(flat_loss, (THETA,), (v,)), Hm @ v, atol=1e-10)
    rev_over_rev = fad.grad(lambda t: fnp.vdot(fad.grad(flat_loss)(t), v))(THETA)
    np.testing.assert_allclose(rev_over_rev, Hm @ v, atol=1e-10)
    np.testing.assert_allclose(fad.jacfwd(fad.jacfwd(flat_loss))(THETA), Hm, atol=1e-10)


def test_gauss_newton_vector_products():
    def net_out(theta):
        return predict(unflatten(theta), X).ravel()

    def loss_of_logits(z):
        z = z.reshape(N, C)
        return -fnp.mean((z - fss.logsumexp(z, axis=-1, keepdims=True))[fnp.arange(N), Y])

    def ggn_vp(v):
        out, jv = fad.jvp(net_out, (THETA,), (v,))
        hl_jv = fad.hvp(loss_of_logits, (out,), (jv,))
        return fad.vjp(net_out, THETA)[1](hl_jv)[0]

    J = fad.jacrev(net_out)(THETA)
    G = J.T @ fad.hessian(loss_of_logits)(net_out(THETA)) @ J
    v = RNG.standard_normal(THETA.size)
    np.testing.assert_allclose(ggn_vp(v), G @ v, atol=1e-10)
    np.testing.assert_allclose(fad.vmap(ggn_vp)(np.eye(THETA.size)[:4]), G[:, :4].T, atol=1e-10)


def newton_sqrt(a):
    """Newton's method for sqrt(a), with Python control flow on concrete values."""
    x = a
    for _ in range(60):
        fx = x * x - a
        if abs(fx) < 1e-13:   # (bool() of a comparison: float(fx) would raise, issue 10 #9)
            break
        x = x - fx / (2 * x)
    return x


def test_newton_solver_under_grad_and_jvp():
    np.testing.assert_allclose(fad.grad(newton_sqrt)(4.0), 0.25, rtol=1e-9)
    np.testing.assert_allclose(fad.grad(fad.grad(newton_sqrt))(4.0), -1 / 32, rtol=1e-6)
    y, t = fad.jvp(newton_sqrt, (9.0,), (1.0,))
    np.testing.assert_allclose((y, t), (3.0, 1 / 6), rtol=1e-9)


def test_plain_numpy_code_is_traced():
    def model(w):   # written against numpy, not fad.numpy
        h = np.tanh(np.dot(X, w))
        return np.mean(np.logaddexp(0.0, -h)) + 0.1 * np.sum(np.square(w))
    w = RNG.standard_normal(D)
    check_grads(model, (w,), order=2)
    np.testing.assert_allclose(fad.jit(model)(w), model(w))
    per_ex = fad.vmap(fad.grad(lambda w, x: np.sum(np.sin(x * w) * np.exp(w))),
                      in_axes=(None, 0))(w, X)
    np.testing.assert_allclose(per_ex, np.stack([np.cos(r * w) * r * np.exp(w)
                                                 + np.sin(r * w) * np.exp(w) for r in X]))
    check_vmap(lambda a: np.cumsum(np.sort(a)[::-1]), (X,))
    check_grads(lambda a: np.einsum("ij,ij->", a, np.clip(a, -0.5, 0.5)), (X,), order=1)
    with pytest.raises(TypeError, match=r"cannot trace numpy\.\w+"):
        fad.grad(lambda a: np.vander(a).sum())(w)


_INDICES = [(1,), (slice(1, 3),), (Ellipsis, 2), (None, 1), (np.array([0, 2, 2]),),
            (slice(None), np.array([4, 0])), (np.array([0, 1]), np.array([3, 4])),
            (slice(None, None, -1),), (slice(None, None, 2), slice(1, None, 2)),
            (1, np.array([0, 0, 1])), (np.array([0, 2]), slice(None), None),
            (np.array([True, False, True, True]),)]


@pytest.mark.parametrize("idx", _INDICES, ids=range(len(_INDICES)))
def test_indexing_and_at_updates_in_grad_vmap_jit(idx):
    A = RNG.standard_normal((4, 5))
    B = RNG.standard_normal((3, 4, 5))
    np.testing.assert_allclose(fad.jit(lambda a: a[idx])(A), A[idx])
    check_grads(lambda a: a[idx], (A,), order=1)
    check_vmap(lambda a: a[idx], (B,))
    vals = RNG.standard_normal(np.shape(A[idx]))
    for op, np_ufunc in [("set", None), ("add", np.add), ("multiply", np.multiply),
                         ("min", np.minimum), ("max", np.maximum)]:
        want = A.copy()
        if np_ufunc is None:
            want[idx] = vals
        else:
            np_ufunc.at(want, idx, vals)
        upd = lambda a, v, op=op: getattr(fnp.at(a)[idx], op)(v)  # noqa: E731
        np.testing.assert_allclose(fad.jit(upd)(A, vals), want)
        check_vmap(upd, (B, np.stack([vals] * 3)), in_axes=(0, 0))
        check_vmap(upd, (A, np.stack([vals] * 3)), in_axes=(None, 0))
        if op in ("set", "add", "multiply"):
            check_grads(upd, (A, vals), order=1)


def test_scatter_add_with_duplicates_under_grad():
    idx = np.array([0, 0, 2])
    g = fad.grad(lambda v: fnp.sum(fnp.at(fnp.zeros(3))[idx].add(v) ** 2))(np.array([1., 2., 3.]))
    np.testing.assert_allclose(g, [6.0, 6.0, 6.0])   # d/dv of (v0+v1)^2 + v2^2
