"""One semantics for Python scalars (issue 11, part 4): every ``fad.numpy`` function gives,
traced, what NumPy gives for the same inputs.

A traced Python scalar is weakly typed (it stands for the Python scalar), and a
``fad.numpy`` function counts it as that Python scalar when it resolves dtypes, but its
result is never weak: NumPy returns arrays and NumPy scalars (``np.sin(2.0)`` is a strong
``np.float64``), so ``fnp.sin(w) * float32_array`` is float64 under ``jit`` as eagerly.
Python operators on tracers keep NEP 50's weak scalars (``w * float32_array`` is float32).

The test walks the whole namespace: each public function is called through a recipe
(chosen from its signature, or from the small table below), eagerly on NumPy values and
under ``jit``, ``vmap`` and ``vjp``; the results must have NumPy's dtypes and values. A
result's *weakness* is observed by multiplying it by a float32 scalar inside the traced
function (a weak float64 gives float32, a strong one float64).
"""
from __future__ import annotations

import inspect
import itertools

import numpy as np
import pytest

import fad
import fad.numpy as fnp
from fad.tree_util import tree_leaves, tree_map

# -- inputs -------------------------------------------------------------------------------------

F32_ARRAY = np.array([0.5, 0.25, 0.75], np.float32)
F64_MATRIX = np.array([[0.5, 0.25, 0.75], [0.125, 0.375, 0.625]])
UNARY_INPUTS = {
    "py_float": 0.5, "py_int": 2, "np_float64": np.float64(0.5),
    "np_float32": np.float32(0.5), "f32_array": F32_ARRAY, "f64_matrix": F64_MATRIX,
}
BINARY_INPUTS = {
    "py_float-py_float": (0.5, 0.25), "py_float-py_int": (0.5, 2),
    "py_float-f32_array": (0.5, F32_ARRAY), "f32_array-py_float": (F32_ARRAY, 0.25),
    "np_float32-py_float": (np.float32(0.5), 0.25),
    "f32_array-f64_array": (F32_ARRAY, F64_MATRIX[0]),
}
# vmap's examples: the rows of each batch (0-d NumPy scalars, or vectors)
BATCHES = {"f32_scalars": F32_ARRAY, "f64_scalars": F64_MATRIX[0], "f64_rows": F64_MATRIX}
PROBE = np.float32(1.0)   # a strong float32: shows whether a result is weak

# -- recipes: how to call each function on one or two array arguments ---------------------------

_ARRAY_PARAMS = {"x", "a", "m", "v", "val", "z", "ary", "array", "A", "arr", "object",
                 "element", "x1"}
_TRUE = np.array(True)
UNARY_RECIPES = {   # functions whose other required arguments are not arrays
    "broadcast_to": lambda f, x: f(x, (2,) + np.shape(x)),
    "expand_dims": lambda f, x: f(x, 0),
    "moveaxis": lambda f, x: f(x, 0, -1),
    "swapaxes": lambda f, x: f(x, 0, -1),
    "reshape": lambda f, x: f(x, -1),
    "repeat": lambda f, x: f(x, 2),
    "tile": lambda f, x: f(x, 2),
    "roll": lambda f, x: f(x, 1),
    "split": lambda f, x: f(x, 1),
    "array_split": lambda f, x: f(x, 1),
    "hsplit": lambda f, x: f(x, 1),
    "vsplit": lambda f, x: f(x, 1),
    "take": lambda f, x: f(x, 0),
    "take_along_axis": lambda f, x: f(x, np.zeros((1,) * np.ndim(x), np.int64), -1),
    "full": lambda f, x: f((2,), x),
    "full_like": lambda f, x: f(x, 3.0),
    "einsum": lambda f, x: f("...->...", x),
    "at": lambda f, x: f(np.zeros(3))[0].add(x),
    "result_type": lambda f, x: np.zeros((), f(x)),
    "clip": lambda f, x: f(x, 0.0, 1.0),
    "where": lambda f, x: f(_TRUE, x, 1.0),
    "linspace": lambda f, x: f(x, 1.0, 3),
    "empty_like": lambda f, x: fnp.ravel(f(x))[:0],   # (its values are undefined)
    "insert": lambda f, x: f(x, 0, 1.5),
    "interp": lambda f, x: f(x, [0.0, 1.0], [1.0, 3.0]),
    "lexsort": lambda f, x: f([x]),
    "unique": lambda f, x: f(x, return_counts=True, size=3),
    "nonzero": lambda f, x: f(x, size=2),
    "flatnonzero": lambda f, x: f(x, size=2),
    "argwhere": lambda f, x: f(x, size=2),
    "pad": lambda f, x: f(x, 1, "reflect"),
}
BINARY_RECIPES = {
    "where": lambda f, x, y: f(_TRUE, x, y),
    "clip": lambda f, x, y: f(x, y, 1.0),
    "linspace": lambda f, x, y: f(x, y, 3),
    "einsum": lambda f, x, y: f("...,...->...", x, y),
    "tensordot": lambda f, x, y: f(x, y, 0),
    "at": lambda f, x, y: f(x)[0].add(y),
    # the second argument is a shape, count, shift or index, not an operand
    **dict.fromkeys(["full", "full_like", "broadcast_to", "repeat", "roll", "take", "tile",
                     "insert", "interp", "unique", "nonzero", "flatnonzero", "argwhere"]),
    "pad": lambda f, x, y: f(x, 1, constant_values=y),
    "lexsort": lambda f, x, y: f([x, y]),
    # (q within [0, 1]: NumPy checks its range, which a traced q cannot be checked for)
    "quantile": lambda f, x, y: f(x, y / 4), "nanquantile": lambda f, x, y: f(x, y / 4),
    "polyfit": lambda f, x, y: f(np.arange(3.0) * x, np.arange(3.0) + y, 1),
}
SEQUENCE_PARAMS = {"tup", "arrays"}   # concatenate([x, y]), stack((x, y)), ...
EXCLUDED = {
    # no array arguments: shapes, sizes and dtypes go in (creation, dtype queries)
    "arange", "empty", "eye", "identity", "ones", "tri", "zeros",
    "can_cast", "promote_types", "issubdtype",
    "diag_indices", "tril_indices", "triu_indices",
    # whether a value is a scalar depends on its Python type, which a tracer does not
    # keep (a traced NumPy scalar is a 0-d array, as under JAX)
    "isscalar",
}


def _sequence_param(fn):
    params = list(inspect.signature(fn).parameters.values())
    return params and params[0].name in SEQUENCE_PARAMS


def _required(fn):
    """The names of ``fn``'s required parameters, or ``"*"`` for ``*arrays``."""
    names = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            return "*"
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
    return names


def _unary_recipe(name, fn):
    if name in UNARY_RECIPES:
        return UNARY_RECIPES[name]
    if _sequence_param(fn):
        return lambda f, x: f([x])
    required = _required(fn)
    if required == "*" or (len(required) == 1 and required[0] in _ARRAY_PARAMS):
        return lambda f, x: f(x)
    return None


def _binary_recipe(name, fn):
    if name in BINARY_RECIPES:
        return BINARY_RECIPES[name]
    if _sequence_param(fn):
        return lambda f, x, y: f([x, y])
    required = _required(fn)
    if required == "*" or len(required) == 2:
        return lambda f, x, y: f(x, y)
    return None


def _public_functions():
    names = []
    for name in dir(fnp):
        obj = getattr(fnp, name)
        if name.startswith("_") or isinstance(obj, type) or not callable(obj):
            continue  # (classes are NumPy's dtypes and scalar types, not functions)
        names.append(name)
    return names


FUNCTIONS = [n for n in _public_functions() if n not in EXCLUDED]


def _calls(name):
    """``(label, f, args)`` for each input (pair) ``name`` is called on: ``f`` calls the
    function through its recipe and returns its results, and the results times a float32
    scalar (which shows whether they are weak)."""
    fn = getattr(fnp, name)
    calls = []
    for recipe, inputs in ((_unary_recipe(name, fn), UNARY_INPUTS),
                           (_binary_recipe(name, fn), BINARY_INPUTS)):
        if recipe is None:
            continue

        def f(*args, recipe=recipe):
            with np.errstate(all="ignore"):
                out = recipe(fn, *args)
                return out, tree_map(lambda o: o * PROBE, out)
        for key, args in inputs.items():
            calls.append((key, f, args if isinstance(args, tuple) else (args,)))
    return calls


def test_every_function_has_a_recipe():
    missing = [n for n in FUNCTIONS if not _calls(n)]
    assert not missing, f"no recipe for {missing}: add one to UNARY_RECIPES/BINARY_RECIPES"


# -- the checks (one test per function and transformation, looping over the inputs) ----------

def _eager(f, args):
    """NumPy's answer, or ``None`` where NumPy raises (fad must raise then too)."""
    try:
        return f(*args)
    except Exception:   # noqa: BLE001 - any of NumPy's errors: the case is not defined
        return None


def _dtype(v):
    return np.asarray(v).dtype


def _assert_same(got, want, what):
    got_leaves, want_leaves = tree_leaves(got), tree_leaves(want)
    assert len(got_leaves) == len(want_leaves), f"{what}: {got} != {want}"
    for g, w in zip(got_leaves, want_leaves):
        assert _dtype(g) == _dtype(w), f"{what}: dtype {_dtype(g)} != NumPy's {_dtype(w)}"
        np.testing.assert_allclose(np.asarray(g, np.complex128), np.asarray(w, np.complex128),
                                   rtol=1e-6, equal_nan=True, err_msg=what)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_traced_matches_numpy(name):
    """One test per function (pytest's cost per test is more than the checks'): jit,
    grad's JVP tracers and vmap each give NumPy's dtypes and values."""
    with np.errstate(all="ignore"):   # (arcsin(2) & co.: NaNs, as NumPy gives them)
        check_jit_matches_eager(name)
        check_vjp_primal_matches_eager(name)
        check_vmap_matches_eager_per_example(name)


def check_jit_matches_eager(name):
    for key, f, args in _calls(name):
        want = _eager(f, args)
        if want is None:
            with pytest.raises(Exception):   # noqa: B017 - NumPy raises too
                fad.jit(f)(*args)
            continue
        _assert_same(fad.jit(f)(*args), want, f"jit({name})({key})")


def _is_float(v):
    return isinstance(v, float) or np.asarray(v).dtype.kind == "f"


def check_vjp_primal_matches_eager(name):
    """grad's primal values: the differentiated (float) arguments are JVP tracers."""
    for key, f, args in _calls(name):
        want = _eager(f, args)
        if want is None or not all(_is_float(a) for a in args):
            continue    # (errors are jit's test; vjp may raise them at another point)
        _assert_same(fad.vjp(f, *args)[0], want, f"vjp({name})({key})")


def check_vmap_matches_eager_per_example(name):
    """``vmap(f)(xs)[i]`` is ``f(xs[i])``, dtype and value, for batches of NumPy scalars
    and of vectors; a binary function's second operand is a Python float (unbatched)."""
    for (key, f, args), (batch_key, xs) in itertools.product(_calls(name), BATCHES.items()):
        if key not in ("py_float", "f32_array-py_float"):
            continue    # (one call per arity: the batches give the inputs)
        extra = args[1:]
        wants = [_eager(f, (x, *extra)) for x in xs]
        if any(w is None for w in wants):
            continue
        got = fad.vmap(f, in_axes=(0,) + (None,) * len(extra))(xs, *extra)
        for i, want in enumerate(wants):
            _assert_same(tree_map(lambda g: np.asarray(g)[i], got), want,
                         f"vmap({name})({batch_key})[{i}]")


# -- operators keep NEP 50's weak Python scalars ------------------------------------------------

OPERATORS = {
    "w * x32": lambda w, x: w * x, "x32 * w": lambda w, x: x * w,
    "w + 1 then * x32": lambda w, x: (w + 1) * x, "-w * x32": lambda w, x: -w * x,
    "w ** 2 * x32": lambda w, x: w ** 2 * x, "w / 3 * x32": lambda w, x: w / 3 * x,
    "w - w * x32": lambda w, x: (w - w) * x, "abs(w) * x32": lambda w, x: abs(w) * x,
    "w // 1 * x32": lambda w, x: w // 1 * x, "w % 1 * x32": lambda w, x: w % 1 * x,
    "w.real * x32": lambda w, x: w.real * x,
    "np.add(w, x32)": lambda w, x: fnp.add(w, x),
    "sin(w) * x32": lambda w, x: fnp.sin(w) * x,
}


@pytest.mark.parametrize("case", sorted(OPERATORS))
@pytest.mark.parametrize("w", [0.5, 3], ids=["py_float", "py_int"])
def test_operators_keep_python_scalars_weak(case, w):
    f = OPERATORS[case]
    want = f(w, F32_ARRAY)
    got = fad.jit(f)(w, F32_ARRAY)
    assert got.dtype == want.dtype, (case, got.dtype, want.dtype)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_operators_on_weak_tracers_record_no_conversion():
    """The weak path binds the operators' primitives on the weak operands: nothing is
    converted to a strong type and back."""
    jaxpr = fad.make_jaxpr(lambda w: -(w * 2.0 + 1) ** 2 / w - abs(w) % 1.5 + w // 2)(0.5)
    assert "convert_element_type" not in str(jaxpr)
    assert fad.jit(lambda w: w * 2.0 * F32_ARRAY)(0.5).dtype == np.float32


# -- the examples of the issue ----------------------------------------------------------------

X32 = np.float32(1.0)


def test_item4_sin_of_traced_python_float_is_a_strong_float64():
    f = lambda w: fnp.sin(w) * F32_ARRAY
    assert f(2.0).dtype == np.float64                      # np.sin(2.0) is a NumPy float64
    assert fad.jit(f)(2.0).dtype == np.float64
    assert fad.vjp(f, 2.0)[0].dtype == np.float64
    assert fad.grad(lambda w: fnp.sum(f(w)))(2.0) == pytest.approx(1.5 * np.cos(2.0))


@pytest.mark.parametrize("fn", [
    lambda w: fnp.asarray(w), lambda w: fnp.broadcast_to(w, (2,)), lambda w: fnp.sum(w),
    lambda w: fnp.max(w), lambda w: fnp.where(True, w, w), lambda w: fnp.reshape(w, (1,)),
    lambda w: fnp.stack([w, w]), lambda w: fnp.clip(w, 0.0, 1.0), lambda w: fnp.round(w),
    lambda w: fnp.dot(w, F32_ARRAY), lambda w: fnp.full((2,), w)],
    ids=["asarray", "broadcast_to", "sum", "max", "where", "reshape", "stack", "clip",
         "round", "dot", "full"])
def test_item4_array_functions_of_traced_python_floats_are_strong(fn):
    f = lambda w: fn(w) * X32
    assert fad.jit(f)(2.0).dtype == f(2.0).dtype == np.float64


def test_item4_ufunc_of_weak_and_strong_operands_resolves_as_numpy():
    """``np.add(2.0, float32)`` is a (strong) float32: it stays float32 with a float32,
    and becomes float64 with a float64, as NumPy's result does."""
    f = lambda w: (fnp.add(w, X32), fnp.add(w, X32) * np.float64(1.0))
    for got, want in zip(fad.jit(f)(2.0), f(2.0)):
        assert got.dtype == want.dtype
    assert [o.dtype for o in f(2.0)] == [np.float32, np.float64]
