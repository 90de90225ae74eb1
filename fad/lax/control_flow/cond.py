"""``cond`` and ``switch``: one of several branch programs, chosen by an index at run time.

``switch(index, branches, *operands)`` traces every branch (a Python function of the
operands' pytrees) to a closed jaxpr; the branches must return the same types.
``cond(pred, true_fun, false_fun, *operands)`` is ``switch`` of ``pred`` over
``(false_fun, true_fun)``. With a concrete index (no transformation staging it: eager
code, or a predicate computed from values whose derivative is not taken) the chosen
branch simply runs, as Python's ``if`` would; otherwise ``cond_p`` is bound, with the
branches as its parameter, and every interpreter transforms them whole:

- JVP: each branch's JVP program, with the tangents that are nonzero in any branch;
- batching: with an unbatched index, each branch batched; with a batched index (a
  per-example predicate), every branch runs on every example and ``select_n`` picks;
- partial evaluation (``grad``): each branch split into its known part (run now, it
  returns its residuals, zeros for those of the other branches) and its unknown part,
  selected by the same index; transposition: each branch transposed;
- lowering: the compiled branches, one called per run.
"""
from __future__ import annotations

import numpy as np

from fad.core.ad_util import Zero, instantiate, tangent_aval, zeros_like_aval
from fad.core.ir import ClosedJaxpr, Jaxpr, Var, dce_jaxpr, dce_rules, new_eqn
from fad.core.primitive import Primitive
from fad.core.trace import Tracer
from fad.errors import ControlFlowTypeError
from fad.interpreters.batching import batch_rules
from fad.interpreters.eval import eval_jaxpr
from fad.interpreters.jaxpr_transforms import (batch_jaxpr, jvp_jaxpr, partial_eval_jaxpr,
                                               partial_eval_jaxpr_rules, transpose_jaxpr)
from fad.interpreters.jvp import jvp_rules
from fad.interpreters.lowering import lowering_rules
from fad.interpreters.staging import StagingTracer, partial_eval_rules, trace_to_jaxpr
from fad.interpreters.transpose import UndefinedPrimal, transpose_rules
from fad.lax.elementwise import clamp, ne, select_n
from fad.lax.plumbing import batch_axis_at, convert_element_type, reshape
from fad.lax.control_flow.call import closed_call
from fad.lax.control_flow.common import aval_of, lift_tracer_consts, lowered, trace_body
from fad.tree_util import tree_flatten, tree_unflatten

__all__ = ["cond", "switch", "cond_p"]

cond_p = Primitive("cond", multiple_results=True)   # operands: index, *args; params: branches


def switch(index, branches, *operands):
    """``branches[index](*operands)``, the index clamped into range, as JAX's ``switch``.

    >>> import numpy as np
    >>> switch(5, [lambda x: x + 1.0, lambda x: x * 2.0], np.float64(3.0))
    np.float64(6.0)
    """
    return _switch(index, list(branches), operands,
                   [f"branch {i}" for i in range(len(branches))], "switch")


def _switch(index, branches, operands, names, api):
    """``switch``, naming the branches ``names`` and itself ``api`` in errors."""
    if not branches or not all(callable(b) for b in branches):
        raise TypeError("switch: branches must be a non-empty sequence of callables, got "
                        f"{branches!r:.80}")
    index_aval = _index_aval(index, api, "index" if api == "switch" else "pred")
    if index_aval.dtype.kind == "b":
        index = convert_element_type(index, np.dtype(np.int32))
    if not isinstance(index, Tracer):   # concrete: the chosen branch runs, as with ``if``
        return branches[int(np.clip(int(index), 0, len(branches) - 1))](*operands)
    leaves, in_tree = tree_flatten(operands)
    in_avals = [aval_of(x) for x in leaves]
    traced = [trace_body(b, in_tree, in_avals, f"{api}: {name}")
              for b, name in zip(branches, names)]
    out_tree = traced[0][1]
    for name, (closed, tree) in zip(names[1:], traced[1:]):
        if tree != out_tree or [v.aval.strip_weak_type() for v in closed.jaxpr.outvars] != [
                v.aval.strip_weak_type() for v in traced[0][0].jaxpr.outvars]:
            raise ControlFlowTypeError(
                f"{api}: {name} returns {_describe(closed, tree)}, but {names[0]} returns "
                f"{_describe(traced[0][0], out_tree)}; the branches must return the same "
                "structure of the same types")
    closeds, lifted = lift_tracer_consts([c for c, _ in traced])
    outs = cond_p.bind(index, *lifted, *leaves, branches=tuple(closeds))
    return tree_unflatten(out_tree, outs)


def cond(pred, true_fun, false_fun, *operands):
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``, as JAX's ``cond``
    (``pred`` a boolean or integer scalar: nonzero is true).

    >>> import numpy as np
    >>> cond(np.float64(2.0) > 1, lambda x: x * 3.0, lambda x: x, np.float64(2.0))
    np.float64(6.0)
    """
    if not callable(true_fun) or not callable(false_fun):
        raise TypeError("cond: true_fun and false_fun must be callables")
    aval = _index_aval(pred, "cond", "pred")
    if aval.dtype.kind != "b":
        pred = ne(pred, np.zeros((), aval.dtype)[()])
    return _switch(pred, [false_fun, true_fun], operands, ["false_fun", "true_fun"], "cond")


def _index_aval(index, api, name):
    aval = aval_of(index)
    if aval.shape or aval.dtype.kind not in "biu":
        raise ControlFlowTypeError(
            f"{api}: {name} must be a scalar boolean or integer, got "
            f"{aval.str_short()}; compare a float with a threshold first "
            f"(x > 0), or index with an int")
    return aval


def _describe(closed, tree):
    types = ", ".join(v.aval.str_short() for v in closed.jaxpr.outvars)
    return f"{tree} of ({types})"


def _clamped(index, n):
    return int(min(max(int(index), 0), n - 1))


@cond_p.def_impl
def _cond_impl(index, *args, branches):
    return lowered(branches[_clamped(index, len(branches))])(*args)


@cond_p.def_abstract_eval
def _cond_abstract_eval(index, *avals, branches):
    if index.shape or index.dtype.kind not in "iu":
        raise ControlFlowTypeError(
            f"cond: the index must be an integer scalar, got {index.str_short()}")
    want = branches[0].in_avals
    if len(avals) != len(want) or any(a.shape != w.shape or a.dtype != w.dtype
                                      for a, w in zip(avals, want)):
        raise ControlFlowTypeError(
            "cond: the operands do not have the types the branches take")
    return branches[0].out_avals


def _cond_lowering(index, *avals, branches):
    programs = [lowered(b) for b in branches]
    last = len(programs) - 1

    def run(index, *args):
        return programs[min(max(int(index), 0), last)](*args)
    return run


lowering_rules[cond_p] = _cond_lowering


# -- JVP and transposition: each branch transformed -----------------------------------------

def _cond_jvp(primals, tangents, *, branches):
    index, *args = primals
    nonzero = tuple(type(t) is not Zero for t in tangents[1:])
    out_nonzero = tuple(any(col) for col in zip(*[
        b.derived(("jvp", nonzero), lambda b=b: jvp_jaxpr(b, nonzero))[1] for b in branches]))
    jvps = tuple(b.derived(("jvp", nonzero, out_nonzero),
                           lambda b=b: jvp_jaxpr(b, nonzero, list(out_nonzero))[0])
                 for b in branches)
    outs = cond_p.bind(index, *args, *[t for t in tangents[1:] if type(t) is not Zero],
                       branches=jvps)
    n = len(branches[0].jaxpr.outvars)
    it = iter(outs[n:])
    return outs[:n], [next(it) if nz else Zero(a) for nz, a in
                      zip(out_nonzero, _tangent_avals(branches[0]))]


def _tangent_avals(closed):
    return closed.derived("tangent_avals",
                          lambda: [tangent_aval(v.aval) for v in closed.jaxpr.outvars])


def _cond_transpose(cts, index, *args, branches):
    linear = tuple(type(a) is UndefinedPrimal for a in args)
    transposed = tuple(b.derived(("transpose", linear), lambda b=b: transpose_jaxpr(b, linear))
                       for b in branches)
    outs = cond_p.bind(index, *[a for a in args if type(a) is not UndefinedPrimal],
                       *[instantiate(c) for c in cts], branches=transposed)
    it = iter(outs)
    return [None, *[next(it) if lin else None for lin in linear]]


jvp_rules[cond_p] = _cond_jvp
transpose_rules[cond_p] = _cond_transpose


# -- batching: per branch, or every branch and a select when the index is batched -------------

def _cond_batch(args, dims, *, branches):
    index, *ops = args
    index_dim, *op_dims = dims
    size = next(aval_of(x).shape[d] for x, d in zip(args, dims) if d is not None)
    op_dims = tuple(op_dims)
    n_out = len(branches[0].jaxpr.outvars)
    # An output is batched (at axis 0) if any branch batches it, or if the index is
    # batched; the others stay unbatched (as vmap's rules leave what does not vary).
    out_batched = (True,) * n_out if index_dim is not None else tuple(
        any(d is not None for d in col) for col in zip(*[
            b.derived(("batch", size, op_dims), lambda b=b: batch_jaxpr(b, size, op_dims))[1]
            for b in branches]))
    batched = tuple(b.derived(("batch", size, op_dims, out_batched),
                              lambda b=b: batch_jaxpr(b, size, op_dims, list(out_batched))[0])
                    for b in branches)
    if index_dim is None:
        return (cond_p.bind(index, *ops, branches=batched),
                [0 if u else None for u in out_batched])
    # A per-example index: every branch runs on every example, then each example's
    # results are picked from its branch's (as JAX does; side effects of the branches,
    # being staged, are none).
    index = batch_axis_at(index, index_dim)
    index = clamp(np.zeros((), aval_of(index).dtype)[()], index,
                                  np.asarray(len(branches) - 1, aval_of(index).dtype)[()])
    results = [closed_call(b, ops, f"branch {i}") for i, b in enumerate(batched)]
    outs = []
    for k in range(n_out):
        cases = [r[k] for r in results]
        ndim = len(aval_of(cases[0]).shape)
        which = reshape(index, (size,) + (1,) * (ndim - 1))
        outs.append(select_n(which, *cases) if len(cases) > 1 else cases[0])
    return outs, [0] * n_out


batch_rules[cond_p] = _cond_batch


# -- partial evaluation: each branch split, the residuals of all branches joined -----------

def _split_branches(branches, unknowns):
    """The branches split for the unknown operands ``unknowns``: known parts (known
    operands -> known outputs, then the residuals of every branch, placeholders but its
    own), unknown parts (every branch's residuals, unknown operands -> unknown outputs),
    which outputs are unknown (in any branch), and the residuals' types."""
    first = [b.derived(("partial_eval", unknowns), lambda b=b: partial_eval_jaxpr(b, unknowns))
             for b in branches]
    out_unknowns = [any(col) for col in zip(*[f[2] for f in first])]
    splits = [b.derived(("partial_eval", unknowns, tuple(out_unknowns)),
                        lambda b=b: partial_eval_jaxpr(b, unknowns, out_unknowns))
              for b in branches]
    res_avals = [[v.aval for v in k.jaxpr.outvars[len(k.jaxpr.outvars) - n:]]
                 for k, _, _, n in splits]
    all_res = [a for avals in res_avals for a in avals]
    knowns, unknowns_ = [], []
    offset = 0
    for known, unknown, _, n in splits:
        knowns.append(_with_residual_slots(known, n, offset, all_res))
        unknowns_.append(_reading_residual_slots(unknown, n, offset, all_res))
        offset += n
    return tuple(knowns), tuple(unknowns_), out_unknowns, all_res


def _placeholder(aval):
    """The value of another branch's residual slot: never read where the branch taken
    is this one, but under ``vmap`` with a per-example index every branch's backward
    pass runs on every example, its results then discarded. Ones keep the usual
    backward-pass arithmetic on residuals (dividing by a tie count, a norm) free of
    floating-point exceptions there; zeros keep integer ones (indices) in bounds."""
    if aval.dtype.kind in "fc":
        return np.ones(aval.shape, aval.dtype)
    return zeros_like_aval(aval)


def _with_residual_slots(known, n_res, offset, all_res):
    """``known`` returning, instead of its ``n_res`` residuals, all of ``all_res``: its own
    at ``offset``, placeholders elsewhere."""
    n_out = len(known.jaxpr.outvars) - n_res

    def fun(*args):
        outs = eval_jaxpr(known, (), *args)
        res = [_placeholder(a) for a in all_res]
        res[offset:offset + n_res] = outs[n_out:]
        return [*outs[:n_out], *res]
    return trace_to_jaxpr(fun, known.in_avals)


def _reading_residual_slots(unknown, n_res, offset, all_res):
    """``unknown`` taking all of ``all_res`` first, reading its own at ``offset``."""
    jaxpr = unknown.jaxpr
    own = jaxpr.invars[:n_res]
    ignored = [Var(a) for a in all_res]
    ignored[offset:offset + n_res] = own
    body = Jaxpr(jaxpr.constvars, [*ignored, *jaxpr.invars[n_res:]], jaxpr.outvars, jaxpr.eqns)
    return ClosedJaxpr(body, unknown.consts)


def _cond_partial_eval(trace, args, params):
    branches = params["branches"]
    index, *ops = args
    if type(index) is StagingTracer and index._trace is trace:   # (unknown index: all of it)
        return trace.record(cond_p, args, params)
    unknowns = tuple(type(x) is StagingTracer and x._trace is trace for x in ops)
    if all(unknowns):   # (nothing to compute now)
        return trace.record(cond_p, args, params)
    key = ("cond_split", unknowns)
    knowns, unknown_branches, out_unknowns, all_res = branches[0].derived(
        (key, branches), lambda: _split_branches(branches, unknowns))
    known_outs = trace.parent.process_primitive(
        cond_p, [index, *[x for x, u in zip(ops, unknowns) if not u]], {"branches": knowns})
    n_known = len(known_outs) - len(all_res)
    unknown_outs = []
    if any(out_unknowns):
        unknown_outs = trace.record(
            cond_p, [index, *known_outs[n_known:], *[x for x, u in zip(ops, unknowns) if u]],
            {"branches": unknown_branches})
    known_iter, unknown_iter = iter(known_outs[:n_known]), iter(unknown_outs)
    return [next(unknown_iter) if u else next(known_iter) for u in out_unknowns]


def _cond_partial_eval_jaxpr(eqn, unknowns_in):
    branches = eqn.params["branches"]
    index_unknown, *unknowns = unknowns_in
    if index_unknown:
        return None, eqn, [True] * len(eqn.outvars), []
    unknowns = tuple(unknowns)
    knowns, unknown_branches, out_unknowns, all_res = branches[0].derived(
        (("cond_split", unknowns), branches), lambda: _split_branches(branches, unknowns))
    residuals = [Var(a) for a in all_res]
    index, *ops = eqn.invars
    known_eqn = new_eqn((cond_p, [index, *[v for v, u in zip(ops, unknowns) if not u]],
                         [*[v for v, u in zip(eqn.outvars, out_unknowns) if not u],
                          *residuals], {"branches": knowns}))
    unknown_eqn = None
    if any(out_unknowns):
        unknown_eqn = new_eqn((cond_p, [index, *residuals,
                                        *[v for v, u in zip(ops, unknowns) if u]],
                               [v for v, u in zip(eqn.outvars, out_unknowns) if u],
                               {"branches": unknown_branches}))
    return known_eqn, unknown_eqn, out_unknowns, residuals


partial_eval_rules[cond_p] = _cond_partial_eval
partial_eval_jaxpr_rules[cond_p] = _cond_partial_eval_jaxpr


# -- dead code: outputs no branch needs to give, operands no branch reads -----------------------

def _cond_dce(used_outputs, eqn):
    branches = eqn.params["branches"]
    used = tuple(used_outputs)
    pruned = [dce_jaxpr(Jaxpr(b.jaxpr.constvars, b.jaxpr.invars,
                              [v for v, u in zip(b.jaxpr.outvars, used) if u], b.jaxpr.eqns))
              for b in branches]
    read = [{v for e in p.eqns for v in e.invars} | set(p.outvars) for p in pruned]
    used_ops = [any(v in r for v, r in zip(vs, read))
                for vs in zip(*[p.invars for p in pruned])]
    new = tuple(ClosedJaxpr(Jaxpr(p.constvars, [v for v, u in zip(p.invars, used_ops) if u],
                                  p.outvars, p.eqns), b.consts)
                for p, b in zip(pruned, branches))
    index, *ops = eqn.invars
    return [True, *used_ops], new_eqn((cond_p, [index, *[v for v, u in zip(ops, used_ops) if u]],
                                       [v for v, u in zip(eqn.outvars, used) if u],
                                       {"branches": new}))


dce_rules[cond_p] = _cond_dce
