"""fad.numpy pad, insert/delete/append, rot90/rollaxis, the splits and diff against NumPy
(staged values, shapes and dtypes), their derivatives (order 2, both modes), vmap
against a loop, jit against eager; and lists/tuples holding tracers accepted wherever
NumPy takes an array-like."""
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
RNG = np.random.default_rng(7)
X = RNG.standard_normal((2, 3, 4))
DTYPES = [np.float32, np.float64, np.complex128, np.int64]


def sample(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 3
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def check_all(f, *args, order=2):
    """NumPy agreement (staged), jit against eager, derivatives, vmap over a new axis."""
    check_matches_numpy(f, *args)
    for got, want in zip(fad.tree_util.tree_leaves(fad.jit(f)(*args)),
                         fad.tree_util.tree_leaves(f(*args))):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    check_grads(f, args, order=order)
    check_vmap(f, tuple(np.stack([a, 2 * a + 1]) for a in args))


# -- pad ---------------------------------------------------------------------------------------

MODES = ["constant", "edge", "reflect", "symmetric", "wrap"]


@st.composite
def pad_case(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    form = draw(st.sampled_from(["int", "pair", "per_axis"]))
    width = lambda: draw(st.integers(0, 5))  # noqa: E731
    pw = {"int": width(), "pair": (width(), width()),
          "per_axis": tuple((width(), width()) for _ in shape)}[form]
    return shape, pw, draw(st.sampled_from(MODES)), draw(st.sampled_from(DTYPES)), \
        draw(st.sampled_from(["even", "odd"]))


@SETTINGS
@given(case=pad_case())
def test_pad_matches_numpy(case):
    shape, pw, mode, dtype, reflect_type = case
    kwargs = {"reflect_type": reflect_type} if mode in ("reflect", "symmetric") else {}
    if mode == "constant":
        kwargs = {"constant_values": ((1, 2),) * len(shape)}
    check_matches_numpy(lambda x: fnp.pad(x, pw, mode, **kwargs), sample(shape, dtype))


@pytest.mark.parametrize("mode", MODES + ["reflect_odd"])
def test_pad_grads_vmap_jit(mode):
    kwargs = {"reflect_type": "odd"} if mode == "reflect_odd" else {}
    mode = mode.replace("_odd", "")
    x = X[0]
    check_all(lambda x: fnp.pad(x, ((2, 1), (3, 5)), mode, **kwargs), x)


@pytest.mark.parametrize("pw", [1, (2,), (1, 2), [[1], [2]], ((0, 1), (2, 0)),
                                np.array([[1, 0], [3, 1]]), {1: (1, 2)}, {0: 3}])
def test_pad_width_forms(pw):
    check_matches_numpy(lambda x: fnp.pad(x, pw), X[0])
    check_matches_numpy(lambda x: fnp.pad(x, pw, "wrap"), X[0])


def test_pad_traced_constant_values():
    x = X[0]
    f = lambda x, c: fnp.pad(x, 1, constant_values=c)  # noqa: E731
    np.testing.assert_allclose(fad.jit(f)(x, 2.5), np.pad(x, 1, constant_values=2.5))
    check_grads(f, (x, 2.5), order=2)
    g = lambda x, c: fnp.pad(x, (1, 2), constant_values=[(c, 2 * c), (-c, 0.5)])  # noqa: E731
    np.testing.assert_allclose(fad.jit(g)(x, 1.5), np.pad(x, (1, 2), constant_values=[
        (1.5, 3.0), (-1.5, 0.5)]))
    check_grads(g, (x, 1.5), order=2)
    check_vmap(f, (np.stack([x, x + 1]), np.array([1.0, 2.0])))


def test_pad_errors():
    x = fad.jit(lambda x: fnp.pad(x, 1, "edge"))
    with pytest.raises(ValueError, match="negative"):
        fad.jit(lambda x: fnp.pad(x, -1))(X)
    with pytest.raises(TypeError, match="integral"):
        fad.jit(lambda x: fnp.pad(x, 1.5))(X)
    with pytest.raises(ValueError, match="unsupported keyword"):
        fad.jit(lambda x: fnp.pad(x, 1, "edge", constant_values=2))(X)
    with pytest.raises(NotImplementedError, match="mean"):
        fad.jit(lambda x: fnp.pad(x, 1, "mean"))(X)
    with pytest.raises(ValueError, match="empty axis"):
        fad.jit(lambda x: fnp.pad(x, 1, "reflect"))(np.zeros((0, 2)))
    with pytest.raises(ConcretizationTypeError, match="static pad_width"):
        fad.jit(lambda x, w: fnp.pad(x, w))(X, 1)
    np.testing.assert_array_equal(x(X[0, 0]), np.pad(X[0, 0], 1, "edge"))


# -- insert, delete, append, rot90, rollaxis, splits, diff ---------------------------------------

CASES = {
    "insert_int": lambda x: fnp.insert(x, 1, 5.0, axis=1),
    "insert_many": lambda x: fnp.insert(x, [0, 2, 2], x[:, :1, :] * 2, axis=1),
    "insert_slice": lambda x: fnp.insert(x, slice(0, 3), -1.0, axis=2),
    "insert_flat": lambda x: fnp.insert(x, 3, [1.0, 2.0, 3.0]),
    "insert_row": lambda x: fnp.insert(x, 1, x[:, 0], axis=1),
    "delete_int": lambda x: fnp.delete(x, 1, axis=1),
    "delete_list": lambda x: fnp.delete(x, [0, -1], axis=2),
    "delete_slice": lambda x: fnp.delete(x, slice(None, None, 2)),
    "delete_mask": lambda x: fnp.delete(x, np.array([True, False, True]), axis=1),
    "append_flat": lambda x: fnp.append(x, x[0]),
    "append_axis": lambda x: fnp.append(x, x[:1], axis=0),
    "rot90": fnp.rot90,
    "rot90_k3": lambda x: fnp.rot90(x, 3, (2, 0)),
    "rot90_k2": lambda x: fnp.rot90(x, -2, (1, 2)),
    "rollaxis": lambda x: fnp.rollaxis(x, 2),
    "rollaxis_start": lambda x: fnp.rollaxis(x, 0, 3),
    "rollaxis_neg": lambda x: fnp.rollaxis(x, 1, -1),
    "dsplit": lambda x: fnp.dsplit(x, 2),
    "dsplit_points": lambda x: fnp.dsplit(x, [1, 3]),
    "hsplit": lambda x: fnp.hsplit(x, [1]),
    "vsplit": lambda x: fnp.vsplit(x, 2),
    "array_split": lambda x: fnp.array_split(x, 3, axis=2),
    "diff_n2": lambda x: fnp.diff(x, n=2, axis=1),
    "diff_scalars": lambda x: fnp.diff(x, prepend=0.5, append=-1.0),
    "diff_arrays": lambda x: fnp.diff(x, axis=0, prepend=x[:1], append=x[-1:] * 2),
    "diff_n0": lambda x: fnp.diff(x, n=0),
}


@pytest.mark.parametrize("name", CASES)
def test_shape_functions(name):
    check_all(CASES[name], X, order=2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_shape_functions_dtypes(dtype):
    x = sample((2, 3, 4), dtype)
    for name in ("insert_int", "delete_list", "append_flat", "rot90_k3", "dsplit", "diff_n2"):
        check_matches_numpy(CASES[name], x)
    check_matches_numpy(lambda x: fnp.insert(x, [1], 2.7, axis=0), x)   # cast to x's dtype


def test_shape_errors():
    with pytest.raises(ValueError, match="dsplit only works"):
        fad.jit(lambda x: fnp.dsplit(x, 2))(X[0])
    with pytest.raises(ValueError, match="vsplit only works"):
        fad.jit(lambda x: fnp.vsplit(x, 2))(X[0, 0])
    with pytest.raises(ValueError, match="Axes must be different"):
        fad.jit(lambda x: fnp.rot90(x, 1, (0, 0)))(X)
    with pytest.raises(ConcretizationTypeError, match="static positions"):
        fad.jit(lambda x, i: fnp.delete(x, i))(X, 1)
    with pytest.raises(IndexError):
        fad.jit(lambda x: fnp.delete(x, 7, axis=1))(X)
    # under grad the positions are concrete: they may be tracers
    g = fad.grad(lambda x: fnp.sum(fnp.insert(x, fnp.argmax(x), 10.0) ** 2))(X[0, 0])
    np.testing.assert_allclose(g, 2 * X[0, 0])


# -- lists and tuples holding tracers ------------------------------------------------------------

SEQUENCE_CASES = {
    "array": lambda a, b: fnp.array([a, b]),
    "array_nested": lambda a, b: fnp.array([[a, 1.0], (b, a)]),
    "asarray_tuple": lambda a, b: fnp.asarray((a, 1.0)),
    "stack": lambda a, b: fnp.stack([a, b]),
    "reshape": lambda a, b: fnp.reshape([a, b], (2, 1)),
    "transpose": lambda a, b: fnp.transpose([[a, b]]),
    "flip": lambda a, b: fnp.flip((a, b)),
    "tile": lambda a, b: fnp.tile([a, b], 2),
    "roll": lambda a, b: fnp.roll([a, b, a], 1),
    "repeat": lambda a, b: fnp.repeat((a, b), 2),
    "take": lambda a, b: fnp.take([a, b], 1),
    "sort": lambda a, b: fnp.sort([b, a, 1.0]),
    "argsort": lambda a, b: fnp.argsort([b, a]),
    "full": lambda a, b: fnp.full(2, [a, b]),
    "full_like": lambda a, b: fnp.full_like([a, b], 3.0),
    "pad": lambda a, b: fnp.pad([a, b], 1, "edge"),
    "diff": lambda a, b: fnp.diff([a, b, 2 * a]),
    "insert": lambda a, b: fnp.insert([a, b], 1, b),
    "gradient": lambda a, b: fnp.gradient([a, b, a * b]),
    "interp": lambda a, b: fnp.interp([a, b], [0.0, 5.0], [1.0, 2.0]),
    "convolve": lambda a, b: fnp.convolve([a, b], (1.0, a)),
    "searchsorted": lambda a, b: fnp.searchsorted([0.0, 1.5, 4.0], [a, b]),
    "einsum": lambda a, b: fnp.einsum("i,i", [a, b], [a, b]),
    "select": lambda a, b: fnp.select([np.array([True, False])], [[a, b]], 0.0),
}
# Functions of modules that do not yet wrap their functions with
# ``_promote.accept_traced_sequences_in`` (see the report): NumPy meets the tracers.
PENDING = {
    "sum": lambda a, b: fnp.sum([a, b]),
    "sin": lambda a, b: fnp.sin([a, b]),
    "add": lambda a, b: fnp.add([a, b], 1.0),
    "dot": lambda a, b: fnp.dot([a, b], [a, b]),
    "mean": lambda a, b: fnp.mean((a, b)),
    "where": lambda a, b: fnp.where([True, False], [a, b], 0.0),
}


@pytest.mark.parametrize("name", SEQUENCE_CASES)
def test_sequences_holding_tracers(name):
    f = SEQUENCE_CASES[name]
    args = (np.float64(1.25), np.float64(2.5))
    want = f(*args)
    got = fad.jit(f)(*args)
    for g, w in zip(got if isinstance(got, tuple) else (got,),
                    want if isinstance(want, tuple) else (want,)):
        assert np.asarray(g).dtype == np.asarray(w).dtype
        np.testing.assert_allclose(g, w, rtol=1e-12)


@pytest.mark.parametrize("name", PENDING)
def test_sequences_holding_tracers_elsewhere(name):
    f = PENDING[name]
    np.testing.assert_allclose(fad.jit(f)(1.25, 2.5), f(1.25, 2.5))


def test_sequences_keep_derivatives_and_dtypes():
    f = lambda a, b: fnp.sum(fnp.sort(fnp.array([a * b, a, 3.0])) * np.arange(3.0))  # noqa: E731
    check_grads(f, (np.float64(0.5), np.float64(4.0)), order=2)
    x32 = np.float32(1.0)
    assert fad.jit(lambda a: fnp.asarray([a, a]))(x32).dtype == np.float32
    assert fad.jit(lambda a: fnp.asarray([a, 1.0]))(x32).dtype == np.float64   # as NumPy's
    assert fad.jit(lambda a: fnp.stack([a, np.float32(2)]))(x32).dtype == np.float32
