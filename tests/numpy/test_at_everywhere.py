"""Issue 13, part 6: JAX's update idiom ``x.at[idx].op(v)`` on every array fad.numpy gives.

fad.numpy returns plain NumPy arrays when nothing is traced, and its constants inside a
transformation are NumPy arrays too, so importing fad.numpy gives NumPy's arrays and
scalars the ``.at`` property (``fad/numpy/_numpy_at.py``). Oracles: NumPy's in-place
updates on a copy (``out[idx] = v``, ``np.add.at`` ...), a Python loop over the indices for
out-of-bounds modes, closed-form derivatives of the scatter, and ``check_grads``. Every
transformed function is called three times (the staged layer records, replays, compiles)
and compared with the interpreted transformation (``disable_staging``).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad.numpy import _indexing, _numpy_at
from fad.test_util import check_grads

IDX1 = np.array([0, 3, 3, -1])            # a duplicate and a negative index
V1 = np.array([1.5, -2.0, 0.5, 3.0])
IDX2 = (np.array([0, 2, 0]), 1)           # rows (one twice), one column
V2 = np.array([1.5, -2.0, 0.5])

# name -> (fad.numpy call, index, values); each call gives a plain NumPy value
SOURCES = {
    "zeros": (lambda: fnp.zeros(6), IDX1, V1),
    "ones": (lambda: fnp.ones((6,)), IDX1, V1),
    "full": (lambda: fnp.full(6, 2.5), IDX1, V1),
    "zeros_like": (lambda: fnp.zeros_like(np.arange(6.0)), IDX1, V1),
    "ones_like": (lambda: fnp.ones_like(np.arange(6.0)), IDX1, V1),
    "full_like": (lambda: fnp.full_like(np.arange(6.0), 0.25), IDX1, V1),
    "arange": (lambda: fnp.arange(6.0), IDX1, V1),
    "linspace": (lambda: fnp.linspace(0.1, 1.0, 6), IDX1, V1),
    "array": (lambda: fnp.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), IDX1, V1),
    "asarray": (lambda: fnp.asarray([0.5, 1.0, 3.0, 4.0, 5.0, 6.0]), IDX1, V1),
    "eye": (lambda: fnp.eye(3), IDX2, V2),
    "sin": (lambda: fnp.sin(np.arange(6.0)), IDX1, V1),
    "add": (lambda: fnp.add(np.arange(6.0), 0.3), IDX1, V1),
    "cumsum": (lambda: fnp.cumsum(np.arange(6.0)), IDX1, V1),
    "concatenate": (lambda: fnp.concatenate([np.ones(2), np.arange(4.0)]), IDX1, V1),
    "reshape": (lambda: fnp.reshape(np.arange(12.0), (3, 4)), IDX2, V2),
    "dot": (lambda: fnp.dot(np.ones((6, 3)), np.arange(3.0)), IDX1, V1),
    "sort": (lambda: fnp.sort(np.array([5.0, 1.0, 4.0, 2.0, 6.0, 0.3])), IDX1, V1),
    "linalg.inv": (lambda: fnp.linalg.inv(4.0 * np.eye(3)), IDX2, V2),
    "sum (a scalar)": (lambda: fnp.sum(np.arange(6.0)), (), np.array(2.5)),
}
UPDATES = {"set": None, "add": np.add, "subtract": np.subtract, "mul": np.multiply,
           "min": np.minimum, "max": np.maximum}
TRANSFORMED = ["zeros", "ones_like", "full", "linspace", "eye", "sin", "reshape",
               "sum (a scalar)"]


def numpy_update(x, idx, v, op):
    """NumPy's in-place update of a copy of ``x``."""
    out = np.array(x, copy=True)
    if op == "set":
        out[idx] = v
    else:
        UPDATES[op].at(out, idx, v)
    return out


def updated(source, op):
    """``v -> source().at[idx].op(v)``, and the index."""
    make, idx, _ = SOURCES[source]
    return (lambda v: getattr(make().at[idx], op)(v)), idx


def three_calls(transformed, *args):
    """``transformed(*args)`` three times (staged: record, replay, compiled), each equal
    to the interpreted transformation's result; that result."""
    with fad.disable_staging():
        want = transformed(*args)
    for _ in range(3):
        got = transformed(*args)
        for g, w in zip(fad.tree_util.tree_leaves(got), fad.tree_util.tree_leaves(want)):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
    return got


def test_numpy_types_have_at():
    assert all(_numpy_at.INSTALLED.values())
    assert isinstance(np.zeros(2).at, _indexing.IndexUpdateHelper)
    np.testing.assert_array_equal(np.float64(1.5).at[()].add(1.0), 2.5)
    # a record array's field named "at" is found as before
    rec = np.rec.fromarrays([np.arange(3), np.ones(3)], names="at,b")
    np.testing.assert_array_equal(rec.at, np.arange(3))
    with pytest.raises(AttributeError):
        getattr(np.zeros(2, dtype=[("a", float)]), "at")  # noqa: B009


@pytest.mark.parametrize("source", SOURCES)
def test_sources_stay_plain_numpy(source):
    value = SOURCES[source][0]()
    assert type(value) in (np.ndarray, np.float64)


@pytest.mark.parametrize("op", [*UPDATES, "get"])
@pytest.mark.parametrize("source", SOURCES)
def test_eager_matches_numpy_in_place(source, op):
    make, idx, v = SOURCES[source]
    x = make()
    before = np.array(x, copy=True)
    if op == "get":
        got, want = x.at[idx].get(), np.asarray(x)[idx]
    else:
        got, want = getattr(x.at[idx], op)(v), numpy_update(x, idx, v, op)
    assert type(got) is type(want) or np.ndim(want) == 0
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(x, before)   # functional: x itself is untouched


@pytest.mark.parametrize("op", UPDATES)
@pytest.mark.parametrize("source", TRANSFORMED)
def test_jit_and_vmap(source, op):
    f, idx = updated(source, op)
    v = SOURCES[source][2]
    base = SOURCES[source][0]()
    np.testing.assert_allclose(three_calls(fad.jit(f), v), numpy_update(base, idx, v, op))
    vs = np.stack([v, 2.0 * v - 1.0])
    got = three_calls(fad.vmap(f), vs)
    np.testing.assert_allclose(got, np.stack([numpy_update(base, idx, w, op) for w in vs]))


def _scatter_matrix(base, idx, m, last_wins):
    """``P`` with ``ravel(base.at[idx].add(v)) - ravel(base) = P @ v`` (``set``: only the
    last write to each position counts)."""
    pos = np.arange(base.size).reshape(base.shape)[idx].reshape(-1)
    pos = np.broadcast_to(pos, (m,)) if pos.size == 1 else pos
    p = np.zeros((base.size, m))
    for k, q in enumerate(pos):
        if last_wins:
            p[q] = 0.0
        p[q, k] += 1.0
    return p


@pytest.mark.parametrize("op", ["add", "set"])
@pytest.mark.parametrize("source", TRANSFORMED)
def test_grad_jvp_hessian_closed_form(source, op):
    """``y = base.at[idx].op(v)`` is affine in ``v``: ``y = c + P v``; for
    ``f = sum(w * y**2)`` the gradient is ``2 P^T (w * y)`` and the Hessian ``2 P^T W P``."""
    g, idx = updated(source, op)
    base, v = SOURCES[source][0](), SOURCES[source][2]
    w = np.linspace(0.5, 2.0, np.size(base)).reshape(np.shape(base))

    def f(v):
        return fnp.sum(w * g(v) ** 2)

    p = _scatter_matrix(np.asarray(base), idx, v.size, op == "set")
    y = numpy_update(base, idx, v, op).reshape(-1)
    shape = np.shape(v)
    np.testing.assert_allclose(three_calls(fad.grad(f), v),
                               (2 * p.T @ (w.reshape(-1) * y)).reshape(shape))
    t = np.linspace(-1.0, 1.0, v.size).reshape(shape)
    out, tangent = three_calls(lambda v, t: fad.jvp(g, (v,), (t,)), v, t)
    np.testing.assert_allclose(out, y.reshape(np.shape(base)))
    np.testing.assert_allclose(tangent, (p @ t.reshape(-1)).reshape(np.shape(base)))
    hess = 2 * p.T @ (w.reshape(-1)[:, None] * p)
    np.testing.assert_allclose(three_calls(fad.hessian(f), v),
                               hess.reshape(shape + shape), atol=1e-12)


@pytest.mark.parametrize("op", ["mul", "min", "max", "subtract"])
@pytest.mark.parametrize("source", ["zeros", "sin", "eye"])
def test_check_grads(source, op):
    g, _ = updated(source, op)
    v = SOURCES[source][2]
    check_grads(g, (v,), order=2, modes=("fwd", "rev"))
    hess = three_calls(fad.hessian(lambda v: fnp.sum(fnp.sin(g(v)))), v)
    np.testing.assert_allclose(hess, np.swapaxes(hess, 0, -1))


def test_mixed_constants_and_tracers_inside_transformations():
    x = np.array([0.3, -1.2, 2.0])

    def f(x):
        a = fnp.zeros_like(x).at[0].set(x[1])            # zeros_like of a tracer
        b = fnp.sin(np.ones(3)).at[1].mul(x[0])           # .at on a constant result
        c = fnp.zeros(3).at[1:].set([x[2], 2.0 * x[2]])   # a list holding tracers
        return fnp.sum(a * b + c ** 2)

    def f_numpy(x):
        a = np.zeros(3)
        a[0] = x[1]
        b = np.sin(np.ones(3))
        b[1] *= x[0]
        return np.sum(a * b) + 5.0 * x[2] ** 2

    np.testing.assert_allclose(f(x), f_numpy(x))
    np.testing.assert_allclose(three_calls(fad.jit(f), x), f_numpy(x))
    np.testing.assert_allclose(three_calls(fad.grad(f), x),
                               [0.0, np.sin(1.0), 10.0 * x[2]])
    check_grads(f, (x,), order=2)
    np.testing.assert_allclose(three_calls(fad.vmap(f), np.stack([x, 2 * x])),
                               [f_numpy(x), f_numpy(2 * x)])


def _loop_update(x, idx, v, op, mode):
    """The out-of-bounds oracle (fad's modes): a Python loop over 1-d indices."""
    out = np.array(x, copy=True)
    n = out.shape[0]
    for i, val in zip(np.atleast_1d(idx), np.broadcast_to(v, np.shape(np.atleast_1d(idx)))):
        t = i + n if i < 0 else i
        if not 0 <= t < n:
            if mode != "clip":
                continue
            t = min(max(t, 0), n - 1)
        out[t] = val if op == "set" else UPDATES[op](out[t], val)
    return out


def _loop_get(x, idx, mode):
    n = x.shape[0]
    out = []
    for i in np.atleast_1d(idx):
        t = i + n if i < 0 else i
        if 0 <= t < n:
            out.append(x[t])
        else:
            out.append(np.nan if mode in ("drop", "fill") else x[min(max(t, 0), n - 1)])
    return np.array(out).reshape(np.shape(idx))


@pytest.mark.parametrize("mode", [None, "promise_in_bounds", "clip", "drop", "fill"])
def test_out_of_bounds_modes_eager_and_jit(mode):
    x = fnp.arange(1.0, 6.0)
    idx = np.array([0, 7, -8, -1, 4])
    v = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    for op in UPDATES:
        want = _loop_update(x, idx, v, op, mode)
        np.testing.assert_array_equal(getattr(x.at[idx], op)(v, mode=mode), want)
        jitted = fad.jit(lambda i, v, op=op: getattr(fnp.arange(1.0, 6.0).at[i], op)(
            v, mode=mode))
        np.testing.assert_array_equal(three_calls(jitted, idx, v), want)
    get_want = _loop_get(x, idx, mode)
    np.testing.assert_array_equal(x.at[idx].get(mode=mode), get_want)
    np.testing.assert_array_equal(
        three_calls(fad.jit(lambda i: fnp.arange(1.0, 6.0).at[i].get(mode=mode)), idx),
        get_want)


def test_traced_index_under_vmap_and_grad():
    idx = np.array([0, 4, -1, 9, -7])    # the last two are out of bounds: dropped

    def f(v, i):
        return fnp.zeros(5).at[i].add(v)

    got = three_calls(fad.vmap(f), np.arange(1.0, 6.0), idx)
    want = np.stack([_loop_update(np.zeros(5), i, v, "add", None)
                     for v, i in zip(np.arange(1.0, 6.0), idx)])
    np.testing.assert_array_equal(got, want)
    grads = three_calls(fad.vmap(fad.grad(lambda v, i: fnp.sum(f(v, i) * np.arange(5.0)))),
                        np.ones(5), idx)
    np.testing.assert_array_equal(grads, [0.0, 4.0, 4.0, 0.0, 0.0])


def test_errors_are_the_same_eagerly_and_traced():
    x = fnp.zeros(3)
    with pytest.raises(ValueError, match="mode must be"):
        x.at[0].set(1.0, mode="wrap")                 # in bounds, still refused
    with pytest.raises(ValueError, match="mode must be"):
        x.at[0].get(mode="wrap")
    for bad in (True, np.array(True), 1.5):
        with pytest.raises(IndexError):
            x.at[bad].set(1.0)
        with pytest.raises(IndexError):
            fad.jit(lambda v, bad=bad: fnp.zeros(3).at[bad].set(v))(1.0)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 5), op=st.sampled_from(list(UPDATES)),
       mode=st.sampled_from([None, "clip", "drop"]), data=st.data())
def test_random_indices_eager_equals_jit(n, op, mode, data):
    idx = np.array(data.draw(st.lists(st.integers(-n - 2, n + 1), min_size=1, max_size=6)))
    v = np.array(data.draw(st.lists(st.floats(-4, 4), min_size=idx.size,
                                    max_size=idx.size)))
    x = fnp.linspace(-1.0, 1.0, n)
    want = _loop_update(x, idx, v, op, mode)
    np.testing.assert_array_equal(getattr(x.at[idx], op)(v, mode=mode), want)
    jitted = fad.jit(lambda i, v: getattr(fnp.linspace(-1.0, 1.0, n).at[i], op)(v, mode=mode))
    np.testing.assert_array_equal(jitted(idx, v), want)
