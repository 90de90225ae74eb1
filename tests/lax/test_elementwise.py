"""Every elementwise primitive of fad.lax under every interpreter, from one table.

Each row names a lax function, its NumPy reference, the dtypes it accepts and the domain
its sample inputs are drawn from (away from singularities and kinks). Every row is
checked eagerly against NumPy, staged (make_jaxpr + typecheck + eval_jaxpr), batched
(every operand batched or not, several in_axes/out_axes) and, when differentiable,
against finite differences to second order in both modes.
"""
from __future__ import annotations

import importlib
import itertools
import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import fad
from fad import lax
from fad.test_util import check_grads, check_jaxpr, check_vmap

import scipy.special as sps  # a test oracle only (in the test extras), not a dependency

F32, F64, C64, C128 = map(np.dtype, ("float32", "float64", "complex64", "complex128"))
I32, I64, BOOL = np.dtype("int32"), np.dtype("int64"), np.dtype("bool")
F, C, I, B = (F32, F64), (C64, C128), (I32, I64), (BOOL,)


@dataclass(frozen=True)
class Dom:
    """Where samples come from: reals in [lo, hi] (``away`` from zero magnitudes, or
    from integers and half-integers), complex = real part there + small imaginary part,
    integers in [ilo, ihi)."""
    lo: float = -2.0
    hi: float = 2.0
    away: str = ""          # "", "zero" (random sign, |x| in [lo, hi]) or "int"
    ilo: int = -5
    ihi: int = 6
    special: bool = False   # also inf and nan (is_finite)

    def sample(self, rng, shape, dtype):
        dtype = np.dtype(dtype)
        if dtype.kind == "b":
            return rng.random(shape) < 0.5
        if dtype.kind in "iu":
            return rng.integers(self.ilo, self.ihi, shape).astype(dtype)
        x = rng.uniform(self.lo, self.hi, shape)
        if self.away == "zero":
            x = x * rng.choice([-1.0, 1.0], shape)
        elif self.away == "int":
            x = np.floor(x) + rng.choice([0.2, 0.35, 0.65, 0.8], shape)
        if self.special and x.size:
            x.flat[rng.integers(0, x.size)] = rng.choice([np.inf, -np.inf, np.nan])
        if dtype.kind == "c":
            x = x + 1j * rng.uniform(-0.5, 0.5, shape)
        return np.asarray(x).astype(dtype)


@dataclass(frozen=True)
class Op:
    name: str
    fn: Callable
    ref: Callable | None
    dtypes: tuple
    doms: tuple = (Dom(),)
    diff: bool = True          # differentiable for float inputs
    holo: bool = False         # holomorphic for complex inputs
    rtol: float = 0.0          # extra tolerance against the reference
    gtol: dict = field(default_factory=dict)   # check_grads tolerances (float64)
    extra: dict = field(default_factory=dict)

    @property
    def nargs(self):
        return len(self.doms)

    def args(self, rng, shapes, dtype):
        return [d.sample(rng, s, dtype) for d, s in zip(self.doms, shapes)]

    def __repr__(self):
        return self.name


def U(name, fn, ref, dtypes, dom=Dom(), **kw):
    return Op(name, fn, ref, dtypes, (dom,), **kw)


def Bi(name, fn, ref, dtypes, doms=(Dom(), Dom()), **kw):
    return Op(name, fn, ref, dtypes, doms, **kw)


def _sp(name):
    return getattr(sps, name)


def _polygamma_ref(m):
    return lambda x: sps.polygamma(m, x).astype(x.dtype)


POS, UNIT, NZ = Dom(0.2, 3.0), Dom(-0.9, 0.9), Dom(0.3, 2.0, "zero", ilo=1, ihi=5)
ASCALE = dict(rtol=1e-13)
UNARY = [
    U("neg", lax.neg, np.negative, F + C + I, holo=True),
    U("sin", lax.sin, np.sin, F + C, holo=True),
    U("cos", lax.cos, np.cos, F + C, holo=True),
    U("tan", lax.tan, np.tan, F + C, Dom(-1.2, 1.2), holo=True),
    U("asin", lax.asin, np.arcsin, F + C, UNIT, holo=True),
    U("acos", lax.acos, np.arccos, F + C, UNIT, holo=True),
    U("atan", lax.atan, np.arctan, F + C, holo=True),
    U("sinh", lax.sinh, np.sinh, F + C, holo=True),
    U("cosh", lax.cosh, np.cosh, F + C, holo=True),
    U("tanh", lax.tanh, np.tanh, F + C, holo=True),
    U("asinh", lax.asinh, np.arcsinh, F + C, holo=True),
    U("acosh", lax.acosh, np.arccosh, F + C, Dom(1.2, 3.0), holo=True),
    U("atanh", lax.atanh, np.arctanh, F + C, UNIT, holo=True),
    U("exp", lax.exp, np.exp, F + C, holo=True),
    U("exp2", lax.exp2, np.exp2, F + C, holo=True),
    U("log", lax.log, np.log, F + C, POS, holo=True),
    U("log1p", lax.log1p, np.log1p, F + C, Dom(-0.7, 2.0), holo=True),
    U("expm1", lax.expm1, np.expm1, F + C, holo=True),
    U("sqrt", lax.sqrt, np.sqrt, F + C, POS, holo=True),
    U("rsqrt", lax.rsqrt, lambda x: 1 / np.sqrt(x), F + C, POS, holo=True),
    U("cbrt", lax.cbrt, np.cbrt, F, NZ),
    U("logistic", lax.logistic, lambda x: 1 / (1 + np.exp(-x)), F + C, holo=True, rtol=1e-14),
    U("erf", lax.erf, _sp("erf"), F, rtol=1e-14),
    U("erfc", lax.erfc, _sp("erfc"), F, rtol=1e-14),
    U("lgamma", lax.lgamma, _sp("gammaln"), F, Dom(0.2, 6.0), rtol=1e-13),
    U("digamma", lax.digamma, _sp("digamma"), F, Dom(0.2, 6.0), rtol=1e-12),
    U("polygamma1", lambda x: lax.polygamma(1, x), _polygamma_ref(1), F, Dom(0.3, 6.0),
      rtol=1e-12),
    U("polygamma2", lambda x: lax.polygamma(2, x), _polygamma_ref(2), F, Dom(0.3, 6.0),
      rtol=1e-12),
    U("abs", lax.abs, np.abs, F + C + I, NZ),
    U("sign", lax.sign, np.sign, F + C + I, NZ, diff=False),
    U("floor", lax.floor, np.floor, F, Dom(-3, 3, "int"), diff=False),
    U("ceil", lax.ceil, np.ceil, F, Dom(-3, 3, "int"), diff=False),
    U("round", lax.round, np.round, F, Dom(-3, 3, "int"), diff=False),
    U("is_finite", lax.is_finite, np.isfinite, F + C, Dom(special=True), diff=False),
    U("square", lax.square, np.square, F + C + I, holo=True),
    U("integer_pow0", lambda x: lax.integer_pow(x, 0), lambda x: x ** 0, F + C + I, holo=True),
    U("integer_pow1", lambda x: lax.integer_pow(x, 1), lambda x: x ** 1, F + C + I, holo=True),
    U("integer_pow3", lambda x: lax.integer_pow(x, 3), lambda x: x ** 3, F + C + I, holo=True),
    U("integer_pow-2", lambda x: lax.integer_pow(x, -2), lambda x: x ** -2.0, F + C, NZ,
      holo=True),
    U("real", lax.real, np.real, C),
    U("imag", lax.imag, np.imag, C),
    U("conj", lax.conj, np.conj, F + C + I),
    U("bitwise_not", lax.bitwise_not, np.invert, I + B, diff=False),
    U("stop_gradient", lax.stop_gradient, lambda x: x, F + C + I + B, diff=False),
    U("log2", lax.log2, np.log2, F + C, POS, holo=True),
    U("log10", lax.log10, np.log10, F + C, POS, holo=True),
    U("signbit", lax.signbit, np.signbit, F, NZ, diff=False),
    U("reciprocal", lax.reciprocal, np.reciprocal, F + C, NZ, holo=True),
]

SHIFT = Dom(ilo=0, ihi=16), Dom(ilo=0, ihi=4)
BINARY = [
    Bi("add", lax.add, np.add, F + C + I, holo=True),
    Bi("sub", lax.sub, np.subtract, F + C + I, holo=True),
    Bi("mul", lax.mul, np.multiply, F + C + I + B, holo=True),
    Bi("div", lax.div, np.true_divide, F + C, (Dom(), NZ), holo=True),
    # |x / y| in (2.4, 2.8): away from the jumps of fmod and of its derivative in y
    Bi("rem", lax.rem, np.fmod, F + I, (Dom(2.2, 2.3, "zero"),
                                         Dom(0.85, 0.9, "zero", ilo=1, ihi=5))),
    Bi("pow", lax.pow, np.power, F + C, (Dom(0.5, 2.0), Dom()), holo=True),
    Bi("max", lax.max, np.maximum, F + C + I + B),
    Bi("min", lax.min, np.minimum, F + C + I + B),
    Bi("atan2", lax.atan2, np.arctan2, F),
    Bi("nextafter", lax.nextafter, np.nextafter, F, diff=False),
    Bi("bitwise_and", lax.bitwise_and, np.bitwise_and, I + B, diff=False),
    Bi("bitwise_or", lax.bitwise_or, np.bitwise_or, I + B, diff=False),
    Bi("bitwise_xor", lax.bitwise_xor, np.bitwise_xor, I + B, diff=False),
    Bi("shift_left", lax.shift_left, np.left_shift, I, SHIFT, diff=False),
    Bi("shift_right", lax.shift_right, np.right_shift, I, SHIFT, diff=False),
    Bi("eq", lax.eq, np.equal, F + C + I + B, (Dom(ilo=0, ihi=2),) * 2, diff=False),
    Bi("ne", lax.ne, np.not_equal, F + C + I + B, (Dom(ilo=0, ihi=2),) * 2, diff=False),
    Bi("lt", lax.lt, np.less, F + I + B, diff=False),
    Bi("le", lax.le, np.less_equal, F + I + B, diff=False),
    Bi("gt", lax.gt, np.greater, F + I + B, diff=False),
    Bi("ge", lax.ge, np.greater_equal, F + I + B, diff=False),
    Bi("complex", lax.complex, lambda x, y: x + 1j * y, F),
    Bi("logaddexp", lax.logaddexp, np.logaddexp, F, (Dom(-4, 4), Dom(-4, 4))),
    Bi("logaddexp2", lax.logaddexp2, np.logaddexp2, F, (Dom(-4, 4), Dom(-4, 4))),
    Bi("hypot", lax.hypot, np.hypot, F, (NZ, NZ)),
    Bi("copysign", lax.copysign, np.copysign, F, (NZ, NZ)),
    # x / y in (2.4, 2.8) or (-2.8, -2.4): away from the jumps of mod and floor_divide
    Bi("mod", lax.mod, np.remainder, F, (Dom(2.2, 2.3, "zero"), Dom(0.85, 0.9, "zero"))),
    Bi("floor_divide", lax.floor_divide, np.floor_divide, F,
       (Dom(2.2, 2.3, "zero"), Dom(0.85, 0.9, "zero")), diff=False),
    Bi("float_power", lax.float_power, np.float_power, (F64, C128), (Dom(0.5, 2.0), Dom()),
       holo=True),
    Bi("heaviside", lax.heaviside, np.heaviside, F, (NZ, Dom())),
]


def _select2(which, a, b):
    return lax.select_n(which, a, b)


def _clamp(lo, x, hi):
    return lax.clamp(lo, x, hi)


# select_n: the selector has its own dtype, so these rows sample it themselves.
class _Which(Dom):
    def sample(self, rng, shape, dtype):
        return rng.random(shape) < 0.5


class _Which3(Dom):
    def sample(self, rng, shape, dtype):
        return rng.integers(0, 3, shape).astype(np.int32)


OTHER = [
    Op("select_n", _select2, lambda w, a, b: np.where(w, b, a), F + C + I + B,
       (_Which(), Dom(), Dom())),
    Op("select_n3", lambda w, a, b, c: lax.select_n(w, a, b, c),
       lambda w, a, b, c: np.choose(w, [a, b, c]), F + I, (_Which3(), Dom(), Dom(), Dom())),
    Op("clamp", _clamp, lambda lo, x, hi: np.minimum(np.maximum(x, lo), hi), F + I,
       (Dom(-2, -1, ilo=-3, ihi=-1), Dom(-3, 3), Dom(1, 2, ilo=1, ihi=3))),
]


def _convert(src, dst, dom=Dom(), diff=False, **kw):
    ref = (lambda x: np.real(x).astype(dst)) if np.dtype(src).kind == "c" else (
        lambda x: x.astype(dst))
    return U(f"convert_{np.dtype(src).name}_{np.dtype(dst).name}",
             lambda x: lax.convert_element_type(x, dst), ref, (np.dtype(src),), dom, diff=diff,
             **kw)


CONVERT = [
    _convert(F64, F32, diff=True, gtol=dict(eps=1e-2, atol=1e-3, rtol=1e-3)),
    _convert(F32, F64, diff=True),
    _convert(C128, F64, diff=True), _convert(F64, C128, diff=True),
    _convert(F64, I32, Dom(away="int")), _convert(I32, F64), _convert(BOOL, F64),
    _convert(F64, BOOL), _convert(I64, BOOL), _convert(I32, I64),
]

TABLE = UNARY + BINARY + OTHER + CONVERT
ROWS = [(op, dt) for op in TABLE for dt in op.dtypes]
ids = [f"{op.name}-{dt.name}" for op, dt in ROWS]
DIFF = [op for op in TABLE if op.diff and any(d.kind == "f" for d in op.dtypes)]
_SEEN_NAMES = {op.name for op in TABLE}


def _rng(*keys):
    """A generator seeded by ``keys`` (strings), the same in every process."""
    return np.random.default_rng(zlib.crc32("/".join(keys).encode()))


def _arg_shapes(op, shape=(2, 3)):
    return [shape] * op.nargs


def _float_dtype(op):
    return F64 if F64 in op.dtypes else op.dtypes[-1]


def _real_check_grads(op):
    """Rows whose float64 version maps reals to reals (check_grads' pairing)."""
    return not any(d.kind == "c" for d in op.dtypes if d == _float_dtype(op)) and \
        op.name not in ("complex", "convert_float64_complex128")


def test_table_covers_every_elementwise_primitive():
    # the modules themselves: ``fad.lax.elementwise`` is the registration helper
    prims = set()
    for module in ("fad.lax.elementwise", "fad.lax.logaddexp", "fad.lax.ufuncs"):
        prims |= {v.name for k, v in vars(importlib.import_module(module)).items()
                  if k.endswith("_p") and k != "add_any_p"}
    assert {"sin", "add", "select_n", "logaddexp", "hypot"} <= prims
    names = {op.name.split("-")[0] for op in TABLE}   # "integer_pow-2", "polygamma1"
    covered = names | {n.rstrip("0123456789") for n in names}
    covered |= {"and", "or", "xor", "not", "convert_element_type", "select_n"}
    assert prims - covered == set()


# -- eager against NumPy ------------------------------------------------------------------------

@pytest.mark.parametrize("op,dtype", ROWS, ids=ids)
def test_eager_matches_numpy(op, dtype):
    for shapes in (_arg_shapes(op), _arg_shapes(op, ()), [(3,)] + [(2, 1)] * (op.nargs - 1)):
        args = op.args(_rng(op.name, dtype.name), shapes, dtype)
        got = op.fn(*args)
        with np.errstate(all="ignore"):
            want = np.asarray(op.ref(*args))
        assert np.shape(got) == want.shape
        if want.dtype.kind not in "b" or op.name.startswith("convert"):
            assert np.asarray(got).dtype == want.dtype, (np.asarray(got).dtype, want.dtype)
        rtol = max(op.rtol, 2e-6 if dtype in (F32, C64) else 1e-15)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)


# -- staging --------------------------------------------------------------------------------

@pytest.mark.parametrize("op", TABLE, ids=repr)
@settings(max_examples=4, deadline=None)
@given(data=st.data())
def test_jaxpr(op, data):
    dtype = data.draw(st.sampled_from(op.dtypes))
    shapes = data.draw(mutually_broadcastable_shapes(num_shapes=op.nargs, max_dims=3,
                                                     max_side=3)).input_shapes
    args = op.args(np.random.default_rng(data.draw(st.integers(0, 2 ** 16))), shapes, dtype)
    closed = check_jaxpr(op.fn, args)
    want = np.asarray(op.fn(*args))
    (aval,) = closed.out_avals
    assert (aval.shape, aval.dtype, aval.weak_type) == (want.shape, want.dtype, False)


# -- derivatives ------------------------------------------------------------------------------

@pytest.mark.parametrize("op", [op for op in DIFF if _real_check_grads(op)], ids=repr)
def test_grads_float64(op):
    args = op.args(_rng(op.name, "grad"), _arg_shapes(op, (3,)), F64)
    if op.name.startswith("select_n"):    # differentiate the cases, not the selector
        check_grads(lambda *cs: op.fn(args[0], *cs), args[1:], order=2)
    else:
        check_grads(op.fn, args, order=2, **op.gtol)


@pytest.mark.parametrize("op", [op for op in DIFF if F32 in op.dtypes], ids=repr)
def test_grads_float32_smoke(op):
    args = op.args(_rng(op.name, "grad32"), _arg_shapes(op, (3,)), F32)
    if op.name.startswith("select_n"):
        args, f = args[1:], (lambda w: lambda *cs: op.fn(w, *cs))(args[0])
    else:
        f = op.fn
    check_grads(f, args, order=1, eps=2e-3, atol=5e-2, rtol=5e-2)
    def loss(*a):
        y = f(*a)
        return lax.reduce_sum(lax.real(y) if np.dtype(y.dtype).kind == "c" else y, (0,))
    out = fad.grad(loss)(*args)
    assert np.asarray(out).dtype == F32


def _bilinear(a, b):
    """JAX's pairing of tangents with cotangents: Re(sum(a * b)), no conjugation."""
    return sum(np.sum(np.asarray(x) * np.asarray(y)).real for x, y in zip(a, b))


def _check_complex_rev(f, args, rng):
    """VJP is the transpose of the JVP for the pairing Re(sum(ct * t))."""
    def rand(x):
        x = np.asarray(x)
        r = rng.standard_normal(x.shape)
        return (r + 1j * rng.standard_normal(x.shape)).astype(x.dtype) if x.dtype.kind == "c" \
            else r.astype(x.dtype)
    ts = tuple(rand(a) for a in args)
    out, t_out = fad.jvp(f, tuple(args), ts)
    ct = rand(out)
    cts_in = fad.vjp(f, *args)[1](ct)
    assert np.isclose(_bilinear([ct], [t_out]), _bilinear(cts_in, ts), rtol=1e-8, atol=1e-10)
    eps = 1e-6
    fd = (f(*[a + eps / 2 * t for a, t in zip(args, ts)])
          - f(*[a - eps / 2 * t for a, t in zip(args, ts)])) / eps
    np.testing.assert_allclose(t_out, fd, rtol=1e-5, atol=1e-6)


COMPLEX_DIFF = [op for op in TABLE if op.diff and (any(d.kind == "c" for d in op.dtypes)
                                                   or op.name == "complex")]


@pytest.mark.parametrize("op", COMPLEX_DIFF, ids=repr)
def test_complex_rev_is_transpose_of_fwd(op):
    dtype = C128 if C128 in op.dtypes else F64
    rng = _rng(op.name, "complex")
    args = op.args(rng, _arg_shapes(op, (3,)), dtype)
    if op.name.startswith("select_n"):
        _check_complex_rev(lambda *cs: op.fn(args[0], *cs), args[1:], rng)
    else:
        _check_complex_rev(op.fn, args, rng)


@pytest.mark.parametrize("op", COMPLEX_DIFF, ids=repr)
def test_grads_complex128_order2(op):
    dtype = C128 if C128 in op.dtypes else F64
    args = op.args(_rng(op.name, "cgrad"), _arg_shapes(op, (2,)), dtype)
    if op.name.startswith("select_n"):
        check_grads(lambda *cs: op.fn(args[0], *cs), args[1:], order=2)
    else:
        check_grads(op.fn, args, order=2)


@pytest.mark.parametrize("op", [op for op in TABLE if op.holo], ids=repr)
def test_holomorphic_derivative(op):
    """jvp, vjp and grad(holomorphic=True) all give f'(z), from complex finite differences."""
    args = op.args(_rng(op.name, "holo"), _arg_shapes(op, (3,)), C128)
    h = 1e-6
    for i in range(op.nargs):
        def f(z, i=i):
            return op.fn(*args[:i], z, *args[i + 1:])
        want = (f(args[i] + h) - f(args[i] - h)) / (2 * h)
        t = np.full(3, 0.3 - 0.7j)
        np.testing.assert_allclose(fad.jvp(f, (args[i],), (t,))[1], want * t, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(fad.vjp(f, args[i])[1](t)[0], want * t, rtol=1e-6, atol=1e-9)
        for k in range(3):
            e_k = (np.arange(3) == k).astype(C128)
            g = fad.grad(lambda s: lax.reduce_sum(lax.mul(f(lax.add(args[i], lax.mul(s, e_k))),
                                                          e_k), (0,)),
                         holomorphic=True)(np.complex128(0))
            np.testing.assert_allclose(g, want[k], rtol=1e-6, atol=1e-9)


# -- vmap ---------------------------------------------------------------------------------------

def _insert(shape, ax, size=4):
    ax = ax % (len(shape) + 1)
    return shape[:ax] + (size,) + shape[ax:]


BASE_SHAPES = {1: [((2, 3),), ((),)],
               2: [((2, 3), (2, 3)), ((3,), (2, 1)), ((), (2, 3))],
               3: [((2, 3),) * 3, ((3,), (2, 3), ())],
               4: [((2, 3),) * 4, ((), (3,), (2, 3), (2, 1))]}


def _vmap_cases(op):
    for shapes in BASE_SHAPES[op.nargs]:
        for axes in itertools.product((None, 0, 1, -1), repeat=op.nargs):
            if all(a is None for a in axes) or any(
                    a is not None and not -len(s) - 1 <= a <= len(s) for a, s in zip(axes, shapes)):
                continue
            out_rank = len(np.broadcast_shapes(*shapes)) + 1
            for out_ax in (0, -1) if out_rank > 1 else (0,):
                yield shapes, axes, out_ax
    if op.nargs > 2:    # the 4^n combos get long: sample them on one base shape only
        return


@pytest.mark.parametrize("op", TABLE, ids=repr)
def test_vmap(op):
    dtype = op.dtypes[-1]
    rng = _rng(op.name, "vmap")
    n = 0
    for shapes, axes, out_ax in _vmap_cases(op):
        if op.nargs > 2 and n > 60:
            break
        bshapes = [s if a is None else _insert(s, a) for s, a in zip(shapes, axes)]
        args = op.args(rng, bshapes, dtype)
        check_vmap(op.fn, args, in_axes=axes, out_axes=out_ax, atol=0, rtol=1e-12)
        n += 1
    args = op.args(rng, [_insert((2, 3), 1)] * op.nargs, dtype)
    check_vmap(op.fn, args, in_axes=1, out_axes=1, atol=0, rtol=1e-12)


VG = [op for op in DIFF if _real_check_grads(op) and not op.name.startswith("select_n")]


@pytest.mark.parametrize("op", VG[::3], ids=repr)
def test_vmap_of_grad_and_grad_of_vmap(op):
    """The interpreters compose: per-example gradients agree with a loop."""
    args = op.args(_rng(op.name, "vg"), _arg_shapes(op, (4,)), F64)
    argnums = tuple(range(op.nargs))
    per_example = fad.vmap(fad.grad(op.fn, argnums))(*args)
    for k in range(4):
        one = fad.grad(op.fn, argnums)(*[a[k] for a in args])
        np.testing.assert_allclose([p[k] for p in per_example], one, rtol=1e-12)
    summed = fad.grad(lambda *a: lax.reduce_sum(fad.vmap(op.fn)(*a), (0,)), argnums)(*args)
    np.testing.assert_allclose(summed, per_example, rtol=1e-12)


# -- the subgradient table (fad/lax/elementwise.py's docstring), one test per entry --------

def _both_modes(f, args):
    """Derivatives of scalar ``f`` by grad (reverse) and by one jvp per argument."""
    rev = fad.grad(f, argnums=tuple(range(len(args))))(*args)
    fwd = tuple(fad.jvp(f, tuple(args), tuple(float(i == j) for j in range(len(args))))[1]
                for i in range(len(args)))
    return rev, fwd


def test_subgradient_abs_at_zero():
    assert _both_modes(lax.abs, (0.0,)) == ((0.0,), (0.0,))
    _, t = fad.jvp(lax.abs, (np.complex128(0),), (np.complex128(1 + 1j),))
    assert t == 0 and np.isfinite(t)


def test_subgradient_sign_is_zero():
    for x in (-1.5, 0.0, 2.0):
        assert _both_modes(lax.sign, (x,)) == ((0.0,), (0.0,))


@pytest.mark.parametrize("fn", [lax.floor, lax.ceil, lax.round], ids=lambda f: f.__name__)
def test_subgradient_floor_ceil_round_are_zero(fn):
    for x in (-1.0, 0.5, 1.5, 2.3):     # jumps (integers, half-integers) and flat parts
        assert _both_modes(fn, (x,)) == ((0.0,), (0.0,))


@pytest.mark.parametrize("fn", [lax.max, lax.min], ids=lambda f: f.__name__)
def test_subgradient_max_min_split_ties(fn):
    assert _both_modes(fn, (1.5, 1.5)) == ((0.5, 0.5), (0.5, 0.5))
    g = fad.grad(lambda x: lax.reduce_sum(fn(x, np.array([0.0, 1.0, 2.0])), (0,)))(
        np.array([1.0, 1.0, 1.0]))
    want = [1.0, 0.5, 0.0] if fn is lax.max else [0.0, 0.5, 1.0]
    np.testing.assert_array_equal(g, want)


def test_complex_max_min_order_and_derivative_are_lexicographic():
    x = np.array([1 + 5j, 2 - 1j, 1 + 1j, 3 + 0j])
    y = np.array([1 + 2j, 1 + 9j, 1 + 1j, 3 + 0j])
    np.testing.assert_array_equal(lax.max(x, y), np.maximum(x, y))
    t = np.array([1.0, 2.0, 4.0, 8.0]) * (1 + 1j)
    _, tx = fad.jvp(lambda x: lax.max(x, y), (x,), (t,))
    np.testing.assert_array_equal(tx, t * [1.0, 1.0, 0.5, 0.5])
    _, tx = fad.jvp(lambda x: lax.min(x, y), (x,), (t,))
    np.testing.assert_array_equal(tx, t * [0.0, 0.0, 0.5, 0.5])


def test_subgradient_clamp_at_bounds():
    assert _both_modes(lax.clamp, (0.0, 0.0, 1.0)) == ((0.5, 0.5, 0.0), (0.5, 0.5, 0.0))
    assert _both_modes(lax.clamp, (0.0, 1.0, 1.0)) == ((0.0, 0.5, 0.5), (0.0, 0.5, 0.5))
    assert _both_modes(lax.clamp, (0.0, 0.5, 1.0)) == ((0.0, 1.0, 0.0), (0.0, 1.0, 0.0))
    # it is exactly the derivative of min(max(x, lo), hi)
    for pt in [(0.0, 0.0, 1.0), (0.0, 1.0, 1.0), (0.0, 2.0, 1.0)]:
        assert _both_modes(lax.clamp, pt) == _both_modes(
            lambda lo, x, hi: lax.min(lax.max(x, lo), hi), pt)


def test_subgradient_pow_at_zero_base():
    (dx, dy), _ = _both_modes(lax.pow, (0.0, 3.0))
    assert (dx, dy) == (0.0, 0.0)
    (dx, dy), _ = _both_modes(lax.pow, (0.0, 1.0))
    assert (dx, dy) == (1.0, 0.0)


def test_subgradient_stop_gradient_is_zero():
    assert _both_modes(lambda x: lax.mul(x, lax.stop_gradient(x)), (3.0,)) == ((3.0,), (3.0,))


def test_no_derivative_through_comparisons_and_bitwise():
    f = lambda x: lax.convert_element_type(lax.gt(x, 1.0), np.float64)  # noqa: E731
    assert _both_modes(f, (2.0,)) == ((0.0,), (0.0,))
    jaxpr = fad.make_jaxpr(fad.grad(lambda x: lax.mul(x, f(x))))(2.0)
    assert "gt" in str(jaxpr)


# -- misuse -------------------------------------------------------------------------------------

def test_python_scalars_adopt_the_operand_dtype_exactly_or_raise():
    assert lax.mul(np.float32(2), 3).dtype == F32
    assert lax.add(np.int32(1), 2.0).dtype == I32
    with pytest.raises(TypeError, match="add: the Python scalar 2.5 .* int32"):
        lax.add(np.int32(1), 2.5)
    with pytest.raises(TypeError, match="300 .* int8"):
        lax.add(np.int8(1), 300)
    with pytest.raises(TypeError, match="1j .* float32"):
        lax.mul(np.float32(1), 1j)
    with pytest.raises(TypeError, match="clamp: the Python scalar 0.5"):
        lax.clamp(0.5, np.arange(3), 2)


def test_shape_rule_errors_name_the_primitive():
    f32, f64 = np.ones(3, F32), np.ones(3)
    with pytest.raises(TypeError, match="add: operands must have one dtype.*float32, float64"):
        fad.make_jaxpr(lax.add)(f32, f64)
    with pytest.raises(ValueError, match=r"mul: operand shapes \(3,\), \(4,\) do not broadcast"):
        fad.make_jaxpr(lax.mul)(f64, np.ones(4))
    with pytest.raises(TypeError, match="sin does not accept operands of dtype int64"):
        fad.make_jaxpr(lax.sin)(np.arange(3))
    with pytest.raises(TypeError, match="lt does not accept operands of dtype complex128"):
        fad.make_jaxpr(lax.lt)(1j * f64, 1j * f64)
    with pytest.raises(TypeError, match="real needs a complex operand"):
        fad.make_jaxpr(lax.real)(f64)
    with pytest.raises(TypeError, match="integer_pow: integers cannot be raised to the negative"):
        fad.make_jaxpr(lambda x: lax.integer_pow(x, -1))(np.arange(3))
    with pytest.raises(TypeError, match="integer_pow: integers cannot be raised to the negative"):
        lax.integer_pow(np.arange(3), -1)
    with pytest.raises(TypeError, match="complex: operands must have one dtype"):
        fad.make_jaxpr(lax.complex)(f32, f64)
    with pytest.raises(TypeError, match="complex does not accept operands of dtype int64"):
        fad.make_jaxpr(lax.complex)(np.arange(3), np.arange(3))
    with pytest.raises(TypeError, match="select_n: the selector must be bool or integer"):
        fad.make_jaxpr(lax.select_n)(f64, f64, f64)
    with pytest.raises(TypeError, match="select_n: cases must share one dtype"):
        fad.make_jaxpr(lambda w, a, b: lax.select_n(w, a, b))(f64 > 0, f32, f64)


def test_complex_keeps_infinite_parts_and_dtype():
    z = lax.complex(np.array([np.inf, 1.0]), np.array([np.inf, -np.inf]))
    np.testing.assert_array_equal(z.real, [np.inf, 1.0])
    np.testing.assert_array_equal(z.imag, [np.inf, -np.inf])
    assert lax.complex(np.float32(1), 2.0).dtype == C64
    assert fad.make_jaxpr(lax.complex)(np.float32(1), 2.0).out_avals[0].dtype == C64


def test_logistic_is_stable_for_large_arguments():
    with np.errstate(over="raise", invalid="raise"):
        np.testing.assert_array_equal(lax.logistic(np.array([-1000.0, 0.0, 1000.0])),
                                      [0.0, 0.5, 1.0])
    assert fad.grad(lax.logistic)(-1000.0) == 0.0


def test_special_functions_at_known_values():
    euler = 0.5772156649015329
    np.testing.assert_allclose(lax.digamma(np.array([1.0, 2.0, 0.5])),
                               [-euler, 1 - euler, -euler - 2 * np.log(2)], rtol=1e-13)
    np.testing.assert_allclose(lax.polygamma(1, 1.0), np.pi ** 2 / 6, rtol=1e-13)
    np.testing.assert_allclose(lax.polygamma(2, 1.0), -2 * 1.2020569031595942, rtol=1e-12)
    np.testing.assert_allclose(lax.lgamma(np.array([1.0, 2.0, 0.5, 10.0])),
                               [0, 0, 0.5 * np.log(np.pi), np.log(362880.0)], atol=1e-14)
    # negative non-integers and poles
    np.testing.assert_allclose(lax.digamma(-0.5), 0.03648997397857652, rtol=1e-12)
    assert np.isnan(lax.digamma(-1.0)) and np.isinf(lax.polygamma(1, 0.0))
    np.testing.assert_allclose(fad.grad(fad.grad(lax.lgamma))(3.0), np.pi ** 2 / 6 - 1 - 0.25,
                               rtol=1e-12)


def test_special_functions_at_nan_inf_and_far_negative():
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(lax.lgamma(np.array([np.nan, np.inf, -np.inf, -2.0])),
                                      [np.nan, np.inf, np.inf, np.inf])
        np.testing.assert_array_equal(lax.digamma(np.array([np.nan, -np.inf, np.inf])),
                                      [np.nan, np.nan, np.inf])
        np.testing.assert_array_equal(lax.polygamma(1, np.array([np.nan, np.inf])), [np.nan, 0])
    # reflection, not a million recurrence steps; digamma(x) ~ log(1 - x) - pi cot(pi x)
    x = -1e6 + 0.25
    np.testing.assert_allclose(lax.digamma(x), np.log(1 - x) - 0.5 / (1 - x) - np.pi, rtol=1e-9)
    xs = np.array([-0.3, -2.5, -7.9, -15.2])
    for n in range(4):
        want = sps.digamma(xs) if n == 0 else sps.polygamma(n, xs)
        np.testing.assert_allclose(lax.polygamma(n, xs), want, rtol=1e-12)
