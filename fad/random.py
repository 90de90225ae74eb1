"""``fad.random``: pseudo-random numbers from explicit, counter-based keys, as in JAX.

Keys. A key is a plain ``uint32`` array of shape ``(2,)`` (JAX's raw ``PRNGKey``): the
64-bit key of the Threefry-2x32 block cipher (``fad.lax.random_bits``). There is no
hidden state: every sampler is a pure function of its key, so the same key gives the
same numbers eagerly, under ``jit`` and under ``vmap``, on every platform (the bits are
NumPy's modular uint32 arithmetic; floats are made from them exactly). A key is used
once; ``split(key, n)`` derives ``n`` independent keys from it and ``fold_in(key, i)``
one key per integer ``i`` (a step number, a device or example index).

    key = fad.random.key(0)
    key, sub = fad.random.split(key)
    x = fad.random.normal(sub, (3,))

The bits: ``n`` words under a key are the Threefry-2x32 encryptions of the counters
``0 .. n-1``, laid out as JAX's classic (non-partitionable) Threefry lays them out, so
``key``, ``split``, ``fold_in`` and ``bits`` give JAX's values (``split(key(0))`` is
``[[4146024105, 967050713], [2718843009, 1272950319]]``), and uniform floats are made
from them as JAX makes them (the top mantissa bits, scaled to ``[0, 1)``). Samplers that
go through other kernels (normal's inverse error function, gamma's rejection loop) agree
with JAX's to rounding, or not at all (gamma): fad promises its own values only.

Transformations. The bits are the primitive ``threefry2x32``; keys may be tracers, so a
sampler can be staged by ``jit`` with its key an argument, and ``vmap`` over an array of
keys (``vmap(lambda k: normal(k, (3,)))(split(key, 5))``) gives what a loop gives.
Keys are integers: no derivative reaches them. Derivatives do flow to the parameters of
a distribution where the sample is a differentiable function of them given the bits
(``uniform``'s ``minval``/``maxval``, ``normal(k) * sigma + mu``, ``truncated_normal``'s
bounds, ``multivariate_normal``'s mean and covariance, ``exponential``/``gumbel`` after
scaling); ``gamma``, ``beta`` and ``dirichlet`` have no derivative with respect to their
shape parameters (JAX's implicit reparameterisation is not implemented: differentiating
raises ``NotImplementedError``).

Default dtypes are fad's defaults: ``float64`` and ``int64``.
"""
from __future__ import annotations

import math
import operator

import numpy as np

import fad.numpy as fnp
from fad import lax
from fad.core.abstract import get_aval
from fad.core.trace import Tracer
from fad.lax import linalg as lax_linalg
from fad.lax import random_bits as rb
from fad.lax import special_functions
from fad.lax.plumbing import normalize_axis

_U32 = np.dtype(np.uint32)


# -- arguments --------------------------------------------------------------------------------

def _key(key, name):
    aval = get_aval(key if isinstance(key, (Tracer, np.ndarray)) else np.asarray(key))
    if aval.dtype != _U32 or aval.shape != (2,):
        raise TypeError(f"fad.random.{name}: a key is a uint32 array of shape (2,) made by "
                        f"fad.random.key(seed), got {aval.dtype}{list(aval.shape)}; to use "
                        "many keys at once, fad.vmap over them")
    return key


def _shape(shape, name):
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(operator.index(d) for d in shape)
    except TypeError:
        raise TypeError(f"fad.random.{name}: shape must be a tuple of static integers, got "
                        f"{shape!r}") from None
    if any(d < 0 for d in shape):
        raise ValueError(f"fad.random.{name}: negative dimension in shape {shape}")
    return shape


def _dtype(dtype, name, kinds="f"):
    dtype = np.dtype(dtype)
    if dtype.kind not in kinds or dtype.itemsize > 16 or dtype == np.longdouble:
        what = {"f": "a float", "fc": "a float or complex", "iu": "an integer",
                "u": "an unsigned integer"}[kinds]
        raise TypeError(f"fad.random.{name}: dtype must be {what} dtype, got {dtype}")
    return dtype


def _param(x, dtype):
    """A distribution parameter as a value of ``dtype`` (a tracer stays traced)."""
    if isinstance(x, Tracer):
        return x if x.aval.dtype == dtype and not x.aval.weak_type else x.astype(dtype)
    return np.asarray(x, dtype)


def _float_param(x):
    """A parameter in its own float dtype (Python numbers and integers: float64)."""
    dt = get_aval(x).dtype if isinstance(x, Tracer) else np.asarray(x).dtype
    return _param(x, dt if dt.kind == "f" else np.dtype(np.float64))


def _fits(shape, name, **params):
    """Each parameter broadcasts to ``shape``."""
    for what, p in params.items():
        pshape = np.shape(p) if not isinstance(p, Tracer) else p.aval.shape
        try:
            ok = np.broadcast_shapes(shape, pshape) == shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"fad.random.{name}: {what} of shape {pshape} does not broadcast "
                             f"to the sample shape {shape}")


def _shape_of(x):
    return x.aval.shape if isinstance(x, Tracer) else np.shape(x)


# -- keys and bits ----------------------------------------------------------------------------

def key(seed) -> np.ndarray:
    """A key (uint32, shape ``(2,)``) from an integer seed: its high and low 32 bits, as
    ``jax.random.PRNGKey``. The seed may be traced.

    >>> key(42)
    array([ 0, 42], dtype=uint32)
    """
    if isinstance(seed, (bool, np.bool_, float, complex, np.inexact)):
        raise TypeError(f"fad.random.key: the seed must be an integer, got {seed!r}")
    if isinstance(seed, (int, np.integer)):
        seed = int(seed)
        if not -2 ** 63 <= seed < 2 ** 64:
            raise OverflowError(f"fad.random.key: the seed {seed} does not fit in 64 bits")
        return np.array([(seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF], _U32)
    return rb.seed_words(seed)


PRNGKey = key


def key_data(keys):
    """The uint32 words of keys: keys are their own data here (raw keys).

    >>> import numpy as np, fad.random as random
    >>> k = random.key(0)
    >>> random.key_data(random.key(42))
    array([ 0, 42], dtype=uint32)
    """
    return keys


def split(key, num=2):
    """``num`` new keys from ``key`` (an int, or a shape: keys of ``shape + (2,)``).

    >>> split(key(0))
    array([[4146024105,  967050713],
           [2718843009, 1272950319]], dtype=uint32)
    """
    return rb.split_key(_key(key, "split"), _shape(num, "split"))


def fold_in(key, data):
    """A new key from ``key`` and the integer ``data`` (deterministic: the same pair
    gives the same key). ``data`` may be traced; its 64 bits all count.

    >>> import numpy as np, fad.random as random
    >>> k = random.key(0)
    >>> a, b = random.fold_in(k, 1), random.fold_in(k, 2)
    >>> bool((a != b).any()), bool((random.fold_in(k, 1) == a).all())
    (True, True)
    """
    _key(key, "fold_in")
    if isinstance(data, (int, np.integer)) and not isinstance(data, (bool, np.bool_)):
        data = np.int64(data) if int(data) < 2 ** 63 else np.uint64(data)
    return rb.fold_in_key(key, data)


def bits(key, shape=(), dtype=np.uint32):
    """Random unsigned integers of ``shape`` and ``dtype`` (uint8 ... uint64), every bit
    uniform.

    >>> import numpy as np, fad.random as random
    >>> k = random.key(0)
    >>> random.bits(k, (3,)).dtype, random.bits(k, (2,), np.uint8).dtype
    (dtype('uint32'), dtype('uint8'))
    """
    dtype = _dtype(dtype, "bits", "u")
    return rb.random_bits(_key(key, "bits"), dtype.itemsize * 8, _shape(shape, "bits"))


def _unit(key, shape, dtype):
    """Uniform floats of ``dtype`` in [0, 1): the top mantissa-width bits of random words
    of the float's width, scaled (exact; JAX's construction)."""
    nbits = dtype.itemsize * 8
    nmant = np.finfo(dtype).nmant
    words = rb.random_bits(key, nbits, shape)
    mantissa = lax.shift_right(words, nbits - nmant)
    return lax.mul(lax.convert_element_type(mantissa, dtype), dtype.type(2.0 ** -nmant))


# -- continuous distributions -----------------------------------------------------------------

def uniform(key, shape=(), dtype=np.float64, minval=0.0, maxval=1.0):
    """Uniform floats in ``[minval, maxval)`` (``minval``/``maxval`` broadcast to
    ``shape``; derivatives flow to them).

    >>> uniform(key(0), (2,)).shape
    (2,)
    """
    _key(key, "uniform")
    shape, dtype = _shape(shape, "uniform"), _dtype(dtype, "uniform")
    minval, maxval = _param(minval, dtype), _param(maxval, dtype)
    _fits(shape, "uniform", minval=minval, maxval=maxval)
    u = _unit(key, shape, dtype)
    return fnp.maximum(minval, fnp.add(fnp.multiply(u, fnp.subtract(maxval, minval)), minval))


def normal(key, shape=(), dtype=np.float64):
    """Standard normal samples (``sqrt(2) erf_inv(u)`` of uniform ``u`` in ``(-1, 1)``);
    complex dtypes have independent real and imaginary parts of variance 1/2 each.

    >>> import numpy as np, fad.random as random
    >>> k = random.key(0)
    >>> x = random.normal(k, (1000,))
    >>> bool(abs(x.mean()) < 0.1), bool(abs(x.std() - 1.0) < 0.1)
    (True, True)
    """
    _key(key, "normal")
    shape, dtype = _shape(shape, "normal"), _dtype(dtype, "normal", "fc")
    if dtype.kind == "c":
        real = np.empty((), dtype).real.dtype
        k_re, k_im = split(key)
        half = real.type(math.sqrt(0.5))
        return lax.complex(lax.mul(normal(k_re, shape, real), half),
                           lax.mul(normal(k_im, shape, real), half))
    lo = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype))
    u = uniform(key, shape, dtype, lo, 1.0)
    return lax.mul(special_functions.erf_inv(u), dtype.type(math.sqrt(2.0)))


def truncated_normal(key, lower, upper, shape=None, dtype=np.float64):
    """Standard normal samples conditioned on ``lower < x < upper`` (inverse-CDF sampling,
    accurate within about eight standard deviations of zero); derivatives flow to the
    bounds.

    >>> import numpy as np, fad.random as random
    >>> k = random.key(0)
    >>> x = random.truncated_normal(k, -1.0, 2.0, (1000,))
    >>> bool(((-1 < x) & (x < 2)).all())
    True
    """
    _key(key, "truncated_normal")
    dtype = _dtype(dtype, "truncated_normal")
    lower, upper = _param(lower, dtype), _param(upper, dtype)
    if shape is None:
        shape = np.broadcast_shapes(_shape_of(lower), _shape_of(upper))
    shape = _shape(shape, "truncated_normal")
    _fits(shape, "truncated_normal", lower=lower, upper=upper)
    root2 = dtype.type(math.sqrt(2.0))
    a = lax.erf(fnp.divide(lower, root2))
    b = lax.erf(fnp.divide(upper, root2))
    x = lax.mul(special_functions.erf_inv(uniform(key, shape, dtype, a, b)), root2)
    return fnp.clip(x, fnp.nextafter(lower, dtype.type(np.inf)),
                    fnp.nextafter(upper, dtype.type(-np.inf)))


def exponential(key, shape=(), dtype=np.float64):
    """Exponential samples of rate 1: ``-log1p(-u)``.

    >>> import numpy as np, fad.random as random
    >>> k = random.key(0)
    >>> x = random.exponential(k, (1000,))
    >>> bool((x >= 0).all()), bool(abs(x.mean() - 1.0) < 0.1)
    (True, True)
    """
    u = uniform(_key(key, "exponential"), _shape(shape, "exponential"),
                _dtype(dtype, "exponential"))
    return fnp.negative(fnp.log1p(fnp.negative(u)))


def gumbel(key, shape=(), dtype=np.float64):
    """Standard Gumbel samples: ``-log(-log(u))``.

    >>> import numpy as np, fad.random as random
    >>> k = random.key(0)
    >>> x = random.gumbel(k, (1000,))
    >>> bool(abs(x.mean() - np.euler_gamma) < 0.1)
    True
    """
    dtype = _dtype(dtype, "gumbel")
    u = uniform(_key(key, "gumbel"), _shape(shape, "gumbel"), dtype,
                np.finfo(dtype).tiny, 1.0)
    return fnp.negative(fnp.log(fnp.negative(fnp.log(u))))


def laplace(key, shape=(), dtype=np.float64):
    """Standard Laplace samples.

    >>> import numpy as np, fad.random as random
    >>> k = random.key(0)
    >>> x = random.laplace(k, (1000,))
    >>> bool(abs(np.abs(x).mean() - 1.0) < 0.1)
    True
    """
    dtype = _dtype(dtype, "laplace")
    u = uniform(_key(key, "laplace"), _shape(shape, "laplace"), dtype,
                -1.0 + np.finfo(dtype).epsneg, 1.0)
    return fnp.multiply(fnp.sign(u), fnp.negative(fnp.log1p(fnp.negative(fnp.abs(u)))))


def logistic(key, shape=(), dtype=np.float64):
    """Standard logistic samples: ``log(u) - log1p(-u)``.

    >>> import numpy as np, fad.random as random
    >>> k = random.key(0)
    >>> x = random.logistic(k, (1000,))
    >>> x.shape, bool(abs(x.mean()) < 0.2)
    ((1000,), True)
    """
    dtype = _dtype(dtype, "logistic")
    u = uniform(_key(key, "logistic"), _shape(shape, "logistic"), dtype,
                np.finfo(dtype).tiny, 1.0)
    return fnp.subtract(fnp.log(u), fnp.log1p(fnp.negative(u)))


def gamma(key, a, shape=None, dtype=np.float64):
    """Gamma samples of shape ``a`` and scale 1 (Marsaglia and Tsang's method; shapes
    below one boosted). No derivative with respect to ``a``: the implicit
    reparameterisation gradient JAX has is not implemented (differentiating raises
    ``NotImplementedError``).

    >>> import numpy as np, fad.random as random
    >>> k = random.key(0)
    >>> x = random.gamma(k, 3.0, (1000,))
    >>> bool(abs(x.mean() - 3.0) < 0.2)
    True
    """
    _key(key, "gamma")
    dtype = _dtype(dtype, "gamma")
    a = _param(a, dtype)
    shape = _shape(_shape_of(a) if shape is None else shape, "gamma")
    _fits(shape, "gamma", a=a)
    if dtype == np.float16:   # (the sampler works in float32 or float64)
        return gamma(key, a, shape, np.float32).astype(np.float16)
    return rb.random_gamma(key, fnp.broadcast_to(a, shape))


def beta(key, a, b, shape=None, dtype=np.float64):
    """Beta samples, ``G_a / (G_a + G_b)`` of two gamma samples (no derivative with
    respect to ``a`` and ``b``, as for ``gamma``).

    >>> import numpy as np, fad.random as random
    >>> k = random.key(0)
    >>> x = random.beta(k, 2.0, 3.0, (1000,))
    >>> bool(((0 < x) & (x < 1)).all()), bool(abs(x.mean() - 0.4) < 0.05)
    (True, True)
    """
    _key(key, "beta")
    dtype = _dtype(dtype, "beta")
    a, b = _param(a, dtype), _param(b, dtype)
    if shape is None:
        shape = np.broadcast_shapes(_shape_of(a), _shape_of(b))
    shape = _shape(shape, "beta")
    _fits(shape, "beta", a=a, b=b)
    k_a, k_b = split(key)
    ga, gb = gamma(k_a, a, shape, dtype), gamma(k_b, b, shape, dtype)
    return fnp.divide(ga, fnp.add(ga, gb))


def dirichlet(key, alpha, shape=None, dtype=np.float64):
    """Dirichlet samples: normalised gamma samples along the last axis of ``alpha``
    (no derivative with respect to ``alpha``, as for ``gamma``).

    >>> import numpy as np, fad.random as random
    >>> k = random.key(0)
    >>> x = random.dirichlet(k, np.array([1.0, 2.0, 3.0]), (4,))
    >>> x.shape, bool(np.allclose(x.sum(-1), 1.0))
    ((4, 3), True)
    """
    _key(key, "dirichlet")
    dtype = _dtype(dtype, "dirichlet")
    alpha = _param(alpha, dtype)
    ashape = _shape_of(alpha)
    if len(ashape) < 1:
        raise ValueError("fad.random.dirichlet: alpha must have at least one axis (the "
                         f"categories), got shape {ashape}")
    shape = _shape(ashape[:-1] if shape is None else shape, "dirichlet")
    _fits(shape, "dirichlet", alpha=np.empty(ashape[:-1]))
    g = gamma(key, alpha, shape + ashape[-1:], dtype)
    return fnp.divide(g, fnp.sum(g, axis=-1, keepdims=True))


def multivariate_normal(key, mean, cov, shape=None, dtype=None, method="cholesky"):
    """Multivariate normal samples: ``mean + factor @ z`` with ``factor @ factor.T = cov``
    from ``method`` (``"cholesky"``, ``"eigh"`` or ``"svd"``) and ``z`` standard normal.
    ``shape`` is the batch shape (``mean.shape[:-1]`` and ``cov.shape[:-2]`` broadcast,
    by default); derivatives flow to ``mean`` and ``cov``.

    >>> import numpy as np, fad.random as random
    >>> k = random.key(0)
    >>> cov = np.array([[1.0, 0.9], [0.9, 1.0]])
    >>> x = random.multivariate_normal(k, np.zeros(2), cov, (2000,))
    >>> x.shape, bool(np.allclose(np.cov(x.T), cov, atol=0.1))
    ((2000, 2), True)
    """
    _key(key, "multivariate_normal")
    if method not in ("cholesky", "eigh", "svd"):
        raise ValueError(f"fad.random.multivariate_normal: method must be 'cholesky', 'eigh' "
                         f"or 'svd', got {method!r}")
    mean, cov = _float_param(mean), _float_param(cov)
    if dtype is None:
        dtype = np.result_type(get_aval(mean).dtype, get_aval(cov).dtype)
    dtype = _dtype(dtype, "multivariate_normal")
    mean, cov = _param(mean, dtype), _param(cov, dtype)
    ms, cs = _shape_of(mean), _shape_of(cov)
    if len(ms) < 1 or len(cs) < 2 or cs[-2:] != (ms[-1], ms[-1]):
        raise ValueError(f"fad.random.multivariate_normal: mean of shape (..., n) and cov of "
                         f"shape (..., n, n) expected, got {ms} and {cs}")
    batch = np.broadcast_shapes(ms[:-1], cs[:-2])
    shape = _shape(batch if shape is None else shape, "multivariate_normal")
    _fits(shape, "multivariate_normal", mean=np.empty(batch))
    if method == "cholesky":
        factor = lax_linalg.cholesky(cov)
    elif method == "eigh":
        v, w = lax_linalg.eigh(cov)
        factor = fnp.multiply(v, fnp.expand_dims(fnp.sqrt(w), -2))
    else:
        u, s, _ = lax_linalg.svd(cov)
        factor = fnp.multiply(u, fnp.expand_dims(fnp.sqrt(s), -2))
    z = normal(key, shape + ms[-1:], dtype)
    return fnp.add(mean, fnp.squeeze(fnp.matmul(factor, fnp.expand_dims(z, -1)), -1))


# -- discrete distributions -------------------------------------------------------------------

def bernoulli(key, p=0.5, shape=None):
    """Booleans, true with probability ``p`` (``shape`` defaults to ``p``'s).

    >>> import numpy as np, fad.random as random
    >>> k = random.key(0)
    >>> x = random.bernoulli(k, 0.25, (1000,))
    >>> x.dtype, bool(abs(x.mean() - 0.25) < 0.05)
    (dtype('bool'), True)
    """
    _key(key, "bernoulli")
    p = _float_param(p)
    shape = _shape(_shape_of(p) if shape is None else shape, "bernoulli")
    _fits(shape, "bernoulli", p=p)
    return fnp.less(uniform(key, shape, get_aval(p).dtype), p)


def categorical(key, logits, axis=-1, shape=None):
    """Indices (int64) drawn with probabilities ``softmax(logits)`` along ``axis`` (the
    Gumbel-max trick); ``shape`` is the sample shape, the batch shape of ``logits`` (its
    shape without ``axis``) by default, which it must end with (up to broadcasting).

    >>> import numpy as np, fad.random as random
    >>> k = random.key(0)
    >>> logits = np.log(np.array([0.1, 0.9]))
    >>> x = random.categorical(k, logits, shape=(1000,))
    >>> bool(abs(x.mean() - 0.9) < 0.05)
    True
    """
    _key(key, "categorical")
    logits = _float_param(logits)
    ls = _shape_of(logits)
    if not ls:
        raise ValueError("fad.random.categorical: logits must have at least one axis")
    axis = normalize_axis(axis, len(ls), "fad.random.categorical")
    batch = ls[:axis] + ls[axis + 1:]
    shape = _shape(batch if shape is None else shape, "categorical")
    if len(shape) < len(batch):
        raise ValueError(f"fad.random.categorical: shape {shape} must end with the batch "
                         f"shape {batch} of the logits")
    _fits(shape, "categorical", logits=np.empty(batch))
    prefix, tail = shape[:len(shape) - len(batch)], list(shape[len(shape) - len(batch):])
    tail.insert(axis, ls[axis])
    g = gumbel(key, prefix + tuple(tail), get_aval(logits).dtype)
    return fnp.argmax(fnp.add(g, logits), axis=len(prefix) + axis)


def randint(key, shape, minval, maxval, dtype=np.int64):
    """Integers uniform in ``[minval, maxval)`` (``minval`` where ``maxval <= minval``;
    bounds clipped to the dtype's range). Each is a 64-bit random word modulo the range
    size, so the bias is below ``range / 2**64``.

    >>> import numpy as np, fad.random as random
    >>> k = random.key(0)
    >>> x = random.randint(k, (1000,), 0, 3)
    >>> x.dtype, sorted(set(x.tolist()))
    (dtype('int64'), [0, 1, 2])
    """
    _key(key, "randint")
    shape, dtype = _shape(shape, "randint"), _dtype(dtype, "randint", "iu")
    lo, hi = _int_param(minval, dtype), _int_param(maxval, dtype)
    _fits(shape, "randint", minval=lo, maxval=hi)
    wide = np.dtype(np.uint64 if dtype.kind == "u" else np.int64)
    with np.errstate(over="ignore"):    # (ranges over half of int64: modular arithmetic)
        lo_w, hi_w = fnp.asarray(lo).astype(wide), fnp.asarray(hi).astype(wide)
        span = fnp.where(fnp.greater(hi, lo), fnp.subtract(hi_w, lo_w).astype(np.uint64),
                         np.uint64(1))
        offset = fnp.remainder(rb.random_bits(key, 64, shape), span)
        return fnp.add(lo_w, offset.astype(wide)).astype(dtype)


def _int_param(v, dtype):
    """An integer bound as a value of ``dtype``, clipped to its range (floats truncated)."""
    info = np.iinfo(dtype)
    if isinstance(v, Tracer):
        if v.aval.dtype.kind not in "iu":
            v = v.astype(np.int64)
        # clipped in its own dtype (to the part of dtype's range it can hold), then
        # converted: a cast alone would wrap (-3 as uint8 is 253)
        have = np.iinfo(v.aval.dtype)
        lo, hi = max(info.min, have.min), min(info.max, have.max)
        return fnp.clip(v, v.aval.dtype.type(lo), v.aval.dtype.type(hi)).astype(dtype)
    if isinstance(v, (int, np.integer)):
        return np.asarray(min(max(int(v), info.min), info.max), dtype)
    v = np.asarray(v)
    if v.dtype.kind not in "iu":
        v = v.astype(np.int64)
    return np.clip(v, max(info.min, np.iinfo(v.dtype).min),
                   min(info.max, np.iinfo(v.dtype).max)).astype(dtype)


def _is_count(x):
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def permutation(key, x, axis=0, independent=False):
    """A random permutation of ``range(x)`` (an int), or of ``x`` along ``axis``
    (``independent``: each slice along the other axes shuffled on its own). Sorts
    64-bit random keys, so the chance of a tie (a slightly biased order) is negligible.

    >>> import numpy as np, fad.random as random
    >>> k = random.key(0)
    >>> sorted(random.permutation(k, 5).tolist())
    [0, 1, 2, 3, 4]
    >>> random.permutation(k, np.arange(6).reshape(3, 2)).shape
    (3, 2)
    """
    _key(key, "permutation")
    if _is_count(x):
        n = operator.index(x)
        if n < 0:
            raise ValueError(f"fad.random.permutation: cannot permute range({n})")
        return fnp.argsort(rb.random_bits(key, 64, (n,)), kind="stable")
    x = fnp.asarray(x)
    if not _shape_of(x):
        raise TypeError("fad.random.permutation: x must be an int or an array with at least "
                        "one axis")
    axis = normalize_axis(axis, len(_shape_of(x)), "fad.random.permutation")
    if independent:
        order = fnp.argsort(rb.random_bits(key, 64, _shape_of(x)), axis=axis, kind="stable")
        return fnp.take_along_axis(x, order, axis)
    order = fnp.argsort(rb.random_bits(key, 64, (_shape_of(x)[axis],)), kind="stable")
    return fnp.take(x, order, axis=axis)


def choice(key, a, shape=(), replace=True, p=None, axis=0):
    """Samples of ``range(a)`` (an int) or of ``a``'s entries along ``axis``, with or
    without replacement, uniform or with probabilities ``p``.

    >>> import numpy as np, fad.random as random
    >>> k = random.key(0)
    >>> random.choice(k, 5, (3,), replace=False).shape
    (3,)
    >>> sorted(random.choice(k, np.array([10, 20, 30]), (3,), replace=False).tolist())
    [10, 20, 30]
    """
    _key(key, "choice")
    shape = _shape(shape, "choice")
    if _is_count(a):
        arr, n = None, operator.index(a)
    else:
        arr = fnp.asarray(a)
        if not _shape_of(arr):
            raise ValueError("fad.random.choice: a must be an int or an array with at least "
                             "one axis")
        axis = normalize_axis(axis, len(_shape_of(arr)), "fad.random.choice")
        n = _shape_of(arr)[axis]
    size = math.prod(shape)
    if n <= 0 and size:
        raise ValueError("fad.random.choice: a cannot be empty unless no samples are taken")
    if p is not None:
        p = _float_param(p)
        if _shape_of(p) != (n,):
            raise ValueError(f"fad.random.choice: p must have shape ({n},), one probability "
                             f"per entry, got {_shape_of(p)}")
        with np.errstate(divide="ignore"):   # (a zero probability: log 0 = -inf, never drawn)
            log_p = fnp.log(p)
    if replace:
        if p is None:
            ind = randint(key, shape, 0, n)
        else:
            ind = categorical(key, log_p, shape=shape)
    else:
        if size > n:
            raise ValueError(f"fad.random.choice: cannot take a larger sample ({size}) than "
                             f"the population ({n}) when replace=False")
        if p is None:
            ind = permutation(key, n)[:size]
        else:   # (Gumbel top-k: sampling without replacement in proportion to p)
            g = fnp.add(gumbel(key, (n,), get_aval(p).dtype), log_p)
            ind = fnp.argsort(fnp.negative(g), kind="stable")[:size]
        ind = fnp.reshape(ind, shape)
    return ind if arr is None else fnp.take(arr, ind, axis=axis)


__all__ = ["key", "PRNGKey", "key_data", "split", "fold_in", "bits", "uniform", "normal",
           "truncated_normal", "exponential", "gumbel", "laplace", "logistic", "gamma",
           "beta", "dirichlet", "multivariate_normal", "bernoulli", "categorical", "randint",
           "permutation", "choice"]
