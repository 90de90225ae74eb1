# ruff: noqa: E501 - tables of one-line test functions
"""Adversarial tests of the staged top-level ``grad`` / ``value_and_grad``
(fad.api_grad_staged.StagedGrad on fad.api_vmap_staged.StagedVmap, the probe of
fad.interpreters.probe and the lowering of fad.interpreters.lowering).

Each staged function is called several times in a row: the first sighting of a program is
interpreted, the second compiles it, later calls replay the last recording and run the
compiled program. Every result is compared with the interpreted path
(``with fad.disable_jit(): g(*args)``) - values, dtypes, Python types (NumPy scalar vs
0-d array vs Python float) and pytree structure - or with closed forms / finite
differences. Errors must be of the same type as the interpreted path's.
"""
import collections
import contextlib
import dataclasses
import io
import sys
import threading
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad import lax
from fad.errors import UnexpectedTracerError
from fad.tree_util import (register_dataclass, register_pytree_node,
                           register_pytree_node_class, tree_leaves, tree_structure)

CALLS = 4   # first sighting (interpreted), compiled, then replayed twice

W = np.array([0.3, -1.2, 2.0])
V = np.array([1.0, 2.0, 3.0])
X = np.array([[0.3, -1.2, 2.0, 2.0], [1.0, 1.0, -0.5, 0.25], [0.0, 2.0, 2.0, -3.0]])
WT = np.arange(1.0, 13.0).reshape(3, 4)
_TOL = {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 2e-5}


# -- helpers ------------------------------------------------------------------------------------

def interpreted(g, *args):
    with fad.disable_jit():
        return g(*args)


def outcome(g, *args):
    """``("ok", result)`` or ``("err", exception)`` of ``g(*args)``."""
    try:
        return "ok", g(*args)
    except Exception as e:   # noqa: BLE001
        return "err", e


def assert_same(got, want, rtol=1e-12, loose_scalar_types=False):
    """Same pytree structure, and leaf by leaf the same Python type, dtype, shape and
    (close) values; NaNs compare equal."""
    assert tree_structure(got) == tree_structure(want), (got, want)
    for a, b in zip(tree_leaves(got), tree_leaves(want)):
        if loose_scalar_types and np.ndim(a) == 0 and np.ndim(b) == 0:
            pass   # (float / NumPy scalar / 0-d array: tested exactly elsewhere)
        else:
            assert type(a) is type(b), f"got {a!r} ({type(a).__name__}), want {b!r} ({type(b).__name__})"
        a_, b_ = np.asarray(a), np.asarray(b)
        assert a_.dtype == b_.dtype, f"got {a!r}, want {b!r}"
        assert a_.shape == b_.shape, (a_.shape, b_.shape)
        tol = max(rtol, _TOL.get(b_.dtype, 0.0))
        if b_.dtype.kind in "fc":
            np.testing.assert_allclose(a_, b_, rtol=tol, atol=tol, equal_nan=True)
        else:
            np.testing.assert_array_equal(a_, b_)


def assert_same_outcome(got, want, match_message=False, **kw):
    assert got[0] == want[0], f"got {got[1]!r}, want {want[1]!r}"
    if want[0] == "ok":
        assert_same(got[1], want[1], **kw)
    else:
        assert type(got[1]) is type(want[1]), f"got {got[1]!r}, want {want[1]!r}"
        if match_message:
            assert str(got[1]) == str(want[1])


def check(g, *args, calls=CALLS, **kw):
    """``g(*args)`` staged, ``calls`` times, against the interpreted path; returns the
    interpreted outcome."""
    want = outcome(interpreted, g, *args)
    for _ in range(calls):
        assert_same_outcome(outcome(g, *args), want, **kw)
    return want


def numerical_grad(f, x, eps=1e-6):
    x = np.asarray(x, float)
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        out[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return out


# -- the staged path is taken (the tests below are not vacuous) -----------------------------------

def test_second_call_compiles_and_later_calls_replay(monkeypatch):
    from fad.staged import programs
    compiled = []
    real = programs.compile_program
    monkeypatch.setattr(programs, "_programs", {})
    monkeypatch.setattr(programs, "compile_program",
                        lambda *a: compiled.append(1) or real(*a))
    g = fad.grad(lambda x: fnp.sum(fnp.sin(x) * x))
    results = [g(W) for _ in range(5)]
    assert len(compiled) == 1
    for r in results:
        np.testing.assert_allclose(r, np.cos(W) * W + np.sin(W), rtol=1e-13)


# -- Python control flow and values read off the differentiated arguments ------------------------

def _newton_sqrt(x):
    # a while loop whose trip count depends on the value; the gradient flows through
    # the unrolled iterations
    y = x * 0.5 + 0.5
    while abs(y * y - x) > 1e-12:   # (bool() of a comparison: float() would raise, issue 10 #9)
        y = 0.5 * (y + x / y)
    return y


CONTROL_FLOW = {
    "if_on_sum": lambda x: fnp.sum(fnp.sin(x)) if fnp.sum(x) > 0 else fnp.sum(fnp.cos(x)),
    "while_trip_count": lambda x: _newton_sqrt(fnp.sum(x * x) + 1.0),
    "for_trip_count_int": lambda x: sum(fnp.sum(fnp.tanh(x * k)) for k in range(1, int(fnp.abs(x[0]) * 3) + 2)),
    "float_read": lambda x: fnp.sum(x ** 2) * float(x[1]),
    "int_read": lambda x: fnp.sum(x ** int(fnp.abs(x[2]) + 1)),
    "item_read": lambda x: fnp.sum(x * x[0].item()),
    "tolist_read": lambda x: fnp.sum(x * sum(x.tolist())),
    "bool_mask": lambda x: fnp.sum(x[x > 0] ** 3),
    "argmax_index": lambda x: x[fnp.argmax(x)] * x[0],
    "int_argmax_index": lambda x: x[int(fnp.argmax(x))] ** 2,
    "iterate": lambda x: sum(v * v * i for i, v in enumerate(x)),
    "bool_of_any": lambda x: fnp.sum(x) * (2.0 if fnp.any(x > 1.5) else 3.0),
    "comparison_chain": lambda x: (x[0] * x[1] if x[0] < x[1] < x[2] else x[2] * x[1]),
    "python_max": lambda x: max(x[0], x[1]) * x[2],
    "sorted_python": lambda x: sorted(x, key=float)[0] * 2.0,
    "min_over_list": lambda x: min([x[0] ** 2, x[1] ** 2, x[2] ** 2]),
    "abs_builtin": lambda x: abs(x[1]) * x[0],
    "round_builtin": lambda x: fnp.sum(x) * round(float(x[2])),
    "divmod_read": lambda x: fnp.sum(x) * divmod(float(x[2]), 0.7)[0],
}


@pytest.mark.parametrize("name", sorted(CONTROL_FLOW))
def test_python_control_flow_on_the_differentiated_values(name):
    g = fad.grad(CONTROL_FLOW[name])
    for x in [W, W, -W, V, W, -W, 0.5 * V, W]:
        check(g, x, calls=2)


def test_python_control_flow_matches_finite_differences():
    for name in ["if_on_sum", "while_trip_count", "for_trip_count_int", "bool_mask", "iterate"]:
        f, g = CONTROL_FLOW[name], fad.grad(CONTROL_FLOW[name])
        for x in [W, -W, 0.5 * V + 0.1]:   # (away from the jumps of the branches)
            for _ in range(3):
                np.testing.assert_allclose(g(x), numerical_grad(lambda y: float(f(y)), x),
                                           rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("f", [
    lambda x: np.asarray(x).sum(),
    lambda x: np.array(x).sum(),
    lambda x: fnp.sum(x * np.asarray(x[0])),
])
def test_numpy_conversion_of_a_differentiated_value_raises_as_in_eager(f):
    want = check(fad.grad(f), W)
    assert want[0] == "err" and isinstance(want[1], TypeError)


def test_numpy_functions_dispatch_to_fad_as_in_eager():
    check(fad.grad(lambda x: np.sum(np.sin(x) * x)), W)
    check(fad.grad(lambda x: np.dot(x, x) + np.max(x)), W)
    check(fad.value_and_grad(lambda x: np.add.reduce(np.exp(x))), W)


# Values computed from the differentiated arguments that carry no derivative
# (comparisons, argmax, sign, stop_gradient, ...) are plain NumPy arrays under eager grad:
# user code may hand them to NumPy. The staged path keeps them as probe tracers.
NON_DIFFERENTIABLE_READS = {
    "numpy_array_indexed_by_mask": lambda x: fnp.sum(x[0] * V[x > 0]),
    "np_nonzero_of_mask": lambda x: fnp.sum(x[np.nonzero(x > 0)[0]]),
    "np_where_one_argument": lambda x: fnp.sum(x[np.where(x > 0)[0]]),
    "np_count_nonzero": lambda x: fnp.sum(x) * np.count_nonzero(x > 0),
    "np_asarray_of_stop_gradient": lambda x: fnp.sum(x * np.asarray(lax.stop_gradient(x))),
    "np_asarray_of_comparison": lambda x: fnp.sum(x * np.asarray(x > 0)),
    "isinstance_of_comparison": lambda x: fnp.sum(x) * (1.0 if isinstance(x > 0, np.ndarray) else 2.0),
}


@pytest.mark.parametrize("name", sorted(NON_DIFFERENTIABLE_READS))
def test_non_differentiable_intermediates_behave_as_in_eager(name):
    want = check(fad.grad(NON_DIFFERENTIABLE_READS[name]), W)
    assert want[0] == "ok"


# -- arguments -----------------------------------------------------------------------------------

def test_non_differentiated_arguments_of_every_kind_changing_between_calls():
    def f(x, n, s, flag, none, fn, d, idx):
        y = x * n if flag else x
        if s == "sin":
            y = fnp.sin(y)
        if none is not None:
            y = y + none
        return fnp.sum(fn(y)[idx] * d["k"])

    g = fad.grad(f)
    variants = [
        (W, 2, "sin", True, None, fnp.tanh, {"k": 2.0}, np.array([0, 2])),
        (W, 3, "cos", False, 1.0, fnp.exp, {"k": 2.0}, np.array([1, 1])),
        (W, 2.5, "sin", np.True_, np.float32(1), lambda t: t * t, {"k": np.float32(2.0)},
         np.array([0, 2], np.int32)),
        (W, np.int64(2), "sin", 1, np.array(0.5), fnp.sinh, {"k": np.array([1.0, 2.0])},
         np.array([True, False, True])),
        (W, 2, "sin", True, None, fnp.tanh, {"k": 2.0}, slice(None, None, -1)),
        (W, 2, "sin", True, None, fnp.tanh, {"k": 2.0}, np.array([0, 2])),
    ]
    for args in variants * 2:
        check(g, *args, calls=2)


@pytest.mark.parametrize("argnums, args", [
    (-1, (W, V, 2.0)),
    ((-1, 0), (W, V, 2.0)),
    ([2, 0], (W, V, 2.0)),
    ((1,), (W, V, 2.0)),
    (True, (W, V, 2.0)),        # (an int, as in eager)
    ((), (W, V, 2.0)),
    ((0, 0), (W, V, 2.0)),      # errors from here on
    (3, (W, V, 2.0)),
    (-4, (W, V, 2.0)),
    ("a", (W, V, 2.0)),
    (np.int64(1), (W, V, 2.0)),
    (0, ()),
])
def test_argnums_variants(argnums, args):
    for make in (fad.grad, fad.value_and_grad):
        g = make(lambda *a: fnp.sum(a[0] * a[1] * a[2]) if len(a) == 3 else 1.0, argnums=argnums)
        check(g, *args, match_message=True)


def _grad_of_the_same_code(argnums, with_value=False):
    # every call makes a new function of the same code (as grad(lambda ...) written inline)
    return (fad.value_and_grad if with_value else fad.grad)(
        lambda x, y: fnp.sum(x * y ** 2), argnums=argnums)


@pytest.mark.parametrize("bad", [1.0, np.int64(1), np.float64(1.0), np.True_])
def test_invalid_argnums_equal_to_a_valid_one_are_rejected(bad):
    # the staged state is shared by the gradients of one code object; argnums=1.0 (or
    # np.int64(1)) compare equal to argnums=1 but are refused by grad
    for with_value in (False, True):
        for _ in range(3):
            _grad_of_the_same_code(1, with_value)(W, V)
        check(_grad_of_the_same_code(bad, with_value), W, V, match_message=True)


def test_negative_argnums_with_a_changing_number_of_arguments():
    g = fad.grad(lambda *a: fnp.sum(fnp.sin(a[-1]) * len(a)), argnums=-1)
    for args in [(W,), (1.0, W), (W,), (1.0, 2.0, W), (1.0, W), (W,)] * 2:
        check(g, *args, calls=2)
    g = fad.grad(lambda *a: fnp.sum(a[0] * a[-1]), argnums=(0, -1))
    for args in [(W, V), (W, 3.0, V), (W, V), (W, "s", None, V)] * 2:
        check(g, *args, calls=2)


class Pair(NamedTuple):
    a: object
    b: object


@register_pytree_node_class
class Box:
    def __init__(self, a, b, tag):
        self.a, self.b, self.tag = a, b, tag

    def tree_flatten(self):
        return (self.a, self.b), self.tag

    @classmethod
    def tree_unflatten(cls, tag, children):
        return cls(*children, tag)


@register_dataclass
@dataclasses.dataclass
class Params:
    w: object
    s: object


def _tree_loss(p):
    return sum(fnp.sum(fnp.sin(leaf) * (i + 1.0)) for i, leaf in enumerate(tree_leaves(p)))


@pytest.mark.parametrize("tree", [
    {"w": W, "v": V, "s": 1.5},
    [W, (V, 2.0)],
    Pair(W, V),
    ([{"x": W}], [V, Pair(2.0, None)]),
    (W, None, V),
    {"a": W, "e": {}, "l": [], "t": ()},
    {"a": W.astype(np.float32), "b": np.float16(2), "c": np.float64(1.0), "d": np.array(0.5)},
    collections.OrderedDict([("b", W), ("a", V)]),
    collections.defaultdict(list, {"b": W, "a": V}),
    Box(W, V, "tag"),
    Params(W, 2.0),
    {1: W, "a": V},
    {"only": np.float64(0.25)},
], ids=lambda t: type(t).__name__)
def test_differentiated_pytrees(tree):
    check(fad.grad(_tree_loss), tree)
    check(fad.value_and_grad(_tree_loss), tree)
    check(fad.grad(lambda p, y: _tree_loss(p) * fnp.sum(y), argnums=(0, 1)), tree, V)


def test_pytree_structure_changes_between_calls():
    g = fad.value_and_grad(_tree_loss)
    trees = [{"a": W}, {"a": W, "b": V}, [W], (W,), {"a": W}, Pair(W, V), {"a": V, "b": W},
             {"a": W.astype(np.float32)}, {"a": W}, Box(W, V, "x"), Box(W, V, "y")]
    for tree in trees * 2:
        check(g, tree, calls=2)


def test_empty_differentiated_pytrees():
    check(fad.grad(lambda p, q: fnp.sum(q) * 2.0, argnums=(0, 1)), ((), {}), W)
    check(fad.grad(lambda p, q: fnp.sum(q) * 2.0, argnums=0), ((), {}), W)
    check(fad.grad(lambda p: 2.0), [])
    check(fad.grad(lambda p: 2.0), None)


class _Meta:
    def __init__(self, a, meta):
        self.a, self.meta = a, meta


register_pytree_node(_Meta, lambda m: ((m.a,), m.meta), lambda meta, ch: _Meta(ch[0], meta))


@pytest.mark.parametrize("meta", [[1, 2], {"k": 1}, np.ones(3)], ids=["list", "dict", "array"])
def test_pytree_nodes_with_unhashable_auxiliary_data(meta):
    # the auxiliary data is not hashable: fine under eager grad (and for non-differentiated
    # arguments); the staged path must not fail on it
    g = fad.grad(lambda p: fnp.sum(fnp.sin(p.a)) * len(p.meta))
    want = check(g, _Meta(W, meta))
    assert want[0] == "ok"


@pytest.mark.parametrize("x", [
    0.7, np.float64(0.7), np.float32(0.7), np.float16(0.7), np.longdouble(0.7),
    np.array(0.7), np.array(0.7, np.float32), np.array(0.7, np.float16),
    np.array([0.7]), W.astype(np.float16),
], ids=lambda x: f"{type(x).__name__}-{np.asarray(x).dtype}-{np.ndim(x)}")
def test_scalar_and_array_argument_kinds(x):
    fs = [lambda x: x * x, lambda x: fnp.sum(fnp.sin(x) * 3.0), lambda x: fnp.sum(x ** 3) / 2.0,
          lambda x: 4.0, lambda x: fnp.sum(fnp.tanh(x) * np.arange(1.0, 1.0 + np.size(x)))]
    if type(x) is not float:   # (Python floats with float32 constants: tested below)
        fs.append(lambda x: fnp.sum(fnp.exp(x) * np.float32(2.0)))
    for f in fs:
        check(fad.grad(f), x)
        check(fad.value_and_grad(f), x)


def test_mixed_float_dtypes_among_the_differentiated_arguments():
    f = lambda a, b, c: fnp.sum(a * b) * c + fnp.sum(fnp.sin(b))   # noqa: E731
    g = fad.value_and_grad(f, argnums=(0, 1, 2))
    for args in [(W.astype(np.float16), W.astype(np.float32), np.float64(2.0)),
                 (W, W.astype(np.float32), np.float16(2.0)),
                 (W.astype(np.float32), W.astype(np.float32), np.float32(2.0)),
                 (np.array(1.5, np.float16), W.astype(np.float32), np.array(2.0))]:
        check(g, *args)


def test_argument_dtype_and_shape_changing_between_calls():
    g = fad.value_and_grad(lambda x: fnp.sum(fnp.sin(x) * fnp.cos(x[..., :1])))
    seq = [W, W.astype(np.float32), W.astype(np.float16), X, X.astype(np.float32), W[:2],
           np.array([0.5]), W, X.T, np.asfortranarray(X), X[:, ::-2], W.astype(np.float32)]
    for x in seq * 2:
        check(g, x, calls=2)


def test_non_float_differentiated_arguments_raise_as_interpreted():
    g = fad.grad(lambda z: fnp.sum(fnp.abs(z * 1.0)))
    for x in [3, True, np.arange(3), np.int32(2), "a", {"a": W, "i": 3}, {"a": W, "i": np.arange(3)},
              [W, np.arange(2)], 1 + 2j, np.array([1j, 2.0]), {"a": W, "c": 1j}]:
        check(g, x, calls=2, match_message=not isinstance(x, str))


def test_inputs_are_not_modified_and_views_work():
    big = np.broadcast_to(np.linspace(-1, 1, 5000), (2, 5000))   # read-only, zero stride
    for x in [big, X[:, ::-1], np.asfortranarray(X), W[::2]]:
        keep = x.copy()
        g = fad.value_and_grad(lambda x: fnp.sum(fnp.sin(x) ** 2) + fnp.sum(x[..., 0]))
        check(g, x)
        np.testing.assert_array_equal(x, keep)


# -- gradients made afresh at every call (state shared by a function's code) ----------------------

def test_inline_grads_of_one_code_with_changing_closures():
    # grad(lambda ...)(x) written inline: a new function at every step, the same code; the
    # captured value changes kind, dtype, shape and value
    closures = [2.0, np.float32(2.0), np.array(2.0), V, V.astype(np.float32), 3, True, V[:1],
                np.array([[1.0], [2.0]]), -0.0, np.nan, V, 2.0]
    for c in closures * 2:
        for make in (fad.grad, fad.value_and_grad):
            check(make(lambda x: fnp.sum(fnp.sin(x * c) * c)), W, calls=2)


def test_inline_grads_of_one_code_with_changing_argnums_and_arities():
    for argnums in [0, 1, (0, 1), (1, 0), -1, (-2,), 0, (0, 1)]:
        for make in (fad.grad, fad.value_and_grad):
            g = make(lambda x, y, *rest: fnp.sum(x * fnp.sin(y)) * (len(rest) + 1.0), argnums=argnums)
            check(g, W, V, calls=2)
            check(g, W, V, 2.0, calls=2)
            check(g, np.float32(0.5), V.astype(np.float16), calls=2)


class _Model:
    def __init__(self, scale, power):
        self.scale, self.power = scale, power

    def loss(self, x):
        return fnp.sum(fnp.abs(x) ** self.power) * self.scale


def test_bound_methods_of_different_instances_share_code():
    models = [_Model(1.0, 2), _Model(np.float32(2.0), 3), _Model(np.array([1.0, 2.0, 3.0]), 2.5),
              _Model(1.0, 2)]
    for _ in range(3):
        for m in models:
            check(fad.grad(m.loss), W, calls=2)
            check(fad.value_and_grad(m.loss), W.astype(np.float32), calls=2)


def test_closures_of_one_code_alternating_between_programs():
    def make(k):
        return fad.grad(lambda x: (fnp.sum(fnp.sin(x)) if k % 2 else fnp.sum(fnp.cos(x))) * k)

    grads = [make(k) for k in range(1, 5)]
    for i in [0, 1, 2, 3, 0, 0, 1, 1, 3, 2, 0, 3, 3]:
        check(grads[i], W, calls=1)
        np.testing.assert_allclose(grads[i](W), (np.cos(W) if (i + 1) % 2 else -np.sin(W)) * (i + 1),
                                   rtol=1e-14)


# -- closures, globals, literals ------------------------------------------------------------------

def test_closure_arrays_and_scalars_changing_between_calls():
    state = {}

    def f(x):
        return fnp.sum(fnp.sin(x * state["c"])) + state["s"] * fnp.sum(x)

    g = fad.value_and_grad(f)
    seq = [(V, 1.0), (V.copy(), 1.0), (V.astype(np.float32), 1.0), (np.ones(1), 2.0),
           (np.array(2.0), 2.0), (np.array(2.0), -0.0), (np.array(2.0), 0.0),
           (np.array(2.0), np.nan), (np.array(2.0), np.inf), (V, np.float32(0.0)), (V, 0),
           (V, False), (V[::-1], 1.0), (np.asfortranarray(np.ones((1, 3))), 1.0), (V, 1.0),
           (V, -0.0), (V, 0.0), (V, -0.0), (np.float32(3.0), 1), (3, True)]
    for c, s in seq * 2:
        state["c"], state["s"] = c, s
        check(g, W, calls=2)


def test_closure_arrays_mutated_in_place_between_calls():
    c, c0 = V.copy(), np.array(2.0)
    g = fad.value_and_grad(lambda x: fnp.sum(x * c) * c0)
    for k in range(8):
        c[:] = k
        c0[()] = -k
        check(g, W, calls=2)
        np.testing.assert_allclose(g(W)[1], -k * k * np.ones(3))


def test_the_same_array_twice_versus_two_equal_arrays():
    box = {}
    g = fad.grad(lambda x: fnp.sum(x * box["a"] + x ** 2 * box["b"]))
    a = np.array([1.0, 2.0, 3.0])
    for b in [a, a.copy(), a, a + 1.0, a, a[::-1].copy()]:
        box["a"], box["b"] = a, b
        check(g, W, calls=2)
        np.testing.assert_allclose(g(W), a + 2 * W * b)


@pytest.mark.parametrize("lit", [0.0, -0.0, np.nan, np.inf, -np.inf, np.float32(-0.0),
                                 np.float64(-0.0), np.array(-0.0), 5e-324, 1e308])
def test_special_literals_are_told_apart(lit):
    # each literal is its own program; programs differing only in one literal's bits
    # (0.0 against -0.0) must not share compiled code (1/lit tells them apart)
    def f(x):
        return (fnp.sum(fnp.maximum(x, lit) * x) + fnp.sum(fnp.arctan2(lit, x + 1.0))
                + fnp.sum(1.0 / (x * 0.0 + lit)) * 1e-300)

    with np.errstate(all="ignore"):
        for other in [0.0, lit, -0.0, lit]:
            g = fad.value_and_grad(f)
            want = interpreted(g, W)
            for _ in range(3):
                got = g(W)
                assert_same(got, want)
                for a, b in zip(tree_leaves(got), tree_leaves(want)):
                    np.testing.assert_array_equal(np.signbit(a), np.signbit(b))
            lit, other = other, lit


def test_functions_alternating_between_programs():
    g = fad.grad(lambda x, k: (fnp.sum(fnp.sin(x)) if k % 2 else fnp.sum(fnp.cos(x))) * (k % 3 + 1))
    for k in range(14):
        check(g, W, k, calls=1)
        check(g, W, k, calls=1)


def test_recordings_diverging_from_the_template_at_every_point():
    # the same operations with another output, an extra dead or trailing operation,
    # literals of other types or constants in their place: each replays the previous
    # recording until it differs
    def f(x, k):
        y = fnp.sin(x)
        z = y * 2.0
        if k == 1:
            return fnp.sum(y)
        if k == 2:
            fnp.cos(z)
            return fnp.sum(z)
        if k == 3:
            s = fnp.sum(z)
            fnp.sum(y)
            return s
        if k == 4:
            return fnp.sum(y * 2)
        if k == 5:
            return fnp.sum(y * True) * 2.0
        if k == 6:
            return fnp.sum(y * np.float64(2.0))
        if k == 7:
            return fnp.sum(y * np.array(2.0))
        if k == 8:
            return fnp.sum(y * np.array([2.0, 2.0, 2.0]))
        if k == 9:
            return fnp.sum(2.0 * y)
        if k == 10:
            return fnp.sum(z) * 1.0
        return fnp.sum(z)

    g = fad.value_and_grad(f)
    rng = np.random.default_rng(0)
    for k in [0, 0, 0] + list(rng.integers(0, 11, 60)):
        check(g, W, int(k), calls=1)


GLOBAL_SCALE = [1.0]


def _reads_a_global(x):
    return fnp.sum(x ** 2) * GLOBAL_SCALE[0]


def test_globals_changing_between_calls():
    g = fad.grad(_reads_a_global)
    for s in [1.0, 2.0, 2.0, np.float32(3.0), np.array(4.0), 1.0, 1.0, 1.0]:
        GLOBAL_SCALE[0] = s
        check(g, W, calls=2)
        np.testing.assert_allclose(g(W), 2 * W * float(s), rtol=1e-6)
    GLOBAL_SCALE[0] = 1.0


def test_a_new_program_at_every_call_then_a_steady_one():
    calls = [0]

    def f(x, steady):
        calls[0] += 1
        # (float() of a differentiated value raises, issue 10 #9: stop_gradient first)
        return fnp.sum(x ** 2) * (1.0 if steady else float(fad.stop_gradient(fnp.sum(x))))

    g = fad.grad(f)
    for k in range(20):
        x = W + k
        calls[0] = 0
        np.testing.assert_allclose(g(x, False), 2 * x * float(np.sum(x)), rtol=1e-12)
        assert calls[0] == 1
    for _ in range(4):
        check(g, W, True, calls=2)


def test_random_numbers_drawn_inside_the_function():
    def f(x, seed):
        noise = np.random.default_rng(seed).normal(size=x.shape)
        return fnp.sum(x * noise)

    g = fad.grad(f)
    for seed in [0, 1, 2, 0, 3, 3, 4]:
        np.testing.assert_allclose(g(W, seed), np.random.default_rng(seed).normal(size=3),
                                   rtol=1e-14)


# -- outputs ---------------------------------------------------------------------------------------

OUTPUTS = {
    "python_float_constant": (lambda x: 3.0, (np.array(1.5),)),
    "python_float_constant_scalar_arg": (lambda x: 3.0, (1.5,)),
    "numpy_float32_constant": (lambda x: np.float32(3.0), (W,)),
    "zero_d_constant": (lambda x: np.array(2.5), (W,)),
    "independent_of_x": (lambda x, y: fnp.sum(y), (W, V)),
    "non_differentiated_python_float": (lambda x, y: y, (W, 2.0)),
    "non_differentiated_zero_d": (lambda x, y: y, (W, np.array(2.0, np.float32))),
    "input_zero_d_array": (lambda x: x, (np.array(1.5),)),
    "input_numpy_float32": (lambda x: x, (np.float32(1.5),)),
    "input_float16_leaf": (lambda d: d["a"], ({"a": np.float16(2.0), "b": W},)),
    "stop_gradient_array": (lambda x: fnp.sum(lax.stop_gradient(x)), (W,)),
    "float_of_x": (lambda x: float(x[0]), (W,)),
    "item_of_x": (lambda x: x[1].item(), (W,)),
    "numpy_scalar_of_x": (lambda x: np.float64(float(x[0])), (W,)),
    "times_zero": (lambda x: fnp.sum(x * 0.0), (W,)),
    "float16_output": (lambda x: fnp.sum(x.astype(np.float16)), (W,)),
    "float32_of_float64": (lambda x: fnp.sum(x.astype(np.float32)), (W,)),
    "longdouble": (lambda x: x * x, (np.longdouble(2.0),)),
}


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_output_kinds(name):
    f, args = OUTPUTS[name]
    check(fad.grad(f), *args)
    check(fad.value_and_grad(f), *args)


@pytest.mark.parametrize("f, x", [
    (lambda x: x, 1.5),
    (lambda x: fnp.sum(x), 1.5),
    (lambda x: lax.stop_gradient(x), 1.5),
    (lambda x, y: y, (1.0, 2.0)),
    (lambda d: d["a"], {"a": 2.0, "b": W}),
])
def test_value_that_is_a_python_float_argument_is_a_numpy_scalar(f, x):
    # value_and_grad(lambda x: x)(1.5) gives (np.float64(1.5), ...) interpreted
    args = x if isinstance(x, tuple) else (x,)
    g = fad.value_and_grad(f, argnums=tuple(range(len(args))) if len(args) > 1 else 0)
    want = check(g, *args)
    assert type(want[1][0]) is np.float64


@pytest.mark.parametrize("f, args", [
    (lambda a: fnp.minimum(a, 1.0), (0.3,)),
    (lambda a: fnp.maximum(a, 2.0), (0.3,)),
    (lambda a: fnp.maximum(a, 0.3), (0.3,)),
    (lambda a, b: fnp.minimum(a, b), (np.float32(-0.3), np.float32(-0.3))),
    (lambda a, b: fnp.minimum(a, b), (-0.3, 0.3)),
    (lambda a, b: fnp.maximum(a, b) * 2.0, (np.float64(1.0), np.float64(0.5))),
    (lambda a: fnp.where(a > 0, a, 0.0) + fnp.maximum(a, -a), (np.float16(0.5),)),
    (lambda a: fnp.max(fnp.stack([a, a * 0.5])), (np.array(0.7),)),
    (lambda a: fnp.where(a > 0, a, 0.0), (np.array(0.4),)),          # (a 0-d array, as
    (lambda a: fnp.sum(fnp.cumsum(a)), (np.array(0.4),)),            # interpreted)
    (lambda a, b: fnp.sum(fnp.cumsum(fnp.sin(b))) * a, (np.float32(-0.3), np.array(0.4))),
])
def test_zero_d_gradients_have_the_interpreted_python_type(f, args):
    for argnums in [tuple(range(len(args)))] + ([0] if len(args) == 1 else []):
        check(fad.grad(f, argnums=argnums), *args)
        check(fad.value_and_grad(f, argnums=argnums), *args)


@pytest.mark.parametrize("f", [
    lambda a: fnp.sin(a) * np.float32(2.0),
    lambda a: -a * np.float32(2.0),
    lambda a: (a * 2.0) * np.ones(2, np.float32),
    lambda a: fnp.exp(a) + np.float16(1.0),
    lambda a: fnp.where(a > 0, a, 1.0) * np.float32(2.0),
])
def test_python_float_arguments_promote_as_interpreted(f):
    # a Python float argument is weakly typed, as eagerly (NEP 50): sin(0.7) is a strong
    # float64, so sin(a) * float32 is float64, while -a * float32 is float32 (issue 11:
    # Python floats are staged, and both paths give the eager dtype)
    g = fad.value_and_grad(lambda a: fnp.sum(f(a)))
    want = check(g, 0.7)
    assert np.asarray(want[1][0]).dtype == np.asarray(fnp.sum(f(0.7))).dtype


def test_python_float_leaves_of_pytrees_promote_as_interpreted():
    tree = {"a": W.astype(np.float32), "c": 1.0, "d": np.array(0.5)}
    check(fad.value_and_grad(_tree_loss), tree)


def test_python_float_argument_values_read_as_interpreted():
    def f(a):
        # (float() of a differentiated value raises, issue 10 #9: stop_gradient first)
        v = float(fad.stop_gradient(fnp.sin(a) * np.float32(1.0)))
        return a * (1.0 if v == np.sin(0.7) else 2.0)

    with fad.disable_jit():
        assert fad.grad(f)(0.7) == 1.0
    for _ in range(CALLS):
        assert fad.grad(f)(0.7) == 1.0


@pytest.mark.parametrize("f, x", [
    (lambda x: 3, 1.5),
    (lambda x: fnp.argmax(x), W),
    (lambda x: x, W),
    (lambda x: x * 1j, 1.5),
    (lambda x: fnp.sum(x.astype(complex)), W),
    (lambda x: x > 0, 1.5),
    (lambda x: True, 1.5),
    (lambda x: fnp.sum(x).astype(np.int32), W),
    (lambda x: [fnp.sum(x)], W),
    (lambda x: (fnp.sum(x),), W),
    (lambda x: {"a": fnp.sum(x)}, W),
    (lambda x: None, 1.5),
    (lambda x: "a", 1.5),
    (lambda x: fnp.sum(x) * np.ones(2), W),
])
def test_bad_outputs_raise_the_interpreted_error(f, x):
    for make in (fad.grad, fad.value_and_grad):
        want = check(make(f), x)
        assert want[0] == "err" and isinstance(want[1], TypeError)


@pytest.mark.parametrize("f, x", [
    (lambda x: 3, 1.5),
    (lambda x: fnp.argmax(x), W),
    (lambda x: x, W),
    (lambda x: x * 1j, 1.5),
    (lambda x: True, 1.5),
    (lambda x: None, 1.5),
])
def test_bad_output_error_messages_match(f, x):
    check(fad.grad(f), x, match_message=True)


# -- transformations inside, and of, the staged function ----------------------------------------

M = np.arange(6.0).reshape(2, 3) / 5

NESTED = {
    "grad_grad": (fad.grad(fad.grad(lambda x: x ** 3 * fnp.sin(x))), (0.7,)),
    "grad_grad_grad": (fad.grad(fad.grad(fad.grad(lambda x: fnp.exp(x) * x))), (0.7,)),
    "value_and_grad_of_grad": (fad.value_and_grad(fad.grad(lambda x: x ** 3)), (0.7,)),
    "grad_of_sum_of_grad": (fad.grad(lambda x: fnp.sum(fad.grad(lambda y: fnp.sum(fnp.sin(y) ** 3))(x))), (W,)),
    "jit_inside": (fad.grad(lambda x: fnp.sum(fad.jit(lambda y: fnp.tanh(y) * y)(x))), (W,)),
    "jit_of_grad_inside": (fad.grad(lambda x: fnp.sum(fad.jit(fad.grad(lambda y: fnp.sum(fnp.tanh(y) * y)))(x))), (W,)),
    "grad_of_jit": (fad.grad(fad.jit(lambda x: fnp.sum(fnp.sin(x) ** 2))), (W,)),
    "grad_of_jit_static": (fad.grad(fad.jit(lambda x, n: fnp.sum(fnp.sin(x) ** n), static_argnums=1)), (W, 3)),
    "vmap_inside": (fad.grad(lambda x: fnp.sum(fad.vmap(lambda r: fnp.dot(r, x))(M))), (W,)),
    "vmap_of_grad_inside": (fad.grad(lambda x: fnp.sum(fad.vmap(fad.grad(lambda r, x: fnp.sum(fnp.sin(r * x))), in_axes=(0, None))(M, x))), (W,)),
    "jvp_inside": (fad.grad(lambda x: fad.jvp(lambda y: fnp.sum(fnp.sin(y)), (x,), (V,))[1]), (W,)),
    "vjp_inside": (fad.grad(lambda x: fnp.sum(fad.vjp(lambda y: fnp.sin(y) * y, x)[1](V)[0])), (W,)),
    "linearize_inside": (fad.grad(lambda x: fnp.sum(fad.linearize(lambda y: fnp.sin(y) * y, x)[1](V))), (W,)),
    "hessian_inside": (fad.grad(lambda x: fnp.sum(fad.hessian(lambda y: fnp.sum(y ** 3))(x))), (W,)),
    "jacfwd_inside": (fad.grad(lambda x: fnp.sum(fad.jacfwd(lambda y: fnp.sin(y) * y[0])(x))), (W,)),
    "jacrev_inside": (fad.grad(lambda x: fnp.sum(fad.jacrev(lambda y: fnp.sin(y) * y[0])(x))), (W,)),
    "hvp_inside": (fad.grad(lambda x: fnp.sum(fad.hvp(lambda y: fnp.sum(y ** 4), (x,), (V,))[1])), (W,)),
    "inner_grad_at_a_float_read": (fad.grad(lambda x: fnp.sum(x) * fad.grad(lambda y: y ** 2)(float(x[0]))), (W,)),
    "inner_grad_closing_over_x": (fad.grad(lambda x: fad.grad(lambda y: fnp.sum(y * x * x))(V).sum()), (W,)),
    "inner_value_and_grad": (fad.grad(lambda x: fad.value_and_grad(lambda y: fnp.sum(y * x * x))(V)[0]), (W,)),
    "inner_grad_has_aux": (fad.grad(lambda x: fad.grad(lambda y: (fnp.sum(y * x), y), has_aux=True)(V)[0].sum()), (W,)),
    "hessian_of": (fad.hessian(lambda x: fnp.sum(x ** 3 * x[0])), (W,)),
    "jacrev_of_grad": (fad.jacrev(fad.grad(lambda x: fnp.sum(x ** 3 * x[0]))), (W,)),
    "grad_with_disable_jit_inside": (fad.grad(lambda x: _jit_disabled_inside(x)), (W,)),
}


def _jit_disabled_inside(x):
    with fad.disable_jit():
        return fnp.sum(fad.jit(fnp.sin)(x) * x)


@pytest.mark.parametrize("name", sorted(NESTED))
def test_transformations_inside_and_of_the_staged_function(name):
    g, args = NESTED[name]
    check(g, *args)


def test_grad_of_grad_closed_forms():
    g2 = fad.grad(fad.grad(lambda x: x ** 4))
    g3 = fad.grad(fad.grad(fad.grad(fnp.sin)))
    for x in [0.5, 1.5, 0.5, -2.0, 0.5]:
        for _ in range(2):
            assert g2(x) == pytest.approx(12 * x * x, rel=1e-14)
            assert g3(x) == pytest.approx(-np.cos(x), rel=1e-14)


def test_staged_vmap_of_grad_and_staged_grad_side_by_side():
    loss = lambda w, x: fnp.sum(fnp.tanh(w * x))   # noqa: E731
    per_example = fad.vmap(fad.grad(loss), in_axes=(None, 0))
    total = fad.grad(lambda w: fnp.sum(per_example(w, M)) + loss(w, M[0]))
    check(total, W)
    check(per_example, W, M)


# -- exceptions, leaked tracers, side effects, fresh results --------------------------------------

def test_user_exceptions_on_some_calls():
    def f(x, k):
        if k == 1:
            raise ValueError("boom")
        if k == 2:
            return fnp.sum(x * np.ones(4))
        if k == 3:
            return float(x[5])
        if k == 4:
            return x[5]
        if k == 5:
            raise LookupError(k)
        return fnp.sum(x ** 2)

    g = fad.grad(f)
    for k in [0, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]:
        check(g, W, k, calls=1)
    np.testing.assert_allclose(g(W, 0), 2 * W)


def test_exception_midway_through_a_replayed_recording():
    def f(x, k):
        y = fnp.sin(x) * 2.0
        z = fnp.sum(y * x)
        if k:
            raise RuntimeError(k)
        return z + fnp.sum(fnp.cos(y))

    g = fad.value_and_grad(f)
    for k in [0, 0, 0, 1, 0, 1, 1, 0, 0]:
        check(g, W, k, calls=1)


def test_floating_point_errors_under_errstate_raise():
    Z = np.array([0.3, -1.2, 0.0])
    with np.errstate(all="raise"):
        for f in [lambda x: fnp.sum(fnp.log(x)), lambda x: fnp.sum(1.0 / x),
                  lambda x: fnp.sum(fnp.sqrt(x * x))]:
            want = check(fad.grad(f), Z)
            assert want[0] == "err" and isinstance(want[1], FloatingPointError)


LEAK_USES = {
    "arithmetic": lambda t: t + 1.0,
    "float": lambda t: float(t[0]),
    "float_sum": lambda t: float(t.sum()),
    "bool": lambda t: bool(t[0] > 0),
    "int": lambda t: int(t[0]),
    "index": lambda t: [1, 2, 3, 4][t.astype(int)[0]],
    "numpy_scalar": lambda t: np.float64(t[0]),
    "fnp_sum": lambda t: fnp.sum(t),
    "getitem": lambda t: t[0],
    "iterate": lambda t: list(t),
    "np_sin": lambda t: np.sin(t),
    "inner_grad": lambda t: fad.grad(lambda y: fnp.sum(y * t))(W),
    "jit": lambda t: fad.jit(lambda y: y * 2.0)(t),
    "vmap": lambda t: fad.vmap(lambda y: y * 2.0)(t),
}


@pytest.mark.parametrize("use", sorted(LEAK_USES))
def test_leaked_tracers_raise(use):
    box = []
    g = fad.grad(lambda x: (box.append(x), box.append(fnp.sin(x)), fnp.sum(x ** 2))[-1])
    for _ in range(CALLS):
        g(W)
    for t in list(box):
        with pytest.raises(UnexpectedTracerError):
            LEAK_USES[use](t)


@pytest.mark.parametrize("use", ["item", "tolist"])
def test_leaked_tracers_item_and_tolist_raise(use):
    box = []
    g = fad.grad(lambda x: (box.append(x), fnp.sum(x ** 2))[-1])
    for _ in range(CALLS):
        g(W)
    for t in box:
        with pytest.raises(UnexpectedTracerError):
            getattr(t, use)()


def test_leaked_tracer_passed_back_in_or_returned():
    box = []
    g = fad.grad(lambda x: (box.append(x), fnp.sum(x ** 2))[-1])
    for _ in range(CALLS):
        g(W)
    with pytest.raises(UnexpectedTracerError):
        fad.grad(lambda x: fnp.sum(x * box[0]))(W)
    # a leaked tracer returned as the output of a later call
    h = fad.grad(lambda x: box[0][0] * 1.0 + fnp.sum(x))
    with pytest.raises(UnexpectedTracerError):
        h(W)


def test_the_function_runs_once_per_call_and_may_print():
    calls = []

    def f(x, k):
        calls.append(k)
        # (float() of a differentiated value raises, issue 10 #9: stop_gradient first)
        print("x is", x, "sum", fnp.sum(x), "first", float(fad.stop_gradient(x[0])))
        if k == 1:
            raise RuntimeError("k")
        return fnp.sum(fnp.sin(x)) * float(x[0] > 0)

    g = fad.grad(f)
    for k in [0, 0, 0, 0, 1, 0, 0, 2, 2, 2]:
        calls.clear()
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                got = g(W, k)
            except RuntimeError:
                got = None
        assert calls == [k]
        assert out.getvalue().startswith("x is") and "first 0.3" in out.getvalue()
        if got is not None:
            np.testing.assert_allclose(got, np.cos(W), rtol=1e-14)


def test_results_are_fresh_arrays():
    c = np.arange(3.0)
    cases = [
        (fad.grad(lambda x: fnp.sum(x * c)), (W,)),
        (fad.grad(lambda x, y: fnp.sum(x * y), argnums=(0, 1)), (W, V)),
        (fad.grad(lambda x, y: fnp.sum(x) + fnp.sum(y), argnums=(0, 1)), (W, V)),
        (fad.grad(lambda x, y: fnp.sum(x * y), argnums=(0, 1)), (W, W)),
        (fad.value_and_grad(lambda d: fnp.sum(d["a"] * c) + fnp.sum(d["b"])), ({"a": W, "b": V},)),
        (fad.grad(lambda x: fnp.sum(x[np.array([0, 0])] * 0.0) + fnp.sum(c * 1.0)), (W,)),
        (fad.grad(lambda x: fnp.sum(fnp.broadcast_to(x[:1], (3,)) * c)), (W,)),
    ]
    for g, args in cases:
        keep = [np.copy(a) if isinstance(a, np.ndarray) else a for a in args]
        want = interpreted(g, *args)
        for _ in range(CALLS):
            got = g(*args)
            assert_same(got, want)
            for leaf in tree_leaves(got):
                if isinstance(leaf, np.ndarray) and leaf.flags.writeable:
                    leaf *= 100.0
                    leaf += 7.0
            leaves = tree_leaves(got)
            for i, a in enumerate(leaves):   # no two results share memory
                for b in leaves[i + 1:]:
                    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
                        assert not np.shares_memory(a, b)
        for a, k in zip(args, keep):
            if isinstance(a, np.ndarray):
                np.testing.assert_array_equal(a, k)
        np.testing.assert_array_equal(c, np.arange(3.0))


@pytest.mark.parametrize("g, args", [
    (fad.grad(lambda x, y: x * y, argnums=(0, 1)), (np.array(2.0), np.array(3.0))),
    (fad.value_and_grad(lambda x, y: x * y, argnums=(0, 1)), (np.array(2.0), np.array(3.0))),
    (fad.grad(lambda d: d["a"] * d["b"]), ({"a": np.array(2.0), "b": np.array(3.0)},)),
    (fad.grad(lambda x, y: x * y + y, argnums=(0, 1)),
     (np.array(2.0, np.float32), np.array(3.0, np.float32))),
], ids=["grad", "value_and_grad", "pytree", "float32"])
def test_gradients_never_alias_the_arguments(g, args):
    # the gradient of x * y with respect to x is y: it must come out as a new value (as
    # interpreted), not as the caller's array y, which updating the gradient would change
    keep = [np.copy(a) for a in tree_leaves(args)]
    want = interpreted(g, *args)
    for _ in range(CALLS):
        got = g(*args)
        assert_same(got, want, loose_scalar_types=True)   # (the types: tested above)
        for leaf in tree_leaves(got):
            for a in tree_leaves(args):
                assert not (isinstance(leaf, np.ndarray) and np.shares_memory(leaf, a)), \
                    "a gradient is the caller's argument array"
            if isinstance(leaf, np.ndarray):
                leaf += 100.0
        for a, k in zip(tree_leaves(args), keep):
            np.testing.assert_array_equal(a, k)


def test_concurrent_calls_from_threads():
    g = fad.grad(lambda x, k: fnp.sum(fnp.sin(x) * k) if k % 2 else fnp.sum(fnp.cos(x) * k))
    errors = []

    def worker(n):
        x = np.linspace(-1, 1, n)
        for i in range(40):
            k = (i + n) % 3 + 1
            want = np.cos(x) * k if k % 2 else -np.sin(x) * k
            got = g(x, k)
            if not np.allclose(got, want, rtol=1e-12):
                errors.append((n, i, got, want))

    run_threads(worker, (2, 3, 3, 4))
    assert not errors


def run_threads(worker, args, switch_interval=1e-5):
    """Run ``worker(a)`` for each of ``args`` in its own thread, all at once, switching
    threads often (so that races show), and wait for them."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(switch_interval)
    try:
        threads = [threading.Thread(target=worker, args=(a,)) for a in args]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)


# -- lax-level primitives ----------------------------------------------------------------------

LAX = {
    "sort": lambda x: fnp.sum(lax.sort(x, 1) * WT),
    "sort_axis0": lambda x: fnp.sum(lax.sort(x, 0) * WT),
    "sort_with_keys": lambda x: fnp.sum(lax.sort((x[0], x[1] * 2.0), num_keys=1)[1] * WT[0]),
    "argsort_take_along": lambda x: fnp.sum(fnp.take_along_axis(x, fnp.argsort(x, axis=1), axis=1) * WT),
    "top_k_ties": lambda x: fnp.sum(lax.top_k(x, 2)[0] * WT[:, :2]),
    "cumsum": lambda x: fnp.sum(lax.cumsum(x, 1) ** 2),
    "cumsum_reverse": lambda x: fnp.sum(lax.cumsum(x, 0, reverse=True) ** 2),
    "cumprod": lambda x: fnp.sum(lax.cumprod(x, 1) * WT),
    "cummax_ties": lambda x: fnp.sum(lax.cummax(x, 1) * WT),
    "cummin_reverse": lambda x: fnp.sum(lax.cummin(x, 0, reverse=True) * WT),
    "cumlogsumexp": lambda x: fnp.sum(lax.cumlogsumexp(x, 1) * WT),
    "reduce_max_ties": lambda x: fnp.sum(lax.reduce_max(x, (1,)) * WT[:, 0]),
    "reduce_max_all": lambda x: lax.reduce_max(x, (0, 1)),
    "reduce_min_ties": lambda x: fnp.sum(lax.reduce_min(x * -1.0, (0,)) * WT[0]),
    "max_keepdims": lambda x: fnp.sum(fnp.max(x, axis=1, keepdims=True) * x),
    "prod_with_zero": lambda x: fnp.sum(fnp.prod(x, axis=0)) + fnp.prod(x[2]),
    "argmax_gather": lambda x: fnp.sum(x[fnp.arange(3), fnp.argmax(x, axis=1)]),
    "clamp_ties": lambda x: fnp.sum(lax.clamp(-0.5, x, 1.0) * WT),
    "clip_ties": lambda x: fnp.sum(fnp.clip(x, 0.25, 2.0) * WT),
    "where": lambda x: fnp.sum(fnp.where(x > 0.5, x ** 2, fnp.sin(x)) * WT),
    "select_n_three": lambda x: fnp.sum(lax.select_n((x > 0).astype(np.int32) + (x > 1).astype(np.int32),
                                                     x, x * 2.0, x ** 2) * WT),
    "dot_general_nt": lambda x: fnp.sum(lax.dot_general(x, WT, (((1,), (1,)), ((), ()))) ** 2),
    "dot_general_tn": lambda x: fnp.sum(lax.dot_general(x, x, (((0,), (0,)), ((), ()))) * np.eye(4)),
    "dot_general_batch": lambda x: fnp.sum(lax.dot_general(x[:, :, None] * 1.0, x[:, None, :], (((2,), (1,)), ((0,), (0,)))) ** 2),
    "einsum": lambda x: fnp.sum(fnp.einsum("ij,kj->ik", x, x) ** 2),
    "matmul_chain": lambda x: fnp.sum((x.T @ x @ x.T) * (WT.T @ np.ones((3, 3)))),
    "vector_matrix": lambda x: fnp.sum((x[0] @ x.T) ** 2),
    "dynamic_slice_concrete_start": lambda x: fnp.sum(lax.dynamic_slice(x, (int(x[1, 0]), 1), (2, 2)) ** 2),
    "dynamic_slice_traced_start": lambda x: fnp.sum(lax.dynamic_slice(x, (fnp.argmax(x[:, 0]), fnp.argmin(x[0])), (2, 2)) ** 2),
    "dynamic_update_slice": lambda x: fnp.sum(lax.dynamic_update_slice(x, x[:2, :2] * 3.0, (1, fnp.argmax(x[0]))) ** 2),
    "gather_duplicates": lambda x: fnp.sum(x[np.array([0, 0, 2]), np.array([1, 1, 3])] ** 2),
    "scatter_add_duplicates": lambda x: fnp.sum(x.at[np.array([0, 0, 2]), np.array([1, 1, 3])].add(x[1, :3] * 2.0) ** 2),
    "scatter_set_duplicates": lambda x: fnp.sum(x.at[np.array([0, 0, 2])].set(x[1] * 2.0) ** 2),
    "scatter_mul_duplicates": lambda x: fnp.sum(x.at[np.array([0, 0])].mul(x[1]) ** 2),
    "scatter_max_ties": lambda x: fnp.sum(x.at[np.array([0, 0, 1])].max(x[2]) * WT),
    "scatter_min": lambda x: fnp.sum(x.at[:, np.array([1, 1])].min(x[:, :2] - 1.0) * WT),
    "pad_negative_and_interior": lambda x: fnp.sum(lax.pad(x, 0.5, ((1, -1, 1), (0, 2, 0))) ** 2),
    "concatenate": lambda x: fnp.sum(lax.concatenate([x, x * 2.0, x[:, :1]], 1) ** 2),
    "rev": lambda x: fnp.sum(lax.rev(x, (0, 1)) * WT),
    "transpose_reshape_strided": lambda x: fnp.sum(x.T.reshape(2, 6)[::-1, ::2] * WT.reshape(2, 6)[:, :3]),
    "logaddexp_with_minus_inf": lambda x: fnp.sum(fnp.logaddexp(x * 0.0 - np.inf, x)) + fnp.sum(fnp.logaddexp(x, x[::-1])),
    "broadcast": lambda x: fnp.sum(fnp.broadcast_to(x[:, :1], (3, 4)) * WT),
    "integer_pow": lambda x: fnp.sum(lax.integer_pow(x, 3) * WT),
    "mean_var_std": lambda x: fnp.mean(x) + fnp.var(x, axis=0).sum() + fnp.std(x[0]),
    "abs_and_sqrt_at_zero": lambda x: fnp.sum(fnp.abs(x)) + fnp.sum(fnp.sqrt(x * x + 1.0)),
    "maximum_ties": lambda x: fnp.sum(fnp.maximum(x, x[::-1]) * WT),
}


@pytest.mark.parametrize("name", sorted(LAX))
def test_lax_level_primitives(name):
    f = LAX[name]
    check(fad.grad(f), X)
    check(fad.value_and_grad(f), X.astype(np.float32))


@pytest.mark.parametrize("name", ["sort", "cumsum", "cumprod", "dot_general_batch", "einsum",
                                  "scatter_add_duplicates", "pad_negative_and_interior",
                                  "cumlogsumexp", "mean_var_std", "dynamic_update_slice"])
def test_lax_level_primitives_against_finite_differences(name):
    f, g = LAX[name], fad.grad(LAX[name])
    x = X + np.linspace(0.01, 0.12, 12).reshape(3, 4)   # (no ties: differentiable there)
    want = numerical_grad(lambda y: float(fad.jit(f)(y)), x)
    for _ in range(3):
        np.testing.assert_allclose(g(x), want, rtol=1e-6, atol=1e-6)


# -- random programs ---------------------------------------------------------------------------

_UNARY = [fnp.sin, fnp.tanh, lambda v: fnp.exp(v * 0.1), lambda v: v * v, fnp.abs, lambda v: -v,
          fnp.sum, fnp.max, fnp.min, fnp.mean, fnp.cumsum, fnp.sort,
          lambda v: fnp.clip(v, -0.5, 0.5), lambda v: v[::-1] if fnp.ndim(v) else v,
          lambda v: v.astype(np.float32), lambda v: v.astype(np.float64),
          lambda v: fnp.where(v > 0, v, v * 0.5),
          lambda v: fnp.sin(v) if float(fnp.sum(v)) > 0 else fnp.cos(v),      # branch on a value
          lambda v: v * float(fnp.max(v)),                                   # value read
          lambda v: fnp.sum(v[v > 0]) if fnp.ndim(v) else v,                 # mask
          lambda v: v[fnp.argmax(v)] if fnp.ndim(v) else v,
          lambda v: v.at[0].add(v[-1]) if fnp.ndim(v) else v,
          lambda v: fnp.maximum(v, v), lambda v: fnp.sqrt(v * v + 1), lambda v: v ** 2.0,
          lambda v: v ** 3, lax.stop_gradient, lambda v: fnp.dot(v, v),
          lambda v: _loop(v)]
_BINARY = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
           lambda a, b: a / (b * b + 1.0), fnp.minimum, fnp.maximum,
           lambda a, b: fnp.where(a > b, a, b), fnp.arctan2]


_UNARY_F64 = [op for i, op in enumerate(_UNARY) if i != 14]   # (no float32 conversion)


def _loop(v):
    for _ in range(int(abs(float(fnp.sum(v)))) % 3):   # a trip count read off the value
        v = fnp.cos(v)
    return v


_CONSTANTS_ANY = [2.0, 3, -0.0, 0.0, True, np.float32(0.5), np.float16(1.5), np.float64(-2.0),
                  np.array(1.25), np.array(0.5, np.float32), np.linspace(0.5, 1.5, 3),
                  np.linspace(-1, 1, 3).astype(np.float32), np.int32(2), np.arange(3)]
_CONSTANTS_F64 = [2.0, 3, -0.0, 0.0, True, np.float64(-2.0), np.array(1.25),
                  np.linspace(0.5, 1.5, 3), np.arange(3)]
_INPUTS_ARRAYS = [lambda: np.float32(-0.3), lambda: np.float16(0.6), lambda: np.float64(1.1),
                  lambda: np.array(0.4), lambda: np.array(-0.8, np.float32),
                  lambda: np.array([0.3, -1.2, 0.9]),
                  lambda: np.array([0.5, 0.25, -2.0], np.float32),
                  lambda: np.array([0.5, 1.5, -1.0], np.float16)]
_INPUTS_F64 = [lambda: 0.7, lambda: -0.45, lambda: np.float64(1.1), lambda: np.array(0.4),
               lambda: np.array([0.3, -1.2, 0.9])]


@st.composite
def _programs(draw, constants, unary=_UNARY):
    steps = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["unary", "unary", "binary", "const"]))
        if kind == "unary":
            steps.append(("unary", unary[draw(st.integers(0, len(unary) - 1))],
                          draw(st.integers(0, 20))))
        elif kind == "binary":
            steps.append(("binary", draw(st.integers(0, len(_BINARY) - 1)),
                          draw(st.integers(0, 20)), draw(st.integers(0, 20))))
        else:
            steps.append(("const", draw(st.integers(0, len(_BINARY) - 1)), draw(st.integers(0, 20)),
                          draw(st.integers(0, len(constants) - 1)), draw(st.booleans())))
    return steps


def _run(steps, xs, constants):
    pool = list(xs)
    for step in steps:
        if step[0] == "unary":
            pool.append(step[1](pool[step[2] % len(pool)]))
        elif step[0] == "binary":
            pool.append(_BINARY[step[1]](pool[step[2] % len(pool)], pool[step[3] % len(pool)]))
        else:
            _, op, i, c, swap = step
            a, b = pool[i % len(pool)], constants[c]
            pool.append(_BINARY[op](b, a) if swap else _BINARY[op](a, b))
    out = pool[-1]
    return fnp.sum(out) if fnp.ndim(out) else out


def _check_program(steps, inputs, constants, with_value, loose_scalar_types):
    xs = [make() for make in inputs]
    transform = fad.value_and_grad if with_value else fad.grad
    g = transform(lambda *xs: _run(steps, xs, constants), argnums=tuple(range(len(xs))))
    with np.errstate(all="ignore"):
        want = outcome(interpreted, g, *xs)
        for _ in range(CALLS):
            assert_same_outcome(outcome(g, *xs), want, rtol=1e-11,
                                loose_scalar_types=loose_scalar_types)


@settings(max_examples=60, deadline=None)
@given(_programs(_CONSTANTS_ANY), st.lists(st.sampled_from(_INPUTS_ARRAYS), min_size=1, max_size=2),
       st.booleans())
def test_random_programs_on_arrays_and_numpy_scalars(steps, inputs, with_value):
    # (float vs NumPy scalar vs 0-d array is tested exactly above: not here)
    _check_program(steps, inputs, _CONSTANTS_ANY, with_value, loose_scalar_types=True)


@settings(max_examples=40, deadline=None)
@given(_programs(_CONSTANTS_F64, _UNARY_F64), st.lists(st.sampled_from(_INPUTS_F64), min_size=1, max_size=2),
       st.booleans())
def test_random_programs_on_python_floats_in_float64(steps, inputs, with_value):
    _check_program(steps, inputs, _CONSTANTS_F64, with_value, loose_scalar_types=True)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(_programs(_CONSTANTS_F64, _UNARY_F64), st.integers(0, 2)), min_size=2, max_size=4),
       st.lists(st.integers(0, 3), min_size=4, max_size=10))
def test_one_function_switching_between_random_programs(programs, order):
    # one staged function whose program is chosen by a non-differentiated argument: the
    # template replays the last recording, which is often another program
    xs = [np.array([0.3, -1.2, 0.9]), np.array(0.4), 0.7]

    def f(x, which):
        steps, k = programs[which % len(programs)]
        return _run(steps, (x,), _CONSTANTS_F64) * (k + 1.0)

    g = fad.grad(f)
    with np.errstate(all="ignore"):
        for which in order:
            x = xs[which % len(xs)]
            want = outcome(interpreted, g, x, which)
            for _ in range(2):
                assert_same_outcome(outcome(g, x, which), want, rtol=1e-11,
                                    loose_scalar_types=True)
