"""What the program fuzzer (``test_fuzz_programs.py``) found, each as a minimal plain
test. Those marked ``xfail(strict=True)`` are fad bugs not fixed yet: once one is fixed
its test passes, strict xfail reports that, and the marker (and the matching exclusion
in ``program_strategy.py``, if any) should go. The ones without a marker were fixed.
"""
import numpy as np
import pytest

import fad


def test_grad_of_jit_closing_over_the_differentiated_value():
    # (fuzz, fixed: jit constant-folded the closed-over value being differentiated when
    # lowering; a program closing over an enclosing transformation's values is neither
    # optimized nor lowered now)
    def f(x):
        return fad.jit(lambda _: x ** 3)(x)
    assert fad.grad(f)(np.float64(0.5)) == pytest.approx(3 * 0.5 ** 2)


def test_staged_vjp_fn_can_be_traced():
    # (fuzz, fixed: the vjp_fn of a compiled staged vjp ran its NumPy program on tracers;
    # transformed, it now runs its backward program through the interpreters)
    f = lambda x: fad.numpy.sum(x * 2.0)
    for _ in range(3):                       # the third call runs the compiled program
        _, vjp_fn = fad.vjp(f, np.ones(3))
    closed = fad.make_jaxpr(vjp_fn)(1.0)
    assert fad.eval_jaxpr(closed.jaxpr, closed.consts, 1.0)[0].tolist() == [2.0] * 3
    assert fad.jit(vjp_fn)(1.0)[0].tolist() == [2.0] * 3


def test_grad_of_custom_vjp_after_custom_jvp_with_a_constant_zero_tangent():
    # (fuzz, fixed: a known tangent reached custom_lin, which cannot run forward; under
    # linearization a known tangent is a constant of a linear map: zero)
    def sin(v):
        return fad.numpy.sin(v)

    sin_vjp = fad.custom_vjp(sin)
    sin_vjp.defvjp(lambda v: (sin(v), v), lambda v, ct: (fad.numpy.cos(v) * ct,))
    double = fad.custom_jvp(lambda v: v * 2.0)
    double.defjvp(lambda p, t: (p[0] * 2.0, np.zeros_like(p[0])))   # a constant zero
    assert fad.grad(lambda x: sin_vjp(double(x)))(np.float64(0.5)) == 0.0


def test_hessian_of_checkpoint_of_custom_vjp():
    # (fuzz, fixed: remat's linearize rule bound the body for its results, which an outer
    # forward mode cannot differentiate through custom_vjp; such bodies take the general
    # path)
    def sin(v):
        return fad.numpy.sin(v)

    sin_vjp = fad.custom_vjp(sin)
    sin_vjp.defvjp(lambda v: (sin(v), v), lambda v, ct: (fad.numpy.cos(v) * ct,))
    x = np.float64(0.5)
    assert fad.hessian(sin_vjp)(x) == pytest.approx(-np.sin(x))
    assert fad.hessian(fad.checkpoint(sin_vjp))(x) == pytest.approx(-np.sin(x))


def test_vmap_of_grad_through_a_batched_cond_divides_by_zero():
    """(Fuzz: with a per-example predicate every branch's backward pass runs on every
    example, the untaken branch's on placeholder residuals; max's divides by its tie
    count, which zeros made a divide-by-zero warning and a false debug_nans alarm.)"""
    f = lambda x: fad.lax.cond(fad.numpy.sum(x) > 0, fad.numpy.max, fad.numpy.mean, x)
    x = np.array([[0.5, -0.9, 1.8], [-0.1, -0.2, -0.3]])
    want = [[0.0, 0.0, 1.0], [1 / 3] * 3]
    fad.config.update("debug_nans", True)
    try:
        got = fad.vmap(fad.grad(f))(x)
    finally:
        fad.config.update("debug_nans", False)
    np.testing.assert_allclose(got, want)


def _sin_vjp():
    """``sin`` as a custom_vjp function."""
    def sin(v):
        return fad.numpy.sin(v)

    sin_vjp = fad.custom_vjp(sin)
    sin_vjp.defvjp(lambda v: (sin(v), v), lambda v, ct: (fad.numpy.cos(v) * ct,))
    return sin_vjp


def test_grad_through_vmap_of_custom_vjp_over_axis_1():
    """(Fuzz: the batched backward program gave cotangents at axis 0 whatever the
    operands' batch axes: a (3, 2) gradient, the values transposed, for a (2, 3) input.)"""
    sin_vjp = _sin_vjp()
    x = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    got = fad.grad(lambda x: fad.numpy.sum(fad.vmap(sin_vjp, in_axes=1)(x)))(x)
    assert got.shape == x.shape
    np.testing.assert_allclose(got, np.cos(x))


def test_grad_through_vmap_of_custom_vjp_of_scan_outputs():
    """(Fuzz: the same bug with in_axes=0, as a scan's stacked outputs are batched at
    axis 1: every lane's gradient the first one's for length 1, a type error for 2.)"""
    sin_vjp = _sin_vjp()
    x = np.array([0.5, -0.9, -1.8])

    def per_example(v):
        ys = fad.lax.scan(lambda c, _: (c, c * 2.0), v, None, length=1)[1]   # shape (1,)
        return fad.numpy.sum(sin_vjp(ys))

    got = fad.grad(lambda x: fad.numpy.sum(fad.vmap(per_example)(x)))(x)
    np.testing.assert_allclose(got, 2 * np.cos(2 * x))


def test_grad_through_vmap_of_custom_vjp_of_an_unbatched_operand():
    """The cotangent of an operand the vmap does not batch is summed over the lanes,
    both orders of grad and vmap, interpreted and under jit."""
    f = fad.custom_vjp(lambda w, x: fad.numpy.sin(w * x))
    f.defvjp(lambda w, x: (fad.numpy.sin(w * x), (w, x)),
             lambda r, ct: (fad.numpy.cos(r[0] * r[1]) * ct * r[1],
                            fad.numpy.cos(r[0] * r[1]) * ct * r[0]))
    w, x = np.array([0.3, 0.7]), np.arange(6.0).reshape(2, 3) / 5
    cos = np.cos(w[:, None] * x)

    def loss(w, x):
        return fad.numpy.sum(fad.vmap(f, in_axes=(None, 1))(w, x))

    for grad in (fad.grad(loss, (0, 1)), fad.jit(fad.grad(loss, (0, 1)))):
        gw, gx = grad(w, x)
        np.testing.assert_allclose(gw, (cos * x).sum(1))
        np.testing.assert_allclose(gx, cos * w[:, None])
    per_lane = fad.vmap(fad.grad(lambda w, x: fad.numpy.sum(f(w, x))), in_axes=(None, 1))
    np.testing.assert_allclose(per_lane(w, x), (cos * x).T)


def test_grad_of_custom_vjp_inside_scan_jit_checkpoint_of_a_constant_tangent():
    """(Fuzz: a known tangent, as a custom_jvp rule may give, reaching a custom_vjp
    function inside scan, jit or checkpoint made grad raise the forward-mode error: the
    call's JVP ran with all its operands known, so custom_lin was run forward. Under
    linearization a known tangent is now zero where it is made.)"""
    sin_vjp = _sin_vjp()
    double = fad.custom_jvp(lambda v: v * 2.0)
    double.defjvp(lambda p, t: (p[0] * 2.0, np.zeros_like(p[0])))   # a constant zero
    x = np.float64(0.5)
    in_scan = lambda x: fad.lax.scan(lambda c, _: (sin_vjp(c), None), double(x), None,
                                     length=2)[0]
    assert fad.grad(in_scan)(x) == 0.0
    assert fad.grad(lambda x: fad.jit(sin_vjp)(double(x)))(x) == 0.0
    assert fad.grad(lambda x: fad.checkpoint(sin_vjp)(double(x)))(x) == 0.0
    xs = np.array([0.5, 0.2])
    per_lane = lambda x: fad.jit(sin_vjp)(double(x * x))   # (a batched known tangent)
    np.testing.assert_array_equal(fad.vmap(fad.grad(per_lane))(xs), [0.0, 0.0])
