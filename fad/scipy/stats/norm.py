"""The normal distribution, as ``scipy.stats.norm`` (``loc`` the mean, ``scale`` the
standard deviation; a scale that is not positive gives NaN, as in SciPy)."""
from __future__ import annotations

import numpy as np

import fad.numpy as fnp
from fad.scipy import special
from fad.scipy.stats._common import inexact, standardized, where_valid

_LOG_SQRT_2PI = float(0.5 * np.log(2 * np.pi))


def logpdf(x, loc=0, scale=1):
    """Like ``scipy.stats.norm.logpdf``: ``-z^2/2 - log(scale) - log(2 pi)/2``.

    >>> import fad
    >>> bool(np.isclose(logpdf(0.0), -np.log(2 * np.pi) / 2))
    True
    >>> float(fad.grad(logpdf)(1.0, 0.0, 2.0))   # -(x - loc) / scale**2
    -0.25
    """
    x, loc, scale = inexact(x, loc, scale)
    z, safe, ok = standardized(x, loc, scale)
    value = fnp.subtract(fnp.subtract(fnp.multiply(-0.5, fnp.square(z)), _LOG_SQRT_2PI),
                         fnp.log(safe))
    return where_valid(ok, value)


def pdf(x, loc=0, scale=1):
    """Like ``scipy.stats.norm.pdf``.

    >>> import scipy.stats
    >>> x = np.array([0.0, 1.0, 4.0])
    >>> bool(np.allclose(pdf(x, 1.0, 2.0), scipy.stats.norm.pdf(x, 1.0, 2.0)))
    True
    """
    return fnp.exp(logpdf(x, loc, scale))


def _of_z(fn, sign):
    def through(x, loc=0, scale=1):
        x, loc, scale = inexact(x, loc, scale)
        z, _, ok = standardized(x, loc, scale)
        return where_valid(ok, fn(z if sign > 0 else fnp.negative(z)))
    return through


cdf = _of_z(special.ndtr, 1)
cdf.__name__ = "cdf"
cdf.__doc__ = """Like ``scipy.stats.norm.cdf``: ``ndtr((x - loc) / scale)``.

>>> import fad
>>> print(cdf(np.array([-np.inf, 0.0, np.inf])))
[0.  0.5 1. ]
>>> bool(np.isclose(fad.grad(cdf)(0.3), pdf(0.3)))
True
"""
logcdf = _of_z(special.log_ndtr, 1)
logcdf.__name__ = "logcdf"
logcdf.__doc__ = """Like ``scipy.stats.norm.logcdf``: ``log_ndtr((x - loc) / scale)``, stable
in both tails.

>>> print(f"{float(logcdf(-40.0)):.6f}")   # (cdf(-40.0) underflows to 0)
-804.608442
>>> bool(np.isclose(logcdf(-1.0), np.log(cdf(-1.0))))
True
"""
sf = _of_z(special.ndtr, -1)
sf.__name__ = "sf"
sf.__doc__ = """Like ``scipy.stats.norm.sf``: ``1 - cdf``, without cancellation.

>>> print(f"{float(sf(10.0)):.6e}")   # 1 - cdf(10.0) would be 0
7.619853e-24
"""
logsf = _of_z(special.log_ndtr, -1)
logsf.__name__ = "logsf"
logsf.__doc__ = """Like ``scipy.stats.norm.logsf``: ``log_ndtr(-(x - loc) / scale)``.

>>> print(f"{float(logsf(40.0)):.6f}")
-804.608442
"""


def ppf(q, loc=0, scale=1):
    """Like ``scipy.stats.norm.ppf``: ``loc + scale * ndtri(q)``.

    >>> print(f"{float(ppf(0.975)):.6f}")
    1.959964
    >>> float(ppf(0.5, 3.0, 2.0))
    3.0
    """
    q, loc, scale = inexact(q, loc, scale)
    return where_valid(fnp.greater(scale, 0),
                       fnp.add(loc, fnp.multiply(scale, special.ndtri(q))))


def isf(q, loc=0, scale=1):
    """Like ``scipy.stats.norm.isf``: ``loc - scale * ndtri(q)``.

    >>> print(f"{float(isf(0.025)):.6f}")
    1.959964
    >>> bool(np.isclose(isf(sf(30.0)), 30.0))   # sf(30.0) is about 5e-198
    True
    """
    q, loc, scale = inexact(q, loc, scale)
    return where_valid(fnp.greater(scale, 0),
                       fnp.subtract(loc, fnp.multiply(scale, special.ndtri(q))))


__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]
