"""Special functions NumPy lacks, as primitives: ``erf_inv``, ``ndtri`` (the inverse of
the standard normal CDF), ``bessel_i0e`` and ``bessel_i1e`` (exponentially scaled
modified Bessel functions), ``xlogy`` and ``xlog1py`` (these two real or complex).

Their NumPy kernels are here too (NumPy is fad's only dependency), computing in float64:

- the inverse error functions refine a rational first guess (Abramowitz & Stegun 26.2.23,
  error < 4.5e-4) by Newton steps on ``erf`` near 0 and on ``log erfc`` in the tails, so
  they keep full relative precision for tiny arguments and down to the smallest
  probabilities (``ndtri(1e-300)``);
- the Bessel functions sum their power series up to ``|x| = 30`` and use the asymptotic
  expansion beyond, where it is accurate to double precision.

Derivatives: ``erf_inv' = sqrt(pi)/2 exp(erf_inv^2)``, ``ndtri' = sqrt(2 pi)
exp(ndtri^2/2)``, ``i0e' = i1e - sign(x) i0e``, ``i1e' = i0e - i1e (sign(x) + 1/x)`` (1/2 at
0). ``xlogy(x, y) = x log(y)`` is 0 where ``x == 0`` (unless ``y`` is NaN, as in SciPy);
its partial derivatives are ``log(y)`` and ``x / y``, the latter 0 where ``x == 0`` (also
at ``y == 0``), and ``xlog1py`` likewise with ``log1p``.
"""
from __future__ import annotations

import math

import numpy as np

from fad.core.abstract import get_aval
from fad.lax import special_kernels
from fad.lax.elementwise import (add, bitwise_and, div, eq, exp, log, log1p, mul, select_n,
                                 sign, square, sub)
from fad.lax.plumbing import FLOAT_KINDS, REAL_FLOAT_KINDS, _binary, _unary, elementwise
from fad.lax.rules import defderiv

# -- kernels -------------------------------------------------------------------------------------

_SQRT2 = math.sqrt(2.0)
_SQRT_PI = math.sqrt(math.pi)


def _as_float64(fn):
    """A kernel computing in float64 on arrays, returning its operand's dtype (0-d arrays
    as NumPy scalars)."""
    def kernel(x):
        x = np.asarray(x)
        if x.dtype.kind == "c":   # (astype would drop the imaginary part)
            raise TypeError(f"{fn.__name__.lstrip('_')} does not accept operands of dtype "
                            f"{x.dtype}: it is defined for real floating-point operands only")
        with np.errstate(all="ignore"):
            out = np.asarray(fn(x.astype(np.float64)), np.float64).astype(x.dtype)
        return out[()] if out.ndim == 0 else out
    kernel.__name__ = fn.__name__
    return kernel


def _log_erfc(z):
    """``log(erfc(z))`` for ``z >= 0``, by the asymptotic series where erfc underflows."""
    big = z >= 26.0
    out = np.log(special_kernels.erfc(np.where(big, 0.0, z)))
    if big.any():
        zb = z[big]
        w = 1.0 / (2.0 * zb * zb)
        term, series = np.ones_like(zb), np.ones_like(zb)
        for n in range(1, 12):   # (2n-1)!! (-w)^n: below 1e-19 at z = 26 by n = 11
            term = -term * (2 * n - 1) * w
            series = series + term
        out[big] = -zb * zb - np.log(zb * _SQRT_PI) + np.log(series)
    return out


def _erfc_inv_tail(c):
    """``z > 0`` with ``erfc(z) = c``, for ``0 < c <= 0.5``."""
    t = np.sqrt(-2.0 * np.log(c / 2.0))
    z = (t - (2.515517 + t * (0.802853 + t * 0.010328))
         / (1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308)))) / _SQRT2
    log_c = np.log(c)
    for _ in range(5):   # Newton on log erfc(z) = log c (quadratic from 4.5e-4)
        log_erfc = _log_erfc(z)
        slope = -2.0 / _SQRT_PI * np.exp(-z * z - log_erfc)
        z = z - (log_erfc - log_c) / slope
    return z


def _erf_inv_centre(y):
    """``x`` with ``erf(x) = y``, for ``|y| <= 0.5``."""
    y2 = y * y
    x = _SQRT_PI / 2 * y * (1 + y2 * (math.pi / 12 + y2 * (7 * math.pi ** 2 / 480
                                                          + y2 * 127 * math.pi ** 3 / 40320)))
    for _ in range(4):   # Newton on erf(x) = y
        x = x - (special_kernels.erf(x) - y) / (2.0 / _SQRT_PI * np.exp(-x * x))
    return x


def _erf_inv(y):
    a = np.abs(y)
    centre, tail = a <= 0.5, (a > 0.5) & (a < 1)
    out = np.where(a == 1, np.copysign(np.inf, y), np.nan)
    out[centre] = _erf_inv_centre(y[centre])
    out[tail] = np.copysign(_erfc_inv_tail(1.0 - a[tail]), y[tail])
    return out


def _ndtri(p):
    centre = (p >= 0.25) & (p <= 0.75)
    low, high = (p > 0) & (p < 0.25), (p > 0.75) & (p < 1)
    out = np.where(p == 0, -np.inf, np.where(p == 1, np.inf, np.nan))
    out[centre] = _SQRT2 * _erf_inv_centre(2.0 * p[centre] - 1.0)   # (2p - 1 is exact)
    out[low] = -_SQRT2 * _erfc_inv_tail(2.0 * p[low])
    out[high] = _SQRT2 * _erfc_inv_tail(2.0 * (1.0 - p[high]))     # (1 - p is exact)
    return out


def _bessel_ie(nu):
    """``exp(-|x|) I_nu(x)`` for ``nu`` 0 or 1."""
    def kernel(x):
        a = np.abs(x)
        near = a <= 30.0
        out = np.empty_like(a)
        h = a[near] / 2.0
        term = np.ones_like(h) if nu == 0 else h.copy()
        total = term.copy()
        for k in range(1, 90):   # sum (h^2)^k / (k! (k+nu)!) h^nu: all terms positive
            term = term * (h * h) / (k * (k + nu))
            total = total + term
        out[near] = total * np.exp(-a[near])
        far = a[~near]
        mu = 4.0 * nu * nu
        term, total = np.ones_like(far), np.ones_like(far)
        for k in range(1, 40):   # the asymptotic series, converging fast beyond 30
            term = -term * (mu - (2 * k - 1) ** 2) / (k * 8.0 * far)
            total = total + term
        with np.errstate(divide="ignore"):
            out[~near] = total / np.sqrt(2.0 * math.pi * far)
        out[np.isnan(a)] = np.nan
        return out if nu == 0 else np.sign(x) * out
    kernel.__name__ = f"bessel_i{nu}e"
    return kernel


def _xlogy_impl(log_fn):
    def impl(x, y):
        x, y = np.asarray(x), np.asarray(y)
        with np.errstate(all="ignore"):
            out = np.where((x == 0) & ~np.isnan(y), np.zeros((), x.dtype), x * log_fn(y))
        return out[()] if out.ndim == 0 else out
    return impl


# -- primitives -----------------------------------------------------------------------------------

erf_inv_p = elementwise("erf_inv", _as_float64(_erf_inv), REAL_FLOAT_KINDS)
ndtri_p = elementwise("ndtri", _as_float64(_ndtri), REAL_FLOAT_KINDS)
bessel_i0e_p = elementwise("bessel_i0e", _as_float64(_bessel_ie(0)), REAL_FLOAT_KINDS)
bessel_i1e_p = elementwise("bessel_i1e", _as_float64(_bessel_ie(1)), REAL_FLOAT_KINDS)
xlogy_p = elementwise("xlogy", _xlogy_impl(np.log), FLOAT_KINDS)
xlog1py_p = elementwise("xlog1py", _xlogy_impl(np.log1p), FLOAT_KINDS)

erf_inv = _unary(erf_inv_p)
ndtri = _unary(ndtri_p)
bessel_i0e = _unary(bessel_i0e_p)
bessel_i1e = _unary(bessel_i1e_p)
xlogy = _binary(xlogy_p)
xlog1py = _binary(xlog1py_p)


def _const(value, like):
    return np.asarray(value, get_aval(like).dtype)[()]


def _i1e_derivative(ans, x):
    at_zero = eq(x, 0)
    safe = select_n(at_zero, x, _const(1, x))
    slope = sub(bessel_i0e(x), mul(ans, add(sign(x), div(1, safe))))
    return select_n(at_zero, slope, _const(0.5, x))


def _over_unless_zero(shift):
    """``x / (y + shift)``, 0 where ``x == 0`` (also where ``y + shift == 0``)."""
    def partial(ans, x, y):
        base = y if shift == 0 else add(y, _const(shift, y))
        both = bitwise_and(eq(x, 0), eq(base, 0))
        return div(x, select_n(both, base, _const(1, base)))
    return partial


defderiv(erf_inv_p, lambda ans, x: mul(_SQRT_PI / 2, exp(square(ans))))
defderiv(ndtri_p, lambda ans, x: mul(math.sqrt(2 * math.pi), exp(mul(0.5, square(ans)))))
defderiv(bessel_i0e_p, lambda ans, x: sub(bessel_i1e(x), mul(sign(x), ans)))
defderiv(bessel_i1e_p, _i1e_derivative)
defderiv(xlogy_p, lambda ans, x, y: log(y), _over_unless_zero(0))
defderiv(xlog1py_p, lambda ans, x, y: log1p(y), _over_unless_zero(1))

__all__ = ["erf_inv", "ndtri", "bessel_i0e", "bessel_i1e", "xlogy", "xlog1py", "erf_inv_p",
           "ndtri_p", "bessel_i0e_p", "bessel_i1e_p", "xlogy_p", "xlog1py_p"]
