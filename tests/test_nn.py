"""fad.nn activations: values against NumPy/SciPy formulas, stable values and
derivatives at large and small inputs (no NaN, inf or overflow), second derivatives
against finite differences, vmap against a loop, jit against eager."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.special as sps   # a test oracle only
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.nn as nn
from fad.test_util import check_grads, check_jaxpr, check_vmap

SETTINGS = settings(max_examples=15, deadline=None)

REFERENCE = {
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.minimum(np.maximum(x, 0), 6),
    "sigmoid": sps.expit,
    "log_sigmoid": sps.log_expit,
    "softplus": lambda x: np.logaddexp(x, 0),
    "silu": lambda x: x * sps.expit(x),
    "swish": lambda x: x * sps.expit(x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "gelu": lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))),
}
EXTREMES = [-1e3, -50.0, -1.0, 0.0, 1.0, 50.0, 1e3]
SMOOTH = ["sigmoid", "log_sigmoid", "softplus", "silu", "elu", "gelu"]


@SETTINGS
@given(x=st.lists(st.floats(-60, 60), min_size=1, max_size=5))
def test_activations_match_reference(x):
    x = np.array(x)
    for name, ref in REFERENCE.items():
        np.testing.assert_allclose(getattr(nn, name)(x), ref(x), rtol=1e-12, atol=1e-300)
        assert getattr(nn, name)(x.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(nn.gelu(x, approximate=False), x * sps.ndtr(x), rtol=1e-12,
                               atol=1e-300)


@pytest.mark.parametrize("name", list(REFERENCE) + ["gelu_exact"])
def test_stable_derivatives_at_extremes(name):
    fn = (lambda x: nn.gelu(x, approximate=False)) if name == "gelu_exact" else getattr(nn, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no overflow or invalid-value warning either
        for v in EXTREMES:
            assert np.isfinite(fn(v))
            assert np.isfinite(fad.grad(fn)(v)), (name, v)
            assert np.isfinite(fad.grad(fad.grad(fn))(v)), (name, v)
    x = np.array([-3.0, -0.7, 0.4, 2.5, 7.0])
    if name not in ("relu", "relu6"):
        check_grads(fn, (x,), order=2)
    check_vmap(fn, (x,))
    np.testing.assert_allclose(fad.jit(fn)(x), fn(x), rtol=1e-15)
    check_jaxpr(fn, (x,))


def test_kinks_follow_the_subgradient_table():
    g = fad.grad(nn.relu)
    assert (g(-1.0), g(0.0), g(2.0)) == (0.0, 0.5, 1.0)    # maximum's ties split
    g6 = fad.grad(nn.relu6)
    assert (g6(0.0), g6(6.0), g6(7.0)) == (0.5, 0.5, 0.0)
    assert fad.grad(nn.elu)(0.0) == 1.0 and fad.grad(lambda x: nn.elu(x, 2.0))(0.0) == 2.0
    np.testing.assert_allclose([fad.grad(nn.softplus)(v) for v in (-1e3, 0.0, 1e3)],
                               [0, 0.5, 1])
    np.testing.assert_allclose(fad.grad(nn.log_sigmoid)(-1e3), 1.0)


X = np.random.default_rng(0).standard_normal((3, 4))


@pytest.mark.parametrize("axis", [-1, 0, (0, 1)])
def test_softmax_family(axis):
    want = sps.softmax(X, axis=axis)
    np.testing.assert_allclose(nn.softmax(X, axis=axis), want, rtol=1e-14)
    np.testing.assert_allclose(nn.log_softmax(X, axis=axis), sps.log_softmax(X, axis=axis),
                               rtol=1e-14)
    np.testing.assert_allclose(nn.logsumexp(X, axis=axis), sps.logsumexp(X, axis=axis))
    big = X * 1e3
    np.testing.assert_allclose(nn.softmax(big, axis=axis), sps.softmax(big, axis=axis))
    assert np.all(np.isfinite(fad.jacrev(lambda x: nn.log_softmax(x, axis=axis))(big)))
    check_grads(lambda x: nn.softmax(x, axis=axis), (X,), order=2)
    check_grads(lambda x: nn.log_softmax(x, axis=axis), (X,), order=2)
    check_vmap(lambda x: nn.softmax(x, axis=-1), (X,))


def test_softmax_where():
    mask = X > 0
    out = nn.softmax(X, where=mask)
    want = np.where(mask, np.exp(X), 0) / np.where(mask, np.exp(X), 0).sum(-1, keepdims=True)
    np.testing.assert_allclose(out, want, rtol=1e-14)
    np.testing.assert_allclose(nn.log_softmax(X, where=mask)[mask], np.log(want[mask]),
                               rtol=1e-13)
    g = fad.grad(lambda x: nn.softmax(x, where=mask)[:, 0].sum())(X)
    assert np.all(np.isfinite(g)) and np.all(g[~mask] == 0)


def test_logsumexp_b_and_sign():
    b = np.array([1.0, -2.0, 0.5, 0.0])
    val, sign = nn.logsumexp(X, axis=1, b=b, return_sign=True)
    want, want_sign = sps.logsumexp(X, axis=1, b=b, return_sign=True)
    np.testing.assert_allclose(val, want)
    np.testing.assert_array_equal(sign, want_sign)
    check_grads(lambda x: nn.logsumexp(x, axis=1, b=b, return_sign=True)[0], (X,), order=2)


def test_one_hot():
    x = np.array([[0, 2], [5, -1]])
    for axis in (-1, 0, 1):
        got = nn.one_hot(x, 3, axis=axis)
        want = np.moveaxis((x[..., None] == np.arange(3)).astype(np.float64), -1, axis)
        np.testing.assert_array_equal(got, want)
    assert nn.one_hot(x, 3, dtype=np.int8).dtype == np.int8
    np.testing.assert_array_equal(fad.jit(lambda i: nn.one_hot(i, 3))(x), nn.one_hot(x, 3))
    check_vmap(lambda i: nn.one_hot(i, 4), (np.array([0, 3, 1]),))
    with pytest.raises(TypeError, match="static int"):
        fad.jit(lambda i, n: nn.one_hot(i, n))(x, 3)


def test_standardize():
    out = nn.standardize(X, axis=-1)
    want = (X - X.mean(-1, keepdims=True)) / np.sqrt(X.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(out, want, rtol=1e-13)
    np.testing.assert_allclose(nn.standardize(X, axis=0, mean=0.0, variance=1.0),
                               X / np.sqrt(1 + 1e-5))
    check_grads(lambda x: nn.standardize(x, axis=1), (X,), order=2)
    check_vmap(lambda x: nn.standardize(x), (X,))
    assert np.all(np.isfinite(fad.grad(lambda x: nn.standardize(x).sum())(np.ones((2, 3)))))
