"""Values shared by the differentiation interpreters: symbolic zeros and ``add_any``."""
from __future__ import annotations

import numpy as np

from fad.core import dtypes
from fad.core.abstract import ShapedArray, get_aval
from fad.core.primitive import Primitive


class Zero:
    """A tangent or cotangent known to be zero: rules skip it, nothing materialises it
    until an output must exist (``instantiate``).

    ``Zero.like(x)`` defers computing the type until a rule asks for it: most rules only
    test ``type(t) is Zero`` and never look.

    >>> import numpy as np, fad, fad.lax as lax
    >>> from fad.core.abstract import ShapedArray
    >>> z = lax.Zero(ShapedArray((2,), np.float64))
    >>> z, z.aval.shape
    (Zero(f64[2]), (2,))
    """

    __slots__ = ("_aval", "_like")

    def __init__(self, aval: ShapedArray):
        self._aval = aval
        self._like = None

    @property
    def aval(self) -> ShapedArray:
        aval = self._aval
        if aval is None:
            aval = self._aval = tangent_aval(get_aval(self._like))
            self._like = None
        return aval

    @staticmethod
    def like(x) -> Zero:
        z = Zero(None)
        z._like = x
        return z

    def __repr__(self):
        return f"Zero({self.aval.str_short()})"


def tangent_aval(aval: ShapedArray) -> ShapedArray:
    if aval.dtype.kind in "fc":   # the common case: an inexact value is its own tangent type
        return aval
    dt = dtypes.tangent_dtype(aval.dtype)
    return aval if dt == aval.dtype else ShapedArray(aval.shape, dt)


def zeros_like_aval(aval: ShapedArray):
    """Zeros of type ``aval``: a NumPy scalar for shape ``()``, like NumPy's own results."""
    zeros = np.zeros(aval.shape, aval.dtype)
    return zeros[()] if not aval.shape and aval.dtype != dtypes.float0 else zeros


def instantiate(t):
    """A concrete array for ``t``, materialising a symbolic zero."""
    return zeros_like_aval(t.aval) if type(t) is Zero else t


# ``add_any`` adds two tangents (or cotangents) of the same type; the differentiation
# interpreters use it to accumulate. fad.lax registers its rules.
add_any_p = Primitive("add_any")
add_any_p.def_impl(np.add)


@add_any_p.def_abstract_eval
def _add_any_abstract_eval(x, y):
    if x.shape != y.shape or x.dtype != y.dtype:
        raise TypeError(f"add_any needs operands of one type, got {x} and {y}")
    return x


def add_tangents(x, y):
    """Sum two tangents, either of which may be a symbolic zero."""
    if type(x) is Zero:
        return y
    if type(y) is Zero:
        return x
    return add_any_p.bind(x, y)
