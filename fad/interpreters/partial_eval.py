"""Partial evaluation and linearization.

``linearize_flat`` runs the JVP interpreter on top of a partial evaluator
(``StagingTrace(fold_known=True)``) whose only unknowns are the input tangents. Every
primal operation reads only known values, so it is computed at once, exactly once; every
tangent operation touches an unknown, so it is recorded. The result is the primal output
and a *linear* jaxpr from input tangents to output tangents whose constants are the
residuals the tangent computation needs: a tape, in the form of a program that the
transpose interpreter can run backwards.

Layering the two interpreters costs a trip through both for every primitive. Primitives
with a *linearization rule* (``linearize_rules``) take a shortcut: ``LinearizeTrace``
hands the rule the primal values and the tangents (variables of the linear jaxpr), and
the rule computes the primal result on the level below and records the tangent
equations into the jaxpr directly. The rules are derived from the same derivative
definitions as the JVP rules (``fad.lax.rules``), so the two paths cannot disagree; any
case a rule does not cover goes through the layered path.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from fad.core.abstract import _SCALAR_AVALS, get_aval, native_byte_order
from fad.core.ad_util import Zero, instantiate, tangent_aval
from fad.core.ir import ClosedJaxpr, Jaxpr, dce_jaxpr
from fad.core.trace import Tracer, _current_trace, eval_trace
from fad.interpreters.eval import eval_jaxpr
from fad.interpreters.jvp import JVPTrace, JVPTracer, is_weak, weak_if_all_weak
from fad.interpreters.scaled import Scaled, is_linear_tangent, materialize
from fad.interpreters.staging import StagingTrace

# primitive -> rule(pe, primals, tangents, **params) -> (primal_out, tangent_out), or
# ``None`` to decline (before computing anything). ``pe`` is the partial evaluator,
# ``tangents[i]`` is one of its tracers, a ``Scaled`` tangent or ``None`` (a zero
# tangent), and the rule runs with the level below ``pe`` current, where the primal
# values live. ``tangent_out`` is a tracer of ``pe``, a ``Scaled`` or ``None``. For a
# primitive with several results, both are lists (``remat``'s rule).
linearize_rules: dict = {}

# primitive -> rule(pe, x, tx, y, ty) -> (primal_out, tangent_out): the same rule as
# ``linearize_rules[prim]`` for a two-operand primitive without parameters, called with
# its operands (``x``, ``y``: NumPy values; ``tx``, ``ty``: tangents as above)
# positionally, and only with NumPy as the level below. ``LinearizeTrace.process_binary``
# (the arithmetic operators) uses it.
binary_linearize_rules: dict = {}



class LinearizeTrace(JVPTrace):
    """The JVP trace of ``linearize``: its parent is the partial evaluator, and
    primitives with a linearization rule bypass the layered JVP-over-staging path."""

    name = "LinearizeTrace"
    __slots__ = ()

    def process_primitive(self, prim, args, params):
        rule = linearize_rules.get(prim)
        if rule is None:
            return self.general(prim, args, params)
        pe = self.parent
        if len(args) == 1 and pe.parent is eval_trace:   # sin(x), x ** 2: the common case
            x = args[0]
            if type(x) is JVPTracer and x._trace is self and is_linear_tangent(x.tangent, pe):
                out = rule(pe, [x.primal], [x.tangent], **params)
                if out is None:
                    return self.general(prim, args, params)
                return self.results(prim, out)
        primals, tangents = [], []
        own = False
        for x in args:
            if type(x) is JVPTracer and x._trace is self:
                if not is_linear_tangent(x.tangent, pe):
                    # a known or symbolically zero tangent: the general path handles it
                    return self.general(prim, args, params)
                primals.append(x.primal)
                tangents.append(x.tangent)
                own = True
            else:
                if isinstance(x, Tracer):
                    if x._trace is pe:  # a tangent used as a primal: not a fast case
                        return self.general(prim, args, params)
                    self.check_foreign(x)
                primals.append(x)
                tangents.append(None)
        if not own:
            return pe.process_primitive(prim, args, params)
        if pe.parent is eval_trace:
            # The primals are NumPy values and what the rule binds on them evaluates at
            # once (``Primitive.bind``, as this trace's ``const_eval`` holds): no need to
            # make the parent current.
            out = rule(pe, primals, tangents, **params)
        else:
            token = _current_trace.set(pe.parent)
            try:
                out = rule(pe, primals, tangents, **params)
            finally:
                _current_trace.reset(token)
        if out is None:
            return self.general(prim, args, params)
        return self.results(prim, out)

    def results(self, prim, out):
        """``result`` of a rule's output, or of each result of a primitive with several
        (its rule returns the list of results and the list of their tangents)."""
        if prim.multiple_results:
            return [self.result(one) for one in zip(*out)]
        return self.result(out)

    def process_binary(self, prim, x, y):
        """``process_primitive(prim, (x, y), {})``, shortcut for the arithmetic operators
        in the common case: the primal values are NumPy values (the partial evaluator is
        the bottom transformation), each operand is one of our tracers with a tangent the
        fast path handles or a constant that is not a tracer, and the primitive has a
        binary rule. Anything else goes through ``process_primitive``."""
        pe = self.parent
        rule = binary_linearize_rules.get(prim)
        if rule is None or pe.parent is not eval_trace:
            return self.process_primitive(prim, (x, y), {})
        if type(x) is JVPTracer and x._trace is self:
            px, tx = x.primal, x.tangent
            if not is_linear_tangent(tx, pe):
                return self.process_primitive(prim, (x, y), {})
        elif isinstance(x, Tracer):
            return self.process_primitive(prim, (x, y), {})
        else:
            px, tx = x, None
        if type(y) is JVPTracer and y._trace is self:
            py, ty = y.primal, y.tangent
            if not is_linear_tangent(ty, pe):
                return self.process_primitive(prim, (x, y), {})
        elif isinstance(y, Tracer) or tx is None:
            return self.process_primitive(prim, (x, y), {})
        else:
            py, ty = y, None
        return self.result(rule(pe, px, tx, py, ty))

    def result(self, out):
        """What a linearization rule's ``(primal_out, tangent_out)`` is to the traced
        function: the primal value itself when the tangent is zero (``None``)."""
        primal_out, tangent_out = out
        if tangent_out is None:
            return primal_out
        # (a NumPy scalar's aval, looked up: get_aval's first case, without the call)
        return JVPTracer(self, primal_out, tangent_out, _SCALAR_AVALS.get(type(primal_out)))

    def general(self, prim, args, params):
        """The layered path (the primitive's JVP rule over the partial evaluator), which
        reads tangents as tracers: record the pending scalings first."""
        for x in args:
            if type(x) is JVPTracer and x._trace is self and type(x.tangent) is Scaled:
                x.tangent = x.tangent.materialize()   # the same value, recorded
        return JVPTrace.process_primitive(self, prim, args, params)

    def unpack(self, x):
        if type(x) is JVPTracer and x._trace is self:   # ours: record a pending scaling
            t = x.tangent
            if type(t) is Scaled:
                t = x.tangent = t.materialize()
            return x.primal, t
        return JVPTrace.unpack(self, x)


class WeakLinearizeTrace(LinearizeTrace):
    """``LinearizeTrace`` for a function of Python scalars (weakly typed inputs): a result
    computed from weakly typed values alone stays weakly typed, as NEP 50 says, though its
    NumPy value is a strong scalar; so for a Python float ``w``, ``-w * x32`` is float32,
    as eagerly. (A trace of its own: functions of arrays pay nothing for it.)"""

    __slots__ = ()

    def process_primitive(self, prim, args, params):
        return weak_if_all_weak(LinearizeTrace.process_primitive(self, prim, args, params),
                                 prim, args, params)

    def process_binary(self, prim, x, y):
        return weak_if_all_weak(LinearizeTrace.process_binary(self, prim, x, y),
                                 prim, (x, y), {})


class Linearized(NamedTuple):
    """The linear part of a function at a point.

    ``jaxpr`` maps all input tangents to the output tangents that are not structurally
    zero; ``out_nonzero`` says which outputs those are, ``out_tangent_avals`` the types
    of all output tangents.
    """
    jaxpr: ClosedJaxpr
    in_tangent_avals: list
    out_nonzero: list
    out_tangent_avals: list

    def __call__(self, *tangents):
        """Evaluate the linear map (flat tangents in, flat tangents out)."""
        nonzero = iter(eval_jaxpr(self.jaxpr, (), *map(instantiate, tangents)))
        return [next(nonzero) if nz else Zero(a)
                for nz, a in zip(self.out_nonzero, self.out_tangent_avals)]


# ``_new_linearized((jaxpr, ...))``: a Linearized built in C (as ``fad.core.ir.new_eqn``)
_new_linearized = functools.partial(tuple.__new__, Linearized)


def linearize_flat(fun, primals, differentiable=None, dce: bool = True):
    """``(primal_outs, Linearized)`` for ``fun`` (flat lists) at ``primals``.

    ``differentiable[i] = False`` fixes input ``i`` (its tangent is a symbolic zero).
    ``dce=False`` keeps equations no output needs: the transpose skips them anyway, so
    ``vjp`` saves the pass.
    """
    # The two traces are made current by hand rather than with two ``new_trace`` blocks
    # (this runs on every ``grad`` call): the partial evaluator never needs to be current
    # itself, the linearizing trace above it hands it what it records.
    pe = StagingTrace(_current_trace.get(), fold_known=True)
    pe.linear_unknowns = True
    jt = (WeakLinearizeTrace if any(is_weak(p) for p in primals) else LinearizeTrace)(pe)
    token = _current_trace.set(jt)
    try:
        in_avals, tangent_args, args = [], [], []
        for i, p in enumerate(primals):   # (loops, not comprehensions: this runs on
            aval = _SCALAR_AVALS.get(type(p)) or get_aval(p)   # every grad call)
            t_aval = aval if aval.dtype.kind in "fc" else tangent_aval(aval)
            t = pe.new_arg(t_aval)
            in_avals.append(t_aval)
            tangent_args.append(t)
            if type(p) is float:  # computes as a NumPy scalar (fast operators); the
                p = np.float64(p)  # tracer keeps the weak type
            elif type(p) is np.ndarray and not p.dtype.isnative:   # (read from a file)
                p = native_byte_order(p)
            args.append(JVPTracer(jt, p, t, aval)
                        if differentiable is None or differentiable[i] else p)
        outs = fun(*args)
        out_primals, out_tangents, nonzero, out_avals = [], [], [], []
        for o in outs:
            p, t = jt.unpack(o)
            out_primals.append(p)
            nonzero.append(type(t) is not Zero)
            if type(t) is not Zero:
                out_tangents.append(t)
            aval = _SCALAR_AVALS.get(type(p)) or get_aval(p)   # (get_aval's first case)
            out_avals.append(aval if aval.dtype.kind in "fc" else tangent_aval(aval))
        closed = pe.to_jaxpr(tangent_args, out_tangents)
    finally:
        _current_trace.reset(token)
        jt.valid = pe.valid = False
    linear = ClosedJaxpr(dce_jaxpr(closed.jaxpr), closed.consts) if dce else closed
    return out_primals, _new_linearized((linear, in_avals, nonzero, out_avals))


__all__ = ["LinearizeTrace", "Linearized", "Scaled", "binary_linearize_rules", "linearize_flat",
           "linearize_rules", "materialize", "Jaxpr"]
