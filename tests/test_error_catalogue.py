"""Issue 16: the catalogue of misuses. Each entry is a mistake as a user writes it; the
error must be fad's class for its family and the builtin JAX raises, say the key words
(the cause, the user's names, the fix), name no internal class, be raised from the
user's line (the last frame outside fad, NumPy and Python's library is in this file, in
the case's own code), and leave nothing broken: the corrected call right after works.
A sweep then feeds the public API bad inputs: no bare ``AssertionError``, ``KeyError``,
``IndexError``, ``AttributeError`` or NumPy broadcasting error may come out of fad."""
import os
import re
import sysconfig
import traceback
from typing import Callable, NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad import errors, lax, tree_util
from fad.api_jacobians import hvp
from fad.core.trace import eval_trace, get_current_trace

X3 = np.array([0.5, -1.0, 2.0])
M23 = np.arange(6.0).reshape(2, 3)


class Case(NamedTuple):
    id: str
    misuse: Callable          # the mistake, as written by a user
    cls: type                 # fad's class for the family
    builtin: type             # what JAX raises (and a user catches)
    words: tuple              # regexes the message must match
    fix: Callable             # the corrected call, run right after
    want: object              # what it returns
    absent: tuple = ()        # regexes the message must not match


# -- the user's functions --------------------------------------------------------------------

def relu(x):
    if x > 0:
        return x
    return 0.0 * x


def relu_where(x):
    return fnp.where(x > 0, x, 0.0 * x)


def halve_until_small(x):
    while x > 1.0:
        x = x / 2.0
    return x


def repeat(x, n):
    return x * len(range(n))


def pick(x, i):
    return [1.0, 2.0, 3.0][i] * x


def scaled(x, factor):
    return x * int(factor)


def loss(w, x):
    return fnp.sum((w * x) ** 2)


def step_body(carry, x):
    if carry > 0:
        return carry + x, x
    return carry - x, x


def leaked(transform):
    """A value traced by ``transform``, leaked through a list (a mistake)."""
    box = []

    def keep(x):
        box.append(x)
        return x * 2.0

    run = {"vmap": lambda: fad.vmap(keep)(X3),
           "jit": lambda: fad.jit(keep)(X3),
           "grad": lambda: fad.grad(lambda x: fnp.sum(keep(x)))(X3),
           "jvp": lambda: fad.jvp(keep, (X3,), (X3,)),
           "make_jaxpr": lambda: fad.make_jaxpr(keep)(X3),
           "scan": lambda: fad.jit(lambda xs: lax.scan(lambda c, x: (keep(c), x), 1.0, xs))(X3)}
    if transform.startswith("interpreted "):
        with fad.disable_jit():
            run[transform.split()[1]]()
    else:
        run[transform]()
    return box[0]


def custom_vjp_double(bwd, fwd=None):
    @fad.custom_vjp
    def double(x):
        return 2.0 * x
    double.defvjp(fwd or (lambda x: (double(x), None)), bwd)
    return double


def custom_jvp_double(rule):
    @fad.custom_jvp
    def double(x):
        return 2.0 * x
    double.defjvp(rule)
    return double


GOOD_VJP = custom_vjp_double(lambda res, g: (2.0 * g,))
GOOD_JVP = custom_jvp_double(lambda p, t: (2.0 * p[0], 2.0 * t[0]))

C = errors.ConcretizationTypeError
BOOL = errors.TracerBoolConversionError
INT = errors.TracerIntegerConversionError
JIT_FIX = (r"fad\.numpy\.where", r"fad\.lax\.cond\(", r"static_argnums")
VMAP_FIX = (r"fad\.numpy\.where", r"fad\.lax\.cond\(", r"in_axes=None")
NO_STATIC = (r"static_arg",)

CASES = [
    # -- Python control flow on abstract values ---------------------------------------------
    Case("jit-if", lambda: fad.jit(relu)(1.0), BOOL, TypeError,
         (r"under jit", r"relu", r"argument `x`", r"static_argnums=0", *JIT_FIX),
         lambda: fad.jit(relu_where)(2.0), 2.0),
    Case("jit-while", lambda: fad.jit(halve_until_small)(8.0), BOOL, TypeError,
         (r"while", r"halve_until_small", r"`x`", r"while_loop", *JIT_FIX),
         lambda: halve_until_small(8.0), 1.0),
    Case("jit-bool", lambda: fad.jit(lambda x: bool(x))(1.0), BOOL, TypeError,
         (r"bool\(\)", r"under jit", r"argument `x`", *JIT_FIX),
         lambda: fad.jit(lambda x: x != 0)(1.0), True),
    Case("jit-int", lambda: fad.jit(scaled)(X3, 2.0), INT, TypeError,
         (r"int\(\)", r"scaled", r"argument `factor`", r"static_argnums=1",
          r"static_argnames='factor'"),
         lambda: fad.jit(scaled, static_argnums=1)(X3, 2.0), X3 * 2),
    Case("jit-range", lambda: fad.jit(repeat)(1.0, 3), INT, TypeError,
         (r"index", r"repeat", r"argument `n`", r"static_argnums=1"),
         lambda: fad.jit(repeat, static_argnums=1)(1.0, 3), 3.0),
    Case("jit-list-index", lambda: fad.jit(pick)(1.0, 1), INT, TypeError,
         (r"index", r"pick", r"`i`", r"fad\.numpy\.take"),
         lambda: fad.jit(pick, static_argnums=1)(1.0, 1), 2.0),
    Case("jit-float", lambda: fad.jit(lambda x: float(x) * x)(2.0), C, TypeError,
         (r"concrete value", r"under jit", r"argument `x`", *JIT_FIX),
         lambda: fad.jit(lambda x: x * x)(2.0), 4.0),
    Case("jit-item", lambda: fad.jit(lambda x: x.item())(2.0), C, TypeError,
         (r"\.item\(\)", r"under jit"), lambda: fad.jit(lambda x: x)(2.0), 2.0),
    Case("make_jaxpr-if", lambda: fad.make_jaxpr(relu)(1.0), BOOL, TypeError,
         (r"under make_jaxpr", r"fad\.make_jaxpr\(f, static_argnums=0\)", r"`x`"),
         lambda: fad.make_jaxpr(relu_where)(1.0).out_avals[0].shape, ()),
    Case("vmap-if", lambda: fad.vmap(relu)(X3), BOOL, TypeError,
         (r"under vmap", r"whole batch", r"relu", r"`x`", *VMAP_FIX),
         lambda: fad.vmap(relu_where)(X3), np.maximum(X3, 0.0), NO_STATIC),
    Case("vmap-int", lambda: fad.vmap(scaled)(X3, X3), INT, TypeError,
         (r"int\(\)", r"under vmap", r"scaled", *VMAP_FIX),
         lambda: fad.vmap(scaled, in_axes=(0, None))(X3, 2.0), X3 * 2, NO_STATIC),
    Case("vmap-float", lambda: fad.vmap(lambda x: float(x))(X3), C, TypeError,
         (r"under vmap", r"argument `x`"), lambda: fad.vmap(lambda x: x * 1.0)(X3), X3,
         NO_STATIC),
    Case("vmap-tolist", lambda: fad.vmap(lambda x: x.tolist())(X3), C, TypeError,
         (r"under vmap",), lambda: fad.vmap(lambda x: x + 0.0)(X3), X3, NO_STATIC),
    Case("vmap-list-index", lambda: fad.vmap(pick, in_axes=(None, 0))(1.0, np.arange(3)),
         INT, TypeError, (r"under vmap", r"pick", r"`i`"),
         lambda: fad.vmap(lambda i: fnp.take(np.array([1.0, 2.0, 3.0]), i))(np.arange(3)),
         np.array([1.0, 2.0, 3.0]), NO_STATIC),
    Case("vmap-of-grad-if", lambda: fad.vmap(fad.grad(relu))(X3), BOOL, TypeError,
         (r"under vmap", r"relu", r"`x`", *VMAP_FIX),
         lambda: fad.vmap(fad.grad(relu_where))(X3), (X3 > 0) * 1.0, NO_STATIC),
    Case("grad-of-jit-if", lambda: fad.grad(fad.jit(relu))(1.0), BOOL, TypeError,
         (r"under jit", r"relu", *JIT_FIX), lambda: fad.grad(relu)(1.0), 1.0),
    Case("scan-body-if-under-jit",
         lambda: fad.jit(lambda xs: lax.scan(step_body, 0.0, xs))(X3), BOOL, TypeError,
         (r"lax\.scan", r"step_body", r"`carry`", r"fad\.lax\.cond\("),
         lambda: lax.scan(lambda c, x: (c + x, x), 0.0, X3)[0], 1.5, NO_STATIC),
    Case("cond-branch-if", lambda: fad.jit(
        lambda x: lax.cond(x > 0, relu, lambda v: -v, x))(1.0), BOOL, TypeError,
         (r"lax\.cond", r"relu", r"`x`"), lambda: fad.jit(
             lambda x: lax.cond(x > 0, relu_where, lambda v: -v, x))(1.0), 1.0, NO_STATIC),
    # -- NumPy conversions ---------------------------------------------------------------------
    Case("jit-np-asarray", lambda: fad.jit(lambda x: np.sin(np.asarray(x)))(X3),
         errors.TracerArrayConversionError, TypeError, (r"NumPy array", r"under jit",
                                                         r"fad\.numpy"),
         lambda: fad.jit(fnp.sin)(X3), np.sin(X3)),
    Case("vmap-np-asarray", lambda: fad.vmap(lambda x: np.asarray(x) + 1)(X3),
         errors.TracerArrayConversionError, TypeError, (r"NumPy array", r"under vmap"),
         lambda: fad.vmap(lambda x: x + 1)(X3), X3 + 1),
    Case("grad-float", lambda: fad.grad(lambda x: float(x) * x)(2.0),
         errors.LostDerivativeError, TypeError, (r"lose its derivative", r"stop_gradient"),
         lambda: fad.grad(lambda x: x * x)(2.0), 4.0),
    Case("grad-np-asarray", lambda: fad.grad(lambda x: np.asarray(x).sum() * x)(2.0),
         errors.LostDerivativeError, TypeError, (r"derivative", r"fad\.numpy"),
         lambda: fad.grad(lambda x: fnp.sum(x) * x)(2.0), 4.0),
    # -- values used after their transformation returned ---------------------------------
    Case("escaped-vmap", lambda: fnp.sin(leaked("vmap")), errors.UnexpectedTracerError,
         TypeError, (r"under vmap", r"\bvmap\b.*returned", r"escaped", r"Return"),
         lambda: fnp.sin(fad.vmap(lambda x: x * 2.0)(X3)), np.sin(X3 * 2.0)),
    Case("escaped-jit", lambda: leaked("jit") + 1.0, errors.UnexpectedTracerError,
         TypeError, (r"under jit", r"escaped"), lambda: fad.jit(lambda x: x * 2.0)(X3) + 1.0,
         X3 * 2.0 + 1.0),
    Case("escaped-grad", lambda: leaked("grad") * 2.0, errors.UnexpectedTracerError,
         TypeError, (r"recording for grad", r"escaped"),
         lambda: fad.grad(lambda x: fnp.sum(x * 2.0))(X3), np.full(3, 2.0)),
    Case("escaped-jvp", lambda: bool(leaked("jvp")[0] > 0), errors.UnexpectedTracerError,
         TypeError, (r"under jvp", r"escaped"),
         lambda: fad.jvp(lambda x: x * 2.0, (X3,), (X3,))[1], X3 * 2.0),
    Case("escaped-make_jaxpr", lambda: fnp.cos(leaked("make_jaxpr")),
         errors.UnexpectedTracerError, TypeError, (r"under make_jaxpr", r"while it ran keep",
                                                    r"escaped"),
         lambda: fad.make_jaxpr(fnp.cos)(X3).out_avals[0].shape, (3,)),
    Case("escaped-interpreted-grad", lambda: leaked("interpreted grad") + 1.0,
         errors.UnexpectedTracerError, TypeError, (r"recording for grad",
                                                    r"while it ran the lambda \(test_error",
                                                    r"escaped"),
         lambda: fad.grad(lambda x: fnp.sum(x * 2.0))(X3), np.full(3, 2.0)),
    Case("escaped-interpreted-vmap", lambda: float(leaked("interpreted vmap")),
         errors.UnexpectedTracerError, TypeError, (r"under vmap", r"keep", r"escaped"),
         lambda: float(fad.vmap(lambda x: x * 2.0)(X3)[0]), 1.0),
    Case("escaped-scan-body", lambda: leaked("scan") * 1.0, errors.UnexpectedTracerError,
         TypeError, (r"lax\.scan", r"escaped"),
         lambda: lax.scan(lambda c, x: (c * 2.0, x), 1.0, X3)[0], 8.0),
    # -- grad's outputs and inputs -----------------------------------------------------------
    Case("grad-non-scalar", lambda: fad.grad(lambda x: x * 2.0)(X3), errors.GradOutputError,
         TypeError, (r"scalar output", r"shape \(3,\)", r"jacrev", r"sum"),
         lambda: fad.grad(lambda x: fnp.sum(x * 2.0))(X3), np.full(3, 2.0)),
    Case("grad-non-scalar-interpreted", lambda: fad.api_grad.grad(lambda x: x)(X3),
         errors.GradOutputError, TypeError, (r"scalar output", r"shape \(3,\)"),
         lambda: fad.api_grad.grad(fnp.sum)(X3), np.ones(3)),
    Case("grad-one-element", lambda: fad.grad(lambda x: x * 2.0)(np.ones(1)),
         errors.GradOutputError, TypeError, (r"reshape\(\(\)\)",),
         lambda: fad.grad(lambda x: (x * 2.0).reshape(()))(np.ones(1)), np.full(1, 2.0)),
    Case("grad-complex-output", lambda: fad.grad(lambda x: x * 1j)(1.0),
         errors.GradOutputError, TypeError, (r"real output", r"complex128", r"holomorphic"),
         lambda: fad.grad(lambda x: fnp.real(x * 1j * 1j))(1.0), -1.0),
    Case("grad-int-output", lambda: fad.grad(lambda x: fnp.argmax(x))(X3),
         errors.GradOutputError, TypeError, (r"floating-point output", r"int64"),
         lambda: fad.grad(lambda x: fnp.max(x))(X3), np.array([0.0, 0.0, 1.0])),
    Case("grad-tuple-output", lambda: fad.grad(lambda x: (x, x))(1.0),
         errors.GradOutputError, TypeError, (r"single scalar output", r"jacrev"),
         lambda: fad.grad(lambda x: x + x)(1.0), 2.0),
    Case("grad-has-aux-not-pair", lambda: fad.grad(loss, has_aux=True)(X3, X3),
         errors.GradOutputError, TypeError, (r"has_aux=True", r"pair"),
         lambda: fad.grad(lambda w, x: (loss(w, x), 1), has_aux=True)(X3, X3)[1], 1),
    Case("grad-holomorphic-real-output",
         lambda: fad.grad(lambda z: fnp.abs(z), holomorphic=True)(1j),
         errors.GradOutputError, TypeError, (r"holomorphic=True", r"complex output"),
         lambda: fad.grad(lambda z: z * z, holomorphic=True)(1j), 2j),
    Case("grad-int-input", lambda: fad.grad(lambda x: x * 2.0)(3), errors.GradInputError,
         TypeError, (r"argument 0", r"int64", r"allow_int=True", r"2\.0 rather than 2"),
         lambda: fad.grad(lambda x: x * 2.0)(3.0), 2.0),
    Case("grad-int-in-pytree", lambda: fad.grad(lambda d: d["w"] * d["n"])(
        {"w": 1.0, "n": 2}), errors.GradInputError, TypeError,
         (r"argument 0\['n'\]", r"allow_int"),
         lambda: fad.grad(lambda d: d["w"] * d["n"])({"w": 1.0, "n": 2.0})["w"], 2.0),
    Case("grad-bool-input", lambda: fad.grad(lambda x, b: x * b, argnums=1)(1.0, True),
         errors.GradInputError, TypeError, (r"argument 1", r"bool"),
         lambda: fad.grad(lambda x, b: x * b)(1.0, True), 1.0),
    Case("grad-holomorphic-real-input",
         lambda: fad.grad(lambda z: z * z, holomorphic=True)(2.0), errors.GradInputError,
         TypeError, (r"holomorphic=True", r"complex inputs", r"float64"),
         lambda: fad.grad(lambda z: z * z, holomorphic=True)(2.0 + 0j), 4.0 + 0j),
    Case("jacfwd-int-input", lambda: fad.jacfwd(fnp.sin)(np.arange(3)),
         errors.GradInputError, TypeError, (r"jacfwd", r"floating-point inputs", r"int64"),
         lambda: fad.jacfwd(fnp.sin)(np.zeros(2)), np.eye(2)),
    Case("jacrev-int-input", lambda: fad.jacrev(fnp.sin)(np.arange(3)),
         errors.GradInputError, TypeError, (r"jacrev", r"int64"),
         lambda: fad.jacrev(fnp.sin)(np.zeros(2)), np.eye(2)),
    Case("hessian-int-input", lambda: fad.hessian(lambda x: fnp.sum(x ** 3))(np.arange(2)),
         errors.GradInputError, TypeError, (r"hessian|jac", r"int64"),
         lambda: fad.hessian(lambda x: fnp.sum(x ** 3))(np.ones(2)), np.eye(2) * 6.0),
    Case("jacfwd-complex-input", lambda: fad.jacfwd(fnp.sin)(np.ones(2) * 1j),
         errors.GradInputError, TypeError, (r"complex", r"holomorphic=True"),
         lambda: fad.jacfwd(fnp.sin, holomorphic=True)(np.zeros(2) * 1j), np.eye(2) + 0j),
    Case("grad-string-argument", lambda: fad.grad(lambda x: x)("abc"), errors.NotAnArrayError,
         TypeError, (r"type str", r"not an array"), lambda: fad.grad(lambda x: x)(1.0), 1.0),
    Case("vmap-string-output", lambda: fad.vmap(lambda x: "label")(X3),
         errors.NotAnArrayError, TypeError, (r"output", r"type str"),
         lambda: fad.vmap(lambda x: x)(X3), X3),
    # -- argnums --------------------------------------------------------------------------------
    Case("argnums-out-of-range", lambda: fad.grad(loss, argnums=2)(X3, X3),
         errors.ArgnumsError, TypeError, (r"argnums=2", r"2 positional argument"),
         lambda: fad.grad(loss, argnums=1)(X3, X3), 2 * X3 ** 3),
    Case("argnums-negative-out-of-range", lambda: fad.grad(loss, argnums=-3)(X3, X3),
         errors.ArgnumsError, TypeError, (r"argnums=-3",),
         lambda: fad.grad(loss, argnums=-1)(X3, X3), 2 * X3 ** 3),
    Case("argnums-keyword-argument", lambda: fad.grad(loss, argnums=1)(X3, x=X3),
         errors.ArgnumsError, TypeError, (r"argnums=1", r"positionally"),
         lambda: fad.grad(loss, argnums=1)(X3, X3), 2 * X3 ** 3),
    Case("argnums-float", lambda: fad.grad(loss, argnums=0.0)(X3, X3), errors.ArgnumsError,
         TypeError, (r"int or a tuple of ints",),
         lambda: fad.grad(loss, argnums=0)(X3, X3), 2 * X3 ** 3),
    Case("argnums-repeated", lambda: fad.grad(loss, argnums=(0, 0))(X3, X3),
         errors.ArgnumsError, TypeError, (r"more than once",),
         lambda: fad.grad(loss, argnums=(0, 1))(X3, X3)[0], 2 * X3 ** 3),
    Case("jacrev-argnums-out-of-range", lambda: fad.jacrev(fnp.sin, argnums=1)(X3),
         errors.ArgnumsError, TypeError, (r"jacrev", r"argnums=1"),
         lambda: fad.jacrev(fnp.sin, argnums=0)(X3), np.diag(np.cos(X3))),
    # -- jvp, linearize, vjp: (co)tangents that do not match ----------------------------------
    Case("jvp-structures-differ", lambda: fad.jvp(loss, (X3, X3), (X3,)),
         errors.TangentMismatchError, TypeError, (r"same structure", r"PyTreeDef\(\(\*, \*\)\)",
                                                   r"PyTreeDef\(\(\*,\)\)"),
         lambda: fad.jvp(loss, (X3, X3), (X3, X3))[0], loss(X3, X3)),
    Case("jvp-dict-vs-tuple", lambda: fad.jvp(lambda d: d["a"], ({"a": 1.0},), ((1.0,),)),
         errors.TangentMismatchError, TypeError, (r"same structure", r"'a'"),
         lambda: fad.jvp(lambda d: d["a"], ({"a": 1.0},), ({"a": 3.0},))[1], 3.0),
    Case("jvp-shapes-differ", lambda: fad.jvp(fnp.sin, (X3,), (np.ones(2),)),
         errors.TangentMismatchError, ValueError, (r"shape \(2,\)", r"shape \(3,\)"),
         lambda: fad.jvp(fnp.sin, (X3,), (np.ones(3),))[1], np.cos(X3)),
    Case("jvp-dtypes-differ", lambda: fad.jvp(fnp.sin, (X3,), (np.ones(3, np.float32),)),
         errors.TangentMismatchError, TypeError, (r"float32", r"float64", r"astype"),
         lambda: fad.jvp(fnp.sin, (X3,), (np.ones(3),))[1], np.cos(X3)),
    Case("jvp-not-tuples", lambda: fad.jvp(fnp.sin, X3, X3), errors.TangentMismatchError,
         TypeError, (r"tuples", r"\(x,\), \(v,\)"),
         lambda: fad.jvp(fnp.sin, (X3,), (X3,))[1], np.cos(X3) * X3),
    Case("linearize-wrong-shape", lambda: fad.linearize(fnp.sin, X3)[1](np.ones(2)),
         errors.TangentMismatchError, ValueError, (r"shape \(2,\)", r"\(3,\)"),
         lambda: fad.linearize(fnp.sin, X3)[1](np.ones(3)), np.cos(X3)),
    Case("vjp-cotangent-structure", lambda: fad.vjp(lambda x: (x, x), X3)[1](X3),
         errors.TangentMismatchError, TypeError, (r"structure of the output",),
         lambda: fad.vjp(lambda x: (x, x), X3)[1]((X3, X3))[0], 2 * X3),
    Case("vjp-cotangent-shape", lambda: fad.vjp(fnp.sin, X3)[1](np.ones(4)),
         errors.TangentMismatchError, ValueError, (r"shape \(4,\)", r"\(3,\)"),
         lambda: fad.vjp(fnp.sin, X3)[1](np.ones(3))[0], np.cos(X3)),
    Case("vjp-cotangent-dtype", lambda: fad.vjp(fnp.sin, X3)[1](np.ones(3) * 1j),
         errors.TangentMismatchError, TypeError, (r"complex128", r"float64"),
         lambda: fad.vjp(fnp.sin, X3)[1](np.ones(3))[0], np.cos(X3)),
    Case("linear-transpose-structure",
         lambda: fad.linear_transpose(lambda x: x * 2.0, X3)((X3, X3)),
         errors.TangentMismatchError, TypeError, (r"structure",),
         lambda: fad.linear_transpose(lambda x: x * 2.0, X3)(X3)[0], X3 * 2.0),
    Case("hvp-count", lambda: hvp(lambda x: x * x, (1.0,), (1.0, 2.0)),
         errors.TangentMismatchError, ValueError, (r"1 primal\(s\) but 2 tangent",),
         lambda: hvp(lambda x: x * x, (1.0,), (1.0,)), 2.0),
    # -- vmap's axes ----------------------------------------------------------------------------
    Case("vmap-sizes-differ", lambda: fad.vmap(loss)(X3, np.ones((2, 3))), errors.VmapError,
         ValueError, (r"inconsistent sizes", r"size 3: argument 0 \(shape \(3,\)",
                      r"size 2: argument 1 \(shape \(2, 3\)"),
         lambda: fad.vmap(loss, in_axes=(None, 0))(X3, np.ones((2, 3))),
         np.full(2, loss(X3, 1.0)), NO_STATIC),
    Case("vmap-in-axes-out-of-range", lambda: fad.vmap(fnp.sum, in_axes=1)(X3),
         errors.VmapError, ValueError, (r"in_axes=1", r"shape \(3,\)", r"out of range"),
         lambda: fad.vmap(fnp.sum, in_axes=1)(M23), M23.sum(0)),
    Case("vmap-scalar-argument", lambda: fad.vmap(fnp.sin)(1.0), errors.VmapError,
         ValueError, (r"in_axes=0", r"shape \(\)"),
         lambda: fad.vmap(fnp.sin, in_axes=None, axis_size=2)(0.0), np.zeros(2)),
    Case("vmap-in-axes-length", lambda: fad.vmap(fnp.sin, in_axes=(0, 0))(X3),
         errors.VmapError, ValueError, (r"2 entries", r"1 positional"),
         lambda: fad.vmap(fnp.sin, in_axes=(0,))(X3), np.sin(X3)),
    Case("vmap-in-axes-structure", lambda: fad.vmap(fnp.sin, in_axes=({"a": 0},))(X3),
         errors.VmapError, ValueError, (r"in_axes", r"does not match the arguments",
                                        r"dict"),
         lambda: fad.vmap(lambda d: d["a"], in_axes=({"a": 0},))({"a": X3}), X3),
    Case("vmap-out-axes-none-batched", lambda: fad.vmap(fnp.sin, out_axes=None)(X3),
         errors.VmapError, ValueError, (r"out_axes is None", r"depends on the mapped axis"),
         lambda: fad.vmap(fnp.sin, out_axes=0)(X3), np.sin(X3)),
    Case("vmap-out-axes-out-of-range", lambda: fad.vmap(fnp.sin, out_axes=2)(X3),
         errors.VmapError, ValueError, (r"out_axes=2", r"out of range"),
         lambda: fad.vmap(fnp.sin, out_axes=-1)(X3), np.sin(X3)),
    Case("vmap-nothing-mapped", lambda: fad.vmap(fnp.sin, in_axes=None)(X3),
         errors.VmapError, ValueError, (r"no argument is mapped", r"axis_size"),
         lambda: fad.vmap(fnp.sin, in_axes=None, axis_size=2)(X3).shape, (2, 3)),
    Case("vmap-in-axes-float", lambda: fad.vmap(fnp.sin, in_axes=0.5)(X3),
         errors.VmapSpecTypeError, TypeError, (r"ints or None", r"0\.5"),
         lambda: fad.vmap(fnp.sin, in_axes=0)(X3), np.sin(X3)),
    # -- pytrees --------------------------------------------------------------------------------
    Case("tree_map-tuple-vs-list", lambda: tree_util.tree_map(np.add, (1.0, 2.0), [1.0, 2.0]),
         errors.PytreeStructureError, ValueError,
         (r"PyTreeDef\(\(\*, \*\)\)", r"PyTreeDef\(\[\*, \*\]\)", r"tuple", r"list"),
         lambda: tree_util.tree_map(np.add, (1.0, 2.0), (1.0, 2.0)), (2.0, 4.0)),
    Case("tree_map-dict-keys", lambda: tree_util.tree_map(np.add, {"w": 1.0}, {"b": 1.0}),
         errors.PytreeStructureError, ValueError, (r"keys differ", r"'w'", r"'b'"),
         lambda: tree_util.tree_map(np.add, {"w": 1.0}, {"w": 1.0}), {"w": 2.0}),
    Case("tree_unflatten-count", lambda: tree_util.tree_unflatten(
        tree_util.tree_structure((0, 0)), [1.0]), errors.PytreeStructureError, ValueError,
         (r"Too few leaves", r"expected 2, got 1"),
         lambda: tree_util.tree_unflatten(tree_util.tree_structure((0, 0)), [1.0, 2.0]),
         (1.0, 2.0)),
    Case("tree_transpose-mismatch", lambda: tree_util.tree_transpose(
        tree_util.tree_structure([0, 0]), tree_util.tree_structure((0, 0)), [(1, 2), 3]),
         errors.PytreeStructureError, ValueError, (r"does not match",),
         lambda: tree_util.tree_transpose(tree_util.tree_structure([0, 0]),
                                          tree_util.tree_structure((0, 0)),
                                          [(1, 2), (3, 4)]), ([1, 3], [2, 4])),
    # -- shape errors from primitives, at the user's line ---------------------------------------
    Case("jit-add-shapes", lambda: fad.jit(lambda x: x + fnp.ones(4))(X3), ValueError,
         ValueError, (r"add", r"\(3,\)", r"\(4,\)", r"broadcast"),
         lambda: fad.jit(lambda x: x + fnp.ones(3))(X3), X3 + 1),
    Case("grad-add-shapes", lambda: fad.grad(lambda x: fnp.sum(x + np.ones(4)))(X3),
         ValueError, ValueError, (r"\(3,\)", r"\(4,\)", r"broadcast"),
         lambda: fad.grad(lambda x: fnp.sum(x + np.ones(3)))(X3), np.ones(3)),
    Case("vmap-matmul-shapes", lambda: fad.vmap(lambda x: x @ np.ones((4, 2)))(M23),
         ValueError, ValueError, (r"matmul", r"\(3,\)", r"\(4, 2\)"),
         lambda: fad.vmap(lambda x: x @ np.ones((3, 2)))(M23), M23 @ np.ones((3, 2))),
    Case("jvp-reshape", lambda: fad.jvp(lambda x: x.reshape(4), (X3,), (X3,)), ValueError,
         ValueError, (r"reshape", r"3", r"4"),
         lambda: fad.jvp(lambda x: x.reshape(3, 1), (X3,), (X3,))[0], X3.reshape(3, 1)),
    Case("hessian-concatenate", lambda: fad.hessian(
        lambda x: fnp.sum(fnp.concatenate([x, np.ones((2, 2))])))(X3), ValueError,
         ValueError, (r"dimension",),
         lambda: fad.hessian(lambda x: fnp.sum(fnp.concatenate([x, np.ones(2)]) ** 2))(X3),
         2.0 * np.eye(3)),
    Case("scan-body-shapes", lambda: fad.jit(lambda c0: lax.scan(
        lambda c, x: (fnp.add(c, x), x), c0, M23))(np.zeros(2)), ValueError, ValueError,
         (r"add", r"\(2,\)", r"\(3,\)"),
         lambda: fad.jit(lambda c0: lax.scan(lambda c, x: (fnp.add(c, x), x), c0, M23)[0])(
             np.zeros(3)), M23.sum(0)),
    Case("jit-where-shapes", lambda: fad.jit(lambda x: fnp.where(x > 0, x, np.ones(4)))(X3),
         ValueError, ValueError, (r"broadcast", r"\(4,\)"),
         lambda: fad.jit(lambda x: fnp.where(x > 0, x, np.ones(3)))(X3),
         np.where(X3 > 0, X3, 1.0)),
    # -- control flow -------------------------------------------------------------------------
    Case("cond-branch-shapes", lambda: fad.jit(
        lambda p, x: lax.cond(p, lambda v: v, lambda v: v[:2], x))(True, X3),
         errors.ControlFlowTypeError, TypeError, (r"cond", r"false_fun", r"true_fun",
                                                  r"f64\[2\]", r"f64\[3\]"),
         lambda: fad.jit(lambda p, x: lax.cond(p, lambda v: v, lambda v: -v, x))(True, X3),
         X3),
    Case("cond-branch-dtypes", lambda: fad.vmap(
        lambda p, x: lax.cond(p, lambda v: v, lambda v: v.astype(np.float32), x))(
            X3 > 0, X3), errors.ControlFlowTypeError, TypeError, (r"f32", r"f64"),
         lambda: fad.vmap(lambda p, x: lax.cond(p, lambda v: v, lambda v: -v, x))(
             X3 > 0, X3), np.abs(X3)),
    Case("cond-branch-structures", lambda: fad.jit(
        lambda p, x: lax.cond(p, lambda v: (v, v), lambda v: v, x))(True, X3),
         errors.ControlFlowTypeError, TypeError, (r"PyTreeDef\(\(\*, \*\)\)",
                                                  r"PyTreeDef\(\*\)"),
         lambda: fad.jit(lambda p, x: lax.cond(p, lambda v: v, lambda v: v, x))(True, X3),
         X3),
    Case("cond-array-predicate", lambda: lax.cond(X3 > 0, fnp.sin, fnp.cos, X3),
         errors.ControlFlowTypeError, TypeError, (r"pred", r"scalar", r"bool\[3\]"),
         lambda: lax.cond(True, fnp.sin, fnp.cos, X3), np.sin(X3)),
    Case("switch-float-index", lambda: lax.switch(1.0, [fnp.sin, fnp.cos], X3),
         errors.ControlFlowTypeError, TypeError, (r"index", r"f64\[\]"),
         lambda: lax.switch(1, [fnp.sin, fnp.cos], X3), np.cos(X3)),
    Case("scan-carry-shape", lambda: lax.scan(lambda c, x: (c[:1], x), X3, M23),
         errors.ControlFlowTypeError, TypeError, (r"scan", r"carry", r"f64\[1\]",
                                                  r"f64\[3\]"),
         lambda: lax.scan(lambda c, x: (c + x, x), X3, M23)[0], X3 + M23.sum(0)),
    Case("scan-carry-dtype-under-jit", lambda: fad.jit(lambda xs: lax.scan(
        lambda c, x: (c.astype(np.float32), x), xs[0], xs))(M23), errors.ControlFlowTypeError,
         TypeError, (r"scan: f", r"f32\[3\]", r"f64\[3\]", r"astype"),
         lambda: fad.jit(lambda xs: lax.scan(lambda c, x: (c + x, x), xs[0], xs)[0])(M23),
         M23[0] + M23.sum(0)),
    Case("scan-not-pair", lambda: lax.scan(lambda c, x: c + x, 0.0, X3),
         errors.ControlFlowTypeError, TypeError, (r"pair \(carry, y\)",),
         lambda: lax.scan(lambda c, x: (c + x, None), 0.0, X3)[0], 1.5),
    Case("scan-xs-lengths", lambda: lax.scan(lambda c, x: (c, x), 0.0, (X3, np.ones(2))),
         ValueError, ValueError, (r"leading axis sizes", r"\(3,\)", r"\(2,\)"),
         lambda: lax.scan(lambda c, x: (c, x), 0.0, (X3, np.ones(3)))[1][1], np.ones(3)),
    Case("while-carry-dtype", lambda: lax.while_loop(
        lambda c: c < 3, lambda c: c + np.float64(1), np.float32(0)), errors.ControlFlowTypeError,
         TypeError, (r"while_loop", r"body_fun", r"f32\[\]", r"f64\[\]"),
         lambda: lax.while_loop(lambda c: c < 3, lambda c: c + np.float32(1), np.float32(0)),
         3.0),
    Case("while-array-predicate", lambda: fad.jit(
        lambda x: lax.while_loop(lambda c: c < 3, lambda c: c + 1.0, x))(X3),
         errors.ControlFlowTypeError, TypeError, (r"cond_fun", r"boolean scalar",
                                                  r"bool\[3\]", r"any"),
         lambda: fad.jit(lambda x: lax.while_loop(
             lambda c: fnp.any(c < 3), lambda c: c + 1.0, x))(X3), X3 + 4.0),
    Case("fori-carry-dtype", lambda: lax.fori_loop(
        0, 3, lambda i, c: c.astype(np.float32), X3), errors.ControlFlowTypeError, TypeError,
         (r"fori_loop", r"body_fun", r"init_val", r"f32\[3\]"),
         lambda: lax.fori_loop(0, 3, lambda i, c: c * 2.0, X3), X3 * 8.0, (r"scan",)),
    # -- custom derivative rules --------------------------------------------------------------
    Case("custom_vjp-bwd-not-tuple",
         lambda: fad.grad(custom_vjp_double(lambda res, g: 2.0 * g))(1.0),
         errors.CustomDerivativeError, TypeError, (r"bwd", r"tuple", r"one cotangent",
                                                   r"single array", r"\(ct,\)"),
         lambda: fad.grad(GOOD_VJP)(1.0), 2.0),
    Case("custom_vjp-bwd-count", lambda: fad.grad(
        custom_vjp_double(lambda res, g: (g, g)))(1.0), errors.CustomDerivativeError,
         TypeError, (r"bwd", r"one cotangent", r"length 2"),
         lambda: fad.grad(GOOD_VJP)(3.0), 2.0),
    Case("custom_vjp-bwd-shape", lambda: fad.grad(lambda x: fnp.sum(custom_vjp_double(
        lambda res, g: (g[:1],))(x)))(X3), errors.CustomDerivativeError, TypeError,
         (r"bwd", r"shape \(3,\)", r"shape \(1,\)"),
         lambda: fad.grad(lambda x: fnp.sum(GOOD_VJP(x)))(X3), np.full(3, 2.0)),
    Case("custom_vjp-fwd-not-pair", lambda: fad.grad(custom_vjp_double(
        lambda res, g: (2.0 * g,), fwd=lambda x: 2.0 * x))(1.0), errors.CustomDerivativeError,
         TypeError, (r"fwd must return a pair \(output, residuals\)", r"single array"),
         lambda: fad.grad(GOOD_VJP)(1.0), 2.0),
    Case("custom_jvp-tangent-shape", lambda: fad.jvp(custom_jvp_double(
        lambda p, t: (2.0 * p[0], t[0][:1])), (X3,), (X3,)), errors.CustomDerivativeError,
         TypeError, (r"custom_jvp rule", r"tangent output", r"\(3,\)", r"\(1,\)"),
         lambda: fad.jvp(GOOD_JVP, (X3,), (X3,))[1], 2.0 * X3),
    Case("custom_jvp-rule-not-pair", lambda: fad.jvp(custom_jvp_double(
        lambda p, t: 2.0 * t[0]), (X3,), (X3,)), errors.CustomDerivativeError, TypeError,
         (r"pair \(primal_out, tangent_out\)", r"single array"),
         lambda: fad.jvp(GOOD_JVP, (X3,), (X3,))[0], 2.0 * X3),
]

# Cases whose fix lies in files of other engineers (described in the report):
# strict xfails, so that the fix is noticed and these join the catalogue.
PENDING = [
    Case("jit-shape-from-value", lambda: fad.jit(lambda x, n: fnp.zeros(n) + x)(1.0, 3),
         C, TypeError, (r"static_argnums",),
         lambda: fad.jit(lambda x, n: fnp.zeros(n) + x, static_argnums=1)(1.0, 3),
         np.ones(3)),
    Case("jit-unhashable-static", lambda: fad.jit(repeat, static_argnums=1)(1.0, [1, 2]),
         errors.StaticArgumentError, ValueError, (r"static", r"hashable", r"tuple"),
         lambda: fad.jit(repeat, static_argnums=1)(1.0, 3), 3.0),
    Case("jit-static-argnums-out-of-range", lambda: fad.jit(relu, static_argnums=3),
         errors.StaticArgumentError, ValueError, (r"static_argnums=\(3,\)", r"1 positional"),
         lambda: fad.jit(relu_where)(2.0), 2.0),
    Case("eager-lax-add-shapes", lambda: lax.add(X3, np.ones(4)), ValueError, ValueError,
         (r"add", r"\(3,\)", r"\(4,\)"), lambda: lax.add(X3, np.ones(3)), X3 + 1,
         (r"operands could not be broadcast together",)),
    Case("eager-fnp-add-shapes", lambda: fnp.add(X3, np.ones(4)), ValueError, ValueError,
         (r"add", r"\(3,\)", r"\(4,\)"), lambda: fnp.add(X3, np.ones(3)), X3 + 1,
         (r"operands could not be broadcast together",)),
]

# No internal class names: traces and tracers are "under jit", "under vmap"...
INTERNAL_NAMES = re.compile(r"\b\w*Trace(r)?\b|Traced<|UndefinedPrimal|\bScaled\b|JaxprEqn|"
                            r"\bVar\(|\bZero\(|LazyJaxpr")

FAD_DIR = os.path.dirname(os.path.abspath(fad.__file__)) + os.sep
NUMPY_DIR = os.path.dirname(os.path.abspath(np.__file__)) + os.sep
_PATHS = sysconfig.get_paths()
STDLIB, SITE = _PATHS["stdlib"], _PATHS["purelib"]


def _outside_user_code(filename):
    """Frames of fad, NumPy and Python's own library count as inside (not the user's)."""
    return filename.startswith((FAD_DIR, NUMPY_DIR, "<frozen")) or (
        filename.startswith(STDLIB) and not filename.startswith(SITE))


def _check_raised(case, info):
    err = info.value
    assert isinstance(err, case.cls), type(err).__mro__
    assert isinstance(err, case.builtin), type(err).__mro__
    message = str(err)
    for pattern in case.words:
        assert re.search(pattern, message, re.S), (pattern, message)
    for pattern in case.absent:
        assert not re.search(pattern, message), (pattern, message)
    assert not INTERNAL_NAMES.search(message), message
    # raised from the user's line: the last frame outside fad is this file's, and not the
    # test's own line (that runs the case) but the case's code or a function it called
    user = [f for f in traceback.extract_tb(info.tb) if not _outside_user_code(f.filename)]
    assert user[-1].filename == os.path.abspath(__file__), user[-1]
    assert user[-1].name != "_run_case", user[-1]


def _check_fixed(case):
    got = case.fix()
    leaves, tree = tree_util.tree_flatten(got)
    want_leaves, want_tree = tree_util.tree_flatten(case.want)
    assert tree == want_tree, (got, case.want)
    for g, w in zip(leaves, want_leaves):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-12, atol=1e-12)


def _run_case(case):
    with pytest.raises(Exception) as info:
        case.misuse()
    _check_raised(case, info)
    assert get_current_trace() is eval_trace   # (no transformation left active)
    _check_fixed(case)   # (nothing left broken: the next, correct call works)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_catalogue(case):
    _run_case(case)


@pytest.mark.parametrize("case", PENDING, ids=[c.id for c in PENDING])
def test_catalogue_pending(case):
    _run_case(case)


def test_catalogue_is_large_and_distinct():
    ids = [c.id for c in CASES + PENDING]
    assert len(CASES) >= 60 and len(set(ids)) == len(ids)
    families = {c.cls for c in CASES if issubclass(c.cls, errors.FadError)}
    assert len(families) >= 14


def test_every_family_documents_a_failing_example_and_its_fixes():
    for name in errors.__all__:
        cls = getattr(errors, name)
        doc = cls.__doc__ or ""
        assert issubclass(cls, errors.FadError) and issubclass(cls, (TypeError, ValueError)) \
            or cls is errors.FadError, name
        if cls is not errors.FadError:
            assert "Traceback" in doc or "Fix" in doc, name


def test_jit_advice_only_where_it_applies():
    # the static advice names the argument under jit, and never appears under vmap
    with pytest.raises(errors.TracerBoolConversionError) as under_jit:
        fad.jit(lambda x, flag: x if flag else -x)(1.0, True)
    assert "static_argnums=1" in str(under_jit.value)
    assert "static_argnames='flag'" in str(under_jit.value)
    with pytest.raises(errors.TracerBoolConversionError) as under_vmap:
        fad.vmap(lambda x, flag: x if flag else -x)(X3, X3 > 0)
    assert "static_arg" not in str(under_vmap.value)


# The same transformed function, called wrongly and then rightly (and wrongly again): the
# error leaves no cache, recording or trace behind that changes the next call.
AGAIN = [
    ("grad", fad.grad(fnp.sum), (np.arange(3),), (X3,), np.ones(3)),
    ("grad-staged-shape", fad.grad(lambda x, y: fnp.sum(x + y)), (X3, np.ones(4)),
     (X3, np.ones(3)), np.ones(3)),
    ("vmap", fad.vmap(loss), (X3, np.ones((2, 3))), (M23, M23), (M23 ** 4).sum(1)),
    ("jit-shape", fad.jit(lambda x, y: x * y), (X3, np.ones(4)), (X3, X3), X3 * X3),
    ("jit-if", fad.jit(relu), (1.0,), None, None),
    ("vmap-of-grad", fad.vmap(fad.grad(loss), in_axes=(None, 0)), (X3, np.ones((2, 4))),
     (X3, np.ones((2, 3))), np.tile(2 * X3, (2, 1))),
    ("jacrev", fad.jacrev(fnp.sin), (np.arange(2),), (np.zeros(2),), np.eye(2)),
    ("hessian", fad.hessian(lambda x: fnp.sum(x ** 3)), (np.arange(2),), (np.ones(2),),
     6.0 * np.eye(2)),
]


@pytest.mark.parametrize("name, fun, bad, good, want", AGAIN, ids=[a[0] for a in AGAIN])
def test_same_function_after_a_misuse(name, fun, bad, good, want):
    for _ in range(2):
        with pytest.raises((TypeError, ValueError)) as first:
            fun(*bad)
        if good is not None:
            np.testing.assert_allclose(fun(*good), want)
            np.testing.assert_allclose(fun(*good), want)   # (the compiled program too)
        with pytest.raises(type(first.value)) as again:
            fun(*bad)
        assert str(again.value) == str(first.value)
        assert get_current_trace() is eval_trace


# -- the sweep: bad inputs to the public API --------------------------------------------------

BAD_VALUES = [None, "abc", b"x", object(), [], {}, (), [1.0, "a"], {"a": None},
              np.array(["a", "b"]), np.ones((2, 3)), np.ones(0), 1j, True, -1,
              np.float32(2.0), (np.ones(2), np.ones(3)), lambda x: x]

APIS = {
    "grad": lambda v: fad.grad(fnp.sum)(v),
    "grad-argnums": lambda v: fad.grad(loss, argnums=v)(X3, X3),
    "value_and_grad-aux": lambda v: fad.value_and_grad(lambda x: (fnp.sum(x), v),
                                                       has_aux=True)(X3),
    "vmap": lambda v: fad.vmap(fnp.sin)(v),
    "vmap-in_axes": lambda v: fad.vmap(fnp.sin, in_axes=v)(X3),
    "vmap-out_axes": lambda v: fad.vmap(fnp.sin, out_axes=v)(X3),
    "vmap-axis_size": lambda v: fad.vmap(lambda: 1.0, axis_size=v)(),
    "jit": lambda v: fad.jit(fnp.sin)(v),
    "jit-static": lambda v: fad.jit(lambda x, s: x, static_argnums=1)(X3, v),
    "jvp-primals": lambda v: fad.jvp(fnp.sin, v, (X3,)),
    "jvp-tangents": lambda v: fad.jvp(fnp.sin, (X3,), v),
    "vjp": lambda v: fad.vjp(fnp.sin, v),
    "vjp-cotangent": lambda v: fad.vjp(fnp.sin, X3)[1](v),
    "linearize": lambda v: fad.linearize(fnp.sin, X3)[1](v),
    "jacfwd": lambda v: fad.jacfwd(fnp.sin)(v),
    "jacrev": lambda v: fad.jacrev(fnp.sin)(v),
    "hessian": lambda v: fad.hessian(fnp.sum)(v),
    "make_jaxpr": lambda v: fad.make_jaxpr(fnp.sin)(v),
    "linear_transpose": lambda v: fad.linear_transpose(lambda x: x * 2.0, X3)(v),
    "tree_map": lambda v: tree_util.tree_map(np.add, (1.0, 2.0), v),
    "tree_unflatten": lambda v: tree_util.tree_unflatten(tree_util.tree_structure((0, 0)), v),
    "cond-pred": lambda v: lax.cond(v, fnp.sin, fnp.cos, X3),
    "cond-operand": lambda v: lax.cond(True, fnp.sin, fnp.cos, v),
    "scan-xs": lambda v: lax.scan(lambda c, x: (c, x), 0.0, v),
    "scan-init": lambda v: fad.jit(lambda xs: lax.scan(lambda c, x: (c, x), v, xs))(X3),
    "while_loop-init": lambda v: lax.while_loop(lambda c: False, lambda c: c, v),
    "fori_loop-bound": lambda v: lax.fori_loop(0, v, lambda i, c: c, 0.0),
    "custom_vjp-arg": lambda v: fad.grad(lambda x: fnp.sum(GOOD_VJP(x)))(v),
    "fnp.sum": lambda v: fnp.sum(v),
    "fnp.add": lambda v: fad.jit(lambda x: fnp.add(x, v))(X3),
    "reshape": lambda v: fad.jit(lambda x: fnp.reshape(x, v))(X3),
    "index": lambda v: fad.jit(lambda x: x[v])(X3),
    "hvp": lambda v: hvp(fnp.sum, (X3,), v),
    "stop_gradient": lambda v: fad.grad(lambda x: fnp.sum(x * fad.stop_gradient(v)))(X3),
    "eval_jaxpr": lambda v: fad.eval_jaxpr(fad.make_jaxpr(fnp.sin)(X3), (), v),
    "checkpoint": lambda v: fad.grad(lambda x: fnp.sum(fad.checkpoint(fnp.sin)(x * v)))(X3),
    "custom_jvp-arg": lambda v: fad.jvp(GOOD_JVP, (v,), (v,)),
    "jacrev-has_aux": lambda v: fad.jacrev(lambda x: (x, v), has_aux=True)(X3),
    "switch-branches": lambda v: lax.switch(0, v, X3),
}
BARE = (AssertionError, KeyError, IndexError, AttributeError, NotImplementedError,
        UnboundLocalError, RecursionError)
NUMPY_BROADCAST = re.compile(r"operands could not be broadcast together")
PYTHON_OPERATOR = re.compile(r"unsupported operand type\(s\)")


def _no_bare_error(api, value):
    try:
        APIS[api](value)
    except Exception as err:   # noqa: BLE001 -- what is checked is the class
        if api == "index" and isinstance(err, IndexError):
            return   # indexing's own error, as NumPy's (a[None] works; a["abc"] does not)
        assert not isinstance(err, BARE) or isinstance(err, (errors.FadError,)), (
            api, value, type(err), err)
        assert not NUMPY_BROADCAST.search(str(err)), (api, value, err)
        if not PYTHON_OPERATOR.match(str(err)):   # (see test_operator_error_pending)
            assert not INTERNAL_NAMES.search(str(err)), (api, value, err)


@settings(max_examples=25, deadline=None)
@given(api=st.sampled_from(sorted(APIS)), value=st.sampled_from(BAD_VALUES))
def test_bad_inputs_raise_no_bare_internal_error(api, value):
    _no_bare_error(api, value)


@pytest.mark.parametrize("api", sorted(APIS))
def test_every_api_against_every_bad_value(api):
    for value in BAD_VALUES:
        _no_bare_error(api, value)


def test_operator_error_pending():
    with pytest.raises(TypeError) as info:
        fad.jit(lambda x: x * None)(X3)
    assert not INTERNAL_NAMES.search(str(info.value)), str(info.value)
