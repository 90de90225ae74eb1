"""The discrete Fourier transform: one primitive, ``fft``, over the trailing axes.

``fft(x, fft_type, fft_lengths)`` transforms the last ``len(fft_lengths)`` axes of ``x``
(JAX's ``lax.fft``). ``fft_type`` is one of

- ``"FFT"``: complex to complex, ``y_k = sum_n x_n exp(-2 pi i k.n / N)`` (no scaling);
- ``"IFFT"``: its inverse, complex to complex, scaled by ``1 / prod(fft_lengths)``;
- ``"RFFT"``: real to complex, the non-negative frequencies of the last axis only
  (``n // 2 + 1`` of them), the other axes complex FFTs;
- ``"IRFFT"``: its inverse, complex (``n // 2 + 1`` entries on the last axis) to real of
  the ``fft_lengths`` given, the input taken as the half of a Hermitian-symmetric
  spectrum (the imaginary parts of the self-conjugate entries are ignored, as NumPy does).

The operation is linear (``deflinear``). Under fad's convention a transpose pairs
cotangent and tangent by ``Re sum(ct * t)`` without conjugation, as JAX's does, so:

- FFT and IFFT are symmetric matrices: each is its own transpose;
- RFFT keeps the frequencies ``0 .. n // 2`` of a full FFT of a real input, so its
  transpose pads the cotangent back to ``n`` frequencies with zeros, transforms with a
  full FFT and keeps the real part;
- IRFFT counts each frequency strictly between ``0`` and ``n / 2`` twice (it stands for
  itself and for its conjugate mirror) and the self-conjugate ones once:
  ``x = Re(sum_k c_k Y_k exp(+2 pi i k n / N)) / N`` with ``c_k`` 1 or 2, whose transpose
  is ``c * conj(RFFT(ct)) / N``.

Batching moves a batch axis that sits among the transformed axes to the front.
"""
from __future__ import annotations

import math

import numpy as np

from fad.core.abstract import ShapedArray, get_aval
from fad.core.primitive import Primitive
from fad.interpreters.batching import batch_rules
from fad.lax.elementwise import conj, mul, real
from fad.lax.plumbing import batch_axis_at
from fad.lax.rules import deflinear
from fad.lax.structural import pad

FFT_TYPES = ("FFT", "IFFT", "RFFT", "IRFFT")


def fft(x, fft_type: str, fft_lengths):
    """The ``fft_type`` transform (``"FFT"``, ``"IFFT"``, ``"RFFT"`` or ``"IRFFT"``, any
    case) of the trailing ``len(fft_lengths)`` axes of ``x``, unnormalised forward and
    scaled by ``1/N`` backward, as ``numpy.fft.fftn``/``ifftn``/``rfftn``/``irfftn`` with
    their default norm. FFT and IFFT take complex operands, RFFT real ones, IRFFT complex
    ones whose last axis holds ``fft_lengths[-1] // 2 + 1`` frequencies.

    >>> fft(np.array([1., 2., 3., 4.]), "RFFT", (4,))
    array([10.+0.j, -2.+2.j, -2.+0.j])
    """
    if not isinstance(fft_type, str) or fft_type.upper() not in FFT_TYPES:
        raise ValueError(f"fft: fft_type must be one of {', '.join(FFT_TYPES)}, got "
                         f"{fft_type!r}")
    try:
        lengths = tuple(int(n) for n in fft_lengths)
    except TypeError:
        raise TypeError(f"fft: fft_lengths must be a sequence of static integers, got "
                        f"{fft_lengths!r}") from None
    params = dict(fft_type=fft_type.upper(), fft_lengths=lengths)
    _fft_rule(get_aval(x), **params)
    return fft_p.bind(x, **params)


def _complex_of(dtype):
    return np.result_type(dtype, np.complex64)     # float32 -> complex64, float64 -> c128


def _real_of(dtype):
    return np.empty((), dtype).real.dtype


def _fft_rule(x, *, fft_type, fft_lengths):
    k = len(fft_lengths)
    if fft_type not in FFT_TYPES:
        raise ValueError(f"fft: unknown fft_type {fft_type!r}")
    if not 1 <= k <= x.ndim:
        raise ValueError(f"fft: fft_lengths {fft_lengths} must name between 1 and "
                         f"{x.ndim} trailing axes of the operand of shape {x.shape}")
    if any(n < 1 for n in fft_lengths):
        raise ValueError(f"fft: fft_lengths {fft_lengths} must be positive")
    lead, tail = x.shape[:-k], x.shape[-k:]
    wanted = "real" if fft_type == "RFFT" else "complex"
    if (x.dtype.kind != "c" if wanted == "complex" else
            x.dtype not in (np.dtype(np.float32), np.dtype(np.float64))):
        raise TypeError(f"fft: {fft_type} needs a {wanted} operand "
                        f"({'float32 or float64' if wanted == 'real' else 'complex'}), got "
                        f"{x.dtype}; convert it with fad.lax.convert_element_type")
    if fft_type == "IRFFT":
        expected = fft_lengths[:-1] + (fft_lengths[-1] // 2 + 1,)
    else:
        expected = fft_lengths
    if tail != expected:
        raise ValueError(f"fft: {fft_type} with fft_lengths {fft_lengths} needs trailing "
                         f"axes of sizes {expected}, got an operand of shape {x.shape}")
    if fft_type == "RFFT":
        return ShapedArray(lead + fft_lengths[:-1] + (fft_lengths[-1] // 2 + 1,),
                           _complex_of(x.dtype))
    if fft_type == "IRFFT":
        return ShapedArray(lead + fft_lengths, _real_of(x.dtype))
    return ShapedArray(x.shape, x.dtype)


def _fft_impl(x, *, fft_type, fft_lengths):
    x = np.asarray(x)
    axes = tuple(range(x.ndim - len(fft_lengths), x.ndim))
    if fft_type == "FFT":
        out = np.fft.fftn(x, axes=axes)
    elif fft_type == "IFFT":
        out = np.fft.ifftn(x, axes=axes)
    elif fft_type == "RFFT":
        out = np.fft.rfftn(x, axes=axes)
    else:
        out = np.fft.irfftn(x, s=fft_lengths, axes=axes)
    # (NumPy 2 keeps single precision; NumPy 1 computes in double)
    dtype = (_complex_of(x.dtype) if fft_type == "RFFT" else
             _real_of(x.dtype) if fft_type == "IRFFT" else x.dtype)
    return out.astype(dtype, copy=False)


def _irfft_weights(n, dtype):
    """``c_k / n`` for the ``n // 2 + 1`` frequencies IRFFT reads: the self-conjugate
    ones (``0`` and, for even ``n``, ``n / 2``) count once, the others twice."""
    c = np.full(n // 2 + 1, 2.0)
    c[0] = 1.0
    if n % 2 == 0:
        c[-1] = 1.0
    return (c / n).astype(dtype)


def _fft_transpose(ct, x, *, fft_type, fft_lengths):
    if fft_type in ("FFT", "IFFT"):
        return [fft_p.bind(ct, fft_type=fft_type, fft_lengths=fft_lengths)]
    ct_dtype = get_aval(ct).dtype
    if fft_type == "RFFT":
        n, ndim = fft_lengths[-1], get_aval(ct).ndim
        config = [(0, 0, 0)] * (ndim - 1) + [(0, n - (n // 2 + 1), 0)]
        full = pad(ct, np.zeros((), ct_dtype)[()], config)
        return [real(fft_p.bind(full, fft_type="FFT", fft_lengths=fft_lengths))]
    spectrum = fft_p.bind(ct, fft_type="RFFT", fft_lengths=fft_lengths)
    weights = _irfft_weights(fft_lengths[-1], _complex_of(ct_dtype))
    return [mul(conj(spectrum), weights / math.prod(fft_lengths[:-1]))]


def _fft_batch(args, dims, *, fft_type, fft_lengths):
    (x,), (bd,) = args, dims
    if bd >= get_aval(x).ndim - len(fft_lengths):    # among the transformed axes
        x, bd = batch_axis_at(x, bd), 0
    return fft_p.bind(x, fft_type=fft_type, fft_lengths=fft_lengths), bd


fft_p = Primitive("fft")
fft_p.def_impl(_fft_impl)
fft_p.def_abstract_eval(_fft_rule)
deflinear(fft_p, _fft_transpose)
batch_rules[fft_p] = _fft_batch

__all__ = ["fft", "fft_p", "FFT_TYPES"]
