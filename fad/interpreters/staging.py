"""Staging: record primitives into a jaxpr instead of running them.

``StagingTrace`` is the tracer-to-jaxpr builder behind ``make_jaxpr`` and ``jit``. With
``fold_known=True`` it is the partial evaluator: an operation none of whose inputs is one
of its tracers is *known* and goes straight to the parent trace (computed now), while
operations that touch an *unknown* are recorded, with the known values they read becoming
constants (residuals) of the jaxpr.
"""
from __future__ import annotations

import numpy as np

from fad.core.abstract import _SCALAR_AVALS, ShapedArray, get_aval
from fad.core.dtypes import SCALAR_TYPES, numpy_value_of_type
from fad.core.ir import ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var, new_eqn
from fad.core.trace import STAGED_VALUE_HELP, Trace, Tracer, eval_trace, new_trace
from fad.interpreters.source_info import new_eqn_list


# primitive -> rule(trace, args, params) -> outputs: how the partial evaluator (a
# ``StagingTrace`` with ``fold_known``) processes an operation some of whose operands are
# its tracers (unknown) and others values of the levels below (known), for the
# higher-order primitives whose body splits: a call computes its known part now and
# records the rest (``fad.lax.control_flow``). Without a rule the operation is recorded
# whole, the known operands as constants.
partial_eval_rules: dict = {}


class StagingTracer(Tracer):
    # not "var": tracers have a .var() method (numpy.var). ``aval`` is the variable's, kept
    # as a slot: it is read for nearly every operation, and a property is a Python call.
    __slots__ = ("ir_var", "aval")

    def __init__(self, trace, var: Var):
        self._trace = trace
        self.ir_var = var
        self.aval = var.aval

    def concrete_value(self):
        return self._trace.concrete(self)


class StagingTrace(Trace):
    name = "StagingTrace"
    __slots__ = ("fold_known", "eqns", "invars", "constvars", "consts", "linear_unknowns")
    abstract_value_help = STAGED_VALUE_HELP

    def __init__(self, parent, fold_known: bool = False):
        super().__init__(parent)
        self.fold_known = fold_known
        # (set by ``linearize``: its unknowns are tangents, and what it records is linear
        # in them; read by the custom_vjp rule through ``getattr``, other partial
        # evaluators such as the staged layer's probe not having it)
        self.linear_unknowns = False
        self.const_eval = fold_known and parent.const_eval   # else constants are recorded
        self.eqns: list[JaxprEqn] = new_eqn_list()   # (noting source lines, if asked)
        self.invars: list[Var] = []
        self.constvars: dict[int, Var] = {}   # id(value) -> Var
        self.consts: list = []               # keeps the values (and so their ids) alive

    def new_arg(self, aval: ShapedArray) -> StagingTracer:
        var = Var(aval)
        self.invars.append(var)
        return StagingTracer(self, var)

    def atom(self, x):
        """The jaxpr atom standing for ``x``: our tracer's var, a literal, or a constvar."""
        if isinstance(x, Tracer):
            if x._trace is self:
                return x.ir_var
            self.check_foreign(x)
        elif isinstance(x, SCALAR_TYPES):
            return Literal(x)
        elif isinstance(x, np.ndarray) and not x.shape:
            return Literal(x.copy())   # (a 0-d array can change in place; a literal must not)
        var = self.constvars.get(id(x))
        if var is None:
            var = self.constvars[id(x)] = Var(get_aval(x))
            self.consts.append(x)
        return var

    def const_var(self, x, aval):
        """The constvar for the array ``x``, whose type ``aval`` the caller knows."""
        var = self.constvars.get(id(x))
        if var is None:
            var = self.constvars[id(x)] = Var(aval)
            self.consts.append(x)
        return var

    def process_primitive(self, prim, args, params):
        if self.fold_known:
            foreign = False
            for x in args:
                if isinstance(x, Tracer):
                    if x._trace is self:
                        break
                    foreign = True
            else:  # all known: compute now (directly, when NumPy is the next level)
                if foreign or self.parent is not eval_trace:
                    return self.parent.process_primitive(prim, args, params)
                return prim.impl(*args, **params)
            rule = partial_eval_rules.get(prim)
            if rule is not None:
                return rule(self, args, params)
        return self.record(prim, args, params)

    def record(self, prim, args, params):
        """Record ``prim`` applied to ``args`` (our tracers, constants, literals): one
        equation, typed by the primitive's shape rule; our tracers for its results."""
        invars = [x.ir_var if type(x) is StagingTracer and x._trace is self else self.atom(x)
                  for x in args]
        out_aval = prim.abstract_eval(*[v.aval for v in invars], **params)
        if prim.multiple_results:
            outvars = [Var(a) for a in out_aval]
            self.eqns.append(new_eqn((prim, invars, outvars, params)))
            return [StagingTracer(self, v) for v in outvars]
        outvar = Var(out_aval)
        self.eqns.append(new_eqn((prim, invars, [outvar], params)))
        return StagingTracer(self, outvar)

    def emit(self, prim, invars, aval, params):
        """Record ``prim`` applied to the atoms ``invars`` with result type ``aval`` (known
        to the caller, so no shape rule runs): the fast path of linearization rules."""
        outvar = Var(aval)
        self.eqns.append(new_eqn((prim, invars, [outvar], params)))
        return StagingTracer(self, outvar)

    def emit_scaled(self, mul_p, tv: Var, coef, aval=None):
        """Record ``tv * coef`` for a variable ``tv`` and a known coefficient ``coef``.

        ``aval``, if given, is the type of the result, which the caller knows: ``coef`` is
        a NumPy value or a tracer of a level below of ``tv``'s type, or a scalar (a
        ``Scaled`` tangent's invariant), and ``aval`` is that type made strong."""
        if aval is not None:
            cv = (self.const_var(coef, aval) if type(coef) is np.ndarray
                  else self.atom(coef) if isinstance(coef, Tracer)   # (a residual)
                  else Literal(coef, _SCALAR_AVALS[type(coef)]))   # (a NumPy scalar's aval)
            outvar = Var(aval)
            self.eqns.append(new_eqn((mul_p, [tv, cv], [outvar], {})))
            return StagingTracer(self, outvar)
        ta = tv.aval
        if numpy_value_of_type(coef, ta):
            # the common case: the result has the tangent's type, made strong (as the
            # coefficient, a NumPy value, is)
            ta = ta.strip_weak_type()
            cv = self.const_var(coef, ta) if type(coef) is np.ndarray else Literal(coef)
            outvar = Var(ta)
        else:
            cv = self.atom(coef)
            outvar = Var(mul_p.abstract_eval(ta, cv.aval))
        self.eqns.append(new_eqn((mul_p, [tv, cv], [outvar], {})))
        return StagingTracer(self, outvar)

    def concrete(self, tracer):
        """The value of one of our tracers: none is known while staging (the probe of
        ``fad.staged.recording`` knows some)."""
        return Tracer.concrete_value(tracer)   # raises ConcretizationTypeError

    def to_jaxpr(self, in_tracers, outs) -> ClosedJaxpr:
        """Close the recording: ``in_tracers`` become the inputs, ``outs`` the outputs."""
        invars = []
        for t in in_tracers:   # (loops, not comprehensions: this runs on every grad call)
            invars.append(t.ir_var)
        outvars = []
        for x in outs:
            outvars.append(x.ir_var if type(x) is StagingTracer and x._trace is self
                           else self.atom(x))
        constvars = list(self.constvars.values())
        return ClosedJaxpr(Jaxpr(constvars, invars, outvars, self.eqns), self.consts)


def trace_to_jaxpr(fun_flat, in_avals) -> ClosedJaxpr:
    """Stage ``fun_flat`` (flat list of arrays in, flat list out) into a closed jaxpr."""
    with new_trace(StagingTrace) as trace:
        in_tracers = [trace.new_arg(a) for a in in_avals]
        outs = fun_flat(*in_tracers)
        return trace.to_jaxpr(in_tracers, outs)
