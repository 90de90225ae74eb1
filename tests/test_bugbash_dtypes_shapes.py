"""Bug bash: dtypes are preserved through every transformation, and odd shapes (0-d,
size 0, size-1 axes, broadcasting under vmap, keepdims) give NumPy's answers."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
import fad.scipy.special as fss
from fad.core import dtypes
from fad.test_util import check_grads, check_matches_numpy, check_vmap

x32 = np.arange(1, 4, dtype=np.float32)
X32 = np.linspace(0.5, 2.0, 12, dtype=np.float32).reshape(4, 3)


def _f(v):
    return fnp.sum(fnp.sin(v) ** 2 * 2.0 + v * 3 + 1)


@pytest.mark.parametrize("transform", [
    lambda v: fad.grad(_f)(v),
    lambda v: fad.value_and_grad(_f)(v)[0],
    lambda v: fad.hessian(_f)(v),
    lambda v: fad.jacfwd(fnp.sin)(v),
    lambda v: fad.jacrev(fnp.sin)(v),
    lambda v: fad.jit(lambda u: u * 2.0 + 1)(v),
    lambda v: fad.jit(lambda u: u * 2 + 1)(v),
    lambda v: fad.vmap(lambda u: u * 2.0 + True)(v),
    lambda v: fad.grad(lambda u: fnp.var(u) + fnp.std(u) + fnp.mean(u))(v),
    lambda v: fad.grad(lambda u: fss.logsumexp(u))(v),
    lambda v: fad.jacrev(fss.softmax)(v),
    lambda v: fad.grad(lambda u: fnp.sum(u @ np.ones(3)))(v),     # f64 constant inside
    lambda v: fad.grad(lambda u: fnp.sum(u * fnp.arange(3)))(v),  # int constant inside
    lambda v: fad.vmap(fad.hessian(lambda u: fnp.sum(fnp.tanh(u) ** 3)))(v[None]),
    lambda v: fad.jit(fad.grad(lambda u: fnp.sum(fnp.tanh(u) ** 3)))(v),
], ids=range(15))
def test_float32_stays_float32(transform):
    out = transform(x32)
    assert np.asarray(out).dtype == np.float32


def test_python_bool_scalars_promote_like_numpy():
    # NumPy: float32 * True is float32; fad used to raise inside ufunc.resolve_dtypes
    check_matches_numpy(lambda v: (v * True, v + False, (v > 1) & True), x32)
    check_matches_numpy(lambda i: (i + True, i * False), np.arange(3, dtype=np.int8))
    g = fad.grad(lambda v: fnp.sum(v * True + fnp.where(v > 1, v, False)))(x32)
    np.testing.assert_array_equal(g, np.array([1, 2, 2], np.float32))
    assert g.dtype == np.float32


def test_weak_int_comparisons_under_jit():
    # two weak ints resolve to NumPy's object loop; fad must compare them as int64
    check_matches_numpy(lambda n: (n < 0, n == 2, n >= 1, n != 3, n < 2.5), 1)
    got = fad.jit(lambda n: (n < 0, n == 1))(1)
    assert got == (False, True) and np.asarray(got[0]).dtype == np.bool_


def test_grad_dtype_follows_input_not_intermediates():
    # the output is float64 (a float64 constant promotes it), the gradient float32
    val, g = fad.value_and_grad(lambda v: fnp.sum(v * np.ones(3)))(x32)
    assert val.dtype == np.float64 and g.dtype == np.float32
    assert fad.jacrev(lambda v: v.astype(np.float32))(np.ones(3)).dtype == np.float64
    assert fad.grad(lambda v: 2.0)(np.float32(1.0)).dtype == np.float32


def test_float16_mean_and_grad():
    h = x32.astype(np.float16)
    assert fad.jit(fnp.mean)(h).dtype == np.mean(h).dtype == np.float16
    assert fad.grad(fnp.mean)(h).dtype == np.float16


def test_int_and_bool_inputs():
    gw, gn = fad.grad(lambda w, n: fnp.sum(w ** 2) * n, argnums=(0, 1), allow_int=True)(x32, 3)
    np.testing.assert_allclose(gw, 6 * x32)
    assert gn.dtype == dtypes.float0
    m = np.array([True, False, True])
    np.testing.assert_array_equal(fad.grad(lambda v: fnp.sum(v * m))(x32), m.astype(np.float32))
    np.testing.assert_array_equal(fad.vmap(lambda b: ~b)(m), ~m)
    np.testing.assert_array_equal(fad.vmap(lambda i: i + 1)(np.arange(3, dtype=np.uint8)),
                                  np.arange(1, 4, dtype=np.uint8))


def test_complex_holomorphic():
    z = np.array([1 + 2j, 0.5 - 1j])
    np.testing.assert_allclose(fad.grad(lambda u: fnp.sum(fnp.sin(u)), holomorphic=True)(z),
                               np.cos(z))
    np.testing.assert_allclose(fad.jacrev(fnp.exp, holomorphic=True)(z), np.diag(np.exp(z)))
    h = fad.hessian(lambda u: fnp.sum(u ** 3), holomorphic=True)(z.astype(np.complex64))
    assert h.dtype == np.complex64
    np.testing.assert_allclose(h, np.diag(6 * z), rtol=1e-6)
    np.testing.assert_allclose(fad.grad(lambda t: fnp.real(fnp.exp(1j * t)))(0.5), -np.sin(0.5))


# -- shapes -------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(0,), (0, 3), (3, 0)])
def test_size_zero_arrays(shape):
    e = np.zeros(shape)
    assert fad.grad(lambda v: fnp.sum(v ** 2))(e).shape == shape
    assert fad.jit(lambda v: v + 1)(e).shape == shape
    assert fad.jacfwd(fnp.sin)(e).shape == shape + shape
    assert fad.jacrev(fnp.sin)(e).shape == shape + shape
    if shape[0]:
        assert fad.vmap(fnp.sum)(e).shape == (shape[0],)


@pytest.mark.parametrize("shape, axis", [((0,), None), ((0, 3), 0), ((2, 0), 1), ((2, 0), None)])
def test_logsumexp_of_an_empty_reduction_is_minus_inf(shape, axis):
    e = np.zeros(shape)
    want = np.full(np.sum(e, axis=axis).shape, -np.inf)
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(fss.logsumexp(e, axis=axis), want)
        np.testing.assert_array_equal(fad.jit(lambda v: fss.logsumexp(v, axis=axis))(e), want)
        assert fad.grad(lambda v: fnp.sum(fss.logsumexp(v, axis=axis)))(e).shape == shape


def test_zero_d_arrays():
    a = np.array(2.0)
    assert fad.grad(fnp.sum)(a) == 1.0
    np.testing.assert_allclose(fad.jacfwd(lambda v: v * v)(a), 4.0)
    np.testing.assert_allclose(fad.jacrev(lambda v: v * v)(a), 4.0)
    np.testing.assert_allclose(fad.hessian(lambda v: v ** 3)(a), 12.0)


_BINARY = [fnp.add, fnp.subtract, fnp.multiply, fnp.divide, fnp.maximum, fnp.minimum,
           fnp.power, fnp.arctan2, fnp.hypot, fnp.logaddexp]


@settings(max_examples=40, deadline=None)
@given(op=st.sampled_from(_BINARY),
       shapes=st.sampled_from([((2, 3), (3,)), ((3,), (2, 3)), ((2, 1), (1, 3)), ((), (2, 3)),
                               ((1,), (3,)), ((2, 3), ())]),
       axes=st.sampled_from([(0, 0), (0, None), (None, 0), (-1, 0), (0, -1)]))
def test_binary_broadcasting_under_vmap_and_grad(op, shapes, axes):
    rng = np.random.default_rng(1)

    def make(shape, ax):
        if ax is None:
            return rng.uniform(0.5, 2, shape)
        full = list(shape)
        full.insert(ax % (len(shape) + 1), 4)
        return rng.uniform(0.5, 2, full)
    a, b = make(shapes[0], axes[0]), make(shapes[1], axes[1])
    check_vmap(op, (a, b), in_axes=axes)
    both = fad.grad(lambda u, v: fnp.sum(op(u, v)), argnums=(0, 1))
    check_vmap(both, (a, b), in_axes=axes)


_REDUCTIONS = [(fnp.sum, np.sum), (fnp.mean, np.mean), (fnp.max, np.max), (fnp.min, np.min),
               (fnp.prod, np.prod), (fnp.var, np.var), (fnp.std, np.std)]


@pytest.mark.parametrize("ours, theirs", _REDUCTIONS, ids=[t.__name__ for _, t in _REDUCTIONS])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
def test_keepdims_reductions(ours, theirs, axis):
    a = np.random.default_rng(2).uniform(0.5, 2, (2, 3, 4))
    for keepdims in (False, True):
        got = fad.jit(lambda v: ours(v, axis=axis, keepdims=keepdims))(a)
        want = theirs(a, axis=axis, keepdims=keepdims)
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want)
        check_grads(lambda v: ours(v, axis=axis, keepdims=keepdims), (a,), order=1)
    if not isinstance(axis, tuple):
        check_vmap(lambda v: ours(v, axis=axis, keepdims=True), (a,), in_axes=1, out_axes=-1)


def test_size_one_axes_under_vmap():
    out = fad.vmap(lambda v: fnp.sum(v, axis=0, keepdims=True), in_axes=1)(np.ones((1, 1, 1)))
    assert out.shape == (1, 1, 1)
    check_vmap(lambda u, v: u * v, (np.ones((1, 3)), np.arange(3.0)[:, None]), in_axes=(1, 0))
