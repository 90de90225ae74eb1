"""Bug bash: user mistakes raise the right builtin exception class with a message that
names the cause and the fix (never a bare error from deep inside, never a wrong number)."""
import numpy as np
import pytest

import fad
import fad.numpy as fnp
from fad import lax
from fad.errors import (ConcretizationTypeError, TracerArrayConversionError,
                        UnexpectedTracerError)

x = np.ones(3)


@pytest.mark.parametrize("transform", [fad.grad, fad.value_and_grad, fad.vmap, fad.jit,
                                       fad.jacfwd, fad.jacrev, fad.hessian, fad.make_jaxpr])
def test_transforming_a_non_callable(transform):
    with pytest.raises(TypeError, match=r"callable.*int"):
        transform(3)


@pytest.mark.parametrize("call", [
    lambda: fad.jvp(3, (1.0,), (1.0,)),
    lambda: fad.vjp(3, 1.0),
    lambda: fad.linearize(3, 1.0),
    lambda: fad.linear_transpose(3, 1.0),
])
def test_non_callable_in_direct_transformations(call):
    with pytest.raises(TypeError, match="callable"):
        call()


@pytest.mark.parametrize("argnums, exc, pattern", [
    (0.0, TypeError, "argnums must be an int or a tuple"),
    ("x", TypeError, "argnums must be an int or a tuple"),
    (2, ValueError, "argnums=2 but the function was called with 2"),
    ((0, 0), ValueError, "more than once"),
    ((1, -1), ValueError, "more than once"),
])
def test_bad_argnums(argnums, exc, pattern):
    # (0, 0) used to return a zero gradient for the first entry, silently
    with pytest.raises(exc, match=pattern):
        fad.grad(lambda a, b: a * b, argnums=argnums)(2.0, 3.0)


def test_holomorphic_grad_of_a_real_output():
    # used to return a number (-1j) for the non-holomorphic abs
    with pytest.raises(TypeError, match=r"holomorphic=True requires a complex output.*float64"):
        fad.grad(lambda z: fnp.abs(z), holomorphic=True)(1j)


def test_jit_static_arguments_validated_against_the_signature():
    with pytest.raises(ValueError, match=r"static_argnums=\(3,\).*1 positional"):
        fad.jit(lambda a: a, static_argnums=3)
    with pytest.raises(ValueError, match=r"static_argnames \['m'\].*\['a', 'n'\]"):
        fad.jit(lambda a, n=1: a * n, static_argnames="m")
    with pytest.raises(TypeError, match=r"argument 1 is static.*hashable.*tuple"):
        fad.jit(lambda a, n: a, static_argnums=1)(x, [1])
    # *args / **kwargs functions cannot be checked, and still work
    assert fad.jit(lambda *a: a[0] * a[1], static_argnums=1)(2.0, 3) == 6.0
    assert fad.jit(lambda a, **kw: a * kw["k"], static_argnames="k")(2.0, k=3) == 6.0


@pytest.mark.parametrize("fn", [
    lambda v, n: fnp.zeros(n) + v,
    lambda v, n: fnp.ones((n, 2)) + v,
    lambda v, n: fnp.arange(n) + v,
    lambda v, n: fnp.eye(n) + v,
])
def test_traced_shapes_raise_concretization_errors(fn):
    with pytest.raises(ConcretizationTypeError, match="static_argnums"):
        fad.jit(fn)(1.0, 3)
    assert np.shape(fad.jit(fn, static_argnums=1)(1.0, 3))[0] == 3


@pytest.mark.parametrize("fn", [
    lambda v: v if v.sum() > 0 else -v,
    lambda v: fnp.ones(3) * int(v[0]),
    lambda v: float(v[0]) * v,
])
def test_python_control_flow_on_abstract_values(fn):
    # the advice names what exists (fad.numpy.where, fad.lax.select_n, fad.lax.cond), and
    # static_argnums only under jit, where it applies
    for transform, match in [(fad.jit, r"numpy\.where.*select_n.*static_argnums"),
                             (fad.vmap, r"numpy\.where.*select_n.*in_axes=None")]:
        with pytest.raises(ConcretizationTypeError, match=match) as info:
            transform(fn)(np.ones((2, 3)))
        assert "fad.lax.cond(" in str(info.value)
    assert "static_argnums" not in str(info.value)   # (the vmap one)


def test_numpy_conversion_and_escaped_tracers():
    with pytest.raises(TracerArrayConversionError, match="fad.numpy"):
        fad.grad(lambda v: np.asarray(v).sum())(x)
    leaked = []
    fad.vmap(lambda v: leaked.append(v) or v)(np.ones((2, 3)))
    with pytest.raises(UnexpectedTracerError, match="escaped"):
        fnp.sin(leaked[0])
    with pytest.raises(TypeError, match=r"immutable.*\.at\[idx\]\.set"):
        fad.grad(lambda v: v.__setitem__(0, 1.0))(x)


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: fad.grad(lambda v: v)(x), TypeError, r"scalar output.*shape \(3,\).*jacrev"),
    (lambda: fad.grad(lambda v: fnp.argmax(v))(x), TypeError, "floating-point output"),
    (lambda: fad.grad(lambda n: n * 2.0)(3), TypeError, "allow_int=True"),
    (lambda: fad.grad(lambda v: 1.0)("abc"), TypeError, "not an array"),
    (lambda: fad.grad(lambda v: v.sum(), has_aux=True)(x), TypeError, "pair"),
    (lambda: fad.grad(lambda v: 1.0)(np.array(["a"])), TypeError, "dtype <U1"),
    (lambda: fad.jacfwd(fnp.sin)(np.arange(3)), TypeError, "floating-point inputs"),
    (lambda: fad.vmap(lambda v: v, in_axes=(0, 0))(x), ValueError, "2 entries.*1 positional"),
    (lambda: fad.vmap(lambda v: v, in_axes=1)(x), ValueError, r"in_axes=1.*shape \(3,\)"),
    (lambda: fad.vmap(lambda v: v, in_axes=0.0)(x), ValueError, "ints or None"),
    (lambda: fad.vmap(lambda a, b: a + b)(x, np.ones(4)), ValueError, "inconsistent sizes"),
    (lambda: fad.vmap(lambda v: v, out_axes=None)(x), ValueError, "out_axes is None"),
    (lambda: fad.vmap(lambda: 1.0)(), ValueError, "axis_size"),
    (lambda: fad.jvp(fnp.sin, (x,), (np.ones(4),)), ValueError, r"shape \(4,\).*\(3,\)"),
    (lambda: fad.jvp(fnp.sin, (x,), (np.ones(3, np.float32),)), TypeError, "astype"),
    (lambda: fad.vjp(fnp.sin, x)[1]((x,)), ValueError, "structure of the output"),
    (lambda: fad.jit(lambda a, b: a @ b)(np.ones((2, 3)), np.ones((4, 2))), ValueError,
     "matmul.*mismatch"),
    (lambda: fad.jit(lambda a: a.reshape(4))(x), ValueError, "cannot reshape"),
    (lambda: fad.jit(lambda a: fnp.where(a > 0, a, np.ones(4)))(x), ValueError, "broadcast"),
    (lambda: fad.jit(lambda a: a[7])(x), IndexError, "out of bounds"),
    (lambda: fad.jit(lambda a: a[1.0])(x), IndexError, "valid indices"),
    (lambda: fad.jit(lambda a: a[:, 0, 1])(x), IndexError, "too many indices"),
    (lambda: fad.jit(lambda a: a + "s")(x), TypeError, "unsupported operand"),
    (lambda: lax.integer_pow(x, 2.5), TypeError, "static integer.*lax.pow"),
    (lambda: fad.make_jaxpr(lambda a: lax.sin(a.astype(int)))(x), TypeError, "sin.*int64"),
    (lambda: fad.eval_jaxpr(fad.make_jaxpr(fnp.sin)(1.0), 1.0), TypeError,
     "ClosedJaxpr carries its own constants"),
    (lambda: fad.eval_jaxpr(fad.make_jaxpr(fnp.sin)(1.0), (), 1.0, 2.0), TypeError,
     "takes 1 argument, got 2"),
])
def test_error_table(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
