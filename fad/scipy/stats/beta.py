"""The beta distribution, as ``scipy.stats.beta`` (shapes ``a``, ``b`` > 0, support
``[loc, loc + scale]``)."""
from __future__ import annotations

import numpy as np

import fad.numpy as fnp
from fad.scipy import special
from fad.scipy.stats._common import constant, inexact, standardized, where_valid


def logpdf(x, a, b, loc=0, scale=1):
    """Like ``scipy.stats.beta.logpdf``: ``xlogy(a - 1, y) + xlog1py(b - 1, -y) -
    betaln(a, b) - log(scale)`` on the support, -inf off it."""
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
    """Like ``scipy.stats.beta.pdf``."""
    return fnp.exp(logpdf(x, a, b, loc, scale))


__all__ = ["logpdf", "pdf"]
