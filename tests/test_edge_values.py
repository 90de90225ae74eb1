"""Issue 16: derivatives at edge values, one table (docs/derivative_conventions.rst).

Each entry of ``TABLE`` is a function as a user calls it (``fad.numpy``, ``fad.lax``,
``fad.nn``, ``fad.scipy.special``), a point (``+-0.0``, ``+-inf``, NaN, the subnormal
``5e-324``, ties, empty arrays), the value there, the first derivative of the sum of its
results with respect to each argument (and the second, where it means something), and
the reason. Every entry is computed along every path:

- the value: eagerly (NumPy) and under ``fad.jit``;
- the derivatives: ``fad.grad`` interpreted (``fad.disable_staging()``), one staged
  ``fad.grad`` called three times (recorded, compiled, replayed), ``fad.jit(fad.grad)``;
- forward mode (real arguments): ``fad.jacfwd`` interpreted and under ``fad.jit``;
- the second derivatives: ``grad`` of the derivative's sum along the same reverse-mode
  paths, and ``fad.hessian`` (forward over reverse) at scalar points;

and the paths must agree bit for bit (dtype, shape, NaN-ness, sign of zero) and with the
table (to 1e-14; the sign of a zero where the entry says ``signed``). ``RAISES`` lists
the points where a function raises, on every path.

Forward mode agrees with reverse mode except where IEEE arithmetic makes them differ, and
the entry's ``forward`` says how: ``jacfwd`` pushes one basis tangent at a time, whose
zero entries meet the infinite or NaN partial derivatives of the other entries
(``inf * 0 = NaN``), where reverse mode meets them with zero cotangents only in the
branches ``where`` does not select.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.nn as nn
import fad.numpy as fnp
import fad.numpy.linalg as fla
import fad.scipy.special as fsp
from fad import lax

INF, NAN, TINY = np.inf, np.nan, 5e-324
E = math.e
W0, W1 = 1 / (1 + E), E / (1 + E)        # softmax([0, 1])
PI = math.pi


@dataclasses.dataclass(frozen=True)
class Edge:
    id: str
    fn: Callable
    args: tuple
    value: Any
    grad: tuple                 # d sum(fn(*args)) / d args[i], one per argument
    grad2: Any = None           # one-argument entries: d/dx sum(d sum(fn) / dx)
    why: str = ""
    signed: bool = False        # the signs of the zeros are part of the convention
    forward: Any = None         # forward mode's, where it is not ``grad`` (see below)


def _point(a):
    if isinstance(a, (np.ndarray, np.generic)):
        return a
    return np.asarray(a, np.float64)[()] if np.ndim(a) == 0 else np.asarray(a, np.float64)


def edge(id, fn, args, value, grad, grad2=None, why="", signed=False, forward=None):
    args = tuple(_point(a) for a in (args if isinstance(args, tuple) else (args,)))
    grad = grad if isinstance(grad, tuple) else (grad,)
    forward = forward if forward is None or isinstance(forward, tuple) else (forward,)
    assert len(grad) == len(args) and len(forward or grad) == len(args), id
    return Edge(id, fn, args, value, grad, grad2, why, signed, forward)


def _relu6(x):
    return nn.relu6(x)


def _double_where_sqrt(x):
    positive = x > 0
    return fnp.where(positive, fnp.sqrt(fnp.where(positive, x, 1.0)), 0.0)


_SORT_WEIGHTS = np.array([1.0, 2.0, 3.0])
_SQRT_TINY = math.sqrt(TINY)

TABLE = [
    # -- abs and sign: sign(0) = 0 is the subgradient abs takes at its kink ----------------
    edge("abs(0)", fnp.abs, 0.0, 0.0, 0.0, 0.0, "sign(0) = 0, the middle of [-1, 1]"),
    edge("abs(-0.0)", fnp.abs, -0.0, 0.0, 0.0, 0.0, "-0.0 is the point 0", signed=True),
    edge("abs(inf)", fnp.abs, INF, INF, 1.0, 0.0, "sign(inf) = 1"),
    edge("abs(-inf)", fnp.abs, -INF, INF, -1.0, 0.0, "sign(-inf) = -1"),
    edge("abs(nan)", fnp.abs, NAN, NAN, NAN, None, "sign(nan) = nan: NaN propagates"),
    edge("abs(subnormal)", fnp.abs, TINY, TINY, 1.0, 0.0, "a subnormal is not 0"),
    edge("abs(-subnormal)", fnp.abs, -TINY, TINY, -1.0, 0.0, "a subnormal is not 0"),
    edge("abs(0j)", fnp.abs, np.complex128(0), 0.0, np.complex128(0), None,
         "|z|' = conj(z)/|z| is taken as 0 at 0, as for real numbers"),
    edge("sign(0)", fnp.sign, 0.0, 0.0, 0.0, 0.0, "piecewise constant: 0, the jump included"),
    edge("sign(-inf)", fnp.sign, -INF, -1.0, 0.0, 0.0, "piecewise constant"),
    edge("sign(nan)", fnp.sign, NAN, NAN, 0.0, None,
         "piecewise constant: its derivative is structurally 0, at NaN too"),
    edge("copysign(0, -1)", fnp.copysign, (0.0, -1.0), -0.0, (-0.0, 0.0), None,
         "+-|x|: sign(0) = 0 times the sign taken from y; none in y", signed=True),
    # -- maximum, minimum, fmax, fmin: ties split equally -------------------------------------
    edge("maximum tie", fnp.maximum, (1.5, 1.5), 1.5, (0.5, 0.5), None, "ties split equally"),
    edge("minimum tie", fnp.minimum, (1.5, 1.5), 1.5, (0.5, 0.5), None, "ties split equally"),
    edge("maximum(0, -0.0)", fnp.maximum, (0.0, -0.0), -0.0, (0.5, 0.5), None,
         "0.0 == -0.0: a tie (the value is NumPy's, its sign NumPy's choice)", signed=True),
    edge("maximum(inf, inf)", fnp.maximum, (INF, INF), INF, (0.5, 0.5), None,
         "equal infinities tie"),
    edge("maximum(nan, 1.5)", fnp.maximum, (NAN, 1.5), NAN, (0.0, 0.0), None,
         "comparisons with NaN are false, so neither operand is picked (as in JAX); the "
         "NaN propagates through the value"),
    edge("minimum(1, nan)", fnp.minimum, (1.0, NAN), NAN, (0.0, 0.0), None,
         "comparisons with NaN are false (as in JAX)"),
    edge("maximum vs array", lambda x: fnp.maximum(x, np.array([0.0, 1.0, 2.0])),
         [1.0, 1.0, 1.0], [1.0, 1.0, 2.0], [1.0, 0.5, 0.0], None, "win, tie, lose"),
    edge("fmax tie", fnp.fmax, (1.5, 1.5), 1.5, (0.5, 0.5), None, "ties split equally"),
    edge("fmin tie", fnp.fmin, (1.5, 1.5), 1.5, (0.5, 0.5), None, "ties split equally"),
    edge("fmax(nan, 1.5)", fnp.fmax, (NAN, 1.5), 1.5, (0.0, 1.0), None,
         "fmax ignores a NaN: the derivative goes to the number it returns"),
    edge("fmin(1.5, nan)", fnp.fmin, (1.5, NAN), 1.5, (1.0, 0.0), None,
         "fmin ignores a NaN"),
    # -- clip: min(max(x, lo), hi) --------------------------------------------------------------
    edge("clip at lo", lambda x: fnp.clip(x, 0.0, 1.0), 0.0, 0.0, 0.5, 0.0,
         "the tie of max(x, lo): 1/2"),
    edge("clip at hi", lambda x: fnp.clip(x, 0.0, 1.0), 1.0, 1.0, 0.5, 0.0,
         "the tie of min(., hi): 1/2"),
    edge("clip inside", lambda x: fnp.clip(x, 0.0, 1.0), 0.5, 0.5, 1.0, 0.0, "identity"),
    edge("clip outside", lambda x: fnp.clip(x, 0.0, 1.0), 2.0, 1.0, 0.0, 0.0, "constant"),
    edge("clip(nan)", lambda x: fnp.clip(x, 0.0, 1.0), NAN, NAN, 0.0, None,
         "comparisons with NaN are false, as for maximum"),
    edge("clip bounds traced", fnp.clip, (0.0, 0.0, 1.0), 0.0, (0.5, 0.5, 0.0), None,
         "at x == lo, half to x and half to the bound"),
    # -- activations ----------------------------------------------------------------------------
    edge("relu(0)", nn.relu, 0.0, 0.0, 0.5, 0.0, "maximum(x, 0) at the tie: 1/2 (JAX: 0)"),
    edge("relu(-0.0)", nn.relu, -0.0, 0.0, 0.5, 0.0, "the same point"),
    edge("relu(inf)", nn.relu, INF, INF, 1.0, 0.0, "identity"),
    edge("relu(-inf)", nn.relu, -INF, 0.0, 0.0, 0.0, "constant"),
    edge("relu(nan)", nn.relu, NAN, NAN, 0.0, None, "comparisons with NaN are false"),
    edge("relu(subnormal)", nn.relu, TINY, TINY, 1.0, 0.0, "a subnormal is positive"),
    edge("relu float32", nn.relu, np.float32(0), np.float32(0), np.float32(0.5), None,
         "the dtype is kept"),
    edge("relu6(0)", _relu6, 0.0, 0.0, 0.5, None, "tie at 0"),
    edge("relu6(6)", _relu6, 6.0, 6.0, 0.5, None, "tie at 6"),
    edge("relu6(inf)", _relu6, INF, 6.0, 0.0, None, "constant"),
    edge("relu6(nan)", _relu6, NAN, NAN, 0.0, None, "comparisons with NaN are false"),
    edge("elu(0)", nn.elu, 0.0, 0.0, 1.0, 1.0, "the x <= 0 branch, alpha exp(0)"),
    edge("elu(0, alpha=2)", lambda x: nn.elu(x, 2.0), 0.0, 0.0, 2.0, 2.0,
         "alpha exp(0) = alpha: the left derivative"),
    edge("elu(inf)", nn.elu, INF, INF, 1.0, 0.0, "identity; exp never sees inf"),
    edge("elu(-inf)", nn.elu, -INF, -1.0, 0.0, 0.0, "alpha exp(-inf) = 0"),
    edge("elu(nan)", nn.elu, NAN, NAN, NAN, None, "NaN propagates"),
    edge("gelu(0)", nn.gelu, 0.0, 0.0, 0.5, math.sqrt(2 / PI), "smooth"),
    edge("gelu(inf)", nn.gelu, INF, INF, NAN, None,
         "x/2 (1 + tanh(.)): its derivative has inf * 0 (as in JAX and PyTorch)"),
    edge("gelu(-inf)", nn.gelu, -INF, NAN, NAN, None, "-inf * 0 (as in JAX and PyTorch)"),
    edge("gelu exact(0)", lambda x: nn.gelu(x, approximate=False), 0.0, 0.0, 0.5,
         math.sqrt(2 / PI), "x ndtr(x)"),
    edge("softplus(0)", nn.softplus, 0.0, math.log(2), 0.5, 0.25, "logistic(0)"),
    edge("softplus(inf)", nn.softplus, INF, INF, 1.0, 0.0, "logistic(inf) = 1"),
    edge("softplus(-inf)", nn.softplus, -INF, 0.0, 0.0, 0.0, "logistic(-inf) = 0"),
    edge("softplus(nan)", nn.softplus, NAN, NAN, NAN, None, "NaN propagates"),
    edge("silu(0)", nn.silu, 0.0, 0.0, 0.5, 0.5, "smooth"),
    edge("silu(inf)", nn.silu, INF, INF, NAN, None,
         "x logistic(x): its derivative has inf * 0 (as in JAX and PyTorch)"),
    edge("silu(-inf)", nn.silu, -INF, NAN, NAN, None, "-inf * 0 (as in JAX and PyTorch)"),
    edge("sigmoid(inf)", nn.sigmoid, INF, 1.0, 0.0, 0.0, "ans (1 - ans) = 0, not NaN"),
    edge("sigmoid(-inf)", nn.sigmoid, -INF, 0.0, 0.0, 0.0, "ans (1 - ans) = 0"),
    edge("sigmoid(nan)", nn.sigmoid, NAN, NAN, NAN, None, "NaN propagates"),
    edge("log_sigmoid(-inf)", nn.log_sigmoid, -INF, -INF, 1.0, 0.0, "-softplus(-x)"),
    edge("log_sigmoid(inf)", nn.log_sigmoid, INF, -0.0, 0.0, 0.0, "-softplus(-x)"),
    # -- roots and logarithms: infinite derivatives stay infinite ------------------------------
    edge("sqrt(0)", fnp.sqrt, 0.0, 0.0, INF, -INF, "0.5 / sqrt(0): honest"),
    edge("sqrt(-0.0)", fnp.sqrt, -0.0, -0.0, INF, INF,
         "the point 0: +inf as at +0.0 (0.5 / -0.0 would be -inf); the second derivative "
         "shows the zero's sign (documented, not to be relied on)", signed=True),
    edge("sqrt(inf)", fnp.sqrt, INF, INF, 0.0, -0.0, "0.5 / inf", signed=True),
    edge("sqrt(nan)", fnp.sqrt, NAN, NAN, NAN, NAN, "NaN propagates"),
    edge("sqrt(-1)", fnp.sqrt, -1.0, NAN, NAN, None, "outside the domain: NaN"),
    edge("sqrt(subnormal)", fnp.sqrt, TINY, _SQRT_TINY, 0.5 / _SQRT_TINY, None,
         "finite: 0.5 / 2.2e-162"),
    edge("sqrt float32(-0.0)", fnp.sqrt, np.float32(-0.0), np.float32(-0.0),
         np.float32(INF), None, "the point 0, in float32", signed=True),
    edge("cbrt(0)", fnp.cbrt, 0.0, 0.0, INF, NAN,
         "1 / (3 cbrt(0)**2) = inf; cbrt'' is -inf on the right, +inf on the left: NaN"),
    edge("cbrt(-0.0)", fnp.cbrt, -0.0, -0.0, INF, None, "cbrt is odd: +inf at 0",
         signed=True),
    edge("cbrt(-inf)", fnp.cbrt, -INF, -INF, 0.0, None, "1 / (3 inf)"),
    edge("log(0)", fnp.log, 0.0, -INF, INF, -INF, "1 / 0 = inf: honest"),
    edge("log(-0.0)", fnp.log, -0.0, -INF, -INF, -INF,
         "1 / -0.0 keeps the sign of the zero (IEEE; as in JAX and PyTorch): an abs "
         "would flip log'' there and log' on x < 0", signed=True),
    edge("log(inf)", fnp.log, INF, INF, 0.0, -0.0, "1 / inf", signed=True),
    edge("log(nan)", fnp.log, NAN, NAN, NAN, NAN, "NaN propagates"),
    edge("log(subnormal)", fnp.log, TINY, math.log(TINY), INF, None,
         "1 / 5e-324 overflows to inf"),
    edge("log1p(-1)", fnp.log1p, -1.0, -INF, INF, -INF, "1 / (x + 1) = 1 / +0.0"),
    edge("log1p(-0.0)", fnp.log1p, -0.0, -0.0, 1.0, -1.0, "smooth", signed=True),
    edge("log1p(inf)", fnp.log1p, INF, INF, 0.0, None, "1 / inf"),
    # -- exponentials and their kin at +-inf: limits, not NaN ------------------------------------
    edge("exp(inf)", fnp.exp, INF, INF, INF, INF, "exp' = exp"),
    edge("exp(-inf)", fnp.exp, -INF, 0.0, 0.0, 0.0, "exp' = exp"),
    edge("exp(nan)", fnp.exp, NAN, NAN, NAN, NAN, "NaN propagates"),
    edge("exp(710)", fnp.exp, 710.0, INF, INF, None, "overflow, in value and derivative"),
    edge("exp(subnormal)", fnp.exp, TINY, 1.0, 1.0, 1.0, "exp(5e-324) rounds to 1"),
    edge("expm1(-inf)", fnp.expm1, -INF, -1.0, 0.0, 0.0, "expm1' = expm1 + 1"),
    edge("expm1(inf)", fnp.expm1, INF, INF, INF, None, "expm1' = expm1 + 1"),
    edge("expm1(-0.0)", fnp.expm1, -0.0, -0.0, 1.0, 1.0, "smooth", signed=True),
    edge("tanh(inf)", fnp.tanh, INF, 1.0, 0.0, 0.0, "1 - tanh**2 = 0, not NaN"),
    edge("tanh(-inf)", fnp.tanh, -INF, -1.0, 0.0, 0.0, "1 - tanh**2 = 0"),
    edge("tanh(nan)", fnp.tanh, NAN, NAN, NAN, None, "NaN propagates"),
    edge("tanh(subnormal)", fnp.tanh, TINY, TINY, 1.0, None, "tanh(x) = x near 0"),
    edge("logistic(inf)", lax.logistic, INF, 1.0, 0.0, 0.0, "ans (1 - ans) = 0"),
    edge("expit(-inf)", fsp.expit, -INF, 0.0, 0.0, 0.0, "ans (1 - ans) = 0"),
    edge("erf(inf)", fsp.erf, INF, 1.0, 0.0, None, "2/sqrt(pi) exp(-inf)"),
    edge("sin(inf)", fnp.sin, INF, NAN, NAN, None, "sin(inf) is NaN, and cos(inf)"),
    edge("sin(nan)", fnp.sin, NAN, NAN, NAN, None, "NaN propagates"),
    # -- inverse trigonometric and hyperbolic functions at the ends of their domains ----------
    edge("arctan(inf)", fnp.arctan, INF, PI / 2, 0.0, None, "1 / (1 + inf) = 0"),
    edge("arctan(-inf)", fnp.arctan, -INF, -PI / 2, 0.0, None, "1 / (1 + inf) = 0"),
    edge("arctan(0)", fnp.arctan, 0.0, 0.0, 1.0, 0.0, "smooth"),
    edge("arcsin(1)", fnp.arcsin, 1.0, PI / 2, INF, None, "1 / sqrt(1 - 1): honest"),
    edge("arcsin(-1)", fnp.arcsin, -1.0, -PI / 2, INF, None, "1 / sqrt(0)"),
    edge("arcsin(2)", fnp.arcsin, 2.0, NAN, NAN, None, "outside the domain: NaN"),
    edge("arccos(1)", fnp.arccos, 1.0, 0.0, -INF, None, "-1 / sqrt(0)"),
    edge("arccos(-1)", fnp.arccos, -1.0, PI, -INF, None, "-1 / sqrt(0)"),
    edge("arccosh(1)", fnp.arccosh, 1.0, 0.0, INF, None, "1 / (sqrt(0) sqrt(2))"),
    edge("arccosh(inf)", fnp.arccosh, INF, INF, 0.0, None, "1 / (inf inf)"),
    edge("arccosh(0.5)", fnp.arccosh, 0.5, NAN, NAN, None, "outside the domain: NaN"),
    edge("arctanh(1)", fnp.arctanh, 1.0, INF, INF, None, "1 / (1 - 1)"),
    edge("arctanh(-1)", fnp.arctanh, -1.0, -INF, INF, None, "1 / (1 - 1)"),
    edge("arcsinh(inf)", fnp.arcsinh, INF, INF, 0.0, None, "1 / sqrt(inf)"),
    edge("arctan2(0, 0)", fnp.arctan2, (0.0, 0.0), 0.0, (NAN, NAN), None,
         "not continuous at the origin: y / (x**2 + y**2) = 0 / 0 (as in JAX)"),
    # -- powers: x**0 has derivative 0 everywhere ------------------------------------------------
    edge("power(0, 0)", fnp.power, (0.0, 0.0), 1.0, (0.0, 0.0), None,
         "x**0 = 1 everywhere: d/dx 0 (not 0 * 0**-1 = NaN); d/dy taken as 0 at x == 0"),
    edge("power(0, 0.5)", fnp.power, (0.0, 0.5), 0.0, (INF, 0.0), None,
         "d/dx 0.5 * 0**-0.5 = inf; d/dy 0 at x == 0 (the limit for y > 0)"),
    edge("power(0, 1)", fnp.power, (0.0, 1.0), 0.0, (1.0, 0.0), None, "d/dx 1 * 0**0 = 1"),
    edge("power(0, 2)", fnp.power, (0.0, 2.0), 0.0, (0.0, 0.0), None, "d/dx 2 * 0**1"),
    edge("power(0, -1)", fnp.power, (0.0, -1.0), INF, (-INF, 0.0), None,
         "d/dx -1 * 0**-2 = -inf; d/dy taken as 0 at x == 0"),
    edge("power(inf, 0)", fnp.power, (INF, 0.0), 1.0, (0.0, INF), None,
         "d/dx 0; d/dy log(inf) * 1"),
    edge("power(nan, 0)", fnp.power, (NAN, 0.0), 1.0, (0.0, NAN), None,
         "NumPy's nan**0 = 1; d/dy log(nan) * 1"),
    edge("power(-0.0, 0.5)", fnp.power, (-0.0, 0.5), 0.0, (INF, 0.0), None,
         "pow(-0.0, -0.5) = +inf (IEEE)"),
    edge("x**0.0 at 0", lambda x: fnp.power(x, 0.0), 0.0, 1.0, 0.0, 0.0,
         "x**0 = 1 everywhere"),
    edge("x**0 at 0", lambda x: x ** 0, 0.0, 1.0, 0.0, 0.0,
         "integer_pow(x, 0): a zero derivative, not 0 * 0**-1"),
    edge("x**0 at inf", lambda x: x ** 0, INF, 1.0, 0.0, 0.0,
         "integer_pow(x, 0): a zero derivative, not 0 * inf"),
    edge("x**0.5 at 0", lambda x: fnp.power(x, 0.5), 0.0, 0.0, INF, None,
         "0.5 * 0**-0.5: as sqrt"),
    edge("x**1 at 0", lambda x: x ** 1, 0.0, 0.0, 1.0, 0.0, "the identity"),
    edge("x**2 at 0", lambda x: x ** 2, 0.0, 0.0, 0.0, 2.0, "2 x"),
    edge("x**3 at 0", lambda x: x ** 3, 0.0, 0.0, 0.0, 0.0, "3 x**2"),
    edge("x**-1 at 0", lambda x: lax.integer_pow(x, -1), 0.0, INF, -INF, None,
         "-x**-2: honest"),
    edge("x**2 at inf", lambda x: x ** 2, INF, INF, INF, 2.0, "2 x"),
    edge("x*x at subnormal", lambda x: x * x, TINY, 0.0, 2 * TINY, 2.0,
         "the square underflows; 2 x does not"),
    # -- hypot and norms: the subgradient 0 where the value is 0 ---------------------------------
    edge("hypot(0, 0)", fnp.hypot, (0.0, 0.0), 0.0, (0.0, 0.0), None,
         "x / hypot taken as 0 where hypot is 0 (hypot(x, 0) = |x|, abs'(0) = 0)"),
    edge("hypot(inf, 1)", fnp.hypot, (INF, 1.0), INF, (0.0, 0.0), None,
         "taken as 0 to each operand where hypot is infinite (fad.lax.elementwise's table)"),
    edge("norm(0)", fla.norm, [0.0, 0.0, 0.0], 0.0, [0.0, 0.0, 0.0], None,
         "the 2-norm at 0: the subgradient 0, not NaN"),
    edge("norm(0, fro)", lambda x: fla.norm(x, "fro"), np.zeros((2, 2)), 0.0,
         np.zeros((2, 2)), None, "the Frobenius norm at 0: 0"),
    edge("norm(0, 1)", lambda x: fla.norm(x, 1), [0.0, 0.0], 0.0, [0.0, 0.0], None,
         "sum of abs: sign(0) = 0"),
    edge("norm(0, 3)", lambda x: fla.norm(x, 3), [0.0, 0.0], 0.0, [0.0, 0.0], None,
         "the p-norm's root at 0: the subgradient 0, not inf * 0"),
    edge("norm(0, inf)", lambda x: fla.norm(x, np.inf), [0.0, 0.0], 0.0, [0.0, 0.0], None,
         "max of abs: the tie split, times sign(0) = 0"),
    edge("norm inf-ties", lambda x: fla.norm(x, np.inf), [1.0, -1.0, 0.5], 1.0,
         [0.5, -0.5, 0.0], None, "max |x| ties split equally"),
    edge("norm(nan)", fla.norm, [NAN, 1.0], NAN, [NAN, NAN], None,
         "NaN propagates, in the value too (as NumPy)"),
    edge("norm(inf)", fla.norm, [INF, 1.0], INF, [NAN, 0.0], None, "x / norm: inf / inf",
         forward=[NAN, NAN]),
    edge("std(constant)", fnp.std, [1.0, 1.0], 0.0, [0.0, 0.0], None,
         "the norm of the deviations over sqrt(n): the subgradient 0 where they are 0"),
    edge("nanstd(constant)", fnp.nanstd, [1.0, 1.0], 0.0, [0.0, 0.0], None, "as std"),
    edge("std(nan)", fnp.std, [NAN, 1.0], NAN, [NAN, NAN], None, "NaN propagates"),
    edge("var(constant)", fnp.var, [1.0, 1.0], 0.0, [0.0, 0.0], None, "2 (x - mean) / n"),
    # -- logsumexp and softmax with -inf ---------------------------------------------------------
    edge("logsumexp with -inf", fsp.logsumexp, [-INF, 0.0, 1.0], math.log(1 + E),
         [0.0, W0, W1], None, "the softmax: an entry at -inf has weight 0"),
    edge("logsumexp ties", fsp.logsumexp, [1.0, 1.0], 1 + math.log(2), [0.5, 0.5], None,
         "equal entries, equal weights"),
    edge("logsumexp all -inf", fsp.logsumexp, [-INF, -INF], -INF, [NAN, NAN], None,
         "exp(-inf - (-inf)): the softmax of all -inf is 0/0, as in JAX"),
    edge("logsumexp with inf", fsp.logsumexp, [INF, 0.0], INF, [NAN, 0.0], None,
         "exp(inf - inf) for the infinite entry, as in JAX", forward=[NAN, NAN]),
    edge("logaddexp(-inf, -inf)", fnp.logaddexp, (-INF, -INF), -INF, (0.5, 0.5), None,
         "a tie: the weights logistic(0) = 1/2 (its own primitive)"),
    edge("logaddexp(inf, 0)", fnp.logaddexp, (INF, 0.0), INF, (1.0, 0.0), None,
         "logistic(inf) = 1"),
    edge("softmax with -inf", lambda x: nn.softmax(x)[1], [-INF, 0.0, 1.0], W0,
         [-0.0, W0 * W1, -W0 * W1], None, "the -inf entry: weight 0, derivative -0.0",
         signed=True, forward=[0.0, W0 * W1, -W0 * W1]),
    edge("log_softmax with -inf", lambda x: nn.log_softmax(x)[1], [-INF, 0.0, 1.0],
         -math.log(1 + E), [0.0, W1, -W1], None, "1 - softmax, and -softmax"),
    edge("softmax all -inf", lambda x: nn.softmax(x)[0], [-INF, -INF], NAN, [NAN, NAN], None,
         "0/0, as SciPy's value"),
    # -- reductions with ties, NaN and empty arrays ----------------------------------------------
    edge("max ties", fnp.max, [1.0, 3.0, 3.0], 3.0, [0.0, 0.5, 0.5], None,
         "ties split equally"),
    edge("min three-way tie", fnp.min, [2.0, 1.0, 1.0, 1.0], 1.0, [0.0, 1 / 3, 1 / 3, 1 / 3],
         None, "ties split equally, three ways"),
    edge("max(-0.0, 0.0)", fnp.max, [-0.0, 0.0], 0.0, [0.5, 0.5], None, "a tie"),
    edge("max with nan", fnp.max, [1.0, NAN, 3.0], NAN, [0.0, 0.0, 0.0], None,
         "the NaN is no maximum by comparison: no entry is picked"),
    edge("x[argmax] ties", lambda x: x[fnp.argmax(x)], [1.0, 3.0, 3.0], 3.0, [0.0, 1.0, 0.0],
         None, "indexing picks one entry: the first maximum, as argmax"),
    edge("sum(empty)", fnp.sum, np.zeros(0), 0.0, np.zeros(0), None, "0, and no derivative"),
    edge("mean(empty)", fnp.mean, np.zeros(0), NAN, np.zeros(0), None, "NaN, as NumPy"),
    edge("prod(empty)", fnp.prod, np.zeros(0), 1.0, np.zeros(0), None, "1"),
    edge("max(empty, initial)", lambda x: fnp.max(x, initial=-INF), np.zeros(0), -INF,
         np.zeros(0), None, "the initial value"),
    edge("cumsum(empty)", fnp.cumsum, np.zeros(0), np.zeros(0), np.zeros(0), None, "empty"),
    edge("sqrt(empty)", fnp.sqrt, np.zeros(0), np.zeros(0), np.zeros(0), None, "empty"),
    edge("logsumexp(empty)", fsp.logsumexp, np.zeros(0), -INF, np.zeros(0), None,
         "log(0), as SciPy"),
    edge("norm(empty)", fla.norm, np.zeros(0), 0.0, np.zeros(0), None, "0"),
    edge("dot(empty, empty)", fnp.dot, (np.zeros(0), np.zeros(0)), 0.0,
         (np.zeros(0), np.zeros(0)), None, "0"),
    edge("prod with zeros", fnp.prod, [0.0, 0.0, 2.0], 0.0, [0.0, 0.0, 0.0], None,
         "exact: products of the others, no division by 0"),
    edge("prod with one zero", fnp.prod, [0.0, 3.0, 2.0], 0.0, [6.0, 0.0, 0.0], None,
         "exact: products of the others"),
    edge("cumprod with zero", fnp.cumprod, [2.0, 0.0, 3.0], [2.0, 0.0, 0.0], [1.0, 8.0, 0.0],
         None, "exact: no division by 0"),
    # -- sort: a permutation, ties in stable order -------------------------------------------------
    edge("sort ties", lambda x: fnp.sort(x) * _SORT_WEIGHTS, [2.0, 1.0, 2.0], [1.0, 4.0, 6.0],
         [2.0, 1.0, 3.0], None,
         "each sorted entry's derivative goes to the input the stable sort put there"),
    edge("argsort ties", lambda x: x[fnp.argsort(x)] * _SORT_WEIGHTS, [2.0, 1.0, 2.0],
         [1.0, 4.0, 6.0], [2.0, 1.0, 3.0], None, "the same stable permutation"),
    # -- where: the branch not taken is differentiated too ----------------------------------------
    edge("where, NaN branch", lambda x: fnp.where(x > 0, fnp.sqrt(x), 0.0), [-1.0, 4.0],
         [0.0, 2.0], [NAN, 0.25], None,
         "the unselected sqrt(-1)' = NaN times 0 is NaN (as in JAX): use a double where",
         forward=[0.0, 0.25]),
    edge("where, inf branch", lambda x: fnp.where(x > 0, fnp.log(x), 0.0), [0.0, 4.0],
         [0.0, math.log(4)], [NAN, 0.25], None, "the unselected log'(0) = inf times 0",
         forward=[0.0, 0.25]),
    edge("double where", _double_where_sqrt, [-1.0, 4.0], [0.0, 2.0], [0.0, 0.25], None,
         "the unselected branch sees a safe operand: a finite derivative"),
    # -- rounding and remainders -----------------------------------------------------------------
    edge("floor at a jump", fnp.floor, 2.0, 2.0, 0.0, 0.0, "piecewise constant: 0"),
    edge("ceil at a jump", fnp.ceil, 2.0, 2.0, 0.0, 0.0, "piecewise constant: 0"),
    edge("round at a jump", fnp.round, 2.5, 2.0, 0.0, 0.0, "piecewise constant: 0"),
    edge("round(-0.5)", fnp.round, -0.5, -0.0, 0.0, None, "piecewise constant", signed=True),
    edge("trunc", fnp.trunc, -2.5, -2.0, 0.0, None, "piecewise constant: 0"),
    edge("rint", fnp.rint, 2.5, 2.0, 0.0, None, "piecewise constant: 0"),
    edge("floor(nan)", fnp.floor, NAN, NAN, 0.0, None,
         "piecewise constant: structurally 0, at NaN too"),
    edge("mod at multiples", lambda x: fnp.mod(x, 3.0), [3.0, 0.0, -1.0], [0.0, 0.0, 2.0],
         [1.0, 1.0, 1.0], None, "x - floor(x / y) y with floor' = 0: d/dx 1 everywhere"),
    edge("mod(3, 3)", fnp.mod, (3.0, 3.0), 0.0, (1.0, -1.0), None,
         "d/dy -floor(x / y), at the jump too"),
    edge("remainder(7, 3)", fnp.remainder, (7.0, 3.0), 1.0, (1.0, -2.0), None,
         "d/dy -floor(7 / 3)"),
    edge("fmod(-7, 3)", fnp.fmod, (-7.0, 3.0), -1.0, (1.0, 2.0), None, "d/dy -trunc(-7 / 3)"),
    edge("floor_divide", fnp.floor_divide, (7.0, 3.0), 2.0, (0.0, 0.0), None,
         "piecewise constant"),
    edge("heaviside(0, h)", fnp.heaviside, (0.0, 0.5), 0.5, (0.0, 1.0), None,
         "the value at 0 is h: d/dh 1 there"),
    # -- sinc, xlogy -----------------------------------------------------------------------------
    edge("sinc(0)", fnp.sinc, 0.0, 1.0, 0.0, -PI ** 2 / 3,
         "its Maclaurin series near 0: exact derivatives there"),
    edge("sinc(-0.0)", fnp.sinc, -0.0, 1.0, 0.0, -PI ** 2 / 3, "the same point"),
    edge("sinc(subnormal)", fnp.sinc, TINY, 1.0, -PI ** 2 / 3 * TINY, -PI ** 2 / 3,
         "the series (-pi**2 x / 3), not cos(y)/y - 1/y = inf - inf"),
    edge("sinc(1)", fnp.sinc, 1.0, float(np.sinc(1.0)), -1.0, None,
         "cos(pi) - sin(pi) / pi; sin(pi) is 1.2e-16, not 0"),
    edge("sinc(nan)", fnp.sinc, NAN, NAN, NAN, None, "NaN propagates"),
    edge("xlogy(0, 0)", fsp.xlogy, (0.0, 0.0), 0.0, (-INF, 0.0), None,
         "0 where x == 0; d/dx log(0) = -inf (honest), d/dy x / y taken as 0 at x == 0"),
    edge("xlogy(0, 1)", fsp.xlogy, (0.0, 1.0), 0.0, (0.0, 0.0), None, "log(1), 0 / 1"),
    edge("xlogy(1, 0)", fsp.xlogy, (1.0, 0.0), -INF, (-INF, INF), None, "log(0), 1 / 0"),
    edge("xlogy(0, nan)", fsp.xlogy, (0.0, NAN), NAN, (NAN, NAN), None,
         "NaN propagates from y (as SciPy)"),
    edge("xlog1py(0, -1)", fsp.xlog1py, (0.0, -1.0), 0.0, (-INF, 0.0), None,
         "log1p(-1) = -inf; x / (1 + y) taken as 0 at x == 0"),
]

RAISES = [
    ("max(empty)", fnp.max, "zero-size array to reduction operation maximum"),
    ("min(empty)", fnp.min, "zero-size array to reduction operation minimum"),
    ("max(empty, axis=0)", lambda x: fnp.max(x, axis=0),
     "zero-size array to reduction operation maximum"),
    ("argmax(empty)", fnp.argmax, "argmax"),
]

_TOL = 1e-14


# -- comparing results --------------------------------------------------------------------------

def _leaves(x):
    return list(x) if isinstance(x, tuple) else [x]


def _same_bits(a, b):
    """Same dtype, shape and values, NaN equal to NaN, the signs of zeros included."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind == "c":
        return _same_bits(a.real, b.real) and _same_bits(a.imag, b.imag)
    nan = np.isnan(a)
    return (np.array_equal(nan, np.isnan(b)) and np.array_equal(a[~nan], b[~nan])
            and np.array_equal(np.signbit(a[~nan]), np.signbit(b[~nan])))


def _assert_paths_agree(results, what):
    if not results:
        return
    ref_name, ref = next(iter(results.items()))
    for name, got in results.items():
        assert len(_leaves(got)) == len(_leaves(ref)), (what, name)
        for g, r in zip(_leaves(got), _leaves(ref)):
            assert _same_bits(g, r), f"{what}: {name} gives {g!r}, {ref_name} gives {r!r}"


def _assert_matches(got, want, dtype, signed, what):
    got = np.asarray(got)
    want = np.asarray(want, dtype=got.dtype if got.dtype.kind == "c" else dtype)
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype}, table {want.dtype}"
    assert got.shape == want.shape, f"{what}: shape {got.shape}, table {want.shape}"
    np.testing.assert_allclose(got, want, rtol=_TOL, atol=0, equal_nan=True, err_msg=what)
    if signed:
        zero = want == 0
        np.testing.assert_array_equal(np.signbit(got[zero]), np.signbit(want[zero]),
                                      err_msg=f"{what}: the sign of a zero")


# -- the paths ----------------------------------------------------------------------------------

def _loss(fn):
    return lambda *args: fnp.sum(fn(*args))


def _derivative_paths(fn, args):
    """The derivative of ``sum(fn)`` in each argument along each reverse-mode path, and
    along the forward-mode paths (for real arguments)."""
    argnums = tuple(range(len(args)))
    loss = _loss(fn)
    reverse, forward = {}, {}
    with fad.disable_staging():
        reverse["interpreted"] = fad.grad(loss, argnums)(*args)
    staged = fad.grad(loss, argnums)
    for name in ("recorded", "compiled", "replayed"):
        reverse[name] = staged(*args)
    reverse["jit"] = fad.jit(fad.grad(loss, argnums))(*args)
    if not any(np.iscomplexobj(a) for a in args):   # (jacfwd: real inputs, as JAX's)
        with fad.disable_staging():
            forward["interpreted"] = fad.jacfwd(loss, argnums)(*args)
        forward["jit"] = fad.jit(fad.jacfwd(loss, argnums))(*args)
    return reverse, forward


def _second_derivative_paths(fn, x):
    first = fad.grad(_loss(fn))
    loss = lambda x: fnp.sum(first(x))   # noqa: E731
    out = {}
    with fad.disable_staging():
        out["interpreted"] = fad.grad(loss)(x)
    staged = fad.grad(loss)
    for name in ("recorded", "compiled", "replayed"):
        out[name] = staged(x)
    out["jit"] = fad.jit(fad.grad(loss))(x)
    if np.ndim(x) == 0 and not np.iscomplexobj(x):   # forward over reverse, one direction
        with fad.disable_staging():
            out["hessian"] = fad.hessian(_loss(fn))(x)
    return out


def _dtype(entry):
    return np.result_type(*[np.asarray(a).real.dtype for a in entry.args])


@pytest.mark.filterwarnings("ignore:Mean of empty slice")
@pytest.mark.parametrize("entry", TABLE, ids=lambda e: e.id)
def test_edge_value(entry):
    dtype = _dtype(entry)
    with np.errstate(all="ignore"):
        values = {"eager": entry.fn(*entry.args), "jit": fad.jit(entry.fn)(*entry.args)}
        _assert_paths_agree(values, f"{entry.id}, value")
        _assert_matches(values["eager"], entry.value, dtype, entry.signed, f"{entry.id}, value")
        reverse, forward = _derivative_paths(entry.fn, entry.args)
    _assert_paths_agree(reverse, f"{entry.id}, derivative")
    _assert_paths_agree(forward, f"{entry.id}, forward-mode derivative")
    for mode, got_all, want_all in (("", reverse["interpreted"], entry.grad),
                                    ("forward-mode ", forward.get("interpreted"),
                                     entry.forward or entry.grad)):
        if got_all is None:
            continue
        for i, (got, want) in enumerate(zip(_leaves(got_all), want_all)):
            _assert_matches(got, want, np.asarray(entry.args[i]).dtype, entry.signed,
                            f"{entry.id}, {mode}derivative in argument {i}")


_SECOND = [e for e in TABLE if e.grad2 is not None]


@pytest.mark.parametrize("entry", _SECOND, ids=lambda e: e.id)
def test_edge_value_second_derivative(entry):
    with np.errstate(all="ignore"):
        paths = _second_derivative_paths(entry.fn, entry.args[0])
    _assert_paths_agree(paths, f"{entry.id}, second derivative")
    _assert_matches(paths["interpreted"], entry.grad2, _dtype(entry), entry.signed,
                    f"{entry.id}, second derivative")


def _raising_paths(fn):
    loss = lambda x: fnp.sum(fn(x)) * 1.0   # noqa: E731

    def interpreted(x):
        with fad.disable_staging():
            return fad.grad(loss)(x)
    return {"eager": fn, "jit": fad.jit(fn), "interpreted grad": interpreted,
            "staged grad": fad.grad(loss), "jit grad": fad.jit(fad.grad(loss))}


@pytest.mark.parametrize("path", ["eager", "jit", "interpreted grad", "staged grad",
                                  "jit grad"])
@pytest.mark.parametrize("name, fn, match", RAISES, ids=[r[0] for r in RAISES])
def test_empty_reductions_without_identity_raise_on_every_path(name, fn, match, path):
    with pytest.raises(ValueError, match=match):
        _raising_paths(fn)[path](np.zeros(0))


def test_sinc_derivatives_at_zero_are_exact_up_to_the_fourth():
    want = [1.0, 0.0, -PI ** 2 / 3, 0.0, PI ** 4 / 5]   # sinc's Maclaurin coefficients * k!
    f = fnp.sinc
    for k, w in enumerate(want):
        for x in (0.0, -0.0, TINY):
            assert abs(f(x) - w) <= 1e-14 * abs(w) + 1e-300, (k, x)
            assert fad.jit(f)(x) == f(x), (k, x)
        f = fad.grad(f)


def test_table_is_well_formed():
    """Unique ids, a reason for every entry, and every kind of edge value the issue names."""
    ids = [e.id for e in TABLE]
    assert len(ids) == len(set(ids))
    assert all(e.why for e in TABLE)
    points = np.concatenate([np.ravel(np.asarray(a, complex)) for e in TABLE for a in e.args])
    real = points.real
    assert np.isnan(real).any() and np.isposinf(real).any() and np.isneginf(real).any()
    assert (np.signbit(real) & (real == 0)).any() and (real == TINY).any()
    assert any(np.size(a) == 0 for e in TABLE for a in e.args)


# -- a property: the paths agree at any mixture of edge values ---------------------------------

_SPECIAL = [0.0, -0.0, INF, -INF, NAN, TINY, -TINY, 1.0, -1.0, 2.5, 1e300, -1e-300]
_UNARY = {
    "abs": fnp.abs, "sqrt": fnp.sqrt, "log": fnp.log, "exp": fnp.exp, "tanh": fnp.tanh,
    "arctan": fnp.arctan, "cbrt": fnp.cbrt, "sinc": fnp.sinc, "relu": nn.relu,
    "softplus": nn.softplus, "elu": nn.elu, "clip": lambda x: fnp.clip(x, -1.0, 1.0),
    "x**3": lambda x: x ** 3, "log1p": fnp.log1p, "arcsin": fnp.arcsin,
}
_BINARY = {
    "maximum": fnp.maximum, "minimum": fnp.minimum, "fmax": fnp.fmax, "power": fnp.power,
    "hypot": fnp.hypot, "mod": fnp.mod, "logaddexp": fnp.logaddexp, "xlogy": fsp.xlogy,
}
_VALUES = st.lists(st.sampled_from(_SPECIAL) | st.floats(allow_nan=False, width=64),
                   min_size=1, max_size=4)


@settings(max_examples=15, deadline=None)
@given(xs=_VALUES, name=st.sampled_from(sorted(_UNARY)))
def test_paths_agree_at_mixtures_of_edge_values(xs, name):
    x = np.array(xs)
    with np.errstate(all="ignore"):
        for paths in _derivative_paths(_UNARY[name], (x,)):
            _assert_paths_agree(paths, f"{name}({xs})")


@settings(max_examples=15, deadline=None)
@given(xs=_VALUES, ys=_VALUES, name=st.sampled_from(sorted(_BINARY)))
def test_binary_paths_agree_at_mixtures_of_edge_values(xs, ys, name):
    n = min(len(xs), len(ys))
    x, y = np.array(xs[:n]), np.array(ys[:n])
    with np.errstate(all="ignore"):
        for paths in _derivative_paths(_BINARY[name], (x, y)):
            _assert_paths_agree(paths, f"{name}({xs}, {ys})")
