"""Evaluation: run a jaxpr equation by equation with the current trace."""
from __future__ import annotations

from fad.core.ir import ClosedJaxpr, Jaxpr, Literal


def eval_jaxpr(jaxpr: Jaxpr | ClosedJaxpr, consts=(), *args):
    """Run ``jaxpr`` on ``args`` (flat list of arrays), returning the flat outputs.

    ``jaxpr`` may also be a ``ClosedJaxpr``, with ``consts`` empty.
    Each equation is bound with the current trace, so evaluating a jaxpr under a
    transformation transforms it: ``eval_jaxpr`` is also how jaxprs are re-traced.
    """
    if isinstance(jaxpr, ClosedJaxpr):
        if consts is not None and (not isinstance(consts, (tuple, list)) or len(consts)):
            raise TypeError("eval_jaxpr: a ClosedJaxpr carries its own constants; pass "
                            "eval_jaxpr(closed, (), *args) or eval_jaxpr(closed.jaxpr, "
                            "closed.consts, *args)")
        jaxpr, consts = jaxpr.jaxpr, jaxpr.consts
    if len(args) != len(jaxpr.invars):
        raise TypeError(f"eval_jaxpr: the jaxpr takes {len(jaxpr.invars)} arguments, "
                        f"got {len(args)}")
    env = dict(zip(jaxpr.constvars, consts))
    env.update(zip(jaxpr.invars, args))

    def read(atom):
        return atom.val if type(atom) is Literal else env[atom]

    for eqn in jaxpr.eqns:
        outs = eqn.primitive.bind(*map(read, eqn.invars), **eqn.params)
        if eqn.primitive.multiple_results:
            env.update(zip(eqn.outvars, outs))
        else:
            env[eqn.outvars[0]] = outs
    return [read(v) for v in jaxpr.outvars]
