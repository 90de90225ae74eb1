"""fad.optimizers: each optimizer's first two updates against the formulas worked by hand
in NumPy, schedules against their closed forms, clipping and chain, and the state
through fad.jit and fad.lax.scan (against the Python loop), convergence on a quadratic."""
import math

import numpy as np
import pytest

import fad
import fad.numpy as fnp
import fad.optimizers as opt
from fad import lax
from fad.tree_util import tree_leaves, tree_map, tree_structure

PARAMS = {"w": np.array([1.0, -2.0, 0.5]), "b": 0.25}
GRADS = [{"w": np.array([0.5, -1.0, 2.0]), "b": -0.3},
         {"w": np.array([-0.2, 0.4, 1.0]), "b": 0.7}]


def _two_updates(optimizer):
    """The updates of two steps (params moved by the first before the second)."""
    state, params, updates = optimizer.init(PARAMS), PARAMS, []
    for g in GRADS:
        u, state = optimizer.update(g, state, params)
        params = opt.apply_updates(params, u)
        updates.append(u)
    return updates


def _by_hand(rule):
    """``rule(g1, g2, p0) -> (u1, u2)`` applied leafwise on the NumPy values."""
    out = {k: rule(np.float64(GRADS[0][k]), np.float64(GRADS[1][k]), np.float64(PARAMS[k]))
           for k in PARAMS}
    return [{k: out[k][0] for k in out}, {k: out[k][1] for k in out}]


def _adam_by_hand(lr, b1, b2, eps, wd=0.0):
    def rule(g1, g2, p0):
        m1, v1 = (1 - b1) * g1, (1 - b2) * g1 ** 2
        u1 = -lr * (m1 / (1 - b1) / (np.sqrt(v1 / (1 - b2)) + eps) + wd * p0)
        m2, v2 = b1 * m1 + (1 - b1) * g2, b2 * v1 + (1 - b2) * g2 ** 2
        u2 = -lr * (m2 / (1 - b1 ** 2) / (np.sqrt(v2 / (1 - b2 ** 2)) + eps) + wd * (p0 + u1))
        return u1, u2
    return rule


def _rmsprop_by_hand(lr, d, eps, centered):
    def rule(g1, g2, p0):
        n1, m1 = (1 - d) * g1 ** 2, (1 - d) * g1
        n2, m2 = d * n1 + (1 - d) * g2 ** 2, d * m1 + (1 - d) * g2
        c1, c2 = (m1 ** 2, m2 ** 2) if centered else (0.0, 0.0)
        return -lr * g1 / np.sqrt(n1 - c1 + eps), -lr * g2 / np.sqrt(n2 - c2 + eps)
    return rule


FIRST_TWO_STEPS = {
    "sgd": (opt.sgd(0.1), lambda g1, g2, p0: (-0.1 * g1, -0.1 * g2)),
    "momentum": (opt.momentum(0.1, beta=0.8),
                 lambda g1, g2, p0: (-0.1 * g1, -0.1 * (g2 + 0.8 * g1))),
    "nesterov": (opt.nesterov(0.1, beta=0.8),
                 lambda g1, g2, p0: (-0.1 * (g1 + 0.8 * g1),
                                     -0.1 * (g2 + 0.8 * (g2 + 0.8 * g1)))),
    "adam": (opt.adam(0.01, b1=0.8, b2=0.9, eps=1e-3), _adam_by_hand(0.01, 0.8, 0.9, 1e-3)),
    "adamw": (opt.adamw(0.01, b1=0.8, b2=0.9, eps=1e-3, weight_decay=0.1),
              _adam_by_hand(0.01, 0.8, 0.9, 1e-3, wd=0.1)),
    "rmsprop": (opt.rmsprop(0.01, decay=0.7, eps=1e-4),
                _rmsprop_by_hand(0.01, 0.7, 1e-4, False)),
    "rmsprop_centered": (opt.rmsprop(0.01, decay=0.7, eps=1e-4, centered=True),
                         _rmsprop_by_hand(0.01, 0.7, 1e-4, True)),
}


@pytest.mark.parametrize("name", FIRST_TWO_STEPS)
def test_first_two_updates_match_the_formulas(name):
    optimizer, rule = FIRST_TWO_STEPS[name]
    for got, want in zip(_two_updates(optimizer), _by_hand(rule)):
        assert tree_structure(got) == tree_structure(want)
        for k in want:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=1e-15)


def test_adam_first_step_is_lr_times_sign():
    # the bias correction makes the first step -lr * g / (|g| + eps): the paper's remark
    optimizer = opt.adam(0.5)
    u, _ = optimizer.update(GRADS[0], optimizer.init(PARAMS))
    np.testing.assert_allclose(u["w"], -0.5 * np.sign(GRADS[0]["w"]), rtol=1e-7)


def test_float32_params_stay_float32_and_states_keep_their_dtypes():
    params = {"w": np.ones(3, np.float32), "b": np.float32(2.0)}
    grads = tree_map(lambda p: p * np.float32(0.5), params)
    schedule = opt.exponential_decay(0.1, 5, 0.5)     # float64 learning rates
    for optimizer in (opt.sgd(schedule), opt.nesterov(0.1), opt.adamw(schedule),
                      opt.rmsprop(0.1, centered=True), opt.chain(opt.clip(0.1), opt.adam(0.1))):
        state = optimizer.init(params)
        u, new_state = optimizer.update(grads, state, params)
        assert all(x.dtype == np.float32 for x in tree_leaves(u))
        assert all(np.asarray(x).dtype == np.float32
                   for x in tree_leaves(opt.apply_updates(params, u)))
        assert ([np.asarray(x).dtype for x in tree_leaves(new_state)]
                == [np.asarray(x).dtype for x in tree_leaves(state)])


# --------------------------------------------------------------------------- schedules

def test_schedule_values():
    assert opt.constant_schedule(0.3)(17) == 0.3
    lin = opt.linear_schedule(1.0, 0.2, transition_steps=4, transition_begin=2)
    assert [float(lin(n)) for n in (0, 2, 3, 6, 100)] == pytest.approx([1, 1, 0.8, 0.2, 0.2])
    exp = opt.exponential_decay(2.0, transition_steps=10, decay_rate=0.5)
    assert [float(exp(n)) for n in (0, 5, 10, 30)] == pytest.approx(
        [2.0, 2.0 * 0.5 ** 0.5, 1.0, 0.25])
    stair = opt.exponential_decay(2.0, 10, 0.5, transition_begin=5, staircase=True,
                                  end_value=0.6)
    assert [float(stair(n)) for n in (0, 14, 15, 24, 25, 90)] == pytest.approx(
        [2.0, 2.0, 1.0, 1.0, 0.6, 0.6])
    grow = opt.exponential_decay(1.0, 1, 2.0, end_value=5.0)
    assert [float(grow(n)) for n in (1, 2, 3)] == pytest.approx([2.0, 4.0, 5.0])
    cos = opt.cosine_decay(1.0, decay_steps=8, alpha=0.2)
    want = [0.2 + 0.8 * 0.5 * (1 + math.cos(math.pi * min(n, 8) / 8)) for n in (0, 2, 4, 8, 20)]
    assert [float(cos(n)) for n in (0, 2, 4, 8, 20)] == pytest.approx(want)
    warm = opt.warmup_cosine_decay(0.1, 1.0, warmup_steps=4, decay_steps=12, end_value=0.1)
    want = [0.1 + 0.9 * n / 4 for n in range(4)] + [
        0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(n - 4, 8) / 8)) for n in (4, 8, 12, 30)]
    assert [float(warm(n)) for n in (0, 1, 2, 3, 4, 8, 12, 30)] == pytest.approx(want)
    no_warm = opt.warmup_cosine_decay(0.0, 1.0, warmup_steps=0, decay_steps=4)
    assert [float(no_warm(n)) for n in (0, 2, 4)] == pytest.approx([1.0, 0.5, 0.0])
    pw = opt.piecewise_constant(0.1, {20: 0.1, 10: 0.5})
    assert [float(pw(n)) for n in (0, 9, 10, 19, 20, 50)] == pytest.approx(
        [0.1, 0.1, 0.05, 0.05, 0.005, 0.005])


def test_optimizer_reads_the_schedule_at_the_number_of_updates_made():
    seen = []
    schedule = lambda count: seen.append(int(count)) or 0.1 * (int(count) + 1)
    optimizer = opt.sgd(schedule)
    state, g = optimizer.init(PARAMS), GRADS[0]
    for expected_lr in (0.1, 0.2, 0.3):
        u, state = optimizer.update(g, state)
        np.testing.assert_allclose(u["w"], -expected_lr * g["w"])
    assert seen == [0, 1, 2]


def test_schedules_trace_under_jit():
    schedules = [opt.linear_schedule(1.0, 0.0, 5), opt.exponential_decay(1.0, 3, 0.7),
                 opt.cosine_decay(1.0, 7), opt.warmup_cosine_decay(0.0, 1.0, 2, 9),
                 opt.piecewise_constant(1.0, {3: 0.5})]
    for s in schedules:
        for n in (0, 3, 11):
            np.testing.assert_allclose(fad.jit(s)(np.int32(n)), s(n), rtol=1e-14)


# ---------------------------------------------------------------- clipping and chain

def test_clip_by_global_norm():
    clipper = opt.clip_by_global_norm(2.0)
    long = {"a": np.array([3.0, 0.0]), "b": 4.0}          # norm 5
    u, state = clipper.update(long, clipper.init(long))
    np.testing.assert_allclose(u["a"], [1.2, 0.0])
    np.testing.assert_allclose(u["b"], 1.6)
    assert state == opt.EmptyState()
    short = {"a": np.array([0.3, 0.0]), "b": 0.4}
    u, _ = clipper.update(short, clipper.init(short))
    np.testing.assert_allclose(u["a"], short["a"])
    zero = {"a": np.zeros(2), "b": 0.0}                      # no division by a zero norm
    with np.errstate(all="raise"):
        u, _ = clipper.update(zero, clipper.init(zero))
    np.testing.assert_array_equal(u["a"], [0.0, 0.0])
    np.testing.assert_allclose(opt.global_norm(long), 5.0)
    assert opt.global_norm({}) == 0.0


def test_clip_by_value():
    clipper = opt.clip(1.0)
    u, _ = clipper.update({"a": np.array([-3.0, 0.5, 2.0])}, clipper.init(None))
    np.testing.assert_array_equal(u["a"], [-1.0, 0.5, 1.0])


def test_chain_clips_then_descends():
    optimizer = opt.chain(opt.clip_by_global_norm(1.0), opt.momentum(0.1, beta=0.5))
    state = optimizer.init(PARAMS)
    assert isinstance(state, tuple) and len(state) == 2
    clipped = []
    for g in GRADS:
        norm = math.sqrt(sum(float(np.sum(np.square(x))) for x in tree_leaves(g)))
        clipped.append(tree_map(lambda x, n=norm: np.asarray(x) / max(n, 1.0), g))
    u1, state = optimizer.update(GRADS[0], state, PARAMS)
    u2, state = optimizer.update(GRADS[1], state, PARAMS)
    np.testing.assert_allclose(u1["w"], -0.1 * clipped[0]["w"])
    np.testing.assert_allclose(u2["w"], -0.1 * (clipped[1]["w"] + 0.5 * clipped[0]["w"]))


# -------------------------------------------------------------- under jit and in scan

def _loss(p, x):
    return fnp.sum((p["w"] * x - 1.0) ** 2) + (p["b"] - 2.0) ** 2 + 0.1 * fnp.sum(p["w"] ** 4)


TRAINERS = {
    "sgd": opt.sgd(opt.piecewise_constant(0.05, {3: 0.5})),
    "momentum": opt.momentum(0.05),
    "nesterov": opt.nesterov(0.05),
    "adam": opt.adam(opt.warmup_cosine_decay(0.0, 0.1, 2, 10)),
    "adamw": opt.adamw(0.1, weight_decay=0.01),
    "rmsprop": opt.rmsprop(0.01, centered=True),
    "chain": opt.chain(opt.clip_by_global_norm(1.0), opt.adam(0.1)),
}
X = np.array([0.5, 1.0, 2.0])


def _step(optimizer):
    def step(params, state):
        u, state = optimizer.update(fad.grad(_loss)(params, X), state, params)
        return opt.apply_updates(params, u), state
    return step


def _assert_trees_close(a, b):
    assert tree_structure(a) == tree_structure(b)
    for x, y in zip(tree_leaves(a), tree_leaves(b)):
        assert np.asarray(x).dtype == np.asarray(y).dtype
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", TRAINERS)
def test_state_through_jit_equals_eager(name):
    optimizer = TRAINERS[name]
    step, jitted = _step(optimizer), fad.jit(_step(optimizer))
    eager = (PARAMS, optimizer.init(PARAMS))
    traced = (PARAMS, fad.jit(optimizer.init)(PARAMS))   # init traces too
    for _ in range(3):
        eager, traced = step(*eager), jitted(*traced)
    _assert_trees_close(traced, eager)


@pytest.mark.parametrize("name", TRAINERS)
def test_five_steps_in_scan_equal_the_python_loop(name):
    optimizer = TRAINERS[name]
    step = _step(optimizer)
    carry = (PARAMS, optimizer.init(PARAMS))
    for _ in range(5):
        carry = step(*carry)
    body = lambda c, _: (step(*c), None)
    start = (PARAMS, optimizer.init(PARAMS))
    scanned, _ = lax.scan(body, start, None, length=5)
    _assert_trees_close(scanned, carry)
    compiled, _ = fad.jit(lambda c: lax.scan(body, c, None, length=5))(start)
    _assert_trees_close(compiled, carry)


@pytest.mark.parametrize("optimizer", [
    opt.sgd(0.1), opt.momentum(0.05, beta=0.9), opt.nesterov(0.05, beta=0.9), opt.adam(0.05),
    opt.adamw(0.05, weight_decay=1e-6), opt.rmsprop(opt.exponential_decay(0.05, 100, 0.3)),
    opt.chain(opt.clip(1.0), opt.adam(opt.cosine_decay(0.1, 400, alpha=0.1)))],
    ids=["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "chain"])
def test_converges_on_a_quadratic(optimizer):
    a = np.array([[3.0, 0.5], [0.5, 1.0]])
    target = {"w": np.array([1.0, -2.0]), "b": 0.5}

    def loss(p):
        d = p["w"] - target["w"]
        return 0.5 * d @ (a @ d) + 2.0 * (p["b"] - target["b"]) ** 2

    step = fad.jit(lambda p, s: _apply(optimizer, fad.grad(loss)(p), s, p))
    params, state = {"w": np.zeros(2), "b": 0.0}, optimizer.init({"w": np.zeros(2), "b": 0.0})
    for _ in range(400):
        params, state = step(params, state)
    np.testing.assert_allclose(params["w"], target["w"], atol=2e-3)
    np.testing.assert_allclose(params["b"], target["b"], atol=2e-3)


def _apply(optimizer, grads, state, params):
    u, state = optimizer.update(grads, state, params)
    return opt.apply_updates(params, u), state


# ------------------------------------------------------------------------------ errors

def test_bad_hyperparameters_raise_clear_errors():
    with pytest.raises(TypeError, match="learning_rate must be a real number or a schedule"):
        opt.adam("0.1")
    with pytest.raises(TypeError, match="learning_rate"):
        opt.sgd(np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match=r"b1 must be in \[0, 1\)"):
        opt.adam(0.1, b1=1.0)
    with pytest.raises(ValueError, match="beta"):
        opt.momentum(0.1, beta=-0.1)
    with pytest.raises(ValueError, match="eps"):
        opt.rmsprop(0.1, eps=-1.0)
    with pytest.raises(ValueError, match="max_norm must be > 0"):
        opt.clip_by_global_norm(0.0)
    with pytest.raises(ValueError, match="max_delta"):
        opt.clip(-1.0)
    with pytest.raises(ValueError, match="transition_steps"):
        opt.exponential_decay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="warmup_steps < decay_steps"):
        opt.warmup_cosine_decay(0.0, 1.0, 10, 10)
    with pytest.raises(TypeError, match="boundaries_and_scales must be a dict"):
        opt.piecewise_constant(0.1, [(10, 0.5)])
    with pytest.raises(TypeError, match="argument 1 is a function, not an Optimizer"):
        opt.chain(opt.clip(1.0), lambda g: g)


def test_adamw_without_params_and_mismatched_states():
    optimizer = opt.adamw(0.1)
    with pytest.raises(ValueError, match="needs params"):
        optimizer.update(GRADS[0], optimizer.init(PARAMS))
    chained = opt.chain(opt.clip(1.0), opt.sgd(0.1))
    with pytest.raises(ValueError, match="tuple of 2 states"):
        chained.update(GRADS[0], opt.sgd(0.1).init(PARAMS))
    with pytest.raises(ValueError, match="structure"):
        opt.momentum(0.1).update({"w": np.ones(3)}, opt.momentum(0.1).init(PARAMS))
