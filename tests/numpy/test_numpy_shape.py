"""fad.numpy shape manipulation, creation and products against NumPy: staged values,
shapes and dtypes, derivatives and vmap."""
from __future__ import annotations

import numpy as np
import pytest
from numpy.exceptions import AxisError

import fad
from fad.test_util import check_matches_numpy
import fad.numpy as fnp
from fad.test_util import check_grads, check_vmap

RNG = np.random.default_rng(2)
X = RNG.standard_normal((2, 3, 4))
M = RNG.standard_normal((3, 4))
V = RNG.standard_normal(4)


check_numpy = check_matches_numpy


def check_all(f, *args, order=2):
    """NumPy agreement, derivatives, and vmap over axis 0 of each argument."""
    check_numpy(f, *args)
    check_grads(f, args, order=order)
    stacked = [np.stack([a, 2 * a + 1]) for a in args]
    check_vmap(f, tuple(stacked), 0)
    check_vmap(f, tuple(np.moveaxis(s, 0, -1) for s in stacked), -1)


SHAPE_CASES = {
    "reshape": lambda x: fnp.reshape(x, (4, -1)),
    "reshape_F": lambda x: fnp.reshape(x, (6, 4), order="F"),
    "ravel": fnp.ravel,
    "transpose": fnp.transpose,
    "transpose_axes": lambda x: fnp.transpose(x, (1, -1, 0)),
    "swapaxes": lambda x: fnp.swapaxes(x, 0, 2),
    "moveaxis": lambda x: fnp.moveaxis(x, 0, -1),
    "moveaxis_many": lambda x: fnp.moveaxis(x, (0, 1), (2, 0)),
    "expand_dims": lambda x: fnp.expand_dims(x, (0, 3)),
    "squeeze": lambda x: fnp.squeeze(fnp.expand_dims(x, (0, 2))),
    "squeeze_axis": lambda x: fnp.squeeze(x[:1], 0),
    "broadcast_to": lambda x: fnp.broadcast_to(x, (2, 2, 3, 4)),
    "broadcast_arrays": lambda x: fnp.broadcast_arrays(x, x[0, :1]),
    "atleast_1d": lambda x: fnp.atleast_1d(x[0, 0, 0]),
    "atleast_2d": lambda x: fnp.atleast_2d(x[0, 0]),
    "atleast_3d": lambda x: fnp.atleast_3d(x[0, 0], x[0]),
    "stack": lambda x: fnp.stack([x, 2 * x], axis=1),
    "stack_neg": lambda x: fnp.stack([x[0], x[1], x[0]], axis=-1),
    "hstack": lambda x: fnp.hstack([x, x]),
    "hstack_1d": lambda x: fnp.hstack([x[0, 0], x[1, 1]]),
    "vstack": lambda x: fnp.vstack([x[0], x[1, :1]]),
    "dstack": lambda x: fnp.dstack([x[0], x[1]]),
    "column_stack": lambda x: fnp.column_stack([x[0, 0], x[1, 1]]),
    "concatenate": lambda x: fnp.concatenate([x, x[:, :1]], axis=1),
    "concatenate_none": lambda x: fnp.concatenate([x, x[0]], axis=None),
    "split": lambda x: fnp.split(x, 2, axis=2),
    "split_points": lambda x: fnp.split(x, [1, 2], axis=1),
    "array_split": lambda x: fnp.array_split(x, 3, axis=-1),
    "tile": lambda x: fnp.tile(x, (2, 1, 3)),
    "tile_more": lambda x: fnp.tile(x[0], (2, 1, 2)),
    "repeat": lambda x: fnp.repeat(x, 2, axis=1),
    "repeat_flat": lambda x: fnp.repeat(x, 2),
    "repeat_counts": lambda x: fnp.repeat(x, [1, 0, 3], axis=1),
    "flip": lambda x: fnp.flip(x, (0, 2)),
    "flip_all": fnp.flip,
    "fliplr": fnp.fliplr,
    "flipud": fnp.flipud,
    "roll": lambda x: fnp.roll(x, 2, axis=2),
    "roll_neg": lambda x: fnp.roll(x, -1, axis=(0, 1)),
    "roll_flat": lambda x: fnp.roll(x, 5),
    "diff": lambda x: fnp.diff(x, axis=1),
    "diff2": lambda x: fnp.diff(x, n=2, prepend=x[..., :1]),
}


@pytest.mark.parametrize("name", SHAPE_CASES)
def test_shape_functions(name):
    check_all(SHAPE_CASES[name], X, order=1)


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.bool_, np.complex64])
def test_shape_functions_keep_dtypes(dtype):
    x = (X * 3).astype(dtype)
    for name in ("reshape", "transpose", "stack", "concatenate", "split", "tile", "repeat",
                 "flip", "roll", "broadcast_to"):
        check_numpy(SHAPE_CASES[name], x)


def test_joining_promotes_like_numpy():
    check_numpy(lambda a, b: fnp.concatenate([a, b]), np.ones(2, np.float32),
                np.arange(3, dtype=np.int32))
    check_numpy(lambda a: fnp.stack([a, np.ones(2)]), np.ones(2, np.float32))
    check_numpy(lambda a: fnp.concatenate([a, np.arange(2)], dtype=np.float32), np.ones(2))


def test_shape_errors():
    with pytest.raises(ValueError, match="cannot reshape array of size 24 into shape"):
        fad.make_jaxpr(lambda x: fnp.reshape(x, (5, -1)))(X)
    with pytest.raises(ValueError, match="one unknown dimension"):
        fad.make_jaxpr(lambda x: fnp.reshape(x, (-1, -1)))(X)
    with pytest.raises(AxisError):
        fad.make_jaxpr(lambda x: fnp.swapaxes(x, 0, 3))(X)
    with pytest.raises(ValueError, match="axes don't match"):
        fad.make_jaxpr(lambda x: fnp.transpose(x, (0, 1)))(X)
    with pytest.raises(ValueError, match="squeeze"):
        fad.make_jaxpr(lambda x: fnp.squeeze(x, 0))(X)
    with pytest.raises(ValueError, match="must match exactly"):
        fad.make_jaxpr(lambda x: fnp.concatenate([x, x[0]]))(X)
    with pytest.raises(ValueError, match="same shape"):
        fad.make_jaxpr(lambda x: fnp.stack([x, x[0]]))(X)
    with pytest.raises(ValueError, match="equal division"):
        fad.make_jaxpr(lambda x: fnp.split(x, 3, axis=2))(X)
    with pytest.raises(ValueError, match="could not be broadcast"):
        fad.make_jaxpr(lambda x: fnp.broadcast_to(x, (3, 3, 4)))(X)
    with pytest.raises(TypeError, match="concrete repeats"):
        fad.make_jaxpr(lambda x, r: fnp.repeat(x, r))(X, np.array(2))


def test_creation():
    check_numpy(lambda x: fnp.zeros_like(x) + fnp.ones_like(x, dtype=np.float32), X)
    check_numpy(lambda x: fnp.full_like(x, 2, dtype=np.int32), X)
    check_numpy(lambda x: fnp.full_like(x, x[0, 0, 0]), X)
    check_numpy(lambda x: fnp.full((2, 3), x[0, 0, 0]), X)
    check_numpy(lambda x: fnp.empty_like(x).shape and x, X)
    check_numpy(lambda x: fnp.eye(3, 4, k=1) * x[0, 0, 0] + fnp.identity(3)[0, 0], X)
    check_numpy(lambda x: fnp.arange(5) * x[0, 0, 0], X)
    check_numpy(lambda a, b: fnp.linspace(a, b, 7), 0.5, 2.0)
    check_numpy(lambda a, b: fnp.linspace(a, b, 4, endpoint=False), X[0, 0], X[1, 1])
    check_numpy(lambda a, b: fnp.linspace(a, b, 5, axis=1, retstep=True), X[0, 0], X[1, 1])
    check_numpy(lambda a, b: fnp.linspace(a, b, 5, dtype=np.int32), 0.5, 9.0)
    check_grads(lambda a, b: fnp.linspace(a, b, 5), (X[0, 0], X[1, 1]), order=2)
    check_numpy(lambda x: fnp.asarray([x[0, 0, 0], 1.0, x[1, 0, 0]]), X)
    check_numpy(lambda x: fnp.array(x, dtype=np.float32, ndmin=4), X)
    check_numpy(lambda a, b: fnp.meshgrid(a, b), V, M[:, 0])
    check_numpy(lambda a, b: fnp.meshgrid(a, b, indexing="ij", sparse=True), V, M[:, 0])
    assert type(fnp.zeros(3)) is np.ndarray and fnp.arange(3).dtype == np.arange(3).dtype
    with pytest.raises(TypeError, match="concrete"):
        fad.make_jaxpr(lambda n: fnp.arange(n))(np.array(3))


PRODUCTS = {
    "dot_mm": (fnp.dot, (M, M.T)), "dot_mv": (fnp.dot, (M, V)), "dot_vv": (fnp.dot, (V, V)),
    "dot_nd": (fnp.dot, (X, M.T)), "dot_scalar": (fnp.dot, (2.5, M)),
    "matmul": (fnp.matmul, (M, M.T)), "matmul_vm": (fnp.matmul, (M[:, 0], M)),
    "matmul_mv": (fnp.matmul, (X, V)), "matmul_batch": (fnp.matmul, (X, M.T)),
    "matmul_bcast": (fnp.matmul, (X[:, None], np.stack([M.T] * 5)[None])),
    "matmul_left": (fnp.matmul, (M.T, X)), "vdot": (fnp.vdot, (M, M)),
    "matmul_vv": (fnp.matmul, (V, V)), "matmul_v_nd": (fnp.matmul, (M[:, 0], X)),
    "inner": (fnp.inner, (X, M)), "outer": (fnp.outer, (V, M)),
    "tensordot": (fnp.tensordot, (X, M)),
    "tensordot1": (lambda a, b: fnp.tensordot(a, b, 1), (X, M.T)),
    "tensordot_axes": (lambda a, b: fnp.tensordot(a, b, ([1, 2], [0, 1])), (X, M)),
    "tensordot_pairs": (lambda a, b: fnp.tensordot(a, b, ([2], [1])), (X, M)),
    "kron": (fnp.kron, (M, M[:2, :2])), "kron_mixed": (fnp.kron, (V, M)),
    "trace": (fnp.trace, (M,)), "trace_off": (lambda a: fnp.trace(a, 1, 0, 2), (X,)),
    "diagonal": (lambda a: fnp.diagonal(a, -1), (M,)),
    "diagonal_axes": (lambda a: fnp.diagonal(a, 1, 2, 0), (X,)),
    "diagonal_empty": (lambda a: fnp.diagonal(a, 5), (M,)),
    "diag_extract": (lambda a: fnp.diag(a, 1), (M,)), "diag_build": (fnp.diag, (V,)),
    "diag_build_k": (lambda v: fnp.diag(v, -2), (V,)),
    "diag_build_kpos": (lambda v: fnp.diag(v, 1), (V,)),
    "diagflat": (fnp.diagflat, (M[:2, :2],)),
    "triu": (fnp.triu, (M,)), "tril": (lambda m: fnp.tril(m, -1), (X,)),
    "triu_k": (lambda m: fnp.triu(m, 2), (M,)),
    "vecdot": (fnp.vecdot, (X, M)),
}


@pytest.mark.parametrize("name", PRODUCTS)
def test_products(name):
    fn, args = PRODUCTS[name]
    check_all(fn, *args)


EINSUMS = [
    ("ij,jk->ik", (M, M.T)), ("ij,jk", (M, M.T)), ("bij,bjk->bik", (X, np.swapaxes(X, 1, 2))),
    ("ii->i", (M[:, :3],)), ("ii", (M[:, :3],)), ("ij->", (M,)), ("ij->ji", (M,)),
    ("i,i->", (V, V)), ("i,j->ij", (V, M[:, 0])), ("...ij,...jk->...ik", (X, M.T)),
    ("...j,j", (X, V)), ("ijk,kj->i", (X, M.T)), ("ij,ij->i", (M, M)),
    ("ij,jk,kl->il", (M, M.T, M)), ("bij,jk->bk", (X, M.T)), ("iij->ij", (X[:, :2],)),
    ("ij,ik->jk", (M, M)), ("i...->...", (X,)), ("ab,cd->", (M, M[:2])),
    ("ijk,ajk->ia", (X, X[:1])),
]


@pytest.mark.parametrize("spec,args", EINSUMS, ids=[e[0] for e in EINSUMS])
def test_einsum(spec, args):
    check_all(lambda *a: fnp.einsum(spec, *a), *args, order=1)


def test_einsum_broadcasting_and_dtypes():
    check_numpy(lambda a, b: fnp.einsum("...ij,...jk->...ik", a, b), X[:1],
                np.swapaxes(X, 1, 2))
    check_numpy(lambda a, b: fnp.einsum("ij,jk->ik", a, b), M.astype(np.float32),
                M.T.astype(np.int32))
    with pytest.raises(ValueError, match="einsum"):
        fad.make_jaxpr(lambda a: fnp.einsum("ij,jk->ik", a, a))(M)
    with pytest.raises(ValueError, match="does not appear"):
        fad.make_jaxpr(lambda a: fnp.einsum("ij->k", a))(M)


def test_product_errors():
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(3, 4\)"):
        fad.make_jaxpr(fnp.matmul)(M, M)
    with pytest.raises(ValueError, match="not aligned"):
        fad.make_jaxpr(fnp.dot)(M, M)
    with pytest.raises(ValueError, match="scalar"):
        fad.make_jaxpr(fnp.matmul)(M, 2.0)
    with pytest.raises(ValueError, match="shape-mismatch"):
        fad.make_jaxpr(lambda a: fnp.tensordot(a, a, ([0], [1])))(M)
    with pytest.raises(ValueError, match="broadcast"):
        fad.make_jaxpr(fnp.matmul)(np.ones((2, 3, 4)), np.ones((3, 4, 2)))
    with pytest.raises(ValueError, match=r"mismatch.*\(4,\) and \(2, 3, 4\)"):
        fad.make_jaxpr(fnp.matmul)(V, X)


def test_product_dtypes():
    check_numpy(fnp.matmul, M.astype(np.float32), M.T.astype(np.float32))
    check_numpy(fnp.dot, np.arange(6, dtype=np.int32).reshape(2, 3), np.arange(3))
    check_numpy(fnp.matmul, M.astype(np.complex64), M.T)
