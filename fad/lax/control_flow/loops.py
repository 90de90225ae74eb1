"""``while_loop``: a loop whose trip count is decided at run time, by a predicate on the
carried value.

``while_loop(cond_fun, body_fun, init_val)`` traces ``cond_fun`` (carry -> boolean scalar)
and ``body_fun`` (carry -> carry of the same structure and types) to closed jaxprs and
binds ``while_p``, whose operands are the values of enclosing transformations that
``cond_fun`` closes over, those ``body_fun`` closes over, then the initial carry. With
nothing traced (NumPy values, no transformation active) the loop simply runs in Python,
as the code written out would. Every interpreter handles ``while_p`` whole:

- evaluation and lowering: a Python ``while`` over the compiled predicate and body;
- JVP: the body's JVP program carrying the tangents; which carried tangents are nonzero
  is a fixpoint (a tangent the body makes nonzero must be there from the start), and the
  predicate ignores the tangents;
- batching: the carried values that vary per example found by a fixpoint; a predicate
  that varies per example (per-example trip counts) runs the loop until every example is
  done, an example that is done keeping its carry (a select on its own predicate);
- partial evaluation: the known carried values (those a known predicate and known body
  values alone decide) computed by a loop of their own, now; the others by the whole loop,
  recorded. So forward mode works (``jvp``, ``jacfwd``, ``linearize``), while reverse
  mode meets the recorded loop in the transpose, which raises: the number of steps to
  run backwards is not known before running forwards (as in JAX);
- DCE: the carried values nothing reads, neither the outputs used, nor the predicate, nor
  the body computing the others (a fixpoint), dropped.
"""
from __future__ import annotations

import numpy as np

from fad.core.ad_util import Zero, instantiate, tangent_aval
from fad.core.ir import ClosedJaxpr, Jaxpr, Var, dce_jaxpr, dce_rules, new_eqn
from fad.core.primitive import Primitive
from fad.core.trace import Tracer, eval_trace, get_current_trace
from fad.errors import ControlFlowTypeError
from fad.interpreters.batching import batch_rules
from fad.interpreters.eval import eval_jaxpr
from fad.interpreters.jaxpr_transforms import (batch_jaxpr, jvp_jaxpr, partial_eval_jaxpr,
                                               partial_eval_jaxpr_rules)
from fad.interpreters.jvp import jvp_rules
from fad.interpreters.lowering import lowering_rules
from fad.interpreters.staging import StagingTracer, partial_eval_rules, trace_to_jaxpr
from fad.interpreters.transpose import transpose_rules
from fad.lax.control_flow.common import aval_of, lift_tracer_consts, lowered, trace_body
from fad.lax.elementwise import select_n
from fad.lax.plumbing import batch_axis_at, convert_element_type, reshape
from fad.lax.reductions import reduce_or
from fad.tree_util import tree_flatten, tree_unflatten, treedef_is_leaf, treedef_tuple

__all__ = ["while_loop", "while_p"]

# operands: *cond consts, *body consts, *init carry; params: cond_jaxpr (cond consts,
# carry -> bool[]), body_jaxpr (body consts, carry -> carry), cond_nconsts, body_nconsts
while_p = Primitive("while", multiple_results=True)

NO_REVERSE_MODE = ("reverse-mode differentiation through while_loop is not supported: its "
                   "trip count is not static; use lax.scan or lax.fori_loop with static "
                   "bounds (forward mode, jvp and jacfwd, works)")


def while_loop(cond_fun, body_fun, init_val):
    """``val = init_val; while cond_fun(val): val = body_fun(val)``, returning ``val``, as
    JAX's ``while_loop``: ``init_val`` a pytree, ``cond_fun`` returns a boolean scalar,
    ``body_fun`` returns a carry of ``init_val``'s structure and types. Differentiable in
    forward mode (``jvp``, ``jacfwd``); reverse mode raises, as in JAX (use ``scan`` or
    ``fori_loop`` with static bounds).

    >>> import numpy as np
    >>> while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1] * 2.0), (0, np.float64(1.0)))
    (5, np.float64(32.0))
    """
    if not callable(cond_fun) or not callable(body_fun):
        raise TypeError("while_loop: cond_fun and body_fun must be callables, got "
                        f"{type(cond_fun).__name__} and {type(body_fun).__name__}")
    leaves, tree = tree_flatten(init_val)
    if get_current_trace() is eval_trace:   # (nothing traced, not even a closed-over value)
        return _python_while(cond_fun, body_fun, init_val, leaves, tree)
    in_tree = treedef_tuple([tree])
    body, leaves = _trace_body(body_fun, in_tree, tree, leaves)
    cond, cond_tree = trace_body(cond_fun, in_tree, [aval_of(x) for x in leaves],
                                 "while_loop: cond_fun")
    _check_predicate([v.aval for v in cond.jaxpr.outvars], cond_tree)
    (cond,), cond_consts = lift_tracer_consts([cond])
    (body,), body_consts = lift_tracer_consts([body])
    outs = while_p.bind(*cond_consts, *body_consts, *leaves, cond_jaxpr=cond, body_jaxpr=body,
                        cond_nconsts=len(cond_consts), body_nconsts=len(body_consts))
    return tree_unflatten(tree, outs)


def _trace_body(body_fun, in_tree, tree, leaves):
    """``body_fun`` staged for the carry ``leaves``, and those leaves; a weakly typed leaf
    (a Python scalar) that the body turns into a dtype it promotes to (``0`` into
    float64, ``0.0`` into float32) starts as that dtype, as in JAX."""
    avals = [aval_of(x) for x in leaves]
    body, out_tree = trace_body(body_fun, in_tree, avals, "while_loop: body_fun")
    outs = [v.aval for v in body.jaxpr.outvars]
    if out_tree != tree:
        raise ControlFlowTypeError(
            f"while_loop: body_fun returns a carry of structure {out_tree}, but "
            f"init_val has structure {tree}; the carry must keep its structure")
    promoted = [_promoted(x, a, o) for x, a, o in zip(leaves, avals, outs)]
    if any(p is not x for p, x in zip(promoted, leaves)):
        leaves, avals = promoted, [aval_of(x) for x in promoted]
        body, _ = trace_body(body_fun, in_tree, avals, "while_loop: body_fun")
        outs = [v.aval for v in body.jaxpr.outvars]
    _check_carry(tree, avals, outs, promote=False)
    return body, leaves


def _promoted(x, aval, out):
    if aval.dtype == out.dtype or not _promotes(aval, out):
        return x
    if isinstance(x, Tracer):
        return convert_element_type(x, out.dtype)
    return np.asarray(x, out.dtype)[()]


def _leaf_paths(treedef) -> list:
    """Where each leaf of ``treedef`` is, written as indexing (``[1]['a']``, ``.field``)."""
    if treedef_is_leaf(treedef):
        return [""]
    kind, data = treedef.node_type, treedef.node_data
    paths = []
    for i, child in enumerate(treedef.children()):
        key = (f"[{list(data)[i]!r}]" if kind is dict
               else f".{kind._fields[i]}" if hasattr(kind, "_fields") else f"[{i}]")
        paths += [key + p for p in _leaf_paths(child)]
    return paths


def _promotes(aval, out) -> bool:
    """Whether a carry of type ``aval`` that the body returns as ``out`` may start as
    ``out``: a weakly typed one (a Python scalar) of a dtype that promotes to ``out``'s."""
    return (aval.weak_type and aval.shape == out.shape
            and np.can_cast(aval.dtype, out.dtype, "same_kind"))


def _check_carry(tree, in_avals, out_avals, promote):
    """A ``TypeError`` naming the leaf and both types where ``body_fun`` changes the type
    of the carry (weak types aside: a Python scalar's type is its dtype's); with
    ``promote``, a weakly typed leaf may become a dtype it promotes to."""
    for i, (a, b) in enumerate(zip(in_avals, out_avals)):
        if (a.shape != b.shape or a.dtype != b.dtype) and not (promote and _promotes(a, b)):
            path = _leaf_paths(tree)[i]
            raise ControlFlowTypeError(
                f"while_loop: body_fun changes the type of the carry at init_val{path}: it "
                f"enters as {a.str_short()} and body_fun returns {b.str_short()}; the carry "
                "must keep its shape and dtype (start from a value of the type the body "
                "returns, e.g. np.float64(0.0) rather than 0, or cast in the body)")


def _check_predicate(avals, tree=None):
    if len(avals) != 1 or avals[0].shape or avals[0].dtype.kind != "b":
        got = ", ".join(a.str_short() for a in avals) or f"no array ({tree})"
        raise ControlFlowTypeError(
            f"while_loop: cond_fun must return a boolean scalar, got {got}; "
            "compare to make one (x > 0), or reduce an array (fnp.any(x))")


def _python_while(cond_fun, body_fun, val, leaves, tree):
    """The loop with nothing traced: the functions called in Python, as written out, the
    predicate and the carry's types checked as the traced loop checks them."""
    in_avals = [aval_of(x) for x in leaves]
    while True:
        pred_leaves, pred_tree = tree_flatten(cond_fun(val))
        _check_predicate([aval_of(x) for x in pred_leaves], pred_tree)
        if not pred_leaves[0]:
            return val
        val = body_fun(val)
        out_leaves, out_tree = tree_flatten(val)
        if out_tree != tree:
            raise ControlFlowTypeError(
                f"while_loop: body_fun returns a carry of structure {out_tree}, "
                f"but init_val has structure {tree}; the carry must keep its "
                "structure")
        _check_carry(tree, in_avals, [aval_of(x) for x in out_leaves], promote=True)


# -- evaluation, types, lowering --------------------------------------------------------------

def _split3(xs, nc, nb):
    return xs[:nc], xs[nc:nc + nb], xs[nc + nb:]


def _run(cond, body, nc, nb, args):
    """The loop over the compiled ``cond`` and ``body``. Its results are fresh arrays (a
    compiled program's are; those of a loop that never ran are copies), as a lowered
    program needs them to be."""
    cond_consts, body_consts, carry = _split3(list(args), nc, nb)
    ran = False
    while cond(*cond_consts, *carry)[0]:
        carry = body(*body_consts, *carry)
        ran = True
    return carry if ran else [x.copy() if type(x) is np.ndarray else x for x in carry]


@while_p.def_impl
def _while_impl(*args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    return _run(lowered(cond_jaxpr), lowered(body_jaxpr), cond_nconsts, body_nconsts, args)


@while_p.def_abstract_eval
def _while_abstract_eval(*avals, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cond_consts, body_consts, carry = _split3(list(avals), cond_nconsts, body_nconsts)
    for name, closed, takes in (("cond_jaxpr", cond_jaxpr, [*cond_consts, *carry]),
                                ("body_jaxpr", body_jaxpr, [*body_consts, *carry])):
        want = closed.in_avals
        if len(takes) != len(want) or any(a.shape != w.shape or a.dtype != w.dtype
                                          for a, w in zip(takes, want)):
            raise ControlFlowTypeError(
                f"while: {name} takes ({', '.join(w.str_short() for w in want)}), "
                f"got ({', '.join(a.str_short() for a in takes)})")
    _check_predicate(cond_jaxpr.out_avals)
    outs = body_jaxpr.out_avals
    if len(outs) != len(carry) or any(a.shape != o.shape or a.dtype != o.dtype
                                      for a, o in zip(carry, outs)):
        raise ControlFlowTypeError(
            f"while: body_jaxpr returns ({', '.join(o.str_short() for o in outs)})"
            f", but the carry is ({', '.join(a.str_short() for a in carry)})")
    return list(carry)


def _while_lowering(*avals, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cond, body = lowered(cond_jaxpr), lowered(body_jaxpr)

    def run(*args):
        return _run(cond, body, cond_nconsts, body_nconsts, args)
    return run


lowering_rules[while_p] = _while_lowering


# -- program surgery --------------------------------------------------------------------------

def _with_inputs(closed: ClosedJaxpr, invars) -> ClosedJaxpr:
    """``closed`` taking the inputs ``invars`` (its own, reordered, or new ones it
    ignores)."""
    jaxpr = closed.jaxpr
    return ClosedJaxpr(Jaxpr(jaxpr.constvars, invars, jaxpr.outvars, jaxpr.eqns), closed.consts)


def _reads(jaxpr: Jaxpr, used_outputs):
    """Which inputs ``jaxpr`` computing only ``used_outputs`` reads, and that program."""
    pruned = dce_jaxpr(Jaxpr(jaxpr.constvars, jaxpr.invars,
                             [v for v, u in zip(jaxpr.outvars, used_outputs) if u], jaxpr.eqns))
    read = {v for e in pruned.eqns for v in e.invars if type(v) is Var}
    read.update(v for v in pruned.outvars if type(v) is Var)
    return [v in read for v in jaxpr.invars], pruned


def _restricted(closed: ClosedJaxpr, keep_inputs, used_outputs) -> ClosedJaxpr:
    """``closed`` computing only ``used_outputs`` from only ``keep_inputs`` (which hold
    every input that computation reads)."""
    _, pruned = _reads(closed.jaxpr, used_outputs)
    return _with_inputs(ClosedJaxpr(pruned, closed.consts),
                        [v for v, k in zip(pruned.invars, keep_inputs) if k])


def _known_part(closed: ClosedJaxpr, unknowns, instantiate) -> ClosedJaxpr:
    """The known program of ``closed`` split for ``unknowns``, without its residuals:
    known inputs to the known outputs."""
    known, _, _, num_res = partial_eval_jaxpr(closed, list(unknowns), list(instantiate))
    jaxpr = known.jaxpr
    outs = jaxpr.outvars[:len(jaxpr.outvars) - num_res]
    body = dce_jaxpr(Jaxpr(jaxpr.constvars, jaxpr.invars, outs, jaxpr.eqns))
    return ClosedJaxpr(body, known.consts)


def _params(cond, body, nc, nb) -> dict:
    return {"cond_jaxpr": cond, "body_jaxpr": body, "cond_nconsts": nc, "body_nconsts": nb}


# -- forward mode -----------------------------------------------------------------------------

def _jvp_carry_nonzero(body, consts_nz, carry_nz):
    """The carried tangents nonzero on every step: those nonzero on entry and, until it
    no longer grows, those the body makes nonzero."""
    carry_nz = tuple(carry_nz)
    while True:
        nz = (*consts_nz, *carry_nz)
        _, out_nz = body.derived(("jvp", nz), lambda nz=nz: jvp_jaxpr(body, nz))
        grown = tuple(a or b for a, b in zip(carry_nz, out_nz))
        if grown == carry_nz:
            return carry_nz
        carry_nz = grown


def _jvp_loop(cond, body, nc, nb, consts_nz, carry_nz):
    """The parameters of the loop carrying the tangents ``carry_nz`` too: its body the
    JVP of ``body`` (constants, constants' nonzero tangents, carry, carried tangents), its
    predicate ``cond`` ignoring the tangents."""
    nz = (*consts_nz, *carry_nz)
    jvp, _ = jvp_jaxpr(body, nz, list(carry_nz))
    invars = jvp.jaxpr.invars   # (constants, carry, constants' tangents, carried tangents)
    k, n_ct = nb + len(carry_nz), sum(consts_nz)
    jvp = _with_inputs(jvp, [*invars[:nb], *invars[k:k + n_ct], *invars[nb:k],
                             *invars[k + n_ct:]])
    ignored = [Var(tangent_aval(a)) for a, n in zip(body.in_avals[nb:], carry_nz) if n]
    cond = _with_inputs(cond, [*cond.jaxpr.invars, *ignored])
    return _params(cond, jvp, nc, nb + n_ct)


def _while_jvp(primals, tangents, *, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    nc, nb = cond_nconsts, body_nconsts
    _, body_consts, init = _split3(list(primals), nc, nb)
    _, consts_t, init_t = _split3(list(tangents), nc, nb)
    consts_nz = tuple(type(t) is not Zero for t in consts_t)
    carry_nz = _jvp_carry_nonzero(body_jaxpr, consts_nz,
                                  [type(t) is not Zero for t in init_t])
    if not any(carry_nz):   # (no tangent reaches the carry: the loop as it is)
        outs = while_p.bind(*primals, cond_jaxpr=cond_jaxpr, body_jaxpr=body_jaxpr,
                            cond_nconsts=nc, body_nconsts=nb)
        return outs, [Zero(tangent_aval(aval_of(x))) for x in init]
    params = body_jaxpr.derived(("while_jvp", cond_jaxpr, nc, consts_nz, carry_nz),
                                lambda: _jvp_loop(cond_jaxpr, body_jaxpr, nc, nb, consts_nz,
                                                  carry_nz))
    outs = while_p.bind(*primals[:nc + nb], *[t for t in consts_t if type(t) is not Zero],
                        *init, *[instantiate(t) for t, n in zip(init_t, carry_nz) if n],
                        **params)
    n = len(init)
    out_tangents = iter(outs[n:])
    return outs[:n], [next(out_tangents) if nz else Zero(tangent_aval(aval_of(x)))
                      for x, nz in zip(init, carry_nz)]


jvp_rules[while_p] = _while_jvp


def _while_transpose(cts, *args, **params):
    raise ValueError(NO_REVERSE_MODE)


transpose_rules[while_p] = _while_transpose


# -- batching ---------------------------------------------------------------------------------

def _batched(closed, size, dims, instantiate=False):
    if instantiate is False:
        return closed.derived(("batch", size, dims), lambda: batch_jaxpr(closed, size, dims))
    return closed.derived(("batch", size, dims, instantiate),
                          lambda: batch_jaxpr(closed, size, dims, list(instantiate)))


def _batch_fixpoint(cond, body, size, cond_dims, body_dims, carry_b):
    """Which carried values are batched on every step (those batched on entry and, until
    it no longer grows, those the body batches; all of them once the predicate is), and
    whether the predicate is."""
    while True:
        carry_dims = tuple(0 if b else None for b in carry_b)
        if _batched(cond, size, (*cond_dims, *carry_dims))[1][0] is not None:
            return (True,) * len(carry_b), True
        _, out_dims = _batched(body, size, (*body_dims, *carry_dims))
        grown = tuple(b or d is not None for b, d in zip(carry_b, out_dims))
        if grown == carry_b:
            return carry_b, False
        carry_b = grown


def _lane_loop(cond, body, size, nc, cond_dims, body_dims):
    """The loop for a predicate that varies per example, every carried value batched at
    axis 0: it runs while any example's predicate holds, and each step keeps the carry of
    the examples whose predicate no longer does."""
    n = len(body.out_avals)
    cond_b, _ = _batched(cond, size, (*cond_dims, *(0,) * n), (True,))
    body_b, _ = _batched(body, size, (*body_dims, *(0,) * n), (True,) * n)

    def any_lane(*args):
        return [reduce_or(eval_jaxpr(cond_b, (), *args)[0], (0,))]

    def step(*args):
        cond_consts, rest = args[:nc], args[nc:]
        carry = rest[len(rest) - n:]
        running = eval_jaxpr(cond_b, (), *cond_consts, *carry)[0]
        new = eval_jaxpr(body_b, (), *rest)
        return [select_n(reshape(running, (size,) + (1,) * (aval_of(old).ndim - 1)), old, x)
                for old, x in zip(carry, new)]

    cond_avals = cond_b.in_avals
    new_cond = trace_to_jaxpr(any_lane, cond_avals)
    new_body = trace_to_jaxpr(step, [*cond_avals[:nc], *body_b.in_avals])
    return _params(new_cond, new_body, nc, nc + len(body_dims))


def _while_batch(args, dims, *, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    nc, nb = cond_nconsts, body_nconsts
    size = next(aval_of(x).shape[d] for x, d in zip(args, dims) if d is not None)
    cond_dims, body_dims, init_dims = (tuple(d) for d in _split3(list(dims), nc, nb))
    carry_b, pred_batched = _batch_fixpoint(cond_jaxpr, body_jaxpr, size, cond_dims, body_dims,
                                            tuple(d is not None for d in init_dims))
    cond_consts, body_consts, init = _split3(list(args), nc, nb)
    carry = [batch_axis_at(x, d, size) if b else x for x, d, b in zip(init, init_dims, carry_b)]
    if pred_batched:
        params = body_jaxpr.derived(
            ("while_lanes", cond_jaxpr, size, cond_dims, body_dims),
            lambda: _lane_loop(cond_jaxpr, body_jaxpr, size, nc, cond_dims, body_dims))
        outs = while_p.bind(*cond_consts, *cond_consts, *body_consts, *carry, **params)
        return outs, [0] * len(outs)
    carry_dims = tuple(0 if b else None for b in carry_b)
    cond, _ = _batched(cond_jaxpr, size, (*cond_dims, *carry_dims))
    body, _ = _batched(body_jaxpr, size, (*body_dims, *carry_dims), carry_b)
    outs = while_p.bind(*cond_consts, *body_consts, *carry, cond_jaxpr=cond, body_jaxpr=body,
                        cond_nconsts=nc, body_nconsts=nb)
    return outs, list(carry_dims)


batch_rules[while_p] = _while_batch


# -- partial evaluation: the known carry by a loop of its own, the rest by the whole loop -----

def _split_loop(cond, body, nc, nb, unknowns):
    """Which carried values are unknown for the unknown operands ``unknowns`` (a
    fixpoint, as for the tangents), which operands the loop computing the known ones
    takes (the known constants and the known carried values' initial values), and its
    parameters; ``None`` for those when the predicate is unknown or every carried value
    is (then the whole loop is unknown)."""
    cond_uk, body_uk, carry_uk = _split3(list(unknowns), nc, nb)
    while True:
        uk = (*body_uk, *carry_uk)
        _, _, out_uk, _ = body.derived(("partial_eval", uk),
                                       lambda uk=uk: partial_eval_jaxpr(body, uk))
        grown = [a or b for a, b in zip(carry_uk, out_uk)]
        if grown == carry_uk:
            break
        carry_uk = grown
    uk = (*cond_uk, *carry_uk)
    _, _, pred_uk, _ = cond.derived(("partial_eval", uk), lambda: partial_eval_jaxpr(cond, uk))
    if pred_uk[0] or all(carry_uk):
        return [True] * len(carry_uk), None, None
    known_cond = _known_part(cond, uk, [False])
    known_body = _known_part(body, (*body_uk, *carry_uk), carry_uk)
    known_operands = [not u for u in (*cond_uk, *body_uk, *carry_uk)]
    return carry_uk, known_operands, _params(known_cond, known_body, cond_uk.count(False),
                                             body_uk.count(False))


def _split(params, unknowns):
    cond, body = params["cond_jaxpr"], params["body_jaxpr"]
    nc, nb = params["cond_nconsts"], params["body_nconsts"]
    return body.derived(("while_split", cond, nc, unknowns),
                        lambda: _split_loop(cond, body, nc, nb, unknowns))


def _while_partial_eval(trace, args, params):
    """The partial evaluator's rule: the known carried values computed now, the unknown
    ones recorded (by the whole loop, which recomputes the known ones: its trip count
    depends on them)."""
    unknowns = tuple(type(x) is StagingTracer and x._trace is trace for x in args)
    carry_uk, known_operands, known_params = _split(params, unknowns)
    if known_params is None:
        return trace.record(while_p, args, params)
    known = trace.parent.process_primitive(
        while_p, [x for x, k in zip(args, known_operands) if k], known_params)
    if not any(carry_uk):
        return known
    whole, known = trace.record(while_p, args, params), iter(known)
    return [w if u else next(known) for w, u in zip(whole, carry_uk)]


def _while_partial_eval_jaxpr(eqn, unknowns_in):
    """The same split of a ``while_p`` equation of a jaxpr (``partial_eval_jaxpr``): the
    unknown equation is the whole loop, reading the known operands as they are."""
    carry_uk, known_operands, known_params = _split(eqn.params, tuple(unknowns_in))
    if known_params is None:
        return None, eqn, carry_uk, []
    known_eqn = new_eqn((while_p, [v for v, k in zip(eqn.invars, known_operands) if k],
                         [v for v, u in zip(eqn.outvars, carry_uk) if not u], known_params))
    unknown_eqn = None
    if any(carry_uk):   # (its known results are the known equation's: fresh names here)
        unknown_eqn = new_eqn((while_p, eqn.invars,
                               [v if u else Var(v.aval) for v, u in zip(eqn.outvars, carry_uk)],
                               eqn.params))
    return known_eqn, unknown_eqn, carry_uk, []


partial_eval_rules[while_p] = _while_partial_eval
partial_eval_jaxpr_rules[while_p] = _while_partial_eval_jaxpr


# -- dead code: carried values that neither the outputs used, the predicate nor the body need --

def _pruned_loop(cond, body, nc, nb, used):
    """``(used_inputs, params)`` of the loop computing the outputs ``used``: it carries
    those, those the predicate reads and, until that no longer grows, those the body
    reads to compute the carried ones."""
    cond_reads, _ = _reads(cond.jaxpr, [True])
    live = [u or r for u, r in zip(used, cond_reads[nc:])]
    while True:
        body_reads, _ = _reads(body.jaxpr, live)
        grown = [a or b for a, b in zip(live, body_reads[nb:])]
        if grown == live:
            break
        live = grown
    used_inputs = [*cond_reads[:nc], *body_reads[:nb], *live]
    if all(used_inputs):
        return used_inputs, None
    params = _params(_restricted(cond, [*cond_reads[:nc], *live], [True]),
                     _restricted(body, [*body_reads[:nb], *live], live),
                     sum(cond_reads[:nc]), sum(body_reads[:nb]))
    return used_inputs, params


def _while_dce(used_outputs, eqn):
    p = eqn.params
    cond, body, nc, nb = p["cond_jaxpr"], p["body_jaxpr"], p["cond_nconsts"], p["body_nconsts"]
    used_inputs, params = body.derived(("while_dce", cond, nc, tuple(used_outputs)),
                                       lambda: _pruned_loop(cond, body, nc, nb, used_outputs))
    if params is None:
        return used_inputs, eqn
    live = used_inputs[len(used_inputs) - len(eqn.outvars):]
    return used_inputs, new_eqn((while_p, [v for v, u in zip(eqn.invars, used_inputs) if u],
                                 [v for v, u in zip(eqn.outvars, live) if u], params))


dce_rules[while_p] = _while_dce
