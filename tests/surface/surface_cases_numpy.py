"""The table of ``fad.numpy``'s elementwise functions, reductions and statistics: one
``Case`` per function (per static variant), against NumPy's function of the same name."""
from __future__ import annotations

import numpy as np
from hypothesis.extra import numpy as hnp

import fad.numpy as fnp
from surface_harness import ANY, FC, NUM, REAL, case

UNARY_SHAPES = (((2, 3),), ((),), ((4,),), ((2, 1, 3),))
BINARY_SHAPES = (((2, 3), (2, 3)), ((2, 3), (3,)), ((), (4,)), ((2, 1), (1, 3)))
TERNARY_SHAPES = (((2, 3),) * 3, ((2, 3), (3,), ()), ((3,), (2, 1), (1, 3)))
RED = (((2, 3),), ((4,),), ((2, 1, 3),), ((3, 2, 2),))
# Shapes hypothesis draws for the value checks: any broadcasting operands, empty ones
# included, for elementwise functions; at least one axis, none empty, for reductions.
ELEMENTWISE = {n: hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=3,
                                                    min_side=0, max_side=3).map(
    lambda b: b.input_shapes) for n in (1, 2, 3)}
REDUCIBLE = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3).map(
    lambda s: (s,))
NAN_SHAPES = (((3, 4),), ((5,),), ((3, 3, 4),))    # room for NaNs (see "xnan")
AXIS_SHAPES = (((2, 3),), ((2, 1, 3),), ((3, 4),))      # at least 2-D: axis=-2 exists


def _kw_id(kw):
    return ",".join(f"{k}={v!r}" for k, v in kw.items())


def np_case(name, args=("x",), kw=None, ref=None, fn=None, call=None, tag=None, **opts):
    """``fad.numpy.name(*args, **kw)`` against ``numpy.name(*args, **kw)``; or, with
    ``call`` (a function of the module function), ``call(fad.numpy.name)`` against
    ``call(numpy.name)``."""
    kw = kw or {}
    fn = fn or getattr(fnp, name)
    ref = ref or getattr(np, name)
    if call is None:
        def call(f):
            return lambda *a: f(*a, **kw)
    tag = tag or (_kw_id(kw) if kw else None)
    ident = f"numpy.{name}" + (f"[{tag}]" if tag else "")
    if "shapes" not in opts and 1 <= len(args) <= 3:    # an elementwise function
        opts["shapes"] = (UNARY_SHAPES, BINARY_SHAPES, TERNARY_SHAPES)[len(args) - 1]
        opts.setdefault("shape_space", ELEMENTWISE[len(args)])
    return case(f"numpy.{name}", call(fn), call(ref), id=opts.pop("id", ident), args=args,
                **opts)


BUG_NEXTAFTER = ("bug?: d/dx nextafter(x, y) is 0 in fad, 1 by finite differences "
                 "(nextafter(x, y) is x moved by one ulp)")
BUG_COMPLEX_SIGN = ("bug?: the derivative of sign at complex z is 0 (JAX's convention), but "
                    "sign(z) = z/|z| is differentiable there (finite differences disagree)")
NOT_DIFF_BOOL = "boolean result"
NOT_DIFF_INT = "integer result"

# -- ufuncs and elementwise functions of one argument: (name, kind, options)
_UNARY = [
    ("exp", "x"), ("exp2", "x"), ("expm1", "x"), ("log", "pos"), ("log2", "pos"),
    ("log10", "pos"), ("log1p", "pos"), ("sqrt", "pos"), ("cbrt", "away"), ("square", "x"),
    ("sin", "x"), ("cos", "x"), ("tan", "unit"), ("arcsin", "unit"), ("arccos", "unit"),
    ("arctan", "x"), ("asin", "unit"), ("acos", "unit"), ("atan", "x"), ("sinh", "x"),
    ("cosh", "x"), ("tanh", "x"), ("arcsinh", "x"), ("arccosh", "gt1"), ("arctanh", "unit"),
    ("asinh", "x"), ("acosh", "gt1"), ("atanh", "unit"), ("abs", "away"),
    ("absolute", "away"), ("fabs", "away"), ("negative", "x"), ("positive", "x"),
    ("reciprocal", "away"), ("sign", "away", dict(xfail={"grad": BUG_COMPLEX_SIGN})),
    ("conj", "x"), ("conjugate", "x"),
    ("deg2rad", "x"), ("rad2deg", "x"), ("degrees", "x"), ("radians", "x"),
    ("floor", "x"), ("ceil", "x"), ("trunc", "x"),
    ("rint", "x"),
    ("fix", "x"),
    ("sinc", "away"), ("real", "x"), ("imag", "x"), ("angle", "away"),
    ("round", "x"), ("around", "x"), ("round_", "x", dict(ref=np.round)),
]
_UNARY_BOOL = ["isfinite", "isnan", "isinf", "signbit", "logical_not", "iscomplex", "isreal"]
_UNARY_INT = ["invert", "bitwise_not", "bitwise_invert"]

_BINARY = [
    ("add", ("x", "x")), ("subtract", ("x", "x")), ("multiply", ("x", "x")),
    ("divide", ("x", "away")), ("true_divide", ("x", "away")),
    ("power", ("pos", "x")), ("pow", ("pos", "x")), ("float_power", ("pos", "x")),
    ("maximum", ("x", "x")), ("minimum", ("x", "x")), ("fmax", ("x", "x")),
    ("fmin", ("x", "x")), ("arctan2", ("x", "away")), ("atan2", ("x", "away")),
    ("hypot", ("away", "away")), ("copysign", ("x", "away")),
    ("nextafter", ("x", "x"), dict(xfail={"grad": BUG_NEXTAFTER})),
    ("heaviside", ("away", "x")), ("logaddexp", ("x", "x")), ("logaddexp2", ("x", "x")),
    ("floor_divide", ("x", "away")), ("mod", ("x", "away")), ("remainder", ("x", "away")),
    ("fmod", ("x", "away")), ("divmod", ("x", "away")),
]
_BINARY_BOOL = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
                "logical_and", "logical_or", "logical_xor"]
_BINARY_INT = ["bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift",
               "bitwise_left_shift", "bitwise_right_shift"]

CASES = []
for name, kind, *extra in _UNARY:
    CASES.append(np_case(name, (kind,), **(extra[0] if extra else {})))
for name in _UNARY_BOOL:
    CASES.append(np_case(name, ("x",), diff=(), nodiff=NOT_DIFF_BOOL))
for name in _UNARY_INT:
    CASES.append(np_case(name, ("int",), dtypes=(np.dtype(np.int64), np.dtype(np.uint8)),
                         diff=(), nodiff=NOT_DIFF_INT))
CASES.append(np_case("invert", ("bool",), id="numpy.invert[bool]", diff=(),
                     nodiff=NOT_DIFF_BOOL))
for name, kinds, *extra in _BINARY:
    CASES.append(np_case(name, kinds, **(extra[0] if extra else {})))
for name in _BINARY_BOOL:
    CASES.append(np_case(name, ("x", "x"), diff=(), nodiff=NOT_DIFF_BOOL))
for name in _BINARY_INT:
    CASES.append(np_case(name, ("int", "int"), dtypes=(np.dtype(np.int64),), diff=(),
                         nodiff=NOT_DIFF_INT))

CASES += [
    np_case("round", ("x",), kw=dict(decimals=1)),
    np_case("angle", ("away",), kw=dict(deg=True)),
    np_case("where", ("bool", "x", "x"), diff=(1, 2)),
    np_case("clip", ("x", "small", "big"), shapes=TERNARY_SHAPES),
    np_case("clip", ("x",), kw=dict(a_min=-1.0, a_max=1.0)),
    np_case("nan_to_num", ("xnan",), dtypes=FC),
    np_case("nan_to_num", ("xnan",), kw=dict(nan=-1.0)),
    np_case("isclose", ("x", "x"), diff=(), nodiff=NOT_DIFF_BOOL),
    np_case("allclose", ("x", "x"), diff=(), nodiff=NOT_DIFF_BOOL),
    np_case("real_if_close", ("x",), dtypes=FC,
            stage="the result's dtype depends on the values (documented: "
                  "ConcretizationTypeError under jit/vmap)"),
]

# -- reductions: (name, kinds, dtypes, options)
_REDUCTIONS = [
    ("sum", ANY), ("prod", ANY), ("mean", ANY), ("max", ANY),
    ("min", ANY), ("amax", ANY), ("amin", ANY), ("var", ANY), ("std", ANY),
    ("ptp", ANY),
]
_NAN_REDUCTIONS = ["nansum", "nanprod", "nanmean", "nanmax", "nanmin", "nanvar", "nanstd",
                   "nanmedian"]
_INDEX_REDUCTIONS = ["argmax", "argmin"]
_BOOL_REDUCTIONS = ["all", "any"]
_SCANS = ["cumsum", "cumprod"]

def red_case(name, args=("x",), **opts):
    """A reduction (or scan) over arrays of at least one axis, none empty."""
    return np_case(name, args, shapes=RED, shape_space=REDUCIBLE, **opts)


for name, dts in _REDUCTIONS:
    CASES.append(red_case(name, dtypes=dts))
    CASES.append(red_case(name, kw=dict(axis=-1, keepdims=True), dtypes=dts))
    CASES.append(red_case(name, kw=dict(axis=0), dtypes=dts))
for name in _NAN_REDUCTIONS:
    CASES.append(np_case(name, ("xnan",), shapes=NAN_SHAPES, dtypes=REAL))
    CASES.append(np_case(name, ("xnan",), kw=dict(axis=0), shapes=NAN_SHAPES, dtypes=REAL))
for name in ["nanargmax", "nanargmin"]:
    CASES.append(np_case(name, ("xnan",), kw=dict(axis=-1), shapes=NAN_SHAPES,
                         dtypes=REAL, diff=(), nodiff=NOT_DIFF_INT))
for name in ["nancumsum", "nancumprod"]:
    CASES.append(np_case(name, ("xnan",), kw=dict(axis=-1), shapes=NAN_SHAPES, dtypes=REAL))
for name in _INDEX_REDUCTIONS:
    CASES.append(red_case(name, dtypes=NUM + FC[2:], diff=(), nodiff=NOT_DIFF_INT))
    CASES.append(red_case(name, kw=dict(axis=0), dtypes=ANY, diff=(), nodiff=NOT_DIFF_INT))
for name in _BOOL_REDUCTIONS:
    CASES.append(red_case(name, ("bool",), diff=(), nodiff=NOT_DIFF_BOOL))
    CASES.append(red_case(name, kw=dict(axis=0), diff=(), nodiff=NOT_DIFF_BOOL))
for name in _SCANS:
    CASES.append(red_case(name, dtypes=ANY))
    CASES.append(red_case(name, kw=dict(axis=0), dtypes=ANY))

CASES += [
    np_case("sum", kw=dict(axis=(0, -1), dtype=np.float64), shapes=AXIS_SHAPES,
            dtypes=(np.dtype(np.float32), np.dtype(np.int32))),
    np_case("var", kw=dict(axis=0, ddof=1), shapes=AXIS_SHAPES, dtypes=FC),
    np_case("std", kw=dict(axis=-1, ddof=1), shapes=AXIS_SHAPES, dtypes=FC),
    red_case("median", dtypes=ANY),
    red_case("median", kw=dict(axis=-1), dtypes=ANY),
    red_case("average", dtypes=ANY),
    np_case("average", ("x", "pos"), tag="weights,axis=-1",
            call=lambda f: lambda a, w: f(a, axis=-1, weights=w),
            shapes=(((2, 3), (3,)), ((4,), (4,)), ((2, 1, 3), (3,))), dtypes=ANY),
    np_case("quantile", ("x", "prob"), shapes=(((2, 3), ()), ((5,), (2,)), ((2, 1, 3), (3,))),
            dtypes=ANY),
    red_case("quantile", kw=dict(q=0.3, axis=-1, method="nearest"), dtypes=ANY),
    red_case("percentile", kw=dict(q=[10.0, 75.0], axis=0), dtypes=ANY),
    np_case("nanquantile", ("xnan",), kw=dict(q=0.4, axis=-1), shapes=NAN_SHAPES,
            dtypes=REAL),
    np_case("nanpercentile", ("xnan",), kw=dict(q=60.0), shapes=NAN_SHAPES, dtypes=REAL),
    np_case("cov", ("x",), shapes=(((2, 4),), ((3, 5),), ((5,),)), dtypes=ANY),
    np_case("cov", ("x", "x"), kw=dict(rowvar=False, ddof=0),
            shapes=(((4, 2), (4, 1)), ((5,), (5,))), dtypes=ANY),
    np_case("corrcoef", ("x",), shapes=(((2, 4),), ((3, 5),)), dtypes=ANY),
]
