"""NumPy indexing on tracers and ``x.at[idx]`` updates, against NumPy's own indexing:
staged values and shapes, derivatives, vmap over every axis, traced index arrays."""
from __future__ import annotations

import numpy as np
import pytest

import fad
from fad.test_util import check_matches_numpy
import fad.numpy as fnp
from fad.test_util import check_grads, check_vmap

RNG = np.random.default_rng(3)
X = RNG.standard_normal((3, 4, 5))


check_numpy = check_matches_numpy


INDICES = {
    "int": 1, "neg_int": -1, "slice": slice(1, None), "rev": slice(None, None, -1),
    "rev_step": slice(None, None, -2), "slices": (slice(1, 3), slice(None, None, 2)),
    "ellipsis_int": (Ellipsis, 1), "none": None, "none_mid": (slice(None), None, 1),
    "none_end": (Ellipsis, None), "ints": (1, -2, 3), "empty": slice(5, 10),
    "clipped": slice(-10, 2), "empty_rev": slice(3, 1), "rev_inner": (slice(None, None, -3),
                                                                      slice(1, -1)),
    "rev_bounds": (slice(2, 0, -1), slice(-1, -5, -2)),
    "array": [0, 2], "arrays": ([0, -1], [1, 2]), "array_second": (slice(None), [0, 2]),
    "separated": ([[0], [2]], slice(None), [1, 3]),
    "adjacent_late": (slice(None), [0, 1], [2, 3]),
    "int_array_separated": (1, slice(None), [0, 2]),
    "int_array_adjacent": (slice(None), 1, [0, 2]),
    "none_between": ([0, 1], None, slice(None), [2, 4]),
    "none_first": (None, [0, 1], slice(None), [2]),
    "ellipsis_array": (Ellipsis, [1, 2]),
    "array_2d": np.array([[0, 1], [2, 0]]),
    "array_slice_array": ([0, 2], slice(1, 3), [[1], [4]]),
    "mask_2d": X[:, :, 0] > 0, "mask_mid": (slice(None), np.array([True, False, True, True])),
    "mask_full": X > 0, "mask_and_array": (np.array([True, False, True]), slice(None), [1, 2]),
    "empty_array": (slice(None), np.array([], dtype=np.intp)),
}


@pytest.mark.parametrize("name", INDICES)
def test_getitem_matches_numpy(name):
    idx = INDICES[name]
    check_numpy(lambda x: x[idx], X)
    check_numpy(lambda x: x[idx], X.astype(np.int32))
    if np.asarray(X[idx]).size:
        check_grads(lambda x: x[idx], (X,), order=1)
    for ax in (0, 1, 3):
        check_vmap(lambda x: x[idx], (np.stack([X, X + 1, X * 2], axis=min(ax, 3)),), ax)


def test_traced_integer_indices():
    i = np.array([2, 0, -1, 1])
    j = np.array([[0], [3]])
    check_numpy(lambda x, i: x[i], X, i)
    check_numpy(lambda x, i, j: x[i, :, j], X, i, j)
    check_numpy(lambda x, i, j: x[:, j, i], X, i, j)
    check_numpy(lambda x, k: x[k], X, np.int64(-2))
    check_numpy(lambda x, k: x[1, k, ::-1], X, np.int32(3))
    check_numpy(lambda x, k: x[[0, 2], k], X, np.int64(1))
    check_grads(lambda x: x[i, 1:, j], (X,), order=2)
    # an unbatched NumPy operand is indexed through fad.numpy (NumPy's own [] cannot see
    # tracers); batched operands are tracers and index directly
    check_vmap(lambda x, i: fnp.take(x, i, axis=0), (X, np.array([[0, 1], [2, 2], [1, 0]])),
               (None, 0))
    check_vmap(lambda x, i: x[:, i], (X, np.array([[0, 1, 2], [3, 2, 1]])), (0, 1))
    check_vmap(lambda x, k: x[k, 1], (X, np.array([0, 2, 1, 1, 0])), (2, 0))


def test_traced_scalar_index_in_a_loop_body():
    def f(x):
        return sum(x[fnp.asarray(k)] * k for k in range(3))
    check_grads(f, (X,), order=1)


def test_index_errors():
    for bad, exc, match in [
        (5, IndexError, "out of bounds"), ((0, 0, 0, 0), IndexError, "too many indices"),
        ([0, 7], IndexError, "out of bounds"), ((Ellipsis, Ellipsis), IndexError, "single"),
        (np.array([True, False]), IndexError, "boolean index did not match"),
        (1.5, IndexError, "valid indices"), (([0, 1], [0, 1, 2]), IndexError, "broadcast"),
    ]:
        with pytest.raises(exc, match=match):
            fad.make_jaxpr(lambda x: x[bad])(X)
    with pytest.raises(IndexError, match="concrete"):
        fad.make_jaxpr(lambda x: x[x > 0])(X)
    with pytest.raises(TypeError, match=r"\.at\[idx\]\.set"):
        def assign(x):
            x[0] = 1.0
            return x
        fad.make_jaxpr(assign)(X)


def test_boolean_mask_under_grad_is_concrete():
    g = fad.grad(lambda x: fnp.sum(x[x > 0] ** 2))(X)
    np.testing.assert_allclose(g, np.where(X > 0, 2 * X, 0.0))


UPDATES = {
    "int": 1, "slice": (slice(None), slice(1, 3)), "rev": (Ellipsis, slice(None, None, -2)),
    "array_dup": [0, 2, 0], "arrays": ([0, 1], slice(None), [4, 4]), "mask": X > 0.5,
    "none": (None, 1),
}


@pytest.mark.parametrize("name", UPDATES)
@pytest.mark.parametrize("op", ["set", "add", "mul", "min", "max"])
def test_at_updates_match_numpy(name, op):
    idx = UPDATES[name]
    vals = np.asarray(X[idx]) * 0 + 0.5 + np.arange(np.asarray(X[idx]).size).reshape(
        np.shape(X[idx])) % 3
    if name == "array_dup" and op in ("set", "mul"):
        vals = np.broadcast_to(vals[0], vals.shape).copy() if op == "set" else vals
    expected = X.copy()
    ufunc = {"add": np.add, "mul": np.multiply, "min": np.minimum, "max": np.maximum}
    if op == "set":
        expected[idx] = vals
    else:
        ufunc[op].at(expected, idx, vals)
    before = X.copy()
    eager = getattr(fnp.at(X)[idx], op)(vals)
    np.testing.assert_array_equal(X, before)          # never mutates its input
    np.testing.assert_allclose(eager, expected)
    traced = fad.jit(lambda x, v: getattr(fnp.at(x)[idx], op)(v))(X, vals) if hasattr(
        fad, "jit") else None
    check_numpy(lambda x, v: getattr(fnp.at(x)[idx], op)(v), X, vals)
    got = fad.jvp(lambda x: getattr(fnp.at(x)[idx], op)(vals), (X,), (X,))[0]
    np.testing.assert_allclose(got, expected)
    if traced is not None:
        np.testing.assert_allclose(traced, expected)


def test_at_derivatives_and_vmap():
    idx = ([0, 2], slice(None), [1, 3])
    vals = np.ones((2, 4))
    for op in ("set", "add", "mul"):
        check_grads(lambda x, v: getattr(fnp.at(x)[idx], op)(v), (X, vals * 0.7), order=2)
        check_vmap(lambda x, v: getattr(fnp.at(x)[idx], op)(v), (X, np.stack([vals, 2 * vals])),
                   (None, 0))
        check_vmap(lambda x, v: getattr(fnp.at(x)[1:, 2], op)(v),
                   (np.stack([X, X + 1], 1), 2.0), (1, None))
    check_grads(lambda x: fnp.at(x)[0, 1].get() * fnp.at(x)[:, 2].subtract(1.0), (X,), order=2)


def test_at_with_traced_indices_and_values():
    i = np.array([2, 0, 2])
    check_numpy(lambda x, i: fnp.at(x)[i].add(1.0), X, i)
    check_numpy(lambda x, i, v: fnp.at(x)[:, i].set(v), X, np.array([1, 3]), np.ones((3, 2, 5)))
    check_numpy(lambda v: fnp.at(np.zeros(4))[np.array([1, 1, 3])].add(v), np.ones(3))
    check_vmap(lambda x, i: fnp.at(x)[i].set(0.0), (X, np.array([[0, 1], [2, 2]])), (None, 0))
    np.testing.assert_array_equal(fnp.at(X)[0].get(), X[0])


def test_take():
    check_numpy(lambda x: fnp.take(x, [2, 0], axis=1), X)
    check_numpy(lambda x: fnp.take(x, np.array([[3, 1]])), X)
    check_numpy(lambda x, i: fnp.take(x, i, axis=-1), X, np.array([4, 0, -1]))
    check_numpy(lambda x: x.take([1, 1], axis=0), X)
    idx = np.argsort(X, axis=1)
    check_numpy(lambda x: fnp.take_along_axis(x, idx, axis=1), X)
    check_numpy(lambda x, i: fnp.take_along_axis(x, i, axis=1), X, idx)
    check_grads(lambda x: fnp.take_along_axis(x, idx, axis=1), (X,), order=1)
