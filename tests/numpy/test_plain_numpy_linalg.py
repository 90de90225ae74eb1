"""Unmodified plain-NumPy code calling np.linalg.solve, np.linalg.slogdet and
np.linalg.norm, differentiated, vmapped and jitted: the calls reach fad.numpy.linalg
through __array_function__ on tracers."""
from __future__ import annotations

import numpy as np

import fad
from fad.test_util import check_grads, check_vmap


def gaussian_nll(mean, cov, x):
    """The negative log density of N(mean, cov) at x, as one writes it with NumPy."""
    d = x - mean
    sign, logdet = np.linalg.slogdet(cov)
    maha = d @ np.linalg.solve(cov, d)
    return 0.5 * (maha + logdet + len(x) * np.log(2 * np.pi))


def ridge_residual(w, a, y):
    return np.linalg.norm(a @ w - y) + 0.1 * np.linalg.norm(w, 1)


def spd(n, seed=0):
    a = np.random.default_rng(seed).standard_normal((n, n))
    return a @ a.T + n * np.eye(n)


def test_values_match_numpy_eagerly_and_jitted():
    mean, cov, x = np.zeros(3), spd(3), np.array([0.3, -1.0, 2.0])
    want = gaussian_nll(mean, cov, x)
    np.testing.assert_allclose(fad.jit(gaussian_nll)(mean, cov, x), want, rtol=1e-12)
    a, y, w = np.random.default_rng(1).standard_normal((5, 3)), np.ones(5), np.ones(3)
    np.testing.assert_allclose(fad.jit(ridge_residual)(w, a, y), ridge_residual(w, a, y),
                               rtol=1e-12)


def test_grads_of_plain_numpy_code():
    mean, cov, x = np.array([0.1, 0.2, -0.3]), spd(3), np.array([0.3, -1.0, 2.0])
    check_grads(gaussian_nll, (mean, cov, x), order=2)
    # d/dmean = -cov^-1 (x - mean); d/dcov = 0.5 (cov^-1 - cov^-1 d d^T cov^-1)
    g_mean, g_cov = fad.grad(gaussian_nll, (0, 1))(mean, cov, x)
    inv_d = np.linalg.solve(cov, x - mean)
    np.testing.assert_allclose(g_mean, -inv_d, rtol=1e-10)
    np.testing.assert_allclose(g_cov, 0.5 * (np.linalg.inv(cov) - np.outer(inv_d, inv_d)),
                               rtol=1e-10, atol=1e-12)
    a, y = np.random.default_rng(1).standard_normal((5, 3)), np.ones(5)
    check_grads(ridge_residual, (np.array([0.5, -0.2, 0.3]), a, y), order=2)
    # the norm's subgradient at 0 is 0, not NaN
    np.testing.assert_array_equal(fad.grad(lambda v: np.linalg.norm(v))(np.zeros(4)), 0)


def test_vmap_and_jit_of_grad():
    covs = np.stack([spd(3, s) for s in range(4)])
    xs = np.random.default_rng(2).standard_normal((4, 3))
    mean = np.zeros(3)
    per_example = fad.vmap(fad.grad(gaussian_nll, 1), in_axes=(None, 0, 0))
    loop = np.stack([fad.grad(gaussian_nll, 1)(mean, c, x) for c, x in zip(covs, xs)])
    np.testing.assert_allclose(per_example(mean, covs, xs), loop, rtol=1e-10)
    np.testing.assert_allclose(fad.jit(per_example)(mean, covs, xs), loop, rtol=1e-10)
    check_vmap(lambda c, x: gaussian_nll(mean, c, x), (covs, xs))
    check_vmap(lambda x: np.linalg.norm(x, axis=-1), (xs,))
