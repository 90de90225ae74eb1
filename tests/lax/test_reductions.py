"""Reductions and cumulative reductions of fad.lax under every interpreter.

Oracles: NumPy for values, finite differences for derivatives (check_grads, order 2,
both modes), a Python loop for vmap, eager evaluation for staged jaxprs, and closed forms
for the derivative conventions at ties and zeros.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
from fad import lax
from fad.lax.reductions import linear_recurrence, shift
from fad.test_util import check_grads, check_jaxpr, check_vmap

SETTINGS = settings(max_examples=12, deadline=None)


@st.composite
def shape_and_axes(draw, min_rank=1, max_rank=3, min_size=1):
    shape = tuple(draw(st.lists(st.integers(min_size, 3), min_size=min_rank,
                                max_size=max_rank)))
    axes = draw(st.lists(st.integers(-len(shape), len(shape) - 1), unique_by=lambda a: a
                         % len(shape), max_size=len(shape))) if shape else []
    return shape, tuple(axes)


def distinct(shape, seed=0):
    """Values at least 0.1 apart (no ties), in a random order."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape, dtype=np.int64))
    return (rng.permutation(n) * 0.37 - n * 0.15 + 0.05).reshape(shape)


def batched(x, axis, size=3, seed=1):
    """``size`` different copies of ``x`` stacked along ``axis``."""
    rng = np.random.default_rng(seed)
    return np.stack([x + 0.01 * rng.permutation(x.size).reshape(x.shape) for _ in range(size)],
                    axis=axis)


REDUCERS = [
    (lax.reduce_sum, np.sum),
    (lax.reduce_max, np.max),
    (lax.reduce_min, np.min),
    (lax.reduce_prod, np.prod),
]


# -- reduce_* -------------------------------------------------------------------------------

@pytest.mark.parametrize("op,ref", REDUCERS, ids=lambda f: getattr(f, "__name__", ""))
@SETTINGS
@given(sa=shape_and_axes())
def test_reduce_values_jaxpr_grads(op, ref, sa):
    shape, axes = sa
    x = distinct(shape)
    np.testing.assert_allclose(op(x, axes), ref(x, axis=axes))
    check_jaxpr(lambda x: op(x, axes), (x,))
    check_grads(lambda x: op(x, axes), (x,), order=2)


@pytest.mark.parametrize("op,ref", REDUCERS, ids=lambda f: getattr(f, "__name__", ""))
@SETTINGS
@given(sa=shape_and_axes(), data=st.data())
def test_reduce_vmap(op, ref, sa, data):
    shape, axes = sa
    in_axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    out_axis = data.draw(st.integers(-1, len(shape) - len(axes)))
    x = batched(distinct(shape), in_axis)
    check_vmap(lambda x: op(x, axes), (x,), in_axes=in_axis, out_axes=out_axis)
    check_vmap(fad.grad(lambda x: lax.reduce_sum(op(x, axes) ** 2, tuple(
        range(len(shape) - len(set(a % len(shape) for a in axes)))))), (x,), in_axes=in_axis)


def test_reduce_max_min_split_ties_equally():
    x = np.array([1.0, 3.0, 3.0])
    np.testing.assert_allclose(fad.grad(lambda x: lax.reduce_max(x, (0,)))(x), [0, .5, .5])
    np.testing.assert_allclose(fad.grad(lambda x: lax.reduce_min(x, (0,)))(-x), [0, .5, .5])
    y = np.array([[2.0, 2.0, 2.0], [0.0, 5.0, 1.0]])
    g = fad.grad(lambda y: lax.reduce_sum(lax.reduce_max(y, (1,)), (0,)))(y)
    np.testing.assert_allclose(g, [[1 / 3] * 3, [0, 1, 0]])
    _, t = fad.jvp(lambda x: lax.reduce_max(x, (0,)), (x,), (np.array([5.0, 1.0, 2.0]),))
    assert t == 1.5


def test_reduce_max_empty_and_integer():
    assert lax.reduce_max(np.zeros((2, 0)), (1,)).tolist() == [-np.inf, -np.inf]
    assert lax.reduce_min(np.zeros((0,), np.int32), (0,)) == np.iinfo(np.int32).max
    out = lax.reduce_max(np.array([[1, 5], [7, 2]], np.int32), (0,))
    assert out.dtype == np.int32 and out.tolist() == [7, 5]
    assert lax.reduce_sum(np.ones(3, np.int32), (0,)).dtype == np.int32
    assert np.isnan(lax.reduce_max(np.array([1.0, np.nan]), (0,)))


def test_reduce_prod_exact_at_zeros():
    grad = fad.grad(lambda x: lax.reduce_prod(x, (0,)))
    np.testing.assert_allclose(grad(np.array([2.0, 0.0, 3.0])), [0.0, 6.0, 0.0])
    np.testing.assert_allclose(grad(np.array([0.0, 4.0, 0.0])), [0.0, 0.0, 0.0])
    hess = fad.jacfwd(grad)(np.array([0.0, 4.0, 0.0]))
    np.testing.assert_allclose(hess, [[0, 0, 4], [0, 0, 0], [4, 0, 0]])
    x = np.array([[0.0, 2.0], [3.0, 0.0], [1.5, -1.0]])
    check_grads(lambda x: lax.reduce_prod(x, (0, 1)), (x,), order=2)
    check_grads(lambda x: lax.reduce_prod(x, (0,)), (x,), order=2)


def test_reduce_complex_prod_jvp():
    # forward mode only: check_vjp's complex pairing is the core's concern (see report)
    x = np.array([1 + 1j, 0.5 - 2j, 0j])
    check_grads(lambda x: lax.reduce_prod(x, (0,)), (x,), order=2, modes=("fwd",))
    _, t = fad.jvp(lambda x: lax.reduce_prod(x, (0,)), (x,), (np.array([0, 0, 1 + 0j]),))
    np.testing.assert_allclose(t, (1 + 1j) * (0.5 - 2j))


def test_reduce_and_or():
    b = np.array([[True, False, True], [True, True, True]])
    assert lax.reduce_and(b, (1,)).tolist() == [False, True]
    assert lax.reduce_or(b, (0,)).tolist() == [True, True, True]
    assert lax.reduce_and(b, ()) is b
    check_jaxpr(lambda b: lax.reduce_or(b, (1,)), (b,))
    check_vmap(lambda b: lax.reduce_and(b, (0,)), (b,), in_axes=1)
    check_vmap(lambda b: lax.reduce_or(b, (0,)), (b.T,), in_axes=0, out_axes=0)
    # no derivative flows through a boolean reduction
    g = fad.grad(lambda x: lax.reduce_sum(x, (0,)) * lax.convert_element_type(
        lax.reduce_and(lax.gt(x, 0.0), (0,)), np.float64))(np.array([1.0, 2.0]))
    np.testing.assert_allclose(g, [1.0, 1.0])


@pytest.mark.parametrize("op", [lax.reduce_sum, lax.reduce_max, lax.reduce_prod,
                                lax.reduce_and])
def test_reduce_bad_axes(op):
    x = np.ones((2, 3), bool if op is lax.reduce_and else float)
    with pytest.raises(ValueError, match=f"{op.__name__}: axis 2 is out of range"):
        op(x, (2,))
    with pytest.raises(ValueError, match=f"{op.__name__}: repeated axis"):
        op(x, (1, -1))
    with pytest.raises(ValueError, match=op.__name__):
        fad.make_jaxpr(lambda x: op(x, (-3,)))(x)


def test_reduce_bad_dtypes():
    with pytest.raises(TypeError, match="reduce_and does not accept .* float64"):
        lax.reduce_and(np.ones(3), (0,))
    with pytest.raises(TypeError, match="reduce_max does not accept .* complex128"):
        lax.reduce_max(np.ones(3, complex), (0,))
    with pytest.raises(TypeError, match="reduce_or does not accept"):
        lax.reduce_or(np.ones(3), ())


# -- argmax / argmin ------------------------------------------------------------------------

@SETTINGS
@given(sa=shape_and_axes(min_rank=1), data=st.data())
def test_argmax_argmin(sa, data):
    shape, _ = sa
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, shape).astype(np.float64)  # many ties: first occurrence wins
    for op, ref in ((lax.argmax, np.argmax), (lax.argmin, np.argmin)):
        out = op(x, axis, np.int32)
        assert np.asarray(out).dtype == np.int32
        np.testing.assert_array_equal(out, ref(x, axis=axis))
        check_jaxpr(lambda x: op(x, axis, np.int64), (x,))
        in_axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
        check_vmap(lambda x: op(x, axis, np.int64), (batched(x, in_axis),), in_axes=in_axis)


def test_argmax_conventions_and_errors():
    assert lax.argmax(np.array([1.0, 3.0, 3.0]), 0) == 1
    assert lax.argmin(np.array([2.0, 1.0, 1.0]), 0) == 1
    assert lax.argmax(np.array([1.0, np.nan, 5.0]), 0) == 1   # NumPy: NaN is the max
    g = fad.grad(lambda x: lax.reduce_sum(x, (0,)) * 0 + lax.convert_element_type(
        lax.argmax(x, 0), np.float64))
    np.testing.assert_array_equal(g(np.array([1.0, 2.0])), [0.0, 0.0])
    _, t = fad.jvp(lambda x: lax.argmin(x, 0), (np.array([1.0, 2.0]),),
                   (np.array([1.0, 1.0]),))
    assert np.asarray(t).dtype == fad.float0
    with pytest.raises(ValueError, match="argmax: axis 1 is out of range"):
        lax.argmax(np.ones(3), 1)
    with pytest.raises(ValueError, match="argmin: cannot take the argmin of an empty axis"):
        lax.argmin(np.ones((2, 0)), 1)
    with pytest.raises(TypeError, match="argmax: index_dtype must be an integer"):
        lax.argmax(np.ones(3), 0, np.float32)


# -- cumulative reductions ------------------------------------------------------------------

CUMULATIVE = [
    (lax.cumsum, np.add.accumulate),
    (lax.cumprod, np.multiply.accumulate),
    (lax.cummax, np.maximum.accumulate),
    (lax.cummin, np.minimum.accumulate),
    (lax.cumlogsumexp, np.logaddexp.accumulate),
]


def _cum_ref(ref, x, axis, reverse):
    if reverse:
        return np.flip(ref(np.flip(x, axis), axis=axis), axis)
    return ref(x, axis=axis)


@pytest.mark.parametrize("op,ref", CUMULATIVE, ids=lambda f: getattr(f, "__name__", ""))
@SETTINGS
@given(sa=shape_and_axes(), data=st.data())
def test_cumulative_values_jaxpr_grads(op, ref, sa, data):
    shape, _ = sa
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    reverse = data.draw(st.booleans())
    x = distinct(shape)
    np.testing.assert_allclose(op(x, axis, reverse), _cum_ref(ref, x, axis, reverse))
    check_jaxpr(lambda x: op(x, axis, reverse), (x,))
    check_grads(lambda x: op(x, axis, reverse), (x,), order=2)


@pytest.mark.parametrize("op,ref", CUMULATIVE, ids=lambda f: getattr(f, "__name__", ""))
@SETTINGS
@given(sa=shape_and_axes(), data=st.data())
def test_cumulative_vmap(op, ref, sa, data):
    shape, _ = sa
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    reverse = data.draw(st.booleans())
    in_axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    out_axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    x = batched(distinct(shape), in_axis)
    check_vmap(lambda x: op(x, axis, reverse), (x,), in_axes=in_axis, out_axes=out_axis)
    t = batched(distinct(shape, seed=3), in_axis)
    check_vmap(lambda x, t: fad.jvp(lambda x: op(x, axis, reverse), (x,), (t,))[1], (x, t),
               in_axes=in_axis)
    check_vmap(lambda t: fad.jvp(lambda x: op(x, axis, reverse), (distinct(shape),), (t,))[1],
               (t,), in_axes=in_axis)
    check_vmap(lambda x: fad.vjp(lambda x: op(x, axis, reverse), x)[1](distinct(shape))[0],
               (x,), in_axes=in_axis, out_axes=out_axis)


def test_cumsum_is_linear_and_transposes_to_reverse_cumsum():
    x = np.array([1.0, 2.0, 4.0])
    (ct,) = fad.linear_transpose(lambda x: lax.cumsum(x), x)(np.array([1.0, 10.0, 100.0]))
    np.testing.assert_allclose(ct, [111.0, 110.0, 100.0])
    jaxpr = fad.make_jaxpr(lambda x: fad.vjp(lambda x: lax.cumsum(x, 0, True), x)[1](x))(x)
    assert "cumsum[axis=0 reverse=False]" in str(jaxpr)
    assert lax.cumsum(np.arange(3, dtype=np.int32)).dtype == np.int32


def test_cumprod_exact_at_zeros():
    x = np.array([2.0, 0.0, 3.0, 0.0])
    jac = fad.jacfwd(lax.cumprod)(x)
    # d y[k] / d x[i] = prod_{j <= k, j != i} x[j]
    want = np.array([[1, 0, 0, 0], [0, 2, 0, 0], [0, 6, 0, 0], [0, 0, 0, 0]], float)
    np.testing.assert_allclose(jac, want)
    np.testing.assert_allclose(fad.jacrev(lax.cumprod)(x), want)
    check_grads(lambda x: lax.cumprod(x, 0, True), (x,), order=2)


def test_cummax_takes_tangent_of_first_running_maximum():
    x = np.array([1.0, 3.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(lax.cummax(x), [1, 3, 3, 3, 4])
    jac = fad.jacfwd(lax.cummax)(x)
    np.testing.assert_allclose(jac, np.eye(5)[[0, 1, 1, 1, 4]])
    y = np.array([-1.0, -3.0, -2.0, -3.0, 0.0])  # scanned from the end: idx 3 is first
    np.testing.assert_allclose(fad.jacrev(lambda y: lax.cummin(y, 0, True))(y),
                               np.eye(5)[[3, 3, 3, 3, 4]])


def test_cumulative_errors():
    with pytest.raises(ValueError, match="cumsum: axis 1 is out of range"):
        lax.cumsum(np.ones(3), 1)
    with pytest.raises(ValueError, match="cumprod: axis 0 is out of range"):
        lax.cumprod(np.float64(1.0), 0)
    with pytest.raises(TypeError, match="cumlogsumexp does not accept .* int64"):
        lax.cumlogsumexp(np.arange(3))
    with pytest.raises(TypeError, match="cummax does not accept .* complex128"):
        lax.cummax(np.ones(3, complex))


# -- the private linear machinery -------------------------------------------------------------

def test_linear_recurrence_and_shift():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(-1.5, 1.5, (4, 9)), rng.standard_normal((4, 9))
    for reverse in (False, True):
        h = np.zeros(4)
        want = np.zeros((4, 9))
        for k in (range(8, -1, -1) if reverse else range(9)):
            h = a[:, k] * h + b[:, k]
            want[:, k] = h
        np.testing.assert_allclose(linear_recurrence(a, b, 1, reverse), want)
        check_grads(lambda a, b: linear_recurrence(a, b, 1, reverse), (a, b), order=2)
        check_grads(lambda x: shift(x, 0, reverse), (b,), order=1)
        check_vmap(lambda a, b: linear_recurrence(a, b, 0, reverse), (a, b[:, 0]),
                   in_axes=(1, None))
        check_vmap(lambda a, b: linear_recurrence(a, b, 0, reverse), (a[:, 0], b.T),
                   in_axes=(None, 0), out_axes=1)
        check_vmap(lambda a, b: linear_recurrence(a, b, 0, reverse), (a, b.T),
                   in_axes=(1, 0))
    np.testing.assert_allclose(shift(np.arange(1.0, 4.0), 0), [0, 1, 2])
    np.testing.assert_allclose(shift(np.arange(1.0, 4.0), 0, True), [2, 3, 0])
    with pytest.raises(TypeError, match="linear_recurrence: operands must have one shape"):
        linear_recurrence(a, b.T, 0)
