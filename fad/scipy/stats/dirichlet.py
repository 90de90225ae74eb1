"""The Dirichlet distribution, as ``scipy.stats.dirichlet`` (concentrations ``alpha`` >
0, ``K`` of them; ``x`` has the ``K`` components, or the first ``K - 1``, along its
first axis)."""
from __future__ import annotations

import numpy as np

import fad.numpy as fnp
from fad.numpy._promote import concrete_or_none
from fad.scipy import special
from fad.scipy.stats._common import constant, inexact


def _components(x, alpha):
    """``x`` with all ``K`` components (the last one completed to sum 1 if absent)."""
    k = fnp.shape(alpha)[0]
    if fnp.ndim(alpha) != 1:
        raise ValueError(f"Parameter vector 'a' must be one dimensional, but a.shape = "
                         f"{fnp.shape(alpha)}.")
    if fnp.ndim(x) == 0 or fnp.shape(x)[0] not in (k, k - 1):
        raise ValueError(f"Vector 'x' must have either the same number of entries as, or "
                         f"one entry fewer than, parameter vector 'a', but alpha.shape = "
                         f"{fnp.shape(alpha)} and x.shape = {fnp.shape(x)}.")
    if fnp.shape(x)[0] == k - 1:
        last = fnp.subtract(1, fnp.sum(x, axis=0, keepdims=True))
        x = fnp.concatenate([x, last], axis=0)
    return x


def _check_known(x, alpha):
    """SciPy's errors, where the values are known (eagerly, under ``grad``)."""
    a, v = concrete_or_none(alpha), concrete_or_none(x)
    if a is not None and np.any(np.asarray(a) <= 0):
        raise ValueError("All parameters must be greater than 0")
    if v is not None:
        v = np.asarray(v)
        if np.min(v) < 0:
            raise ValueError("Each entry in 'x' must be greater than or equal to zero.")
        if np.max(v) > 1:
            raise ValueError("Each entry in 'x' must be smaller or equal one.")
        if (np.abs(np.sum(v, 0) - 1.0) > 10e-10).any():
            raise ValueError("The input vector 'x' must lie within the normal simplex. but "
                             f"np.sum(x, 0) - 1.0 = {np.sum(v, 0) - 1.0}.")


def logpdf(x, alpha):
    """Like ``scipy.stats.dirichlet.logpdf``: ``sum((alpha - 1) log x) - (sum(gammaln(alpha))
    - gammaln(sum(alpha)))`` over the first axis. SciPy's errors for ``x`` off the simplex
    or ``alpha <= 0`` are raised where the values are known; under ``jit``/``vmap`` such
    points give -inf (``x``) or NaN (``alpha``), as in JAX.

    >>> import scipy.stats
    >>> x, alpha = np.array([0.2, 0.3, 0.5]), np.array([2.0, 3.0, 4.0])
    >>> bool(np.isclose(logpdf(x, alpha), scipy.stats.dirichlet.logpdf(x, alpha)))
    True
    >>> bool(np.isclose(logpdf(x[:2], alpha), logpdf(x, alpha)))   # the last one implied
    True
    """
    x, alpha = inexact(x, alpha)
    x = _components(x, alpha)
    _check_known(x, alpha)
    a = fnp.reshape(alpha, fnp.shape(alpha) + (1,) * (fnp.ndim(x) - 1))
    norm = fnp.subtract(fnp.sum(special.gammaln(alpha)), special.gammaln(fnp.sum(alpha)))
    value = fnp.subtract(fnp.sum(special.xlogy(fnp.subtract(a, 1), x), axis=0), norm)
    simplex = fnp.logical_and(fnp.all(fnp.greater_equal(x, 0), axis=0),
                              fnp.less_equal(fnp.abs(fnp.sum(x, axis=0) - 1), 10e-10))
    value = fnp.where(simplex, value, constant(-np.inf, value))
    return fnp.where(fnp.all(fnp.greater(alpha, 0)), value, constant(np.nan, value))


def pdf(x, alpha):
    """Like ``scipy.stats.dirichlet.pdf``.

    >>> alpha = np.array([1.0, 1.0, 1.0])   # uniform on the simplex, of area 1/2
    >>> bool(np.isclose(pdf(np.array([0.2, 0.3, 0.5]), alpha), 2.0))
    True
    """
    return fnp.exp(logpdf(x, alpha))


__all__ = ["logpdf", "pdf"]
