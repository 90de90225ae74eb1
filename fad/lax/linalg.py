"""``fad.lax.linalg``: the linear-algebra primitives (JAX's ``jax.lax.linalg``).

The solves and triangular factorisations (``triangular_solve``, ``solve``, ``cholesky``,
``lu``, ``lu_pivots_to_permutation``) live in ``linalg_decomp``; this module adds ``qr``
and the spectral decompositions ``eigh``, ``svd`` and ``eig`` and is the public surface.
Everything else (``fad.numpy.linalg``, ``fad.scipy.linalg``) is composite on these.

Derivatives of eigenvectors and singular vectors are defined where the eigenvalues
(singular values) are distinct: they divide by their differences, so degenerate ones give
infinite or NaN vector derivatives, as in JAX (the values' own derivatives stay finite).
Vectors are defined up to a phase (a sign, for real matrices); their derivatives are
those of one smooth choice, so only functions that do not depend on the choice
(``abs(v) ** 2``, ``u @ diag(s) @ vh``, projections) have meaningful derivatives.
"""
from __future__ import annotations

import numpy as np

from fad.core.abstract import ShapedArray, get_aval
from fad.core.ad_util import Zero
from fad.core.primitive import Primitive
from fad.interpreters.batching import batch_rules
from fad.interpreters.jvp import jvp_rules
from fad import lax
from fad.lax.plumbing import broadcast_to, convert_element_type, reduce_sum, reshape
from fad.lax.linalg_decomp import *  # noqa: F401,F403 - the public surface
from fad.lax.linalg_decomp import (__all__ as _decomp_all, _leading_batch, adjoint,
                                   check_matrix, complex_dtype, constant, diag_embed,
                                   diagonal, hermitian_part, is_complex, matmul, real_dtype,
                                   solve_p, tril, triangular_solve_p)


def _spectral_gaps(w):
    """``f[..., i, j] = 1 / (w[j] - w[i])`` off the diagonal, 0 on it (infinite where two
    values coincide)."""
    n = get_aval(w).shape[-1]
    shape = get_aval(w).shape[:-1] + (n, n)
    rows = broadcast_to(reshape(w, shape[:-2] + (1, n)), shape)
    cols = broadcast_to(reshape(w, shape[:-2] + (n, 1)), shape)
    eye = constant(np.eye(n), w)
    with np.errstate(divide="ignore"):
        return lax.sub(lax.div(constant(1, w)[()], lax.add(lax.sub(rows, cols), eye)), eye)


def _as(x, like):
    """Real ``x`` converted to ``like``'s (complex) dtype when they differ."""
    dtype = get_aval(like).dtype
    return x if get_aval(x).dtype == dtype else convert_element_type(x, dtype)


# -- qr ----------------------------------------------------------------------------------------


def qr(x, full_matrices: bool = True):
    """The QR factorisation ``x = q @ r`` of stacks ``(..., m, n)``, as
    ``jax.lax.linalg.qr``: ``q`` is ``(..., m, m)`` and ``r`` ``(..., m, n)`` when
    ``full_matrices``, else ``(..., m, k)`` and ``(..., k, n)`` with ``k = min(m, n)``.
    Differentiable for every shape: the columns ``full_matrices`` adds to a tall ``q``
    (a basis of the complement, defined up to a rotation) get the smallest derivative
    that keeps ``q`` unitary. ``r`` must be invertible (its first ``k`` columns).

    >>> q, r = qr(np.array([[3., 0.], [4., 5.]]))
    >>> np.allclose(q @ r, [[3., 0.], [4., 5.]])
    True
    """
    check_matrix("qr", get_aval(x))
    return tuple(qr_p.bind(x, full_matrices=bool(full_matrices)))


def _qr_rule(x, *, full_matrices):
    check_matrix("qr", x)
    m, n = x.shape[-2:]
    k = m if full_matrices else min(m, n)
    batch = x.shape[:-2]
    return [ShapedArray(batch + (m, k), x.dtype), ShapedArray(batch + (k, n), x.dtype)]


def _qr_impl(x, *, full_matrices):
    x = np.asarray(x)
    q, r = np.linalg.qr(x, mode="complete" if full_matrices else "reduced")
    return [q, r]


def _qr_square_jvp(q, r, dx):
    """Derivatives of ``q`` and ``r`` for ``x = q r`` with ``r`` square and invertible."""
    dx_rinv = triangular_solve_p.bind(r, dx, left_side=False, lower=False, transpose_a=False,
                                      conjugate_a=False, unit_diagonal=False)
    c = matmul(adjoint(q), dx_rinv)                 # = q^H dq + dr r^-1
    low = tril(c, -1)
    omega = lax.sub(low, adjoint(low))               # q^H dq: skew-Hermitian
    if is_complex(c):   # (r's diagonal stays real: q^H dq takes the imaginary diagonal)
        im = lax.imag(diagonal(c))
        omega = lax.add(omega, diag_embed(lax.complex(lax.mul(im, constant(0, im)[()]), im)))
    dq = lax.add(matmul(q, lax.sub(omega, c)), dx_rinv)
    dr = matmul(lax.sub(c, omega), r)
    return dq, dr


def complete_basis_tangent(q1, dq1, q2):
    """The derivative of the columns ``q2`` that complete the orthonormal ``q1`` to a
    unitary matrix, given ``dq1``: the smallest one keeping ``[q1, q2]`` unitary."""
    return lax.neg(matmul(q1, matmul(adjoint(dq1), q2)))


def _qr_jvp(primals, tangents, *, full_matrices):
    (x,), (t,) = primals, tangents
    q, r = outs = qr_p.bind(x, full_matrices=full_matrices)
    if type(t) is Zero:
        return outs, [Zero.like(q), Zero.like(r)]
    m, n = get_aval(x).shape[-2:]
    k = min(m, n)
    if m < n:   # x = [x1 | x2], x1 square: r = [r1 | q^H x2]
        r1 = lax.slice_in_dim(r, 0, m, axis=-1)
        dq, dr1 = _qr_square_jvp(q, r1, lax.slice_in_dim(t, 0, m, axis=-1))
        x2 = lax.slice_in_dim(x, m, n, axis=-1)
        dr2 = lax.add(matmul(adjoint(dq), x2),
                     matmul(adjoint(q), lax.slice_in_dim(t, m, n, axis=-1)))
        return outs, [dq, lax.concatenate([dr1, dr2], -1)]
    q1 = lax.slice_in_dim(q, 0, k, axis=-1)
    r1 = lax.slice_in_dim(r, 0, k, axis=-2)
    dq, dr = _qr_square_jvp(q1, r1, t)
    if full_matrices and m > k:
        dq2 = complete_basis_tangent(q1, dq, lax.slice_in_dim(q, k, m, axis=-1))
        dq = lax.concatenate([dq, dq2], -1)
        zeros = broadcast_to(constant(0, r)[()], get_aval(r).shape[:-2] + (m - k, n))
        dr = lax.concatenate([dr, zeros], -2)
    return outs, [dq, dr]


qr_p = Primitive("qr", multiple_results=True)
qr_p.def_impl(_qr_impl)
qr_p.def_abstract_eval(_qr_rule)
jvp_rules[qr_p] = _qr_jvp
batch_rules[qr_p] = _leading_batch(qr_p)


# -- eigh ----------------------------------------------------------------------------------------


def eigh(x, lower: bool = True, symmetrize_input: bool = True):
    """Eigenvectors and eigenvalues of Hermitian stacks ``(..., n, n)``, as
    ``jax.lax.linalg.eigh``: ``(v, w)`` with ``x @ v = v * w``, ``w`` real and ascending.
    ``symmetrize_input`` decomposes ``(x + x^H) / 2``; otherwise only the ``lower`` (or
    upper) triangle is read, as ``numpy.linalg.eigh`` does.

    >>> v, w = eigh(np.array([[2., 1.], [1., 2.]]))
    >>> w
    array([1., 3.])
    """
    check_matrix("eigh", get_aval(x), square=True)
    if symmetrize_input:
        x = lax.mul(lax.add(x, adjoint(x)), constant(0.5, x)[()])
    w, v = eigh_p.bind(x, lower=bool(lower))
    return v, w


def _eigh_rule(x, *, lower):
    check_matrix("eigh", x, square=True)
    return [ShapedArray(x.shape[:-1], real_dtype(x.dtype)), ShapedArray(x.shape, x.dtype)]


def _eigh_impl(x, *, lower):
    w, v = np.linalg.eigh(np.asarray(x), UPLO="L" if lower else "U")
    return [w, v]


def _eigh_jvp(primals, tangents, *, lower):
    (x,), (t,) = primals, tangents
    w, v = outs = eigh_p.bind(x, lower=lower)
    if type(t) is Zero:
        return outs, [Zero.like(w), Zero.like(v)]
    m = matmul(adjoint(v), matmul(hermitian_part(t, lower), v))   # v^H dx v
    d = diagonal(m)
    dw = lax.real(d) if is_complex(d) else d
    dv = matmul(v, lax.mul(m, _as(_spectral_gaps(w), m)))
    return outs, [dw, dv]


eigh_p = Primitive("eigh", multiple_results=True)
eigh_p.def_impl(_eigh_impl)
eigh_p.def_abstract_eval(_eigh_rule)
jvp_rules[eigh_p] = _eigh_jvp
batch_rules[eigh_p] = _leading_batch(eigh_p)


# -- svd -----------------------------------------------------------------------------------------


def svd(x, full_matrices: bool = True, compute_uv: bool = True):
    """The singular value decomposition of stacks ``(..., m, n)``, as
    ``jax.lax.linalg.svd``: ``(u, s, vh)`` with ``x = u[..., :k] * s @ vh[..., :k, :]``
    (``s`` real, descending), or ``s`` alone without ``compute_uv``. Differentiable for
    every shape: the columns that ``full_matrices`` adds get the smallest derivative that
    keeps ``u`` and ``vh`` unitary. Singular vectors need distinct nonzero singular values.

    >>> svd(np.array([[3., 0.], [0., -4.]]), compute_uv=False)
    array([4., 3.])
    """
    check_matrix("svd", get_aval(x))
    outs = svd_p.bind(x, full_matrices=bool(full_matrices), compute_uv=bool(compute_uv))
    if not compute_uv:
        return outs[0]
    s, u, vh = outs
    return u, s, vh


def _svd_rule(x, *, full_matrices, compute_uv):
    check_matrix("svd", x)
    m, n = x.shape[-2:]
    k = min(m, n)
    batch = x.shape[:-2]
    s = ShapedArray(batch + (k,), real_dtype(x.dtype))
    if not compute_uv:
        return [s]
    ku, kv = (m, n) if full_matrices else (k, k)
    return [s, ShapedArray(batch + (m, ku), x.dtype), ShapedArray(batch + (kv, n), x.dtype)]


def _svd_impl(x, *, full_matrices, compute_uv):
    x = np.asarray(x)
    if not compute_uv:
        return [np.linalg.svd(x, compute_uv=False)]
    u, s, vh = np.linalg.svd(x, full_matrices=full_matrices)
    return [s, u, vh]


def _svd_thin_jvp(s, u, vh, t):
    """``(ds, du, dvh)`` of the thin decomposition ``x = u diag(s) vh`` along ``t``."""
    v = adjoint(vh)
    p = matmul(adjoint(u), matmul(t, v))        # u^H dx v
    d = diagonal(p)
    ds = lax.real(d) if is_complex(d) else d
    m, n = get_aval(t).shape[-2:]
    k = get_aval(s).shape[-1]
    batch = get_aval(s).shape[:-1]
    s_row = _as(broadcast_to(reshape(s, batch + (1, k)), batch + (k, k)), p)
    s_col = _as(broadcast_to(reshape(s, batch + (k, 1)), batch + (k, k)), p)
    f = _as(_spectral_gaps(lax.mul(s, s)), p)    # 1 / (s_j^2 - s_i^2)
    ps, sp = lax.mul(p, s_row), lax.mul(s_col, p)
    omega_u = lax.mul(f, lax.add(ps, adjoint(ps)))    # u^H du
    omega_v = lax.mul(f, lax.add(sp, adjoint(sp)))    # v^H dv
    zero = lax.eq(s, constant(0, s)[()])
    s_inv = lax.select_n(zero, lax.div(constant(1, s)[()],
                                     lax.select_n(zero, s, constant(1, s)[()])),
                        constant(0, s)[()])
    if is_complex(p):   # the phases: only u's diagonal gets the imaginary part of p's
        im = lax.mul(lax.imag(d), s_inv)
        omega_u = lax.add(omega_u, diag_embed(lax.complex(lax.mul(im, constant(0, im)[()]), im)))
    du, dv = matmul(u, omega_u), matmul(v, omega_v)
    s_inv_row = _as(broadcast_to(reshape(s_inv, batch + (1, k)), batch + (max(m, n), k)), p)
    if m > k:   # the part of dx v outside the span of u
        out = lax.sub(matmul(t, v), matmul(u, p))
        du = lax.add(du, lax.mul(out, lax.slice_in_dim(s_inv_row, 0, m, axis=-2)))
    if n > k:
        out = lax.sub(matmul(adjoint(t), u), matmul(v, adjoint(p)))
        dv = lax.add(dv, lax.mul(out, lax.slice_in_dim(s_inv_row, 0, n, axis=-2)))
    return ds, du, adjoint(dv)


def _svd_jvp(primals, tangents, *, full_matrices, compute_uv):
    (x,), (t,) = primals, tangents
    if not compute_uv:   # the singular values' derivatives need the vectors
        s, u, vh = svd_p.bind(x, full_matrices=False, compute_uv=True)
        if type(t) is Zero:
            return [s], [Zero.like(s)]
        return [s], [_svd_thin_jvp(s, u, vh, t)[0]]
    s, u, vh = outs = svd_p.bind(x, full_matrices=full_matrices, compute_uv=True)
    if type(t) is Zero:
        return outs, [Zero.like(o) for o in outs]
    m, n = get_aval(x).shape[-2:]
    k = min(m, n)
    if not full_matrices or m == n:
        return outs, list(_svd_thin_jvp(s, u, vh, t))
    u1 = lax.slice_in_dim(u, 0, k, axis=-1)
    vh1 = lax.slice_in_dim(vh, 0, k, axis=-2)
    ds, du, dvh = _svd_thin_jvp(s, u1, vh1, t)
    if m > k:
        du = lax.concatenate(
            [du, complete_basis_tangent(u1, du, lax.slice_in_dim(u, k, m, axis=-1))], -1)
    if n > k:
        v1, dv1 = adjoint(vh1), adjoint(dvh)
        dv2 = complete_basis_tangent(v1, dv1, adjoint(lax.slice_in_dim(vh, k, n,
                                                                              axis=-2)))
        dvh = lax.concatenate([dvh, adjoint(dv2)], -2)
    return outs, [ds, du, dvh]


svd_p = Primitive("svd", multiple_results=True)
svd_p.def_impl(_svd_impl)
svd_p.def_abstract_eval(_svd_rule)
jvp_rules[svd_p] = _svd_jvp
batch_rules[svd_p] = _leading_batch(svd_p)


# -- eig -----------------------------------------------------------------------------------------


def eig(x, compute_left_eigenvectors: bool = False, compute_right_eigenvectors: bool = True):
    """Eigenvalues and right eigenvectors of general square stacks ``(..., n, n)``, as
    ``jax.lax.linalg.eig``: ``[w, vr]`` (or ``[w]``), complex whatever the input (NumPy
    returns real arrays when every eigenvalue is real: a dtype that depends on values,
    which tracing cannot give). Eigenvectors have unit norm. Left eigenvectors are not
    supported. Derivatives: of the eigenvalues, and of the eigenvectors (distinct
    eigenvalues; the derivative keeps their norm).

    >>> eig(np.array([[2., 0.], [0., 3.]]), compute_right_eigenvectors=False)
    [array([2.+0.j, 3.+0.j])]
    """
    if compute_left_eigenvectors:
        raise NotImplementedError("eig: left eigenvectors are not supported; decompose the "
                                  "conjugate transpose for them")
    check_matrix("eig", get_aval(x), square=True)
    return list(eig_p.bind(x, compute_right_eigenvectors=bool(compute_right_eigenvectors)))


def _eig_rule(x, *, compute_right_eigenvectors):
    check_matrix("eig", x, square=True)
    dtype = complex_dtype(x.dtype)
    w = ShapedArray(x.shape[:-1], dtype)
    return [w, ShapedArray(x.shape, dtype)] if compute_right_eigenvectors else [w]


def _eig_impl(x, *, compute_right_eigenvectors):
    x = np.asarray(x)
    dtype = complex_dtype(x.dtype)
    if not compute_right_eigenvectors:
        return [np.linalg.eigvals(x).astype(dtype)]
    w, v = np.linalg.eig(x)
    return [w.astype(dtype), v.astype(dtype)]


def _eig_jvp(primals, tangents, *, compute_right_eigenvectors):
    (x,), (t,) = primals, tangents
    w, vr = eig_p.bind(x, compute_right_eigenvectors=True)
    outs = [w, vr] if compute_right_eigenvectors else [w]
    if type(t) is Zero:
        return outs, [Zero.like(o) for o in outs]
    # vr^-1 dx vr: its diagonal is dw, its off-diagonal part rotates the eigenvectors
    c = solve_p.bind(vr, matmul(_as(t, vr), vr))
    dw = diagonal(c)
    if not compute_right_eigenvectors:
        return outs, [dw]
    dv = matmul(vr, lax.mul(c, _spectral_gaps(w)))
    # unit norm: take away the part of each column along itself that changes its norm
    along = lax.real(reduce_sum(lax.mul(lax.conj(vr), dv), (get_aval(dv).ndim - 2,)))
    n = get_aval(x).shape[-1]
    shape = get_aval(vr).shape
    along = broadcast_to(reshape(_as(along, vr), shape[:-2] + (1, n)), shape)
    return outs, [dw, lax.sub(dv, lax.mul(vr, along))]


eig_p = Primitive("eig", multiple_results=True)
eig_p.def_impl(_eig_impl)
eig_p.def_abstract_eval(_eig_rule)
jvp_rules[eig_p] = _eig_jvp
batch_rules[eig_p] = _leading_batch(eig_p)


__all__ = list(_decomp_all) + ["qr", "eigh", "svd", "eig", "qr_p", "eigh_p", "svd_p", "eig_p"]
