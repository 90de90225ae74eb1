"""The linear-algebra primitives of fad.lax.linalg under every interpreter.

Oracles: NumPy/SciPy for values (and the defining identities: ``x[perm] = l u``,
``q r = x``, ``x v = v w``), finite differences for derivatives (order 2, both modes, at
well-conditioned points: SPD matrices for Cholesky, distinct eigenvalues and singular
values, gauge-invariant functions of the vectors), a Python loop for vmap, eager
evaluation for jit and staged jaxprs.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
from fad.lax import linalg
from fad.lax import linalg_decomp
from fad.lax import linalg_trmm
from fad.test_util import check_grads, check_jaxpr, check_vmap

SETTINGS = settings(max_examples=8, deadline=None)
DTYPES = [np.float32, np.float64, np.complex128]
TOL = {np.float32: 2e-4, np.float64: 1e-10, np.complex128: 1e-10}


def rand(shape, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def spd(shape, dtype=np.float64, seed=0):
    a = rand(shape, dtype, seed)
    n = shape[-1]
    return (a @ np.conj(np.swapaxes(a, -1, -2)) + n * np.eye(n)).astype(dtype)


def well_conditioned(shape, dtype=np.float64, seed=0):
    n = shape[-1]
    return (rand(shape, dtype, seed) + 3 * np.eye(n)).astype(dtype)


def adj(x):
    return np.conj(np.swapaxes(x, -1, -2))


def proj(q):
    """The projection onto the columns of ``q``: invariant under their phases/rotations."""
    return q @ adj(q)


@st.composite
def matrices(draw, square=True):
    batch = draw(st.sampled_from([(), (2,)]))
    m = draw(st.integers(1, 4))
    n = m if square else draw(st.integers(1, 4))
    return batch + (m, n), draw(st.sampled_from(DTYPES))


def close(got, want, dtype):
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype])


# -- values --------------------------------------------------------------------------------------

@SETTINGS
@given(spec=matrices())
def test_cholesky_solve_and_triangular_solve_values(spec):
    shape, dtype = spec
    s = spd(shape, dtype)
    l = linalg.cholesky(s, symmetrize_input=False)
    assert l.dtype == dtype and l.shape == shape
    close(l, np.linalg.cholesky(s), dtype)
    a, b = well_conditioned(shape, dtype), rand(shape[:-1] + (2,), dtype, 1)
    x = linalg.solve(a, b)
    assert x.dtype == dtype
    close(x, np.linalg.solve(a, b), dtype)
    for lower in (True, False):
        for trans in (0, 1, 2):
            for unit in (False, True):
                kw = dict(lower=lower, transpose_a=trans > 0, conjugate_a=trans == 2,
                          unit_diagonal=unit)
                got = linalg.triangular_solve(a, b, left_side=True, **kw)
                want = np.stack([scipy.linalg.solve_triangular(
                    a2, b2, trans=trans, lower=lower, unit_diagonal=unit)
                    for a2, b2 in zip(a.reshape((-1,) + shape[-2:]),
                                      b.reshape((-1,) + b.shape[-2:]))]).reshape(b.shape)
                assert got.dtype == dtype
                close(got, want, dtype)
                right = linalg.triangular_solve(a, adj(b), left_side=False, **kw)
                op = np.tril(a) if lower else np.triu(a)
                if unit:
                    op = op - op * np.eye(shape[-1]) + np.eye(shape[-1])
                op = np.swapaxes(op, -1, -2) if trans else op
                op = np.conj(op) if trans == 2 else op
                close(right @ op, adj(b), dtype)


@SETTINGS
@given(spec=matrices(square=False))
def test_lu_qr_svd_values(spec):
    shape, dtype = spec
    x = rand(shape, dtype)
    m, n = shape[-2:]
    k = min(m, n)
    packed, pivots, perm = linalg.lu(x)
    assert packed.dtype == dtype and pivots.dtype == perm.dtype == np.int32
    l = np.tril(packed[..., :, :k], -1) + np.eye(m, k)
    u = np.triu(packed[..., :k, :])
    close(np.take_along_axis(x, perm[..., None], -2), l @ u, dtype)
    np.testing.assert_array_equal(linalg.lu_pivots_to_permutation(pivots, m), perm)
    for full in (True, False):
        q, r = linalg.qr(x, full_matrices=full)
        wq, wr = np.linalg.qr(x, mode="complete" if full else "reduced")
        assert q.shape == wq.shape and r.shape == wr.shape and q.dtype == dtype
        close(q @ r, x, dtype)
        close(np.abs(r), np.abs(wr), dtype)
        u, s, vh = linalg.svd(x, full_matrices=full)
        wu, ws, wvh = np.linalg.svd(x, full_matrices=full)
        assert (u.shape, s.shape, vh.shape) == (wu.shape, ws.shape, wvh.shape)
        assert s.dtype == np.finfo(dtype).dtype
        close(s, ws, dtype)
        close((u[..., :k] * s[..., None, :]) @ vh[..., :k, :], x, dtype)
    close(linalg.svd(x, compute_uv=False), np.linalg.svd(x, compute_uv=False), dtype)


@SETTINGS
@given(spec=matrices())
def test_eigh_and_eig_values(spec):
    shape, dtype = spec
    x = rand(shape, dtype)
    h = x + adj(x)
    v, w = linalg.eigh(h, symmetrize_input=False)
    close(w, np.linalg.eigvalsh(h), dtype)
    close(h @ v, v * w[..., None, :], dtype)
    # symmetrize_input reads both triangles; without it, only the chosen one
    close(linalg.eigh(x)[1], np.linalg.eigvalsh((x + adj(x)) / 2), dtype)
    close(linalg.eigh(x, lower=False, symmetrize_input=False)[1],
          np.linalg.eigvalsh(x, UPLO="U"), dtype)
    w, vr = linalg.eig(x)
    assert w.dtype.kind == vr.dtype.kind == "c"
    close(x @ vr, vr * w[..., None, :], dtype)
    close(np.linalg.norm(vr, axis=-2), np.ones(shape[:-1]), dtype)
    (w2,) = linalg.eig(x, compute_right_eigenvectors=False)
    close(np.sort_complex(w2), np.sort_complex(w), dtype)


# -- derivatives ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_solve_cholesky_triangular_solve_grads(dtype):
    a, b = well_conditioned((3, 3), dtype), rand((3, 2), dtype, 1)
    check_grads(linalg.solve, (a, b), order=2)
    check_grads(lambda s: linalg.cholesky(s, symmetrize_input=False), (spd((3, 3), dtype),),
                order=2)
    check_grads(linalg.cholesky, (spd((3, 3), dtype),), order=1)
    for kw in (dict(left_side=True, lower=True),
               dict(left_side=True, lower=False, transpose_a=True, conjugate_a=True),
               dict(left_side=False, lower=True, transpose_a=True, unit_diagonal=True),
               dict(left_side=False, lower=False, conjugate_a=True)):
        rhs = b if kw["left_side"] else adj(b)
        check_grads(lambda a, b: linalg.triangular_solve(a, b, **kw), (a, rhs), order=2)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4)])
def test_lu_and_qr_grads(shape):
    x = rand(shape, np.float64, 2)
    check_grads(lambda x: linalg.lu(x)[0], (x,), order=2)
    k = min(shape)
    xc = rand(shape, np.complex128, 3)
    check_grads(lambda x: linalg.qr(x, full_matrices=False), (xc,), order=2)
    # the completed columns of a tall q: only their span is defined
    check_grads(lambda x: (linalg.qr(x)[1], proj(linalg.qr(x)[0][:, k:])), (x,), order=2)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 3)])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_svd_grads(shape, dtype):
    x = rand(shape, dtype, 4)
    k = min(shape)

    def gauge_free(x, full):
        u, s, vh = linalg.svd(x, full_matrices=full)
        return ((u[:, :k] * s) @ vh[:k], s, abs(u[:, :k]) ** 2, proj(u[:, k:]),
                proj(adj(vh[k:])))
    check_grads(lambda x: gauge_free(x, False), (x,), order=2)
    check_grads(lambda x: gauge_free(x, True), (x,), order=1)
    check_grads(lambda x: linalg.svd(x, compute_uv=False), (x,), order=2)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_eigh_and_eig_grads(dtype):
    x = rand((3, 3), dtype, 5)
    h = x + adj(x)

    def eigh_gauge_free(h):
        v, w = linalg.eigh(h, symmetrize_input=False)
        return w, abs(v) ** 2
    check_grads(eigh_gauge_free, (h,), order=2)
    check_grads(lambda x: linalg.eigh(x)[1], (x,), order=2)

    def eig_gauge_free(x):
        w, v = linalg.eig(x)
        return w, abs(v) ** 2
    check_grads(eig_gauge_free, (x,), order=2)
    check_grads(lambda x: linalg.eig(x, compute_right_eigenvectors=False)[0], (x,), order=1)


def test_degenerate_eigenvalues_give_infinite_vector_derivatives_but_finite_values():
    with np.errstate(all="ignore"):
        _, t = fad.jvp(lambda x: linalg.eigh(x), (np.eye(2),),
                       (np.array([[0., 1.], [1., 0.]]),))
    assert np.isfinite(t[1]).all()          # the eigenvalues' derivatives
    assert not np.isfinite(t[0]).all()      # the eigenvectors' are not defined


# -- vmap, jit, jaxprs ---------------------------------------------------------------------------

def test_vmap_of_every_primitive():
    a, s = well_conditioned((2, 3, 3)), spd((2, 3, 3))
    b = rand((2, 3, 2), seed=1)
    x = rand((2, 4, 3), seed=2)
    check_vmap(lambda s: linalg.cholesky(s), (s,))
    check_vmap(linalg.solve, (a, b))
    check_vmap(linalg.solve, (a[0], np.moveaxis(b, 0, 2)), in_axes=(None, 2), out_axes=1)
    check_vmap(linalg.solve, (a, b[0]), in_axes=(0, None))
    for left in (True, False):
        rhs = b if left else np.swapaxes(b, -1, -2)
        f = lambda a, b: linalg.triangular_solve(a, b, left_side=left, lower=True)  # noqa: E731
        check_vmap(f, (a, rhs))
        check_vmap(f, (a[0], np.moveaxis(rhs, 0, 1)), in_axes=(None, 1), out_axes=2)
        check_vmap(f, (a[0], np.moveaxis(rhs, 0, 2)), in_axes=(None, 2))
    check_vmap(lambda x: linalg.lu(x), (x,))
    check_vmap(lambda p: linalg.lu_pivots_to_permutation(p, 4),
               (np.array([[1, 2, 3], [3, 3, 3]], np.int32),))
    check_vmap(lambda x: linalg.qr(x, full_matrices=False), (x,))
    check_vmap(lambda x: linalg.svd(x, full_matrices=False), (x,), in_axes=1, out_axes=-1)
    check_vmap(lambda s: linalg.eigh(s), (s,))
    check_vmap(lambda a: linalg.eig(a), (a,))
    # derivatives under vmap
    check_vmap(fad.grad(lambda a, b: linalg.solve(a, b).sum()), (a, b))
    check_vmap(fad.grad(lambda s: linalg.cholesky(s).sum()), (s,))


def test_jit_and_jaxprs_match_eager():
    a, s, x = well_conditioned((3, 3)), spd((3, 3)), rand((4, 3), seed=2)
    b = rand((3, 2), seed=1)
    cases = [(lambda s: linalg.cholesky(s), (s,)), (linalg.solve, (a, b)),
             (lambda a, b: linalg.triangular_solve(a, b, left_side=True), (a, b)),
             (lambda x: linalg.lu(x), (x,)), (lambda x: linalg.qr(x), (x,)),
             (lambda x: linalg.svd(x), (x,)), (lambda s: linalg.eigh(s), (s,)),
             (lambda a: linalg.eig(a), (a,))]
    for f, args in cases:
        check_jaxpr(f, args)
        for got, want in zip(fad.tree_util.tree_leaves(fad.jit(f)(*args)),
                             fad.tree_util.tree_leaves(f(*args))):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    g = fad.jit(fad.grad(lambda s, b: linalg.solve(linalg.cholesky(s), b).sum(), (0, 1)))
    want = fad.grad(lambda s, b: linalg.solve(linalg.cholesky(s), b).sum(), (0, 1))(s, b)
    for got_leaf, want_leaf in zip(g(s, b), want):
        np.testing.assert_allclose(got_leaf, want_leaf, rtol=1e-12)


# -- errors and edge cases -----------------------------------------------------------------------

def test_errors():
    with pytest.raises(np.linalg.LinAlgError, match="square"):
        linalg.cholesky(np.ones((2, 3)))
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
        linalg.cholesky(-np.eye(2), symmetrize_input=False)
    with pytest.raises(np.linalg.LinAlgError, match="at least two-dimensional"):
        linalg.svd(np.ones(3))
    with pytest.raises(TypeError, match="int64 is unsupported"):
        linalg.qr(np.ones((2, 2), np.int64))
    with pytest.raises(TypeError, match="one dtype"):
        linalg.solve(np.eye(2), np.ones((2, 1), np.float32))
    with pytest.raises(ValueError, match="do not fit"):
        linalg.triangular_solve(np.eye(2), np.ones((3, 1)), left_side=True)
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        linalg.triangular_solve(np.zeros((2, 2)), np.ones((2, 1)), left_side=True)
    with pytest.raises(np.linalg.LinAlgError):
        linalg.solve(np.zeros((2, 2)), np.ones((2, 1)))
    with pytest.raises(NotImplementedError, match="left eigenvectors"):
        linalg.eig(np.eye(2), compute_left_eigenvectors=True)
    with pytest.raises(TypeError, match="not linear in its matrix"):
        fad.linear_transpose(lambda a: linalg.solve(a, np.ones((2, 1))), np.eye(2))(
            np.ones((2, 1)))
    # a singular matrix factors (lu), and its empty stacks work
    packed, _, _ = linalg.lu(np.zeros((2, 2)))
    np.testing.assert_array_equal(packed, 0)
    assert linalg.solve(np.ones((0, 0)), np.ones((0, 1))).shape == (0, 1)


def test_without_scipy_the_numpy_fallbacks_agree(monkeypatch):
    a, b, x = well_conditioned((2, 3, 3)), rand((2, 3, 2), seed=1), rand((4, 3), seed=2)
    s = spd((3, 3))
    with_scipy = [linalg.lu(x), linalg.cholesky(s),
                  linalg.triangular_solve(a, b, left_side=True, lower=True,
                                          transpose_a=True, unit_diagonal=True)]
    monkeypatch.setattr(linalg_decomp, "_lapack", None)
    monkeypatch.setattr(linalg_trmm, "_blas", None)
    without = [linalg.lu(x), linalg.cholesky(s),
               linalg.triangular_solve(a, b, left_side=True, lower=True, transpose_a=True,
                                       unit_diagonal=True)]
    for got, want in zip(fad.tree_util.tree_leaves(without),
                         fad.tree_util.tree_leaves(with_scipy)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        linalg.triangular_solve(np.zeros((2, 2)), np.ones((2, 1)), left_side=True)
