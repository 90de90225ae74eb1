"""Evaluation: run a jaxpr equation by equation with the current trace."""
from __future__ import annotations

from fad.core.ir import ClosedJaxpr, Jaxpr, Literal, check_inputs


def eval_jaxpr(jaxpr: Jaxpr | ClosedJaxpr, consts=(), *args):
    """Run ``jaxpr`` on ``args`` (flat list of arrays), returning the flat outputs.

    ``jaxpr`` may also be a ``ClosedJaxpr``, with ``consts`` empty.
    Each equation is bound with the current trace, so evaluating a jaxpr under a
    transformation transforms it: ``eval_jaxpr`` is also how jaxprs are re-traced.
    """
    if isinstance(jaxpr, ClosedJaxpr):
        jaxpr, consts = _opened(jaxpr, consts)
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


def _opened(closed: ClosedJaxpr, consts):
    """``(jaxpr, consts)`` of ``closed``, which carries its own constants."""
    if consts is not None and (not isinstance(consts, (tuple, list)) or len(consts)):
        raise TypeError("eval_jaxpr: a ClosedJaxpr carries its own constants; pass "
                        "eval_jaxpr(closed, (), *args) or eval_jaxpr(closed.jaxpr, "
                        "closed.consts, *args)")
    return closed.jaxpr, closed.consts


def eval_jaxpr_checked(jaxpr: Jaxpr | ClosedJaxpr, consts=(), *args):
    """``eval_jaxpr`` with the constants and arguments checked against the jaxpr's
    variables first (their numbers, shapes and dtypes): ``fad.eval_jaxpr``, for jaxprs
    and values from users. (fad's own callers, which pass what a jaxpr was made for,
    use ``eval_jaxpr``.)

    >>> import numpy as np, fad
    >>> closed = fad.make_jaxpr(lambda x: x * 2.0)(np.ones(2))
    >>> fad.eval_jaxpr(closed.jaxpr, closed.consts, np.arange(2.0))
    [array([0., 2.])]
    >>> fad.eval_jaxpr(closed, (), np.ones(3))
    Traceback (most recent call last):
    TypeError: eval_jaxpr: argument 0 has type f64[3], but the jaxpr expects f64[2]
    """
    if isinstance(jaxpr, ClosedJaxpr):
        jaxpr, consts = _opened(jaxpr, consts)
    consts = () if consts is None else list(consts)
    check_inputs(jaxpr, consts, args)
    return eval_jaxpr(jaxpr, consts, *args)
