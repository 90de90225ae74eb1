"""Nesting of transformations, leaked tracers and concreteness."""
from __future__ import annotations

import re

import numpy as np
import pytest

import fad
from fad import lax
from fad.errors import ConcretizationTypeError, TracerArrayConversionError, UnexpectedTracerError


def _sum(x):
    return lax.reduce_sum(x, tuple(range(np.ndim(x) if not hasattr(x, "ndim") else x.ndim)))


# -- perturbation confusion -------------------------------------------------------------------

def test_no_perturbation_confusion_grad():
    assert fad.grad(lambda x: fad.grad(lambda y: x * y)(1.0))(2.0) == 1.0


def test_no_perturbation_confusion_jvp():
    def f(x):
        return fad.jvp(lambda y: x * y, (1.0,), (1.0,))[1]      # = x
    assert fad.jvp(f, (2.0,), (1.0,)) == (2.0, 1.0)
    # the classic: d/dx [x * d/dy (x + y)] = 1, not 2
    assert fad.grad(lambda x: x * fad.grad(lambda y: x + y)(x))(3.0) == 1.0


def test_no_confusion_between_vmaps():
    xs, ys = np.arange(3.0), np.arange(4.0) * 10
    out = fad.vmap(lambda x: fad.vmap(lambda y: x + y)(ys))(xs)
    np.testing.assert_array_equal(out, xs[:, None] + ys[None, :])
    out = fad.vmap(lambda y: fad.vmap(lambda x: x * y)(xs), in_axes=0, out_axes=1)(ys)
    np.testing.assert_array_equal(out, xs[:, None] * ys[None, :])


# -- closures over tracers of outer levels --------------------------------------------------

def test_closure_three_grads_deep():
    # h(a, b) = d/dc a b c^2 at c = b = 2 a b^2; k(a) = d/db h at b = a = 4 a^2; k'(a) = 8 a
    def k(a):
        return fad.grad(lambda b: fad.grad(lambda c: a * b * c * c)(b))(a)
    assert fad.grad(k)(3.0) == 24.0
    assert fad.jvp(k, (3.0,), (1.0,)) == (36.0, 24.0)


def test_grad_of_vmap_of_grad_with_closure():
    ys = np.linspace(0.1, 1.0, 4)

    def f(x):  # inner grad in z of x sin(z) y at z = y is x y cos(y)
        per = fad.vmap(lambda y: fad.grad(lambda z: x * lax.sin(z) * y)(y))(ys)
        return _sum(per)
    np.testing.assert_allclose(f(2.0), 2.0 * np.sum(ys * np.cos(ys)))
    np.testing.assert_allclose(fad.grad(f)(2.0), np.sum(ys * np.cos(ys)))


def test_vmap_of_grad_of_vmap_with_closure():
    xs, ys = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0])

    def per_x(x):   # d/dx sum_y x^2 y = 2 x sum(y)
        return fad.grad(lambda x: _sum(fad.vmap(lambda y: x * x * y)(ys)))(x)
    np.testing.assert_allclose(fad.vmap(per_x)(xs), 2 * xs * ys.sum())


def test_vmap_closing_over_outer_vmap_inside_grad():
    xs = np.array([0.3, 0.7])
    ws = np.array([1.0, 2.0, 3.0])

    def loss(w):
        return _sum(fad.vmap(lambda x: fad.vmap(lambda v: lax.sin(v * x * w))(ws))(xs))
    # d/dw sum_{x, v} sin(v x w) = sum v x cos(v x w)
    want = np.sum(ws[None] * xs[:, None] * np.cos(ws[None] * xs[:, None] * 1.5))
    np.testing.assert_allclose(fad.grad(loss)(1.5), want)


def test_make_jaxpr_of_nested_transformations_typechecks():
    from fad.core.ir import typecheck_jaxpr
    f = fad.grad(lambda x: _sum(fad.vmap(fad.grad(lambda y: lax.sin(x * y)))(np.ones(3))))
    closed = fad.make_jaxpr(f)(0.5)
    typecheck_jaxpr(closed)
    np.testing.assert_allclose(fad.eval_jaxpr(closed, (), 0.5)[0], f(0.5))


def test_hessian_of_closure():
    a = 3.0
    h = fad.hessian(lambda x: a * lax.reduce_sum(lax.mul(x, lax.mul(x, x)), (0,)))(
        np.array([1.0, 2.0]))
    np.testing.assert_allclose(h, np.diag(6 * a * np.array([1.0, 2.0])))


# -- leaked tracers -------------------------------------------------------------------------

def _leak(transform):
    seen = []

    def f(x):
        seen.append(x)
        return lax.mul(x, 2.0)
    x = np.ones(3)
    if transform == "grad":
        fad.grad(lambda x: _sum(f(x)))(x)
    elif transform == "vmap":
        fad.vmap(f)(x)
    elif transform == "make_jaxpr":
        fad.make_jaxpr(f)(x)
    elif transform == "jvp":
        fad.jvp(f, (x,), (x,))
    elif transform == "vjp":
        fad.vjp(f, x)
    elif transform == "linearize":
        fad.linearize(f, x)
    return seen[0]


TRANSFORMS = ["grad", "vmap", "make_jaxpr", "jvp", "vjp", "linearize"]
USES = {
    "lax": lambda t: lax.sin(t),
    "operator": lambda t: t + 1.0,
    "in_grad": lambda t: fad.grad(lambda y: _sum(y * t))(np.ones(3)),
    "in_vmap": lambda t: fad.vmap(lambda y: y * t)(np.ones((2, 3))),
    "in_make_jaxpr": lambda t: fad.make_jaxpr(lambda y: y * t)(np.ones(3)),
    "in_jvp": lambda t: fad.jvp(lambda y: y * t, (np.ones(3),), (np.ones(3),)),
}


@pytest.mark.parametrize("use", list(USES), ids=str)
@pytest.mark.parametrize("transform", TRANSFORMS)
def test_leaked_tracer_raises_when_used(transform, use):
    t = _leak(transform)
    with pytest.raises(UnexpectedTracerError, match="used outside the transformation"):
        USES[use](t)


def test_leaked_scalar_tracer_cannot_be_concretized():
    seen = []
    fad.grad(lambda x: seen.append(x) or x * 2.0)(1.0)
    for conv in (bool, float, int, complex):
        with pytest.raises(UnexpectedTracerError):
            conv(seen[0])
    # looking at it is fine (the probe of staged grad, or an interpreter's trace)
    assert re.fullmatch(r"Traced<f64\[\]>with<\w+Trace>", repr(seen[0]))


def test_leak_from_inner_transformation_used_in_outer_one():
    def outer(x):
        box = []
        fad.vmap(lambda y: box.append(y) or y * x)(np.ones(2))
        return box[0] * x
    with pytest.raises(UnexpectedTracerError):
        fad.grad(outer)(1.0)


# -- concreteness -------------------------------------------------------------------------------

@pytest.mark.parametrize("conv", [bool, int, float, complex, lambda t: [0, 1][t]],
                         ids=["bool", "int", "float", "complex", "index"])
@pytest.mark.parametrize("transform", ["make_jaxpr", "vmap"])
def test_concretization_error_under_make_jaxpr_and_vmap(transform, conv):
    f = lambda x: conv(x) and x  # noqa: E731
    arg = np.int64(1) if conv not in (bool, int, float, complex) else 1.0
    # (the advice names what exists, fad.numpy.where / fad.lax.select_n / fad.lax.cond, and
    # static_argnums only where it applies: not under vmap)
    want = r"numpy\.where.*select_n.*static_argnums" if transform == "make_jaxpr" else (
        r"vmap.*numpy\.where.*in_axes=None")
    with pytest.raises(ConcretizationTypeError, match=want) as info:
        if transform == "make_jaxpr":
            fad.make_jaxpr(f)(arg)
        else:
            fad.vmap(f)(np.array([arg, arg]))
    assert isinstance(info.value, TypeError)
    assert "fad.lax.cond(pred, true_fun, false_fun" in str(info.value)   # (it exists now)
    assert transform == "make_jaxpr" or "static_argnums" not in str(info.value)


def test_python_if_on_comparison_raises_under_vmap():
    def f(x):
        if x > 0:
            return x
        return -x
    with pytest.raises(ConcretizationTypeError, match="abstract"):
        fad.vmap(f)(np.array([1.0, -1.0]))
    with pytest.raises(ConcretizationTypeError):
        fad.make_jaxpr(fad.grad(f))(1.0)   # grad inside make_jaxpr is abstract too


def test_python_control_flow_works_under_grad_and_jvp():
    def f(x):
        if x > 0:
            return x * x
        return -3.0 * x
    assert fad.grad(f)(2.0) == 4.0 and fad.grad(f)(-2.0) == -3.0
    assert fad.jvp(f, (2.0,), (1.0,)) == (4.0, 4.0)
    assert fad.grad(fad.grad(f))(2.0) == 2.0
    assert fad.vmap(fad.grad(lambda x: x * x if True else x))(np.ones(2)).tolist() == [2.0, 2.0]

    def g(x):
        n = int(x)          # concrete under grad: loop bounds from values work
        for _ in range(n):
            x = x * 2.0
        return x
    assert fad.grad(g)(3.0) == 8.0
    # float() of a differentiated value would drop its derivative: it raises (issue 10,
    # item 9); float() of stop_gradient(x) drops it on purpose
    with pytest.raises(ConcretizationTypeError, match="derivative"):
        fad.grad(lambda x: x * float(x))(3.0)
    assert float(fad.grad(lambda x: x * float(fad.stop_gradient(x)))(3.0)) == 3.0


def test_numpy_conversion_of_a_tracer_raises():
    # (under grad the value is concrete, and the error says the derivative would be lost)
    for transform, match in [(fad.grad, "numpy.asarray.*lose its derivative"),
                             (fad.make_jaxpr, "cannot be converted to a NumPy"),
                             (fad.vmap, "cannot be converted to a NumPy")]:
        with pytest.raises(TracerArrayConversionError, match=match):
            transform(lambda x: np.asarray(x).sum())(np.ones(2) if transform is fad.vmap
                                                      else 1.0)
    assert issubclass(TracerArrayConversionError, TypeError)


@pytest.mark.parametrize("transform,want", [
    ("jvp", "Traced<f64[3]>with<JVPTrace>"), ("vmap", "Traced<f32[3]>with<BatchTrace>"),
    ("make_jaxpr", "Traced<i32[3]>with<StagingTrace>")])
def test_tracer_repr_is_short(transform, want):
    seen = []
    f = lambda x: seen.append(repr(x)) or x  # noqa: E731
    if transform == "jvp":
        fad.jvp(f, (np.ones(3),), (np.ones(3),))
    elif transform == "vmap":
        fad.vmap(f)(np.ones((2, 3), np.float32))
    else:
        fad.make_jaxpr(f)(np.ones(3, np.int32))
    assert seen == [want]


def test_tracer_metadata_and_misuse():
    def f(x):
        assert (x.shape, x.ndim, x.size, x.dtype, len(x)) == ((3,), 1, 3, np.float64, 3)
        with pytest.raises(TypeError, match="unhashable"):
            hash(x)
        with pytest.raises(TypeError, match="len\\(\\) of a 0-d"):
            len(lax.reduce_sum(x, (0,)))
        return x
    fad.make_jaxpr(f)(np.ones(3))


def test_constant_operations_evaluate_at_once_unless_something_below_records():
    from fad.core.trace import get_current_trace
    seen = {}

    def f(x):
        trace = get_current_trace()
        seen.setdefault("const_eval", []).append(trace.const_eval)
        c = lax.cos(np.float64(0.5))        # no tracer operand
        seen.setdefault("type", []).append(type(c))
        return lax.mul(x, c)

    np.testing.assert_allclose(fad.grad(f)(2.0), np.cos(0.5))
    np.testing.assert_allclose(fad.vmap(fad.grad(f))(np.ones(2)), [np.cos(0.5)] * 2)
    closed = fad.make_jaxpr(fad.grad(f))(2.0)   # staging at the bottom: recorded
    assert "cos" in [e.primitive.name for e in closed.eqns]
    np.testing.assert_allclose(fad.jit(fad.grad(f))(2.0), np.cos(0.5))
    assert seen["const_eval"][:2] == [True, True] and seen["const_eval"][2] is False
    assert seen["type"][:2] == [np.float64, np.float64]
