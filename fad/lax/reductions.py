"""Reductions over axes."""
from __future__ import annotations

import numpy as np

from fad.core.abstract import ShapedArray, get_aval
from fad.core.primitive import Primitive
from fad.interpreters.batching import batch_rules
from fad.lax.rules import deflinear


def _normalize_axes(axes, ndim, name):
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}: axis {a} is out of range for an array of rank {ndim}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: repeated axis in {tuple(axes)}")
    return tuple(sorted(out))


def _reduce_rule(name, out_dtype=None):
    def rule(x, *, axes):
        if any(a >= x.ndim for a in axes):
            raise ValueError(f"{name}: axes {axes} out of range for shape {x.shape}")
        shape = tuple(d for i, d in enumerate(x.shape) if i not in axes)
        return ShapedArray(shape, out_dtype or x.dtype, x.weak_type and out_dtype is None)
    return rule


def _reduce_batch(prim):
    def rule(args, dims, *, axes):
        (x,), (bd,) = args, dims
        new_axes = tuple(a + (a >= bd) for a in axes)
        out_bd = bd - sum(a < bd for a in new_axes)
        return prim.bind(x, axes=new_axes), out_bd
    return rule


def reduce_sum(x, axes):
    """Sum over ``axes`` (a tuple of ints; negative counts from the end)."""
    axes = _normalize_axes(axes, get_aval(x).ndim, "reduce_sum")
    return reduce_sum_p.bind(x, axes=axes) if axes else x


def _reduce_sum_transpose(ct, x, *, axes):
    from fad.lax.structural import broadcast_in_dim
    shape = x.aval.shape
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    return [broadcast_in_dim(ct, shape, kept)]


reduce_sum_p = Primitive("reduce_sum")
reduce_sum_p.def_impl(lambda x, *, axes: np.sum(x, axis=axes))
reduce_sum_p.def_abstract_eval(_reduce_rule("reduce_sum"))
deflinear(reduce_sum_p, _reduce_sum_transpose)
batch_rules[reduce_sum_p] = _reduce_batch(reduce_sum_p)

__all__ = ["reduce_sum", "reduce_sum_p"]
