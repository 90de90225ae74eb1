"""Issue 10, item 6: what a transformation returns is fresh memory.

The caller may update a result in place (``g *= lr``), so no array a transformation hands
back may be one of the caller's arrays, a view of one, or share memory with another
result — on every path: interpreted, staged (first call interpreted, later ones
compiled) and ``jit``'s lowered programs."""
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad.core.fresh import fresh_outputs
from fad.tree_util import tree_leaves


def _arrays(tree):
    return [x for x in tree_leaves(tree) if isinstance(x, np.ndarray)]


def assert_fresh(results, *inputs):
    """No array of ``results`` shares memory with an array of ``inputs`` or with another
    array of ``results``."""
    outs, ins = _arrays(results), _arrays(inputs)
    for i, o in enumerate(outs):
        for x in ins:
            assert not np.shares_memory(o, x), "a result shares memory with an input"
        for other in outs[:i]:
            assert not np.shares_memory(o, other), "two results share memory"


def assert_bit_identical(a, b):
    la, lb = tree_leaves(a), tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        assert type(x) is type(y)
        x, y = np.asarray(x), np.asarray(y)
        assert (x.dtype, x.shape) == (y.dtype, y.shape)
        assert x.tobytes() == y.tobytes(), (x, y)


# -- the examples of the issue -------------------------------------------------------------

def test_item6_gradients_of_a_sum_of_two_leaves_are_distinct_arrays():
    f = fad.grad(lambda p: fnp.mean(p["w"] + p["b"]))
    for staged in (False, True):
        for _ in range(3):   # (staged: interpreted, then compiled)
            p = {"w": np.ones(3), "b": np.ones(3)}
            if staged:
                g = f(p)
            else:
                with fad.disable_jit():
                    g = f(p)
            assert_fresh(g, p)
            g["w"] *= 0.5   # an optimizer's in-place step scales each gradient once
            np.testing.assert_array_equal(g["b"], np.full(3, 1 / 3))


def test_item6_vmap_of_grad_does_not_return_the_data_set():
    X = np.linspace(0.0, 1.0, 5)
    per_example = fad.vmap(fad.grad(lambda w, x: w * x), in_axes=(None, 0))
    for w in (2.0, np.float64(2.0), np.float64(2.0), np.float64(2.0)):   # interpreted, staged
        G = per_example(w, X)
        assert G is not X
        G *= 0.1
        np.testing.assert_array_equal(X, np.linspace(0.0, 1.0, 5))


def test_item6_jit_of_grad_does_not_return_an_argument():
    y = np.array([1.0, 2.0, 3.0])
    g = fad.jit(fad.grad(lambda w, x: fnp.sum(w * x), argnums=(0, 1)))
    for _ in range(2):
        gw, gx = g(np.ones(3), y)
        assert_fresh((gw, gx), y)
    g = fad.jit(fad.vmap(fad.grad(lambda w, x: w * x), in_axes=(None, 0)))
    for _ in range(2):
        assert_fresh(g(np.float64(2.0), y), y)


def test_item6_jit_copies_arguments_and_views_of_them():
    x = np.arange(6.0)
    for f in (lambda x: x, lambda x: x.reshape(2, 3), lambda x: (x, x), lambda x: (x, x.T),
              lambda x: (x * 2.0, (x * 2.0).reshape(3, 2)), lambda x: x[1:]):
        jf = fad.jit(f)
        for _ in range(2):
            out = jf(x)
            assert_fresh(out, x)
            assert_bit_identical(out, f(x))


def test_item6_every_transformation_returns_fresh_arrays():
    x, t = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, 3.0])
    ident = lambda v: v   # noqa: E731
    assert_fresh(fad.jvp(ident, (x,), (t,)), x, t)
    assert_fresh(fad.jvp(lambda a, b: (a, b, a), (x, t), (t, x)), x, t)
    y, f_jvp = fad.linearize(ident, x)
    assert_fresh((y, f_jvp(t)), x, t)
    y, f_vjp = fad.vjp(lambda v: v + 0.0, x)
    assert_fresh((y, f_vjp(t)), x, t)
    y, f_vjp, aux = fad.vjp(lambda v: (fnp.sin(v), v), x, has_aux=True)
    assert_fresh((y, aux, f_vjp(t)), x, t)
    assert_fresh(fad.linear_transpose(ident, x)(t), x, t)
    assert_fresh(fad.linear_transpose(lambda a: (a, a), x)((t, t)), t)
    assert_fresh(fad.vmap(ident)(x), x)
    assert_fresh(fad.vmap(lambda a, b: (a, b), in_axes=(0, None), out_axes=(0, None))(x, t),
                 x, t)
    v = np.array(2.0)
    assert_fresh(fad.value_and_grad(lambda a: a)(v), v)   # (the value is the argument)
    assert_fresh(fad.value_and_grad(lambda a, b: a * b)(v, np.array(3.0)), v)
    assert_fresh(fad.grad(lambda v: (fnp.sum(v), v), has_aux=True)(x), x)
    assert_fresh(fad.jacfwd(lambda v: (v, v), has_aux=True)(x), x)
    assert_fresh(fad.jacrev(lambda v: (v, v), has_aux=True)(x), x)
    assert_fresh(fad.jacrev(lambda p: p["w"] + p["b"])({"w": x, "b": t}), x, t)
    assert_fresh(fad.hessian(lambda v: fnp.sum(v ** 3))(x), x)
    assert_fresh(fad.hvp(lambda v: fnp.sum(v * v), (x,), (t,)), x, t)


def test_fresh_outputs_copies_only_what_is_shared():
    x = np.arange(6.0)
    own = np.zeros(2)
    outs = fresh_outputs([own, x, x.reshape(2, 3), x[:3], own[:1], 1.5], [x])
    assert outs[0] is own and outs[-1] == 1.5   # unshared: untouched
    assert_fresh(outs, x)                        # the input, views of it and of own: copied
    np.testing.assert_array_equal(outs[2], x.reshape(2, 3))
    halves = [x[:3], x[3:]]                      # one owner, no overlap: untouched
    assert all(a is b for a, b in zip(fresh_outputs(list(halves), []), halves))


# -- random programs -----------------------------------------------------------------------

_UNARY = [lambda v: v, fnp.sin, fnp.tanh, fnp.negative, lambda v: v * 1.0,
          lambda v: fnp.reshape(v, fnp.shape(v)), lambda v: fnp.sum(v), lambda v: fnp.mean(v),
          lambda v: fnp.exp(v * 0.1)]
_BINARY = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
           lambda a, b: a / (b * b + 1.0), fnp.maximum]


@st.composite
def _programs(draw):
    """Steps ``(op, operand indices)`` over a pool that starts with the arguments."""
    steps = []
    for _ in range(draw(st.integers(1, 5))):
        if draw(st.booleans()):
            steps.append((_UNARY[draw(st.integers(0, len(_UNARY) - 1))],
                          (draw(st.integers(0, 9)),)))
        else:
            steps.append((_BINARY[draw(st.integers(0, len(_BINARY) - 1))],
                          (draw(st.integers(0, 9)), draw(st.integers(0, 9)))))
    reduce = draw(st.sampled_from([fnp.sum, fnp.mean]))
    return steps, reduce


def _run(program, args):
    steps, reduce = program
    pool = list(args)
    for op, idx in steps:
        pool.append(op(*[pool[i % len(pool)] for i in idx]))
    out = pool[-1]
    return reduce(out) if fnp.ndim(out) else out


_KINDS = st.sampled_from(["scalar", "0-d array", "vector"])


@st.composite
def _arguments(draw, batched=False):
    """1-3 float64 arguments (NumPy scalars, 0-d arrays or vectors) and, under
    ``batched``, their in_axes (each mapped along axis 0 of a batch of 4, or not)."""
    n = draw(st.integers(1, 3))
    args, axes = [], []
    for k in range(n):
        kind = draw(_KINDS)
        mapped = batched and (k == 0 or draw(st.booleans()))
        full = ((4,) if mapped else ()) + ((3,) if kind == "vector" else ())
        value = np.linspace(-0.8, 0.9, max(1, int(np.prod(full)))).reshape(full) + 0.1 * k
        args.append(np.float64(value.item()) if kind == "scalar" and not mapped else value)
        axes.append(0 if mapped else None)
    argnums = tuple(sorted(draw(st.sets(st.integers(0, n - 1), min_size=1))))
    return args, tuple(axes), argnums


def _check(transformed, args):
    snapshot = [a.copy() for a in args]
    with np.errstate(all="ignore"):
        first = transformed(*args)
        assert_fresh(first, args)
        second = transformed(*args)
        assert_fresh(second, args)
        assert_fresh((first, second))
        third = transformed(*args)
    # (first: interpreted or compiled, depending on what earlier examples compiled;
    # second and third: compiled)
    assert_bit_identical(first, second)
    assert_bit_identical(second, third)
    for a, s in zip(args, snapshot):
        assert_bit_identical(a, s)


@settings(max_examples=50, deadline=None)
@given(_programs(), _arguments(), st.booleans())
@example(([(_BINARY[0], (0, 1))], fnp.mean), ([np.ones(3), np.ones(3)], (None, None), (0, 1)),
         False)   # (a + b gives both operands one cotangent)
def test_item6_random_programs_grad_results_are_fresh(program, arguments, with_value):
    args, _, argnums = arguments
    transform = fad.value_and_grad if with_value else fad.grad
    _check(transform(lambda *a: _run(program, a), argnums=argnums), args)


_TIMES = ([(_BINARY[2], (0, 1))], fnp.sum)   # the gradient of a * b by b is a


@settings(max_examples=40, deadline=None)
@given(_programs(), _arguments(batched=True))
@example(_TIMES, ([np.linspace(0.0, 1.0, 4), np.float64(2.0)], (0, None), (1,)))
def test_item6_random_programs_vmap_of_grad_results_are_fresh(program, arguments):
    args, axes, argnums = arguments
    g = fad.grad(lambda *a: _run(program, a), argnums=argnums)
    _check(fad.vmap(g, in_axes=axes), args)


@settings(max_examples=40, deadline=None)
@given(_programs(), _arguments())
@example(_TIMES, ([np.array(3.0), np.float64(2.0)], (None, None), (1,)))
def test_item6_random_programs_jit_of_grad_results_are_fresh(program, arguments):
    args, _, argnums = arguments
    _check(fad.jit(fad.grad(lambda *a: _run(program, a), argnums=argnums)), args)


@pytest.mark.parametrize("with_jit", [False, True])
def test_item6_gradient_that_is_an_argument_matches_the_interpreter(with_jit):
    # staged (interpreted, then compiled) and jitted: the copy, bit for bit
    f = fad.grad(lambda w, x: w * x)
    g = fad.jit(f) if with_jit else f
    x = np.float64(3.0)
    with fad.disable_jit():
        want = f(np.float64(2.0), x)
    for _ in range(3):
        assert_bit_identical(g(np.float64(2.0), x), want)
