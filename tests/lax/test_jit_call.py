"""Issue 12, part 1: ``jit`` is a call primitive carrying its closed jaxpr (``jit_p``),
with a rule for every interpreter, so that ``grad(jit(f))``, ``vmap(jit(f))`` and a
``jit`` inside another run compiled programs rather than re-interpreting the body."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad.core.ir import typecheck_jaxpr
from fad.lax.control_flow import jit_p
from fad.test_util import check_grads, check_vmap

RNG = np.random.default_rng(0)
X = RNG.standard_normal(5)
A = RNG.standard_normal((4, 5))


def f(x):
    return fnp.sum(fnp.tanh(A @ x) ** 2) + fnp.sin(x[0]) * x[1]


def g(x, y):
    return fnp.sin(x) * y, fnp.exp(x) + y.sum()


def _eqn_names(closed):
    return [e.primitive.name for e in closed.jaxpr.eqns]


def test_jit_inside_a_transformation_is_one_call_equation():
    jf = fad.jit(f)
    closed = fad.make_jaxpr(lambda x: jf(x) * 2.0)(X)
    typecheck_jaxpr(closed)
    assert _eqn_names(closed)[0] == "jit"
    assert "tanh" in str(closed)   # (the body is printed, indented, inside the call)


@pytest.mark.parametrize("transform", ["grad", "hessian", "jacfwd", "jacrev", "vmap_grad"])
def test_transformations_of_jit_equal_those_of_the_function(transform):
    jf = fad.jit(f)
    make = {"grad": fad.grad, "hessian": fad.hessian, "jacfwd": fad.jacfwd,
            "jacrev": fad.jacrev,
            "vmap_grad": lambda h: (lambda xs: fad.vmap(fad.grad(h))(xs))}[transform]
    arg = X if transform != "vmap_grad" else np.stack([X, 2 * X, -X])
    for _ in range(3):   # (first, compiled, replayed: the staged layer too)
        np.testing.assert_allclose(make(jf)(arg), make(f)(arg), rtol=1e-12, atol=1e-12)
        with fad.disable_staging():
            np.testing.assert_allclose(make(jf)(arg), make(f)(arg), rtol=1e-12, atol=1e-12)


def test_multiple_outputs_pytrees_and_partial_derivatives():
    jg = fad.jit(g)
    y = RNG.standard_normal(5)
    for argnums in (0, 1, (0, 1)):
        want = fad.jacobian(lambda x, y: g(x, y)[0], argnums)(X, y)
        got = fad.jacobian(lambda x, y: jg(x, y)[0], argnums)(X, y)
        for a, b in zip(fad.tree_util.tree_leaves(got), fad.tree_util.tree_leaves(want)):
            np.testing.assert_allclose(a, b, rtol=1e-12)
    check_grads(lambda x, y: jg(x, y)[1].sum() * jg(x, y)[0].sum(), (X, y), order=2)


def test_vmap_of_jit_and_jit_of_vmap():
    jf = fad.jit(f)
    xs = RNG.standard_normal((3, 5))
    check_vmap(jf, (xs,))
    check_vmap(lambda x: fad.jit(fad.vmap(lambda r: r * x))(xs), (xs[0],))
    closed = fad.make_jaxpr(fad.vmap(jf))(xs)
    assert _eqn_names(closed) == ["jit"]   # (batched as a whole: its body batched once)
    typecheck_jaxpr(closed)


def test_jit_inside_jit_and_grad_of_it_run_compiled_bodies():
    inner = fad.jit(lambda x: fnp.exp(x) * fnp.sin(x))
    outer = fad.jit(lambda x: inner(x).sum() + inner(2 * x).sum())
    want = np.exp(X) * np.sin(X) + np.exp(2 * X) * np.sin(2 * X)
    np.testing.assert_allclose(outer(X), want.sum())
    np.testing.assert_allclose(fad.grad(outer)(X), fad.grad(
        lambda x: (fnp.exp(x) * fnp.sin(x)).sum() + (fnp.exp(2 * x) * fnp.sin(2 * x)).sum())(X))
    # grad(jit): the linearized program holds the call's linear part, one equation
    closed = fad.make_jaxpr(fad.grad(fad.jit(f)))(X)
    typecheck_jaxpr(closed)
    assert "jit" in _eqn_names(closed)


def test_closing_over_a_tracer():
    def outer(w):
        return fad.jit(lambda x: fnp.sum(x * w))(X)
    check_grads(outer, (X,), order=2)
    np.testing.assert_allclose(fad.grad(outer)(X), X)


def test_dce_drops_unused_outputs_of_a_call():
    jg = fad.jit(g)
    closed = fad.make_jaxpr(lambda x, y: jg(x, y)[0])(X, X)
    from fad.core.ir import dce_jaxpr
    pruned = dce_jaxpr(closed.jaxpr)
    (call,) = [e for e in pruned.eqns if e.primitive is jit_p]
    assert len(call.outvars) == 1
    assert "exp" not in str(call.params["jaxpr"])


def test_typecheck_looks_inside_calls():
    from fad.core.ir import JaxprTypeError, Var, new_eqn
    closed = fad.make_jaxpr(lambda x: fad.jit(fnp.sin)(x))(X)
    body = closed.jaxpr.eqns[0].params["jaxpr"]
    bad_eqn = body.jaxpr.eqns[0]
    wrong = new_eqn((bad_eqn.primitive, bad_eqn.invars,
                     [Var(fad.ShapedArray((7,), np.float64))], bad_eqn.params))
    body.jaxpr.eqns[0] = wrong
    with pytest.raises(JaxprTypeError, match="parameter jaxpr"):
        typecheck_jaxpr(closed)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(-2, 2), min_size=3, max_size=3),
       st.sampled_from(["sin", "tanh", "exp", "square"]))
def test_random_bodies_under_every_transformation(values, op):
    fn = getattr(fnp, op)

    def body(x):
        return fnp.sum(fn(x) * x) + fn(x[0])
    x = np.array(values)
    jb = fad.jit(body)
    np.testing.assert_allclose(jb(x), body(x), rtol=1e-12)
    np.testing.assert_allclose(fad.grad(jb)(x), fad.grad(body)(x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fad.hessian(jb)(x), fad.hessian(body)(x), rtol=1e-9,
                               atol=1e-12)
    t = np.ones(3)
    np.testing.assert_allclose(fad.jvp(jb, (x,), (t,))[1], fad.jvp(body, (x,), (t,))[1],
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fad.vmap(jb)(np.stack([x, x + 1])),
                               [body(x), body(x + 1)], rtol=1e-12)
