"""``ravel_pytree``: a pytree of arrays as one flat vector, and the way back.

Optimizers written for vectors (SciPy's, a Hessian as a matrix, a line search) work on
any pytree of parameters through this pair::

    flat, unravel = ravel_pytree(params)      # 1-D, the leaves' promoted dtype
    params_again = unravel(flat)              # the structure, shapes and dtypes back

Both halves are made of ``fad.numpy`` operations, so they trace: ``unravel`` is
differentiable, jit-able and vmappable, and ``ravel_pytree`` itself runs on tracers.

>>> import numpy as np
>>> flat, unravel = ravel_pytree({"w": np.ones((2, 2), np.float32), "b": np.int64(3)})
>>> flat
array([3., 1., 1., 1., 1.])
>>> unravel(flat)["b"].dtype, unravel(flat)["w"].dtype
(dtype('int64'), dtype('float32'))
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import fad.numpy as fnp
from fad import lax
from fad.tree_util import PyTreeDef, tree_flatten, tree_unflatten

__all__ = ["ravel_pytree"]


def _leaf_dtype(x: Any) -> np.dtype:
    """The dtype a leaf has on its own: a Python float is float64, not a weak scalar
    (ravelling is about storage, so NEP 50's weak promotion does not apply)."""
    dtype = getattr(x, "dtype", None)
    return np.dtype(dtype) if dtype is not None else np.asarray(x).dtype


def ravel_pytree(tree: Any) -> tuple[Any, Callable[[Any], Any]]:
    """Ravel every leaf of ``tree`` and concatenate them: ``(flat, unravel)``.

    ``flat`` is 1-D, of NumPy's promoted dtype of the leaves' dtypes (a tree of no
    leaves gives a length-0 float64 array); leaves come in ``tree_flatten`` order (dict
    keys sorted). ``unravel(v)`` takes a vector of ``flat``'s length and rebuilds the
    tree, each leaf with its original shape and dtype. When every leaf has the same
    dtype, ``unravel`` keeps the dtype of ``v`` (so a float64 vector unravels float32
    parameters into float64 ones, as SciPy needs); with mixed dtypes ``v`` must have
    ``flat``'s dtype, and each piece is converted back (complex to real keeps the real
    part, float to int truncates, as ``astype`` does).

    >>> import numpy as np, fad
    >>> flat, unravel = ravel_pytree((np.zeros(2), {"s": 1.0}))
    >>> flat
    array([0., 0., 1.])
    >>> unravel(np.array([1.0, 2.0, 3.0]))
    (array([1., 2.]), {'s': array(3.)})
    >>> fad.grad(lambda v: unravel(v)[1]["s"] * 2.0)(flat)
    array([0., 0., 2.])
    """
    leaves, treedef = tree_flatten(tree)
    dtypes = [_leaf_dtype(x) for x in leaves]
    shapes = [tuple(fnp.shape(x)) for x in leaves]
    if not leaves:
        return np.zeros(0, np.float64), _Unravel(treedef, [], [], None, np.dtype(np.float64))
    flat_dtype = np.result_type(*dtypes)
    pieces = [fnp.ravel(lax.convert_element_type(x, flat_dtype) if d != flat_dtype else x)
              for x, d in zip(leaves, dtypes)]
    flat = fnp.concatenate(pieces)   # (a copy even of one leaf: flat never aliases it)
    one_dtype = all(d == flat_dtype for d in dtypes)
    return flat, _Unravel(treedef, shapes, dtypes, None if one_dtype else flat_dtype,
                          flat_dtype)


class _Unravel:
    """The inverse of one ``ravel_pytree``: a vector back into the tree it came from.

    ``required_dtype`` is None when ``unravel`` keeps the vector's dtype (one dtype among
    the leaves), else the dtype the vector must have. A class rather than a closure so
    that it prints what it expects."""

    def __init__(self, treedef: PyTreeDef, shapes: list, dtypes: list,
                 required_dtype: np.dtype | None, flat_dtype: np.dtype) -> None:
        self.treedef, self.shapes, self.dtypes = treedef, shapes, dtypes
        self.required_dtype, self.flat_dtype = required_dtype, flat_dtype
        self.sizes = [math.prod(s) for s in shapes]
        self.size = sum(self.sizes)

    def __repr__(self) -> str:
        return f"<unravel to {self.treedef} from a vector of {self.size} {self.flat_dtype}>"

    def __call__(self, flat: Any) -> Any:
        shape = tuple(fnp.shape(flat))
        if shape != (self.size,):
            raise ValueError(f"unravel: expected a 1-D vector of length {self.size} (the size "
                             f"of the raveled tree {self.treedef}), got shape {shape}")
        dtype = _leaf_dtype(flat)
        if self.required_dtype is not None and dtype != self.required_dtype:
            raise TypeError(f"unravel: the tree's leaves have mixed dtypes, so the vector must "
                            f"have their promoted dtype {self.required_dtype}; got {dtype}. "
                            f"Convert it first: v.astype({self.required_dtype.name!r})")
        leaves, start = [], 0
        for size, leaf_shape, leaf_dtype in zip(self.sizes, self.shapes, self.dtypes):
            piece = fnp.reshape(flat[start:start + size], leaf_shape)
            if self.required_dtype is not None and leaf_dtype != dtype:
                piece = lax.convert_element_type(piece, leaf_dtype)
            leaves.append(piece)
            start += size
        return tree_unflatten(self.treedef, leaves)
