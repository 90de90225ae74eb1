"""Issue 11, part 5: one helper per concept in fad/lax, fad/core and fad/interpreters.
Each test names the helper, checks it is the one used, and checks its result against an
independent computation (NumPy, a closed form, or the general path)."""
import importlib
import inspect
import pathlib
import re

import numpy as np
import pytest
from numpy.exceptions import AxisError

import fad
import fad.numpy as fnp
from fad import lax
from fad.core import dtypes
from fad.core.abstract import get_aval
from fad.core.memo import bounded_memo
from fad.interpreters import partial_eval, scaled
from fad.interpreters.jvp import jvp_rules
from fad.interpreters.transpose import UndefinedPrimal, transpose_rules
from fad.lax import plumbing, rules, special_kernels
from fad.numpy import _promote

# (the modules, not the functions ``fad.lax.dot`` and ``fad.lax.elementwise``)
dot = importlib.import_module("fad.lax.dot")
elementwise = importlib.import_module("fad.lax.elementwise")

FAD = pathlib.Path(fad.__file__).parent


def _qualname(fn):
    return fn.__qualname__


def test_item5_defbilinear_gives_mul_and_dot_general_their_rules():
    for prim in (lax.mul_p, lax.dot_general_p):
        assert _qualname(jvp_rules[prim]) == "defbilinear.<locals>.jvp_rule"
        assert _qualname(transpose_rules[prim]) == "defbilinear.<locals>.transpose_rule"
    # their derivatives, against closed forms (broadcast operands, both operand orders)
    x, y = np.array([[1.0, 2.0, 3.0]]), np.array([[4.0], [5.0]])
    gx, gy = fad.grad(lambda x, y: fnp.sum(x * y * x), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, (2 * x * y).sum(0, keepdims=True))
    np.testing.assert_allclose(gy, np.full((2, 1), (x * x).sum()))
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    w = np.linspace(0, 1, 8).reshape(2, 4)
    ga, gb = fad.grad(lambda a, b: fnp.sum((a @ b) * w), argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, w @ b.T)
    np.testing.assert_allclose(gb, a.T @ w)
    _, t = fad.jvp(lambda a, b: a @ b, (a, b), (np.ones_like(a), np.ones_like(b)))
    np.testing.assert_allclose(t, np.ones_like(a) @ b + a @ np.ones_like(b))
    with pytest.raises(TypeError, match="mul is not linear in both of its operands"):
        transpose_rules[lax.mul_p](np.float64(1), UndefinedPrimal(get_aval(x)),
                                   UndefinedPrimal(get_aval(y)))


def test_item5_mul_keeps_its_fast_paths_deferral_and_unit_seed():
    # the Scaled deferral: an elementwise function of one variable is one multiplication
    f = lambda x: fnp.tanh(fnp.sin(x) * x) + x  # noqa: E731
    jaxpr = fad.linearize(f, np.ones(3))[1].jaxpr
    assert [e.primitive.name for e in jaxpr.eqns] == ["mul"]
    # grad's seed times a NumPy scalar is that scalar itself (no multiplication)
    c = np.float64(3.0)
    aval = get_aval(c)
    assert elementwise._mul_transpose_lhs(np.float64(1.0), UndefinedPrimal(aval), c) is c
    assert elementwise._mul_transpose_rhs(np.float64(1.0), c, UndefinedPrimal(aval)) is c


def test_item5_scaled_algebra_lives_in_the_interpreters():
    assert partial_eval.Scaled is scaled.Scaled
    for old in ("Scaled", "_scale", "_pass", "_add_linear", "_emit_add", "_staged"):
        assert not hasattr(rules, old)
    # the algebra it implements: scalings of one tangent fold into one coefficient
    pe = fad.interpreters.staging.StagingTrace(fad.core.trace.eval_trace, fold_known=True)
    t = pe.new_arg(get_aval(np.ones(3)))
    s = scaled.scale(pe, lax.mul_p, scaled.scale(pe, lax.mul_p, t, np.float64(2.0)), 3.0)
    s = scaled.add_linear(pe, lax.mul_p, scaled.negate(pe, lax.neg_p, s), t)  # -6t + t
    assert type(s) is scaled.Scaled and s.src is t and s.coef == -5.0 and not pe.eqns
    assert s.materialize().aval == t.aval and [e.primitive for e in pe.eqns] == [lax.mul_p]


def test_item5_one_batch_axis_helper():
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(plumbing.batch_axis_at(x, 2), np.moveaxis(x, 2, 0))
    np.testing.assert_array_equal(plumbing.batch_axis_at(x, 0, pos=1), np.moveaxis(x, 0, 1))
    np.testing.assert_array_equal(plumbing.batch_axis_at(x, None, 5, pos=1),
                                  np.broadcast_to(x[:, None], (2, 5, 3, 4)))
    for module in ("plumbing", "rules", "structural", "reductions", "indexing", "sort"):
        source = (FAD / "lax" / f"{module}.py").read_text()
        assert not re.search(r"def (moveaxis_to_front|_move_to_front|_batch_to_front|_to_axis)\b",
                             source)


def test_item5_one_linear_jvp_helper():
    for prim in (lax.reduce_sum_p, lax.gather_p, lax.dynamic_slice_p, lax.scatter_add_p):
        assert _qualname(jvp_rules[prim]) == "linear_jvp.<locals>.rule"
    x = np.arange(5.0)
    _, t = fad.jvp(lambda x: lax.gather(x, np.array([[3], [1]]), (0,)), (x,), (x * 10,))
    np.testing.assert_array_equal(t, [30.0, 10.0])


def test_item5_one_axis_normaliser_for_lax_and_numpy():
    assert _promote.normalize_axis is plumbing.normalize_axis
    with pytest.raises(AxisError, match="reduce_sum: axis 2 is out of range"):
        lax.reduce_sum(np.ones((2, 2)), (2,))
    with pytest.raises(AxisError):               # NumPy's error, as NumPy raises it
        fnp.sum(np.ones((2, 2)), axis=2)
    with pytest.raises(TypeError, match="axis must be an integer"):
        lax.argmax(np.ones(3), 0.5)
    assert plumbing.normalize_axes((-1, 0), 3, "f") == (2, 0)
    with pytest.raises(ValueError, match="f: repeated axis"):
        plumbing.normalize_axes((1, -2), 3, "f")


def test_item5_one_set_of_scalar_types():
    assert dtypes.PYTHON_SCALAR_TYPES == (bool, int, float, complex)
    pattern = re.compile(r"\(bool, int, float, complex")
    offenders = [str(p.relative_to(FAD)) for folder in ("lax", "core", "interpreters", "numpy")
                 for p in (FAD / folder).glob("*.py") if pattern.search(p.read_text())]
    assert offenders == ["core/dtypes.py"]


def test_item5_one_bounded_memo():
    @bounded_memo(maxsize=2)
    def twice(n):
        return 2 * n
    assert [twice(i) for i in (1, 2, 3, 1)] == [2, 4, 6, 2]
    assert twice.cache_info().currsize == 2 and twice.cache_info().misses == 4
    for name in ("_checked_params", "_dot_general_type", "_transpose_plan",
                 "_batched_dimension_numbers"):
        assert getattr(dot, name).cache_info().maxsize == 4096
    for stale in ("_cached_rule", "_dot_general_types", "_batched_dims"):
        assert not hasattr(dot, stale)


def test_item5_fast_paths_are_named_not_inlined():
    for folder in ("lax", "core", "interpreters"):
        for p in (FAD / folder).glob("*.py"):
            assert "inlined" not in p.read_text(), p
    assert partial_eval.LinearizeTrace.name == "LinearizeTrace"


def test_item5_small_ones():
    assert list(inspect.signature(rules.elementwise).parameters) == [
        "name", "impl", "kinds", "out_dtype"]
    assert not [v for v in vars(special_kernels).values()
                if isinstance(v, fad.core.primitive.Primitive)]
    assert "control flow" not in lax.__doc__
