"""The Poisson distribution, as ``scipy.stats.poisson`` (mean ``mu >= 0``; ``k`` counts
shifted by ``loc``)."""
from __future__ import annotations

import numpy as np

import fad.numpy as fnp
from fad.scipy import special
from fad.scipy._incomplete import log_of_either
from fad.scipy.stats._common import constant, inexact, where_valid


def logpmf(k, mu, loc=0):
    """Like ``scipy.stats.poisson.logpmf``: ``xlogy(k, mu) - gammaln(k + 1) - mu`` at the
    non-negative integers ``k - loc``, -inf elsewhere.

    >>> print(logpmf(np.array([0.0, 1.5, -1.0]), 2.0))
    [ -2. -inf -inf]
    """
    k, mu, loc = inexact(k, mu, loc)
    k = fnp.subtract(k, loc)
    count = fnp.logical_and(fnp.greater_equal(k, 0), fnp.equal(k, fnp.floor(k)))
    k_in = fnp.where(count, k, constant(0, k))
    value = fnp.subtract(fnp.subtract(special.xlogy(k_in, mu), special.gammaln(
        fnp.add(k_in, 1))), mu)
    value = fnp.where(count, value, constant(-np.inf, value))
    return where_valid(fnp.greater_equal(mu, 0), value)


def pmf(k, mu, loc=0):
    """Like ``scipy.stats.poisson.pmf``.

    >>> bool(np.allclose(pmf(np.array([0.0, 1.0, 2.0]), 2.0), np.exp(-2.0) * np.array(
    ...     [1.0, 2.0, 2.0])))   # mu^k exp(-mu) / k!
    True
    """
    return fnp.exp(logpmf(k, mu, loc))


def _cdf_sf(k, mu, loc):
    """``(cdf, sf)`` at ``k``: ``gammaincc(floor(k) + 1, mu)`` and ``gammainc(floor(k) +
    1, mu)``, each computed directly; 0 and 1 below the support. ``k`` has no derivative
    (the CDF is a step function of it)."""
    k, mu, loc = inexact(k, mu, loc)
    count = fnp.floor(fnp.subtract(k, loc))
    below = fnp.less(count, 0)
    n = fnp.where(below, constant(1, count), fnp.add(count, 1))
    mu_in = fnp.where(fnp.greater_equal(mu, 0), mu, constant(1, mu))
    lower = fnp.where(below, constant(0, n), special.gammaincc(n, mu_in))
    upper = fnp.where(below, constant(1, n), special.gammainc(n, mu_in))
    valid = fnp.greater_equal(mu, 0)
    return where_valid(valid, lower), where_valid(valid, upper)


def cdf(k, mu, loc=0):
    """Like ``scipy.stats.poisson.cdf``: ``gammaincc(floor(k - loc) + 1, mu)``, 0 below 0;
    differentiable in ``mu``.

    >>> print(np.round(cdf(np.array([-1.0, 0.0, 2.5]), 2.0), 6))
    [0.       0.135335 0.676676]
    """
    return _cdf_sf(k, mu, loc)[0]


def sf(k, mu, loc=0):
    """Like ``scipy.stats.poisson.sf``: ``gammainc(floor(k - loc) + 1, mu)``, full relative
    precision in the upper tail.

    >>> print(f"{float(sf(30.0, 2.0)):.6e}")
    3.769553e-26
    """
    return _cdf_sf(k, mu, loc)[1]


def logcdf(k, mu, loc=0):
    """Like ``scipy.stats.poisson.logcdf``: ``log(cdf)``, or ``log1p(-sf)`` where the CDF
    is near 1.

    >>> print(f"{float(logcdf(30.0, 2.0)):.6e}")
    -3.769553e-26
    """
    return log_of_either(*_cdf_sf(k, mu, loc))


def logsf(k, mu, loc=0):
    """Like ``scipy.stats.poisson.logsf``: ``log(sf)``, or ``log1p(-cdf)`` where it is near
    1.

    >>> print(f"{float(logsf(30.0, 2.0)):.6f}")
    -58.540256
    """
    lower, upper = _cdf_sf(k, mu, loc)
    return log_of_either(upper, lower)


__all__ = ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"]
