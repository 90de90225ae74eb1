"""``gammainc``, ``gammaincc``, ``betainc`` and ``betaincc``, the regularized incomplete
gamma and beta functions and their complements, as elementwise primitives with their
derivatives (exported by ``fad.scipy.special``; their NumPy kernels, computing in float64,
are in ``fad.scipy._incomplete_kernels``; float32 operands give float32 results).

Values off the open domain are SciPy's: NaN for negative parameters, ``x`` outside the
support, NaN operands and the undetermined corners (``gammainc(0, 0)``, ``gammainc(inf,
inf)``, ``betainc(0, 0, x)``, ``betainc(inf, inf, x)``), the limits elsewhere.

Derivatives: with respect to ``x`` in closed form (the densities), to any order. With
respect to the shape parameters exactly, by carrying hyper-dual numbers through the same
series and fractions: the auxiliary primitives ``igamma_da`` and ``igamma_daa`` (first
and second derivatives of ``P`` in ``a``), ``betainc_da``, ``betainc_db``,
``betainc_daa``, ``betainc_dab`` and ``betainc_dbb``; their own derivatives in ``x`` are
closed forms again (a complement's derivatives are minus these). A third derivative in
the shape parameters is a ``TypeError``. At a
shape parameter 0 the derivatives in it are NaN; where the function is constant
(``x = 0``, ``x = inf``, an infinite parameter) they are 0.
"""
from __future__ import annotations

import numpy as np

import fad.numpy as fnp
from fad import lax
from fad.extend import defderiv, elementwise
from fad.numpy._promote import asarray, promote_inexact
from fad.scipy._incomplete_kernels import Dual, beta_kernel, gamma_kernel


# -- the kernels as primitives' implementations ----------------------------------------------------

def _seeded(v, seed):
    """The dual ``v + e1`` (``seed`` "1"), ``v + e2`` ("2"), ``v + e1 + e2`` ("12") or
    ``v`` ("")."""
    ones = np.ones_like(v)
    return Dual(v, ones if "1" in seed else None, ones if "2" in seed else None)


def _part(dual, order):
    """The part of ``dual`` holding the derivative of ``order`` (0: the value)."""
    got = (dual.v, dual.d1, dual.d12)[order]
    return 0.0 if got is None else got


def _vectorised(fn):
    """An impl from ``fn`` on 1-d float64 arrays: operands broadcast, computed in float64,
    the result in the operands' dtype (0-d as a NumPy scalar)."""
    def impl(*operands):
        operands = np.broadcast_arrays(*(np.asarray(o) for o in operands))
        dtype = operands[0].dtype
        with np.errstate(all="ignore"):
            out = fn(*(o.astype(np.float64).ravel() for o in operands))
        out = out.reshape(operands[0].shape).astype(dtype)
        return out[()] if out.ndim == 0 else out
    return impl


def _gamma_impl(upper, order):
    """``Q`` or ``P`` (``upper``), or the derivative of ``P`` of ``order`` in ``a``, with
    SciPy's values off the open domain (NaN for ``a < 0``, ``x < 0``, NaN operands, ``a =
    x = 0``, ``a = x = inf``; a derivative in ``a`` is NaN at ``a = 0``, 0 where ``P`` is
    constant)."""
    def fn(a, x):
        out = np.full(a.shape, np.nan)
        x_zero = (x == 0) & (a > 0)
        x_inf = (x == np.inf) & (a >= 0) & (a < np.inf)
        a_inf = (a == np.inf) & (x > 0) & (x < np.inf)
        if order:
            out[x_zero | x_inf | a_inf] = 0.0
        else:
            out[x_zero | a_inf] = float(upper)
            out[x_inf | ((a == 0) & (x > 0))] = float(not upper)
        regular = (a > 0) & (a < np.inf) & (x > 0) & (x < np.inf)
        if regular.any():
            seed = {0: "", 1: "1", 2: "12"}[order]
            # (a derivative of P is minus Q's: Q's methods take small a better)
            got = gamma_kernel(_seeded(a[regular], seed), x[regular], upper or order > 0)
            out[regular] = _part(got, order) * (-1 if order and not upper else 1)
        return out if order else np.clip(out, 0.0, 1.0)   # (rounding past 1)
    return _vectorised(fn)


def _beta_impl(seed, complement=False):
    """``I_x(a, b)`` (``1 - I_x(a, b)``, ``complement``), or its derivative in ``a`` and
    ``b`` given by ``seed`` ("a", "bb", "ab"...), with SciPy's values off the open domain;
    a derivative is 0 where ``I`` is constant, NaN at ``a = 0`` or ``b = 0``."""
    def fn(a, b, x):
        out = np.full(a.shape, np.nan)
        ok = (a >= 0) & (b >= 0) & (x >= 0) & (x <= 1) & ~((a == 0) & (b == 0)) \
            & ~((a == np.inf) & (b == np.inf))
        inside = ok & (x > 0) & (x < 1)
        if seed:
            out[ok & ((x == 0) | (x == 1)) | inside & ((a == np.inf) | (b == np.inf))] = 0.0
        else:   # (the distribution's mass all at 0 or all at 1)
            out[ok & (x == 0) | inside & ((b == 0) | (a == np.inf))] = float(complement)
            out[ok & (x == 1) | inside & ((a == 0) | (b == np.inf))] = float(not complement)
        regular = inside & (a > 0) & (b > 0) & (a < np.inf) & (b < np.inf)
        if regular.any():
            dual_a = _seeded(a[regular], "12" if seed == "aa" else "1" if "a" in seed else "")
            dual_b = _seeded(b[regular], "12" if seed == "bb" else
                             ("2" if seed == "ab" else "1") if "b" in seed else "")
            got = beta_kernel(dual_a, dual_b, x[regular], complement)
            out[regular] = _part(got, len(seed))
        return out if seed else np.clip(out, 0.0, 1.0)   # (rounding past 1)
    return _vectorised(fn)


_REAL = "f"
igamma_p = elementwise("igamma", _gamma_impl(False, 0), _REAL)
igammac_p = elementwise("igammac", _gamma_impl(True, 0), _REAL)
igamma_da_p = elementwise("igamma_da", _gamma_impl(False, 1), _REAL)
igamma_daa_p = elementwise("igamma_daa", _gamma_impl(False, 2), _REAL)
betainc_p = elementwise("betainc", _beta_impl(""), _REAL)
betaincc_p = elementwise("betaincc", _beta_impl("", complement=True), _REAL)
betainc_da_p = elementwise("betainc_da", _beta_impl("a"), _REAL)
betainc_db_p = elementwise("betainc_db", _beta_impl("b"), _REAL)
betainc_daa_p = elementwise("betainc_daa", _beta_impl("aa"), _REAL)
betainc_dab_p = elementwise("betainc_dab", _beta_impl("ab"), _REAL)
betainc_dbb_p = elementwise("betainc_dbb", _beta_impl("bb"), _REAL)


# -- derivatives ---------------------------------------------------------------------------------

def _zero(like):
    return np.zeros((), fnp.result_type(like))[()]


def _times_density(density, factor):
    """``density * factor``, 0 where the density is (at the ends of the support, where
    ``factor``, a logarithm, is infinite)."""
    return lax.select_n(lax.eq(density, 0), lax.mul(density, factor), _zero(density))


def _gamma_density(a, x):
    """``x^(a-1) e^-x / Gamma(a)``, the derivative of ``P`` in ``x`` (0 at ``x = inf``)."""
    at_inf = lax.eq(x, np.inf)
    safe = lax.select_n(at_inf, x, _zero(x))
    log_density = lax.sub(lax.sub(lax.xlogy(lax.sub(a, 1), safe), safe), lax.lgamma(a))
    return lax.select_n(at_inf, lax.exp(log_density), _zero(x))


def _gamma_log_slope(a, x):
    """The derivative of ``log density`` in ``a``: ``log x - digamma(a)``."""
    return lax.sub(lax.log(x), lax.digamma(a))


def _beta_density(a, b, x):
    """``x^(a-1) (1-x)^(b-1) / B(a, b)``, the derivative of ``I_x(a, b)`` in ``x``."""
    log_b = lax.sub(lax.add(lax.lgamma(a), lax.lgamma(b)), lax.lgamma(lax.add(a, b)))
    return lax.exp(lax.sub(lax.add(lax.xlogy(lax.sub(a, 1), x),
                                   lax.xlog1py(lax.sub(b, 1), lax.neg(x))), log_b))


def _beta_log_slopes(a, b, x):
    """The derivatives of ``log density`` in ``a`` and ``b``, and ``trigamma(a + b)``."""
    psi_c = lax.digamma(lax.add(a, b))
    return (lax.add(lax.sub(lax.log(x), lax.digamma(a)), psi_c),
            lax.add(lax.sub(lax.log1p(lax.neg(x)), lax.digamma(b)), psi_c),
            lax.polygamma(1, lax.add(a, b)))


def _third_order(name):
    def refuse(ans, *operands):
        raise TypeError(f"fad.scipy.special.{name}: derivatives of order 3 or more with "
                        f"respect to the shape parameters are not implemented (fad computes "
                        f"them exactly to second order); differentiate with respect to x, "
                        f"or stop at the second derivative")
    return refuse


def _square_less(f, trigamma):
    return lax.sub(lax.mul(f, f), trigamma)


defderiv(igamma_p, lambda ans, a, x: igamma_da_p.bind(a, x),
         lambda ans, a, x: _gamma_density(a, x))
defderiv(igammac_p, lambda ans, a, x: lax.neg(igamma_da_p.bind(a, x)),
         lambda ans, a, x: lax.neg(_gamma_density(a, x)))
defderiv(igamma_da_p, lambda ans, a, x: igamma_daa_p.bind(a, x),
         lambda ans, a, x: _times_density(_gamma_density(a, x), _gamma_log_slope(a, x)))
defderiv(igamma_daa_p, _third_order("gammainc"),
         lambda ans, a, x: _times_density(_gamma_density(a, x), _square_less(
             _gamma_log_slope(a, x), lax.polygamma(1, a))))

defderiv(betainc_p, lambda ans, a, b, x: betainc_da_p.bind(a, b, x),
         lambda ans, a, b, x: betainc_db_p.bind(a, b, x),
         lambda ans, a, b, x: _beta_density(a, b, x))
defderiv(betaincc_p, lambda ans, a, b, x: lax.neg(betainc_da_p.bind(a, b, x)),
         lambda ans, a, b, x: lax.neg(betainc_db_p.bind(a, b, x)),
         lambda ans, a, b, x: lax.neg(_beta_density(a, b, x)))
defderiv(betainc_da_p, lambda ans, a, b, x: betainc_daa_p.bind(a, b, x),
         lambda ans, a, b, x: betainc_dab_p.bind(a, b, x),
         lambda ans, a, b, x: _times_density(_beta_density(a, b, x),
                                             _beta_log_slopes(a, b, x)[0]))
defderiv(betainc_db_p, lambda ans, a, b, x: betainc_dab_p.bind(a, b, x),
         lambda ans, a, b, x: betainc_dbb_p.bind(a, b, x),
         lambda ans, a, b, x: _times_density(_beta_density(a, b, x),
                                             _beta_log_slopes(a, b, x)[1]))


def _beta_second(factor):
    """The ``x``-partial of a second ``a``/``b`` derivative of ``I``: the density times
    ``factor(fa, fb, trigamma(a + b), a, b)``."""
    def partial(ans, a, b, x):
        fa, fb, tri_c = _beta_log_slopes(a, b, x)
        return _times_density(_beta_density(a, b, x), factor(fa, fb, tri_c, a, b))
    return partial


_refuse_beta = _third_order("betainc")
defderiv(betainc_daa_p, _refuse_beta, _refuse_beta, _beta_second(
    lambda fa, fb, tc, a, b: lax.add(_square_less(fa, lax.polygamma(1, a)), tc)))
defderiv(betainc_dab_p, _refuse_beta, _refuse_beta, _beta_second(
    lambda fa, fb, tc, a, b: lax.add(lax.mul(fa, fb), tc)))
defderiv(betainc_dbb_p, _refuse_beta, _refuse_beta, _beta_second(
    lambda fa, fb, tc, a, b: lax.add(_square_less(fb, lax.polygamma(1, b)), tc)))


# -- the public functions ---------------------------------------------------------------------

def _real_operands(name, *args):
    args = promote_inexact(*(asarray(a) for a in args))
    if fnp.iscomplexobj(args[0]):
        raise TypeError(f"fad.scipy.special.{name}: complex arguments are not supported "
                        f"(got {fnp.result_type(args[0])}): it is defined for real "
                        f"arguments only (as in SciPy); pass real arrays")
    return args


def gammainc(a, x):
    """Like ``scipy.special.gammainc``: the regularized lower incomplete gamma function
    ``P(a, x) = 1/Gamma(a) integral_0^x t^(a-1) e^-t dt`` for ``a, x >= 0`` (NaN
    elsewhere; 1 for ``a = 0 < x``). Differentiable in ``x`` to any order, in ``a``
    exactly to second order. Real arguments only (complex ones are a ``TypeError``).

    >>> print(np.round(gammainc(1.0, np.array([0.0, 1.0, np.inf])), 6))  # 1 - exp(-x)
    [0.       0.632121 1.      ]
    """
    return igamma_p.bind(*_real_operands("gammainc", a, x))


def gammaincc(a, x):
    """Like ``scipy.special.gammaincc``: the regularized upper incomplete gamma function
    ``Q(a, x) = 1 - P(a, x)``, computed directly where it is small (full relative
    precision in the upper tail). Derivatives as ``gammainc``'s.

    >>> print(f"{float(gammaincc(0.5, 30.0)):.6e}")   # erfc(sqrt(30)), no cancellation
    9.485738e-15
    """
    return igammac_p.bind(*_real_operands("gammaincc", a, x))


def betainc(a, b, x):
    """Like ``scipy.special.betainc``: the regularized incomplete beta function ``I_x(a,
    b) = 1/B(a, b) integral_0^x t^(a-1) (1-t)^(b-1) dt`` for ``a, b >= 0`` (not both 0)
    and ``0 <= x <= 1`` (NaN elsewhere). Differentiable in ``x`` to any order, in ``a``
    and ``b`` exactly to second order. Real arguments only (complex ones are a
    ``TypeError``).

    >>> print(np.round(betainc(2.0, 3.0, np.array([0.0, 0.5, 1.0])), 6))
    [0.     0.6875 1.    ]
    """
    return betainc_p.bind(*_real_operands("betainc", a, b, x))


def betaincc(a, b, x):
    """Like ``scipy.special.betaincc``: ``1 - betainc(a, b, x)``, computed directly where it
    is small (full relative precision in the upper tail, and for ``x`` near 1 without
    forming ``1 - x``). Derivatives as ``betainc``'s.

    >>> print(f"{float(betaincc(2.0, 3.0, 0.999)):.6e}")
    3.997000e-09
    """
    return betaincc_p.bind(*_real_operands("betaincc", a, b, x))


for _public in (gammainc, gammaincc, betainc, betaincc):
    _public.__module__ = "fad.scipy.special"   # (their public home, where docs list them)


def log_of_either(p, q):
    """``log(p)`` given ``p`` and ``q = 1 - p``, each computed directly (a CDF and its
    survival function): ``log(p)`` where ``p <= 1/2``, else ``log1p(-q)``, which keeps the
    digits of ``q`` that ``p``, rounded near 1, has lost. For ``fad.scipy.stats``.

    >>> print(f"{float(log_of_either(np.float64(1.0), np.float64(1e-20))):.1e}")
    -1.0e-20
    """
    small = fnp.less_equal(p, 0.5)
    with np.errstate(divide="ignore"):   # (log(0) = -inf: below the support)
        return fnp.where(small, fnp.log(fnp.where(small, p, _one(p))),
                         fnp.log1p(fnp.negative(fnp.where(small, _zero(q), q))))


def _one(like):
    return np.ones((), fnp.result_type(like))[()]


__all__ = ["gammainc", "gammaincc", "betainc", "betaincc"]
