"""Issue 11: the staged layer composes. The cost and the results of a staged call do not
depend on how the composition is spelled (``vmap(grad(f))``, its lambda spelling, a fresh
``grad(f)`` or ``grad(partial(f, c))`` at every step); Jacobians and Hessians called in a
loop are staged; one closure's misses never demote its siblings; ``disable_staging()``
turns staging off; sub-jaxpr parameters are keyed by structure."""
from __future__ import annotations

import functools
import threading

import numpy as np
import pytest

import fad
import fad.numpy as fnp
from fad.core.ir import ClosedJaxpr
from fad.core.keys import structural_key, value_key
from fad.staged import programs
from fad.staged.calls import transform_call_p
from fad.staged.vmap import StagedVmap, StagedVmapOfGrad
from tests.test_grad_staged_adversarial import run_threads

RNG = np.random.default_rng(0)
W = RNG.standard_normal(4)
X = RNG.standard_normal((6, 4))
Y = RNG.standard_normal(6)


def loss(w, x, y):
    return (fnp.tanh(fnp.dot(x, w)) - y) ** 2


def bits(tree):
    return [np.asarray(v).tobytes() for v in fad.tree_util.tree_leaves(tree)]


def interpreted(make, *args):
    with fad.disable_staging():
        return make()(*args)


def compiled_programs():
    return sum(p is not programs._SEEN_ONCE for p in programs._programs.values())


@pytest.fixture
def fresh_programs(monkeypatch):
    monkeypatch.setattr(programs, "_programs", {})
    return programs._programs


SPELLINGS = {
    "vmap(grad(loss))": lambda: fad.vmap(fad.grad(loss), in_axes=(None, 0, 0)),
    "vmap(lambda: grad(loss)(...))": lambda: fad.vmap(
        lambda w, x, y: fad.grad(loss)(w, x, y), in_axes=(None, 0, 0)),
    "vmap(lambda: value_and_grad(loss)(...)[1])": lambda: fad.vmap(
        lambda w, x, y: fad.value_and_grad(loss)(w, x, y)[1], in_axes=(None, 0, 0)),
    "vmap(lambda: 2 * grad(loss)(...))": lambda: fad.vmap(
        lambda w, x, y: 2.0 * fad.grad(loss)(w, x, y), in_axes=(None, 0, 0)),
}


@pytest.mark.parametrize("name", SPELLINGS)
def test_every_spelling_is_staged_and_equals_the_interpreter(name, fresh_programs):
    make = SPELLINGS[name]
    want = interpreted(make, W, X, Y)
    got = [make()(W, X, Y) for _ in range(4)]   # a fresh transformation at every step
    assert compiled_programs() == 1
    for g in got:
        assert bits(g) == bits(want)
        assert g.dtype == want.dtype and type(g) is type(want)


def test_the_lambda_spelling_records_one_equation_for_the_gradient(monkeypatch):
    # (recorded as a region between region_begin and region_end, nested into one
    # transform_call equation when the program is made)
    from fad.staged.calls import region_begin_p, region_end_p
    seen = []
    real = programs.nest_regions

    def spy(closed):
        seen.append((closed, real(closed)))
        return seen[-1][1]

    monkeypatch.setattr(programs, "nest_regions", spy)
    fad.vmap(lambda w, x, y: fad.grad(loss)(w, x, y), in_axes=(None, 0, 0))(W, X, Y)
    recorded, nested = seen[0]
    prims = [e.primitive for e in recorded.jaxpr.eqns]
    assert prims[0] is region_begin_p and prims[-1] is region_end_p
    assert [e.primitive for e in nested.jaxpr.eqns] == [transform_call_p]


def test_python_control_flow_and_reads_inside_the_nested_gradient():
    def branchy(w, x, y):
        if fnp.sum(w) > 0:   # w unbatched: concrete under eager vmap(grad), and here
            return fnp.sum(fnp.sin(x * w)) * y
        return fnp.sum(fnp.cos(x * w)) * y
    make = lambda: fad.vmap(lambda w, x, y: fad.grad(branchy)(w, x, y),  # noqa: E731
                            in_axes=(None, 0, 0))
    for w in (W, -np.abs(W) - 1, W):
        want = interpreted(make, w, X, Y)
        for _ in range(2):
            assert bits(make()(w, X, Y)) == bits(want)


def test_nested_gradient_reading_a_batched_value_raises_as_interpreted():
    bad = fad.vmap(lambda w, x: fad.grad(lambda w: fnp.sum(w) * float(x[0]))(w),
                   in_axes=(None, 0))
    errors = []
    for staged in (True, False, True):
        try:
            if staged:
                bad(W, X)
            else:
                with fad.disable_staging():
                    bad(W, X)
        except TypeError as e:
            errors.append((type(e), str(e).split(":")[0]))
    assert len(errors) == 3 and len(set(errors)) == 1, errors
    assert issubclass(errors[0][0], fad.errors.ConcretizationTypeError)


def test_the_lambda_spelling_records_the_gradient_as_a_region_of_one_probe():
    # (``loss`` is recorded by the vmap's own probe, its equations cut out into the
    # transform_call's jaxpr: no second probe is made)
    from fad.staged import recording
    made = []
    real = recording.ProbeTrace.__init__

    def spy(self, *args, **kwargs):
        made.append(type(self))
        real(self, *args, **kwargs)

    f = fad.vmap(lambda w, x, y: fad.grad(loss)(w, x, y), in_axes=(None, 0, 0))
    recording.ProbeTrace.__init__ = spy
    try:
        f(W, X, Y)
    finally:
        recording.ProbeTrace.__init__ = real
    assert made == [recording.BatchedProbe]


@pytest.mark.parametrize("where", ["after it", "in a second gradient", "after it raised"])
def test_a_tracer_escaping_a_nested_gradient_raises_as_interpreted(where):
    leaked = []

    def inner(w, x):
        leaked.append(fnp.sin(w))   # a value of the inner gradient's trace
        if where == "after it raised":
            raise ValueError("caught by f")
        return fnp.sum(w * x)

    def f(w, x):
        try:
            g = fad.grad(inner)(w, x)
        except ValueError:
            g = fnp.sum(x)
        if where != "in a second gradient":
            return g + leaked[0]
        return g + fad.grad(lambda v: fnp.sum(v * leaked[0]))(w)

    bad = fad.vmap(f, in_axes=(None, 0))
    for staged in (True, False, True, True):
        leaked.clear()
        with pytest.raises(fad.errors.UnexpectedTracerError, match="while recording for grad"):
            if staged:
                bad(W, X[:, :4])
            else:
                with fad.disable_staging():
                    bad(W, X[:, :4])


def test_a_nested_gradient_that_raised_and_was_caught_leaves_the_recording_whole():
    def f(w, x):
        try:   # (reads a batched value: raises, under eager vmap too)
            fad.grad(lambda v: fnp.sum(v * x) * float(x[0]))(w)
        except fad.errors.ConcretizationTypeError:
            pass
        return fad.grad(lambda v: fnp.sum(fnp.sin(v) * x))(w)

    vf = fad.vmap(f, in_axes=(None, 0))
    want = interpreted(lambda: vf, W, X[:, :4])
    for _ in range(3):
        assert bits(vf(W, X[:, :4])) == bits(want)


def test_a_nested_gradient_replays_and_reads_its_closure(fresh_programs):
    # (values of the outer recording the gradient's function reads, a batched one and
    # one computed before the call, are constants of its region; a different value of
    # a Python float argument is the same region at another input)
    def f(w, x, y, s):
        h = fnp.exp(x)
        return fad.grad(lambda v, t: fnp.sum(fnp.sin(v * h) * y) * t, argnums=(0, 1))(w, s)

    vf = fad.vmap(f, in_axes=(None, 0, 0, None))
    for s in (1.5, 2.5, 1.5, 2.5):
        want = interpreted(lambda: vf, W, X, Y, s)
        got = vf(W, X, Y, s)
        assert bits(got) == bits(want)
        assert [type(g) for g in got] == [type(g) for g in want]


def test_grad_of_a_partial_made_at_every_step_replays(fresh_programs):
    def f(c, x):
        return fnp.sum(fnp.sin(x) * c)
    want = interpreted(lambda: fad.grad(functools.partial(f, 2.0)), W)
    for _ in range(4):
        assert bits(fad.grad(functools.partial(f, 2.0))(W)) == bits(want)
    assert compiled_programs() == 1


def test_a_gradient_made_again_of_the_same_function_is_the_same_function():
    # (grad(loss) written inside a step, or a vmapped lambda: no new stager and wrapper
    # at every call; what it computes decides, argnums by type and value)
    def f(x, y):
        return fnp.sum(x * y)
    assert fad.grad(f) is fad.grad(f)
    assert fad.value_and_grad(f, (0, 1)) is fad.value_and_grad(f, (0, 1))
    assert fad.grad(f) is not fad.value_and_grad(f)
    assert fad.grad(f, 1) is not fad.grad(f)
    assert fad.grad(f, True) is not fad.grad(f, 1)
    with pytest.raises(TypeError, match="callable"):
        fad.grad(3.0)


@pytest.mark.parametrize("name", ["jacfwd", "jacrev", "hessian"])
def test_jacobians_in_a_loop_are_staged(name, fresh_programs):
    transform = getattr(fad, name)
    f = lambda x: fnp.sum(fnp.log1p(fnp.exp(x * 2.0))) + 0.5 * fnp.sum(x ** 2)  # noqa: E731
    g = (lambda x: fnp.sin(x) * fnp.sum(x)) if name != "hessian" else f
    want = interpreted(lambda: transform(g), W)
    for _ in range(4):
        got = transform(g)(W)
        assert bits(got) == bits(want) and type(got) is type(want)
    assert compiled_programs() == 1


def test_jacobian_of_a_pytree_output_is_staged_and_structured(fresh_programs):
    f = lambda x: {"a": fnp.sin(x), "b": (fnp.sum(x), x[0] * x)}   # noqa: E731
    want = interpreted(lambda: fad.jacrev(f), W)
    for _ in range(3):
        got = fad.jacrev(f)(W)
        assert fad.tree_util.tree_structure(got) == fad.tree_util.tree_structure(want)
        assert bits(got) == bits(want)
    assert compiled_programs() == 1


def test_sibling_closures_never_demote_each_other(fresh_programs):
    def make(c):
        return lambda x: fnp.sum(fnp.sin(x) * c)
    for i in range(12):   # each sibling records a program of its own (c is a literal)
        for _ in range(2):
            fad.grad(make(float(i) + 0.5))(W)
    fresh_programs.clear()
    g = fad.grad(make(1.0))
    for _ in range(3):
        np.testing.assert_allclose(g(W), np.cos(W))
    assert compiled_programs() == 1   # (staged: not demoted by its siblings' misses)


def test_a_stager_that_misses_rests_then_tries_again(monkeypatch, fresh_programs):
    from fad.staged.grad import StagedGrad
    tried = []
    real = StagedGrad.try_call
    monkeypatch.setattr(StagedGrad, "try_call",
                        lambda self, args: tried.append(1) or real(self, args))
    state = {"n": 0}

    def f(x):   # a new float in its program at every call for a while, then the same
        state["n"] += 1
        return fnp.sum(x * float(min(state["n"], 40)))
    g = fad.grad(f)
    for i in range(40):
        np.testing.assert_allclose(g(W), np.full(4, float(i + 1)))
    # 8 misses, 16 calls resting, 8 misses, 32 calls resting: staged tries 8 + 8 of 40
    assert len(tried) == 16
    for _ in range(40):
        np.testing.assert_allclose(g(W), np.full(4, 40.0))
    # it tried again after resting, met the same program twice and compiled it
    assert len(tried) > 16 and compiled_programs() == 1


def test_disable_staging_is_per_thread_and_nests():
    seen = {}

    def worker():
        with fad.disable_staging():
            seen["inside"] = fad.staged.staging_enabled()
    with fad.disable_staging():
        t = threading.Thread(target=worker)
        assert not fad.staged.staging_enabled()
        with fad.disable_staging():
            pass
        assert not fad.staged.staging_enabled()
    assert fad.staged.staging_enabled()
    t.start()
    t.join()
    assert seen["inside"] is False and fad.staged.staging_enabled()
    with fad.disable_jit():
        assert not fad.staged.staging_enabled()


def test_disable_staging_interprets(fresh_programs):
    with fad.disable_staging():
        for _ in range(3):
            fad.grad(lambda x: fnp.sum(fnp.sin(x)))(W)
            fad.vmap(fad.grad(loss), in_axes=(None, 0, 0))(W, X, Y)
    assert not fresh_programs


def test_sub_jaxpr_parameters_are_keyed_by_structure():
    def record(c):
        return fad.make_jaxpr(lambda x: fnp.sin(x) * c)(1.0)
    a, b, c = record(2.0), record(2.0), record(3.0)
    assert a is not b
    assert value_key(a) == value_key(b)              # two recordings of one program
    assert value_key(a) != value_key(c)              # a different literal
    assert value_key(a.jaxpr) == value_key(b.jaxpr)
    outer = lambda j: ClosedJaxpr(j.jaxpr, j.consts)   # noqa: E731
    assert structural_key(outer(a)) == structural_key(outer(b))
    params_a = {"jaxpr": a, "n": 1}
    params_b = {"jaxpr": b, "n": 1}
    from fad.core.keys import params_key
    assert params_key(params_a) == params_key(params_b)


JVP_CASES = {
    "sin": (lambda x: fnp.sin(x), (W,)),
    "two outputs": (lambda x, y: (fnp.sin(x) * y, fnp.sum(x)), (W, W[::-1].copy())),
    "0-d out": (lambda x: fnp.sum(x ** 2), (W,)),
    "float32": (lambda x: fnp.tanh(x) * 2.0, (W.astype(np.float32),)),
    "numpy scalar": (lambda x: x ** 3, (np.float64(0.7),)),
    "dict out": (lambda x: {"a": x[0] * x, "b": fnp.exp(x)}, (W,)),
}


@pytest.mark.parametrize("name", JVP_CASES)
def test_jvp_at_the_top_level_is_staged_and_equals_the_interpreter(name, fresh_programs):
    f, primals = JVP_CASES[name]
    tangents = tuple(np.ones_like(p) if type(p) is np.ndarray else type(p)(1.0)
                     for p in primals)
    with fad.disable_staging():
        want = fad.jvp(f, primals, tangents)
    for _ in range(3):
        got = fad.jvp(f, primals, tangents)
        assert fad.tree_util.tree_structure(got) == fad.tree_util.tree_structure(want)
        for a, b in zip(fad.tree_util.tree_leaves(got), fad.tree_util.tree_leaves(want)):
            assert type(a) is type(b) and np.asarray(a).dtype == np.asarray(b).dtype
        assert bits(got) == bits(want)
    assert compiled_programs() == 1


def test_jvp_with_mismatched_tangents_raises_as_interpreted():
    f = lambda x: fnp.sin(x)   # noqa: E731
    messages = []
    for staged in (True, False):
        with (fad.disable_staging() if not staged else _nothing()):
            with pytest.raises((TypeError, ValueError)) as info:
                fad.jvp(f, (W,), (np.ones(3),))
        messages.append((type(info.value), str(info.value)))
    assert messages[0] == messages[1]


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("f", [
    lambda a: -a * np.float32(2.0),              # weak through neg: float32, as eagerly
    lambda a: fnp.sin(a) * np.float32(2.0),      # sin of a Python float: strong float64
    lambda a: (a * 2.0) * np.ones(2, np.float32),
    lambda a: fnp.sum(a ** 3),
])
def test_python_float_arguments_stage_in_every_transformation(f):
    # forward and reverse mode keep a Python float weakly typed, as a recording does, so
    # staged and interpreted agree, and the value has the eager (NEP 50) dtype
    eager = np.asarray(f(0.7)).dtype
    for transform in (fad.jacfwd, fad.jacrev, fad.hessian,
                      lambda g: lambda a: fad.jvp(g, (a,), (1.0,))):
        with fad.disable_staging():
            want = transform(f)(0.7)
        for _ in range(3):
            got = transform(f)(0.7)
            assert bits(got) == bits(want)
            assert [type(x) for x in fad.tree_util.tree_leaves(got)] == \
                [type(x) for x in fad.tree_util.tree_leaves(want)]
    with fad.disable_staging():
        assert np.asarray(fad.jvp(f, (0.7,), (1.0,))[0]).dtype == eager


VJP_CASES = {
    "sin": (lambda x: fnp.sin(x), (W,), np.ones(4)),
    "two args, tuple out": (lambda x, y: (fnp.sin(x) * y, fnp.sum(x)), (W, W + 1.0),
                            (np.ones(4), 2.0)),
    "0-d out": (lambda x: fnp.sum(x ** 2), (W,), 1.0),
    "float32": (lambda x: fnp.tanh(x) * 2.0, (W.astype(np.float32),), np.ones(4, np.float32)),
    "integer output too": (lambda x: (fnp.sum(x), fnp.argmax(x)), (W,),
                           (1.0, np.zeros((), fad.float0))),
    "python float": (lambda a: -a * np.float32(2.0), (0.7,), np.float32(1.0)),
}


@pytest.mark.parametrize("name", VJP_CASES)
def test_vjp_at_the_top_level_is_staged_and_equals_the_interpreter(name, fresh_programs):
    f, primals, ct = VJP_CASES[name]

    def run():
        out, vjp_fn = fad.vjp(f, *primals)
        return out, vjp_fn(ct), vjp_fn(ct)   # (the backward program runs as often as asked)
    with fad.disable_staging():
        want = run()
    for _ in range(3):
        got = run()
        assert fad.tree_util.tree_structure(got) == fad.tree_util.tree_structure(want)
        for a, b in zip(fad.tree_util.tree_leaves(got), fad.tree_util.tree_leaves(want)):
            assert type(a) is type(b) and np.asarray(a).dtype == np.asarray(b).dtype
        assert bits(got) == bits(want)
        assert not np.shares_memory(got[1][0], got[2][0])   # fresh results each time
    assert compiled_programs() == 1


def test_vjp_fn_with_a_wrong_cotangent_raises_as_interpreted():
    f = lambda x: (fnp.sin(x), fnp.sum(x))   # noqa: E731
    errors = []
    for staged in (True, True, False):
        with (_nothing() if staged else fad.disable_staging()):
            _, vjp_fn = fad.vjp(f, W)
            for bad in ((np.ones(4),), (np.ones(3), 1.0)):
                with pytest.raises((TypeError, ValueError)) as info:
                    vjp_fn(bad)
                errors.append((staged, type(info.value), str(info.value)))
    assert {e[1:] for e in errors if e[0]} == {e[1:] for e in errors if not e[0]}


# -- the fast path of vmap(grad(f)): one probe, the general path's program -----------------------

def _mlp_loss(params, x, y):
    (w1, b1), w2 = params
    return fnp.sum((fnp.tanh(x @ w1 + b1) @ w2 - y) ** 2)


_PARAMS = ((RNG.standard_normal((4, 3)), np.zeros(3)), RNG.standard_normal((3, 2)))
_FAST_CASES = {
    # name: (loss, in_axes, argnums, value, args)
    "logistic": (lambda w, x, y: fnp.logaddexp(0.0, -y * fnp.dot(x, w)), (None, 0, 0), 0,
                 False, (W, X, Y)),
    "argnums_reordered": (lambda w, x, y: fnp.sum(fnp.sin(w * x) * y), (None, 0, 0), (2, 0),
                          True, (W, X, Y)),
    "batched_differentiated": (lambda w, x, y: fnp.sum(w * x) * y, (0, 0, 0), (0, 1), False,
                               (X + 1.0, X, Y)),
    "pytree_parameters": (_mlp_loss, (None, 0, 0), 0, True,
                          (_PARAMS, X, RNG.standard_normal((6, 2)))),
    "python_float": (lambda w, x, y: fnp.sum(fnp.tanh(w * x)) - y, (None, 0, 0), 0, False,
                     (0.5, X, Y)),
    "float32": (loss, (None, 0, 0), 0, False,
                (W.astype(np.float32), X.astype(np.float32), Y.astype(np.float32))),
}


@pytest.mark.parametrize("name", sorted(_FAST_CASES))
def test_vmap_of_a_gradient_function_takes_the_fast_path_and_equals_the_general_one(name):
    """``vmap(grad(f))`` records ``f`` with one probe (``StagedVmapOfGrad``); the general
    path (the lambda spelling: an outer probe and a ``transform_call`` equation) must give
    the same bits, on the first (interpreted), second (compiled) and third call."""
    f, in_axes, argnums, value, args = _FAST_CASES[name]
    transform = fad.value_and_grad if value else fad.grad
    fast = fad.vmap(transform(f, argnums), in_axes=in_axes)
    general = fad.vmap(lambda *a: transform(f, argnums)(*a), in_axes=in_axes)
    assert type(fast.stager) is StagedVmapOfGrad and type(general.stager) is StagedVmap
    want = interpreted(lambda: fad.vmap(transform(f, argnums), in_axes=in_axes), *args)
    for _ in range(3):
        got_fast, got_general = fast(*args), general(*args)
        assert fad.tree_util.tree_structure(got_fast) == fad.tree_util.tree_structure(want)
        assert bits(got_fast) == bits(got_general) == bits(want)


def test_a_wrapper_of_a_gradient_function_is_not_taken_for_it():
    """``functools.wraps`` copies the gradient function's attributes (its stager among
    them) onto a wrapper: the fast path must not skip what the wrapper does."""
    g = fad.grad(loss)

    @functools.wraps(g)
    def doubled(*args):
        return 2 * g(*args)

    per_example = fad.vmap(doubled, in_axes=(None, 0, 0))
    assert type(per_example.stager) is not StagedVmapOfGrad
    np.testing.assert_allclose(per_example(W, X, Y),
                               2 * fad.vmap(g, in_axes=(None, 0, 0))(W, X, Y))


def test_threads_evicting_programs_together_raise_nothing(monkeypatch):
    # The program table is shared by threads; two of them dropping its oldest entry at
    # once must not raise (it did: a KeyError from the second ``del``).
    monkeypatch.setattr(programs, "_MAX_PROGRAMS", 1)
    errors = []

    def worker(k):
        try:
            for i in range(30):   # (a new program at every call: the table is always full)
                n = 2 + (i + k) % 5
                got = fad.grad(lambda x: fnp.sum(fnp.sin(x)))(np.linspace(0.0, 1.0, n))
                assert np.allclose(got, np.cos(np.linspace(0.0, 1.0, n)))
        except BaseException as err:   # (a thread's exception is otherwise only printed)
            errors.append(err)

    run_threads(worker, range(4), switch_interval=1e-6)
    assert not errors, errors
