"""The Poisson distribution, as ``scipy.stats.poisson`` (mean ``mu >= 0``; ``k`` counts
shifted by ``loc``)."""
from __future__ import annotations

import numpy as np

import fad.numpy as fnp
from fad.scipy import special
from fad.scipy.stats._common import constant, inexact, where_valid


def logpmf(k, mu, loc=0):
    """Like ``scipy.stats.poisson.logpmf``: ``xlogy(k, mu) - gammaln(k + 1) - mu`` at the
    non-negative integers ``k - loc``, -inf elsewhere."""
    k, mu, loc = inexact(k, mu, loc)
    k = fnp.subtract(k, loc)
    count = fnp.logical_and(fnp.greater_equal(k, 0), fnp.equal(k, fnp.floor(k)))
    k_in = fnp.where(count, k, constant(0, k))
    value = fnp.subtract(fnp.subtract(special.xlogy(k_in, mu), special.gammaln(
        fnp.add(k_in, 1))), mu)
    value = fnp.where(count, value, constant(-np.inf, value))
    return where_valid(fnp.greater_equal(mu, 0), value)


def pmf(k, mu, loc=0):
    """Like ``scipy.stats.poisson.pmf``."""
    return fnp.exp(logpmf(k, mu, loc))


__all__ = ["logpmf", "pmf"]
