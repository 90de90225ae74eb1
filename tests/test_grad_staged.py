"""grad at the top level, staged (fad.staged.grad): the function is recorded at every
call, with its differentiated arguments concrete on demand, and the gradient of the
recording compiled once; results and Python behaviour must be those of interpreting it
(fad.disable_jit() turns staging off) and of closed forms."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad.errors import UnexpectedTracerError
from fad.tree_util import tree_leaves, tree_structure

rng = np.random.default_rng(1)
W = rng.standard_normal(5)
M = rng.standard_normal((3, 5))
CALLS = 4   # first sighting (interpreted), compiled, then replayed


def interpreted(g, *args):
    with fad.disable_jit():
        return g(*args)


def assert_same(got, want, rtol=1e-13):
    assert tree_structure(got) == tree_structure(want)
    for a, b in zip(tree_leaves(got), tree_leaves(want)):
        assert type(a) is type(b) or (isinstance(a, np.ndarray) and isinstance(b, np.ndarray))
        assert np.asarray(a).dtype == np.asarray(b).dtype
        assert np.shape(a) == np.shape(b)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-15)


def check(g, *args):
    want = interpreted(g, *args)
    for _ in range(CALLS):
        assert_same(g(*args), want)
    return want


def mlp(params, x):
    (w1, b1), (w2, b2) = params
    return fnp.sum((fnp.tanh(x @ w1 + b1) @ w2 + b2) ** 2)


PARAMS = ((rng.standard_normal((5, 4)), np.zeros(4)), (rng.standard_normal((4, 2)), np.ones(2)))


def test_closed_forms_on_repeated_calls():
    g = fad.grad(lambda x: x ** 4 + 3 * x ** 2 + 2 * x)
    for _ in range(CALLS):
        assert g(2.0) == 46.0 and type(g(2.0)) is np.float64
    h = fad.grad(lambda w: fnp.sum(fnp.sin(M @ w)))
    for _ in range(CALLS):
        np.testing.assert_allclose(h(W), M.T @ np.cos(M @ W), rtol=1e-13)


@pytest.mark.parametrize("make", [
    lambda: (fad.grad(mlp), (PARAMS, M)),
    lambda: (fad.value_and_grad(mlp), (PARAMS, M)),
    lambda: (fad.grad(mlp, argnums=(0, 1)), (PARAMS, M)),
    lambda: (fad.grad(lambda d: d["a"] * fnp.sum(d["b"] ** 2)), ({"a": 1.5, "b": W},)),
    lambda: (fad.grad(lambda x, n: fnp.sum(x ** n)), (W, 3)),
    lambda: (fad.grad(lambda x, y: fnp.sum(x * y), argnums=1), (W, W.astype(np.float32))),
    lambda: (fad.grad(lambda x: x * 2.0), (np.float32(1.5),)),
    lambda: (fad.grad(lambda x: 3.0), (1.0,)),
    lambda: (fad.grad(lambda x, c: fnp.sum(x * c)), (W, np.arange(5.0))),
    lambda: (fad.grad(lambda x: fnp.sum(x[1:3] * x[0])), (W,)),
    lambda: (fad.grad(lambda x: fad.grad(lambda y: fnp.sum(fnp.sin(y * x)))(x).sum()), (W,)),
    lambda: (fad.grad(lambda x: fnp.sum(fad.jit(fnp.tanh)(x))), (W,)),
    lambda: (fad.grad(lambda x: fnp.sum(fad.vmap(fnp.sin)(x))), (W,)),
])
def test_matches_the_interpreted_path(make):
    g, args = make()
    check(g, *args)


def test_python_control_flow_and_values_read_from_the_arguments():
    def f(x):
        if fnp.sum(x) > 0:            # concrete, as under eager grad
            # (float() of a differentiated value raises, issue 10 #9: stop_gradient first)
            return fnp.sum(fnp.sin(x)) * float(fad.stop_gradient(x[0]))
        y = x
        for _ in range(int(fnp.abs(x[1]) * 3) + 1):   # a trip count read off x
            y = fnp.cos(y)
        return fnp.sum(y)

    g = fad.grad(f)
    for x in [W, -W, W, -W, 2 * W, -3 * W, W]:
        assert_same(g(x), interpreted(g, x))


def test_the_function_runs_once_per_call_and_reads_fresh_globals():
    calls, state = [], {"c": 2.0, "a": np.ones(5)}

    def f(x):
        calls.append(1)
        return fnp.sum(state["a"] * x ** 2) * state["c"]

    g = fad.grad(f)
    for k in range(6):
        state["c"] = 1.0 + k % 2            # a literal: another program
        state["a"] = np.full(5, float(k))   # a constant: the same program
        calls.clear()
        np.testing.assert_allclose(g(W), 2 * state["a"] * W * state["c"], rtol=1e-13)
        assert len(calls) == 1


def test_a_new_program_at_every_call_is_still_right():
    # (float() of a differentiated value raises, issue 10 #9: stop_gradient first)
    g = fad.grad(lambda x: fnp.sum(x ** 2) * float(fad.stop_gradient(fnp.sum(x))))
    for k in range(12):
        x = W + k
        want = 2 * x * float(np.sum(x))   # (float() reads a constant, as under eager grad)
        np.testing.assert_allclose(g(x), want, rtol=1e-12)


def test_errors_are_those_of_the_interpreted_path():
    for f, x, err, match in [
        (lambda x: x * 2.0, W, TypeError, "scalar output"),
        (lambda x: (x, x), 1.0, TypeError, "single scalar output"),
        (lambda x: fnp.sum(x * np.ones(3)), W, ValueError, "broadcast"),
    ]:
        with pytest.raises(err, match=match):
            fad.grad(f)(x)
        with pytest.raises(err, match=match), fad.disable_jit():
            fad.grad(f)(x)
    with pytest.raises(TypeError, match="floating-point inputs"):
        fad.grad(lambda x: fnp.sum(x))(np.arange(3))
    g = fad.grad(lambda x: fnp.sum(x * 1.0), allow_int=True)   # (left to the interpreter)
    for _ in range(3):
        assert g(np.arange(3)).dtype == fad.float0


def test_leaked_tracers_raise():
    box = []
    g = fad.grad(lambda x: box.append(x) or fnp.sum(x * 2.0))
    for _ in range(3):
        g(W)
    for t in box:
        with pytest.raises(UnexpectedTracerError):
            t + 1.0
    with pytest.raises(UnexpectedTracerError):
        g(box[-1])


def test_results_are_fresh_arrays():
    g = fad.grad(lambda x: fnp.sum(x * np.arange(5.0)))
    for _ in range(CALLS):
        got = g(W)
        np.testing.assert_array_equal(got, np.arange(5.0))
        got *= 10.0


def test_nested_uses_and_disable_jit():
    g = fad.grad(fad.grad(lambda x: x ** 3))
    for _ in range(CALLS):
        assert g(2.0) == 12.0
    hvp = fad.grad(lambda x: fnp.sum(fad.grad(lambda y: fnp.sum(fnp.sin(y) ** 2))(x) * W))
    check(hvp, W)
    assert fad.jit(fad.grad(lambda x: fnp.sum(x ** 2)))(W) == pytest.approx(2 * W)


# -- random elementwise programs ---------------------------------------------------------------

from tests.interpreters.test_linearize_rules import _programs, _run  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(_programs(), st.sampled_from([np.float64, np.float32]))
def test_random_programs_staged_equal_interpreted(steps, dtype):
    x = np.linspace(-0.9, 0.8, 3).astype(dtype)
    y = dtype(0.3)
    g = fad.grad(lambda x, y: fnp.sum(_run(steps, x, y)), argnums=(0, 1))
    want = interpreted(g, x, y)
    tol = 1e-12 if dtype is np.float64 else 1e-5
    for _ in range(3):
        got = g(x, y)
        for a, b in zip(got, want):
            assert np.asarray(a).dtype == np.asarray(b).dtype
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_repeated_calls_take_the_staged_path(monkeypatch):
    from fad.staged import programs as staged_programs
    monkeypatch.setattr(staged_programs, "_programs", {})

    def f(params, x):   # (a function of its own: no state from other tests)
        return mlp(params, x)

    g = fad.value_and_grad(f)
    for _ in range(3):
        g(PARAMS, M)
    assert any(p is not staged_programs._SEEN_ONCE for p in staged_programs._programs.values())
    monkeypatch.setattr(staged_programs, "_programs", {})
    with fad.disable_jit():
        for _ in range(3):
            g(PARAMS, M)
    assert not staged_programs._programs


def test_a_gradient_made_afresh_at_every_step_replays_its_function():
    def f(x):
        return fnp.sum(fnp.sin(x) * x)

    for _ in range(CALLS):   # `fad.grad(f)(x)` written inline: a new gradient each time
        np.testing.assert_allclose(fad.grad(f)(W), np.cos(W) * W + np.sin(W), rtol=1e-13)
    from fad.staged.grad import _states
    state = _states[(f.__code__, (int, 0), ("grad",))]
    assert state.template is not None and state.template.program is not None
    for _ in range(CALLS):   # a new function object at every step: the same code
        np.testing.assert_allclose(fad.grad(lambda x: fnp.sum(x ** 2) * 3.0)(W), 6.0 * W)
