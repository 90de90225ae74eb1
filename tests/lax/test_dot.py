"""dot_general (and dot, batch_matmul) under every interpreter.

Random dimension numbers are drawn by hypothesis: axes are labelled batch, contracting
or free, shuffled into each operand, and the result is compared with ``np.einsum`` on
the same labels (output: batch, lhs free, rhs free). Derivatives against finite
differences (order 2, both modes), vmap against a loop with either or both operands
batched at any axis, staged jaxprs against eager.
"""
from __future__ import annotations

import string

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
from fad import lax
from fad.lax.dot import _dot_general_impl, _general
from fad.test_util import check_grads, check_jaxpr, check_vmap

SETTINGS = settings(max_examples=15, deadline=None)


@st.composite
def dot_problems(draw):
    """(lhs, rhs, dimension_numbers, einsum spec)."""
    nb, nc = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    nl, nr = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    letters = iter(string.ascii_lowercase)
    batch = [(next(letters), draw(st.integers(1, 3))) for _ in range(nb)]
    contract = [(next(letters), draw(st.integers(1, 3))) for _ in range(nc)]
    lfree = [(next(letters), draw(st.integers(1, 3))) for _ in range(nl)]
    rfree = [(next(letters), draw(st.integers(1, 3))) for _ in range(nr)]
    lhs_axes = draw(st.permutations(batch + contract + lfree))
    rhs_axes = draw(st.permutations(batch + contract + rfree))
    lpos = {c: i for i, (c, _) in enumerate(lhs_axes)}
    rpos = {c: i for i, (c, _) in enumerate(rhs_axes)}
    dims = ((tuple(lpos[c] for c, _ in contract), tuple(rpos[c] for c, _ in contract)),
            (tuple(lpos[c] for c, _ in batch), tuple(rpos[c] for c, _ in batch)))
    lfree_sorted = [c for c, _ in lhs_axes if c in dict(lfree)]
    rfree_sorted = [c for c, _ in rhs_axes if c in dict(rfree)]
    spec = (f"{''.join(c for c, _ in lhs_axes)},{''.join(c for c, _ in rhs_axes)}->"
            f"{''.join(c for c, _ in batch)}{''.join(lfree_sorted)}{''.join(rfree_sorted)}")
    rng = np.random.default_rng(draw(st.integers(0, 100)))
    lhs = rng.standard_normal([n for _, n in lhs_axes])
    rhs = rng.standard_normal([n for _, n in rhs_axes])
    return lhs, rhs, dims, spec


def stacked(x, axis, size=3, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([x + rng.standard_normal(np.shape(x)) for _ in range(size)], axis=axis)


@SETTINGS
@given(problem=dot_problems())
def test_dot_general_values_jaxpr_grads(problem):
    lhs, rhs, dims, spec = problem
    np.testing.assert_allclose(lax.dot_general(lhs, rhs, dims), np.einsum(spec, lhs, rhs),
                               atol=1e-12)
    f = lambda a, b: lax.dot_general(a, b, dims)  # noqa: E731
    check_jaxpr(f, (lhs, rhs))
    # compiled: the strategy is chosen once, from the operand types (_dot_general_lowering)
    np.testing.assert_allclose(fad.jit(f)(lhs, rhs), np.einsum(spec, lhs, rhs), atol=1e-12)
    check_grads(f, (lhs, rhs), order=2)
    check_grads(lambda a: f(a, rhs), (lhs,), order=2)
    check_grads(lambda b: f(lhs, b), (rhs,), order=2)


@SETTINGS
@given(problem=dot_problems(), data=st.data())
def test_dot_general_vmap(problem, data):
    lhs, rhs, dims, spec = problem
    f = lambda a, b: lax.dot_general(a, b, dims)  # noqa: E731
    lax_ = data.draw(st.one_of(st.none(), st.integers(-lhs.ndim - 1, lhs.ndim)))
    rax = data.draw(st.one_of(st.none(), st.integers(-rhs.ndim - 1, rhs.ndim)))
    if lax_ is None and rax is None:
        rax = 0
    out_ndim = np.ndim(f(lhs, rhs))
    out_axis = data.draw(st.integers(-out_ndim - 1, out_ndim))
    args = (lhs if lax_ is None else stacked(lhs, lax_),
            rhs if rax is None else stacked(rhs, rax, seed=1))
    check_vmap(f, args, in_axes=(lax_, rax), out_axes=out_axis)
    # the derivatives of a batched contraction batch too
    ct = np.ones(np.shape(f(lhs, rhs)))
    check_vmap(lambda a, b: fad.vjp(f, a, b)[1](ct), args, in_axes=(lax_, rax))


@pytest.mark.parametrize("lshape,rshape,dims,spec", [
    ((3, 4), (4, 5), (((1,), (0,)), ((), ())), "ij,jk->ik"),      # matrix-matrix
    ((3, 4), (5, 4), (((1,), (1,)), ((), ())), "ij,kj->ik"),      # A B^T
    ((4, 3), (4, 5), (((0,), (0,)), ((), ())), "ji,jk->ik"),      # A^T B
    ((4, 3), (5, 4), (((0,), (1,)), ((), ())), "ji,kj->ik"),
    ((3, 4), (4,), (((1,), (0,)), ((), ())), "ij,j->i"),          # matrix-vector
    ((4,), (4, 5), (((0,), (0,)), ((), ())), "j,jk->k"),          # vector-matrix
    ((4,), (4,), (((0,), (0,)), ((), ())), "j,j->"),              # inner product
    ((3,), (5,), (((), ()), ((), ())), "i,k->ik"),                # outer product
    ((), (5,), (((), ()), ((), ())), ",k->k"),                    # scalar
    ((2, 3, 4), (2, 4, 5), (((2,), (1,)), ((0,), (0,))), "bij,bjk->bik"),
])
def test_dot_general_fast_paths(lshape, rshape, dims, spec):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(lshape), rng.standard_normal(rshape)
    out = lax.dot_general(a, b, dims)
    np.testing.assert_allclose(out, np.einsum(spec, a, b), atol=1e-12)
    assert np.shape(out) == np.einsum(spec, a, b).shape
    check_grads(lambda a, b: lax.dot_general(a, b, dims), (a, b), order=1)


def test_dot_and_batch_matmul():
    rng = np.random.default_rng(0)
    a, b, v = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal(4)
    np.testing.assert_allclose(lax.dot(a, b), a @ b)
    np.testing.assert_allclose(lax.dot(a, v), a @ v)
    np.testing.assert_allclose(lax.dot(v, v), v @ v)
    x, y = rng.standard_normal((5, 2, 3, 4)), rng.standard_normal((5, 2, 4, 3))
    np.testing.assert_allclose(lax.batch_matmul(x, y), x @ y)
    check_grads(lax.batch_matmul, (x, y), order=2)
    check_vmap(lax.dot, (stacked(a, 1), v), in_axes=(1, None))
    with pytest.raises(TypeError, match="dot needs operands of rank at least 1"):
        lax.dot(np.float64(1.0), v)
    with pytest.raises(TypeError, match="batch_matmul needs operands of one rank"):
        lax.batch_matmul(a, x)


def test_dot_general_dtypes():
    a, b = np.arange(6, dtype=np.int32).reshape(2, 3), np.ones((3, 2), np.int32)
    out = lax.dot_general(a, b, (((1,), (0,)), ((), ())))
    assert out.dtype == np.int32 and out.tolist() == [[3, 3], [12, 12]]
    out = lax.dot_general(a, b, (((1,), (0,)), ((), ())), preferred_element_type=np.float64)
    assert out.dtype == np.float64
    jaxpr = fad.make_jaxpr(lambda a, b: lax.dot_general(
        a, b, (((1,), (0,)), ((), ())), preferred_element_type=np.float64))(a, b)
    assert jaxpr.out_avals[0].dtype == np.float64
    # float32 operands accumulated in float64: cotangents come back as float32
    x, y = np.ones((2, 3), np.float32), np.ones(3, np.float32)
    f = lambda x, y: lax.reduce_sum(lax.dot_general(  # noqa: E731
        x, y, (((1,), (0,)), ((), ())), preferred_element_type=np.float64), (0,))
    gx, gy = fad.grad(f, argnums=(0, 1))(x, y)
    assert gx.dtype == np.float32 and gy.dtype == np.float32
    np.testing.assert_allclose(gy, [2, 2, 2])
    # complex operands: forward mode against finite differences
    z = np.array([[1 + 2j, -1j], [0.5, 2 - 1j]])
    check_grads(lambda z: lax.dot(z, z), (z,), order=2, modes=("fwd",))


def test_dot_general_errors():
    a, b = np.ones((2, 3)), np.ones((4, 5))
    with pytest.raises(TypeError, match=r"dot_general: contracting .*\(2, 3\).*\(4, 5\)"):
        lax.dot_general(a, b, (((1,), (0,)), ((), ())))
    with pytest.raises(TypeError, match=r"dot_general: batch .*\(2, 3\).*\(4, 5\)"):
        lax.dot_general(a, b, (((), ()), ((0,), (0,))))
    with pytest.raises(TypeError, match=r"dot_general.*float64 and float32"):
        lax.dot_general(a, np.ones((3,), np.float32), (((1,), (0,)), ((), ())))
    with pytest.raises(TypeError, match="dot_general: lhs contracting/batch dimensions"):
        lax.dot_general(a, b, (((2,), (0,)), ((), ())))
    with pytest.raises(TypeError, match="dot_general: contracting dimensions .* differ in "
                                        "number"):
        lax.dot_general(a, b, (((0, 1), (0,)), ((), ())))
    with pytest.raises(TypeError, match="dimension_numbers must be"):
        lax.dot_general(a, b, ((1,), (0,)))
    with pytest.raises(TypeError, match=r"dot_general: contracting .*\(2, 3\).*\(4, 5\)"):
        fad.make_jaxpr(lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ()))))(a, b)
    with pytest.raises(TypeError, match=r"dot_general: contracting .*\(2, 3\).*\(4, 5\)"):
        fad.vmap(lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ()))))(
            np.ones((7, 2, 3)), np.ones((7, 4, 5)))


# -- the impl's fast paths against its general path -----------------------------------------

@st.composite
def fast_path_problems(draw):
    """(lhs, rhs, dimension_numbers) shaped for one of the impl's fast paths (or none):
    no contracting axes; matmul's (batch, m, k) x (batch, k, n) layout with either matrix
    transposed; a (..., k) array times a vector or (k, n) matrix; arbitrary axes."""
    kind = draw(st.sampled_from(["products", "matmul", "nd_by_2d", "any"]))
    dtype = draw(st.sampled_from(["float64", "float32", "complex128", "int32", "bool"]))
    sizes = st.integers(0, 3)
    nb = draw(st.integers(0, 2))
    letters = iter(string.ascii_lowercase)
    axes = lambda n: [(next(letters), draw(sizes)) for _ in range(n)]  # noqa: E731
    batch = axes(nb)
    if kind == "products":
        contract, lfree, rfree = [], axes(draw(st.integers(0, 2))), axes(draw(st.integers(0, 2)))
        lhs_axes = draw(st.permutations(batch + lfree))
        rhs_axes = draw(st.permutations(batch + rfree))
    elif kind == "matmul":
        contract, lfree, rfree = axes(1), axes(1), axes(1)
        lhs_axes = batch + draw(st.permutations(lfree + contract))
        rhs_axes = batch + draw(st.permutations(contract + rfree))
    elif kind == "nd_by_2d":
        batch = []
        contract, lfree = axes(1), axes(draw(st.integers(1, 3)))
        rfree = axes(draw(st.integers(0, 1)))
        lhs_axes = lfree + contract
        rhs_axes = draw(st.permutations(contract + rfree))
    else:
        contract = axes(draw(st.integers(0, 2)))
        lfree, rfree = axes(draw(st.integers(0, 2))), axes(draw(st.integers(0, 2)))
        lhs_axes = draw(st.permutations(batch + contract + lfree))
        rhs_axes = draw(st.permutations(batch + contract + rfree))
    lpos = {c: i for i, (c, _) in enumerate(lhs_axes)}
    rpos = {c: i for i, (c, _) in enumerate(rhs_axes)}
    dims = ((tuple(lpos[c] for c, _ in contract), tuple(rpos[c] for c, _ in contract)),
            (tuple(lpos[c] for c, _ in batch), tuple(rpos[c] for c, _ in batch)))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))

    def sample(shape):
        if dtype == "bool":
            return rng.random(shape) < 0.5
        if dtype == "int32":
            return rng.integers(-3, 4, shape).astype(np.int32)
        x = rng.standard_normal(shape)
        if dtype == "complex128":
            x = x + 1j * rng.standard_normal(shape)
        return x.astype(dtype)
    return sample([n for _, n in lhs_axes]), sample([n for _, n in rhs_axes]), dims


@settings(max_examples=200, deadline=None)
@given(problem=fast_path_problems())
def test_dot_general_impl_fast_paths_match_the_general_path(problem):
    lhs, rhs, dims = problem
    got = _dot_general_impl(lhs, rhs, dimension_numbers=dims, preferred_element_type=None)
    (lc, rc), (lb, rb) = dims
    want = _general(lhs, rhs, lc, rc, lb, rb)
    assert np.shape(got) == want.shape and np.asarray(got).dtype == want.dtype
    if lhs.dtype.kind in "biu" or (not lc and lhs.dtype.kind == "f"):
        np.testing.assert_array_equal(got, want)   # exact integers, or one real product
    else:
        tol = 1e-5 if lhs.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    # and the primitive agrees with its shape rule
    aval = fad.make_jaxpr(lambda a, b: lax.dot_general(a, b, dims))(lhs, rhs).out_avals[0]
    assert aval.shape == want.shape and aval.dtype == want.dtype


@pytest.mark.parametrize("lshape,rshape,dims", [
    ((512,), (512, 100), (((), ()), ((0,), (0,)))),           # per-example outer product
    ((3,), (5,), (((), ()), ((), ()))),                        # outer product
    ((4, 2, 3), (3, 4, 5), (((), ()), ((0,), (1,)))),          # batch axes anywhere
    ((3, 4), (4, 5), (((1,), (0,)), ((), ()))),                # matrix-matrix
    ((3, 4), (4,), (((1,), (0,)), ((), ()))),                  # matrix-vector
    ((2, 3, 4), (4, 5), (((2,), (0,)), ((), ()))),             # (..., k) x (k, n)
    ((6, 2, 3, 4), (6, 2, 4, 5), (((3,), (2,)), ((0, 1), (0, 1)))),  # batched matmul
    ((6, 3, 4), (6, 5, 4), (((2,), (2,)), ((0,), (0,)))),      # batched A B^T
])
def test_dot_general_common_cases_take_a_fast_path(lshape, rshape, dims, monkeypatch):
    import sys
    dot_module = sys.modules["fad.lax.dot"]
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(lshape), rng.standard_normal(rshape)
    want = dot_module._general(a, b, *dims[0], *dims[1])

    def no_general(*args):
        raise AssertionError("the general path ran")
    monkeypatch.setattr(dot_module, "_general", no_general)
    monkeypatch.setattr(np, "tensordot", no_general)
    got = lax.dot_general(a, b, dims)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)
