"""Jacobians, Hessians and Hessian-vector products against closed forms."""
import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fad
import fad.numpy as fnp
from fad import tree_util

X3 = np.array([0.3, -1.2, 0.7])
A = np.array([[1.0, 2.0, -1.0], [0.5, 3.0, 0.0], [4.0, -2.0, 1.5]])


def quadratic(x):
    """x^T A x, written with broadcasting and a reduction."""
    return fnp.sum(fnp.reshape(x, (3, 1)) * A * x)


def logsumexp(x):
    return fnp.log(fnp.sum(fnp.exp(x)))


def softmax(x):
    e = fnp.exp(x)
    return e / fnp.sum(e)


def np_softmax(x):
    e = np.exp(x)
    return e / e.sum()


@tree_util.register_dataclass
@dataclasses.dataclass
class Layer:
    w: object
    b: object


JACOBIANS = [fad.jacfwd, fad.jacrev]


# -- closed forms ----------------------------------------------------------------------------

@pytest.mark.parametrize("jac", JACOBIANS)
def test_jacobian_of_elementwise_is_diagonal(jac):
    np.testing.assert_allclose(jac(fnp.sin)(X3), np.diag(np.cos(X3)))


@pytest.mark.parametrize("jac", JACOBIANS)
def test_jacobian_of_softmax(jac):
    s = np_softmax(X3)
    np.testing.assert_allclose(jac(softmax)(X3), np.diag(s) - np.outer(s, s), atol=1e-12)


def test_hessian_of_quadratic():
    np.testing.assert_allclose(fad.hessian(quadratic)(X3), A + A.T, atol=1e-12)
    np.testing.assert_allclose(fad.jacrev(fad.jacrev(quadratic))(X3), A + A.T, atol=1e-12)
    np.testing.assert_allclose(fad.jacfwd(fad.jacfwd(quadratic))(X3), A + A.T, atol=1e-12)
    np.testing.assert_allclose(fad.jacrev(fad.jacfwd(quadratic))(X3), A + A.T, atol=1e-12)


@settings(max_examples=10, deadline=None)
@given(hnp.arrays(np.float64, (3, 3), elements=st.floats(-3, 3)),
       hnp.arrays(np.float64, (3,), elements=st.floats(-3, 3)))
def test_hessian_of_quadratic_with_dot(M, x):
    f = lambda x: fnp.dot(x, fnp.dot(M, x))  # noqa: E731
    np.testing.assert_allclose(fad.hessian(f)(x), M + M.T, atol=1e-12)
    np.testing.assert_allclose(fad.jacrev(f)(x), (M + M.T) @ x, atol=1e-10)


def test_jacobian_of_matmul_layer():
    W = np.array([[1.0, -0.5, 2.0], [0.3, 0.0, -1.0]])
    f = lambda x: fnp.tanh(fnp.matmul(W, x))  # noqa: E731
    want = (1 - np.tanh(W @ X3) ** 2)[:, None] * W
    np.testing.assert_allclose(fad.jacfwd(f)(X3), want, atol=1e-12)
    np.testing.assert_allclose(fad.jacrev(f)(X3), want, atol=1e-12)


@settings(max_examples=10, deadline=None)
@given(hnp.arrays(np.float64, (4,), elements=st.floats(-3, 3)))
def test_hessian_of_logsumexp(x):
    s = np_softmax(x)
    np.testing.assert_allclose(fad.hessian(logsumexp)(x), np.diag(s) - np.outer(s, s),
                               atol=1e-12)


def test_third_derivatives_of_polynomials():
    c = np.array([1.0, -2.0, 0.5])
    f = lambda x: fnp.sum(c * x ** 4)  # noqa: E731
    t = fad.jacfwd(fad.jacfwd(fad.jacrev(f)))(X3)
    want = np.zeros((3, 3, 3))
    for i in range(3):
        want[i, i, i] = 24 * c[i] * X3[i]
    np.testing.assert_allclose(t, want, atol=1e-12)
    # x0 x1 x2: every mixed third derivative with distinct indices is 1
    g = lambda x: fnp.sum(fnp.reshape(x, (3, 1, 1)) * fnp.reshape(x, (1, 3, 1)) * x  # noqa
                          * E3)
    want = np.zeros((3, 3, 3))
    for p in [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]:
        want[p] = 1.0
    np.testing.assert_allclose(fad.jacrev(fad.hessian(g))(X3), want, atol=1e-12)


E3 = np.zeros((3, 3, 3))
E3[0, 1, 2] = 1.0      # x0 x1 x2


def test_scalar_third_derivative():
    f = lambda x: x ** 4 + 3 * x ** 2 + 2 * x  # noqa: E731
    assert fad.jacfwd(fad.jacrev(fad.jacfwd(f)))(2.0) == 48.0
    assert fad.hessian(f)(2.0) == 54.0


# -- agreement between the modes, shapes, pytrees -------------------------------------------

def _f_multi(x, y):
    return {"p": fnp.sin(x) * y, "q": fnp.sum(fnp.exp(x)) * fnp.sum(y * y)}


def test_jacfwd_equals_jacrev_with_argnums_and_pytree_outputs():
    y = np.array([[0.5, -0.1, 2.0]])
    for argnums in (0, 1, (0, 1)):
        jf = fad.jacfwd(_f_multi, argnums=argnums)(X3, y)
        jr = fad.jacrev(_f_multi, argnums=argnums)(X3, y)
        assert tree_util.tree_structure(jf) == tree_util.tree_structure(jr)
        for a, b in zip(tree_util.tree_leaves(jf), tree_util.tree_leaves(jr)):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, atol=1e-12)
    j = fad.jacrev(_f_multi, argnums=(0, 1))(X3, y)
    assert j["p"][0].shape == (1, 3, 3) and j["p"][1].shape == (1, 3, 1, 3)
    assert j["q"][0].shape == (3,) and j["q"][1].shape == (1, 3)
    np.testing.assert_allclose(j["q"][0], np.exp(X3) * (y * y).sum())
    np.testing.assert_allclose(j["q"][1], np.exp(X3).sum() * 2 * y)


@pytest.mark.parametrize("jac", JACOBIANS)
def test_jacobian_of_dataclass_input(jac):
    x = np.array([1.0, 2.0])
    layer = Layer(np.array([[1.0, 0.5], [-1.0, 2.0], [0.0, 1.0]]), np.zeros(3))
    j = jac(lambda p: fnp.tanh(fnp.sum(p.w * x, axis=1) + p.b))(layer)
    assert isinstance(j, Layer)
    h = np.tanh(layer.w @ x + layer.b)
    d = 1 - h ** 2
    np.testing.assert_allclose(j.b, np.diag(d), atol=1e-12)
    want_w = np.zeros((3, 3, 2))
    for i in range(3):
        want_w[i, i] = d[i] * x
    np.testing.assert_allclose(j.w, want_w, atol=1e-12)


@pytest.mark.parametrize("jac", JACOBIANS)
def test_jacobian_has_aux(jac):
    j, aux = jac(lambda x: (x ** 2, {"s": fnp.sum(x)}), has_aux=True)(X3)
    np.testing.assert_allclose(j, np.diag(2 * X3))
    np.testing.assert_allclose(aux["s"], X3.sum())
    assert isinstance(aux["s"], (np.ndarray, np.generic, float))


def test_hessian_has_aux_and_argnums():
    h, aux = fad.hessian(lambda x, y: (fnp.sum(x ** 3) * y, y), argnums=0, has_aux=True)(X3, 2.0)
    np.testing.assert_allclose(h, np.diag(12 * X3))
    assert aux == 2.0
    hxy = fad.hessian(lambda x, y: fnp.sum(x * x * y), argnums=(0, 1))(X3, 2.0)
    np.testing.assert_allclose(hxy[0][0], np.diag(np.full(3, 4.0)))
    np.testing.assert_allclose(hxy[0][1], 2 * X3)
    np.testing.assert_allclose(hxy[1][0], 2 * X3)
    assert hxy[1][1] == 0.0


@pytest.mark.parametrize("jac", JACOBIANS)
def test_jacobian_of_integer_output_is_zero(jac):
    j = jac(lambda x: (x * 2.0, fnp.sum(x > 0)))(X3)
    np.testing.assert_allclose(j[0], 2 * np.eye(3))
    assert j[1].shape == (3,) and not j[1].any()


@pytest.mark.parametrize("jac", JACOBIANS)
def test_holomorphic_jacobian(jac):
    z = np.array([1.0 + 1.0j, 2.0 - 0.5j])
    np.testing.assert_allclose(jac(lambda z: z ** 3, holomorphic=True)(z), np.diag(3 * z ** 2))


@pytest.mark.parametrize("jac", JACOBIANS)
def test_jacobians_trace_the_function_once_per_leaf(jac):
    """The basis is mapped with vmap, not looped over in Python."""
    calls = []

    def f(x):
        calls.append(1)
        return fnp.sin(x) * 2.0
    j = jac(f)(np.linspace(0.0, 1.0, 7))
    assert len(calls) == 1
    np.testing.assert_allclose(j, np.diag(2 * np.cos(np.linspace(0.0, 1.0, 7))))


# -- hvp -------------------------------------------------------------------------------------

def test_hvp_matches_hessian_times_vector():
    f = lambda x: logsumexp(x) + quadratic(x) * 0.5 + fnp.sum(fnp.sin(x) ** 2)  # noqa: E731
    H = fad.hessian(f)(X3)
    for v in (np.array([1.0, 0.0, 0.0]), np.array([0.3, -2.0, 1.1])):
        np.testing.assert_allclose(fad.hvp(f, (X3,), (v,)), H @ v, atol=1e-12)


def test_hvp_several_arguments():
    f = lambda x, y: fnp.sum(x ** 3 * y)  # noqa: E731
    vx, vy = np.ones(3), 1.0
    gx, gy = fad.hvp(f, (X3, 2.0), (vx, vy))
    # d/dx: 3x^2 y -> H_xx v + H_xy vy = 6 x y vx + 3x^2 vy ; d/dy: sum(x^3) -> sum(3x^2 vx)
    np.testing.assert_allclose(gx, 6 * X3 * 2.0 * vx + 3 * X3 ** 2 * vy)
    np.testing.assert_allclose(gy, np.sum(3 * X3 ** 2 * vx))


def test_hessian_of_pytree_input():
    f = lambda d: fnp.sum(d["a"] ** 2) * d["b"]  # noqa: E731
    h = fad.hessian(f)({"a": X3, "b": 2.0})
    np.testing.assert_allclose(h["a"]["a"], 4.0 * np.eye(3))
    np.testing.assert_allclose(h["a"]["b"], 2 * X3)
    np.testing.assert_allclose(h["b"]["a"], 2 * X3)
    assert h["b"]["b"] == 0.0
