"""``fad.numpy.fft``: NumPy's discrete Fourier transforms on ``lax.fft``.

With nothing traced each function is NumPy's own. Traced, the input is converted as
NumPy 2 converts it (float32 and float16 to complex64, other reals to complex128; the
real transforms of complex input are a ``TypeError``), cropped or zero-padded to the
lengths ``n``/``s`` asked for, its transformed axes moved to the end for one ``lax.fft``
over all of them, scaled for ``norm`` and moved back. The results match NumPy to
rounding (the scaling of ``norm`` is a separate multiplication, exact where NumPy rounds
its factor to float16 for float16 input). ``out=`` is refused on traced values.

>>> import fad
>>> fad.grad(lambda x: fad.numpy.sum(fad.numpy.abs(rfft(x)) ** 2))(np.array([1., 2.]))
array([4., 8.])
"""
from __future__ import annotations

import math
import operator

import numpy as np

from fad import lax
from fad.lax.fft import fft as lax_fft
from fad.numpy import _indexing
from fad.numpy import _ufuncs as uf
from fad.numpy._promote import asarray, cast, dtype_of, is_traced, ndim_of, shape_of
from fad.lax.plumbing import normalize_axis

_NORMS = (None, "backward", "ortho", "forward")


# -- arguments --------------------------------------------------------------------------------

def _check_norm(norm):
    if norm not in _NORMS:
        raise ValueError(f'Invalid norm value {norm}; should be "backward", "ortho" or '
                         '"forward".')
    return norm or "backward"


def _swap_direction(norm):
    """The norm of the opposite direction with the same scaling (``hfft``, ``ihfft``)."""
    return {"backward": "forward", "ortho": "ortho", "forward": "backward"}[_check_norm(norm)]


def _length(n, what):
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"{what} must be an integer (a static length), got {n!r}") from None
    if n < 1:
        raise ValueError(f"Invalid number of FFT data points ({n}) specified.")
    return n


def _cook_nd(a, s, axes, inverse_real=False):
    """NumPy's ``s`` and ``axes`` of an n-dimensional transform, normalised: both lists
    of one length; ``s`` defaults to the input's sizes (for ``irfftn``, the last one to
    ``2 * (m - 1)``), ``-1`` in ``s`` keeps the input's size."""
    shape = shape_of(a)
    if axes is None:
        if s is None:
            axes = list(range(len(shape)))
        else:   # (deprecated in NumPy 2.0, still NumPy's behaviour)
            axes = list(range(len(shape) - len(s), len(shape)))
    else:
        axes = [normalize_axis(ax, len(shape)) for ax in
                (axes if isinstance(axes, (tuple, list)) else [axes])]
    if s is None:
        s = [shape[ax] for ax in axes]
        if inverse_real and axes:
            s[-1] = 2 * (shape[axes[-1]] - 1)
    else:
        s = list(s)
        if len(s) != len(axes):
            raise ValueError("Shape and axes have different lengths.")
        s = [shape[ax] if n == -1 else n for n, ax in zip(s, axes)]
        if inverse_real and axes and list(s)[-1] == -1:
            s[-1] = 2 * (shape[axes[-1]] - 1)
    return [_length(n, "s") for n in s], axes


# -- the transforms --------------------------------------------------------------------------

def _complex_dtype(dtype):
    return np.dtype(np.complex64) if dtype in (np.float16, np.float32, np.complex64) \
        else np.dtype(np.complex128)


def _as_input(a, kind):
    """``a`` in the dtype its transform runs in; NumPy's refusals as its errors."""
    dtype = dtype_of(a)
    if dtype.kind not in "biufc":
        raise TypeError(f"fft: cannot transform an array of dtype {dtype}")
    if kind == "RFFT":
        if dtype.kind == "c":
            raise TypeError(f"rfft: the input must be real, got dtype {dtype}; use fft for "
                            "complex input")
        return cast(a, _complex_dtype(dtype).type(0).real.dtype)
    return cast(a, _complex_dtype(dtype))


def _resized(a, axis, n):
    """``a`` cropped or zero-padded to ``n`` entries along ``axis``."""
    size = shape_of(a)[axis]
    if size == n:
        return a
    if size > n:
        return lax.slice_in_dim(a, 0, n, axis=axis)
    config = [(0, 0, 0)] * ndim_of(a)
    config[axis] = (0, n - size, 0)
    return lax.pad(a, np.zeros((), dtype_of(a))[()], config)


def _scale(y, kind, norm, count):
    """The scaling of ``norm`` on top of ``lax.fft``'s (none forward, 1/N backward)."""
    forward = kind in ("FFT", "RFFT")
    factor = {("backward", True): None, ("ortho", True): 1 / math.sqrt(count),
              ("forward", True): 1 / count, ("backward", False): None,
              ("ortho", False): math.sqrt(count), ("forward", False): float(count)}
    f = factor[norm, forward]
    return y if f is None else lax.mul(y, f)


def _transform(a, s, axes, norm, kind):
    """The ``kind`` transform of the traced ``a`` over ``axes`` (distinct, the real axis
    last) with lengths ``s``."""
    norm = _check_norm(norm)
    a = _as_input(asarray(a), kind)
    if not axes:
        return a
    for ax, n in zip(axes, s):
        a = _resized(a, ax, n // 2 + 1 if kind == "IRFFT" and ax == axes[-1] else n)
    nd = ndim_of(a)
    perm = [i for i in range(nd) if i not in axes] + list(axes)
    y = lax_fft(lax.transpose(a, perm), kind, s)
    y = _scale(y, kind, norm, math.prod(s))
    return lax.transpose(y, list(np.argsort(perm)))


def _repeated(axes):
    return len(set(axes)) != len(axes)


def _one(a, n, axis, norm, kind, name, out):
    """A one-axis transform (``fft``, ``ifft``, ``rfft``, ``irfft``)."""
    if out is not None:
        raise TypeError(f"{name}: out= is not supported on traced values; use the result")
    a = asarray(a)
    axis = normalize_axis(axis, ndim_of(a))
    if n is None:
        n = 2 * (shape_of(a)[axis] - 1) if kind == "IRFFT" else shape_of(a)[axis]
    return _transform(a, [_length(n, "n")], [axis], norm, kind)


def fft(a, n=None, axis=-1, norm=None, out=None):
    """Like ``numpy.fft.fft``.

    >>> import numpy as np, fad, fad.numpy.fft as fft
    >>> x = np.array([1.0, 2.0, 3.0, 4.0])
    >>> fft.fft(x)
    array([10.+0.j, -2.+2.j, -2.+0.j, -2.-2.j])
    >>> fad.grad(lambda x: fft.fft(x)[1].real)(x)
    array([ 1.,  0., -1.,  0.])
    """
    if not is_traced(a):
        return np.fft.fft(a, n, axis, norm, out)
    return _one(a, n, axis, norm, "FFT", "fft", out)


def ifft(a, n=None, axis=-1, norm=None, out=None):
    """Like ``numpy.fft.ifft``.

    >>> import numpy as np, fad, fad.numpy.fft as fft
    >>> x = np.array([1.0, 2.0, 3.0, 4.0])
    >>> bool(np.allclose(fft.ifft(fft.fft(x)), x))
    True
    """
    if not is_traced(a):
        return np.fft.ifft(a, n, axis, norm, out)
    return _one(a, n, axis, norm, "IFFT", "ifft", out)


def rfft(a, n=None, axis=-1, norm=None, out=None):
    """Like ``numpy.fft.rfft``.

    >>> import numpy as np, fad, fad.numpy.fft as fft
    >>> x = np.array([1.0, 2.0, 3.0, 4.0])
    >>> fft.rfft(x)
    array([10.+0.j, -2.+2.j, -2.+0.j])
    """
    if not is_traced(a):
        return np.fft.rfft(a, n, axis, norm, out)
    return _one(a, n, axis, norm, "RFFT", "rfft", out)


def irfft(a, n=None, axis=-1, norm=None, out=None):
    """Like ``numpy.fft.irfft``: a float16 input gives float16, as in NumPy.

    >>> import numpy as np, fad, fad.numpy.fft as fft
    >>> x = np.array([1.0, 2.0, 3.0, 4.0])
    >>> bool(np.allclose(fft.irfft(fft.rfft(x), n=4), x))
    True
    """
    if not is_traced(a):
        return np.fft.irfft(a, n, axis, norm, out)
    return _real_result(_one(a, n, axis, norm, "IRFFT", "irfft", out), a)


def hfft(a, n=None, axis=-1, norm=None, out=None):
    """Like ``numpy.fft.hfft``: the real spectrum of a Hermitian-symmetric signal.

    >>> import numpy as np, fad, fad.numpy.fft as fft
    >>> fft.hfft(np.array([1.0, 2.0, 3.0]))
    array([ 8., -2.,  0., -2.])
    """
    if not is_traced(a):
        return np.fft.hfft(a, n, axis, norm, out)
    a = asarray(a)
    if n is None:
        n = 2 * (shape_of(a)[normalize_axis(axis, ndim_of(a))] - 1)
    return irfft(uf.conjugate(a), n, axis, _swap_direction(norm), out)


def ihfft(a, n=None, axis=-1, norm=None, out=None):
    """Like ``numpy.fft.ihfft``: the inverse of ``hfft``.

    >>> import numpy as np, fad, fad.numpy.fft as fft
    >>> x = np.array([1.0, 2.0, 3.0, 4.0])
    >>> bool(np.allclose(fft.hfft(fft.ihfft(x), n=4), x))
    True
    """
    if not is_traced(a):
        return np.fft.ihfft(a, n, axis, norm, out)
    return uf.conjugate(rfft(a, n, axis, _swap_direction(norm), out))


def _nd(a, s, axes, norm, kind, name, out):
    """An n-axis transform: one ``lax.fft`` over distinct axes; repeated axes (which
    NumPy transforms once per mention) one axis at a time, in NumPy's order."""
    if out is not None:
        raise TypeError(f"{name}: out= is not supported on traced values; use the result")
    a = asarray(a)
    s, axes = _cook_nd(a, s, axes, inverse_real=kind == "IRFFT")
    if not _repeated(axes):
        return _transform(a, s, axes, norm, kind)
    if kind in ("FFT", "IFFT"):
        for ax, n in reversed(list(zip(axes, s))):
            a = _transform(a, [n], [ax], norm, kind)
        return a
    if kind == "RFFT":
        a = _transform(a, s[-1:], axes[-1:], norm, "RFFT")
        for ax, n in reversed(list(zip(axes[:-1], s[:-1]))):
            a = _transform(a, [n], [ax], norm, "FFT")
        return a
    for ax, n in zip(axes[:-1], s[:-1]):
        a = _transform(a, [n], [ax], norm, "IFFT")
    return _transform(a, s[-1:], axes[-1:], norm, "IRFFT")


def fftn(a, s=None, axes=None, norm=None, out=None):
    """Like ``numpy.fft.fftn``.

    >>> import numpy as np, fad, fad.numpy.fft as fft
    >>> x = np.arange(6.0).reshape(2, 3)
    >>> bool(np.allclose(fft.fftn(x), np.fft.fftn(x)))
    True
    """
    if not is_traced(a):
        return np.fft.fftn(a, s, axes, norm, out)
    return _nd(a, s, axes, norm, "FFT", "fftn", out)


def ifftn(a, s=None, axes=None, norm=None, out=None):
    """Like ``numpy.fft.ifftn``.

    >>> import numpy as np, fad, fad.numpy.fft as fft
    >>> x = np.arange(6.0).reshape(2, 3)
    >>> bool(np.allclose(fft.ifftn(fft.fftn(x)), x))
    True
    """
    if not is_traced(a):
        return np.fft.ifftn(a, s, axes, norm, out)
    return _nd(a, s, axes, norm, "IFFT", "ifftn", out)


def rfftn(a, s=None, axes=None, norm=None, out=None):
    """Like ``numpy.fft.rfftn``.

    >>> import numpy as np, fad, fad.numpy.fft as fft
    >>> x = np.arange(6.0).reshape(2, 3)
    >>> fft.rfftn(x).shape
    (2, 2)
    """
    if not is_traced(a):
        return np.fft.rfftn(a, s, axes, norm, out)
    return _nd(a, s, axes, norm, "RFFT", "rfftn", out)


def irfftn(a, s=None, axes=None, norm=None, out=None):
    """Like ``numpy.fft.irfftn``.

    >>> import numpy as np, fad, fad.numpy.fft as fft
    >>> x = np.arange(6.0).reshape(2, 3)
    >>> bool(np.allclose(fft.irfftn(fft.rfftn(x), s=x.shape, axes=(0, 1)), x))
    True
    """
    if not is_traced(a):
        return np.fft.irfftn(a, s, axes, norm, out)
    return _real_result(_nd(a, s, axes, norm, "IRFFT", "irfftn", out), a)


def fft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """Like ``numpy.fft.fft2``.

    >>> import numpy as np, fad, fad.numpy.fft as fft
    >>> x = np.arange(6.0).reshape(2, 3)
    >>> fft.fft2(x)[0, 0]
    np.complex128(15+0j)
    """
    return fftn(a, s, axes, norm, out)


def ifft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """Like ``numpy.fft.ifft2``.

    >>> import numpy as np, fad, fad.numpy.fft as fft
    >>> x = np.arange(6.0).reshape(2, 3)
    >>> bool(np.allclose(fft.ifft2(fft.fft2(x)), x))
    True
    """
    return ifftn(a, s, axes, norm, out)


def rfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """Like ``numpy.fft.rfft2``.

    >>> import numpy as np, fad, fad.numpy.fft as fft
    >>> x = np.arange(6.0).reshape(2, 3)
    >>> fft.rfft2(x).shape
    (2, 2)
    """
    return rfftn(a, s, axes, norm, out)


def irfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """Like ``numpy.fft.irfft2``.

    >>> import numpy as np, fad, fad.numpy.fft as fft
    >>> x = np.arange(6.0).reshape(2, 3)
    >>> bool(np.allclose(fft.irfft2(fft.rfft2(x), s=x.shape), x))
    True
    """
    return irfftn(a, s, axes, norm, out)


def _real_result(y, a):
    """NumPy's inverse real transforms give float16 for float16 input."""
    return cast(y, np.dtype(np.float16)) if dtype_of(asarray(a)) == np.float16 else y


# -- frequencies and shifts -----------------------------------------------------------------

def fftfreq(n, d=1.0, device=None):
    """Like ``numpy.fft.fftfreq``; the sample spacing ``d`` may be traced.

    >>> import numpy as np, fad, fad.numpy.fft as fft
    >>> fft.fftfreq(4)
    array([ 0.  ,  0.25, -0.5 , -0.25])
    >>> fft.fftfreq(4, d=0.5)
    array([ 0. ,  0.5, -1. , -0.5])
    """
    if not is_traced(d):
        return np.fft.fftfreq(n, d, device=device)
    n = _length(n, "n")
    return uf.multiply(np.fft.fftfreq(n, 1.0 / n).astype(np.int64),
                       uf.divide(1.0, uf.multiply(n, d)))


def rfftfreq(n, d=1.0, device=None):
    """Like ``numpy.fft.rfftfreq``; the sample spacing ``d`` may be traced.

    >>> import numpy as np, fad, fad.numpy.fft as fft
    >>> fft.rfftfreq(4)
    array([0.  , 0.25, 0.5 ])
    """
    if not is_traced(d):
        return np.fft.rfftfreq(n, d, device=device)
    n = _length(n, "n")
    return uf.multiply(np.arange(n // 2 + 1), uf.divide(1.0, uf.multiply(n, d)))


def _shifted(x, axes, sign):
    shape = shape_of(x)
    if axes is None:
        axes = tuple(range(len(shape)))
    elif not isinstance(axes, (tuple, list)):
        axes = (axes,)
    shifts = [sign * (shape[normalize_axis(ax, len(shape))] // 2) for ax in axes]
    return _indexing.roll(x, shifts, axes) if axes else x


def fftshift(x, axes=None):
    """Like ``numpy.fft.fftshift``: the zero frequency to the centre.

    >>> import numpy as np, fad, fad.numpy.fft as fft
    >>> fft.fftshift(np.array([0, 1, 2, 3, 4]))
    array([3, 4, 0, 1, 2])
    """
    if not is_traced(x):
        return np.fft.fftshift(x, axes)
    return _shifted(asarray(x), axes, 1)


def ifftshift(x, axes=None):
    """Like ``numpy.fft.ifftshift``: the inverse of ``fftshift``.

    >>> import numpy as np, fad, fad.numpy.fft as fft
    >>> fft.ifftshift(fft.fftshift(np.array([0, 1, 2, 3, 4])))
    array([0, 1, 2, 3, 4])
    """
    if not is_traced(x):
        return np.fft.ifftshift(x, axes)
    return _shifted(asarray(x), axes, -1)


__all__ = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fftn", "ifftn", "rfftn",
           "irfftn", "fft2", "ifft2", "rfft2", "irfft2", "fftfreq", "rfftfreq", "fftshift",
           "ifftshift"]
