"""lax.fft (FFT, IFFT, RFFT, IRFFT over trailing axes) under every interpreter.

Oracles: numpy.fft's n-dimensional transforms for values and dtypes, finite differences
for derivatives, the dot-product identity <A x, y> = <x, A^T y> (real part of the
unconjugated pairing, fad's and JAX's convention) for transposes, a Python loop for
vmap, eager evaluation for staged jaxprs and jit.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
from fad import lax
from fad.test_util import check_grads, check_jaxpr, check_vmap

SETTINGS = settings(max_examples=15, deadline=None)
_NUMPY = {"FFT": np.fft.fftn, "IFFT": np.fft.ifftn, "RFFT": np.fft.rfftn}


@st.composite
def case(draw, max_rank=3):
    """(fft_type, operand, fft_lengths) with 1..rank trailing axes transformed."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=max_rank)))
    k = draw(st.integers(1, len(shape)))
    fft_type = draw(st.sampled_from(["FFT", "IFFT", "RFFT", "IRFFT"]))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    lengths = shape[-k:]
    if fft_type == "IRFFT":
        shape = shape[:-1] + (shape[-1] // 2 + 1,)
    x = rng.standard_normal(shape)
    if fft_type != "RFFT":
        x = x + 1j * rng.standard_normal(shape)
        dtype = np.result_type(dtype, np.complex64)
    return fft_type, x.astype(dtype), lengths


def _numpy(fft_type, x, lengths):
    axes = tuple(range(x.ndim - len(lengths), x.ndim))
    if fft_type == "IRFFT":
        return np.fft.irfftn(x, s=lengths, axes=axes)
    return _NUMPY[fft_type](x, axes=axes)


def _tol(x):
    return 1e-4 if x.dtype in (np.float32, np.complex64) else 1e-10


@SETTINGS
@given(c=case())
def test_values_and_dtypes_match_numpy(c):
    fft_type, x, lengths = c
    want = _numpy(fft_type, x, lengths)
    got = lax.fft(x, fft_type, lengths)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=_tol(x), atol=_tol(x))
    check_jaxpr(lambda x: lax.fft(x, fft_type, lengths), (x,), rtol=1e-6)
    np.testing.assert_allclose(fad.jit(lambda x: lax.fft(x, fft_type, lengths))(x), got,
                               rtol=1e-6, atol=1e-6)


@SETTINGS
@given(c=case(max_rank=2))
def test_derivatives_order_two_both_modes(c):
    fft_type, x, lengths = c
    x = x.astype(np.complex128 if x.dtype.kind == "c" else np.float64)
    check_grads(lambda x: lax.fft(x, fft_type, lengths), (x,), order=2, modes=("fwd", "rev"))


@SETTINGS
@given(c=case())
def test_transpose_is_the_adjoint_of_the_unconjugated_pairing(c):
    fft_type, x, lengths = c
    x = x.astype(np.complex128 if x.dtype.kind == "c" else np.float64)
    f = lambda x: lax.fft(x, fft_type, lengths)  # noqa: E731
    y = f(x)
    rng = np.random.default_rng(7)
    ct = rng.standard_normal(y.shape)
    if y.dtype.kind == "c":
        ct = ct + 1j * rng.standard_normal(y.shape)
    (x_ct,) = fad.linear_transpose(f, x)(ct)
    assert x_ct.dtype == x.dtype and x_ct.shape == x.shape
    lhs = np.sum(f(x) * ct).real
    rhs = np.sum(x * x_ct).real
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-9)


def test_real_transforms_transpose_with_the_hermitian_doubling():
    # irfft counts the interior frequencies twice and the self-conjugate ones once; the
    # transpose of rfft pads back to the full spectrum: both against explicit matrices
    for n in (4, 5):
        eye = np.eye(n)
        rfft_matrix = np.fft.rfft(eye, axis=0)                    # (n//2+1, n)
        basis = np.eye(n // 2 + 1)
        irfft_re = np.fft.irfft(basis, n, axis=0)                 # real inputs' columns
        irfft_im = np.fft.irfft(1j * basis, n, axis=0)            # imaginary inputs'
        ct_c = np.arange(1.0, n // 2 + 2) + 1j * np.arange(2.0, n // 2 + 3)
        (got,) = fad.linear_transpose(lambda x: lax.fft(x, "RFFT", (n,)), eye[0])(ct_c)
        np.testing.assert_allclose(got, (ct_c @ rfft_matrix).real, atol=1e-12)
        ct_r = np.linspace(-1.0, 2.0, n)
        z = np.zeros(n // 2 + 1, complex)
        (got,) = fad.linear_transpose(lambda y: lax.fft(y, "IRFFT", (n,)), z)(ct_r)
        # Re(<ct, A y>) = Re(sum_k y_k g_k): g_k = <ct, A e_k> - i <ct, A (i e_k)>
        want = ct_r @ irfft_re - 1j * (ct_r @ irfft_im)
        np.testing.assert_allclose(got, want, atol=1e-12)


@SETTINGS
@given(c=case(max_rank=2), data=st.data())
def test_vmap_against_a_loop(c, data):
    fft_type, x, lengths = c
    axis = data.draw(st.integers(0, x.ndim))
    xs = np.stack([x, 2 * x, x[..., ::-1].copy()], axis=axis)
    f = lambda x: lax.fft(x, fft_type, lengths)  # noqa: E731
    check_vmap(f, (xs,), in_axes=axis, atol=1e-5, rtol=1e-5)
    check_vmap(lambda x: fad.linear_transpose(f, x)(f(x))[0], (xs,), in_axes=axis,
               atol=1e-5, rtol=1e-5)


def test_jvp_batched_tangents_and_second_derivative_of_a_power_spectrum():
    x = np.array([0.3, -1.2, 2.0, 0.7, 0.1])
    power = lambda x: fad.numpy.sum(fad.numpy.abs(lax.fft(x, "RFFT", (5,))) ** 2)  # noqa
    # Parseval: sum |rfft|^2 weights the interior frequencies once, so the gradient is
    # 2 * (x-part of the full spectrum's energy)
    full = np.abs(np.fft.fft(x)) ** 2
    assert np.isclose(power(x), full[:3].sum())
    check_grads(power, (x,), order=2)
    tangents = np.eye(5)
    jac = fad.vmap(lambda t: fad.jvp(lambda x: lax.fft(x, "RFFT", (5,)), (x,), (t,))[1])(
        tangents)
    np.testing.assert_allclose(jac.T, np.fft.rfft(np.eye(5), axis=0), atol=1e-12)


def test_errors_name_the_cause():
    z = np.ones((2, 4), complex)
    with pytest.raises(TypeError, match="needs a complex operand"):
        lax.fft(np.ones(4), "FFT", (4,))
    with pytest.raises(TypeError, match="needs a real operand"):
        lax.fft(z, "RFFT", (2, 4))
    with pytest.raises(ValueError, match="trailing axes of sizes"):
        lax.fft(z, "FFT", (3,))
    with pytest.raises(ValueError, match="trailing axes of sizes"):
        lax.fft(z, "IRFFT", (4,))    # needs 4 // 2 + 1 = 3 frequencies
    with pytest.raises(ValueError, match="fft_type"):
        lax.fft(z, "DCT", (4,))
    with pytest.raises(ValueError, match="between 1 and"):
        lax.fft(z, "FFT", ())
    with pytest.raises(TypeError, match="static integers"):
        lax.fft(z, "FFT", 4)
