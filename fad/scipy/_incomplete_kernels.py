"""NumPy kernels of the regularized incomplete gamma and beta functions, on 1-d float64
arrays of valid operands (``fad.scipy._incomplete`` handles the domain's edges and makes
them primitives), carrying hyper-dual numbers (``fad.scipy._hyperdual``) so that the same
code gives the derivatives in the shape parameters.

Methods (each where it converges fast and gives the smaller of ``P``/``Q``, ``I``/``1 - I``
directly, the other as ``1 -`` it, which is then at least about 1/2):

- ``P(a, x)``: its power series where ``x`` is below ``a`` (or 1).
- ``Q(a, x)``: Legendre's continued fraction (modified Lentz) where ``x`` is above ``a``
  and 1.1; near 0 (``x <= 1.1``, small ``a``) ``-expm1(a log x - lgamma(1 + a)) - ...``,
  so that tiny values keep full relative precision (Gautschi's regions, as in Cephes).
- Both, for ``a >= 1000`` within ``|eta| <= 1/2`` of the transition (``x`` from about
  ``0.6 a`` to ``1.6 a``), where the two above take ``O(sqrt(a))`` steps: Temme's uniform
  asymptotic expansion (DLMF 8.12.8), seven terms, whose coefficients' Taylor series are
  computed once, exactly, from their recurrence (DLMF 8.12.9).
- ``I_x(a, b)``: its continued fraction, through ``I_x(a, b) = 1 - I_{1-x}(b, a)`` past
  the mean; where one parameter dwarfs the other (at least 100, and 20 times the other),
  on its side of 1/2, where the fraction cancels, DiDonato and Morris's BGRAT: the
  integral as a series in ``1/nu^2`` of incomplete gamma functions; for a tiny parameter
  (``<= 1e-3``) on its side, where ``I`` is near 1, the power series of ``1 - I``. The
  fraction takes ``O(sqrt(a + b))`` steps near the mean (about 500 for ``a = b = 1e6``),
  where for both parameters large it loses about ``sqrt(a + b) eps`` of relative
  precision (1e-11 at ``a = b = 1e8``).
- The prefactors ``x^a e^-x / Gamma(a)`` and ``x^a (1-x)^b / B(a, b)``, whose exponent
  cancels badly for large parameters, from Stirling's series around the mode, with
  ``log1p(t) - t`` summed directly.
"""
from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np

from fad.lax import special_kernels
from fad.scipy import _hyperdual as hd
from fad.scipy._hyperdual import Dual


_LOG_2PI = math.log(2 * math.pi)
_EULER = 0.57721566490153286061


# -- pieces shared by both functions ------------------------------------------------------------

# The Bernoulli numbers B_2, B_4, ..., B_16, and from them Stirling's series of lgamma,
# B_2k / (2k (2k - 1)) in powers of 1/a^2
_BERNOULLI = [Fraction(1, 6), Fraction(-1, 30), Fraction(1, 42), Fraction(-1, 30),
              Fraction(5, 66), Fraction(-691, 2730), Fraction(7, 6), Fraction(-3617, 510)]
_STIRLING = [float(b / (2 * k * (2 * k - 1))) for k, b in enumerate(_BERNOULLI, start=1)]


def _stirling_rest(a):
    """``lgamma(a) - ((a - 1/2) log a - a + log(2 pi)/2)`` for ``a >= 10`` (to 1e-17)."""
    r = 1 / a
    r2 = r * r
    total = _STIRLING[-1]
    for c in reversed(_STIRLING[:-1]):
        total = r2 * total + c
    return r * total


def _log1pmx_ratio(t):
    """``-2 (log(1 + t) - t) / t^2`` for ``-1/2 <= t <= 1``: ``2u - 4 t u^3 sum s^2k /
    (2k + 3)`` with ``u = 1 / (2 + t)``, ``s = t u`` (``|s| <= 1/3``): no cancellation, and
    smooth through ``t = 0``."""
    u = 1 / (2 + t)
    s = t * u
    s2 = s * s
    total = 1 / 37
    for k in range(16, -1, -1):
        total = s2 * total + 1 / (2 * k + 3)
    return 2 * u - 4 * t * (u * u * u) * total


def _log1pmx_series(t):
    """``log(1 + t) - t`` for ``-1/2 <= t <= 1``."""
    return -0.5 * (t * t) * _log1pmx_ratio(t)


def _log_ratio_less(t, log_ratio):
    """``log(1 + t) - t``, given also ``log(1 + t)`` computed without forming ``1 + t``
    (which loses digits of ``1 + t`` near 0)."""
    near = (hd.value(t) >= -0.5) & (hd.value(t) <= 1)
    return hd.where(near, _log1pmx_series(t), log_ratio - t)


def _zeta_values(count):
    """zeta(2), ..., zeta(count + 1), by Euler-Maclaurin from n = 20."""
    n = 20
    out = []
    for s in range(2, count + 2):
        total = sum(j ** -s for j in range(1, n)) + n ** (1 - s) / (s - 1) + n ** -s / 2
        rising = s   # s (s + 1) ... (s + 2j - 2)
        for j, b in enumerate(_BERNOULLI[:6], start=1):
            total += float(b) / math.factorial(2 * j) * rising * n ** (-s - 2 * j + 1)
            rising *= (s + 2 * j - 1) * (s + 2 * j)
        out.append(total)
    return out


# lgamma(1 + a) = -euler a + sum_k (-1)^k zeta(k) a^k / k
_LGAMMA1P = [(-1) ** k * z / k for k, z in enumerate(_zeta_values(24), start=2)]


def _lgamma1p(a):
    """``lgamma(1 + a)``, to full relative precision for small ``a`` (its series within
    0.2 of 0)."""
    total = _LGAMMA1P[-1]
    for c in reversed(_LGAMMA1P[:-1]):
        total = a * total + c
    series = a * (a * total - _EULER)
    return hd.where(np.abs(hd.value(a)) < 0.2, series, hd.lgamma(1 + a))


# -- the incomplete gamma function ---------------------------------------------------------------

def _gamma_log_prefactor(a, x):
    """``log(x^a e^-x / Gamma(a + 1))``: for ``a >= 10`` from Stirling's series, ``a
    (log(x/a) - (x - a)/a) - log(2 pi a)/2 - rest(a)``, which does not cancel; below, with
    ``lgamma(1 + a)`` exact for tiny ``a`` too."""
    log_x = np.log(x)
    direct = a * log_x - x - _lgamma1p(a)
    t = (x - a) / a
    around = a * _log_ratio_less(t, log_x - hd.log(a)) - 0.5 * (hd.log(a) + _LOG_2PI) \
        - _stirling_rest(a)
    return hd.where(hd.value(a) >= 10, around, direct)


def _p_series(a, x):
    """``P(a, x) = x^a e^-x / Gamma(a + 1) sum_n x^n / ((a + 1) ... (a + n))``."""
    def step(k, carry):
        a, x, term, total = carry
        term = term * (x / (a + k))
        new = total + term
        return (a, x, term, new), hd.settled(term, new)
    one = Dual(np.ones_like(x))
    total = hd.iterate((a, x, one, one), step, lambda carry: carry[3])
    return hd.exp(_gamma_log_prefactor(a, x)) * total


def _q_fraction(a, x):
    """``Q(a, x) = x^a e^-x / Gamma(a) / (x + 1 - a - 1 (1 - a) / (x + 3 - a - ...))``, by
    the modified Lentz method."""
    def step(k, carry):
        a, x, b, c, d, h = carry
        an = k * (a - k)
        b = b + 2
        d = 1 / (an * d + b)
        c = b + an / c
        new = h * (d * c)
        return (a, x, b, c, d, new), hd.settled(new - h, new)
    b = x + 1 - a
    d = 1 / b
    h = hd.iterate((a, x, b, np.full(len(x), 1e300), d, d), step, lambda carry: carry[5])
    return a * hd.exp(_gamma_log_prefactor(a, x)) * h


def _q_small_x(a, x):
    """``Q(a, x) = -expm1(e) - a exp(e) sum_{n>=1} (-x)^n / (n! (a + n))``, ``e = a log x
    - lgamma(1 + a)``, for ``x <= 1.1`` and small ``a`` (25 terms: below 1e-24)."""
    term, total = np.ones_like(x), None
    for n in range(1, 26):
        term = term * (-x / n)
        total = term / (a + n) if total is None else total + term / (a + n)
    e = a * np.log(x) - _lgamma1p(a)
    return -hd.expm1(e) - a * hd.exp(e) * total


@functools.lru_cache(maxsize=None)
def _temme_coefficients(n_terms=25, n_c=7):
    """Taylor coefficients in ``eta`` of Temme's ``c_0, ..., c_{n_c - 1}`` (DLMF 8.12),
    computed in exact rational arithmetic (the recurrences cancel badly in floating
    point), once, at the first use:

    - ``mu(eta) = lambda - 1`` (``eta^2 / 2 = mu - log(1 + mu)``) by Lagrange inversion:
      ``[eta^n] mu = [w^(n-1)] s(w)^(-n/2) / n`` with ``s = 2 (mu - log(1 + mu)) / mu^2``;
    - ``c_0 = 1/mu - 1/eta``, ``c_k = c_{k-1}' / eta + (-1)^k g_k / mu`` (the poles
      cancel), ``g_k`` the coefficients of ``Gamma*(a) ~ sum g_k / a^k`` (DLMF 5.11.3).
    """
    size = n_terms + 2 * n_c + 1
    s = [Fraction(2 * (-1) ** j, j + 2) for j in range(size + 1)]
    mu = [Fraction(1)]     # mu / eta
    for n in range(2, size + 1):
        mu.append(_series_power(s, Fraction(-n, 2), n - 1)[n - 1] / n)
    r = [Fraction(1)]      # eta / mu
    for k in range(1, size):
        r.append(-sum(mu[j] * r[k - j] for j in range(1, k + 1)))
    stirling = [Fraction(0)] * n_c
    for j, b in enumerate(_BERNOULLI, start=1):
        if 2 * j - 1 < n_c:
            stirling[2 * j - 1] = b / (2 * j * (2 * j - 1))
    g = _series_exp(stirling)
    c = [r[1:]]
    for k in range(1, n_c):
        c.append([(j + 2) * c[-1][j + 2] + (-1) ** k * g[k] * r[j + 1]
                  for j in range(len(c[-1]) - 2)])
    return [np.array([float(v) for v in ck[:n_terms]]) for ck in c]


def _series_power(s, alpha, n):
    """The Taylor coefficients ``0..n`` of ``s^alpha`` (``s[0] == 1``), by Miller's
    recurrence."""
    p = [Fraction(1)]
    for k in range(1, n + 1):
        p.append(sum(((alpha + 1) * j - k) * s[j] * p[k - j] for j in range(1, k + 1)) / k)
    return p


def _series_exp(s):
    """The Taylor coefficients of ``exp(s)`` (``s[0] == 0``), as many as ``s`` has."""
    e = [Fraction(1)]
    for k in range(1, len(s)):
        e.append(sum(j * s[j] * e[k - j] for j in range(1, k + 1)) / k)
    return e


def _temme_eta(a, x):
    """``eta = sign(x - a) sqrt(2 (l - 1 - log l))``, ``l = x/a``, and ``a eta^2 / 2``, for
    ``|x/a - 1| <= 1/2``."""
    t = (x - a) / a
    ratio = _log1pmx_ratio(t)
    return t * hd.sqrt(ratio), 0.5 * a * (t * t) * ratio


def _gamma_temme(a, x, upper):
    """``Q(a, x) = erfc(eta sqrt(a/2)) / 2 + e^(-a eta^2/2) / sqrt(2 pi a) sum_k c_k(eta)
    / a^k`` (``P`` likewise, the signs changed), for ``a >= 1000`` and ``|eta| <= 1/2``:
    the Taylor series of ``c_k`` converge there, and the terms beyond ``c_6`` are below
    ``1e-21``."""
    eta, exponent = _temme_eta(a, x)
    inverse = 1 / a
    total = None
    for coefficients in reversed(_temme_coefficients()):
        poly = coefficients[-1]
        for c in coefficients[-2::-1]:
            poly = eta * poly + c
        total = poly if total is None else total * inverse + poly
    rest = hd.exp(-exponent) / hd.sqrt(2 * math.pi * a) * total
    z = eta * hd.sqrt(0.5 * a)
    return 0.5 * hd.erfc(z) + rest if upper else 0.5 * hd.erfc(-z) - rest


def gamma_kernel(a, x, upper):
    """``Q(a, x)`` (``upper``) or ``P(a, x)`` for ``a > 0`` (a dual) and ``x > 0``,
    finite: the method that gives the smaller of the two directly, the other as ``1 -``
    it (Gautschi's regions), and Temme's expansion around ``x = a`` for large ``a``."""
    av = a.v
    with np.errstate(divide="ignore", invalid="ignore"):
        q_near_zero = np.where(x <= 0.5, av <= -0.4 / np.log(x), 1.1 * x >= av)
        t = (x - av) / av
        near = (av >= 1000) & (t >= -0.5) & (t <= 1)
        temme = near & (np.abs(_temme_eta(av, x)[0]) <= 0.5)
    if upper:
        fraction = (x > 1.1) & (x >= av) & ~temme
        small = (x <= 1.1) & q_near_zero
    else:
        fraction = (x > 1.1) & (x > av) & ~temme
        small = (x > 1) & (x > av) & (x <= 1.1)
    series = ~(fraction | small | temme)
    q = hd.plus(hd.on(fraction, _q_fraction, a, x), hd.on(small, _q_small_x, a, x))
    p = hd.on(series, _p_series, a, x)
    direct = hd.where(series, 1 - p, q) if upper else hd.where(series, p, 1 - q)
    return hd.where(temme, hd.on(temme, lambda a, x: _gamma_temme(a, x, upper), a, x), direct)


# -- the incomplete beta function -------------------------------------------------------------

def _beta_log_prefactor(p, q, y, ym, log_y, log_ym):
    """``log(y^p (1-y)^q / (p B(p, q)))`` (``ym = 1 - y``): for large ``p`` and ``q`` around
    the mean (Stirling's series for all three gamma functions), for one of them large with
    Stirling's series for ``Gamma(p + q) / Gamma(large)``, else with ``lgamma(1 + .)``,
    exact for tiny parameters too."""
    c = p + q
    log_c = hd.log(c)
    # (y - p/c) c, from the smaller of y and 1 - y (the other's rounding would show)
    num = hd.where(y <= 0.5, c * y - p, q - c * ym)
    around = (p * _log_ratio_less(num / p, log_y - (hd.log(p) - log_c))
              + q * _log_ratio_less(-num / q, log_ym - (hd.log(q) - log_c))
              + 0.5 * (hd.log(q) - hd.log(p) - log_c - _LOG_2PI)
              - _stirling_rest(p) - _stirling_rest(q) + _stirling_rest(c))

    def one_large(s, log_s, big, log_big):
        return (s * (log_s + log_c) + big * log_big + hd.log(s) - _lgamma1p(s) - hd.log(p)
                + (big - 0.5) * hd.log1p(s / big) - s + _stirling_rest(c) - _stirling_rest(big))
    direct = (p * log_y + q * log_ym + hd.log(q / c) + _lgamma1p(c) - _lgamma1p(p)
              - _lgamma1p(q))
    pv, qv = p.v, q.v
    out = hd.where((pv >= 10) & (qv < 10), one_large(q, log_ym, p, log_y), direct)
    out = hd.where((qv >= 10) & (pv < 10), one_large(p, log_y, q, log_ym), out)
    return hd.where((pv >= 10) & (qv >= 10), around, out)


def _beta_fraction(p, q, y, ym, log_y, log_ym):
    """``I_y(p, q) = y^p (1-y)^q / (p B(p, q)) / (1 + d1 / (1 + d2 / (1 + ...)))`` by the
    modified Lentz method, for ``y`` below the mean, where it converges."""
    def half(c, d, coef):
        d = 1 / (1 + coef * d)
        c = 1 + coef / c
        return c, d, d * c

    def step(m, carry):
        p, q, y, c, d, h = carry
        c, d, f = half(c, d, m * (q - m) * y / ((p + (2 * m - 1)) * (p + 2 * m)))
        c, d, g = half(c, d, -(p + m) * (p + q + m) * y / ((p + 2 * m) * (p + (2 * m + 1))))
        new = h * (f * g)
        return (p, q, y, c, d, new), hd.settled(new - h, new)
    # 1 / (1 - (p + q) y / (p + 1)), its denominator from the smaller of y and 1 - y
    d = (p + 1) / hd.where(y <= 0.5, p + 1 - (p + q) * y, 1 - q + (p + q) * ym)
    h = hd.iterate((p, q, y, np.ones_like(y), d, d), step, lambda carry: carry[5])
    return hd.exp(_beta_log_prefactor(p, q, y, ym, log_y, log_ym)) * h


def _gamma_at(s, z, upper):
    """``Q(s, z)`` (``upper``) or ``P(s, z)`` for duals ``s`` and ``z > 0``: its derivatives
    in ``s`` from the kernel (``s`` seeded in both parts), in ``z`` in closed form, written
    with ``g = z dP/dz`` and ``z``'s relative tangents (finite where the density is not, as
    ``z -> 0``)."""
    if all(p is None for p in s.parts()[1:] + z.parts()[1:]):
        return gamma_kernel(Dual(s.v), z.v, upper)
    ones = np.ones_like(s.v)
    got = gamma_kernel(Dual(s.v, ones, ones), z.v, upper)
    log_z = np.log(z.v)
    g = np.exp(s.v * log_z - z.v - special_kernels.lgamma(s.v)) * (-1 if upper else 1)
    r1, r2, r12 = (None if d is None else d / z.v for d in z.parts()[1:])
    d1 = hd.plus(hd.times(got.d1, s.d1), hd.times(g, r1))
    d2 = hd.plus(hd.times(got.d1, s.d2), hd.times(g, r2))
    d12 = hd.plus(hd.times(got.d1, s.d12), hd.times(g, r12),
                  hd.times(got.d12, hd.times(s.d1, s.d2)),
                  hd.times(g * (log_z - special_kernels.polygamma(0, s.v)),
                           hd.plus(hd.times(s.d1, r2), hd.times(s.d2, r1))),
                  hd.times(g * (s.v - 1 - z.v), hd.times(r1, r2)))
    return Dual(got.v, d1, d2, d12)


# log(sinh(u/2) / (u/2)) = sum_k B_2k / (2k (2k)!) u^2k (beyond k = 8: below 5e-16 u^18)
_LOG_SINHC = [float(b / (2 * k * math.factorial(2 * k)))
              for k, b in enumerate(_BERNOULLI, start=1)] + [0.0] * 12
_LARGE_P_TERMS = 20


def _beta_large_p(p, q, ym, complement):
    """``I_y(p, q)`` (or ``1 - I_y(p, q)``, ``complement``) for ``p >> q`` and ``y`` near 1
    (``ym = 1 - y``), where the fraction cancels: with ``u = -log(s)`` and ``nu = p + (q -
    1)/2``, ``I = 1/B(p, q) integral_t^inf e^(-nu u) u^(q-1) (sinh(u/2) / (u/2))^(q-1) du``
    (``t = -log y``), the power series of the last factor integrated term by term:
    ``I = Gamma(p + q) / (Gamma(p) nu^q) sum_n c_n (q)_2n / nu^2n Q(q + 2n, nu t)`` (``P``
    for the complement), a series in ``1/nu^2`` (DiDonato and Morris's BGRAT)."""
    nu = p + 0.5 * (q - 1)
    z = nu * -np.log1p(-ym)
    log_ratio = ((p - 0.5) * hd.log1p(q / p) + q * hd.log1p(0.5 * (q + 1) / nu) - q
                 + _stirling_rest(p + q) - _stirling_rest(p))
    coefficients = [1.0]       # of (sinh(u/2) / (u/2))^(q-1) in u^2
    for n in range(1, _LARGE_P_TERMS):
        total = sum(((k / n) * _LOG_SINHC[k - 1]) * coefficients[n - k] for k in range(1, n + 1))
        coefficients.append((q - 1) * total)
    g = _gamma_at(q, z, not complement)
    r = hd.exp(q * hd.log(z) - z - hd.lgamma(q + 1))        # z^s e^-z / Gamma(s + 1), s = q
    scale, total = 1.0, 0.0
    inverse_nu2 = 1 / (nu * nu)
    for n, c in enumerate(coefficients):
        total = total + c * scale * g
        s = q + 2 * n
        r_next = r * z / (s + 1)
        g = g - (r + r_next) if complement else g + (r + r_next)
        r = r_next * z / (s + 2)
        scale = scale * (s * (s + 1)) * inverse_nu2
    return hd.exp(log_ratio) * total


def _beta_small_p(p, q, y, log_y):
    """``1 - I_y(p, q)`` for ``p <= 1e-3`` (where ``I`` is near 1), from the power series
    ``I = y^p G (1 + p S)``, ``G = Gamma(p + q) / (Gamma(1 + p) Gamma(q))``, ``S = sum_{n>=1}
    (1-q)_n y^n / (n! (p + n))``: ``-expm1(e) - p exp(e) S`` with ``e = p log y + log G``,
    ``log G`` from the Taylor series of ``lgamma(1 + q + p) - lgamma(1 + q)`` in ``p``."""
    shift, power = 0.0, 1.0
    for k in range(1, 7):
        power = power * p / k
        shift = shift + hd.polygamma(k - 1, 1 + q) * power
    e = p * log_y - hd.log1p(p / q) + shift - _lgamma1p(p)

    def step(n, carry):
        p, q, y, term, total = carry
        term = term * ((n + 1 - q) * y / (n + 1))    # (1-q)_(n+1) y^(n+1) / (n+1)!
        add = term / (p + (n + 1))
        new = total + add
        return (p, q, y, term, new), hd.settled(add, new)
    first = (1 - q) * y
    total = hd.iterate((p, q, y, first, first / (p + 1)), step, lambda carry: carry[4])
    return -hd.expm1(e) - p * hd.exp(e) * total


def beta_kernel(a, b, x, complement=False):
    """``I_x(a, b)`` (or ``1 - I_x(a, b)``, ``complement``) for ``a, b > 0`` finite (duals)
    and ``0 < x < 1``, from ``J = I_y(p, q)`` with ``(p, q, y) = (a, b, x)`` (``I = J``) or
    ``(b, a, 1 - x)`` (``I = 1 - J``): where one parameter dwarfs the other, by BGRAT, the
    large one as ``p``, which gives the smaller of ``J`` and ``1 - J`` directly; elsewhere
    ``y`` below the mean, by the continued fraction, or for tiny ``p`` (``J`` near 1) by
    the power series of ``1 - J``."""
    log_x, log_1mx = np.log(x), np.log1p(-x)
    a_big = (a.v >= 100) & (a.v >= 20 * b.v) & (x >= 0.5) & (b.v * log_x ** 2 <= 24)
    b_big = (b.v >= 100) & (b.v >= 20 * a.v) & (x <= 0.5) & (a.v * log_1mx ** 2 <= 24)
    large_p = a_big | b_big
    swap = np.where(large_p, b_big, x > (a.v + 1) / (a.v + b.v + 2))
    p, q = hd.where(swap, b, a), hd.where(swap, a, b)
    y, ym = np.where(swap, 1 - x, x), np.where(swap, x, 1 - x)
    log_y = np.where(swap, log_1mx, log_x)
    small_p = ~large_p & (p.v <= 1e-3)
    j = hd.on(~(large_p | small_p), _beta_fraction, p, q, y, ym, log_y,
              np.where(swap, log_x, log_1mx))
    # (BGRAT's J is the smaller where nu t >= q: the incomplete gamma functions' transition)
    small_j = large_p & (-(p.v + 0.5 * (q.v - 1)) * log_y >= q.v)
    j = hd.where(small_j, hd.on(small_j, _beta_large_p, p, q, ym, False), j)
    by_complement = large_p & ~small_j | small_p       # (1 - J computed directly)
    jc = hd.where(small_p, hd.on(small_p, _beta_small_p, p, q, y, log_y),
                  hd.on(large_p & ~small_j, _beta_large_p, p, q, ym, True))
    j = hd.where(by_complement, 1 - jc, j)
    jc = hd.where(by_complement, jc, 1 - j)
    return hd.where(swap, j, jc) if complement else hd.where(swap, jc, j)
