"""Linear algebra, part 0: triangular matrices, and the helpers on matrices that every
linalg module shares.

Primitives, each with all its rules, on stacks ``(..., m, n)`` (a triangular operand is
read in one triangle only, its ``op`` transposing and/or conjugating it, as in JAX):

- ``triangular_solve`` (JAX's signature): BLAS's ``trsm``;
- ``triangular_matmul``: ``op(a) @ b`` or ``b @ op(a)``, ``tril(a) @ b`` in half the flops
  (BLAS's ``trmm``); bilinear, its transpose in ``b`` one with ``op`` transposed;
- ``hermitian_part``: the Hermitian matrix one triangle stands for, linear, its transpose
  (the other triangle folded onto this one) one operation too;
- ``triangular_congruence``: the lower half of ``op(l)^-1 h op(l)^-H`` for a Hermitian
  ``h`` (LAPACK's ``sygst``: half the flops of the two solves), its transpose the
  congruence by ``op(l)^T``.

They are the named fast paths of the triangular factorisations' derivatives: the
Cholesky derivative ``dl = l @ half(l^-1 dx l^-H)`` is a congruence and a triangular
product, and so is its transpose (two operations in the backward pass, where the general
path takes a product, a mask, two solves and four operations of ``hermitian_part``'s
transpose). Each is tested against that general path.

All of them work on NumPy's C-ordered arrays as they are: a C-ordered matrix is the
Fortran-ordered transpose, so BLAS and LAPACK get views (no copy of a triangle) and the
operation on the transposes. Without SciPy they fall back to NumPy on the explicit
triangles. The helpers bind primitives, so they work on tracers inside rules;
``linalg_decomp`` and ``linalg`` import them from here (this module imports neither).
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
from fad.lax.plumbing import batch_axis_at, moveaxis, reshape, transpose
from fad.lax.rules import batch_same_shape, defbilinear, deflinear

try:   # optional: BLAS's triangular solve and product, LAPACK's congruence (NumPy has none)
    from scipy.linalg import blas as _blas
    from scipy.linalg import lapack as _lapack
except ImportError:   # pragma: no cover - exercised by monkeypatching in the tests
    _blas = _lapack = None

LinAlgError = np.linalg.LinAlgError
_LINALG_DTYPES = frozenset(np.dtype(t) for t in (np.float32, np.float64, np.complex64,
                                                 np.complex128))

# -- shared helpers ----------------------------------------------------------------------------


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


def is_complex(x) -> bool:
    return get_aval(x).dtype.kind == "c"


def conj(x):
    return lax.conj(x) if is_complex(x) else x


def swap(x):
    """The matrix transpose of the last two axes."""
    nd = get_aval(x).ndim
    return transpose(x, (*range(nd - 2), nd - 1, nd - 2))


def adjoint(x):
    """The conjugate transpose of the last two axes."""
    return conj(swap(x))


def constant(value, like):
    """``value`` as a NumPy constant of ``like``'s dtype."""
    return np.asarray(value, get_aval(like).dtype)


def triangle_mask(m, n, k, lower):
    """``(m, n)`` booleans, true on and below (``lower``) or on and above the ``k``-th
    diagonal."""
    return np.tri(m, n, k, dtype=bool) if lower else ~np.tri(m, n, k - 1, dtype=bool)


def tril(x, k=0):
    m, n = get_aval(x).shape[-2:]
    return lax.select_n(triangle_mask(m, n, k, True), constant(0, x)[()], x)


def triu(x, k=0):
    m, n = get_aval(x).shape[-2:]
    return lax.select_n(triangle_mask(m, n, k, False), constant(0, x)[()], x)


def batch_loop(fn, *arrays):
    """Apply ``fn`` (of 2-D arrays, returning a tuple of arrays) to each matrix of stacks
    of one batch shape; the results stacked."""
    batch = arrays[0].shape[:-2]
    if not batch:
        return fn(*arrays)
    outs = [fn(*(a[idx] for a in arrays)) for idx in np.ndindex(*batch)]
    return tuple(np.stack([o[i] for o in outs]).reshape(batch + outs[0][i].shape)
                 for i in range(len(outs[0])))


def square_operand_batch(prim, left_side_of):
    """Batching of ``prim(a, b)``, ``a`` a (stack of) square matrices applied to ``b``'s
    rows (``left_side_of(params)``) or columns: with ``a`` unbatched the batch folds into
    ``b``'s columns (left side) or rows (right side), so that one call does them all."""
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


def _blas_trans(transpose_a, conjugate_a, dtype):
    """BLAS's ``trans`` argument for ``op``: 0 none, 1 transpose, 2 conjugate transpose."""
    return (2 if conjugate_a and dtype.kind == "c" else 1) if transpose_a else 0


def _triangle_only(a, lower, unit_diagonal):
    """The triangle of NumPy ``a`` that a triangular routine reads, as a full matrix
    (ones on the diagonal when ``unit_diagonal``): for the fallbacks without BLAS."""
    t = np.tril(a) if lower else np.triu(a)
    if unit_diagonal:
        n = a.shape[-1]
        t[..., np.arange(n), np.arange(n)] = 1
    return t


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


def _triangular_operands_rule(name, a, b, left_side):
    """The result type of ``name`` (a triangular ``a`` applied to ``b`` on its left or
    right side: ``triangular_solve``, ``triangular_matmul``): ``b``'s."""
    check_matrix(name, a, square=True)
    check_matrix(name, b)
    if a.dtype != b.dtype:
        raise TypeError(f"{name}: a and b must have one dtype, got {a.dtype} and "
                        f"{b.dtype}; convert one of them with astype")
    m = a.shape[-1]
    k = b.shape[-2] if left_side else b.shape[-1]
    if a.shape[:-2] != b.shape[:-2] or k != m:
        side = "(..., m, n)" if left_side else "(..., n, m)"
        raise ValueError(f"{name}: a of shape {a.shape} and b of shape {b.shape} "
                         f"do not fit (b must be {side} with a's batch shape)")
    return ShapedArray(b.shape, b.dtype)


def _trsm_rule(a, b, *, left_side, lower, transpose_a, conjugate_a, unit_diagonal):
    return _triangular_operands_rule("triangular_solve", a, b, left_side)


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
    trans = _blas_trans(transpose_a, conjugate_a, a.dtype)
    if _blas is None:
        return _trsm_numpy(a, b, lower, trans, unit_diagonal)
    (trsm,) = _blas.get_blas_funcs(("trsm",), (a, b))

    def one(a2, b2):
        if not unit_diagonal:
            zero = np.flatnonzero(np.diagonal(a2) == 0)
            if zero.size:
                raise LinAlgError(f"triangular_solve: singular matrix: diagonal entry "
                                  f"{zero[0]} is zero")
        return (_solve_c_ordered(trsm, a2, b2, lower, trans, unit_diagonal),)
    return np.asarray(batch_loop(one, a, b)[0], b.dtype)


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
    t = _triangle_only(a, lower, unit_diagonal)
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
        if params["unit_diagonal"]:
            ta = tril(ta, -1) if params["lower"] else triu(ta, 1)
        prod = triangular_matmul_p.bind(ta, x, left_side=params["left_side"],
                                        lower=params["lower"],
                                        transpose_a=params["transpose_a"],
                                        conjugate_a=params["conjugate_a"])
        rhs = lax.neg(prod) if rhs is None else lax.sub(rhs, prod)
    return x, triangular_solve_p.bind(a, rhs, **params)


def _trsm_transpose(ct, a, b, **params):
    if is_undefined(a):
        raise TypeError("triangular_solve is not linear in its matrix a")
    # x = M b with M = op(a)^-1 (or b M): the transpose is M^T, which flips transpose_a
    params = dict(params, transpose_a=not params["transpose_a"])
    return [None, triangular_solve_p.bind(a, ct, **params)]


triangular_solve_p = Primitive("triangular_solve")
triangular_solve_p.def_impl(_trsm_impl)
triangular_solve_p.def_abstract_eval(_trsm_rule)
jvp_rules[triangular_solve_p] = _trsm_jvp
transpose_rules[triangular_solve_p] = _trsm_transpose
batch_rules[triangular_solve_p] = square_operand_batch(triangular_solve_p,
                                                      lambda p: p["left_side"])


# -- triangular_matmul -------------------------------------------------------------------------


def triangular_matmul(a, b, left_side: bool = True, lower: bool = True,
                      transpose_a: bool = False, conjugate_a: bool = False):
    """``op(a) @ b`` (``left_side``) or ``b @ op(a)``, reading only the ``lower`` (or
    upper) triangle of ``a``; ``op`` transposes and/or conjugates it. The parameters are
    ``triangular_solve``'s (its unit diagonal aside: add ``b`` to the product with the
    strict triangle), and so are the shapes: ``a`` is ``(..., m, m)``, ``b`` is
    ``(..., m, n)`` (left side) or ``(..., n, m)``, with the same batch shape and dtype.
    ``tril(a) @ b`` in half the flops: BLAS's ``trmm``.

    >>> triangular_matmul(np.array([[2., 9.], [1., 1.]]), np.array([[1.], [2.]]))
    array([[2.],
           [3.]])
    """
    params = dict(left_side=bool(left_side), lower=bool(lower),
                  transpose_a=bool(transpose_a), conjugate_a=bool(conjugate_a))
    _trmm_rule(get_aval(a), get_aval(b), **params)
    return triangular_matmul_p.bind(a, b, **params)


def _trmm_rule(a, b, *, left_side, lower, transpose_a, conjugate_a):
    return _triangular_operands_rule("triangular_matmul", a, b, left_side)


def _trmm_impl(a, b, *, left_side, lower, transpose_a, conjugate_a):
    a, b = np.asarray(a), np.asarray(b)
    if b.size == 0:
        return np.zeros(b.shape, b.dtype)
    if conjugate_a and a.dtype.kind == "c" and not transpose_a:   # conj(a) b = conj(a conj(b))
        return np.conj(_trmm_impl(a, np.conj(b), left_side=left_side, lower=lower,
                                  transpose_a=False, conjugate_a=False))
    trans = _blas_trans(transpose_a, conjugate_a, a.dtype)
    if _blas is None:
        t = _triangle_only(a, lower, False)
        if trans:
            t = np.swapaxes(t, -1, -2)
            t = np.conj(t) if trans == 2 else t
        return np.matmul(t, b) if left_side else np.matmul(b, t)
    (trmm,) = _blas.get_blas_funcs(("trmm",), (a, b))

    def one(a2, b2):
        return (_product_c_ordered(trmm, a2, b2, left_side, lower, trans),)
    return np.asarray(batch_loop(one, a, b)[0], b.dtype)


def _product_c_ordered(trmm, a, b, left_side, lower, trans):
    """``op(a) b`` (or ``b op(a)``; ``op`` by ``trans``: 0 none, 1 transpose, 2 conjugate
    transpose) with BLAS's ``trmm``, on NumPy's C-ordered arrays as they are: their
    transposes are Fortran-ordered views (no copy of ``a``, one of ``b``, the result's),
    and ``(op(a) b)^T = b^T op(a)^T`` is a product from the other side by ``a^T``, whose
    operation is ``trans`` again. The result is C-ordered."""
    y = trmm(1.0, a.T, b.T, side=int(left_side), lower=int(not lower), trans_a=trans)
    return y.T


def _trmm_transpose_b(ct, a, b, **params):
    """out = op(a) b (or b op(a)): b's cotangent is op(a)^T ct (or ct op(a)^T)."""
    return triangular_matmul_p.bind(a, ct, **dict(params, transpose_a=not params["transpose_a"]))


def _trmm_transpose_a(ct, a, b, *, left_side, lower, transpose_a, conjugate_a):
    """op(a)'s cotangent is ct b^T (left side) or b^T ct, so a's is b ct^T or ct^T b when
    op transposes: one contraction over b's columns (left side) or rows, no transposes;
    conjugated when op conjugates, and on a's triangle."""
    nd = get_aval(ct).ndim
    batch = tuple(range(nd - 2))
    axis = nd - 1 if left_side else nd - 2
    x, y = (ct, b) if left_side != transpose_a else (b, ct)
    g = dot_general(x, y, (((axis,), (axis,)), (batch, batch)))
    g = conj(g) if conjugate_a else g
    return tril(g) if lower else triu(g)


triangular_matmul_p = Primitive("triangular_matmul")
triangular_matmul_p.def_impl(_trmm_impl)
triangular_matmul_p.def_abstract_eval(_trmm_rule)
defbilinear(triangular_matmul_p, _trmm_transpose_a, _trmm_transpose_b)
batch_rules[triangular_matmul_p] = square_operand_batch(triangular_matmul_p,
                                                       lambda p: p["left_side"])


# -- hermitian_part ----------------------------------------------------------------------------


def hermitian_part(t, lower: bool):
    """The Hermitian matrix that a routine reading one triangle of ``t`` (``lower`` or
    upper) and the real part of its diagonal sees: what the tangent of such a routine's
    input is. A linear primitive, so that its transpose (the other triangle folded onto
    this one, the diagonal's real part kept) is one operation too, not two selects, a
    transpose and an add.

    >>> hermitian_part(np.array([[1., 7.], [2., 3.]]), lower=True)
    array([[1., 2.],
           [2., 3.]])
    """
    check_matrix("hermitian_part", get_aval(t), square=True)
    return hermitian_part_p.bind(t, lower=bool(lower), transpose=False)


def _hermitian_part_rule(t, *, lower, transpose):
    check_matrix("hermitian_part", t, square=True)
    return ShapedArray(t.shape, t.dtype)


def _hermitian_part_impl(t, *, lower, transpose):
    """``transpose=False``: ``t`` on the ``lower`` (or upper) triangle, its adjoint on the
    other, the real part of its diagonal. ``transpose=True``, the linear transpose of
    that: ``t + t^H`` on the triangle's strict part, zero on the other, the real part of
    the diagonal (each entry of the strict triangle is read in two places)."""
    t = np.asarray(t)
    m = t.shape[-1]
    th = np.swapaxes(t, -1, -2)
    th = np.conj(th) if t.dtype.kind == "c" else th
    if transpose:
        out = np.zeros(t.shape, t.dtype)
        np.add(t, th, out=out, where=triangle_mask(m, m, -1 if lower else 1, lower))
    else:
        out = np.where(triangle_mask(m, m, 0, lower), t, th)
    if t.dtype.kind == "c" or transpose:
        d = np.arange(m)
        out[..., d, d] = t[..., d, d].real
    return out


def _hermitian_part_transpose(ct, t, *, lower, transpose):
    return [hermitian_part_p.bind(ct, lower=lower, transpose=not transpose)]


def _hermitian_part_batch(args, dims, **params):
    (t,), (bd,) = args, dims
    return hermitian_part_p.bind(batch_axis_at(t, bd), **params), 0


hermitian_part_p = Primitive("hermitian_part")
hermitian_part_p.def_impl(_hermitian_part_impl)
hermitian_part_p.def_abstract_eval(_hermitian_part_rule)
deflinear(hermitian_part_p, _hermitian_part_transpose)
batch_rules[hermitian_part_p] = _hermitian_part_batch


# -- triangular_congruence ---------------------------------------------------------------------


def triangular_congruence(l, a, lower: bool = True, transpose_a: bool = False,
                          conjugate_a: bool = False):
    """Half of the Hermitian ``s = op(l)^-1 h op(l)^-H``: its lower triangle with the
    diagonal halved, so that ``s = out + out^H``. ``h`` is the Hermitian matrix that the
    lower triangle of ``a`` (and the real part of its diagonal) stands for; ``l`` is
    triangular, only its ``lower`` (or upper) triangle read, and ``op`` transposes and/or
    conjugates it, as in ``triangular_solve``. Shapes ``(..., n, n)``, one batch shape.

    LAPACK's ``sygst``/``hegst``: half the flops of the two triangular solves it stands
    for. It is the Cholesky derivative's core, ``dl = l @ half(l^-1 dx l^-H)``, and linear
    in ``a``, its transpose the congruence by ``op(l)^T``: so is the derivative's transpose.

    >>> triangular_congruence(np.array([[2., 0.], [0., 1.]]), np.array([[4., 9.], [2., 3.]]))
    array([[0.5, 0. ],
           [1. , 1.5]])
    """
    params = dict(lower=bool(lower), transpose_a=bool(transpose_a),
                  conjugate_a=bool(conjugate_a))
    _congruence_rule(get_aval(l), get_aval(a), **params)
    return triangular_congruence_p.bind(l, a, **params)


def _congruence_rule(l, a, *, lower, transpose_a, conjugate_a):
    check_matrix("triangular_congruence", l, square=True)
    check_matrix("triangular_congruence", a, square=True)
    if l.dtype != a.dtype:
        raise TypeError(f"triangular_congruence: l and a must have one dtype, got {l.dtype} "
                        f"and {a.dtype}; convert one of them with astype")
    if l.shape != a.shape:
        raise ValueError(f"triangular_congruence: l of shape {l.shape} and a of shape "
                         f"{a.shape} must have one shape (..., n, n)")
    return ShapedArray(a.shape, a.dtype)


def _congruence_impl(l, a, *, lower, transpose_a, conjugate_a):
    l, a = np.asarray(l), np.asarray(a)
    if a.size == 0:
        return np.zeros(a.shape, a.dtype)
    if conjugate_a and a.dtype.kind == "c":   # conj(t)^-1 h conj(t)^-H = conj(t^-1 conj(h) t^-H)
        return np.conj(_congruence_impl(l, np.conj(a), lower=lower, transpose_a=transpose_a,
                                        conjugate_a=False))
    n = a.shape[-1]
    zero = np.flatnonzero((np.diagonal(l, 0, -2, -1) == 0).any(axis=tuple(range(l.ndim - 2))))
    if zero.size:
        raise LinAlgError(f"triangular_congruence: singular matrix: diagonal entry {zero[0]} "
                          "of l is zero")
    phase = None
    if a.dtype.kind == "c" and np.any(np.diagonal(l, 0, -2, -1).imag):
        # hegst reads the real part of t's diagonal only (a Cholesky factor's): t = t1 p
        # with p = diag(d / |d|) unitary and t1's diagonal |d|, so s = p^H s1 p
        d = np.diagonal(l, 0, -2, -1)
        phase = d / np.abs(d)
        # t1 = t p^H: l's columns scaled by conj(p), or its rows when op transposes
        l = l * np.conj(phase)[..., None, :] if not transpose_a else \
            l * np.conj(phase)[..., :, None]
    if _lapack is None:
        s = _congruence_numpy(l, a, lower, transpose_a)
    else:
        (gst,) = _lapack.get_lapack_funcs(("hegst" if a.dtype.kind == "c" else "sygst",),
                                          (l, a))
        s = batch_loop(lambda l2, a2: (_congruence_2d(gst, l2, a2, lower, transpose_a),),
                       l, a)[0]
    # s is a fresh array whose other triangle holds leftovers: made the half in place
    np.copyto(s, 0, where=triangle_mask(n, n, 1, False))
    i = np.arange(n)
    s[..., i, i] = 0.5 * s[..., i, i].real   # (s's diagonal is real)
    if phase is not None:
        s *= np.conj(phase)[..., :, None] * phase[..., None, :]
    return s


def _congruence_2d(gst, l, a, lower, transpose_a):
    """A fresh matrix whose lower triangle is that of ``s = t^-1 h t^-H``, ``t = op(l)``."""
    t = l.T if transpose_a else l
    if lower != transpose_a:   # t is lower triangular
        return _lower_congruence(gst, t, a, True)
    # t upper: with j the reversal of rows (or columns), s = j s' j, where s' is the
    # congruence by the lower j t j of j h j, whose upper triangle is h's lower one; the
    # lower triangle of s is the upper one of s', the adjoint of its lower one
    s_rev = _lower_congruence(gst, t[::-1, ::-1], a[::-1, ::-1], False)
    s = s_rev[::-1, ::-1].T   # (a view of LAPACK's fresh result, conjugated in place)
    return np.conj(s, out=s) if s.dtype.kind == "c" else s


def _lower_congruence(gst, t, a, a_lower):
    """A matrix whose lower triangle is that of ``s = t^-1 h t^-H`` for a lower triangular
    ``t``, ``h`` the Hermitian matrix of ``a``'s ``a_lower`` (or upper) triangle. LAPACK's
    upper variant gives ``u^-H x u^-1`` from ``x``'s upper triangle: with ``u = t^T`` (a
    view) and ``x`` whose upper triangle is ``conj(h)``'s (``a^T``, a view, or
    ``conj(a)``), that is ``conj(s)``, whose upper triangle is ``s^T``'s."""
    if a_lower:   # a view of the caller's array: LAPACK works on a copy
        c, info = gst(a.T, np.asfortranarray(t.T), itype=1, lower=0)
    else:   # a fresh Fortran-ordered copy (NumPy's is faster than the wrapper's), overwritten
        x = np.array(np.conj(a) if a.dtype.kind == "c" else a, order="F")
        c, info = gst(x, np.asfortranarray(t.T), itype=1, lower=0, overwrite_a=1)
    if info:   # pragma: no cover - arguments are checked above
        raise LinAlgError(f"triangular_congruence: LAPACK's {gst.typecode}sygst failed "
                          f"(info {info})")
    return c.T


def _congruence_numpy(l, a, lower, transpose_a):
    """The congruence without SciPy: two general solves on the explicit triangle."""
    t = _triangle_only(l, lower, False)
    t = np.swapaxes(t, -1, -2) if transpose_a else t
    h = np.tril(a, -1)
    h = h + np.conj(np.swapaxes(h, -1, -2))
    d = np.arange(a.shape[-1])
    h[..., d, d] = a[..., d, d].real
    x = np.linalg.solve(t, h)   # t^-1 h, then (t^-1 x^H)^H = x t^-H
    return np.conj(np.swapaxes(np.linalg.solve(t, np.conj(np.swapaxes(x, -1, -2))), -1, -2))


def _congruence_jvp(primals, tangents, **params):
    (l, a), (tl, ta) = primals, tangents
    out = triangular_congruence_p.bind(l, a, **params)
    if type(tl) is Zero and type(ta) is Zero:
        return out, Zero.like(out)
    dout = None if type(ta) is Zero else triangular_congruence_p.bind(l, ta, **params)
    if type(tl) is not Zero:
        # s = t^-1 h t^-H = out + out^H: ds = -(z + z^H) with z = t^-1 dt s, and the half
        # of z + z^H is hermitian_part's transpose of z
        s = lax.add(out, adjoint(out))
        dt_s = triangular_matmul_p.bind(tl, s, left_side=True, **params)
        z = triangular_solve_p.bind(l, dt_s, left_side=True, unit_diagonal=False, **params)
        dz = lax.neg(hermitian_part_p.bind(z, lower=True, transpose=True))
        dout = dz if dout is None else lax.add(dout, dz)
    return out, dout


def _congruence_transpose(ct, l, a, *, lower, transpose_a, conjugate_a):
    if is_undefined(l):
        raise TypeError("triangular_congruence is not linear in its triangular matrix l")
    return [None, triangular_congruence_p.bind(l, ct, lower=lower, transpose_a=not transpose_a,
                                               conjugate_a=conjugate_a)]


triangular_congruence_p = Primitive("triangular_congruence")
triangular_congruence_p.def_impl(_congruence_impl)
triangular_congruence_p.def_abstract_eval(_congruence_rule)
jvp_rules[triangular_congruence_p] = _congruence_jvp
transpose_rules[triangular_congruence_p] = _congruence_transpose
batch_rules[triangular_congruence_p] = batch_same_shape(triangular_congruence_p)


__all__ = ["triangular_solve", "triangular_solve_p", "triangular_matmul", "triangular_matmul_p",
           "hermitian_part", "hermitian_part_p", "triangular_congruence",
           "triangular_congruence_p"]
