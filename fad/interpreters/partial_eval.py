"""Partial evaluation and linearization.

``linearize_flat`` runs the JVP interpreter on top of a partial evaluator
(``StagingTrace(fold_known=True)``) whose only unknowns are the input tangents. Every
primal operation reads only known values, so it is computed at once, exactly once; every
tangent operation touches an unknown, so it is recorded. The result is the primal output
and a *linear* jaxpr from input tangents to output tangents whose constants are the
residuals the tangent computation needs: a tape, in the form of a program that the
transpose interpreter can run backwards.
"""
from __future__ import annotations

from typing import NamedTuple

from fad.core.abstract import get_aval
from fad.core.ad_util import Zero, instantiate, tangent_aval
from fad.core.ir import ClosedJaxpr, Jaxpr, dce_jaxpr
from fad.core.trace import new_trace
from fad.interpreters.eval import eval_jaxpr
from fad.interpreters.jvp import JVPTrace, JVPTracer
from fad.interpreters.staging import StagingTrace


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


def linearize_flat(fun, primals, differentiable=None, dce: bool = True):
    """``(primal_outs, Linearized)`` for ``fun`` (flat lists) at ``primals``.

    ``differentiable[i] = False`` fixes input ``i`` (its tangent is a symbolic zero).
    ``dce=False`` keeps equations no output needs: the transpose skips them anyway, so
    ``vjp`` saves the pass.
    """
    in_avals = [tangent_aval(get_aval(p)) for p in primals]
    if differentiable is None:
        differentiable = [True] * len(primals)
    with new_trace(StagingTrace, fold_known=True) as pe:
        tangent_args = [pe.new_arg(a) for a in in_avals]
        with new_trace(JVPTrace) as jt:
            args = [JVPTracer(jt, p, t) if d else p
                    for p, t, d in zip(primals, tangent_args, differentiable)]
            outs = fun(*args)
            pairs = [jt.unpack(o) for o in outs]
        out_primals = [p for p, _ in pairs]
        out_tangents = [t for _, t in pairs]
        nonzero = [type(t) is not Zero for t in out_tangents]
        closed = pe.to_jaxpr(tangent_args, [t for t in out_tangents if type(t) is not Zero])
    linear = ClosedJaxpr(dce_jaxpr(closed.jaxpr), closed.consts) if dce else closed
    out_avals = [tangent_aval(get_aval(p)) for p in out_primals]
    return out_primals, Linearized(linear, in_avals, nonzero, out_avals)


__all__ = ["Linearized", "linearize_flat", "Jaxpr"]
