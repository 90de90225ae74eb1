"""NumPy kernels of the special functions NumPy lacks (NumPy is our only dependency):
erf, erfc, lgamma, digamma and polygamma, on float arrays. No primitives: these are the
implementations of ``erf_p``, ``lgamma_p`` and their kin in ``fad.lax.elementwise``."""
from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import polynomial as P

_erf = np.frompyfunc(math.erf, 1, 1)
_erfc = np.frompyfunc(math.erfc, 1, 1)


def _lgamma_scalar(v: float) -> float:
    if math.isnan(v):
        return v
    if v > 0 or (math.isfinite(v) and v != math.floor(v)):
        return math.lgamma(v)
    return math.inf          # poles (non-positive integers) and -inf


_lgamma = np.frompyfunc(_lgamma_scalar, 1, 1)


def _apply(fn, x):
    x = np.asarray(x)
    out = np.asarray(fn(x.astype(np.float64)), dtype=np.float64).astype(x.dtype)
    return out[()] if out.ndim == 0 else out


def erf(x):
    return _apply(_erf, x)


def erfc(x):
    return _apply(_erfc, x)


def lgamma(x):
    return _apply(_lgamma, x)


# Bernoulli numbers B_2k for the asymptotic series of the polygamma functions.
_B2K = [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510]


def polygamma(n: int, x):
    """The n-th derivative of the digamma function (n = 0 is digamma itself).

    Negative arguments are reflected to ``1 - x`` (ψ⁽ⁿ⁾(x) = (−1)ⁿ ψ⁽ⁿ⁾(1−x) − π dⁿ/dxⁿ
    cot(πx)); then ``x`` is shifted up past 20 with the recurrence ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁾(x+1) −
    (−1)ⁿ n!/x^(n+1), where the asymptotic series is accurate to double precision.
    Poles (x a non-positive integer, or -inf) give nan for digamma and inf otherwise;
    nan gives nan.
    """
    x = np.asarray(x)
    z = x.astype(np.float64)
    nan = np.isnan(z)
    pole = (z <= 0) & (z == np.floor(z))
    reflect = (z < 0) & ~pole
    y = np.where(reflect, 1 - z, np.where(pole | nan, 1.0, z))    # y >= 1, or +inf
    out = _polygamma_at_least_one(n, y)
    if reflect.any():
        with np.errstate(all="ignore"):
            cot = 1 / np.tan(np.pi * z)
            reflected = (-1) ** n * out - np.pi * _cot_derivative(n, cot)
        out = np.where(reflect, reflected, out)
    out = np.where(pole, np.nan if n == 0 else np.inf, out)
    out = np.where(nan, np.nan, out).astype(x.dtype if x.dtype.kind == "f" else np.float64)
    return out[()] if out.ndim == 0 else out


def _polygamma_at_least_one(n: int, y):
    """polygamma(n, y) for y >= 1: recurrence up past 20, then the asymptotic series."""
    sign = -1.0 if n % 2 else 1.0   # (-1)^n
    fact = math.factorial(n)
    shift = np.maximum(np.ceil(20.0 - y), 0.0)     # at most 19 steps
    acc = np.zeros_like(y)
    for k in range(int(shift.max()) if shift.size else 0):
        acc = acc - np.where(k < shift, sign * fact / (y + k) ** (n + 1), 0.0)
    w = y + shift
    if n == 0:
        series = np.log(w) - 0.5 / w
        wk = w * w
        for k, b in enumerate(_B2K, start=1):
            series = series - b / (2 * k) / wk
            wk = wk * w * w
    else:
        # (-1)^(n+1) [ (n-1)!/w^n + n!/(2 w^(n+1)) + sum_k B2k (2k+n-1)!/((2k)! w^(2k+n)) ]
        s = math.factorial(n - 1) / w ** n + fact / (2 * w ** (n + 1))
        for k, b in enumerate(_B2K, start=1):
            s = s + b * math.factorial(2 * k + n - 1) / math.factorial(2 * k) / w ** (2 * k + n)
        series = -sign * s
    return acc + series


def _cot_derivative(n: int, cot):
    """dⁿ/dxⁿ cot(πx) as a polynomial in c = cot(πx): d/dx P(c) = −π (1 + c²) P'(c)."""
    coeffs = np.array([0.0, 1.0])
    for _ in range(n):
        coeffs = -np.pi * P.polymul(P.polyder(coeffs), [1.0, 0.0, 1.0])
    return P.polyval(cot, coeffs)


def digamma(x):
    return polygamma(0, x)
