"""fad.numpy r_/c_, the index generators, nonzero/argwhere/flatnonzero, select,
piecewise and einsum's interleaved form against NumPy: staged values and dtypes,
derivatives (order 2, both modes), vmap against a loop, jit against eager."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad.errors import ConcretizationTypeError
from fad.test_util import check_grads, check_matches_numpy, check_vmap

SETTINGS = settings(max_examples=15, deadline=None)
RNG = np.random.default_rng(3)
A, B = RNG.standard_normal(3), RNG.standard_normal(2)
M = RNG.standard_normal((2, 3))


def check_all(f, *args):
    check_matches_numpy(f, *args)
    check_grads(f, args, order=2)
    check_vmap(f, tuple(np.stack([a, 2 * a + 1]) for a in args))


# -- r_ and c_ -----------------------------------------------------------------------------------

R_CASES = {
    "arrays": lambda a, b: fnp.r_[a, b],
    "scalars_slices": lambda a, b: fnp.r_[a, 0:3, b, 7.5, 2:-4:-2],
    "linspace": lambda a, b: fnp.r_[a, -1:1:4j],
    "c_columns": lambda a, b: fnp.c_[a, a * 2],
    "c_rows": lambda a, b: fnp.c_[a[None], 0, 0, b[None]],
    "c_scalars": lambda a, b: fnp.c_[a[None], 1.0, a[None]],
    "directive_axis": lambda a, b: fnp.r_["-1", a[None], a[None]],
    "directive_ndmin": lambda a, b: fnp.r_["0,2", a, a],
    "directive_trans1d": lambda a, b: fnp.r_["0,2,0", a, a],
    "directive_3d": lambda a, b: fnp.r_["1,3", a[None, None], a[None, None]],
}


@pytest.mark.parametrize("name", R_CASES)
def test_r_c(name):
    check_all(R_CASES[name], A, B)


def test_r_dtypes_and_traced_linspace():
    a32 = A.astype(np.float32)
    check_matches_numpy(lambda a: fnp.r_[a, 2.0], a32)             # the scalar stays weak
    check_matches_numpy(lambda a: fnp.r_[a, np.float64(2.0)], a32)
    check_matches_numpy(lambda a: fnp.r_[a, 0:2], a32)              # arange: int64
    check_matches_numpy(lambda a: fnp.c_[a, np.arange(3)], A.astype(np.int64))
    f = lambda lo, hi: fnp.r_[lo:hi:5j]  # noqa: E731
    np.testing.assert_allclose(fad.jit(f)(0.5, 2.0), np.r_[0.5:2.0:5j])
    check_grads(f, (0.5, 2.0), order=2)
    with pytest.raises(NotImplementedError, match="matrices"):
        fad.jit(lambda a: fnp.r_["r", a, a])(A)
    with pytest.raises(ValueError, match="first entry"):
        fad.jit(lambda a: fnp.r_[a, "0"])(A)


# -- index generators ----------------------------------------------------------------------------

def test_index_generators():
    for got, want in [(fnp.triu_indices(4, 1), np.triu_indices(4, 1)),
                      (fnp.tril_indices(3, -1, 5), np.tril_indices(3, -1, 5)),
                      (fnp.diag_indices(3, 3), np.diag_indices(3, 3))]:
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    f = lambda m: m[fnp.triu_indices_from(m, 1)] + m[fnp.tril_indices_from(m)][:3]  # noqa: E731
    check_all(f, M)
    g = lambda m: m[fnp.diag_indices_from(m)]  # noqa: E731
    check_all(g, M[:, :2])
    with pytest.raises(ValueError, match="2-d"):
        fad.jit(lambda x: fnp.triu_indices_from(x))(A)
    with pytest.raises(ValueError, match="equal length"):
        fad.jit(lambda x: fnp.diag_indices_from(x))(M)
    with pytest.raises(ConcretizationTypeError, match="static"):
        fad.jit(lambda n: fnp.triu_indices(n))(3)


# -- nonzero, argwhere, flatnonzero --------------------------------------------------------------

@SETTINGS
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), size=st.integers(0, 8),
       fill=st.sampled_from([None, -1, 7]), dtype=st.sampled_from(
           [np.float32, np.float64, np.complex128, np.int64, np.bool_]))
def test_nonzero_family(shape, size, fill, dtype):
    x = (np.random.default_rng(size).integers(0, 3, shape) * (np.arange(np.prod(shape))
                                                               .reshape(shape) % 2)).astype(dtype)
    for fn, np_fn in ((fnp.nonzero, np.nonzero), (fnp.flatnonzero, np.flatnonzero),
                      (fnp.argwhere, np.argwhere)):
        want = np_fn(x)
        sized = fad.jit(lambda x: fn(x, size=size, fill_value=fill))(x)
        eager = fn(x, size=size, fill_value=fill)
        for s, e, w in zip(*(r if isinstance(r, tuple) else (r,) for r in (sized, eager, want))):
            assert s.dtype == e.dtype == w.dtype
            np.testing.assert_array_equal(s, e)
            k = min(size, len(w))
            np.testing.assert_array_equal(s[:k], w[:k])
            assert (np.asarray(s[k:]) == (0 if fill is None else fill)).all()


def test_nonzero_grad_vmap_errors():
    x = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    # under grad the values are concrete: no size needed, and indexing keeps derivatives
    g = fad.grad(lambda x: fnp.sum(x[fnp.nonzero(x)] ** 2))(x)
    np.testing.assert_allclose(g, 2 * x)
    check_vmap(lambda x: fnp.nonzero(x, size=2, fill_value=(9,)), (x,))
    check_vmap(lambda x: fnp.argwhere(x, size=3), (x[None].repeat(2, 0),))
    with pytest.raises(ConcretizationTypeError, match="size="):
        fad.jit(fnp.nonzero)(x)
    with pytest.raises(ValueError, match="0d"):
        fad.jit(lambda x: fnp.nonzero(x, size=1))(np.float64(1.0))
    with pytest.raises(ValueError, match="fill_value"):
        fad.jit(lambda x: fnp.nonzero(x, size=1, fill_value=(1, 2, 3)))(x)
    np.testing.assert_array_equal(fad.jit(lambda x: fnp.argwhere(x, size=2))(np.float64(3.0)),
                                  np.zeros((2, 0), np.intp))


# -- select and piecewise ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128, np.int64])
def test_select_values_dtypes(dtype):
    x = (M * 3).astype(dtype)
    conds = lambda x: [x.real > 1, x.real < -1]  # noqa: E731
    check_matches_numpy(lambda x: fnp.select(conds(x), [x, x * 2], 0), x)
    check_matches_numpy(lambda x: fnp.select(conds(x), [x, 1.5], default=-2.0), x)
    check_matches_numpy(lambda x: fnp.select([x.real > 0], [x[0]], default=x[1]), x)


def test_select_grads_errors():
    f = lambda x, y: fnp.select([x > 0.5, x < -0.5], [x * y, np.sin(x)], default=y)  # noqa: E731
    check_all(f, M, M[::-1])
    with pytest.raises(TypeError, match="boolean"):
        fad.jit(lambda x: fnp.select([x], [x]))(M)
    with pytest.raises(ValueError, match="same length"):
        fad.jit(lambda x: fnp.select([x > 0], [x, x]))(M)


PIECEWISE = {
    "funcs": lambda x: fnp.piecewise(x, [x < -0.5, x > 0.5], [lambda v: v ** 2,
                                                             lambda v: -v, lambda v: v * 3]),
    "constants": lambda x: fnp.piecewise(x, [x < 0], [-1.0, 2.0]),
    "no_default": lambda x: fnp.piecewise(x, [x < 0, x > 0.3], [fnp.sin, lambda v: v * v]),
    "args": lambda x: fnp.piecewise(x, [x > 0], [lambda v, k: v * k], 3.0),
    "bare_condition": lambda x: fnp.piecewise(x[0], x[0] > 0, [lambda v: v + 1, 0.5]),
}


@pytest.mark.parametrize("name", PIECEWISE)
def test_piecewise(name):
    check_all(PIECEWISE[name], M + 0.05)


def test_piecewise_dtypes():
    xi = np.array([-3, 0, 4])
    check_matches_numpy(lambda x: fnp.piecewise(x, [x > 0], [lambda v: v * 2.5, 1]), xi)
    xs = np.float64(0.7)
    check_matches_numpy(lambda x: fnp.piecewise(x, [x > 0, x < 0], [1.0, -1.0]), xs)
    with pytest.raises(ValueError, match="functions are expected"):
        fad.jit(lambda x: fnp.piecewise(x, [x > 0], [1.0, 2.0, 3.0]))(M)


# -- einsum: the interleaved form and optimize ------------------------------------------------

EINSUM_CASES = {
    "matmul": lambda a, b: fnp.einsum(a, [0, 1], b, [1, 2], [0, 2]),
    "implicit": lambda a, b: fnp.einsum(a, [0, 1], b, [1, 2]),
    "ellipsis": lambda a, b: fnp.einsum(a, [Ellipsis, 1], b, [1, 40]),
    "trace_like": lambda a, b: fnp.einsum(a, [30, 1], [30]),
    "transpose": lambda a, b: fnp.einsum(a, [0, 1], [1, 0]),
    "scalar_out": lambda a, b: fnp.einsum(a, [0, 1], a, [0, 1], []),
    "upper_lower": lambda a, b: fnp.einsum(a, [0, 27], b, [27, 2], [2, 0]),
}


@pytest.mark.parametrize("name", EINSUM_CASES)
def test_einsum_interleaved(name):
    check_all(EINSUM_CASES[name], M, M.T * 2)


@pytest.mark.parametrize("optimize", [True, False, "greedy", "optimal",
                                      ["einsum_path", (0, 1), (0, 1)]])
def test_einsum_optimize(optimize):
    a, b, c = M, M.T, RNG.standard_normal((2, 4))
    f = lambda a, b, c: fnp.einsum("ij,jk,kl->il", a, b, c, optimize=optimize)  # noqa: E731
    check_matches_numpy(f, a, b, c)
    check_grads(f, (a, b, c), order=1)


def test_einsum_interleaved_errors():
    with pytest.raises(ValueError, match="subscript"):
        fad.jit(lambda a: fnp.einsum(a, [0, -1]))(M)
    with pytest.raises(ValueError, match="subscript"):
        fad.jit(lambda a: fnp.einsum(a, [0, 60]))(M)
