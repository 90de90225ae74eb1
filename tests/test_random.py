"""fad.random: explicit counter-based keys (Threefry-2x32) and the samplers on them.

Oracles: the Random123 known-answer vectors of Threefry-2x32 and JAX's published values
for its classic key layout (golden values: reproducible across runs and platforms), the
same calls eagerly / under jit / under vmap (a loop over keys), finite differences and
closed forms for derivatives with respect to distribution parameters, and moments of
20000 samples against the distributions' (within about five standard errors).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import fad
import fad.numpy as fnp
import fad.random as R
from fad.lax import random_bits as rb
from fad.test_util import check_grads, check_vmap

N = 20000
K0 = R.key(0)


# -- keys and bits: golden values -----------------------------------------------------------

def test_threefry_known_answer_vectors():
    # Random123's kat_vectors for threefry2x32_20 (also JAX's tests)
    for key, ctr, want in [((0, 0), (0, 0), (0x6B200159, 0x99BA4EFE)),
                           ((0xFFFFFFFF,) * 2, (0xFFFFFFFF,) * 2, (0x1CB996FC, 0xBB002BE7)),
                           ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3),
                            (0xC4923A9C, 0x483DF7A0))]:
        got = rb.threefry2x32_kernel(*key, *ctr)
        assert [int(g) for g in got] == list(want)
    # as a primitive, broadcast, eager and staged
    out = rb.threefry2x32_p.bind(np.uint32(0), np.uint32(0), np.zeros(3, np.uint32),
                                 np.zeros(3, np.uint32))
    assert [o.tolist() for o in out] == [[0x6B200159] * 3, [0x99BA4EFE] * 3]


def test_keys_split_and_bits_are_jaxs_classic_values():
    np.testing.assert_array_equal(R.key(0), [0, 0])
    np.testing.assert_array_equal(R.PRNGKey(42), [0, 42])
    np.testing.assert_array_equal(R.key(-1), [4294967295, 4294967295])
    np.testing.assert_array_equal(R.key(2 ** 40 + 5), [256, 5])
    assert R.key(0).dtype == np.uint32 and R.key(0).shape == (2,)
    np.testing.assert_array_equal(R.split(K0), [[4146024105, 967050713],
                                                [2718843009, 1272950319]])
    np.testing.assert_array_equal(R.split(K0, 3), [[2467461003, 428148500],
                                                   [3186719485, 3840466878],
                                                   [2562233961, 1946702221]])
    np.testing.assert_array_equal(R.bits(K0, (4,)),
                                  [4146024105, 967050713, 2718843009, 1272950319])
    np.testing.assert_array_equal(R.bits(K0, (1,)), [1797259609])
    # JAX's float32 normal(key(0), (4,)) (XLA's erf_inv differs in the last bits)
    np.testing.assert_allclose(R.normal(K0, (4,), np.float32),
                               [1.8160863, -0.75488514, 0.33988908, -0.53483534], rtol=1e-6)


def test_golden_values_are_reproducible():
    np.testing.assert_array_equal(R.fold_in(K0, 1), [928981903, 3453687069])
    np.testing.assert_array_equal(R.fold_in(K0, 2 ** 40), [2780503496, 2734397632])
    np.testing.assert_array_equal(R.bits(K0, (3,), np.uint8), [89, 1, 32])
    np.testing.assert_array_equal(R.bits(K0, (3,), np.uint16), [9103, 14175, 5405])
    np.testing.assert_array_equal(R.bits(K0, (2,), np.uint64),
                                  [17807037942121513089, 4153451187181432367])
    assert R.uniform(K0, (3,)).tolist() == [0.5745005337275046, 0.0996860909733377,
                                            0.7419659489424089]
    np.testing.assert_allclose(R.normal(R.key(1), (3,)),
                               [0.9573071790540393, -0.9699290218728154, 1.0070664314276327],
                               rtol=1e-14)
    np.testing.assert_allclose(R.gamma(K0, np.array([0.5, 2.0])),
                               [0.9706047202817799, 0.8554420168136275], rtol=1e-14)
    assert R.randint(K0, (4,), -5, 5).tolist() == [-5, 0, 2, 2]
    assert R.permutation(K0, 6).tolist() == [1, 4, 2, 3, 5, 0]


def test_streams_differ_and_derivations_are_deterministic():
    a, b = R.normal(R.key(0), (8,)), R.normal(R.key(1), (8,))
    assert not np.any(a == b)
    children = R.split(K0, 4)
    assert len({tuple(c) for c in children} | {tuple(K0)}) == 5
    samples = [R.uniform(c, (4,)) for c in children]
    assert len({s.tobytes() for s in samples + [R.uniform(K0, (4,))]}) == 5
    np.testing.assert_array_equal(R.fold_in(K0, 7), R.fold_in(K0, 7))
    assert len({tuple(R.fold_in(K0, i)) for i in range(20)}) == 20
    np.testing.assert_array_equal(R.split(K0), R.split(K0))
    # a stream's prefix does not depend on the shape asked for, bit by bit
    np.testing.assert_array_equal(R.bits(K0, (6,)).reshape(2, 3), R.bits(K0, (2, 3)))


# -- transformations ---------------------------------------------------------------------------

SAMPLERS = {
    "uniform": lambda k: R.uniform(k, (3,), minval=-1.0, maxval=2.0),
    "normal": lambda k: R.normal(k, (2, 2)),
    "normal_c64": lambda k: R.normal(k, (3,), np.complex64),
    "exponential": lambda k: R.exponential(k, (3,)),
    "gamma": lambda k: R.gamma(k, np.array([0.3, 1.0, 4.0])),
    "beta": lambda k: R.beta(k, 2.0, np.array([1.0, 3.0])),
    "dirichlet": lambda k: R.dirichlet(k, np.array([1.0, 2.0, 3.0])),
    "bernoulli": lambda k: R.bernoulli(k, 0.3, (4,)),
    "categorical": lambda k: R.categorical(k, np.array([0.1, 1.0, 2.0]), shape=(4,)),
    "randint": lambda k: R.randint(k, (5,), -3, 9),
    "permutation": lambda k: R.permutation(k, np.arange(10.0).reshape(5, 2)),
    "permutation_independent": lambda k: R.permutation(k, np.arange(6.0).reshape(2, 3),
                                                       axis=1, independent=True),
    "choice": lambda k: R.choice(k, np.arange(7.0), (3,), replace=False),
    "choice_p": lambda k: R.choice(k, 5, (4,), p=np.array([0.1, 0.2, 0.3, 0.0, 0.4])),
    "truncated_normal": lambda k: R.truncated_normal(k, -1.0, 2.0, (3,)),
    "multivariate_normal": lambda k: R.multivariate_normal(
        k, np.array([1.0, -1.0]), np.array([[2.0, 0.5], [0.5, 1.0]]), (2,)),
    "split": lambda k: R.split(k, 3),
    "fold_in": lambda k: R.fold_in(k, 3),
    "bits64": lambda k: R.bits(k, (3,), np.uint64),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_jit_equals_eager_and_vmap_over_keys_equals_a_loop(name):
    f = SAMPLERS[name]
    eager = f(K0)
    jitted = fad.jit(f)(K0)
    assert jitted.dtype == eager.dtype and jitted.shape == eager.shape
    np.testing.assert_array_equal(jitted, eager)
    np.testing.assert_array_equal(fad.jit(f)(R.key(5)), f(R.key(5)))   # a cached program
    # bit for bit, but for the products of multivariate_normal (batched BLAS)
    tol = 1e-12 if name == "multivariate_normal" else 0
    check_vmap(f, (R.split(K0, 4),), atol=tol, rtol=tol)
    check_vmap(fad.jit(f), (R.split(K0, 3),), atol=tol, rtol=tol)


def test_the_bits_are_a_primitive_in_the_staged_program():
    jaxpr = fad.make_jaxpr(lambda k: R.normal(k, (3,)))(K0)
    assert "threefry2x32" in str(jaxpr)
    # keys may come from traced seeds and traced fold_in data
    np.testing.assert_array_equal(fad.jit(R.key)(np.int64(42)), R.key(42))
    np.testing.assert_array_equal(fad.jit(R.key)(np.int64(-3)), R.key(-3))
    np.testing.assert_array_equal(fad.jit(lambda d: R.fold_in(K0, d))(np.int64(7)),
                                  R.fold_in(K0, 7))
    seeds = np.arange(4)
    check_vmap(lambda s: R.uniform(R.key(s), (2,)), (seeds,), atol=0, rtol=0)
    np.testing.assert_array_equal(fad.vmap(R.key)(seeds), np.stack([R.key(i) for i in seeds]))


def test_vmap_normal_over_split_keys_is_the_loop():
    keys = R.split(K0, 5)
    got = fad.vmap(lambda k: R.normal(k, (3,)))(keys)
    np.testing.assert_array_equal(got, np.stack([R.normal(k, (3,)) for k in keys]))
    # keys batched along another axis, and parameters batched with them
    sig = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    got = fad.vmap(lambda k, s: R.normal(k, (2,)) * s, in_axes=(1, 0))(keys.T, sig)
    np.testing.assert_array_equal(got, np.stack([R.normal(k, (2,)) * s
                                                 for k, s in zip(keys, sig)]))


# -- derivatives -----------------------------------------------------------------------------

def test_gradients_flow_to_distribution_parameters():
    z = R.normal(K0, (5,))
    g_mu, g_sigma = fad.grad(lambda mu, s: fnp.sum(R.normal(K0, (5,)) * s + mu),
                             argnums=(0, 1))(0.5, 2.0)
    np.testing.assert_allclose([g_mu, g_sigma], [5.0, z.sum()])
    u = R.uniform(K0, (4,))
    g = fad.grad(lambda lo, hi: fnp.sum(R.uniform(K0, (4,), minval=lo, maxval=hi)),
                 argnums=(0, 1))(-1.0, 3.0)
    np.testing.assert_allclose(g, [np.sum(1 - u), np.sum(u)])
    check_grads(lambda lo, hi: R.uniform(K0, (4,), minval=lo, maxval=hi),
                (np.float64(-1.0), np.array([1.0, 2.0, 3.0, 4.0])), order=2)
    check_grads(lambda lo, hi: R.truncated_normal(K0, lo, hi, (4,)),
                (np.float64(-0.5), np.float64(1.5)), order=2)
    check_grads(lambda m, c: R.multivariate_normal(K0, m, c @ c.T + np.eye(2), (3,)),
                (np.array([1.0, -1.0]), np.array([[1.0, 0.2], [0.1, 0.7]])), order=1)
    check_grads(lambda rate: R.exponential(K0, (3,)) / rate, (np.float64(2.0),), order=2)
    # under vmap and jit too
    check_vmap(fad.grad(lambda s: fnp.sum(R.normal(K0, (3,)) * s)), (np.arange(1.0, 4.0),))
    np.testing.assert_allclose(fad.jit(fad.grad(lambda s: fnp.sum(R.normal(K0, (5,)) * s)))(
        1.0), z.sum())


def test_no_derivative_reaches_keys_or_gamma_shapes():
    with pytest.raises(TypeError):
        fad.grad(lambda k: fnp.sum(R.normal(k, (2,))))(K0)
    # keys as closed-over constants: the derivative of the rest is unaffected
    assert fad.grad(lambda s: fnp.sum(R.uniform(R.fold_in(K0, 1), (2,)) * s))(1.0) > 0
    # integer outputs have no derivative
    _, t = fad.jvp(lambda x: R.randint(K0, (2,), 0, 5) * x, (1.0,), (1.0,))
    np.testing.assert_array_equal(t, R.randint(K0, (2,), 0, 5))
    with pytest.raises(NotImplementedError, match="shape parameter"):
        fad.grad(lambda a: fnp.sum(R.gamma(K0, a, (3,))))(2.0)
    # a constant shape parameter is fine
    assert fad.grad(lambda s: fnp.sum(R.gamma(K0, 2.0, (3,)) * s))(1.0) > 0


# -- statistics ---------------------------------------------------------------------------

def _moments(x, mean, var, what, kurtosis=0.0):
    """Sample mean and variance within five standard errors (the variance's standard
    error from the distribution's excess ``kurtosis``)."""
    x = np.asarray(x, np.float64)
    se_mean = math.sqrt(var / x.size)
    se_var = var * math.sqrt((kurtosis + 2) / x.size)
    assert abs(x.mean() - mean) < 5 * se_mean, f"{what}: mean {x.mean()} vs {mean}"
    assert abs(x.var() - var) < 5 * se_var, f"{what}: variance {x.var()} vs {var}"


def test_moments_of_continuous_samplers():
    keys = R.split(R.key(2024), 12)
    _moments(R.uniform(keys[0], (N,)), 0.5, 1 / 12, "uniform", -1.2)
    _moments(R.uniform(keys[0], (N,), np.float32, -2.0, 4.0), 1.0, 3.0, "uniform f32", -1.2)
    _moments(R.normal(keys[1], (N,)), 0.0, 1.0, "normal")
    _moments(R.normal(keys[1], (N,), np.float32), 0.0, 1.0, "normal f32")
    c = R.normal(keys[2], (N,), np.complex128)
    _moments(c.real, 0.0, 0.5, "complex normal, real")
    _moments(c.imag, 0.0, 0.5, "complex normal, imag")
    _moments(R.exponential(keys[3], (N,)), 1.0, 1.0, "exponential", 6.0)
    _moments(R.gumbel(keys[4], (N,)), np.euler_gamma, math.pi ** 2 / 6, "gumbel", 2.4)
    _moments(R.laplace(keys[5], (N,)), 0.0, 2.0, "laplace", 3.0)
    _moments(R.logistic(keys[6], (N,)), 0.0, math.pi ** 2 / 3, "logistic", 1.2)
    for a in (0.3, 1.0, 4.5):
        _moments(R.gamma(keys[7], a, (N,)), a, a, f"gamma({a})", 6 / a)
    _moments(R.beta(keys[8], 2.0, 3.0, (N,)), 0.4, 2 * 3 / (25 * 6), "beta(2, 3)", -0.65)
    t = R.truncated_normal(keys[9], -1.0, 2.0, (N,))
    assert t.min() > -1.0 and t.max() < 2.0
    # the truncated normal's mean: (phi(a) - phi(b)) / (Phi(b) - Phi(a))
    phi = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731
    tmean = (phi(-1.0) - phi(2.0)) / (cdf(2.0) - cdf(-1.0))
    assert abs(t.mean() - tmean) < 5 * math.sqrt(t.var() / N)
    d = R.dirichlet(keys[10], np.array([1.0, 2.0, 5.0]), (N,))
    np.testing.assert_allclose(d.sum(-1), 1.0)
    np.testing.assert_allclose(d.mean(0), [1 / 8, 2 / 8, 5 / 8], atol=0.01)
    cov = np.array([[2.0, 0.6], [0.6, 1.0]])
    for method in ("cholesky", "eigh", "svd"):
        m = R.multivariate_normal(keys[11], np.array([1.0, -2.0]), cov, (N,), method=method)
        np.testing.assert_allclose(m.mean(0), [1.0, -2.0], atol=0.05)
        np.testing.assert_allclose(np.cov(m.T), cov, atol=0.08)


def test_frequencies_of_discrete_samplers():
    keys = R.split(R.key(7), 6)
    b = R.bernoulli(keys[0], 0.3, (N,))
    assert b.dtype == np.bool_ and abs(b.mean() - 0.3) < 5 * math.sqrt(0.21 / N)
    r = R.randint(keys[1], (N,), -3, 5)
    assert r.dtype == np.int64 and r.min() == -3 and r.max() == 4
    np.testing.assert_allclose(np.bincount(r + 3) / N, np.full(8, 1 / 8), atol=0.015)
    assert R.randint(keys[1], (3,), 4, 4).tolist() == [4, 4, 4]     # empty range: minval
    assert R.randint(keys[1], (5,), 0, 300, np.uint8).max() <= 255   # clipped to the dtype
    p = np.array([0.1, 0.2, 0.7])
    c = R.categorical(keys[2], np.log(p), shape=(N,))
    np.testing.assert_allclose(np.bincount(c, minlength=3) / N, p, atol=0.015)
    c2 = R.categorical(keys[2], np.log(np.array([[0.5, 0.5], [0.9, 0.1]])), axis=1,
                       shape=(N, 2))
    np.testing.assert_allclose(c2.mean(0), [0.5, 0.1], atol=0.02)
    ch = R.choice(keys[3], 4, (N,), p=np.array([0.4, 0.0, 0.1, 0.5]))
    np.testing.assert_allclose(np.bincount(ch, minlength=4) / N, [0.4, 0.0, 0.1, 0.5],
                               atol=0.015)
    # permutations: each position uniform over the values
    perms = fad.vmap(lambda k: R.permutation(k, 4))(R.split(keys[4], 4000))
    assert all(sorted(p) == [0, 1, 2, 3] for p in perms.tolist())
    np.testing.assert_allclose(perms.mean(0), np.full(4, 1.5), atol=0.1)
    wo = R.choice(keys[5], np.arange(10.0) * 2, (2, 3), replace=False)
    assert wo.shape == (2, 3) and len(set(wo.ravel().tolist())) == 6


def test_dtypes_and_shapes():
    assert R.uniform(K0, (2, 3), np.float32).dtype == np.float32
    assert R.uniform(K0, (), np.float16).dtype == np.float16
    assert R.normal(K0, (2,), np.complex64).dtype == np.complex64
    assert R.randint(K0, (2,), 0, 4, np.int32).dtype == np.int32
    assert R.bits(K0, (2,), np.uint16).dtype == np.uint16
    assert R.gamma(K0, np.float32(2.0), (3,), np.float32).dtype == np.float32
    assert R.permutation(K0, 5).dtype == np.int64
    assert R.categorical(K0, np.zeros((2, 3))).shape == (2,)
    assert R.categorical(K0, np.zeros((2, 3)), axis=0, shape=(4, 3)).shape == (4, 3)
    assert R.uniform(K0, (2, 3), minval=np.zeros(3)).shape == (2, 3)
    assert R.split(K0, (2, 3)).shape == (2, 3, 2)
    assert R.multivariate_normal(K0, np.zeros((4, 2)), np.eye(2)).shape == (4, 2)
    assert R.choice(K0, np.ones((3, 5)), (2,), axis=1).shape == (3, 2)
    assert R.uniform(K0, 3).shape == (3,)


def test_errors_name_the_cause():
    with pytest.raises(TypeError, match="key"):
        R.normal(np.zeros(2), (2,))
    with pytest.raises(TypeError, match="key"):
        R.normal(R.split(K0, 2), (2,))           # many keys: vmap over them
    with pytest.raises(TypeError, match="seed"):
        R.key(1.5)
    with pytest.raises(OverflowError):
        R.key(2 ** 70)
    with pytest.raises(TypeError, match="dtype"):
        R.uniform(K0, (2,), np.int32)
    with pytest.raises(TypeError, match="dtype"):
        R.randint(K0, (2,), 0, 3, np.float64)
    with pytest.raises(ValueError, match="broadcast"):
        R.uniform(K0, (2,), minval=np.zeros(3))
    with pytest.raises(ValueError, match="negative"):
        R.normal(K0, (-1,))
    with pytest.raises(TypeError, match="shape"):
        R.normal(K0, (2.5,))
    with pytest.raises(ValueError, match="larger sample"):
        R.choice(K0, 3, (4,), replace=False)
    with pytest.raises(ValueError, match="p must have shape"):
        R.choice(K0, 3, (2,), p=np.ones(4) / 4)
    with pytest.raises(ValueError, match="method"):
        R.multivariate_normal(K0, np.zeros(2), np.eye(2), method="qr")
    with pytest.raises(ValueError, match="mean of shape"):
        R.multivariate_normal(K0, np.zeros(2), np.eye(3))
    with pytest.raises(TypeError, match="an int or an array"):
        R.permutation(K0, np.float64(3.0))


@pytest.mark.parametrize("dtype,lo,hi", [
    (np.uint8, np.int64(-3), np.int64(7)), (np.int8, np.int64(-300), np.int64(5)),
    (np.int8, np.int64(-2), np.int64(1000)), (np.uint16, np.float64(-2.5), np.float64(4.7)),
    (np.int64, np.uint64(2 ** 64 - 9), np.uint64(2 ** 64 - 1)),
    (np.uint64, np.int64(-5), np.int64(3))])
def test_randint_traced_bounds_clip(dtype, lo, hi):
    """Traced bounds are clipped to the dtype's range, as eager ones are (a cast would wrap:
    -3 as uint8 is 253)."""
    f = lambda k, a, b: R.randint(k, (64,), a, b, dtype)  # noqa: E731
    eager, traced = f(R.key(5), lo, hi), fad.jit(f)(R.key(5), lo, hi)
    np.testing.assert_array_equal(traced, eager)
    assert traced.dtype == np.dtype(dtype)
    info = np.iinfo(dtype)
    lo_c = min(max(int(lo), info.min), info.max)
    hi_c = min(max(int(hi), info.min), info.max)
    assert np.all(traced >= lo_c) and (hi_c <= lo_c or np.all(traced < hi_c))
