"""The normal distribution, as ``scipy.stats.norm`` (``loc`` the mean, ``scale`` the
standard deviation; a scale that is not positive gives NaN, as in SciPy)."""
from __future__ import annotations

import numpy as np

import fad.numpy as fnp
from fad.scipy import special
from fad.scipy.stats._common import inexact, standardized, where_valid

_LOG_SQRT_2PI = float(0.5 * np.log(2 * np.pi))


def logpdf(x, loc=0, scale=1):
    """Like ``scipy.stats.norm.logpdf``: ``-z^2/2 - log(scale) - log(2 pi)/2``."""
    x, loc, scale = inexact(x, loc, scale)
    z, safe, ok = standardized(x, loc, scale)
    value = fnp.subtract(fnp.subtract(fnp.multiply(-0.5, fnp.square(z)), _LOG_SQRT_2PI),
                         fnp.log(safe))
    return where_valid(ok, value)


def pdf(x, loc=0, scale=1):
    """Like ``scipy.stats.norm.pdf``."""
    return fnp.exp(logpdf(x, loc, scale))


def _of_z(fn, sign):
    def through(x, loc=0, scale=1):
        x, loc, scale = inexact(x, loc, scale)
        z, _, ok = standardized(x, loc, scale)
        return where_valid(ok, fn(z if sign > 0 else fnp.negative(z)))
    return through


cdf = _of_z(special.ndtr, 1)
cdf.__name__, cdf.__doc__ = "cdf", "Like ``scipy.stats.norm.cdf``: ``ndtr((x - loc) / scale)``."
logcdf = _of_z(special.log_ndtr, 1)
logcdf.__name__, logcdf.__doc__ = "logcdf", ("Like ``scipy.stats.norm.logcdf``: "
                                             "``log_ndtr((x - loc) / scale)``, stable in "
                                             "both tails.")
sf = _of_z(special.ndtr, -1)
sf.__name__, sf.__doc__ = "sf", "Like ``scipy.stats.norm.sf``: ``1 - cdf``, without cancellation."
logsf = _of_z(special.log_ndtr, -1)
logsf.__name__, logsf.__doc__ = "logsf", "Like ``scipy.stats.norm.logsf``."


def ppf(q, loc=0, scale=1):
    """Like ``scipy.stats.norm.ppf``: ``loc + scale * ndtri(q)``."""
    q, loc, scale = inexact(q, loc, scale)
    return where_valid(fnp.greater(scale, 0),
                       fnp.add(loc, fnp.multiply(scale, special.ndtri(q))))


def isf(q, loc=0, scale=1):
    """Like ``scipy.stats.norm.isf``: ``loc - scale * ndtri(q)``."""
    q, loc, scale = inexact(q, loc, scale)
    return where_valid(fnp.greater(scale, 0),
                       fnp.subtract(loc, fnp.multiply(scale, special.ndtri(q))))


__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]
