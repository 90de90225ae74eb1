"""Small primitives that do not fit elsewhere: ``stop_gradient``."""
from __future__ import annotations

from fad.lax.rules import ALL_KINDS, defjvp_zero, elementwise


def _identity(x):
    return x


stop_gradient_p = elementwise("stop_gradient", _identity, ALL_KINDS)
defjvp_zero(stop_gradient_p)


def stop_gradient(x):
    """The identity, whose derivative is zero."""
    return stop_gradient_p.bind(x)


__all__ = ["stop_gradient", "stop_gradient_p"]
