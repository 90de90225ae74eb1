"""Elementwise primitives: the derivative table.

Each primitive is one ``elementwise(...)`` line (NumPy impl, dtype kinds, vectorised
batching rule) and one rule line. Binary primitives broadcast like NumPy; their operands
share one dtype (Python scalars adopt the other operand's dtype, and must convert to it
exactly: ``add(int32_array, 2.5)`` is a ``TypeError``).

Subgradients
------------
Where a function is not differentiable, fad returns the derivative that the function's
NumPy definition suggests (as autograd and PyTorch do), the same in forward and reverse
mode and under every other transformation:

=============================  ================================  ==========================
function                       at                                derivative
=============================  ================================  ==========================
``abs(x)``                     ``x == 0`` (real or complex)      ``0`` (that is, ``sign(0)``)
``sign(x)``                    everywhere                        ``0``
``floor``/``ceil``/``round``   everywhere, jumps included        ``0``
``max(x, y)``, ``min(x, y)``   ``x == y``                        ``1/2`` to each operand
``clamp(lo, x, hi)``           ``x == lo`` (or ``x == hi``)      ``1/2`` to ``x``, ``1/2`` to
                                                                 the bound: the derivative
                                                                 of ``min(max(x, lo), hi)``,
                                                                 which is what ``np.clip`` is
``pow(x, y)``                  ``x == 0``                        d/dy ``0``; d/dx
                                                                 ``y * 0 ** (y - 1)``
``pow(x, y)``, ``x ** n``      ``y == 0`` (``n == 0``)           d/dx ``0``
``mod(x, y)`` (``remainder``)  everywhere, multiples of ``y``    d/dx ``1``; d/dy
                               included                          ``-floor_divide(x, y)``
``rem(x, y)`` (``fmod``)       everywhere                        d/dx ``1``; d/dy
                                                                 ``-trunc(x / y)``
``floor_divide``, ``signbit``  everywhere                        ``0``
``hypot(x, y)``                result ``0`` or infinite          ``0`` to each operand
``sqrt(x)``                    ``x == -0.0``                     ``+inf``, as at ``+0.0``
``copysign(x, y)``             ``x == 0``                        d/dx ``0`` (``±abs(x)``)
``heaviside(x, h)``            everywhere                        d/dx ``0``; d/dh ``1``
                                                                 where ``x == 0``, else ``0``
``stop_gradient(x)``           everywhere                        ``0``
comparisons, ``is_finite``     everywhere                        none (boolean output)
bitwise ops, ``nextafter``     everywhere                        none (integer output)
                                                                 or ``0``
=============================  ================================  ==========================
"""
from __future__ import annotations

import math
import operator

import numpy as np

from fad.core import dtypes
from fad.core.abstract import ShapedArray, get_aval
from fad.core.dtypes import INEXACT_SCALAR_TYPES, PYTHON_SCALAR_TYPES
from fad.core.ad_util import Zero, add_any_p
from fad.core.trace import Tracer
from fad.interpreters.batching import batch_rules
from fad.interpreters.jvp import jvp_rules
from fad.interpreters.lowering import lowering_rules, operator_forms
from fad.interpreters.transpose import is_undefined, transpose_rules
from fad.lax import special_kernels
from fad.lax.plumbing import (_binary, _promote, _scalar_fast, _unary, convert_element_type_p,
                              mul, mul_p, neg, neg_p)
from fad.lax.rules import (ALL_KINDS, FLOAT_KINDS, IDENTITY, INT_KINDS, NEGATE, NUMBER_KINDS,
                           REAL_FLOAT_KINDS, REAL_KINDS, batch_same_shape, broadcast_shapes,
                           broadcast_to_like, defbilinear, defderiv, defjvp, defjvp_zero,
                           elementwise, elementwise_rule, unbroadcast)


def _real_kernel(name, kernel):
    """``kernel`` (a real-only NumPy kernel, which would drop an imaginary part), refusing
    complex operands eagerly as the shape rule refuses them traced."""
    def impl(x, **params):
        if np.iscomplexobj(x):
            raise TypeError(f"{name} does not accept operands of dtype {np.asarray(x).dtype}:"
                            " it is defined for real floating-point operands only")
        return kernel(x, **params)
    impl.__name__ = getattr(kernel, "__name__", name)
    return impl


def _np_rsqrt(x):
    return 1 / np.sqrt(x)


def _np_logistic(x):
    if np.iscomplexobj(x):
        return 1 / (1 + np.exp(-x))
    return _np_logistic_real(x)


def _np_logistic_real(x):
    with np.errstate(over="ignore"):  # exp(-x) = inf for x << 0 gives the right 0
        return 1 / (1 + np.exp(-x))


# -- unary ----------------------------------------------------------------------------------
# (neg, mul and convert_element_type are defined in ``plumbing``, below the rule helpers
# that use them; their rules are registered in this module.)
sin_p = elementwise("sin", np.sin, FLOAT_KINDS)
cos_p = elementwise("cos", np.cos, FLOAT_KINDS)
tan_p = elementwise("tan", np.tan, FLOAT_KINDS)
asin_p = elementwise("asin", np.arcsin, FLOAT_KINDS)
acos_p = elementwise("acos", np.arccos, FLOAT_KINDS)
atan_p = elementwise("atan", np.arctan, FLOAT_KINDS)
sinh_p = elementwise("sinh", np.sinh, FLOAT_KINDS)
cosh_p = elementwise("cosh", np.cosh, FLOAT_KINDS)
tanh_p = elementwise("tanh", np.tanh, FLOAT_KINDS)
asinh_p = elementwise("asinh", np.arcsinh, FLOAT_KINDS)
acosh_p = elementwise("acosh", np.arccosh, FLOAT_KINDS)
atanh_p = elementwise("atanh", np.arctanh, FLOAT_KINDS)
exp_p = elementwise("exp", np.exp, FLOAT_KINDS)
exp2_p = elementwise("exp2", np.exp2, FLOAT_KINDS)
log_p = elementwise("log", np.log, FLOAT_KINDS)
log1p_p = elementwise("log1p", np.log1p, FLOAT_KINDS)
expm1_p = elementwise("expm1", np.expm1, FLOAT_KINDS)
sqrt_p = elementwise("sqrt", np.sqrt, FLOAT_KINDS)
rsqrt_p = elementwise("rsqrt", _np_rsqrt, FLOAT_KINDS)
cbrt_p = elementwise("cbrt", np.cbrt, REAL_FLOAT_KINDS)
logistic_p = elementwise("logistic", _np_logistic, FLOAT_KINDS)
# (compiled programs know whether the operand is real)
lowering_rules[logistic_p] = lambda x: _np_logistic_real if x.dtype.kind == "f" else None
erf_p = elementwise("erf", _real_kernel("erf", special_kernels.erf), REAL_FLOAT_KINDS)
erfc_p = elementwise("erfc", _real_kernel("erfc", special_kernels.erfc), REAL_FLOAT_KINDS)
lgamma_p = elementwise("lgamma", _real_kernel("lgamma", special_kernels.lgamma),
                       REAL_FLOAT_KINDS)
digamma_p = elementwise("digamma", _real_kernel("digamma", special_kernels.digamma),
                        REAL_FLOAT_KINDS)
square_p = elementwise("square", np.square, NUMBER_KINDS)
sign_p = elementwise("sign", np.sign, NUMBER_KINDS)
floor_p = elementwise("floor", np.floor, REAL_FLOAT_KINDS)
ceil_p = elementwise("ceil", np.ceil, REAL_FLOAT_KINDS)
round_p = elementwise("round", np.round, REAL_FLOAT_KINDS)
is_finite_p = elementwise("is_finite", np.isfinite, FLOAT_KINDS, out_dtype=np.bool_)
not_p = elementwise("not", np.invert, INT_KINDS)
conj_p = elementwise("conj", np.conjugate, NUMBER_KINDS)

sin = _unary(sin_p)
cos = _unary(cos_p)
tan = _unary(tan_p)
asin = _unary(asin_p)
acos = _unary(acos_p)
atan = _unary(atan_p)
sinh = _unary(sinh_p)
cosh = _unary(cosh_p)
tanh = _unary(tanh_p)
asinh = _unary(asinh_p)
acosh = _unary(acosh_p)
atanh = _unary(atanh_p)
exp = _unary(exp_p)
exp2 = _unary(exp2_p)
log = _unary(log_p)
log1p = _unary(log1p_p)
expm1 = _unary(expm1_p)
sqrt = _unary(sqrt_p)
rsqrt = _unary(rsqrt_p)
cbrt = _unary(cbrt_p)
logistic = _unary(logistic_p)
erf = _unary(erf_p)
erfc = _unary(erfc_p)
lgamma = _unary(lgamma_p)
digamma = _unary(digamma_p)
square = _unary(square_p)
sign = _unary(sign_p)
floor = _unary(floor_p)
ceil = _unary(ceil_p)
round = _unary(round_p)
is_finite = _unary(is_finite_p)
bitwise_not = _unary(not_p)
conj = _unary(conj_p)


def _real_imag_rule(name):
    def rule(x):
        if x.dtype.kind != "c":
            raise TypeError(f"{name} needs a complex operand, got {x.dtype}")
        return ShapedArray(x.shape, np.empty((), x.dtype).real.dtype, x.weak_type)
    return rule


real_p = elementwise("real", np.real)
real_p.def_abstract_eval(_real_imag_rule("real"))
imag_p = elementwise("imag", np.imag)
imag_p.def_abstract_eval(_real_imag_rule("imag"))
real, imag = _unary(real_p), _unary(imag_p)


def abs(x):  # noqa: A001 - the lax name
    """Elementwise absolute value (the modulus of a complex number, as a real).

    >>> import numpy as np, fad, fad.lax as lax
    >>> lax.abs(np.array([-1.5, 2.0]))
    array([1.5, 2. ])
    >>> lax.abs(np.array([3 + 4j]))
    array([5.])
    >>> fad.grad(lax.abs)(-2.0)
    np.float64(-1.0)
    """
    return abs_p.bind(x)


abs_p = elementwise("abs", np.abs, NUMBER_KINDS)
abs_p.def_abstract_eval(lambda x: ShapedArray(
    x.shape, np.empty((), x.dtype).real.dtype if x.dtype.kind == "c" else x.dtype, x.weak_type))

# -- binary ---------------------------------------------------------------------------------
add_p = elementwise("add", _scalar_fast(np.add, operator.add), NUMBER_KINDS)
sub_p = elementwise("sub", _scalar_fast(np.subtract, operator.sub), NUMBER_KINDS)
div_p = elementwise("div", _scalar_fast(np.true_divide, operator.truediv), FLOAT_KINDS)
# (compiled programs write these as Python's operators: ``v3 = v1 * v2``)
for _prim in (add_p, sub_p, div_p, mul_p, neg_p):
    operator_forms[_prim] = _prim.name
del _prim
rem_p = elementwise("rem", np.fmod, REAL_KINDS)
pow_p = elementwise("pow", np.power, FLOAT_KINDS)
max_p = elementwise("max", np.maximum, ALL_KINDS)
min_p = elementwise("min", np.minimum, ALL_KINDS)
atan2_p = elementwise("atan2", np.arctan2, REAL_FLOAT_KINDS)
nextafter_p = elementwise("nextafter", np.nextafter, REAL_FLOAT_KINDS)
and_p = elementwise("and", np.bitwise_and, INT_KINDS)
or_p = elementwise("or", np.bitwise_or, INT_KINDS)
xor_p = elementwise("xor", np.bitwise_xor, INT_KINDS)
shift_left_p = elementwise("shift_left", np.left_shift, "iu")
shift_right_p = elementwise("shift_right", np.right_shift, "iu")
eq_p = elementwise("eq", np.equal, ALL_KINDS, out_dtype=np.bool_)
ne_p = elementwise("ne", np.not_equal, ALL_KINDS, out_dtype=np.bool_)
lt_p = elementwise("lt", np.less, "biuf", out_dtype=np.bool_)
le_p = elementwise("le", np.less_equal, "biuf", out_dtype=np.bool_)
gt_p = elementwise("gt", np.greater, "biuf", out_dtype=np.bool_)
ge_p = elementwise("ge", np.greater_equal, "biuf", out_dtype=np.bool_)
def _complex_dtype(dtype):
    return np.result_type(dtype, np.complex64)   # float32 -> complex64, float64 -> complex128


def _complex_impl(x, y):
    x, y = np.asarray(x), np.asarray(y)
    out = np.empty(np.broadcast_shapes(x.shape, y.shape), _complex_dtype(x.dtype))
    out.real, out.imag = x, y        # not x + 1j * y, which turns complex(inf, inf) to nan
    return out[()] if out.ndim == 0 else out


_complex_real_rule = elementwise_rule("complex", REAL_FLOAT_KINDS)
complex_p = elementwise("complex", _complex_impl)
complex_p.def_abstract_eval(lambda x, y: (lambda a: a.update(dtype=_complex_dtype(a.dtype)))(
    _complex_real_rule(x, y)))

add = _binary(add_p)
sub = _binary(sub_p)
div = _binary(div_p)
rem = _binary(rem_p)
pow = _binary(pow_p)
max = _binary(max_p)
min = _binary(min_p)
atan2 = _binary(atan2_p)
nextafter = _binary(nextafter_p)
bitwise_and = _binary(and_p)
bitwise_or = _binary(or_p)
bitwise_xor = _binary(xor_p)
shift_left = _binary(shift_left_p)
shift_right = _binary(shift_right_p)
eq = _binary(eq_p)
ne = _binary(ne_p)
lt = _binary(lt_p)
le = _binary(le_p)
gt = _binary(gt_p)
ge = _binary(ge_p)
complex = _binary(complex_p)


def integer_pow(x, y: int):
    """``x ** y`` for a static Python integer ``y``.

    >>> import numpy as np, fad, fad.lax as lax
    >>> lax.integer_pow(np.array([2.0, 3.0]), 3)
    array([ 8., 27.])
    >>> fad.grad(lambda x: lax.integer_pow(x, 3))(2.0)
    np.float64(12.0)
    """
    if type(y) is not int and not (isinstance(y, (int, np.integer)) and not isinstance(y, bool)):
        raise TypeError(f"integer_pow: the exponent must be a static integer, got {y!r}; "
                        "use fad.lax.pow for other exponents")
    return integer_pow_p.bind(x, y=int(y))


def _integer_pow_impl(x, *, y):
    if type(x) is not np.ndarray and type(x) not in INEXACT_SCALAR_TYPES:
        x = np.asarray(x)[()]   # Python scalars and the rest: NumPy values
    if y < 0 and x.dtype.kind in "iu":
        raise TypeError(f"integer_pow: integers cannot be raised to the negative power {y}")
    # the operator: fast for NumPy scalars; a Python int exponent keeps x's dtype (NEP 50),
    # and a negative one goes to NumPy's power too (1 / x ** -y rounds differently)
    return x ** y


integer_pow_p = elementwise("integer_pow", _integer_pow_impl, NUMBER_KINDS)
operator_forms[integer_pow_p] = "pow"   # (``v ** 3`` in compiled programs)
_integer_pow_number_rule = elementwise_rule("integer_pow", NUMBER_KINDS)


@integer_pow_p.def_abstract_eval
def _integer_pow_rule(x, *, y):
    if y < 0 and x.dtype.kind in "iu":
        raise TypeError(f"integer_pow: integers cannot be raised to the negative power {y} "
                        f"(operand dtype {x.dtype})")
    return _integer_pow_number_rule(x)


_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)   # a Python float: weak, adopts x's dtype


# sqrt is defined on [0, inf): at -0.0, which is the point 0, its derivative is the one at
# +0.0 (+inf, from the right), not 0.5 / sqrt(-0.0) = 0.5 / -0.0 = -inf, which has the wrong
# sign. One abs of the coefficient (NaN stays NaN; sqrt'' at +0.0 stays -inf). Not
# ``ans + 0.0``: the simplifier folds ``x + 0`` to ``x``, so jit would keep -inf. (log's
# 1 / x at -0.0 is left as IEEE makes it, -inf: the same abs would flip log'' there and log'
# on x < 0; see docs/derivative_conventions.rst.)
def _unsigned_sqrt_derivative(ans):
    """``0.5 / ans`` for ``ans = sqrt(x)``, ``+inf`` at ``x == -0.0`` for real ``x``."""
    coefficient = div(0.5, ans)
    return coefficient if get_aval(ans).dtype.kind == "c" else abs(coefficient)


# -- the derivative table ----------------------------------------------------------------------
# defderiv(prim, partial derivative per operand): coefficients as functions of
# (ans, *operands); IDENTITY/NEGATE for tangents that pass through (negated).
defderiv(neg_p, NEGATE)
defderiv(sin_p, lambda ans, x: cos(x))
defderiv(cos_p, lambda ans, x: neg(sin(x)))
defderiv(tan_p, lambda ans, x: add(1, square(ans)))
defderiv(asin_p, lambda ans, x: rsqrt(sub(1, square(x))))
defderiv(acos_p, lambda ans, x: neg(rsqrt(sub(1, square(x)))))
defderiv(atan_p, lambda ans, x: div(1, add(1, square(x))))
defderiv(sinh_p, lambda ans, x: cosh(x))
defderiv(cosh_p, lambda ans, x: sinh(x))
defderiv(tanh_p, lambda ans, x: sub(1, square(ans)))
defderiv(asinh_p, lambda ans, x: rsqrt(add(square(x), 1)))
defderiv(acosh_p, lambda ans, x: div(1, mul(sqrt(sub(x, 1)), sqrt(add(x, 1)))))
defderiv(atanh_p, lambda ans, x: div(1, sub(1, square(x))))
defderiv(exp_p, lambda ans, x: ans)
defderiv(exp2_p, lambda ans, x: mul(ans, np.log(2).astype(get_aval(x).dtype)))
defderiv(log_p, lambda ans, x: div(1, x))
defderiv(log1p_p, lambda ans, x: div(1, add(x, 1)))
defderiv(expm1_p, lambda ans, x: add(ans, 1))
defderiv(sqrt_p, lambda ans, x: _unsigned_sqrt_derivative(ans))
defderiv(rsqrt_p, lambda ans, x: mul(-0.5, div(ans, x)))
defderiv(cbrt_p, lambda ans, x: div(1, mul(3, square(ans))))
defderiv(logistic_p, lambda ans, x: mul(ans, sub(1, ans)))
defderiv(erf_p, lambda ans, x: mul(_TWO_OVER_SQRT_PI, exp(neg(square(x)))))
defderiv(erfc_p, lambda ans, x: mul(-_TWO_OVER_SQRT_PI, exp(neg(square(x)))))
defderiv(lgamma_p, lambda ans, x: digamma(x))
defderiv(square_p, lambda ans, x: mul(2, x))
for _p in (sign_p, floor_p, ceil_p, round_p, is_finite_p, not_p, and_p, or_p, xor_p,
           shift_left_p, shift_right_p, eq_p, ne_p, lt_p, le_p, gt_p, ge_p, nextafter_p):
    defjvp_zero(_p)


def _integer_pow_derivative(ans, x, *, y):
    if y == 0:   # x ** 0 is 1 everywhere: a zero (not x * 0, which is nan at x = inf)
        return np.zeros((), get_aval(ans).dtype)[()]
    # y * x ** (y - 1) with the operators: NumPy's scalar arithmetic on NumPy values (a
    # Python int keeps x's dtype), fad.numpy's on tracers
    return y * x if y == 2 else y * x ** (y - 1)


defderiv(integer_pow_p, _integer_pow_derivative)


def polygamma(m: int, x):
    """The ``m``-th derivative of ``digamma`` (``m`` a static non-negative int).

    >>> import numpy as np, fad, fad.lax as lax
    >>> bool(np.isclose(lax.polygamma(1, 1.0), np.pi ** 2 / 6))
    True
    """
    return polygamma_p.bind(x, m=int(m))


polygamma_p = elementwise("polygamma", _real_kernel(
    "polygamma", lambda x, *, m: special_kernels.polygamma(m, x)), REAL_FLOAT_KINDS)
defderiv(digamma_p, lambda ans, x: polygamma(1, x))
defderiv(polygamma_p, lambda ans, x, *, m: polygamma(m + 1, x))


def _abs_jvp(g, ans, x):
    if get_aval(x).dtype.kind == "c":  # d|z| = Re(conj(z) dz) / |z|, 0 at z = 0
        safe = select_n(eq(ans, 0), ans, np.ones((), get_aval(ans).dtype)[()])
        return select_n(eq(ans, 0), div(real(mul(conj(x), g)), safe), mul(real(g), 0))
    return mul(g, sign(x))                 # subgradient sign(0) = 0


defjvp(abs_p, _abs_jvp)


def _half_at_ties(pick, tie):
    """1 where ``pick``, 1/2 where ``tie``, else 0: max and min split ties equally."""
    def weight(x, y, dtype):
        one = np.ones((), dtype)[()]
        return select_n(pick(x, y), select_n(tie(x, y), 0 * one, 0.5 * one), one)
    return weight


def _lexicographic(cmp):
    """``cmp`` extended to complex numbers in the order ``np.maximum`` uses for them:
    real parts first, then imaginary parts."""
    def op(x, y):
        if get_aval(x).dtype.kind != "c":
            return cmp(x, y)
        rx, ry = real(x), real(y)
        return bitwise_or(cmp(rx, ry), bitwise_and(eq(rx, ry), cmp(imag(x), imag(y))))
    return op


_max_weight = _half_at_ties(_lexicographic(gt), eq)
_min_weight = _half_at_ties(_lexicographic(lt), eq)
defderiv(max_p, lambda ans, x, y: _max_weight(x, y, get_aval(ans).dtype),
         lambda ans, x, y: _max_weight(y, x, get_aval(ans).dtype))
defderiv(min_p, lambda ans, x, y: _min_weight(x, y, get_aval(ans).dtype),
         lambda ans, x, y: _min_weight(y, x, get_aval(ans).dtype))
defderiv(add_p, IDENTITY, IDENTITY)
defderiv(sub_p, IDENTITY, NEGATE)
defderiv(div_p, lambda ans, x, y: div(1, y), lambda ans, x, y: neg(div(ans, y)))
defderiv(rem_p, IDENTITY, lambda ans, x, y: neg(_trunc(div(sub(x, ans), y))))
defderiv(atan2_p, lambda ans, x, y: div(y, add(square(x), square(y))),
         lambda ans, x, y: div(neg(x), add(square(x), square(y))))
defjvp(complex_p, lambda g, ans, x, y: complex(g, mul(g, 0)),
       lambda g, ans, x, y: complex(mul(g, 0), g))
defjvp(real_p, lambda g, ans, x: real(g))
defjvp(imag_p, lambda g, ans, x: imag(g))
defjvp(conj_p, lambda g, ans, x: conj(g))


def _trunc(x):
    return select_n(lt(x, 0), floor(x), ceil(x))


def _pow_derivative_base(ans, x, y):
    # d/dx x**y = y x**(y-1); written with pow so that x = 0 gives 0 for y > 1, not nan;
    # 0 where y == 0 (x**0 is 1 everywhere; the formula is 0 * inf = nan at x = 0)
    dtype = get_aval(ans).dtype
    return select_n(eq(y, 0), mul(y, pow(x, sub(y, 1))), np.zeros((), dtype)[()])


def _pow_derivative_exponent(ans, x, y):
    # d/dy x**y = log(x) x**y, taken as 0 where x == 0 (the limit for y > 0).
    dtype = get_aval(ans).dtype
    zero = np.zeros((), dtype)[()]
    safe_log = log(select_n(eq(x, 0), x, np.ones((), dtype)[()]))
    return select_n(eq(x, 0), mul(safe_log, ans), zero)


defderiv(pow_p, _pow_derivative_base, _pow_derivative_exponent)

# -- transpose rules of the linear ones ---------------------------------------------------------


def _transpose_add(ct, x, y):
    return [unbroadcast(ct, x.aval) if is_undefined(x) else None,
            unbroadcast(ct, y.aval) if is_undefined(y) else None]


def _transpose_sub(ct, x, y):
    return [unbroadcast(ct, x.aval) if is_undefined(x) else None,
            unbroadcast(neg(ct), y.aval) if is_undefined(y) else None]


def _mul_transpose_lhs(ct, x, y):
    r = y if _is_unit_seed(ct, y) else mul_p.bind(ct, y)
    return r if r.shape == x.aval.shape else unbroadcast(r, x.aval)


def _mul_transpose_rhs(ct, x, y):
    r = x if _is_unit_seed(ct, x) else mul_p.bind(x, ct)
    return r if r.shape == y.aval.shape else unbroadcast(r, y.aval)


def _is_unit_seed(ct, c):
    """Whether ``ct * c`` is ``c`` unchanged and ``c`` may be returned as it is: ``ct`` a
    concrete real 1 (grad's seed) of ``c``'s dtype, and ``c`` a tracer or a NumPy
    scalar. A tracer may hold one of the caller's arrays (``vmap(grad(lambda w, x:
    w * x))`` returns the batched ``x``): the transformations copy such results at
    their boundary (``fad.core.fresh``). A NumPy array is not returned: it may be one
    the function closes over, which that boundary does not see."""
    if isinstance(ct, np.floating) and ct == 1 and isinstance(c, (Tracer, np.generic)):
        if type(c) is type(ct):   # a NumPy scalar of ct's type: the common case
            return True
        a = get_aval(c)
        return a.dtype == ct.dtype and not a.weak_type
    return False


def _transpose_div(ct, x, y):
    if is_undefined(y):
        raise TypeError("div is not linear in its divisor")
    return [unbroadcast(div(ct, y), x.aval), None]


transpose_rules[add_p] = _transpose_add
transpose_rules[sub_p] = _transpose_sub
defbilinear(mul_p, _mul_transpose_lhs, _mul_transpose_rhs, scaling=True)
transpose_rules[div_p] = _transpose_div
transpose_rules[neg_p] = lambda ct, x: [neg(ct)]
transpose_rules[conj_p] = lambda ct, x: [conj(ct)]
transpose_rules[real_p] = lambda ct, x: [complex(ct, mul(ct, 0))]
transpose_rules[imag_p] = lambda ct, x: [complex(mul(ct, 0), neg(ct))]
transpose_rules[complex_p] = lambda ct, x, y: [real(ct) if is_undefined(x) else None,
                                               neg(imag(ct)) if is_undefined(y) else None]

# add_any (the tangent accumulator, defined with the core) is linear too; declared by its
# partials, as add is, so that linearizing a linear program (``checkpoint``'s recomputed
# tangent work) sums two scalings of one tangent into one coefficient.
defderiv(add_any_p, IDENTITY, IDENTITY)
transpose_rules[add_any_p] = lambda ct, x, y: [ct if is_undefined(x) else None,
                                               ct if is_undefined(y) else None]
batch_rules[add_any_p] = batch_same_shape(add_any_p)


def add_any(x, y):
    """``x + y`` of two tangents or cotangents of one shape (what the transformations
    emit to accumulate derivatives: no broadcasting, no promotion).

    >>> import numpy as np, fad, fad.lax as lax
    >>> lax.add_any(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    array([4., 6.])
    """
    return add_any_p.bind(x, y)


# -- select_n and clamp -----------------------------------------------------------------------

def select_n(which, *cases):
    """``cases[which]`` elementwise (``which`` bool for two cases, else int), with
    NumPy broadcasting; like ``np.where(which, cases[1], cases[0])`` for two cases.

    >>> import numpy as np, fad, fad.lax as lax
    >>> lax.select_n(np.array([True, False]), np.array([1, 2]), np.array([10, 20]))
    array([10,  2])
    >>> lax.select_n(np.array([0, 2]), np.array([1, 2]), np.array([10, 20]), np.array([5, 6]))
    array([1, 6])
    """
    if not cases:
        raise TypeError("select_n needs at least one case")
    ref = next((c for c in cases if type(c) not in PYTHON_SCALAR_TYPES), None)
    if ref is not None:
        dtype = get_aval(ref).dtype
        cases = [np.asarray(c, dtype)[()] if type(c) in PYTHON_SCALAR_TYPES else c for c in cases]
    return select_n_p.bind(which, *cases)


def _select_n_impl(which, *cases):
    if len(cases) == 1:
        out = np.broadcast_to(cases[0], np.broadcast_shapes(np.shape(which),
                                                            np.shape(cases[0]))).copy()
    elif len(cases) == 2:
        out = np.where(which, cases[1], cases[0])
    else:
        out = np.choose(which, cases)
    # (0-d: a NumPy scalar, as every other primitive gives, eagerly or compiled)
    return out[()] if out.ndim == 0 else out


def _select_n_abstract_eval(which, *cases):
    if which.dtype.kind not in "biu":
        raise TypeError(f"select_n: the selector must be bool or integer, got {which.dtype}")
    if which.dtype.kind == "b" and len(cases) > 2:
        raise TypeError("select_n: a boolean selector picks between exactly two cases")
    strong = {c.dtype for c in cases if not c.weak_type}
    if len(strong) > 1:
        raise TypeError(f"select_n: cases must share one dtype, got "
                        f"{', '.join(str(c.dtype) for c in cases)}")
    shape = broadcast_shapes("select_n", which.shape, *(c.shape for c in cases))
    dtype, weak = dtypes.result_type(*cases)
    return ShapedArray(shape, dtype, weak)


select_n_p = elementwise("select_n", _select_n_impl)
select_n_p.def_abstract_eval(_select_n_abstract_eval)


def _select_n_jvp(primals, tangents):
    which, *cases = primals
    ans = select_n_p.bind(which, *cases)
    if all(type(t) is Zero for t in tangents[1:]):
        return ans, Zero.like(ans)
    # a zero case is a scalar zero: select_n broadcasts it, nothing is materialised
    t_cases = [np.zeros((), t.aval.dtype)[()] if type(t) is Zero else t for t in tangents[1:]]
    return ans, broadcast_to_like(select_n_p.bind(which, *t_cases), ans)


def _select_n_transpose(ct, which, *cases):
    if is_undefined(which):
        raise TypeError("select_n is not linear in its selector")
    zero = np.zeros((), get_aval(ct).dtype)[()]
    out = [None]
    for i, c in enumerate(cases):
        if not is_undefined(c):
            out.append(None)
            continue
        picks = [zero] * len(cases)
        picks[i] = ct
        out.append(unbroadcast(select_n_p.bind(which, *picks), c.aval))
    return out


jvp_rules[select_n_p] = _select_n_jvp
transpose_rules[select_n_p] = _select_n_transpose


def clamp(lo, x, hi):
    """``min(max(x, lo), hi)`` elementwise; ``lo`` and ``hi`` broadcast against ``x``.

    >>> import numpy as np, fad, fad.lax as lax
    >>> lax.clamp(0.0, np.array([-1.0, 0.5, 2.0]), 1.0)
    array([0. , 0.5, 1. ])
    >>> fad.grad(lambda x: lax.clamp(0.0, x, 1.0))(0.5)
    np.float64(1.0)
    """
    lo, x = _promote(lo, x, "clamp")
    hi, x = _promote(hi, x, "clamp")
    return clamp_p.bind(lo, x, hi)


# np.clip itself: with scalar bounds it keeps x = -0.0 at a bound 0.0, which
# min(max(x, lo), hi) does not
clamp_p = elementwise("clamp", lambda lo, x, hi: np.clip(x, lo, hi), "biuf")


def _clamp_weight(i):
    """Share of operand ``i`` of (lo, x, hi) in ``min(max(x, lo), hi)``, ties split equally."""
    def weight(ans, lo, x, hi):
        dtype = get_aval(ans).dtype
        m = max(x, lo)
        if i == 2:
            return _min_weight(hi, m, dtype)
        return mul(_max_weight((lo, x)[i], (x, lo)[i], dtype), _min_weight(m, hi, dtype))
    return weight


defderiv(clamp_p, _clamp_weight(0), _clamp_weight(1), _clamp_weight(2))


# -- dtype conversion -------------------------------------------------------------------------

def _convert_jvp(primals, tangents, *, new_dtype, weak_type):
    (x,), (t,) = primals, tangents
    ans = convert_element_type_p.bind(x, new_dtype=new_dtype, weak_type=weak_type)
    if type(t) is Zero or not dtypes.is_inexact(new_dtype):
        return ans, Zero.like(ans)
    return ans, convert_element_type_p.bind(t, new_dtype=new_dtype, weak_type=weak_type)


def _convert_transpose(ct, x, *, new_dtype, weak_type):
    old = x.aval.dtype
    return [convert_element_type_p.bind(ct, new_dtype=old, weak_type=x.aval.weak_type)]


jvp_rules[convert_element_type_p] = _convert_jvp
transpose_rules[convert_element_type_p] = _convert_transpose

__all__ = [n for n in dir() if not n.startswith("_") and n not in (
    "np", "dtypes", "ShapedArray", "get_aval", "Zero", "batch_rules", "jvp_rules",
    "transpose_rules", "is_undefined", "special_kernels", "annotations", "INEXACT_SCALAR_TYPES",
    "PYTHON_SCALAR_TYPES")]
