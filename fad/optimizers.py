"""``fad.optimizers``: first-order optimizers as pure functions over pytrees, after optax.

An optimizer is ``Optimizer(init, update)``, two pure functions::

    state = opt.init(params)
    updates, state = opt.update(grads, state, params)
    params = apply_updates(params, updates)

``params``, ``grads`` and ``updates`` are pytrees of one structure; a state is a pytree
of arrays (NamedTuples), so a whole training step runs under ``fad.jit`` and a state can
be a ``fad.lax.scan`` carry. Updates keep each gradient's dtype (float32 training stays
float32) and states keep their dtypes from step to step, as a scan carry must.

A learning rate is a number or a *schedule*, a function ``step -> lr`` (see
``exponential_decay`` and friends) called with the number of updates made before this
one: 0 at the first. Gradient transformations (``clip_by_global_norm``, ``clip``) are
optimizers too, and ``chain`` runs several in turn.

>>> import numpy as np, fad, fad.numpy as fnp
>>> loss = lambda p: fnp.sum((p["w"] - 3.0) ** 2) + (p["b"] + 1.0) ** 2
>>> params = {"w": np.zeros(2), "b": 0.0}
>>> opt = chain(clip_by_global_norm(1.0), adam(0.1))
>>> state = opt.init(params)
>>> for _ in range(300):
...     updates, state = opt.update(fad.grad(loss)(params), state, params)
...     params = apply_updates(params, updates)
>>> np.round(params["w"], 3), np.round(params["b"], 3)
(array([3., 3.]), np.float64(-1.0))
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

import fad.numpy as fnp
from fad import lax
from fad.tree_util import tree_leaves, tree_map

__all__ = [
    "AdamState", "EmptyState", "Optimizer", "RmsState", "ScaleState", "TraceState",
    "adam", "adamw", "apply_updates", "chain", "clip", "clip_by_global_norm",
    "constant_schedule", "cosine_decay", "exponential_decay", "global_norm",
    "linear_schedule", "momentum", "nesterov", "piecewise_constant", "rmsprop", "sgd",
    "warmup_cosine_decay",
]

Schedule = Callable[[Any], Any]


class Optimizer(NamedTuple):
    """``init(params) -> state`` and ``update(grads, state, params=None) -> (updates,
    state)``: an optimizer, or a gradient transformation such as ``clip``.

    >>> import numpy as np, fad.optimizers as optim
    >>> opt = optim.sgd(0.1)
    >>> params = {'w': np.array([1.0, 2.0])}
    >>> updates, state = opt.update({'w': np.array([1.0, 1.0])}, opt.init(params))
    >>> updates
    {'w': array([-0.1, -0.1])}
    """
    init: Callable[[Any], Any]
    update: Callable[..., tuple[Any, Any]]


class EmptyState(NamedTuple):
    """The state of a stateless transformation (no leaves).

    >>> import numpy as np, fad.optimizers as optim
    >>> optim.EmptyState()
    EmptyState()
    >>> optim.clip_by_global_norm(1.0).init({'w': np.zeros(2)})
    EmptyState()
    """


class ScaleState(NamedTuple):
    """``sgd``'s state: the number of updates made.

    >>> import numpy as np, fad.optimizers as optim
    >>> optim.ScaleState(count=0)
    ScaleState(count=0)
    >>> optim.sgd(0.1).init({'w': np.zeros(2)})
    ScaleState(count=array(0, dtype=int32))
    """
    count: Any


class TraceState(NamedTuple):
    """``momentum``'s and ``nesterov``'s state: the count and the velocity per leaf.

    >>> import numpy as np, fad.optimizers as optim
    >>> state = optim.momentum(0.1, 0.9).init({'w': np.zeros(2)})
    >>> type(state).__name__, state.trace
    ('TraceState', {'w': array([0., 0.])})
    """
    count: Any
    trace: Any


class AdamState(NamedTuple):
    """``adam``'s and ``adamw``'s state: count, first and second moment estimates.

    >>> import numpy as np, fad.optimizers as optim
    >>> state = optim.adam(0.1).init({'w': np.zeros(2)})
    >>> type(state).__name__, state.count, state.mu
    ('AdamState', array(0, dtype=int32), {'w': array([0., 0.])})
    """
    count: Any
    mu: Any
    nu: Any


class RmsState(NamedTuple):
    """``rmsprop``'s state: count, mean square and (when centred, else None) mean gradient.

    >>> import numpy as np, fad.optimizers as optim
    >>> state = optim.rmsprop(0.1).init(np.zeros(2))
    >>> type(state).__name__, state.nu
    ('RmsState', array([0., 0.]))
    """
    count: Any
    nu: Any
    mu: Any


# --------------------------------------------------------------------------- helpers

def _dtype(x: Any) -> np.dtype:
    return fnp.asarray(x).dtype


def _cast_like(x: Any, ref: Any) -> Any:
    """``x`` in ``ref``'s dtype: a float64 learning rate must not turn float32 gradients
    into float64 updates, nor a state's dtype change between steps (scan needs it fixed)."""
    dtype = _dtype(ref)
    return x if _dtype(x) == dtype else lax.convert_element_type(x, dtype)


def _zeros_like(tree: Any) -> Any:
    return tree_map(fnp.zeros_like, tree)


def _zero_count() -> np.ndarray:
    return np.zeros((), np.int32)


def _check_learning_rate(learning_rate: Any, name: str) -> None:
    if callable(learning_rate):
        return
    if isinstance(learning_rate, (str, bytes)) or fnp.ndim(learning_rate) != 0 \
            or np.iscomplexobj(learning_rate):
        raise TypeError(f"{name}: learning_rate must be a real number or a schedule "
                        f"(a function step -> lr), got {learning_rate!r:.60}")


def _check_unit_interval(value: float, what: str, name: str) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name}: {what} must be in [0, 1), got {value}")


def _learning_rate_at(learning_rate: Any, count: Any) -> Any:
    return learning_rate(count) if callable(learning_rate) else learning_rate


def _descend(learning_rate: Any, directions: Any, grads: Any) -> Any:
    """``-lr * d`` for each leaf, in the dtype of its gradient."""
    return tree_map(lambda d, g: _cast_like(-learning_rate * d, g), directions, grads)


def _abs2(tree: Any) -> Any:
    """``|g|^2`` leafwise (real, also for complex gradients)."""
    return tree_map(lambda g: fnp.real(g * fnp.conj(g)), tree)


def _ema(decay: float, old: Any, new: Any) -> Any:
    """Exponential moving average ``decay * old + (1 - decay) * new``, leafwise."""
    return tree_map(lambda o, n: _cast_like(decay * o + (1.0 - decay) * n, o), old, new)


def apply_updates(params: Any, updates: Any) -> Any:
    """``params + updates`` leafwise, each result in its parameter's dtype.

    >>> apply_updates({"w": np.ones(2, np.float32)}, {"w": np.array([0.5, -0.5])})
    {'w': array([1.5, 0.5], dtype=float32)}
    """
    return tree_map(lambda p, u: _cast_like(p + u, p), params, updates)


def global_norm(tree: Any) -> Any:
    """The 2-norm of all the leaves together, as if ravelled into one vector.

    >>> float(global_norm({"a": np.array([3.0]), "b": np.array([[4.0]])}))
    5.0
    """
    squares = [fnp.sum(x) for x in tree_leaves(_abs2(tree))]
    return fnp.sqrt(sum(squares)) if squares else np.float64(0.0)


# ----------------------------------------------------------------------- optimizers

def sgd(learning_rate: float | Schedule) -> Optimizer:
    """Plain gradient descent: ``update = -lr * g``.

    >>> opt = sgd(0.1)
    >>> opt.update({"w": np.array([1.0, -2.0])}, opt.init({"w": np.zeros(2)}))[0]
    {'w': array([-0.1,  0.2])}
    """
    _check_learning_rate(learning_rate, "sgd")

    def update(grads, state, params=None):
        lr = _learning_rate_at(learning_rate, state.count)
        return _descend(lr, grads, grads), ScaleState(state.count + 1)

    return Optimizer(lambda params: ScaleState(_zero_count()), update)


def _heavy_ball(learning_rate, beta, look_ahead: bool, name: str) -> Optimizer:
    """``v = g + beta * v``; the step is ``-lr * v``, or with ``look_ahead`` (Nesterov)
    ``-lr * (g + beta * v)`` (the formulation of optax and PyTorch)."""
    _check_learning_rate(learning_rate, name)
    _check_unit_interval(beta, "beta", name)

    def init(params):
        return TraceState(_zero_count(), _zeros_like(params))

    def update(grads, state, params=None):
        trace = tree_map(lambda g, v: _cast_like(g + beta * v, v), grads, state.trace)
        direction = tree_map(lambda g, v: g + beta * v, grads, trace) if look_ahead else trace
        lr = _learning_rate_at(learning_rate, state.count)
        return _descend(lr, direction, grads), TraceState(state.count + 1, trace)

    return Optimizer(init, update)


def momentum(learning_rate: float | Schedule, beta: float = 0.9) -> Optimizer:
    """Gradient descent with (heavy-ball) momentum: ``v = g + beta v``, ``update = -lr v``.

    >>> opt = momentum(0.1, beta=0.5)
    >>> g, state = np.array([1.0]), opt.init(np.zeros(1))
    >>> _, state = opt.update(g, state)
    >>> opt.update(g, state)[0]       # v = 1 + 0.5 * 1
    array([-0.15])
    """
    return _heavy_ball(learning_rate, beta, False, "momentum")


def nesterov(learning_rate: float | Schedule, beta: float = 0.9) -> Optimizer:
    """Nesterov momentum: ``v = g + beta v``, ``update = -lr (g + beta v)``.

    >>> opt = nesterov(0.1, beta=0.5)
    >>> opt.update(np.array([1.0]), opt.init(np.zeros(1)))[0]     # -0.1 * (1 + 0.5)
    array([-0.15])
    """
    return _heavy_ball(learning_rate, beta, True, "nesterov")


def _adam(learning_rate, b1, b2, eps, eps_root, weight_decay, name) -> Optimizer:
    _check_learning_rate(learning_rate, name)
    _check_unit_interval(b1, "b1", name)
    _check_unit_interval(b2, "b2", name)
    if eps < 0 or eps_root < 0 or weight_decay < 0:
        raise ValueError(f"{name}: eps, eps_root and weight_decay must be >= 0, got "
                         f"{eps}, {eps_root}, {weight_decay}")

    def init(params):
        return AdamState(_zero_count(), _zeros_like(params), _zeros_like(params))

    def update(grads, state, params=None):
        if weight_decay and params is None:
            raise ValueError(f"{name}.update needs params (the decoupled weight decay is "
                             "proportional to them): call update(grads, state, params)")
        mu = _ema(b1, state.mu, grads)
        nu = _ema(b2, state.nu, _abs2(grads))
        t = state.count + 1
        # bias correction (Kingma & Ba, Algorithm 1): the averages start at zero
        mu_scale, nu_scale = 1.0 / (1.0 - b1 ** t), 1.0 / (1.0 - b2 ** t)
        direction = tree_map(
            lambda m, v: (m * mu_scale) / (fnp.sqrt(v * nu_scale + eps_root) + eps), mu, nu)
        if weight_decay:   # decoupled (Loshchilov & Hutter): not part of the moments
            direction = tree_map(lambda d, p: d + weight_decay * p, direction, params)
        lr = _learning_rate_at(learning_rate, state.count)
        return _descend(lr, direction, grads), AdamState(t, mu, nu)

    return Optimizer(init, update)


def adam(learning_rate: float | Schedule, b1: float = 0.9, b2: float = 0.999,
         eps: float = 1e-8, eps_root: float = 0.0) -> Optimizer:
    """Adam: ``m = b1 m + (1-b1) g``, ``v = b2 v + (1-b2) g^2``, and at step ``t`` (from 1)
    ``update = -lr * m_hat / (sqrt(v_hat + eps_root) + eps)`` with the bias-corrected
    ``m_hat = m / (1 - b1^t)``, ``v_hat = v / (1 - b2^t)``.

    >>> opt = adam(0.1)
    >>> opt.update(np.array([2.0, -3.0]), opt.init(np.zeros(2)))[0]   # -lr * sign(g) at t=1
    array([-0.1,  0.1])
    """
    return _adam(learning_rate, b1, b2, eps, eps_root, 0.0, "adam")


def adamw(learning_rate: float | Schedule, b1: float = 0.9, b2: float = 0.999,
          eps: float = 1e-8, eps_root: float = 0.0, weight_decay: float = 1e-4) -> Optimizer:
    """Adam with decoupled weight decay: ``update = -lr * (adam's direction + wd * params)``;
    ``update`` needs ``params``.

    >>> opt = adamw(0.1, weight_decay=0.5)
    >>> p = np.array([2.0])
    >>> opt.update(np.array([1.0]), opt.init(p), p)[0]    # -0.1 * (1 + 0.5 * 2)
    array([-0.2])
    """
    return _adam(learning_rate, b1, b2, eps, eps_root, weight_decay, "adamw")


def rmsprop(learning_rate: float | Schedule, decay: float = 0.9, eps: float = 1e-8,
            centered: bool = False) -> Optimizer:
    """RMSProp: ``nu = decay nu + (1-decay) g^2``, ``update = -lr g / sqrt(nu + eps)``
    (optax's placement of ``eps``); ``centered`` divides by ``sqrt(nu - mu^2 + eps)``
    with ``mu`` the moving average of ``g``.

    >>> opt = rmsprop(0.1, decay=0.75, eps=0.0)
    >>> opt.update(np.array([2.0]), opt.init(np.zeros(1)))[0]   # -0.1 * 2 / sqrt(0.25 * 4)
    array([-0.2])
    """
    _check_learning_rate(learning_rate, "rmsprop")
    _check_unit_interval(decay, "decay", "rmsprop")
    if eps < 0:
        raise ValueError(f"rmsprop: eps must be >= 0, got {eps}")

    def init(params):
        return RmsState(_zero_count(), _zeros_like(params),
                        _zeros_like(params) if centered else None)

    def update(grads, state, params=None):
        nu = _ema(decay, state.nu, _abs2(grads))
        mu = _ema(decay, state.mu, grads) if centered else None
        # the centred form divides by an estimate of the variance rather than of g^2
        denominator = tree_map(lambda n, m2: n - m2, nu, _abs2(mu)) if centered else nu
        direction = tree_map(lambda g, d: g / fnp.sqrt(d + eps), grads, denominator)
        lr = _learning_rate_at(learning_rate, state.count)
        return _descend(lr, direction, grads), RmsState(state.count + 1, nu, mu)

    return Optimizer(init, update)


# --------------------------------------------------------- gradient transformations

def clip_by_global_norm(max_norm: float) -> Optimizer:
    """Scale the whole gradient down to global norm ``max_norm`` when it is longer
    (directions kept); shorter gradients pass unchanged.

    >>> clipper = clip_by_global_norm(1.0)
    >>> clipper.update({"a": np.array([3.0]), "b": np.array([4.0])}, clipper.init(None))[0]
    {'a': array([0.6]), 'b': array([0.8])}
    """
    if not max_norm > 0:
        raise ValueError(f"clip_by_global_norm: max_norm must be > 0, got {max_norm}")

    def update(grads, state, params=None):
        # max_norm / max(norm, max_norm) is 1 for short gradients and never divides by 0
        scale = max_norm / fnp.maximum(global_norm(grads), max_norm)
        return tree_map(lambda g: _cast_like(g * scale, g), grads), state

    return Optimizer(lambda params: EmptyState(), update)


def clip(max_delta: float) -> Optimizer:
    """Clip every gradient element to ``[-max_delta, max_delta]``.

    >>> clipper = clip(0.5)
    >>> clipper.update(np.array([-2.0, 0.1, 3.0]), clipper.init(None))[0]
    array([-0.5,  0.1,  0.5])
    """
    if not max_delta > 0:
        raise ValueError(f"clip: max_delta must be > 0, got {max_delta}")

    def update(grads, state, params=None):
        return tree_map(lambda g: fnp.clip(g, -max_delta, max_delta), grads), state

    return Optimizer(lambda params: EmptyState(), update)


def chain(*optimizers: Optimizer) -> Optimizer:
    """Run ``optimizers`` in turn, each transforming the updates of the one before;
    the state is the tuple of their states.

    >>> opt = chain(clip(1.0), sgd(0.1))
    >>> opt.update(np.array([5.0, -0.5]), opt.init(np.zeros(2)))[0]
    array([-0.1 ,  0.05])
    """
    for i, opt in enumerate(optimizers):
        if not isinstance(opt, Optimizer):
            raise TypeError(f"chain: argument {i} is a {type(opt).__name__}, not an Optimizer "
                            "(build one with sgd, adam, clip_by_global_norm, ...)")

    def init(params):
        return tuple(opt.init(params) for opt in optimizers)

    def update(grads, state, params=None):
        if not isinstance(state, tuple) or len(state) != len(optimizers):
            raise ValueError(f"chain.update: expected the tuple of {len(optimizers)} states "
                             "that chain(...).init returned")
        new_state = []
        for opt, s in zip(optimizers, state):
            grads, s = opt.update(grads, s, params)
            new_state.append(s)
        return grads, tuple(new_state)

    return Optimizer(init, update)


# ------------------------------------------------------------------------ schedules

def _check_positive(value: float, what: str, name: str) -> None:
    if not value > 0:
        raise ValueError(f"{name}: {what} must be > 0, got {value}")


def constant_schedule(value: float) -> Schedule:
    """``step -> value``.

    >>> constant_schedule(0.1)(1000)
    0.1
    """
    return lambda count: value


def linear_schedule(init_value: float, end_value: float, transition_steps: int,
                    transition_begin: int = 0) -> Schedule:
    """Constant ``init_value`` until ``transition_begin``, then linear to ``end_value``
    over ``transition_steps`` steps, then constant.

    >>> [float(linear_schedule(1.0, 0.0, 4)(n)) for n in (0, 1, 4, 9)]
    [1.0, 0.75, 0.0, 0.0]
    """
    _check_positive(transition_steps, "transition_steps", "linear_schedule")

    def schedule(count):
        frac = fnp.clip((count - transition_begin) / transition_steps, 0.0, 1.0)
        return init_value + (end_value - init_value) * frac

    return schedule


def exponential_decay(init_value: float, transition_steps: int, decay_rate: float,
                      transition_begin: int = 0, staircase: bool = False,
                      end_value: float | None = None) -> Schedule:
    """``init_value * decay_rate ** ((step - transition_begin) / transition_steps)``,
    constant before ``transition_begin``; ``staircase`` floors the exponent; ``end_value``
    bounds the value (below when decaying, above when growing).

    >>> [float(exponential_decay(1.0, 10, 0.5)(n)) for n in (0, 10, 15, 20)]
    [1.0, 0.5, 0.3535533905932738, 0.25]
    """
    _check_positive(transition_steps, "transition_steps", "exponential_decay")
    _check_positive(decay_rate, "decay_rate", "exponential_decay")

    def schedule(count):
        exponent = fnp.maximum(count - transition_begin, 0) / transition_steps
        if staircase:
            exponent = fnp.floor(exponent)
        value = init_value * decay_rate ** exponent
        if end_value is None:
            return value
        return fnp.maximum(value, end_value) if decay_rate < 1 else fnp.minimum(value, end_value)

    return schedule


def cosine_decay(init_value: float, decay_steps: int, alpha: float = 0.0) -> Schedule:
    """Half a cosine from ``init_value`` down to ``alpha * init_value`` over
    ``decay_steps`` steps, constant afterwards (Loshchilov & Hutter's SGDR, one cycle).

    >>> [round(float(cosine_decay(1.0, 10, alpha=0.1)(n)), 4) for n in (0, 5, 10, 99)]
    [1.0, 0.55, 0.1, 0.1]
    """
    _check_positive(decay_steps, "decay_steps", "cosine_decay")

    def schedule(count):
        t = fnp.minimum(count, decay_steps) / decay_steps
        return init_value * ((1.0 - alpha) * 0.5 * (1.0 + fnp.cos(math.pi * t)) + alpha)

    return schedule


def warmup_cosine_decay(init_value: float, peak_value: float, warmup_steps: int,
                        decay_steps: int, end_value: float = 0.0) -> Schedule:
    """Linear warm-up from ``init_value`` to ``peak_value`` over ``warmup_steps``, then
    half a cosine down to ``end_value`` at step ``decay_steps`` (which counts the warm-up
    steps), constant afterwards.

    >>> s = warmup_cosine_decay(0.0, 1.0, warmup_steps=2, decay_steps=6)
    >>> [round(float(s(n)), 4) for n in (0, 1, 2, 4, 6, 50)]
    [0.0, 0.5, 1.0, 0.5, 0.0, 0.0]
    """
    if warmup_steps < 0 or decay_steps <= warmup_steps:
        raise ValueError("warmup_cosine_decay: need 0 <= warmup_steps < decay_steps, got "
                         f"warmup_steps={warmup_steps}, decay_steps={decay_steps}")
    decay = cosine_decay(1.0, decay_steps - warmup_steps)
    warm = linear_schedule(init_value, peak_value, warmup_steps) if warmup_steps else None

    def schedule(count):
        after_warmup = fnp.maximum(count - warmup_steps, 0)
        decayed = end_value + (peak_value - end_value) * decay(after_warmup)
        return decayed if warm is None else fnp.where(count < warmup_steps, warm(count), decayed)

    return schedule


def piecewise_constant(init_value: float, boundaries_and_scales: Mapping[int, float]
                       ) -> Schedule:
    """``init_value`` times the scale of every boundary the step has reached
    (``step >= boundary``).

    >>> s = piecewise_constant(1.0, {10: 0.5, 20: 0.1})
    >>> [float(s(n)) for n in (0, 9, 10, 19, 20, 100)]
    [1.0, 1.0, 0.5, 0.5, 0.05, 0.05]
    """
    if not isinstance(boundaries_and_scales, Mapping):
        raise TypeError("piecewise_constant: boundaries_and_scales must be a dict "
                        f"{{step: scale}}, got {type(boundaries_and_scales).__name__}")
    steps = sorted(boundaries_and_scales.items())

    def schedule(count):
        value = init_value
        for boundary, scale in steps:
            value = value * fnp.where(count >= boundary, scale, 1.0)
        return value

    return schedule
