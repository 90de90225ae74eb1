"""fad.scipy.linalg against scipy.linalg: values traced (jit, make_jaxpr) and eager,
derivatives against finite differences (order 2 where cheap), vmap against a loop."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
from fad.scipy import linalg as fsl
from fad.test_util import check_grads, check_jaxpr, check_vmap

SETTINGS = settings(max_examples=6, deadline=None)


def rand(shape, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def spd(n, dtype=np.float64, seed=0):
    a = rand((n, n), dtype, seed)
    return (a @ np.conj(a.T) + n * np.eye(n)).astype(dtype)


def invertible(n, dtype=np.float64, seed=0):
    return (rand((n, n), dtype, seed) + 3 * np.eye(n)).astype(dtype)


def matches(name, *arrays, rtol=1e-9, abs_only=False, **kwargs):
    """``fad.scipy.linalg.name`` jitted and staged against SciPy's."""
    want = getattr(scipy.linalg, name)(*arrays, **kwargs)
    f = lambda *xs: getattr(fsl, name)(*xs, **kwargs)  # noqa: E731
    got = fad.jit(f)(*arrays)
    if not abs_only:   # (eager is SciPy's: vectors may differ from fad's in their phases)
        check_jaxpr(f, arrays, atol=rtol, rtol=rtol)
    assert type(got) is type(want), (type(got), type(want))
    for g, w in zip(fad.tree_util.tree_leaves(got), fad.tree_util.tree_leaves(want)):
        g, w = np.asarray(g), np.asarray(w)
        assert (g.dtype, g.shape) == (w.dtype, w.shape), (g.dtype, g.shape, w.dtype, w.shape)
        if abs_only:   # vectors: up to their phases
            g, w = np.abs(g), np.abs(w)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol)


@SETTINGS
@given(n=st.integers(1, 4), dtype=st.sampled_from([np.float32, np.float64, np.complex128]),
       lower=st.booleans())
def test_cholesky_family_and_triangular_solves(n, dtype, lower):
    rtol = 1e-4 if dtype == np.float32 else 1e-9
    s, a = spd(n, dtype), invertible(n, dtype)
    b, bv = rand((n, 2), dtype, 1), rand((n,), dtype, 2)
    garbage = np.tril(rand((n, n), dtype, 3), -1) if not lower else np.triu(rand((n, n),
                                                                               dtype, 3), 1)
    matches("cholesky", s + garbage, lower=lower, rtol=rtol)
    c, _ = fsl.cho_factor.__wrapped__(s, lower=lower)
    np.testing.assert_allclose(c, scipy.linalg.cholesky(s, lower=lower), rtol=rtol, atol=rtol)
    for rhs in (b, bv):
        got = fad.jit(lambda c, r: fsl.cho_solve((c, lower), r))(c, rhs)
        np.testing.assert_allclose(got, scipy.linalg.cho_solve((c, lower), rhs), rtol=rtol,
                                   atol=rtol)
        for trans in (0, 1, 2, "C"):
            matches("solve_triangular", a, rhs, trans=trans, lower=lower, rtol=rtol)
        matches("solve_triangular", a, rhs, lower=lower, unit_diagonal=True, rtol=rtol)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4)])
def test_lu_family(shape):
    x = rand(shape)
    matches("lu", x)
    matches("lu", x, permute_l=True)
    matches("lu", x, p_indices=True)
    matches("lu_factor", x)
    a, b = invertible(3, np.complex128), rand((3, 2), np.complex128, 1)
    for trans in (0, 1, 2):
        for rhs in (b, b[:, 0]):
            got = fad.jit(lambda a, r: fsl.lu_solve(fsl.lu_factor(a), r, trans=trans))(a, rhs)
            want = scipy.linalg.lu_solve(scipy.linalg.lu_factor(a), rhs, trans=trans)
            np.testing.assert_allclose(got, want, rtol=1e-10)


def test_solve_inv_det_every_assumption():
    a, b = spd(3) + np.triu(rand((3, 3), seed=4), 1) * 0.1, rand((3, 2), seed=1)
    for assume in (None, "gen", "sym", "her", "pos", "diagonal", "tridiagonal",
                   "upper triangular", "lower triangular"):
        for lower in (False, True):
            matches("solve", a, b, assume_a=assume, lower=lower)
    ac = spd(3, np.complex128) + np.tril(rand((3, 3), np.complex128, 5), -1)
    matches("solve", ac, b[:, 0].astype(complex), assume_a="her", lower=False)
    matches("solve", a, b[:, 0], transposed=True)
    matches("inv", a)
    matches("det", a)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 3)])
def test_svd_qr(shape):
    x = rand(shape, seed=6)
    matches("svd", x, compute_uv=False)
    for full in (True, False):
        u, s, vh = fad.jit(lambda x: fsl.svd(x, full_matrices=full))(x)
        k = min(shape)
        np.testing.assert_allclose((u[:, :k] * s) @ vh[:k], x, atol=1e-12)
        assert u.shape == scipy.linalg.svd(x, full_matrices=full)[0].shape
    for mode in ("full", "economic", "r"):
        matches("qr", x, mode=mode, abs_only=True)


def test_eigh_standard_and_generalised():
    a, b = spd(3) + np.tril(rand((3, 3), seed=2), -1), spd(3, seed=1) + np.eye(3)
    matches("eigh", a, eigvals_only=True)
    matches("eigh", a, eigvals_only=True, lower=False)
    matches("eigh", a, subset_by_index=[1, 2], abs_only=True)
    for kind in (1, 2, 3):
        for lower in (True, False):
            matches("eigh", a, b + np.triu(rand((3, 3), seed=3), 1) * (not lower),
                    type=kind, lower=lower, abs_only=True)
    check_grads(lambda a, b: fsl.eigh(a, b, eigvals_only=True), (a, b), order=1)


@pytest.mark.parametrize("scale", [1e-3, 0.2, 1.5, 4.0, 30.0])
def test_expm_values(scale):
    a = rand((4, 4), seed=7) * scale
    want = scipy.linalg.expm(a)
    tol = 1e-12 * max(1.0, np.abs(want).max())
    np.testing.assert_allclose(fsl.expm.__wrapped__(a), want, rtol=1e-11, atol=tol)
    np.testing.assert_allclose(fad.jit(fsl.expm)(a), want, rtol=1e-11, atol=tol)
    batch = np.stack([a, a * 0.1])
    np.testing.assert_allclose(fad.jit(fsl.expm)(batch), scipy.linalg.expm(batch),
                               rtol=1e-11, atol=tol)


def test_grads_and_vmap():
    s, a = spd(3), invertible(3)
    b = rand((3, 2), seed=1)
    check_grads(lambda s: fsl.cholesky(s), (s,), order=2)
    check_grads(lambda s, b: fsl.cho_solve(fsl.cho_factor(s, lower=True), b), (s, b), order=2)
    check_grads(lambda a, b: fsl.solve_triangular(a, b, trans=1, lower=True), (a, b), order=2)
    check_grads(lambda a, b: fsl.lu_solve(fsl.lu_factor(a), b), (a, b), order=2)
    check_grads(lambda a, b: fsl.lu_solve(fsl.lu_factor(a), b, trans=2), (a, b), order=1)
    check_grads(lambda a: fsl.lu(a)[1:], (a,), order=1)
    check_grads(lambda a, b: fsl.solve(a, b, assume_a="pos"), (s, b), order=1)
    check_grads(fsl.expm, (rand((3, 3), seed=8),), order=2)
    check_grads(lambda a: fsl.expm(5 * a), (rand((3, 3), np.complex128, 9),), order=1)
    check_grads(fsl.det, (a,), order=1)
    stack = np.stack([spd(3, seed=k) for k in range(3)])
    check_vmap(lambda s: fsl.cho_solve(fsl.cho_factor(s), b), (stack,))
    check_vmap(fsl.expm, (stack * 0.1,))
    check_vmap(fsl.expm, (np.stack([rand((2, 2), seed=1) * k for k in (0.01, 1.0, 20.0)]),))


def test_errors():
    with pytest.raises(np.linalg.LinAlgError, match="square"):
        fad.jit(fsl.cholesky)(np.ones((2, 3)))
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        fad.jit(fsl.solve_triangular)(np.zeros((2, 2)), np.ones(2))
    with pytest.raises(ValueError, match="trans must be"):
        fad.jit(lambda a, b: fsl.solve_triangular(a, b, trans=3))(np.eye(2), np.ones(2))
    with pytest.raises(NotImplementedError, match="banded"):
        fad.jit(lambda a, b: fsl.solve(a, b, assume_a="banded"))(np.eye(2), np.ones(2))
    with pytest.raises(NotImplementedError, match="subset_by_value"):
        fad.jit(lambda a: fsl.eigh(a, subset_by_value=(0, 1)))(np.eye(2))
    with pytest.raises(NotImplementedError, match="pivoting"):
        fad.jit(lambda a: fsl.qr(a, pivoting=True))(np.eye(2))


@pytest.mark.parametrize("dtype", [np.float32, np.complex64, np.float64, np.int64])
def test_det_is_double_precision_eager_and_traced(dtype):
    """SciPy's det is float64 (complex128) whatever the precision of a; traced too."""
    a = (np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]]) * 3).astype(dtype)
    want = scipy.linalg.det(a)
    for got in (fsl.det(a), fad.jit(fsl.det)(a), fad.vmap(fsl.det)(np.stack([a, a]))[0]):
        assert np.asarray(got).dtype == np.asarray(want).dtype
        np.testing.assert_allclose(got, want, rtol=1e-5)
    if dtype == np.float32:   # the derivative keeps a's dtype
        g = fad.grad(lambda m: fsl.det(m))(a)
        assert g.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_lu_complex_permutation_is_real(dtype):
    rng = np.random.default_rng(2)
    a = (rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))).astype(dtype)
    want = scipy.linalg.lu(a)
    for got in (fsl.lu(a), fad.jit(fsl.lu)(a)):
        for g, w in zip(got, want):
            assert g.dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
