"""``checkpoint`` (``remat``) as a primitive: a call whose intermediates the backward pass
recomputes instead of keeping.

``remat_p`` carries its body as a closed jaxpr, as ``jit_p`` does, and every interpreter
but one treats it as ``jit``'s call does: evaluation and lowering run the body's compiled
program, JVP binds ``remat_p`` on the body's JVP, batching on the batched body,
transposition on the transposed body (which runs the recomputation forward, then the
linear part backwards), DCE prunes it.

The difference is partial evaluation, the step of ``grad`` that decides what the backward
pass keeps. ``jit``'s call saves every known value its unknown part reads (the
intermediates: ``cos(x)`` for ``sin``). ``remat_p`` saves only its known *inputs*, and
the values of the equations its ``policy`` calls saveable; its unknown part recomputes
the rest from those, then does the tangent work. So ``grad`` of a checkpointed function
holds its inputs between the forward and the backward pass, not its intermediates, and
computes the forward part twice.

A policy is ``policy(prim, *avals, **params) -> bool``: whether the result of an
equation of the forward computation may be saved (JAX's convention).
"""
from __future__ import annotations

from fad.core.abstract import get_aval
from fad.core.ad_util import Zero, instantiate, tangent_aval, zeros_like_aval
from fad.core.ir import ClosedJaxpr, Jaxpr, Var, dce_jaxpr, dce_rules, new_eqn, sub_jaxprs
from fad.core.primitive import Primitive
from fad.core.trace import Tracer
from fad.interpreters.batching import batch_rules
from fad.interpreters.eval import eval_jaxpr
from fad.interpreters.jaxpr_transforms import (batch_jaxpr, jvp_jaxpr, partial_eval_jaxpr,
                                               partial_eval_jaxpr_rules, transpose_jaxpr)
from fad.interpreters.jvp import jvp_rules
from fad.interpreters.lowering import lowering_rules
from fad.interpreters.partial_eval import linearize_flat, linearize_rules
from fad.interpreters.scaled import materialize
from fad.interpreters.staging import StagingTracer, partial_eval_rules, trace_to_jaxpr
from fad.interpreters.transpose import UndefinedPrimal, transpose_rules
from fad.lax.control_flow.common import lift_tracer_consts, lowered

__all__ = ["remat_p", "remat_call", "nothing_saveable", "everything_saveable",
           "dots_saveable", "dots_with_no_batch_dims_saveable"]

# params: jaxpr (a ClosedJaxpr), policy, prevent_cse
remat_p = Primitive("remat", multiple_results=True)


# -- policies ---------------------------------------------------------------------------------

def nothing_saveable(prim, *avals, **params) -> bool:
    """Save nothing: the backward pass recomputes every intermediate (the default).

    >>> import numpy as np, fad, fad.lax as lax
    >>> f = fad.checkpoint(lambda x: lax.sin(lax.sin(x)), policy=lax.nothing_saveable)
    >>> bool(np.isclose(fad.grad(f)(1.0), np.cos(np.sin(1.0)) * np.cos(1.0)))
    True
    """
    return False


def everything_saveable(prim, *avals, **params) -> bool:
    """Save everything, as without ``checkpoint``.

    >>> import numpy as np, fad, fad.lax as lax
    >>> f = fad.checkpoint(lambda x: lax.sin(x) * x, policy=lax.everything_saveable)
    >>> bool(np.isclose(fad.grad(f)(1.0), np.cos(1.0) + np.sin(1.0)))
    True
    """
    return True


def dots_saveable(prim, *avals, **params) -> bool:
    """Save the results of matrix products (``dot_general``), recompute the rest: the
    products are the expensive part, the elementwise work around them is cheap.

    >>> import numpy as np, fad, fad.lax as lax
    >>> lax.dots_saveable(lax.dot_general_p), lax.dots_saveable(lax.sin_p)
    (True, False)
    >>> g = lambda w: lax.sin(w @ w).sum()
    >>> f = fad.checkpoint(g, policy=lax.dots_saveable)
    >>> bool(np.allclose(fad.grad(f)(np.eye(2)), fad.grad(g)(np.eye(2))))
    True
    """
    return prim.name == "dot_general"


def dots_with_no_batch_dims_saveable(prim, *avals, **params) -> bool:
    """Save the results of ``dot_general`` without batch dimensions, recompute the rest.

    >>> import numpy as np, fad, fad.lax as lax
    >>> g = lambda w: lax.sin(w @ w).sum()
    >>> f = fad.checkpoint(g, policy=lax.dots_with_no_batch_dims_saveable)
    >>> w = np.array([[1.0, 2.0], [0.0, 1.0]])
    >>> bool(np.allclose(fad.grad(f)(w), fad.grad(g)(w)))
    True
    """
    if prim.name != "dot_general":
        return False
    (_, _), (lhs_batch, _) = params["dimension_numbers"]
    return not lhs_batch


# -- binding ---------------------------------------------------------------------------------

def remat_params(closed: ClosedJaxpr, policy, prevent_cse: bool) -> dict:
    """The parameters of a ``remat_p`` call of ``closed``: one dict per body and options,
    so that equations calling the same body share it (replay and CSE compare by
    identity)."""
    return closed.derived(("remat_params", policy, prevent_cse),
                          lambda: {"jaxpr": closed, "policy": policy,
                                   "prevent_cse": prevent_cse})


def remat_call(closed: ClosedJaxpr, args, policy=None, prevent_cse: bool = True) -> list:
    """Bind ``remat_p`` to call ``closed`` on ``args`` (flat), the tracers it closes over
    made operands (``lift_tracer_consts``).

    >>> import numpy as np, fad, fad.lax as lax
    >>> closed = fad.make_jaxpr(lambda x: x * x * x)(1.0)
    >>> fad.grad(lambda x: lax.remat_call(closed, [x])[0])(2.0)
    np.float64(12.0)
    """
    policy = nothing_saveable if policy is None else policy
    if any(isinstance(c, Tracer) for c in closed.consts):
        (closed,), lifted = lift_tracer_consts([closed])
        args = [*lifted, *args]
    return remat_p.bind_shared(list(args), remat_params(closed, policy, bool(prevent_cse)))


@remat_p.def_impl
def _remat_impl(*args, jaxpr, policy, prevent_cse):
    return lowered(jaxpr)(*args)


@remat_p.def_abstract_eval
def _remat_abstract_eval(*avals, jaxpr, policy, prevent_cse):
    want = jaxpr.in_avals
    if len(avals) != len(want) or any(a.shape != w.shape or a.dtype != w.dtype
                                      for a, w in zip(avals, want)):
        got = ", ".join(a.str_short() for a in avals)
        takes = ", ".join(w.str_short() for w in want)
        raise TypeError(f"checkpoint: the program takes ({takes}), got ({got})")
    return jaxpr.out_avals


lowering_rules[remat_p] = lambda *avals, jaxpr, policy, prevent_cse: lowered(jaxpr)


# -- forward mode, batching, transposition: the body transformed, called again -----------------

def _remat_jvp(primals, tangents, *, jaxpr, policy, prevent_cse):
    nonzero = tuple(type(t) is not Zero for t in tangents)
    body, out_nonzero = jaxpr.derived(("jvp", nonzero), lambda: jvp_jaxpr(jaxpr, nonzero))
    outs = remat_p.bind_shared([*primals, *[t for t in tangents if type(t) is not Zero]],
                               remat_params(body, policy, prevent_cse))
    n = len(jaxpr.jaxpr.outvars)
    out_tangents = iter(outs[n:])
    return outs[:n], [next(out_tangents) if nz else Zero(tangent_aval(a))
                      for nz, a in zip(out_nonzero, jaxpr.out_avals)]


def _remat_batch(args, dims, *, jaxpr, policy, prevent_cse):
    size = next(_aval(x).shape[d] for x, d in zip(args, dims) if d is not None)
    dims = tuple(dims)
    body, out_dims = jaxpr.derived(("batch", size, dims),
                                   lambda: batch_jaxpr(jaxpr, size, dims))
    return remat_p.bind_shared(list(args), remat_params(body, policy, prevent_cse)), out_dims


def _aval(x):
    return x.aval if isinstance(x, Tracer) else get_aval(x)


def _remat_transpose(cts, *args, jaxpr, policy, prevent_cse):
    # The transposed body evaluates the body's non-linear equations (the recomputation)
    # forward before running its linear ones backwards (``backward_pass``).
    linear = tuple(type(a) is UndefinedPrimal for a in args)
    body = jaxpr.derived(("transpose", linear), lambda: transpose_jaxpr(jaxpr, linear))
    outs = remat_p.bind_shared(
        [*[a for a in args if type(a) is not UndefinedPrimal], *[instantiate(c) for c in cts]],
        remat_params(body, policy, prevent_cse))
    cts_in = iter(outs)
    return [next(cts_in) if lin else None for lin in linear]


def _remat_linearize(pe, primals, tangents, *, jaxpr, policy, prevent_cse):
    """``linearize``'s rule (saving nothing, floating-point operands and results): the
    results now, and one ``remat`` equation recorded for the tangent work, whose body
    recomputes the function from its inputs *linearizing it as it goes* — so that, as
    in ``grad`` without ``checkpoint``, the tangent work of an elementwise chain folds
    into one coefficient built step by step (``Scaled``), and the backward pass keeps
    no more than a few arrays alive at a time. ``None`` (the general path: JVP, then
    partial evaluation's split) for other policies and types."""
    if policy is not nothing_saveable or not all(
            a.dtype.kind in "fc" for a in [*jaxpr.in_avals, *jaxpr.out_avals]) or \
            jaxpr.derived("forward_only", lambda: _calls_forward_only(jaxpr.jaxpr)):
        return None
    ans = remat_p.bind(*primals, jaxpr=jaxpr, policy=policy, prevent_cse=prevent_cse)
    nonzero = tuple(t is not None for t in tangents)
    body = jaxpr.derived(("relinearized", nonzero), lambda: _relinearized(jaxpr, nonzero))
    out_tangents = pe.record(
        remat_p, [*primals, *[materialize(t) for t in tangents if t is not None]],
        remat_params(body, policy, prevent_cse))
    return ans, out_tangents


def _calls_forward_only(jaxpr) -> bool:
    """Whether ``jaxpr`` (or a body inside it) calls a ``custom_vjp`` function, which has
    no forward mode: the rule above binds the body itself for the results, which an
    enclosing forward mode (``hessian``) could not differentiate; the general path binds
    the forward program of its linearization instead."""
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "custom_vjp_call":
            return True
        if any(_calls_forward_only(sub.jaxpr if isinstance(sub, ClosedJaxpr) else sub)
               for _, sub in sub_jaxprs(eqn.params)):
            return True
    return False


def _relinearized(closed: ClosedJaxpr, nonzero) -> ClosedJaxpr:
    """A program of ``[*the inputs, *the tangents of those with nonzero]`` giving the
    tangents of the outputs, by linearizing ``closed`` at those inputs (recomputing it)
    and applying the linear part."""
    n, avals = len(closed.in_avals), closed.in_avals

    def tangents_out(*xs):
        primals, tangents = xs[:n], iter(xs[n:])
        _, lin = linearize_flat(lambda *p: eval_jaxpr(closed, (), *p), list(primals),
                                differentiable=list(nonzero))
        full = [next(tangents) if nz else zeros_like_aval(a) for nz, a in zip(nonzero, avals)]
        return [instantiate(t) for t in lin(*full)]

    return trace_to_jaxpr(tangents_out, [*avals, *[a for a, nz in zip(avals, nonzero) if nz]])


jvp_rules[remat_p] = _remat_jvp
batch_rules[remat_p] = _remat_batch
transpose_rules[remat_p] = _remat_transpose
linearize_rules[remat_p] = _remat_linearize


# -- partial evaluation: save the inputs (and what the policy allows), recompute the rest -------

def _only_inputs_read(jaxpr: Jaxpr):
    """``jaxpr`` without the inputs it does not read, and which inputs it keeps."""
    read = {a for e in jaxpr.eqns for a in e.invars if type(a) is Var}
    read.update(a for a in jaxpr.outvars if type(a) is Var)
    used = [v in read for v in jaxpr.invars]
    return Jaxpr(jaxpr.constvars, [v for v, u in zip(jaxpr.invars, used) if u],
                 jaxpr.outvars, jaxpr.eqns), used


def _split(closed: ClosedJaxpr, unknowns, policy):
    """The body split for inputs ``unknowns``: ``(known, unknown, out_unknowns,
    used_known, n_saved, used_unknown)``.

    ``known`` maps the known inputs to the known outputs and the ``n_saved`` values of
    saveable equations that the unknown part reads. ``unknown`` takes ``[*the known
    inputs with used_known, *those saved values, *the unknown inputs with used_unknown]``
    and computes the unknown outputs, recomputing every other known value it needs.
    """
    known, unknown, out_unknowns, num_res = partial_eval_jaxpr(closed, unknowns)
    k, u = known.jaxpr, unknown.jaxpr
    residuals = k.outvars[len(k.outvars) - num_res:]
    saveable, recomputed = [], []
    for e in k.eqns:
        keep = policy(e.primitive, *[a.aval for a in e.invars], **e.params)
        (saveable if keep else recomputed).append(e)
    candidates = [v for e in saveable for v in e.outvars]
    # The unknown part as the known equations not saved followed by the unknown ones,
    # reading the residuals where the known part defines them.
    to_known = dict(zip(u.invars[:num_res], residuals))
    u_eqns = [new_eqn((e.primitive, [to_known.get(a, a) if type(a) is Var else a
                                     for a in e.invars], e.outvars, e.params))
              for e in u.eqns]
    u_outs = [to_known.get(a, a) if type(a) is Var else a for a in u.outvars]
    u_ins = u.invars[num_res:]
    full = dce_jaxpr(Jaxpr(k.constvars, [*k.invars, *candidates, *u_ins], u_outs,
                           [*recomputed, *u_eqns]))
    body, used = _only_inputs_read(full)
    n_k, n_c = len(k.invars), len(candidates)
    used_known, used_saved, used_unknown = used[:n_k], used[n_k:n_k + n_c], used[n_k + n_c:]
    saved = [v for v, s in zip(candidates, used_saved) if s]
    n_known_out = len(k.outvars) - num_res
    known_body = ClosedJaxpr(dce_jaxpr(Jaxpr(k.constvars, k.invars,
                                             [*k.outvars[:n_known_out], *saved], k.eqns)),
                             known.consts)
    # (staged again: fresh variables, none shared with the known program)
    unknown_body = trace_to_jaxpr(
        lambda *xs: eval_jaxpr(ClosedJaxpr(body, known.consts), (), *xs), body.in_avals)
    return known_body, unknown_body, out_unknowns, used_known, len(saved), used_unknown


def _split_of(jaxpr, unknowns, policy):
    return jaxpr.derived(("remat_split", unknowns, policy),
                         lambda: _split(jaxpr, unknowns, policy))


def _remat_partial_eval(trace, args, params):
    """The partial evaluator's rule: the known outputs now (and the saveable values), the
    unknown part recorded, reading the known inputs rather than intermediates."""
    jaxpr, policy, prevent_cse = params["jaxpr"], params["policy"], params["prevent_cse"]
    unknowns = tuple(type(x) is StagingTracer and x._trace is trace for x in args)
    if all(unknowns):
        return trace.record(remat_p, args, params)
    known_body, unknown_body, out_uk, used_known, n_saved, used_unknown = _split_of(
        jaxpr, unknowns, policy)
    known_args = [x for x, u in zip(args, unknowns) if not u]
    known_outs = []
    if known_body.jaxpr.outvars:
        known_outs = trace.parent.process_primitive(
            remat_p, known_args, remat_params(known_body, policy, prevent_cse))
    n_known = len(known_outs) - n_saved
    unknown_outs = []
    if any(out_uk):
        unknown_args = [x for x, u in zip(args, unknowns) if u]
        unknown_outs = trace.record(
            remat_p, [*[x for x, u in zip(known_args, used_known) if u], *known_outs[n_known:],
                      *[x for x, u in zip(unknown_args, used_unknown) if u]],
            remat_params(unknown_body, policy, prevent_cse))
    known_iter, unknown_iter = iter(known_outs[:n_known]), iter(unknown_outs)
    return [next(unknown_iter) if u else next(known_iter) for u in out_uk]


def _remat_partial_eval_jaxpr(eqn, unknowns_in):
    """The same split of a ``remat_p`` equation of a jaxpr (``partial_eval_jaxpr``: a
    checkpointed function inside ``scan``, ``jit`` or another ``checkpoint``)."""
    p = eqn.params
    unknowns = tuple(unknowns_in)
    known_body, unknown_body, out_uk, used_known, n_saved, used_unknown = _split_of(
        p["jaxpr"], unknowns, p["policy"])
    saved = [Var(a) for a in known_body.out_avals[len(known_body.out_avals) - n_saved:]]
    known_eqn = None
    if known_body.jaxpr.outvars:
        known_eqn = new_eqn((remat_p, [v for v, u in zip(eqn.invars, unknowns) if not u],
                             [*[v for v, u in zip(eqn.outvars, out_uk) if not u], *saved],
                             remat_params(known_body, p["policy"], p["prevent_cse"])))
    unknown_eqn = None
    if any(out_uk):
        known_in = [v for v, u in zip(eqn.invars, unknowns) if not u]
        unknown_in = [v for v, u in zip(eqn.invars, unknowns) if u]
        unknown_eqn = new_eqn((
            remat_p, [*[v for v, u in zip(known_in, used_known) if u], *saved,
                      *[v for v, u in zip(unknown_in, used_unknown) if u]],
            [v for v, u in zip(eqn.outvars, out_uk) if u],
            remat_params(unknown_body, p["policy"], p["prevent_cse"])))
    return known_eqn, unknown_eqn, out_uk, saved


partial_eval_rules[remat_p] = _remat_partial_eval
partial_eval_jaxpr_rules[remat_p] = _remat_partial_eval_jaxpr


# -- dead code -------------------------------------------------------------------------------

def _pruned(closed: ClosedJaxpr, used_outputs):
    jaxpr = closed.jaxpr
    body, used_inputs = _only_inputs_read(dce_jaxpr(Jaxpr(
        jaxpr.constvars, jaxpr.invars,
        [v for v, u in zip(jaxpr.outvars, used_outputs) if u], jaxpr.eqns)))
    return ClosedJaxpr(body, closed.consts), used_inputs


def _remat_dce(used_outputs, eqn):
    p = eqn.params
    used = tuple(used_outputs)
    body, used_inputs = p["jaxpr"].derived(("dce", used), lambda: _pruned(p["jaxpr"], used))
    if all(used) and all(used_inputs):
        return used_inputs, eqn
    return used_inputs, new_eqn((remat_p, [v for v, u in zip(eqn.invars, used_inputs) if u],
                                 [v for v, u in zip(eqn.outvars, used) if u],
                                 remat_params(body, p["policy"], p["prevent_cse"])))


dce_rules[remat_p] = _remat_dce
