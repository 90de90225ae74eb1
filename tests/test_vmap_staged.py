"""vmap of a gradient, staged (fad.staged.vmap): the function is recorded at every
call and the transformed program compiled once; results and Python behaviour must be
those of interpreting it (fad.disable_jit() turns staging off) and of a Python loop."""
import numpy as np
import pytest

import fad
import fad.numpy as fnp
from fad.errors import ConcretizationTypeError
from fad.core.keys import Unkeyable, structural_key

rng = np.random.default_rng(0)
W = rng.standard_normal(5)
X = rng.standard_normal((7, 5))
Y = np.sign(rng.standard_normal(7))


def logistic(w, x, y):
    return fnp.logaddexp(0.0, -y * fnp.dot(x, w))


def mlp_like(w, x, y):
    h = fnp.tanh(x * w + 0.5)
    return fnp.sum((h - y) ** 2) / 2.0


def interpreted(f, *args, **vmap_kwargs):
    with fad.disable_jit():
        return f(*args)


def loop(g, w, X, Y):
    return np.stack([g(w, X[i], Y[i]) for i in range(X.shape[0])])


@pytest.mark.parametrize("loss", [logistic, mlp_like])
def test_matches_interpreter_and_loop_on_every_call(loss):
    g = fad.vmap(fad.grad(loss), in_axes=(None, 0, 0))
    want = loop(fad.grad(loss), W, X, Y)
    for _ in range(4):   # first sighting (interpreted), second (compiled), then cached
        np.testing.assert_allclose(g(W, X, Y), want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(interpreted(g, W, X, Y), want, rtol=1e-12, atol=1e-14)
    w2 = W * -0.5   # new values, the same program
    np.testing.assert_allclose(g(w2, X, Y), loop(fad.grad(loss), w2, X, Y), rtol=1e-12)


def test_variants_argnums_value_and_grad_axes_dtypes():
    x32, w32 = X.astype(np.float32), W.astype(np.float32)
    cases = [
        (fad.vmap(fad.grad(mlp_like, argnums=(0, 1)), in_axes=(None, 0, 0)), (W, X, Y)),
        (fad.vmap(fad.value_and_grad(logistic), in_axes=(None, 0, 0)), (W, X, Y)),
        (fad.vmap(fad.grad(logistic, argnums=1), in_axes=(None, 1, 0), out_axes=1),
         (W, X.T.copy(), Y)),
        (fad.vmap(fad.grad(logistic), in_axes=(None, -1, 0), out_axes=-1), (W, X.T.copy(), Y)),
        (fad.vmap(fad.grad(mlp_like), in_axes=(0, 0, None)), (X, X, 0.25)),
        (fad.vmap(fad.grad(logistic), in_axes=(None, 0, 0)), (w32, x32, Y.astype(np.float32))),
        (fad.vmap(fad.grad(lambda w, x: fnp.sum(w * x)), in_axes=(None, 0)), (2.0, X)),
    ]
    for g, args in cases:
        want = interpreted(g, *args)
        for _ in range(3):
            got = g(*args)
            for a, b in zip(fad.tree_util.tree_leaves(got), fad.tree_util.tree_leaves(want)):
                assert np.asarray(a).dtype == np.asarray(b).dtype
                np.testing.assert_allclose(a, b, rtol=1e-6)


def test_python_runs_at_every_call_and_reads_fresh_globals():
    calls = []
    state = {"scale": np.array(2.0), "offset": 1.0}

    def loss(w, x):
        calls.append(1)   # a side effect
        return fnp.sum(state["scale"] * (x * w) ** 2) + state["offset"] * fnp.sum(w * x)

    g = fad.vmap(fad.grad(loss), in_axes=(None, 0))
    for k in range(6):
        state["scale"] = np.array(float(k))   # a new constant value, the same program
        state["offset"] = 1.0 + (k % 2)       # a new literal: a different program
        want = loop(lambda w, x, _: fad.grad(loss)(w, x), W, X, X)
        calls.clear()
        np.testing.assert_allclose(g(W, X), want, rtol=1e-12)
        assert len(calls) == 1


def test_python_control_flow_on_unbatched_differentiated_argument():
    def loss(w, x):
        if fnp.sum(w) > 0:       # concrete: w is not batched (as under eager grad)
            return fnp.sum(fnp.sin(w * x))
        # (float() of a differentiated value raises, issue 10 #9: stop_gradient first)
        return fnp.sum(fnp.cos(w * x)) * float(fad.stop_gradient(w[0]))   # a value read in

    g = fad.vmap(fad.grad(loss), in_axes=(None, 0))
    for w in [W, -W, W, -W, 0.5 * W, -0.5 * W, W]:
        np.testing.assert_allclose(g(w, X), loop(lambda a, b, _: fad.grad(loss)(a, b), w, X, X),
                                   rtol=1e-12)


def test_control_flow_on_batched_value_raises_as_interpreted():
    def loss(w, x):
        return fnp.sum(w * x) if fnp.sum(x) > 0 else fnp.sum(w)

    g = fad.vmap(fad.grad(loss), in_axes=(None, 0))
    with pytest.raises(ConcretizationTypeError):
        g(W, X)
    with pytest.raises(ConcretizationTypeError), fad.disable_jit():
        g(W, X)


def test_errors_match_the_interpreted_path():
    nonscalar = fad.vmap(fad.grad(lambda w, x: w * x), in_axes=(None, 0))
    with pytest.raises(TypeError, match="scalar output"):
        nonscalar(W, X)
    integer = fad.vmap(fad.grad(lambda w, x: fnp.sum(w * x)), in_axes=(None, 0))
    with pytest.raises(TypeError, match="floating-point inputs"):
        integer(np.arange(5), X)
    pair = fad.vmap(fad.grad(lambda w, x: (fnp.sum(w), fnp.sum(x))), in_axes=(None, 0))
    with pytest.raises(TypeError, match="single scalar output"):
        pair(W, X)


def test_signed_zero_literals_are_different_programs():
    c = {"v": 0.0}

    def loss(w, x):   # arctan2(+0, negative) = pi, arctan2(-0, negative) = -pi
        return fnp.sum(fnp.arctan2(c["v"], w - 10.0) * x)

    g = fad.vmap(fad.grad(loss), in_axes=(None, 0))
    for v in [0.0, -0.0, 0.0, -0.0, -0.0, 0.0]:
        c["v"] = v
        np.testing.assert_array_equal(g(W, X), interpreted(g, W, X))


def test_a_new_program_at_every_call_is_still_right():
    def loss(w, x):
        # (float() of a differentiated value raises, issue 10 #9: stop_gradient first)
        return fnp.sum(w * x) * float(fad.stop_gradient(fnp.sum(w)))   # a changing literal

    g = fad.vmap(fad.grad(loss), in_axes=(None, 0))
    for k in range(12):   # past the point where it stops recording
        w = W + k
        np.testing.assert_allclose(g(w, X), loop(lambda a, b, _: fad.grad(loss)(a, b), w, X, X),
                                   rtol=1e-12)


def test_nested_and_composed_uses_are_interpreted_and_right():
    g = fad.vmap(fad.grad(logistic), in_axes=(None, 0, 0))
    want = loop(fad.grad(logistic), W, X, Y)
    np.testing.assert_allclose(fad.jit(g)(W, X, Y), want, rtol=1e-12)
    outer = fad.grad(lambda w: fnp.sum(g(w, X, Y)))(W)
    fd = fad.grad(lambda w: fnp.sum(loop(fad.grad(logistic), w, X, Y)))
    np.testing.assert_allclose(outer, fd(W), rtol=1e-10)
    twice = fad.vmap(fad.vmap(fad.grad(mlp_like), in_axes=(None, 0, 0)), in_axes=(None, 0, 0))
    np.testing.assert_allclose(twice(W, X[None], Y[None]), loop(fad.grad(mlp_like), W, X, Y)[None],
                               rtol=1e-12)


def test_structural_key_tells_apart_what_computes_differently():
    def key(f, *args):
        return structural_key(fad.make_jaxpr(f)(*args))

    x = np.ones(3)
    assert key(lambda a: a * 2.0, x) == key(lambda a: a * 2.0, x)
    assert key(lambda a: a * 2.0, x) != key(lambda a: a * 3.0, x)
    assert key(lambda a: a + 0.0, x) != key(lambda a: a + -0.0, x)
    assert key(lambda a: a * 2.0, x) != key(lambda a: a * 2.0, x.astype(np.float32))
    assert key(lambda a: fnp.sum(a, axis=0), x) != key(lambda a: fnp.sum(a, axis=0),
                                                        np.ones((3, 2)))
    assert key(lambda a: a[1:], x) != key(lambda a: a[:2], x)
    c1, c2 = np.ones(3), np.full(3, 2.0)   # constants: by type, their values are inputs
    assert key(lambda a: a * c1, x) == key(lambda a: a * c2, x)

    class Jaxprish:
        __hash__ = None
    closed = fad.make_jaxpr(lambda a: a * 2.0)(x)
    closed.jaxpr.eqns[0] = closed.jaxpr.eqns[0]._replace(params={"p": Jaxprish()})
    with pytest.raises(Unkeyable):
        structural_key(closed)


# -- random elementwise programs: staged against interpreted, on repeated calls --------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.interpreters.test_linearize_rules import _programs, _run  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(_programs(), st.sampled_from(["f64", "f32"]),
       st.sampled_from([(None, 0), (0, 0), (0, None)]))
def test_random_programs_staged_equal_interpreted(steps, kind, in_axes):
    dtype = np.float64 if kind == "f64" else np.float32
    xs = np.linspace(-0.9, 0.8, 12).astype(dtype).reshape(4, 3)
    ys = np.linspace(0.2, 0.5, 4).astype(dtype)
    x = xs if in_axes[0] == 0 else xs[0]
    y = ys if in_axes[1] == 0 else ys[0]
    g = fad.vmap(fad.grad(lambda x, y: _run(steps, x, y), argnums=(0, 1)), in_axes=in_axes)
    want = interpreted(g, x, y)
    tol = 1e-12 if kind == "f64" else 1e-5
    for _ in range(3):
        got = g(x, y)
        for a, b in zip(got, want):
            assert np.asarray(a).dtype == np.asarray(b).dtype
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_programs_are_shared_by_key_not_by_function_object():
    from fad.staged import programs as staged_programs
    want = loop(fad.grad(mlp_like), W, X, Y)
    for _ in range(3):   # a vmap(grad(...)) made afresh at each step finds its program
        got = fad.vmap(fad.grad(mlp_like), in_axes=(None, 0, 0))(W, X, Y)
        np.testing.assert_allclose(got, want, rtol=1e-12)
    compiled = [p for p in staged_programs._programs.values()
                if p is not staged_programs._SEEN_ONCE]
    assert compiled
    # ... and a different transformation of the same recording is a different program
    g0 = fad.vmap(fad.grad(mlp_like), in_axes=(None, 0, 0), out_axes=0)
    g1 = fad.vmap(fad.grad(mlp_like), in_axes=(None, 0, 0), out_axes=1)
    gv = fad.vmap(fad.value_and_grad(mlp_like), in_axes=(None, 0, 0))
    for _ in range(3):
        np.testing.assert_allclose(g0(W, X, Y), want, rtol=1e-12)
        np.testing.assert_allclose(g1(W, X, Y), want.T, rtol=1e-12)
        np.testing.assert_allclose(gv(W, X, Y)[1], want, rtol=1e-12)


# -- replaying the last recording ----------------------------------------------------------

def _probe(f, args, template=None):
    """Record ``f`` (all arguments abstract) with a ProbeTrace replaying ``template``;
    returns (closed jaxpr, whether the template was replayed throughout)."""
    from fad.core.abstract import get_aval
    from fad.core.trace import new_trace
    from fad.staged.recording import ProbeTrace
    with new_trace(ProbeTrace, template) as probe:
        tracers = probe.new_args([get_aval(a) for a in args])
        out = f(*tracers)
        replayed = template is not None and probe.replayed([out])
        return probe.to_jaxpr(tracers, [out]), replayed


def _template(f, *args):
    from fad.staged.recording import Template
    from fad.core.abstract import get_aval
    closed, _ = _probe(f, args)
    return Template(closed.jaxpr, structural_key(closed), [get_aval(a) for a in args])


def test_replay_reuses_the_template_and_stops_where_the_program_differs():
    x = np.ones(3)
    c, d = np.full(3, 2.0), np.full(3, 3.0)
    template = _template(lambda a: fnp.sin(a * c) + fnp.sum(a ** 2), x)
    same, replayed = _probe(lambda a: fnp.sin(a * d) + fnp.sum(a ** 2), [x], template)
    assert replayed and same.jaxpr.eqns == template.eqns and same.consts[0] is d
    differing = [
        lambda a: fnp.cos(a * c) + fnp.sum(a ** 2),          # another primitive
        lambda a: fnp.sin(a * c) + fnp.sum(a ** 2) * 1.0,    # one more operation
        lambda a: fnp.sin(c * a) + fnp.sum(a ** 2),          # operands swapped
        lambda a: fnp.sin(a * 2.0) + fnp.sum(a ** 2),        # a literal, not a constant
        lambda a: fnp.sin(a * c) + fnp.sum(a ** 3),          # another parameter
        lambda a: fnp.sin(a * c) + fnp.sum((a * c) ** 2),    # a constant used twice ...
    ]
    for f in differing:
        got, replayed = _probe(f, [x], template)
        fresh, _ = _probe(f, [x])
        assert not replayed
        assert structural_key(got) == structural_key(fresh)   # recorded as if fresh
    twice = _template(lambda a: fnp.sin(a * c) + fnp.sum((a * c) ** 2), x)
    _, replayed = _probe(lambda a: fnp.sin(a * c) + fnp.sum((a * d) ** 2), [x], twice)
    assert not replayed   # ... is not two constants, nor the other way round
    _, replayed = _probe(lambda a: fnp.sin(a * 2) + fnp.sum(a ** 2), [np.ones(4)], template)
    assert not replayed   # inputs of another shape


def test_replay_literals_compare_by_bits():
    x = np.ones(3)
    template = _template(lambda a: a * 0.0, x)
    assert _probe(lambda a: a * 0.0, [x], template)[1]
    assert not _probe(lambda a: a * -0.0, [x], template)[1]
    nan = _template(lambda a: a * float("nan"), x)
    assert _probe(lambda a: a * float("nan"), [x], nan)[1]


def test_staged_calls_alternating_between_programs():
    flag = {"on": True}

    def loss(w, x, y):
        z = fnp.dot(x, w) * y
        if flag["on"]:
            z = fnp.sin(z)
        return fnp.logaddexp(0.0, z)

    g = fad.vmap(fad.grad(loss), in_axes=(None, 0, 0))
    for k in range(10):
        flag["on"] = k % 3 != 0
        w = W * (1 + 0.1 * k)
        np.testing.assert_allclose(g(w, X, Y), loop(fad.grad(loss), w, X, Y), rtol=1e-12)
        if k == 5:   # other shapes for the same function
            np.testing.assert_allclose(g(w, X[:3], Y[:3]), loop(fad.grad(loss), w, X[:3], Y[:3]),
                                       rtol=1e-12)


# -- pytree arguments ----------------------------------------------------------------------

def mlp_loss(params, x, y):
    (w1, b1), (w2, b2) = params
    h = fnp.tanh(x @ w1 + b1)
    return fnp.mean((h @ w2 + b2 - y) ** 2)


PARAMS = ((rng.standard_normal((5, 6)) * 0.3, np.zeros(6)),
          (rng.standard_normal((6, 2)) * 0.3, np.full(2, 0.1)))
Y2 = rng.standard_normal((7, 2))


def tree_loop(loss, args, in_axes, **grad_kwargs):
    """vmap(grad(loss)) by a Python loop over the examples, stacking each leaf."""
    g = fad.grad(loss, **grad_kwargs) if "value" not in grad_kwargs else None
    size = next(np.shape(a)[0] for a, ax in zip(args, in_axes) if ax == 0)
    outs = [g(*[a if ax is None else a[i] for a, ax in zip(args, in_axes)])
            for i in range(size)]
    return fad.tree_util.tree_map(lambda *xs: np.stack(xs), *outs)


def assert_trees_equal(got, want, rtol=1e-12):
    assert fad.tree_util.tree_structure(got) == fad.tree_util.tree_structure(want)
    for a, b in zip(fad.tree_util.tree_leaves(got), fad.tree_util.tree_leaves(want)):
        assert np.asarray(a).dtype == np.asarray(b).dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-14)


def test_pytree_parameters_are_staged_and_right(monkeypatch):
    from fad.staged import programs as staged_programs
    monkeypatch.setattr(staged_programs, "_programs", {})
    g = fad.vmap(fad.grad(mlp_loss), in_axes=(None, 0, 0))
    want = tree_loop(mlp_loss, (PARAMS, X, Y2), (None, 0, 0))
    for _ in range(4):
        assert_trees_equal(g(PARAMS, X, Y2), want)
    assert any(p is not staged_programs._SEEN_ONCE   # it went the staged way
               for p in staged_programs._programs.values())
    assert_trees_equal(interpreted(g, PARAMS, X, Y2), want)
    # new parameter values, the same program
    params2 = fad.tree_util.tree_map(lambda p: p * 1.5 + 0.1, PARAMS)
    assert_trees_equal(g(params2, X, Y2), tree_loop(mlp_loss, (params2, X, Y2), (None, 0, 0)))


def test_pytree_variants_match_the_interpreted_path():
    def dict_loss(p, batch):
        return fnp.sum(fnp.sin(batch["x"] * p["w"]) * batch["scale"]) + p["b"] ** 2

    p = {"w": W, "b": 0.5}
    batch = {"x": X, "scale": np.float64(2.0)}
    cases = [
        (fad.vmap(fad.grad(dict_loss), in_axes=(None, {"x": 0, "scale": None})), (p, batch)),
        (fad.vmap(fad.value_and_grad(dict_loss), in_axes=(None, {"x": 0, "scale": None})),
         (p, batch)),
        (fad.vmap(fad.grad(mlp_loss, argnums=(0, 1)), in_axes=(None, 0, 0)), (PARAMS, X, Y2)),
        (fad.vmap(fad.grad(mlp_loss), in_axes=(None, 0, 0), out_axes=1), (PARAMS, X, Y2)),
        (fad.vmap(fad.grad(mlp_loss), in_axes=((None, 0), 0, 0)),
         ((PARAMS[0], fad.tree_util.tree_map(lambda a: np.stack([a] * 7), PARAMS[1])), X, Y2)),
        (fad.vmap(fad.grad(lambda ws, x: fnp.sum(ws[0] * x) * fnp.sum(ws[1] * x)),
                  in_axes=(None, 0)), ([W, W * 2], X)),
    ]
    for g, args in cases:
        want = interpreted(g, *args)
        for _ in range(3):
            assert_trees_equal(g(*args), want)


def test_pytree_arguments_the_staged_path_leaves_to_the_interpreter():
    ints = fad.vmap(fad.grad(lambda p, x: fnp.sum(p[0] * x)), in_axes=(None, 0))
    with pytest.raises(TypeError, match="floating-point inputs"):
        ints((np.arange(5), 1.0), X)
    nested_out_axes = fad.vmap(fad.grad(mlp_loss), in_axes=(None, 0, 0),
                               out_axes=((0, 0), (0, 0)))
    want = tree_loop(mlp_loss, (PARAMS, X, Y2), (None, 0, 0))
    for _ in range(3):
        assert_trees_equal(nested_out_axes(PARAMS, X, Y2), want)
    bad_prefix = fad.vmap(fad.grad(mlp_loss), in_axes=(None, (0, 0), 0))
    with pytest.raises(ValueError, match="in_axes"):
        bad_prefix(PARAMS, X, Y2)
