"""The primitives under ``fad.random``: the Threefry-2x32 block cipher and a gamma
sampler (normal samples come from uniform ones through ``fad.lax.erf_inv``).

``threefry2x32(k0, k1, x0, x1)`` encrypts the 64-bit counters ``(x0, x1)`` under the
64-bit key ``(k0, k1)`` with Threefry-2x32, 20 rounds (Salmon, Moraes, Dror and Shaw,
"Parallel random numbers: as easy as 1, 2, 3", SC 2011): every operand a uint32 array,
broadcast together. Its implementation is NumPy's modular uint32 arithmetic, so the same
key and counters give the same bits on every platform, eagerly, staged or batched.
``random_bits``, ``split_key`` and ``fold_in_key`` are written on it with the counter
layout of JAX's (non-partitionable) Threefry: ``n`` words are the encryption of the
counters ``0 .. n-1``, the first half of them as the first word of each block and the
second half as the second.

``random_gamma(key, a)`` draws standard gamma variates by Marsaglia and Tsang's
rejection method, each entry from its own counter stream; it has no derivative with
respect to ``a`` (differentiating through it raises ``NotImplementedError``).
"""
from __future__ import annotations

import math

import numpy as np

from fad.core.abstract import ShapedArray, get_aval
from fad.core.ad_util import Zero
from fad.core.primitive import Primitive
from fad.interpreters.batching import batch_rules
from fad.interpreters.jvp import jvp_rules
from fad.lax.elementwise import bitwise_and, bitwise_or, shift_left, shift_right
from fad.lax.plumbing import (batch_axis_at, broadcast_in_dim, broadcast_shapes,
                              convert_element_type, expand_dims, reshape)
from fad.lax.rules import defjvp_zero
from fad.lax.structural import concatenate, iota, slice

_U32 = np.dtype(np.uint32)

# -- Threefry-2x32 ---------------------------------------------------------------------------

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)


def threefry2x32_kernel(k0, k1, x0, x1):
    """NumPy: Threefry-2x32 (20 rounds) of uint32 arrays, broadcast together; two uint32
    arrays of the broadcast shape. Arithmetic is on 1-d arrays, which wrap modulo 2**32
    silently (NumPy scalars would warn)."""
    k0, k1, x0, x1 = np.broadcast_arrays(*(np.asarray(v, _U32) for v in (k0, k1, x0, x1)))
    shape = k0.shape
    k0, k1, x0, x1 = (v.reshape(-1) for v in (k0, k1, x0, x1))
    ks = (k0, k1, k0 ^ k1 ^ _PARITY)
    x0, x1 = x0 + ks[0], x1 + ks[1]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x0 = x0 + x1
            x1 = ((x1 << np.uint32(r)) | (x1 >> np.uint32(32 - r))) ^ x0
        x0 = x0 + ks[(i + 1) % 3]
        x1 = x1 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return [x0.reshape(shape), x1.reshape(shape)]


def _threefry_rule(k0, k1, x0, x1):
    for a in (k0, k1, x0, x1):
        if a.dtype != _U32:
            raise TypeError(f"threefry2x32 needs uint32 operands, got {a.dtype}; keys come "
                            "from fad.random.key")
    shape = broadcast_shapes("threefry2x32", k0.shape, k1.shape, x0.shape, x1.shape)
    return [ShapedArray(shape, _U32), ShapedArray(shape, _U32)]


def _threefry_batch(args, dims):
    ranks = [get_aval(x).ndim - (d is not None) for x, d in zip(args, dims)]
    rank = max(ranks)
    moved = []
    for x, d, r in zip(args, dims, ranks):
        if d is not None:   # batch axis first; unbatched operands broadcast from the right
            x = batch_axis_at(x, d)
            if r < rank:
                x = expand_dims(x, tuple(range(1, 1 + rank - r)))
        moved.append(x)
    return threefry2x32_p.bind(*moved), [0, 0]


threefry2x32_p = Primitive("threefry2x32", multiple_results=True)
threefry2x32_p.def_impl(threefry2x32_kernel)
threefry2x32_p.def_abstract_eval(_threefry_rule)
defjvp_zero(threefry2x32_p)
batch_rules[threefry2x32_p] = _threefry_batch


def _word(x, i):
    """Entry ``i`` of the 1-d ``x``, as a 0-d value."""
    return reshape(slice(x, (i,), (i + 1,)), ())


def threefry_2x32(key, count):
    """The Threefry-2x32 encryption under ``key`` (uint32, shape ``(2,)``) of the uint32
    array ``count``, of its shape: the flattened counts (padded with a zero to an even
    number) are split in halves, which are the two words of the blocks encrypted.

    >>> threefry_2x32(np.zeros(2, np.uint32), np.zeros(2, np.uint32))
    array([1797259609, 2579123966], dtype=uint32)
    """
    shape = get_aval(count).shape
    n = math.prod(shape)
    flat = reshape(count, (n,))
    if n % 2:
        flat = concatenate([flat, np.zeros(1, _U32)], 0)
    half = (n + 1) // 2
    x0, x1 = slice(flat, (0,), (half,)), slice(flat, (half,), (2 * half,))
    y0, y1 = threefry2x32_p.bind(_word(key, 0), _word(key, 1), x0, x1)
    out = concatenate([y0, y1], 0)
    if n % 2:
        out = slice(out, (0,), (n,))
    return reshape(out, shape)


def _check_key(key, name):
    aval = get_aval(key)
    if aval.dtype != _U32 or aval.shape != (2,):
        raise TypeError(f"{name}: a key is a uint32 array of shape (2,) made by "
                        f"fad.random.key(seed), got {aval.dtype}{list(aval.shape)}; map over "
                        "an array of keys with fad.vmap")
    return key


def random_bits(key, bit_width: int, shape):
    """An array of ``shape`` of random unsigned integers of ``bit_width`` (8, 16, 32 or
    64) bits, a function of ``key`` alone, laid out as JAX's classic Threefry lays them
    out: a 64-bit word joins two 32-bit ones (the first half of the stream as high
    words); a 32-bit word holds ``32 // bit_width`` narrower ones, low bits first.

    >>> random_bits(np.zeros(2, np.uint32), 32, (2,))
    array([ 928981903, 3453687069], dtype=uint32)
    """
    _check_key(key, "random_bits")
    shape = tuple(int(d) for d in shape)
    n = math.prod(shape)
    if bit_width not in (8, 16, 32, 64):
        raise ValueError(f"random_bits: bit_width must be 8, 16, 32 or 64, got {bit_width}")
    words = -(-n * bit_width // 32)
    if words >= 2 ** 32:
        raise ValueError(f"random_bits: {n} words of {bit_width} bits are more than one key's "
                         "stream holds; split the key")
    bits = threefry_2x32(key, iota(_U32, words))   # (a counter, made at run time)
    if bit_width == 64:
        hi = convert_element_type(slice(bits, (0,), (n,)), np.uint64)
        lo = convert_element_type(slice(bits, (n,), (2 * n,)), np.uint64)
        bits = bitwise_or(shift_left(hi, 32), lo)
    elif bit_width < 32:
        per_word = 32 // bit_width
        shifts = np.arange(0, 32, bit_width, dtype=_U32)
        parts = shift_right(broadcast_in_dim(bits, (words, per_word), (0,)), shifts)
        parts = bitwise_and(parts, np.uint32(2 ** bit_width - 1))
        bits = slice(reshape(parts, (words * per_word,)), (0,), (n,))
        bits = convert_element_type(bits, np.dtype(f"uint{bit_width}"))
    return reshape(bits, shape)


def split_key(key, shape):
    """Keys of ``shape`` (a uint32 array of ``shape + (2,)``) derived from ``key``."""
    _check_key(key, "split")
    n = math.prod(shape)
    return reshape(threefry_2x32(key, iota(_U32, 2 * n)), tuple(shape) + (2,))


def seed_words(seed):
    """The two uint32 words of an integer (a 0-d array or tracer): its high and low
    32 bits, as int64 (JAX's ``threefry_seed``)."""
    aval = get_aval(seed)
    if aval.shape != () or aval.dtype.kind not in "iu":
        raise TypeError(f"a seed is an integer scalar, got {aval.dtype}{list(aval.shape)}")
    s = convert_element_type(seed, np.int64)
    hi = convert_element_type(shift_right(s, 32), _U32)
    lo = convert_element_type(s, _U32)
    return concatenate([reshape(hi, (1,)), reshape(lo, (1,))], 0)


def fold_in_key(key, data):
    """A new key from ``key`` and the integer ``data`` (Threefry of ``data``'s words)."""
    _check_key(key, "fold_in")
    return threefry_2x32(key, seed_words(data))


# -- gamma variates ---------------------------------------------------------------------------

def _unit(w0, w1):
    """Uniform floats in [0, 1) with 53 random bits, from two uint32 words."""
    return ((w0 >> np.uint32(5)).astype(np.float64) * 67108864.0
            + (w1 >> np.uint32(6)).astype(np.float64)) * 2.0 ** -53


def _draws(k0, k1, idx, counter):
    """Two uniforms per entry: the block ``(idx, counter)`` under the key ``(k0, k1)``."""
    w0, w1 = threefry2x32_kernel(k0, k1, idx, np.full(idx.shape, counter, _U32))
    return w0, w1


def _marsaglia_tsang(k0, k1, idx, alpha):
    """Standard gamma variates of the float64 shapes ``alpha`` (1-d), entry ``i`` drawn
    from the counters ``(idx[i], 3r + t)`` under the key ``(k0[i], k1[i])`` in round ``r``;
    shapes below one are boosted (``G(a) = G(a + 1) U^(1/a)``)."""
    out = np.full(alpha.shape, np.nan)
    out[alpha == np.inf] = np.inf
    boost = alpha < 1
    shape = np.where(boost, alpha + 1.0, alpha)
    d = shape - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    pending = np.flatnonzero((alpha > 0) & np.isfinite(alpha))
    r = 0
    with np.errstate(all="ignore"):
        while pending.size:
            p = pending
            keys = (k0[p], k1[p], idx[p])
            u1 = 1.0 - _unit(*_draws(*keys, 3 * r))
            u2 = _unit(*_draws(*keys, 3 * r + 1))
            u3 = _unit(*_draws(*keys, 3 * r + 2))
            x = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * math.pi * u2)
            v = (1.0 + c[p] * x) ** 3
            accept = (v > 0) & (np.log(u3) < 0.5 * x * x + d[p] - d[p] * v + d[p] * np.log(v))
            out[p[accept]] = d[p][accept] * v[accept]
            pending = p[~accept]
            r += 1
        if boost.any():
            b = np.flatnonzero(boost & (alpha > 0))
            u = 1.0 - _unit(*_draws(k0[b], k1[b], idx[b], 0xFFFFFFFF))
            out[b] *= u ** (1.0 / alpha[b])
    return out


def _gamma_impl(key, a):
    key, a = np.asarray(key, _U32), np.asarray(a)
    nkeys = math.prod(key.shape[:-1])
    per_key = math.prod(a.shape[key.ndim - 1:])
    keys = key.reshape(nkeys, 2)
    k0, k1 = np.repeat(keys[:, 0], per_key), np.repeat(keys[:, 1], per_key)
    idx = np.tile(np.arange(per_key, dtype=_U32), nkeys)
    out = _marsaglia_tsang(k0, k1, idx, a.astype(np.float64).reshape(-1))
    out = out.astype(a.dtype).reshape(a.shape)
    return out[()] if out.ndim == 0 else out


def _gamma_rule(key, a):
    k = key.ndim - 1
    if key.dtype != _U32 or k < 0 or key.shape[-1] != 2 or a.shape[:k] != key.shape[:-1]:
        raise TypeError(f"random_gamma: needs keys (uint32, shape (..., 2)) whose leading "
                        f"shape begins the shape of a, got keys {key.dtype}{list(key.shape)} "
                        f"and a of shape {a.shape}")
    if a.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"random_gamma: a must be float32 or float64, got {a.dtype}")
    return ShapedArray(a.shape, a.dtype)


def _gamma_jvp(primals, tangents):
    out = random_gamma_p.bind(*primals)
    if type(tangents[1]) is not Zero:
        raise NotImplementedError(
            "fad.random.gamma (and beta, dirichlet) have no derivative with respect to the "
            "shape parameter a (the implicit reparameterisation gradient is not "
            "implemented); pass a as a constant, or wrap it in fad.lax.stop_gradient")
    return out, Zero.like(out)


def _gamma_batch(args, dims):
    (key, a), (kd, ad) = args, dims
    size = get_aval(key).shape[kd] if kd is not None else get_aval(a).shape[ad]
    return random_gamma_p.bind(batch_axis_at(key, kd, size), batch_axis_at(a, ad, size)), 0


random_gamma_p = Primitive("random_gamma")
random_gamma_p.def_impl(_gamma_impl)
random_gamma_p.def_abstract_eval(_gamma_rule)
jvp_rules[random_gamma_p] = _gamma_jvp
batch_rules[random_gamma_p] = _gamma_batch


def random_gamma(key, a):
    """Standard gamma variates (scale 1) of the shapes ``a`` (float32 or float64), one per
    entry, from ``key`` (uint32, shape ``(2,)``).

    >>> random_gamma(np.zeros(2, np.uint32), np.array([1.0, 5.0])).shape
    (2,)
    """
    _check_key(key, "gamma")
    return random_gamma_p.bind(key, a)


__all__ = ["threefry2x32_p", "threefry_2x32", "random_bits", "split_key", "fold_in_key",
           "seed_words", "random_gamma", "random_gamma_p"]
