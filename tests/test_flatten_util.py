"""fad.flatten_util.ravel_pytree: the flat vector against NumPy's own concatenation, the
round trip (structure, shapes, dtypes), and unravel under grad, vmap and jit."""
import collections

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad.flatten_util import ravel_pytree
from fad.tree_util import tree_leaves, tree_map, tree_structure

Point = collections.namedtuple("Point", "x y")


def _assert_trees_equal(a, b):
    assert tree_structure(a) == tree_structure(b)
    for x, y in zip(tree_leaves(a), tree_leaves(b)):
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)


MIXED = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.int64(7),
         "flags": [np.array([True, False]), None], "p": Point(1.5, np.zeros((0, 2)))}


def test_mixed_dtypes_promote_and_come_back():
    flat, unravel = ravel_pytree(MIXED)
    leaves = tree_leaves(MIXED)
    expected = np.concatenate([np.ravel(np.asarray(x)) for x in leaves]).astype(np.float64)
    assert flat.dtype == np.float64 and flat.ndim == 1
    np.testing.assert_array_equal(flat, expected)
    _assert_trees_equal(unravel(flat), tree_map(np.asarray, MIXED))


def test_one_dtype_keeps_it_and_unravel_follows_the_vector():
    tree = (np.ones((2, 2), np.float32), [np.zeros(3, np.float32)])
    flat, unravel = ravel_pytree(tree)
    assert flat.dtype == np.float32 and flat.shape == (7,)
    back = unravel(flat.astype(np.float64))     # dtype-polymorphic: float64 in, float64 out
    assert all(np.asarray(x).dtype == np.float64 for x in tree_leaves(back))
    assert [np.shape(x) for x in tree_leaves(back)] == [(2, 2), (3,)]


def test_flat_vector_does_not_alias_the_leaf():
    a = np.ones(3)
    flat, _ = ravel_pytree(a)
    flat[0] = 5.0
    assert a[0] == 1.0


def test_empty_tree_is_a_length_zero_float_vector():
    for tree in ({}, (), [None, {}]):
        flat, unravel = ravel_pytree(tree)
        assert flat.shape == (0,) and flat.dtype == np.float64
        assert unravel(flat) == tree


def test_unravel_checks_length_and_mixed_dtype():
    flat, unravel = ravel_pytree({"a": np.ones(2, np.float32), "b": np.int32(1)})
    with pytest.raises(ValueError, match="length 3"):
        unravel(np.ones(4))
    with pytest.raises(ValueError, match="length 3"):
        unravel(np.ones((3, 1)))
    with pytest.raises(TypeError, match="promoted dtype float64"):
        unravel(np.ones(3, np.float32))
    assert "3 float64" in repr(unravel)


def test_complex_leaves():
    flat, unravel = ravel_pytree([np.array([1.0, 2.0]), np.array(1 + 2j)])
    np.testing.assert_array_equal(flat, [1, 2, 1 + 2j])
    back = unravel(np.array([3 + 1j, 4, 5j]))      # real leaf keeps the real part
    np.testing.assert_array_equal(back[0], [3.0, 4.0])
    assert back[0].dtype == np.float64 and back[1] == 5j


def test_grad_through_unravel():
    tree = {"w": np.array([[1.0, 2.0], [3.0, 4.0]]), "b": np.array(0.5)}
    flat, unravel = ravel_pytree(tree)

    def loss(v):
        t = unravel(v)
        return fnp.sum(t["w"] ** 2) * t["b"]

    # d/dw = 2 w b, d/db = sum(w^2); flat order: b, then w
    expected = np.concatenate([[30.0], (2 * tree["w"] * 0.5).ravel()])
    np.testing.assert_allclose(fad.grad(loss)(flat), expected)
    np.testing.assert_allclose(fad.jit(fad.grad(loss))(flat), expected)


def test_grad_through_ravel():
    # ravel_pytree on tracers: the gradient of a function of the flat vector
    def f(tree):
        flat, _ = ravel_pytree(tree)
        return fnp.sum(flat ** 3)
    tree = {"a": np.array([1.0, 2.0]), "b": 3.0}
    g = fad.grad(f)(tree)
    np.testing.assert_allclose(g["a"], [3.0, 12.0])
    np.testing.assert_allclose(g["b"], 27.0)


def test_vmap_and_jit_of_unravel():
    tree = {"a": np.zeros((2, 3), np.float32), "b": np.zeros(2, np.float32)}
    _, unravel = ravel_pytree(tree)
    batch = np.arange(32, dtype=np.float32).reshape(4, 8)
    out = fad.vmap(unravel)(batch)
    for i in range(4):
        _assert_trees_equal(tree_map(lambda x: x[i], out), unravel(batch[i]))
    _assert_trees_equal(fad.jit(unravel)(batch[1]), unravel(batch[1]))


def test_jit_of_ravel_pytree():
    tree = {"a": np.ones(2, np.float32), "b": np.arange(3)}
    flat = fad.jit(lambda t: ravel_pytree(t)[0])(tree)
    np.testing.assert_array_equal(flat, ravel_pytree(tree)[0])
    assert flat.dtype == np.float64


DTYPES = st.sampled_from([np.float32, np.float64, np.int32, np.int64, np.bool_, np.complex64])


@st.composite
def trees(draw):
    n = draw(st.integers(0, 4))
    leaves = []
    for _ in range(n):
        dtype = np.dtype(draw(DTYPES))
        # integers stay exact through float64 (a promoted vector must hold them)
        elements = st.integers(-1000, 1000) if dtype.kind == "i" else None
        shape = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)
        leaves.append(draw(hnp.arrays(dtype, shape, elements=elements)))
    return {"first": leaves[:n // 2], "rest": tuple(leaves[n // 2:])}


@settings(max_examples=25, deadline=None)
@given(trees())
def test_round_trip_on_drawn_trees(tree):
    flat, unravel = ravel_pytree(tree)
    leaves = tree_leaves(tree)
    assert flat.ndim == 1 and flat.size == sum(x.size for x in leaves)
    if leaves:
        assert flat.dtype == np.result_type(*[x.dtype for x in leaves])
    _assert_trees_equal(unravel(flat), tree)

