"""The beta distribution, as ``scipy.stats.beta`` (shapes ``a``, ``b`` > 0, support
``[loc, loc + scale]``)."""
from __future__ import annotations

import numpy as np

import fad.numpy as fnp
from fad.scipy import special
from fad.scipy._incomplete import log_of_either
from fad.scipy.stats._common import constant, inexact, standardized, where_valid


def logpdf(x, a, b, loc=0, scale=1):
    """Like ``scipy.stats.beta.logpdf``: ``xlogy(a - 1, y) + xlog1py(b - 1, -y) -
    betaln(a, b) - log(scale)`` on the support, -inf off it.

    >>> import scipy.stats
    >>> bool(np.isclose(logpdf(0.3, 2.5, 4.0), scipy.stats.beta.logpdf(0.3, 2.5, 4.0)))
    True
    >>> float(logpdf(1.5, 2.5, 4.0))
    -inf
    """
    x, a, b, loc, scale = inexact(x, a, b, loc, scale)
    y, safe, ok = standardized(x, loc, scale)
    inside = fnp.logical_and(fnp.greater_equal(y, 0), fnp.less_equal(y, 1))
    y_in = fnp.where(inside, y, constant(0.5, y))
    value = fnp.add(special.xlogy(fnp.subtract(a, 1), y_in),
                    special.xlog1py(fnp.subtract(b, 1), fnp.negative(y_in)))
    value = fnp.subtract(value, fnp.add(special.betaln(a, b), fnp.log(safe)))
    value = fnp.where(inside, value, constant(-np.inf, value))
    valid = fnp.logical_and(ok, fnp.logical_and(fnp.greater(a, 0), fnp.greater(b, 0)))
    return where_valid(valid, value)


def pdf(x, a, b, loc=0, scale=1):
    """Like ``scipy.stats.beta.pdf``.

    >>> print(pdf(np.array([-0.5, 0.5]), 2.0, 2.0))   # 6 x (1 - x) on [0, 1]
    [0.  1.5]
    """
    return fnp.exp(logpdf(x, a, b, loc, scale))


def _cdf_sf(x, a, b, loc, scale):
    """``(cdf, sf)`` at ``x``: ``betainc(a, b, y)`` and ``betaincc(a, b, y)``, each
    computed directly; 0 and 1 off the support (there on safe values: no NaN
    derivatives)."""
    x, a, b, loc, scale = inexact(x, a, b, loc, scale)
    y, _, ok = standardized(x, loc, scale)
    below, above = fnp.less(y, 0), fnp.greater(y, 1)
    y_in = fnp.where(fnp.logical_or(below, above), constant(0.5, y), y)
    a_in = fnp.where(fnp.greater(a, 0), a, constant(1, a))
    b_in = fnp.where(fnp.greater(b, 0), b, constant(1, b))
    zero, one = constant(0, y), constant(1, y)
    lower = fnp.where(below, zero, fnp.where(above, one, special.betainc(a_in, b_in, y_in)))
    upper = fnp.where(below, one, fnp.where(above, zero, special.betaincc(a_in, b_in, y_in)))
    valid = fnp.logical_and(ok, fnp.logical_and(fnp.greater(a, 0), fnp.greater(b, 0)))
    return where_valid(valid, lower), where_valid(valid, upper)


def cdf(x, a, b, loc=0, scale=1):
    """Like ``scipy.stats.beta.cdf``: ``betainc(a, b, (x - loc) / scale)``, 0 below the
    support and 1 above; differentiable in ``x``, ``a``, ``b``, ``loc`` and ``scale``.

    >>> print(np.round(cdf(np.array([-1.0, 0.5, 2.0]), 2.0, 3.0), 6))
    [0.     0.6875 1.    ]
    """
    return _cdf_sf(x, a, b, loc, scale)[0]


def sf(x, a, b, loc=0, scale=1):
    """Like ``scipy.stats.beta.sf``: ``betaincc(a, b, y)``, full relative precision in the
    upper tail.

    >>> print(f"{float(sf(0.999, 2.0, 3.0)):.6e}")
    3.997000e-09
    """
    return _cdf_sf(x, a, b, loc, scale)[1]


def logcdf(x, a, b, loc=0, scale=1):
    """Like ``scipy.stats.beta.logcdf``: ``log(cdf)``, or ``log1p(-sf)`` where the CDF is
    near 1.

    >>> print(f"{float(logcdf(0.999, 2.0, 3.0)):.6e}")
    -3.997000e-09
    """
    return log_of_either(*_cdf_sf(x, a, b, loc, scale))


def logsf(x, a, b, loc=0, scale=1):
    """Like ``scipy.stats.beta.logsf``: ``log(sf)``, or ``log1p(-cdf)`` where it is near 1.

    >>> print(f"{float(logsf(0.999, 2.0, 3.0)):.6f}")
    -19.337722
    """
    lower, upper = _cdf_sf(x, a, b, loc, scale)
    return log_of_either(upper, lower)


__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]
