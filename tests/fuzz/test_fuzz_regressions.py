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
