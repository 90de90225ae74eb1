"""Building arrays from index expressions and conditions: ``r_``, ``c_``, the index
generators (``triu_indices``, ``tril_indices``, ``diag_indices`` and their ``_from``
forms), ``nonzero``/``argwhere``/``flatnonzero``, ``select`` and ``piecewise``.

``nonzero`` and its relatives have data-dependent shapes. Concrete arrays (and tracers
with concrete values, under ``grad``/``jvp``) go to NumPy; an abstract tracer (under
``jit``/``vmap``) needs JAX's ``size=``: the first ``size`` positions, padded with
``fill_value``, found by a running count of the nonzero entries and a scatter.
"""
from __future__ import annotations

import numpy as np

from fad import lax
from fad.core.trace import Tracer
from fad.errors import ConcretizationTypeError
from fad.numpy import _creation, _elementwise, _reductions, _shape, _ufuncs
from fad.numpy._indexing import at
from fad.numpy._promote import (accept_traced_sequences_in, any_traced, asarray, cast,
                                concrete_or_none, dtype_of, is_weak, ndim_of, operand,
                                result_type, shape_of)

# -- r_ and c_ -------------------------------------------------------------------------------


def _ndmin(x, ndmin):
    """``x`` with ones prepended to its shape up to ``ndmin`` axes (``array(x, ndmin=)``)."""
    shape = shape_of(x)
    if len(shape) >= ndmin:
        return x
    new = (1,) * (ndmin - len(shape)) + shape
    return lax.reshape(x, new) if isinstance(x, Tracer) else np.reshape(x, new)


def _slice_values(item):
    """What ``r_`` makes of a slice: ``arange``, or ``linspace`` for a complex step."""
    start = 0 if item.start is None else item.start
    step = 1 if item.step is None else item.step
    if isinstance(step, (complex, np.complexfloating)):
        return _creation.linspace(start, item.stop, num=int(abs(step)))
    return _creation.arange(start, item.stop, step)


def _directive(item, state):
    """Apply a string directive (``"axis"``, ``"axis,ndmin"``, ``"axis,ndmin,trans1d"``)."""
    if item in ("r", "c"):
        raise NotImplementedError("fad.numpy r_/c_ do not build matrices ('r' and 'c' "
                                  "directives); use the arrays they would hold")
    try:
        values = [int(v) for v in item.split(",")]
    except ValueError:
        raise ValueError(f"unknown special directive {item!r}") from None
    if not 1 <= len(values) <= 3:
        raise ValueError(f"unknown special directive {item!r}")
    state.update(zip(("axis", "ndmin", "trans1d"), values))


class _Concatenator:
    """``numpy.r_``/``numpy.c_``: ``x[...]`` joins its entries along an axis. Slices
    become ``arange`` (``linspace`` with a complex step, whose bounds may be traced),
    scalars and arrays join as they are, a leading string sets the axis, the minimum
    number of dimensions and where lower-dimensional entries' axes go. The matrix
    directives ``'r'`` and ``'c'`` are not supported."""

    def __init__(self, axis, ndmin, trans1d, name):
        self._defaults = {"axis": axis, "ndmin": ndmin, "trans1d": trans1d}
        self._name = name

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        traced = any(any_traced([k.start, k.stop, k.step]) if isinstance(k, slice)
                     else any_traced([k]) for k in key)
        if not traced:
            return getattr(np, self._name)[key]
        state = dict(self._defaults)
        objs = []
        for i, item in enumerate(key):
            if isinstance(item, str):
                if i != 0:
                    raise ValueError("special directives must be the first entry.")
                _directive(item, state)
                continue
            ndmin, trans1d = state["ndmin"], state["trans1d"]
            if isinstance(item, slice):
                obj = _slice_values(item)
                if ndmin > 1:
                    obj = _ndmin(obj, ndmin)
                    if trans1d != -1:
                        obj = _shape.swapaxes(obj, -1, trans1d)
            elif type(item) in np.ScalarType or is_weak(item):
                obj = item   # (a Python scalar stays weak in the result dtype, as in NumPy)
            else:
                obj = self._raise_dims(asarray(item), ndmin, trans1d)
            objs.append(obj)
        dtype = result_type(*objs)
        objs = [_ndmin(asarray(cast(o, dtype)), state["ndmin"]) for o in objs]
        return _shape.concatenate(objs, axis=state["axis"])

    @staticmethod
    def _raise_dims(item, ndmin, trans1d):
        nd = ndim_of(item)
        out = _ndmin(item, ndmin)
        if trans1d != -1 and nd < ndmin:
            k2, k1 = ndmin - nd, trans1d
            if k1 < 0:
                k1 += k2 + 1
            axes = list(range(ndmin))
            out = _shape.transpose(out, axes[:k1] + axes[k2:] + axes[k1:k2])
        return out


r_ = _Concatenator(0, 1, -1, "r_")
c_ = _Concatenator(-1, 2, 0, "c_")


# -- index generators --------------------------------------------------------------------------

def _static_int(value, what):
    if value is None or not isinstance(value, Tracer):
        return value
    known = concrete_or_none(value)
    if known is None:
        raise ConcretizationTypeError(
            f"fad.numpy.{what} needs static sizes and offsets (the output shape depends on "
            "them); pass Python ints (under jit: static_argnums)")
    return int(known)


def triu_indices(n, k=0, m=None):
    """Like ``numpy.triu_indices`` (static arguments; NumPy arrays out).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.triu_indices(3, k=1)
    (array([0, 0, 1]), array([1, 2, 2]))
    """
    return np.triu_indices(*(_static_int(v, "triu_indices") for v in (n, k, m)))


def tril_indices(n, k=0, m=None):
    """Like ``numpy.tril_indices`` (static arguments; NumPy arrays out).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.tril_indices(2)
    (array([0, 1, 1]), array([0, 0, 1]))
    """
    return np.tril_indices(*(_static_int(v, "tril_indices") for v in (n, k, m)))


def diag_indices(n, ndim=2):
    """Like ``numpy.diag_indices`` (static arguments; NumPy arrays out).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> a = np.zeros((2, 2), dtype=int)
    >>> a[fnp.diag_indices(2)] = 1
    >>> a
    array([[1, 0],
           [0, 1]])
    """
    return np.diag_indices(_static_int(n, "diag_indices"), _static_int(ndim, "diag_indices"))


def _shape_2d(arr):
    shape = shape_of(arr) if isinstance(arr, Tracer) else np.shape(arr)
    if len(shape) != 2:
        raise ValueError("input array must be 2-d")
    return shape


def triu_indices_from(arr, k=0):
    """Like ``numpy.triu_indices_from``: only ``arr``'s shape is read.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.triu_indices_from(np.ones((3, 3)), k=1)
    (array([0, 0, 1]), array([1, 2, 2]))
    """
    n, m = _shape_2d(arr)
    return triu_indices(n, k, m)


def tril_indices_from(arr, k=0):
    """Like ``numpy.tril_indices_from``: only ``arr``'s shape is read.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.tril_indices_from(np.ones((2, 2)))
    (array([0, 1, 1]), array([0, 0, 1]))
    """
    n, m = _shape_2d(arr)
    return tril_indices(n, k, m)


def diag_indices_from(arr):
    """Like ``numpy.diag_indices_from``: only ``arr``'s shape is read.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.diag_indices_from(np.ones((3, 3)))
    (array([0, 1, 2]), array([0, 1, 2]))
    """
    shape = shape_of(arr) if isinstance(arr, Tracer) else np.shape(arr)
    if len(shape) < 2:
        raise ValueError("input array must be at least 2-d")
    if len(set(shape)) != 1:
        raise ValueError("All dimensions of input must be of equal length")
    return np.diag_indices(shape[0], len(shape))


# -- nonzero, argwhere, flatnonzero --------------------------------------------------------------

def _fills(fill_value, ndim):
    if fill_value is None:
        return [0] * ndim
    fills = list(fill_value) if isinstance(fill_value, (tuple, list)) else [fill_value] * ndim
    if len(fills) != ndim:
        raise ValueError(f"fill_value must be a scalar or a tuple of length {ndim} (one per "
                         f"axis), got {fill_value!r}")
    return fills


def _sized(indices, size, fills):
    """NumPy's ``nonzero`` result cut or padded to ``size`` entries (JAX's ``size=``)."""
    out = []
    for idx, fill in zip(indices, fills):
        padded = np.full(size, fill, np.intp)
        padded[:min(size, len(idx))] = idx[:size]
        out.append(padded)
    return tuple(out)


def _traced_nonzero(a, size, fills):
    shape = shape_of(a)
    n = int(np.prod(shape))
    mask = _ufuncs.not_equal(_shape.reshape(a, (n,)), 0)
    count = lax.cumsum(cast(mask, np.dtype(np.intp)), 0)
    # each nonzero entry goes to its rank among them; the others (and ranks past size)
    # to position ``size``, out of bounds: dropped
    target = _elementwise.where(mask, _ufuncs.subtract(count, 1), np.intp(size))
    flat = at(np.zeros(size, np.intp))[target].set(np.arange(n, dtype=np.intp), mode="drop")
    found = _reductions.sum(cast(mask, np.dtype(np.intp)))
    valid = _ufuncs.less(np.arange(size), found)
    strides = np.cumprod((1,) + shape[:0:-1])[::-1] if shape else ()
    return tuple(_elementwise.where(valid, _ufuncs.remainder(
        _ufuncs.floor_divide(flat, np.intp(stride)), np.intp(dim)), np.intp(fill))
        for stride, dim, fill in zip(strides, shape, fills))


def nonzero(a, *, size=None, fill_value=None):
    """Like ``numpy.nonzero``, with JAX's ``size`` and ``fill_value``: with ``size``, the
    first ``size`` indices per axis, padded with ``fill_value`` (0 by default; one value
    per axis as a tuple). Under ``jit``/``vmap`` (an abstract ``a``) ``size`` is needed.

    >>> nonzero(np.array([0., 3., 0., 4.]), size=3, fill_value=-1)
    (array([ 1,  3, -1]),)
    """
    value = concrete_or_none(a) if isinstance(a, Tracer) else a
    nd = ndim_of(a) if isinstance(a, Tracer) else np.ndim(a)
    if nd == 0:
        raise ValueError("Calling nonzero on 0d arrays is not allowed. Use "
                         "np.atleast_1d(scalar).nonzero() instead.")
    if size is None:
        if value is None:
            raise ConcretizationTypeError(
                "fad.numpy.nonzero: the number of nonzero entries of a traced array is not "
                "known while tracing; pass size= (and optionally fill_value=) to get that "
                "many indices, padded, as in JAX")
        return np.nonzero(value)
    size = int(_static_int(size, "nonzero"))
    fills = _fills(fill_value, nd)
    if value is not None:
        return _sized(np.nonzero(value), size, fills)
    return _traced_nonzero(a, size, fills)


def flatnonzero(a, *, size=None, fill_value=None):
    """Like ``numpy.flatnonzero``, with JAX's ``size`` and ``fill_value`` (see
    ``nonzero``).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.flatnonzero(np.array([0, 5, 0, 7]))
    array([1, 3])
    >>> fad.jit(lambda x: fnp.flatnonzero(x, size=3))(np.array([0, 5, 0, 7]))
    array([1, 3, 0])
    """
    flat = _shape.ravel(a) if isinstance(a, Tracer) else np.ravel(a)
    return nonzero(flat, size=size, fill_value=fill_value)[0]


def argwhere(a, *, size=None, fill_value=None):
    """Like ``numpy.argwhere``: the indices of the nonzero entries, one row each, with
    JAX's ``size`` and ``fill_value`` (see ``nonzero``).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.argwhere(np.array([[0, 1], [2, 0]]))
    array([[0, 1],
           [1, 0]])
    >>> fnp.argwhere(np.array([0, 3]), size=2, fill_value=-1)
    array([[ 1],
           [-1]])
    """
    nd = ndim_of(a) if isinstance(a, Tracer) else np.ndim(a)
    if nd == 0:
        flat = _shape.reshape(a, (1,)) if isinstance(a, Tracer) else np.reshape(a, (1,))
        rows = argwhere(flat, size=size, fill_value=fill_value)
        return rows[:, :0]
    found = nonzero(a, size=size, fill_value=fill_value)
    if not any(isinstance(f, Tracer) for f in found):
        return np.stack(found, axis=1)
    return _shape.stack(found, axis=1)


# -- select and piecewise ------------------------------------------------------------------------

def select(condlist, choicelist, default=0):
    """Like ``numpy.select``: where the first true condition of ``condlist`` holds, the
    matching entry of ``choicelist``; ``default`` where none does.

    >>> select([np.array([True, False, False]), np.array([True, True, False])],
    ...        [np.array([1., 2., 3.]), np.array([4., 5., 6.])], default=-1.)
    array([ 1.,  5., -1.])
    """
    if not any_traced([condlist, choicelist, default]):
        return np.select(condlist, choicelist, default)
    condlist, choicelist = list(condlist), list(choicelist)
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if not condlist:
        raise ValueError("select with an empty condition list is not possible")
    conds = [asarray(c) for c in condlist]
    for i, c in enumerate(conds):
        if dtype_of(c) != np.bool_:
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    # Python scalars (and tracers standing for them) stay weak, as in NumPy's select
    choices = [operand(c) for c in (*choicelist, default)]
    dtype = result_type(*choices)
    choices = [cast(c, dtype) for c in choices]
    shape = np.broadcast_shapes(*(shape_of(c) for c in conds))
    shape = np.broadcast_shapes(shape, *(shape_of(c) for c in choices))
    out = _shape.broadcast_to(asarray(choices[-1]), shape)
    for cond, choice in zip(conds[::-1], choices[-2::-1]):
        out = _elementwise.where(cond, choice, out)
    return out


def _conditions(x, condlist):
    """NumPy's reading of ``piecewise``'s ``condlist``: a list of boolean conditions
    shaped like ``x``. A bare condition is taken as one only if its first entry is not an
    array (a list, or an array of 2 or more dimensions holds several): NumPy's rule, with
    tracers counting as arrays."""
    if isinstance(condlist, (Tracer, np.ndarray)):
        nd = ndim_of(condlist)
        bare = nd == 0 or (nd == 1 and ndim_of(x) != 0)
        condlist = [condlist] if bare else [condlist[i] for i in range(shape_of(condlist)[0])]
    elif np.isscalar(condlist) or (not isinstance(condlist[0], (list, np.ndarray, Tracer))
                                   and ndim_of(x) != 0):
        condlist = [condlist]
    return [_shape.broadcast_to(cast(asarray(c), np.dtype(bool)), shape_of(x))
            for c in condlist]


def piecewise(x, condlist, funclist, *args, **kw):
    """Like ``numpy.piecewise``: ``funclist[i]`` (a function of ``x``, or a constant)
    where ``condlist[i]`` holds, later conditions winning; one extra function is the
    default where none holds, else 0. Traced, each function is applied to the whole of
    ``x`` and the results are selected elementwise (so the functions must work
    elementwise, as JAX requires); the result has ``x``'s dtype.

    >>> piecewise(np.array([-2., 3.]), [np.array([True, False])], [lambda v: -v, 1.])
    array([2., 1.])
    """
    if not any_traced([x, condlist]):
        return np.piecewise(x, condlist, funclist, *args, **kw)
    x = asarray(x)
    conds = _conditions(x, condlist)
    n, n_funcs = len(conds), len(funclist)
    if n == n_funcs - 1:
        anything = conds[0]
        for c in conds[1:]:
            anything = _ufuncs.logical_or(anything, c)
        conds.append(_ufuncs.logical_not(anything))
    elif n != n_funcs:
        raise ValueError(f"with {n} condition(s), either {n} or {n + 1} functions are "
                         "expected")
    dtype = dtype_of(x)
    out = _creation.zeros(shape_of(x), dtype)
    for cond, func in zip(conds, funclist):
        value = func(x, *args, **kw) if callable(func) else func
        out = _elementwise.where(cond, cast(asarray(value), dtype), out)
    return out


__all__ = ["r_", "c_", "triu_indices", "tril_indices", "diag_indices", "triu_indices_from",
           "tril_indices_from", "diag_indices_from", "nonzero", "flatnonzero", "argwhere",
           "select", "piecewise"]
accept_traced_sequences_in(globals())
