"""fad.ops segment reductions against a NumPy loop (``np.add.at`` and kin), derivatives
against finite differences, vmap against a Python loop, jit against eager."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
from fad import ops
from fad.errors import ConcretizationTypeError
from fad.test_util import check_grads, check_jaxpr, check_vmap

SETTINGS = settings(max_examples=15, deadline=None)
REDUCERS = {"segment_sum": (np.add, 0), "segment_prod": (np.multiply, 1),
            "segment_max": (np.maximum, -np.inf), "segment_min": (np.minimum, np.inf)}


def reference(name, data, ids, n):
    ufunc, identity = REDUCERS[name]
    out = np.full((n,) + data.shape[1:], identity, data.dtype)
    keep = (ids >= 0) & (ids < n)
    ufunc.at(out, ids[keep], data[keep])
    return out


@SETTINGS
@given(rows=st.integers(1, 6), tail=st.sampled_from([(), (2,), (2, 3)]),
       n=st.integers(1, 5), seed=st.integers(0, 2 ** 16))
def test_segments_match_a_loop(rows, tail, n, seed):
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((rows,) + tail)
    ids = rng.integers(-1, n + 1, rows)   # some out of range: dropped
    for name in REDUCERS:
        fn = getattr(ops, name)
        np.testing.assert_allclose(fn(data, ids, n), reference(name, data, ids, n))
        np.testing.assert_allclose(fad.jit(lambda d, i: fn(d, i, n))(data, ids),
                                   reference(name, data, ids, n))
        check_jaxpr(lambda d: fn(d, ids, n), (data,))


@pytest.mark.parametrize("name", list(REDUCERS))
def test_segment_derivatives_vmap(name):
    fn = getattr(ops, name)
    data = np.array([[1., 2.], [3., -4.], [5., 6.], [0.5, 7.], [0.25, 0.1]])
    ids = np.array([0, 2, 0, 7, 1])   # every segment filled, one row dropped
    check_grads(lambda d: fn(d, ids, 3), (data,), order=2)
    check_vmap(lambda d: fn(d, ids, 3), (data,), in_axes=1)
    check_vmap(lambda d, i: fn(d, i, 3), (np.stack([data, 2 * data]),
                                         np.stack([ids, ids[::-1]])))
    assert np.all(fad.grad(lambda d: fn(d, ids, 3).sum())(data)[3] == 0)   # dropped row


def test_segment_ties_and_empty_segments():
    data = np.array([2.0, 2.0, 1.0])
    ids = np.array([0, 0, 1])
    np.testing.assert_array_equal(fad.grad(lambda d: ops.segment_max(d, ids, 3)[:2].sum())(
        data), [0.5, 0.5, 1.0])
    np.testing.assert_array_equal(ops.segment_max(data, ids, 3), [2.0, 1.0, -np.inf])
    np.testing.assert_array_equal(ops.segment_min(np.array([3, 1], np.int32),
                                                  np.array([1, 1]), 2),
                                  [np.iinfo(np.int32).max, 1])
    np.testing.assert_array_equal(ops.segment_prod(np.array([0.0, 3.0]), np.array([0, 0]), 1),
                                  [0.0])
    np.testing.assert_array_equal(fad.grad(lambda d: ops.segment_prod(d, np.array([0, 0]), 1)
                                           .sum())(np.array([0.0, 3.0])), [3.0, 0.0])


def test_modes_and_num_segments():
    data, ids = np.array([1.0, 2.0, 4.0]), np.array([0, 5, -1])
    np.testing.assert_array_equal(ops.segment_sum(data, ids, 2), [1.0, 0.0])
    np.testing.assert_array_equal(ops.segment_sum(data, ids, 2, mode="clip"), [5.0, 2.0])
    np.testing.assert_array_equal(ops.segment_sum(data, np.array([0, 3, 3])), [1, 0, 0, 6])
    np.testing.assert_array_equal(   # known ids under grad: the count is read from them
        fad.grad(lambda d: ops.segment_sum(d, np.array([0, 2, 2])).sum())(data), [1, 1, 1])


def test_errors():
    data, ids = np.array([1.0, 2.0]), np.array([0, 1])
    with pytest.raises(ConcretizationTypeError, match="num_segments is required"):
        fad.jit(ops.segment_sum)(data, ids)
    with pytest.raises(ConcretizationTypeError, match="static"):
        fad.jit(lambda d, n: ops.segment_sum(d, ids, n))(data, 2)
    with pytest.raises(TypeError, match="integers"):
        ops.segment_sum(data, np.array([0.0, 1.0]), 2)
    with pytest.raises(ValueError, match="one id per row"):
        ops.segment_sum(data, np.array([0, 1, 1]), 2)
    with pytest.raises(ValueError, match="mode"):
        ops.segment_sum(data, ids, 2, mode="wrap")
