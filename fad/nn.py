"""``fad.nn``: activation functions and friends, as ``jax.nn``.

Each is numerically stable with stable derivatives: no overflow, NaN or infinite
derivative at large or small inputs (``softplus(1e3)``, ``log_sigmoid(-1e3)``,
``gelu(-1e3)``). Where a function has a kink, its derivative follows fad's subgradient
table (``fad.lax.elementwise``): ``relu`` is ``maximum(x, 0)``, so ``relu'(0) = 1/2``
(ties split equally; JAX takes 0), and ``relu6`` likewise at 0 and 6. Float32 inputs give
float32 results; integers become float64 (except in ``one_hot``).

>>> import numpy as np, fad
>>> fad.grad(lambda x: softplus(x).sum())(np.array([-1e3, 0.0, 1e3]))
array([0. , 0.5, 1. ])
"""
from __future__ import annotations

import math

import numpy as np

import fad.numpy as fnp
from fad import lax
from fad.core.trace import Tracer
from fad.numpy._promote import asarray, promote_inexact
from fad.scipy import special

_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _inexact(x):
    (x,) = promote_inexact(asarray(x))
    return x


def _zero(x):
    return np.zeros((), fnp.result_type(x))[()]


def relu(x):
    """``max(x, 0)``; its derivative at 0 is 1/2 (fad's subgradient for ties).

    >>> import numpy as np, fad, fad.nn
    >>> fad.nn.relu(np.array([-1.0, 0.0, 2.0]))
    array([0., 0., 2.])
    >>> fad.grad(fad.nn.relu)(0.0)
    np.float64(0.5)
    """
    x = _inexact(x)
    return fnp.maximum(x, _zero(x))


def relu6(x):
    """``min(max(x, 0), 6)``; derivative 1/2 at 0 and at 6 (ties split).

    >>> import numpy as np, fad.nn
    >>> fad.nn.relu6(np.array([-1.0, 3.0, 8.0]))
    array([0., 3., 6.])
    """
    x = _inexact(x)
    return fnp.minimum(fnp.maximum(x, _zero(x)), 6)


def sigmoid(x):
    """The logistic function ``1 / (1 + exp(-x))``.

    >>> import numpy as np, fad, fad.nn
    >>> fad.nn.sigmoid(0.0)
    np.float64(0.5)
    >>> fad.grad(fad.nn.sigmoid)(0.0)
    np.float64(0.25)
    """
    return lax.logistic(_inexact(x))


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``, stable for large ``|x|``.

    >>> import numpy as np, fad.nn
    >>> fad.nn.log_sigmoid(np.array([-1000.0, 1000.0]))
    array([-1000.,    -0.])
    """
    return fnp.negative(softplus(fnp.negative(_inexact(x))))


def softplus(x):
    """``log(1 + exp(x))``, stable for large ``|x|`` (``logaddexp(x, 0)``).

    >>> import numpy as np, fad, fad.nn
    >>> fad.nn.softplus(np.array([-1000.0, 1000.0]))
    array([   0., 1000.])
    >>> fad.grad(fad.nn.softplus)(0.0)
    np.float64(0.5)
    """
    x = _inexact(x)
    return fnp.logaddexp(x, _zero(x))


def silu(x):
    """``x * sigmoid(x)`` (also called swish).

    >>> import numpy as np, fad, fad.nn
    >>> fad.nn.silu(np.array([0.0, 1.0])).round(4)
    array([0.    , 0.7311])
    >>> fad.grad(fad.nn.silu)(0.0)
    np.float64(0.5)
    """
    x = _inexact(x)
    return fnp.multiply(x, lax.logistic(x))


swish = silu


def elu(x, alpha=1.0):
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise (the exponential computed on
    the non-positive part only, so that large ``x`` neither overflows nor poisons the
    derivative; at 0 the derivative is ``alpha``).

    >>> import numpy as np, fad, fad.nn
    >>> fad.nn.elu(np.array([-1.0, 2.0])).round(4)
    array([-0.6321,  2.    ])
    >>> round(float(fad.grad(fad.nn.elu)(-1.0)), 4)
    0.3679
    """
    x = _inexact(x)
    positive = fnp.greater(x, 0)
    negative_part = fnp.multiply(alpha, fnp.expm1(fnp.where(positive, _zero(x), x)))
    return fnp.where(positive, x, negative_part.astype(fnp.result_type(x)))


def gelu(x, approximate: bool = True):
    """The Gaussian error linear unit ``x * ndtr(x)``; with ``approximate`` (the default,
    as in JAX) its tanh form ``x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.

    >>> import numpy as np, fad, fad.nn
    >>> fad.nn.gelu(np.array([0.0, 1.0]), approximate=False).round(4)
    array([0.    , 0.8413])
    >>> fad.grad(fad.nn.gelu)(0.0)
    np.float64(0.5)
    """
    x = _inexact(x)
    if approximate:
        inner = fnp.multiply(_SQRT_2_OVER_PI, fnp.add(x, fnp.multiply(0.044715, fnp.power(
            x, 3))))
        return fnp.multiply(fnp.multiply(0.5, x), fnp.add(1, fnp.tanh(inner)))
    return fnp.multiply(x, special.ndtr(x))


def softmax(x, axis=-1, where=None, initial=None):
    """``exp(x) / sum(exp(x), axis)``, computed stably (JAX's default ``axis=-1``).
    ``where`` masks entries out (they get 0).

    >>> import numpy as np, fad, fad.nn
    >>> fad.nn.softmax(np.array([0.0, np.log(3.0)]))
    array([0.25, 0.75])
    >>> fad.grad(lambda x: fad.nn.softmax(x)[0])(np.zeros(2))
    array([ 0.25, -0.25])
    """
    x = _inexact(x)
    if where is None:
        return special.softmax(x, axis=axis)
    shifted = _masked_shift(x, axis, where)
    e = fnp.where(where, fnp.exp(shifted), _zero(x))
    return fnp.true_divide(e, fnp.sum(e, axis=axis, keepdims=True))


def log_softmax(x, axis=-1, where=None, initial=None):
    """``x - logsumexp(x, axis)``, computed stably; ``where`` masks entries out (they get
    -inf).

    >>> import numpy as np, fad.nn
    >>> np.exp(fad.nn.log_softmax(np.array([0.0, np.log(3.0)])))
    array([0.25, 0.75])
    """
    x = _inexact(x)
    if where is None:
        return special.log_softmax(x, axis=axis)
    shifted = _masked_shift(x, axis, where)
    total = fnp.sum(fnp.where(where, fnp.exp(shifted), _zero(x)), axis=axis, keepdims=True)
    return fnp.where(where, fnp.subtract(shifted, fnp.log(total)), -np.inf)


def _masked_shift(x, axis, where):
    """``x`` minus its (constant) maximum over the entries ``where`` keeps."""
    peak = fnp.max(fnp.where(where, x, -np.inf), axis=axis, keepdims=True)
    peak = fnp.where(fnp.isfinite(peak), peak, _zero(x))
    return fnp.subtract(fnp.where(where, x, _zero(x)), lax.stop_gradient(peak))


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """``log(sum(b * exp(a), axis))`` computed stably; ``fad.scipy.special.logsumexp``.

    >>> import numpy as np, fad, fad.nn
    >>> bool(np.isclose(fad.nn.logsumexp(np.array([1000.0, 1000.0])), 1000.0 + np.log(2.0)))
    True
    >>> fad.grad(fad.nn.logsumexp)(np.zeros(2))
    array([0.5, 0.5])
    """
    return special.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign)


def one_hot(x, num_classes: int, *, dtype=np.float64, axis=-1):
    """``x[..., None] == arange(num_classes)`` as ``dtype``, the new axis at ``axis``;
    entries of ``x`` outside ``[0, num_classes)`` give all zeros.

    >>> import numpy as np, fad.nn
    >>> fad.nn.one_hot(np.array([0, 2, 5]), 3)
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 0., 0.]])
    """
    if isinstance(num_classes, Tracer) or int(num_classes) != num_classes:
        raise TypeError(f"fad.nn.one_hot: num_classes must be a static int, got "
                        f"{num_classes!r}")
    x = asarray(x)
    out_ndim = fnp.ndim(x) + 1
    axis = axis + out_ndim if axis < 0 else axis
    if not 0 <= axis < out_ndim:
        raise ValueError(f"fad.nn.one_hot: axis {axis} is out of range for a result of "
                         f"{out_ndim} dimensions")
    classes = np.arange(int(num_classes)).reshape(
        [-1 if i == axis else 1 for i in range(out_ndim)])
    return fnp.equal(fnp.expand_dims(x, axis), classes).astype(dtype)


def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5, where=None):
    """``(x - mean) / sqrt(variance + epsilon)`` with the mean and variance over ``axis``
    unless given (the variance as the mean squared deviation).

    >>> import numpy as np, fad.nn
    >>> fad.nn.standardize(np.array([1.0, 3.0]), epsilon=0.0)
    array([-1.,  1.])
    """
    x = _inexact(x)
    if mean is None:
        mean = fnp.mean(x, axis=axis, keepdims=True, where=where)
    if variance is None:
        centred = fnp.subtract(x, mean)
        variance = fnp.mean(fnp.real(fnp.multiply(centred, fnp.conj(centred))), axis=axis,
                            keepdims=True, where=where)
    return fnp.multiply(fnp.subtract(x, mean), lax.rsqrt(fnp.add(variance, epsilon).astype(
        fnp.result_type(x))))


__all__ = ["relu", "relu6", "sigmoid", "log_sigmoid", "softplus", "silu", "swish", "elu",
           "gelu", "softmax", "log_softmax", "logsumexp", "one_hot", "standardize"]
