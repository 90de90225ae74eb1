"""Custom derivatives as primitives: ``custom_jvp_call``, ``custom_vjp_call`` and the
linear ``custom_lin`` (``fad.custom_jvp``, ``fad.custom_vjp`` bind them).

Each call carries the traced primal function (a closed jaxpr, ``call_jaxpr``), which is
what evaluation, staging, lowering and partial evaluation run, and the user's rules as
``LazyJaxpr`` s: programs traced only when a derivative is first asked for (a rule often
calls the function itself, ``ans = f(x)``; tracing it at every call would recurse).

- ``custom_jvp_call``: its JVP rule runs the user's JVP program (tangents of the inputs
  not differentiated instantiated as zeros), so the levels below see ordinary
  primitives; reverse mode linearizes and transposes that program, so its tangent part
  must be linear.
- ``custom_vjp_call``: its JVP rule runs the forward program (outputs and residuals) and
  emits ``custom_lin``, linear in the tangents, whose transpose runs the backward
  program. ``custom_lin`` has no forward evaluation: running it is forward-mode
  differentiation of a ``custom_vjp`` function, a ``TypeError`` (as in JAX).

Batching batches the body and the rules along the same axes, every output batched at
axis 0, so the batched rules stay consistent with the batched body. The first
``num_consts`` operands are values the functions close over (tracers of enclosing
transformations): differentiating with respect to them is an error, the rules say
nothing about them.
"""
from __future__ import annotations

from fad.core.abstract import get_aval
from fad.core.ad_util import Zero, instantiate, tangent_aval
from fad.core.ir import ClosedJaxpr, Jaxpr, dce_jaxpr, dce_rules, new_eqn
from fad.core.primitive import Primitive
from fad.core.trace import Tracer, get_current_trace
from fad.interpreters.batching import batch_rules
from fad.interpreters.eval import eval_jaxpr
from fad.interpreters.jaxpr_transforms import batch_jaxpr
from fad.interpreters.jvp import jvp_rules
from fad.interpreters.lowering import lowering_rules
from fad.interpreters.transpose import transpose_rules
from fad.lax import plumbing
from fad.lax.control_flow.common import lowered

__all__ = ["LazyJaxpr", "PatternRule", "custom_jvp_call_p", "custom_vjp_call_p", "custom_lin_p",
           "FORWARD_MODE_ERROR"]

FORWARD_MODE_ERROR = (
    "can't apply forward-mode autodiff (jvp) to a custom_vjp function. A custom_vjp "
    "function defines only reverse mode (grad, vjp); use fad.custom_jvp to define a rule "
    "that works in both modes, or differentiate it with grad/vjp/jacrev instead of "
    "jvp/jacfwd/hessian.")


class LazyJaxpr:
    """A closed jaxpr made by ``make()`` the first time ``get()`` asks for it, then
    kept; programs derived from it are kept on it too (``derived``), so that the batched
    rule of a call is one object however often the call is batched.

    >>> import numpy as np, fad, fad.lax as lax
    >>> lazy = lax.LazyJaxpr(lambda: fad.make_jaxpr(lax.sin)(1.0))
    >>> lazy
    <rule, traced on demand>
    >>> lazy.get().jaxpr.eqns[0].primitive.name, lazy
    ('sin', <rule, traced>)
    """

    __slots__ = ("_make", "_value", "_derived", "__weakref__")

    def __init__(self, make):
        self._make = make
        self._value = None
        self._derived = {}

    def get(self):
        if self._value is None:
            self._value = self._make()
            self._make = None
        return self._value

    def __repr__(self):
        return "<rule, traced>" if self._value is not None else "<rule, traced on demand>"

    def derived(self, key, make):
        out = self._derived.get(key)
        if out is None:
            out = self._derived[key] = make()
        return out

    def batched(self, size, dims):
        """This program batched along ``dims`` (axis ``size``), every output at axis 0,
        made when asked for."""
        return self.derived(("batch", size, dims), lambda: LazyJaxpr(
            lambda: batch_jaxpr(self.get(), size, dims, instantiate=True)[0]))


class PatternRule:
    """A JVP rule traced once per pattern of nonzero input tangents (``custom_jvp`` with
    ``symbolic_zeros=True``): ``for_nonzeros(nonzero)`` is ``(program, out_nonzero)``,
    the program taking ``[*operands, *the nonzero tangents]`` and giving ``[*results,
    *the tangents out_nonzero flags]``.

    >>> import numpy as np, fad, fad.lax as lax
    >>> rule = lax.PatternRule(lambda nonzero: (f'program for {nonzero}', nonzero))
    >>> rule.for_nonzeros((True, False))
    ('program for (True, False)', (True, False))
    >>> rule
    <rule, traced for 1 pattern(s) of zero tangents>
    """

    __slots__ = ("_make", "_programs", "_derived", "__weakref__")

    def __init__(self, make):
        self._make = make
        self._programs = {}
        self._derived = {}

    def for_nonzeros(self, nonzero: tuple):
        out = self._programs.get(nonzero)
        if out is None:
            out = self._programs[nonzero] = self._make(nonzero)
        return out

    def __repr__(self):
        return f"<rule, traced for {len(self._programs)} pattern(s) of zero tangents>"

    def batched(self, size, dims):
        """This rule batched along ``dims`` (of the operands, then of all tangents), each
        pattern's program batched alike, every output at axis 0."""
        key = ("batch", size, dims)
        out = self._derived.get(key)
        if out is None:
            out = self._derived[key] = PatternRule(
                lambda nonzero: self._batched_for(size, dims, nonzero))
        return out

    def _batched_for(self, size, dims, nonzero):
        program, out_nonzero = self.for_nonzeros(nonzero)
        n_ops = len(dims) - len(nonzero)
        tangent_dims = [d for d, nz in zip(dims[n_ops:], nonzero) if nz]
        return (batch_jaxpr(program, size, (*dims[:n_ops], *tangent_dims),
                            instantiate=True)[0], out_nonzero)


def _closed_over_error(kind):
    return TypeError(
        f"Detected differentiation of a {kind} function with respect to a closed-over "
        f"value (or a nondiff_argnums argument). That isn't supported: the custom rule "
        "only says how to differentiate with respect to the explicit differentiable "
        f"arguments. Pass the value to the {kind} function as an argument and extend the "
        "rule to it.")


def _known_tangents_zero(tangents):
    """``tangents`` with those that are known values made symbolic zeros, when the
    current trace is ``linearize``'s partial evaluator (else unchanged).

    Under linearization the tangents are the unknowns and every rule is linear in them,
    so a tangent known without them (a ``custom_jvp`` rule's constant tangent, zeros it
    instantiated) is a linear map of nothing: zero. Left as a value, the programs after
    it would run their tangent part forward, which a ``custom_vjp`` function's cannot."""
    trace = get_current_trace()
    if not getattr(trace, "linear_unknowns", False):
        return tangents
    return [t if type(t) is Zero or (isinstance(t, Tracer) and t._trace is trace)
            else Zero.like(t) for t in tangents]


def _check_consts_not_differentiated(tangents, num_consts, kind):
    for t in tangents[:num_consts]:
        if type(t) is not Zero:
            raise _closed_over_error(kind)


def _out_tangents(outs, avals):
    """The output tangents ``outs`` with those of outputs without a derivative (integer,
    boolean) made symbolic zeros."""
    return [t if a.dtype.kind in "fc" else Zero(tangent_aval(a)) for t, a in zip(outs, avals)]


def _batch_size(args, dims):
    return next(_aval(x).shape[d] for x, d in zip(args, dims) if d is not None)


def _aval(x):
    return x.aval if isinstance(x, Tracer) else get_aval(x)


def _call_abstract_eval(*avals, call_jaxpr, **_):
    return call_jaxpr.out_avals


def _call_impl(*args, call_jaxpr, **_):
    return lowered(call_jaxpr)(*args)


def _call_lowering(*avals, call_jaxpr, **_):
    return lowered(call_jaxpr)


# -- custom_jvp_call: params call_jaxpr, jvp (LazyJaxpr of [*consts, *primals, *tangents]
# -> [*outs, *out tangents]), num_consts, name --------------------------------------------

custom_jvp_call_p = Primitive("custom_jvp_call", multiple_results=True)
custom_jvp_call_p.def_impl(_call_impl)
custom_jvp_call_p.def_abstract_eval(_call_abstract_eval)
lowering_rules[custom_jvp_call_p] = _call_lowering


def _custom_jvp_call_jvp(primals, tangents, *, call_jaxpr, jvp, num_consts, name):
    _check_consts_not_differentiated(tangents, num_consts, "custom_jvp")
    out_avals = call_jaxpr.out_avals
    if all(type(t) is Zero for t in tangents):
        outs = custom_jvp_call_p.bind(*primals, call_jaxpr=call_jaxpr, jvp=jvp,
                                      num_consts=num_consts, name=name)
        return outs, [Zero(tangent_aval(a)) for a in out_avals]
    n = len(out_avals)
    if type(jvp) is PatternRule:   # (symbolic zeros: the rule traced for this pattern)
        nonzero = tuple(type(t) is not Zero for t in tangents[num_consts:])
        program, out_nonzero = jvp.for_nonzeros(nonzero)
        outs = eval_jaxpr(program, (), *primals,
                          *[t for t in tangents[num_consts:] if type(t) is not Zero])
        given = iter(outs[n:])
        return outs[:n], _known_tangents_zero(_out_tangents(
            [next(given) if nz else Zero(tangent_aval(a))
             for nz, a in zip(out_nonzero, out_avals)], out_avals))
    # (the rule sees the tangents of inputs not differentiated as zeros, as in JAX)
    outs = eval_jaxpr(jvp.get(), (), *primals,
                      *[instantiate(t) for t in tangents[num_consts:]])
    return outs[:n], _known_tangents_zero(_out_tangents(outs[n:], out_avals))


def _custom_jvp_call_batch(args, dims, *, call_jaxpr, jvp, num_consts, name):
    size, dims = _batch_size(args, dims), tuple(dims)
    body = call_jaxpr.derived(("custom_batch", size, dims), lambda: batch_jaxpr(
        call_jaxpr, size, dims, instantiate=True)[0])
    # the rule's tangents have their primals' batch axes
    rule = jvp.batched(size, dims + dims[num_consts:])
    outs = custom_jvp_call_p.bind(*args, call_jaxpr=body, jvp=rule, num_consts=num_consts,
                                  name=name)
    return outs, [0] * len(outs)


def _outputs_pruned(closed: ClosedJaxpr, used) -> ClosedJaxpr:
    """``closed`` returning only the outputs ``used`` flags (its inputs unchanged), with
    what computed the others dropped."""
    j = closed.jaxpr
    return ClosedJaxpr(dce_jaxpr(Jaxpr(j.constvars, j.invars,
                                       [v for v, u in zip(j.outvars, used) if u], j.eqns)),
                       closed.consts)


def _custom_jvp_call_dce(used_outputs, eqn):
    """Unused results: the body and the rule (whose outputs are the results, then their
    tangents) drop them alike; every operand stays (the rule reads them all)."""
    used = tuple(used_outputs)
    if all(used) or type(eqn.params["jvp"]) is PatternRule:   # (its programs vary by
        return [True] * len(eqn.invars), eqn                   # pattern: kept whole)
    p = eqn.params
    body = p["call_jaxpr"].derived(("dce", used),
                                   lambda: _outputs_pruned(p["call_jaxpr"], used))
    rule = p["jvp"].derived(("dce", used), lambda: LazyJaxpr(
        lambda: _outputs_pruned(p["jvp"].get(), used + used)))
    return [True] * len(eqn.invars), new_eqn((
        custom_jvp_call_p, eqn.invars, [v for v, u in zip(eqn.outvars, used) if u],
        {**p, "call_jaxpr": body, "jvp": rule}))


jvp_rules[custom_jvp_call_p] = _custom_jvp_call_jvp
batch_rules[custom_jvp_call_p] = _custom_jvp_call_batch
dce_rules[custom_jvp_call_p] = _custom_jvp_call_dce


# -- custom_vjp_call: params call_jaxpr, fwd (LazyJaxpr of [*consts, *primals] ->
# [*outs, *residuals]), bwd (LazyJaxpr of [*consts, *residuals, *output cotangents] ->
# input cotangents), num_consts, name ------------------------------------------------------

custom_vjp_call_p = Primitive("custom_vjp_call", multiple_results=True)
custom_vjp_call_p.def_impl(_call_impl)
custom_vjp_call_p.def_abstract_eval(_call_abstract_eval)
lowering_rules[custom_vjp_call_p] = _call_lowering


def _custom_vjp_call_jvp(primals, tangents, *, call_jaxpr, fwd, bwd, num_consts, name):
    tangents = _known_tangents_zero(tangents)   # (custom_lin cannot run forward)
    _check_consts_not_differentiated(tangents, num_consts, "custom_vjp")
    out_avals = call_jaxpr.out_avals
    if all(type(t) is Zero for t in tangents):
        outs = custom_vjp_call_p.bind(*primals, call_jaxpr=call_jaxpr, fwd=fwd, bwd=bwd,
                                      num_consts=num_consts, name=name)
        return outs, [Zero(tangent_aval(a)) for a in out_avals]
    n = len(out_avals)
    outs_res = eval_jaxpr(fwd.get(), (), *primals)
    outs, res = outs_res[:n], outs_res[n:]
    out_tangents = custom_lin_p.bind(
        *primals[:num_consts], *res, *[instantiate(t) for t in tangents[num_consts:]],
        bwd=bwd, num_consts=num_consts, num_res=len(res), out_avals=tuple(
            tangent_aval(a) for a in out_avals), name=name)
    return outs, _out_tangents(out_tangents, out_avals)


def _custom_vjp_call_batch(args, dims, *, call_jaxpr, fwd, bwd, num_consts, name):
    size = _batch_size(args, dims)
    # Every differentiable operand batched at axis 0 (unbatched ones broadcast): the
    # batched backward program gives each input's cotangent at axis 0, so the inputs
    # must be laid out that way for reverse mode through this call to line up.
    args = [*args[:num_consts], *[plumbing.batch_axis_at(x, d, size)
                                  for x, d in zip(args[num_consts:], dims[num_consts:])]]
    dims = (*dims[:num_consts], *[0] * (len(args) - num_consts))
    body = call_jaxpr.derived(("custom_batch", size, dims), lambda: batch_jaxpr(
        call_jaxpr, size, dims, instantiate=True)[0])
    fwd_b = fwd.batched(size, dims)
    # (the backward program's residuals and cotangents are all batched at axis 0, as
    # the batched forward program and body make them; its cotangents come out at 0)
    bwd_b = bwd.derived(("bwd", size, dims), lambda: LazyJaxpr(lambda: _batched_bwd(
        bwd.get(), fwd_b.get(), size, dims[:num_consts], len(call_jaxpr.out_avals))))
    outs = custom_vjp_call_p.bind(*args, call_jaxpr=body, fwd=fwd_b, bwd=bwd_b,
                                  num_consts=num_consts, name=name)
    return outs, [0] * len(outs)


def _batched_bwd(bwd, fwd_batched, size, const_dims, n_out):
    num_res = len(fwd_batched.out_avals) - n_out
    n_cts = len(bwd.in_avals) - len(const_dims) - num_res
    return batch_jaxpr(bwd, size, (*const_dims, *[0] * (num_res + n_cts)),
                       instantiate=True)[0]


jvp_rules[custom_vjp_call_p] = _custom_vjp_call_jvp
batch_rules[custom_vjp_call_p] = _custom_vjp_call_batch


# -- custom_lin: [*consts, *residuals, *input tangents] -> output tangents, linear in the
# tangents; its transpose is the user's bwd -------------------------------------------------

class _LinearRulePrimitive(Primitive):
    """``custom_lin`` binds in its own way: evaluated (no operand a tracer) it is
    forward-mode differentiation of a ``custom_vjp`` function run eagerly, and raises
    that error at once; a program holding it cannot be lowered (its lowering rule raises
    the same error), so it never is an equation of a compiled program."""

    __slots__ = ()

    def bind(self, *args, **params):
        trace = get_current_trace()
        if trace.const_eval and not any(isinstance(x, Tracer) for x in args):
            raise TypeError(FORWARD_MODE_ERROR)
        return trace.process_primitive(self, args, params)


custom_lin_p = _LinearRulePrimitive("custom_lin", multiple_results=True)


@custom_lin_p.def_impl
def _custom_lin_impl(*args, **params):
    raise TypeError(FORWARD_MODE_ERROR)


@custom_lin_p.def_abstract_eval
def _custom_lin_abstract_eval(*avals, out_avals, **_):
    return list(out_avals)


def _custom_lin_lowering(*avals, **params):
    raise TypeError(FORWARD_MODE_ERROR)


def _custom_lin_transpose(cts, *args, bwd, num_consts, num_res, out_avals, name):
    k = num_consts + num_res
    cts_in = eval_jaxpr(bwd.get(), (), *args[:k], *[instantiate(c) for c in cts])
    return [None] * k + list(cts_in)


def _custom_lin_jvp(primals, tangents, *, bwd, num_consts, num_res, out_avals, name):
    k = num_consts + num_res
    if any(type(t) is not Zero for t in tangents[:k]):
        raise NotImplementedError(
            f"fad cannot differentiate the linearized custom_vjp function {name!r} with "
            "respect to its residuals in forward mode (forward over reverse of a "
            "custom_vjp function)")
    params = dict(bwd=bwd, num_consts=num_consts, num_res=num_res, out_avals=out_avals,
                  name=name)
    outs = custom_lin_p.bind(*primals, **params)
    if all(type(t) is Zero for t in tangents[k:]):
        return outs, [Zero(a) for a in out_avals]
    # (linear in the tangents: the tangent of the result is the same map of theirs)
    return outs, custom_lin_p.bind(*primals[:k], *[instantiate(t) for t in tangents[k:]],
                                   **params)


def _custom_lin_batch(args, dims, *, bwd, num_consts, num_res, out_avals, name):
    size, dims = _batch_size(args, dims), tuple(dims)
    k = num_consts + num_res
    # (the tangents all batched at axis 0, so the cotangents the transpose gives them are)
    args = [*args[:k], *[plumbing.batch_axis_at(x, d, size) for x, d in
                         zip(args[k:], dims[k:])]]
    n_cts = len(out_avals)
    bwd_b = bwd.batched(size, (*dims[:k], *[0] * n_cts))
    out_b = tuple(a.update(shape=(size, *a.shape)) for a in out_avals)
    outs = custom_lin_p.bind(*args, bwd=bwd_b, num_consts=num_consts, num_res=num_res,
                             out_avals=out_b, name=name)
    return outs, [0] * len(outs)


lowering_rules[custom_lin_p] = _custom_lin_lowering
transpose_rules[custom_lin_p] = _custom_lin_transpose
jvp_rules[custom_lin_p] = _custom_lin_jvp
batch_rules[custom_lin_p] = _custom_lin_batch
