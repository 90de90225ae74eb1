"""What the higher-order primitives share: tracing a Python function of pytrees to a
closed jaxpr, making the arrays of enclosing transformations it closes over explicit
operands, and the compiled program of a body."""
from __future__ import annotations

from fad.core.abstract import get_aval
from fad.core.ir import ClosedJaxpr, Jaxpr, Var, dce_jaxpr, has_effects
from fad.core.trace import Tracer, get_current_trace
from fad.errors import NotAnArrayError
from fad.interpreters.lowering import lower
from fad.interpreters.debug_checks import checks_on
from fad.interpreters.staging import trace_to_jaxpr
from fad.tree_util import tree_flatten, tree_unflatten

__all__ = ["trace_body", "lift_tracer_consts", "lowered", "aval_of", "hoist_loop_invariants"]


def aval_of(x):
    """The type of ``x``: a tracer's, or that of a NumPy or Python value."""
    return x.aval if isinstance(x, Tracer) else get_aval(x)


def trace_body(fun, in_tree, in_avals, what: str):
    """``fun`` (a function of the pytree ``in_tree``'s structure) staged for leaves of
    types ``in_avals``: ``(closed jaxpr of flat leaves, output treedef)``. ``what``
    names the function in the error for outputs that are not arrays."""
    store = {}
    origin = (what, getattr(fun, "__wrapped__", fun))   # (named by error messages)

    def flat(*leaves):
        get_current_trace().origin = origin
        out = fun(*tree_unflatten(in_tree, leaves))
        out_leaves, store["tree"] = tree_flatten(out)
        for x in out_leaves:
            if not isinstance(x, Tracer):
                try:
                    get_aval(x)
                except TypeError:
                    raise NotAnArrayError(
                        f"{what} returned a {type(x).__name__} among its outputs; it must "
                        "return arrays or scalars (or pytrees of them)") from None
        return out_leaves

    closed = trace_to_jaxpr(flat, list(in_avals))
    return closed, store["tree"]


def lift_tracer_consts(closeds):
    """The jaxprs ``closeds`` taking, before their own inputs, the tracers any of them
    closes over (values of enclosing transformations, which each trace must see as
    operands), and those tracers. Their NumPy constants stay theirs."""
    lifted = []
    for c in closeds:
        for x in c.consts:
            if isinstance(x, Tracer) and not any(x is y for y in lifted):
                lifted.append(x)
    if not lifted:
        return list(closeds), []
    out = []
    for c in closeds:
        jaxpr = c.jaxpr
        mine = {id(x): v for v, x in zip(jaxpr.constvars, c.consts) if isinstance(x, Tracer)}
        invars = [mine.get(id(x)) or _unused_var(x) for x in lifted]
        kept = [(v, x) for v, x in zip(jaxpr.constvars, c.consts) if not isinstance(x, Tracer)]
        body = Jaxpr([v for v, _ in kept], [*invars, *jaxpr.invars], jaxpr.outvars, jaxpr.eqns)
        out.append(ClosedJaxpr(body, [x for _, x in kept]))
    return out, lifted


def _unused_var(x):
    return Var(x.aval)   # (an input this jaxpr ignores: another one closes over ``x``)


def lowered(closed: ClosedJaxpr):
    """The body's compiled program (flat arguments in, flat list out), made once."""
    # (compiled with or without the debug checks: one program for each)
    return closed.derived(("lowered", checks_on()), lambda: lower(closed).straight)


def hoist_loop_invariants(closed: ClosedJaxpr, num_consts: int):
    """Split a loop body whose first ``num_consts`` inputs are the same at every step:
    ``(invariants, body)``, or ``(None, closed)`` if no equation depends on those alone.

    ``invariants`` maps the constants to the values the body computes from them (and its
    own closed-over arrays) alone; ``body`` takes ``[*constants, *those values, *the
    other inputs]``. Computed once outside the loop, such a value is not recomputed at
    every step, and the partial evaluator passes it to a reverse pass as a constant, not
    stacked per step (``exp(c)`` of a constant ``c``, the transpose of a weight matrix
    in a backward loop). Equations with effects stay in the loop.
    """
    jaxpr = closed.jaxpr
    invariant = set(jaxpr.constvars) | set(jaxpr.invars[:num_consts])
    hoisted = []
    for eqn in jaxpr.eqns:
        if eqn.outvars and all(type(v) is not Var or v in invariant for v in eqn.invars) \
                and not has_effects(eqn):
            hoisted.append(eqn)
            invariant.update(eqn.outvars)
    if not hoisted:
        return None, closed
    rest = [e for e in jaxpr.eqns if not any(e is h for h in hoisted)]
    made = {v for e in hoisted for v in e.outvars}
    read = [v for v in dict.fromkeys(
        [v for e in rest for v in e.invars if type(v) is Var and v in made]
        + [v for v in jaxpr.outvars if type(v) is Var and v in made])]
    consts = jaxpr.invars[:num_consts]
    invariants = ClosedJaxpr(dce_jaxpr(Jaxpr(jaxpr.constvars, consts, read, hoisted)),
                             closed.consts)
    body = ClosedJaxpr(Jaxpr(jaxpr.constvars, [*consts, *read, *jaxpr.invars[num_consts:]],
                             jaxpr.outvars, rest), closed.consts)
    return invariants, body
