"""Polynomials in NumPy's power-basis convention (highest degree first): ``polyval`` and
``polyfit``.

``polyfit`` is NumPy's algorithm on traced values: a (weighted) Vandermonde matrix with
its columns scaled to unit norm, solved by ``fad.numpy.linalg.lstsq`` (from the SVD), so
its derivative is that of the least-squares solution.
"""
from __future__ import annotations

import numpy as np

from fad import lax
from fad.numpy import _shape
from fad.numpy import _ufuncs as uf
from fad.numpy import linalg
from fad.numpy._promote import (accept_traced_sequences_in, asarray, cast, dtype_of, is_traced,
                                shape_of)


def polyval(p, x):
    """Like ``numpy.polyval``: ``p[0] * x**(n-1) + ... + p[n-1]`` by Horner's rule, with
    NumPy's dtypes (``x``'s zeros, then promotion with each coefficient). ``poly1d``
    arguments are not traced (pass ``p.coeffs``).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.polyval(np.array([1, 0, -1]), np.array([0, 2, 3]))
    array([-1,  3,  8])
    >>> fad.grad(lambda x: fnp.polyval(np.array([1.0, 0.0, -1.0]), x))(3.0)
    np.float64(6.0)
    """
    if not is_traced(p, x):
        return np.polyval(p, x)
    p, x = asarray(p), asarray(x)
    if len(shape_of(p)) == 0:
        raise TypeError("fad.numpy.polyval: p must be a sequence of coefficients, got a "
                        "0-d array")
    y = lax.full(shape_of(x), 0, dtype_of(x))
    for i in range(shape_of(p)[0]):
        y = uf.add(uf.multiply(y, x), lax.index_in_dim(p, i, 0, keepdims=False))
    return y


def _float(a):
    """``asarray(a) + 0.0``, as NumPy's polyfit makes its operands floats."""
    return uf.add(asarray(a), 0.0)


def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """Like ``numpy.polyfit``: the least-squares polynomial coefficients (highest degree
    first), with ``full=True`` also ``(residuals, rank, singular values, rcond)``, with
    ``cov`` also the covariance of the coefficients. ``deg`` must be a static int. Traced,
    a rank-deficient fit gives no ``RankWarning`` (the rank is not known under
    ``jit``/``vmap``).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> x = np.array([0.0, 1.0, 2.0, 3.0])
    >>> bool(np.allclose(fnp.polyfit(x, 2 * x ** 2 + 1, 2), [2.0, 0.0, 1.0]))
    True
    """
    if not is_traced(x, y, w):
        return np.polyfit(x, y, deg, rcond, full, w, cov)
    order = int(deg) + 1
    x, y = _float(x), _float(y)
    if deg < 0:
        raise ValueError("expected deg >= 0")
    if len(shape_of(x)) != 1:
        raise TypeError("expected 1D vector for x")
    if shape_of(x)[0] == 0:
        raise TypeError("expected non-empty vector for x")
    if not 1 <= len(shape_of(y)) <= 2:
        raise TypeError("expected 1D or 2D array for y")
    if shape_of(x)[0] != shape_of(y)[0]:
        raise TypeError("expected x and y to have same length")
    if rcond is None:
        rcond = shape_of(x)[0] * np.finfo(dtype_of(x)).eps
    lhs = _vander(x, order)
    rhs = y
    if w is not None:
        w = _float(w)
        if len(shape_of(w)) != 1:
            raise TypeError("expected a 1-d array for weights")
        if shape_of(w)[0] != shape_of(y)[0]:
            raise TypeError("expected w and y to have the same length")
        column = lax.expand_dims(w, (1,))
        # NumPy weights in place (``lhs *= w``): each operand keeps its dtype
        lhs = _in_place(uf.multiply, lhs, column)
        rhs = _in_place(uf.multiply, rhs, column if len(shape_of(rhs)) == 2 else w)
    scale = uf.sqrt(lax.reduce_sum(uf.multiply(lhs, lhs), (0,)))
    lhs = uf.true_divide(lhs, scale)
    c, resids, rank, s = linalg.lstsq(lhs, rhs, rcond)
    c = _shape.transpose(uf.true_divide(_shape.transpose(c), scale))
    if full:
        return c, resids, rank, s, rcond
    if cov:
        base = linalg.inv(lax.dot_general(lhs, lhs, (((0,), (0,)), ((), ()))))
        base = uf.true_divide(base, uf.multiply(lax.expand_dims(scale, (1,)),
                                                lax.expand_dims(scale, (0,))))
        if cov == "unscaled":
            fac = 1
        else:
            if shape_of(x)[0] <= order:
                raise ValueError("the number of data points must exceed order to scale the "
                                 "covariance matrix")
            fac = uf.true_divide(resids, shape_of(x)[0] - order)
        if len(shape_of(y)) == 1:
            return c, uf.multiply(base, fac)
        return c, uf.multiply(lax.expand_dims(base, (2,)), fac)
    return c


def _in_place(op, a, b):
    """``a op= b`` as NumPy does it: the result cast back to ``a``'s dtype (a cast NumPy
    refuses, complex into real, is a ``TypeError``)."""
    out = op(a, b)
    if not np.can_cast(dtype_of(out), dtype_of(a), "same_kind"):
        raise TypeError(f"fad.numpy.polyfit: cannot weight {dtype_of(a)} values in place "
                        f"with {dtype_of(b)} weights (NumPy's casting rule 'same_kind')")
    return cast(out, dtype_of(a))


def _vander(x, order):
    """``numpy.vander(x, order)``: the columns ``x**(order-1), ..., x, 1``, in NumPy's
    dtype for them (``x``'s promoted with int64: float32 data gives float64 columns,
    hence polyfit's float64 coefficients)."""
    x = cast(x, np.promote_types(dtype_of(x), np.int64))
    columns = [lax.full(shape_of(x), 1, dtype_of(x))]
    for _ in range(order - 1):
        columns.append(uf.multiply(columns[-1], x))
    return _shape.stack(columns[::-1], axis=1)


__all__ = ["polyval", "polyfit"]
accept_traced_sequences_in(globals())
