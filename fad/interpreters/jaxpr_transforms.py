"""Jaxpr-to-jaxpr transformations: the interpreters applied to a program rather than to a
function.

Each takes a ``ClosedJaxpr`` and returns new ones (the input is never changed):

- ``jvp_jaxpr``: forward mode. Primals and the nonzero input tangents in; primal outputs
  and the output tangents that are not structurally zero out.
- ``batch_jaxpr``: ``vmap``. Each input batched along an axis of its own (or not); the
  outputs and where their batch axes are.
- ``partial_eval_jaxpr``: split a program whose inputs are partly known into a *known*
  program (computable now, which also saves the residuals) and an *unknown* one (the rest,
  reading the residuals). On the JVP of a program with the tangents unknown, it is
  linearization; the unknown program is then linear.
- ``transpose_jaxpr``: reverse mode of a program linear in some of its inputs.

All but partial evaluation re-trace the program (``eval_jaxpr``) under the trace-based
interpreter of the transformation and stage what comes out (``trace_to_jaxpr``), so they
need nothing beyond the rules the primitives already have. Partial evaluation is a walk
over the equations, marking each known or unknown.

Why: a higher-order primitive (``jit``'s call, ``cond``, ``scan``, ``while``) carries its
body as a closed jaxpr, and its rule for an interpreter is "transform the body with the
function here, bind the primitive again on the new body": its JVP rule binds itself on
``jvp_jaxpr`` of the body, its batching rule on ``batch_jaxpr``, its transpose on
``transpose_jaxpr``, and its partial evaluation splits into a known call and an unknown
call with ``partial_eval_jaxpr``. The flags (``instantiate``) are there for those rules: a
loop's carried value must have the same type (tangent present, batched) on entry and exit,
and both branches of a ``cond`` must agree. Primitives whose body splits register a rule in
``partial_eval_jaxpr_rules``.

>>> import numpy as np, fad, fad.numpy as fnp
>>> closed = fad.make_jaxpr(lambda x, y: fnp.sin(x) * y)(1.0, 2.0)
>>> jvp, out_nonzero = jvp_jaxpr(closed, [True, False])
>>> fad.eval_jaxpr(jvp, (), 0.0, 2.0, 1.0)    # x, y, the tangent of x
[np.float64(0.0), np.float64(2.0)]
"""
from __future__ import annotations

import numpy as np

from fad.core.ad_util import Zero, tangent_aval, zeros_like_aval
from fad.core.ir import ClosedJaxpr, Jaxpr, Var, dce_jaxpr, new_eqn
from fad.core.trace import new_trace
from fad.interpreters import batching
from fad.interpreters.batching import BatchTrace, BatchTracer
from fad.interpreters.eval import eval_jaxpr
from fad.interpreters.jvp import jvp_flat
from fad.interpreters.staging import trace_to_jaxpr
from fad.interpreters.transpose import UndefinedPrimal, backward_pass

__all__ = ["jvp_jaxpr", "batch_jaxpr", "partial_eval_jaxpr", "transpose_jaxpr",
           "partial_eval_jaxpr_rules"]


def _flags(value, n: int, name: str, fname: str) -> list[bool]:
    """``value`` (a bool for all, or one per entry) as a list of ``n`` bools."""
    if isinstance(value, bool):
        return [value] * n
    flags = list(value)
    if len(flags) != n:
        raise ValueError(f"{fname}: {name} has {len(flags)} entries, the jaxpr needs {n} "
                         "(or a single bool for all)")
    return [bool(f) for f in flags]


# -- forward mode ---------------------------------------------------------------------------

def jvp_jaxpr(closed: ClosedJaxpr, nonzero, instantiate=False) -> tuple[ClosedJaxpr, list[bool]]:
    """The forward mode of ``closed``: ``(jaxpr, out_nonzero)``.

    ``jaxpr`` takes ``[*primals, *the tangents of the inputs with nonzero[i]]`` and returns
    ``[*primal outputs, *the tangents of the outputs with out_nonzero[i]]``; the others are
    structurally zero. ``instantiate`` (a bool, or one per output) makes an output's
    tangent exist (zeros if need be). Tangent types are ``tangent_aval`` of the primals'.
    """
    in_avals, out_avals = closed.in_avals, closed.out_avals
    nonzero = _flags(nonzero, len(in_avals), "nonzero", "jvp_jaxpr")
    inst = _flags(instantiate, len(out_avals), "instantiate", "jvp_jaxpr")
    n = len(in_avals)
    out_nonzero: list[bool] = []

    def jvp_of_closed(*args):
        tangents = iter(args[n:])
        in_tangents = [next(tangents) if nz else Zero(tangent_aval(a))
                       for a, nz in zip(in_avals, nonzero)]
        outs, out_tangents = jvp_flat(lambda *xs: eval_jaxpr(closed, (), *xs),
                                      list(args[:n]), in_tangents)
        kept = []
        for t, aval, force in zip(out_tangents, out_avals, inst):
            if type(t) is Zero and force:
                t = zeros_like_aval(tangent_aval(aval))
            out_nonzero.append(type(t) is not Zero)
            if type(t) is not Zero:
                kept.append(t)
        return [*outs, *kept]

    tangent_avals = [tangent_aval(a) for a, nz in zip(in_avals, nonzero) if nz]
    return trace_to_jaxpr(jvp_of_closed, [*in_avals, *tangent_avals]), out_nonzero


# -- batching -------------------------------------------------------------------------------

def batch_jaxpr(closed: ClosedJaxpr, axis_size: int, in_dims,
                instantiate=False) -> tuple[ClosedJaxpr, list]:
    """``vmap`` of ``closed``: ``(jaxpr, out_dims)``.

    Input ``i`` of ``jaxpr`` has a batch axis of ``axis_size`` at ``in_dims[i]`` (negative
    counts from the end of the batched array), or is unbatched (``None``: the type it had).
    ``out_dims[i]`` is where output ``i``'s batch axis is (non-negative), or ``None`` if it
    does not depend on the batch element. ``instantiate`` (a bool, or one per output)
    puts an output's batch axis first, broadcasting an unbatched one.
    """
    in_avals, n_out = closed.in_avals, len(closed.out_avals)
    if len(in_dims) != len(in_avals):
        raise ValueError(f"batch_jaxpr: in_dims has {len(in_dims)} entries, the jaxpr takes "
                         f"{len(in_avals)} inputs")
    inst = _flags(instantiate, n_out, "instantiate", "batch_jaxpr")
    dims = [None if d is None else _batch_axis(a.ndim + 1, d) for a, d in zip(in_avals, in_dims)]
    batched_avals = [a if d is None else a.update(shape=a.shape[:d] + (axis_size,) + a.shape[d:])
                     for a, d in zip(in_avals, dims)]
    out_dims: list = []

    def batched_closed(*args):
        with new_trace(BatchTrace, axis_size) as trace:
            tracers = [x if d is None else BatchTracer(trace, x, d) for x, d in zip(args, dims)]
            pairs = [trace.unpack(o) for o in eval_jaxpr(closed, (), *tracers)]
        outs = []
        for (x, d), force in zip(pairs, inst):
            if force and d != 0:   # (on the staging level: the batch trace is closed)
                x, d = batching.batch_axis_at(x, d, axis_size), 0
            outs.append(x)
            out_dims.append(d)
        return outs

    return trace_to_jaxpr(batched_closed, batched_avals), out_dims


def _batch_axis(ndim: int, d) -> int:
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not -ndim <= d < ndim:
        raise ValueError(f"batch_jaxpr: in_dims entry {d!r} is not an axis of an input of "
                         f"{ndim} axes when batched (an int in [{-ndim}, {ndim}) or None)")
    return int(d) % ndim



# -- partial evaluation ---------------------------------------------------------------------

# primitive -> rule(eqn, unknowns_in) -> (known_eqn or None, unknown_eqn or None,
# out_unknowns, residual_vars): how ``partial_eval_jaxpr`` splits an equation some of
# whose inputs are unknown (``unknowns_in[i]``), for the higher-order primitives whose
# body splits (a call computes its known part in the known program, the rest in the
# unknown one). ``known_eqn`` reads known atoms only and defines the known outputs
# (``out_unknowns[i]`` False) and the new variables ``residual_vars``; ``unknown_eqn``
# defines the unknown outputs and may read those residuals, any other known variable and
# the unknown ones. Without a rule the equation is wholly unknown.
partial_eval_jaxpr_rules: dict = {}


def partial_eval_jaxpr(closed: ClosedJaxpr, unknowns,
                       instantiate=False) -> tuple[ClosedJaxpr, ClosedJaxpr, list[bool], int]:
    """Split ``closed`` whose inputs are known (``unknowns[i]`` False) or not:
    ``(known, unknown, out_unknowns, num_res)``.

    ``known`` maps the known inputs to ``[*the known outputs, *residuals]``; ``unknown``
    maps ``[*residuals, *the unknown inputs]`` to the unknown outputs (``out_unknowns``).
    An equation is known when none of its inputs is unknown (or split by its rule in
    ``partial_eval_jaxpr_rules``); the residuals are the known variables that the unknown
    equations and outputs read. ``instantiate`` (a bool, or one per output) makes a known
    output unknown (passed through as a residual). The constants stay on the known side.
    """
    jaxpr = closed.jaxpr
    unknowns = _flags(unknowns, len(jaxpr.invars), "unknowns", "partial_eval_jaxpr")
    inst = _flags(instantiate, len(jaxpr.outvars), "instantiate", "partial_eval_jaxpr")
    unknown_vars = {v for v, u in zip(jaxpr.invars, unknowns) if u}
    known_eqns, unknown_eqns = [], []
    for eqn in jaxpr.eqns:
        unknowns_in = [type(a) is Var and a in unknown_vars for a in eqn.invars]
        if not any(unknowns_in):
            known_eqns.append(eqn)
            continue
        rule = partial_eval_jaxpr_rules.get(eqn.primitive)
        if rule is None:
            unknown_eqns.append(eqn)
            unknown_vars.update(eqn.outvars)
            continue
        known_eqn, unknown_eqn, out_unknowns, _ = rule(eqn, unknowns_in)
        if known_eqn is not None:
            known_eqns.append(known_eqn)
        if unknown_eqn is not None:
            unknown_eqns.append(unknown_eqn)
        unknown_vars.update(v for v, u in zip(eqn.outvars, out_unknowns) if u)

    out_unknowns = [force or (type(a) is Var and a in unknown_vars)
                    for a, force in zip(jaxpr.outvars, inst)]
    unknown_outs = [a for a, u in zip(jaxpr.outvars, out_unknowns) if u]
    unknown_invars = [v for v, u in zip(jaxpr.invars, unknowns) if u]
    # Drop the dead unknown equations first: the residuals are what the live ones read.
    unknown_jaxpr = dce_jaxpr(Jaxpr([], unknown_invars, unknown_outs, unknown_eqns))
    residuals = _residuals(unknown_jaxpr, unknown_vars)
    known_outs = [a for a, u in zip(jaxpr.outvars, out_unknowns) if not u]
    known_invars = [v for v, u in zip(jaxpr.invars, unknowns) if not u]
    known_jaxpr = dce_jaxpr(Jaxpr(jaxpr.constvars, known_invars, [*known_outs, *residuals],
                                  known_eqns))
    known = _drop_unused_consts(ClosedJaxpr(known_jaxpr, closed.consts))
    return known, _reading_residuals(unknown_jaxpr, residuals), out_unknowns, len(residuals)


def _residuals(unknown_jaxpr: Jaxpr, unknown_vars) -> list[Var]:
    """The known variables ``unknown_jaxpr`` reads (in its equations or as outputs), in
    the order it first reads them."""
    seen: dict = {}
    for eqn in unknown_jaxpr.eqns:
        for a in eqn.invars:
            if type(a) is Var and a not in unknown_vars:
                seen.setdefault(a)
    for a in unknown_jaxpr.outvars:
        if type(a) is Var and a not in unknown_vars:
            seen.setdefault(a)
    return list(seen)


def _reading_residuals(jaxpr: Jaxpr, residuals) -> ClosedJaxpr:
    """``jaxpr`` with the ``residuals`` as its first inputs, as variables of its own (so
    that no variable is shared between the known and the unknown program)."""
    fresh = {r: Var(r.aval) for r in residuals}
    eqns = [new_eqn((e.primitive, [fresh.get(a, a) if type(a) is Var else a
                                   for a in e.invars], e.outvars, e.params))
            if any(type(a) is Var and a in fresh for a in e.invars) else e
            for e in jaxpr.eqns]
    outs = [fresh.get(a, a) if type(a) is Var else a for a in jaxpr.outvars]
    return ClosedJaxpr(Jaxpr([], [*fresh.values(), *jaxpr.invars], outs, eqns), [])


def _drop_unused_consts(closed: ClosedJaxpr) -> ClosedJaxpr:
    jaxpr = closed.jaxpr
    used = {a for e in jaxpr.eqns for a in e.invars if type(a) is Var}
    used.update(a for a in jaxpr.outvars if type(a) is Var)
    keep = [i for i, v in enumerate(jaxpr.constvars) if v in used]
    if len(keep) == len(jaxpr.constvars):
        return closed
    return ClosedJaxpr(Jaxpr([jaxpr.constvars[i] for i in keep], jaxpr.invars, jaxpr.outvars,
                             jaxpr.eqns), [closed.consts[i] for i in keep])


# -- transposition --------------------------------------------------------------------------

def transpose_jaxpr(closed: ClosedJaxpr, linear) -> ClosedJaxpr:
    """The reverse mode of ``closed``, which is linear in its inputs with ``linear[i]``.

    The result takes ``[*the non-linear inputs, *the cotangents of all outputs]`` and
    returns the cotangents of the linear inputs (zeros where none reaches one), of the
    tangent types of those inputs.
    """
    in_avals = closed.in_avals
    linear = _flags(linear, len(in_avals), "linear", "transpose_jaxpr")
    k = linear.count(False)

    def transposed(*args):
        nonlinear = iter(args[:k])
        in_args = [UndefinedPrimal(a) if lin else next(nonlinear)
                   for a, lin in zip(in_avals, linear)]
        cts = backward_pass(closed.jaxpr, closed.consts, in_args, list(args[k:]))
        return [zeros_like_aval(tangent_aval(a)) if type(ct) is Zero else ct
                for ct, a, lin in zip(cts, in_avals, linear) if lin]

    nonlinear_avals = [a for a, lin in zip(in_avals, linear) if not lin]
    ct_avals = [tangent_aval(a) for a in closed.out_avals]
    return trace_to_jaxpr(transposed, [*nonlinear_avals, *ct_avals])
