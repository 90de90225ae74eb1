"""``debug_callback``: hand runtime values to a Python function from inside any
transformation (``fad.debug.print`` and ``fad.debug.callback`` are its front ends).

The primitive has no results and is ``effectful``: dead-code elimination, constant
folding and common subexpressions keep each of its equations, so a compiled program
calls the function where the traced one did, in program order. Its rules:

- evaluation calls ``callback(lanes, static, values)``, ``values`` the operands as the
  front end's pytree (``in_tree``), ``lanes`` the indices of the ``vmap`` lane being
  shown (outermost ``vmap`` first; ``()`` outside any);
- JVP, and so ``grad``: the call sees the primal values (tangents are not shown), once;
- batching: one call per lane. Each ``vmap`` level adds the batch axes of the operands
  to ``lane_axes``; the implementation slices the outermost level first;
- partial evaluation and transposition need nothing: its operands are primal values,
  known in the forward pass, and it has no linear operand.
"""
from __future__ import annotations

import numpy as np

from fad.core.primitive import Primitive
from fad.interpreters.batching import batch_rules
from fad.interpreters.jvp import jvp_rules
from fad.tree_util import tree_unflatten

debug_callback_p = Primitive("debug_callback", multiple_results=True, effectful=True)


def debug_callback(callback, static, in_tree, leaves):
    """Bind the primitive: at run time ``callback(lanes, static, tree)`` is called with
    ``tree = tree_unflatten(in_tree, values of leaves)``. ``callback`` and ``static``
    must be hashable and stable across calls (a module-level function, a format string)
    for the staged and compiled programs that contain them to be reused.

    >>> import numpy as np, fad, fad.lax as lax
    >>> from fad.tree_util import tree_flatten
    >>> leaves, tree = tree_flatten({'x': np.float64(1.5)})
    >>> def show(lanes, fmt, values):
    ...     print(fmt.format(**values))
    ...
    >>> _ = lax.debug_callback(show, 'x is {x}', tree, leaves)
    x is 1.5
    """
    debug_callback_p.bind(*leaves, callback=callback, static=static, in_tree=in_tree,
                          lane_axes=())


def _impl(*args, callback, static, in_tree, lane_axes):
    _call_lanes(list(args), callback, static, in_tree, lane_axes, ())
    return []


def _call_lanes(values, callback, static, in_tree, lane_axes, lanes):
    if not lane_axes:
        callback(lanes, static, tree_unflatten(in_tree, values))
        return
    axes = lane_axes[-1]   # (the outermost vmap's: its axes index the full arrays)
    size = next(np.shape(x)[d] for x, d in zip(values, axes) if d is not None)
    for i in range(size):
        lane = [x if d is None else np.take(x, i, axis=d) for x, d in zip(values, axes)]
        _call_lanes(lane, callback, static, in_tree, lane_axes[:-1], lanes + (i,))


debug_callback_p.def_impl(_impl)
debug_callback_p.def_abstract_eval(lambda *avals, **params: [])


def _jvp(primals, tangents, **params):
    debug_callback_p.bind(*primals, **params)
    return [], []


def _batch(args, dims, *, lane_axes, **params):
    debug_callback_p.bind(*args, lane_axes=(*lane_axes, tuple(dims)), **params)
    return [], []


jvp_rules[debug_callback_p] = _jvp
batch_rules[debug_callback_p] = _batch

__all__ = ["debug_callback", "debug_callback_p"]
