"""Dynamic slices, gather and scatters of fad.lax: values against loop oracles, jaxprs,
derivatives against finite differences, vmap against a Python loop (indices batched
too), and error messages."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad import lax
from fad.test_util import check_grads, check_jaxpr, check_vmap

SETTINGS = settings(max_examples=10, deadline=None)
SCATTERS = {"scatter": (lax.scatter, lambda old, new: new),
            "scatter_add": (lax.scatter_add, np.add),
            "scatter_mul": (lax.scatter_mul, np.multiply),
            "scatter_min": (lax.scatter_min, np.minimum),
            "scatter_max": (lax.scatter_max, np.maximum)}


def _normal(shape):
    return lambda rng: rng.standard_normal(shape)


def _ints(low, high, shape):
    return lambda rng: rng.integers(low, high, size=shape)


def check_all_vmaps(f, args, makers, size=3, seed=0):
    """check_vmap for every choice of batched (at axis 0 or -1) / unbatched per argument;
    ``makers[i](rng)`` draws another valid value for argument ``i``."""
    rng = np.random.default_rng(seed)
    for n, axes in enumerate(itertools.product((None, 0, -1), repeat=len(args))):
        if all(a is None for a in axes):
            continue
        batched = [x if a is None else np.stack([np.asarray(m(rng)).astype(np.asarray(x).dtype)
                                                 for _ in range(size)], a)
                   for x, a, m in zip(args, axes, makers)]
        check_vmap(f, batched, in_axes=axes, out_axes=(0, -1)[n % 2])


# -- oracles --------------------------------------------------------------------------------

def _clamped_start(s, d, z):
    s = s + d if s < 0 else s
    return min(max(s, 0), d - z)


def dynamic_slice_oracle(x, starts, sizes):
    starts = [_clamped_start(s, d, z) for s, d, z in zip(starts, x.shape, sizes)]
    return x[tuple(slice(s, s + z) for s, z in zip(starts, sizes))]


def dynamic_update_slice_oracle(x, u, starts):
    out = x.copy()
    starts = [_clamped_start(s, d, z) for s, d, z in zip(starts, x.shape, u.shape)]
    out[tuple(slice(s, s + z) for s, z in zip(starts, u.shape))] = u
    return out


def _place(x, idx, axes, b):
    sl = [slice(None)] * x.ndim
    for j, a in enumerate(axes):
        sl[a] = int(np.clip(idx[b + (j,)], 0, x.shape[a] - 1))
    return tuple(sl)


def gather_oracle(x, idx, axes):
    batch = idx.shape[:-1]
    rest = tuple(d for i, d in enumerate(x.shape) if i not in axes)
    out = np.zeros(batch + rest, x.dtype)
    for b in np.ndindex(*batch):
        out[b] = x[_place(x, idx, axes, b)]
    return out


def scatter_oracle(combine, x, idx, u, axes):
    out = x.copy()
    for b in np.ndindex(*idx.shape[:-1]):
        place = _place(x, idx, axes, b)
        out[place] = combine(out[place], u[b])
    return out


# -- dynamic_slice / dynamic_update_slice ---------------------------------------------------

@st.composite
def window_params(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=2)))
    sizes = tuple(draw(st.integers(0, d)) for d in shape)
    starts = tuple(draw(st.integers(-d - 1, d + 1)) for d in shape)
    return shape, sizes, starts


@SETTINGS
@given(window_params())
def test_dynamic_slice(params):
    shape, sizes, starts = params
    x = np.random.default_rng(0).standard_normal(shape)
    np.testing.assert_array_equal(lax.dynamic_slice(x, starts, sizes),
                                  dynamic_slice_oracle(x, starts, sizes))

    def f(x, *starts):
        return lax.dynamic_slice(x, starts, sizes)
    check_jaxpr(f, (x, *starts))
    check_grads(lambda x: f(x, *starts), (x,), order=2)
    makers = [_normal(shape)] + [_ints(-d - 1, d + 2, ()) for d in shape]
    check_all_vmaps(f, (x, *starts), makers)


@SETTINGS
@given(window_params())
def test_dynamic_update_slice(params):
    shape, sizes, starts = params
    rng = np.random.default_rng(0)
    x, u = rng.standard_normal(shape), rng.standard_normal(sizes)
    np.testing.assert_array_equal(lax.dynamic_update_slice(x, u, starts),
                                  dynamic_update_slice_oracle(x, u, starts))

    def f(x, u, *starts):
        return lax.dynamic_update_slice(x, u, starts)
    check_jaxpr(f, (x, u, *starts))
    check_grads(lambda x, u: f(x, u, *starts), (x, u), order=2)
    makers = [_normal(shape), _normal(sizes)] + [_ints(-d - 1, d + 2, ()) for d in shape]
    check_all_vmaps(f, (x, u, *starts), makers)


def test_dynamic_in_dim_variants():
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(lax.dynamic_slice_in_dim(x, 1, 2, axis=-1), x[..., 1:3])
    np.testing.assert_array_equal(lax.dynamic_slice_in_dim(x, 5, 2, axis=1), x[:, 1:3])
    np.testing.assert_array_equal(lax.dynamic_index_in_dim(x, -1, 1), x[:, 2:3])
    np.testing.assert_array_equal(lax.dynamic_index_in_dim(x, 1, 0, keepdims=False), x[1])
    want = x.copy()
    want[:, :, 2:] = -1.0
    got = lax.dynamic_update_slice_in_dim(x, -np.ones((2, 3, 2)), 3, axis=2)
    np.testing.assert_array_equal(got, want)
    # start indices given as one integer array, traced under vmap
    starts = np.array([[0, 1], [1, 2], [-1, -1]])
    got = fad.vmap(lambda s: lax.dynamic_slice(x[0], s, (2, 2)))(starts)
    np.testing.assert_array_equal(got, [dynamic_slice_oracle(x[0], s, (2, 2)) for s in starts])
    f = lambda x, i: lax.dynamic_index_in_dim(x, i, 1, keepdims=False)  # noqa: E731
    check_all_vmaps(f, (x, 2), [_normal(x.shape), _ints(-3, 3, ())])


def test_dynamic_slice_traced_index_gradients():
    x = np.random.default_rng(1).standard_normal((4, 3))
    # the gradient of a dynamically indexed row, for a batch of indices
    g = fad.vmap(fad.grad(lambda x, i: fnp.sum(lax.dynamic_index_in_dim(x, i) ** 2)),
                 in_axes=(None, 0))(x, np.array([0, 3, -1]))
    want = np.zeros((3, 4, 3))
    for k, i in enumerate([0, 3, 3]):
        want[k, i] = 2 * x[i]
    np.testing.assert_allclose(g, want)
    f = fad.grad(lambda x, u, i: fnp.sum(lax.dynamic_update_slice_in_dim(x, u, i, 0) ** 3),
                 argnums=(0, 1))
    check_vmap(f, (x, x[:2] * 2, np.array([0, 2, 5])), in_axes=(None, None, 0))


def test_dynamic_slice_errors():
    x = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"dynamic_slice: slice_sizes \(4, 1\) do not fit"):
        lax.dynamic_slice(x, (0, 0), (4, 1))
    with pytest.raises(ValueError, match="dynamic_slice: got 1 start indices"):
        lax.dynamic_slice(x, (0,), (1, 1))
    with pytest.raises(TypeError, match="dynamic_slice: start indices must be integer"):
        lax.dynamic_slice(x, (0, 1.5), (1, 1))
    with pytest.raises(ValueError, match=r"dynamic_update_slice: an update of shape \(4,\)"):
        lax.dynamic_update_slice(np.zeros(3), np.zeros(4), (0,))
    with pytest.raises(TypeError, match="dynamic_update_slice: the update's dtype float32"):
        lax.dynamic_update_slice(np.zeros(3), np.zeros(2, np.float32), (0,))
    with pytest.raises(TypeError, match="dynamic_slice: start indices must be integer"):
        fad.make_jaxpr(lambda x, i: lax.dynamic_slice_p.bind(x, i, slice_sizes=(1,)))(
            np.zeros(3), 1.0)


# -- gather and scatters --------------------------------------------------------------------

@st.composite
def gather_params(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    axes = tuple(draw(st.permutations(range(len(shape))))[:draw(st.integers(0, len(shape)))])
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    return shape, axes, batch


def _random_indices(rng, shape, axes, batch, spill=0):
    cols = [rng.integers(-spill, shape[a] + spill, size=batch + (1,)) for a in axes]
    return np.concatenate(cols, -1) if cols else np.zeros(batch + (0,), np.int64)


def _index_maker(shape, axes, batch):
    return lambda rng: _random_indices(rng, shape, axes, batch)


@SETTINGS
@given(gather_params())
def test_gather(params):
    shape, axes, batch = params
    rng = np.random.default_rng(0)
    x, idx = rng.standard_normal(shape), _random_indices(rng, shape, axes, batch)
    np.testing.assert_array_equal(lax.gather(x, idx, axes), gather_oracle(x, idx, axes))

    def f(x, idx):
        return lax.gather(x, idx, axes)
    check_jaxpr(f, (x, idx))
    check_grads(lambda x: f(x, idx), (x,), order=2)
    check_all_vmaps(f, (x, idx), [_normal(shape), _index_maker(shape, axes, batch)])


@pytest.mark.parametrize("name", sorted(SCATTERS))
@settings(max_examples=6, deadline=None)
@given(params=gather_params())
def test_scatters(name, params):
    scatter, combine = SCATTERS[name]
    shape, axes, batch = params
    rng = np.random.default_rng(0)
    x, idx = rng.standard_normal(shape), _random_indices(rng, shape, axes, batch)
    ushape = gather_oracle(x, idx, axes).shape
    u = rng.standard_normal(ushape)
    np.testing.assert_allclose(scatter(x, idx, u, axes),
                               scatter_oracle(combine, x, idx, u, axes), rtol=1e-14)

    def f(x, idx, u):
        return scatter(x, idx, u, axes)
    check_jaxpr(f, (x, idx, u))
    check_grads(lambda x, u: f(x, idx, u), (x, u), order=2)
    check_all_vmaps(f, (x, idx, u), [_normal(shape), _index_maker(shape, axes, batch),
                                      _normal(ushape)])


def test_out_of_bounds_indices_clamp():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4))
    idx = _random_indices(rng, x.shape, (1, 0), (6,), spill=3)
    np.testing.assert_array_equal(lax.gather(x, idx, (1, 0)), gather_oracle(x, idx, (1, 0)))
    u = rng.standard_normal(6)
    for name, (scatter, combine) in SCATTERS.items():
        np.testing.assert_allclose(scatter(x, idx, u, (1, 0)),
                                   scatter_oracle(combine, x, idx, u, (1, 0)), err_msg=name)
    # gather's transpose is scatter_add, with the same clamping
    ct = rng.standard_normal(6)
    (got,) = fad.vjp(lambda x: lax.gather(x, idx, (1, 0)), x)[1](ct)
    np.testing.assert_allclose(got, scatter_oracle(np.add, np.zeros_like(x), idx, ct, (1, 0)))


def test_scatter_duplicates():
    x = np.zeros(4)
    idx = np.array([[1], [3], [1], [1]])
    u = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(lax.scatter_add(x, idx, u, (0,)), [0, 8, 0, 2])
    np.testing.assert_array_equal(lax.scatter(x, idx, u, (0,)), [0, 4, 0, 2])
    # only the last write to a place gets the cotangent of a set
    _, pullback = fad.vjp(lambda x, u: lax.scatter(x, idx, u, (0,)), x, u)
    ct_x, ct_u = pullback(np.array([10.0, 20.0, 30.0, 40.0]))
    np.testing.assert_array_equal(ct_x, [10, 0, 30, 0])
    np.testing.assert_array_equal(ct_u, [0, 40, 0, 20])
    # the same under vmap with batched indices
    idxs = np.array([[[1], [3], [1], [1]], [[2], [2], [0], [3]]])
    check_vmap(lambda i: fad.grad(lambda u: fnp.sum(lax.scatter(x, i, u, (0,)) * np.arange(
        4.0)))(u), (idxs,))


def test_scatter_max_min_ties_split_equally():
    x, idx = np.array([1.0, 5.0]), np.array([[0], [0]])
    for scatter in (lax.scatter_max, lax.scatter_min):
        _, t = fad.jvp(lambda x, u: scatter(x, idx, u, (0,)), (x, np.array([1.0, 1.0])),
                       (np.array([3.0, 7.0]), np.array([0.0, 6.0])))
        np.testing.assert_allclose(t, [3.0, 7.0])
    _, t = fad.jvp(lambda u: lax.scatter_max(x, idx, u, (0,)), (np.array([2.0, 2.0]),),
                   (np.array([1.0, 3.0]),))
    np.testing.assert_allclose(t, [2.0, 0.0])


def test_scatter_mul_with_zero_updates():
    x, idx = np.array([2.0, 3.0]), np.array([[0], [0], [0], [1]])
    f = lambda u: lax.scatter_mul(x, idx, u, (0,))  # noqa: E731
    for u in ([0.0, 4.0, 5.0, 0.0], [0.0, 0.0, 5.0, 1.0], [1.5, 4.0, 5.0, 2.0]):
        u = np.array(u)
        jac = fad.jacfwd(f)(u)
        want = np.zeros((2, 4))
        for i in range(3):
            want[0, i] = x[0] * np.prod(np.delete(u[:3], i))
        want[1, 3] = x[1]
        np.testing.assert_allclose(jac, want)
        np.testing.assert_allclose(fad.jacrev(f)(u), want)


def test_vmap_of_gradients_with_batched_indices():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 4))
    idxs = np.stack([_random_indices(rng, x.shape, (1,), (5,)) for _ in range(3)])
    g = fad.grad(lambda x, i: fnp.sum(lax.gather(x, i, (1,)) ** 2))
    check_vmap(g, (x, idxs), in_axes=(None, 0))
    h = fad.grad(lambda u, i: fnp.sum(fnp.sin(lax.scatter_add(x, i, u, (1,)))))
    check_vmap(h, (rng.standard_normal((3, 5, 3)), idxs), in_axes=(0, 0))


def test_gather_scatter_errors():
    x = np.zeros((3, 4))
    with pytest.raises(TypeError, match="gather: indices must be integers"):
        lax.gather(x, np.zeros((2, 1)), (0,))
    with pytest.raises(ValueError, match=r"gather: indices of shape \(2, 2\) must end"):
        lax.gather(x, np.zeros((2, 2), int), (0,))
    with pytest.raises(ValueError, match="gather: axis 2 is out of range"):
        lax.gather(x, np.zeros((2, 1), int), (2,))
    with pytest.raises(ValueError, match="gather: repeated axis"):
        lax.gather(x, np.zeros((2, 2), int), (0, -2))
    with pytest.raises(ValueError, match="gather: cannot index into an axis of size 0"):
        lax.gather(np.zeros((0, 2)), np.zeros((1, 1), int), (0,))
    with pytest.raises(ValueError, match=r"scatter_add: updates must have shape \(2, 4\)"):
        lax.scatter_add(x, np.zeros((2, 1), int), np.zeros((2, 3)), (0,))
    with pytest.raises(TypeError, match="scatter: the updates' dtype float32"):
        lax.scatter(x, np.zeros((2, 1), int), np.zeros((2, 4), np.float32), (0,))
    with pytest.raises(TypeError, match="scatter_add does not accept operands of dtype"):
        lax.scatter_add(x > 0, np.zeros((1, 1), int), np.zeros((1, 4), bool), (0,))
    with pytest.raises(ValueError, match="scatter_mul: updates must have shape"):
        fad.make_jaxpr(lambda x, u: lax.scatter_mul(x, np.zeros((1, 1), int), u, (1,)))(
            x, np.zeros((1, 4)))


def test_complex_operands():
    rng = np.random.default_rng(5)
    z = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
    idx = np.array([[0], [2], [2]])
    for f, args in [(lambda x: lax.gather(x, idx, (0,)), (z,)),
                    (lambda x, u: lax.scatter_add(x, idx, u, (0,)), (z, z)),
                    (lambda x, u: lax.scatter(x, idx, u, (0,)), (z, z)),
                    (lambda x, u: lax.scatter_mul(x, idx, u, (0,)), (z, z)),
                    (lambda x, u: lax.scatter_min(x, idx, u, (0,)), (z, z + 0.5)),
                    (lambda x, u: lax.scatter_max(x, idx, u, (0,)), (z, z - 0.5)),
                    (lambda x, v: lax.pad(x, v, [(1, -1, 1), (0, 2, 0)]), (z, np.complex128(2j))),
                    (lambda x, u: lax.dynamic_update_slice(x, u, (1, 2)), (z, z[:2, :1])),
                    (lambda x: lax.concatenate([x, lax.rev(x, (0,))], 1), (z,))]:
        check_jaxpr(f, args)
        check_grads(f, args, order=2)


def test_scatter_min_max_complex_order_lexicographically():
    """scatter_min/max of complex operands (x.at[i].min/max) order as np.minimum.at does:
    real parts first, then imaginary parts."""
    x = np.array([1 + 1j, 2 - 1j, 0.5 + 3j, 1 + 0j])
    idx = np.array([[0], [1], [1], [3]])
    u = np.array([1 + 2j, 2 - 2j, 1.5 + 9j, 1 - 1j])
    for prim, ufunc in ((lax.scatter_min, np.minimum), (lax.scatter_max, np.maximum)):
        want = x.copy()
        ufunc.at(want, idx[:, 0], u)
        np.testing.assert_array_equal(prim(x, idx, u, (0,)), want)
        np.testing.assert_array_equal(fad.jit(lambda a, b: prim(a, idx, b, (0,)))(x, u), want)
