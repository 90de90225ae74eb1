"""The Bernoulli distribution, as ``scipy.stats.bernoulli`` (``P(1) = p``, ``0 <= p <=
1``; ``k`` shifted by ``loc``)."""
from __future__ import annotations

import numpy as np

import fad.numpy as fnp
from fad.scipy import special
from fad.scipy.stats._common import constant, inexact, where_valid


def _valid(p):
    return fnp.logical_and(fnp.greater_equal(p, 0), fnp.less_equal(p, 1))


def logpmf(k, p, loc=0):
    """Like ``scipy.stats.bernoulli.logpmf``: ``xlogy(k, p) + xlog1py(1 - k, -p)`` at
    ``k - loc`` in {0, 1}, -inf elsewhere.

    >>> print(logpmf(np.array([0.0, 1.0, 2.0]), 0.25))
    [-0.28768207 -1.38629436        -inf]
    """
    k, p, loc = inexact(k, p, loc)
    k = fnp.subtract(k, loc)
    binary = fnp.logical_or(fnp.equal(k, 0), fnp.equal(k, 1))
    k_in = fnp.where(binary, k, constant(0, k))
    value = fnp.add(special.xlogy(k_in, p), special.xlog1py(fnp.subtract(1, k_in),
                                                            fnp.negative(p)))
    return where_valid(_valid(p), fnp.where(binary, value, constant(-np.inf, value)))


def pmf(k, p, loc=0):
    """Like ``scipy.stats.bernoulli.pmf``.

    >>> print(pmf(np.array([0.0, 1.0, 2.0]), 0.25))
    [0.75 0.25 0.  ]
    """
    return fnp.exp(logpmf(k, p, loc))


def cdf(k, p, loc=0):
    """Like ``scipy.stats.bernoulli.cdf``: 0 below 0, ``1 - p`` up to 1, then 1.

    >>> print(cdf(np.array([-1.0, 0.0, 0.5, 1.0]), 0.25))
    [0.   0.75 0.75 1.  ]
    """
    k, p, loc = inexact(k, p, loc)
    k = fnp.subtract(k, loc)
    value = fnp.where(fnp.less(k, 0), constant(0, p),
                      fnp.where(fnp.less(k, 1), fnp.subtract(1, p), constant(1, p)))
    return where_valid(_valid(p), value)


def logcdf(k, p, loc=0):
    """Like ``scipy.stats.bernoulli.logcdf``: ``log(cdf)``.

    >>> print(logcdf(np.array([-1.0, 0.0, 1.0]), 0.25))
    [       -inf -0.28768207  0.        ]
    """
    with np.errstate(divide="ignore"):
        return fnp.log(cdf(k, p, loc))


__all__ = ["logpmf", "pmf", "cdf", "logcdf"]
