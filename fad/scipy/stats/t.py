"""Student's t distribution, as ``scipy.stats.t`` (``df`` degrees of freedom, positive;
``df = inf`` is the normal distribution)."""
from __future__ import annotations

import numpy as np

import fad.numpy as fnp
from fad.scipy import special
from fad.scipy.stats import norm
from fad.scipy.stats._common import constant, inexact, standardized, where_valid


def logpdf(x, df, loc=0, scale=1):
    """Like ``scipy.stats.t.logpdf``: ``gammaln((df+1)/2) - gammaln(df/2) - log(df pi)/2 -
    (df+1)/2 log1p(z^2/df) - log(scale)``."""
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
    """Like ``scipy.stats.t.pdf``."""
    return fnp.exp(logpdf(x, df, loc, scale))


__all__ = ["logpdf", "pdf"]
