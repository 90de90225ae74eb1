"""Elementwise functions that are not ufuncs: where, clip, round, real/imag, angle, sinc,
isclose."""
from __future__ import annotations

import numpy as np

from fad import lax
from fad.core.trace import Tracer
from fad.errors import ConcretizationTypeError
from fad.numpy import _reductions
from fad.numpy import _ufuncs as uf
from fad.numpy._promote import (asarray, cast, concrete_or_none, dtype_of, operand, promote,
                                promote_inexact, shape_of, weak_cast)


def where(condition, x=None, y=None, /):
    """``numpy.where(condition, x, y)``: ``x`` where ``condition`` holds, else ``y``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.where(np.array([True, False]), np.array([1, 2]), np.array([10, 20]))
    array([ 1, 20])
    >>> fad.grad(lambda x: fnp.where(x > 0, x ** 2, -x))(3.0)
    np.float64(6.0)
    """
    if not (isinstance(condition, Tracer) or isinstance(x, Tracer) or isinstance(y, Tracer)):
        return np.where(condition) if x is None and y is None else np.where(condition, x, y)
    if x is None or y is None:
        raise ValueError("fad.numpy.where needs all three arguments when tracing: the "
                         "one-argument form has a data-dependent shape")
    # (NumPy's where lets Python scalars adopt the other operand's dtype, as ufuncs do)
    condition, x, y = operand(condition), operand(x), operand(y)
    x, y = promote(x, y)
    if dtype_of(condition).kind != "b":
        condition = uf.not_equal(condition, 0)
    return _broadcast(lax.select_n(condition, y, x), condition, x, y)


def clip(a, a_min=np._NoValue, a_max=np._NoValue, out=None, *, min=np._NoValue,  # noqa: A002
         max=np._NoValue):  # noqa: A002
    """Like ``numpy.clip``: ``minimum(maximum(a, a_min), a_max)``; either bound may be None.

    >>> clip(np.array([-2.0, 0.5, 3.0]), 0.0, 1.0)
    array([0. , 0.5, 1. ])
    """
    lo = a_min if a_min is not np._NoValue else min
    hi = a_max if a_max is not np._NoValue else max
    lo = None if lo is np._NoValue else lo
    hi = None if hi is np._NoValue else hi
    if not (isinstance(a, Tracer) or isinstance(lo, Tracer) or isinstance(hi, Tracer)):
        return np.clip(a, lo, hi, out=out)
    if out is not None:
        raise TypeError("fad.numpy.clip does not support out= on traced values")
    a = asarray(a)   # (NumPy's clip makes an array of ``a``, but not of the bounds)
    if lo is not None and hi is not None:
        a, lo, hi = promote(a, operand(lo), operand(hi))
        if dtype_of(a).kind != "c":   # (lax.clamp is for real numbers)
            return _broadcast(lax.clamp(lo, a, hi), a, lo, hi)
    if lo is not None:
        a = uf.maximum(a, lo)
    if hi is not None:
        a = uf.minimum(a, hi)
    return a


def _broadcast(out, *operands):
    """``out`` broadcast to the shape NumPy gives for ``operands``."""
    shape = np.broadcast_shapes(*(shape_of(x) for x in operands))
    return lax.broadcast_to(out, shape) if shape_of(out) != shape else out


def round(a, decimals=0, out=None):  # noqa: A001
    """Like ``numpy.round``: round half to even, to ``decimals`` decimal places.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.round(np.array([1.234, 5.678]), 1)
    array([1.2, 5.7])
    >>> fnp.round(np.array([0.5, 1.5, 2.5]))
    array([0., 2., 2.])
    """
    if not isinstance(a, Tracer):
        return np.round(a, decimals, out)
    a = asarray(a)
    kind = dtype_of(a).kind
    if kind == "c":
        return lax.complex(round(lax.real(a), decimals), round(lax.imag(a), decimals))
    if kind in "iub":
        if decimals >= 0:
            return a
        f = 10 ** -decimals
        return cast(uf.multiply(uf.rint(uf.true_divide(a, f)), f), dtype_of(a))
    if decimals == 0:
        return lax.round(a)
    if decimals > 0:
        f = np.asarray(10.0 ** decimals, dtype_of(a))[()]
        return lax.div(lax.round(lax.mul(a, f)), f)
    f = np.asarray(10.0 ** -decimals, dtype_of(a))[()]
    return lax.mul(lax.round(lax.div(a, f)), f)


around = round_ = round


def real(val):
    """Like ``numpy.real`` (of a Python scalar, or a tracer standing for one, the scalar
    itself, weak: NumPy returns ``val.real``).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.real(np.array([1 + 2j, 3 - 1j]))
    array([1., 3.])
    """
    if not isinstance(val, Tracer):
        return np.real(val)
    return lax.real(val) if dtype_of(val).kind == "c" else val


def imag(val):
    """Like ``numpy.imag``: zeros for real input.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.imag(np.array([1 + 2j, 3 - 1j]))
    array([ 2., -1.])
    >>> fnp.imag(np.array([1.0, 2.0]))
    array([0., 0.])
    """
    if not isinstance(val, Tracer):
        return np.imag(val)
    if dtype_of(val).kind == "c":
        return lax.imag(val)
    if val.aval.weak_type and not shape_of(val):
        return weak_cast(0, dtype_of(val))   # NumPy's imag of a Python scalar: a Python 0
    return lax.full(shape_of(val), 0, dtype_of(val))


def angle(z, deg=False):
    """Like ``numpy.angle``: the argument of a complex number, in radians or degrees.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.angle(np.array([1j, -1.0]), deg=True)
    array([ 90., 180.])
    """
    if not isinstance(z, Tracer):
        return np.angle(z, deg)
    if dtype_of(z).kind == "c":
        out = lax.atan2(lax.imag(z), lax.real(z))
    else:
        (z,) = promote_inexact(z)
        out = lax.atan2(lax.full(shape_of(z), 0, dtype_of(z)), z)
    return uf.rad2deg(out) if deg else out


def sinc(x):
    """Like ``numpy.sinc``: ``sin(pi x) / (pi x)``, 1 at 0.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.sinc(np.array([0.0, 1.0, 0.5])).round(3)
    array([1.   , 0.   , 0.637])
    >>> fad.grad(fnp.sinc)(0.0)
    np.float64(0.0)
    """
    if not isinstance(x, Tracer):
        return np.sinc(x)
    x, tiny = promote(x, 1.0e-20)   # NumPy's dtype: where(x == 0, 1e-20, x)
    # For |x| < 1e-20, where NumPy's sin(pi x) / (pi x) is 1.0, the Maclaurin series
    # 1 - y**2 / 6 + y**4 / 120 of y = pi x: 1.0 as well, with sinc's derivatives at 0 up to
    # the fourth (-pi**2 / 3 the second), where x replaced by the constant 1e-20 would have
    # them all 0, and sin(y) / y at a subnormal x a NaN derivative (cos(y) / y - 1 / y with
    # 1 / y overflowing: inf - inf). Each branch sees a harmless operand where unused.
    # (Complex: at x == 0 only, as NumPy, whose complex division of tiny numbers is not 1.)
    small = uf.equal(x, 0) if dtype_of(x).kind == "c" else uf.less(uf.absolute(x), tiny)
    y = uf.multiply(np.pi, where(small, tiny, x))
    y0 = uf.multiply(np.pi, where(small, x, 0))
    y0_squared = uf.multiply(y0, y0)
    series = uf.add(1, uf.multiply(y0_squared, uf.add(-1 / 6, uf.true_divide(y0_squared, 120))))
    # (a division last, series / 1 where small: NumPy's result type, a scalar for a scalar)
    return uf.true_divide(where(small, series, uf.sin(y)), where(small, 1, y))


def fix(x):
    """Like ``numpy.fix``: round towards zero.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.fix(np.array([-1.7, 1.7]))
    array([-1.,  1.])
    """
    return uf.trunc(x) if isinstance(x, Tracer) else np.fix(x)


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Like ``numpy.isclose``: ``|a - b| <= atol + rtol |b|``, infinities equal to themselves.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.isclose(np.array([1.0, 1.0]), np.array([1.0 + 1e-9, 1.1]))
    array([ True, False])
    """
    if not isinstance(a, Tracer) and not isinstance(b, Tracer):
        return np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    a, b = promote_inexact(operand(a), operand(b))
    with np.errstate(invalid="ignore"):
        close = uf.less_equal(uf.absolute(uf.subtract(a, b)),
                              uf.add(atol, uf.multiply(rtol, uf.absolute(b))))
    out = uf.logical_or(uf.logical_and(close, uf.isfinite(b)), uf.equal(a, b))
    if equal_nan:
        out = uf.logical_or(out, uf.logical_and(uf.isnan(a), uf.isnan(b)))
    return out


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Like ``numpy.allclose``; on tracers, a traced boolean scalar.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> bool(fnp.allclose(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9])))
    True
    """
    if not isinstance(a, Tracer) and not isinstance(b, Tracer):
        return np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    return _reductions.all(isclose(a, b, rtol, atol, equal_nan))


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """Like ``numpy.nan_to_num``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.nan_to_num(np.array([np.nan, np.inf, 1.0]), posinf=9.0)
    array([0., 9., 1.])
    """
    if not isinstance(x, Tracer):
        return np.nan_to_num(x, copy=copy, nan=nan, posinf=posinf, neginf=neginf)
    x = asarray(x)
    if dtype_of(x).kind == "c":
        return lax.complex(nan_to_num(lax.real(x), nan=nan, posinf=posinf, neginf=neginf),
                           nan_to_num(lax.imag(x), nan=nan, posinf=posinf, neginf=neginf))
    if dtype_of(x).kind != "f":
        return x
    info = np.finfo(dtype_of(x))
    x = where(uf.isnan(x), nan, x)
    x = where(uf.equal(x, np.inf), info.max if posinf is None else posinf, x)
    return where(uf.equal(x, -np.inf), info.min if neginf is None else neginf, x)


def iscomplex(x):
    """Like ``numpy.iscomplex``: whether each element has a nonzero imaginary part (all
    ``False`` for a real dtype).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.iscomplex(np.array([1 + 1j, 2 + 0j]))
    array([ True, False])
    """
    if not isinstance(x, Tracer):
        return np.iscomplex(x)
    x = asarray(x)
    if dtype_of(x).kind == "c":
        return uf.not_equal(lax.imag(x), 0)
    return lax.full(shape_of(x), False, np.dtype(bool))


def isreal(x):
    """Like ``numpy.isreal``: whether each element has a zero imaginary part.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.isreal(np.array([1 + 1j, 2 + 0j]))
    array([False,  True])
    """
    if not isinstance(x, Tracer):
        return np.isreal(x)
    return uf.equal(imag(asarray(x)), 0)


def real_if_close(a, tol=100):
    """Like ``numpy.real_if_close``: the real part of complex ``a`` if every imaginary part
    is below ``tol`` machine epsilons (or ``tol`` itself if ``tol <= 1``), else ``a``.

    The result's dtype depends on the values, so they must be known: eagerly and under
    ``grad``/``jvp`` this works; under ``jit`` and ``vmap`` it raises
    ``ConcretizationTypeError`` (use ``fad.numpy.real`` to choose the real part
    explicitly).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.real_if_close(np.array([1 + 1e-15j, 2 + 0j]))
    array([1., 2.])
    """
    if not isinstance(a, Tracer):
        return np.real_if_close(a, tol)
    a = asarray(a)
    if dtype_of(a).kind != "c":
        return a
    if tol > 1:
        tol = np.finfo(dtype_of(a)).eps * tol
    small = concrete_or_none(_reductions.all(uf.less(uf.absolute(lax.imag(a)), tol)))
    if small is None:
        raise ConcretizationTypeError(
            "fad.numpy.real_if_close: whether the result is real depends on the values, "
            "which are abstract under jit/vmap; choose explicitly with fad.numpy.real(a) "
            "(or keep a), or call it outside jit/vmap")
    return lax.real(a) if small else a


__all__ = ["where", "clip", "round", "around", "round_", "real", "imag", "angle", "sinc",
           "fix", "isclose", "allclose", "nan_to_num", "iscomplex", "isreal", "real_if_close"]
