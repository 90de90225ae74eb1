"""The linearization shortcut (``LinearizeTrace`` + ``linearize_rules``): it must record the
same linear map as the layered JVP-over-partial-evaluation path, fold chains of scalings
into one equation, and step aside for the cases it does not cover."""
from __future__ import annotations

import numpy as np
import pytest

import fad
import fad.numpy as fnp
from fad import lax
from fad.core.ir import typecheck_jaxpr
from fad.interpreters import partial_eval
from fad.interpreters.partial_eval import linearize_flat, linearize_rules
from fad.test_util import check_grads


def _linear_jaxpr(f, *primals):
    _, lin = linearize_flat(lambda *a: [f(*a)], list(primals))
    return lin.jaxpr


def _without_shortcut(monkeypatch):
    monkeypatch.setattr(partial_eval, "linearize_rules", {})


CASES = {
    "chain": lambda x: fnp.sum(fnp.tanh(fnp.sin(x) * 1.01) + 0.1),
    "reused_intermediate": lambda x: fnp.sum(fnp.sin(x) * 2.0 + fnp.sin(x) * fnp.cos(x)),
    "binary_tangents": lambda x: fnp.sum(x * fnp.exp(x) - x / (1.5 + x * x)),
    "broadcasting": lambda x: fnp.sum(x[:, None] * fnp.ones((3, 4)) + fnp.log1p(x * x)[:, None]),
    "float32": lambda x: fnp.sum(fnp.sin(x.astype(np.float32)) * np.float32(3)),
    "max_min_pow": lambda x: fnp.sum(fnp.maximum(x, 0.1) ** 3 + fnp.minimum(x, 0.2)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_shortcut_gives_the_layered_paths_gradient(name, monkeypatch):
    f = CASES[name]
    x = np.linspace(-0.9, 0.8, 3)
    fast = fad.grad(f)(x)
    if name != "float32":   # finite differences are too coarse in float32
        check_grads(f, (x,), order=2, modes=("rev",))
    _without_shortcut(monkeypatch)
    slow = fad.grad(f)(x)
    np.testing.assert_allclose(fast, slow, rtol=1e-13, atol=1e-15)
    assert np.asarray(fast).dtype == np.asarray(slow).dtype


def test_a_chain_of_elementwise_operations_linearizes_to_one_multiplication():
    def chain(x):
        for _ in range(20):
            x = fnp.tanh(fnp.sin(x) * 1.01) + 0.1
        return x
    x = np.linspace(-1, 1, 5)
    jaxpr = _linear_jaxpr(chain, x)           # dead equations removed (dce)
    typecheck_jaxpr(jaxpr.jaxpr)
    assert [e.primitive.name for e in jaxpr.eqns] == ["mul"]
    t = np.arange(5.0)
    _, jvp_out = fad.jvp(chain, (x,), (t,))
    np.testing.assert_allclose(fad.linearize(chain, x)[1](t), jvp_out, rtol=1e-13)


def test_folding_keeps_intermediates_that_are_read_again():
    def f(x):
        y = fnp.sin(x)
        return fnp.exp(y) * y          # y's own tangent is needed besides exp's
    x = np.array([0.3, -0.4])
    expected = np.cos(x) * np.exp(np.sin(x)) * (np.sin(x) + 1)
    np.testing.assert_allclose(fad.grad(lambda x: fnp.sum(f(x)))(x), expected, rtol=1e-14)


def test_no_folding_across_dtypes():
    x = np.linspace(0.1, 0.9, 4).astype(np.float32)
    f = lambda x: fnp.sin(fnp.sin(x) * np.float64(2.0).astype(np.float32))  # noqa: E731
    jaxpr = _linear_jaxpr(f, x)
    typecheck_jaxpr(jaxpr.jaxpr)
    assert all(v.aval.dtype == np.float32 for e in jaxpr.eqns for v in e.outvars)


def test_shortcut_steps_aside_under_other_transformations():
    # Under vmap and under an outer grad the primal values are tracers: the rules either
    # run on them through bind or decline; results must match closed forms.
    f = lambda x: fnp.sin(x) * fnp.cos(x)  # noqa: E731
    xs = np.linspace(-1, 1, 4)
    per_example = fad.vmap(fad.grad(f))(xs)
    np.testing.assert_allclose(per_example, np.cos(2 * xs), rtol=1e-14)
    second = fad.grad(fad.grad(f))(0.3)
    np.testing.assert_allclose(second, -2 * np.sin(0.6), rtol=1e-14)


def test_rules_of_several_results_are_only_checkpoints():
    # (a multiple-result rule returns lists: only remat's, which recomputes its body
    # linearizing it, has one)
    assert linearize_rules
    assert [p.name for p in linearize_rules if p.multiple_results] == ["remat"]
    assert lax.sin_p in linearize_rules and lax.reduce_sum_p in linearize_rules


def test_a_pending_scaling_shared_by_tracers_is_recorded_once():
    def f(x):
        y = fnp.sin(x)
        z = y + 0.5            # add passes y's tangent through: z shares it
        return y, z
    x = np.array([0.1, 0.2])
    _, lin = linearize_flat(lambda x: list(f(x)), [x])
    assert [e.primitive.name for e in lin.jaxpr.eqns] == ["mul"]
    ty, tz = lin(np.ones(2))
    np.testing.assert_allclose(ty, np.cos(x))
    np.testing.assert_allclose(tz, np.cos(x))


def test_pending_scalings_meet_the_general_path():
    # cumsum and sort have no linearization rule: the scaled tangent is recorded first
    def f(x):
        y = fnp.exp(fnp.sin(x) * 2.0)
        return fnp.sum(fnp.cumsum(y) * fnp.sort(y))
    x = np.linspace(-1, 1, 5)
    check_grads(f, (x,), order=2, modes=("fwd", "rev"))


def test_an_elementwise_function_of_one_variable_linearizes_to_one_multiplication():
    def f(x):
        for _ in range(5):
            x = fnp.sin(x) * x            # both operands carry x's tangent
            x = fnp.tanh(x) + x - 0.5 * x
        return x
    x = np.linspace(-1, 1, 4)
    jaxpr = _linear_jaxpr(f, x)
    assert [e.primitive.name for e in jaxpr.eqns] == ["mul"]
    t = np.linspace(0.5, 2, 4)
    np.testing.assert_allclose(fad.linearize(f, x)[1](t), fad.jvp(f, (x,), (t,))[1],
                               rtol=1e-13)
    check_grads(lambda x: fnp.sum(f(x)), (x,), order=2, modes=("rev",))


def test_sums_of_different_tangents_are_recorded():
    f = lambda x, y: fnp.sin(x) * y + fnp.cos(y) * x  # noqa: E731
    x, y = np.array([0.3, 0.7]), np.array([1.1, -0.2])
    _, lin = linearize_flat(lambda x, y: [f(x, y)], [x, y])
    assert "add_any" in [e.primitive.name for e in lin.jaxpr.eqns]
    gx, gy = fad.grad(lambda x, y: fnp.sum(f(x, y)), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, np.cos(x) * y + np.cos(y), rtol=1e-14)
    np.testing.assert_allclose(gy, np.sin(x) - np.sin(y) * x, rtol=1e-14)


# -- random elementwise programs: the shortcut against the layered path ----------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_UNARY = [fnp.sin, fnp.cos, fnp.tanh, fnp.exp, lambda v: fnp.log1p(v * v), fnp.negative,
          lambda v: v ** 2, lambda v: v ** 3, lambda v: fnp.sqrt(v * v + 1.0),
          lambda v: fnp.logaddexp(v, 0.3), lambda v: fnp.maximum(v, 0.1)]
_BINARY = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
           lambda a, b: a / (b * b + 1.0), lambda a, b: fnp.minimum(a, b)]
_CONSTANTS = [2.0, 3, np.float64(0.5), np.linspace(0.5, 1.5, 3), np.array(1.25),
              np.linspace(-1, 1, 6).reshape(2, 3)]


@st.composite
def _programs(draw):
    steps = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["unary", "binary", "const"]))
        if kind == "unary":
            steps.append(("unary", draw(st.integers(0, len(_UNARY) - 1)),
                          draw(st.integers(0, 20))))
        elif kind == "binary":
            steps.append(("binary", draw(st.integers(0, len(_BINARY) - 1)),
                          draw(st.integers(0, 20)), draw(st.integers(0, 20))))
        else:
            steps.append(("const", draw(st.integers(0, len(_BINARY) - 1)),
                          draw(st.integers(0, 20)), draw(st.integers(0, len(_CONSTANTS) - 1)),
                          draw(st.booleans())))
    return steps


def _run(steps, x, y):
    pool = [x, y]
    for step in steps:
        if step[0] == "unary":
            pool.append(_UNARY[step[1]](pool[step[2] % len(pool)]))
        elif step[0] == "binary":
            pool.append(_BINARY[step[1]](pool[step[2] % len(pool)], pool[step[3] % len(pool)]))
        else:
            _, op, i, c, swap = step
            a, b = pool[i % len(pool)], _CONSTANTS[c]
            pool.append(_BINARY[op](b, a) if swap else _BINARY[op](a, b))
    return sum(fnp.sum(v) for v in pool[2:]) if len(pool) > 2 else fnp.sum(x * y)


@settings(max_examples=60, deadline=None)
@given(_programs(), st.sampled_from(["f64", "f32", "python_float"]))
def test_random_elementwise_programs(steps, kind):
    if kind == "python_float":
        x, y = 0.7, -0.4
    else:
        dtype = np.float64 if kind == "f64" else np.float32
        x = np.linspace(-0.9, 0.8, 3).astype(dtype)
        y = np.array(0.35, dtype)
    grad = fad.grad(lambda x, y: _run(steps, x, y), argnums=(0, 1))
    fast = grad(x, y)
    saved = dict(linearize_rules)
    linearize_rules.clear()
    try:
        slow = grad(x, y)
    finally:
        linearize_rules.update(saved)
    tol = 1e-10 if kind != "f32" else 1e-4
    for f, s in zip(fast, slow):
        assert np.asarray(f).dtype == np.asarray(s).dtype
        np.testing.assert_allclose(f, s, rtol=tol, atol=tol)


def test_scalar_coefficients_are_scalar_literals():
    from fad.core.ir import Literal
    jaxpr = _linear_jaxpr(lambda x: x * 2.0, np.ones(3))
    typecheck_jaxpr(jaxpr.jaxpr)
    literals = [a for e in jaxpr.eqns for a in e.invars if isinstance(a, Literal)]
    assert literals and all(a.aval.shape == () for a in literals), jaxpr


# -- the operators' shortcut (Trace.process_binary, binary_linearize_rules) and the
# one-operand shortcut of LinearizeTrace.process_primitive -----------------------------------

_SCALAR_FUNCTIONS = {
    "poly": lambda x: x ** 4 + 3 * x ** 2 + 2 * x,
    "scale": lambda x: x * 3.0,
    "repeated_add": lambda x: x + x + x + x,
    "sub_self": lambda x: x - x * 0.5,
    "product": lambda x: (x * x) * x / (x + 2.0),
    "reflected": lambda x: 2.0 - 3 * x + 1.5 / (x * x + 1.0),
    "unary": lambda x: fnp.sin(x) * x ** 2 + fnp.exp(-x),
}
_POINTS = {
    "python_float": 0.7,
    "float64": np.float64(0.7),
    "float32": np.float32(0.7),
    "array_f64": np.linspace(0.2, 1.1, 3),
    "array_f32": np.linspace(0.2, 1.1, 3).astype(np.float32),
    "0d_array": np.array(0.7),
}


def _without_rules(fn):
    """``fn()`` with every linearization shortcut switched off (the layered path)."""
    saved, saved_binary = dict(linearize_rules), dict(partial_eval.binary_linearize_rules)
    linearize_rules.clear()
    partial_eval.binary_linearize_rules.clear()
    try:
        return fn()
    finally:
        linearize_rules.update(saved)
        partial_eval.binary_linearize_rules.update(saved_binary)


@pytest.mark.parametrize("point", list(_POINTS))
@pytest.mark.parametrize("name", list(_SCALAR_FUNCTIONS))
def test_operator_shortcut_agrees_with_the_layered_path(name, point):
    f = _SCALAR_FUNCTIONS[name]
    x = _POINTS[point]
    g = fad.grad(lambda x: fnp.sum(f(x)))
    fast = g(x)
    slow = _without_rules(lambda: g(x))
    assert np.asarray(fast).dtype == np.asarray(slow).dtype
    assert np.shape(fast) == np.shape(slow)
    tol = 1e-5 if "32" in point else 1e-13
    np.testing.assert_allclose(fast, slow, rtol=tol, atol=tol)
    value, grad = fad.value_and_grad(lambda x: fnp.sum(f(x)))(x)
    assert np.asarray(value).dtype == np.asarray(
        _without_rules(lambda: fad.value_and_grad(lambda x: fnp.sum(f(x)))(x))[0]).dtype
    np.testing.assert_allclose(grad, slow, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", list(_SCALAR_FUNCTIONS))
def test_operator_shortcut_under_other_transformations(name):
    # Nested: the shortcut's precondition (NumPy values below) fails and it steps aside.
    f = _SCALAR_FUNCTIONS[name]
    g = fad.grad(f)
    xs = np.linspace(0.2, 1.1, 4)
    expected = _without_rules(lambda: [fad.grad(fad.grad(f))(0.7), fad.vmap(g)(xs),
                                       fad.jit(g)(0.7), fad.grad(lambda x: g(x) * x)(0.7)])
    got = [fad.grad(fad.grad(f))(0.7), fad.vmap(g)(xs), fad.jit(g)(0.7),
           fad.grad(lambda x: g(x) * x)(0.7)]
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_operator_shortcut_with_closed_over_outer_tracers():
    # y is a tracer of the outer grad inside the inner one: the inner operators see a
    # foreign tracer operand and take the general path; no perturbation confusion.
    def outer(y):
        return fad.grad(lambda x: x * y + x * x)(2.0) * y
    np.testing.assert_allclose(fad.grad(outer)(3.0), 2 * 3.0 + 4.0, rtol=1e-14)
    np.testing.assert_allclose(_without_rules(lambda: fad.grad(outer)(3.0)), 10.0)
    # d/dx [x * d/dy (x * y)] = 2 x: the inner derivative must not see the outer x's tangent
    f = lambda x: x * fad.grad(lambda y: x * y)(2.0)  # noqa: E731
    np.testing.assert_allclose(fad.grad(f)(1.5), 3.0, rtol=1e-14)


def test_a_tangent_added_to_itself_is_one_multiplication():
    jaxpr = _linear_jaxpr(lambda x: x + x + x, np.linspace(0.0, 1.0, 3))
    typecheck_jaxpr(jaxpr.jaxpr)
    assert [e.primitive.name for e in jaxpr.eqns] == ["mul"]
    np.testing.assert_allclose(fad.grad(lambda x: x + x + x)(0.5), 3.0)
    assert np.asarray(fad.grad(lambda x: x + x)(np.float32(0.5))).dtype == np.float32
