"""NumPy's ufuncs on fad.lax.

Each function calls the NumPy ufunc directly when no argument is a tracer. Traced, it
asks NumPy which loop it would run (``ufunc.resolve_dtypes``), converts the operands to
that loop's dtypes, computes with fad.lax primitives, and gives the result the loop's
output dtype; so dtypes follow NumPy 2 exactly. ``_IMPLS`` is the table of lax
implementations, one short function per ufunc, whose operands already share a dtype.

A tracer standing for a Python scalar (weakly typed) resolves as that scalar does
(``add(w, float32_array)`` is float32), and the result is strong, as NumPy's is
(``np.sin(2.0)`` is a NumPy float64). Python's operators on tracers (``python_operator``)
keep NEP 50's weak scalars instead: ``w * 2`` stands for a Python float, as ``2.0 * 2`` is.
"""
from __future__ import annotations

import numpy as np

from fad import lax
from fad.core import doc_examples as _doc_examples
from fad.core.dtypes import PYTHON_SCALAR_TYPES
from fad.core.trace import Tracer
from fad.errors import TracerArrayConversionError
from fad.numpy._promote import (cast, dtype_key, dtype_of, is_weak, operand, shape_of,
                                traced_sequences_as_arrays, ufunc_dtypes, weak_cast)


def apply_ufunc(ufunc, impl, args, weak=False):
    """Run ``impl`` (a lax implementation of ``ufunc``) with NumPy's dtype resolution. The
    result is strong, or, if ``weak`` (a Python operator) and every operand stands for a
    Python scalar, weak."""
    args = [operand(a) for a in args]
    ins, outs = ufunc_dtypes(ufunc, tuple(dtype_key(a) for a in args))
    if len(set(ins)) > 1:   # mixed loops (int64 vs uint64 comparisons): compute in float
        ins = (np.result_type(*ins),) * len(ins)
    convert = weak_cast if weak and all(is_weak(a) for a in args) else cast
    out = impl(*[convert(a, dt) for a, dt in zip(args, ins)])
    if ufunc.nout == 1:
        return convert(out, outs[0])
    return tuple(convert(o, d) for o, d in zip(out, outs))


def _loop_dtype(ufunc, keys):
    """The one dtype the loop for ``keys`` computes and returns in, or ``None`` when the
    loop casts (then ``apply_ufunc`` does the general work)."""
    ins, outs = ufunc_dtypes(ufunc, keys)
    dt = ins[0]
    if all(d == dt for d in ins) and all(d == dt for d in outs):
        return dt
    return None


def _make(ufunc, impl, name=None):
    """The fad.numpy function for ``ufunc``: NumPy directly unless an argument is traced.

    Traced calls whose loop computes in the operands' own dtype (``sin`` of float64,
    ``x * 2.0``) skip the general dtype machinery: a per-ufunc table remembers, for each
    combination of operand dtypes, whether that is so. (Not when every operand is weak:
    ``apply_ufunc`` makes their result strong.)
    """
    same_dtype = {}  # dtype keys -> the loop dtype, or None

    if ufunc.nin == 1:
        def fn(x, /):
            if isinstance(x, Tracer):
                aval = x.aval
                if not aval.weak_type:
                    dt = same_dtype.get(aval.dtype, False)
                    if dt is False:
                        dt = _loop_dtype(ufunc, (aval.dtype,))
                        dt = same_dtype[aval.dtype] = dt if dt == aval.dtype else None
                    if dt is not None:
                        return impl(x)
                return apply_ufunc(ufunc, impl, (x,))
            try:
                return ufunc(x)
            except TracerArrayConversionError:   # (a list holding tracers: as an array)
                converted = traced_sequences_as_arrays((x,))
                if converted is None:
                    raise
                return fn(*converted)
    else:
        def fn(x, y, /):
            tx, ty = isinstance(x, Tracer), isinstance(y, Tracer)
            if tx or ty:
                if ((tx or type(x) in PYTHON_SCALAR_TYPES)
                        and (ty or type(y) in PYTHON_SCALAR_TYPES)):
                    # (dtype_key inlined for strongly typed tracers)
                    kx = x.aval.dtype if tx and not x.aval.weak_type else dtype_key(x)
                    ky = y.aval.dtype if ty and not y.aval.weak_type else dtype_key(y)
                    dt = same_dtype.get((kx, ky), False)
                    if dt is False:
                        dt = same_dtype[(kx, ky)] = (
                            _loop_dtype(ufunc, (kx, ky)) if isinstance(kx, np.dtype)
                            or isinstance(ky, np.dtype) else None)
                    if dt is not None:
                        return impl(x if kx is dt else _as(x, tx, dt),
                                    y if ky is dt else _as(y, ty, dt))
                return apply_ufunc(ufunc, impl, (x, y))
            try:
                return ufunc(x, y)
            except TracerArrayConversionError:   # (a list holding tracers: as an array)
                converted = traced_sequences_as_arrays((x, y))
                if converted is None:
                    raise
                return fn(*converted)
            except ValueError as err:   # (NumPy's words for shapes: fad's, as traced)
                raise _broadcast_error(fn.__name__, x, y, err) from None
    fn.__name__ = fn.__qualname__ = name or ufunc.__name__
    fn.__doc__ = (f"Like ``numpy.{fn.__name__}``; traceable and differentiable.\n\n"
                  f"{_doc_examples.example(f'fnp.{fn.__name__}', fn.__name__, ufunc.nin)}\n")
    fn.ufunc = ufunc
    fn.impl = impl
    return fn


def _broadcast_error(name, x, y, err):
    """The error of ``name(x, y)`` on NumPy values that NumPy refused with ``err``: where
    the shapes do not broadcast, the one the traced operation gives."""
    shapes = np.shape(x), np.shape(y)
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return ValueError(f"{name}: operand shapes {shapes[0]}, {shapes[1]} do not broadcast "
                          "together (NumPy broadcasting rules)")
    return err


def python_operator(fn):
    """The Python operator for the fad.numpy ufunc ``fn``: ``fn``, except that operands
    which all stand for Python scalars give a weak result, as Python's operators on
    Python scalars give a Python scalar (NEP 50).

    >>> import fad
    >>> fad.jit(lambda w: (w - 1) * np.ones(2, np.float32))(3)   # w - 1 is a Python int
    array([2., 2.], dtype=float32)
    """
    if fn.ufunc.nin == 1:
        def op(x):
            if x.aval.weak_type:
                return apply_ufunc(fn.ufunc, fn.impl, (x,), weak=True)
            return fn(x)
    else:
        def op(x, y):
            if is_weak(x) and is_weak(y):
                return apply_ufunc(fn.ufunc, fn.impl, (x, y), weak=True)
            return fn(x, y)
    op.__name__ = op.__qualname__ = f"{fn.__name__}_operator"
    return op


def _as(x, traced, dtype):
    if traced:
        return x if x.aval.dtype == dtype else cast(x, dtype)
    return dtype.type(x)  # a Python scalar


# -- small helpers on same-dtype operands ----------------------------------------------------

def const(x, value):
    """``value`` as a scalar of ``x``'s dtype."""
    return np.asarray(value, dtype_of(x))[()]


def _kind(x):
    return dtype_of(x).kind


def _falses(x):
    return lax.full(shape_of(x), False, np.bool_)


def _isnan(x):
    return lax.ne(x, x) if _kind(x) in "fc" else _falses(x)


def _truthy(x):
    return x if _kind(x) == "b" else lax.ne(x, const(x, 0))


def _signbit(x):
    if _kind(x) != "f":
        return lax.lt(x, const(x, 0)) if _kind(x) == "i" else _falses(x)
    return lax.signbit(x)   # the sign bit itself: of -0.0 and of NaNs too


def _identity(x):
    return x


def _int_only(float_impl):
    """Floats go to ``float_impl``; integers and bools are their own value."""
    return lambda x: float_impl(x) if _kind(x) in "fc" else x


def _scaling(ufunc):
    """``x * c`` for a ufunc that multiplies by a constant (``deg2rad``): ``c`` is the
    ufunc's own value at 1, so the product rounds exactly as NumPy's loop does."""
    return lambda x: lax.mul(x, ufunc(dtype_of(x).type(1)))


def _abs(x):
    return x if _kind(x) == "b" else lax.abs(x)


def _reciprocal(x):
    if _kind(x) in "fc":
        return lax.reciprocal(x)
    keep = lax.eq(x, const(x, 1))             # integer 1/x: only +-1 survive truncation
    if _kind(x) == "i":
        keep = lax.bitwise_or(keep, lax.eq(x, const(x, -1)))
    return lax.select_n(keep, lax.mul(x, const(x, 0)), x)


def _trunc(x):
    return lax.select_n(lax.lt(x, const(x, 0)), lax.floor(x), lax.ceil(x))


def _isinf(x):
    if _kind(x) == "c":
        return lax.bitwise_or(_isinf(lax.real(x)), _isinf(lax.imag(x)))
    if _kind(x) != "f":
        return _falses(x)
    return lax.eq(lax.abs(x), const(x, np.inf))


def _isfinite(x):
    return lax.is_finite(x) if _kind(x) in "fc" else lax.eq(x, x)


# -- binary -----------------------------------------------------------------------------------

def _add(x, y):
    return lax.bitwise_or(x, y) if _kind(x) == "b" else lax.add(x, y)


def _int_mod(x, y):
    zero = const(x, 0)
    nonzero = lax.ne(y, zero)
    safe_y = lax.select_n(nonzero, const(x, 1), y)
    mod = lax.rem(x, safe_y)
    if _kind(x) == "i":
        adjust = lax.bitwise_and(lax.ne(mod, zero), lax.ne(lax.lt(mod, zero), lax.lt(y, zero)))
        mod = lax.select_n(adjust, mod, lax.add(mod, y))
    return lax.select_n(nonzero, lax.mul(mod, zero), mod)


def _int_floor_divide(x, y):
    """Integer floor division, computed exactly in float64 for |values| < 2**53."""
    mod = _int_mod(x, y)
    nonzero = lax.ne(y, const(y, 0))
    safe_y = lax.convert_element_type(lax.select_n(nonzero, const(x, 1), y), np.float64)
    q = lax.div(lax.convert_element_type(lax.sub(x, mod), np.float64), safe_y)
    q = lax.convert_element_type(lax.round(q), dtype_of(x))
    return lax.select_n(nonzero, lax.mul(q, const(x, 0)), q)


def _divmod(x, y):
    if _kind(x) == "f":
        return lax.floor_divide(x, y), lax.mod(x, y)
    if _kind(x) == "b":
        raise TypeError("fad.numpy: floor division and remainder of booleans are not "
                        "supported; convert to an integer dtype first")
    return _int_floor_divide(x, y), _int_mod(x, y)


def _power(x, y):
    if _kind(x) in "fc":
        return lax.pow(x, y)
    f = lax.pow(lax.convert_element_type(x, np.float64), lax.convert_element_type(y, np.float64))
    return lax.convert_element_type(lax.round(f), dtype_of(x))


def _fmax_fmin(op):
    def impl(x, y):
        if _kind(x) not in "fc":
            return op(x, y)
        return lax.select_n(_isnan(y), lax.select_n(_isnan(x), op(x, y), y), x)
    return impl


def _logical(op):
    return lambda x, y: op(_truthy(x), _truthy(y))


def _ordered(op, strict):
    """The comparison ``op`` (``lax.lt``...), extended to complex operands in NumPy's
    order: by real parts (``strict``, the strict form of ``op``, and neither imaginary
    part NaN), then, where the real parts are equal, by imaginary parts."""
    def impl(x, y):
        if _kind(x) != "c":
            return op(x, y)
        rx, ry, ix, iy = lax.real(x), lax.real(y), lax.imag(x), lax.imag(y)
        by_real = lax.bitwise_and(strict(rx, ry),
                                  lax.bitwise_not(lax.bitwise_or(_isnan(ix), _isnan(iy))))
        return lax.bitwise_or(by_real, lax.bitwise_and(lax.eq(rx, ry), op(ix, iy)))
    return impl


def _rint(x):
    """Round half to even; complex numbers part by part, as ``numpy.rint`` does."""
    if _kind(x) == "c":
        return lax.complex(lax.round(lax.real(x)), lax.round(lax.imag(x)))
    return lax.round(x) if _kind(x) == "f" else x


_IMPLS = {
    np.exp: lax.exp, np.exp2: lax.exp2, np.expm1: lax.expm1, np.log: lax.log,
    np.log1p: lax.log1p, np.log2: lax.log2, np.log10: lax.log10,
    np.sin: lax.sin, np.cos: lax.cos, np.tan: lax.tan, np.arcsin: lax.asin,
    np.arccos: lax.acos, np.arctan: lax.atan, np.sinh: lax.sinh, np.cosh: lax.cosh,
    np.tanh: lax.tanh, np.arcsinh: lax.asinh, np.arccosh: lax.acosh,
    np.arctanh: lax.atanh, np.sqrt: lax.sqrt, np.cbrt: lax.cbrt, np.square: lax.square,
    np.absolute: _abs, np.fabs: lax.abs, np.sign: lax.sign, np.negative: lax.neg,
    np.positive: _identity, np.reciprocal: _reciprocal,
    np.conjugate: lambda x: lax.conj(x) if _kind(x) == "c" else x,
    np.floor: _int_only(lax.floor), np.ceil: _int_only(lax.ceil),
    np.trunc: _int_only(_trunc), np.rint: _rint,
    np.deg2rad: _scaling(np.deg2rad), np.rad2deg: _scaling(np.rad2deg),
    np.isfinite: _isfinite, np.isnan: _isnan, np.isinf: _isinf, np.signbit: _signbit,
    np.logical_not: lambda x: lax.eq(x, const(x, 0)) if _kind(x) != "b" else lax.bitwise_not(x),
    np.invert: lax.bitwise_not,
    np.add: _add, np.subtract: lax.sub, np.multiply: lax.mul, np.true_divide: lax.div,
    np.floor_divide: lambda x, y: _divmod(x, y)[0], np.remainder: lambda x, y: _divmod(x, y)[1],
    np.divmod: _divmod, np.fmod: lax.rem, np.power: _power, np.float_power: lax.float_power,
    np.maximum: lax.max, np.minimum: lax.min,
    np.fmax: _fmax_fmin(lax.max), np.fmin: _fmax_fmin(lax.min),
    np.arctan2: lax.atan2, np.hypot: lax.hypot, np.copysign: lax.copysign,
    np.nextafter: lax.nextafter, np.heaviside: lax.heaviside,
    np.logaddexp: lax.logaddexp, np.logaddexp2: lax.logaddexp2,
    np.equal: lax.eq, np.not_equal: lax.ne, np.less: _ordered(lax.lt, lax.lt),
    np.less_equal: _ordered(lax.le, lax.lt), np.greater: _ordered(lax.gt, lax.gt),
    np.greater_equal: _ordered(lax.ge, lax.gt),
    np.logical_and: _logical(lax.bitwise_and), np.logical_or: _logical(lax.bitwise_or),
    np.logical_xor: _logical(lax.bitwise_xor),
    np.bitwise_and: lax.bitwise_and, np.bitwise_or: lax.bitwise_or,
    np.bitwise_xor: lax.bitwise_xor, np.left_shift: lax.shift_left,
    np.right_shift: lax.shift_right,
}

UFUNCS = {}   # numpy ufunc -> fad.numpy function (used by __array_ufunc__)
for _ufunc, _impl in _IMPLS.items():
    UFUNCS[_ufunc] = globals()[_ufunc.__name__] = _make(_ufunc, _impl)


def power(x, y, /):
    """Like ``numpy.power``; a concrete integer exponent uses ``lax.integer_pow``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.power(np.array([1.0, 2.0, 3.0]), 2)
    array([1., 4., 9.])
    >>> fad.grad(fnp.power)(3.0, 2)
    np.float64(6.0)
    >>> fad.grad(fnp.power, argnums=1)(2.0, 3.0).round(3)
    np.float64(5.545)
    """
    if not isinstance(x, Tracer):
        if not isinstance(y, Tracer):
            return np.power(x, y)
    elif type(y) is int and x.aval.dtype.kind in "fc" and not x.aval.weak_type:  # x ** 2
        return lax.integer_pow(x, y)
    n = _static_integer(y)
    if n is None:
        return apply_ufunc(np.power, _power, (x, y))
    if dtype_of(operand(x)).kind in "iub" and n < 0 and not isinstance(y, float):
        raise ValueError("Integers to negative integer powers are not allowed.")
    return apply_ufunc(np.power, lambda a, b: lax.integer_pow(a, n), (x, y))


def _static_integer(y):
    """``y`` as an int if it is a concrete integer-valued scalar of moderate size."""
    if isinstance(y, Tracer) or np.ndim(y) != 0:
        return None
    y = y[()] if isinstance(y, np.ndarray) else y
    if isinstance(y, (bool, np.bool_)):
        return None
    if isinstance(y, (int, np.integer)):
        return int(y)
    if isinstance(y, (float, np.floating)) and float(y).is_integer() and abs(float(y)) <= 64:
        return int(y)
    return None


UFUNCS[np.power] = power
power.ufunc, power.impl = np.power, _power
# NumPy's other names for the same ufuncs (the functions above are made by the loop).
_f = UFUNCS.__getitem__
absolute = _f(np.absolute)
absolute.__name__ = "absolute"
abs = absolute  # noqa: A001
conj = _f(np.conjugate)
mod = _f(np.remainder)
true_divide = _f(np.divide)
degrees, radians = _f(np.rad2deg), _f(np.deg2rad)
bitwise_not = bitwise_invert = _f(np.invert)
bitwise_left_shift, bitwise_right_shift = _f(np.left_shift), _f(np.right_shift)
acos, asin, atan, atan2 = _f(np.arccos), _f(np.arcsin), _f(np.arctan), _f(np.arctan2)
acosh, asinh, atanh = _f(np.arccosh), _f(np.arcsinh), _f(np.arctanh)
pow = power  # noqa: A001

__all__ = sorted({f.__name__ for f in UFUNCS.values()} | {
    "abs", "conj", "mod", "true_divide", "degrees", "radians", "bitwise_not", "bitwise_invert",
    "bitwise_left_shift", "bitwise_right_shift", "acos", "asin", "atan", "atan2", "acosh",
    "asinh", "atanh", "pow", "power"})
