"""Forward mode: the JVP interpreter.

A ``JVPTracer`` carries a primal value (a value of the parent level) and its tangent,
which may be a symbolic ``Zero``. For each primitive the trace looks up the JVP rule in
``jvp_rules`` and runs it with the parent as the current trace: the rule's primal
operations and tangent operations are processed by the levels below (evaluated, staged,
batched, or differentiated again).

A result whose tangent is a symbolic zero is returned as the bare primal value: to this
trace a foreign value *is* a constant with zero tangent, so no tracer is needed.
"""
from __future__ import annotations

from fad.core.abstract import get_aval, native_byte_order
from fad.core.dtypes import PYTHON_SCALAR_TYPES
from fad.core.ad_util import Zero, tangent_aval
from fad.core.trace import Trace, Tracer, _current_trace, new_trace

# primitive -> rule(primals, tangents, **params) -> (primal_out, tangent_out); for
# primitives with multiple results both are lists. Tangents may be ``Zero``.
jvp_rules: dict = {}
# Piecewise constant primitives (their JVP is zero, ``defjvp_zero``) -> None. Eager
# ``grad`` hands their results to Python as plain NumPy values (``floor(x)``, ``x > 0``);
# the probe of staged gradients does the same. (An integer or boolean result of *any*
# primitive has no derivative either: the probe tells those by their dtype.)
zero_derivative: dict = {}


class JVPTracer(Tracer):
    __slots__ = ("primal", "tangent", "aval")

    def __init__(self, trace, primal, tangent, aval=None):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent
        self.aval = get_aval(primal) if aval is None else aval

    def concrete_value(self):
        p = self.primal
        return p.concrete_value() if isinstance(p, Tracer) else p


class JVPTrace(Trace):
    name = "JVPTrace"
    __slots__ = ()
    # (our tracers are the values with a nonzero tangent: float() of one would drop it)
    carries_derivatives = True

    def process_primitive(self, prim, args, params):
        primals = list(args)
        tangents = [None] * len(args)
        own = False
        for i, x in enumerate(args):
            if type(x) is JVPTracer and x._trace is self:
                primals[i] = x.primal
                tangents[i] = x.tangent
                own = True
            elif isinstance(x, Tracer):
                self.check_foreign(x)
                tangents[i] = Zero.like(x)
            else:
                tangents[i] = Zero.like(x)
        if not own:
            return self.parent.process_primitive(prim, args, params)
        rule = jvp_rules.get(prim)
        if rule is None:
            raise NotImplementedError(f"fad cannot differentiate the primitive "
                                      f"'{prim.name}' in forward mode: it has no JVP rule")
        token = _current_trace.set(self.parent)
        try:
            primal_out, tangent_out = rule(primals, tangents, **params)
        finally:
            _current_trace.reset(token)
        if prim.multiple_results:
            return [self.pure_or_tracer(p, t) for p, t in zip(primal_out, tangent_out)]
        if type(tangent_out) is Zero:
            return primal_out
        return JVPTracer(self, primal_out, tangent_out)

    def pure_or_tracer(self, primal, tangent):
        if type(tangent) is Zero:
            return primal
        return JVPTracer(self, primal, tangent)

    def unpack(self, x):
        """``(primal, tangent)`` of an output of the traced function."""
        if type(x) is JVPTracer and x._trace is self:
            return x.primal, x.tangent
        if isinstance(x, Tracer):
            self.check_foreign(x)
        return x, Zero.like(x)


def is_weak(x) -> bool:
    """Whether ``x`` is weakly typed: a Python scalar, or a tracer of one (NEP 50)."""
    if isinstance(x, Tracer):
        return x.aval.weak_type
    return type(x) in PYTHON_SCALAR_TYPES


def weak_if_all_weak(out, prim, args, params):
    """``out`` (our tracers, or values), typed as ``prim``'s shape rule types it when
    every operand is weakly typed."""
    if not all(is_weak(x) for x in args):
        return out
    want = prim.abstract_eval(*[get_aval(x) for x in args], **params)
    if prim.multiple_results:
        for o, aval in zip(out, want):
            if type(o) is JVPTracer:
                o.aval = aval
    elif type(out) is JVPTracer:
        out.aval = want
    return out


class WeakJVPTrace(JVPTrace):
    """``JVPTrace`` for a function of Python scalars (weakly typed inputs): a result
    computed from weakly typed values alone stays weakly typed, as NEP 50 says, though its
    NumPy value is a strong scalar (as ``WeakLinearizeTrace`` does for reverse mode)."""

    __slots__ = ()

    def process_primitive(self, prim, args, params):
        return weak_if_all_weak(JVPTrace.process_primitive(self, prim, args, params),
                                prim, args, params)


def jvp_flat(fun, primals, tangents):
    """Push ``tangents`` (arrays or ``Zero``) forward through ``fun`` (flat lists)."""
    primals = [native_byte_order(p) for p in primals]
    tangents = [native_byte_order(t) for t in tangents]
    with new_trace(WeakJVPTrace if any(is_weak(p) for p in primals) else JVPTrace) as trace:
        args = [p if type(t) is Zero else JVPTracer(trace, p, t)
                for p, t in zip(primals, tangents)]
        outs = fun(*args)
        pairs = [trace.unpack(o) for o in outs]
    return [p for p, _ in pairs], [t for _, t in pairs]


__all__ = ["JVPTrace", "JVPTracer", "Zero", "jvp_flat", "jvp_rules", "tangent_aval",
           "zero_derivative"]
