"""``vmap``, interpreted: the vectorising map, with in_axes/out_axes pytrees and its errors.
(The public ``fad.vmap`` of a gradient is staged: ``fad.api``, ``fad.staged.vmap``.)"""
from __future__ import annotations

import functools
from typing import Callable

import numpy as np

from fad import lax, tree_util
from fad.api_util import (LEAF_TYPES, SCALAR_TREE, check_callable, check_leaves, flatten_fun,
                          leaf_paths, tuple_of_leaves)
from fad.core.abstract import get_aval, native_byte_order
from fad.core.fresh import fresh_outputs
from fad.core.trace import new_trace
from fad.errors import VmapError, VmapSpecTypeError
from fad.interpreters.batching import BatchTrace, BatchTracer
from fad.tree_util import tree_flatten, tree_leaves, tree_unflatten

__all__ = ["vmap"]


# -- vmap -----------------------------------------------------------------------------------

def _axis_spec_error(fname, spec, what):
    raise VmapSpecTypeError(f"{fname}: {what} must hold ints or None (a pytree prefix of the "
                     f"{'arguments' if what == 'in_axes' else 'outputs'}), got {spec!r}")


def vmap(fun: Callable, in_axes=0, out_axes=0, axis_size: int | None = None):
    """Vectorise ``fun`` over axis ``in_axes`` of its arguments, interpreted: every call
    runs ``fun`` under the batching interpreter (``fad.vmap`` stages gradients).

    ``in_axes``/``out_axes``: an int, ``None`` (not mapped), or a pytree prefix of the
    arguments/outputs holding those. Keyword arguments are passed through unmapped.

    >>> from fad import api_vmap
    >>> import numpy as np
    >>> api_vmap.vmap(lambda x, y: x * y, in_axes=(0, None))(np.arange(3.0), 2.0)
    array([0., 2., 4.])
    """
    check_callable(fun, "vmap")
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    name = getattr(fun, "__name__", "function")

    @functools.wraps(fun)
    def vmapped(*args, **kwargs):
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise VmapError(f"vmap({name}): in_axes has {len(in_axes)} entries but the "
                             f"function was called with {len(args)} positional argument(s); "
                             "give one entry per argument (None for an unmapped one)")
        spec = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        flat = all(type(a) in LEAF_TYPES for a in args) and all(
            ax is None or type(ax) is int for ax in spec)
        if flat:
            # Array arguments with one axis each: the common case, no pytrees to match.
            flat_args, in_tree, flat_axes = list(args), tuple_of_leaves(len(args)), spec
        else:
            flat_args, in_tree = tree_flatten(args)
            check_leaves(flat_args, "vmap", "the arguments")
            try:
                flat_axes = tree_util.broadcast_prefix(spec, args)
            except ValueError as e:
                raise VmapError(f"vmap({name}): in_axes {in_axes!r} does not match the "
                                 f"arguments: {e}") from None

        def arg_paths():
            return [p for i, a in enumerate(args) for p in leaf_paths(a, f"argument {i}")]

        size, flat_axes = _mapped_size(name, arg_paths, flat_args, flat_axes, axis_size)
        call = functools.partial(fun, **kwargs) if kwargs else fun
        flat_fun, store = flatten_fun(call, in_tree, False, "vmap")
        outs, out_dims = _vmap_flat(flat_fun, flat_args, flat_axes, size)
        out_tree = store["tree"]
        # (results never share memory with the arguments: ``vmap(lambda x: x)(X)``)
        inputs = [*flat_args, *tree_leaves(kwargs)] if kwargs else flat_args
        if out_tree == SCALAR_TREE and (out_axes is None or type(out_axes) is int):
            out = _move_batch_axis(name, "output", outs[0], out_dims[0], out_axes, size)
            return fresh_outputs([out], inputs)[0]
        out_value = tree_unflatten(out_tree, outs)
        try:
            flat_out_axes = tree_util.broadcast_prefix(out_axes, out_value)
        except ValueError as e:
            raise VmapError(f"vmap({name}): out_axes {out_axes!r} does not match the "
                             f"output structure {out_tree}: {e}") from None
        out_paths = leaf_paths(out_value, "output")
        results = [_move_batch_axis(name, p, o, d, dst, size)
                   for p, o, d, dst in zip(out_paths, outs, out_dims, flat_out_axes)]
        return tree_unflatten(out_tree, fresh_outputs(results, inputs))

    return vmapped


def _is_axis(ax):
    return isinstance(ax, (int, np.integer)) and not isinstance(ax, bool)


def _mapped_size(name, arg_paths, flat_args, flat_axes, axis_size):
    """The common size of the mapped axes, and the axes made non-negative.
    ``arg_paths()`` names the arguments (computed only for an error message)."""
    size = None
    consistent = True
    normalized = []
    for i, (x, ax) in enumerate(zip(flat_args, flat_axes)):
        if ax is None:
            normalized.append(None)
            continue
        if not _is_axis(ax):
            _axis_spec_error(f"vmap({name})", ax, "in_axes")
        shape = get_aval(x).shape
        if not -len(shape) <= ax < len(shape):
            raise VmapError(f"vmap({name}): in_axes={ax} for {arg_paths()[i]} of shape "
                             f"{shape} is out of range (it has {len(shape)} axes)")
        ax = int(ax) % len(shape)
        normalized.append(ax)
        if size is None:
            size = shape[ax]
        consistent = consistent and shape[ax] == size
    if axis_size is not None:
        if not _is_axis(axis_size) or axis_size < 0:
            raise VmapError(f"vmap({name}): axis_size must be a non-negative int, "
                             f"got {axis_size!r}")
        if size is None:
            size = int(axis_size)
        consistent = consistent and axis_size == size
    if size is None:
        raise VmapError(f"vmap({name}): no argument is mapped (all in_axes are None); pass "
                         "axis_size to say how many times to map")
    if not consistent:
        sizes = {}
        for x, ax, path in zip(flat_args, normalized, arg_paths()):
            if ax is not None:
                shape = get_aval(x).shape
                sizes.setdefault(shape[ax], []).append(f"{path} (shape {shape}, axis {ax})")
        if axis_size is not None:
            sizes.setdefault(int(axis_size), []).append(f"axis_size={axis_size}")
        found = "; ".join(f"size {s}: {', '.join(w)}" for s, w in sizes.items())
        raise VmapError(f"vmap({name}) got inconsistent sizes for the mapped axes: {found}")
    return size, normalized


def _vmap_flat(flat_fun, flat_args, flat_axes, size):
    with new_trace(BatchTrace, size) as trace:
        tracers = [native_byte_order(x) if ax is None
                   else BatchTracer(trace, native_byte_order(x), ax)
                   for x, ax in zip(flat_args, flat_axes)]
        outs = flat_fun(*tracers)
        pairs = [trace.unpack(o) for o in outs]
    return [v for v, _ in pairs], [d for _, d in pairs]


def _move_batch_axis(name, path, x, src, dst, size):
    """Put the batch axis ``src`` of output ``x`` at ``dst`` (broadcasting if unbatched)."""
    if dst is None:
        if src is None:
            return x
        raise VmapError(f"vmap({name}): out_axes is None for {path}, but that output "
                         "depends on the mapped axis; use an integer out_axes for it")
    if not _is_axis(dst):
        _axis_spec_error(f"vmap({name})", dst, "out_axes")
    aval = get_aval(x)
    ndim = aval.ndim + (src is None)
    if not -ndim <= dst < ndim:
        raise VmapError(f"vmap({name}): out_axes={dst} is out of range for {path}, "
                         f"which has {ndim} axes when batched (shape {aval.shape} per element)")
    dst = int(dst) % ndim
    if src == dst:
        return x
    if src is None:
        x = lax.broadcast_in_dim(x, (size, *aval.shape), tuple(range(1, ndim)))
        src = 0
    return lax.moveaxis(x, src, dst)
