"""Bug bash: deep compositions of transformations in every order, checked against
closed forms, Python loops and finite differences."""
import collections
import dataclasses

import numpy as np
import pytest

import fad
import fad.numpy as fnp
from fad.test_util import check_grads, check_vmap
from fad.tree_util import register_dataclass

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 3))
x = RNG.standard_normal(3)


def f(v):
    return fnp.sum(fnp.sin(v) ** 2 * fnp.cos(v))


def loop(fn, xs):
    return np.stack([fn(r) for r in xs])


def test_vmap_of_jacfwd_and_jacrev_of_vmap():
    np.testing.assert_allclose(fad.vmap(fad.jacfwd(fnp.sin))(X),
                               np.stack([np.diag(np.cos(r)) for r in X]))
    j = fad.jacrev(fad.vmap(fnp.sin))(X)
    assert j.shape == (4, 3, 4, 3)
    np.testing.assert_allclose(j.reshape(12, 12), np.diag(np.cos(X).ravel()))


def test_vmap_of_vmap_of_grad_with_pytree_in_axes():
    def g(p, z):
        return fnp.sum(p["a"] * z) + p["b"] * fnp.sum(z ** 2)
    inner = fad.vmap(fad.grad(g), in_axes=({"a": 0, "b": None}, 0))
    outer = fad.vmap(inner, in_axes=({"a": None, "b": 0}, 1))
    p = {"a": RNG.standard_normal((2, 3)), "b": RNG.standard_normal(5)}
    z = RNG.standard_normal((2, 5, 3))
    got = outer(p, z)
    for j in range(5):
        for i in range(2):
            want = fad.grad(g)({"a": p["a"][i], "b": p["b"][j]}, z[i, j])
            np.testing.assert_allclose(got["a"][j, i], want["a"])
            np.testing.assert_allclose(got["b"][j, i], want["b"])


def test_grad_of_jit_of_vmap_and_jit_of_hessian():
    g = fad.grad(lambda v: fnp.sum(fad.jit(fad.vmap(fnp.sin))(v)))(X)
    np.testing.assert_allclose(g, np.cos(X))
    np.testing.assert_allclose(fad.jit(fad.hessian(f))(x), fad.hessian(f)(x))
    np.testing.assert_allclose(fad.hessian(f)(x), fad.jacrev(fad.jacrev(f))(x), atol=1e-12)


def test_linearize_and_vjp_with_aux_under_vmap():
    def lin(v):
        _, f_jvp = fad.linearize(fnp.sin, v)
        return f_jvp(fnp.ones_like(v))
    np.testing.assert_allclose(fad.vmap(lin)(X), np.cos(X))

    def pull(v):
        y, f_vjp, aux = fad.vjp(lambda u: (fnp.sin(u), fnp.cos(u)), v, has_aux=True)
        return f_vjp(fnp.ones_like(y))[0], aux
    ct, aux = fad.vmap(pull)(X)
    np.testing.assert_allclose(ct, np.cos(X))
    np.testing.assert_allclose(aux, np.cos(X))


def test_closures_called_later_under_other_transformations():
    _, f_vjp = fad.vjp(fnp.sin, x)
    _, f_jvp = fad.linearize(fnp.sin, x)
    np.testing.assert_allclose(fad.vmap(lambda c: f_vjp(c)[0])(np.eye(3)), np.diag(np.cos(x)))
    np.testing.assert_allclose(fad.vmap(f_jvp)(np.eye(3)), np.diag(np.cos(x)))
    np.testing.assert_allclose(fad.jit(lambda c: f_vjp(c)[0])(x), np.cos(x) * x)
    np.testing.assert_allclose(fad.grad(lambda t: fnp.sum(f_jvp(t) ** 2))(x),
                               2 * np.cos(x) ** 2 * x)


@dataclasses.dataclass
class Linear:
    W: np.ndarray
    b: np.ndarray
    act: str = "tanh"


register_dataclass(Linear, data_fields=["W", "b"], meta_fields=["act"])


def _apply(layer, v):
    y = v @ layer.W + layer.b
    return fnp.tanh(y) if layer.act == "tanh" else y


def test_registered_dataclass_through_every_transformation():
    layer = Linear(RNG.standard_normal((3, 2)), RNG.standard_normal(2))
    loss = lambda lay, v: fnp.sum(_apply(lay, v) ** 2)  # noqa: E731
    g = fad.grad(loss)(layer, x)
    assert isinstance(g, Linear) and g.act == "tanh"
    check_grads(lambda W, b: loss(Linear(W, b), x), (layer.W, layer.b), order=2)
    per_ex = fad.vmap(fad.grad(loss), in_axes=(None, 0))(layer, X)
    np.testing.assert_allclose(per_ex.W, loop(lambda r: fad.grad(loss)(layer, r).W, X))
    jg = fad.jit(fad.grad(loss))(layer, x)
    np.testing.assert_allclose(jg.W, g.W)
    h = fad.hessian(loss)(layer, x)
    assert h.W.W.shape == (3, 2, 3, 2) and h.b.W.shape == (2, 3, 2)
    mapped = Linear(RNG.standard_normal((5, 3, 2)), layer.b)
    out = fad.vmap(_apply, in_axes=(Linear(0, None, "tanh"), None))(mapped, x)
    np.testing.assert_allclose(out, loop(lambda W: _apply(Linear(W, layer.b), x), mapped.W))
    # the static field is part of jit's cache key
    j = fad.jit(_apply)
    np.testing.assert_allclose(j(Linear(layer.W, layer.b, "id"), x), x @ layer.W + layer.b)
    np.testing.assert_allclose(j(layer, x), np.tanh(x @ layer.W + layer.b))


Pt = collections.namedtuple("Pt", "a b")


def test_namedtuples_in_and_out():
    h = lambda p: fnp.sum(fnp.sin(p.a) * p.b)  # noqa: E731
    g = fad.grad(h)(Pt(x, x))
    assert isinstance(g, Pt)
    np.testing.assert_allclose(g.a, np.cos(x) * x)
    check_vmap(h, (Pt(X, X),))
    out = fad.jit(lambda v: Pt(v, 2 * v))(x)
    assert isinstance(out, Pt)
    np.testing.assert_allclose(out.b, 2 * x)


def test_three_level_nesting_with_closures():
    got = fad.vmap(lambda s: fad.grad(
        lambda a: fad.vmap(lambda r: fnp.sum(r * a * s))(X).sum())(1.0))(x)
    np.testing.assert_allclose(got, X.sum() * x)
    assert fad.grad(lambda a: a * fad.grad(lambda b: a + b)(1.0))(2.0) == 1.0
    np.testing.assert_allclose(fad.grad(fad.jit(fad.grad(fad.jit(lambda a: a ** 4))))(2.0), 48.0)
    j = fad.jacfwd(fad.jit(fad.vmap(fad.grad(lambda a: fnp.sum(fnp.sin(a) ** 2)))))(X)
    np.testing.assert_allclose(j.reshape(12, 12), np.diag(2 * np.cos(2 * X).ravel()),
                               atol=1e-12)


def test_jit_static_argument_by_position_or_keyword():
    fn = lambda v, n: fnp.zeros(n) + v  # noqa: E731
    by_num = fad.jit(fn, static_argnums=1)
    by_name = fad.jit(fn, static_argnames="n")
    for jitted in (by_num, by_name):
        np.testing.assert_allclose(jitted(1.0, 3), np.ones(3))
        np.testing.assert_allclose(jitted(1.0, n=2), np.ones(2))
    neg = fad.jit(lambda v, n=2: fnp.zeros(n) + v, static_argnums=-1)
    assert neg(1.0).shape == (2,) and neg(1.0, n=4).shape == (4,) and neg(1.0, 3).shape == (3,)
    np.testing.assert_allclose(fad.grad(fad.jit(lambda a, n: a ** n, static_argnames="n"))(
        2.0, n=3), 12.0)


def test_jacrev_allow_int_gives_float0_blocks():
    jw, jn = fad.jacrev(lambda w, n: w * n, argnums=(0, 1), allow_int=True)(
        np.ones(2), np.arange(2))
    np.testing.assert_allclose(jw, np.diag([0.0, 1.0]))
    assert jn.shape == (2, 2) and jn.dtype == fad.core.dtypes.float0


@pytest.mark.parametrize("outer", ["vmap", "jit", "grad"])
def test_dynamic_integer_index_inside_transformations(outer):
    A = RNG.standard_normal((3, 4))
    if outer == "vmap":   # a traced array indexed by a batched index
        got = fad.vmap(lambda a, n: a[n], in_axes=(0, 0))(np.stack([A, 2 * A]),
                                                          np.array([0, -1]))
        np.testing.assert_allclose(got, np.stack([A[0], 2 * A[-1]]))
        # an unmapped NumPy table: NumPy's own indexing cannot take a tracer, fnp.take can
        got = fad.vmap(lambda n: fnp.take(A, n, axis=0))(np.array([0, -1, 2]))
        np.testing.assert_allclose(got, A[[0, -1, 2]])
    elif outer == "jit":
        for n in (1, -1):
            np.testing.assert_allclose(fad.jit(lambda a, i: a[i])(A, n), A[n])
        np.testing.assert_allclose(fad.jit(lambda a, i: a.at[i].add(1.0))(A, -1)[-1], A[-1] + 1)
        assert fad.jit(lambda i: (i < 0, i == 2))(1) == (False, False)
    else:
        g = fad.grad(lambda a, i: a[i].sum())(A, 2)
        np.testing.assert_allclose(g, np.eye(3)[2][:, None] * np.ones(4))


def _scalar(v):
    return fnp.sum(fnp.tanh(v) * fnp.exp(-v ** 2) + fnp.sqrt(1.0 + v ** 2))


_GRAD_ORDERS = {
    "vmap.grad": lambda g: fad.vmap(fad.grad(g)),
    "jit.vmap.grad": lambda g: fad.jit(fad.vmap(fad.grad(g))),
    "vmap.jit.grad": lambda g: fad.vmap(fad.jit(fad.grad(g))),
    "vmap.grad.jit": lambda g: fad.vmap(fad.grad(fad.jit(g))),
    "jit.vmap.jit.grad.jit": lambda g: fad.jit(fad.vmap(fad.jit(fad.grad(fad.jit(g))))),
    "vmap.jacrev": lambda g: fad.vmap(fad.jacrev(g)),
    "vmap.jacfwd": lambda g: fad.vmap(fad.jacfwd(g)),
    "vmap(out_axes=1).grad.T": lambda g: lambda v: fad.vmap(fad.grad(g), out_axes=1)(v).T,
    "vmap(in_axes=1).grad.T": lambda g: lambda v: fad.vmap(fad.grad(g), in_axes=1)(v.T),
    "grad.sum.vmap": lambda g: fad.grad(lambda v: fnp.sum(fad.vmap(g)(v))),
    "linearize.vmap": lambda g: lambda v: fad.linearize(
        lambda u: fad.vmap(fad.grad(g))(u), v)[0],
}

_HESS_ORDERS = {
    "vmap.hessian": lambda g: fad.vmap(fad.hessian(g)),
    "vmap.jacrev.jacfwd": lambda g: fad.vmap(fad.jacrev(fad.jacfwd(g))),
    "vmap.jacfwd.jacfwd": lambda g: fad.vmap(fad.jacfwd(fad.jacfwd(g))),
    "vmap.jacrev.jacrev": lambda g: fad.vmap(fad.jacrev(fad.jacrev(g))),
    "jit.vmap.hessian.jit": lambda g: fad.jit(fad.vmap(fad.hessian(fad.jit(g)))),
    "vmap(hvp) columns": lambda g: lambda v: fad.vmap(lambda row: fad.vmap(
        lambda e: fad.hvp(g, (row,), (e,)))(np.eye(3)))(v),
    "vmap(grad.jvp.grad) columns": lambda g: lambda v: fad.vmap(lambda row: fad.vmap(
        lambda e: fad.jvp(fad.grad(g), (row,), (e,))[1])(np.eye(3)))(v),
}


@pytest.mark.parametrize("order", sorted(_GRAD_ORDERS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_per_row_gradients_in_every_order(order, dtype):
    xs = X.astype(dtype)
    got = _GRAD_ORDERS[order](_scalar)(xs)
    want = loop(fad.grad(_scalar), X)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("order", sorted(_HESS_ORDERS))
def test_per_row_hessians_in_every_order(order):
    got = _HESS_ORDERS[order](_scalar)(X)
    want = loop(fad.hessian(_scalar), X)   # itself checked by finite differences below
    np.testing.assert_allclose(got, want, atol=1e-12)
    np.testing.assert_allclose(want, np.transpose(want, (0, 2, 1)), atol=1e-12)


def test_scalar_test_function_derivatives_against_finite_differences():
    check_grads(_scalar, (x,), order=3)
