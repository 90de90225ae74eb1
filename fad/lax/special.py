"""NumPy implementations of the special functions NumPy lacks (NumPy is our only
dependency): erf, erfc, lgamma, digamma and polygamma, on float arrays."""
from __future__ import annotations

import math

import numpy as np

_erf = np.frompyfunc(math.erf, 1, 1)
_erfc = np.frompyfunc(math.erfc, 1, 1)
_lgamma = np.frompyfunc(lambda v: math.lgamma(v) if v > 0 or v != math.floor(v) else math.inf, 1, 1)


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

    Shift ``x`` up past 20 with the recurrence ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁾(x+1) − (−1)ⁿ n!/x^(n+1),
    then use the asymptotic series, accurate to double precision there. Poles (x a
    non-positive integer) give nan for digamma and inf otherwise, like SciPy.
    """
    x = np.asarray(x)
    dtype = x.dtype
    z = x.astype(np.float64)
    reflect = z <= 0
    pole = reflect & (z == np.floor(z))
    acc = np.zeros_like(z)
    sign = -1.0 if n % 2 else 1.0   # (-1)^n
    fact = math.factorial(n)
    y = np.where(pole, 1.0, z)
    # Negative non-integer arguments: recurrence upward handles them directly.
    shift = np.maximum(np.ceil(20.0 - y), 0.0)
    kmax = int(shift.max()) if shift.size else 0
    for k in range(kmax):
        active = k < shift
        acc = acc - np.where(active, sign * fact / (y + k) ** (n + 1), 0.0)
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
    out = acc + series
    out = np.where(pole, np.nan if n == 0 else np.inf, out).astype(dtype)
    return out[()] if out.ndim == 0 else out


def digamma(x):
    return polygamma(0, x)
