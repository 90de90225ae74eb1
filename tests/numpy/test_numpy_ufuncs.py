"""fad.numpy elementwise functions against NumPy: values, shapes and dtypes (NEP 50
promotion) of the staged program, derivatives against finite differences, vmap
against a Python loop, and the eager fast path."""
from __future__ import annotations

import timeit

import numpy as np
import pytest

import fad
from fad.test_util import check_matches_numpy
import fad.numpy as fnp
from fad.test_util import check_grads, check_vmap

RNG = np.random.default_rng(0)
X = RNG.uniform(-2, 2, (3, 4))
POS = RNG.uniform(0.2, 3, (3, 4))
UNIT = RNG.uniform(-0.9, 0.9, (3, 4))
BIG = RNG.uniform(1.2, 3, (3, 4))


def _rtol(dtype):
    return max(1e-12, 16 * np.finfo(dtype).eps)


check_numpy = check_matches_numpy


UNARY = [  # (name, input, differentiable)
    ("exp", X, True), ("log", POS, True), ("log1p", POS, True), ("expm1", X, True),
    ("log2", POS, True), ("log10", POS, True), ("exp2", X, True), ("sin", X, True),
    ("cos", X, True), ("tan", UNIT, True), ("arcsin", UNIT, True), ("arccos", UNIT, True),
    ("arctan", X, True), ("sinh", X, True), ("cosh", X, True), ("tanh", X, True),
    ("arcsinh", X, True), ("arccosh", BIG, True), ("arctanh", UNIT, True),
    ("sqrt", POS, True), ("cbrt", POS, True), ("square", X, True), ("abs", X, True),
    ("absolute", X, True), ("fabs", X, True), ("sign", X, False), ("reciprocal", POS, True),
    ("positive", X, True), ("negative", X, True), ("deg2rad", X, True),
    ("rad2deg", X, True), ("degrees", X, True), ("radians", X, True), ("sinc", X, True),
    ("floor", X, False), ("ceil", X, False), ("round", X, False), ("around", X, False),
    ("trunc", X, False), ("rint", X, False), ("fix", X, False), ("conj", X, True),
    ("conjugate", X, True), ("real", X, True), ("imag", X, False), ("angle", X, False),
    ("isfinite", X, False), ("isnan", X, False), ("isinf", X, False),
    ("signbit", X, False), ("logical_not", X, False),
]


@pytest.mark.parametrize("name,x,diff", UNARY, ids=[u[0] for u in UNARY])
def test_unary_matches_numpy(name, x, diff):
    fn = getattr(fnp, name)
    check_numpy(fn, x)
    check_numpy(fn, x.astype(np.float32))
    check_vmap(fn, (x,), 0)
    check_vmap(fn, (x,), 1)
    if diff:
        check_grads(fn, (x,), order=2)


@pytest.mark.parametrize("name", [u[0] for u in UNARY if u[0] not in ("sign",)])
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8])
def test_unary_integer_dtypes(name, dtype):
    fn = getattr(fnp, name)
    check_numpy(fn, np.array([[1, 2, 0 if name != "reciprocal" else 1], [3, 5, 7]], dtype))


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sin", "tanh", "abs", "square",
                                  "conj", "real", "imag", "angle", "isfinite", "isnan",
                                  "isinf", "negative", "reciprocal", "log2", "sign"])
def test_unary_complex(name):
    z = (X + 1j * POS).astype(np.complex128)
    check_numpy(getattr(fnp, name), z)
    check_numpy(getattr(fnp, name), z.astype(np.complex64))


SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.5, -2.5, 0.5])


@pytest.mark.parametrize("name", ["isfinite", "isnan", "isinf", "signbit", "sign", "abs",
                                  "round", "rint", "trunc", "floor", "ceil", "sinc"])
def test_unary_special_values(name):
    check_numpy(getattr(fnp, name), SPECIAL)


BINARY = [  # (name, x, y, differentiable)
    ("add", X, POS, True), ("subtract", X, POS, True), ("multiply", X, POS, True),
    ("divide", X, POS, True), ("true_divide", X, POS, True),
    ("floor_divide", X, POS, False), ("mod", X, POS, True), ("remainder", X, -POS, True),
    ("fmod", X, POS, True), ("power", POS, X, True), ("float_power", POS, X, True),
    ("maximum", X, UNIT, True), ("minimum", X, UNIT, True), ("fmax", X, UNIT, True),
    ("fmin", X, UNIT, True), ("arctan2", X, POS, True), ("hypot", X, UNIT, True),
    ("logaddexp", X, UNIT, True), ("logaddexp2", X, UNIT, True),
    ("copysign", X, UNIT, True), ("nextafter", X, UNIT, False),
    ("heaviside", X, UNIT, False), ("equal", X, UNIT, False),
    ("not_equal", X, UNIT, False), ("less", X, UNIT, False),
    ("less_equal", X, UNIT, False), ("greater", X, UNIT, False),
    ("greater_equal", X, UNIT, False), ("logical_and", X, UNIT, False),
    ("logical_or", X, UNIT, False), ("logical_xor", X, UNIT, False),
]


@pytest.mark.parametrize("name,x,y,diff", BINARY, ids=[b[0] for b in BINARY])
def test_binary_matches_numpy(name, x, y, diff):
    fn = getattr(fnp, name)
    check_numpy(fn, x, y)
    check_numpy(fn, x[0], y)                       # broadcasting
    check_numpy(lambda a: fn(a, y), x)            # a constant operand
    check_numpy(fn, x.astype(np.float32), y.astype(np.float32))
    check_vmap(fn, (x, y), (0, 0))
    check_vmap(fn, (x, y[:, 0]), (1, None))
    check_vmap(fn, (x[0], y), (None, 0))
    if diff:
        check_grads(fn, (x, y), order=2)


@pytest.mark.parametrize("name", ["floor_divide", "mod", "fmod", "divmod"])
def test_division_special_values(name):
    a = np.array([5.0, -5.0, 0.0, -0.0, np.inf, 3.0, -7.5, 7.5, 1.0])
    b = np.array([3.0, 3.0, 2.0, -2.0, 2.0, np.inf, -2.0, -2.0, 0.0])
    check_numpy(getattr(fnp, name), a, b)


@pytest.mark.parametrize("name", ["floor_divide", "mod", "remainder", "fmod", "divmod",
                                  "power", "maximum", "add", "multiply", "subtract",
                                  "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift",
                                  "right_shift", "equal", "less", "logical_xor"])
def test_binary_integers(name):
    a = np.array([7, -7, 0, 5, 12, -3], np.int32)
    b = np.array([2, 3, 4, -2, 5, 1], np.int32)
    if name in ("left_shift", "right_shift", "power"):
        b = np.abs(b)
    check_numpy(getattr(fnp, name), a, b)


@pytest.mark.parametrize("x,y", [
    (np.float32, 2.0), (np.float32, 2), (np.int32, 2.5), (np.int32, 7), (np.int8, np.int64),
    (np.int32, np.float32), (np.float32, np.float64), (np.uint8, np.int8), (np.bool_, 3),
    (np.bool_, np.float32), (np.float32, np.complex64), (np.int64, 1j),
    (np.float32, np.float64(2.0)), (np.uint8, 300), (np.uint16, np.int32)])
def test_promotion_follows_numpy(x, y):
    a = np.arange(1, 4).astype(x)
    if isinstance(y, type):
        b = np.arange(2, 5).astype(y)
        for name in ("add", "multiply", "divide", "maximum", "less", "power"):
            if name == "less" and np.dtype(y).kind == "c":
                continue
            check_numpy(getattr(fnp, name), a, b)
    else:
        for name in ("add", "multiply", "divide", "maximum"):
            with np.errstate(all="ignore"):
                try:
                    getattr(np, name)(a, y)
                except OverflowError:
                    with pytest.raises(OverflowError):
                        fad.make_jaxpr(lambda t: getattr(fnp, name)(t, y))(a)
                    continue
            check_numpy(lambda t: getattr(fnp, name)(t, y), a)


def test_weak_scalars_keep_array_dtype():
    closed = fad.make_jaxpr(lambda x: x * 2.0 + 1 - x / 3)(np.ones(3, np.float32))
    assert closed.out_avals[0].dtype == np.float32


@pytest.mark.parametrize("exponent", [2, 3, -1, 0, 2.0, 0.5, -2.5])
def test_power_with_static_exponents(exponent):
    check_numpy(lambda x: fnp.power(x, exponent), POS)
    check_numpy(lambda x: x ** exponent, POS.astype(np.float32))
    check_grads(lambda x: fnp.power(x, exponent), (POS,), order=2)


def test_integer_power_errors():
    with pytest.raises(ValueError, match="negative integer powers"):
        fad.make_jaxpr(lambda x: fnp.power(x, -2))(np.arange(3))


def test_where_and_clip():
    check_numpy(lambda c, x, y: fnp.where(c, x, y), X > 0, X, POS)
    check_numpy(lambda x: fnp.where(x > 0, x, 0), X.astype(np.float32))
    check_numpy(lambda x: fnp.where(x, 1.0, 2), np.array([0, 1, 2]))
    check_numpy(lambda x: fnp.clip(x, -0.5, 0.5), X)
    check_numpy(lambda x: fnp.clip(x, None, 0.5), X.astype(np.float32))
    check_numpy(lambda x, lo: fnp.clip(x, lo, 1.0), X, UNIT[0])
    check_numpy(lambda x: fnp.clip(x, 0.5, 1.5), np.arange(3, dtype=np.int32))
    check_grads(lambda x, y: fnp.where(x > 0, x * y, y ** 2), (X, POS), order=2)
    check_grads(lambda x: fnp.clip(x, -0.5, 0.5), (X,), order=1)
    check_vmap(lambda c, x: fnp.where(c, x, 0.0), (X > 0, POS), (1, 1))
    check_vmap(lambda c, x: fnp.where(c, x, 0.0), (X > 0, POS[0]), (0, None))
    with pytest.raises(ValueError, match="three arguments"):
        fad.make_jaxpr(lambda x: fnp.where(x))(X)
    np.testing.assert_array_equal(fnp.where(X > 0)[0], np.where(X > 0)[0])


def test_round_decimals_isclose_nan_to_num():
    for d in (0, 1, 2, -1):
        check_numpy(lambda x: fnp.round(x * 100, d), X)
        check_numpy(lambda x: fnp.round(x, d), np.array([151, -249, 35], np.int32))
    check_numpy(lambda x: fnp.round(x, 1), X + 1j * POS)
    check_numpy(lambda a, b: fnp.isclose(a, b), np.array([1.0, np.inf, np.nan, 2.0]),
                np.array([1.0 + 1e-9, np.inf, np.nan, 2.1]))
    check_numpy(lambda a, b: fnp.isclose(a, b, equal_nan=True),
                np.array([1.0, np.nan]), np.array([1.0, np.nan]))
    check_numpy(lambda a, b: fnp.allclose(a, b), X, X + 1e-10)
    assert fnp.allclose(X, X) is True or fnp.allclose(X, X) == np.True_
    check_numpy(fnp.nan_to_num, SPECIAL)


def test_subgradient_conventions():
    """The documented derivatives at non-differentiable points."""
    assert fad.grad(fnp.abs)(0.0) == 0.0
    assert fad.grad(lambda x: fnp.maximum(x, 1.0))(1.0) == 0.5
    assert fad.grad(lambda x: fnp.minimum(x, 1.0))(1.0) == 0.5
    np.testing.assert_allclose(fad.grad(lambda x: fnp.logaddexp(x, 2.0))(2.0), 0.5)
    assert fad.grad(lambda x: fnp.hypot(x, 0.0))(0.0) == 0.0
    assert fad.grad(lambda x: fnp.sinc(x))(0.0) == 0.0
    assert np.isfinite(fad.grad(lambda x: fnp.logaddexp(x, -np.inf))(1.0))


def test_logaddexp_infinities():
    a = np.array([np.inf, -np.inf, -np.inf, 1.0, np.nan])
    b = np.array([np.inf, -np.inf, 2.0, np.inf, 1.0])
    check_numpy(fnp.logaddexp, a, b)
    check_numpy(fnp.logaddexp2, a, b)
    check_numpy(fnp.hypot, a, b)


def test_errors_name_the_cause():
    with pytest.raises(TypeError):
        fad.make_jaxpr(fnp.sign)(np.array([True, False]))
    with pytest.raises(TypeError, match="dtype"):
        fad.make_jaxpr(lambda x: fnp.add(x, np.array(["a"])))(X)
    with pytest.raises(ValueError, match="broadcast"):
        fad.make_jaxpr(fnp.add)(np.ones(3), np.ones(4))


def test_eager_path_returns_numpy_results():
    for name in ("sin", "exp", "add", "maximum", "where", "clip", "round"):
        assert getattr(fnp, name).__doc__
    out = fnp.sin(X)
    assert type(out) is np.ndarray and np.array_equal(out, np.sin(X))
    assert type(fnp.add(1.0, 2.0)) is np.float64


def _ratio(stmt_fad, stmt_np, setup):
    best = []
    for _ in range(5):
        t1 = min(timeit.repeat(stmt_fad, setup, number=2000, repeat=5))
        t2 = min(timeit.repeat(stmt_np, setup, number=2000, repeat=5))
        best.append(t1 / t2)
    return sorted(best)[1]


def test_eager_fast_path_is_cheap():
    setup = "import numpy as np, fad.numpy as fnp; a = np.linspace(0, 1, 64)"
    assert _ratio("fnp.sin(a)", "np.sin(a)", setup) < 1.5
    assert _ratio("fnp.multiply(a, a)", "np.multiply(a, a)", setup) < 1.5


_NAN = np.nan
# pairs that exercise NumPy's complex order: real parts first, imaginary parts on a tie;
# a NaN imaginary part makes the real comparison false
_COMPLEX_LHS = np.array([1 + _NAN * 1j, 1 + 0j, _NAN + 0j, 1 + 1j, 1 + 1j, 2 + _NAN * 1j,
                         3 + 1j, 0j, -1 - 5j])
_COMPLEX_RHS = np.array([2 + 0j, 1 + _NAN * 1j, 1 + 0j, 1 + 1j, 1 + 2j, 1 + 0j, 2 + 5j,
                         -0.0 + 0j, -1 - 4j])


@pytest.mark.parametrize("name", ["less", "less_equal", "greater", "greater_equal"])
@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_complex_comparisons_order_lexicographically_under_jit(name, dtype):
    f, ref = getattr(fnp, name), getattr(np, name)
    x, y = _COMPLEX_LHS.astype(dtype), _COMPLEX_RHS.astype(dtype)
    with np.errstate(invalid="ignore"):
        for a, b in ((x, y), (y, x), (x, 1.0), (x[3], y)):
            want = ref(a, b)
            got = fad.jit(f)(a, b)
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(fad.vmap(f)(x, y), ref(x, y))
    # the operators on tracers too
    np.testing.assert_array_equal(fad.jit(lambda a, b: a < b)(x, y), x < y)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_rint_complex_rounds_both_parts_under_jit(dtype):
    z = np.array([1.4 + 2.6j, 2.5 - 0.5j, -1.5 + 3.5j, 0.5 + 1.5j], dtype)
    for got in (fnp.rint(z), fad.jit(fnp.rint)(z), fad.vmap(fnp.rint)(z)):
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, np.rint(z))
    check_grads(lambda z: fnp.rint(z) * z, (np.array([1.3 + 2.8j, -0.2 - 1.1j]),), order=1)
