"""fad.numpy.fft against numpy.fft: values and dtypes (NumPy 2: float32 stays single
precision) eagerly and traced, gradients of real losses of the complex outputs (order 2,
both modes), vmap against a loop, jit against eager, and NumPy's errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad.numpy import fft as F
from fad.test_util import check_grads, check_matches_numpy, check_vmap

SETTINGS = settings(max_examples=15, deadline=None)
NORMS = [None, "backward", "ortho", "forward"]
ONE_AXIS = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
N_AXES = ["fftn", "ifftn", "rfftn", "irfftn", "fft2", "ifft2", "rfft2", "irfft2"]
TAKES_COMPLEX = {"fft", "ifft", "irfft", "hfft", "fftn", "ifftn", "irfftn", "fft2", "ifft2",
                 "irfft2"}


def _input(name, shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if name in TAKES_COMPLEX and np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def _dtypes(name):
    real = [np.float64, np.float32, np.int64]
    return real + [np.complex128, np.complex64] if name in TAKES_COMPLEX else real


@st.composite
def one_axis_case(draw):
    name = draw(st.sampled_from(ONE_AXIS))
    shape = tuple(draw(st.lists(st.integers(2, 5), min_size=1, max_size=3)))
    dtype = draw(st.sampled_from(_dtypes(name)))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    n = draw(st.one_of(st.none(), st.integers(2, 7)))
    return name, _input(name, shape, dtype, draw(st.integers(0, 99))), dict(
        n=n, axis=axis, norm=draw(st.sampled_from(NORMS)))


@st.composite
def n_axes_case(draw):
    name = draw(st.sampled_from(N_AXES))
    shape = tuple(draw(st.lists(st.integers(2, 4), min_size=2, max_size=3)))
    dtype = draw(st.sampled_from(_dtypes(name)))
    kw = dict(norm=draw(st.sampled_from(NORMS)))
    if not name.endswith("2"):
        k = draw(st.integers(1, len(shape)))
        axes = draw(st.permutations(range(len(shape))))[:k]
        kw["axes"] = tuple(a - len(shape) if draw(st.booleans()) else a for a in axes)
        if draw(st.booleans()):
            kw["s"] = tuple(draw(st.integers(2, 5)) for _ in axes)
    return name, _input(name, shape, dtype, draw(st.integers(0, 99))), kw


def _assert_traced_matches(fn, x):
    """``fn`` staged and jitted against NumPy: the staged type, the dtype and the values
    (single precision to its rounding relative to the largest entry, as an FFT's error
    is; double precision through ``check_matches_numpy``'s few ulps)."""
    want = fn(x)      # nothing traced: NumPy itself
    (aval,) = fad.make_jaxpr(fn)(x).out_avals
    assert (aval.dtype, aval.shape) == (want.dtype, want.shape)
    got = fad.jit(fn)(x)
    assert got.dtype == want.dtype
    if want.dtype in (np.float32, np.complex64, np.float16):
        scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * scale)
    else:
        check_matches_numpy(fn, x)


@SETTINGS
@given(c=st.one_of(one_axis_case(), n_axes_case()))
def test_values_and_dtypes_match_numpy_eager_and_traced(c):
    name, x, kw = c
    fn = getattr(F, name)
    want = getattr(np.fft, name)(x, **kw)
    eager = fn(x, **kw)
    assert type(eager) is type(want) and eager.dtype == want.dtype
    np.testing.assert_array_equal(eager, want)
    _assert_traced_matches(lambda x: fn(x, **kw), x)


def _real_loss(name, kw):
    """Real losses of the transform's output: its power (as re^2 + im^2, smooth where an
    entry is zero, unlike abs), and its real and imaginary parts weighted."""
    def loss(x):
        y = getattr(F, name)(x, **kw)
        w = np.linspace(0.5, 1.5, int(np.prod(np.shape(y)))).reshape(np.shape(y))
        power = fnp.sum(fnp.real(y) ** 2 + fnp.imag(y) ** 2)
        return power + fnp.sum(fnp.real(y) * w) - fnp.sum(fnp.imag(y) * w[::-1])
    return loss


@SETTINGS
@given(c=st.one_of(one_axis_case(), n_axes_case()))
def test_gradients_of_real_losses_order_two(c):
    name, x, kw = c
    x = x.astype(np.complex128 if x.dtype.kind == "c" else np.float64)
    check_grads(_real_loss(name, kw), (x,), order=2, modes=("fwd", "rev"))


def test_complex_output_gradients_and_parseval():
    x = np.array([0.5, -1.0, 2.0, 0.25])
    # Parseval: sum |fft(x)|^2 = n sum x^2, so the gradient is 2 n x
    g = fad.grad(lambda x: fnp.sum(fnp.abs(F.fft(x)) ** 2))(x)
    np.testing.assert_allclose(g, 2 * 4 * x)
    g = fad.grad(lambda x: fnp.sum(fnp.abs(F.fft(x, norm="ortho")) ** 2))(x)
    np.testing.assert_allclose(g, 2 * x)
    z = x + 1j * x[::-1]
    check_grads(lambda z: F.ifft(F.fft(z)), (z,), order=2)
    np.testing.assert_allclose(F.ifft(fad.jit(F.fft)(z)), z)
    # irfft(rfft(x)) is the identity: its gradient is the cotangent
    g = fad.grad(lambda x: fnp.sum(F.irfft(F.rfft(x), n=4) * np.arange(4.0)))(x)
    np.testing.assert_allclose(g, np.arange(4.0), atol=1e-12)


@SETTINGS
@given(c=st.one_of(one_axis_case(), n_axes_case()), data=st.data())
def test_vmap_against_a_loop(c, data):
    name, x, kw = c
    kw = dict(kw)
    nd = x.ndim
    bd = data.draw(st.integers(0, nd))
    xs = np.stack([x, x * 2, x[::-1].copy()], axis=bd)
    check_vmap(lambda x: getattr(F, name)(x, **kw), (xs,), in_axes=bd, atol=1e-4, rtol=1e-4)


def test_repeated_axes_transform_once_per_mention():
    x = np.arange(12.0).reshape(3, 4) / 7
    z = x + 1j
    for name, a, axes in [("fftn", z, (0, 0, 1)), ("ifftn", z, (1, 0, 1)),
                          ("rfftn", x, (0, 1, 1)), ("irfftn", z, (0, 0, 1))]:
        check_matches_numpy(lambda a: getattr(F, name)(a, axes=axes), a)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, np.bool_])
def test_dtypes_of_real_inputs(dtype):
    x = (np.arange(6) % 3).astype(dtype)
    for name in ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fftn", "irfftn"]:
        fn = getattr(F, name)
        if dtype is not np.float16:
            check_matches_numpy(fn, x)
            continue
        # NumPy rounds its scale factors (1/n, 1/sqrt(n)) to float16 for float16 input;
        # fad's are exact: the same dtypes, values to float16's precision
        want, got = fn(x), fad.jit(fn)(x)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-3)


def test_frequencies_and_shifts():
    for n in (1, 4, 5):
        np.testing.assert_array_equal(F.fftfreq(n, 0.5), np.fft.fftfreq(n, 0.5))
        check_matches_numpy(lambda d: F.fftfreq(n, d), np.float64(0.1))
        check_matches_numpy(lambda d: F.rfftfreq(n, d), np.float32(0.1))
        np.testing.assert_allclose(fad.grad(lambda d: fnp.sum(F.fftfreq(n, d)))(0.25),
                                   -np.sum(np.fft.fftfreq(n, 1.0)) / 0.25 ** 2,
                                   atol=1e-12)
    x = np.arange(30.0).reshape(5, 6)
    for axes in (None, 0, (1,), (-1, 0)):
        check_matches_numpy(lambda x: F.fftshift(x, axes), x)
        check_matches_numpy(lambda x: F.ifftshift(x, axes), x)
        check_matches_numpy(lambda x: F.ifftshift(F.fftshift(x, axes), axes), x)
    check_grads(lambda x: F.fftshift(x) * np.arange(30.0).reshape(5, 6), (x,), order=1)


def test_errors_match_numpy():
    tracer_fn = lambda fn, *a, **k: fad.jit(lambda x: fn(x, *a, **k))  # noqa: E731
    x = np.ones(4)
    for fn, args, kwargs, err in [
            (F.fft, (), dict(norm="bad"), ValueError),
            (F.fft, (0,), {}, ValueError),
            (F.irfft, (), {}, ValueError),                  # 2 * (1 - 1) = 0 points
            (F.fft, (None, 3), {}, IndexError),             # axis out of range
            (F.rfft, (), {}, TypeError),                    # complex input to rfft
            (F.fftn, (), dict(s=(2, 3), axes=(0,)), ValueError)]:
        a = x[:1] if fn is F.irfft else (x + 1j if fn is F.rfft else x)
        with pytest.raises(err):
            fn(a, *args, **kwargs)
        with pytest.raises(err):
            tracer_fn(fn, *args, **kwargs)(a)
    with pytest.raises(TypeError, match="out="):
        fad.jit(lambda x: F.fft(x, out=np.empty(4, complex)))(x)
