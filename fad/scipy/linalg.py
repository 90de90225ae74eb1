"""``fad.scipy.linalg``: ``scipy.linalg``'s factorisations, solves and ``expm`` on the
primitives of ``fad.lax.linalg``, differentiable, batchable and jit-able.

With no tracer among the inputs each function is SciPy's own when SciPy is installed
(SciPy's values, errors and ``check_finite``); without SciPy, or on tracers, fad's
composite version runs (``check_finite`` is then not checked, ``overwrite_*`` and
``lapack_driver``/``driver`` are accepted and ignored). Right-hand sides ``b`` are
vectors when 1-D and stacks of matrices ``(..., n, k)`` otherwise, broadcast against
stacks of matrices ``a``.

``cho_solve``, ``lu_solve`` and ``solve_triangular`` are triangular solves on the packed
factors, so gradients reach the factors' triangles; ``cho_factor`` returns the factor
with zeros (not SciPy's leftover data) in its other triangle.

``expm`` is the Padé approximant with scaling and squaring (Higham, 2005), differentiable
through its operations: the degree and the number of squarings are chosen from the
1-norm when it is concrete; under ``jit``/``vmap`` (values abstract) it uses degree 13
with per-matrix scaling and up to 64 squarings, each applied where needed.

``logm`` is left out: the accurate algorithm (inverse scaling and squaring) needs a Schur
decomposition, which no primitive provides, and a diagonalisation would lose accuracy on
non-normal matrices.
"""
from __future__ import annotations

import functools

import numpy as np

import fad.numpy as fnp
from fad import lax
from fad.lax import linalg as lax_linalg
from fad.numpy import linalg as fla
from fad.numpy._promote import any_traced, asarray, concrete_or_none

try:   # optional: SciPy itself, for calls with nothing traced
    import scipy.linalg as _scipy_linalg
except ImportError:   # pragma: no cover
    _scipy_linalg = None

LinAlgError = np.linalg.LinAlgError


def _eager(name):
    """Run SciPy's ``name`` when no argument is traced (and SciPy is installed)."""
    def wrap(fn):
        @functools.wraps(fn)
        def dispatch(*args, **kwargs):
            if (_scipy_linalg is not None and not any_traced(args)
                    and not any_traced(kwargs.values())):
                return getattr(_scipy_linalg, name)(*args, **kwargs)
            return fn(*args, **kwargs)
        return dispatch
    return wrap


def _square(a):
    (a,) = fla._prepare(a)
    fla._assert_stacked_square(a)
    return a


def _trsm(a, b, lower, trans=0, unit_diagonal=False):
    """``op(a) x = b`` for the triangle ``lower`` of ``a`` (``trans``: 0, 1 = transpose,
    2 = conjugate transpose), ``b`` a vector or a stack broadcast against ``a``."""
    a, b = fla._prepare(a, b)
    fla._assert_stacked_square(a)
    vector = b.ndim == 1
    if vector:
        b = fnp.reshape(b, (-1, 1))
    if b.shape[-2] != a.shape[-1]:
        raise ValueError(f"shapes of a {a.shape} and b {b.shape} are incompatible")
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = fnp.broadcast_to(a, batch + a.shape[-2:])
    b = fnp.broadcast_to(b, batch + b.shape[-2:])
    x = lax_linalg.triangular_solve(a, b, left_side=True, lower=lower,
                                    transpose_a=trans in (1, 2), conjugate_a=trans == 2,
                                    unit_diagonal=unit_diagonal)
    return x[..., 0] if vector else x


def _trans_code(trans):
    codes = {0: 0, 1: 1, 2: 2, "N": 0, "T": 1, "C": 2}
    if trans not in codes:
        raise ValueError(f"trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}")
    return codes[trans]


# -- Cholesky ----------------------------------------------------------------------------------


@_eager("cholesky")
def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """Like ``scipy.linalg.cholesky``: the upper factor ``u`` (``a = u^H u``) by default,
    reading the upper triangle; ``lower=True`` gives ``l`` from the lower triangle.

    >>> import numpy as np, fad, fad.scipy.linalg as sl
    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> u = sl.cholesky(a)
    >>> bool(np.allclose(u.T @ u, a)), bool(np.allclose(sl.cholesky(a, lower=True), u.T))
    (True, True)
    """
    return fla.cholesky(_square(a), upper=not lower)


@_eager("cho_factor")
def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """Like ``scipy.linalg.cho_factor``: ``(c, lower)``, the other triangle of ``c`` zero.

    >>> import numpy as np, fad, fad.scipy.linalg as sl
    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> c, lower = sl.cho_factor(a)
    >>> sl.cho_solve((c, lower), np.array([6.0, 5.0])).round(6)
    array([1., 1.])
    """
    return cholesky(a, lower=lower), lower


@_eager("cho_solve")
def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """Like ``scipy.linalg.cho_solve``: ``a x = b`` from ``cho_factor``'s ``(c, lower)``,
    two triangular solves reading one triangle of ``c``.

    >>> import numpy as np, fad, fad.scipy.linalg as sl
    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> fac = sl.cho_factor(a)
    >>> sl.cho_solve(fac, np.array([6.0, 5.0])).round(6)
    array([1., 1.])
    >>> fad.grad(lambda b: sl.cho_solve(fac, b).sum())(np.zeros(2)).round(3)
    array([0.125, 0.25 ])
    """
    c, lower = c_and_lower
    if lower:   # a = l l^H
        return _trsm(c, _trsm(c, b, True), True, trans=2)
    return _trsm(c, _trsm(c, b, False, trans=2), False)   # a = u^H u


@_eager("solve_triangular")
def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                     check_finite=True):
    """Like ``scipy.linalg.solve_triangular``: ``op(a) x = b`` reading the ``lower`` (or
    upper) triangle; ``trans`` 0/'N', 1/'T' or 2/'C'. Singular: ``LinAlgError``.

    >>> import numpy as np, fad, fad.scipy.linalg as sl
    >>> l = np.array([[2.0, 0.0], [1.0, 1.0]])
    >>> sl.solve_triangular(l, np.array([2.0, 3.0]), lower=True)
    array([1., 2.])
    """
    return _trsm(a, b, lower, _trans_code(trans), unit_diagonal)


# -- LU ------------------------------------------------------------------------------------------


@_eager("lu_factor")
def lu_factor(a, overwrite_a=False, check_finite=True):
    """Like ``scipy.linalg.lu_factor``: ``(lu, piv)``, ``piv`` 0-based int32.

    >>> import numpy as np, fad, fad.scipy.linalg as sl
    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> lu, piv = sl.lu_factor(a)
    >>> sl.lu_solve((lu, piv), np.array([6.0, 5.0])).round(6)
    array([1., 1.])
    """
    (a,) = fla._prepare(a)
    packed, pivots, _ = lax_linalg.lu(a)
    return packed, pivots


@_eager("lu_solve")
def lu_solve(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    """Like ``scipy.linalg.lu_solve``: ``op(a) x = b`` from ``lu_factor``'s output, by
    triangular solves on the packed factors (differentiable in them and in ``b``).

    >>> import numpy as np, fad, fad.scipy.linalg as sl
    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> fac = sl.lu_factor(a)
    >>> sl.lu_solve(fac, np.array([6.0, 5.0])).round(6)
    array([1., 1.])
    >>> sl.lu_solve(fac, np.array([6.0, 5.0]), trans=1).round(6)
    array([1., 1.])
    """
    packed, piv = lu_and_piv
    trans = _trans_code(trans)
    packed = _square(packed)
    n = packed.shape[-1]
    perm = lax_linalg.lu_pivots_to_permutation(lax.stop_gradient(asarray(piv)), n)
    vector = asarray(b).ndim == 1
    if trans == 0:   # a = p^T l u
        rows = fnp.take_along_axis(fnp.reshape(b, (-1, 1)) if vector else b,
                                   fnp.expand_dims(perm, -1), axis=-2)
        x = _trsm(packed, _trsm(packed, rows, True, unit_diagonal=True), False)
        return x[..., 0] if vector else x
    # op(a) = op(u) op(l) p: solve with op(u), then op(l), then undo the permutation
    y = _trsm(packed, _trsm(packed, b, False, trans), True, trans, unit_diagonal=True)
    inverse = fnp.argsort(perm, axis=-1)
    if vector:
        return fnp.take_along_axis(y, inverse, axis=-1)
    return fnp.take_along_axis(y, fnp.expand_dims(inverse, -1), axis=-2)


@_eager("lu")
def lu(a, permute_l=False, overwrite_a=False, check_finite=True, p_indices=False):
    """Like ``scipy.linalg.lu``: ``(p, l, u)`` with ``a = p @ l @ u`` (``p`` a permutation
    matrix, or with ``p_indices`` row indices such that ``a = l[p] @ u``), or ``(p @ l,
    u)`` with ``permute_l``.

    >>> import numpy as np, fad, fad.scipy.linalg as sl
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> p, l, u = sl.lu(a)
    >>> bool(np.allclose(p @ l @ u, a)), bool(np.allclose(np.tril(l), l))
    (True, True)
    """
    (a,) = fla._prepare(a)
    if a.ndim < 2:
        raise ValueError("expected at least 2-D array")
    m, n = a.shape[-2:]
    k = min(m, n)
    packed, _, perm = lax_linalg.lu(a)
    l = fnp.tril(packed[..., :, :k], -1) + np.eye(m, k, dtype=a.dtype)
    u = fnp.triu(packed[..., :k, :])
    inverse = fnp.argsort(perm, axis=-1)     # a = l[inverse] @ u
    if permute_l:
        return fnp.take_along_axis(l, fnp.expand_dims(inverse, -1), axis=-2), u
    if p_indices:
        return inverse.astype(np.int32), l, u
    # (real, of a's precision, as SciPy's: a permutation matrix has no imaginary part)
    p = (fnp.expand_dims(inverse, -1) == np.arange(m)).astype(fla._real_dtype(a.dtype))
    return p, l, u


# -- solve, inv, det -----------------------------------------------------------------------------

_ASSUME = {None: "gen", "gen": "gen", "general": "gen", "sym": "sym", "symmetric": "sym",
           "her": "her", "hermitian": "her", "pos": "pos", "positive definite": "pos",
           "diagonal": "diagonal", "upper triangular": "upper", "lower triangular": "lower",
           "tridiagonal": "tridiagonal"}


def _from_triangle(a, lower, conjugate):
    """The symmetric (Hermitian, with ``conjugate``) matrix of one triangle of ``a``."""
    off = fnp.tril(a, -1) if lower else fnp.triu(a, 1)
    other = fnp.swapaxes(fnp.conj(off) if conjugate else off, -1, -2)
    d = lax_linalg.diagonal(a)
    if conjugate and a.dtype.kind == "c":
        d = fnp.real(d).astype(a.dtype)
    return off + other + lax_linalg.diag_embed(d)


@_eager("solve")
def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True,
          assume_a=None, transposed=False):
    """Like ``scipy.linalg.solve``, with ``assume_a`` 'gen', 'sym', 'her', 'pos',
    'diagonal', 'tridiagonal', 'upper triangular' or 'lower triangular' ('banded' is not
    traceable); ``transposed`` solves ``a^T x = b``.

    >>> import numpy as np, fad, fad.scipy.linalg as sl
    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> sl.solve(a, np.array([6.0, 5.0]), assume_a='pos').round(6)
    array([1., 1.])
    >>> fad.grad(lambda a: sl.solve(a, np.ones(2)).sum())(np.eye(2))
    array([[-1., -1.],
           [-1., -1.]])
    """
    kind = _ASSUME.get(assume_a)
    if kind is None:
        raise NotImplementedError(f"solve: assume_a={assume_a!r} is not supported when "
                                  "traced; use 'gen', 'sym', 'her', 'pos', 'diagonal', "
                                  "'tridiagonal' or a triangular one")
    a, b = fla._prepare(a, b)
    fla._assert_stacked_square(a)
    if transposed:
        if a.dtype.kind == "c":
            raise NotImplementedError("scipy.linalg.solve can currently not solve a^T x = b "
                                      "for complex a")
        a, lower = fnp.swapaxes(a, -1, -2), not lower
    if kind in ("upper", "lower"):
        return _trsm(a, b, kind == "lower")
    if kind == "pos":
        return cho_solve((cholesky(a, lower=lower), lower), b)
    if kind == "diagonal":
        d = lax_linalg.diagonal(a)
        return b / (d if b.ndim == 1 else fnp.expand_dims(d, -1))
    if kind in ("sym", "her"):
        a = _from_triangle(a, lower, kind == "her")
    elif kind == "tridiagonal":
        n = a.shape[-1]
        band = np.abs(np.subtract.outer(np.arange(n), np.arange(n))) <= 1
        a = fnp.where(band, a, 0).astype(a.dtype)
    return fla.solve(a, b)


@_eager("inv")
def inv(a, overwrite_a=False, check_finite=True):
    """Like ``scipy.linalg.inv``.

    >>> import numpy as np, fad, fad.scipy.linalg as sl
    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> bool(np.allclose(sl.inv(a) @ a, np.eye(2)))
    True
    """
    return fla.inv(a)


@_eager("det")
def det(a, overwrite_a=False, check_finite=True):
    """Like ``scipy.linalg.det``: float64 or complex128, whatever the precision of ``a``
    (SciPy computes single-precision determinants in double precision, which keeps them
    from overflowing).

    >>> import numpy as np, fad, fad.scipy.linalg as sl
    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> float(sl.det(a).round(6))
    8.0
    >>> fad.grad(sl.det)(a).round(6)
    array([[ 3., -2.],
           [-2.,  4.]])
    """
    (a,) = fla._prepare(a)
    return fla.det(a.astype(np.complex128 if a.dtype.kind == "c" else np.float64))


# -- eigh, svd, qr -------------------------------------------------------------------------------


@_eager("eigh")
def eigh(a, b=None, *, lower=True, eigvals_only=False, overwrite_a=False, overwrite_b=False,
         type=1, check_finite=True, subset_by_index=None, subset_by_value=None, driver=None):
    """Like ``scipy.linalg.eigh``: the standard or (with ``b``, through its Cholesky
    factor, ``type`` 1, 2 or 3) generalised Hermitian eigenproblem, reading the ``lower``
    (or upper) triangles; ``subset_by_index`` selects eigenvalues by index
    (``subset_by_value`` is not traceable).

    >>> import numpy as np, fad, fad.scipy.linalg as sl
    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> w, v = sl.eigh(a)
    >>> bool(np.allclose(a @ v, v * w))
    True
    >>> bool(np.allclose(sl.eigh(a, np.diag([2.0, 2.0]), eigvals_only=True), w / 2))
    True
    """
    if subset_by_value is not None:
        raise NotImplementedError("eigh: subset_by_value gives a shape that depends on the "
                                  "values and is not traceable; use subset_by_index")
    a = _square(a)
    if b is None:
        v, w = lax_linalg.eigh(a, lower=lower, symmetrize_input=False)
    else:
        if type not in (1, 2, 3):
            raise ValueError(f"eigh: type must be 1, 2 or 3, got {type!r}")
        a, b = fla._prepare(a, _square(b))
        l = fla.cholesky(b, upper=not lower)   # b = l l^H
        if not lower:
            l = fnp.conj(fnp.swapaxes(l, -1, -2))
        full = _from_triangle(a, lower, True)
        if type == 1:   # l^-1 a l^-H y = w y, v = l^-H y
            c = _trsm(l, fnp.conj(fnp.swapaxes(_trsm(l, full, True), -1, -2)), True)
        else:           # l^H a l y = w y; v = l^-H y (type 2) or l y (type 3)
            c = fnp.matmul(fnp.conj(fnp.swapaxes(l, -1, -2)), fnp.matmul(full, l))
        v, w = lax_linalg.eigh(c, lower=True, symmetrize_input=False)
        v = fnp.matmul(l, v) if type == 3 else _trsm(l, v, True, trans=2)
    if subset_by_index is not None:
        lo, hi = (int(i) for i in subset_by_index)
        w, v = w[..., lo:hi + 1], v[..., lo:hi + 1]
    return w if eigvals_only else (w, v)


@_eager("svd")
def svd(a, full_matrices=True, compute_uv=True, overwrite_a=False, check_finite=True,
        lapack_driver="gesdd"):
    """Like ``scipy.linalg.svd``: ``(U, s, Vh)`` or ``s``.

    >>> import numpy as np, fad, fad.scipy.linalg as sl
    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> u, s, vh = sl.svd(a)
    >>> bool(np.allclose(u * s @ vh, a)), bool(np.allclose(sl.svd(a, compute_uv=False), s))
    (True, True)
    """
    out = fla.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)
    return tuple(out) if compute_uv else out


@_eager("qr")
def qr(a, overwrite_a=False, lwork=None, mode="full", pivoting=False, check_finite=True):
    """Like ``scipy.linalg.qr`` with modes 'full', 'economic' and 'r' (a 1-tuple);
    'raw' and ``pivoting`` are not traceable.

    >>> import numpy as np, fad, fad.scipy.linalg as sl
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> q, r = sl.qr(a, mode='economic')
    >>> q.shape, r.shape, bool(np.allclose(q @ r, a))
    ((3, 2), (2, 2), True)
    """
    if mode not in ("full", "r", "economic", "raw"):
        raise ValueError("Mode argument should be one of ['full', 'r', 'economic', 'raw']")
    if mode == "raw" or pivoting:
        raise NotImplementedError("qr: mode='raw' and pivoting=True are not traceable")
    (a,) = fla._prepare(a)
    q, r = lax_linalg.qr(a, full_matrices=mode != "economic")
    if mode == "r":
        return (r,)
    return q, r


# -- expm ----------------------------------------------------------------------------------------

# The numerator coefficients of the [m/m] Padé approximants of exp, and the largest
# 1-norms for which each is accurate to double precision (Higham, 2005, table 2.3).
_PADE = {
    3: (120., 60., 12., 1.),
    5: (30240., 15120., 3360., 420., 30., 1.),
    7: (17297280., 8648640., 1995840., 277200., 25200., 1512., 56., 1.),
    9: (17643225600., 8821612800., 2075673600., 302702400., 30270240., 2162160., 110880.,
        3960., 90., 1.),
    13: (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800.,
         129060195264000., 10559470521600., 670442572800., 33522128640., 1323241920.,
         40840800., 960960., 16380., 182., 1.),
}
_THETA = {3: 1.495585217958292e-2, 5: 2.539398330063230e-1, 7: 9.504178996162932e-1,
          9: 2.097847961257068e0, 13: 5.371920351148152e0}
_MAX_SQUARINGS = 64


def _pade(a, m):
    """The [m/m] Padé approximant of ``exp(a)``: ``solve(v - u, v + u)``."""
    b = _PADE[m]
    eye = fnp.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape)
    a2 = fnp.matmul(a, a)
    if m < 13:
        powers = [eye, a2]
        while len(powers) <= m // 2:
            powers.append(fnp.matmul(powers[-1], a2))
        u = fnp.matmul(a, sum(b[2 * j + 1] * p for j, p in enumerate(powers)))
        v = sum(b[2 * j] * p for j, p in enumerate(powers))
    else:
        a4 = fnp.matmul(a2, a2)
        a6 = fnp.matmul(a4, a2)
        u = fnp.matmul(a, fnp.matmul(a6, b[13] * a6 + b[11] * a4 + b[9] * a2)
                       + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * eye)
        v = (fnp.matmul(a6, b[12] * a6 + b[10] * a4 + b[8] * a2)
             + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye)
    return lax_linalg.solve(v - u, v + u)


@_eager("expm")
def expm(A):
    """Like ``scipy.linalg.expm`` (stacks ``(..., n, n)``): Padé with scaling and
    squaring, differentiable through its operations.

    >>> import numpy as np, fad, fad.scipy.linalg as sl
    >>> sl.expm(np.zeros((2, 2)))
    array([[1., 0.],
           [0., 1.]])
    >>> n = np.array([[0.0, 1.0], [0.0, 0.0]])
    >>> bool(np.allclose(sl.expm(n), np.eye(2) + n))
    True
    """
    a = _square(A)
    if a.shape[-1] == 0:
        return a
    norm1 = lax.stop_gradient(fnp.max(fnp.sum(fnp.abs(a), axis=-2), axis=-1))
    known = concrete_or_none(norm1)
    if known is not None and a.ndim == 2:
        known = float(known)
        for m in (3, 5, 7, 9):
            if known <= _THETA[m]:
                return _pade(a, m)
        s = max(0, int(np.ceil(np.log2(known / _THETA[13])))) if known > 0 else 0
        x = _pade(a * a.dtype.type(2.0 ** -s), 13)
        for _ in range(s):
            x = fnp.matmul(x, x)
        return x
    # each matrix scaled by its own power of two; squarings applied where needed
    with np.errstate(divide="ignore"):
        s = fnp.clip(fnp.ceil(fnp.log2(norm1 / _THETA[13])), 0, _MAX_SQUARINGS)
    scale = fnp.expand_dims(fnp.exp2(-s), (-2, -1)).astype(a.dtype)
    x = _pade(a * scale, 13)
    squarings = _MAX_SQUARINGS if known is None else int(np.max(concrete_or_none(s)))
    for i in range(squarings):
        x = fnp.where(fnp.expand_dims(s > i, (-2, -1)), fnp.matmul(x, x), x)
    return x


__all__ = ["LinAlgError", "cholesky", "cho_factor", "cho_solve", "solve_triangular",
           "lu_factor", "lu_solve", "lu", "solve", "inv", "det", "eigh", "svd", "qr", "expm"]
