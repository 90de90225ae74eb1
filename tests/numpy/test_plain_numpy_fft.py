"""A function written against plain NumPy's FFT (``np.fft.rfft``, ``np.fft.fft``, ...) is
traced through ``Tracer.__array_function__`` to ``fad.numpy.fft``: differentiated with
``fad.grad``, mapped with ``fad.vmap`` and staged with ``fad.jit``, unmodified.

Oracles: the function itself on NumPy arrays (values), closed forms and finite
differences (derivatives), a Python loop (vmap)."""
from __future__ import annotations

import numpy as np

import fad
from fad.test_util import check_grads, check_vmap

def spectral_energy(x):
    """Plain NumPy: the energy of the non-negative frequencies, weighted by frequency,
    plus the real part of the full spectrum's first bin."""
    spectrum = np.fft.rfft(x)
    freqs = np.arange(spectrum.shape[-1]) + 1.0
    full = np.fft.fft(x, axis=-1)
    return np.sum(freqs * np.abs(spectrum) ** 2) + np.real(full[..., 0]).sum()


def smooth(x):
    """Plain NumPy: a low-pass filter (keep the lowest three frequencies), back to a real
    signal of the input's length, with ortho normalisation."""
    n = x.shape[-1]
    spectrum = np.fft.rfft(x, norm="ortho")
    mask = np.arange(spectrum.shape[-1]) < 3
    return np.fft.irfft(spectrum * mask, n=n, norm="ortho")


X = np.array([0.3, -1.1, 2.0, 0.4, -0.7, 1.5])


def test_grad_of_a_plain_numpy_function():
    # d/dx sum_k w_k |rfft(x)_k|^2 = 2 Re(F^T (w * rfft(x))) where F is rfft's matrix
    g = fad.grad(spectral_energy)(X)
    f = np.fft.rfft(np.eye(6), axis=0)          # (4, 6)
    w = np.arange(4) + 1.0
    want = 2 * np.real(f.T @ (w * (f @ X)).conj()) + 1.0
    np.testing.assert_allclose(g, want, rtol=1e-10)
    check_grads(spectral_energy, (X,), order=2, modes=("fwd", "rev"))


def test_jacobian_of_a_plain_numpy_filter_is_its_matrix():
    jac = fad.jacrev(smooth)(X)
    cols = np.stack([smooth(e) for e in np.eye(6)], axis=1)
    np.testing.assert_allclose(jac, cols, atol=1e-12)
    np.testing.assert_allclose(fad.jacfwd(smooth)(X), cols, atol=1e-12)


def test_vmap_and_jit_of_plain_numpy_functions():
    xs = np.stack([X, X[::-1], 2 * X])
    check_vmap(spectral_energy, (xs,))
    check_vmap(smooth, (xs,))
    check_vmap(fad.grad(spectral_energy), (xs,))
    np.testing.assert_allclose(fad.jit(spectral_energy)(X), spectral_energy(X), rtol=1e-12)
    np.testing.assert_allclose(fad.jit(smooth)(X), smooth(X), atol=1e-12)
    np.testing.assert_allclose(fad.jit(fad.grad(spectral_energy))(X),
                               fad.grad(spectral_energy)(X), rtol=1e-12)


def test_plain_numpy_n_dimensional_transforms_and_shifts():
    img = np.arange(12.0).reshape(3, 4) / 5

    def f(a):
        return np.sum(np.abs(np.fft.fftshift(np.fft.fft2(a))) ** 2 * np.arange(12.0).reshape(
            3, 4)) + np.real(np.fft.ifftn(np.fft.rfftn(a), axes=(0,))).sum()
    np.testing.assert_allclose(fad.jit(f)(img), f(img), rtol=1e-12)
    check_grads(f, (img,), order=1)
