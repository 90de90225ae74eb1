"""The jaxpr-to-jaxpr transformations (``fad.interpreters.jaxpr_transforms``) against the
function-level transformations they must agree with.

Oracles: ``fad.jvp`` for ``jvp_jaxpr``; ``fad.vmap`` and a Python loop for
``batch_jaxpr``; running the whole program for ``partial_eval_jaxpr`` (and
``fad.linearize`` for its linearization case); ``fad.vjp``, ``fad.linear_transpose`` and
the dot-product identity <A x, y> = <x, A^T y> for ``transpose_jaxpr``. Every jaxpr made
is type-checked. The programs are random: chains of fad.numpy elementwise operations and
reductions over 1-3 float64 inputs of shapes (), (3,) and (2, 3), which broadcast together
(the pool-of-steps idea of ``tests/test_issue10_aliasing.py``).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad import lax
from fad.core.ir import ClosedJaxpr, Literal, typecheck_jaxpr
from fad.interpreters import jaxpr_transforms as jt
from fad.interpreters.jaxpr_transforms import (batch_jaxpr, jvp_jaxpr, partial_eval_jaxpr,
                                               transpose_jaxpr)
from fad.lax.sort import sort_p

SETTINGS = settings(max_examples=30, deadline=None)
TOL = dict(rtol=1e-12, atol=1e-12)

C3 = np.array([0.5, -1.5, 2.0])          # constants: the programs are closed over them
C23 = np.array([[1.0, 0.25, -0.5], [0.75, -2.0, 1.5]])


def _last_axis_sum(v):
    # (keeping the axis of a matrix: the shapes in a program stay mutually broadcastable)
    return fnp.sum(v, axis=-1, keepdims=fnp.ndim(v) > 1) if fnp.ndim(v) else v


def _last_axis_max(v):
    return fnp.max(v, axis=-1, keepdims=True) if fnp.ndim(v) else v


def _cumsum(v):
    return fnp.cumsum(v, axis=-1) if fnp.ndim(v) else v


def _sort(v):
    return fnp.sort(v, axis=-1) if fnp.ndim(v) else v


_UNARY = [fnp.sin, fnp.tanh, lambda v: fnp.exp(0.3 * v), lambda v: v * v, fnp.negative,
          lambda v: fnp.log1p(v * v), lambda v: fnp.sqrt(v * v + 1.0), _last_axis_sum,
          _last_axis_max, fnp.mean, _cumsum, _sort, lambda v: v * C3, lambda v: v - C23]
_BINARY = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
           lambda a, b: a / (b * b + 1.0), fnp.maximum, lambda a, b: fnp.where(a > b, a, b),
           lambda a, b: fnp.arctan2(a, b * b + 1.0)]
_SHAPES = [(), (3,), (2, 3)]


@st.composite
def programs(draw, unary=_UNARY, binary=_BINARY):
    """``(shapes, steps, outputs)``: the inputs' shapes, steps ``(op, operand indices)``
    over a pool that starts with the inputs, and the pool indices returned (the last
    value, and maybe another: an input, passed straight through, or a repeat)."""
    shapes = draw(st.lists(st.sampled_from(_SHAPES), min_size=1, max_size=3))
    steps = []
    for _ in range(draw(st.integers(1, 5))):
        if draw(st.booleans()):
            steps.append((draw(st.sampled_from(unary)), (draw(st.integers(0, 9)),)))
        else:
            steps.append((draw(st.sampled_from(binary)),
                          (draw(st.integers(0, 9)), draw(st.integers(0, 9)))))
    outputs = [-1] + draw(st.lists(st.integers(0, 9), max_size=1))
    return shapes, steps, outputs


def _function(program):
    _, steps, outputs = program

    def f(*xs):
        pool = list(xs)
        for op, idx in steps:
            pool.append(op(*[pool[i % len(pool)] for i in idx]))
        return tuple(pool[i] if i < 0 else pool[i % len(pool)] for i in outputs)
    return f


def _values(shapes, seed, lead=None):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.0, 1.0, s) for s in shapes]


def _checked(*closed):
    for c in closed:
        assert isinstance(c, ClosedJaxpr)
        typecheck_jaxpr(c)
    return closed[0] if len(closed) == 1 else closed


def _run(closed, *args):
    return fad.eval_jaxpr(closed, (), *args)


def _close(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), **TOL)


def _dot(xs, ys):
    return sum(float(np.sum(np.asarray(x) * np.asarray(y))) for x, y in zip(xs, ys))


# -- jvp_jaxpr ------------------------------------------------------------------------------

@SETTINGS
@given(programs(), st.data())
def test_jvp_jaxpr_equals_jvp(program, data):
    shapes = program[0]
    f = _function(program)
    xs, ts = _values(shapes, 0), _values(shapes, 1)
    closed = _checked(fad.make_jaxpr(f)(*xs))
    nonzero = data.draw(st.lists(st.booleans(), min_size=len(xs), max_size=len(xs)))
    jvp, out_nonzero = jvp_jaxpr(closed, nonzero)
    _checked(jvp)
    n_out = len(closed.out_avals)
    assert len(out_nonzero) == n_out and len(jvp.out_avals) == n_out + sum(out_nonzero)
    got = _run(jvp, *xs, *[t for t, nz in zip(ts, nonzero) if nz])
    want_out, want_t = fad.jvp(f, tuple(xs), tuple(t if nz else np.zeros_like(t)
                                                   for t, nz in zip(ts, nonzero)))
    _close(got[:n_out], want_out)
    tangents = iter(got[n_out:])
    for nz, w in zip(out_nonzero, want_t):
        np.testing.assert_allclose(next(tangents) if nz else np.zeros_like(w), w, **TOL)
    if not any(nonzero):
        assert not any(out_nonzero)


def test_jvp_jaxpr_instantiate_literal_and_passthrough():
    closed = _checked(fad.make_jaxpr(lambda x, y: (fnp.sin(x) * C3, 2.0, y, x))(
        np.ones(3), np.float64(0.5)))
    assert isinstance(closed.jaxpr.outvars[1], Literal)
    jvp, out_nonzero = jvp_jaxpr(closed, [True, False])
    assert out_nonzero == [True, False, False, True]
    jvp, out_nonzero = jvp_jaxpr(closed, [True, False], instantiate=[False, True, True, False])
    _checked(jvp)
    assert out_nonzero == [True, True, True, True]
    x, t = np.array([0.1, 0.2, 0.3]), np.array([1.0, -1.0, 2.0])
    out = _run(jvp, x, np.float64(0.5), t)
    _close(out, [np.sin(x) * C3, 2.0, 0.5, x, np.cos(x) * t * C3, 0.0, 0.0, t])
    assert np.shape(out[6]) == () and jvp.out_avals[6].dtype == np.float64
    # one flag for all; the input is never changed
    text = str(closed)
    assert jvp_jaxpr(closed, [False, False], instantiate=True)[1] == [True] * 4
    assert str(closed) == text


def test_jvp_jaxpr_multiple_results():
    def f(k, v):
        sk, sv = lax.sort((k, v), num_keys=1)
        vals, idx = lax.top_k(v * k, 2)
        return sk, sv, vals, idx
    k, v = np.array([0.3, -1.0, 2.0, 0.5]), np.array([1.0, 2.0, -3.0, 0.25])
    closed = _checked(fad.make_jaxpr(f)(k, v))
    jvp, out_nonzero = jvp_jaxpr(closed, [True, True])
    _checked(jvp)
    assert out_nonzero == [True, True, True, False]   # (the indices: no tangent)
    tk, tv = np.array([1.0, 0.5, -1.0, 2.0]), np.array([0.0, 1.0, 1.0, -2.0])
    _, want = fad.jvp(f, (k, v), (tk, tv))
    _close(_run(jvp, k, v, tk, tv)[4:], want[:3])
    jvp, out_nonzero = jvp_jaxpr(closed, [True, True], instantiate=True)
    _checked(jvp)
    assert out_nonzero == [True] * 4 and jvp.out_avals[-1].dtype == fad.core.dtypes.float0


# -- batch_jaxpr ----------------------------------------------------------------------------

def _in_dim(draw, ndim):
    return draw(st.sampled_from([None, 0, -1] + ([1] if ndim else [])))


def _batched(x, d, size, seed):
    """A batch of ``size`` arrays like ``x`` along axis ``d`` (``x`` itself if None)."""
    if d is None:
        return x
    rng = np.random.default_rng(seed)
    return np.stack([x + rng.uniform(-0.5, 0.5, np.shape(x)) for _ in range(size)], axis=d)


def _at_front(x, d, size):
    return np.broadcast_to(x, (size, *np.shape(x))) if d is None else np.moveaxis(x, d, 0)


@SETTINGS
@given(programs(), st.data())
def test_batch_jaxpr_equals_vmap_and_a_loop(program, data):
    shapes, size = program[0], 2
    f = _function(program)
    xs = _values(shapes, 0)
    closed = _checked(fad.make_jaxpr(f)(*xs))
    in_dims = [_in_dim(data.draw, len(s)) for s in shapes]
    instantiate = data.draw(st.booleans())
    batched, out_dims = batch_jaxpr(closed, size, in_dims, instantiate)
    _checked(batched)
    args = [_batched(x, d, size, i) for i, (x, d) in enumerate(zip(xs, in_dims))]
    got = _run(batched, *args)
    if instantiate:
        assert out_dims == [0] * len(got)
    for g, d, aval in zip(got, out_dims, closed.out_avals):
        assert np.shape(g) == (aval.shape if d is None else
                               aval.shape[:d] + (size,) + aval.shape[d:])
    got = [_at_front(g, d, size) for g, d in zip(got, out_dims)]
    want = fad.vmap(f, in_axes=tuple(in_dims), axis_size=size)(*args)
    _close(got, want)
    rows = [f(*[x if d is None else np.take(x, i, axis=d) for x, d in zip(args, in_dims)])
            for i in range(size)]
    _close(got, [np.stack(r) for r in zip(*rows)])


def test_batch_jaxpr_instantiate_literal_passthrough_and_consts():
    closed = _checked(fad.make_jaxpr(lambda x, y: (x * C23, 2.0, y, fnp.sum(x, axis=0)))(
        np.ones((2, 3)), np.float64(0.5)))
    batched, out_dims = batch_jaxpr(closed, 4, [1, None])
    _checked(batched)
    assert out_dims[1:3] == [None, None] and None not in (out_dims[0], out_dims[3])
    batched, out_dims = batch_jaxpr(closed, 4, [1, None], instantiate=[False, True, True, True])
    _checked(batched)
    assert out_dims[1:] == [0, 0, 0]
    x = np.arange(24.0).reshape(2, 4, 3)
    out = _run(batched, x, np.float64(0.5))
    _close(out[1:], [np.full(4, 2.0), np.full(4, 0.5), np.moveaxis(x.sum(0), 0, 0)])
    np.testing.assert_allclose(np.moveaxis(out[0], out_dims[0], 0), np.moveaxis(x, 1, 0) * C23)
    with pytest.raises(ValueError, match="in_dims"):
        batch_jaxpr(closed, 4, [3, None])
    with pytest.raises(ValueError, match="in_dims"):
        batch_jaxpr(closed, 4, [0])


def test_batch_jaxpr_multiple_results():
    def f(k, v):
        return (*lax.sort((k, v), num_keys=1), *lax.top_k(v, 2))
    k, v = np.array([0.3, -1.0, 2.0, 0.5]), np.array([1.0, 2.0, -3.0, 0.25])
    closed = _checked(fad.make_jaxpr(f)(k, v))
    ks = np.stack([k, -k, k[::-1]], axis=1)
    batched, out_dims = batch_jaxpr(closed, 3, [1, None], instantiate=True)
    _checked(batched)
    got = _run(batched, ks, v)
    _close(got, fad.vmap(f, in_axes=(1, None))(ks, v))


# -- partial_eval_jaxpr ---------------------------------------------------------------------

def _split_run(known, unknown, out_unknowns, num_res, xs, unknowns):
    """Run ``known`` on the known inputs, then ``unknown`` on the residuals and the unknown
    inputs: the outputs of the whole, in order."""
    known_outs = _run(known, *[x for x, u in zip(xs, unknowns) if not u])
    n_known = len(known_outs) - num_res
    residuals = known_outs[n_known:]
    unknown_outs = iter(_run(unknown, *residuals, *[x for x, u in zip(xs, unknowns) if u]))
    known_outs = iter(known_outs[:n_known])
    return [next(unknown_outs) if u else next(known_outs) for u in out_unknowns]


@SETTINGS
@given(programs(), st.data())
def test_partial_eval_jaxpr_known_then_unknown_is_the_whole(program, data):
    shapes = program[0]
    f = _function(program)
    xs = _values(shapes, 0)
    closed = _checked(fad.make_jaxpr(f)(*xs))
    n_out = len(closed.out_avals)
    unknowns = data.draw(st.lists(st.booleans(), min_size=len(xs), max_size=len(xs)))
    instantiate = data.draw(st.lists(st.booleans(), min_size=n_out, max_size=n_out))
    known, unknown, out_unknowns, num_res = partial_eval_jaxpr(closed, unknowns, instantiate)
    _checked(known, unknown)
    assert all(u for u, i in zip(out_unknowns, instantiate) if i)
    assert len(known.out_avals) == out_unknowns.count(False) + num_res
    assert len(unknown.in_avals) == num_res + sum(unknowns)
    assert len(unknown.out_avals) == out_unknowns.count(True)
    # residuals: distinct, each read by the unknown side, at most one per known value
    res_vars = unknown.jaxpr.invars[:num_res]
    read = {a for e in unknown.eqns for a in e.invars} | set(unknown.jaxpr.outvars)
    assert all(r in read for r in res_vars)
    assert num_res <= len(closed.jaxpr.constvars) + len(xs) + len(closed.eqns)
    if not any(unknowns):
        passed = {a for a, i in zip(closed.jaxpr.outvars, instantiate)
                  if i and not isinstance(a, Literal)}
        assert not unknown.eqns and num_res == len(passed)   # (one per distinct value)
    if all(unknowns):
        assert not known.eqns and num_res <= len(closed.consts)
    _close(_split_run(known, unknown, out_unknowns, num_res, xs, unknowns), _run(closed, *xs))


@SETTINGS
@given(programs())
def test_linearization_is_partial_eval_of_jvp_and_transposes(program):
    shapes = program[0]
    f = _function(program)
    xs, ts = _values(shapes, 0), _values(shapes, 1)
    n = len(xs)
    closed = _checked(fad.make_jaxpr(f)(*xs))
    n_out = len(closed.out_avals)
    jvp, out_nonzero = jvp_jaxpr(closed, [True] * n, instantiate=True)
    known, lin, out_unknowns, num_res = partial_eval_jaxpr(
        jvp, [False] * n + [True] * n, instantiate=[False] * n_out + [True] * n_out)
    _checked(jvp, known, lin)
    assert out_unknowns == [False] * n_out + [True] * n_out   # primals known, tangents not
    known_outs = _run(known, *xs)
    residuals = known_outs[n_out:]
    _close(known_outs[:n_out], f(*xs))
    # the linear map, without the primal computation
    y, f_jvp = fad.linearize(f, *xs)
    _close(_run(lin, *residuals, *ts), f_jvp(*ts))
    # its transpose: the VJP; and the dot-product test
    lin_t = _checked(transpose_jaxpr(lin, [False] * num_res + [True] * n))
    cts = _values([np.shape(o) for o in y], 2)
    got = _run(lin_t, *residuals, *cts)
    _close(got, fad.vjp(f, *xs)[1](tuple(cts)))
    assert np.isclose(_dot(_run(lin, *residuals, *ts), cts), _dot(ts, got), rtol=1e-10,
                      atol=1e-12)


def test_partial_eval_jaxpr_consts_literals_passthrough():
    closed = _checked(fad.make_jaxpr(lambda x, y: (fnp.sin(x) * C3 + y, 2.0, y, x, C3 * 2.0))(
        np.ones(3), np.float64(0.5)))
    assert closed.consts
    known, unknown, out_unknowns, num_res = partial_eval_jaxpr(closed, [False, True])
    _checked(known, unknown)
    assert out_unknowns == [True, False, True, False, False]
    assert num_res == 1 and not unknown.consts   # sin(x) * C3: the constants stay known
    x, y = np.array([0.1, 0.2, 0.3]), np.float64(0.5)
    _close(_split_run(known, unknown, out_unknowns, num_res, [x, y], [False, True]),
           _run(closed, x, y))
    # instantiate: known outputs become residuals the unknown side passes through
    known, unknown, out_unknowns, num_res = partial_eval_jaxpr(closed, [False, True], True)
    _checked(known, unknown)
    assert out_unknowns == [True] * 5 and num_res == 3   # sin(x) * C3, x, C3 * 2 (2.0 inline)
    assert isinstance(unknown.jaxpr.outvars[1], Literal)
    _close(_split_run(known, unknown, out_unknowns, num_res, [x, y], [False, True]),
           _run(closed, x, y))


def test_partial_eval_jaxpr_multiple_results_and_rules(monkeypatch):
    def f(k, v):
        sk, sv = lax.sort((k, v), num_keys=1)
        return sk * 2.0, sv
    k, v = np.array([0.3, -1.0, 2.0, 0.5]), np.array([1.0, 2.0, -3.0, 0.25])
    closed = _checked(fad.make_jaxpr(f)(k, v))
    known, unknown, out_unknowns, num_res = partial_eval_jaxpr(closed, [False, True])
    _checked(known, unknown)
    assert out_unknowns == [True, True] and not known.eqns   # without a rule: all unknown
    _close(_split_run(known, unknown, out_unknowns, num_res, [k, v], [False, True]), f(k, v))

    calls = []

    def sort_rule(eqn, unknowns_in):
        # known keys: the sorted keys are known (a sort of the keys alone); the unknown
        # equation sorts again, reading the keys as a residual
        calls.append(unknowns_in)
        if unknowns_in[0]:
            return None, eqn, [True] * len(eqn.outvars), []
        known_eqn = eqn._replace(invars=eqn.invars[:1], outvars=eqn.outvars[:1])
        fresh = fad.core.ir.Var(eqn.outvars[0].aval)
        unknown_eqn = eqn._replace(outvars=[fresh, *eqn.outvars[1:]])
        return known_eqn, unknown_eqn, [False, True], []

    monkeypatch.setitem(jt.partial_eval_jaxpr_rules, sort_p, sort_rule)
    known, unknown, out_unknowns, num_res = partial_eval_jaxpr(closed, [False, True])
    _checked(known, unknown)
    assert calls == [[False, True]]
    assert out_unknowns == [False, True] and num_res == 1
    assert [e.primitive.name for e in known.eqns] == ["sort", "mul"]
    _close(_split_run(known, unknown, out_unknowns, num_res, [k, v], [False, True]), f(k, v))


# -- transpose_jaxpr ------------------------------------------------------------------------

_LINEAR = [lambda v: -v, lambda v: 2.5 * v, _last_axis_sum, fnp.mean, _cumsum,
           lambda v: v * C3, lambda v: v - 0.5 * v, lambda v: fnp.broadcast_to(v, (2, 3))]


@SETTINGS
@given(programs(_LINEAR, [lambda a, b: a + b, lambda a, b: a - b]))
def test_transpose_jaxpr_equals_linear_transpose(program):
    shapes = program[0]
    f = _function(program)
    xs = _values(shapes, 0)
    closed = _checked(fad.make_jaxpr(f)(*xs))
    transposed = _checked(transpose_jaxpr(closed, [True] * len(xs)))
    cts = _values([a.shape for a in closed.out_avals], 1)
    got = _run(transposed, *cts)
    assert [np.shape(g) for g in got] == [np.shape(x) for x in xs]
    _close(got, fad.linear_transpose(f, *xs)(tuple(cts)))
    _close(got, fad.vjp(f, *xs)[1](tuple(cts)))
    assert np.isclose(_dot(_run(closed, *xs), cts), _dot(xs, got), rtol=1e-10, atol=1e-12)


def test_transpose_jaxpr_nonlinear_inputs_zeros_and_passthrough():
    def f(w, x, z, y):   # linear in x, z and y; z is unused, y passed straight through
        return fnp.sin(w) * x * C3, 3.0, y
    w, x, z, y = np.array([0.1, 0.2, 0.3]), np.array([1.0, 2.0, 3.0]), np.ones(2), np.float64(4.0)
    closed = _checked(fad.make_jaxpr(f)(w, x, z, y))
    transposed = _checked(transpose_jaxpr(closed, [False, True, True, True]))
    assert [a.shape for a in transposed.in_avals] == [(3,), (3,), (), ()]
    assert [a.shape for a in transposed.out_avals] == [(3,), (2,), ()]
    ct = np.array([1.0, -1.0, 0.5])
    out = _run(transposed, w, ct, np.float64(7.0), np.float64(2.0))
    _close(out, [np.sin(w) * C3 * ct, np.zeros(2), 2.0])
    _close(out, fad.vjp(lambda x, z, y: f(w, x, z, y), x, z, y)[1](
        (ct, np.float64(7.0), np.float64(2.0))))


def test_transpose_jaxpr_multiple_results():
    # a multiple-result equation on the non-linear side: evaluated forward (staged)
    def f(p, x):
        sp, order = lax.sort((p, p * 2.0), num_keys=1)
        return sp * x + order * x
    p, x = np.array([0.3, -1.0, 2.0, 0.5]), np.array([1.0, 2.0, -3.0, 0.25])
    closed = _checked(fad.make_jaxpr(f)(p, x))
    transposed = _checked(transpose_jaxpr(closed, [False, True]))
    ct = np.array([1.0, 2.0, 3.0, 4.0])
    _close(_run(transposed, p, ct), fad.vjp(lambda x: f(p, x), x)[1](ct))
    # and on the linear side, through linearization (sort and top_k are not linear)
    def g(k, v):
        sk, sv = lax.sort((k, v), num_keys=1)
        return sk * sv, lax.top_k(v * k, 2)[0]
    closed = _checked(fad.make_jaxpr(g)(p, x))
    jvp, _ = jvp_jaxpr(closed, [True, True], instantiate=True)
    known, lin, _, num_res = partial_eval_jaxpr(jvp, [False, False, True, True],
                                                instantiate=[False, False, True, True])
    _checked(jvp, known, lin)
    assert "sort" in [e.primitive.name for e in known.eqns]
    lin_t = _checked(transpose_jaxpr(lin, [False] * num_res + [True, True]))
    residuals = _run(known, p, x)[2:]
    cts = (ct, np.array([0.5, -1.0]))
    _close(_run(lin_t, *residuals, *cts), fad.vjp(g, p, x)[1](cts))


# -- composition: the rules of higher-order primitives run them nested and under traces --

def test_transformed_jaxprs_compose():
    f = lambda x, y: (fnp.sin(x) * y, fnp.sum(x * x))   # noqa: E731
    x, y, t = np.array([0.1, 0.2, 0.3]), np.float64(0.5), np.array([1.0, 0.0, -1.0])
    closed = _checked(fad.make_jaxpr(f)(x, y))
    # second order: the JVP of the JVP
    jvp, _ = jvp_jaxpr(closed, [True, False])
    jvp2, nz2 = jvp_jaxpr(_checked(jvp), [True, False, True])
    _checked(jvp2)
    got = _run(jvp2, x, y, t, t, np.zeros(3))
    want = fad.jvp(lambda x: fad.jvp(lambda x: f(x, y), (x,), (t,))[1], (x,), (t,))[1]
    _close(got[-2:], want)
    # the batched JVP
    batched, out_dims = batch_jaxpr(jvp, 2, [0, None, 0], instantiate=True)
    _checked(batched)
    xs, ts = np.stack([x, -x]), np.stack([t, 2 * t])
    _close(_run(batched, xs, y, ts), fad.vmap(
        lambda x, t: (*f(x, y), *fad.jvp(lambda x: f(x, y), (x,), (t,))[1]))(xs, ts))


def test_transformations_of_jaxprs_inside_transformations():
    # a rule of a higher-order primitive calls these with its parent trace current
    closed = _checked(fad.make_jaxpr(lambda x: fnp.sin(x) * C3)(np.ones(3)))

    def g(x):
        jvp, _ = jvp_jaxpr(closed, [True])
        _checked(jvp)
        return fad.eval_jaxpr(jvp, (), x, x * 2.0)[1]
    x = np.array([0.1, 0.2, 0.3])
    _close([fad.vmap(g)(np.stack([x, x]))[1]], [np.cos(x) * 2 * x * C3])
    _close([fad.grad(lambda x: fnp.sum(g(x)))(x)],
           [fad.grad(lambda x: fnp.sum(fnp.cos(x) * 2 * x * C3))(x)])


def test_flags_of_the_wrong_length_raise():
    closed = fad.make_jaxpr(lambda x: (x, x))(1.0)
    with pytest.raises(ValueError, match="nonzero"):
        jvp_jaxpr(closed, [True, True])
    with pytest.raises(ValueError, match="instantiate"):
        partial_eval_jaxpr(closed, [True], [True])
    with pytest.raises(ValueError, match="linear"):
        transpose_jaxpr(closed, [])
