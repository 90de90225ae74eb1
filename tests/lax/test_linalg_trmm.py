"""The triangular fast paths of fad.lax.linalg_trmm against their general paths, under
every interpreter: ``triangular_matmul`` (``op(tril(a)) @ b``), ``hermitian_part`` (its
transpose in one operation), ``triangular_congruence`` (``op(l)^-1 h op(l)^-H`` by two
solves), and ``triangular_solve``'s NumPy fallback.

Oracles: NumPy on the explicit triangles for values (every flag, both sides,
float32/float64/complex64/complex128, stacks, the NumPy fallbacks without SciPy), the
general path's vjp for transposes, finite differences for derivatives (order 2, both
modes), a Python loop for vmap, eager evaluation for jit and staged jaxprs; and the
Cholesky and triangular-solve derivatives that use them, against their closed forms.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
from fad.lax import linalg
from fad.lax import linalg_trmm
from fad.lax.linalg_trmm import hermitian_part, triangular_congruence, triangular_matmul
from fad.test_util import check_grads, check_jaxpr, check_vmap
from test_linalg import rand   # (the random operands of the linalg tests)

SETTINGS = settings(max_examples=12, deadline=None)
DTYPES = [np.float32, np.float64, np.complex64, np.complex128]
TOL = {np.float32: 2e-5, np.float64: 1e-12, np.complex64: 2e-5, np.complex128: 1e-12}
FLAGS = [dict(left_side=s, lower=lo, transpose_a=t, conjugate_a=c)
         for s, lo, t, c in itertools.product((True, False), repeat=4)]




def general_path(a, b, left_side, lower, transpose_a, conjugate_a):
    """The same product by NumPy on the explicit triangle."""
    t = np.tril(a) if lower else np.triu(a)
    t = np.swapaxes(t, -1, -2) if transpose_a else t
    t = np.conj(t) if conjugate_a else t
    return t @ b if left_side else b @ t


def operands(batch, m, n, dtype, left_side, seed=0):
    a = rand(batch + (m, m), dtype, seed)
    b = rand(batch + ((m, n) if left_side else (n, m)), dtype, seed + 1)
    return a, b


@SETTINGS
@given(batch=st.sampled_from([(), (2,), (2, 1)]), m=st.integers(0, 4), n=st.integers(0, 3),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 100))
def test_values_match_the_general_path_for_every_flag(batch, m, n, dtype, seed):
    for kw in FLAGS:
        a, b = operands(batch, m, n, dtype, kw["left_side"], seed)
        got = triangular_matmul(a, b, **kw)
        assert got.dtype == dtype and got.shape == b.shape
        np.testing.assert_allclose(got, general_path(a, b, **kw), rtol=TOL[dtype],
                                   atol=TOL[dtype])


def test_only_the_triangle_is_read_and_the_result_is_c_ordered():
    a, b = rand((4, 4)), rand((4, 3), seed=1)
    garbage = np.triu(np.full((4, 4), np.nan), 1)
    got = triangular_matmul(a + garbage, b, lower=True)
    np.testing.assert_allclose(got, np.tril(a) @ b, rtol=1e-12)
    assert got.flags.c_contiguous
    right = triangular_matmul(a, b.T, left_side=False, lower=False, transpose_a=True)
    np.testing.assert_allclose(right, b.T @ np.triu(a).T, rtol=1e-12)
    assert right.flags.c_contiguous
    # a Fortran-ordered or strided operand reads the same
    np.testing.assert_allclose(triangular_matmul(np.asfortranarray(a), b[:, ::-1]),
                               np.tril(a) @ b[:, ::-1], rtol=1e-12)


def test_numpy_fallback_without_blas(monkeypatch):
    monkeypatch.setattr(linalg_trmm, "_blas", None)
    for dtype in (np.float64, np.complex128):
        for kw in FLAGS:
            a, b = operands((2,), 3, 2, dtype, kw["left_side"])
            np.testing.assert_allclose(triangular_matmul(a, b, **kw), general_path(a, b, **kw),
                                       rtol=1e-12)


def test_bad_operands_raise_clear_errors():
    with pytest.raises(TypeError, match="one dtype"):
        triangular_matmul(np.eye(2), np.ones((2, 1), np.float32))
    with pytest.raises(TypeError, match="unsupported in linalg"):
        triangular_matmul(np.eye(2, dtype=int), np.ones((2, 1), int))
    with pytest.raises(ValueError, match=r"do not fit \(b must be \(\.\.\., m, n\)"):
        triangular_matmul(np.eye(2), np.ones((3, 1)))
    with pytest.raises(ValueError, match=r"\(\.\.\., n, m\)"):
        triangular_matmul(np.eye(2), np.ones((2, 3)), left_side=False)
    with pytest.raises(ValueError, match="batch shape"):
        triangular_matmul(np.ones((2, 2, 2)), np.ones((3, 2, 1)))
    with pytest.raises(np.linalg.LinAlgError, match="square"):
        triangular_matmul(np.ones((2, 3)), np.ones((3, 1)))
    with pytest.raises(np.linalg.LinAlgError, match="two-dimensional"):
        triangular_matmul(np.ones(2), np.ones(2))


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("kw", FLAGS[::3] + [FLAGS[-1]], ids=str)
def test_grads_order_two(dtype, kw):
    a, b = operands((), 3, 2, dtype, kw["left_side"])
    check_grads(lambda a, b: triangular_matmul(a, b, **kw), (a, b), order=2)


def test_transposes_match_the_general_path():
    """The cotangents of a and b are those of ``op(tril(a)) @ b``: a's on its triangle."""
    for dtype in (np.float64, np.complex128):
        for kw in FLAGS:
            a, b = operands((2,), 3, 2, dtype, kw["left_side"])
            ct = rand(b.shape, dtype, 7)
            mask = np.tri(3, dtype=bool) if kw["lower"] else np.tri(3, dtype=bool).T

            def general(a, b, kw=kw, mask=mask):
                t = fad.numpy.where(mask, a, 0)
                t = fad.numpy.swapaxes(t, -1, -2) if kw["transpose_a"] else t
                t = fad.numpy.conj(t) if kw["conjugate_a"] else t
                return t @ b if kw["left_side"] else b @ t
            got = fad.vjp(lambda a, b: triangular_matmul(a, b, **kw), a, b)[1](ct)
            want = fad.vjp(general, a, b)[1](ct)
            for g, w in zip(got, want):
                np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kw", [FLAGS[0], FLAGS[5], FLAGS[10], FLAGS[15]], ids=str)
def test_vmap_matches_a_loop(kw):
    a, b = operands((3,), 3, 2, np.float64, kw["left_side"])
    f = lambda a, b: triangular_matmul(a, b, **kw)   # noqa: E731
    check_vmap(f, (a, b))
    check_vmap(f, (a[0], b), in_axes=(None, 0))     # shared a: folded into b
    check_vmap(f, (a, b[0]), in_axes=(0, None))
    check_vmap(f, (np.moveaxis(a, 0, 2), np.moveaxis(b, 0, 1)), in_axes=(2, 1), out_axes=1)
    check_vmap(fad.grad(lambda a, b: triangular_matmul(a, b, **kw).sum()), (a, b))


@pytest.mark.parametrize("dtype", [np.float32, np.complex128])
def test_jit_and_staged_match_eager(dtype):
    for kw in FLAGS[::5]:
        a, b = operands((2,), 3, 2, dtype, kw["left_side"])
        f = lambda a, b: triangular_matmul(a, b, **kw)   # noqa: E731
        np.testing.assert_array_equal(fad.jit(f)(a, b), f(a, b))
        check_jaxpr(f, (a, b), rtol=TOL[dtype])
        loss = lambda a, b: abs(f(a, b) ** 2).sum()   # noqa: E731
        g = fad.grad(loss, argnums=(0, 1))
        for got, want in zip(fad.jit(g)(a, b), g(a, b)):
            np.testing.assert_array_equal(got, want)
        with fad.disable_staging():
            for got, want in zip(g(a, b), fad.grad(loss, argnums=(0, 1))(a, b)):
                np.testing.assert_array_equal(got, want)


# -- the derivatives that use it -------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_cholesky_derivative_matches_its_closed_form(dtype):
    """dl = l phi(l^-1 dx l^-H), written with the general product and inverses."""
    s = rand((4, 4), dtype)
    x = s @ np.conj(s.T) + 4 * np.eye(4)
    t = rand((4, 4), dtype, 1)
    l, dl = fad.jvp(lambda x: linalg.cholesky(x, symmetrize_input=False), (x,), (t,))
    h = np.tril(t) + np.conj(np.tril(t, -1).T)
    h = h - 1j * np.diag(np.diag(h).imag) if dtype == np.complex128 else h
    li = np.linalg.inv(l)
    inner = li @ h @ np.conj(li.T)
    want = l @ (np.tril(inner) - 0.5 * np.diag(np.diag(inner)))
    np.testing.assert_allclose(dl, want, rtol=1e-10, atol=1e-12)


def test_triangular_solve_derivative_in_a_reads_its_triangle():
    a = rand((3, 3)) + 3 * np.eye(3)
    b = rand((3, 2), seed=1)
    for unit in (False, True):
        kw = dict(left_side=True, lower=True, unit_diagonal=unit)
        ta = rand((3, 3), seed=2)
        garbage = np.triu(np.full((3, 3), np.nan), 1)   # never read
        _, got = fad.jvp(lambda a: linalg.triangular_solve(a, b, **kw), (a,), (ta + garbage,))
        tri = np.tril(ta, -1 if unit else 0)
        t = np.tril(a, -1) + np.eye(3) if unit else np.tril(a)
        want = -np.linalg.solve(t, tri @ np.linalg.solve(t, b))
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


# -- hermitian_part and its transpose ----------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("lower", [True, False])
def test_hermitian_part_and_its_one_operation_transpose(dtype, lower):
    t = rand((2, 4, 4), dtype)
    tri = np.tril if lower else np.triu
    strict = tri(t, -1 if lower else 1)
    want = strict + np.conj(np.swapaxes(strict, -1, -2)) + np.eye(4) * np.diagonal(
        t, 0, -2, -1).real[..., None, :]
    np.testing.assert_array_equal(hermitian_part(t, lower), want)
    # its transpose is the general path's (two selects, a transpose, an add)
    m = np.tri(4, dtype=bool) if lower else np.tri(4, dtype=bool).T
    m_strict = m & ~np.eye(4, dtype=bool)

    def general(t):
        keep = fad.numpy.where(m, t, 0)
        p = keep + fad.numpy.conj(fad.numpy.swapaxes(fad.numpy.where(m_strict, t, 0), -1, -2))
        eye = np.eye(4, dtype=bool)
        return fad.numpy.where(eye, (p + fad.numpy.conj(p)) / 2, p)
    ct = rand(t.shape, dtype, 3)
    got = fad.vjp(lambda t: hermitian_part(t, lower), t)[1](ct)[0]
    np.testing.assert_allclose(got, fad.vjp(general, t)[1](ct)[0], rtol=1e-14, atol=1e-14)
    check_grads(lambda t: hermitian_part(t, lower), (t,), order=2)
    check_vmap(lambda t: hermitian_part(t, lower), (np.moveaxis(t, 0, 2),), in_axes=2)


# -- triangular_congruence ---------------------------------------------------------------------

CONGRUENCE_FLAGS = [dict(lower=lo, transpose_a=t, conjugate_a=c)
                    for lo, t, c in itertools.product((True, False), repeat=3)]


def congruence_general_path(l, a, lower, transpose_a, conjugate_a):
    """Half of ``op(l)^-1 h op(l)^-H`` by NumPy: explicit ``h``, inverses, products."""
    t = np.tril(l) if lower else np.triu(l)
    t = np.swapaxes(t, -1, -2) if transpose_a else t
    t = np.conj(t) if conjugate_a else t
    h = np.tril(a, -1)
    h = h + np.conj(np.swapaxes(h, -1, -2)) + np.eye(a.shape[-1]) * np.diagonal(
        a, 0, -2, -1).real[..., None, :]
    ti = np.linalg.inv(t)
    s = ti @ h @ np.conj(np.swapaxes(ti, -1, -2))
    return np.tril(s) - 0.5 * np.eye(a.shape[-1]) * np.diagonal(s, 0, -2, -1)[..., None, :]


def factor_like(shape, dtype=np.float64, seed=0):
    """A well-conditioned triangular factor, complex on its diagonal for complex dtypes."""
    return (rand(shape, dtype, seed) + 3 * np.eye(shape[-1])).astype(dtype)


@SETTINGS
@given(batch=st.sampled_from([(), (2,)]), n=st.integers(0, 5), dtype=st.sampled_from(DTYPES),
       seed=st.integers(0, 100))
def test_congruence_values_match_the_general_path_for_every_flag(batch, n, dtype, seed):
    l, a = factor_like(batch + (n, n), dtype, seed), rand(batch + (n, n), dtype, seed + 1)
    for kw in CONGRUENCE_FLAGS:
        got = triangular_congruence(l, a, **kw)
        assert got.dtype == dtype and got.shape == a.shape
        np.testing.assert_allclose(got, congruence_general_path(l, a, **kw),
                                   rtol=10 * TOL[dtype], atol=10 * TOL[dtype])


def test_congruence_reads_one_triangle_of_each_and_falls_back_without_lapack(monkeypatch):
    l, a = factor_like((3, 3)), rand((3, 3), seed=1)
    garbage = np.triu(np.full((3, 3), np.nan), 1)
    for kw in CONGRUENCE_FLAGS[::2]:
        want = congruence_general_path(l, a, **kw)
        other = garbage if kw["lower"] else garbage.T
        np.testing.assert_allclose(triangular_congruence(l + other, a + garbage, **kw), want,
                                   rtol=1e-12, atol=1e-12)
    monkeypatch.setattr(linalg_trmm, "_lapack", None)
    for dtype in (np.float64, np.complex128):
        l, a = factor_like((2, 3, 3), dtype), rand((2, 3, 3), dtype, 1)
        for kw in CONGRUENCE_FLAGS:
            np.testing.assert_allclose(triangular_congruence(l, a, **kw),
                                       congruence_general_path(l, a, **kw), rtol=1e-12,
                                       atol=1e-12)


def test_congruence_bad_operands_raise_clear_errors():
    with pytest.raises(TypeError, match="one dtype"):
        triangular_congruence(np.eye(2), np.eye(2, dtype=np.float32))
    with pytest.raises(ValueError, match="one shape"):
        triangular_congruence(np.eye(2), np.eye(3))
    with pytest.raises(np.linalg.LinAlgError, match="square"):
        triangular_congruence(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(np.linalg.LinAlgError, match="singular matrix: diagonal entry 1"):
        triangular_congruence(np.diag([1.0, 0.0]), np.eye(2))
    with pytest.raises(TypeError, match="not linear in its triangular matrix l"):
        fad.linear_transpose(lambda l: triangular_congruence(l, np.eye(2)), np.eye(2))(
            np.eye(2))


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("kw", CONGRUENCE_FLAGS[::3] + [CONGRUENCE_FLAGS[-1]], ids=str)
def test_congruence_grads_order_two_in_both_operands(dtype, kw):
    l, a = factor_like((3, 3), dtype), rand((3, 3), dtype, 1)
    check_grads(lambda l, a: triangular_congruence(l, a, **kw), (l, a), order=2)


def test_congruence_transpose_matches_the_general_path():
    """Its transpose (the congruence by op(l)^T) is the general path's vjp in ``a``."""
    for dtype in (np.float64, np.complex128):
        for kw in CONGRUENCE_FLAGS:
            l, a = factor_like((2, 3, 3), dtype), rand((2, 3, 3), dtype, 1)
            ct = rand(a.shape, dtype, 2)
            mask = np.tri(3, dtype=bool) if kw["lower"] else np.tri(3, dtype=bool).T
            t = np.where(mask, l, 0)
            t = np.swapaxes(t, -1, -2) if kw["transpose_a"] else t
            ti = np.linalg.inv(np.conj(t) if kw["conjugate_a"] else t)
            half = np.tri(3) - 0.5 * np.eye(3)

            def general(a, ti=ti):
                p = fad.numpy.where(np.tri(3, dtype=bool), a, 0)
                p = p * half
                h = p + fad.numpy.conj(fad.numpy.swapaxes(p, -1, -2))
                s = ti @ h @ np.conj(np.swapaxes(ti, -1, -2))
                return s * half * np.tri(3)
            got = fad.vjp(lambda a, kw=kw: triangular_congruence(l, a, **kw), a)[1](ct)[0]
            want = fad.vjp(general, a)[1](ct)[0]
            np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)


def test_congruence_vmap_and_jit_match_eager():
    l, a = factor_like((3, 3, 3)), rand((3, 3, 3), seed=1)
    for kw in CONGRUENCE_FLAGS[::3]:
        f = lambda l, a, kw=kw: triangular_congruence(l, a, **kw)   # noqa: E731
        check_vmap(f, (l, a))
        check_vmap(f, (l[0], a), in_axes=(None, 0))
        check_vmap(f, (np.moveaxis(l, 0, 2), a[0]), in_axes=(2, None))
        np.testing.assert_array_equal(fad.jit(f)(l, a), f(l, a))
        check_jaxpr(f, (l, a))
        g = fad.grad(lambda l, a, f=f: (f(l, a) ** 2).sum(), argnums=(0, 1))
        for got, want in zip(fad.jit(g)(l, a), g(l, a)):
            np.testing.assert_array_equal(got, want)


def test_triangular_solve_numpy_fallback(monkeypatch):
    a, b = factor_like((2, 3, 3)), rand((2, 3, 2), seed=1)
    kw = dict(left_side=True, lower=True, transpose_a=True, unit_diagonal=True)
    want = linalg.triangular_solve(a, b, **kw)
    monkeypatch.setattr(linalg_trmm, "_blas", None)
    np.testing.assert_allclose(linalg.triangular_solve(a, b, **kw), want, rtol=1e-12)
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        linalg.triangular_solve(np.zeros((2, 2)), np.ones((2, 1)), left_side=True)


def test_cholesky_backward_is_two_operations():
    """grad through cholesky: the triangular product's transpose, then the congruence."""
    x = rand((4, 4))
    x = x @ x.T + 4 * np.eye(4)
    jaxpr = fad.make_jaxpr(fad.grad(
        lambda x: (linalg.cholesky(x, symmetrize_input=False) ** 2).sum()))(x)
    names = [e.primitive.name for e in jaxpr.jaxpr.eqns]
    start = names.index("cholesky") + 1
    assert names[start:].count("triangular_matmul") == 1
    assert names[start:].count("triangular_congruence") == 1
    assert "triangular_solve" not in names
