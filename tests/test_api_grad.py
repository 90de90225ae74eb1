"""Forward and reverse mode through the public API: jvp, linearize, vjp, grad,
value_and_grad, linear_transpose, stop_gradient — against closed forms and finite
differences, with argnums, has_aux, allow_int, holomorphic and pytrees."""
import dataclasses
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad import lax, tree_util
from fad.core.trace import Tracer
from fad.test_util import check_grads

X3 = np.array([0.3, -1.2, 0.7])


def poly(x):
    return x ** 4 + 3 * x ** 2 + 2 * x


class Pair(NamedTuple):
    w: object
    b: object


@tree_util.register_dataclass
@dataclasses.dataclass
class Params:
    w: object
    b: object


def _no_tracers(tree):
    return not any(isinstance(leaf, Tracer) for leaf in tree_util.tree_leaves(tree))


# -- grad: values, orders, closed forms ------------------------------------------------------

def test_poly_value_and_derivatives():
    # x^4 + 3x^2 + 2x at 2: value 32, f' = 4x^3+6x+2 = 46, f'' = 12x^2+6 = 54, f''' = 24x = 48
    assert poly(2.0) == 32.0
    assert fad.grad(poly)(2.0) == 46.0
    assert fad.grad(fad.grad(poly))(2.0) == 54.0
    assert fad.grad(fad.grad(fad.grad(poly)))(2.0) == 48.0
    assert fad.grad(fad.grad(fad.grad(fad.grad(poly))))(2.0) == 24.0


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=1, max_size=5), st.floats(-2, 2))
def test_grad_of_random_polynomial(coeffs, x):
    def p(x):
        return sum(c * x ** k for k, c in enumerate(coeffs))
    d1 = sum(k * c * x ** (k - 1) for k, c in enumerate(coeffs) if k >= 1)
    d3 = sum(k * (k - 1) * (k - 2) * c * x ** (k - 3) for k, c in enumerate(coeffs) if k >= 3)
    np.testing.assert_allclose(fad.grad(p)(x), d1, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(fad.grad(fad.grad(fad.grad(p)))(x), d3, rtol=1e-10, atol=1e-10)


def test_seed_examples_f1_f2():
    f1 = lambda x1, x2, x3: 3 * (x1 ** 2 + x2 * x3)  # noqa: E731
    assert f1(2.0, 3.0, 4.0) == 48.0
    assert fad.grad(f1, argnums=(0, 1, 2))(2.0, 3.0, 4.0) == (12.0, 12.0, 9.0)

    def f2(a, b, c):
        return fnp.sin(a) + a * b + fnp.exp(b + c)
    np.testing.assert_allclose(fad.grad(f2, argnums=(0, 1, 2))(0.0, 0.0, 0.0), (1.0, 1.0, 1.0))


def test_seed_examples_with_indexing_and_stack():
    f2 = lambda x: fnp.sin(x[0]) + x[0] * x[1] + fnp.exp(x[1] + x[2])  # noqa: E731
    np.testing.assert_allclose(fad.grad(f2)(np.zeros(3)), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(fad.jacfwd(f2)(np.zeros(3)), [1.0, 1.0, 1.0])
    f4 = lambda x: fnp.stack([x ** 2, x ** 3])  # noqa: E731
    assert fad.vjp(f4, 2.0)[1](np.array([1.0, 1.0]))[0] == 16.0
    np.testing.assert_allclose(fad.jvp(f4, (2.0,), (1.0,))[1], [4.0, 12.0])


def test_grad_of_elementwise_chain_matches_closed_form():
    f = lambda x: fnp.sum(fnp.tanh(fnp.sin(x)) * fnp.exp(x))  # noqa: E731
    s = np.sin(X3)
    want = (1 - np.tanh(s) ** 2) * np.cos(X3) * np.exp(X3) + np.tanh(s) * np.exp(X3)
    np.testing.assert_allclose(fad.grad(f)(X3), want, rtol=1e-12)


def test_grad_check_grads_second_order():
    def f(x, y):
        return fnp.sum(fnp.log(1.0 + fnp.exp(x * y)) + fnp.cos(x) / (2.0 + y * y))
    check_grads(f, (X3, np.array([0.5, 0.1, -0.4])), order=2)


def test_grad_preserves_dtype_float32():
    g = fad.grad(lambda x: fnp.sum(x * x))(np.ones(3, np.float32))
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 2.0)


def test_grad_of_constant_function_is_zero():
    g = fad.grad(lambda x, y: y * 2.0)(X3, 1.0)
    assert g.shape == (3,) and not g.any()


def test_python_control_flow_on_concrete_values():
    def f(x):
        return x * x if x > 0 else -x * x * x
    assert fad.grad(f)(3.0) == 6.0
    assert fad.grad(f)(-2.0) == -12.0
    assert fad.jvp(f, (-1.0,), (1.0,))[1] == -3.0


# -- argnums ---------------------------------------------------------------------------------

def test_argnums_int_tuple_negative():
    f = lambda x, y, z: x * y ** 2 * z ** 3  # noqa: E731
    assert fad.grad(f)(1.0, 2.0, 3.0) == 108.0
    assert fad.grad(f, argnums=1)(1.0, 2.0, 3.0) == 108.0
    assert fad.grad(f, argnums=-1)(1.0, 2.0, 3.0) == 108.0
    assert fad.grad(f, argnums=(2, 0))(1.0, 2.0, 3.0) == (108.0, 108.0)
    g = fad.grad(f, argnums=(0,))(1.0, 2.0, 3.0)
    assert isinstance(g, tuple) and g == (108.0,)


def test_kwargs_are_not_differentiated():
    f = lambda x, scale=1.0: scale * x ** 2  # noqa: E731
    assert fad.grad(f)(3.0, scale=2.0) == 12.0
    assert fad.value_and_grad(f)(3.0, scale=2.0) == (18.0, 12.0)


# -- has_aux ---------------------------------------------------------------------------------

def test_grad_has_aux_returns_plain_values():
    def f(x):
        return fnp.sum(x ** 2), {"norm": fnp.sum(x), "x": x}
    g, aux = fad.grad(f, has_aux=True)(X3)
    np.testing.assert_allclose(g, 2 * X3)
    np.testing.assert_allclose(aux["norm"], X3.sum())
    np.testing.assert_allclose(aux["x"], X3)
    assert _no_tracers(aux)


def test_value_and_grad_has_aux():
    (v, aux), g = fad.value_and_grad(lambda x: (x ** 3, x * 2.0), has_aux=True)(2.0)
    assert (v, aux, g) == (8.0, 4.0, 12.0)
    assert _no_tracers((v, aux, g))


def test_aux_of_inner_grad_is_plain_inside_outer_grad():
    seen = []

    def outer(y):
        g, aux = fad.grad(lambda x: (x * x * y, x + y), has_aux=True)(2.0)
        seen.append(aux)
        return g * aux       # aux still depends on the outer y: differentiable there
    # g = 4y, aux = 2 + y: d/dy (4y (2 + y)) = 8 + 8y
    assert fad.grad(outer)(3.0) == 32.0


def test_jvp_and_vjp_has_aux():
    out, t, aux = fad.jvp(lambda x: (fnp.sin(x), {"c": fnp.cos(x)}), (X3,), (np.ones(3),),
                          has_aux=True)
    np.testing.assert_allclose(t, np.cos(X3))
    np.testing.assert_allclose(aux["c"], np.cos(X3))
    assert _no_tracers(aux)
    out, f_vjp, aux = fad.vjp(lambda x: (x ** 2, [x * 3.0]), X3, has_aux=True)
    np.testing.assert_allclose(f_vjp(np.ones(3))[0], 2 * X3)
    np.testing.assert_allclose(aux[0], 3 * X3)
    assert _no_tracers(aux)


def test_aux_may_hold_non_arrays():
    g, aux = fad.grad(lambda x: (x * x, {"name": "sq", "x": x, "none": None}), has_aux=True)(3.0)
    assert g == 6.0 and aux == {"name": "sq", "x": 3.0, "none": None}
    j, aux = fad.jacrev(lambda x: (x * 2.0, ("tag", x)), has_aux=True)(X3)
    assert aux[0] == "tag"
    np.testing.assert_allclose(aux[1], X3)


def test_has_aux_requires_a_pair():
    with pytest.raises(TypeError, match="has_aux=True needs the function to return a pair"):
        fad.grad(lambda x: x * 2.0, has_aux=True)(1.0)


# -- allow_int -------------------------------------------------------------------------------

def test_allow_int_gives_float0_zero_gradients():
    f = lambda x, n, mask: x * n + fnp.sum(fnp.where(mask, x, 0.0))  # noqa: E731
    gx, gn, gm = fad.grad(f, argnums=(0, 1, 2), allow_int=True)(2.0, 3, np.array([True, False]))
    assert gx == 4.0
    assert gn.dtype == fad.float0 and gn.shape == ()
    assert gm.dtype == fad.float0 and gm.shape == (2,)


def test_allow_int_in_pytree():
    g = fad.grad(lambda p: fnp.sum(p["x"] * p["k"]), allow_int=True)({"x": 2.0,
                                                                       "k": np.arange(3)})
    assert g["x"] == 3.0
    assert g["k"].dtype == fad.float0 and g["k"].shape == (3,)


def test_jvp_with_integer_primal_has_float0_tangent():
    out, t = fad.jvp(lambda x, n: x * n, (2.0, 3), (1.0, np.zeros((), fad.float0)))
    assert (out, t) == (6.0, 3.0)


# -- holomorphic / complex -------------------------------------------------------------------

def test_holomorphic_grad():
    z = 1.0 + 2.0j
    np.testing.assert_allclose(fad.grad(lambda z: z ** 3, holomorphic=True)(z), 3 * z ** 2)
    np.testing.assert_allclose(fad.grad(fnp.exp, holomorphic=True)(z), np.exp(z))
    np.testing.assert_allclose(fad.grad(lambda z: fnp.sin(z) * z, holomorphic=True)(z),
                               np.cos(z) * z + np.sin(z))


def test_holomorphic_grad_of_array_sum():
    z = np.array([1.0 + 1.0j, -0.5 + 2.0j])
    g = fad.grad(lambda z: fnp.sum(z * z), holomorphic=True)(z)
    np.testing.assert_allclose(g, 2 * z)


def test_complex_jvp_and_vjp():
    z = np.array([1.0 + 2.0j, 0.5 - 1.0j])
    t = np.array([1.0 - 1.0j, 2.0 + 0.5j])
    _, jt = fad.jvp(lambda z: z * z, (z,), (t,))
    np.testing.assert_allclose(jt, 2 * z * t)
    _, f_vjp = fad.vjp(lambda z: z * z, z)
    np.testing.assert_allclose(f_vjp(t)[0], 2 * z * t)   # holomorphic: the plain transpose


def test_grad_of_real_function_of_real_input_via_complex_intermediate():
    # |exp(i x)|^2 = 1 regardless of x
    f = lambda x: fnp.sum(lax.real(fnp.exp(1j * x) * fnp.exp(-1j * x)))  # noqa: E731
    np.testing.assert_allclose(fad.grad(f)(X3), np.zeros(3), atol=1e-12)


# -- pytrees ---------------------------------------------------------------------------------

def test_grad_pytrees_dict_tuple_namedtuple_dataclass():
    w, b = np.array([1.0, -2.0]), 0.5

    def loss(p):
        return fnp.sum(p.w ** 2) * p.b

    for params in (Pair(w, b), Params(w, b)):
        g = loss_grad = fad.grad(loss)(params)
        assert type(g) is type(params)
        np.testing.assert_allclose(loss_grad.w, 2 * w * b)
        np.testing.assert_allclose(loss_grad.b, np.sum(w ** 2))
    g = fad.grad(lambda d: d["a"][0] * d["a"][1] + fnp.sum(d["b"]))({"a": (2.0, 3.0),
                                                                     "b": np.ones(2)})
    assert g["a"] == (3.0, 2.0)
    np.testing.assert_allclose(g["b"], np.ones(2))


def test_jvp_pytree_in_and_out():
    primals = ({"x": 2.0, "y": X3},)
    tangents = ({"x": 1.0, "y": np.ones(3)},)
    out, t = fad.jvp(lambda d: Pair(d["x"] * d["y"], fnp.sum(d["y"])), primals, tangents)
    assert isinstance(out, Pair) and isinstance(t, Pair)
    np.testing.assert_allclose(t.w, X3 + 2.0)
    np.testing.assert_allclose(t.b, 3.0)


def test_vjp_pytree_in_and_out():
    out, f_vjp = fad.vjp(lambda p, s: {"o": p.w * s, "n": fnp.sum(p.b)},
                         Params(X3, np.ones(2)), 2.0)
    cts = f_vjp({"o": np.ones(3), "n": 1.0})
    assert isinstance(cts, tuple) and len(cts) == 2 and isinstance(cts[0], Params)
    np.testing.assert_allclose(cts[0].w, 2.0 * np.ones(3))
    np.testing.assert_allclose(cts[0].b, np.ones(2))
    np.testing.assert_allclose(cts[1], X3.sum())


# -- jvp / linearize / vjp -------------------------------------------------------------------

def test_jvp_matches_closed_form():
    out, t = fad.jvp(lambda x, y: fnp.sin(x) * y, (X3, 2.0), (np.ones(3), 0.5))
    np.testing.assert_allclose(out, np.sin(X3) * 2.0)
    np.testing.assert_allclose(t, np.cos(X3) * 2.0 + np.sin(X3) * 0.5)


def test_seed_vjp_jvp_f4():
    f4 = lambda x: (x ** 2, x ** 3)  # noqa: E731
    assert fad.vjp(f4, 2.0)[1]((1.0, 1.0)) == (16.0,)
    assert fad.jvp(f4, (2.0,), (1.0,))[1] == (4.0, 12.0)


def test_linearize_matches_jvp_and_runs_forward_once():
    calls = []

    def f(x, y):
        calls.append(1)
        return {"a": fnp.exp(x) * y, "b": fnp.sum(x * x)}
    y, f_jvp = fad.linearize(f, X3, 0.7)
    tangents = [(np.ones(3), 0.0), (np.array([0.2, -1.0, 3.0]), 1.5)]
    got = [f_jvp(tx, ty) for tx, ty in tangents]
    assert len(calls) == 1          # f_jvp does not run f again
    for (tx, ty), g in zip(tangents, got):
        _, want = fad.jvp(f, (X3, 0.7), (tx, ty))
        np.testing.assert_allclose(g["a"], want["a"])
        np.testing.assert_allclose(g["b"], want["b"])
    np.testing.assert_allclose(y["a"], np.exp(X3) * 0.7)


def test_linearize_has_aux():
    y, f_jvp, aux = fad.linearize(lambda x: (fnp.sin(x), x * 2.0), X3, has_aux=True)
    np.testing.assert_allclose(f_jvp(np.ones(3)), np.cos(X3))
    np.testing.assert_allclose(aux, 2 * X3)


def test_vjp_returns_tuple_per_primal():
    out, f_vjp = fad.vjp(lambda x, y: x * y, X3, 2.0)
    ct = f_vjp(np.ones(3))
    assert isinstance(ct, tuple) and len(ct) == 2
    np.testing.assert_allclose(ct[0], 2.0)
    np.testing.assert_allclose(ct[1], X3.sum())


def test_vjp_is_transpose_of_jvp():
    check_grads(lambda x, y: (fnp.tanh(x * y), fnp.sum(fnp.exp(x))), (X3, X3[::-1].copy()),
                order=1)


# -- linear_transpose ------------------------------------------------------------------------

def test_linear_transpose_matrix():
    A = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]])
    matvec = lambda x: fnp.sum(A * x, axis=1)  # noqa: E731
    t = fad.linear_transpose(matvec, np.zeros(3))
    ct = np.array([1.5, -2.0])
    (got,) = t(ct)
    np.testing.assert_allclose(got, A.T @ ct)


def test_linear_transpose_pytree():
    t = fad.linear_transpose(lambda d: {"s": d["a"] * 2.0 + d["b"], "t": -d["a"]},
                             {"a": np.zeros(3), "b": np.zeros(3)})
    (ct,) = t({"s": np.ones(3), "t": np.full(3, 2.0)})
    np.testing.assert_allclose(ct["a"], 0.0)
    np.testing.assert_allclose(ct["b"], 1.0)


# -- stop_gradient, nesting ------------------------------------------------------------------

def test_stop_gradient():
    assert fad.grad(lambda x: x * fad.stop_gradient(x))(3.0) == 3.0
    g = fad.grad(lambda d: fnp.sum(fad.stop_gradient(d)["a"] * d["a"]))({"a": X3})
    np.testing.assert_allclose(g["a"], X3)
    assert fad.grad(fad.grad(lambda x: fad.stop_gradient(x) * x * x))(2.0) == 4.0


def test_no_perturbation_confusion():
    assert fad.grad(lambda x: fad.grad(lambda y: x * y)(1.0))(2.0) == 1.0
    # d/dx [x * d/dy (x + y)] = d/dx [x] = 1
    assert fad.grad(lambda x: x * fad.grad(lambda y: x + y)(1.0))(5.0) == 1.0
    # closure over the outer tracer: d/dx [d/dy (x y^2)]_{y=x} = d/dx [2 x^2] = 4x
    assert fad.grad(lambda x: fad.grad(lambda y: x * y * y)(x))(2.0) == 8.0


def test_jvp_of_grad_and_grad_of_jvp():
    assert fad.jvp(fad.grad(poly), (2.0,), (1.0,)) == (46.0, 54.0)
    # d/dx of the directional derivative of x^3 (which is 3x^2) is 6x
    assert fad.grad(lambda x: fad.jvp(lambda y: y ** 3, (x,), (1.0,))[1])(2.0) == 12.0
    # jvp of jvp: second derivative of sin
    f2 = lambda x: fad.jvp(fnp.sin, (x,), (1.0,))[1]  # noqa: E731
    np.testing.assert_allclose(fad.jvp(f2, (0.3,), (1.0,))[1], -np.sin(0.3))


def test_vjp_of_vjp():
    def g(x):
        return fad.vjp(fnp.sin, x)[1](np.ones(3))[0]      # cos(x)
    out, f_vjp = fad.vjp(g, X3)
    np.testing.assert_allclose(out, np.cos(X3))
    np.testing.assert_allclose(f_vjp(np.ones(3))[0], -np.sin(X3))


def test_grad_outputs_are_not_tracers():
    g = fad.grad(lambda x: fnp.sum(fnp.sin(x)))(X3)
    assert isinstance(g, np.ndarray)
    out, t = fad.jvp(fnp.sin, (X3,), (np.ones(3),))
    assert isinstance(out, np.ndarray) and isinstance(t, np.ndarray)


# -- make_jaxpr ------------------------------------------------------------------------------

def test_make_jaxpr_of_grad_runs_and_matches():
    closed = fad.make_jaxpr(fad.grad(poly))(2.0)
    assert fad.eval_jaxpr(closed.jaxpr, closed.consts, 3.0)[0] == 4 * 27 + 18 + 2
    text = str(closed)
    assert "integer_pow" in text or "mul" in text


def test_make_jaxpr_pytrees_and_static_argnums():
    closed = fad.make_jaxpr(lambda d, n: d["a"] * n, static_argnums=1)({"a": X3}, 3)
    assert len(closed.jaxpr.invars) == 1
    np.testing.assert_allclose(fad.eval_jaxpr(closed, (), X3)[0], 3 * X3)


def test_grad_of_real_function_of_complex_input_follows_jax_convention():
    """grad returns the conjugate of the direction of steepest ascent, as JAX does:
    d|z|^2 -> 2 conj(z); Re(z^2) = x^2 - y^2 -> conj(2x - 2y i)."""
    z = 1.0 + 1.0j
    assert fad.grad(lambda z: fnp.abs(z) ** 2)(z) == pytest.approx(2 * np.conj(z))
    assert fad.grad(lambda z: fnp.real(z * z))(1.0 + 2.0j) == pytest.approx(2.0 + 4.0j)
    zs = np.array([1 + 2j, 3 - 1j])
    np.testing.assert_allclose(fad.grad(lambda z: fnp.sum(fnp.abs(z) ** 2))(zs),
                               2 * np.conj(zs))
