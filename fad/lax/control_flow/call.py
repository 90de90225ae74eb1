"""``jit`` as a primitive: a call carrying its closed jaxpr.

``jit(f)`` called inside another transformation binds ``jit_p`` with the program it
traced, instead of evaluating that program operation by operation with the current trace.
Each interpreter then handles the call as a whole, with a rule that transforms the body
(a jaxpr-to-jaxpr transformation, made once per body and kept on it,
``ClosedJaxpr.derived``) and binds ``jit_p`` again:

- evaluation runs the body's lowered program (``fad.interpreters.lowering``);
- JVP calls the body's JVP program (``jvp_jaxpr``), batching its batched program
  (``batch_jaxpr``), transposition its transpose (``transpose_jaxpr``);
- partial evaluation (linearization, ``grad``) splits the body into the part computed
  now from known values and the part recorded, linear in the tangents
  (``partial_eval_jaxpr``);
- staging records one equation; DCE drops the outputs no one reads and the inputs the
  body no longer needs; lowering calls the body's lowered program.

So ``grad(jit(f))``, ``vmap(jit(f))`` and a ``jit`` inside another ``jit`` run compiled
programs rather than re-interpreting the body at every call.
"""
from __future__ import annotations

from fad.core.abstract import get_aval
from fad.core.ad_util import Zero, instantiate, tangent_aval
from fad.core.ir import ClosedJaxpr, Jaxpr, Var, dce_jaxpr, dce_rules, new_eqn
from fad.core.primitive import Primitive
from fad.core.trace import Tracer
from fad.interpreters.batching import batch_rules
from fad.interpreters.jaxpr_transforms import (batch_jaxpr, jvp_jaxpr, partial_eval_jaxpr,
                                               partial_eval_jaxpr_rules, transpose_jaxpr)
from fad.interpreters.jvp import jvp_rules
from fad.interpreters.lowering import lowering_rules
from fad.lax.control_flow.common import lift_tracer_consts, lowered
from fad.interpreters.staging import StagingTracer, partial_eval_rules
from fad.interpreters.transpose import UndefinedPrimal, transpose_rules

__all__ = ["jit_p", "call_params", "closed_call"]

jit_p = Primitive("jit", multiple_results=True)   # params: jaxpr (a ClosedJaxpr), name


def call_params(closed: ClosedJaxpr, name: str) -> dict:
    """The parameters of a ``jit_p`` call of ``closed``: one dict per body and name, so
    that equations calling the same body share it (replay and CSE compare it by
    identity).

    >>> import numpy as np, fad, fad.lax as lax
    >>> closed = fad.make_jaxpr(lambda x: lax.sin(x) * 2)(1.0)
    >>> sorted(lax.call_params(closed, 'f'))
    ['jaxpr', 'name']
    >>> lax.call_params(closed, 'f') is lax.call_params(closed, 'f')
    True
    """
    return closed.derived(("params", name), lambda: {"jaxpr": closed, "name": name})


def closed_call(closed: ClosedJaxpr, args, name: str) -> list:
    """Bind ``jit_p`` to call ``closed`` on ``args`` (flat). Constants of the body that
    are tracers (values of an enclosing transformation it closed over) become operands,
    so that each trace sees them; the others stay in the body.

    >>> import numpy as np, fad, fad.lax as lax
    >>> closed = fad.make_jaxpr(lambda x: x * x)(1.0)
    >>> lax.closed_call(closed, [np.float64(3.0)], 'square')
    [np.float64(9.0)]
    >>> fad.grad(lambda x: lax.closed_call(closed, [x], 'square')[0])(3.0)
    np.float64(6.0)
    """
    if any(isinstance(c, Tracer) for c in closed.consts):
        (closed,), lifted = lift_tracer_consts([closed])
        args = [*lifted, *args]
    return jit_p.bind_shared(list(args), call_params(closed, name))


@jit_p.def_impl
def _jit_impl(*args, jaxpr, name):
    return lowered(jaxpr)(*args)


@jit_p.def_abstract_eval
def _jit_abstract_eval(*avals, jaxpr, name):
    want = jaxpr.in_avals
    if len(avals) != len(want) or any(a.shape != w.shape or a.dtype != w.dtype
                                      for a, w in zip(avals, want)):
        got = ", ".join(a.str_short() for a in avals)
        takes = ", ".join(w.str_short() for w in want)
        raise TypeError(f"jit({name}): the program takes ({takes}), got ({got})")
    return jaxpr.out_avals


lowering_rules[jit_p] = lambda *avals, jaxpr, name: lowered(jaxpr)


# -- forward mode, batching, transposition: the body transformed, called again ---------------

def _jit_jvp(primals, tangents, *, jaxpr, name):
    nonzero = tuple(type(t) is not Zero for t in tangents)
    body, out_nonzero = jaxpr.derived(("jvp", nonzero), lambda: jvp_jaxpr(jaxpr, nonzero))
    outs = jit_p.bind_shared([*primals, *[t for t in tangents if type(t) is not Zero]],
                             call_params(body, name))
    n = len(jaxpr.jaxpr.outvars)
    nonzero_tangents = iter(outs[n:])
    return outs[:n], [next(nonzero_tangents) if nz else Zero(a)
                      for nz, a in zip(out_nonzero, _tangent_avals(jaxpr))]


def _tangent_avals(closed):
    return closed.derived("tangent_avals",
                          lambda: [tangent_aval(v.aval) for v in closed.jaxpr.outvars])


def _jit_batch(args, dims, *, jaxpr, name):
    size = next(_shape(x)[d] for x, d in zip(args, dims) if d is not None)
    dims = tuple(dims)
    body, out_dims = jaxpr.derived(("batch", size, dims),
                                   lambda: batch_jaxpr(jaxpr, size, dims))
    return jit_p.bind_shared(list(args), call_params(body, name)), out_dims


def _shape(x):
    return x.aval.shape if isinstance(x, Tracer) else get_aval(x).shape


def _jit_transpose(cts, *args, jaxpr, name):
    linear = tuple(type(a) is UndefinedPrimal for a in args)
    body = jaxpr.derived(("transpose", linear), lambda: transpose_jaxpr(jaxpr, linear))
    outs = jit_p.bind_shared(
        [*[a for a in args if type(a) is not UndefinedPrimal], *[instantiate(c) for c in cts]],
        call_params(body, f"transpose({name})"))
    cts_in = iter(outs)
    return [next(cts_in) if lin else None for lin in linear]


jvp_rules[jit_p] = _jit_jvp
batch_rules[jit_p] = _jit_batch
transpose_rules[jit_p] = _jit_transpose


# -- partial evaluation: the known part now, the unknown part recorded ----------------------

def _split(jaxpr, unknowns):
    return jaxpr.derived(("partial_eval", unknowns),
                         lambda: partial_eval_jaxpr(jaxpr, unknowns))


def _jit_partial_eval(trace, args, params):
    """The partial evaluator's rule: the body's known part runs now on the known operands
    (compiled), its unknown part is recorded, reading the residuals the known part
    computed."""
    jaxpr, name = params["jaxpr"], params["name"]
    unknowns = tuple(type(x) is StagingTracer and x._trace is trace for x in args)
    if all(unknowns):   # (nothing to compute now: the call as it is, its parameters shared)
        return trace.record(jit_p, args, params)
    known, unknown, out_unknowns, num_res = _split(jaxpr, unknowns)
    known_outs = trace.parent.process_primitive(
        jit_p, [x for x, u in zip(args, unknowns) if not u], call_params(known, name))
    n_known = len(known_outs) - num_res
    unknown_outs = []
    if any(out_unknowns):
        unknown_outs = trace.record(
            jit_p, [*known_outs[n_known:], *[x for x, u in zip(args, unknowns) if u]],
            call_params(unknown, name))
    known_iter, unknown_iter = iter(known_outs[:n_known]), iter(unknown_outs)
    return [next(unknown_iter) if u else next(known_iter) for u in out_unknowns]


def _jit_partial_eval_jaxpr(eqn, unknowns_in):
    """The same split of a ``jit_p`` equation of a jaxpr (``partial_eval_jaxpr``)."""
    jaxpr, name = eqn.params["jaxpr"], eqn.params["name"]
    unknowns = tuple(unknowns_in)
    known, unknown, out_unknowns, num_res = _split(jaxpr, unknowns)
    n_known = len(known.jaxpr.outvars) - num_res
    residuals = [Var(v.aval) for v in known.jaxpr.outvars[n_known:]]
    known_eqn = new_eqn((jit_p, [v for v, u in zip(eqn.invars, unknowns) if not u],
                         [*[v for v, u in zip(eqn.outvars, out_unknowns) if not u],
                          *residuals], call_params(known, name)))
    unknown_eqn = None
    if any(out_unknowns):
        unknown_eqn = new_eqn((jit_p, [*residuals, *[v for v, u in zip(eqn.invars, unknowns)
                                                    if u]],
                               [v for v, u in zip(eqn.outvars, out_unknowns) if u],
                               call_params(unknown, name)))
    return known_eqn, unknown_eqn, out_unknowns, residuals


partial_eval_rules[jit_p] = _jit_partial_eval
partial_eval_jaxpr_rules[jit_p] = _jit_partial_eval_jaxpr


# -- dead code: outputs no one reads, inputs the body no longer needs ------------------------

def _pruned(closed: ClosedJaxpr, used_outputs):
    """``closed`` computing only the outputs ``used_outputs`` says, from only the inputs
    that still needs; and which inputs those are."""
    jaxpr = closed.jaxpr
    body = dce_jaxpr(Jaxpr(jaxpr.constvars, jaxpr.invars,
                           [v for v, u in zip(jaxpr.outvars, used_outputs) if u], jaxpr.eqns))
    read = {v for e in body.eqns for v in e.invars} | set(body.outvars)
    used_inputs = [v in read for v in body.invars]
    body = Jaxpr(body.constvars, [v for v, u in zip(body.invars, used_inputs) if u],
                 body.outvars, body.eqns)
    return ClosedJaxpr(body, closed.consts), used_inputs


def _jit_dce(used_outputs, eqn):
    jaxpr, name = eqn.params["jaxpr"], eqn.params["name"]
    used = tuple(used_outputs)
    body, used_inputs = jaxpr.derived(("dce", used), lambda: _pruned(jaxpr, used))
    if all(used) and all(used_inputs):
        return used_inputs, eqn
    return used_inputs, new_eqn((jit_p, [v for v, u in zip(eqn.invars, used_inputs) if u],
                                 [v for v, u in zip(eqn.outvars, used) if u],
                                 call_params(body, name)))


dce_rules[jit_p] = _jit_dce
