"""Issue 11, part 3: staging is invisible (SPEC), primitive by primitive.

For every primitive of the registry and every output of it, a small real loss built
around that output gives the same ``grad``, ``value_and_grad``, ``vmap(grad)`` and
``vmap(lambda *xs: grad(loss)(*xs))`` staged (the default at the top level) and
interpreted (``fad.disable_jit()``): the same values bit for bit (NaNs of any payload
count as equal), dtypes, result types (NumPy scalar, 0-d array or array; never a Python
float) and errors (class and message), on the staged path's first call (interpreted from
its recording), second (compiled) and third (replayed, on other values); with float64,
float32 and complex128 operands (complex ones reach the loss through ``abs`` and
``real``), interior values and edge values (zeros, negatives, ties, repeated indices).

The calls are found, not listed: each primitive is tried with the operand kinds and
parameters of ``_CANDIDATES`` (a call is one that its shape rule and its implementation
both accept), and ``test_the_walk_covers_every_primitive`` fails for a primitive without
a call unless ``_EXCLUDED`` says why none can be built. Only the public transformations
are called, so the test holds however the staged layer is organised.
"""
import warnings

import numpy as np
import pytest

import fad
import fad.numpy as fnp
from fad import lax
from fad.core.abstract import ShapedArray
from fad.tree_util import tree_leaves, tree_structure
from fad.test_util import all_primitives

# Primitives the walk cannot build a call for, each with the reason.
_EXCLUDED = {
    "transform_call": "the staged layer's own record of a transformation called inside a "
                      "recording (a jaxpr and a transformation as parameters); every "
                      "case's vmap_lambda_grad spelling makes one",
    "region_begin": "the staged layer's mark of where a transformation called inside a "
                    "recording begins (nested into a transform_call before any program is "
                    "made); every case's vmap_lambda_grad spelling makes one",
    "region_end": "the staged layer's mark of where such a region ends, with the "
                  "transformation's results (no impl: they do not follow from its "
                  "operands); every case's vmap_lambda_grad spelling makes one",
    "jit": "a call carrying a program (its parameter a closed jaxpr): "
           "tests/lax/test_jit_call.py compares staged and interpreted transformations of it",
    "cond": "branches carrying programs (closed jaxprs): tests/lax/test_cond.py compares "
            "staged and interpreted transformations of it",
    "while": "a predicate and a body carrying programs (closed jaxprs), and no reverse mode: "
             "tests/lax/test_while_loop.py::test_staged_equals_interpreted_bit_for_bit "
             "compares staged and interpreted transformations of it",
    "scan": "a loop carrying its body (a closed jaxpr): tests/lax/test_scan.py compares "
            "staged and interpreted transformations of it",
    "remat": "a call carrying a program (its parameter a closed jaxpr), made by "
             "fad.checkpoint: tests/test_checkpoint.py compares its staged and interpreted "
             "derivatives with those of the function without checkpoint",
    "custom_jvp_call": "a call carrying a program and a user's JVP rule (traced on demand): "
                       "tests/test_custom_derivatives.py::"
                       "test_staged_grad_three_times_equals_interpreted compares them",
    "custom_vjp_call": "a call carrying a program and a user's fwd/bwd rules (traced on "
                       "demand): tests/test_custom_derivatives.py::"
                       "test_staged_grad_three_times_equals_interpreted compares them",
    "debug_callback": "no results, an effect (fad.debug.print): tests/test_debug.py::"
                      "test_print_shows_the_primal_values_once_per_call checks that the "
                      "staged and compiled gradients print what the interpreted one does, "
                      "at every call",
    "custom_lin": "the linear part of a custom_vjp call, made only by differentiating one "
                  "(evaluating it is the forward-mode error): tests/test_custom_derivatives.py "
                  "covers it under grad, vjp, vmap and jit",
}

# Disagreements found and not fixed yet: (case id, transform) -> what differs. Each is an
# xfail(strict=True) case, so that its fix turns it into a failure until the entry goes.
_DISAGREEMENTS: dict = {}

# -- operands ------------------------------------------------------------------------------
# An operand kind is (shape, dtype); dtype None is the dtype under test: such operands are
# differentiated (made of float arguments of the loss), the others are constants.
_KINDS = {
    "f": ((3,), None), "s": ((), None), "u": ((2,), None), "m": ((1, 3), None),
    "i": ((3,), np.int64), "j": ((), np.int64), "k": ((2, 1), np.int64),
    "b": ((3,), np.bool_),
    "w": ((3,), np.uint32), "z": ((2,), np.uint32),   # (random bits, keys)
    "q": ((2, 2), None), "r": ((2, 1), None),          # (a square matrix, a column)
}
# The constants, for interior values, and for edge values (repeated indices, a start out
# of range, which is clamped)
_CONSTANTS = {
    "interior": {"i": np.array([2, 0, 1]), "j": np.array(1), "k": np.array([[2], [0]]),
                 "b": np.array([True, False, True]), "w": np.array([7, 1, 2], np.uint32),
                 "z": np.array([0, 42], np.uint32)},
    "edges": {"i": np.array([2, 2, 0]), "j": np.array(5), "k": np.array([[2], [2]]),
              "b": np.array([False, False, True]),
              "w": np.array([0, 4294967295, 0], np.uint32), "z": np.array([0, 0], np.uint32)},
}
_VALUES = list(_CONSTANTS)
_I64, _F32, _F64 = np.dtype(np.int64), np.dtype(np.float32), np.dtype(np.float64)
_DTYPES = [_F64, _F32, np.dtype(np.complex128)]

# The parameters primitives take, tried in this order, each with the operand patterns (a
# letter of _KINDS per operand) fewest operands first: a shape rule that does not count
# its operands meets its true arity first.
_PARAMS = [
    {}, {"y": 3}, {"m": 1}, {"axes": (0,)}, {"axis": 0, "index_dtype": _I64},
    {"axis": 0, "reverse": False}, {"axis": 0, "reverse": True}, {"axis": 0},
    {"axis": 0, "shape": (3,)}, {"k": 2},
    {"new_dtype": _F32, "weak_type": False}, {"new_dtype": _I64, "weak_type": False},
    {"new_dtype": np.dtype(np.bool_), "weak_type": False},
    {"dimension": 0, "is_stable": True, "num_keys": 1},
    {"shape": (2, 3), "broadcast_dimensions": (1,)}, {"new_sizes": (3, 1)},
    {"dimensions": (0,)}, {"permutation": (0,)},
    {"start_indices": (1,), "limit_indices": (3,), "strides": None}, {"dimension": 0},
    {"padding_config": ((1, 2, 0),)}, {"dtype": _F64, "shape": (3,), "dimension": 0},
    {"dimension_numbers": (((0,), (0,)), ((), ())), "preferred_element_type": None},
    {"slice_sizes": (2,)},
    {"fft_type": "FFT", "fft_lengths": (3,)}, {"fft_type": "IFFT", "fft_lengths": (3,)},
    {"fft_type": "RFFT", "fft_lengths": (3,)}, {"fft_type": "IRFFT", "fft_lengths": (4,)},
    {"left_side": True, "lower": True, "transpose_a": False, "conjugate_a": False,
     "unit_diagonal": False},
    {"left_side": True, "lower": True, "transpose_a": False, "conjugate_a": False},
    {"lower": True, "transpose_a": False, "conjugate_a": False},
    {"lower": True, "transpose": False}, {"lower": True, "transpose": True},
    {"full_matrices": False}, {"full_matrices": False, "compute_uv": True},
    {"lower": True}, {"compute_right_eigenvectors": True}, {"permutation_size": 3},
]
_PATTERNS = ["", "f", "m", "b", "i", "ff", "fs", "fi", "fj", "fk", "ii", "fff", "bff",
             "fku", "fuj", "wwww", "zf", "q", "qr", "qq"]
_CANDIDATES = [(pattern, params) for params in _PARAMS for pattern in _PATTERNS]


def _differentiated(kind):
    return _KINDS[kind][1] is None


def _aval(kind, dtype):
    shape, fixed = _KINDS[kind]
    return ShapedArray(shape, np.dtype(fixed or dtype))


def _sample(kind, dtype, slot, values="interior"):
    """A value of ``kind``. Interior values: in (0.2, 1), apart from each other (no ties,
    inside the domains of log, sqrt, arcsin...), a scalar as a 0-d array. Edge values:
    zeros, negatives, ties between elements and between operands, ``0 + 0j``, a scalar as
    a NumPy scalar."""
    shape, fixed = _KINDS[kind]
    if fixed is not None:
        return _CONSTANTS[values][kind]
    n = int(np.prod(shape))
    if values == "interior":
        real = np.linspace(0.2, 0.7, n) + 0.13 * slot
        imag = real[::-1] * 0.7
    else:
        real = np.array([-0.5, 0.0, 0.0, 0.25])[:n]
        imag = np.array([0.5, 0.0, 0.5, 0.0])[:n]
    x = (real + 1j * imag if dtype.kind == "c" else real).reshape(shape).astype(dtype)
    if kind == "q" and values == "interior":   # (positive definite, for cholesky)
        x = x + 2 * np.eye(2, dtype=dtype)
    return x if shape or values == "interior" else x[()]


def _output_kinds(prim, pattern, params, dtype):
    """The dtype kinds of the outputs of ``prim`` on these operands, or None if its shape
    rule or its implementation refuses them."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")   # (NumPy deprecating an arity tried here)
            out = prim.abstract_eval(*[_aval(k, dtype) for k in pattern], **params)
            prim.impl(*[_sample(k, dtype, i) for i, k in enumerate(pattern)], **params)
    except Exception:   # noqa: BLE001 - not a way to call this primitive
        return None
    return tuple(o.dtype.kind for o in (out if prim.multiple_results else [out]))


def _calls(prim):
    """(pattern, params, dtype, output kinds) of the first candidate giving each set of
    output kinds (a float result, an integer one, both...) for each dtype of _DTYPES it
    takes, and of the first without differentiated operands. Only the first parameter
    names that fit count: a rule that ignores an unknown parameter makes no other call."""
    calls, seen, names = [], set(), None
    for pattern, params in _CANDIDATES:
        if names is not None and set(params) != names:
            continue
        differentiated = any(_differentiated(k) for k in pattern)
        for dtype in (_DTYPES if differentiated else [_F64]):
            kinds = _output_kinds(prim, pattern, params, dtype)
            key = (frozenset(kinds or ()), dtype) if differentiated else "constants"
            if kinds is not None and key not in seen:
                seen.add(key)
                calls.append((pattern, params, dtype, kinds))
                names = set(params)
    return calls


def _cases():
    """(primitive, pattern, params, dtype, output index, output kind) for every output of
    every call of every primitive but the excluded ones."""
    return [(prim, pattern, params, dtype, k, kinds[k])
            for prim in sorted(all_primitives(), key=lambda p: p.name)
            if prim.name not in _EXCLUDED
            for pattern, params, dtype, kinds in _calls(prim)
            for k in range(len(kinds))]


_CASES = _cases()


def _case_id(case):
    prim, pattern, params, dtype, k, _ = case
    extra = ",".join(f"{name}={value}" for name, value in params.items()
                     if name in ("new_dtype", "reverse"))
    label = dtype.name if any(_differentiated(kind) for kind in pattern) else "constants"
    return f"{prim.name}({pattern}{';' + extra if extra else ''})-out{k}-{label}"


# -- the loss ------------------------------------------------------------------------------

def _arguments(pattern, dtype, values):
    """The differentiated arguments of the loss: the anchor ``a`` (every loss has a
    derivative), then each differentiated operand (a complex one as its real and imaginary
    parts)."""
    real = np.dtype(np.float32) if dtype == _F32 else _F64
    args = [np.array([0.3, -0.6, 0.9], real)]
    for slot, kind in enumerate(pattern):
        if _differentiated(kind):
            x = _sample(kind, dtype, slot, values)
            args += [x.real.astype(real), x.imag.astype(real)] if dtype.kind == "c" else [x]
    return args


def _operands(pattern, dtype, values, parts):
    """The operands of the primitive, the differentiated ones made of ``parts``."""
    parts, operands = list(parts), []
    for kind in pattern:
        if not _differentiated(kind):
            operands.append(_CONSTANTS[values][kind])
        elif dtype.kind == "c":
            operands.append(lax.complex(parts.pop(0), parts.pop(0)))
        else:
            operands.append(parts.pop(0))
    return operands


def _anchor(a):
    return fnp.sum(fnp.sin(a)).astype(np.float64)


def _through(o, a):
    """A real float64 loss of the output ``o`` and the anchor ``a``: floats through
    ``sin``, complex numbers through ``abs`` and ``real``, integers and booleans as floats
    (times a function of ``a``) and as indices into ``a``."""
    if o.dtype.kind == "c":
        return _anchor(a) + fnp.sum(fnp.abs(o) + fnp.real(o) * 0.5).astype(np.float64)
    if o.dtype.kind == "f":
        return _anchor(a) + fnp.sum(fnp.sin(o)).astype(np.float64)
    index = fnp.ravel(o.astype(np.int64)) % a.shape[0]
    return _anchor(a) + (fnp.sum(o.astype(np.float64)) * fnp.sum(fnp.cos(a))
                         + fnp.sum(a[index])).astype(np.float64)


def _loss(case, values, through):
    """``loss(a, *parts)``: ``through(o, a)`` of the chosen output ``o`` of the primitive
    of ``case`` applied to its operands."""
    prim, pattern, params, dtype, k, _ = case

    def loss(a, *parts):
        out = prim.bind(*_operands(pattern, dtype, values, parts), **params)
        return through(out[k] if prim.multiple_results else out, a)
    return loss


# -- the transformations -------------------------------------------------------------------

def _vmap_axes(n, values):
    """Interior values: the anchor unbatched (concrete, as under grad), the operands
    batched (abstract) along axis 0; edge values: everything batched along the last axis."""
    if values == "edges" or n == 1:
        return (0 if n == 1 else -1,) * n
    return (None, *[0] * (n - 1))


_TRANSFORMS = {
    "grad": lambda loss, n, values: fad.grad(loss, argnums=tuple(range(n))),
    "value_and_grad": lambda loss, n, values: fad.value_and_grad(loss,
                                                                 argnums=tuple(range(n))),
    "vmap_grad": lambda loss, n, values: fad.vmap(fad.grad(loss, argnums=tuple(range(n))),
                                                  in_axes=_vmap_axes(n, values)),
    # (the gradient called inside the mapped function: a transformation in a recording)
    "vmap_lambda_grad": lambda loss, n, values: fad.vmap(
        lambda *xs: fad.grad(loss, argnums=tuple(range(n)))(*xs),
        in_axes=_vmap_axes(n, values)),
    # (forward and reverse mode at the top level: jvp with unit tangents; vjp's output
    # and its vjp_fn applied to a unit cotangent, twice)
    "jvp": lambda loss, n, values: lambda *xs: fad.jvp(loss, xs, tuple(map(_ones, xs))),
    "vjp": lambda loss, n, values: lambda *xs: _vjp_twice(loss, xs),
}


def _ones(x):
    return np.ones_like(x) if type(x) is np.ndarray else type(x)(1.0)


def _vjp_twice(loss, xs):
    out, vjp_fn = fad.vjp(loss, *xs)
    return out, vjp_fn(1.0), vjp_fn(2.0)


def _inputs(transform, args, values):
    """The arguments of the transformed loss: ``args``, batched under vmap."""
    if not transform.startswith("vmap"):
        return args
    return [x if axis is None else np.stack([x, x * x.dtype.type(1.25)], axis=axis)
            for x, axis in zip(args, _vmap_axes(len(args), values))]


def _moved(args):
    """Other values of the same types: the third call runs the program on new data."""
    return [x * x.dtype.type(0.75) + x.dtype.type(0.125) for x in args]


# -- comparing -----------------------------------------------------------------------------

def _outcome(g, args):
    """(result, None) or (None, (error class, message))."""
    try:
        with np.errstate(all="ignore"):
            return g(*args), None
    except Exception as e:   # noqa: BLE001 - the error is what is compared
        return None, (type(e), str(e))


def _assert_same_leaf(got, want):
    """Same type (never a Python float), dtype, shape and bits (NaNs of any payload and
    sign are equal)."""
    assert type(got) is not float and type(want) is not float, (got, want)
    assert type(got) is type(want), (type(got), type(want))
    g, w = np.asarray(got), np.asarray(want)
    assert (g.dtype, g.shape) == (w.dtype, w.shape), (g, w)
    if g.dtype.kind in "fc":
        nan = np.isnan(g) & np.isnan(w)
        g, w = np.where(nan, 0, g), np.where(nan, 0, w)
    assert g.tobytes() == w.tobytes(), (got, want)


def _assert_same(staged, interpreted):
    """The two outcomes (results, or errors) are the same."""
    (result, error), (want, want_error) = staged, interpreted
    assert error == want_error, f"staged {error}, interpreted {want_error}"
    assert tree_structure(result) == tree_structure(want), (result, want)
    for a, b in zip(tree_leaves(result), tree_leaves(want)):
        _assert_same_leaf(a, b)


def _staged_and_interpreted(case, transform, values, through=_through):
    """Pairs (staged outcome, interpreted outcome) of ``transform`` of the loss of
    ``case``: the staged path's first call, second and third (on other values); and
    whether a staged call saw other argument types than the interpreted calls (so the
    staged path did run, and the comparison is not vacuous)."""
    seen = []
    loss = _loss(case, values, through)

    def spied(a, *parts):
        seen.append(type(a))
        return loss(a, *parts)
    args = _arguments(case[1], case[3], values)
    g = _TRANSFORMS[transform](spied, len(args), values)
    first, moved = _inputs(transform, args, values), _inputs(transform, _moved(args), values)
    staged = [_outcome(g, x) for x in (first, first, moved)]
    n = len(seen)
    with fad.disable_jit():
        want = _outcome(g, first)
        interpreted = [want, want, _outcome(g, moved)]
    return list(zip(staged, interpreted)), set(seen[:n]) != set(seen[n:])


def _params(cases, transforms):
    """pytest parameters (case, transform), the known disagreements marked."""
    return [pytest.param(case, transform, id=f"{_case_id(case)}-{transform}",
                         marks=[pytest.mark.xfail(strict=True, reason=reason)]
                         if (reason := _DISAGREEMENTS.get((_case_id(case), transform)))
                         else [])
            for case in cases for transform in transforms]


# -- the tests ------------------------------------------------------------------------------

def test_the_walk_covers_every_primitive():
    names = {p.name for p in all_primitives()}
    assert set(_EXCLUDED) <= names, f"excluded, not primitives: {set(_EXCLUDED) - names}"
    assert all(isinstance(why, str) and why for why in _EXCLUDED.values())
    missing = sorted(names - {case[0].name for case in _CASES} - set(_EXCLUDED))
    assert not missing, (f"no call built for {missing}: add the operand kinds or parameters "
                         f"they take to _KINDS, _PATTERNS or _PARAMS, or an _EXCLUDED entry "
                         f"saying why none can be built")


def test_the_walk_reaches_every_output_kind_and_dtype():
    # (not vacuous: outputs of multi-result primitives, integer and boolean outputs,
    # complex operands, primitives that take only constants)
    found = {(c[0].name, c[4]) for c in _CASES}
    assert {("sort", 0), ("sort", 1), ("top_k", 0), ("top_k", 1)} <= found
    assert {c[5] for c in _CASES} == {"f", "c", "i", "u", "b"}
    assert {c[3].name for c in _CASES} == {"float64", "float32", "complex128"}
    assert {"real", "imag", "abs", "sort"} <= {c[0].name for c in _CASES if c[3].kind == "c"}
    assert {"and", "shift_left", "iota"} <= {c[0].name for c in _CASES}


@pytest.mark.parametrize("case, transform", _params(_CASES, _TRANSFORMS))
def test_staged_equals_interpreted(case, transform):
    for values in _VALUES:
        pairs, was_staged = _staged_and_interpreted(case, transform, values)
        for call, (staged, interpreted) in enumerate(pairs, 1):
            try:
                _assert_same(staged, interpreted)
            except AssertionError as e:
                raise AssertionError(f"{values} values, call {call}: {e}") from None
        assert was_staged, f"{values} values: interpreted on every call, nothing compared"


def _as_float(o, a):
    """The anchor's term and the output as floats, alone: nothing reaches the operands."""
    return _anchor(a) + fnp.sum(o.astype(np.float64))


def _as_it_is(o, a):
    """The integer or boolean output alone, an integer loss, which ``grad`` refuses."""
    return fnp.sum(o)


@pytest.mark.parametrize("case, transform", _params(
    [c for c in _CASES if c[5] in "biu"], ["grad", "value_and_grad", "vmap_grad"]))
def test_no_derivative_through_integer_outputs_is_derived(case, transform):
    """Through an integer or boolean output the gradient is zero on both paths, and the
    output as the loss is the same error: which outputs have no derivative is found from
    the primitive's rules, the same way on both paths, not kept in a table."""
    for values in _VALUES:
        for staged, (result, error) in _staged_and_interpreted(
                case, transform, values, _as_float)[0]:
            _assert_same(staged, (result, error))
            assert error is None, error
            grads = result[1] if transform == "value_and_grad" else result
            for g in grads[1:]:   # (the operands, whose only way to the loss is the output)
                assert not np.any(np.asarray(g)), g
        for staged, interpreted in _staged_and_interpreted(
                case, transform, values, _as_it_is)[0]:
            _assert_same(staged, interpreted)
            assert interpreted[1] is not None and issubclass(interpreted[1][0], TypeError), \
                interpreted
