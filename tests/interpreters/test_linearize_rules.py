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


def test_every_registered_rule_is_for_a_single_result_primitive():
    assert linearize_rules
    assert not [p for p in linearize_rules if p.multiple_results]
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
