"""The gamma distribution, as ``scipy.stats.gamma`` (shape ``a`` > 0; density
``y^(a-1) e^-y / gamma(a)`` at ``y = (x - loc) / scale``)."""
from __future__ import annotations

import numpy as np

import fad.numpy as fnp
from fad.scipy import special
from fad.scipy._incomplete import log_of_either
from fad.scipy.stats._common import constant, inexact, standardized, where_valid


def logpdf(x, a, loc=0, scale=1):
    """Like ``scipy.stats.gamma.logpdf``: ``xlogy(a - 1, y) - y - gammaln(a) -
    log(scale)``, -inf below the support (at ``y = 0``: ``inf``, ``-log(scale)`` or -inf
    for ``a`` below, at or above 1).

    >>> import scipy.stats
    >>> bool(np.isclose(logpdf(3.0, 2.5, scale=2.0), scipy.stats.gamma.logpdf(3.0, 2.5,
    ...                                                                         scale=2.0)))
    True
    >>> float(logpdf(2.0, 1.0))   # a = 1: the exponential distribution
    -2.0
    """
    x, a, loc, scale = inexact(x, a, loc, scale)
    y, safe, ok = standardized(x, loc, scale)
    inside = fnp.greater_equal(y, 0)
    y_in = fnp.where(inside, y, constant(1, y))
    value = fnp.subtract(fnp.subtract(special.xlogy(fnp.subtract(a, 1), y_in), y_in),
                         fnp.add(special.gammaln(a), fnp.log(safe)))
    value = fnp.where(inside, value, constant(-np.inf, value))
    return where_valid(fnp.logical_and(ok, fnp.greater(a, 0)), value)


def pdf(x, a, loc=0, scale=1):
    """Like ``scipy.stats.gamma.pdf``.

    >>> bool(np.allclose(pdf(np.array([-1.0, 0.0, 2.0]), 1.0), [0.0, 1.0, np.exp(-2.0)]))
    True
    """
    return fnp.exp(logpdf(x, a, loc, scale))


def _cdf_sf(x, a, loc, scale):
    """``(cdf, sf)`` at ``x``: ``gammainc(a, y)`` and ``gammaincc(a, y)``, each computed
    directly; 0 and 1 below the support (there on safe values: no NaN derivatives)."""
    x, a, loc, scale = inexact(x, a, loc, scale)
    y, _, ok = standardized(x, loc, scale)
    below = fnp.less(y, 0)
    y_in = fnp.where(below, constant(1, y), y)
    a_in = fnp.where(fnp.greater(a, 0), a, constant(1, a))
    lower = fnp.where(below, constant(0, y), special.gammainc(a_in, y_in))
    upper = fnp.where(below, constant(1, y), special.gammaincc(a_in, y_in))
    valid = fnp.logical_and(ok, fnp.greater(a, 0))
    return where_valid(valid, lower), where_valid(valid, upper)


def cdf(x, a, loc=0, scale=1):
    """Like ``scipy.stats.gamma.cdf``: ``gammainc(a, (x - loc) / scale)``, 0 below the
    support; differentiable in ``x``, ``a``, ``loc`` and ``scale``.

    >>> print(np.round(cdf(np.array([-1.0, 1.0, 3.0]), 2.0), 6))
    [0.       0.264241 0.800852]
    """
    return _cdf_sf(x, a, loc, scale)[0]


def sf(x, a, loc=0, scale=1):
    """Like ``scipy.stats.gamma.sf``: ``gammaincc(a, (x - loc) / scale)``, full relative
    precision in the upper tail.

    >>> print(f"{float(sf(50.0, 2.0)):.6e}")
    9.836624e-21
    """
    return _cdf_sf(x, a, loc, scale)[1]


def logcdf(x, a, loc=0, scale=1):
    """Like ``scipy.stats.gamma.logcdf``: ``log(cdf)``, or ``log1p(-sf)`` where the CDF is
    near 1.

    >>> print(f"{float(logcdf(50.0, 2.0)):.6e}")
    -9.836624e-21
    """
    return log_of_either(*_cdf_sf(x, a, loc, scale))


def logsf(x, a, loc=0, scale=1):
    """Like ``scipy.stats.gamma.logsf``: ``log(sf)``, or ``log1p(-cdf)`` where it is near 1.

    >>> print(f"{float(logsf(50.0, 2.0)):.6f}")
    -46.068174
    """
    lower, upper = _cdf_sf(x, a, loc, scale)
    return log_of_either(upper, lower)


__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]
