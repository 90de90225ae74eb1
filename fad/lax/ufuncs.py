"""NumPy ufuncs that cannot be composed bit for bit from other primitives, as primitives
computed by the ufunc itself: ``hypot``, ``copysign``, ``signbit``, ``mod`` (NumPy's
``remainder``), ``floor_divide``, ``float_power``, ``heaviside``, ``log2``, ``log10`` and
``reciprocal`` (NumPy's complex reciprocal is not ``1 / z``).

A composition (``hypot`` as ``sqrt(x*x + y*y)``, ``log2`` as ``log(x) / log(2)``, the
sign of a NaN read through a comparison) rounds differently from NumPy's loop or loses
the sign bit of a NaN, so traced ``fad.numpy`` would not give NumPy's bits. Each
derivative is written from the subgradient table in ``fad.lax.elementwise`` rather than
left to a composition: ``mod(x, y) = x - floor(x / y) * y`` with ``floor' = 0`` has
``d/dx = 1`` and ``d/dy = -floor(x / y)`` everywhere, multiples of ``y`` included.

>>> mod(np.float64(-1.0), np.float64(3.0))
np.float64(2.0)
"""
from __future__ import annotations

import math

import numpy as np

from fad.core.abstract import get_aval
from fad.lax.elementwise import (_binary, _pow_derivative_base, _pow_derivative_exponent,
                                 _unary, bitwise_and, div, eq, is_finite, mul, ne, neg,
                                 select_n, sign, square)
from fad.lax.rules import (FLOAT_KINDS, IDENTITY, REAL_FLOAT_KINDS, defderiv, defjvp_zero,
                           elementwise, elementwise_rule)


def _widest_only(dtype):
    """np.float_power has loops for the widest types only: lax.float_power computes in
    its operands' dtype, so it takes those alone (eagerly and traced alike)."""
    if dtype.itemsize < 8:
        raise TypeError(f"float_power computes in float64 or complex128, as np.float_power "
                        f"does, not in {dtype}; convert the operands first "
                        "(fad.numpy.float_power does)")


def _float_power_impl(x, y):
    _widest_only(np.result_type(x, y))
    return np.float_power(x, y)


hypot_p = elementwise("hypot", np.hypot, REAL_FLOAT_KINDS)
copysign_p = elementwise("copysign", np.copysign, REAL_FLOAT_KINDS)
mod_p = elementwise("mod", np.remainder, REAL_FLOAT_KINDS)
floor_divide_p = elementwise("floor_divide", np.floor_divide, REAL_FLOAT_KINDS)
float_power_p = elementwise("float_power", _float_power_impl, FLOAT_KINDS)
heaviside_p = elementwise("heaviside", np.heaviside, REAL_FLOAT_KINDS)
log2_p = elementwise("log2", np.log2, FLOAT_KINDS)
log10_p = elementwise("log10", np.log10, FLOAT_KINDS)
signbit_p = elementwise("signbit", np.signbit, REAL_FLOAT_KINDS, out_dtype=np.bool_)
reciprocal_p = elementwise("reciprocal", np.reciprocal, FLOAT_KINDS)

_float_power_rule = elementwise_rule("float_power", FLOAT_KINDS)


@float_power_p.def_abstract_eval
def _float_power_abstract_eval(x, y):
    out = _float_power_rule(x, y)
    _widest_only(out.dtype)
    return out


hypot = _binary(hypot_p)
copysign = _binary(copysign_p)
mod = _binary(mod_p)
floor_divide = _binary(floor_divide_p)
float_power = _binary(float_power_p)
heaviside = _binary(heaviside_p)
log2 = _unary(log2_p)
log10 = _unary(log10_p)
signbit = _unary(signbit_p)
reciprocal = _unary(reciprocal_p)


def _scalar(like, value):
    """``value`` as a NumPy scalar of ``like``'s dtype."""
    return np.asarray(value, get_aval(like).dtype)[()]


def _hypot_partial(ans, a):
    """``a / hypot``: 0 where the result is 0 (``hypot(x, 0) = |x|`` and ``abs'(0) = 0``)
    or infinite (an infinite operand dominates; ``a / inf`` would be nan for it)."""
    regular = bitwise_and(is_finite(ans), ne(ans, 0))
    safe = select_n(regular, _scalar(ans, 1), ans)
    return select_n(regular, _scalar(ans, 0), div(a, safe))


def _copysign_partial(ans, x, y):
    """``copysign(x, y) = ±|x|``: ``sign(x)`` times the sign taken from ``y``, so 0 at
    ``x == 0`` as for ``abs``."""
    return mul(sign(x), copysign(_scalar(x, 1), y))


def _log_base_partial(base):
    def partial(ans, x):
        return div(_scalar(x, 1), mul(x, _scalar(x, math.log(base))))
    return partial


defderiv(hypot_p, lambda ans, x, y: _hypot_partial(ans, x),
         lambda ans, x, y: _hypot_partial(ans, y))
defderiv(copysign_p, _copysign_partial, None)
defderiv(mod_p, IDENTITY, lambda ans, x, y: neg(floor_divide(x, y)))
defderiv(float_power_p, _pow_derivative_base, _pow_derivative_exponent)
# heaviside(x, h) is h where x == 0, else a constant
defderiv(heaviside_p, None, lambda ans, x, h: select_n(eq(x, 0), _scalar(ans, 0),
                                                       _scalar(ans, 1)))
defderiv(log2_p, _log_base_partial(2))
defderiv(log10_p, _log_base_partial(10))
defderiv(reciprocal_p, lambda ans, x: neg(square(ans)))
for _p in (floor_divide_p, signbit_p):
    defjvp_zero(_p)

__all__ = ["hypot", "copysign", "mod", "floor_divide", "float_power", "heaviside", "log2",
           "log10", "signbit", "reciprocal", "hypot_p", "copysign_p", "mod_p", "floor_divide_p",
           "float_power_p", "heaviside_p", "log2_p", "log10_p", "signbit_p", "reciprocal_p"]
