"""Linear algebra, part 1: the solves and the triangular factorisations.

Primitives, each with all its rules: ``triangular_solve`` (JAX's signature), ``solve``
(a general square solve, so that its derivative costs a solve rather than the derivative
of an LU factorisation), ``cholesky``, ``lu`` (with pivots and the row permutation),
and ``lu_pivots_to_permutation``. Every primitive takes stacked matrices
``(..., m, n)``, as NumPy does, so batching moves the batch axis to the front (or, for a
solve whose matrix is shared, folds the batch into the right-hand side's columns).
``fad.lax.linalg`` adds ``qr`` and the spectral decompositions and is the public module.

Implementations call LAPACK through NumPy, and through SciPy's LAPACK wrappers for the
routines NumPy lacks (``trtrs``, ``getrf``) when SciPy is installed; without SciPy they
fall back to NumPy (a general solve on the triangle, a partial-pivoting loop). A singular
triangular matrix raises ``numpy.linalg.LinAlgError``, as SciPy's ``solve_triangular``
and NumPy's ``solve`` do.
"""
from __future__ import annotations

import numpy as np

from fad.core.abstract import ShapedArray, get_aval
from fad.core.ad_util import Zero
from fad.core.primitive import Primitive
from fad.interpreters.batching import batch_rules
from fad.interpreters.jvp import jvp_rules
from fad.interpreters.transpose import is_undefined, transpose_rules
from fad import lax
from fad.lax.dot import dot_general
from fad.lax.plumbing import (batch_axis_at, broadcast_to, moveaxis,
                              reshape, transpose)
from fad.lax.rules import defjvp_zero
from fad.lax.sort import take_along_axis

try:   # optional: BLAS's triangular solve and LAPACK's LU, which NumPy does not expose
    from scipy.linalg import blas as _blas
    from scipy.linalg import lapack as _lapack
except ImportError:   # pragma: no cover - exercised by monkeypatching in the tests
    _blas = _lapack = None

LinAlgError = np.linalg.LinAlgError
_LINALG_DTYPES = frozenset(np.dtype(t) for t in (np.float32, np.float64, np.complex64,
                                                 np.complex128))

# -- shared helpers (they bind primitives: usable on tracers inside rules) --------------------


def check_matrix(name, aval, square=False, min_ndim=2):
    """Raise for an operand that is not a (stack of) matrices of a LAPACK dtype."""
    if aval.dtype not in _LINALG_DTYPES:
        raise TypeError(f"{name}: array type {aval.dtype} is unsupported in linalg; use "
                        "float32, float64, complex64 or complex128")
    if aval.ndim < min_ndim:
        raise LinAlgError(f"{name}: {aval.ndim}-dimensional array given. Array must be at "
                          "least two-dimensional")
    if square and aval.shape[-1] != aval.shape[-2]:
        raise LinAlgError(f"{name}: last 2 dimensions of the array must be square, got "
                          f"shape {aval.shape}")


def real_dtype(dtype):
    return np.dtype(np.float32) if dtype in (np.float32, np.complex64) else np.dtype(np.float64)


def complex_dtype(dtype):
    return (np.dtype(np.complex64) if dtype in (np.float32, np.complex64)
            else np.dtype(np.complex128))


def is_complex(x) -> bool:
    return get_aval(x).dtype.kind == "c"


def swap(x):
    """The matrix transpose of the last two axes."""
    nd = get_aval(x).ndim
    return transpose(x, (*range(nd - 2), nd - 1, nd - 2))


def conj(x):
    return lax.conj(x) if is_complex(x) else x


def adjoint(x):
    """The conjugate transpose of the last two axes."""
    return conj(swap(x))


def matmul(a, b):
    """Matrix product of ``(..., m, k)`` and ``(..., k, n)`` stacks (equal batch shapes;
    a 2-D operand is broadcast to the other's)."""
    na, nb = get_aval(a).ndim, get_aval(b).ndim
    if na == 2 and nb > 2:    # (m, k) @ (..., k, n): contract without broadcasting
        out = dot_general(a, b, (((1,), (nb - 2,)), ((), ())))
        return moveaxis(out, 0, nb - 2)
    if nb == 2:
        return dot_general(a, b, (((na - 1,), (0,)), ((), ())))
    batch = tuple(range(na - 2))
    return dot_general(a, b, (((na - 1,), (nb - 2,)), (batch, batch)))


def constant(value, like):
    """``value`` as a NumPy constant of ``like``'s dtype."""
    return np.asarray(value, get_aval(like).dtype)


def _triangle_mask(m, n, k, lower):
    return np.tri(m, n, k, dtype=bool) if lower else ~np.tri(m, n, k - 1, dtype=bool)


def tril(x, k=0):
    m, n = get_aval(x).shape[-2:]
    return lax.select_n(_triangle_mask(m, n, k, True), constant(0, x)[()], x)


def triu(x, k=0):
    m, n = get_aval(x).shape[-2:]
    return lax.select_n(_triangle_mask(m, n, k, False), constant(0, x)[()], x)


def diagonal(x):
    """The main diagonals of a stack of matrices: ``(..., m, n) -> (..., min(m, n))``."""
    shape = get_aval(x).shape
    m, n = shape[-2:]
    k = min(m, n)
    flat = reshape(x, shape[:-2] + (m * n,))
    if k == 0:
        return reshape(flat, shape[:-2] + (0,))
    lead = len(shape) - 2
    return lax.slice(flat, (0,) * lead + (0,), shape[:-2] + ((k - 1) * (n + 1) + 1,),
                            (1,) * lead + (n + 1,))


def diag_embed(v):
    """Diagonal matrices from the stacked vectors ``v``: ``(..., n) -> (..., n, n)``."""
    shape = get_aval(v).shape
    n = shape[-1]
    rows = broadcast_to(reshape(v, shape[:-1] + (1, n)), shape[:-1] + (n, n))
    return lax.select_n(np.eye(n, dtype=bool), constant(0, v)[()], rows)


def eye_like(x, n):
    """The ``n``-by-``n`` identity of ``x``'s dtype, broadcast to ``x``'s batch shape."""
    batch = get_aval(x).shape[:-2]
    eye = np.eye(n, dtype=get_aval(x).dtype)
    return broadcast_to(eye, batch + (n, n)) if batch else eye


def hermitian_part(t, lower):
    """The Hermitian matrix a routine reading one triangle (``lower`` or upper) and the
    real part of the diagonal sees in ``t``: what its tangent is."""
    m = get_aval(t).shape[-1]
    other = _triangle_mask(m, m, 1, False) if lower else _triangle_mask(m, m, -1, True)
    p = lax.select_n(other, t, adjoint(t))
    if not is_complex(t):
        return p
    # p's diagonal is complex: the mean with its adjoint keeps the real part only
    return lax.mul(lax.add(p, adjoint(p)), constant(0.5, t)[()])


def op_matmul(a, b, transpose_a=False, conjugate_a=False, a_on_left=True):
    """``op(a) @ b`` (or ``b @ op(a)``) for stacks with equal batch shapes, ``op``
    transposing and/or conjugating: one contraction, no transposed copy (nor one of the
    cotangent in reverse mode)."""
    a = conj(a) if conjugate_a else a
    nd = get_aval(a).ndim
    batch = tuple(range(nd - 2))
    if a_on_left:   # contract a's columns (its rows when transposed) with b's rows
        dims = (((nd - 2 if transpose_a else nd - 1,), (nd - 2,)), (batch, batch))
        return dot_general(a, b, dims)
    dims = (((nd - 1,), (nd - 1 if transpose_a else nd - 2,)), (batch, batch))
    return dot_general(b, a, dims)


def _leading_batch(prim):
    """The batching rule of a one-operand primitive on stacks: the batch axis first."""
    def rule(args, dims, **params):
        (x,), (bd,) = args, dims
        out = prim.bind(batch_axis_at(x, bd), **params)
        return out, [0] * len(out) if prim.multiple_results else 0
    return rule


def _batch_loop(fn, *arrays):
    """Apply ``fn`` (of 2-D arrays, returning a tuple of arrays) to each matrix of stacks
    of one batch shape; the results stacked."""
    batch = arrays[0].shape[:-2]
    if not batch:
        return fn(*arrays)
    outs = [fn(*(a[idx] for a in arrays)) for idx in np.ndindex(*batch)]
    return tuple(np.stack([o[i] for o in outs]).reshape(batch + outs[0][i].shape)
                 for i in range(len(outs[0])))


# -- triangular_solve --------------------------------------------------------------------------


def triangular_solve(a, b, left_side: bool = False, lower: bool = False,
                     transpose_a: bool = False, conjugate_a: bool = False,
                     unit_diagonal: bool = False):
    """Solve ``op(a) @ x = b`` (``left_side``) or ``x @ op(a) = b`` for ``x``, where ``a``
    is triangular (only its ``lower`` or upper triangle is read; its diagonal is taken
    to be ones when ``unit_diagonal``) and ``op`` transposes and/or conjugates it. As
    ``jax.lax.linalg.triangular_solve``: ``a`` is ``(..., m, m)``, ``b`` is ``(..., m, n)``
    (left side) or ``(..., n, m)``, with the same batch shape.

    >>> triangular_solve(np.array([[2., 0.], [1., 1.]]), np.array([[2.], [3.]]),
    ...                  left_side=True, lower=True)
    array([[1.],
           [2.]])
    """
    params = dict(left_side=bool(left_side), lower=bool(lower),
                  transpose_a=bool(transpose_a), conjugate_a=bool(conjugate_a),
                  unit_diagonal=bool(unit_diagonal))
    _trsm_rule(get_aval(a), get_aval(b), **params)
    return triangular_solve_p.bind(a, b, **params)


def _trsm_rule(a, b, *, left_side, lower, transpose_a, conjugate_a, unit_diagonal):
    check_matrix("triangular_solve", a, square=True)
    check_matrix("triangular_solve", b)
    if a.dtype != b.dtype:
        raise TypeError(f"triangular_solve: a and b must have one dtype, got {a.dtype} and "
                        f"{b.dtype}")
    m = a.shape[-1]
    k = b.shape[-2] if left_side else b.shape[-1]
    if a.shape[:-2] != b.shape[:-2] or k != m:
        side = "(..., m, n)" if left_side else "(..., n, m)"
        raise ValueError(f"triangular_solve: a of shape {a.shape} and b of shape {b.shape} "
                         f"do not fit (b must be {side} with a's batch shape)")
    return ShapedArray(b.shape, b.dtype)


def _trsm_impl(a, b, *, left_side, lower, transpose_a, conjugate_a, unit_diagonal):
    a, b = np.asarray(a), np.asarray(b)
    if not left_side:   # x op(a) = b  <=>  op(a)^T x^T = b^T
        x = _left_trsm(a, np.swapaxes(b, -1, -2), lower, not transpose_a, conjugate_a,
                       unit_diagonal)
        return np.swapaxes(x, -1, -2)   # (a view of a fresh array: nothing shared)
    return _left_trsm(a, b, lower, transpose_a, conjugate_a, unit_diagonal)


def _left_trsm(a, b, lower, transpose_a, conjugate_a, unit_diagonal):
    if b.size == 0:
        return np.zeros(b.shape, b.dtype)
    complex_ = a.dtype.kind == "c"
    if conjugate_a and complex_ and not transpose_a:   # conj(a) x = b <=> a conj(x) = conj(b)
        return np.conj(_left_trsm(a, np.conj(b), lower, False, False, unit_diagonal))
    trans = (2 if conjugate_a and complex_ else 1) if transpose_a else 0
    if _lapack is None:
        return _trsm_numpy(a, b, lower, trans, unit_diagonal)
    (trsm,) = _blas.get_blas_funcs(("trsm",), (a, b))

    def one(a2, b2):
        if not unit_diagonal:
            zero = np.flatnonzero(np.diagonal(a2) == 0)
            if zero.size:
                raise LinAlgError(f"triangular_solve: singular matrix: diagonal entry "
                                  f"{zero[0]} is zero")
        return (_solve_c_ordered(trsm, a2, b2, lower, trans, unit_diagonal),)
    return np.asarray(_batch_loop(one, a, b)[0], b.dtype)


def _solve_c_ordered(trsm, a, b, lower, trans, unit_diagonal):
    """``op(a)^-1 b`` (``op`` by ``trans``: 0 none, 1 transpose, 2 conjugate transpose)
    with BLAS's ``trsm``, on NumPy's C-ordered arrays as they are: their transposes are
    Fortran-ordered views (no copy of ``a``, one of ``b``, the result's), and
    ``x^T = b^T op(a)^-T`` is a solve from the right by ``a^T`` whose operation is
    ``trans`` again (``op(a)^T`` is ``a^T`` untransposed, transposed, or conjugated)."""
    y = trsm(1.0, np.asarray(a).T, np.asarray(b).T, side=1, lower=not lower,
             trans_a=trans, diag=int(unit_diagonal))
    return y.T


def _trsm_numpy(a, b, lower, trans, unit_diagonal):
    """The triangular solve without SciPy: a general solve on the explicit triangle."""
    t = np.tril(a) if lower else np.triu(a)
    if unit_diagonal:
        n = a.shape[-1]
        t = t.copy()
        t[..., np.arange(n), np.arange(n)] = 1
    if trans:
        t = np.swapaxes(t, -1, -2)
        t = np.conj(t) if trans == 2 else t
    try:
        return np.linalg.solve(t, b)
    except LinAlgError:
        raise LinAlgError("triangular_solve: singular matrix: a diagonal entry is zero") \
            from None


def _trsm_jvp(primals, tangents, **params):
    (a, b), (ta, tb) = primals, tangents
    x = triangular_solve_p.bind(a, b, **params)
    if type(ta) is Zero and type(tb) is Zero:
        return x, Zero.like(x)
    rhs = None if type(tb) is Zero else tb
    if type(ta) is not Zero:
        # op(a) x = b: op(da) x + op(a) dx = db, so dx = op(a)^-1 (db - op(da) x)
        ta = tril(ta) if params["lower"] else triu(ta)
        if params["unit_diagonal"]:
            ta = tril(ta, -1) if params["lower"] else triu(ta, 1)
        prod = op_matmul(ta, x, params["transpose_a"], params["conjugate_a"],
                         params["left_side"])
        rhs = lax.neg(prod) if rhs is None else lax.sub(rhs, prod)
    return x, triangular_solve_p.bind(a, rhs, **params)


def _trsm_transpose(ct, a, b, **params):
    if is_undefined(a):
        raise TypeError("triangular_solve is not linear in its matrix a")
    # x = M b with M = op(a)^-1 (or b M): the transpose is M^T, which flips transpose_a
    params = dict(params, transpose_a=not params["transpose_a"])
    return [None, triangular_solve_p.bind(a, ct, **params)]


def _rhs_batch(prim, left_side_of):
    """Batching of a solve ``prim(a, b)``: with ``a`` unbatched the batch folds into the
    columns of ``b`` (left side) or its rows (right side): one solve, one factorisation."""
    def rule(args, dims, **params):
        (a, b), (ad, bd) = args, dims
        if ad is None:
            nd = get_aval(b).ndim
            left = left_side_of(params)
            at = nd - 1 if left else nd - 3   # after the columns, or before the rows
            b = moveaxis(b, bd, at)
            shape = get_aval(b).shape
            if left:
                folded = reshape(b, shape[:-2] + (shape[-2] * shape[-1],))
            else:
                folded = reshape(b, shape[:-3] + (shape[-3] * shape[-2], shape[-1]))
            out = prim.bind(a, folded, **params)
            return reshape(out, shape), at
        size = get_aval(a).shape[ad]
        return prim.bind(batch_axis_at(a, ad), batch_axis_at(b, bd, size), **params), 0
    return rule


triangular_solve_p = Primitive("triangular_solve")
triangular_solve_p.def_impl(_trsm_impl)
triangular_solve_p.def_abstract_eval(_trsm_rule)
jvp_rules[triangular_solve_p] = _trsm_jvp
transpose_rules[triangular_solve_p] = _trsm_transpose
batch_rules[triangular_solve_p] = _rhs_batch(triangular_solve_p, lambda p: p["left_side"])


# -- solve -------------------------------------------------------------------------------------


def solve(a, b):
    """Solve ``a @ x = b`` for square ``a`` of shape ``(..., n, n)`` and ``b`` of shape
    ``(..., n, k)`` with the same batch shape (LAPACK's ``gesv``, as ``numpy.linalg.solve``).
    Its derivative is one more solve with ``a``: ``dx = solve(a, db - da @ x)``.

    >>> solve(np.array([[2., 0.], [0., 4.]]), np.array([[2.], [2.]]))
    array([[1. ],
           [0.5]])
    """
    _solve_rule(get_aval(a), get_aval(b))
    return solve_p.bind(a, b)


def _solve_rule(a, b):
    check_matrix("solve", a, square=True)
    check_matrix("solve", b)
    if a.dtype != b.dtype:
        raise TypeError(f"solve: a and b must have one dtype, got {a.dtype} and {b.dtype}")
    if a.shape[:-2] != b.shape[:-2] or b.shape[-2] != a.shape[-1]:
        raise ValueError(f"solve: a of shape {a.shape} and b of shape {b.shape} do not fit "
                         "(b must be (..., n, k) with a's batch shape)")
    return ShapedArray(b.shape, b.dtype)


def _solve_impl(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if b.size == 0:
        return np.zeros(b.shape, b.dtype)
    return np.linalg.solve(a, b)


def _solve_jvp(primals, tangents):
    (a, b), (ta, tb) = primals, tangents
    x = solve_p.bind(a, b)
    if type(ta) is Zero and type(tb) is Zero:
        return x, Zero.like(x)
    rhs = None if type(tb) is Zero else tb
    if type(ta) is not Zero:
        prod = matmul(ta, x)
        rhs = lax.neg(prod) if rhs is None else lax.sub(rhs, prod)
    return x, solve_p.bind(a, rhs)


def _solve_transpose(ct, a, b):
    if is_undefined(a):
        raise TypeError("solve is not linear in its matrix a")
    return [None, solve_p.bind(swap(a), ct)]


solve_p = Primitive("solve")
solve_p.def_impl(_solve_impl)
solve_p.def_abstract_eval(_solve_rule)
jvp_rules[solve_p] = _solve_jvp
transpose_rules[solve_p] = _solve_transpose
batch_rules[solve_p] = _rhs_batch(solve_p, lambda p: True)


# -- cholesky ----------------------------------------------------------------------------------


def cholesky(x, symmetrize_input: bool = True):
    """The lower Cholesky factor ``l`` of the Hermitian positive-definite ``x``
    (``x = l @ l^H``), for stacks ``(..., n, n)``. As in JAX, ``symmetrize_input``
    factors ``(x + x^H) / 2``; otherwise only the lower triangle of ``x`` is read, as
    ``numpy.linalg.cholesky`` does. Not positive definite: ``numpy.linalg.LinAlgError``.

    >>> cholesky(np.array([[4., 2.], [2., 5.]]))
    array([[2., 0.],
           [1., 2.]])
    """
    check_matrix("cholesky", get_aval(x), square=True)
    if symmetrize_input:
        x = lax.mul(lax.add(x, adjoint(x)), constant(0.5, x)[()])
    return cholesky_p.bind(x)


def _cholesky_rule(x):
    check_matrix("cholesky", x, square=True)
    return ShapedArray(x.shape, x.dtype)


def _cholesky_impl(x):
    x = np.asarray(x)
    if x.size == 0:
        return np.zeros(x.shape, x.dtype)
    if _lapack is None:
        return np.linalg.cholesky(x)
    (potrf,) = _lapack.get_lapack_funcs(("potrf",), (x,))

    def one(a):
        # the upper factor of a^T (a Fortran-ordered view: no copies) is l^T, so its
        # transpose is l, C-ordered
        u, info = potrf(a.T, lower=False, clean=True)
        if info > 0:
            raise LinAlgError("Matrix is not positive definite")
        return (u.T,)
    return _batch_loop(one, x)[0]


def _cholesky_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    l = cholesky_p.bind(x)
    if type(t) is Zero:
        return l, Zero.like(l)
    # dl = l phi(l^-1 dx l^-H), phi taking the lower triangle with the diagonal halved
    s = hermitian_part(t, lower=True)
    s = triangular_solve_p.bind(l, s, left_side=True, lower=True, transpose_a=False,
                                conjugate_a=False, unit_diagonal=False)
    s = triangular_solve_p.bind(l, s, left_side=False, lower=True, transpose_a=True,
                                conjugate_a=True, unit_diagonal=False)
    n = get_aval(x).shape[-1]
    half = constant(np.tril(np.ones((n, n))) - 0.5 * np.eye(n), x)
    return l, matmul(l, lax.mul(s, half))


cholesky_p = Primitive("cholesky")
cholesky_p.def_impl(_cholesky_impl)
cholesky_p.def_abstract_eval(_cholesky_rule)
jvp_rules[cholesky_p] = _cholesky_jvp
batch_rules[cholesky_p] = _leading_batch(cholesky_p)


# -- lu ----------------------------------------------------------------------------------------


def lu(x):
    """The LU factorisation with partial pivoting of stacks ``(..., m, n)``, as
    ``jax.lax.linalg.lu``: ``(lu, pivots, permutation)``, where ``lu`` packs the unit lower
    factor ``l`` (below the diagonal) and the upper ``u``, ``pivots`` (int32, LAPACK's,
    0-based) swapped row ``i`` with row ``pivots[i]``, and ``x[permutation] = l @ u``.
    A singular matrix factors without error (``u`` has a zero on its diagonal).

    >>> [np.asarray(o).tolist() for o in lu(np.array([[1., 2.], [3., 4.]]))]
    [[[3.0, 4.0], [0.3333333333333333, 0.6666666666666667]], [1, 1], [1, 0]]
    """
    check_matrix("lu", get_aval(x))
    return tuple(lu_p.bind(x))


def _lu_rule(x):
    check_matrix("lu", x)
    m, n = x.shape[-2:]
    batch = x.shape[:-2]
    return [ShapedArray(x.shape, x.dtype), ShapedArray(batch + (min(m, n),), np.int32),
            ShapedArray(batch + (m,), np.int32)]


def _getrf_numpy(a):
    """LU with partial pivoting, LAPACK's ``getrf`` in NumPy (used without SciPy)."""
    a = a.copy()
    m, n = a.shape
    piv = np.zeros(min(m, n), np.int32)
    for k in range(min(m, n)):
        p = k + int(np.argmax(np.abs(a[k:, k])))
        piv[k] = p
        if p != k:
            a[[k, p]] = a[[p, k]]
        if a[k, k] != 0:
            a[k + 1:, k] /= a[k, k]
        a[k + 1:, k + 1:] -= np.outer(a[k + 1:, k], a[k, k + 1:])
    return a, piv


def _pivots_to_permutation(piv, m):
    perm = np.arange(m, dtype=np.int32)
    for i, p in enumerate(piv):
        perm[i], perm[p] = perm[p], perm[i]
    return perm


def _lu_impl(x):
    x = np.asarray(x)
    m, n = x.shape[-2:]
    if x.size == 0:
        batch = x.shape[:-2]
        return [np.zeros(x.shape, x.dtype), np.zeros(batch + (min(m, n),), np.int32),
                np.broadcast_to(np.arange(m, dtype=np.int32), batch + (m,)).copy()]
    getrf = None if _lapack is None else _lapack.get_lapack_funcs(("getrf",), (x,))[0]

    def one(a):
        if getrf is None:
            lu_, piv = _getrf_numpy(a)
        else:
            lu_, piv, info = getrf(a)
        piv = np.asarray(piv, np.int32)
        return np.asarray(lu_, x.dtype), piv, _pivots_to_permutation(piv, m)
    return list(_batch_loop(one, x))


def _square_factors(packed):
    """The factors of a packed LU as square unit lower ``(m, m)`` and upper ``(n, n)``
    matrices (an identity block completes the rectangular ones)."""
    aval = get_aval(packed)
    m, n = aval.shape[-2:]
    k = min(m, n)
    l = lax.add(tril(lax.slice_in_dim(packed, 0, k, axis=-1), -1),
                constant(np.eye(m, k), packed))
    u = triu(lax.slice_in_dim(packed, 0, k, axis=-2))
    eye = np.eye(max(m, n), dtype=aval.dtype)
    if m > k:
        l = lax.concatenate([l, broadcast_to(eye[:, k:], aval.shape[:-2] + (m, m - k))],
                                   -1)
    if n > k:
        u = lax.concatenate([u, broadcast_to(eye[k:], aval.shape[:-2] + (n - k, n))],
                                   -2)
    return l, u


def permute_rows(x, permutation):
    """``x[..., permutation, :]`` for a stack of permutations ``(..., m)``."""
    shape = get_aval(x).shape
    idx = broadcast_to(reshape(permutation, get_aval(permutation).shape + (1,)), shape)
    return take_along_axis(x, idx, len(shape) - 2)


def _lu_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    packed, pivots, perm = outs = lu_p.bind(x)
    zeros = [Zero.like(pivots), Zero.like(perm)]
    if type(t) is Zero:
        return outs, [Zero.like(packed)] + zeros
    # p dx = dl u + l du, so l^-1 p dx u^-1 = l^-1 dl (strictly lower) + du u^-1 (upper)
    l, u = _square_factors(packed)
    lt = triangular_solve_p.bind(l, permute_rows(t, perm), left_side=True, lower=True,
                                 transpose_a=False, conjugate_a=False, unit_diagonal=True)
    ltu = triangular_solve_p.bind(u, lt, left_side=False, lower=False, transpose_a=False,
                                  conjugate_a=False, unit_diagonal=False)
    dlu = lax.add(matmul(l, tril(ltu, -1)), matmul(triu(ltu), u))
    return outs, [dlu] + zeros


lu_p = Primitive("lu", multiple_results=True)
lu_p.def_impl(_lu_impl)
lu_p.def_abstract_eval(_lu_rule)
jvp_rules[lu_p] = _lu_jvp
batch_rules[lu_p] = _leading_batch(lu_p)


def lu_pivots_to_permutation(pivots, permutation_size: int):
    """The row permutation (int32, ``(..., permutation_size)``) that LAPACK's 0-based
    ``pivots`` (``(..., k)``: row ``i`` swapped with row ``pivots[i]``, in order) make.

    >>> lu_pivots_to_permutation(np.array([2, 2], np.int32), 3)
    array([2, 0, 1], dtype=int32)
    """
    return lu_pivots_to_permutation_p.bind(pivots, permutation_size=int(permutation_size))


def _pivots_rule(pivots, *, permutation_size):
    if pivots.dtype.kind not in "iu" or pivots.ndim < 1:
        raise TypeError(f"lu_pivots_to_permutation: pivots must be integers of rank >= 1, got "
                        f"{pivots.str_short()}")
    if pivots.shape[-1] > permutation_size:
        raise ValueError(f"lu_pivots_to_permutation: {pivots.shape[-1]} pivots do not fit a "
                         f"permutation of size {permutation_size}")
    return ShapedArray(pivots.shape[:-1] + (permutation_size,), np.int32)


def _pivots_impl(pivots, *, permutation_size):
    pivots = np.asarray(pivots)
    if pivots.size and (pivots.min() < 0 or pivots.max() >= permutation_size):
        raise ValueError(f"lu_pivots_to_permutation: pivots must be in [0, {permutation_size})"
                         f", got {pivots}")
    batch = pivots.shape[:-1]
    out = np.empty(batch + (permutation_size,), np.int32)
    for idx in np.ndindex(*batch):
        out[idx] = _pivots_to_permutation(pivots[idx], permutation_size)
    return out


lu_pivots_to_permutation_p = Primitive("lu_pivots_to_permutation")
lu_pivots_to_permutation_p.def_impl(_pivots_impl)
lu_pivots_to_permutation_p.def_abstract_eval(_pivots_rule)
defjvp_zero(lu_pivots_to_permutation_p)
batch_rules[lu_pivots_to_permutation_p] = _leading_batch(lu_pivots_to_permutation_p)


__all__ = ["triangular_solve", "solve", "cholesky", "lu", "lu_pivots_to_permutation",
           "triangular_solve_p", "solve_p", "cholesky_p", "lu_p", "lu_pivots_to_permutation_p",
           "LinAlgError"]
