"""Issue 10, item 7: big-endian arrays (``dtype('>f8')``, as FITS and HDF5 files give them)
anywhere a transformation meets them — an argument that is not differentiated, an
unbatched ``vmap`` argument, any ``jit`` argument, an array the function closes over, a
cotangent given to ``vjp``'s function, a tangent given to ``jvp`` — compute as native ones
do: the results are in native byte order and bit for bit those of native inputs.

(The differentiated arguments themselves: tests/test_issue10_staged.py, item 7.)"""
import functools

import numpy as np
import pytest

import fad
import fad.numpy as fnp
from fad import lax
from fad.lax.reductions import linear_recurrence
from fad.tree_util import tree_leaves, tree_structure

CALLS = 3   # staged gradients: first sighting (interpreted), compiled, replayed

_W = np.array([0.5, -1.25, 2.0])
_X = np.array([[0.25, 1.5, -0.75], [1.0, -2.0, 0.5]])   # the data: native or big-endian
_IDX = np.array([2, 0, 1])


def big_endian(x):
    return x.astype(x.dtype.newbyteorder(">" if x.dtype.isnative and np.little_endian
                                         else "<"))


def assert_native_and_identical(got, want):
    """Same structure; leaf by leaf the same type, native dtype, shape and bits."""
    assert tree_structure(got) == tree_structure(want), (got, want)
    for a, b in zip(tree_leaves(got), tree_leaves(want)):
        assert type(a) is type(b), (a, b)
        a_, b_ = np.asarray(a), np.asarray(b)
        assert a_.dtype.isnative, a
        assert a_.dtype == b_.dtype and a_.shape == b_.shape, (a, b)
        assert a_.tobytes() == b_.tobytes(), (a, b)


def test_big_endian_helper_gives_the_other_byte_order():
    assert not big_endian(_X).dtype.isnative and np.array_equal(big_endian(_X), _X)


# Scalar functions of a differentiated ``w`` (3,) and data ``x`` (2, 3), each reaching a
# primitive whose implementation or rules compare the dtypes of two operands.
SCALAR_FUNCTIONS = {
    "matmul": lambda w, x: fnp.sum(fnp.tanh(x @ w)),
    "matmul_transposed": lambda w, x: fnp.sum((w @ x.T) ** 2),
    "einsum": lambda w, x: fnp.sum(fnp.einsum("ij,j->i", x, w) ** 2),
    "mul": lambda w, x: fnp.sum(w * x),
    "gather": lambda w, x: fnp.sum(w * x[:, _IDX]),
    "take_along_axis": lambda w, x: fnp.sum(
        w * fnp.take_along_axis(x, np.array([[1, 2, 0], [0, 0, 2]]), axis=1)),
    "where": lambda w, x: fnp.sum(fnp.where(x > 0.5, w, x) ** 2),
    "maximum": lambda w, x: fnp.sum(fnp.maximum(w, x) ** 2),
    "clip": lambda w, x: fnp.sum(fnp.clip(w, x[1], x[0] + 2.0) ** 2),
    "concatenate": lambda w, x: fnp.sum(fnp.concatenate([x, w[None]]) ** 3),
    "at_set": lambda w, x: fnp.sum(fnp.at(x)[0].set(w) ** 3),
    "at_add": lambda w, x: fnp.sum(fnp.at(x)[:, _IDX[:2]].add(w[:2]) ** 3),
    "dynamic_update_slice": lambda w, x: fnp.sum(
        lax.dynamic_update_slice(x, w[None, :2], (1, 1)) ** 3),
    "linear_recurrence": lambda w, x: fnp.sum(linear_recurrence(x, x * w, axis=1) ** 2),
    "pad": lambda w, x: fnp.sum(lax.pad(w, lax.reshape(x[0, :1], ()), ((1, 2, 1),)) ** 3),
    "cumsum": lambda w, x: fnp.sum(fnp.cumsum(x, axis=1) * w),
    "sort": lambda w, x: fnp.sum(fnp.sort(x, axis=1) * w),
    "reshape": lambda w, x: fnp.sum(fnp.reshape(x, (3, 2)) @ w[:2]),
    "var": lambda w, x: fnp.var(x * w),
}

# How each transformation is called on a scalar function ``f(w, x)``: ``x`` is an
# argument it is not differentiated by (not batched by ``vmap``).
_W2 = np.stack([_W, _W * 0.5])
ARGUMENT_TRANSFORMS = {
    "eager": lambda f, x: f(_W, x),
    "grad": lambda f, x: fad.grad(f)(_W, x),
    "value_and_grad": lambda f, x: fad.value_and_grad(f)(_W, x),
    "jacrev": lambda f, x: fad.jacrev(f)(_W, x),
    "jacfwd": lambda f, x: fad.jacfwd(f)(_W, x),
    "hessian": lambda f, x: fad.hessian(f)(_W, x),
    "jit": lambda f, x: fad.jit(f)(_W, x),
    "jit_grad": lambda f, x: fad.jit(fad.grad(f))(_W, x),
    "grad_jit": lambda f, x: fad.grad(fad.jit(f))(_W, x),
    "vmap": lambda f, x: fad.vmap(f, in_axes=(0, None))(_W2, x),
    "vmap_grad": lambda f, x: fad.vmap(fad.grad(f), in_axes=(0, None))(_W2, x),
    "vmap_grad_batched_data": lambda f, x: fad.vmap(fad.grad(f), in_axes=(None, 0))(
        _W, np.stack([x, x[::-1]])),
    "jvp": lambda f, x: fad.jvp(lambda w: f(w, x), (_W,), (_W * 0.5,)),
    "vjp": lambda f, x: fad.vjp(lambda w: f(w, x), _W)[1](1.0),
    "linearize": lambda f, x: fad.linearize(lambda w: f(w, x), _W)[1](_W * 0.5),
    "eval_jaxpr": lambda f, x: fad.eval_jaxpr(
        (closed := fad.make_jaxpr(f)(_W, x)).jaxpr, closed.consts, _W, x),
}


def _calls(transform, f, x):
    """``transform`` applied to ``f`` and ``x``: ``CALLS`` times (fresh functions, so that
    a staged gradient goes through its first, compiled and replayed calls), then once
    interpreted."""
    results = [ARGUMENT_TRANSFORMS[transform](f, x) for _ in range(CALLS)]
    with fad.disable_jit():
        results.append(ARGUMENT_TRANSFORMS[transform](f, x))
    return results


@pytest.mark.parametrize("transform", sorted(ARGUMENT_TRANSFORMS))
@pytest.mark.parametrize("function", sorted(SCALAR_FUNCTIONS))
def test_item7_big_endian_argument_not_differentiated(function, transform):
    f = SCALAR_FUNCTIONS[function]
    for got, want in zip(_calls(transform, f, big_endian(_X)), _calls(transform, f, _X)):
        assert_native_and_identical(got, want)


def _closing_over(f, x):
    """``f`` with its data ``x`` closed over, not passed: ``g(w, _) = f(w, x)``."""
    return functools.wraps(f)(lambda w, _: f(w, x))


@pytest.mark.parametrize("transform", sorted(ARGUMENT_TRANSFORMS))
@pytest.mark.parametrize("function", sorted(SCALAR_FUNCTIONS))
def test_item7_big_endian_array_closed_over(function, transform):
    f = SCALAR_FUNCTIONS[function]
    got = _calls(transform, _closing_over(f, big_endian(_X)), _X * 0.0)
    want = _calls(transform, _closing_over(f, _X), _X * 0.0)
    for a, b in zip(got, want):
        assert_native_and_identical(a, b)


def test_item7_closed_over_big_endian_array_returned_by_jit_is_native():
    x = big_endian(_X)
    for f in [lambda w: x, lambda w: (w, x[0]), lambda w: lax.reshape(x, (3, 2))]:
        got, want = fad.jit(f)(_W), f(_W)
        for a, b in zip(tree_leaves(got), tree_leaves(want)):
            assert a.dtype.isnative and np.array_equal(a, b)


# Vector functions of ``w`` (3,): their cotangents and ``w``'s tangents come big-endian.
VECTOR_FUNCTIONS = {
    "matmul": lambda w: _X @ w,
    "matmul_transposed": lambda w: w @ _X.T,
    "mul": lambda w: w * _X[0],
    "tanh": fnp.tanh,
    "gather": lambda w: w[_IDX],
    "concatenate": lambda w: fnp.concatenate([w, w[:1] * 2.0]),
    "dynamic_update_slice": lambda w: lax.dynamic_update_slice(_X[0], w[:2] * w[1:], (1,)),
    "at_add": lambda w: fnp.at(w)[_IDX[:2]].add(w[1:] ** 2),
    "cumsum": lambda w: fnp.cumsum(w ** 2),
    "sort": fnp.sort,
    "where": lambda w: fnp.where(w > 0.0, w, w ** 2),
    "outer": lambda w: fnp.outer(w, w).reshape(-1),
}


def _vector_calls(make_call):
    results = [make_call() for _ in range(CALLS)]
    with fad.disable_jit():
        results.append(make_call())
    return results


@pytest.mark.parametrize("function", sorted(VECTOR_FUNCTIONS))
@pytest.mark.parametrize("how", ["vjp", "jit_vjp", "linear_transpose"])
def test_item7_big_endian_cotangent(function, how):
    f = VECTOR_FUNCTIONS[function]
    ct = np.linspace(-1.0, 2.0, np.shape(f(_W))[0])

    def call(ct):
        if how == "vjp":
            return fad.vjp(f, _W)[1](ct)
        if how == "jit_vjp":
            return fad.jit(lambda w, c: fad.vjp(f, w)[1](c))(_W, ct)
        f_lin = fad.linearize(f, _W)[1]
        return fad.linear_transpose(f_lin, _W)(ct)

    for got, want in zip(_vector_calls(lambda: call(big_endian(ct))),
                         _vector_calls(lambda: call(ct))):
        assert_native_and_identical(got, want)


@pytest.mark.parametrize("function", sorted(VECTOR_FUNCTIONS))
@pytest.mark.parametrize("how", ["jvp", "jit_jvp", "linearize", "vmap_jvp"])
def test_item7_big_endian_tangent(function, how):
    f = VECTOR_FUNCTIONS[function]
    t = np.array([1.0, -0.5, 0.25])

    def call(t):
        if how == "jvp":
            return fad.jvp(f, (_W,), (t,))
        if how == "jit_jvp":
            return fad.jit(lambda w, t: fad.jvp(f, (w,), (t,)))(_W, t)
        if how == "linearize":
            return fad.linearize(f, _W)[1](t)
        return fad.vmap(lambda t: fad.jvp(f, (_W,), (t,))[1])(np.stack([t, t * 2.0]))

    for got, want in zip(_vector_calls(lambda: call(big_endian(t))),
                         _vector_calls(lambda: call(t))):
        assert_native_and_identical(got, want)
