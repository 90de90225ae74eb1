"""The surface walk of fad.random: one table line per public function (``RCase``).

Values are random, so they are checked by what the distribution promises: the sample
mean and variance of ``N`` draws against the distribution's moments (within about six
standard errors; the keys are fixed, so the test is deterministic), the support, the
dtype and shape, on parameters and dtypes drawn by hypothesis. Then: ``jit`` gives the
same numbers as eager, ``vmap`` over keys (and over parameters) gives what a loop gives,
the jaxpr type-checks, and derivatives with respect to the parameters that have them
pass ``check_grads`` to order 2 in both modes; the samplers that document no derivative
raise ``NotImplementedError`` when differentiated.
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Callable

import numpy as np
import pytest
import scipy.special as ssp
import scipy.stats as sst
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
import fad.random as R
from fad.core.ir import typecheck_jaxpr
from fad.test_util import check_grads, check_vmap
from surface_harness import public_functions

N = 4000
F64, F32 = np.dtype(np.float64), np.dtype(np.float32)
SETTINGS = settings(max_examples=5, deadline=None, derandomize=True, database=None,
                    phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=[HealthCheck.too_slow])


@dataclasses.dataclass(repr=False)
class RCase:
    """``sample(key, dtype, *params)`` draws ``N`` samples along the first axis;
    ``params(rng)`` makes parameters; ``moments(*params)`` gives the mean and variance
    of one draw (as a float array broadcasting against a draw); ``support(x, *params)``
    holds for every draw. ``diff``: the parameters that have derivatives; ``nodiff``:
    those whose differentiation raises NotImplementedError (documented)."""
    id: str
    covers: tuple
    sample: Callable
    params: Callable = lambda rng: ()
    moments: Callable | None = None
    support: Callable | None = None
    dtypes: tuple = (F64, F32)
    kurtosis: float = 3.0
    diff: tuple = ()
    nodiff: tuple = ()
    small: Callable | None = None    # a few draws, for derivatives and batching
    out_dtype: Callable = lambda dt: dt     # the dtype of ``small``'s draws
    xfail: dict = dataclasses.field(default_factory=dict)   # check -> the bug

    def __repr__(self):
        return f"RCase({self.id})"


def walk(check, cases=None):
    """The cases as pytest params for ``check``, marked xfail (strict) where the table
    names a bug."""
    return [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True,
                                                               reason=c.xfail[check])]
                         if check in c.xfail else [])
            for c in (CASES if cases is None else cases)]


def rcase(name, out_dtype=None, **kw):
    if out_dtype is not None:
        kw["out_dtype"] = out_dtype
    return RCase(id=kw.pop("id", f"random.{name}"), covers=(f"random.{name}",), **kw)


def _uniform_bits(nbits=None):
    """Words of ``nbits`` random bits (by default, as many as the dtype has)."""
    def moments(dt, *params):
        top = 2.0 ** (nbits or 8 * np.dtype(dt).itemsize)
        return (top - 1) / 2, (top * top - 1) / 12
    return moments


def _one_hot(x, k):
    return (np.asarray(x)[..., None] == np.arange(k)).astype(float)


def _probs(rng):
    p = rng.uniform(0.2, 1.0, 4)
    return (p / p.sum(),)


def _randint_moments(dt, lo, hi):
    info = np.iinfo(dt)     # (bounds are clipped to the dtype's range)
    lo, hi = np.clip(lo, info.min, info.max), np.clip(hi, info.min, info.max)
    return (lo + hi - 1) / 2, ((hi - lo) ** 2 - 1) / 12


def _truncnorm_moments(dt, lo, hi):
    mean, var = sst.truncnorm.stats(lo, hi, moments="mv")
    return mean, var


U32 = np.dtype(np.uint32)
INT64 = np.dtype(np.int64)


CASES = [
    rcase("uniform",
          sample=lambda k, dt, lo, hi: R.uniform(k, (N,) + np.shape(lo), dt, lo, hi),
          small=lambda k, dt, lo, hi: R.uniform(k, (3,) + np.shape(lo), dt, lo, hi),
          params=lambda rng: (rng.uniform(-2, 0, 2), rng.uniform(0.5, 3, 2)),
          moments=lambda dt, lo, hi: ((lo + hi) / 2, (hi - lo) ** 2 / 12),
          support=lambda x, lo, hi: (x >= lo) & (x < hi), kurtosis=1.8, diff=(0, 1)),
    rcase("normal", sample=lambda k, dt: R.normal(k, (N, 2), dt),
          moments=lambda dt: (0.0, 1.0)),
    rcase("normal", id="random.normal[complex]", sample=lambda k, dt: R.normal(k, (N,), dt),
          dtypes=(np.dtype(np.complex128), np.dtype(np.complex64)),
          moments=lambda dt: (0.0, 1.0)),
    rcase("truncated_normal",
          sample=lambda k, dt, lo, hi: R.truncated_normal(k, lo, hi, (N,) + np.shape(lo), dt),
          small=lambda k, dt, lo, hi: R.truncated_normal(k, lo, hi, (3,) + np.shape(lo), dt),
          params=lambda rng: (rng.uniform(-2, 0, 2), rng.uniform(0.3, 2.5, 2)),
          moments=_truncnorm_moments, support=lambda x, lo, hi: (x > lo) & (x < hi),
          diff=(0, 1)),
    rcase("exponential", sample=lambda k, dt: R.exponential(k, (N,), dt),
          moments=lambda dt: (1.0, 1.0), support=lambda x: x >= 0, kurtosis=9.0),
    rcase("gumbel", sample=lambda k, dt: R.gumbel(k, (N,), dt),
          moments=lambda dt: (np.euler_gamma, np.pi ** 2 / 6), kurtosis=5.4),
    rcase("laplace", sample=lambda k, dt: R.laplace(k, (N,), dt),
          moments=lambda dt: (0.0, 2.0), kurtosis=6.0),
    rcase("logistic", sample=lambda k, dt: R.logistic(k, (N,), dt),
          moments=lambda dt: (0.0, np.pi ** 2 / 3), kurtosis=4.2),
    rcase("gamma", sample=lambda k, dt, a: R.gamma(k, a, (N,) + np.shape(a), dt),
          small=lambda k, dt, a: R.gamma(k, a, (2,) + np.shape(a), dt),
          params=lambda rng: (rng.uniform(0.3, 4, 3),), moments=lambda dt, a: (a, a),
          support=lambda x, a: x >= 0, kurtosis=30.0, nodiff=(0,)),
    rcase("beta", sample=lambda k, dt, a, b: R.beta(k, a, b, (N,) + np.shape(a), dt),
          small=lambda k, dt, a, b: R.beta(k, a, b, (2,) + np.shape(a), dt),
          params=lambda rng: (rng.uniform(0.5, 4, 2), rng.uniform(0.5, 4, 2)),
          moments=lambda dt, a, b: (a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))),
          support=lambda x, a, b: (x >= 0) & (x <= 1), kurtosis=6.0, nodiff=(0, 1)),
    rcase("dirichlet", sample=lambda k, dt, al: R.dirichlet(k, al, (N,), dt),
          small=lambda k, dt, al: R.dirichlet(k, al, (2,), dt),
          params=lambda rng: (rng.uniform(0.5, 4, 3),),
          moments=lambda dt, al: (al / al.sum(),
                                  al / al.sum() * (1 - al / al.sum()) / (al.sum() + 1)),
          support=lambda x, al: np.isclose(x.sum(-1, keepdims=True), 1, atol=1e-5),
          kurtosis=6.0, nodiff=(0,)),
    rcase("multivariate_normal",
          sample=lambda k, dt, m, c: R.multivariate_normal(k, m, c, (N,), dt),
          small=lambda k, dt, m, c: R.multivariate_normal(k, m, c, (2,), dt),
          params=lambda rng: (rng.uniform(-1, 1, 3), _spd(rng, 3)),
          moments=lambda dt, m, c: (m, np.diag(c)), diff=(0, 1)),
    rcase("multivariate_normal", id="random.multivariate_normal[eigh]",
          sample=lambda k, dt, m, c: R.multivariate_normal(k, m, c, (N,), dt, method="eigh"),
          params=lambda rng: (rng.uniform(-1, 1, 2), _spd(rng, 2)),
          moments=lambda dt, m, c: (m, np.diag(c))),
    rcase("bernoulli", out_dtype=lambda dt: np.dtype(bool),
          sample=lambda k, dt, p: R.bernoulli(k, p.astype(dt), (N,) + np.shape(p)),
          params=lambda rng: (rng.uniform(0.1, 0.9, 3),),
          moments=lambda dt, p: (p, p * (1 - p)), kurtosis=8.0),
    rcase("categorical", out_dtype=lambda dt: INT64,
          sample=lambda k, dt, lg: _one_hot(R.categorical(k, lg.astype(dt), shape=(N,)), 4),
          small=lambda k, dt, lg: R.categorical(k, lg.astype(dt), shape=(3,)),
          params=lambda rng: (rng.uniform(-1, 1, 4),),
          moments=lambda dt, lg: (ssp.softmax(lg), ssp.softmax(lg) * (1 - ssp.softmax(lg))),
          kurtosis=8.0),
    rcase("randint",
          sample=lambda k, dt, lo, hi: R.randint(k, (N,) + np.shape(lo), lo, hi, dt),
          small=lambda k, dt, lo, hi: R.randint(k, (3,) + np.shape(lo), lo, hi, dt),
          params=lambda rng: (rng.integers(-5, 0, 2), rng.integers(1, 9, 2)),
          moments=_randint_moments, support=lambda x, lo, hi: (x >= lo) & (x < hi),
          dtypes=(INT64, np.dtype(np.int32), np.dtype(np.uint8)), kurtosis=1.8),
    rcase("bits", sample=lambda k, dt: R.bits(k, (N,), dt).astype(float),
          small=lambda k, dt: R.bits(k, (3,), dt),
          dtypes=tuple(np.dtype(t) for t in (np.uint8, np.uint16, np.uint32, np.uint64)),
          moments=_uniform_bits(), kurtosis=1.8),
    rcase("permutation", out_dtype=lambda dt: INT64,
          sample=lambda k, dt: fad.vmap(lambda kk: R.permutation(kk, 5))(R.split(k, N)),
          small=lambda k, dt: R.permutation(k, 5), dtypes=(INT64,),
          moments=lambda dt: (2.0, 2.0), kurtosis=1.8,
          support=lambda x: np.all(np.sort(x, axis=-1) == np.arange(5), axis=-1)[:, None]),
    rcase("permutation", id="random.permutation[array,axis=0]",
          sample=lambda k, dt, x: fad.vmap(lambda kk: R.permutation(kk, x))(
              R.split(k, N // 4)),
          small=lambda k, dt, x: R.permutation(k, x),
          params=lambda rng: (rng.uniform(-1, 1, (4, 2)),), dtypes=(F64,), diff=(0,),
          support=lambda s, x: np.all(np.sort(s, axis=1) == np.sort(x, axis=0), axis=1),
          moments=lambda dt, x: (np.broadcast_to(x.mean(0), x.shape),
                                 np.broadcast_to(x.var(0), x.shape))),
    rcase("choice", out_dtype=lambda dt: INT64,
          sample=lambda k, dt, p: _one_hot(R.choice(k, 4, (N,), p=p.astype(dt)), 4),
          small=lambda k, dt, p: R.choice(k, 4, (3,), p=p.astype(dt)),
          params=_probs, moments=lambda dt, p: (p, p * (1 - p)), kurtosis=8.0),
    rcase("choice", id="random.choice[replace=False]", out_dtype=lambda dt: INT64,
          sample=lambda k, dt: _one_hot(fad.vmap(lambda kk: R.choice(
              kk, 5, (3,), replace=False))(R.split(k, N)), 5).sum(1),
          small=lambda k, dt: R.choice(k, 5, (3,), replace=False), dtypes=(F64,),
          moments=lambda dt: (0.6, 0.24), kurtosis=8.0,
          support=lambda x: np.all(x <= 1, axis=-1)[:, None]),   # no repeats
    rcase("choice", id="random.choice[array]", sample=lambda k, dt, a: R.choice(k, a, (N,)),
          small=lambda k, dt, a: R.choice(k, a, (3,)),
          params=lambda rng: (rng.uniform(-2, 2, 3),), dtypes=(F64,), diff=(0,),
          moments=lambda dt, a: (a.mean(), a.var()), support=lambda x, a: np.isin(x, a)),
    # keys: their words are uniform random bits
    rcase("split", out_dtype=lambda dt: U32, dtypes=(F64,),
          sample=lambda k, dt: R.split(k, N).astype(float),
          small=lambda k, dt: R.split(k, 3), moments=_uniform_bits(32), kurtosis=1.8),
    rcase("fold_in", out_dtype=lambda dt: U32, dtypes=(F64,),
          sample=lambda k, dt: fad.vmap(R.fold_in, (None, 0))(k, np.arange(N)).astype(float),
          small=lambda k, dt: R.fold_in(k, 7), moments=_uniform_bits(32), kurtosis=1.8),
    rcase("key_data", out_dtype=lambda dt: U32, dtypes=(F64,),
          sample=lambda k, dt: R.key_data(R.split(k, N)).astype(float),
          small=lambda k, dt: R.key_data(k), moments=_uniform_bits(32), kurtosis=1.8),
]

def _spd(rng, n):
    a = rng.uniform(-1, 1, (n, n))
    return a @ a.T + n * np.eye(n)


@pytest.fixture(autouse=True)
def _quiet():
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _real_view(x):
    x = np.asarray(x)
    return np.concatenate([x.real, x.imag], axis=-1) * math.sqrt(2) if x.dtype.kind == "c" \
        else x.astype(float)


@pytest.mark.parametrize("c", walk("value"))
@SETTINGS
@given(data=st.data())
def test_value_moments(c, data):
    seed = data.draw(st.integers(0, 2 ** 32 - 1), label="key seed")
    pseed = data.draw(st.integers(0, 2 ** 16), label="parameter seed")
    params = c.params(np.random.default_rng(pseed))
    for dtype in c.dtypes:
        x = c.sample(R.key(seed), dtype, *params)
        mean, var = c.moments(dtype, *params)
        if c.support is not None:
            assert np.all(c.support(np.asarray(x), *params)), f"{c.id}: a draw off the support"
        xs = _real_view(x)
        mean, var = np.asarray(mean, float), np.asarray(var, float)
        n = xs.shape[0]
        tol_mean = 6 * np.sqrt(var / n) + 1e-6 * (1 + np.abs(mean))
        np.testing.assert_array_less(np.abs(xs.mean(0) - mean), tol_mean,
                                     err_msg=f"{c.id} {dtype}: sample mean")
        tol_var = 6 * var * np.sqrt((c.kurtosis - 1) / n) + 1e-6
        np.testing.assert_array_less(np.abs(xs.var(0) - var), tol_var,
                                     err_msg=f"{c.id} {dtype}: sample variance")


def _small(c):
    return c.small or c.sample


@pytest.mark.parametrize("c", walk("dtype"))
def test_dtype_and_shape(c):
    # draws have the dtype asked for (or the documented one), staged as they are eagerly
    params = c.params(np.random.default_rng(0))
    for dtype in c.dtypes:
        x = np.asarray(_small(c)(R.key(3), dtype, *params))
        staged = fad.make_jaxpr(lambda k, *p: _small(c)(k, dtype, *p))(R.key(3), *params)
        typecheck_jaxpr(staged)
        aval = staged.out_avals[0]
        assert (aval.shape, aval.dtype) == (x.shape, x.dtype), (c.id, aval, x.dtype)
        assert x.dtype == c.out_dtype(dtype), f"{c.id}: dtype {x.dtype}, not {c.out_dtype(dtype)}"


@pytest.mark.parametrize("c", walk("jit"))
def test_jit_equals_eager(c):
    params = c.params(np.random.default_rng(1))
    for dtype in c.dtypes:
        want = np.asarray(_small(c)(R.key(5), dtype, *params))
        got = fad.jit(lambda k, *p: _small(c)(k, dtype, *p))(R.key(5), *params)
        assert np.asarray(got).dtype == want.dtype, c.id
        np.testing.assert_allclose(np.asarray(got, float) if want.dtype.kind in "iub"
                                   else got, want.astype(float) if want.dtype.kind in "iub"
                                   else want, rtol=1e-12 if want.dtype != F32 else 1e-6,
                                   err_msg=f"{c.id}: jit differs from eager")


@pytest.mark.parametrize("c", walk("vmap"))
def test_vmap_over_keys(c):
    params = c.params(np.random.default_rng(2))
    dtype = c.dtypes[0]
    keys = R.split(R.key(9), 3)
    check_vmap(lambda k: _small(c)(k, dtype, *params), (keys,), atol=0, rtol=1e-12)


@pytest.mark.parametrize("c", walk("vmap", [c for c in CASES
                                             if c.params(np.random.default_rng(0))]))
def test_vmap_over_parameters(c):
    rng = np.random.default_rng(3)
    stacked = tuple(np.stack([p, q]) for p, q in zip(c.params(rng), c.params(rng)))
    dtype = c.dtypes[0]
    check_vmap(lambda *p: _small(c)(R.key(4), dtype, *p), stacked, atol=1e-12, rtol=1e-9)


@pytest.mark.parametrize("c", walk("grad", [c for c in CASES if c.diff]))
def test_grad_parameters(c):
    params = c.params(np.random.default_rng(4))
    key = R.key(6)

    def f(*d):
        full = list(params)
        for i, v in zip(c.diff, d):
            full[i] = v
        return _small(c)(key, F64, *full)
    check_grads(f, tuple(params[i] for i in c.diff), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("c", walk("grad", [c for c in CASES if c.nodiff]))
def test_no_derivative_is_an_error(c):
    # documented: no reparameterisation gradient for gamma, beta and dirichlet
    params = c.params(np.random.default_rng(5))
    for i in c.nodiff:
        def f(v, i=i):
            full = list(params)
            full[i] = v
            return fnp.sum(_small(c)(R.key(1), F64, *full))
        with pytest.raises(NotImplementedError):
            fad.grad(f)(params[i])


# Keys from seeds are not random: their words are the seed's high and low 32 bits (JAX's
# raw keys), checked exactly.
KEY_FUNCTIONS = {"random.key": R.key, "random.PRNGKey": R.PRNGKey}


@pytest.mark.parametrize("name", sorted(KEY_FUNCTIONS))
@SETTINGS
@given(seed=st.integers(-2 ** 63, 2 ** 63 - 1))
def test_key_from_seed(name, seed):
    got = KEY_FUNCTIONS[name](seed)
    want = np.array([(seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF], np.uint32)
    assert got.dtype == np.uint32 and got.shape == (2,)
    np.testing.assert_array_equal(got, want)


def test_golden_split():
    # JAX's classic Threefry split (fad.random's docstring)
    np.testing.assert_array_equal(R.split(R.key(0)), [[4146024105, 967050713],
                                                      [2718843009, 1272950319]])


def test_every_public_function_has_a_case():
    covered = {n for c in CASES for n in c.covers} | set(KEY_FUNCTIONS)
    public = {f"random.{n}" for n in public_functions(R)}
    assert not sorted(public - covered), f"fad.random functions without a table line: " \
                                         f"{sorted(public - covered)}"
    assert not sorted(covered - public)
