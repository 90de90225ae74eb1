"""``fad.ops``: segment reductions, as ``jax.ops``.

``segment_sum(data, segment_ids, num_segments)`` reduces the rows of ``data`` (its
leading axis) that share a segment id into row ``id`` of the result, which has
``num_segments`` rows; segments without rows hold the reduction's identity (0 for sums, 1
for products, -inf / the smallest integer for maxima, +inf / the largest for minima).
Ids outside ``[0, num_segments)`` are dropped (``mode=None`` or ``'drop'``) or clamped
into range (``'clip'``, ``'promise_in_bounds'``).

They are scatters (``lax.scatter_add``, ``scatter_mul``, ``scatter_max``,
``scatter_min``) into an array with one extra row that collects the dropped rows, so
they have every rule those have: derivatives (ties in max/min split equally, products
exact at zeros), batching and staging. ``num_segments`` fixes the result's shape, so it
must be static: under ``jit``/``vmap`` it is required (the ids are abstract there).

>>> import numpy as np
>>> segment_sum(np.array([1.0, 2.0, 3.0]), np.array([0, 0, 2]), num_segments=3)
array([3., 0., 3.])
"""
from __future__ import annotations

import numpy as np

from fad import lax
from fad.core.trace import Tracer
from fad.errors import ConcretizationTypeError
from fad.numpy._promote import asarray, concrete_or_none, dtype_of, shape_of

_MODES = (None, "drop", "fill", "clip", "promise_in_bounds")


def _identity(kind, dtype):
    if kind == "sum":
        return 0
    if kind == "prod":
        return 1
    largest = kind == "min"
    if dtype.kind == "f":
        return np.inf if largest else -np.inf
    if dtype.kind == "b":
        return largest
    info = np.iinfo(dtype)
    return info.max if largest else info.min


def _num_segments(ids, num_segments, name):
    if num_segments is not None:
        if isinstance(num_segments, Tracer):
            raise ConcretizationTypeError(
                f"fad.ops.{name}: num_segments must be a static int (it is the result's "
                "shape); under jit pass it as a static argument")
        if int(num_segments) != num_segments or num_segments < 0:
            raise ValueError(f"fad.ops.{name}: num_segments must be a non-negative int, got "
                             f"{num_segments!r}")
        return int(num_segments)
    known = concrete_or_none(ids)
    if known is None:
        raise ConcretizationTypeError(
            f"fad.ops.{name}: num_segments is required when segment_ids are traced (under "
            "jit or vmap the number of segments, the result's shape, cannot be read from "
            "them); pass num_segments=")
    known = np.asarray(known)
    return int(known.max()) + 1 if known.size else 0


def _segment(kind, scatter, data, segment_ids, num_segments, mode, name):
    if mode not in _MODES:
        raise ValueError(f"fad.ops.{name}: mode must be one of {_MODES}, got {mode!r}")
    data, ids = asarray(data), asarray(segment_ids)
    if dtype_of(ids).kind not in "iu":
        raise TypeError(f"fad.ops.{name}: segment_ids must be integers, got {dtype_of(ids)}")
    if len(shape_of(ids)) != 1 or not shape_of(data) or shape_of(ids)[0] != shape_of(data)[0]:
        raise ValueError(f"fad.ops.{name}: segment_ids must be 1-D with one id per row of "
                         f"data (its leading axis); got ids of shape {shape_of(ids)} for data "
                         f"of shape {shape_of(data)}")
    n = _num_segments(ids, num_segments, name)
    ids = lax.convert_element_type(ids, np.dtype(np.int64))
    if mode in ("clip", "promise_in_bounds"):
        ids = lax.clamp(np.int64(0), ids, np.int64(max(n - 1, 0)))
    else:   # out-of-range rows go to the extra row n, which is cut off
        outside = lax.bitwise_or(lax.lt(ids, np.int64(0)), lax.ge(ids, np.int64(n)))
        ids = lax.select_n(outside, ids, np.int64(n))
    dtype = dtype_of(data)
    init = np.full((n + 1,) + shape_of(data)[1:], _identity(kind, dtype), dtype)
    out = scatter(init, lax.expand_dims(ids, (1,)), data, (0,))
    return lax.slice_in_dim(out, 0, n, axis=0)


def _segment_function(kind, scatter, what, example):
    name = f"segment_{kind}"

    def fn(data, segment_ids, num_segments=None, indices_are_sorted=False,
           unique_indices=False, bucket_size=None, mode=None):
        return _segment(kind, scatter, data, segment_ids, num_segments, mode, name)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"Like ``jax.ops.{name}``: the {what} of the rows of ``data`` in each "
                  "segment (see the module docstring). ``indices_are_sorted``, "
                  "``unique_indices`` and ``bucket_size`` are accepted as hints and "
                  "ignored.\n\n"
                  ">>> import numpy as np, fad.ops\n"
                  ">>> data, ids = np.array([1.0, 2.0, 3.0]), np.array([0, 0, 1])\n"
                  f">>> fad.ops.{name}(data, ids, num_segments=2)\n{example}\n")
    return fn


segment_sum = _segment_function("sum", lax.scatter_add, "sum", "array([3., 3.])")
segment_prod = _segment_function("prod", lax.scatter_mul, "product", "array([2., 3.])")
segment_max = _segment_function("max", lax.scatter_max, "maximum", "array([2., 3.])")
segment_min = _segment_function("min", lax.scatter_min, "minimum", "array([1., 3.])")

__all__ = ["segment_sum", "segment_prod", "segment_max", "segment_min"]
