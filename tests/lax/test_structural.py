"""Shape primitives of fad.lax: values against NumPy, jaxprs, derivatives against finite
differences, vmap against a Python loop, and error messages."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad import lax
from fad.test_util import check_grads, check_jaxpr, check_vmap

SETTINGS = settings(max_examples=12, deadline=None)


def _rng(seed=0):
    return np.random.default_rng(seed)


def _stack_copies(rng, x, axis, size=3):
    x = np.asarray(x)
    rows = [rng.standard_normal(x.shape).astype(x.dtype) for _ in range(size)]
    return np.stack(rows, axis=axis)


def check_all_vmaps(f, args, rng=None):
    """check_vmap for every choice of batched (at axis 0 or -1) / unbatched per argument,
    and out_axes 0 and -1."""
    rng = rng or _rng()
    for axes in itertools.product((None, 0, -1), repeat=len(args)):
        if all(a is None for a in axes):
            continue
        batched = [x if a is None else _stack_copies(rng, x, a) for x, a in zip(args, axes)]
        for out_axes in (0, -1):
            check_vmap(f, batched, in_axes=axes, out_axes=out_axes)


def check_all(f, args, order=2):
    check_jaxpr(f, args)
    check_grads(f, args, order=order, modes=("fwd", "rev"))
    check_all_vmaps(f, args)


shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


# -- rev ------------------------------------------------------------------------------------

@SETTINGS
@given(shapes, st.data())
def test_rev(shape, data):
    dims = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, max_size=len(shape)))
    x = _rng().standard_normal(shape)
    np.testing.assert_array_equal(lax.rev(x, dims), np.flip(x, dims))
    check_all(lambda x: lax.rev(x, dims), (x,))


def test_rev_errors():
    with pytest.raises(ValueError, match="rev: axis 2 is out of range"):
        lax.rev(np.zeros((2, 2)), (2,))
    with pytest.raises(ValueError, match="rev: repeated axis"):
        lax.rev(np.zeros((2, 2)), (0, -2))


# -- slice ----------------------------------------------------------------------------------

@st.composite
def slice_params(draw):
    shape = draw(shapes)
    start, limit, stride = [], [], []
    for d in shape:
        s = draw(st.integers(0, d))
        start.append(s)
        limit.append(draw(st.integers(s, d)))
        stride.append(draw(st.integers(1, 3)))
    return shape, tuple(start), tuple(limit), tuple(stride)


@SETTINGS
@given(slice_params())
def test_slice(params):
    shape, start, limit, strides = params
    x = _rng().standard_normal(shape)
    want = x[tuple(slice(*t) for t in zip(start, limit, strides))]
    np.testing.assert_array_equal(lax.slice(x, start, limit, strides), want)
    check_all(lambda x: lax.slice(x, start, limit, strides), (x,))


def test_slice_in_dim_and_index_in_dim():
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(lax.slice_in_dim(x, 1, None, axis=-1), x[..., 1:])
    np.testing.assert_array_equal(lax.slice_in_dim(x, None, -1, 2, axis=2), x[..., :-1:2])
    np.testing.assert_array_equal(lax.slice_in_dim(x, -2, None, axis=1), x[:, -2:])
    np.testing.assert_array_equal(lax.index_in_dim(x, -1, axis=1), x[:, -1:])
    np.testing.assert_array_equal(lax.index_in_dim(x, 2, 2, keepdims=False), x[:, :, 2])
    check_all(lambda x: lax.index_in_dim(x, 1, 1, keepdims=False), (x[:, :, :2],))
    check_all(lambda x: lax.slice_in_dim(x, 1, 3, axis=-1), (x[0],))


def test_slice_errors():
    with pytest.raises(ValueError, match=r"slice: bounds .* shape \(3,\)"):
        lax.slice(np.zeros(3), (2,), (1,))
    with pytest.raises(ValueError, match=r"slice: bounds"):
        lax.slice(np.zeros(3), (0,), (4,))
    with pytest.raises(ValueError, match=r"slice: .* one entry per axis"):
        lax.slice(np.zeros((3, 2)), (0,), (1,))
    with pytest.raises(ValueError, match="slice: bounds"):
        lax.slice(np.zeros(3), (0,), (2,), (0,))
    with pytest.raises(IndexError, match="index_in_dim: index 3 is out of bounds"):
        lax.index_in_dim(np.zeros(3), 3)
    with pytest.raises(TypeError, match="slice: start_indices must be static"):
        fad.vmap(lambda i: lax.slice(np.zeros(3), (i,), (3,)))(np.arange(2))


# -- concatenate ----------------------------------------------------------------------------

@SETTINGS
@given(shapes, st.integers(1, 3), st.data())
def test_concatenate(shape, n, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    rng = _rng()
    xs = []
    for s in sizes:
        sh = list(shape)
        sh[dim] = s
        xs.append(rng.standard_normal(sh))
    np.testing.assert_array_equal(lax.concatenate(xs, dim), np.concatenate(xs, dim))
    check_all(lambda *xs: lax.concatenate(xs, dim), xs)


def test_concatenate_errors():
    with pytest.raises(ValueError, match=r"concatenate: cannot join operands of shapes "
                                         r"\(2, 3\), \(2, 4\) along dimension 0"):
        lax.concatenate([np.zeros((2, 3)), np.zeros((2, 4))], 0)
    with pytest.raises(TypeError, match="concatenate: operands must share one dtype"):
        lax.concatenate([np.zeros(2), np.zeros(2, np.float32)], 0)
    with pytest.raises(ValueError, match="concatenate: needs at least one operand"):
        lax.concatenate([], 0)
    with pytest.raises(ValueError, match="concatenate: axis 1 is out of range"):
        lax.concatenate([np.zeros(2), np.zeros(2)], 1)


# -- pad ------------------------------------------------------------------------------------

def _pad_oracle(x, value, config):
    """Pad by building the interior-dilated array, then padding/cropping each side."""
    out = np.asarray(x)
    for axis, (lo, hi, interior) in enumerate(config):
        n = out.shape[axis]
        core = n + max(n - 1, 0) * interior
        sh = list(out.shape)
        sh[axis] = core
        dilated = np.full(sh, value)
        idx = [slice(None)] * out.ndim
        idx[axis] = slice(0, core, interior + 1)
        dilated[tuple(idx)] = out
        parts = []
        if lo > 0:
            sh[axis] = lo
            parts.append(np.full(sh, value))
        idx[axis] = slice(max(-lo, 0), core - max(-hi, 0))
        parts.append(dilated[tuple(idx)])
        if hi > 0:
            sh[axis] = hi
            parts.append(np.full(sh, value))
        out = np.concatenate(parts, axis)
    return out


@st.composite
def pad_params(draw):
    shape = draw(shapes)
    config = []
    for n in shape:
        interior = draw(st.integers(0, 2))
        core = n + (n - 1) * interior
        lo = draw(st.integers(-core, 3))
        hi = draw(st.integers(-(core - max(-lo, 0)), 3))
        config.append((lo, hi, interior))
    return shape, config


@SETTINGS
@given(pad_params())
def test_pad(params):
    shape, config = params
    x = _rng().standard_normal(shape)
    v = np.float64(0.7)
    np.testing.assert_array_equal(lax.pad(x, v, config), _pad_oracle(x, v, config))
    check_all(lambda x, v: lax.pad(x, v, config), (x, v))


def test_pad_values():
    np.testing.assert_array_equal(lax.pad(np.array([1, 2]), 0, [(1, -1, 1)]), [0, 1, 0])
    np.testing.assert_array_equal(lax.pad(np.array([1, 2, 3]), 9, [(-1, 2, 0)]), [2, 3, 9, 9])
    np.testing.assert_array_equal(lax.pad(np.zeros((0,)), 1.0, [(1, 1, 2)]), [1.0, 1.0])
    # the padding value's gradient counts the padded places
    g = fad.grad(lambda v: fnp.sum(lax.pad(np.ones(3), v, [(2, -1, 1)])))(0.5)
    assert g == 4.0


def test_pad_errors():
    with pytest.raises(ValueError, match=r"pad: padding_config .* crops more than"):
        lax.pad(np.zeros(2), 0.0, [(-2, -1, 0)])
    with pytest.raises(ValueError, match="pad: padding_config .* one"):
        lax.pad(np.zeros(2), 0.0, [(0, 0, -1)])
    with pytest.raises(ValueError, match="pad: padding_config .* one"):
        lax.pad(np.zeros((2, 2)), 0.0, [(0, 0, 0)])
    with pytest.raises(TypeError, match="pad: padding_value must be a scalar"):
        lax.pad(np.zeros(2), np.zeros(2), [(0, 0, 0)])
    with pytest.raises(TypeError, match="pad: padding_value must be a scalar"):
        lax.pad(np.zeros(2), np.float32(0), [(0, 0, 0)])


# -- iota -----------------------------------------------------------------------------------

def test_iota():
    np.testing.assert_array_equal(lax.iota(np.int32, 4), np.arange(4, dtype=np.int32))
    assert lax.iota(np.float32, 3).dtype == np.float32
    np.testing.assert_array_equal(lax.broadcasted_iota(np.int64, (2, 3), -1),
                                  [[0, 1, 2], [0, 1, 2]])
    np.testing.assert_array_equal(lax.broadcasted_iota(np.int64, (2, 3), 0),
                                  [[0, 0, 0], [1, 1, 1]])
    f = lambda x: x * lax.convert_element_type(lax.broadcasted_iota(np.int64, (2, 3), 1),  # noqa
                                               np.float64)
    x = _rng().standard_normal((2, 3))
    closed = check_jaxpr(f, (x,))
    assert "iota" in str(closed)
    check_grads(f, (x,), order=2)
    check_all_vmaps(f, (x,))


def test_iota_errors():
    with pytest.raises(ValueError, match="broadcasted_iota: axis 2 is out of range"):
        lax.broadcasted_iota(np.int32, (2, 3), 2)
    with pytest.raises(ValueError, match="iota: cannot make an iota of dtype bool"):
        lax.iota(np.bool_, 3)


# -- the older shape primitives -------------------------------------------------------------

def test_reshape_squeeze_expand_dims():
    x = _rng().standard_normal((2, 1, 3))
    check_all(lambda x: lax.reshape(x, (3, 2)), (x,))
    check_all(lambda x: lax.squeeze(x, (1,)), (x,))
    check_all(lambda x: lax.expand_dims(x, (0, -1)), (x,))
    with pytest.raises(ValueError, match="reshape: cannot reshape"):
        lax.reshape(x, (4,))
    with pytest.raises(ValueError, match="squeeze: axis 0 of shape"):
        lax.squeeze(x, (0,))
    with pytest.raises(ValueError, match="squeeze: repeated axis"):
        lax.squeeze(x, (1, -2))


def test_transpose_moveaxis_broadcast():
    x = _rng().standard_normal((2, 3, 4))
    check_all(lambda x: lax.transpose(x, (2, 0, 1)), (x,))
    check_all(lambda x: lax.moveaxis(x, 0, -1), (x,))
    y = _rng().standard_normal((3, 1))
    check_all(lambda y: lax.broadcast_in_dim(y, (2, 3, 4), (1, 2)), (y,))
    check_all(lambda y: lax.broadcast_to(y, (2, 3, 5)), (y,))
    check_all(lambda v: lax.full((2, 3), v), (np.float64(1.5),))
    with pytest.raises(ValueError, match="transpose: permutation"):
        lax.transpose(x, (0, 0, 1))
    with pytest.raises(ValueError, match="broadcast_in_dim: cannot broadcast"):
        lax.broadcast_in_dim(y, (2, 1), (0, 1))


# -- Jacobians use slice_in_dim and reshape ---------------------------------------------------

def test_jacobians():
    x = np.ones(3)
    want = np.diag(2 * np.cos(x))
    np.testing.assert_allclose(fad.jacrev(lambda x: fnp.sin(x) * 2.0)(x), want)
    np.testing.assert_allclose(fad.jacfwd(lambda x: fnp.sin(x) * 2.0)(x), want)
    # a Jacobian through slicing and padding: the selection matrix
    jac = fad.jacrev(lambda x: lax.pad(lax.slice(x, (1,), (4,), (2,)), 0.0, [(1, 0, 0)]))(
        np.arange(5.0))
    np.testing.assert_array_equal(jac, np.eye(5)[[0, 1, 3]] * np.array([[0], [1], [1]]))
