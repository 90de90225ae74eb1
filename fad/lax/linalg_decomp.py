"""Linear algebra, part 1: the general solve and the factorisations.

Primitives, each with all its rules: ``solve`` (a general square solve, so that its
derivative costs a solve rather than the derivative of an LU factorisation),
``cholesky``, ``lu`` (with pivots and the row permutation), and
``lu_pivots_to_permutation``. ``triangular_solve`` and the other triangular primitives
live in ``linalg_trmm`` (re-exported here); ``cholesky``'s derivative is two of them, a
congruence and a triangular product. Every primitive takes stacked matrices
``(..., m, n)``, as NumPy does, so batching moves the batch axis to the front (or, for a
solve whose matrix is shared, folds the batch into the right-hand side's columns).
``fad.lax.linalg`` adds ``qr`` and the spectral decompositions and is the public module.

Implementations call LAPACK through NumPy, and through SciPy's LAPACK wrappers for the
routines NumPy lacks (``potrf`` in place, ``getrf``) when SciPy is installed; without SciPy
they fall back to NumPy (NumPy's Cholesky, a partial-pivoting loop). A singular matrix
raises ``numpy.linalg.LinAlgError``, as NumPy's ``solve`` does.
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
from fad.lax.plumbing import batch_axis_at, broadcast_to, moveaxis, reshape
from fad.lax.linalg_trmm import (LinAlgError, adjoint, batch_loop, check_matrix, constant, swap,
                                 square_operand_batch, triangular_congruence_p,
                                 triangular_matmul_p, triangular_solve, triangular_solve_p,
                                 tril, triu)
from fad.lax.linalg_trmm import hermitian_part, is_complex  # noqa: F401 - (for fad.lax.linalg)
from fad.lax.rules import defjvp_zero
from fad.lax.sort import take_along_axis

try:   # optional: LAPACK's LU, which NumPy does not expose, and its Cholesky in place
    from scipy.linalg import lapack as _lapack
except ImportError:   # pragma: no cover - exercised by monkeypatching in the tests
    _lapack = None

# -- shared helpers (they bind primitives: usable on tracers inside rules; more in linalg_trmm)


def real_dtype(dtype):
    return np.dtype(np.float32) if dtype in (np.float32, np.complex64) else np.dtype(np.float64)


def complex_dtype(dtype):
    return (np.dtype(np.complex64) if dtype in (np.float32, np.complex64)
            else np.dtype(np.complex128))


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


def _leading_batch(prim):
    """The batching rule of a one-operand primitive on stacks: the batch axis first."""
    def rule(args, dims, **params):
        (x,), (bd,) = args, dims
        out = prim.bind(batch_axis_at(x, bd), **params)
        return out, [0] * len(out) if prim.multiple_results else 0
    return rule


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
batch_rules[solve_p] = square_operand_batch(solve_p, lambda p: True)


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
    return batch_loop(one, x)[0]


def _cholesky_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    l = cholesky_p.bind(x)
    if type(t) is Zero:
        return l, Zero.like(l)
    # dl = l phi(l^-1 dx l^-H), phi taking the lower triangle with the diagonal halved, dx
    # the Hermitian matrix of t's lower triangle: phi(...) is the congruence's half. Its
    # transpose is the congruence by l^T, so the backward pass is two operations as well
    tri = dict(lower=True, transpose_a=False, conjugate_a=False)
    half = triangular_congruence_p.bind(l, t, **tri)
    return l, triangular_matmul_p.bind(l, half, left_side=True, **tri)


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
    return list(batch_loop(one, x))


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
