"""Issue 10, the staged top-level gradients (``grad(f)(x)`` and ``vmap(grad(f))(...)``
recorded, replayed and compiled from the second sighting): items 4, 7, 8 and 10.

Every staged result is compared with ``fad.disable_jit()`` (the interpreted path) or with
eager NumPy, on the first (interpreted), second (compiled) and later (replayed) calls."""
import contextlib
import dataclasses
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
from fad.staged.calls import RegionMark
from fad.test_util import all_primitives
import fad.numpy as fnp
from fad.staged import grad as staged_grad
from fad.staged import programs as staged_programs
from fad.core.abstract import ShapedArray, get_aval
from fad.tree_util import register_dataclass, tree_leaves, tree_structure

CALLS = 3   # first sighting (interpreted), compiled, replayed


def interpreted(g, *args):
    with fad.disable_jit():
        return g(*args)


def assert_identical(got, want):
    """Same structure, and leaf by leaf the same type, dtype and bits."""
    assert tree_structure(got) == tree_structure(want), (got, want)
    for a, b in zip(tree_leaves(got), tree_leaves(want)):
        assert type(a) is type(b), (a, b)
        a_, b_ = np.asarray(a), np.asarray(b)
        assert a_.dtype == b_.dtype and a_.shape == b_.shape, (a, b)
        assert a_.tobytes() == b_.tobytes(), (a, b)


@contextlib.contextmanager
def fresh_staging_state():
    """No program seen before and no function state: the first call is a first sighting
    (a program met again would compile at once; a function that met eight new programs
    in a row would stop staging, which would make a test vacuous)."""
    programs, states = dict(staged_programs._programs), dict(staged_grad._states)
    staged_programs._programs.clear()
    staged_grad._states.clear()
    try:
        yield staged_programs._programs
    finally:
        staged_programs._programs.clear()
        staged_programs._programs.update(programs)
        staged_grad._states.clear()
        staged_grad._states.update(states)


def assert_staged_calls_identical(make_g, *args):
    """Calls 1, 2, 3 of the staged ``g = make_g()`` and the interpreted one are
    bit-identical, and the staged path did compile (so the test is not vacuous)."""
    with fresh_staging_state() as programs, np.errstate(all="ignore"):
        g = make_g()   # (after the state is fresh: a gradient holds its function's state)
        results = [g(*args) for _ in range(CALLS)]
        want = interpreted(g, *args)
        assert any(p is not staged_programs._SEEN_ONCE for p in programs.values())
    for got in results:
        assert_identical(got, want)


# -- item 4: the pytree auxiliary data of the current call ------------------------------------

@dataclasses.dataclass
class _Params:
    w: np.ndarray
    scale: object = dataclasses.field(default=1, compare=False)


register_dataclass(_Params, data_fields=["w"], meta_fields=["scale"])


def _uses_the_metadata(p, x=1.0):
    kind = {bool: 5.0, int: 1.0, float: 3.0}[type(p.scale)]
    return fnp.sum(p.w * p.w * x) * kind * p.scale


@pytest.mark.parametrize("scales", [[1, 1.0, True, 1, 1.0], [2, 3, 2.0, 2]])
def test_item4_staged_grad_sees_the_current_calls_auxiliary_data(scales):
    w = np.array([1.0, 2.0])
    g = fad.grad(_uses_the_metadata)
    for scale in scales:
        for _ in range(CALLS):
            got = g(_Params(w, scale))
            want = interpreted(g, _Params(w, scale))
            assert type(got.scale) is type(scale) and got.scale == scale
            assert_identical(got, want)


def test_item4_staged_vmap_grad_sees_the_current_calls_auxiliary_data():
    w, xs = np.array([1.0, 2.0]), np.linspace(0.5, 1.5, 6).reshape(3, 2)
    g = fad.vmap(fad.grad(_uses_the_metadata), in_axes=(None, 0))
    for scale in [1, 1.0, True, 1, 1.0, 1]:
        for _ in range(CALLS):
            got = g(_Params(w, scale), xs)
            want = interpreted(g, _Params(w, scale), xs)
            assert type(got.scale) is type(scale)
            assert_identical(got, want)


# -- item 7: big-endian inputs --------------------------------------------------------------

_BIG = np.array([0.5, 1.0, 2.0]).astype(">f8")
_NATIVE = _BIG.astype(np.float64)
_FUNCTIONS = {"sin_sum": lambda x: fnp.sum(fnp.sin(x)), "dot": lambda x: x @ x,
              "mean_square": lambda x: fnp.mean(x ** 2), "first": lambda x: x[0]}
_TRANSFORMS = {
    "grad": lambda f: fad.grad(f),
    "value_and_grad": lambda f: fad.value_and_grad(f),
    "jit": lambda f: fad.jit(f),
    "jit_slice": lambda f: fad.jit(lambda x: x[:2]),   # (an output that is a view of x)
    "jvp": lambda f: lambda x: fad.jvp(f, (x,), (x,)),
    "jvp_identity": lambda f: lambda x: fad.jvp(lambda y: y, (x,), (x,)),
    "vjp": lambda f: lambda x: fad.vjp(f, x)[1](1.0),
    "jacfwd": lambda f: fad.jacfwd(f),
    "jacrev": lambda f: fad.jacrev(f),
    "hessian": lambda f: fad.hessian(f),
    "vmap": lambda f: fad.vmap(lambda v: f(v * _NATIVE)),
    "vmap_identity": lambda f: fad.vmap(lambda v: v),
    "vmap_grad": lambda f: lambda x: fad.vmap(fad.grad(lambda v, y: f(v * y)),
                                               in_axes=(None, 0))(x, np.stack([x, x])),
}


@pytest.mark.parametrize("transform", sorted(_TRANSFORMS))
@pytest.mark.parametrize("function", sorted(_FUNCTIONS))
def test_item7_big_endian_inputs_give_native_results_equal_to_numpy(function, transform):
    g = _TRANSFORMS[transform](_FUNCTIONS[function])
    paths = [g] * CALLS
    if not transform.startswith("jit"):   # (disable_jit runs jit's function on NumPy)
        paths.append(lambda x: interpreted(g, x))
    for run in paths:
        want = run(_NATIVE)   # (the same path on the same values in native order)
        got = run(_BIG)
        for leaf in tree_leaves(got):
            assert np.asarray(leaf).dtype.isnative, got
        assert_identical(got, want)


def test_item7_abstract_values_are_native():
    assert get_aval(_BIG) == ShapedArray((3,), np.float64)
    assert get_aval(np.zeros((2,), ">i4")).dtype == np.dtype(np.int32)
    assert str(fad.make_jaxpr(lambda x: fnp.sum(x))(_BIG)) == str(
        fad.make_jaxpr(lambda x: fnp.sum(x))(_NATIVE))


# -- item 8: integer and boolean outputs carry no derivative, whatever the primitive ---------

_registry = all_primitives


_F = ShapedArray((3,), np.float64)
_I = ShapedArray((3,), np.int64)
# Parameters the primitives of the registry take (each call tries them all): the walk
# finds which primitives, given a float operand, have an integer or boolean output.
_PARAMS = [{}, {"axis": 0, "index_dtype": np.dtype(np.int64)}, {"k": 2},
           {"new_dtype": np.dtype(np.int64), "weak_type": False},
           {"new_dtype": np.dtype(np.bool_), "weak_type": False},
           {"dimension": 0, "is_stable": True, "num_keys": 1}, {"axes": (0,)}]


def _first_call(prim):
    """The first (operand avals, params) with which ``prim`` runs on a float first
    operand and has an integer or boolean output, or None."""
    for n, params in itertools.product((1, 2, 3), _PARAMS):
        for rest in itertools.product((_F, _I), repeat=n - 1):
            avals = (_F, *rest)
            try:
                out = prim.abstract_eval(*avals, **params)
                prim.impl(*[_sample(a) for a in avals], **params)
            except Exception:   # noqa: BLE001 - not a way to call this primitive
                continue
            if any(o.dtype.kind in "biu" for o in (out if prim.multiple_results else [out])):
                return avals, params
    return None


def _sample(aval):
    return np.array([0.25, -1.5, 0.75]) if aval.dtype.kind == "f" else np.array([2, 0, 1])


def _integer_output_calls():
    """(primitive, operand avals, params) for every primitive of the registry that has
    an integer or boolean output for a float operand."""
    return [(prim, *found) for prim in _registry()
            # (the staged layer's region marks are never bound: nothing to walk)
            if not isinstance(prim, RegionMark) and (found := _first_call(prim))]


_CALLS = _integer_output_calls()


def test_item8_the_registry_walk_finds_the_multi_result_primitives():
    names = {p.name for p, _, _ in _CALLS}
    assert {"sort", "top_k", "argmax", "convert_element_type", "lt", "is_finite"} <= names


def _function_using_integer_outputs(prim, avals, params):
    """A scalar function of a float vector ``x`` applying ``prim`` to ``x`` (and fixed
    integer operands), whose integer outputs NumPy reads (as a NumPy value only)."""
    def f(x):
        operands = [x if a.dtype.kind == "f" else _sample(a) for a in avals]
        out = prim.bind(*operands, **params)
        outs = out if prim.multiple_results else [out]
        total = fnp.sum(x * x)
        for o in outs:
            if get_aval(o).dtype.kind in "biu":
                total = total + fnp.sum(x) * float(np.asarray(o, np.float64).sum())
            else:
                total = total + fnp.sum(o * 1.5)
        return total
    return f


@pytest.mark.parametrize("call", _CALLS, ids=[p.name for p, _, _ in _CALLS])
def test_item8_integer_outputs_of_every_primitive_are_numpy_values_when_staged(call):
    f = _function_using_integer_outputs(*call)
    x = np.array([0.25, -1.5, 0.75])
    for transform in (fad.grad, fad.value_and_grad):
        g = transform(f)
        want = interpreted(g, x)
        for _ in range(CALLS):
            assert_identical(g(x), want)


def test_item8_argsort_and_top_k_indices_of_a_differentiated_value():
    x, w = np.array([3.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0])
    cases = [(lambda x, w: fnp.sum(x * w[fnp.argsort(x)]), (x, w)),
             (lambda x, w: fnp.sum(x * w[fad.lax.top_k(x, 2)[1]].sum()), (x, w))]
    for f, args in cases:
        g = fad.grad(f)
        want = interpreted(g, *args)
        for _ in range(CALLS):
            assert_identical(g(*args), want)
    g = fad.vmap(fad.grad(cases[0][0]), in_axes=(None, 0))   # (x concrete, as under grad)
    ws = np.stack([w, w[::-1]])
    want = interpreted(g, x, ws)
    for _ in range(CALLS):
        assert_identical(g(x, ws), want)


# -- item 10: a gradient does not depend on how often it was asked for -----------------------

def test_item10_first_later_and_interpreted_calls_are_bit_identical():
    x = np.random.RandomState(0).rand(5)
    f = lambda x: fnp.sum(fnp.sin(x) * fnp.cos(x) * fnp.exp(x) * 0.3)  # noqa: E731
    assert_staged_calls_identical(lambda: fad.grad(f), x)
    # an exact zero stays exact: d/dx (sin^2 + cos^2) at x, compiled and interpreted
    h = lambda x: fnp.sum(fnp.sin(x) * fnp.sin(x) + fnp.cos(x) * fnp.cos(x))  # noqa: E731
    assert_staged_calls_identical(lambda: fad.grad(h), x)


from tests.interpreters.test_linearize_rules import _programs, _run  # noqa: E402
from tests.test_grad_staged_adversarial import _CONSTANTS_ANY, _INPUTS_ARRAYS  # noqa: E402
from tests.test_grad_staged_adversarial import _programs as _value_programs  # noqa: E402
from tests.test_grad_staged_adversarial import _run as _value_run  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(_programs(), st.sampled_from([np.float64, np.float32]),
       st.sampled_from(["grad", "value_and_grad", "vmap_grad"]))
def test_item10_random_programs_are_bit_identical_on_every_call(steps, dtype, transform):
    x = np.linspace(-0.9, 0.8, 3).astype(dtype)
    y = dtype(0.35)
    f = lambda x, y: fnp.sum(_run(steps, x, y))  # noqa: E731
    if transform == "vmap_grad":
        xs = np.linspace(-0.9, 0.8, 12).astype(dtype).reshape(4, 3)
        assert_staged_calls_identical(
            lambda: fad.vmap(fad.grad(f, argnums=(0, 1)), in_axes=(0, None)), xs, y)
    else:
        assert_staged_calls_identical(lambda: getattr(fad, transform)(f, argnums=(0, 1)),
                                      x, y)


@settings(max_examples=40, deadline=None)
@given(_value_programs(_CONSTANTS_ANY),
       st.lists(st.sampled_from(_INPUTS_ARRAYS), min_size=1, max_size=2), st.booleans())
def test_item10_random_programs_reading_values_are_bit_identical(steps, inputs, with_value):
    # (the adversarial programs: branches on values, masks, sorts, mixed dtypes)
    xs = [make() for make in inputs]
    transform = fad.value_and_grad if with_value else fad.grad
    with fresh_staging_state(), np.errstate(all="ignore"):
        g = transform(lambda *xs: _value_run(steps, xs, _CONSTANTS_ANY),
                      argnums=tuple(range(len(xs))))
        try:
            want = interpreted(g, *xs)
        except Exception as e:   # noqa: BLE001 - then the staged path raises the same
            with pytest.raises(type(e)):
                g(*xs)
            return
        for _ in range(CALLS):
            assert_identical(g(*xs), want)
