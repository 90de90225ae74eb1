"""The gamma distribution, as ``scipy.stats.gamma`` (shape ``a`` > 0; density
``y^(a-1) e^-y / gamma(a)`` at ``y = (x - loc) / scale``)."""
from __future__ import annotations

import numpy as np

import fad.numpy as fnp
from fad.scipy import special
from fad.scipy.stats._common import constant, inexact, standardized, where_valid


def logpdf(x, a, loc=0, scale=1):
    """Like ``scipy.stats.gamma.logpdf``: ``xlogy(a - 1, y) - y - gammaln(a) -
    log(scale)``, -inf below the support (at ``y = 0``: ``inf``, ``-log(scale)`` or -inf
    for ``a`` below, at or above 1)."""
    x, a, loc, scale = inexact(x, a, loc, scale)
    y, safe, ok = standardized(x, loc, scale)
    inside = fnp.greater_equal(y, 0)
    y_in = fnp.where(inside, y, constant(1, y))
    value = fnp.subtract(fnp.subtract(special.xlogy(fnp.subtract(a, 1), y_in), y_in),
                         fnp.add(special.gammaln(a), fnp.log(safe)))
    value = fnp.where(inside, value, constant(-np.inf, value))
    return where_valid(fnp.logical_and(ok, fnp.greater(a, 0)), value)


def pdf(x, a, loc=0, scale=1):
    """Like ``scipy.stats.gamma.pdf``."""
    return fnp.exp(logpdf(x, a, loc, scale))


__all__ = ["logpdf", "pdf"]
