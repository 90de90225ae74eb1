"""Misuse of the transformations raises TypeError/ValueError with a message naming the
cause and the fix (never a bare AssertionError, KeyError or NumPy traceback)."""
import numpy as np
import pytest

import fad
import fad.numpy as fnp

X3 = np.array([0.3, -1.2, 0.7])


# -- grad ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fun, arg, match", [
    (lambda x: x * 2.0, X3, r"scalar output.*shape \(3,\).*jacrev or vjp.*sum"),
    (lambda x: (x, x), 1.0, r"single scalar output.*jacrev"),
    (lambda x: None, 1.0, r"single scalar output"),
    (lambda x: x * (1.0 + 1.0j), 1.0, r"real output.*complex128.*holomorphic=True"),
    (lambda x: fnp.sum(x > 0), X3, r"floating-point output.*int64.*floating point"),
])
def test_grad_bad_outputs(fun, arg, match):
    with pytest.raises(TypeError, match=match):
        fad.grad(fun)(arg)


def test_grad_integer_input():
    with pytest.raises(TypeError, match=r"argument 0 has dtype int64.*2\.0 rather than 2.*"
                                        r"allow_int=True"):
        fad.grad(lambda x: x * 2.0)(3)
    with pytest.raises(TypeError, match=r"argument 1\['n'\] has dtype int64"):
        fad.grad(lambda x, d: x * d["n"], argnums=1)(1.0, {"n": np.arange(3)})


def test_grad_complex_input_needs_holomorphic_for_complex_outputs():
    with pytest.raises(TypeError, match=r"real output.*holomorphic=True"):
        fad.grad(lambda z: z * z)(1.0 + 1.0j)
    with pytest.raises(TypeError, match=r"holomorphic=True needs complex inputs.*float64"):
        fad.grad(lambda x: x * x, holomorphic=True)(1.0)


def test_grad_argnums_errors():
    with pytest.raises(ValueError, match=r"argnums=2.*1 positional argument"):
        fad.grad(lambda x: x, argnums=2)(1.0)
    with pytest.raises(TypeError, match=r"argnums must be an int or a tuple of ints"):
        fad.grad(lambda x: x, argnums="a")(1.0)


def test_grad_non_array_argument():
    with pytest.raises(TypeError, match=r"type str.*not an array"):
        fad.grad(lambda x: x)("a")


def test_has_aux_not_a_pair():
    with pytest.raises(TypeError, match=r"has_aux=True.*pair"):
        fad.value_and_grad(lambda x: x * 2.0, has_aux=True)(1.0)


# -- jvp / linearize -------------------------------------------------------------------------

def test_jvp_errors():
    with pytest.raises(TypeError, match=r"primals and tangents must be tuples"):
        fad.jvp(fnp.sin, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"same structure"):
        fad.jvp(lambda x, y: x * y, (1.0, 2.0), (1.0,))
    with pytest.raises(ValueError, match=r"tangent 0 has shape \(2,\).*must have shape \(3,\)"):
        fad.jvp(fnp.sin, (X3,), (np.ones(2),))
    with pytest.raises(TypeError, match=r"tangent 0 has dtype float32.*float64"):
        fad.jvp(fnp.sin, (X3,), (np.ones(3, np.float32),))


def test_jvp_python_scalar_tangent_is_converted():
    # an int tangent for a float primal is a number, not an integer-valued variable
    assert fad.jvp(lambda x: x * 2.0, (1.0,), (1,)) == (2.0, 2.0)


def test_linearize_errors():
    _, f_jvp = fad.linearize(fnp.sin, X3)
    with pytest.raises(ValueError, match=r"tangent 0 has shape \(2,\).*\(3,\)"):
        f_jvp(np.ones(2))
    with pytest.raises(ValueError, match=r"structure"):
        f_jvp(np.ones(3), 1.0)


# -- vjp / linear_transpose ------------------------------------------------------------------

def test_vjp_cotangent_structure_errors():
    _, f_vjp = fad.vjp(lambda x: (x, {"a": x * 2.0}), X3)
    with pytest.raises(ValueError, match=r"cotangent must have the structure of the output"):
        f_vjp(np.ones(3))
    with pytest.raises(ValueError, match=r"structure"):
        f_vjp((np.ones(3), {"b": np.ones(3)}))
    with pytest.raises(ValueError, match=r"cotangent 1 has shape \(2,\).*\(3,\)"):
        f_vjp((np.ones(3), {"a": np.ones(2)}))
    with pytest.raises(TypeError, match=r"cotangent 0 has dtype complex128.*float64"):
        f_vjp((np.ones(3) * 1j, {"a": np.ones(3)}))


def test_vjp_cotangent_dtype_must_match():
    _, f_vjp = fad.vjp(lambda x: x * 2, np.float32(1.0))
    with pytest.raises(TypeError, match=r"dtype float64.*float32"):
        f_vjp(np.float64(1.0))
    assert f_vjp(1.0)[0].dtype == np.float32      # Python scalars are converted


def test_linear_transpose_errors():
    t = fad.linear_transpose(lambda x: x * 2.0, X3)
    with pytest.raises(ValueError, match=r"structure"):
        t((np.ones(3), 1.0))
    with pytest.raises(ValueError, match=r"cotangent 0 has shape \(2,\)"):
        t(np.ones(2))


# -- Jacobians, hvp --------------------------------------------------------------------------

@pytest.mark.parametrize("jac", [fad.jacfwd, fad.jacrev, fad.hessian])
def test_jacobian_integer_input(jac):
    with pytest.raises(TypeError, match=r"floating-point inputs.*argument 0.*int64"):
        jac(lambda x: fnp.sum(x * x))(np.arange(3))


def test_hvp_errors():
    with pytest.raises(ValueError, match=r"1 primal\(s\) but 2 tangent"):
        fad.hvp(lambda x: x * x, (1.0,), (1.0, 2.0))
    with pytest.raises(TypeError, match=r"tuples"):
        fad.hvp(lambda x: x * x, 1.0, 1.0)


# -- vmap ------------------------------------------------------------------------------------

def test_vmap_inconsistent_sizes_names_arguments_shapes_and_sizes():
    with pytest.raises(ValueError, match=r"inconsistent sizes.*size 3: argument 0 \(shape "
                                         r"\(3,\), axis 0\); size 2: argument 1 \(shape \(2, 5\)"):
        fad.vmap(lambda x, y: x * y)(np.ones(3), np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"argument 0\['a'\].*argument 0\['b'\]"):
        fad.vmap(lambda d: d["a"] * d["b"])({"a": np.ones(3), "b": np.ones(4)})
    with pytest.raises(ValueError, match=r"size 4: axis_size=4"):
        fad.vmap(lambda x: x, axis_size=4)(np.ones(3))


def test_vmap_axis_out_of_range():
    with pytest.raises(ValueError, match=r"in_axes=1 for argument 0 of shape \(3,\) is out of "
                                         r"range"):
        fad.vmap(lambda x: x, in_axes=1)(np.ones(3))
    with pytest.raises(ValueError, match=r"in_axes=-3 for argument 1 of shape \(2, 2\)"):
        fad.vmap(lambda x, y: x, in_axes=(0, -3))(np.ones(2), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"in_axes=0 for argument 0 of shape \(\)"):
        fad.vmap(lambda x: x)(1.0)
    with pytest.raises(ValueError, match=r"out_axes=2 is out of range for output"):
        fad.vmap(lambda x: x, out_axes=2)(np.ones(3))


def test_vmap_in_axes_wrong_length_or_structure():
    with pytest.raises(ValueError, match=r"in_axes has 2 entries.*1 positional argument"):
        fad.vmap(lambda x: x, in_axes=(0, 0))(np.ones(3))
    with pytest.raises(ValueError, match=r"in_axes .* does not match the arguments"):
        fad.vmap(lambda x: x, in_axes=({"a": 0},))(np.ones(3))
    with pytest.raises(ValueError, match=r"out_axes .* does not match the output"):
        fad.vmap(lambda x: x, out_axes=(0, 1))(np.ones(3))


def test_vmap_bad_axis_values():
    with pytest.raises(ValueError, match=r"in_axes must hold ints or None.*0\.5"):
        fad.vmap(lambda x: x, in_axes=0.5)(np.ones(3))
    with pytest.raises(ValueError, match=r"out_axes must hold ints or None"):
        fad.vmap(lambda x: x, out_axes="0")(np.ones(3))
    with pytest.raises(ValueError, match=r"axis_size must be a non-negative int"):
        fad.vmap(lambda x: x, in_axes=None, axis_size=-1)(1.0)


def test_vmap_nothing_mapped_needs_axis_size():
    with pytest.raises(ValueError, match=r"no argument is mapped.*axis_size"):
        fad.vmap(lambda x: x, in_axes=None)(np.ones(3))


def test_vmap_out_axes_none_for_batched_output():
    with pytest.raises(ValueError, match=r"out_axes is None for output\[1\]\['b'\].*depends on "
                                         r"the mapped axis"):
        fad.vmap(lambda x: (x, {"a": 1.0, "b": x}), out_axes=(0, None))(np.ones(3))


def test_vmap_non_array_argument_and_output():
    with pytest.raises(TypeError, match=r"type str.*not an array"):
        fad.vmap(lambda x: x)("abc")
    with pytest.raises(TypeError, match=r"output.*type str"):
        fad.vmap(lambda x: "s")(np.ones(3))
