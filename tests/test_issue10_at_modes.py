"""Issue 10, item 5: out-of-bounds indices in ``x.at[idx]`` and ``take``.

Each ``mode`` must give one answer whether the index (and the array) is a NumPy value, a
``jit`` tracer, a ``vmap`` batch or a value under ``grad``; the oracle is a Python loop
over the indices. Defaults follow JAX: updates out of bounds are dropped, ``get`` clamps.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad.errors import ConcretizationTypeError
from fad.test_util import check_grads

MODES = [None, "promise_in_bounds", "clip", "drop", "fill"]
OPS = ["set", "add", "subtract", "mul", "min", "max"]
COMBINE = {"set": lambda a, b: b, "add": np.add, "subtract": np.subtract,
           "mul": np.multiply, "min": np.minimum, "max": np.maximum}
X = np.arange(1.0, 13.0).reshape(4, 3) * 0.5
# in bounds, negative, past the end, before the start, duplicates
IDX = np.array([0, -1, 4, 9, -5, -9, 2, 2, 1])
VALS = np.linspace(-3.0, 5.0, IDX.size * 3).reshape(IDX.size, 3)


def _target(i, n, clip):
    """Where index ``i`` lands on an axis of size ``n``, or None when it is dropped."""
    w = i + n if i < 0 else i
    if 0 <= w < n:
        return w
    return min(max(w, 0), n - 1) if clip else None


def oracle_update(x, idx, vals, op, mode):
    out = np.array(x, copy=True)
    idx = np.atleast_1d(idx)
    vals = np.broadcast_to(vals, idx.shape + x.shape[1:])
    for i, v in zip(idx, vals):
        t = _target(int(i), x.shape[0], mode == "clip")
        if t is not None:
            out[t] = COMBINE[op](out[t], v)
    return out


def oracle_get(x, idx, mode, fill=np.nan):
    clip = mode not in ("drop", "fill")
    rows = [x[t] if t is not None else np.full(x.shape[1:], fill, x.dtype)
            for t in (_target(int(i), x.shape[0], clip) for i in np.atleast_1d(idx))]
    return np.array(rows, x.dtype).reshape(np.shape(idx) + x.shape[1:])


def _update(op, mode):
    return lambda x, i, v: getattr(fnp.at(x)[i], op)(v, mode=mode)


def _eager_jit_nojit(f, *args):
    with fad.disable_jit():
        nojit = fad.jit(f)(*args)
    return f(*args), fad.jit(f)(*args), nojit


# -- the item's regression test -----------------------------------------------------------------

def test_item5_at_out_of_bounds_traced_index_is_dropped_not_clamped():
    x = np.arange(3.0)
    add10 = lambda x, i: fnp.at(x)[i].add(10.0)  # noqa: E731
    # before the fix: jit gave [0, 1, 12] (clamped onto the last element), eager raised
    np.testing.assert_array_equal(fad.jit(add10)(x, np.int64(5)), x)
    np.testing.assert_array_equal(fad.jit(add10)(x, np.int64(-5)), x)
    np.testing.assert_array_equal(fnp.at(x)[5].add(10.0), x)
    np.testing.assert_array_equal(fad.vmap(add10, (None, 0))(x, np.array([5, 1]))[0], x)
    np.testing.assert_array_equal(fad.jit(add10)(x, np.int64(-1)), [0, 1, 12])


# -- every mode and op, every way of evaluating ---------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("op", OPS)
def test_item5_update_modes_agree_eager_jit_vmap_grad(op, mode):
    f = _update(op, mode)
    expected = oracle_update(X, IDX, VALS, op, mode)
    for got in _eager_jit_nojit(f, X, IDX, VALS):
        np.testing.assert_allclose(got, expected, rtol=1e-15)
    # a batch of index arrays and values, against the oracle per example
    idxs, vals = np.stack([IDX, IDX[::-1]]), np.stack([VALS, 2 * VALS])
    batched = fad.vmap(f, (None, 0, 0))(X, idxs, vals)
    for k in range(2):
        np.testing.assert_allclose(batched[k], oracle_update(X, idxs[k], vals[k], op, mode))
    # under jvp the values are concrete: same answer
    primal, _ = fad.jvp(lambda x: f(x, IDX, VALS), (X,), (np.ones_like(X),))
    np.testing.assert_allclose(primal, expected)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("i", [1, -1, 4, -5, 7, -9])
def test_item5_static_scalar_index_updates_and_gets(mode, i):
    for op in ("set", "add", "max"):
        expected = oracle_update(X, i, VALS[0], op, mode)
        for got in _eager_jit_nojit(lambda x, v: getattr(fnp.at(x)[i], op)(v, mode=mode),
                                    X, VALS[0]):
            np.testing.assert_array_equal(got, expected)
        # the index traced too
        np.testing.assert_array_equal(fad.jit(_update(op, mode))(X, np.int64(i), VALS[0]),
                                      expected)
    expected = oracle_get(X, i, mode)
    np.testing.assert_array_equal(fnp.at(X)[i].get(mode=mode), expected)
    np.testing.assert_array_equal(fad.jit(lambda x, i: x.at[i].get(mode=mode))(X, i),
                                  expected)


def test_item5_plain_static_index_out_of_bounds_still_raises():
    with pytest.raises(IndexError, match="out of bounds"):
        fad.make_jaxpr(lambda x: x[5])(X)
    # while .at drops it, static or not
    np.testing.assert_array_equal(fad.jit(lambda x: x.at[5].set(0.0))(X), X)


@pytest.mark.parametrize("mode", MODES)
def test_item5_get_modes_agree(mode):
    expected = oracle_get(X, IDX, mode)
    f = lambda x, i: fnp.at(x)[i].get(mode=mode)  # noqa: E731
    for got in _eager_jit_nojit(f, X, IDX):
        np.testing.assert_array_equal(got, expected)
    batched = fad.vmap(f, (None, 0))(X, np.stack([IDX, IDX[::-1]]))
    np.testing.assert_array_equal(batched[1], oracle_get(X, IDX[::-1], mode))
    # plain indexing with a traced index clamps, as get() does by default
    if mode is None:
        np.testing.assert_array_equal(fad.jit(lambda x, i: x[i])(X, IDX), expected)


def test_item5_get_fill_value_and_default_fills():
    got = fad.jit(lambda x, i: x.at[i].get(mode="fill", fill_value=-1.0))(X, IDX)
    np.testing.assert_array_equal(got, oracle_get(X, IDX, "fill", -1.0))
    for dtype, fill in [(np.int32, np.iinfo(np.int32).min), (np.uint8, 255), (np.bool_, True),
                        (np.float32, np.nan), (np.complex128, np.nan)]:
        x = np.arange(3).astype(dtype)
        f = lambda x, i: fnp.at(x)[i].get(mode="fill")  # noqa: E731
        for got in (f(x, np.array([1, 3])), fad.jit(f)(x, np.array([1, 3]))):
            assert got.dtype == dtype
            np.testing.assert_array_equal(got, np.array([x[1], fill], dtype))


# -- derivatives ---------------------------------------------------------------------------------

W = np.arange(1.0, 13.0).reshape(4, 3) ** 1.5   # cotangent weights, all distinct


def _linear_grads(op, mode):
    """Closed-form gradient of ``sum(W * x.at[IDX].op(VALS))`` for set/add/subtract."""
    n = X.shape[0]
    gx, gv = np.ones_like(X) * W, np.zeros_like(VALS)
    targets = [_target(int(i), n, mode == "clip") for i in IDX]
    last = {t: k for k, t in enumerate(targets) if t is not None}
    for k, t in enumerate(targets):
        if t is None:
            continue            # a dropped update contributes no derivative
        if op == "set":
            gx[t] = 0.0
            gv[k] = W[t] if last[t] == k else 0.0
        else:
            gv[k] = W[t] if op == "add" else -W[t]
    return gx, gv


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("op", ["set", "add", "subtract"])
def test_item5_update_gradients_closed_form(op, mode):
    f = _update(op, mode)

    def loss(x, v):
        return fnp.sum(W * f(x, IDX, v))
    expected = _linear_grads(op, mode)
    grads = [fad.grad(loss, (0, 1))(X, VALS), fad.jit(fad.grad(loss, (0, 1)))(X, VALS)]
    with fad.disable_jit():
        grads.append(fad.jit(fad.grad(loss, (0, 1)))(X, VALS))
    for gx, gv in grads:
        np.testing.assert_allclose(gx, expected[0])
        np.testing.assert_allclose(gv, expected[1])
    # the same through vmap of grad (a batch of values)
    gv = fad.vmap(fad.grad(loss, 1), (None, 0))(X, np.stack([VALS, VALS + 1]))
    np.testing.assert_allclose(gv[1], expected[1])


@pytest.mark.parametrize("mode", ["clip", None])
@pytest.mark.parametrize("op", ["mul", "min", "max"])
def test_item5_nonlinear_update_gradients_finite_differences(op, mode):
    idx = np.array([0, -1, 4, -6, 2])      # no duplicates: min/max stay differentiable
    vals = np.array([[0.3, 9.0, 1.7], [5.1, 0.2, 8.8], [2.2, 3.3, 4.4], [7.5, 0.6, 1.1],
                     [9.9, 0.1, 2.5]])
    check_grads(lambda x, v: _update(op, mode)(x, idx, v), (X + 0.05, vals), order=2)
    check_grads(lambda x, v: fad.jit(_update(op, mode))(x, idx, v), (X + 0.05, vals),
                order=1)


@pytest.mark.parametrize("mode", MODES)
def test_item5_get_gradients(mode):
    fill = 0.0 if mode in ("drop", "fill") else None

    def loss(x):
        return fnp.sum(W[:1] * fnp.at(x)[IDX].get(mode=mode, fill_value=fill)[:, None, :])
    expected = np.zeros_like(X)
    for i in IDX:
        t = _target(int(i), X.shape[0], mode not in ("drop", "fill"))
        if t is not None:                   # a filled element takes no derivative
            expected[t] += W[0]
    np.testing.assert_allclose(fad.grad(loss)(X), expected)
    np.testing.assert_allclose(fad.jit(fad.grad(loss))(X), expected)


# -- several axes, slices, masks ---------------------------------------------------------------

def test_item5_two_index_arrays_and_slices():
    x = np.arange(24.0).reshape(2, 3, 4)
    i, j = np.array([0, 1, 5, -1]), np.array([3, -5, 0, 4])

    def f(x, i, j):
        return fnp.at(x)[i, :, j].add(1.0)
    expected = x.copy()
    for a, b in zip(i, j):
        ta, tb = _target(a, 2, False), _target(b, 4, False)
        if ta is not None and tb is not None:
            expected[ta, :, tb] += 1.0
    for got in _eager_jit_nojit(f, x, i, j):
        np.testing.assert_array_equal(got, expected)
    got = fad.jit(lambda x, i, j: fnp.at(x)[i, 1:, j].get(mode="fill", fill_value=0.0))(x, i, j)
    np.testing.assert_array_equal(got[2], 0.0)
    np.testing.assert_array_equal(got[0], x[0, 1:, 3])
    # a boolean mask and a scalar out of range together: nothing is updated
    mask = np.array([True, False, True])
    np.testing.assert_array_equal(fad.jit(lambda x: x.at[:, mask, 9].set(0.0))(x), x)


# -- take and take_along_axis ------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["wrap", "clip", "fill"])
def test_item5_take_modes_agree(mode):
    idx = np.array([0, 3, -1, -7, 2, 9])
    f = lambda x, i: fnp.take(x, i, axis=1, mode=mode)  # noqa: E731
    if mode == "fill":
        expected = np.stack([oracle_get(row, idx, "fill") for row in X])
    else:
        expected = np.take(X, idx, axis=1, mode=mode)
    for got in _eager_jit_nojit(f, X, idx):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(fad.vmap(f, (None, 0))(X, np.stack([idx, idx]))[1],
                                  expected)
    along = np.broadcast_to(idx, (4, 6))
    g = lambda x, i: fnp.take_along_axis(x, i, 1, mode=mode)  # noqa: E731
    for got in _eager_jit_nojit(g, X, along):
        np.testing.assert_array_equal(got, expected)


def test_item5_take_default_raises_for_concrete_and_fills_for_traced():
    idx = np.array([0, 3])
    with pytest.raises(IndexError, match="out of bounds"):
        fnp.take(X, idx, axis=1)
    with pytest.raises(IndexError, match="out of bounds"):      # concrete under grad
        fad.grad(lambda x: fnp.sum(fnp.take(x, idx, axis=1)))(X)
    got = fad.jit(lambda x, i: fnp.take(x, i, axis=1))(X, idx)
    np.testing.assert_array_equal(got[:, 1], np.nan)
    np.testing.assert_array_equal(got[:, 0], X[:, 0])
    got = fad.jit(lambda x, i: fnp.take_along_axis(x, i, 0))(X, np.array([[0, 4, -1]]))
    np.testing.assert_array_equal(got, [[X[0, 0], np.nan, X[-1, 2]]])


def test_item5_bad_modes_are_clear_errors():
    with pytest.raises(ValueError, match="mode must be"):
        fnp.at(X)[0].add(1.0, mode="wrap")
    with pytest.raises(ValueError, match="mode must be"):
        fnp.at(X)[0].get(mode="bogus")
    with pytest.raises(ValueError, match="fill_value applies"):
        fnp.at(X)[0].get(mode="clip", fill_value=0.0)
    with pytest.raises(ValueError, match="scalar"):
        fnp.at(X)[9].get(mode="fill", fill_value=np.zeros(2))
    with pytest.raises(ValueError, match="mode must be"):
        fnp.take(X, [0], mode="drop")
    with pytest.raises(ValueError, match="fill_value applies"):
        fnp.take(X, [0], mode="clip", fill_value=1.0)
    with pytest.raises(ConcretizationTypeError, match="mode='raise'"):
        fad.jit(lambda x, i: fnp.take(x, i, mode="raise"))(X, np.array([0]))


# -- hypothesis: any shape, any indices --------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 5), cols=st.integers(0, 2), data=st.data(),
       mode=st.sampled_from(MODES), op=st.sampled_from(OPS))
def test_item5_random_indices_match_the_oracle(n, cols, data, mode, op):
    shape = (n,) + (cols,) * (cols > 0)
    x = np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape)
    idx = np.array(data.draw(st.lists(st.integers(-2 * n - 1, 2 * n + 1), max_size=6)),
                   dtype=np.int64)
    vals = np.arange(idx.size * max(cols, 1), dtype=float).reshape(idx.shape + shape[1:]) - 2
    expected = oracle_update(x, idx, vals, op, mode)
    f = _update(op, mode)
    np.testing.assert_array_equal(f(x, idx, vals), expected)
    np.testing.assert_array_equal(fad.jit(f)(x, idx, vals), expected)
    gmode = data.draw(st.sampled_from(MODES))
    np.testing.assert_array_equal(fnp.at(x)[idx].get(mode=gmode), oracle_get(x, idx, gmode))
    np.testing.assert_array_equal(fad.jit(lambda x, i: x.at[i].get(mode=gmode))(x, idx),
                                  oracle_get(x, idx, gmode))
