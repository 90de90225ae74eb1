"""Student's t distribution, as ``scipy.stats.t`` (``df`` degrees of freedom, positive;
``df = inf`` is the normal distribution)."""
from __future__ import annotations

import numpy as np

import fad.numpy as fnp
from fad.scipy import special
from fad.scipy._incomplete import log_of_either
from fad.scipy.stats import norm
from fad.scipy.stats._common import constant, inexact, standardized, where_valid


def logpdf(x, df, loc=0, scale=1):
    """Like ``scipy.stats.t.logpdf``: ``gammaln((df+1)/2) - gammaln(df/2) - log(df pi)/2 -
    (df+1)/2 log1p(z^2/df) - log(scale)``.

    >>> import scipy.stats
    >>> bool(np.isclose(logpdf(1.5, 4.0), scipy.stats.t.logpdf(1.5, 4.0)))
    True
    >>> bool(np.isclose(logpdf(1.5, np.inf), norm.logpdf(1.5)))   # df = inf: the normal
    True
    """
    x, df, loc, scale = inexact(x, df, loc, scale)
    z, safe, ok = standardized(x, loc, scale)
    finite = fnp.isfinite(df)
    good_df = fnp.where(fnp.logical_and(finite, fnp.greater(df, 0)), df, constant(1, df))
    half = fnp.multiply(0.5, fnp.add(good_df, 1))
    value = fnp.subtract(special.gammaln(half), special.gammaln(fnp.multiply(0.5, good_df)))
    value = fnp.subtract(value, fnp.multiply(0.5, fnp.log(fnp.multiply(np.pi, good_df))))
    value = fnp.subtract(value, fnp.multiply(half, fnp.log1p(fnp.true_divide(fnp.square(z),
                                                                             good_df))))
    value = fnp.subtract(value, fnp.log(safe))
    value = fnp.where(finite, value, norm.logpdf(z) - fnp.log(safe))
    return where_valid(fnp.logical_and(ok, fnp.greater(df, 0)), value)


def pdf(x, df, loc=0, scale=1):
    """Like ``scipy.stats.t.pdf``.

    >>> bool(np.isclose(pdf(0.0, 1.0), 1 / np.pi))   # df = 1: the Cauchy distribution
    True
    """
    return fnp.exp(logpdf(x, df, loc, scale))


# z^2 at or below which cdf(z) = 1/2 + z pdf(0) to the last digit (the next term is z^3):
# at z = 0 the incomplete beta function's derivative would be infinity times 0
_TINY = 1e-20


def _cdf_sf(x, df, loc, scale):
    """``(cdf, sf)`` at ``x``, each without cancellation, from the tail ``P(T > |z|) =
    I_{df/(df+z^2)}(df/2, 1/2) / 2``: as that (``betainc``) where ``df/(df+z^2) <= 1/2``,
    else as ``betaincc(1/2, df/2, z^2/(df+z^2)) / 2``, the argument below 1/2 each time
    (its rounding near 1 would show); the normal distribution's for ``df = inf``. Each
    formula gets values safe for it, so that one not taken gives no NaN derivatives."""
    x, df, loc, scale = inexact(x, df, loc, scale)
    z, _, ok = standardized(x, loc, scale)
    finite = fnp.isfinite(df)
    nu = fnp.where(fnp.logical_and(finite, fnp.greater(df, 0)), df, constant(1, df))
    half, half_nu = constant(0.5, z), fnp.multiply(0.5, nu)
    z2 = fnp.square(z)
    tiny, far = fnp.less_equal(z2, _TINY), fnp.greater_equal(z2, nu)
    z2_far = fnp.where(far, z2, nu)          # (z = inf: x = 0)
    far_tail = special.betainc(half_nu, half, fnp.true_divide(nu, fnp.add(nu, z2_far)))
    z2_centre = fnp.where(fnp.logical_or(far, tiny), fnp.multiply(0.5, nu), z2)
    centre_tail = special.betaincc(half, half_nu, fnp.true_divide(
        z2_centre, fnp.add(nu, z2_centre)))
    tail = fnp.multiply(0.5, fnp.where(far, far_tail, centre_tail))
    negative = fnp.less(z, 0)
    lower = fnp.where(negative, tail, fnp.subtract(1, tail))
    upper = fnp.where(negative, fnp.subtract(1, tail), tail)
    step = fnp.multiply(fnp.where(tiny, z, constant(0, z)), pdf(constant(0, z), nu))
    lower = fnp.where(tiny, fnp.add(0.5, step), lower)
    upper = fnp.where(tiny, fnp.subtract(0.5, step), upper)
    lower = fnp.where(finite, lower, special.ndtr(z))
    upper = fnp.where(finite, upper, special.ndtr(fnp.negative(z)))
    valid = fnp.logical_and(ok, fnp.greater(df, 0))
    return where_valid(valid, lower), where_valid(valid, upper)


def cdf(x, df, loc=0, scale=1):
    """Like ``scipy.stats.t.cdf``: ``1 - I_{df/(df+z^2)}(df/2, 1/2) / 2`` for ``z = (x -
    loc) / scale > 0`` (an incomplete beta function), without cancellation in either tail;
    differentiable in ``x``, ``df``, ``loc`` and ``scale``.

    >>> print(np.round(cdf(np.array([-1.0, 0.0, 2.0]), 3.0), 6))
    [0.195501 0.5      0.930337]
    """
    return _cdf_sf(x, df, loc, scale)[0]


def sf(x, df, loc=0, scale=1):
    """Like ``scipy.stats.t.sf``: ``1 - cdf``, computed directly (full relative precision
    in the upper tail).

    >>> print(f"{float(sf(40.0, 3.0)):.6e}")
    1.719034e-05
    """
    return _cdf_sf(x, df, loc, scale)[1]


def logcdf(x, df, loc=0, scale=1):
    """Like ``scipy.stats.t.logcdf``: ``log(cdf)``, or ``log1p(-sf)`` where the CDF is near 1.

    >>> print(f"{float(logcdf(40.0, 3.0)):.6e}")
    -1.719049e-05
    """
    return log_of_either(*_cdf_sf(x, df, loc, scale))


def logsf(x, df, loc=0, scale=1):
    """Like ``scipy.stats.t.logsf``: ``log(sf)``, or ``log1p(-cdf)`` where it is near 1.

    >>> print(f"{float(logsf(-40.0, 3.0)):.6e}")
    -1.719049e-05
    """
    lower, upper = _cdf_sf(x, df, loc, scale)
    return log_of_either(upper, lower)


__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]
