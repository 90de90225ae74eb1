"""Sorting and searching on ``lax.sort`` and ``lax.searchsorted``: ``sort``, ``argsort``,
``lexsort``, ``partition``, ``argpartition``, ``searchsorted``.

Orders are NumPy's: ascending, stable, NaNs last; complex numbers by real part, then
imaginary part. A traced ``partition`` sorts fully: a sorted array is one of the arrays
NumPy's partition may return (the element at each ``kth`` in its sorted place, none
greater before it and none smaller after it), and it is the same eagerly and traced.
"""
from __future__ import annotations


import numpy as np

from fad import lax
from fad.core.trace import Tracer
from fad.numpy._indexing import take
from fad.numpy._promote import (accept_traced_sequences_in, any_traced, asarray,
                                normalize_axis, operand, promote, shape_of)
from fad.numpy._shape import ravel, reshape


def _iota(shape, axis):
    return np.broadcast_to(np.arange(shape[axis]).reshape(
        [-1 if d == axis else 1 for d in range(len(shape))]), shape)


def _no_order(order, name):
    if order is not None:
        raise ValueError(f"fad.numpy.{name}: order= applies to structured arrays, which "
                         "fad does not trace")


def _stable_by_default(kind, stable):
    """The ``kind`` NumPy is asked for on arrays: NumPy's default (``kind=None``,
    introsort, or a SIMD sort on some CPUs) orders equal keys in a way that depends on
    the machine, and a traced sort cannot reproduce it, so fad's default is the stable
    sort, eager and traced alike (equal keys in their original order: an order NumPy's
    default may also give). An explicit ``kind`` or ``stable`` is passed on."""
    return "stable" if kind is None and stable is None else kind


def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Like ``numpy.sort``; always stable, eager too (``kind`` other than ``"stable"``
    is honoured only eagerly, where it can only differ in the order of equal values
    such as ``0.0`` and ``-0.0``); ``axis=None`` sorts the flattened array.

    >>> sort(np.array([1 + 2j, 1 - 1j, 0 + 5j]))
    array([0.+5.j, 1.-1.j, 1.+2.j])
    """
    if not isinstance(a, Tracer):
        return np.sort(a, axis, _stable_by_default(kind, stable), order, stable=stable)
    _no_order(order, "sort")
    if axis is None:
        a, axis = ravel(a), 0
    if not shape_of(a):
        raise np.exceptions.AxisError(f"axis {axis} is out of bounds for array of dimension 0")
    return lax.sort(a, normalize_axis(axis, len(shape_of(a))))


def argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Like ``numpy.argsort``: the indices that sort ``a``, stable by default, eager too
    (NumPy's default order of equal keys depends on the machine; see ``sort``), so eager
    and traced results agree; traced, every ``kind`` is the stable sort.

    >>> argsort(np.array([1, 0, -2, -2]))
    array([2, 3, 1, 0])
    """
    if not isinstance(a, Tracer):
        return np.argsort(a, axis, _stable_by_default(kind, stable), order, stable=stable)
    _no_order(order, "argsort")
    if axis is None or not shape_of(a):   # (NumPy sorts a 0-d array as a 1-element one)
        a, axis = ravel(a), 0
    shape = shape_of(a)
    axis = normalize_axis(axis, len(shape))
    return lax.sort((a, _iota(shape, axis)), axis, True, 1)[1]


def lexsort(keys, axis=-1):
    """Like ``numpy.lexsort``: the indices that sort by the last key, ties broken by the
    key before it, and so on (stable).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.lexsort((np.array([2, 1, 0]), np.array([1, 0, 1])))
    array([1, 2, 0])
    """
    if not (isinstance(keys, Tracer) or (isinstance(keys, (list, tuple)) and any_traced(keys))):
        return np.lexsort(keys, axis)
    keys = [keys[i] for i in range(shape_of(keys)[0])] if isinstance(keys, Tracer) else \
        [asarray(k) for k in keys]
    if not keys:
        raise TypeError("need sequence of keys with len > 0 in lexsort")
    if len({shape_of(k) for k in keys}) > 1:
        raise ValueError("all keys need to be the same shape")
    shape = shape_of(keys[0])
    if not shape:
        return np.intp(0)
    axis = normalize_axis(axis, len(shape))
    operands = (*keys[::-1], _iota(shape, axis))
    return lax.sort(operands, axis, True, len(keys))[-1]


def _kth_list(kth, n, name):
    kth = np.atleast_1d(np.asarray(kth))
    if kth.dtype.kind not in "iu" or kth.ndim > 1:
        raise TypeError(f"{name}: kth must be an integer or a sequence of integers, got "
                        f"{kth!r}")
    for k in kth.tolist():
        if not -n <= k < n:
            raise ValueError(f"kth(={k}) out of bounds ({n})")


def partition(a, kth, axis=-1, kind="introselect", order=None):
    """Like ``numpy.partition``. Traced, the result is the fully sorted array: one of the
    arrays NumPy's contract allows (every ``kth`` element in place, smaller ones before,
    larger ones after), though NumPy may order the parts in between differently.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.partition(np.array([3, 1, 2, 0]), 1)[1]
    np.int64(1)
    >>> fad.jit(lambda x: fnp.partition(x, 1))(np.array([3, 1, 2, 0]))
    array([0, 1, 2, 3])
    """
    if not isinstance(a, Tracer):
        return np.partition(a, kth, axis, kind, order)
    _no_order(order, "partition")
    if axis is None:
        a, axis = ravel(a), 0
    axis = normalize_axis(axis, len(shape_of(a)))
    _kth_list(kth, shape_of(a)[axis], "partition")
    return lax.sort(a, axis)


def argpartition(a, kth, axis=-1, kind="introselect", order=None):
    """Like ``numpy.argpartition``; traced, the indices that sort ``a`` fully (see
    ``partition``).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> x = np.array([3, 1, 2, 0])
    >>> int(x[fnp.argpartition(x, 1)[1]])
    1
    """
    if not isinstance(a, Tracer):
        return np.argpartition(a, kth, axis, kind, order)
    _no_order(order, "argpartition")
    if axis is None:
        a, axis = ravel(a), 0
    axis = normalize_axis(axis, len(shape_of(a)))
    _kth_list(kth, shape_of(a)[axis], "argpartition")
    return argsort(a, axis)


def searchsorted(a, v, side="left", sorter=None):
    """Like ``numpy.searchsorted``: where the entries of ``v`` go in the sorted 1-D ``a``
    (or ``a[sorter]``) to keep it sorted; ``side`` ``'left'`` or ``'right'``.

    >>> searchsorted(np.array([1., 2., 2., 3.]), np.array([2., 2.5]), side="right")
    array([3, 3])
    """
    if not any_traced([a, v, sorter]):
        return np.searchsorted(a, v, side, sorter)
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right' (got {side!r})")
    a = asarray(a)
    if len(shape_of(a)) != 1:
        raise ValueError(f"fad.numpy.searchsorted: a must be 1-D, got shape {shape_of(a)}")
    if sorter is not None:
        a = take(a, sorter)
    a, v = promote(a, operand(v))
    shape = shape_of(v)
    found = lax.searchsorted(a, reshape(v, (-1,)), side)
    return reshape(found, shape)


__all__ = ["sort", "argsort", "lexsort", "partition", "argpartition", "searchsorted"]
accept_traced_sequences_in(globals())
