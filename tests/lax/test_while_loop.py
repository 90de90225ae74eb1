"""Issue 12, part 2: ``while_loop`` equals its Python loop under every transformation that
applies (forward mode, ``vmap`` with per-example trip counts, ``jit``); reverse mode and a
carry that changes type raise clear errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad import lax
from fad.core.ir import dce_jaxpr, typecheck_jaxpr
from fad.interpreters.jaxpr_transforms import partial_eval_jaxpr
from fad.test_util import check_grads, check_vmap
from fad.tree_util import tree_leaves

RNG = np.random.default_rng(4)
X = RNG.standard_normal(3)


def grow(x, limit):
    """Scale ``x`` by 1.5 and add ``sin(x)`` until its norm passes ``limit``; the number of
    steps and the result (a pytree carry, an integer counter in it)."""
    def cond(c):
        return fnp.sum(c["x"] ** 2) < limit ** 2

    def body(c):
        return {"n": c["n"] + 1, "x": 1.5 * c["x"] + 0.1 * fnp.sin(c["x"])}
    out = lax.while_loop(cond, body, {"n": np.int64(0), "x": x})
    return out["n"], out["x"]


def python_grow(x, limit):
    n = 0
    while np.sum(x ** 2) < limit ** 2:
        n, x = n + 1, 1.5 * x + 0.1 * np.sin(x)
    return n, x


def power(x, k):
    """``x ** k`` by a loop of ``k`` multiplications, ``k`` an integer carry."""
    return lax.while_loop(lambda c: c[0] < k, lambda c: (c[0] + 1, c[1] * x),
                          (np.int64(0), fnp.ones_like(x)))[1]


def _assert_same(got, want, rtol=1e-12):
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=rtol)


@settings(max_examples=15, deadline=None)
@given(st.floats(0.3, 3.0), st.floats(1.0, 40.0))
def test_values_equal_the_python_loop_eager_and_jitted(scale, limit):
    x = X * scale
    want = python_grow(x, limit)
    _assert_same(grow(x, limit), want)
    _assert_same(fad.jit(grow, static_argnums=1)(x, limit), want)
    _assert_same(fad.jit(grow)(x, limit), want)   # (the limit traced: a cond constant)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 6))
def test_trip_counts_and_zero_trips(k):
    x = np.float64(1.3)
    np.testing.assert_allclose(power(x, k), x ** k)
    np.testing.assert_allclose(fad.jit(power)(x, k), x ** k)
    assert fad.jit(lambda x: lax.while_loop(lambda c: c[0] > 10.0, lambda c: c + 1.0, x))(X) \
        is not X   # (a loop that never runs returns a copy)


def test_forward_mode_against_finite_differences():
    f = lambda x: grow(x, 20.0)[1]   # noqa: E731
    check_grads(f, (X,), order=2, modes=("fwd",))
    check_grads(fad.jit(f), (X,), order=1, modes=("fwd",))
    check_grads(lambda x: power(x, 4), (np.float64(0.7),), order=2, modes=("fwd",))
    np.testing.assert_allclose(fad.jacfwd(lambda x: power(x, 3))(X), np.diag(3 * X ** 2))
    np.testing.assert_allclose(fad.linearize(lambda x: power(x, 3), X)[1](np.ones(3)),
                               3 * X ** 2)


def test_a_tangent_made_nonzero_by_the_body_is_carried_from_the_start():
    # The carry's second value starts as a constant (zero tangent) and gets x's tangent
    # only from the body; the first value's tangent is nonzero only through the second.
    def f(x):
        return lax.while_loop(lambda c: c[2] < 3,
                              lambda c: (c[0] + c[1], c[1] * 0.0 + x, c[2] + 1),
                              (np.float64(0.0), np.float64(0.0), 0))[0]
    _, t = fad.jvp(f, (np.float64(2.0),), (np.float64(1.0),))
    assert t == 2.0
    check_grads(f, (np.float64(2.0),), order=1, modes=("fwd",))


def test_vmap_with_per_example_trip_counts():
    xs = np.stack([X, 3 * X, 0.1 * X, 20 * X])
    check_vmap(lambda x: grow(x, 10.0), (xs,))
    limits = np.array([1.0, 5.0, 50.0])
    check_vmap(lambda lim: grow(X, lim), (limits,))
    check_vmap(lambda x, k: power(x, k), (xs[:3, 0], np.array([0, 3, 1])))
    got = fad.jit(fad.vmap(lambda x: grow(x, 10.0)))(xs)
    _assert_same(got, fad.vmap(lambda x: grow(x, 10.0))(xs))
    got = fad.vmap(fad.jit(lambda x: grow(x, 10.0)))(xs)
    _assert_same(got, fad.vmap(lambda x: grow(x, 10.0))(xs))
    per_example = fad.vmap(fad.jacfwd(lambda x: grow(x, 10.0)[1]))(xs)
    for x, jac in zip(xs, per_example):
        np.testing.assert_allclose(jac, fad.jacfwd(lambda x: grow(x, 10.0)[1])(x), rtol=1e-12)


def test_vmap_with_an_unbatched_predicate_keeps_unbatched_carries_unbatched():
    def f(x):
        return lax.while_loop(lambda c: c[0] < 4, lambda c: (c[0] + 1, c[1] + x),
                              (0, fnp.zeros_like(x)))
    closed = fad.make_jaxpr(fad.vmap(f))(np.stack([X, X]))
    eqn, = [e for e in closed.jaxpr.eqns if e.primitive.name == "while"]
    assert eqn.outvars[0].aval.shape == ()   # (the counter: one for all examples)
    check_vmap(f, (np.stack([X, 2 * X]),))


def test_reverse_mode_raises_a_clear_error():
    f = lambda x: fnp.sum(grow(x, 20.0)[1])   # noqa: E731
    for grad in (fad.grad(f), fad.jit(fad.grad(f)), fad.grad(fad.jit(f))):
        with pytest.raises(ValueError, match="reverse-mode differentiation through while_loop "
                                             "is not supported.*lax.scan"):
            grad(X)
    with fad.disable_staging():
        with pytest.raises(ValueError, match="trip count is not static"):
            fad.grad(f)(X)
        with pytest.raises(ValueError, match="trip count is not static"):
            fad.jacrev(lambda x: grow(x, 20.0)[1])(X)


def test_a_carry_changing_type_raises_naming_both_types_and_where():
    body = lambda c: {"a": c["a"], "b": (c["b"][0], c["b"][1][:2])}   # noqa: E731
    init = {"a": X, "b": (1.0, X)}
    for run in (lax.while_loop, fad.jit(lax.while_loop, static_argnums=(0, 1))):
        with pytest.raises(TypeError, match=r"init_val\['b'\]\[1\].*f64\[3\].*f64\[2\]"):
            run(lambda c: c["a"][0] < 10.0, body, init)
    with pytest.raises(TypeError, match=r"init_val.*enters as i64\[\] .* returns bool\[\]"):
        fad.jit(lambda x: lax.while_loop(lambda c: x > 0, lambda c: c > 0, 1))(1.0)
    with pytest.raises(TypeError, match="cond_fun must return a boolean scalar, got f64"):
        fad.jit(lambda x: lax.while_loop(lambda c: c, lambda c: c, x))(X)
    with pytest.raises(TypeError, match="cond_fun must return a boolean scalar"):
        lax.while_loop(lambda c: c, lambda c: c * 0.5, X)
    with pytest.raises(TypeError, match="structure"):
        fad.jit(lambda x: lax.while_loop(lambda c: c[0] < 1, lambda c: c[0], (x, x)))(1.0)


def test_a_weakly_typed_initial_value_takes_the_body_dtype():
    f = lambda x: lax.while_loop(lambda c: c < 3.0, lambda c: c + x, 0)   # noqa: E731
    assert f(np.float64(1.0)) == 3.0
    out = fad.jit(f)(np.float32(1.0))
    assert out == 3.0 and out.dtype == np.float32


def test_closures_over_traced_values_in_cond_and_body():
    def f(limit, w):
        return lax.while_loop(lambda c: fnp.sum(c) < limit, lambda c: c * w + 0.5, X ** 2)

    want = f(np.float64(30.0), np.float64(1.3))
    np.testing.assert_allclose(fad.jit(f)(np.float64(30.0), np.float64(1.3)), want)
    check_grads(lambda w: f(np.float64(30.0), w), (np.float64(1.3),), order=2, modes=("fwd",))
    check_grads(lambda limit: f(limit, np.float64(1.3)), (np.float64(30.0),), order=1,
                modes=("fwd",))
    ws = np.array([1.1, 1.3, 2.0])
    check_vmap(lambda w: f(np.float64(30.0), w), (ws,))
    check_vmap(lambda limit: f(limit, np.float64(1.3)), (np.array([5.0, 30.0, 90.0]),))


def test_every_jaxpr_type_checks():
    xs = np.stack([X, 2 * X])
    f = lambda x: grow(x, 20.0)[1]   # noqa: E731
    for closed in (fad.make_jaxpr(f)(X),
                   fad.make_jaxpr(lambda x: fad.jvp(f, (x,), (x,)))(X),
                   fad.make_jaxpr(fad.jacfwd(f))(X),
                   fad.make_jaxpr(fad.vmap(f))(xs),
                   fad.make_jaxpr(fad.vmap(fad.jacfwd(f)))(xs),
                   fad.make_jaxpr(fad.jit(fad.vmap(fad.jit(f))))(xs),
                   fad.make_jaxpr(lambda x: fad.linearize(f, x)[1](x))(X)):
        typecheck_jaxpr(closed)
        typecheck_jaxpr(dce_jaxpr(closed.jaxpr))


def test_partial_evaluation_computes_the_known_carry_and_records_the_loop():
    # Tangents unknown: the primal loop is known (run now); the JVP loop is recorded whole.
    closed = fad.make_jaxpr(lambda x, t: fad.jvp(lambda x: power(x, 3), (x,), (t,)))(X, X)
    known, unknown, out_unknowns, _ = partial_eval_jaxpr(closed, [False, True])
    assert out_unknowns == [False, True]
    assert [e.primitive.name for e in known.jaxpr.eqns].count("while") == 1
    assert [e.primitive.name for e in unknown.jaxpr.eqns].count("while") == 1
    typecheck_jaxpr(known)
    typecheck_jaxpr(unknown)
    outs = fad.eval_jaxpr(known, (), X)
    np.testing.assert_allclose(outs[0], X ** 3)
    t_out = fad.eval_jaxpr(unknown, (), *outs[1:], np.ones(3))[0]
    np.testing.assert_allclose(t_out, 3 * X ** 2)


def test_dce_drops_carried_values_nothing_needs():
    def f(x):
        return lax.while_loop(lambda c: c[0] < 3,
                              lambda c: (c[0] + 1, c[1] * 2.0, fnp.sin(c[2]), c[3] + c[1]),
                              (0, x, x, x))
    # Only the last output is used: it needs the counter (the predicate) and c[1]; c[2]
    # is dropped.
    closed = fad.make_jaxpr(lambda x: f(x)[3])(X)
    jaxpr = dce_jaxpr(closed.jaxpr)
    eqn, = [e for e in jaxpr.eqns if e.primitive.name == "while"]
    assert len(eqn.outvars) == 3
    typecheck_jaxpr(jaxpr)
    np.testing.assert_allclose(fad.eval_jaxpr(jaxpr, closed.consts, X)[0], f(X)[3])
    np.testing.assert_allclose(fad.jit(lambda x: f(x)[3])(X), f(X)[3])


def test_staged_equals_interpreted_bit_for_bit():
    """The staged layer records ``while`` whole (a batched predicate under ``vmap``) and
    replays it; its results are the interpreter's, bit for bit, call after call."""
    xs = np.stack([X, 3 * X, 0.1 * X])
    cases = [(lambda: fad.vmap(lambda x: grow(x, 10.0)), (xs,)),
             (lambda: fad.vmap(fad.jacfwd(lambda x: grow(x, 10.0)[1])), (xs,)),
             (lambda: fad.vmap(lambda w: fad.jvp(lambda x: power(x, 3), (w,), (w,))),
              (xs[:, 0],)),
             (lambda: fad.jacfwd(lambda x: grow(x, 10.0)[1]), (X,))]
    for make, args in cases:
        with fad.disable_staging():
            want = make()(*args)
        f = make()
        for _ in range(3):
            got = tree_leaves(f(*args))
            assert len(got) == len(tree_leaves(want))
            for g, w in zip(got, tree_leaves(want)):
                np.testing.assert_array_equal(g, w)
                assert np.asarray(g).dtype == np.asarray(w).dtype


def _halvings(v):
    """How many times ``v`` (> 0) halves to fall under 1, and the value then."""
    return lax.while_loop(lambda c: c[1] >= 1.0, lambda c: (c[0] + 1, c[1] * 0.5), (0, v))


def _halvings_python(v):
    k = 0
    while v >= 1.0:
        k, v = k + 1, v * 0.5
    return k, v


def test_while_loop_inside_scan_bodies():
    def step(total, x):
        k, rest = _halvings(x)
        return total + rest, k

    xs = np.array([0.5, 3.0, 17.0, 1024.0])
    want_k = [_halvings_python(x)[0] for x in xs]
    want_total = sum(_halvings_python(x)[1] for x in xs)
    for run in (lambda v: lax.scan(step, 0.0, v), fad.jit(lambda v: lax.scan(step, 0.0, v))):
        total, ks = run(xs)
        np.testing.assert_allclose(total, want_total)
        assert np.asarray(ks).tolist() == want_k
    # forward mode through the inner loop: d rest / d x = 0.5 ** k
    _, tangent = fad.jvp(lambda v: lax.scan(step, 0.0, v)[0], (xs,), (np.ones(4),))
    np.testing.assert_allclose(tangent, sum(0.5 ** k for k in want_k))
    # batched: per-lane trip counts inside the scan body
    batched = fad.vmap(lambda v: lax.scan(step, 0.0, v)[1])(np.stack([xs, xs * 2]))
    assert np.asarray(batched).tolist() == [want_k, [k + 1 for k in want_k]]
    typecheck_jaxpr(fad.make_jaxpr(fad.vmap(lambda v: lax.scan(step, 0.0, v)))(
        np.stack([xs, xs])))
    with pytest.raises(ValueError, match="scan"):
        fad.grad(lambda v: lax.scan(step, 0.0, v)[0])(xs)
