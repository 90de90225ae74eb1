"""Scaled tangents: the multiplications that linearization defers.

Linearization rules (``fad.interpreters.partial_eval``) record tangent equations into a
linear jaxpr. Most tangent equations of an elementwise program multiply a tangent by a
known coefficient (a partial derivative). A ``Scaled`` tangent holds such a product
unrecorded, ``src * coef``; the helpers here scale it again, negate it and add two
scalings of one source without recording anything, so that an elementwise function of
one variable, however long, linearizes to one multiplication, recorded when something
else reads the tangent (``materialize``).

The multiplying and negating primitives are ``fad.lax``'s: the rules that call these
helpers hand them in (an interpreter does not import the primitives).
"""
from __future__ import annotations

import operator

import numpy as np

from fad.core.ad_util import add_any_p
from fad.core.dtypes import FLOAT64, INEXACT_SCALAR_TYPES
from fad.core.trace import Tracer, _current_trace, eval_trace
from fad.interpreters.staging import StagingTracer


class Scaled:
    """A tangent not recorded yet: ``src * coef``, for a tangent ``src`` (a tracer of the
    partial evaluator) and a known coefficient ``coef`` of its type or a scalar: a NumPy
    value, or a tracer of the level below when the primal values are abstract (the
    coefficients then multiply in the same order as NumPy values would).

    The one multiplication is recorded only when something else reads the tangent
    (``materialize``), once however many tracers share it."""

    __slots__ = ("src", "coef", "mul_p", "recorded", "aval")

    def __init__(self, src, coef, mul_p, aval):
        self.src = src
        self.coef = coef
        self.mul_p = mul_p
        self.recorded = None
        self.aval = aval   # src's type, made strong: a NumPy coefficient is strongly typed

    def materialize(self):
        t = self.recorded
        if t is None:
            t = self.recorded = self.src._trace.emit_scaled(self.mul_p, self.src.ir_var,
                                                            self.coef, self.aval)
        return t


def materialize(t):
    """``t`` as a tracer of the partial evaluator (recording a ``Scaled`` tangent)."""
    return t.materialize() if type(t) is Scaled else t


def is_linear_tangent(t, pe) -> bool:
    """Whether ``t`` is a tangent the linearization rules take: a ``Scaled`` or a tracer of
    the partial evaluator ``pe`` (not a symbolic zero, nor a value known to ``pe``)."""
    return type(t) is Scaled or type(t) is StagingTracer and t._trace is pe


def primal_result(pe, prim, primals, params):
    """``prim`` applied to the primal values on the level below ``pe``: with NumPy directly
    when that is the bottom (what ``bind`` would do, without looking for tracers)."""
    if pe.parent is eval_trace:
        return prim.impl(*primals, **params)
    return prim.bind(*primals, **params)


def run_staged(pe, fn, *args):
    """Run ``fn`` with the partial evaluator current, so that what it binds on tangents
    is recorded (the general path, for the rare cases a fast rule does not spell out)."""
    token = _current_trace.set(pe)
    try:
        return fn(*args)
    finally:
        _current_trace.reset(token)


# ``debug_checks.check_coefficient`` while ``debug_nans``/``debug_infs`` is on, else None:
# the coefficients folded here with NumPy are computed by it and checked as the
# primitives computing them would be.
coefficient_check = None


def scale(pe, mul_p, t, coef):
    """The tangent ``t * coef`` for a known coefficient (an operand's partial derivative).

    It is deferred (a ``Scaled``, folding into ``t``'s pending coefficient) when the
    product keeps ``t``'s type: ``coef`` a NumPy value of that type, or a tracer of a level
    below (the primal values are abstract: jit, vmap, the compiled staged gradient) of its
    dtype and of its shape or a scalar. Tracers are deferred as NumPy values are, so that
    the coefficients multiply in the same order whether the primal values are known or
    not, and a gradient does not depend to the last bit on whether it was compiled. Any
    other product is recorded now."""
    scaled = type(t) is Scaled
    ta = t.aval   # (a Scaled's aval: its source's, made strong)
    tc = type(coef)
    if tc is float and ta.dtype == FLOAT64:   # a Python float (x * 2.0)
        coef = np.float64(coef)
        tc = np.float64
    elif tc is np.ndarray and not coef.shape:   # a 0-d array: the scalar it holds
        coef = coef[()]
        tc = type(coef)
    if ((tc in INEXACT_SCALAR_TYPES or tc is np.ndarray and coef.shape == ta.shape
         or isinstance(coef, Tracer) and coef._trace is not pe
         and coef.aval.shape in ((), ta.shape))
            and coef.dtype == ta.dtype):
        if scaled:
            product = (t.coef * coef if coefficient_check is None
                       else coefficient_check("mul", operator.mul, t.coef, coef))
            return Scaled(t.src, product, mul_p, ta)
        return Scaled(t, coef, mul_p, ta.strip_weak_type() if ta.weak_type else ta)
    return pe.emit_scaled(mul_p, materialize(t).ir_var, coef)


def negate(pe, neg_p, t):
    """The tangent ``-t`` (a ``Scaled`` negates its coefficient)."""
    if type(t) is Scaled:
        return Scaled(t.src, -t.coef, t.mul_p, t.aval)
    return pe.emit(neg_p, [t.ir_var], t.aval, {})


def add_linear(pe, mul_p, a, b):
    """The tangent ``a + b`` of two tangents of one shape. Two scalings of one tangent add
    their coefficients (``src * p + src * q = src * (p + q)``; ``src`` itself counts as
    ``src * 1``), so an elementwise function of one variable linearizes to one
    multiplication however it combines its intermediate values; anything else is
    recorded as an addition."""
    a_scaled, b_scaled = type(a) is Scaled, type(b) is Scaled
    sa = a.src if a_scaled else a
    sb = b.src if b_scaled else b
    if sa is sb:
        if a_scaled or b_scaled:
            pa = a.coef if a_scaled else 1
            pb = b.coef if b_scaled else 1
            total = (pa + pb if coefficient_check is None
                     else coefficient_check("add", operator.add, pa, pb))
            return Scaled(sa, total, mul_p, a.aval if a_scaled else b.aval)
        ta = sa.aval   # ``t + t``: ``t * 2``, with a coefficient of the tangent's dtype
        return Scaled(sa, ta.dtype.type(2), mul_p, ta.strip_weak_type() if ta.weak_type else ta)
    return emit_add(pe, materialize(a), materialize(b))


def emit_add(pe, a, b):
    """Record ``a + b`` for two tracers of the partial evaluator of one type."""
    return pe.emit(add_any_p, [a.ir_var, b.ir_var], a.aval, {})


__all__ = ["Scaled", "add_linear", "emit_add", "is_linear_tangent", "materialize", "negate",
           "primal_result", "run_staged", "scale"]
