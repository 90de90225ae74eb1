"""``vmap``: in_axes/out_axes as ints, None, negative and pytree prefixes; keyword
arguments; axis_size; each checked against a Python loop."""
import dataclasses
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
from fad.core.ir import Literal
import fad.numpy as fnp
from fad import tree_util
from fad.errors import ConcretizationTypeError, UnexpectedTracerError
from fad.test_util import check_vmap

RNG = np.random.default_rng(0)


class Pair(NamedTuple):
    a: object
    b: object


@tree_util.register_dataclass
@dataclasses.dataclass
class Box:
    lo: object
    hi: object


def loop(f, n, *args_per_i):
    """Stack ``f(*args_i)`` over ``i`` (the oracle)."""
    rows = [f(*[a(i) for a in args_per_i]) for i in range(n)]
    return tree_util.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *rows)


def f_mixed(x, y):
    """Broadcasting, elementwise math, a reduction and a select."""
    z = fnp.sin(x) * y + fnp.exp(-x * x)
    return fnp.where(z > 0, z, fnp.maximum(z, -0.5)) + fnp.sum(z, axis=-1, keepdims=True)


# -- in_axes / out_axes as ints --------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2), st.integers(0, 2), st.integers(-3, 2), st.data())
def test_every_axis_combination_matches_loop(ax_x, ax_y, out_ax, data):
    n, shape = 4, (2, 3)
    x = np.moveaxis(RNG.standard_normal((n, *shape)), 0, ax_x)
    y_unbatched = data.draw(st.booleans())
    y = RNG.standard_normal(shape) if y_unbatched else np.moveaxis(
        RNG.standard_normal((n, *shape)), 0, ax_y)
    in_axes = (ax_x, None if y_unbatched else ax_y)
    check_vmap(f_mixed, (x, y), in_axes=in_axes, out_axes=out_ax, atol=1e-12, rtol=1e-12)


def test_negative_in_axes():
    x = RNG.standard_normal((2, 3, 5))
    got = fad.vmap(lambda v: fnp.sum(v * v), in_axes=-1)(x)
    np.testing.assert_allclose(got, (x * x).sum(axis=(0, 1)))
    got = fad.vmap(lambda v: v * 2.0, in_axes=-2, out_axes=-1)(x)
    np.testing.assert_allclose(got, np.moveaxis(x, 1, -1) * 2.0)


def test_unmapped_arguments_and_scalars():
    x = RNG.standard_normal((4, 3))
    w = RNG.standard_normal(3)
    got = fad.vmap(lambda a, w, s: fnp.sum(a * w) * s, in_axes=(0, None, None))(x, w, 2.0)
    np.testing.assert_allclose(got, (x @ w) * 2.0)


def test_in_axes_list_is_accepted_like_tuple():
    x = RNG.standard_normal((4, 3))
    got = fad.vmap(lambda a, b: a * b, in_axes=[0, None])(x, 2.0)
    np.testing.assert_allclose(got, 2 * x)


# -- pytrees ---------------------------------------------------------------------------------

def test_in_axes_pytree_prefix_dict():
    d = {"a": RNG.standard_normal((3, 4)), "b": RNG.standard_normal(3)}
    got = fad.vmap(lambda d: d["a"] * d["b"], in_axes=({"a": 1, "b": None},))(d)
    want = loop(lambda i: d["a"][:, i] * d["b"], 4, lambda i: i)
    np.testing.assert_allclose(got, want)


def test_in_axes_prefix_covers_a_whole_subtree():
    args = ({"p": RNG.standard_normal((5, 2)), "q": (RNG.standard_normal(5), np.ones(5))},
            RNG.standard_normal(2))
    got = fad.vmap(lambda d, v: d["p"] * v + d["q"][0] - d["q"][1], in_axes=(0, None))(*args)
    want = args[0]["p"] * args[1] + args[0]["q"][0][:, None] - 1.0
    np.testing.assert_allclose(got, want)


def test_in_axes_namedtuple_and_dataclass():
    p = Pair(RNG.standard_normal((4, 2)), RNG.standard_normal((2, 4)))
    got = fad.vmap(lambda p: p.a * p.b, in_axes=(Pair(0, 1),))(p)
    np.testing.assert_allclose(got, p.a * p.b.T)
    box = Box(RNG.standard_normal((3, 6)), 1.0)
    got = fad.vmap(lambda b: fnp.maximum(b.lo, b.hi), in_axes=(Box(1, None),))(box)
    np.testing.assert_allclose(got, np.maximum(box.lo.T, 1.0))


def test_pytree_outputs_and_out_axes_prefix():
    x = RNG.standard_normal((4, 3))

    def f(v):
        return {"s": fnp.sum(v), "v": v * 2.0, "c": (v, 1.0)}
    out = fad.vmap(f, out_axes={"s": 0, "v": 1, "c": -1})(x)
    np.testing.assert_allclose(out["s"], x.sum(1))
    np.testing.assert_allclose(out["v"], 2 * x.T)
    np.testing.assert_allclose(out["c"][0], x.T)
    np.testing.assert_allclose(out["c"][1], np.ones(4))       # unbatched, broadcast
    box = fad.vmap(lambda v: Box(v, -v))(x)
    assert isinstance(box, Box)
    np.testing.assert_allclose(box.hi, -x)


def test_out_axes_none_for_unbatched_output():
    x = RNG.standard_normal((4, 3))
    y = RNG.standard_normal(3)
    a, b = fad.vmap(lambda v, w: (v * w, w * 2.0), in_axes=(0, None), out_axes=(0, None))(x, y)
    np.testing.assert_allclose(a, x * y)
    np.testing.assert_allclose(b, 2 * y)
    assert b.shape == (3,)


def test_unbatched_output_is_broadcast():
    out = fad.vmap(lambda v: 3.0)(np.ones(5))
    np.testing.assert_allclose(out, np.full(5, 3.0))
    out = fad.vmap(lambda v, w: w, in_axes=(0, None), out_axes=1)(np.ones(4), np.arange(3.0))
    np.testing.assert_allclose(out, np.tile(np.arange(3.0)[:, None], (1, 4)))


# -- keyword arguments and axis_size ---------------------------------------------------------

def test_keyword_arguments_are_not_mapped():
    x = RNG.standard_normal((4, 3))
    w = RNG.standard_normal(3)
    got = fad.vmap(lambda v, w=None: v * w)(x, w=w)
    np.testing.assert_allclose(got, x * w)


def test_axis_size_with_all_none_in_axes():
    out = fad.vmap(lambda v: v * 2.0, in_axes=None, axis_size=3)(np.arange(2.0))
    np.testing.assert_allclose(out, np.tile(np.arange(2.0) * 2, (3, 1)))
    out = fad.vmap(lambda: 1.5, axis_size=4)()
    np.testing.assert_allclose(out, np.full(4, 1.5))


def test_axis_size_consistent_with_mapped_size():
    out = fad.vmap(lambda v: v + 1.0, axis_size=3)(np.zeros(3))
    np.testing.assert_allclose(out, np.ones(3))


# -- nesting, closures -----------------------------------------------------------------------

def test_vmap_of_vmap_different_axes():
    x = RNG.standard_normal((3, 4))
    y = RNG.standard_normal((5, 4))
    inner = fad.vmap(lambda a, b: fnp.sum(a * b), in_axes=(None, 0))     # over rows of y
    got = fad.vmap(inner, in_axes=(0, None))(x, y)                        # over rows of x
    np.testing.assert_allclose(got, x @ y.T)
    got = fad.vmap(fad.vmap(lambda a: a * 2.0, in_axes=1, out_axes=0), in_axes=2,
                   out_axes=1)(RNG.standard_normal((2, 3, 4)))
    assert got.shape == (3, 4, 2)


@pytest.mark.parametrize("ax_a, ax_b", [(0, 0), (1, None), (None, 1), (2, 0), (-1, -1)])
def test_vmap_of_matmul_and_dot(ax_a, ax_b):
    a = RNG.standard_normal((4, 2, 3) if ax_a is not None else (2, 3))
    b = RNG.standard_normal((4, 3) if ax_b is not None else (3,))
    if ax_a is not None:
        a = np.moveaxis(a, 0, ax_a)
    if ax_b is not None and ax_b != 0:
        b = b.T
    check_vmap(lambda m, v: fnp.matmul(m, v) + fnp.dot(v, v), (a, b), in_axes=(ax_a, ax_b),
               atol=1e-12, rtol=1e-12)


def test_closure_over_batched_value():
    xs = RNG.standard_normal(3)
    ys = RNG.standard_normal(5)
    got = fad.vmap(lambda x: fad.vmap(lambda y: fnp.sin(x * y))(ys))(xs)
    np.testing.assert_allclose(got, np.sin(np.outer(xs, ys)))


def test_vmap_tracer_does_not_leak():
    leaked = []
    fad.vmap(lambda v: leaked.append(v) or v)(np.ones(3))
    with pytest.raises(UnexpectedTracerError):
        leaked[0] + 1.0


def test_python_control_flow_on_batched_value_raises():
    with pytest.raises(ConcretizationTypeError, match="cond|where|select"):
        fad.vmap(lambda v: v if v > 0 else -v)(np.ones(3))


def test_unbatched_scalars_do_not_move_the_batch_axis():
    f = fad.vmap(lambda x: fnp.exp(1.0 - fnp.tanh(x) * 2.0), in_axes=1, out_axes=1)
    x = np.linspace(-1, 1, 12).reshape(3, 4)
    closed = fad.make_jaxpr(f)(x)
    assert "transpose" not in [e.primitive.name for e in closed.eqns], closed
    np.testing.assert_allclose(f(x), np.exp(1.0 - np.tanh(x) * 2.0))


def test_weak_operands_get_literals_of_their_own_dtype():
    closed = fad.make_jaxpr(fad.grad(fnp.tanh))(1.0)   # a weakly typed Python float
    kinds = {np.asarray(a.val).dtype.kind for e in closed.eqns for a in e.invars
             if isinstance(a, Literal)}
    assert kinds == {"f"}, closed
