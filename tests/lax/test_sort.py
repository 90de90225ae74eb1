"""sort, argsort and top_k (and the private take_along_axis) under every interpreter.

Oracles: NumPy's stable sorts (np.sort, np.argsort, np.lexsort) for values and orders,
finite differences for derivatives at inputs without ties, a Python loop for vmap with
every operand batched or not, eager evaluation for staged jaxprs.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
from fad import lax
from fad.lax.sort import take_along_axis
from fad.test_util import check_grads, check_jaxpr, check_vmap

SETTINGS = settings(max_examples=15, deadline=None)


@st.composite
def shape_and_axis(draw, max_rank=3):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=max_rank)))
    return shape, draw(st.integers(-len(shape), len(shape) - 1))


def distinct(shape, seed=0):
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.41 - n * 0.2 + 0.03).reshape(shape)


def stacked(x, axis, size=3, seed=0):
    """``x`` and ``size - 1`` other tie-free arrays of its shape, stacked along ``axis``."""
    return np.stack([x] + [distinct(np.shape(x), seed + i) for i in range(1, size)], axis=axis)


@SETTINGS
@given(sa=shape_and_axis())
def test_sort_values_jaxpr_grads(sa):
    shape, axis = sa
    x = distinct(shape)
    np.testing.assert_array_equal(lax.sort(x, axis), np.sort(x, axis))
    np.testing.assert_array_equal(lax.argsort(x, axis), np.argsort(x, axis, kind="stable"))
    check_jaxpr(lambda x: lax.sort(x, axis), (x,))
    check_jaxpr(lambda x: lax.argsort(x, axis), (x,))
    check_grads(lambda x: lax.sort(x, axis), (x,), order=2)


@SETTINGS
@given(sa=shape_and_axis())
def test_sort_several_operands(sa):
    shape, axis = sa
    keys, vals = distinct(shape), distinct(shape, seed=5)
    order = np.argsort(keys, axis, kind="stable")
    k_out, v_out = lax.sort((keys, vals), axis)
    np.testing.assert_array_equal(k_out, np.take_along_axis(keys, order, axis))
    np.testing.assert_array_equal(v_out, np.take_along_axis(vals, order, axis))
    f = lambda k, v: lax.sort([k, v], axis, num_keys=1)  # noqa: E731
    check_jaxpr(f, (keys, vals))
    check_grads(f, (keys, vals), order=2)
    check_grads(lambda v: f(keys, v)[1], (vals,), order=2)


def test_sort_two_keys_lexicographic_and_stable():
    a = np.array([2.0, 1.0, 2.0, 1.0, 2.0])
    b = np.array([5.0, 9.0, 4.0, 9.0, 4.0])
    c = np.arange(5)
    a2, b2, c2 = lax.sort((a, b, c), num_keys=2)
    order = np.lexsort((b, a))
    np.testing.assert_array_equal(c2, order)
    np.testing.assert_array_equal(c2, [1, 3, 2, 4, 0])  # ties keep their order
    np.testing.assert_array_equal(a2, a[order])
    np.testing.assert_array_equal(b2, b[order])
    check_jaxpr(lambda a, b, c: lax.sort((a, b, c), num_keys=2), (a, b, c))
    # with num_keys=1 the second operand does not order ties
    np.testing.assert_array_equal(lax.sort((a, b, c), num_keys=1)[2], [1, 3, 0, 2, 4])


def test_sort_nans_last_and_integers():
    x = np.array([3.0, np.nan, -np.inf, 1.0, np.nan, np.inf])
    np.testing.assert_array_equal(lax.sort(x), np.sort(x))
    np.testing.assert_array_equal(lax.argsort(x), [2, 3, 0, 5, 1, 4])
    i = np.array([[3, -1, 2], [0, 0, -5]], np.int32)
    out = lax.sort(i, 0)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, np.sort(i, 0))
    _, t = fad.jvp(lambda x: lax.sort(x), (np.array([2.0, 1.0]),), (np.array([10.0, 20.0]),))
    np.testing.assert_array_equal(t, [20.0, 10.0])


@SETTINGS
@given(sa=shape_and_axis(), data=st.data())
def test_sort_vmap(sa, data):
    shape, axis = sa
    ndim = len(shape)
    kax = data.draw(st.one_of(st.none(), st.integers(-ndim - 1, ndim)))
    vax = data.draw(st.one_of(st.none(), st.integers(-ndim - 1, ndim)))
    if kax is None and vax is None:
        kax = 0
    out_axis = data.draw(st.integers(-ndim - 1, ndim))
    keys, vals = distinct(shape), distinct(shape, 5)
    args = (keys if kax is None else stacked(keys, kax),
            vals if vax is None else stacked(vals, vax, seed=7))
    f = lambda k, v: lax.sort((k, v), axis)  # noqa: E731
    check_vmap(f, args, in_axes=(kax, vax), out_axes=out_axis)
    check_vmap(lambda k, v: lax.sort((k, v), axis, num_keys=2), args, in_axes=(kax, vax))
    if kax is not None:
        check_vmap(lambda k: lax.sort(k, axis), args[:1], in_axes=kax, out_axes=out_axis)
        check_vmap(lambda k: lax.argsort(k, axis), args[:1], in_axes=kax)
        ct = distinct(shape, 9)
        check_vmap(lambda k: fad.vjp(lambda k: lax.sort(k, axis), k)[1](ct)[0], args[:1],
                   in_axes=kax)
    # tangents batched, primals not (and the other way round)
    if vax is not None:
        check_vmap(lambda t: fad.jvp(lambda v: f(keys, v), (vals,), (t,))[1], (args[1],),
                   in_axes=vax)


def test_sort_errors():
    x = np.ones((2, 3))
    with pytest.raises(TypeError, match=r"sort: operands must have one shape.*\(2, 3\), "
                                        r"\(3,\)"):
        lax.sort((x, np.ones(3)))
    with pytest.raises(ValueError, match="sort: axis 2 is out of range"):
        lax.sort(x, 2)
    with pytest.raises(ValueError, match="sort: num_keys=3 must be between 1"):
        lax.sort((x, x), num_keys=3)
    with pytest.raises(ValueError, match="sort: cannot sort a 0-d"):
        lax.sort(np.float64(1.0))
    with pytest.raises(TypeError, match="sort needs at least one operand"):
        lax.sort(())
    with pytest.raises(TypeError, match="sort: operands must have one shape"):
        fad.vmap(lambda a, b: lax.sort((a, b)), in_axes=(0, None))(x, x)


def test_argsort_is_not_differentiable_but_sort_through_it_is():
    x = np.array([0.3, -1.0, 2.0])
    g = fad.grad(lambda x: lax.reduce_sum(lax.mul(lax.sort(x), np.array([1.0, 2.0, 3.0])),
                                          (0,)))(x)
    np.testing.assert_allclose(g, [2.0, 1.0, 3.0])
    _, t = fad.jvp(lax.argsort, (x,), (np.ones(3),))
    assert np.asarray(t).dtype == fad.float0


# -- top_k ------------------------------------------------------------------------------------

@SETTINGS
@given(sa=shape_and_axis(), data=st.data())
def test_top_k(sa, data):
    shape, _ = sa
    k = data.draw(st.integers(0, shape[-1]))
    x = distinct(shape)
    values, idx = lax.top_k(x, k)
    want = np.argsort(-x, -1, kind="stable")[..., :k]
    np.testing.assert_array_equal(idx, want)
    np.testing.assert_array_equal(values, np.take_along_axis(x, want, -1))
    check_jaxpr(lambda x: lax.top_k(x, k), (x,))
    check_grads(lambda x: lax.top_k(x, k)[0], (x,), order=2)
    in_axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check_vmap(lambda x: lax.top_k(x, k), (stacked(x, in_axis),), in_axes=in_axis)


def test_top_k_ties_and_errors():
    values, idx = lax.top_k(np.array([1, 5, 5, -3], np.int32), 3)
    assert values.tolist() == [5, 5, 1] and idx.tolist() == [1, 2, 0]
    assert lax.top_k(np.array([True, False, True]), 1)[1].tolist() == [0]
    with pytest.raises(ValueError, match="top_k: k=4 is out of range"):
        lax.top_k(np.ones(3), 4)
    with pytest.raises(ValueError, match="top_k: the operand must have at least one axis"):
        lax.top_k(np.float64(1.0), 1)


# -- take_along_axis (private; the gather behind the derivatives) -----------------------------

def test_take_along_axis_and_its_transpose():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    idx = rng.integers(0, 4, (3, 6))    # repeated indices: the transpose must add
    np.testing.assert_array_equal(take_along_axis(x, idx, 1), np.take_along_axis(x, idx, 1))
    check_grads(lambda x: take_along_axis(x, idx, 1), (x,), order=2)
    check_jaxpr(lambda x: fad.vjp(lambda x: take_along_axis(x, idx, -1), x)[1](
        np.ones((3, 6))), (x,))
    (g,) = fad.vjp(lambda x: take_along_axis(x, idx, 1), x)[1](np.ones((3, 6)))
    np.testing.assert_array_equal(g, [np.bincount(r, minlength=4) for r in idx])
    for in_axes in [(0, None), (None, 1), (1, 0), (2, 2)]:
        args = (x if in_axes[0] is None else stacked(x, in_axes[0]),
                idx if in_axes[1] is None else np.stack([idx, idx[::-1], idx[:, ::-1]],
                                                        in_axes[1]))
        check_vmap(lambda x, i: take_along_axis(x, i, 1), args, in_axes=in_axes)
        check_vmap(lambda x, i: fad.vjp(lambda x: take_along_axis(x, i, 1), x)[1](
            np.ones((3, 6)))[0], args, in_axes=in_axes)
    with pytest.raises(TypeError, match="take_along_axis: indices must be integers"):
        fad.make_jaxpr(lambda x: take_along_axis(x, x, 1))(x)
