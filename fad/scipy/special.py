"""``scipy.special`` functions on fad.lax: numerically stable and differentiable.

Written with fad.numpy, so they work eagerly on NumPy arrays and inside every
transformation.
"""
from __future__ import annotations

import numpy as np

import fad.numpy as fnp
from fad import lax
from fad.numpy._promote import asarray, operand, promote_inexact


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """``log(sum(b * exp(a), axis))`` computed stably (the maximum is factored out).

    >>> float(logsumexp(np.array([1000.0, 1000.0])))  # doctest: +ELLIPSIS
    1000.693...
    """
    (a,) = promote_inexact(asarray(a))
    if b is not None:
        a, b = promote_inexact(a, operand(b))   # (a Python float weight adopts a's dtype)
        a, b = fnp.broadcast_arrays(a, b)
    # an empty reduction is log(0) = -inf, as in SciPy (max needs an initial value there)
    initial = -np.inf if 0 in fnp.shape(a) else None
    amax = lax.stop_gradient(fnp.max(a, axis=axis, keepdims=True, initial=initial))
    amax = fnp.where(fnp.isfinite(amax), amax, 0)
    e = fnp.exp(fnp.subtract(a, amax))
    if b is not None:
        e = fnp.multiply(b, e)
    s = fnp.sum(e, axis=axis, keepdims=keepdims)
    amax = amax if keepdims else fnp.squeeze(amax, axis=axis) if axis is not None else \
        fnp.reshape(amax, ())
    if return_sign:
        sign = fnp.sign(s)
        return fnp.add(fnp.log(fnp.absolute(s)), amax), sign
    with np.errstate(divide="ignore"):
        return fnp.add(fnp.log(s), amax)


def softmax(x, axis=None):
    """``exp(x) / sum(exp(x), axis)``, computed stably."""
    (x,) = promote_inexact(asarray(x))
    shifted = fnp.subtract(x, lax.stop_gradient(fnp.max(x, axis=axis, keepdims=True)))
    e = fnp.exp(shifted)
    return fnp.true_divide(e, fnp.sum(e, axis=axis, keepdims=True))


def log_softmax(x, axis=None):
    """``x - logsumexp(x, axis)``, computed stably."""
    (x,) = promote_inexact(asarray(x))
    shifted = fnp.subtract(x, lax.stop_gradient(fnp.max(x, axis=axis, keepdims=True)))
    return fnp.subtract(shifted, fnp.log(fnp.sum(fnp.exp(shifted), axis=axis, keepdims=True)))


def _real_float(name, lax_fn):
    def fn(x):
        (x,) = promote_inexact(asarray(x))
        return lax_fn(x)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Like ``scipy.special.{name}``."
    return fn


expit = _real_float("expit", lax.logistic)
erf = _real_float("erf", lax.erf)
erfc = _real_float("erfc", lax.erfc)
gammaln = _real_float("gammaln", lax.lgamma)
digamma = psi = _real_float("digamma", lax.digamma)


def logit(p):
    """``log(p / (1 - p))``, the inverse of ``expit``."""
    (p,) = promote_inexact(asarray(p))
    return fnp.subtract(fnp.log(p), fnp.log1p(fnp.negative(p)))


def xlogy(x, y):
    """``x * log(y)``, defined as 0 where ``x == 0``."""
    x, y = promote_inexact(asarray(x), asarray(y))
    zero = fnp.equal(x, 0)
    safe_y = fnp.where(zero, 1, y)
    return fnp.where(zero, 0, fnp.multiply(x, fnp.log(safe_y)))


def xlog1py(x, y):
    """``x * log1p(y)``, defined as 0 where ``x == 0``."""
    x, y = promote_inexact(asarray(x), asarray(y))
    zero = fnp.equal(x, 0)
    safe_y = fnp.where(zero, 0, y)
    return fnp.where(zero, 0, fnp.multiply(x, fnp.log1p(safe_y)))


__all__ = ["logsumexp", "softmax", "log_softmax", "expit", "logit", "erf", "erfc", "gammaln",
           "digamma", "psi", "xlogy", "xlog1py"]
