"""Issue 12, part 2: ``cond`` and ``switch`` equal their unrolled Python versions under
every transformation; errors name both types."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad import lax
from fad.core.ir import typecheck_jaxpr
from fad.test_util import check_grads, check_vmap

RNG = np.random.default_rng(1)
X = RNG.standard_normal(4)


def branchy(x, c):
    """cond on a value computed from ``x``: traced under jit and vmap."""
    return lax.cond(fnp.sum(x) > c, lambda v: fnp.sin(v) * v, lambda v: fnp.cos(v) + v, x)


def python_branchy(x, c):
    return np.sin(x) * x if np.sum(x) > c else np.cos(x) + x


@pytest.mark.parametrize("c", [-10.0, 10.0])
def test_cond_equals_python_under_every_transformation(c):
    f = lambda x: fnp.sum(branchy(x, c) ** 2)   # noqa: E731
    g = lambda x: fnp.sum(fnp.asarray(python_branchy(x, c)) ** 2) if False else None  # noqa
    want = python_branchy(X, c)
    np.testing.assert_allclose(branchy(X, c), want)
    np.testing.assert_allclose(fad.jit(lambda x: branchy(x, c))(X), want)
    check_grads(f, (X,), order=2)
    check_grads(fad.jit(f), (X,), order=2)
    np.testing.assert_allclose(fad.jit(fad.grad(f))(X), fad.grad(f)(X), rtol=1e-12)
    np.testing.assert_allclose(fad.jit(fad.hessian(f))(X), fad.hessian(f)(X), rtol=1e-10)
    typecheck_jaxpr(fad.make_jaxpr(fad.grad(fad.jit(f)))(X))
    typecheck_jaxpr(fad.make_jaxpr(fad.jit(fad.hessian(f)))(X))


def test_cond_with_a_batched_predicate_selects_per_example():
    xs = np.stack([X, -X - 5.0, X + 3.0])
    check_vmap(lambda x: branchy(x, 0.0), (xs,))
    per_ex = fad.vmap(fad.grad(lambda x: fnp.sum(branchy(x, 0.0))))(xs)
    for x, row in zip(xs, per_ex):
        np.testing.assert_allclose(row, fad.grad(lambda x: fnp.sum(branchy(x, 0.0)))(x))
    closed = fad.make_jaxpr(fad.vmap(lambda x: branchy(x, 0.0)))(xs)
    typecheck_jaxpr(closed)


def test_switch_clamps_and_picks():
    branches = [lambda v: v + 1.0, lambda v: v * 2.0, lambda v: -v]
    for i in range(-2, 5):
        want = branches[min(max(i, 0), 2)](X)
        np.testing.assert_allclose(lax.switch(i, branches, X), want)
        np.testing.assert_allclose(fad.jit(lambda i, x: lax.switch(i, branches, x))(i, X), want)
    idx = np.array([0, 2, 1, 5])
    got = fad.vmap(lambda i, x: lax.switch(i, branches, x))(idx, np.stack([X] * 4))
    for k, i in enumerate(idx):
        np.testing.assert_allclose(got[k], branches[min(i, 2)](X))


def test_pytrees_and_closures_over_traced_values():
    def f(x, w):
        return lax.cond(x[0] > 0, lambda p: (p["a"] * w, p["b"]), lambda p: (p["b"], p["a"]),
                        {"a": x, "b": x * 3.0})
    def loss(w):
        a, b = fad.jit(f)(X, w)
        return fnp.sum(a * b)
    check_grads(loss, (np.float64(0.7),), order=2)


def test_mismatched_branches_raise_naming_both_types():
    with pytest.raises(TypeError,
                       match=r"true_fun returns .*f64\[4\].*false_fun returns .*f64\[3\]"):
        fad.jit(lambda x: lax.cond(x[0] > 0, lambda v: v, lambda v: v[:3], x))(X)
    with pytest.raises(TypeError, match="pred must be a scalar boolean or integer"):
        fad.jit(lambda x: lax.cond(x, lambda v: v, lambda v: v, x))(X)


@settings(max_examples=15, deadline=None)
@given(st.floats(-3, 3), st.floats(-3, 3))
def test_random_thresholds_equal_python(c, shift):
    x = X + shift
    f = lambda x: fnp.sum(branchy(x, c) ** 2)   # noqa: E731
    want = np.sum(python_branchy(x, c) ** 2)
    np.testing.assert_allclose(fad.jit(f)(x), want, rtol=1e-12)
    np.testing.assert_allclose(fad.jit(fad.grad(f))(x), fad.grad(f)(x), rtol=1e-10, atol=1e-12)


def test_staged_equals_interpreted_bit_for_bit():
    """The staged layer records ``cond`` whole (a batched predicate under ``vmap``) and
    replays it; its results are the interpreter's, bit for bit, call after call."""
    xs = np.stack([X, -X - 5.0, X + 3.0])
    w = np.float64(0.7)
    loss = lambda w, x: fnp.sum(branchy(x * w, 0.0) ** 2)   # noqa: E731
    cases = [(lambda: fad.vmap(fad.grad(loss), in_axes=(None, 0)), (w, xs)),
             (lambda: fad.vmap(lambda w, x: fad.grad(loss)(w, x), in_axes=(None, 0)), (w, xs)),
             (lambda: fad.vmap(lambda x: branchy(x, 0.0)), (xs,))]
    for make, args in cases:
        with fad.disable_staging():
            want = make()(*args)
        f = make()
        for _ in range(3):
            np.testing.assert_array_equal(f(*args), want)
