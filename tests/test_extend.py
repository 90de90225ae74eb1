"""``fad.extend``: the public surface for defining primitives, and its worked example."""
import doctest

import numpy as np

import fad
import fad.extend
from fad import lax
from fad.interpreters import batching, jvp, lowering, partial_eval, transpose
from fad.lax import rules


def test_extend_docstring_example_runs():
    """The module docstring's example (a primitive with its rules, under grad, vmap and
    jit) is a test: every line of it runs and prints what it shows."""
    result = doctest.testmod(fad.extend, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 10
    assert result.failed == 0


def test_extend_reexports_the_tables_and_helpers_themselves():
    """Registering through ``fad.extend`` fills the tables the interpreters read."""
    e = fad.extend
    assert e.jvp_rules is jvp.jvp_rules and e.transpose_rules is transpose.transpose_rules
    assert e.batch_rules is batching.batch_rules
    assert e.linearize_rules is partial_eval.linearize_rules
    assert e.lowering_rules is lowering.lowering_rules
    for name in ("elementwise", "defderiv", "defjvp", "deflinear", "defbilinear"):
        assert getattr(e, name) is getattr(rules, name)
    assert set(e.__all__) >= {"Primitive", "Zero", "defbilinear", "jvp_rules"}


def test_extend_bilinear_primitive_gets_all_rules():
    """``defbilinear`` alone makes a new bilinear primitive differentiable in both
    operands, forward and reverse, and transposable; compared with the closed form."""
    outer_p = fad.extend.Primitive("outer_test")
    outer_p.def_impl(lambda x, y: np.multiply.outer(x, y))
    outer_p.def_abstract_eval(
        lambda x, y: fad.core.abstract.ShapedArray(x.shape + y.shape, x.dtype))
    fad.extend.defbilinear(outer_p, lambda ct, x, y: lax.dot(ct, y),
                           lambda ct, x, y: lax.dot(x, ct))
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    w = np.arange(6.0).reshape(2, 3)
    f = lambda x, y: lax.reduce_sum(lax.mul(outer_p.bind(x, y), w), (0, 1))  # noqa: E731
    gx, gy = fad.grad(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, w @ y)
    np.testing.assert_allclose(gy, x @ w)
    _, t = fad.jvp(lambda x: outer_p.bind(x, y), (x,), (np.ones(2),))
    np.testing.assert_allclose(t, np.multiply.outer(np.ones(2), y))
