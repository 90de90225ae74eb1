"""The optimisation passes (``fad.interpreters.passes``, rules in ``fad.lax.passes_simplify``):
each pass before and after on small programs, results that type-check and evaluate to
the values the program had, bodies of higher-order primitives processed, and the
pipeline ``optimize`` on gradients and Hessians."""
import gc
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.lax.passes_simplify  # noqa: F401 - registers the rules of ``simplify``
import fad.numpy as fnp
from fad import lax
from fad.core.abstract import ShapedArray
from fad.core.ad_util import add_any_p
from fad.core.ir import (ClosedJaxpr, Jaxpr, Literal, Var, sub_jaxprs, new_eqn,
                         typecheck_jaxpr)
from fad.core.primitive import Primitive
from fad.interpreters.lowering import lower
from fad.interpreters.passes import (cse, dce, fold_constants, forward_inputs,
                                     merge_forwarded, optimize, simplify)
from fad.lax.elementwise import sin_p
from fad.lax.plumbing import mul_p


@pytest.fixture(autouse=True)
def _jit_unoptimized():
    """The programs these tests hand the passes are traced as written: ``jit`` inside them
    must not run the passes on its body first."""
    fad.config.update("jit_optimize", False)
    yield
    fad.config.update("jit_optimize", True)

F64 = ShapedArray((), np.float64)
F64_WEAK = ShapedArray((), np.float64, weak_type=True)
PASSES = [dce, cse, fold_constants, simplify, optimize]


def _values(program, *args):
    return fad.eval_jaxpr(program, (), *args)


def _same_values(a, b, *args, exact=True):
    for x, y in zip(_values(a, *args), _values(b, *args)):
        assert np.asarray(x).dtype == np.asarray(y).dtype
        if exact:
            np.testing.assert_array_equal(x, y)
        else:
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-13)


def _primitives(program) -> list:
    """The names of the primitives of ``program`` and of every body in it, in order."""
    jaxpr = program.jaxpr if isinstance(program, ClosedJaxpr) else program
    names, stack = [], [jaxpr]
    while stack:
        j = stack.pop()
        for e in j.eqns:
            names.append(e.primitive.name)
            stack.extend(s.jaxpr if isinstance(s, ClosedJaxpr) else s
                         for _, s in sub_jaxprs(e.params))
    return names


def _closed(invars, eqns, outvars, constvars=(), consts=()):
    return ClosedJaxpr(Jaxpr(constvars, invars, outvars, eqns), consts)


def _eqn(prim, invars, aval, **params):
    out = Var(aval)
    return new_eqn((prim, list(invars), [out], params)), out


# -- dce ------------------------------------------------------------------------------------

def test_dce_drops_dead_equations_and_unused_constants():
    c = fad.make_jaxpr(fad.grad(lambda x: fnp.sum(x * fnp.arange(1.0, 4.0))))(np.ones(3))
    assert "reduce_sum" in _primitives(c)   # (the forward pass's sum, which no one reads)
    out = dce(c)
    typecheck_jaxpr(out)
    assert str(out) == """\
{ lambda a:f64[3]; b:f64[3]. let
    c:f64[3] = broadcast_in_dim[broadcast_dimensions=() shape=(3,)] 1.0:f64[]
    d:f64[3] = mul c a
  in (d,) }"""
    _same_values(c, out, np.arange(3.0))
    x = Var(F64)
    closed = _closed([x], [], [x], [Var(F64)], [np.float64(2.0)])
    assert dce(closed).consts == []


def test_dce_in_bodies():
    c = fad.make_jaxpr(lambda p, x: lax.cond(p, lambda y: (fnp.cos(y), y * 2.0)[1],
                                             lambda y: y, x))(True, np.ones(2))
    j = fad.make_jaxpr(fad.jit(lambda y: (fnp.cos(y), y * 2.0)[1]))(np.ones(2))
    for program, args in ((c, (True, np.arange(2.0))), (j, (np.arange(2.0),))):
        assert "cos" in _primitives(program)
        out = dce(program)
        typecheck_jaxpr(out)
        assert "cos" not in _primitives(out) and "mul" in _primitives(out)
        _same_values(program, out, *args)


def test_dce_keeps_effects(capsys):
    def f(x):
        fad.debug.print("x = {}", x)
        return x * 2.0
    c = fad.make_jaxpr(f)(1.0)
    out = optimize(c)
    assert "debug_callback" in _primitives(out)
    fad.eval_jaxpr(out, (), 3.0)
    assert "x = 3.0" in capsys.readouterr().out


# -- cse ------------------------------------------------------------------------------------

def test_cse_merges_repeated_equations():
    c = fad.make_jaxpr(lambda x, y: fnp.sin(x) * y + y * fnp.sin(x))(np.ones(2), np.ones(2))
    out = cse(c)
    typecheck_jaxpr(out)
    assert str(out) == """\
{ lambda ; a:f64[2] b:f64[2]. let
    c:f64[2] = sin a
    d:f64[2] = mul c b
    e:f64[2] = add d d
  in (e,) }"""
    _same_values(c, out, np.arange(2.0), np.arange(3.0, 5.0))


@pytest.mark.parametrize("other", [
    Literal(np.float64(-0.0)),             # another value (bits: -0.0 is not 0.0)
    Literal(0.0, F64_WEAK),                 # another weak type
    Literal(np.float32(0.0)),               # another dtype (the shape rule still agrees)
], ids=["negative-zero", "weak", "float32"])
def test_cse_compares_literals_by_value_dtype_and_weak_type(other):
    x = Var(F64)
    e1, a = _eqn(add_any_p, [x, Literal(np.float64(0.0))], F64)
    e2, b = _eqn(add_any_p, [x, other], F64)
    e3, _ = _eqn(add_any_p, [x, Literal(np.float64(0.0))], F64)
    closed = _closed([x], [e1, e2, e3], [a, b, e3.outvars[0]])
    out = cse(closed)
    assert len(out.eqns) == 2 and out.jaxpr.outvars == [a, b, a]


def test_cse_leaves_effects_and_unhashable_parameters():
    def f(x):
        fad.debug.print("{}", x)
        fad.debug.print("{}", x)
        return x
    c = fad.make_jaxpr(f)(1.0)
    assert cse(c) is c
    boom = Primitive("array_param")
    boom.def_abstract_eval(lambda x, *, table: x)
    boom.def_impl(lambda x, *, table: x)
    x = Var(F64)
    e1, a = _eqn(boom, [x], F64, table=np.ones(2))
    e2, b = _eqn(boom, [x], F64, table=np.ones(2))
    closed = _closed([x], [e1, e2], [a, b])
    assert cse(closed) is closed


# -- fold_constants -------------------------------------------------------------------------

def test_fold_constants_arrays_become_constants():
    c = fad.make_jaxpr(fad.jacfwd(lambda x: x * 2.0))(np.ones(2))
    out = fold_constants(c)
    typecheck_jaxpr(out)
    assert str(out) == """\
{ lambda a:f64[2,2] b:f64[2,2] c:f64[2,2]; d:f64[2]. let
    e:f64[2] = mul d 2.0:f64[]
  in (c,) }"""
    np.testing.assert_array_equal(out.consts[-1], 2.0 * np.eye(2))
    _same_values(c, out, np.arange(2.0))


def test_fold_constants_scalars_become_literals_of_their_type():
    x = Var(F64)
    e1, s = _eqn(sin_p, [Literal(np.float64(2.0))], F64)
    e2, w = _eqn(sin_p, [Literal(2.0, F64_WEAK)], F64_WEAK)
    e3, y = _eqn(mul_p, [x, s], F64)
    closed = _closed([x], [e1, e2, e3], [y, w])
    out = fold_constants(closed)
    typecheck_jaxpr(out)
    assert str(out) == """\
{ lambda ; a:f64[]. let
    b:f64[] = mul a 0.9092974268256817:f64[]
  in (b, 0.9092974268256817:f64[]) }"""
    strong, weak = out.jaxpr.eqns[0].invars[1], out.jaxpr.outvars[1]
    assert type(strong.val) is np.float64 and strong.aval == F64
    assert type(weak.val) is float and weak.aval == F64_WEAK
    _same_values(closed, out, np.float64(3.0))


def test_fold_constants_size_rule_is_lowerings():
    from fad.lax.elementwise import exp_p
    n = 5000
    vec = ShapedArray((n,), np.float64)
    big, ramp, x = Var(vec), Var(vec), Var(vec)
    e1, a = _eqn(exp_p, [big], vec)    # one repeated value: it stores one element
    e2, b = _eqn(exp_p, [ramp], vec)   # n different values
    e3, c = _eqn(add_any_p, [a, b], vec)
    e4, d = _eqn(add_any_p, [c, x], vec)
    closed = _closed([x], [e1, e2, e3, e4], [d], [big, ramp],
                     [np.ones(n), np.linspace(0.0, 1.0, n)])
    out = fold_constants(closed)
    typecheck_jaxpr(out)
    assert [e.primitive.name for e in out.eqns] == ["exp", "add_any", "add_any"]
    assert out.jaxpr.constvars[-1] is b   # (its own variable, now a constant)
    assert lower(out).num_instructions == lower(closed).num_instructions == 3
    _same_values(closed, out, np.arange(float(n)))
    # broadcasts of scalars grow: never folded
    g = fad.make_jaxpr(fad.grad(lambda x: fnp.sum(x)))(np.ones(1000))
    assert "broadcast_in_dim" in _primitives(fold_constants(g))
    A = np.random.default_rng(0).normal(size=(4, 3))
    f = fad.hessian(lambda x: fnp.sum(fnp.log1p(fnp.exp(A @ x))) + 0.5 * x @ x)
    h = fad.make_jaxpr(f)(np.ones(3))
    assert lower(fold_constants(h)).num_instructions == lower(h).num_instructions


def test_fold_constants_leaves_errors_effects_and_open_jaxprs():
    boom = Primitive("boom")
    boom.def_abstract_eval(lambda x: x)
    boom.def_impl(lambda x: (_ for _ in ()).throw(ValueError("boom")))
    said = Primitive("said", effectful=True)
    said.def_abstract_eval(lambda x: x)
    said.def_impl(lambda x: x)
    k = Var(ShapedArray((2,), np.float64))
    e1, a = _eqn(boom, [k], k.aval)
    e2, b = _eqn(said, [Literal(np.float64(1.0))], F64)
    e3, c = _eqn(sin_p, [k], k.aval)
    closed = _closed([], [e1, e2, e3], [a, b, c], [k], [np.ones(2)])
    out = fold_constants(closed)
    assert [e.primitive.name for e in out.eqns] == ["boom", "said"]
    opened = fold_constants(closed.jaxpr)   # (constants without values: nothing folds)
    assert isinstance(opened, Jaxpr) and opened is closed.jaxpr


# -- simplify -------------------------------------------------------------------------------

_X = np.arange(1.0, 7.0).reshape(2, 3)
_CASES = {   # name: (function of x, primitives that must be gone)
    "x*1": (lambda x: x * 1.0, {"mul"}),
    "1*x": (lambda x: 1.0 * x, {"mul"}),
    "x+0": (lambda x: x + 0.0, {"add"}),
    "0+x": (lambda x: 0.0 + x, {"add"}),
    "x-0": (lambda x: x - 0.0, {"sub"}),
    "x/1": (lambda x: x / 1.0, {"div"}),
    "neg(neg(x))": (lambda x: lax.neg(lax.neg(x)), {"neg"}),
    "x*ones": (lambda x: x * np.ones((2, 3)), {"mul"}),
    "x*broadcast(1)": (lambda x: x * fnp.ones_like(x), {"mul"}),
    "x**1": (lambda x: lax.integer_pow(x, 1), {"integer_pow"}),
    "transpose(transpose(x))": (lambda x: x.T.T, {"transpose"}),
    "transpose identity": (lambda x: lax.transpose_p.bind(x, permutation=(0, 1)),
                           {"transpose"}),
    "reshape same shape": (lambda x: lax.reshape_p.bind(x, new_sizes=(2, 3)), {"reshape"}),
    "reshape(reshape(x))": (lambda x: x.reshape(6).reshape(3, 2).reshape(2, 3), {"reshape"}),
    "broadcast same shape": (lambda x: lax.broadcast_in_dim_p.bind(
        x, shape=(2, 3), broadcast_dimensions=(0, 1)), {"broadcast_in_dim"}),
    "convert to own dtype": (lambda x: lax.convert_element_type_p.bind(
        x, new_dtype=np.dtype(np.float64), weak_type=False), {"convert_element_type"}),
    "x @ eye": (lambda x: x @ np.eye(3), {"dot_general"}),
    "eye @ x": (lambda x: np.eye(2) @ x, {"dot_general"}),
    "eye @ x.T": (lambda x: np.eye(3) @ x.T, {"dot_general"}),
    "add_any(x, 0)": (lambda x: add_any_p.bind(x, np.zeros((2, 3))), {"add_any"}),
}


@pytest.mark.parametrize("name", list(_CASES))
def test_simplify_rule(name):
    f, gone = _CASES[name]
    c = fad.make_jaxpr(f)(_X)
    assert gone <= set(_primitives(c))
    out = dce(simplify(c))
    typecheck_jaxpr(out)
    assert not gone & set(_primitives(out)), str(out)
    assert out.out_avals == c.out_avals
    _same_values(c, out, _X)


def test_simplify_prints():
    c = fad.make_jaxpr(lambda x: lax.neg(lax.neg(x)) * 1.0 + 0.0)(np.ones(2))
    assert str(dce(simplify(c))) == """\
{ lambda ; a:f64[2]. let
  in (a,) }"""
    # a transpose folded into dot_general's dimension numbers
    t = fad.make_jaxpr(lambda a, b: lax.transpose(a, (1, 0)) @ b)(np.ones((3, 2)),
                                                                 np.ones((3, 4)))
    (eqn,) = optimize(t).eqns
    assert eqn.primitive.name == "dot_general" and eqn.invars == t.jaxpr.invars
    assert eqn.params["dimension_numbers"] == (((0,), (0,)), ((), ()))
    _same_values(t, optimize(t), _X.T, np.arange(12.0).reshape(3, 4), exact=False)


def test_simplify_keeps_transposes_that_reorder_the_result():
    # (b @ a.T).T swaps the result's axes: the transpose of the result stays, but the
    # one of the operand goes into the dimension numbers
    c = fad.make_jaxpr(lambda a, b: lax.transpose(lax.transpose(a, (0, 2, 1)) @ b[None],
                                                  (0, 2, 1)))(np.ones((2, 3, 4)),
                                                              np.ones((3, 5)))
    out = optimize(c)
    typecheck_jaxpr(out)
    args = (np.arange(24.0).reshape(2, 3, 4), np.arange(15.0).reshape(3, 5))
    _same_values(c, out, *args, exact=False)


def test_simplify_broadcasts_when_the_result_is_larger():
    c = fad.make_jaxpr(lambda s: s * np.ones(3) + np.zeros((2, 3)))(np.float64(2.0))
    out = optimize(c)
    assert _primitives(out) == ["broadcast_in_dim"]
    _same_values(c, out, np.float64(2.0))


def test_simplify_keeps_the_weak_type():
    x = Var(F64_WEAK)   # a traced Python scalar, times a strong 1.0: a strong result
    e, y = _eqn(mul_p, [x, Literal(np.float64(1.0))], F64)
    closed = _closed([x], [e], [y])
    assert simplify(closed) is closed
    e, y = _eqn(mul_p, [x, Literal(1.0, F64_WEAK)], F64_WEAK)
    closed = _closed([x], [e], [y])
    assert simplify(closed).jaxpr.outvars == [x]


def test_square_and_integer_pow_unified():
    c = fad.make_jaxpr(lambda x: lax.integer_pow(x, 2) + lax.square(x) + x * x)(np.ones(3))
    out = optimize(c)
    assert str(out) == """\
{ lambda ; a:f64[3]. let
    b:f64[3] = square a
    c:f64[3] = add b b
    d:f64[3] = add c b
  in (d,) }"""
    _same_values(c, out, np.linspace(-3, 3, 3))


def test_identity_products_from_issue_14():
    A = np.random.default_rng(0).normal(size=(4, 3))

    def f(x):
        return fnp.sum(fnp.log1p(fnp.exp(A @ x))) + 0.5 * x @ x

    c = fad.make_jaxpr(fad.hessian(f))(np.ones(3))
    eye = [v for v, k in zip(c.jaxpr.constvars, c.consts) if np.array_equal(k, np.eye(3))]

    def reading_eye(program):
        return [e for e in program.eqns if set(e.invars) & set(eye)]

    before = reading_eye(c)
    assert {e.primitive.name for e in before} >= {"dot_general", "mul"}   # dot a eye, mul eye
    out = optimize(c)
    typecheck_jaxpr(out)
    assert reading_eye(out) == [] and len(out.eqns) < len(c.eqns) // 2
    x = np.random.default_rng(1).normal(size=3)
    _same_values(c, out, x, exact=False)


# -- forwarding -----------------------------------------------------------------------------

def test_forward_inputs():
    c = fad.make_jaxpr(lambda x, y: (y, fnp.sin(x), x))(np.ones(2), np.ones(3))
    pruned, forwarded = forward_inputs(c)
    assert forwarded == [1, None, 0]
    assert len(pruned.out_avals) == 1
    typecheck_jaxpr(pruned)
    x, y = np.arange(2.0), np.arange(3.0)
    outs = merge_forwarded(forwarded, [x, y], fad.eval_jaxpr(pruned, (), x, y))
    assert outs[0] is y and outs[2] is x
    np.testing.assert_array_equal(outs[1], np.sin(x))
    plain = fad.make_jaxpr(fnp.sin)(np.ones(2))
    assert forward_inputs(plain) == (plain, [None])
    # after optimisation, ``x * 1.0`` is its input
    assert forward_inputs(optimize(fad.make_jaxpr(lambda x: x * 1.0)(np.ones(2))))[1] == [0]


# -- bodies of higher-order primitives -------------------------------------------------------

@fad.custom_jvp
def _sin_times_one(x):
    return fnp.sin(x) * 1.0


@_sin_times_one.defjvp
def _sin_times_one_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _sin_times_one(x), t * fnp.cos(x)


_BODIES = {
    "cond": lambda x: lax.cond(x[0] > 0, lambda y: y * 1.0, lambda y: lax.neg(lax.neg(y)) + 0.0, x),
    "scan": lambda x: lax.scan(lambda c, y: (c * 1.0 + y, c - 0.0), x[0], x),
    "jit": fad.jit(lambda x: fnp.sin(x) * 1.0),
    "remat": fad.checkpoint(lambda x: fnp.sin(x) * 1.0),
    "while": lambda x: lax.while_loop(
        lambda c: c[0] < 10.0, lambda c: (c[0] * 1.0 + 1.0, lax.neg(lax.neg(c[1]))), (x[0], x)),
    "custom_jvp": _sin_times_one,
}


@pytest.mark.parametrize("name", list(_BODIES))
def test_bodies_are_simplified(name):
    f = _BODIES[name]
    x = np.array([0.5, -1.0, 2.0])
    c = fad.make_jaxpr(f)(x)
    assert {"mul", "neg", "sub"} & set(_primitives(c))
    out = optimize(c)
    typecheck_jaxpr(out)
    assert not {"mul", "neg", "sub"} & set(_primitives(out))
    _same_values(c, out, x)
    _same_values(c, out, -x)


def test_shared_bodies_stay_shared():
    body = fad.jit(lambda x: x * 1.0 + 0.0)
    c = fad.make_jaxpr(lambda x: body(x) + body(fnp.sin(x)))(np.ones(2))
    bodies = {id(e.params["jaxpr"]) for e in c.eqns if e.primitive.name == "jit"}
    out = simplify(c)
    new = {id(e.params["jaxpr"]) for e in out.eqns if e.primitive.name == "jit"}
    assert len(bodies) == len(new) == 1 and bodies != new


# -- properties of every pass -----------------------------------------------------------------

_A = np.random.default_rng(2).normal(size=(4, 3))


def _loss(x):
    return fnp.sum(fnp.log1p(fnp.exp(_A @ x))) + 0.5 * x @ x


_PROGRAMS = {
    "grad": fad.grad(_loss),
    "hessian": fad.hessian(_loss),
    "jacrev(grad)": fad.jacrev(fad.grad(_loss)),
    "grad tanh": fad.grad(lambda x: fnp.sum(fnp.tanh(x) ** 2 * x)),
    "hessian poly": fad.hessian(lambda x: fnp.sum(x ** 3) * 1.0 + fnp.prod(x)),
    "jvp": lambda x: fad.jvp(lambda u: fnp.exp(u) * u, (x,), (fnp.ones_like(x),))[1],
    "vmap grad": lambda x: fad.vmap(fad.grad(lambda u: fnp.sin(u) * u))(x),
    "grad cond": fad.grad(lambda x: fnp.sum(lax.cond(x[0] > 0, fnp.sin, fnp.cos, x))),
    "grad scan": fad.grad(lambda x: lax.scan(lambda c, y: (c * y + 0.0, c), 1.0, x)[0]),
    "grad remat": fad.grad(lambda x: fnp.sum(fad.checkpoint(lambda u: fnp.sin(u) * 1.0)(x))),
    "grad custom_jvp": fad.grad(lambda x: fnp.sum(_sin_times_one(x) * x)),
}


@pytest.mark.parametrize("name", list(_PROGRAMS))
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_passes_keep_values_and_never_grow(name, seed):
    x = np.random.default_rng(seed).normal(size=3)
    c = fad.make_jaxpr(_PROGRAMS[name])(np.ones(3))
    text = str(c)
    for p in PASSES:
        out = p(c)
        typecheck_jaxpr(out)
        assert out.out_avals == c.out_avals and out.in_avals == c.in_avals
        assert len(_primitives(out)) <= len(_primitives(c)) or p is simplify
        _same_values(c, out, x, exact=False)
    assert str(c) == text   # (passes never change their input)
    out = optimize(c)
    assert len(_primitives(out)) <= len(_primitives(dce(c)))
    assert optimize(out) is out   # (a fixpoint)


@settings(max_examples=20, deadline=None)
@given(x=st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=3))
def test_elementwise_rewrites_are_exact(x):
    x = np.array(x)
    c = fad.make_jaxpr(lambda x: ((x * 1.0 + 0.0) ** 2 * (x * x) - 0.0) / 1.0
                       + lax.neg(lax.neg(fnp.sin(x))) * fnp.ones(3))(x)
    out = optimize(c)
    assert len(out.eqns) < len(c.eqns)
    _same_values(c, out, x)


def test_nothing_to_do_returns_the_input():
    c = fad.make_jaxpr(lambda x: fnp.sin(x) + x)(np.ones(2))
    for p in PASSES:
        assert p(c) is c
    assert dce(c.jaxpr) is c.jaxpr


def test_bad_input():
    for p in [*PASSES, forward_inputs]:
        with pytest.raises(TypeError, match="ClosedJaxpr"):
            p(lambda x: x)
    with pytest.raises(ValueError, match="max_rounds"):
        optimize(fad.make_jaxpr(fnp.sin)(1.0), max_rounds=0)


# -- linear time ------------------------------------------------------------------------------

def _chain(n):
    """``sin(x) * 1.0``, ``n // 2`` times: ``n`` equations, half of them simplified away."""
    x = Var(F64)
    eqns, v = [], x
    for _ in range(n // 2):
        e1, s = _eqn(sin_p, [v], F64)
        e2, v = _eqn(mul_p, [s, Literal(np.float64(1.0))], F64)
        eqns += [e1, e2]
    return _closed([x], eqns, [v])


def test_optimize_is_linear_time():
    small, large = _chain(2_000), _chain(20_000)
    timings = []
    gc.disable()   # (a collection's cost grows with everything the test session holds)
    try:
        for program in (small, large):
            best = float("inf")
            for _ in range(2):
                start = time.perf_counter()
                out = optimize(program)
                best = min(best, time.perf_counter() - start)
            timings.append(best)
            assert len(out.eqns) == len(program.eqns) // 2
    finally:
        gc.enable()
    assert timings[1] < 25 * max(timings[0], 1e-3), timings   # (10x the equations)
    _same_values(large, out, np.float64(0.5))
