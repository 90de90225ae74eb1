"""``checkpoint`` (``remat``): trade computation for memory in reverse mode; and
``saved_residuals``: what the backward pass of a function keeps.

``checkpoint(f)`` stages ``f`` into one ``remat`` call (``fad.lax.control_flow.remat``).
Under ``grad``/``vjp`` the call keeps only its inputs (and the results its ``policy``
allows) for the backward pass, which computes ``f`` again from them; every other
transformation sees ``f`` unchanged. Nothing being traced, ``checkpoint(f)`` is ``f``.

>>> import fad, fad.numpy as fnp
>>> f = fad.checkpoint(lambda x: fnp.sin(fnp.sin(x)))
>>> float(fad.grad(f)(0.0))
1.0
>>> [d for _, _, d in fad.saved_residuals(f, 0.0)]
['from the argument x']
"""
from __future__ import annotations

import functools
import inspect
import types
from typing import Callable

from fad.api_util import check_callable
from fad.core.abstract import get_aval
from fad.core.trace import Tracer, eval_trace, get_current_trace, new_trace
from fad.interpreters.partial_eval import linearize_flat
from fad.interpreters.source_info import noting_sources
from fad.interpreters.staging import StagingTrace, StagingTracer
from fad.lax.control_flow import remat as _remat
from fad.lax.control_flow.common import aval_of, trace_body
from fad.tree_util import tree_flatten, tree_unflatten

__all__ = ["checkpoint", "remat", "checkpoint_policies", "saved_residuals"]

checkpoint_policies = types.SimpleNamespace(
    nothing_saveable=_remat.nothing_saveable,
    everything_saveable=_remat.everything_saveable,
    dots_saveable=_remat.dots_saveable,
    checkpoint_dots=_remat.dots_saveable,
    dots_with_no_batch_dims_saveable=_remat.dots_with_no_batch_dims_saveable,
)
checkpoint_policies.__doc__ = (
    "Policies for ``checkpoint(fun, policy=...)``: ``policy(prim, *avals, **params)`` says "
    "whether the backward pass may keep the result of an equation rather than recompute it.")


def checkpoint(fun: Callable, *, policy: Callable | None = None, prevent_cse: bool = True,
               static_argnums=()) -> Callable:
    """``fun``, whose intermediates reverse mode recomputes in the backward pass instead
    of keeping them (JAX's ``jax.checkpoint``).

    ``policy`` (``fad.checkpoint_policies``) names results that may be kept all the same
    (``dots_saveable``: matrix products); the default keeps none. ``static_argnums`` are
    arguments passed as they are (not traced: Python values ``fun`` branches on).
    ``prevent_cse`` is accepted for JAX's sake: a compiled program never merges the
    recomputation with the forward computation, which run as separate calls.
    ``fun`` is staged: Python control flow on the values of its traced arguments raises
    (use ``lax.cond`` or ``static_argnums``).

    >>> import fad, fad.numpy as fnp
    >>> float(fad.grad(fad.checkpoint(fnp.sin))(0.0))
    1.0
    """
    check_callable(fun, "checkpoint")
    if policy is not None and not callable(policy):
        raise TypeError(f"checkpoint: policy must be a callable policy(prim, *avals, **params)"
                        f" -> bool (see fad.checkpoint_policies), got {policy!r:.60}")
    statics = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in statics):
        raise TypeError(f"checkpoint: static_argnums must be an int or a tuple of ints, got "
                        f"{static_argnums!r}")

    @functools.wraps(fun)
    def remat_fun(*args, **kwargs):
        if get_current_trace() is eval_trace:   # nothing traced: nothing to save or recompute
            return fun(*args, **kwargs)
        static = set()
        for i in statics:
            if not -len(args) <= i < len(args):
                raise ValueError(f"checkpoint: static_argnums={static_argnums!r} but the "
                                 f"function was called with {len(args)} positional "
                                 "argument(s)")
            static.add(i % len(args))
        dyn = [a for i, a in enumerate(args) if i not in static]

        def with_statics(dyn_args, kw):
            it = iter(dyn_args)
            return fun(*[a if i in static else next(it) for i, a in enumerate(args)], **kw)

        leaves, in_tree = tree_flatten((tuple(dyn), kwargs))
        avals = []
        for x in leaves:
            try:
                avals.append(aval_of(x))
            except TypeError:
                raise TypeError(f"checkpoint: an argument holds a value of type "
                                f"{type(x).__name__} ({x!r:.60}), which is not an array; "
                                "pass arrays, or name the argument in static_argnums") from None
        closed, out_tree = trace_body(with_statics, in_tree, avals, "checkpoint: fun")
        outs = _remat.remat_call(closed, leaves, policy, prevent_cse)
        return tree_unflatten(out_tree, outs)

    return remat_fun


remat = checkpoint


# -- saved_residuals --------------------------------------------------------------------------



def saved_residuals(fun: Callable, *args, **kwargs) -> list:
    """The arrays the backward pass of ``grad``/``vjp`` of ``fun`` at ``args`` keeps, as
    JAX's ``jax.ad_checkpoint.saved_residuals``: a list of ``(shape, dtype,
    description)``, the description naming the argument the array is, or the primitive
    and the source line (``file:line (function)``) that computed it. Values saved inside
    a ``checkpoint`` name the primitive inside and the line of the checkpointed call.
    ``fun`` is traced (abstract values), as under ``jit``.

    >>> import fad, fad.numpy as fnp
    >>> [(s, str(d)) for s, d, _ in fad.saved_residuals(lambda x: fnp.sin(x).sum(),
    ...                                                 fnp.ones(3))]
    [((3,), 'float64')]
    """
    check_callable(fun, "saved_residuals")
    flat_args, in_tree = tree_flatten(args)
    names = _leaf_names(fun, args)

    def flat_fun(*leaves):
        out_leaves, _ = tree_flatten(fun(*tree_unflatten(in_tree, list(leaves)), **kwargs))
        return out_leaves

    with noting_sources() as notes, new_trace(StagingTrace) as trace:
        in_tracers = [trace.new_arg(get_aval(x)) for x in flat_args]
        _, lin = linearize_flat(flat_fun, in_tracers)
        arg_of = {t.ir_var: name for t, name in zip(in_tracers, names)}
        made_by = {v: (eqn, i) for eqn in trace.eqns for i, v in enumerate(eqn.outvars)}
        out = []
        for c in lin.jaxpr.consts:
            aval = aval_of(c)
            out.append((aval.shape, aval.dtype, _describe(c, trace, arg_of, made_by, notes)))
    return out


def _describe(c, trace, arg_of, made_by, notes) -> str:
    if not (type(c) is StagingTracer and c._trace is trace):
        return "a constant" if not isinstance(c, Tracer) else "a value of an enclosing trace"
    v = c.ir_var
    if v in arg_of:
        return f"from the argument {arg_of[v]}"
    (eqn, i), where = made_by[v], notes[v]
    if eqn.primitive is _remat.remat_p:
        inner = _defining_primitive(eqn.params["jaxpr"].jaxpr, i)
        return f"{inner} saved by checkpoint at {where}"
    return f"{eqn.primitive.name} at {where}"


def _defining_primitive(jaxpr, i) -> str:
    """The primitive that computes output ``i`` of ``jaxpr`` (looking into calls)."""
    v = jaxpr.outvars[i]
    for eqn in jaxpr.eqns:
        if v in eqn.outvars:
            inner = eqn.params.get("jaxpr")
            if eqn.primitive is _remat.remat_p and inner is not None:
                return _defining_primitive(inner.jaxpr, eqn.outvars.index(v))
            return eqn.primitive.name
    return "an input"


def _leaf_names(fun, args) -> list:
    """A name for each leaf of ``args``: the parameter's name (``argument i`` when the
    signature does not say), with the leaf's index within it if it holds several."""
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = []
    for k, a in enumerate(args):
        p = params[k] if k < len(params) and params[k].kind in (
            inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD) else None
        base = p.name if p is not None else f"argument {k}"
        n = len(tree_flatten(a)[0])
        names += [base] if n == 1 else [f"{base}[leaf {j}]" for j in range(n)]
    return names
