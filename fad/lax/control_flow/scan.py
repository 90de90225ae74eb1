"""``scan``: a loop over the leading axis of arrays, carrying a value from step to step,
as one primitive whose parameter is the body program; ``map`` and ``fori_loop`` (with a
static trip count) are scans.

``scan(f, init, xs)`` traces ``f(carry, x) -> (carry, y)`` once, for one step: ``jit`` of
a 10,000-step scan stages one body, not 10,000. ``scan_p``'s operands are the constants
the body closes over, the initial carry and the scanned arrays; its results, the final
carry and the per-step outputs stacked. Each interpreter transforms the body and binds
``scan_p`` again:

- JVP: the body's JVP, with the carried tangents that the body makes nonzero found by a
  fixpoint (a tangent nonzero on exit must be there on entry);
- batching: the body batched, the carried values batched by the same fixpoint;
- partial evaluation (``grad``): the body split into a known scan, run now, which also
  returns the residuals of every step stacked (values read from the constants are passed
  once, not stacked), and an unknown scan, linear in the tangents, reading them;
- transposition: the unknown scan run backwards, its body transposed, the cotangents of
  the constants accumulated in the carry;
- lowering: a Python loop over the compiled body.

With no transformation active (NumPy values only) ``scan`` runs ``f`` in a Python loop,
as the unrolled code would.
"""
from __future__ import annotations

import numpy as np

from fad.core.abstract import ShapedArray
from fad.core.ad_util import Zero, add_tangents, instantiate, tangent_aval, zeros_like_aval
from fad.core.ir import ClosedJaxpr, Jaxpr, Var, dce_jaxpr, dce_rules, new_eqn
from fad.core.primitive import Primitive
from fad.core.trace import Tracer, eval_trace, get_current_trace
from fad.errors import ControlFlowTypeError
from fad.interpreters.batching import batch_rules
from fad.interpreters.eval import eval_jaxpr
from fad.interpreters.jaxpr_transforms import (batch_jaxpr, jvp_jaxpr, partial_eval_jaxpr,
                                               partial_eval_jaxpr_rules, transpose_jaxpr)
from fad.interpreters.jvp import jvp_rules
from fad.interpreters.lowering import lowering_rules
from fad.interpreters.staging import StagingTracer, partial_eval_rules, trace_to_jaxpr
from fad.interpreters.transpose import UndefinedPrimal, transpose_rules
from fad.lax.control_flow.common import (aval_of, hoist_loop_invariants, lift_tracer_consts,
                                         lowered, trace_body)
from fad.lax.control_flow.loops import while_loop
from fad.lax.plumbing import batch_axis_at
from fad.tree_util import tree_flatten, tree_structure, tree_unflatten

__all__ = ["scan", "map", "fori_loop", "scan_p"]

# operands: *consts, *init carry, *xs; params: jaxpr (the body: consts, carry, x slices ->
# carry, y slices), num_consts, num_carry, length, reverse
scan_p = Primitive("scan", multiple_results=True)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """``f(carry, x) -> (carry, y)`` over the leading axis of ``xs`` (pytrees), as JAX's
    ``lax.scan``: returns the final carry and the ``y`` of every step stacked.
    ``xs=None`` scans ``length`` steps without inputs; ``reverse`` runs from the last
    step; ``unroll`` is accepted (the compiled loop is a Python loop either way).

    >>> import numpy as np
    >>> scan(lambda c, x: (c + x, c * x), np.float64(0.0), np.arange(4.0))
    (np.float64(6.0), array([0., 0., 2., 9.]))
    """
    if not callable(f):
        raise TypeError(f"scan: f must be a callable f(carry, x) -> (carry, y), got {f!r:.60}")
    return _scan(f, init, xs, length, reverse, _SCAN_NAMES)


# How a scan names, in its errors, its API, the function it runs and the initial carry:
# ``scan``'s own, and those of ``fori_loop`` with static bounds, which is a scan.
_SCAN_NAMES = ("scan", "f", "the initial carry")
_FORI_NAMES = ("fori_loop", "body_fun", "init_val")


def _scan(f, init, xs, length, reverse, names):
    xs_leaves, xs_tree = tree_flatten(xs)
    length = _scan_length(xs_leaves, xs_tree, length)
    init_leaves, init_tree = tree_flatten(init)
    if get_current_trace() is eval_trace:   # (nothing traced, not even a closed-over value)
        return _python_scan(f, init, init_leaves, init_tree, xs, xs_leaves, xs_tree, length,
                            reverse, names)
    carry_avals = [aval_of(x) for x in init_leaves]
    x_avals = [ShapedArray(aval_of(x).shape[1:], aval_of(x).dtype) for x in xs_leaves]
    in_tree = tree_structure((init, _slices_tree(xs, xs_tree)))
    closed, out_tree = trace_body(lambda c, x: _pair(f(c, x)), in_tree,
                                  [*carry_avals, *x_avals], f"{names[0]}: {names[1]}")
    carry_tree, y_tree = _check_carry(out_tree, init_tree, closed, carry_avals, names)
    (closed,), consts = lift_tracer_consts([closed])
    outs = _bind(consts, init_leaves, xs_leaves, closed, length, bool(reverse))
    n = len(init_leaves)
    return tree_unflatten(carry_tree, outs[:n]), tree_unflatten(y_tree, outs[n:])


def map(f, xs):
    """``f`` applied to each slice of ``xs`` along its leading axis, the results stacked
    (JAX's ``lax.map``: a scan without carry).

    >>> import numpy as np, fad, fad.lax as lax
    >>> lax.map(lambda row: row.sum(), np.array([[1, 2], [3, 4]]))
    array([3, 7])
    >>> fad.grad(lambda x: lax.map(lax.sin, x).sum())(np.zeros(2))
    array([1., 1.])
    """
    return scan(lambda _, x: (None, f(x)), None, xs)[1]


def fori_loop(lower, upper, body_fun, init_val):
    """``body_fun(i, val)`` for ``i`` from ``lower`` to ``upper`` (JAX's ``fori_loop``).
    With static bounds (Python or NumPy ints) it is a ``scan`` over the indices, so it is
    differentiable in both modes; with traced bounds it is a ``while_loop`` (forward mode
    only: its trip count is not known when the program is staged).

    >>> import numpy as np, fad, fad.lax as lax
    >>> lax.fori_loop(0, 5, lambda i, total: total + i, 0)
    np.int64(10)
    >>> fad.grad(lambda x: lax.fori_loop(0, 3, lambda i, v: v * x, 1.0))(2.0)
    np.float64(12.0)
    """
    if isinstance(lower, Tracer) or isinstance(upper, Tracer):
        def cond(state):
            return state[0] < state[1]

        def body(state):
            i, n, val = state
            return i + 1, n, body_fun(i, val)
        return while_loop(cond, body, (lower, upper, init_val))[2]
    try:
        lower, upper = int(lower), int(upper)
    except (TypeError, ValueError):
        raise ControlFlowTypeError(
            "fori_loop: lower and upper must be integers (Python or NumPy ints, or traced "
            f"integer scalars), got {type(lower).__name__} and {type(upper).__name__}"
            ) from None
    steps = max(upper - lower, 0)
    indices = np.arange(lower, lower + steps, dtype=np.int64)
    return _scan(lambda val, i: (body_fun(i, val), None), init_val, indices, steps, False,
                 _FORI_NAMES)[0]


# -- tracing helpers --------------------------------------------------------------------------

def _pair(out):
    if not (isinstance(out, tuple) and len(out) == 2):
        raise ControlFlowTypeError(
            f"scan: f must return a pair (carry, y), got {type(out).__name__}; return "
            "(carry, None) when there is no per-step output")
    return out


def _scan_length(xs_leaves, xs_tree, length):
    lengths = {aval_of(x).shape[0] for x in xs_leaves if aval_of(x).shape}
    if any(not aval_of(x).shape for x in xs_leaves):
        raise ValueError("scan: every leaf of xs must have a leading axis to scan over; got "
                         "a scalar among xs " + str(xs_tree))
    if len(lengths) > 1:
        shapes = ", ".join(str(aval_of(x).shape) for x in xs_leaves)
        raise ValueError(f"scan: the leaves of xs have different leading axis sizes "
                         f"({shapes}); they must all have the same length")
    if length is not None:
        length = int(length)
        if lengths and length not in lengths:
            raise ValueError(f"scan: length={length} but xs have leading axis size "
                             f"{lengths.pop()}")
        return length
    if not lengths:
        raise ValueError("scan: with xs=None (or no arrays in xs) pass length=")
    return lengths.pop()


def _slices_tree(xs, xs_tree):
    return tree_unflatten(xs_tree, [0] * xs_tree.num_leaves)


def _check_carry(out_tree, init_tree, closed, carry_avals, names):
    """The carry's and the ``y``'s structures; a ``ControlFlowTypeError`` naming both types
    when the carry out of the body is not the carry in (``names``: see ``_SCAN_NAMES``)."""
    api, fn, init = names
    pair = out_tree.children()
    carry_tree, y_tree = pair[0], pair[1]
    outs = [v.aval for v in closed.jaxpr.outvars[:carry_tree.num_leaves]]
    if carry_tree != init_tree:
        raise ControlFlowTypeError(
            f"{api}: {fn} returns a carry of structure {carry_tree}, but {init} has "
            f"structure {init_tree}; they must be the same")
    for i, (a, b) in enumerate(zip(carry_avals, outs)):
        if a.shape != b.shape or a.dtype != b.dtype:
            raise ControlFlowTypeError(
                f"{api}: {fn} returns carry leaf {i} of type {b.str_short()}, but leaf {i} "
                f"of {init} has type {a.str_short()}; the carry must keep its shape and "
                "dtype (cast the initial value, e.g. np.float64(0.0) rather than 0, or the "
                "value the function returns, with .astype)")
    return carry_tree, y_tree


def _python_scan(f, init, init_leaves, init_tree, xs, xs_leaves, xs_tree, length, reverse,
                 names):
    """The scan with nothing traced: ``f`` called step by step, as the unrolled code."""
    api, fn, init_name = names
    carry, ys = init, []
    in_avals = [aval_of(x) for x in init_leaves]
    for i in (range(length - 1, -1, -1) if reverse else range(length)):
        x = tree_unflatten(xs_tree, [leaf[i] for leaf in xs_leaves])
        carry, y = _pair(f(carry, x))
        leaves, tree = tree_flatten(carry)
        if tree != init_tree or any(aval_of(a).shape != b.shape or aval_of(a).dtype != b.dtype
                                    for a, b in zip(leaves, in_avals)):
            got = ", ".join(aval_of(a).str_short() for a in leaves)
            want = ", ".join(b.str_short() for b in in_avals)
            raise ControlFlowTypeError(
                f"{api}: {fn} returns a carry {tree} of types ({got}), but {init_name} is "
                f"{init_tree} of types ({want}); the carry must keep its structure, shapes "
                "and dtypes (cast the initial value, or the value returned, with .astype)")
        ys.append(y)
    if reverse:
        ys.reverse()
    if not ys:
        return carry, None
    y_leaves = [tree_flatten(y)[0] for y in ys]
    stacked = [np.stack([np.asarray(step[k]) for step in y_leaves])
               for k in range(len(y_leaves[0]))]
    return carry, tree_unflatten(tree_structure(ys[0]), stacked)


# -- evaluation, types, lowering --------------------------------------------------------------

def _run(body, consts, carry, xs, length, reverse, y_avals):
    """The loop: ``body`` (a compiled program) over ``length`` steps."""
    ys = [np.empty((length, *a.shape), a.dtype) for a in y_avals]
    n = len(carry)
    for i in (range(length - 1, -1, -1) if reverse else range(length)):
        outs = body(*consts, *carry, *[x[i] for x in xs])
        carry = outs[:n]
        for y, o in zip(ys, outs[n:]):
            y[i] = o
    return [*[np.array(c) if not isinstance(c, np.ndarray) or c.base is not None else c
              for c in carry], *ys]


def _y_avals(jaxpr, num_carry):
    return [v.aval for v in jaxpr.jaxpr.outvars[num_carry:]]


@scan_p.def_impl
def _scan_impl(*args, jaxpr, num_consts, num_carry, length, reverse):
    consts, carry, xs = _split3(args, num_consts, num_carry)
    return _run(lowered(jaxpr), consts, carry, xs, length, reverse,
                _y_avals(jaxpr, num_carry))


def _split3(seq, num_consts, num_carry):
    seq = list(seq)
    return (seq[:num_consts], seq[num_consts:num_consts + num_carry],
            seq[num_consts + num_carry:])


@scan_p.def_abstract_eval
def _scan_abstract_eval(*avals, jaxpr, num_consts, num_carry, length, reverse):
    consts, carry, xs = _split3(avals, num_consts, num_carry)
    want = jaxpr.in_avals
    got = [*consts, *carry, *[ShapedArray(a.shape[1:], a.dtype) for a in xs]]
    if any(a.shape[:1] != (length,) for a in xs) or len(got) != len(want) or any(
            a.shape != w.shape or a.dtype != w.dtype for a, w in zip(got, want)):
        raise TypeError("scan: the operands do not have the types the body takes")
    outs = jaxpr.out_avals
    return [*outs[:num_carry], *[ShapedArray((length, *a.shape), a.dtype)
                                 for a in outs[num_carry:]]]


def _scan_lowering(*avals, jaxpr, num_consts, num_carry, length, reverse):
    body, y_avals = lowered(jaxpr), _y_avals(jaxpr, num_carry)

    def run(*args):
        consts, carry, xs = _split3(args, num_consts, num_carry)
        return _run(body, consts, carry, xs, length, reverse, y_avals)
    return run


lowering_rules[scan_p] = _scan_lowering


# -- programs with their inputs and outputs regrouped ---------------------------------------------

def _permuted(closed, in_order, out_order):
    """``closed`` taking its inputs in the order ``in_order`` (indices of its inputs) and
    giving its outputs in the order ``out_order``."""
    j = closed.jaxpr
    return ClosedJaxpr(Jaxpr(j.constvars, [j.invars[i] for i in in_order],
                             [j.outvars[i] for i in out_order], j.eqns), closed.consts)


def _bind(consts, carry, xs, jaxpr, length, reverse):
    """Bind ``scan_p``, with the values the body computes from the constants alone
    computed here, once (``hoist_loop_invariants``), and passed as constants."""
    invariants, body = jaxpr.derived(("hoisted", len(consts)),
                                     lambda: hoist_loop_invariants(jaxpr, len(consts)))
    if invariants is not None:
        consts = [*consts, *eval_jaxpr(invariants, (), *consts)]
    return scan_p.bind(*consts, *carry, *xs, jaxpr=body, num_consts=len(consts),
                       num_carry=len(carry), length=length, reverse=reverse)


# -- JVP -----------------------------------------------------------------------------------------

def _scan_jvp(primals, tangents, *, jaxpr, num_consts, num_carry, length, reverse):
    nc, nk = num_consts, num_carry
    nx, ny = len(primals) - nc - nk, len(jaxpr.jaxpr.outvars) - nk
    nz = [type(t) is not Zero for t in tangents]
    const_nz, carry_nz, xs_nz = _split3(nz, nc, nk)
    while True:   # the carried tangents nonzero on entry: a fixpoint
        key = ("jvp", tuple(const_nz + carry_nz + xs_nz), tuple(carry_nz))
        body, out_nz = jaxpr.derived(key, lambda k=carry_nz: jvp_jaxpr(
            jaxpr, const_nz + k + xs_nz, k + [False] * ny))
        grown = [a or b for a, b in zip(carry_nz, out_nz[:nk])]
        if grown == carry_nz:
            break
        carry_nz = grown
    # regroup the JVP body's [primals, tangents] -> [outs, tangents] as scan wants them
    n_in = nc + nk + nx
    tangent_pos = iter(range(n_in, n_in + sum(const_nz + carry_nz + xs_nz)))
    t_in = [next(tangent_pos) if z else None for z in const_nz + carry_nz + xs_nz]
    ct, kt, xt = _split3(t_in, nc, nk)
    in_order = [*range(nc), *[i for i in ct if i is not None],
                *range(nc, nc + nk), *[i for i in kt if i is not None],
                *range(nc + nk, n_in), *[i for i in xt if i is not None]]
    n_out = nk + ny
    t_out = iter(range(n_out, n_out + sum(out_nz)))
    out_t = [next(t_out) if z else None for z in out_nz]
    out_order = [*range(nk), *[i for i in out_t[:nk] if i is not None],
                 *range(nk, n_out), *[i for i in out_t[nk:] if i is not None]]
    body = jaxpr.derived(("jvp_scan", key), lambda: _permuted(body, in_order, out_order))
    c, k, x = _split3(primals, nc, nk)
    tc, tk, tx = _split3(tangents, nc, nk)
    outs = _bind([*c, *[t for t, z in zip(tc, const_nz) if z]],
                 [*k, *[instantiate(t) for t, z in zip(tk, carry_nz) if z]],
                 [*x, *[t for t, z in zip(tx, xs_nz) if z]], body, length, reverse)
    n_kt = sum(carry_nz)
    carry_out, carry_t = outs[:nk], iter(outs[nk:nk + n_kt])
    ys, ys_t = outs[nk + n_kt:nk + n_kt + ny], iter(outs[nk + n_kt + ny:])
    avals = [tangent_aval(a) for a in _scan_abstract_eval(
        *[aval_of(p) for p in primals], jaxpr=jaxpr, num_consts=nc, num_carry=nk,
        length=length, reverse=reverse)]
    tangents_out = [next(carry_t) if z else Zero(a) for z, a in zip(carry_nz, avals[:nk])]
    tangents_out += [next(ys_t) if z else Zero(a) for z, a in zip(out_nz[nk:], avals[nk:])]
    return [*carry_out, *ys], tangents_out


jvp_rules[scan_p] = _scan_jvp


# -- batching --------------------------------------------------------------------------------------

def _scan_batch(args, dims, *, jaxpr, num_consts, num_carry, length, reverse):
    nc, nk = num_consts, num_carry
    ny = len(jaxpr.jaxpr.outvars) - nk
    size = next(aval_of(x).shape[d] for x, d in zip(args, dims) if d is not None)
    c_dims, k_dims, x_dims = _split3(dims, nc, nk)
    const_b = tuple(d is not None for d in c_dims)
    xs_b = tuple(d is not None for d in x_dims)
    carry_b = [d is not None for d in k_dims]
    while True:   # the carried values batched: a fixpoint
        in_dims = tuple([0 if b else None for b in (*const_b, *carry_b, *xs_b)])
        body, out_dims = jaxpr.derived(("batch", size, in_dims, tuple(carry_b)),
                                       lambda d=in_dims, k=carry_b: batch_jaxpr(
                                           jaxpr, size, d, k + [False] * ny))
        grown = [b or d is not None for b, d in zip(carry_b, out_dims[:nk])]
        if grown == carry_b:
            break
        carry_b = grown
    ys_b = [d is not None for d in out_dims[nk:]]
    body, _ = jaxpr.derived(("batch", size, in_dims, tuple(carry_b), tuple(ys_b)),
                            lambda: batch_jaxpr(jaxpr, size, in_dims, carry_b + ys_b))
    c, k, x = _split3(args, nc, nk)
    consts = [batch_axis_at(v, d) if b else v for v, d, b in zip(c, c_dims, const_b)]
    carry = [batch_axis_at(v, d, size) if b else v for v, d, b in zip(k, k_dims, carry_b)]
    # (a scanned array's batch axis goes second: its slices are batched at 0)
    xs = [batch_axis_at(v, d, pos=1) if b else v for v, d, b in zip(x, x_dims, xs_b)]
    outs = _bind(consts, carry, xs, body, length, reverse)
    return outs, [*[0 if b else None for b in carry_b], *[1 if b else None for b in ys_b]]


batch_rules[scan_p] = _scan_batch


# -- partial evaluation: a known scan now (with stacked residuals), an unknown scan recorded -----

def _split_scan(jaxpr, num_consts, num_carry, unknowns):
    """The body split for operands ``unknowns`` (consts, carry, xs): the carry's unknowns
    by fixpoint; the known body (known consts, carry, xs -> known carry, known ys, the
    residuals of a step); the unknown body regrouped as a scan's (unknown consts and the
    residuals read from known consts; unknown carry; the stacked residuals and unknown
    xs -> unknown carry, unknown ys); and how the residuals are passed."""
    nc, nk = num_consts, num_carry
    ny = len(jaxpr.jaxpr.outvars) - nk
    c_uk, k_uk, x_uk = _split3(unknowns, nc, nk)
    while True:
        flags = [*c_uk, *k_uk, *x_uk]
        known, unknown, out_uk, num_res = partial_eval_jaxpr(jaxpr, flags,
                                                            list(k_uk) + [False] * ny)
        grown = [a or b for a, b in zip(k_uk, out_uk[:nk])]
        if grown == list(k_uk):
            break
        k_uk = grown
    # A residual that is a known constant operand itself is passed once (as a constant of
    # the unknown scan), not stacked per step; one that is a known scanned operand's slice
    # is that operand, passed as it is; the others the known scan stacks.
    # A residual the known body closes over (an array of the user's) is closed over by
    # the unknown body too.
    known_ins = [i for i, u in enumerate(flags) if not u]
    n_known_out = len(known.jaxpr.outvars) - num_res
    res_vars = known.jaxpr.outvars[n_known_out:]
    closed_over = dict(zip(known.jaxpr.constvars, known.consts))
    source = []   # per residual: ("const" | "xs", operand index), ("closed", value), or
    for v in res_vars:   # ("step", None)
        pos = next((k for k, w in enumerate(known.jaxpr.invars) if w is v), None)
        op = known_ins[pos] if pos is not None else None
        source.append(("const", op) if op is not None and op < nc else
                      ("xs", op) if op is not None and op >= nc + nk else
                      ("closed", closed_over[v]) if v in closed_over else ("step", None))
    from_const = [op if kind == "const" else None for kind, op in source]
    stacked = [i for i, (kind, _) in enumerate(source) if kind in ("xs", "step")]
    computed = [i for i, (kind, _) in enumerate(source) if kind == "step"]
    known_body = _permuted(known, range(len(known.jaxpr.invars)),
                           [*range(n_known_out), *[n_known_out + i for i in computed]])
    # unknown body inputs: [residuals..., unknown operands in order]; regroup as
    # [unknown consts, constant residuals | unknown carry | stacked residuals, unknown xs]
    uk_ops = [i for i, u in enumerate(flags) if u]
    pos_of = {op: num_res + j for j, op in enumerate(uk_ops)}
    in_order = [*[pos_of[i] for i in range(nc) if flags[i]],
                *[r for r, op in enumerate(from_const) if op is not None],
                *[pos_of[i] for i in range(nc, nc + nk) if flags[i]],
                *stacked,
                *[pos_of[i] for i in range(nc + nk, len(flags)) if flags[i]]]
    unknown_body = _permuted(unknown, in_order, range(len(unknown.jaxpr.outvars)))
    closed_res = [i for i, (kind, _) in enumerate(source) if kind == "closed"]
    if closed_res:
        uj = unknown.jaxpr
        unknown_body = ClosedJaxpr(
            Jaxpr([*uj.constvars, *[uj.invars[i] for i in closed_res]],
                  unknown_body.jaxpr.invars, uj.outvars, uj.eqns),
            [*unknown.consts, *[source[i][1] for i in closed_res]])
    # (the scanned residuals, in order: an operand index, or None for the next one the
    # known scan stacks)
    scanned = [source[i][1] for i in stacked]
    return known_body, unknown_body, out_uk, from_const, scanned, k_uk


def _scan_partial_eval(trace, args, params):
    jaxpr, nc, nk = params["jaxpr"], params["num_consts"], params["num_carry"]
    length, reverse = params["length"], params["reverse"]
    unknowns = tuple(type(x) is StagingTracer and x._trace is trace for x in args)
    if all(unknowns):   # (nothing to compute now)
        return trace.record(scan_p, args, params)
    known_body, unknown_body, out_uk, from_const, scanned, k_uk = jaxpr.derived(
        ("scan_split", unknowns), lambda: _split_scan(jaxpr, nc, nk, unknowns))
    c, k, x = _split3(args, nc, nk)
    c_uk, _, x_uk = _split3(unknowns, nc, nk)
    known_outs = trace.parent.process_primitive(
        scan_p, [*[v for v, u in zip(c, c_uk) if not u],
                 *[v for v, u in zip(k, k_uk) if not u],
                 *[v for v, u in zip(x, x_uk) if not u]],
        {"jaxpr": known_body, "num_consts": nc - sum(c_uk),
         "num_carry": nk - sum(k_uk), "length": length, "reverse": reverse})
    n_known_out = len(known_outs) - scanned.count(None)
    stacked = iter(known_outs[n_known_out:])
    residuals = [next(stacked) if op is None else args[op] for op in scanned]
    uk_consts = [*[v for v, u in zip(c, c_uk) if u],
                 *[c[op] for op in from_const if op is not None]]
    uk_carry = [v for v, u in zip(k, k_uk) if u]   # (a known initial value, possibly)
    uk_xs = [*residuals, *[v for v, u in zip(x, x_uk) if u]]
    unknown_outs = trace.record(scan_p, [*uk_consts, *uk_carry, *uk_xs], {
        "jaxpr": unknown_body, "num_consts": len(uk_consts), "num_carry": len(uk_carry),
        "length": length, "reverse": reverse})
    known_iter, unknown_iter = iter(known_outs[:n_known_out]), iter(unknown_outs)
    return [next(unknown_iter) if u else next(known_iter) for u in out_uk]


partial_eval_rules[scan_p] = _scan_partial_eval


def _scan_partial_eval_jaxpr(eqn, unknowns_in):
    p = eqn.params
    jaxpr, nc, nk = p["jaxpr"], p["num_consts"], p["num_carry"]
    unknowns = tuple(unknowns_in)
    known_body, unknown_body, out_uk, from_const, scanned, k_uk = jaxpr.derived(
        ("scan_split", unknowns), lambda: _split_scan(jaxpr, nc, nk, unknowns))
    c, k, x = _split3(eqn.invars, nc, nk)
    c_uk, _, x_uk = _split3(unknowns, nc, nk)
    n_known_out = len(known_body.jaxpr.outvars) - scanned.count(None)
    computed = [Var(ShapedArray((p["length"], *a.shape), a.dtype))
                for a in known_body.out_avals[n_known_out:]]
    stacked = iter(computed)
    residuals = [next(stacked) if op is None else eqn.invars[op] for op in scanned]
    known_eqn = new_eqn((scan_p, [*[v for v, u in zip(c, c_uk) if not u],
                                  *[v for v, u in zip(k, k_uk) if not u],
                                  *[v for v, u in zip(x, x_uk) if not u]],
                         [*[v for v, u in zip(eqn.outvars, out_uk) if not u], *computed],
                         {**p, "jaxpr": known_body, "num_consts": nc - sum(c_uk),
                          "num_carry": nk - sum(k_uk)}))
    uk_consts = [*[v for v, u in zip(c, c_uk) if u], *[c[op] for op in from_const
                                                       if op is not None]]
    uk_carry = [v for v, u in zip(k, k_uk) if u]
    unknown_eqn = new_eqn((scan_p, [*uk_consts, *uk_carry, *residuals,
                                    *[v for v, u in zip(x, x_uk) if u]],
                           [v for v, u in zip(eqn.outvars, out_uk) if u],
                           {**p, "jaxpr": unknown_body, "num_consts": len(uk_consts),
                            "num_carry": len(uk_carry)}))
    return known_eqn, unknown_eqn, out_uk, computed


partial_eval_jaxpr_rules[scan_p] = _scan_partial_eval_jaxpr


# -- transposition: the linear scan run backwards -------------------------------------------

def _scan_transpose(cts, *args, jaxpr, num_consts, num_carry, length, reverse):
    nc, nk = num_consts, num_carry
    # The carry is linear: a carried tangent whose initial value is a known zero (an input
    # not differentiated, which the body makes nonzero) enters as a constant, but the body
    # is linear in it all the same; its cotangent is computed and dropped.
    defined = [type(a) is UndefinedPrimal for a in args]
    linear = [*defined[:nc], *[True] * nk, *defined[nc + nk:]]
    c_lin, k_lin, x_lin = _split3(linear, nc, nk)
    ny = len(jaxpr.jaxpr.outvars) - nk
    c, _, x = _split3(args, nc, nk)
    ct_carry = [instantiate(t) for t in cts[:nk]]
    ct_ys = [instantiate(t) for t in cts[nk:]]
    lin_consts = [a.aval for a, lin in zip(c, c_lin) if lin]
    body = jaxpr.derived(("transpose_scan", tuple(linear)),
                         lambda: _transposed_body(jaxpr, linear, nc, nk, ny, lin_consts))
    res_consts = [a for a, lin in zip(c, c_lin) if not lin]
    res_xs = [a for a, lin in zip(x, x_lin) if not lin]
    zeros = [zeros_like_aval(tangent_aval(a)) for a in lin_consts]
    outs = _bind(res_consts, [*zeros, *ct_carry], [*ct_ys, *res_xs], body, length,
                 not reverse)
    n_lc = len(lin_consts)
    ct_consts, ct_init, ct_xs = iter(outs[:n_lc]), outs[n_lc:n_lc + nk], iter(outs[n_lc + nk:])
    out = [next(ct_consts) if lin else None for lin in c_lin]
    out += [ct if d else None for ct, d in zip(ct_init, defined[nc:nc + nk])]
    out += [next(ct_xs) if lin else None for lin in x_lin]
    return out


def _transposed_body(jaxpr, linear, nc, nk, ny, lin_const_avals):
    """One step of the transposed scan: (non-linear consts; accumulated cotangents of the
    linear consts, cotangent of the carry; cotangent of the step's y, the step's
    non-linear xs) -> (the accumulators plus this step's, the cotangent of the carry on
    entry; the cotangents of the step's linear xs)."""
    transposed = transpose_jaxpr(jaxpr, linear)
    c_lin, _, x_lin = _split3(linear, nc, nk)
    n_rc, n_rx = nc - sum(c_lin), len(x_lin) - sum(x_lin)
    n_lc = len(lin_const_avals)
    y_avals = [tangent_aval(a) for a in jaxpr.out_avals[nk:]]
    carry_avals = [tangent_aval(a) for a in jaxpr.out_avals[:nk]]
    res_x_avals = [a for a, lin in zip(jaxpr.in_avals[nc + nk:], x_lin) if not lin]
    res_c_avals = [a for a, lin in zip(jaxpr.in_avals[:nc], c_lin) if not lin]

    def step(*vals):
        res_c = vals[:n_rc]
        acc = vals[n_rc:n_rc + n_lc]
        ct_carry = vals[n_rc + n_lc:n_rc + n_lc + nk]
        ct_y = vals[n_rc + n_lc + nk:n_rc + n_lc + nk + ny]
        res_x = vals[n_rc + n_lc + nk + ny:]
        assert len(res_x) == n_rx
        cts = eval_jaxpr(transposed, (), *res_c, *res_x, *ct_carry, *ct_y)
        ct_c = cts[:n_lc]
        ct_k = cts[n_lc:n_lc + nk]
        ct_x = cts[n_lc + nk:]
        return [*[add_tangents(a, b) for a, b in zip(acc, ct_c)], *ct_k, *ct_x]

    return trace_to_jaxpr(step, [*res_c_avals, *[tangent_aval(a) for a in lin_const_avals],
                                 *carry_avals, *y_avals, *res_x_avals])


transpose_rules[scan_p] = _scan_transpose


# -- dead code: unused per-step outputs, carried values no one needs -------------------------------

def _scan_dce(used_outputs, eqn):
    p = eqn.params
    jaxpr, nc, nk = p["jaxpr"], p["num_consts"], p["num_carry"]
    body = jaxpr.jaxpr
    used_carry, used_ys = list(used_outputs[:nk]), list(used_outputs[nk:])
    while True:   # a carried value the body reads to compute a needed one is needed
        kept = dce_jaxpr(Jaxpr(body.constvars, body.invars,
                               [v for v, u in zip(body.outvars, used_carry + used_ys) if u],
                               body.eqns))
        read = {v for e in kept.eqns for v in e.invars} | set(kept.outvars)
        grown = [u or v in read for u, v in zip(used_carry, body.invars[nc:nc + nk])]
        if grown == used_carry:
            break
        used_carry = grown
    used_in = [v in read for v in body.invars]
    for i in range(nk):   # (a kept carry is an input and an output of the body)
        used_in[nc + i] = used_carry[i]
    if all(used_in) and all(used_carry) and all(used_ys):
        return [True] * len(eqn.invars), eqn
    new_body = ClosedJaxpr(Jaxpr(kept.constvars,
                                 [v for v, u in zip(body.invars, used_in) if u],
                                 [v for v, u in zip(body.outvars, used_carry + used_ys) if u],
                                 kept.eqns), jaxpr.consts)
    c_in, k_in, _ = _split3(used_in, nc, nk)
    new = new_eqn((scan_p, [v for v, u in zip(eqn.invars, used_in) if u],
                   [v for v, u in zip(eqn.outvars, used_carry + used_ys) if u],
                   {**p, "jaxpr": new_body, "num_consts": sum(c_in),
                    "num_carry": sum(k_in)}))
    return used_in, new


dce_rules[scan_p] = _scan_dce
