"""fad.numpy gradient, diff, ediff1d, interp, convolve, correlate and histogram against
NumPy (staged values, shapes and dtypes), derivatives (order 2, both modes, where
differentiable), vmap against a loop, jit against eager."""
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
FLOATS = [np.float32, np.float64, np.complex128]


def sample(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def assert_close(got, want, rtol=1e-6):
    for g, w in zip(fad.tree_util.tree_leaves(got), fad.tree_util.tree_leaves(want)):
        assert np.asarray(g).dtype == np.asarray(w).dtype
        np.testing.assert_allclose(g, w, rtol=rtol, atol=1e-6)


# -- gradient, diff, ediff1d ---------------------------------------------------------------------

@st.composite
def gradient_case(draw):
    shape = tuple(draw(st.lists(st.integers(3, 5), min_size=1, max_size=3)))
    edge_order = draw(st.sampled_from([1, 2]))
    spacing = draw(st.sampled_from(["none", "scalar", "coords", "uniform_coords"]))
    axis = draw(st.sampled_from([None, -1]))
    return shape, edge_order, spacing, axis, draw(st.sampled_from(FLOATS + [np.int64]))


def spacing_args(shape, spacing, axis):
    axes = range(len(shape)) if axis is None else [axis]
    if spacing == "none":
        return ()
    if spacing == "scalar":
        return (0.7,)
    if spacing == "uniform_coords":
        return tuple(np.arange(shape[a]) * 0.5 for a in axes)
    return tuple(np.cumsum(np.linspace(0.5, 1.5, shape[a])) for a in axes)


@SETTINGS
@given(case=gradient_case())
def test_gradient_matches_numpy(case):
    shape, edge_order, spacing, axis, dtype = case
    f = sample(shape, dtype) * (10 if dtype == np.int64 else 1)
    args = spacing_args(shape, spacing, axis)
    fn = lambda f: fnp.gradient(f, *args, axis=axis, edge_order=edge_order)  # noqa: E731
    assert_close(fad.jit(fn)(f), np.gradient(f, *args, axis=axis, edge_order=edge_order),
                 rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_derivatives(edge_order):
    f = sample((4, 5), np.float64)
    coords = np.array([0.0, 0.4, 1.1, 1.5, 2.6])
    check_grads(lambda f: fnp.gradient(f, edge_order=edge_order), (f,), order=2)
    # traced spacing: a scalar and a coordinate array
    g = lambda f, h, x: fnp.gradient(f, h, x, edge_order=edge_order)  # noqa: E731
    check_grads(g, (f, 0.8, coords), order=2)
    assert_close(fad.jit(g)(f, 0.8, coords), np.gradient(f, 0.8, coords,
                                                         edge_order=edge_order), 1e-12)
    check_vmap(lambda f: fnp.gradient(f, 0.5, coords, edge_order=edge_order),
               (np.stack([f, 2 * f]),))


def test_gradient_errors():
    with pytest.raises(ValueError, match="too small"):
        fad.jit(lambda f: fnp.gradient(f, edge_order=2))(np.ones(2))
    with pytest.raises(ValueError, match="must match"):
        fad.jit(lambda f: fnp.gradient(f, np.arange(3.0)))(np.ones(4))
    with pytest.raises(TypeError, match="invalid number"):
        fad.jit(lambda f: fnp.gradient(f, 1.0, 2.0))(np.ones(4))


DIFF_CASES = {
    "diff": lambda x: fnp.diff(x),
    "diff_n3_axis0": lambda x: fnp.diff(x, 3, axis=0),
    "diff_prepend": lambda x: fnp.diff(x, prepend=x[:, :1] * 2, append=1.5),
    "ediff1d": lambda x: fnp.ediff1d(x),
    "ediff1d_ends": lambda x: fnp.ediff1d(x, to_end=[1.0, 2.0], to_begin=x[0, 0]),
}


@pytest.mark.parametrize("name", DIFF_CASES)
@pytest.mark.parametrize("dtype", FLOATS)
def test_differences(name, dtype):
    x = sample((4, 3), dtype)
    f = DIFF_CASES[name]
    check_matches_numpy(f, x)
    if dtype == np.float64:
        check_grads(f, (x,), order=2)
        check_vmap(f, (np.stack([x, x * 3]),))


def test_ediff1d_casting_error():
    with pytest.raises(TypeError, match="same_kind"):
        fad.jit(lambda x: fnp.ediff1d(x, to_begin=0.5))(np.arange(3))


# -- interp --------------------------------------------------------------------------------------

XP = np.array([-1.0, -0.2, 0.3, 1.1, 2.0])
FP = np.array([0.5, -1.0, 2.0, 0.0, 1.5])
XS = np.array([-2.0, -0.7, 0.05, 0.6, 1.9, 2.5, -0.2, 2.0, np.nan])


@pytest.mark.parametrize("kwargs", [{}, {"left": -7.0, "right": 9.0}, {"period": 2.5}])
@pytest.mark.parametrize("complex_fp", [False, True])
def test_interp_values(kwargs, complex_fp):
    fp = FP + 1j * FP[::-1] if complex_fp else FP
    f = lambda x, xp, fp: fnp.interp(x, xp, fp, **kwargs)  # noqa: E731
    check_matches_numpy(f, XS, XP, fp)
    check_matches_numpy(f, XS.astype(np.float32), XP.astype(np.float32), fp)
    check_matches_numpy(lambda x: fnp.interp(x, XP, fp, **kwargs), XS[1])


def test_interp_edge_cases():
    check_matches_numpy(lambda x: fnp.interp(x, [1.0], [3.0]), np.array([0.0, 1.0, 2.0]))
    xp = np.array([0.0, 1.0, 1.0, 2.0])   # a repeated sample point
    check_matches_numpy(lambda x: fnp.interp(x, xp, [0.0, 1.0, 5.0, 6.0]),
                        np.array([0.5, 1.0, 1.5]))
    with pytest.raises(ValueError, match="period"):
        fad.jit(lambda x: fnp.interp(x, XP, FP, period=0))(XS)
    with pytest.raises(ValueError, match="same length"):
        fad.jit(lambda x: fnp.interp(x, XP, FP[1:]))(XS)


def test_interp_derivatives():
    x = np.array([-0.7, 0.05, 0.6, 1.9])   # away from the sample points
    check_grads(lambda x, xp, fp: fnp.interp(x, xp, fp), (x, XP, FP), order=2)
    check_grads(lambda x, fp: fnp.interp(x, XP, fp, period=2.5), (x, FP), order=2)
    check_vmap(lambda x, fp: fnp.interp(x, XP, fp), (np.stack([x, x / 2]),
                                                     np.stack([FP, FP * 2])))
    check_vmap(lambda xp: fnp.interp(x, xp, FP), (np.stack([XP, XP * 1.5]),))


# -- convolve and correlate ----------------------------------------------------------------------

@SETTINGS
@given(n=st.integers(1, 6), m=st.integers(1, 6), mode=st.sampled_from(["full", "same", "valid"]),
       dtype=st.sampled_from(FLOATS + [np.int64]))
def test_convolve_correlate_match_numpy(n, m, mode, dtype):
    a, v = sample(n, dtype, 1), sample(m, dtype, 2)
    if dtype == np.int64:
        a, v = (sample(n, np.float64, 1) * 5).astype(dtype), (sample(m, np.float64) * 5)\
            .astype(dtype)
    check_matches_numpy(lambda a, v: fnp.convolve(a, v, mode), a, v)
    check_matches_numpy(lambda a, v: fnp.correlate(a, v, mode), a, v)


@pytest.mark.parametrize("fn", [fnp.convolve, fnp.correlate])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_convolve_derivatives(fn, dtype):
    a, v = sample(5, dtype, 3), sample(3, dtype, 4)
    for mode in ("full", "same", "valid"):
        check_grads(lambda a, v: fn(a, v, mode), (a, v), order=2)
    check_grads(lambda a, v: fn(a, v, "same"), (v, a), order=2)   # the shorter one first
    check_vmap(lambda a, v: fn(a, v, "same"), (np.stack([a, 2 * a]), np.stack([v, v + 1])))
    check_vmap(lambda a: fn(a, v, "valid"), (np.stack([a, 2 * a]),))


def test_convolve_errors():
    with pytest.raises(ValueError, match="cannot be empty"):
        fad.jit(lambda a: fnp.convolve(a, np.zeros(0)))(np.ones(3))
    with pytest.raises(ValueError, match="mode"):
        fad.jit(lambda a: fnp.correlate(a, a, "middle"))(np.ones(3))


# -- histogram -----------------------------------------------------------------------------------

HIST_CASES = {
    "bins": {"bins": 4},
    "range": {"bins": 3, "range": (-1, 1)},
    "edges": {"bins": [-2.0, -0.5, 0.0, 0.25, 3.0]},
    "density": {"bins": 5, "density": True},
    "weights": {"bins": 4, "weights": np.arange(12.0).reshape(3, 4)},
    "edges_density": {"bins": np.array([-1.0, 0.0, 2.0]), "density": True},
}


@pytest.mark.parametrize("name", HIST_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_histogram_values(name, dtype):
    a = (sample((3, 4), np.float64) * (3 if dtype == np.int64 else 1)).astype(dtype)
    kwargs = HIST_CASES[name]
    check_matches_numpy(lambda a: fnp.histogram(a, **kwargs), a)
    a[0, 0] = a.max()   # an entry on the last edge goes in the last bin
    check_matches_numpy(lambda a: fnp.histogram(a, **kwargs), a)


def test_histogram_traced_weights_and_vmap():
    a = sample(10, np.float64)
    w = np.linspace(0.5, 2.0, 10)
    f = lambda w: fnp.histogram(a, 3, weights=w)[0]  # noqa: E731
    check_grads(f, (w,), order=2)
    counts = fad.vmap(lambda a: fnp.histogram(a, 3)[0])(np.stack([a, 2 * a + 1]))
    np.testing.assert_array_equal(counts, [np.histogram(a, 3)[0], np.histogram(2 * a + 1, 3)[0]])
    check_vmap(lambda a: fnp.histogram(a, 4, range=(-2, 2))[0], (np.stack([a, a / 3]),))
    # under grad, a is concrete: any bins work, and the counts carry no derivative
    g = fad.grad(lambda a: fnp.sum(fnp.histogram(a, "auto")[1]))(a)
    assert g.shape == a.shape
    with pytest.raises(ConcretizationTypeError, match="bins"):
        fad.jit(lambda a: fnp.histogram(a, "auto"))(a)
