"""Issue 10, items 9 and 14: conversions that silently dropped a derivative, and errors
that gave the wrong advice."""
import contextlib
import math

import numpy as np
import pytest

import fad
import fad.numpy as fnp
from fad.errors import (ConcretizationTypeError, LostDerivativeError,
                        TracerArrayConversionError)

X = np.array([1.0, 2.0, 3.0])

# -- item 9: Python numbers made of a value that carries a derivative ------------------------

CONVERSIONS = {
    "float": lambda s: float(s),
    "complex": lambda s: complex(s).real,
    "item": lambda s: s.item(),
    "tolist": lambda s: s.tolist(),
    "np.float64": lambda s: np.float64(s),
    "math.sin": lambda s: math.sin(s),
    "np.asarray": lambda s: np.asarray(s),
}


def _paths():
    """Each way of running a top-level grad: staged (the probe) and interpreted."""
    yield "staged", lambda run: run()
    yield "interpreted", _interpreted


def _interpreted(run):
    with fad.disable_jit():
        return run()


@pytest.mark.parametrize("name", sorted(CONVERSIONS))
@pytest.mark.parametrize("path", ["staged", "interpreted"])
def test_item9_conversion_of_a_differentiated_value_raises(name, path):
    convert = CONVERSIONS[name]
    mode = dict(_paths())[path]
    with pytest.raises(ConcretizationTypeError, match="lose its derivative.*stop_gradient"):
        mode(lambda: fad.grad(lambda x: convert(fnp.sum(x)) * 2.0)(X))
    # dropped on purpose: a constant, derivative zero, on both paths
    got = mode(lambda: fad.grad(
        lambda x: fnp.sum(x) * convert(fad.stop_gradient(fnp.sum(x))))(X))
    np.testing.assert_array_equal(got, np.full(3, convert(np.float64(6.0))))


def test_item9_float_of_sum_times_two_was_a_zero_gradient():
    # the example of the issue: [0, 0, 0] before, an error naming the fixes now
    with pytest.raises(LostDerivativeError) as info:
        fad.grad(lambda x: float(fnp.sum(x)) * 2)(X)
    message = str(info.value)
    assert "float()" in message and "fad.numpy" in message
    assert "float(fad.stop_gradient(x))" in message and "lax.stop_gradient" in message
    assert isinstance(info.value, TypeError)


@pytest.mark.parametrize("transform", [
    lambda f: fad.jvp(f, (2.0,), (1.0,)),
    lambda f: fad.vjp(f, 2.0)[0],
    lambda f: fad.linearize(f, 2.0)[0],
    lambda f: fad.grad(fad.grad(f))(2.0),
    lambda f: fad.grad(lambda x: fad.grad(lambda y: f(x) * y)(1.0))(2.0),  # outer value
], ids=["jvp", "vjp", "linearize", "grad_grad", "nested_outer"])
def test_item9_every_differentiating_transformation_raises(transform):
    with pytest.raises(LostDerivativeError):
        transform(lambda x: x * float(x))


def test_item9_bool_int_and_index_keep_working_under_grad():
    def f(x):
        n = int(x[0])                       # derivative zero: fine
        y = x[int(fnp.argmax(x))] * n       # an index read off the value
        if fnp.sum(x) > 0:                  # bool() of a comparison
            y = y * 2.0
        return y + float(fnp.argmax(x))     # an integer value has no derivative to lose
    for mode in (lambda run: run(), _interpreted):
        np.testing.assert_array_equal(mode(lambda: fad.grad(f)(X)), [0.0, 0.0, 2.0])


def test_item9_float_of_a_non_differentiated_argument_keeps_working():
    def f(x, c):
        return fnp.sum(x) * float(fnp.sum(c)) * c.item(0)
    c = np.array([2.0, 1.0])
    for mode in (lambda run: run(), _interpreted):
        np.testing.assert_array_equal(mode(lambda: fad.grad(f)(X, c)), np.full(3, 6.0))
    # staged vmap of grad: the unbatched differentiated argument raises, as interpreted
    g = fad.vmap(fad.grad(lambda w, x: fnp.sum(w * x) * float(w[0])), in_axes=(None, 0))
    for mode in (lambda run: run(), _interpreted):
        with pytest.raises(LostDerivativeError):
            mode(lambda: g(X, np.ones((2, 3))))


@pytest.mark.parametrize("transform", ["vmap", "jit"])
def test_item9_abstract_values_keep_the_abstract_error(transform):
    f = lambda x: float(fnp.sum(x)) * x
    t = fad.vmap(f) if transform == "vmap" else fad.jit(f)
    with pytest.raises(ConcretizationTypeError, match="abstract") as info:
        t(np.ones((2, 3)))
    assert not isinstance(info.value, LostDerivativeError)
    with pytest.raises(ConcretizationTypeError, match="abstract"):   # grad inside vmap
        fad.vmap(fad.grad(lambda x: x * float(x)))(np.ones(3))


# -- item 14: errors that misled --------------------------------------------------------------

def test_item14_concretization_advice_names_what_exists():
    assert hasattr(fad.lax, "cond") and hasattr(fad.lax, "select_n")
    f = lambda x: x if x > 0 else -x
    with pytest.raises(ConcretizationTypeError) as under_vmap:
        fad.vmap(f)(np.ones(2))
    with pytest.raises(ConcretizationTypeError) as under_jit:
        fad.jit(f)(1.0)
    for info in (under_vmap, under_jit):
        message = str(info.value)
        assert "fad.numpy.where" in message and "fad.lax.select_n" in message
        assert "fad.lax.cond(pred, true_fun, false_fun" in message
        assert "lax.select " not in message
    assert "static_argnums" in str(under_jit.value)
    assert "static_argnums" not in str(under_vmap.value) and "in_axes=None" in str(
        under_vmap.value)
    doc = ConcretizationTypeError.__doc__
    assert "fad.numpy.where" in doc and "fad.lax.cond" in doc


@pytest.mark.parametrize("path", ["staged", "interpreted"])
def test_item14_list_argument_to_grad_says_it_is_a_list(path):
    mode = dict(_paths())[path]
    arg = [np.float64(1.0), np.float64(2.0)] if path == "staged" else [1.0, 2.0]
    with pytest.raises(TracerArrayConversionError,
                       match=r"argument 0 is a Python list of 2 numbers.*pytree.*np\.array"):
        mode(lambda: fad.grad(lambda x: np.sum(x))(arg))   # (NumPy's own sum: no tracers)
    # as a pytree used as one, it works; as an array too; fad.numpy takes lists of tracers
    assert fad.grad(lambda x: x[0] * x[1])([1.0, 2.0]) == [2.0, 1.0]
    assert fad.grad(lambda x: fnp.sum(x))([1.0, 2.0]) == [1.0, 1.0]
    np.testing.assert_array_equal(fad.grad(lambda x: fnp.sum(x))(np.array([1.0, 2.0])),
                                  [1.0, 1.0])


@pytest.mark.parametrize("out, type_name", [("s", "str"), (["a", "b"], "str"),
                                            ({"k": object()}, "object")])
@pytest.mark.parametrize("transform", ["grad", "jvp", "vjp"])
def test_item14_non_array_output_is_named_as_the_output(transform, out, type_name):
    f = lambda x: out
    call = {"grad": lambda: fad.grad(f)(1.0), "jvp": lambda: fad.jvp(f, (1.0,), (1.0,)),
            "vjp": lambda: fad.vjp(f, 1.0)}[transform]
    with fad.disable_jit(), pytest.raises(TypeError) as info:
        call()
    message = str(info.value)
    assert "output" in message and f"type {type_name}" in message
    assert "argument" not in message and "static" not in message


def test_item14_none_output_of_grad_names_its_type():
    with fad.disable_jit(), pytest.raises(TypeError, match=r"returned None.*NoneType"):
        fad.grad(lambda x: None)(1.0)


def test_item14_eval_jaxpr_checks_consts_and_args():
    closed = fad.make_jaxpr(lambda x, y: fnp.sin(x) * y + np.arange(3.0))(np.ones(3), 2.0)
    jaxpr, consts = closed.jaxpr, closed.consts
    cases = [
        (lambda: fad.eval_jaxpr(jaxpr, [], np.ones(3), 2.0), r"takes 1 constant.*got 0"),
        (lambda: fad.eval_jaxpr(jaxpr, [np.ones(5)], np.ones(3), 2.0),
         r"constant 0 has type f64\[5\].*expects f64\[3\]"),
        (lambda: fad.eval_jaxpr(closed, (), np.ones(4), 2.0),
         r"argument 0 has type f64\[4\].*expects f64\[3\]"),
        (lambda: fad.eval_jaxpr(closed, (), np.ones(3, np.float32), 2.0),
         r"argument 0 has type f32\[3\].*expects f64\[3\]"),
        (lambda: fad.eval_jaxpr(closed, (), np.ones(3), np.ones(2)),
         r"argument 1 has type f64\[2\].*expects f64\[\]"),
        (lambda: fad.eval_jaxpr(closed, (), [1.0, 1.0, 1.0], 2.0), r"argument 0 is a list"),
        (lambda: fad.eval_jaxpr(closed, (), np.ones(3)), r"takes 2 argument.*got 1"),
    ]
    for call, match in cases:
        with pytest.raises(TypeError, match=match):
            call()
    want = np.sin(np.ones(3)) * 2.0 + np.arange(3.0)
    np.testing.assert_allclose(fad.eval_jaxpr(jaxpr, consts, np.ones(3), 2)[0], want)
    np.testing.assert_allclose(fad.eval_jaxpr(closed, (), np.ones(3), 2.0)[0], want)


def test_item9_same_cause_arange_of_a_differentiated_bound_raises():
    # arange read its traced bounds as Python numbers: the gradient was silently 0
    f = lambda x: fnp.sum(fnp.arange(x, x + 3.0))
    for ctx in (contextlib.nullcontext, fad.disable_jit):
        with ctx(), pytest.raises(LostDerivativeError, match="arange"):
            fad.grad(f)(1.0)
    # an integer bound has no derivative to lose, and a stopped one is fine
    assert fad.grad(lambda x: fnp.sum(fnp.arange(fnp.argmax(x)) * 1.0) + x[0])(
        np.array([1.0, 2.0, 3.0]))[0] == 1.0
    assert fad.grad(lambda x: fnp.sum(fnp.arange(fad.stop_gradient(x), 3.0)) * x)(1.0) == 3.0


def test_item14_staged_vmap_grad_names_the_output_path_as_interpreted():
    # the staged vmap(grad) named flat output positions; the interpreted one, the path
    params = {"a": np.ones(3), "b": np.ones(2)}
    f = lambda p, x: fnp.sum(p["a"] * x) + fnp.sum(p["b"])   # noqa: E731
    g = fad.vmap(fad.grad(f), in_axes=(None, 0), out_axes={"a": 0, "b": 5})
    messages = []
    for staged in (True, False, True):
        with (contextlib.nullcontext() if staged else fad.disable_staging()):
            with pytest.raises(ValueError) as info:
                g(params, np.ones((4, 3)))
        messages.append(str(info.value))
    assert len(set(messages)) == 1 and "output['b']" in messages[0]
