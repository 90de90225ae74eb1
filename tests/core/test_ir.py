"""The IR (printer, type checker, dce), abstract values, weak types and dtype promotion."""
from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
from fad import lax
from fad.core import dtypes
from fad.core.abstract import ShapedArray, get_aval
from fad.core.ir import (ClosedJaxpr, Jaxpr, JaxprEqn, JaxprTypeError, Literal, Var, dce_jaxpr,
                         typecheck_jaxpr)

F32, F64 = np.dtype("float32"), np.dtype("float64")


# -- printer --------------------------------------------------------------------------------

def test_print_small_program_with_constvar_and_two_outputs():
    c = np.array([1.0, 2.0, 3.0])

    def f(x, y):
        d = lax.mul(x, c)
        return lax.add(lax.sin(d), y), d
    assert str(fad.make_jaxpr(f)(np.ones(3), 1.0)) == """\
{ lambda a:f64[3]; b:f64[3] c:f64[]. let
    d:f64[3] = mul b a
    e:f64[3] = sin d
    f:f64[3] = add e c
  in (f, d) }"""


def test_print_literals_of_each_kind_and_params():
    def f(x, n):
        return (lax.mul(x, np.float32(3)), lax.add(n, 3),
                lax.bitwise_and(lax.gt(x, np.float32(0)), True),
                lax.convert_element_type(lax.integer_pow(n, 2), np.float64))
    assert str(fad.make_jaxpr(f)(np.ones(2, np.float32), np.int32(1))) == """\
{ lambda ; a:f32[2] b:i32[]. let
    c:f32[2] = mul a 3.0:f32[]
    d:i32[] = add b 3:i32[]
    e:bool[2] = gt a 0.0:f32[]
    f:bool[2] = and e True:bool[]
    g:i32[] = integer_pow[y=2] b
    h:f64[] = convert_element_type[new_dtype=float64 weak_type=False] g
  in (c, d, f, h) }"""


def test_print_identity_and_literal_outputs():
    assert str(fad.make_jaxpr(lambda x: x)(np.ones((2, 3)))) == """\
{ lambda ; a:f64[2,3]. let
  in (a,) }"""
    assert str(fad.make_jaxpr(lambda x: (x, 2.0))(np.ones(3))) == """\
{ lambda ; a:f64[3]. let
  in (a, 2.0:f64[]) }"""


def test_print_is_stable_and_repr_matches():
    closed = fad.make_jaxpr(lambda x: lax.sin(lax.sin(x)))(1.0)
    assert str(closed) == str(closed) == repr(closed) == str(closed.jaxpr)
    names = [line.split(":")[0].strip() for line in str(closed).splitlines()[1:-1]]
    assert names == ["b", "c"]


def test_var_names_go_past_z():
    def f(x):
        for _ in range(30):
            x = lax.sin(x)
        return x
    text = str(fad.make_jaxpr(f)(1.0))
    assert "ab:f64[] = sin aa" in text and "in (ae,)" in text


# -- type checker ---------------------------------------------------------------------------

def _vec(dtype=F64, n=3):
    return Var(ShapedArray((n,), dtype))


def _small_jaxpr():
    a, b = _vec(), _vec()
    return Jaxpr([], [a], [b], [JaxprEqn(lax.sin_p, [a], [b], {})]), a, b


def test_typecheck_accepts_well_formed_jaxprs():
    jaxpr, _, _ = _small_jaxpr()
    typecheck_jaxpr(jaxpr)
    typecheck_jaxpr(fad.make_jaxpr(fad.grad(lambda x: lax.sin(x) * x))(1.0))


def test_typecheck_catches_wrong_outvar_aval():
    a, b = _vec(), _vec(F32)
    jaxpr = Jaxpr([], [a], [b], [JaxprEqn(lax.sin_p, [a], [b], {})])
    with pytest.raises(JaxprTypeError, match=r"equation 0 \(sin\): output .* declared f32\[3\], "
                                             r"rule gives f64\[3\]"):
        typecheck_jaxpr(jaxpr)
    c = Var(ShapedArray((4,), F64))
    with pytest.raises(JaxprTypeError, match="declared f64\\[4\\]"):
        typecheck_jaxpr(Jaxpr([], [a], [c], [JaxprEqn(lax.sin_p, [a], [c], {})]))


def test_typecheck_catches_undefined_variables():
    jaxpr, a, b = _small_jaxpr()
    stray = _vec()
    bad = Jaxpr([], [a], [b], [JaxprEqn(lax.add_p, [a, stray], [b], {})])
    with pytest.raises(JaxprTypeError, match=r"equation 0 \(add\) reads .* not defined"):
        typecheck_jaxpr(bad)
    with pytest.raises(JaxprTypeError, match="the output list reads"):
        typecheck_jaxpr(Jaxpr([], [a], [stray], jaxpr.eqns))
    # use before definition
    c = _vec()
    out_of_order = Jaxpr([], [a], [c], [JaxprEqn(lax.sin_p, [b], [c], {}),
                                        JaxprEqn(lax.sin_p, [a], [b], {})])
    with pytest.raises(JaxprTypeError, match="not defined before it"):
        typecheck_jaxpr(out_of_order)


def test_typecheck_catches_double_definition_and_bad_inputs():
    jaxpr, a, b = _small_jaxpr()
    twice = Jaxpr([], [a], [b], jaxpr.eqns * 2)
    with pytest.raises(JaxprTypeError, match="defined twice"):
        typecheck_jaxpr(twice)
    x, y, z = _vec(n=3), _vec(n=4), _vec()
    with pytest.raises(JaxprTypeError, match=r"shape rule rejects.*do not broadcast"):
        typecheck_jaxpr(Jaxpr([], [x, y], [z], [JaxprEqn(lax.add_p, [x, y], [z], {})]))
    lit = Literal(np.float32(1.0))
    with pytest.raises(JaxprTypeError, match="shape rule rejects.*one dtype"):
        typecheck_jaxpr(Jaxpr([], [x], [z], [JaxprEqn(lax.add_p, [x, lit], [z], {})]))
    assert issubclass(JaxprTypeError, TypeError)


def test_typecheck_checks_closed_constants():
    closed = fad.make_jaxpr(lambda x: lax.mul(x, np.arange(3.0)))(np.ones(3))
    typecheck_jaxpr(closed)
    bad = ClosedJaxpr(closed.jaxpr, [np.arange(4.0)])
    with pytest.raises(JaxprTypeError, match="constant .* has type f64\\[4\\]"):
        typecheck_jaxpr(bad)
    with pytest.raises(ValueError, match="1 constvars but 0 consts"):
        ClosedJaxpr(closed.jaxpr, [])


# -- dce ----------------------------------------------------------------------------------------

def test_dce_drops_dead_equations_only():
    def f(x):
        dead = lax.exp(lax.cos(x))      # noqa: F841 - on purpose
        y = lax.sin(x)
        return lax.mul(y, y)
    closed = fad.make_jaxpr(f)(np.ones(3))
    pruned = dce_jaxpr(closed.jaxpr)
    assert [e.primitive.name for e in closed.eqns] == ["cos", "exp", "sin", "mul"]
    assert [e.primitive.name for e in pruned.eqns] == ["sin", "mul"]
    typecheck_jaxpr(pruned)
    x = np.linspace(0, 1, 3)
    np.testing.assert_allclose(fad.eval_jaxpr(pruned, [], x)[0], np.sin(x) ** 2)
    assert len(dce_jaxpr(pruned).eqns) == 2


def test_dce_keeps_everything_an_output_needs():
    closed = fad.make_jaxpr(lambda x: (lax.exp(x), x, 1.0))(1.0)
    assert len(dce_jaxpr(closed.jaxpr).eqns) == 1


# -- abstract values and weak types -------------------------------------------------------------

def test_shaped_array_basics():
    a = ShapedArray((2, 3), np.float32)
    assert (a.ndim, a.size, a.str_short()) == (2, 6, "f32[2,3]")
    assert a == ShapedArray([2, 3], "float32") and hash(a) == hash(ShapedArray((2, 3), F32))
    assert a != ShapedArray((2, 3), F32, weak_type=True) != ShapedArray((3, 2), F32)
    assert a.update(dtype=F64) == ShapedArray((2, 3), F64)
    assert ShapedArray((), F64, True).strip_weak_type() == ShapedArray((), F64)
    assert "weak_type=True" in repr(ShapedArray((), F64, True))
    assert ShapedArray((0, 4), np.int8).size == 0


@pytest.mark.parametrize("value,aval", [
    (1.0, ShapedArray((), F64, True)), (1, ShapedArray((), np.int64, True)),
    (1j, ShapedArray((), np.complex128, True)), (True, ShapedArray((), np.bool_)),
    (np.float32(1), ShapedArray((), F32)), (np.int8(1), ShapedArray((), np.int8)),
    (np.zeros((2, 0), np.uint16), ShapedArray((2, 0), np.uint16)),
    (np.array(1.5), ShapedArray((), F64)),
], ids=repr)
def test_get_aval(value, aval):
    assert get_aval(value) == aval


def test_weak_types_under_tracing():
    x32 = np.ones(3, np.float32)
    out = lambda f, *a: fad.make_jaxpr(f)(*a).out_avals[0]  # noqa: E731
    assert out(lambda x: x * 2.0, x32) == ShapedArray((3,), F32)
    assert out(lambda x: 2 * x, x32) == ShapedArray((3,), F32)
    assert out(lambda x: x + 2.5, np.ones(3, np.int32)).dtype == F64    # NumPy 2 rule
    assert (x32 * 2.0).dtype == F32 and (np.ones(3, np.int32) + 2.5).dtype == F64
    assert out(lambda x: lax.mul(x, 2.0), 1.0) == ShapedArray((), F64, True)   # weak * weak
    assert out(lambda x: lax.add(x, 2.5), 1) == ShapedArray((), F64, True)
    assert out(lambda x: lax.mul(x, np.float64(2.0)), 1.0) == ShapedArray((), F64)
    # so a traced Python scalar combines with float32 arrays as the Python scalar would
    assert out(lambda s, x: lax.mul(lax.mul(s, 2.0), x), 1.0, x32).dtype == F32
    assert fad.grad(lambda x: (x * 2.0).sum())(x32).dtype == F32


def test_weak_python_scalar_arguments_adopt_array_dtypes():
    f = lambda x, s: x * s  # noqa: E731
    assert fad.make_jaxpr(f)(np.ones(2, np.float32), 3.0).out_avals[0].dtype == F32
    assert fad.vmap(f, (0, None))(np.ones(2, np.float32), 3.0).dtype == F32
    assert fad.grad(lambda s: (f(np.ones(2, np.float32), s)).sum())(3.0) == 2.0


# -- dtype promotion ----------------------------------------------------------------------------

DTYPES = [np.dtype(t) for t in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
                                 "uint32", "uint64", "float16", "float32", "float64",
                                 "complex64", "complex128")]
_WEAK_VALUE = {"b": True, "i": 1, "u": 1, "f": 1.0, "c": 1j}


def _as_numpy_values(dts, weak):
    """Strong values as NumPy arrays, weak ones as Python scalars."""
    return [_WEAK_VALUE[d.kind] if w else np.zeros(2, d) for d, w in zip(dts, weak)]


@settings(max_examples=200, deadline=None)
@given(st.tuples(st.sampled_from(DTYPES), st.booleans()),
       st.tuples(st.sampled_from(DTYPES), st.booleans()))
def test_binary_result_type_is_what_numpy_arithmetic_gives(a, b):
    """The oracle is NumPy's own ``+`` (``|`` for two bools) on arrays and Python scalars."""
    (da, wa), (db, wb) = a, b
    wa, wb = wa and da.kind != "b", wb and db.kind != "b"
    got, got_weak = dtypes.result_type(ShapedArray((), da, wa), ShapedArray((), db, wb))
    x, y = _as_numpy_values([da, db], [wa, wb])
    with np.errstate(all="ignore"):
        want = np.asarray(x | y if da.kind == db.kind == "b" else x + y).dtype
    assert (got, got_weak) == (want, wa and wb)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(DTYPES), st.booleans()), min_size=1, max_size=4))
def test_nary_result_type_is_numpy_result_type(avals):
    dts = [d for d, _ in avals]
    weak = [w and d.kind != "b" for d, w in avals]
    got, got_weak = dtypes.result_type(*[ShapedArray((), d, w) for d, w in zip(dts, weak)])
    values = _as_numpy_values(dts, weak)
    if all(weak):   # only Python scalars: NumPy's default dtype for them, and still weak
        assert got_weak and got == np.asarray(sum(values)).dtype
    else:
        assert not got_weak and got == np.result_type(*values)


@pytest.mark.parametrize("dts", [("int32", "float32"), ("uint8", "int8"), ("int64", "uint64"),
                                 ("float16", "complex64"), ("bool", "int8"),
                                 ("float32", "complex128")])
def test_result_type_strong_pairs(dts):
    avals = [ShapedArray((), d) for d in dts]
    assert dtypes.result_type(*avals) == (np.result_type(*dts), False)


def test_to_inexact_dtype_and_float0():
    assert dtypes.to_inexact_dtype(np.int32) == F64 and dtypes.to_inexact_dtype(F32) == F32
    assert dtypes.to_inexact_dtype(np.int8) == np.dtype(np.float16)   # like np.sin(int8)
    assert dtypes.tangent_dtype(np.int32) == fad.float0 and dtypes.tangent_dtype(F32) == F32
    assert dtypes.short_name(fad.float0) == "float0"


# -- unsupported values -----------------------------------------------------------------------

@pytest.mark.parametrize("value", [np.array(["a", "b"]), np.array([1, None], dtype=object),
                                   np.array([1], dtype="M8[s]")], ids=repr)
@pytest.mark.parametrize("transform", ["make_jaxpr", "grad", "vmap", "get_aval"])
def test_unsupported_dtypes_are_a_clear_type_error(value, transform):
    with pytest.raises(TypeError, match=re.escape(f"does not support the dtype {value.dtype}")):
        if transform == "get_aval":
            get_aval(value)
        else:
            getattr(fad, transform)(lambda x: x)(value)
    with pytest.raises(TypeError, match="does not understand the dtype|does not support"):
        dtypes.check_dtype("not a dtype")


@pytest.mark.parametrize("value", ["abc", {1, 2}, object(), b"bytes"], ids=repr)
@pytest.mark.parametrize("transform", ["make_jaxpr", "grad", "vmap"])
def test_non_array_arguments_are_a_type_error_naming_the_problem(value, transform):
    with pytest.raises(TypeError, match=f"{transform}: .*type {type(value).__name__}.*not an "
                                        "array"):
        getattr(fad, transform)(lambda x: x)(value)


def test_get_aval_names_the_bad_type():
    with pytest.raises(TypeError, match="expected an array or a scalar, got a value of type "
                                        "str"):
        get_aval("abc")
    with pytest.raises(TypeError, match="conversion target"):
        lax.convert_element_type(1.0, np.dtype("U3"))
