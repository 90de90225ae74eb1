"""fad.numpy reductions (axis / keepdims / dtype / ddof) and fad.scipy.special against
NumPy: staged values, shapes and dtypes, derivatives, vmap over every batch axis."""
from __future__ import annotations

import numpy as np
import pytest
from numpy.exceptions import AxisError

import fad
from fad.test_util import check_matches_numpy
import fad.numpy as fnp
from fad.scipy import special
from fad.test_util import check_grads, check_vmap

RNG = np.random.default_rng(1)
X = RNG.standard_normal((3, 4, 2))


check_numpy = check_matches_numpy


AXES = [None, 0, 1, -1, (0, 2), (), (2, 0, 1)]
FLOAT_REDUCTIONS = ["sum", "mean", "prod", "max", "min", "amax", "amin", "var", "std", "ptp"]


@pytest.mark.parametrize("name", FLOAT_REDUCTIONS + ["all", "any"])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy(name, axis, keepdims):
    if name == "ptp" and axis == ():
        return
    fn = getattr(fnp, name)
    check_numpy(lambda x: fn(x, axis=axis, keepdims=keepdims), X)
    check_numpy(lambda x: fn(x, axis=axis, keepdims=keepdims), X.astype(np.float32))


@pytest.mark.parametrize("name", FLOAT_REDUCTIONS + ["all", "any", "argmax", "argmin",
                                                    "cumsum", "cumprod"])
@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.uint16, np.bool_, np.complex64])
def test_reduction_dtypes(name, dtype):
    if dtype == np.complex64 and name in ("max", "min", "amax", "amin", "ptp", "argmax",
                                          "argmin"):
        return
    if dtype == np.bool_ and name == "ptp":
        return
    x = (np.arange(24).reshape(3, 4, 2) % 5).astype(dtype)
    fn = getattr(fnp, name)
    check_numpy(lambda a: fn(a, axis=1), x)
    check_numpy(fn, x)


@pytest.mark.parametrize("dtype", [np.float32, np.int32, None])
def test_dtype_argument(dtype):
    x = np.arange(6, dtype=np.int16).reshape(2, 3)
    for name in ("sum", "prod", "mean", "cumsum", "cumprod", "var"):
        check_numpy(lambda a: getattr(fnp, name)(a, axis=0, dtype=dtype), x)


@pytest.mark.parametrize("ddof", [0, 1, 2])
def test_var_std_ddof(ddof):
    for fn in (fnp.var, fnp.std):
        check_numpy(lambda x: fn(x, axis=1, ddof=ddof), X)
        check_numpy(lambda x: fn(x, ddof=ddof), X + 1j * X[::-1])
        check_grads(lambda x: fn(x, axis=0, ddof=ddof), (X,), order=2)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin(name):
    fn = getattr(fnp, name)
    for axis in (None, 0, 1, -1):
        check_numpy(lambda x: fn(x, axis=axis), X)
        check_numpy(lambda x: fn(x, axis=axis, keepdims=True), X)
    check_vmap(lambda x: fn(x, axis=0), (X,), 2)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_cumulative(name):
    fn = getattr(fnp, name)
    for axis in (None, 0, 1, -1):
        check_numpy(lambda x: fn(x, axis=axis), X)
    check_grads(lambda x: fn(x, axis=1), (X,), order=2)
    for ax in (0, 1, 2):
        check_vmap(lambda x: fn(x, axis=0), (X,), ax)


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "max", "min", "var", "std", "ptp"])
def test_reduction_derivatives_and_vmap(name):
    fn = getattr(fnp, name)
    check_grads(lambda x: fn(x, axis=(0, 2)), (X,), order=2)
    check_grads(lambda x: fn(x), (X,), order=1)
    for ax in (0, 1, 2):
        check_vmap(lambda x: fn(x, axis=-1, keepdims=True), (X,), ax)


def test_max_ties_split_the_gradient():
    g = fad.grad(lambda x: fnp.max(x))(np.array([1.0, 3.0, 3.0]))
    np.testing.assert_allclose(g, [0.0, 0.5, 0.5])


def test_initial_and_average():
    check_numpy(lambda x: fnp.sum(x, axis=0, initial=2.0), X)
    check_numpy(lambda x: fnp.max(x, axis=0, initial=0.5), X)
    w = np.array([1.0, 2.0, 0.5, 1.5])
    check_numpy(lambda x: fnp.average(x, axis=1), X)
    check_numpy(lambda x, w: fnp.average(x, axis=1, weights=w), X, w)
    check_numpy(lambda x, w: fnp.average(x, axis=1, weights=w, returned=True), X, w)
    check_numpy(lambda x, w: fnp.average(x, weights=w), X[:, :, 0], np.abs(X[:, :, 1]))
    check_grads(lambda x, w: fnp.average(x, axis=1, weights=w), (X, w), order=2)


def test_reduction_errors():
    with pytest.raises(AxisError):
        fad.make_jaxpr(lambda x: fnp.sum(x, axis=3))(X)
    with pytest.raises(ValueError, match="duplicate"):
        fad.make_jaxpr(lambda x: fnp.sum(x, axis=(0, 0)))(X)
    with pytest.raises(ValueError, match="zero-size array"):
        fad.make_jaxpr(lambda x: fnp.max(x, axis=0))(np.ones((0, 3)))
    with pytest.raises(ValueError, match="empty sequence"):
        fad.make_jaxpr(lambda x: fnp.argmax(x, axis=0))(np.ones((0, 3)))
    with pytest.raises(TypeError, match="out="):
        fad.make_jaxpr(lambda x: fnp.sum(x, out=x))(X)


def test_logsumexp():
    def naive(a, axis=None, b=1.0, keepdims=False):
        return np.log(np.sum(b * np.exp(a), axis=axis, keepdims=keepdims))
    for axis in (None, 0, (1, 2), -1):
        for keepdims in (False, True):
            np.testing.assert_allclose(special.logsumexp(X, axis, keepdims=keepdims),
                                       naive(X, axis, keepdims=keepdims), rtol=1e-12)
            check_numpy(lambda x: special.logsumexp(x, axis, keepdims=keepdims), X)
    b = np.abs(X) + 0.1
    np.testing.assert_allclose(special.logsumexp(X, 1, b=b), naive(X, 1, b), rtol=1e-12)
    big = np.array([1000.0, 1000.0, -np.inf])
    np.testing.assert_allclose(special.logsumexp(big), 1000.0 + np.log(2.0))
    assert special.logsumexp(np.array([-np.inf, -np.inf])) == -np.inf
    g = fad.grad(special.logsumexp)(big)
    np.testing.assert_allclose(g, [0.5, 0.5, 0.0])
    check_grads(lambda x: special.logsumexp(x, axis=1), (X,), order=2)
    check_grads(lambda x, b: special.logsumexp(x, axis=0, b=b), (X, b), order=2)
    check_vmap(lambda x: special.logsumexp(x, axis=0), (X,), 1)
    val, sign = special.logsumexp(np.array([0.0, 1.0]), b=np.array([1.0, -1.0]),
                                  return_sign=True)
    np.testing.assert_allclose(val, np.log(np.e - 1.0))
    assert sign == -1.0


def test_special_functions():
    x = np.linspace(0.1, 0.9, 5)
    np.testing.assert_allclose(special.expit(special.logit(x)), x)
    np.testing.assert_allclose(special.softmax(X, axis=1).sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(special.log_softmax(X, axis=0)),
                               special.softmax(X, axis=0))
    assert special.xlogy(0.0, 0.0) == 0.0 and special.xlog1py(0.0, -1.0) == 0.0
    np.testing.assert_allclose(special.xlogy(2.0, 3.0), 2 * np.log(3.0))
    np.testing.assert_allclose(special.gammaln(np.array([5.0])), np.log(24.0))
    np.testing.assert_allclose(special.erf(np.array([0.0])) + special.erfc(np.array([0.0])), 1.0)
    for fn in (special.expit, special.logit, special.gammaln, special.digamma, special.erf):
        check_grads(fn, (x,), order=2)
    check_grads(lambda x: special.softmax(x, axis=-1), (X,), order=2)
    check_grads(lambda y: special.xlogy(x, y), (x + 1,), order=2)
    assert fad.grad(lambda y: special.xlogy(0.0, y))(0.0) == 0.0


@pytest.mark.parametrize("axis", [-1, 0, None])
def test_sort_and_argsort(axis):
    x = np.round(X * 2) / 2                        # ties: argsort must be stable
    x[0, 0, 0] = np.nan
    check_numpy(lambda a: fnp.sort(a, axis=axis), x)
    check_numpy(lambda a: fnp.argsort(a, axis=axis, kind="stable"), x)
    check_numpy(lambda a: a.argsort(kind="stable"), x.astype(np.float32))
    check_grads(lambda a: fnp.sort(a, axis=axis), (X,), order=2)
    check_vmap(lambda a: fnp.sort(a, axis=0), (X,), 2)
