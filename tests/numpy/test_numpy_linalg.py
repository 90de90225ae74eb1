"""fad.numpy.linalg against numpy.linalg: values, dtypes and result types traced (jit,
make_jaxpr), derivatives against finite differences, vmap against a loop, errors, and
np.linalg.* on tracers reaching fad through __array_function__."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
from fad.numpy import linalg as fla
from fad.test_util import check_grads, check_jaxpr, check_vmap

SETTINGS = settings(max_examples=8, deadline=None)
DTYPES = [np.float32, np.float64, np.complex128]


def rand(shape, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def spd(shape, dtype=np.float64, seed=0):
    a = rand(shape, dtype, seed)
    return (a @ np.conj(np.swapaxes(a, -1, -2)) + shape[-1] * np.eye(shape[-1])).astype(dtype)


def invertible(shape, dtype=np.float64, seed=0):
    return (rand(shape, dtype, seed) + 3 * np.eye(shape[-1])).astype(dtype)


def assert_like_numpy(got, want, rtol):
    """Same structure (namedtuple types included), dtypes, shapes; close values."""
    assert type(got) is type(want) or isinstance(want, (np.ndarray, np.generic)), (
        type(got), type(want))
    got_leaves, want_leaves = fad.tree_util.tree_leaves(got), fad.tree_util.tree_leaves(want)
    assert len(got_leaves) == len(want_leaves)
    for g, w in zip(got_leaves, want_leaves):
        g, w = np.asarray(g), np.asarray(w)
        assert (g.dtype, g.shape) == (w.dtype, w.shape), (g.dtype, g.shape, w.dtype, w.shape)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol)


def traced_matches(name, *arrays, rtol=None, **kwargs):
    """``fad.numpy.linalg.name`` under jit (and staged to a jaxpr) against NumPy's."""
    want = getattr(np.linalg, name)(*arrays, **kwargs)
    dtype = np.result_type(*[np.asarray(a).dtype for a in arrays])
    rtol = rtol or (1e-4 if dtype in (np.float32, np.complex64) else 1e-9)
    f = lambda *xs: getattr(fla, name)(*xs, **kwargs)  # noqa: E731
    assert_like_numpy(fad.jit(f)(*arrays), want, rtol)
    check_jaxpr(f, arrays, atol=rtol, rtol=rtol)
    assert_like_numpy(getattr(fla, name)(*arrays, **kwargs), want, 0)   # eager: NumPy's own


@st.composite
def stacks(draw):
    batch = draw(st.sampled_from([(), (2,)]))
    return batch + (draw(st.integers(1, 4)),) * 2, draw(st.sampled_from(DTYPES))


@SETTINGS
@given(spec=stacks())
def test_square_functions_match_numpy(spec):
    shape, dtype = spec
    a = invertible(shape, dtype)
    s = spd(shape, dtype)
    b = rand(shape[:-1] + (2,), dtype, 1)
    traced_matches("cholesky", s)
    traced_matches("cholesky", s + np.tril(rand(shape, dtype, 3), -1), upper=True)
    traced_matches("solve", a, b)
    traced_matches("solve", a, rand(shape[-1:], dtype, 2))
    traced_matches("inv", a)
    traced_matches("det", a)
    traced_matches("slogdet", a)
    traced_matches("eigvalsh", s)
    traced_matches("eigvalsh", s, UPLO="U")
    w, v = fad.jit(fla.eigh)(s)
    np.testing.assert_allclose(s @ v, v * w[..., None, :], atol=1e-3)
    traced_matches("matrix_power", a, n=3)
    traced_matches("matrix_power", a, n=-2)
    traced_matches("matrix_power", a, n=0)
    traced_matches("matrix_rank", a)
    traced_matches("svdvals", a)
    traced_matches("cond", a)


@SETTINGS
@given(shape=st.tuples(st.integers(1, 4), st.integers(1, 4)), dtype=st.sampled_from(DTYPES))
def test_rectangular_functions_match_numpy(shape, dtype):
    x = rand(shape, dtype)
    for mode in ("reduced", "complete"):
        q, r = fad.jit(lambda x: fla.qr(x, mode=mode))(x)
        assert type(fla.qr(x + 0, mode=mode)) is type(np.linalg.qr(x, mode=mode))
        np.testing.assert_allclose(q @ r, x, atol=1e-4)
    np.testing.assert_allclose(np.abs(fad.jit(lambda x: fla.qr(x, mode="r"))(x)),
                               np.abs(np.linalg.qr(x, mode="r")), atol=1e-4)
    for full in (True, False):
        u, s, vh = fad.jit(lambda x: fla.svd(x, full_matrices=full))(x)
        wu, ws, wvh = np.linalg.svd(x, full_matrices=full)
        assert (u.shape, vh.shape, s.dtype) == (wu.shape, wvh.shape, ws.dtype)
        k = min(shape)
        np.testing.assert_allclose((u[:, :k] * s) @ vh[:k], x, atol=1e-4)
    traced_matches("svd", x, compute_uv=False)
    traced_matches("pinv", x)
    traced_matches("pinv", x, rtol=None, hermitian=False)
    traced_matches("matrix_rank", x)
    b = rand(shape[:1], dtype, 1)
    traced_matches("lstsq", x, b)
    traced_matches("lstsq", x, np.stack([b, b], 1), rcond=1e-3)


def test_rank_deficient_lstsq_pinv_and_singular_slogdet():
    a = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])   # rank 1
    x, resid, rank, s = fad.jit(fla.lstsq)(a, np.ones(3))
    want = np.linalg.lstsq(a, np.ones(3))
    np.testing.assert_allclose(x, want[0])
    assert rank == 1 and resid.shape == (1,)   # (the rank is not known when staging)
    traced_matches("matrix_rank", a)
    traced_matches("pinv", a)
    traced_matches("slogdet", np.zeros((2, 2)))
    traced_matches("det", np.array([[1.0, 2.0], [2.0, 4.0]]))
    # the rank under grad is concrete: NumPy's empty residuals
    def loss(a):
        x, resid, rank, _ = fla.lstsq(a, np.ones(3))
        assert resid.shape == (0,) and rank == 1
        return x.sum()
    fad.grad(loss)(a)


def test_hermitian_svd_and_eig():
    s = spd((3, 3), np.complex128) - 4 * np.eye(3)
    u, sv, vh = fad.jit(lambda s: fla.svd(s, hermitian=True))(s)
    np.testing.assert_allclose(sv, np.linalg.svd(s, hermitian=True)[1], atol=1e-10)
    np.testing.assert_allclose((u * sv) @ vh, s, atol=1e-10)
    rot = np.array([[0.0, 1.0], [-2.0, 0.5]])
    traced_matches("eigvals", rot)
    traced_matches("eig", rot)
    # real eigenvalues: NumPy's dtype depends on the values; traced it is always complex
    w = fad.jit(fla.eigvals)(np.diag([1.0, 2.0]))
    assert w.dtype == np.complex128
    np.testing.assert_allclose(w, [1, 2])


NORM_CASES = [
    ((4,), ord, None) for ord in (None, 2, 1, -1, 0, 3, 0.5, -2, np.inf, -np.inf)] + [
    ((3, 4), ord, None) for ord in (None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf)] + [
    ((2, 3, 4), None, None), ((2, 3, 4), 2, 1), ((2, 3, 4), 1, -1), ((2, 3, 4), "fro", (0, 2)),
    ((2, 3, 4), np.inf, (2, 0)), ((2, 3, 4), -1, (1, 2)), ((2, 3, 4), "nuc", (2, 1)),
    ((2, 3, 4), 2, (0, 1)), ((2, 3, 4), 0, (1,))]


@pytest.mark.parametrize("shape, ord, axis", NORM_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.complex64])
def test_norm_every_ord_and_axis(shape, ord, axis, dtype):
    x = rand(shape, dtype)
    for keepdims in (False, True):
        traced_matches("norm", x, ord=ord, axis=axis, keepdims=keepdims,
                       rtol=1e-4 if dtype == np.complex64 else 1e-9)


def test_norm_grads_and_subgradient_at_zero():
    x = rand((3, 4), seed=3)
    for ord in (None, "fro", "nuc", 2, -2, 1, np.inf):
        check_grads(lambda x: fla.norm(x, ord), (x,), order=1)
    for ord in (None, 2, 1, 3, np.inf):
        check_grads(lambda v: fla.norm(v, ord), (x[0],), order=2)
    check_grads(lambda x: fla.norm(x, axis=1), (rand((3, 4), np.complex128),), order=2)
    np.testing.assert_array_equal(fad.grad(fla.norm)(np.zeros(3)), np.zeros(3))
    np.testing.assert_array_equal(fad.grad(lambda x: fla.norm(x, 2))(np.zeros(3)), 0)
    np.testing.assert_array_equal(fad.grad(lambda x: fla.norm(x, "fro"))(np.zeros((2, 2))), 0)
    np.testing.assert_array_equal(fad.grad(lambda x: fla.vector_norm(x))(np.zeros(3)), 0)
    traced_matches("vector_norm", rand((2, 3, 4)), axis=(0, 2), keepdims=True, ord=3)
    traced_matches("vector_norm", rand((2, 3)), ord=np.inf)
    traced_matches("matrix_norm", rand((2, 3, 4)), ord="nuc", keepdims=True)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_grads(dtype):
    a, s = invertible((3, 3), dtype), spd((3, 3), dtype)
    b = rand((3,), dtype, 1)
    check_grads(fla.solve, (a, b), order=2)
    check_grads(fla.inv, (a,), order=2)
    check_grads(fla.det, (a,), order=2)
    check_grads(lambda a: fla.slogdet(a).logabsdet, (a,), order=2)
    check_grads(lambda a: fla.slogdet(a).sign, (a,), order=1)
    check_grads(fla.cholesky, (s,), order=2)
    check_grads(lambda s: fla.cholesky(s, upper=True), (s,), order=1)
    check_grads(fla.eigvalsh, (s,), order=2)
    check_grads(lambda s: abs(fla.eigh(s, "U").eigenvectors) ** 2, (s,), order=1)
    check_grads(fla.eigvals, (a,), order=1)
    x = rand((4, 3), dtype, 2)
    check_grads(fla.pinv, (x,), order=1)
    check_grads(lambda x: fla.lstsq(x, rand((4,), dtype, 3))[0], (x,), order=1)
    check_grads(lambda x: fla.svd(x, compute_uv=False), (x,), order=2)
    check_grads(lambda x: fla.qr(x).R, (x,), order=1)
    check_grads(lambda a: fla.matrix_power(a, 5), (a,), order=2)
    check_grads(lambda a: fla.matrix_power(a, -2), (a,), order=1)
    check_grads(lambda a, b: fla.multi_dot([a, x.T, x, b]), (a, b), order=1)
    check_grads(fla.cross, (rand((2, 3), dtype), rand((3,), dtype, 1)), order=1)
    check_grads(lambda a: fla.tensorinv(a.reshape(3, 1, 3), ind=2), (a,), order=1)


def test_vmap_and_batched_solve():
    a, b = invertible((2, 3, 3)), rand((2, 3, 2), seed=1)
    check_vmap(fla.solve, (a, b))
    check_vmap(fla.solve, (a[0], b), in_axes=(None, 0))
    check_vmap(lambda a: fla.slogdet(a), (a,))
    check_vmap(fla.norm, (b,))
    check_vmap(lambda x: fla.norm(x, 2), (b,))
    check_vmap(fad.grad(lambda a: fla.slogdet(a)[1]), (a,))
    # a shared matrix, a stack of right-hand sides: the stack broadcasts (NumPy 2)
    got = fad.jit(fla.solve)(a[0], rand((4, 3, 2), seed=2))
    np.testing.assert_allclose(got, np.linalg.solve(a[0], rand((4, 3, 2), seed=2)))
    got = fad.jit(fla.solve)(a, rand((3,), seed=3))
    np.testing.assert_allclose(got, np.linalg.solve(a, rand((3,), seed=3)))


def test_products_and_small_functions():
    a, b, c, d = rand((2, 3)), rand((3, 5), seed=1), rand((5, 2), seed=2), rand((2,), seed=3)
    for arrays in ([a, b, c], [rand((3,)), b, c, d], [a, b], [d, a, b, c, rand((2,))]):
        want = np.linalg.multi_dot(arrays)
        got = fad.jit(lambda *xs: fla.multi_dot(list(xs)))(*arrays)
        np.testing.assert_allclose(got, want, rtol=1e-12)
        assert np.shape(got) == np.shape(want)
    traced_matches("cross", rand((4, 3)), rand((3,), seed=1))
    traced_matches("cross", np.arange(6).reshape(3, 2), np.ones((3, 2), int), axis=0)
    traced_matches("outer", d, rand((3,), seed=4))
    traced_matches("matrix_transpose", rand((2, 3, 4)))
    traced_matches("vecdot", rand((2, 3)), rand((3,), seed=1))
    traced_matches("trace", rand((2, 3, 3)), offset=1)
    traced_matches("diagonal", rand((2, 3, 3)), offset=-1)
    traced_matches("matmul", a, b)
    traced_matches("tensordot", a, b, axes=1)
    ta, tb = invertible((6, 6)).reshape(2, 3, 6), rand((2, 3), seed=5)
    traced_matches("tensorsolve", ta, tb)
    traced_matches("tensorinv", invertible((6, 6)).reshape(2, 3, 6), ind=2)
    traced_matches("matrix_power", np.arange(4).reshape(2, 2), n=5)   # integers stay integers
    traced_matches("det", np.arange(4).reshape(2, 2))                # and promote to float64
    traced_matches("inv", rand((2, 2), np.float32))


def test_errors_like_numpy():
    jit = fad.jit
    for name in ("inv", "det", "cholesky", "slogdet", "eigh", "eig"):
        with pytest.raises(np.linalg.LinAlgError, match="square"):
            jit(getattr(fla, name))(np.ones((2, 3)))
        with pytest.raises(np.linalg.LinAlgError, match="at least two-dimensional"):
            jit(getattr(fla, name))(np.ones(3))
    with pytest.raises(TypeError, match="float16 is unsupported in linalg"):
        jit(fla.inv)(np.eye(2, dtype=np.float16))
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
        fad.grad(lambda a: fla.cholesky(a).sum())(-np.eye(2))
    with pytest.raises(np.linalg.LinAlgError):
        fad.grad(lambda a: fla.solve(a, np.ones(2)).sum())(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="mismatch in its core dimension"):
        jit(fla.solve)(np.eye(2), np.ones(3))
    with pytest.raises(ValueError, match="Invalid norm order 'fro' for vectors"):
        jit(lambda x: fla.norm(x, "fro"))(np.ones(3))
    with pytest.raises(ValueError, match="Invalid norm order for matrices"):
        jit(lambda x: fla.norm(x, 3))(np.ones((2, 2)))
    with pytest.raises(ValueError, match="Improper number of dimensions"):
        jit(lambda x: fla.norm(x, 2))(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="Duplicate axes"):
        jit(lambda x: fla.norm(x, axis=(1, -1)))(np.ones((2, 2)))
    with pytest.raises(ValueError, match="UPLO"):
        jit(lambda x: fla.eigh(x, "X"))(np.eye(2))
    with pytest.raises(ValueError, match="Unrecognized mode"):
        jit(lambda x: fla.qr(x, "bad"))(np.eye(2))
    with pytest.raises(NotImplementedError, match="raw"):
        jit(lambda x: fla.qr(x, "raw"))(np.eye(2))
    with pytest.raises(TypeError, match="exponent must be an integer"):
        jit(lambda x: fla.matrix_power(x, 1.5))(np.eye(2))
    with pytest.raises(ValueError, match="at least two arrays"):
        jit(lambda x: fla.multi_dot([x]))(np.eye(2))
    with pytest.raises(ValueError, match="3-dimensional vectors"):
        jit(fla.cross)(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="one-dimensional"):
        jit(fla.outer)(np.ones((2, 2)), np.ones(2))
    with pytest.raises(ValueError, match="can't be both set"):
        jit(lambda x: fla.pinv(x, rcond=1e-3, rtol=1e-3))(np.eye(2))
    with pytest.raises(np.linalg.LinAlgError, match="Incompatible dimensions"):
        jit(fla.lstsq)(np.ones((3, 2)), np.ones(2))


def test_numpy_linalg_on_tracers_dispatches_here():
    a, b = invertible((3, 3)), rand((3,), seed=1)
    names = ["solve", "inv", "det", "slogdet", "cholesky", "eigh", "eigvalsh", "svd", "qr",
             "norm", "pinv", "matrix_rank", "matrix_power", "multi_dot", "lstsq", "cond",
             "eigvals", "eig", "svdvals", "vector_norm", "matrix_norm", "cross", "outer"]
    for name in names:
        assert getattr(fla, name).__wrapped__ is not None
    closed = fad.make_jaxpr(lambda a: np.linalg.slogdet(a)[1] + np.linalg.norm(a)
                            + np.linalg.det(np.linalg.inv(a)))(a)
    assert "lu" in str(closed) and "solve" in str(closed)
    g = fad.grad(lambda a: np.linalg.solve(a, b).sum())(a)
    np.testing.assert_allclose(g, fad.grad(lambda a: fla.solve(a, b).sum())(a))
