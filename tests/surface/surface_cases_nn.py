"""The table of ``fad.nn`` (against formulas written with NumPy and SciPy: jax.nn has no
NumPy counterpart) and ``fad.ops`` (against NumPy's unbuffered ``ufunc.at``)."""
from __future__ import annotations

import functools

import numpy as np
import scipy.special as ssp

import fad.nn as nn
import fad.ops as ops
from surface_harness import F32, F64, I64, REAL, case

ACT = (((2, 3),), ((),), ((5,),))
RED = (((2, 3),), ((4,),), ((2, 1, 3),))
NUMERIC = (F64, F32, I64)


def _inexact(x):
    """fad.nn's dtype rule: float32 stays float32, integers become float64."""
    x = np.asarray(x)
    return x if x.dtype.kind in "fc" else x.astype(F64)


def _cast(ref):
    """``ref`` on fad.nn's promoted argument, its result in that argument's dtype."""
    @functools.wraps(ref)
    def wrapped(x, *rest):
        x = _inexact(x)
        return np.asarray(ref(x, *rest)).astype(x.dtype)
    return wrapped


def nn_case(name, ref, args=("x",), tag=None, fn=None, **opts):
    """``fn`` (default ``fad.nn.name``) against the NumPy formula ``ref``."""
    opts.setdefault("shapes", ACT)
    opts.setdefault("dtypes", NUMERIC)
    return case(f"nn.{name}", fn or getattr(nn, name), _cast(ref),
                id=f"nn.{name}" + (f"[{tag}]" if tag else ""), args=args, **opts)


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def _standardize(x, axis=-1, epsilon=1e-5):
    mean = np.mean(x, axis=axis, keepdims=True)
    var = np.mean(np.square(x - mean), axis=axis, keepdims=True)
    return (x - mean) / np.sqrt(var + epsilon)


def _segment(ufunc, identity):
    """The segment reduction of rows of ``data`` by ``ids`` into 4 segments (ids >= 4
    dropped), by ``ufunc.at``."""
    def ref(data, ids):
        out = np.full((4,) + data.shape[1:], identity(data.dtype), data.dtype)
        keep = ids < 4
        ufunc.at(out, ids[keep], data[keep])
        return out
    return ref


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _highest(dtype):
    return np.inf if dtype.kind == "f" else np.iinfo(dtype).max


SEG = (((6,), (6,)), ((7, 2), (7,)))

CASES = [
    nn_case("relu", lambda x: np.maximum(x, 0), ("away",)),
    nn_case("relu6", lambda x: np.clip(x, 0, 6), ("wide",)),
    nn_case("sigmoid", ssp.expit, ("wide",)),
    nn_case("log_sigmoid", ssp.log_expit, ("wide",)),
    nn_case("softplus", lambda x: np.logaddexp(x, 0), ("wide",)),
    nn_case("silu", lambda x: x * ssp.expit(x), ("wide",)),
    nn_case("swish", lambda x: x * ssp.expit(x), ("wide",)),
    nn_case("elu", lambda x: np.where(x > 0, x, np.expm1(x)), ("away",)),
    nn_case("elu", lambda x: np.where(x > 0, x, 0.5 * np.expm1(x)), ("away",),
            fn=lambda x: nn.elu(x, 0.5), tag="alpha=0.5"),
    nn_case("gelu", _gelu_tanh, ("wide",)),
    nn_case("gelu", lambda x: x * ssp.ndtr(x), ("wide",),
            fn=lambda x: nn.gelu(x, approximate=False), tag="approximate=False"),
    nn_case("softmax", lambda x: ssp.softmax(x, axis=-1), shapes=RED),
    nn_case("softmax", lambda x: ssp.softmax(x, axis=0), shapes=RED,
            fn=lambda x: nn.softmax(x, axis=0), tag="axis=0"),
    nn_case("log_softmax", lambda x: ssp.log_softmax(x, axis=-1), shapes=RED),
    nn_case("logsumexp", ssp.logsumexp, shapes=RED),
    nn_case("logsumexp", lambda x: ssp.logsumexp(x, axis=0, keepdims=True), shapes=RED,
            fn=lambda x: nn.logsumexp(x, axis=0, keepdims=True), tag="axis=0,keepdims"),
    nn_case("standardize", _standardize, shapes=RED[:1] + RED[2:], dtypes=REAL),
    nn_case("standardize", lambda x: _standardize(x, axis=0, epsilon=0.1), shapes=RED,
            dtypes=REAL, tag="axis=0,epsilon=0.1",
            fn=lambda x: nn.standardize(x, axis=0, epsilon=0.1)),
    case("nn.one_hot", lambda x: nn.one_hot(x, 4),
         lambda x: (x[..., None] == np.arange(4)).astype(F64), id="nn.one_hot[4]",
         args=("idx5",), shapes=(((3,),), ((2, 3),), ((),)), diff=(),
         nodiff="integer classes"),
    case("nn.one_hot", lambda x: nn.one_hot(x, 3, dtype=np.float32, axis=0),
         lambda x: np.moveaxis(x[..., None] == np.arange(3), -1, 0).astype(F32),
         id="nn.one_hot[3,float32,axis=0]", args=("idx3",), shapes=(((3,),), ((2, 3),)),
         diff=(), nodiff="integer classes"),
    case("ops.segment_sum", lambda d, i: ops.segment_sum(d, i, 4),
         _segment(np.add, lambda dt: 0), args=("x", "seg4"), shapes=SEG, dtypes=NUMERIC
         + (np.dtype(np.complex128),)),
    case("ops.segment_prod", lambda d, i: ops.segment_prod(d, i, 4),
         _segment(np.multiply, lambda dt: 1), args=("x", "seg4"), shapes=SEG,
         dtypes=NUMERIC),
    case("ops.segment_max", lambda d, i: ops.segment_max(d, i, 4),
         _segment(np.maximum, _lowest), args=("x", "seg4"), shapes=SEG, dtypes=NUMERIC),
    case("ops.segment_min", lambda d, i: ops.segment_min(d, i, 4),
         _segment(np.minimum, _highest), args=("x", "seg4"), shapes=SEG, dtypes=NUMERIC),
    case("ops.segment_sum", lambda d, i: ops.segment_sum(d, i, 4, mode="clip"),
         lambda d, i: _segment(np.add, lambda dt: 0)(d, np.minimum(i, 3)),
         id="ops.segment_sum[mode=clip]", args=("x", "seg4"), shapes=SEG, dtypes=NUMERIC),
]
