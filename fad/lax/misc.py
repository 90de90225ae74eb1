"""Small primitives that do not fit elsewhere: ``stop_gradient``."""
from __future__ import annotations

from fad.lax.rules import ALL_KINDS, defjvp_zero, elementwise


def _identity(x):
    return x


stop_gradient_p = elementwise("stop_gradient", _identity, ALL_KINDS)
defjvp_zero(stop_gradient_p)


def stop_gradient(x):
    """The identity, whose derivative is zero.

    >>> import numpy as np, fad, fad.lax as lax
    >>> fad.grad(lambda x: x * lax.stop_gradient(x))(3.0)
    np.float64(3.0)
    """
    return stop_gradient_p.bind(x)


__all__ = ["stop_gradient", "stop_gradient_p"]
