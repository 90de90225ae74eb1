"""Products (dot, matmul, tensordot, ...) on ``lax.dot_general``, and the diagonal and
triangle helpers."""
from __future__ import annotations

import numpy as np

from fad import lax
from fad.core.trace import Tracer
from fad.numpy import _reductions
from fad.numpy import _ufuncs as uf
from fad.numpy._promote import asarray, normalize_axis, is_traced, ndim_of, promote, shape_of
from fad.numpy._shape import ravel, reshape, slice_axis


def _dot_general(a, b, contract, batch=((), ())):
    """``lax.dot_general`` after NumPy promotion (booleans multiply as integers do not)."""
    a, b = promote(asarray(a), asarray(b))
    return lax.dot_general(a, b, (contract, batch))


def _same_inexact_dtype(a, b):
    """Both arrays or tracers, strongly typed, of one float or complex dtype: then their
    types (avals or the arrays themselves), else ``None``."""
    a = a if type(a) is np.ndarray else a.aval if isinstance(a, Tracer) else None
    b = b if type(b) is np.ndarray else b.aval if isinstance(b, Tracer) else None
    if a is None or b is None:
        return None
    dt = a.dtype    # (avals and arrays: weak_type only on avals)
    if (dt == b.dtype and dt.kind in "fc" and not getattr(a, "weak_type", False)
            and not getattr(b, "weak_type", False)):
        return a, b
    return None


def dot(a, b, out=None):
    """Like ``numpy.dot``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.dot(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    np.float64(11.0)
    >>> fad.grad(lambda x: fnp.dot(x, x))(np.array([1.0, 2.0]))
    array([2., 4.])
    """
    if not isinstance(a, Tracer) and not isinstance(b, Tracer):
        return np.dot(a, b, out)
    if out is None:
        types = _same_inexact_dtype(a, b)
        if types is not None:
            # arrays of one float dtype, the common case: no promotion to work out
            sa, sb = types[0].shape, types[1].shape
            na, nb = len(sa), len(sb)
            kb = 0 if nb == 1 else nb - 2
            if na and nb and sa[-1] == sb[kb]:
                return lax.dot_general(a, b, (((na - 1,), (kb,)), ((), ())))
    a, b = asarray(a), asarray(b)
    na, nb = ndim_of(a), ndim_of(b)
    if na == 0 or nb == 0:
        return uf.multiply(a, b)
    kb = 0 if nb == 1 else nb - 2
    if shape_of(a)[-1] != shape_of(b)[kb]:
        raise ValueError(f"shapes {shape_of(a)} and {shape_of(b)} not aligned: "
                         f"{shape_of(a)[-1]} (dim {na - 1}) != {shape_of(b)[kb]} (dim {kb})")
    return _dot_general(a, b, ((na - 1,), (kb,)))


def matmul(x1, x2, /):
    """Like ``numpy.matmul`` (the ``@`` operator), with broadcasting batch dimensions.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.matmul(a, np.array([1.0, 1.0]))
    array([3., 7.])
    >>> fnp.matmul(np.ones((5, 2, 3)), np.ones((3, 4))).shape
    (5, 2, 4)
    """
    if not is_traced(x1, x2):
        return np.matmul(x1, x2)
    types = _same_inexact_dtype(x1, x2)
    if types is not None:
        # matrices or vectors of one float dtype, the common case: one contraction
        s1, s2 = types[0].shape, types[1].shape
        na, nb = len(s1), len(s2)
        if 1 <= na <= 2 and 1 <= nb <= 2 and s1[-1] == s2[0]:
            return lax.dot_general(x1, x2, (((na - 1,), (0,)), ((), ())))
    a, b = asarray(x1), asarray(x2)
    sa, sb = shape_of(a), shape_of(b)
    if not sa or not sb:
        raise ValueError("matmul: Input operand does not have enough dimensions (a scalar "
                         f"cannot be matrix-multiplied), got shapes {sa} and {sb}")
    sa2 = (1,) + sa if len(sa) == 1 else sa     # a vector as a matrix
    sb2 = sb + (1,) if len(sb) == 1 else sb
    if sa2[-1] != sb2[-2]:
        raise ValueError(f"matmul: Input operand 1 has a mismatch in its core dimension 0, "
                         f"with gufunc signature (n?,k),(k,m?)->(n?,m?) (size {sb2[-2]} is "
                         f"different from {sa2[-1]}); operand shapes are {sa} and {sb}")
    if len(sa) == 1 or len(sb) == 1:
        # with a vector, matmul is one contraction whose result axes are already
        # matmul's: no expanding, broadcasting or squeezing
        return _dot_general(a, b, ((len(sa) - 1,), (len(sb2) - 2,)))
    try:
        batch = np.broadcast_shapes(sa[:-2], sb[:-2])
    except ValueError:
        raise ValueError(f"matmul: operands could not be broadcast together, shapes {sa} and "
                         f"{sb}") from None
    return _batched_matmul(a, b, batch)


def _batched_matmul(a, b, batch):
    nbatch = len(batch)
    if ndim_of(b) == 2:       # (..., n, k) @ (k, m): no batch dims needed
        return _dot_general(a, b, ((ndim_of(a) - 1,), (0,)))
    a = lax.broadcast_to(a, batch + shape_of(a)[-2:])
    b = lax.broadcast_to(b, batch + shape_of(b)[-2:])
    dims = tuple(range(nbatch))
    return _dot_general(a, b, ((nbatch + 1,), (nbatch,)), (dims, dims))


def vdot(a, b, /):
    """Like ``numpy.vdot``: flattened dot product, conjugating ``a``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.vdot(np.array([1j, 2.0]), np.array([1j, 2.0]))
    np.complex128(5+0j)
    """
    if not is_traced(a, b):
        return np.vdot(a, b)
    a, b = ravel(asarray(a)), ravel(asarray(b))
    return dot(uf.conjugate(a), b)


def vecdot(x1, x2, /, *, axis=-1):
    """Like ``numpy.vecdot``: ``sum(conj(x1) * x2, axis)``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.vecdot(np.array([[1, 2], [3, 4]]), np.array([1, 1]))
    array([3, 7])
    """
    if not is_traced(x1, x2):
        return np.vecdot(x1, x2, axis=axis)
    if not ndim_of(asarray(x1)) or not ndim_of(asarray(x2)):
        raise ValueError("vecdot: an input operand does not have enough dimensions (a "
                         "scalar has no axis to contract); pass vectors, or use multiply")
    return _reductions.sum(uf.multiply(uf.conjugate(x1), x2), axis=axis)


def inner(a, b, /):
    """Like ``numpy.inner``: contract the last axes.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.inner(np.array([1, 2]), np.array([3, 4]))
    np.int64(11)
    """
    if not is_traced(a, b):
        return np.inner(a, b)
    a, b = asarray(a), asarray(b)
    if ndim_of(a) == 0 or ndim_of(b) == 0:
        return uf.multiply(a, b)
    if shape_of(a)[-1] != shape_of(b)[-1]:
        raise ValueError(f"shapes {shape_of(a)} and {shape_of(b)} not aligned: "
                         "last dimensions differ")
    return _dot_general(a, b, ((ndim_of(a) - 1,), (ndim_of(b) - 1,)))


def outer(a, b, out=None):
    """Like ``numpy.outer``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.outer(np.array([1, 2]), np.array([3, 4, 5]))
    array([[ 3,  4,  5],
           [ 6,  8, 10]])
    """
    if not is_traced(a, b):
        return np.outer(a, b, out)
    a, b = ravel(asarray(a)), ravel(asarray(b))
    return uf.multiply(lax.expand_dims(a, (1,)), lax.expand_dims(b, (0,)))


def tensordot(a, b, axes=2):
    """Like ``numpy.tensordot``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.tensordot(np.ones((2, 3, 4)), np.ones((3, 4, 5))).shape
    (2, 5)
    >>> fnp.tensordot(np.ones((2, 3)), np.ones((3, 4)), axes=([1], [0])).shape
    (2, 4)
    """
    if not is_traced(a, b):
        return np.tensordot(a, b, axes)
    a, b = asarray(a), asarray(b)
    na, nb = ndim_of(a), ndim_of(b)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > min(na, nb):
            raise ValueError(f"tensordot: axes={n} is out of range for shapes {shape_of(a)} "
                             f"and {shape_of(b)}")
        ca, cb = tuple(range(na - n, na)), tuple(range(n))
    else:
        ca, cb = (tuple(np.atleast_1d(x).tolist()) for x in axes)
        ca = tuple(normalize_axis(i, na) for i in ca)
        cb = tuple(normalize_axis(i, nb) for i in cb)
    if len(ca) != len(cb) or any(shape_of(a)[i] != shape_of(b)[j] for i, j in zip(ca, cb)):
        raise ValueError(f"shape-mismatch for sum: tensordot axes {ca} of {shape_of(a)} and "
                         f"{cb} of {shape_of(b)}")
    return _dot_general(a, b, (ca, cb))


def kron(a, b):
    """Like ``numpy.kron``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.kron(np.eye(2, dtype=int), np.array([[1, 2]]))
    array([[1, 2, 0, 0],
           [0, 0, 1, 2]])
    """
    if not is_traced(a, b):
        return np.kron(a, b)
    a, b = asarray(a), asarray(b)
    nd = max(ndim_of(a), ndim_of(b))
    sa = (1,) * (nd - ndim_of(a)) + shape_of(a)
    sb = (1,) * (nd - ndim_of(b)) + shape_of(b)
    a = lax.reshape(a, tuple(d for s in sa for d in (s, 1)))
    b = lax.reshape(b, tuple(d for s in sb for d in (1, s)))
    return reshape(uf.multiply(a, b), tuple(x * y for x, y in zip(sa, sb)))


# -- diagonals and triangles -------------------------------------------------------------------

def diagonal(a, offset=0, axis1=0, axis2=1):
    """Like ``numpy.diagonal``: the diagonal becomes the last axis.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.diagonal(np.array([[1, 2], [3, 4]]))
    array([1, 4])
    >>> fnp.diagonal(np.array([[1, 2], [3, 4]]), offset=1)
    array([2])
    """
    if not isinstance(a, Tracer):
        return np.diagonal(a, offset, axis1, axis2)
    nd = ndim_of(a)
    if nd < 2:
        raise ValueError("diag requires an array of at least two dimensions")
    i, j = normalize_axis(axis1, nd), normalize_axis(axis2, nd)
    if i == j:
        raise ValueError("axis1 and axis2 cannot be the same")
    rest = [k for k in range(nd) if k not in (i, j)]
    x = lax.transpose(a, rest + [i, j])
    lead, (n, m) = shape_of(x)[:-2], shape_of(x)[-2:]
    length = max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))
    flat = lax.reshape(x, lead + (n * m,))
    start = offset if offset >= 0 else -offset * m
    if length == 0:
        return slice_axis(flat, 0, 0, len(lead))
    return slice_axis(flat, start, start + (length - 1) * (m + 1) + 1, len(lead), m + 1)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """Like ``numpy.trace``: the sum of a diagonal.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> fnp.trace(a)
    np.float64(5.0)
    >>> fad.grad(fnp.trace)(a)
    array([[1., 0.],
           [0., 1.]])
    """
    if not isinstance(a, Tracer):
        return np.trace(a, offset, axis1, axis2, dtype, out)
    return _reductions.sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


def diag(v, k=0):
    """Like ``numpy.diag``: extract a diagonal (2-D input) or build a diagonal matrix (1-D).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.diag(np.array([[1, 2], [3, 4]]))
    array([1, 4])
    >>> fnp.diag(np.array([1, 2]))
    array([[1, 0],
           [0, 2]])
    """
    if not isinstance(v, Tracer):
        return np.diag(v, k)
    if ndim_of(v) == 2:
        return diagonal(v, k)
    if ndim_of(v) != 1:
        raise ValueError("Input must be 1- or 2-d.")
    m = shape_of(v)[0]
    n = m + abs(k)
    padded = lax.concatenate([v, np.zeros(abs(k), v.dtype)], 0) if k else v
    grid = lax.expand_dims(padded, (1,) if k >= 0 else (0,))
    return lax.select_n(np.eye(n, k=k, dtype=bool), np.zeros((), v.dtype)[()],
                        lax.broadcast_to(grid, (n, n)))


def diagflat(v, k=0):
    """Like ``numpy.diagflat``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.diagflat(np.array([[1, 2]]))
    array([[1, 0],
           [0, 2]])
    """
    return diag(ravel(v), k) if isinstance(v, Tracer) else np.diagflat(v, k)


def _triangle(m, k, lower):
    m = asarray(m)
    nd = ndim_of(m)
    if nd < 1:
        raise ValueError(f"{'tril' if lower else 'triu'} requires an array of at least one "
                         "dimension")
    n, c = shape_of(m)[-2:] if nd > 1 else shape_of(m) * 2
    if nd == 1:   # as NumPy: each row of the square result is the vector
        m = lax.broadcast_to(m, (n, c))
    keep = np.tri(n, c, k, dtype=bool) if lower else ~np.tri(n, c, k - 1, dtype=bool)
    return lax.select_n(keep, np.zeros((), m.dtype)[()], m)


def tril(m, k=0):
    """Like ``numpy.tril``: zero above the ``k``-th diagonal.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.tril(np.ones((3, 3), dtype=int))
    array([[1, 0, 0],
           [1, 1, 0],
           [1, 1, 1]])
    """
    return _triangle(m, k, True) if isinstance(m, Tracer) else np.tril(m, k)


def triu(m, k=0):
    """Like ``numpy.triu``: zero below the ``k``-th diagonal.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.triu(np.ones((3, 3), dtype=int), k=1)
    array([[0, 1, 1],
           [0, 0, 1],
           [0, 0, 0]])
    """
    return _triangle(m, k, False) if isinstance(m, Tracer) else np.triu(m, k)


__all__ = ["dot", "matmul", "vdot", "vecdot", "inner", "outer", "tensordot", "kron",
           "diagonal", "trace", "diag", "diagflat", "tril", "triu"]
