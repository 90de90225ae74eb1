"""The docstring examples of the generated elementwise functions (``fad.lax.sin``,
``fad.numpy.sin``...): one row per function, written once here and turned into an
example by ``example``, so that every function the factories make shows a value checked
against NumPy (or a closed form) and, where it has one, its derivative.

A row is ``(operands, reference, derivative)``: ``operands`` are the sample operand
values as source text (``"0.5"``; ``"i:12, 10"`` for integers, ``"b:"`` booleans,
``"c:"`` complex numbers); ``reference`` is ``None`` when the result equals NumPy's
function of the same name exactly, else an expression in ``x`` (and ``y``) it is close
to; ``derivative`` is the derivative in the first operand, an expression in ``x`` (and
``y``), or ``None`` for a function that has none worth showing (comparisons, integers).

>>> example("fnp.sin", "sin", 1).splitlines()[2:]
['>>> bool(fad.jit(fnp.sin)(x) == np.sin(x))', 'True',
'>>> bool(np.isclose(fad.grad(fnp.sin)(x), np.cos(x)))', 'True']
"""
from __future__ import annotations

# NumPy's ufuncs, by name.
NUMPY = {
    "exp": ("0.5", None, "np.exp(x)"),
    "exp2": ("0.5", None, "np.exp2(x) * np.log(2)"),
    "expm1": ("0.5", None, "np.exp(x)"),
    "log": ("0.5", None, "1 / x"),
    "log1p": ("0.5", None, "1 / (1 + x)"),
    "log2": ("0.5", None, "1 / (x * np.log(2))"),
    "log10": ("0.5", None, "1 / (x * np.log(10))"),
    "sin": ("0.5", None, "np.cos(x)"),
    "cos": ("0.5", None, "-np.sin(x)"),
    "tan": ("0.5", None, "1 / np.cos(x) ** 2"),
    "arcsin": ("0.5", None, "1 / np.sqrt(1 - x ** 2)"),
    "arccos": ("0.5", None, "-1 / np.sqrt(1 - x ** 2)"),
    "arctan": ("0.5", None, "1 / (1 + x ** 2)"),
    "sinh": ("0.5", None, "np.cosh(x)"),
    "cosh": ("0.5", None, "np.sinh(x)"),
    "tanh": ("0.5", None, "1 - np.tanh(x) ** 2"),
    "arcsinh": ("0.5", None, "1 / np.sqrt(x ** 2 + 1)"),
    "arccosh": ("2.0", None, "1 / np.sqrt(x ** 2 - 1)"),
    "arctanh": ("0.5", None, "1 / (1 - x ** 2)"),
    "sqrt": ("4.0", None, "0.5 / np.sqrt(x)"),
    "cbrt": ("8.0", None, "1 / (3 * np.cbrt(x) ** 2)"),
    "square": ("3.0", None, "2 * x"),
    "absolute": ("-1.5", None, "np.sign(x)"),
    "fabs": ("-1.5", None, "np.sign(x)"),
    "sign": ("-1.5", None, "0.0"),
    "negative": ("1.5", None, "-1.0"),
    "positive": ("1.5", None, "1.0"),
    "reciprocal": ("4.0", None, "-1 / x ** 2"),
    "conjugate": ("c:1+2j", None, None),
    "floor": ("1.5", None, "0.0"),
    "ceil": ("1.5", None, "0.0"),
    "trunc": ("-1.5", None, "0.0"),
    "rint": ("2.5", None, "0.0"),
    "deg2rad": ("90.0", None, "np.pi / 180"),
    "rad2deg": ("1.0", None, "180 / np.pi"),
    "isfinite": ("1.5", None, None),
    "isnan": ("np.nan", None, None),
    "isinf": ("np.inf", None, None),
    "signbit": ("-0.0", None, None),
    "logical_not": ("0.0", None, None),
    "invert": ("i:5", None, None),
    "add": ("1.5, 2.0", None, "1.0"),
    "subtract": ("1.5, 2.0", None, "1.0"),
    "multiply": ("1.5, 2.0", None, "y"),
    "divide": ("1.5, 2.0", None, "1 / y"),
    "floor_divide": ("7.0, 2.0", None, "0.0"),
    "remainder": ("7.0, 2.0", None, "1.0"),
    "divmod": ("7.0, 2.0", None, None),
    "fmod": ("7.0, 2.0", None, "1.0"),
    "power": ("1.5, 2.0", None, "y * x ** (y - 1)"),
    "float_power": ("1.5, 2.0", None, "y * x ** (y - 1)"),
    "maximum": ("1.5, 2.0", None, "0.0"),
    "minimum": ("1.5, 2.0", None, "1.0"),
    "fmax": ("1.5, 2.0", None, "0.0"),
    "fmin": ("1.5, 2.0", None, "1.0"),
    "arctan2": ("0.5, 2.0", None, "y / (x ** 2 + y ** 2)"),
    "hypot": ("3.0, 4.0", None, "x / np.hypot(x, y)"),
    "copysign": ("1.5, -2.0", None, "-1.0"),
    "nextafter": ("1.0, 2.0", None, None),
    "heaviside": ("0.5, 0.5", None, "0.0"),
    "logaddexp": ("0.5, 2.0", None, "np.exp(x) / (np.exp(x) + np.exp(y))"),
    "logaddexp2": ("0.5, 2.0", None, "2 ** x / (2 ** x + 2 ** y)"),
    "equal": ("1.5, 2.0", None, None),
    "not_equal": ("1.5, 2.0", None, None),
    "less": ("1.5, 2.0", None, None),
    "less_equal": ("1.5, 2.0", None, None),
    "greater": ("1.5, 2.0", None, None),
    "greater_equal": ("1.5, 2.0", None, None),
    "logical_and": ("b:True, False", None, None),
    "logical_or": ("b:True, False", None, None),
    "logical_xor": ("b:True, False", None, None),
    "bitwise_and": ("i:12, 10", None, None),
    "bitwise_or": ("i:12, 10", None, None),
    "bitwise_xor": ("i:12, 10", None, None),
    "left_shift": ("i:12, 2", None, None),
    "right_shift": ("i:12, 2", None, None),
}

# fad.lax's elementwise primitives, by primitive name: the name of the fad.lax function
# and the NumPy ufunc it computes (whose row it shares), or a row of its own.
LAX = {
    "neg": ("neg", "negative"), "mul": ("mul", "multiply"), "add": ("add", "add"),
    "sub": ("sub", "subtract"), "div": ("div", "divide"), "rem": ("rem", "fmod"),
    "pow": ("pow", "power"), "max": ("max", "maximum"), "min": ("min", "minimum"),
    "atan2": ("atan2", "arctan2"), "nextafter": ("nextafter", "nextafter"),
    "and": ("bitwise_and", "bitwise_and"), "or": ("bitwise_or", "bitwise_or"),
    "xor": ("bitwise_xor", "bitwise_xor"), "not": ("bitwise_not", "invert"),
    "shift_left": ("shift_left", "left_shift"), "shift_right": ("shift_right", "right_shift"),
    "eq": ("eq", "equal"), "ne": ("ne", "not_equal"), "lt": ("lt", "less"),
    "le": ("le", "less_equal"), "gt": ("gt", "greater"), "ge": ("ge", "greater_equal"),
    "sin": ("sin", "sin"), "cos": ("cos", "cos"), "tan": ("tan", "tan"),
    "asin": ("asin", "arcsin"), "acos": ("acos", "arccos"), "atan": ("atan", "arctan"),
    "sinh": ("sinh", "sinh"), "cosh": ("cosh", "cosh"), "tanh": ("tanh", "tanh"),
    "asinh": ("asinh", "arcsinh"), "acosh": ("acosh", "arccosh"),
    "atanh": ("atanh", "arctanh"), "exp": ("exp", "exp"), "exp2": ("exp2", "exp2"),
    "log": ("log", "log"), "log1p": ("log1p", "log1p"), "expm1": ("expm1", "expm1"),
    "sqrt": ("sqrt", "sqrt"), "cbrt": ("cbrt", "cbrt"), "square": ("square", "square"),
    "sign": ("sign", "sign"), "floor": ("floor", "floor"), "ceil": ("ceil", "ceil"),
    "round": ("round", "rint"), "is_finite": ("is_finite", "isfinite"),
    "conj": ("conj", "conjugate"), "hypot": ("hypot", "hypot"),
    "copysign": ("copysign", "copysign"), "mod": ("mod", "remainder"),
    "floor_divide": ("floor_divide", "floor_divide"),
    "float_power": ("float_power", "float_power"), "heaviside": ("heaviside", "heaviside"),
    "log2": ("log2", "log2"), "log10": ("log10", "log10"), "signbit": ("signbit", "signbit"),
    "reciprocal": ("reciprocal", "reciprocal"),
    "real": ("real", ("c:1+2j", "1.0", None)),
    "imag": ("imag", ("c:1+2j", "2.0", None)),
    "complex": ("complex", ("1.5, 2.0", "1.5 + 2j", None)),
    "rsqrt": ("rsqrt", ("4.0", "1 / np.sqrt(x)", "-0.5 * x ** -1.5")),
    "logistic": ("logistic", ("0.5", "1 / (1 + np.exp(-x))",
                              "np.exp(-x) / (1 + np.exp(-x)) ** 2")),
    "erf": ("erf", ("0.5", "math.erf(x)", "2 / np.sqrt(np.pi) * np.exp(-x ** 2)")),
    "erfc": ("erfc", ("0.5", "math.erfc(x)", "-2 / np.sqrt(np.pi) * np.exp(-x ** 2)")),
    "lgamma": ("lgamma", ("3.0", "np.log(2.0)", "1.5 - np.euler_gamma")),
    "digamma": ("digamma", ("1.0", "-np.euler_gamma", "np.pi ** 2 / 6")),
    "erf_inv": ("erf_inv", ("0.0", "0.0", "np.sqrt(np.pi) / 2")),
    "ndtri": ("ndtri", ("0.5", "0.0", "np.sqrt(2 * np.pi)")),
    "bessel_i0e": ("bessel_i0e", ("0.5", "np.i0(x) * np.exp(-x)", None)),
    "bessel_i1e": ("bessel_i1e", ("1.0", "0.2079104154", None)),
    "xlogy": ("xlogy", ("2.0, 3.0", "x * np.log(y)", "np.log(y)")),
    "xlog1py": ("xlog1py", ("2.0, 3.0", "x * np.log1p(y)", "np.log1p(y)")),
}

_KINDS = {"i": "np.int64", "b": "np.bool_", "c": "np.complex128"}


def _operands(text: str) -> tuple[list[str], str]:
    """The variable names and the assignment line for the sample operands ``text``."""
    kind, _, values = text.rpartition(":")
    wrap = _KINDS.get(kind, "np.float64")
    values = [v.strip() for v in values.split(",")]
    names = ["x", "y"][:len(values)]
    return names, f"{', '.join(names)} = {', '.join(f'{wrap}({v})' for v in values)}"


def example(call: str, numpy_name: str | None, nin: int, row=None, imports: str = "",
            jit: bool = True) -> str:
    """The example of the elementwise function spelled ``call`` (``"fnp.sin"``) whose
    NumPy counterpart is ``numpy_name`` (its row of ``NUMPY``; or ``row`` given), as
    doctest text; ``imports`` are extra modules the example imports (``"math"``)."""
    operands, reference, derivative = row or NUMPY[numpy_name.removeprefix("np.")]
    names, assign = _operands(operands)
    if len(names) != nin:
        raise ValueError(f"{call}: the example row has {len(names)} operands, not {nin}")
    args = ", ".join(names)
    module = "fad.numpy as fnp" if call.startswith("fnp.") else "fad.lax as lax"
    head = ", ".join(m for m in ("numpy as np", imports, "fad", module) if m)
    value = f"fad.jit({call})({args})" if jit else f"{call}({args})"
    lines = [f">>> import {head}", f">>> {assign}"]
    if reference is None:
        lines += [f">>> bool({value} == np.{numpy_name.removeprefix('np.')}({args}))", "True"]
    else:
        lines += [f">>> bool(np.isclose({value}, {reference}))", "True"]
    if derivative is not None:
        lines += [f">>> bool(np.isclose(fad.grad({call})({args}), {derivative}))", "True"]
    return "\n".join(lines)


def lax_example(prim_name: str, nin: int) -> str:
    """The example of the fad.lax function of the elementwise primitive ``prim_name``."""
    name, numpy_name = LAX[prim_name]
    if isinstance(numpy_name, tuple):
        return example(f"lax.{name}", None, nin, numpy_name, jit=False,
                       imports="math" if "math." in "".join(map(str, numpy_name)) else "")
    return example(f"lax.{name}", numpy_name, nin, jit=False)


def call_example(call: str, reference: str, operands: str, derivative: str | None = None,
                 exact: bool = False) -> str:
    """The example of a ``fad.numpy`` function made by a factory: ``call`` (an expression
    in ``x``, ``"fnp.max(x, axis=0)"``), jitted, against NumPy's ``reference``, on the
    operand ``x`` set by the source ``operands``; ``derivative``, a NumPy expression in
    ``x``, is the gradient of the sum of ``call``. ``exact``: compare bit for bit (boolean
    and integer results)."""
    compare = "np.array_equal" if exact else "np.allclose"
    lines = [">>> import numpy as np, fad, fad.numpy as fnp", f">>> x = {operands}",
             f">>> bool({compare}(fad.jit(lambda x: {call})(x), {reference}))", "True"]
    if derivative is not None:
        lines += [f">>> bool(np.allclose(fad.grad(lambda x: fnp.sum({call}))(x), "
                  f"{derivative}))", "True"]
    return "\n".join(lines)
