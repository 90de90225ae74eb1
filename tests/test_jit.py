"""jit: caching per signature, static arguments, and composition both ways."""
import numpy as np
import pytest

import fad
import fad.numpy as fnp
from fad.errors import ConcretizationTypeError


def poly(x):
    return x ** 4 + 3 * x ** 2 + 2 * x


def test_jit_matches_eager_and_caches_per_signature():
    calls = []

    def f(x, y):
        calls.append(1)
        return fnp.sin(x) * y + fnp.sum(x)

    jf = fad.jit(f)
    x, y = np.linspace(0, 1, 4), np.float64(2.0)
    np.testing.assert_allclose(jf(x, y), f(x, y))
    n = len(calls)
    jf(x + 1, y)                 # same shapes and dtypes: no retrace
    assert len(calls) == n
    jf(np.ones(5), y)            # new shape: retrace
    assert len(calls) == n + 1
    jf(x.astype(np.float32), np.float32(2))  # new dtype: retrace
    assert len(calls) == n + 2


def test_static_argnums_and_argnames():
    def f(x, n, *, mode):
        return x ** n if mode == "pow" else x * n

    jf = fad.jit(f, static_argnums=1, static_argnames="mode")
    assert jf(2.0, 3, mode="pow") == 8.0
    assert jf(2.0, 3, mode="mul") == 6.0
    with pytest.raises(TypeError, match="hashable"):
        jf(2.0, [3], mode="pow")


def test_python_control_flow_on_traced_value_raises():
    jf = fad.jit(lambda x: x if x > 0 else -x)
    with pytest.raises(ConcretizationTypeError, match="static_argnums"):
        jf(1.0)


@pytest.mark.parametrize("compose", [
    lambda f: fad.jit(fad.grad(f)),
    lambda f: fad.grad(fad.jit(f)),
    lambda f: fad.jit(fad.grad(fad.jit(f))),
])
def test_jit_and_grad_compose(compose):
    assert compose(poly)(2.0) == pytest.approx(46.0)


def test_jit_and_vmap_compose():
    xs = np.array([1.0, 2.0, 3.0])
    want = 4 * xs ** 3 + 6 * xs + 2
    np.testing.assert_allclose(fad.vmap(fad.jit(fad.grad(poly)))(xs), want)
    np.testing.assert_allclose(fad.jit(fad.vmap(fad.grad(poly)))(xs), want)
    assert fad.grad(fad.grad(fad.jit(poly)))(2.0) == pytest.approx(54.0)


def test_jit_closing_over_an_outer_tracer():
    def outer(x):
        return fad.jit(lambda y: x * y)(3.0)
    assert fad.grad(outer)(2.0) == pytest.approx(3.0)


def test_disable_jit_runs_eagerly():
    seen = []
    jf = fad.jit(lambda x: seen.append(type(x)) or x * 2)
    with fad.disable_jit():
        assert jf(np.float64(1.0)) == 2.0
    assert seen == [np.float64]


def test_pytrees_in_and_out():
    jf = fad.jit(lambda p: {"s": p["a"] + p["b"][0], "d": p["b"][1] * 2})
    out = jf({"a": np.ones(2), "b": (np.ones(2), np.float64(3.0))})
    np.testing.assert_allclose(out["s"], 2 * np.ones(2))
    assert out["d"] == 6.0


def test_lowering_folds_constants_and_drops_dead_code():
    from fad import lax
    from fad.interpreters.lowering import lower

    c = np.arange(3.0)

    def f(x):
        unused = lax.exp(x)  # noqa: F841 - dead code, dropped
        return x * lax.sin(c) + lax.reduce_sum(lax.cos(c), (0,))

    closed = fad.make_jaxpr(f)(np.ones(3))
    run = lower(closed)
    assert len(closed.eqns) == 6
    assert run.num_instructions == 2          # mul and add; sin, cos, sum folded
    np.testing.assert_allclose(run(np.ones(3))[0], np.sin(c) + np.cos(c).sum())


def test_lowering_computes_repeated_operations_once():
    from fad import lax
    from fad.interpreters.lowering import lower

    def f(x, y):
        a = lax.sin(x) * lax.sin(x)          # sin x twice: once
        b = lax.reduce_sum(x, (0,)) + lax.reduce_sum(x, (0,))   # same params: once
        c = lax.reduce_sum(lax.sin(y), (0,))  # another operand: its own
        return a + b + c

    x, y = np.linspace(0, 1, 3), np.linspace(1, 2, 3)
    closed = fad.make_jaxpr(f)(x, y)
    run = lower(closed)
    assert len(closed.eqns) == 10
    assert run.num_instructions == 8
    np.testing.assert_allclose(run(x, y)[0], f(x, y))
    g = fad.jit(fad.grad(fad.grad(lax.sin)))
    np.testing.assert_allclose(g(0.3), -np.sin(0.3))


def test_fast_cache_keys_on_type_shape_and_dtype():
    traces = []

    def f(x, y):
        traces.append(1)
        return x * y + 1

    jf = fad.jit(f)
    cases = [(np.arange(3.0), 2.0), (np.arange(3.0), np.float64(2.0)),
             (np.arange(3, dtype=np.float32), 2.0), (np.arange(3, dtype=np.float32), 2),
             (np.arange(4.0), 2.0), (1.5, 2.0), (np.float32(1.5), 2.0), (3, 4)]
    for _ in range(3):                  # the second and third rounds hit the caches
        for x, y in cases:
            got, want = jf(x, y), f(x, y)
            assert np.asarray(got).dtype == np.asarray(want).dtype, (x, y)
            np.testing.assert_array_equal(got, want)
    assert len(traces) == 3 * len(cases) + len(cases)   # eager calls + one trace each


def test_fast_path_returns_pytrees_and_steps_aside_for_tracers():
    jf = fad.jit(lambda x: (x, {"twice": 2 * x}))
    for _ in range(2):
        out = jf(np.ones(2))
        assert isinstance(out, tuple) and set(out[1]) == {"twice"}
    g = fad.grad(lambda x: fnp.sum(fad.jit(lambda y: fnp.sin(y) * 3.0)(x)))
    x = np.linspace(0, 1, 3)
    for _ in range(2):
        np.testing.assert_allclose(g(x), 3 * np.cos(x))


def test_derivative_rules_on_two_python_scalars_when_staged():
    # d/dx (x / 5.0) is div(1, 5.0): staged (not evaluated), the int 1 must promote as
    # Python promotes it, not become an int64 operand of div
    f = lambda x: x / 5.0 + 0.0   # noqa: E731
    assert fad.jit(fad.grad(f))(0.7) == pytest.approx(0.2)
    for _ in range(3):   # staged grad: interpreted, then compiled
        assert fad.grad(f)(0.7) == pytest.approx(0.2)
