"""fad.numpy sort/argsort of complex arrays, lexsort, partition/argpartition,
searchsorted (and the lax.searchsorted primitive), unique and bincount against NumPy:
staged values and dtypes, derivatives where differentiable, vmap against a loop, jit
against eager."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad import lax
from fad.errors import ConcretizationTypeError
from fad.test_util import check_grads, check_jaxpr, check_matches_numpy, check_vmap

SETTINGS = settings(max_examples=15, deadline=None)


@st.composite
def shape_axis(draw, max_rank=3):
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=max_rank)))
    return shape, draw(st.integers(-len(shape), len(shape) - 1))


def tied_complex(shape, seed=0):
    """Complex values with many ties in the real part (the imaginary part decides)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 3, shape) + 1j * rng.integers(-2, 3, shape).astype(float)


def distinct(shape, dtype=np.float64, seed=0):
    n = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(n) * 0.37 - n * 0.1).reshape(shape)\
        .astype(dtype)


# -- sort and argsort of complex arrays; lexsort ---------------------------------------------------

@SETTINGS
@given(sa=shape_axis())
def test_sort_complex_lexicographic(sa):
    shape, axis = sa
    z = tied_complex(shape)
    z.flat[0] = complex(np.nan, 1.0)
    check_matches_numpy(lambda z: fnp.sort(z, axis), z)
    check_matches_numpy(lambda z: fnp.argsort(z, axis, stable=True), z)
    check_matches_numpy(lambda z: fnp.sort(z, None), z)


def test_sort_complex_derivatives():
    z = distinct((3, 4)) + 1j * distinct((3, 4), seed=1)
    check_grads(lambda z: fnp.sort(z, 0), (z,), order=2)
    check_vmap(lambda z: fnp.sort(z), (z,))
    check_vmap(lambda z: fnp.argsort(z), (z,), in_axes=1)


@SETTINGS
@given(sa=shape_axis(2), n_keys=st.integers(1, 3))
def test_lexsort(sa, n_keys):
    shape, axis = sa
    rng = np.random.default_rng(n_keys)
    keys = [rng.integers(0, 2, shape).astype(float) for _ in range(n_keys)]
    check_matches_numpy(lambda *ks: fnp.lexsort(ks, axis), *keys)
    check_matches_numpy(lambda k: fnp.lexsort(k, axis), np.stack(keys))


# -- partition and argpartition -----------------------------------------------------------------

def assert_partitioned(out, x, kth, axis):
    """NumPy's contract: ``out`` sorted at each kth, nothing larger before, nothing smaller
    after (here, with ``out`` a rearrangement of ``x`` along ``axis``)."""
    srt = np.sort(x, axis)
    out = np.moveaxis(np.asarray(out), axis, -1)
    srt = np.moveaxis(srt, axis, -1)
    np.testing.assert_array_equal(np.sort(out, -1), srt)
    for k in np.atleast_1d(kth) % out.shape[-1]:
        np.testing.assert_array_equal(out[..., k], srt[..., k])
        assert (out[..., :k] <= out[..., k:k + 1]).all()
        assert (out[..., k + 1:] >= out[..., k:k + 1]).all()


@SETTINGS
@given(sa=shape_axis(), data=st.data(), dtype=st.sampled_from([np.float32, np.int64]))
def test_partition_property(sa, data, dtype):
    shape, axis = sa
    n = shape[axis]
    kth = data.draw(st.one_of(st.integers(-n, n - 1),
                              st.lists(st.integers(-n, n - 1), min_size=1, max_size=3)))
    x = distinct(shape, dtype)
    out = fad.jit(lambda x: fnp.partition(x, kth, axis))(x)
    assert out.dtype == np.partition(x, kth, axis).dtype
    assert_partitioned(out, x, kth, axis)
    idx = fad.jit(lambda x: fnp.argpartition(x, kth, axis))(x)
    assert idx.dtype == np.argpartition(x, kth, axis).dtype
    assert_partitioned(np.take_along_axis(x, idx, axis), x, kth, axis)


def test_partition_derivatives_and_errors():
    x = distinct((3, 5))
    check_grads(lambda x: fnp.partition(x, 2, axis=1), (x,), order=2)
    assert_partitioned(fad.vmap(lambda x: fnp.partition(x, (0, 2)))(x), x, (0, 2), -1)
    with pytest.raises(ValueError, match="out of bounds"):
        fad.jit(lambda x: fnp.partition(x, 5))(x)
    np.testing.assert_array_equal(fad.jit(lambda x: fnp.partition(x, 1, axis=None))(x),
                                  np.sort(x, None))


# -- searchsorted --------------------------------------------------------------------------------

@SETTINGS
@given(n=st.integers(1, 6), vshape=st.lists(st.integers(0, 3), max_size=2),
       side=st.sampled_from(["left", "right"]), dtype=st.sampled_from(
           [np.float32, np.float64, np.int64, np.complex128]), sorter=st.booleans())
def test_searchsorted_matches_numpy(n, vshape, side, dtype, sorter):
    rng = np.random.default_rng(n)
    a = rng.integers(-3, 4, n).astype(dtype)
    v = rng.integers(-4, 5, vshape).astype(dtype)
    if dtype == np.complex128:
        a, v = a + 1j * rng.integers(-1, 2, n), v + 1j * rng.integers(-1, 2, vshape)
    a[0] = np.nan if dtype != np.int64 else a[0]
    order = np.argsort(a, kind="stable")
    a_sorted = a[order]
    if sorter:
        check_matches_numpy(lambda a, v: fnp.searchsorted(a, v, side, order), a, v)
    else:
        check_matches_numpy(lambda a, v: fnp.searchsorted(a, v, side), a_sorted, v)
    check_matches_numpy(lambda a: fnp.searchsorted(a, 0.5, side), a_sorted)


def test_searchsorted_primitive_rules():
    a = np.sort(distinct((3, 5)), axis=1)
    v = distinct((3, 4), seed=2)
    got = lax.searchsorted(a, v, "right")
    np.testing.assert_array_equal(got, [np.searchsorted(r, q, "right") for r, q in zip(a, v)])
    check_jaxpr(lambda a, v: lax.searchsorted(a, v), (a, v))
    check_vmap(lambda a, v: lax.searchsorted(a, v, "right"), (a, v))
    check_vmap(lambda v: lax.searchsorted(a[0], v), (v,))
    check_vmap(lambda a: fnp.searchsorted(a, v[0]), (a,))
    assert fad.grad(lambda v: fnp.sum(fnp.searchsorted(a[0], v) * v))(v[0]).shape == (4,)
    with pytest.raises(TypeError, match="one ordered dtype"):
        lax.searchsorted(a, v.astype(np.float32))
    with pytest.raises(ValueError, match="side"):
        fad.jit(lambda a: fnp.searchsorted(a, 1.0, "middle"))(a[0])


# -- unique --------------------------------------------------------------------------------------

FLAGS = [(False, False, False), (True, True, True), (False, True, False), (True, False, True)]


@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.complex128])
def test_unique_concrete_and_sized(flags, dtype):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, (3, 4)).astype(dtype)
    if dtype != np.int64:
        x[0, 1] = x[2, 2] = np.nan
    want = np.unique(x, *flags)
    for size in (2, 6, 9):
        eager = fnp.unique(x, *flags, size=size)
        traced = fad.jit(lambda x: fnp.unique(x, *flags, size=size))(x)
        for e, t in zip(*(r if isinstance(r, tuple) else (r,) for r in (eager, traced))):
            assert np.asarray(e).dtype == np.asarray(t).dtype
            np.testing.assert_array_equal(e, t)
    # without padding, the sized result is NumPy's
    n = len(np.unique(x))
    sized = fad.jit(lambda x: fnp.unique(x, *flags, size=n))(x)
    for s, w in zip(sized if isinstance(sized, tuple) else (sized,),
                    want if isinstance(want, tuple) else (want,)):
        np.testing.assert_array_equal(s, w)


def test_unique_fill_equal_nan_vmap_grad():
    x = np.array([3.0, 1.0, np.nan, 3.0, np.nan])
    got = fad.jit(lambda x: fnp.unique(x, size=5, fill_value=-1.0))(x)
    np.testing.assert_array_equal(got, [1.0, 3.0, np.nan, -1.0, -1.0])
    got = fad.jit(lambda x: fnp.unique(x, equal_nan=False, size=4))(x)
    np.testing.assert_array_equal(got, np.unique(x, equal_nan=False))
    rows = np.array([[2.0, 1.0, 2.0], [5.0, 5.0, 5.0]])
    check_vmap(lambda r: fnp.unique(r, return_counts=True, size=3), (rows,))
    # the unique values keep their derivative (through each value's first occurrence)
    g = fad.grad(lambda x: fnp.sum(fnp.unique(x) ** 2))(np.array([2.0, 1.0, 2.0]))
    np.testing.assert_allclose(g, [4.0, 2.0, 0.0])
    g = fad.grad(lambda x: fnp.sum(fnp.unique(x, size=3) ** 2))(np.array([2.0, 1.0, 2.0]))
    np.testing.assert_allclose(g, [4.0, 2.0 + 2.0, 0.0])   # padded with the smallest
    with pytest.raises(ConcretizationTypeError, match="size="):
        fad.jit(fnp.unique)(x)
    with pytest.raises(NotImplementedError, match="axis"):
        fad.jit(lambda x: fnp.unique(x, axis=0, size=2))(x)


# -- bincount ------------------------------------------------------------------------------------

@SETTINGS
@given(n=st.integers(0, 8), minlength=st.integers(0, 6), weighted=st.booleans(),
       wdtype=st.sampled_from([np.float32, np.float64, np.int64]))
def test_bincount_matches_numpy(n, minlength, weighted, wdtype):
    rng = np.random.default_rng(n)
    x = rng.integers(0, 5, n)
    w = rng.standard_normal(n).astype(wdtype) if weighted else None
    want = np.bincount(x, w, minlength)
    if weighted:   # traced weights, a NumPy x: NumPy's length
        got = fad.jit(lambda w: fnp.bincount(x, w, minlength))(w)
        np.testing.assert_allclose(got, want)
        assert got.dtype == want.dtype
    for length in (len(want), len(want) + 2, max(len(want) - 1, 0)):
        for fn in (fad.jit(lambda x, w: fnp.bincount(x, w, length=length)),
                   lambda x, w: fnp.bincount(x, w, length=length)):
            got = fn(x, w)
            np.testing.assert_allclose(got, np.pad(want, (0, 2))[:length])
            assert got.dtype == want.dtype


def test_bincount_traced_and_errors():
    x = np.array([0, 3, 3, 1, -1])
    w = np.array([0.5, 1.0, 2.0, 3.0, 4.0])
    got = fad.jit(lambda x, w: fnp.bincount(x, w, length=3))(x, w)
    np.testing.assert_array_equal(got, [0.5, 3.0, 0.0])   # negative and too large: dropped
    check_grads(lambda w: fnp.bincount(x[:4], w), (w[:4],), order=2)
    check_vmap(lambda x: fnp.bincount(x, length=4), (np.array([[0, 1, 1], [3, 3, 0]]),))
    with pytest.raises(ConcretizationTypeError, match="length="):
        fad.jit(fnp.bincount)(x)
    with pytest.raises(TypeError, match="safe"):
        fad.jit(lambda x: fnp.bincount(x, length=3))(np.array([0.5]))


def test_argsort_default_is_stable_eager_and_traced():
    """NumPy's default (kind=None) argsort orders ties by machine-dependent rules that a
    traced sort cannot reproduce: fad's default is the stable order, eager and traced."""
    a = np.array([1, 0, -2, -2, 0, 1, -2])
    want = np.argsort(a, kind="stable")
    for f in (fnp.argsort, fad.jit(fnp.argsort)):
        np.testing.assert_array_equal(f(a), want)
    b = np.array([[3.0, 1.0, 1.0], [0.0, -0.0, 0.0]])
    for axis in (0, 1, None):
        want = np.argsort(b, axis=axis, kind="stable")
        np.testing.assert_array_equal(fnp.argsort(b, axis=axis), want)
        np.testing.assert_array_equal(fad.jit(lambda x: fnp.argsort(x, axis=axis))(b), want)
    # sort: -0.0 and 0.0 are ties; the stable order keeps them as given, eager and traced
    z = np.array([0.0, -0.0, 0.0, -0.0] * 5)
    assert np.array_equal(np.signbit(fnp.sort(z)), np.signbit(z))
    assert np.array_equal(np.signbit(fad.jit(fnp.sort)(z)), np.signbit(z))
    # an explicit kind or stable= goes to NumPy as given
    np.testing.assert_array_equal(fnp.argsort(a, stable=True), np.argsort(a, stable=True))
    np.testing.assert_array_equal(fnp.argsort(a, kind="quicksort"),
                                  np.argsort(a, kind="quicksort"))
