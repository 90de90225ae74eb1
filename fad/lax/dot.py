"""Tensor contraction: ``dot_general`` and its conveniences ``dot`` and ``batch_matmul``.

``dimension_numbers = ((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch))``; the
result's axes are the batch axes, then the free axes of ``lhs``, then those of ``rhs``,
each group in its operand's order (JAX's convention). The operation is bilinear: its
JVP is the sum of two contractions with the tangents, and the transpose for either
operand contracts the cotangent with the other operand and permutes the result back to
that operand's layout. Batching never moves data: a batch axis becomes a new batch
dimension (both operands batched) or a free dimension (one operand batched).
"""
from __future__ import annotations

import functools
import math

import numpy as np

from fad.core import dtypes
from fad.core.abstract import ShapedArray, get_aval, native_dtype
from fad.core.memo import bounded_memo
from fad.core.primitive import Primitive
from fad.core.trace import Tracer
from fad.interpreters.batching import batch_rules
from fad.interpreters.lowering import lowering_rules
from fad.lax.plumbing import convert_element_type, transpose
from fad.lax.rules import defbilinear

# -- the primitive ------------------------------------------------------------------------------


def dot_general(lhs, rhs, dimension_numbers, preferred_element_type=None):
    """Contract ``lhs`` and ``rhs`` over the paired contracting axes, batching over the
    paired batch axes. Operands must share one dtype; ``preferred_element_type``
    chooses the result's dtype.

    >>> dot_general(np.ones((2, 3)), np.ones((3, 4)), (((1,), (0,)), ((), ()))).shape
    (2, 4)
    """
    if type(lhs) in dtypes.PYTHON_SCALAR_TYPES or type(rhs) in dtypes.PYTHON_SCALAR_TYPES:
        lhs, rhs = _scalar_adopts_dtype(lhs, rhs)
    la = lhs.aval if isinstance(lhs, Tracer) else get_aval(lhs)
    ra = rhs.aval if isinstance(rhs, Tracer) else get_aval(rhs)
    try:
        params = _checked_params(la, ra, dimension_numbers, preferred_element_type)
    except TypeError:
        try:
            hash(dimension_numbers)
        except TypeError:  # lists: make them tuples
            dimension_numbers = _normalize_dimension_numbers(dimension_numbers, None, None)
            params = _checked_params(la, ra, dimension_numbers, preferred_element_type)
        else:
            raise
    return dot_general_p.bind_shared((lhs, rhs), params)   # (the cached parameters)


@bounded_memo
def _checked_params(lhs_aval, rhs_aval, dimension_numbers, preferred_element_type):
    """Validated, normalised parameters (cached: dot_general sits on hot paths)."""
    dims = _normalize_dimension_numbers(dimension_numbers, lhs_aval.ndim, rhs_aval.ndim)
    if preferred_element_type is not None:
        preferred_element_type = dtypes.check_dtype(preferred_element_type,
                                                    "preferred_element_type")
    _dot_general_rule(lhs_aval, rhs_aval, dimension_numbers=dims,
                      preferred_element_type=preferred_element_type)
    return {"dimension_numbers": dims, "preferred_element_type": preferred_element_type}


def _scalar_adopts_dtype(lhs, rhs):
    """A Python scalar operand takes the dtype of the other operand."""
    if type(lhs) in dtypes.PYTHON_SCALAR_TYPES and type(rhs) not in dtypes.PYTHON_SCALAR_TYPES:
        lhs = np.asarray(lhs, get_aval(rhs).dtype)[()]
    elif type(rhs) in dtypes.PYTHON_SCALAR_TYPES and type(lhs) not in dtypes.PYTHON_SCALAR_TYPES:
        rhs = np.asarray(rhs, get_aval(lhs).dtype)[()]
    return lhs, rhs


def _normalize_dimension_numbers(dimension_numbers, lhs_ndim, rhs_ndim):
    try:
        (lc, rc), (lb, rb) = dimension_numbers
        groups = [tuple(int(d) for d in g) for g in (lc, rc, lb, rb)]
    except (TypeError, ValueError):
        raise TypeError("dot_general: dimension_numbers must be ((lhs_contracting, "
                        "rhs_contracting), (lhs_batch, rhs_batch)), tuples of ints; got "
                        f"{dimension_numbers!r}") from None
    if lhs_ndim is not None:  # negative axes count from the end
        lc, rc, lb, rb = (tuple(d % n if -n <= d < n else d for d in g)
                          for g, n in zip(groups, (lhs_ndim, rhs_ndim, lhs_ndim, rhs_ndim)))
    else:
        lc, rc, lb, rb = groups
    return (lc, rc), (lb, rb)


def _dot_general_rule(lhs, rhs, *, dimension_numbers, preferred_element_type):
    return _dot_general_type(lhs, rhs, dimension_numbers, preferred_element_type)


@bounded_memo   # (staging and jit's tracing ask for the same few products over and over)
def _dot_general_type(lhs, rhs, dimension_numbers, preferred_element_type):
    (lc, rc), (lb, rb) = dimension_numbers
    shapes = f"lhs shape {lhs.shape} and rhs shape {rhs.shape}"
    if lhs.dtype != rhs.dtype and not (lhs.weak_type or rhs.weak_type):
        raise TypeError(f"dot_general needs operands of one dtype, got {lhs.dtype} and "
                        f"{rhs.dtype}; convert them with fad.lax.convert_element_type")
    for name, a, ndim in (("lhs", lc + lb, lhs.ndim), ("rhs", rc + rb, rhs.ndim)):
        if any(not 0 <= d < ndim for d in a) or len(set(a)) != len(a):
            raise TypeError(f"dot_general: {name} contracting/batch dimensions {a} are out of "
                            f"range or repeated for {shapes}")
    if len(lc) != len(rc) or len(lb) != len(rb):
        raise TypeError(f"dot_general: contracting dimensions {lc} and {rc} (or batch "
                        f"dimensions {lb} and {rb}) differ in number, for {shapes}")
    for what, ld, rd in (("contracting", lc, rc), ("batch", lb, rb)):
        if any(lhs.shape[i] != rhs.shape[j] for i, j in zip(ld, rd)):
            raise TypeError(f"dot_general: {what} dimensions lhs {ld} and rhs {rd} have "
                            f"different sizes for {shapes}")
    batch = tuple(lhs.shape[i] for i in lb)
    lfree = tuple(d for i, d in enumerate(lhs.shape) if i not in lc and i not in lb)
    rfree = tuple(d for i, d in enumerate(rhs.shape) if i not in rc and i not in rb)
    if preferred_element_type is not None:
        return ShapedArray(batch + lfree + rfree, preferred_element_type)
    dtype, weak = dtypes.result_type(lhs, rhs)
    return ShapedArray(batch + lfree + rfree, dtype, weak)


def _dot_general_impl(lhs, rhs, *, dimension_numbers, preferred_element_type):
    lhs, rhs = np.asarray(lhs), np.asarray(rhs)
    if preferred_element_type is not None:
        lhs = lhs.astype(preferred_element_type, copy=False)
        rhs = rhs.astype(preferred_element_type, copy=False)
    elif native_dtype(lhs.dtype) != native_dtype(rhs.dtype):   # (byte order aside)
        raise TypeError(f"dot_general needs operands of one dtype, got {lhs.dtype} and "
                        f"{rhs.dtype}; convert them with fad.lax.convert_element_type")
    (lc, rc), (lb, rb) = dimension_numbers
    try:
        if not lc:
            return _products(lhs, rhs, lb, rb)
        if lb:
            return _batched_matmul(lhs, rhs, lc, rc, lb, rb)
        return _contract(lhs, rhs, lc, rc)
    except ValueError:  # a size mismatch NumPy found: report it the way the shape rule does
        _dot_general_rule(get_aval(lhs), get_aval(rhs), dimension_numbers=dimension_numbers,
                          preferred_element_type=preferred_element_type)
        raise


def _products(lhs, rhs, lb, rb):
    """No contracting dimensions: each result entry is one product, so the contraction
    is a broadcasting multiply of the operands laid out as (batch, lhs free, 1 ...) and
    (batch, 1 ..., rhs free). Outer products, per-example outer products."""
    nb = len(lb)
    if nb:
        lhs = _to_front(lhs, lb)
        rhs = _to_front(rhs, rb)
    n_lfree, n_rfree = lhs.ndim - nb, rhs.ndim - nb
    if n_rfree:
        lhs = lhs.reshape(lhs.shape + (1,) * n_rfree)
    if n_lfree:
        rhs = rhs.reshape(rhs.shape[:nb] + (1,) * n_lfree + rhs.shape[nb:])
    return np.multiply(lhs, rhs)


def _to_front(x, axes):
    """``x`` with ``axes`` first (in that order), the others after them in order."""
    if axes == tuple(range(len(axes))):
        return x
    return x.transpose(list(axes) + [i for i in range(x.ndim) if i not in axes])


def _contract(lhs, rhs, lc, rc):
    """No batch dimensions: matrix products through BLAS where the layout allows."""
    if len(lc) == 1 and rhs.ndim <= 2:
        (i,), (j,) = lc, rc
        if lhs.ndim <= 2:
            if lhs.ndim == 2 and i == 0:
                lhs = lhs.T
            if rhs.ndim == 2 and j == 1:
                rhs = rhs.T
            return np.dot(lhs, rhs)
        if i == lhs.ndim - 1 and j == 0:   # (..., k) x (k, n): one matrix product
            out = np.dot(lhs.reshape(math.prod(lhs.shape[:-1]), lhs.shape[-1]), rhs)
            return out.reshape(lhs.shape[:-1] + rhs.shape[1:])
    return np.tensordot(lhs, rhs, (lc, rc))


def _batched_matmul(lhs, rhs, lc, rc, lb, rb):
    """Batch dimensions: one ``np.matmul`` of the operands laid out as (batch, m, k) and
    (batch, k, n), directly when they already are (up to a transposed matrix)."""
    nb = len(lb)
    if len(lc) == 1 and lhs.ndim == rhs.ndim == nb + 2 and lb == rb == tuple(range(nb)):
        (i,), (j,) = lc, rc
        return np.matmul(lhs if i == nb + 1 else lhs.swapaxes(-1, -2),
                         rhs if j == nb else rhs.swapaxes(-1, -2))
    return _general(lhs, rhs, lc, rc, lb, rb)


def _general(lhs, rhs, lc, rc, lb, rb):
    """Any dimension numbers: transpose and reshape both operands to (batch, free,
    contract) and (batch, contract, free), matmul, and reshape to the result's axes."""
    lfree = [i for i in range(lhs.ndim) if i not in lc and i not in lb]
    rfree = [i for i in range(rhs.ndim) if i not in rc and i not in rb]
    batch_shape = tuple(lhs.shape[i] for i in lb)
    lfree_shape = tuple(lhs.shape[i] for i in lfree)
    rfree_shape = tuple(rhs.shape[i] for i in rfree)
    k = math.prod(lhs.shape[i] for i in lc)
    nb, m, n = math.prod(batch_shape), math.prod(lfree_shape), math.prod(rfree_shape)
    a = lhs.transpose(list(lb) + lfree + list(lc)).reshape(nb, m, k)
    b = rhs.transpose(list(rb) + list(rc) + rfree).reshape(nb, k, n)
    return np.matmul(a, b).reshape(batch_shape + lfree_shape + rfree_shape)


def _dot_general_lowering(lhs, rhs, *, dimension_numbers, preferred_element_type):
    """For compiled programs: the strategy ``_dot_general_impl`` would pick at every call,
    picked once from the operand types (``None``: leave it to the impl)."""
    if preferred_element_type is not None or not lhs.shape or not rhs.shape:
        return None   # (conversions, and scalars that may come as Python numbers)
    (lc, rc), (lb, rb) = dimension_numbers
    if not lc:
        nb = len(lb)
        n_lfree, n_rfree = lhs.ndim - nb, rhs.ndim - nb
        if lb != tuple(range(nb)) or rb != lb:
            return functools.partial(_products, lb=lb, rb=rb)
        lshape = lhs.shape + (1,) * n_rfree
        rshape = rhs.shape[:nb] + (1,) * n_lfree + rhs.shape[nb:]
        if rshape == rhs.shape:   # (per-example outer products: a column times rows)
            return lambda a, b: np.multiply(a.reshape(lshape), b)
        return lambda a, b: np.multiply(a.reshape(lshape), b.reshape(rshape))
    if not lb and len(lc) == 1 and lhs.ndim <= 2 and rhs.ndim <= 2:
        (i,), (j,) = lc, rc
        if (lhs.ndim == 2 and i == 0) or (rhs.ndim == 2 and j == 1):
            return lambda a, b: np.dot(a.T if a.ndim == 2 and i == 0 else a,
                                       b.T if b.ndim == 2 and j == 1 else b)
        return np.dot
    return None


dot_general_p = Primitive("dot_general")
dot_general_p.def_impl(_dot_general_impl)
dot_general_p.def_abstract_eval(_dot_general_rule)
lowering_rules[dot_general_p] = _dot_general_lowering


# -- JVP and transpose ---------------------------------------------------------------------------

def _free(ndim, contract, batch):
    return [i for i in range(ndim) if i not in contract and i not in batch]


def _transpose_one(ct, other, aval, dims, other_ndim, swapped):
    """Cotangent of the operand of type ``aval`` (``swapped``: it is ``rhs``): contract
    ``ct`` with ``other`` over other's free and batch axes, then permute to its layout."""
    ct_first, new_dims, perm = _transpose_plan(dims, aval.ndim, other_ndim, swapped)
    ct_dtype = get_aval(ct).dtype
    if get_aval(other).dtype != ct_dtype:
        other = convert_element_type(other, ct_dtype)
    operands = (ct, other) if ct_first else (other, ct)
    res = dot_general_p.bind(*operands, dimension_numbers=new_dims, preferred_element_type=None)
    if perm is not None:
        res = transpose(res, perm)
    return convert_element_type(res, aval.dtype) if ct_dtype != aval.dtype else res


@bounded_memo
def _transpose_plan(dims, my_ndim, other_ndim, swapped):
    """How ``_transpose_one`` contracts: ``(ct_first, dimension_numbers, permutation or
    None)`` (static, so cached: the same few layouts recur in every backward pass)."""
    (lc, rc), (lb, rb) = dims
    if swapped:
        lc, rc, lb, rb = rc, lc, rb, lb
    # ct's axes: batch, then lhs free, then rhs free.
    my_free = _free(my_ndim, lc, lb)
    nb = len(lb)
    other_free = tuple(_free(other_ndim, rc, rb))
    start = nb if swapped else nb + len(my_free)
    ct_other_free = tuple(range(start, start + len(other_free)))
    # The result's axes: batch, then my free axes (ct first) or my contracting axes (other
    # first), these in the ascending order of the other operand's axes they pair with.
    # Of the two orders, take one that is my layout already, if either is.
    paired = [lc[rc.index(r)] for r in sorted(rc)]
    layout = list(lb) + my_free + paired
    ct_batch = tuple(range(nb))
    if layout != sorted(layout) and list(lb) + paired + my_free == sorted(layout):
        return False, ((other_free, ct_other_free), (tuple(rb), ct_batch)), None
    perm = (tuple(sorted(range(len(layout)), key=layout.__getitem__))
            if layout != sorted(layout) else None)
    return True, ((ct_other_free, other_free), (ct_batch, tuple(rb))), perm


def _dot_general_transpose_lhs(ct, lhs, rhs, *, dimension_numbers, preferred_element_type):
    return _transpose_one(ct, rhs, lhs.aval, dimension_numbers, get_aval(rhs).ndim, False)


def _dot_general_transpose_rhs(ct, lhs, rhs, *, dimension_numbers, preferred_element_type):
    return _transpose_one(ct, lhs, rhs.aval, dimension_numbers, get_aval(lhs).ndim, True)


defbilinear(dot_general_p, _dot_general_transpose_lhs, _dot_general_transpose_rhs)


# -- batching ------------------------------------------------------------------------------------

def _shift(dims, bd):
    return tuple(d + (d >= bd) for d in dims)


def _dot_general_batch(args, dims, *, dimension_numbers, preferred_element_type):
    (lhs, rhs), (lbd, rbd) = args, dims
    new, out_dim = _batched_dimension_numbers(dimension_numbers, lbd, rbd,
                                              get_aval(lhs).ndim, get_aval(rhs).ndim)
    out = dot_general_p.bind(lhs, rhs, dimension_numbers=new,
                             preferred_element_type=preferred_element_type)
    return out, out_dim


@bounded_memo   # (a few layouts recur)
def _batched_dimension_numbers(dimension_numbers, lbd, rbd, lhs_ndim, rhs_ndim):
    """The dimension numbers of the batched contraction, and its result's batch axis."""
    (lc, rc), (lb, rb) = dimension_numbers
    if lbd is not None and rbd is not None:
        new = ((_shift(lc, lbd), _shift(rc, rbd)), ((lbd, *_shift(lb, lbd)),
                                                    (rbd, *_shift(rb, rbd))))
        return new, 0
    if lbd is not None:
        new = ((_shift(lc, lbd), rc), (_shift(lb, lbd), rb))
        return new, len(lb) + sum(1 for i in _free(lhs_ndim - 1, lc, lb) if i < lbd)
    new = ((lc, _shift(rc, rbd)), (lb, _shift(rb, rbd)))
    return new, (len(lb) + len(_free(lhs_ndim, lc, lb))
                 + sum(1 for i in _free(rhs_ndim - 1, rc, rb) if i < rbd))


batch_rules[dot_general_p] = _dot_general_batch


# -- conveniences --------------------------------------------------------------------------------

def dot(lhs, rhs, preferred_element_type=None):
    """Vector/matrix product: contract the last axis of ``lhs`` with the first of ``rhs``
    (inner product of vectors, matrix-vector, matrix-matrix).

    >>> dot(np.array([1., 2.]), np.array([3., 4.]))
    np.float64(11.0)
    """
    lhs_ndim, rhs_ndim = get_aval(lhs).ndim, get_aval(rhs).ndim
    if lhs_ndim == 0 or rhs_ndim == 0:
        raise TypeError(f"dot needs operands of rank at least 1, got ranks {lhs_ndim} and "
                        f"{rhs_ndim}; use fad.lax.mul for scalars")
    return dot_general(lhs, rhs, (((lhs_ndim - 1,), (0,)), ((), ())), preferred_element_type)


def batch_matmul(lhs, rhs, preferred_element_type=None):
    """Batched matrix product of ``(..., m, k)`` and ``(..., k, n)`` arrays with equal
    leading (batch) shapes.

    >>> batch_matmul(np.ones((5, 2, 3)), np.ones((5, 3, 4))).shape
    (5, 2, 4)
    """
    lhs_ndim, rhs_ndim = get_aval(lhs).ndim, get_aval(rhs).ndim
    if lhs_ndim != rhs_ndim or lhs_ndim < 2:
        raise TypeError(f"batch_matmul needs operands of one rank >= 2, got shapes "
                        f"{get_aval(lhs).shape} and {get_aval(rhs).shape}")
    batch = tuple(range(lhs_ndim - 2))
    return dot_general(lhs, rhs, (((lhs_ndim - 1,), (rhs_ndim - 2,)), (batch, batch)),
                       preferred_element_type)


__all__ = ["dot_general", "dot", "batch_matmul", "dot_general_p"]
