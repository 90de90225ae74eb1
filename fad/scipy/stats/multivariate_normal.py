"""The multivariate normal distribution, as ``scipy.stats.multivariate_normal``: ``mean``
a vector (default zeros), ``cov`` a scalar, a vector (the diagonal) or a matrix.

``x`` holds one point per row in its last axis (a 1-D ``x`` is one point, or, in one
dimension, several); the result drops the axes SciPy drops (``squeeze``). The density
goes through the Cholesky factor of ``cov`` (``allow_singular=False``, which needs it
positive definite: SciPy raises, fad gives NaN) or, with ``allow_singular=True``,
through its eigendecomposition, eigenvalues at most SciPy's cutoff counting as zero
(with the pseudo-determinant and pseudo-inverse, as SciPy).
"""
from __future__ import annotations

import numpy as np

import fad.numpy as fnp
from fad import lax
from fad.numpy import linalg as np_linalg
from fad.scipy import linalg
from fad.scipy.stats._common import constant, inexact


def _dims(mean, cov):
    """NumPy arrays or tracers ``(mean (d,), cov (d, d), d)`` as SciPy makes them."""
    if mean is None and cov is None:
        raise TypeError("multivariate_normal needs mean or cov")
    if mean is None:
        cov = inexact(cov)[0]
        d = 1 if fnp.ndim(cov) == 0 else fnp.shape(cov)[0]
        mean = fnp.zeros(d, fnp.result_type(cov))
    mean, cov = inexact(mean, cov)
    mean = fnp.reshape(mean, (-1,)) if fnp.ndim(mean) <= 1 else mean
    if fnp.ndim(mean) != 1:
        raise ValueError("Array 'mean' must be a vector of length 1 or more")
    d = fnp.shape(mean)[0]
    if fnp.ndim(cov) == 0:
        cov = fnp.multiply(cov, fnp.eye(d, dtype=fnp.result_type(cov)))
    elif fnp.ndim(cov) == 1:
        cov = fnp.diag(cov)
    if fnp.shape(cov) != (d, d):
        raise ValueError(f"Array 'cov' must be square if it is two dimensional, with the "
                         f"size of 'mean' ({d}), but cov.shape = {fnp.shape(cov)}.")
    return mean, cov, d


def _points(x, d):
    x = inexact(x)[0]
    if fnp.ndim(x) == 0:
        x = fnp.reshape(x, (1,))
    elif fnp.ndim(x) == 1:
        x = fnp.reshape(x, (-1, 1) if d == 1 else (1, -1))
    return x


def _squeeze(out):
    return fnp.squeeze(out)


def logpdf(x, mean=None, cov=1, allow_singular=False):
    """Like ``scipy.stats.multivariate_normal.logpdf``: ``-(d log(2 pi) + log det(cov) +
    (x - mean)^T cov^-1 (x - mean)) / 2``.

    >>> import scipy.stats
    >>> mean, cov = np.array([1.0, -1.0]), np.array([[2.0, 0.5], [0.5, 1.0]])
    >>> x = np.array([[0.0, 0.0], [1.0, 2.0]])
    >>> bool(np.allclose(logpdf(x, mean, cov), scipy.stats.multivariate_normal.logpdf(
    ...     x, mean, cov)))
    True
    """
    mean, cov, d = _dims(mean, cov)
    x, mean, cov = inexact(_points(x, d), mean, cov)
    dev = fnp.subtract(x, mean)
    if allow_singular:
        return _squeeze(_logpdf_psd(dev, cov, d))
    chol = linalg.cholesky(cov, lower=True)
    flat = fnp.reshape(dev, (-1, d))
    z = linalg.solve_triangular(chol, fnp.transpose(flat), lower=True)
    maha = fnp.reshape(fnp.sum(fnp.square(z), axis=0), fnp.shape(dev)[:-1])
    log_det = fnp.multiply(2, fnp.sum(fnp.log(fnp.diagonal(chol))))
    return _squeeze(fnp.multiply(-0.5, fnp.add(fnp.add(maha, log_det),
                                               float(d * np.log(2 * np.pi)))))


def _logpdf_psd(dev, cov, d):
    """SciPy's ``_PSD`` route: eigenvalues at most its cutoff count as zero (the cut made
    without derivative); points off the support (a component along the dropped
    eigenvectors beyond 1000 times the cutoff) have density 0."""
    s, u = np_linalg.eigh(cov)
    eps = {np.dtype(np.float32): 1e3, np.dtype(np.float64): 1e6}.get(
        fnp.result_type(s), 1e6) * np.finfo(fnp.result_type(s)).eps
    cutoff = lax.stop_gradient(fnp.multiply(eps, fnp.max(fnp.abs(s))))
    kept = fnp.greater(s, cutoff)
    safe = fnp.where(kept, s, constant(1, s))
    rank = fnp.sum(kept)
    log_pdet = fnp.sum(fnp.where(kept, fnp.log(safe), constant(0, s)))
    proj = fnp.matmul(dev, u)
    maha = fnp.sum(fnp.where(kept, fnp.true_divide(fnp.square(proj), safe),
                             constant(0, s)), axis=-1)
    off = fnp.sqrt(fnp.sum(fnp.where(kept, constant(0, s), fnp.square(
        lax.stop_gradient(proj))), axis=-1))
    value = fnp.multiply(-0.5, fnp.add(fnp.add(maha, log_pdet),
                                       fnp.multiply(rank, float(np.log(2 * np.pi)))))
    inside = fnp.less(off, fnp.multiply(1e3, cutoff))
    return fnp.where(inside, value, constant(-np.inf, value))


def pdf(x, mean=None, cov=1, allow_singular=False):
    """Like ``scipy.stats.multivariate_normal.pdf``.

    >>> from fad.scipy.stats import norm
    >>> x = np.array([0.5, -1.0])   # a diagonal cov: the product of normal densities
    >>> bool(np.isclose(pdf(x, np.zeros(2), np.array([1.0, 4.0])),
    ...                 norm.pdf(0.5) * norm.pdf(-1.0, 0.0, 2.0)))
    True
    """
    return fnp.exp(logpdf(x, mean, cov, allow_singular))


__all__ = ["logpdf", "pdf"]
