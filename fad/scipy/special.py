"""``scipy.special`` functions on fad.lax: numerically stable and differentiable.

Written with fad.numpy, so they work eagerly on NumPy arrays and inside every
transformation; the incomplete gamma and beta functions (``gammainc``, ``gammaincc``,
``betainc``, ``betaincc``) are primitives of their own, in ``fad.scipy._incomplete``.
"""
from __future__ import annotations

import numpy as np

import fad.numpy as fnp
from fad import lax
from fad.errors import ConcretizationTypeError
from fad.numpy._promote import asarray, concrete_or_none, operand, promote_inexact
from fad.scipy._incomplete import betainc, betaincc, gammainc, gammaincc


_SQRT_HALF = float(np.sqrt(0.5))


def _real_only(name, x):
    """``x``, refused (``TypeError``) if complex: fad's ``name`` is real only, and must not
    drop the imaginary part (SciPy's accepts complex numbers)."""
    if fnp.iscomplexobj(x):
        raise TypeError(f"fad.scipy.special.{name}: complex arguments are not supported "
                        f"(got {fnp.result_type(x)}): fad computes it for real arguments "
                        f"only; pass a real array (or scipy.special.{name} for complex ones)")
    return x


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """``log(sum(b * exp(a), axis))`` computed stably (the maximum is factored out).

    >>> float(logsumexp(np.array([1000.0, 1000.0])))  # doctest: +ELLIPSIS
    1000.693...
    """
    (a,) = promote_inexact(asarray(a))
    if b is not None:
        a, b = promote_inexact(a, operand(b))   # (a Python float weight adopts a's dtype)
        a, b = fnp.broadcast_arrays(a, b)
    # an empty reduction is log(0) = -inf, as in SciPy (max needs an initial value there)
    initial = -np.inf if 0 in fnp.shape(a) else None
    amax = lax.stop_gradient(fnp.max(a, axis=axis, keepdims=True, initial=initial))
    amax = fnp.where(fnp.isfinite(amax), amax, 0)
    e = fnp.exp(fnp.subtract(a, amax))
    if b is not None:
        e = fnp.multiply(b, e)
    s = fnp.sum(e, axis=axis, keepdims=keepdims)
    amax = amax if keepdims else fnp.squeeze(amax, axis=axis) if axis is not None else \
        fnp.reshape(amax, ())
    if return_sign:   # sum = exp(amax) s: log|sum| and sum / |sum| (complex for complex a)
        sign = fnp.sign(s)
        if fnp.iscomplexobj(amax):
            sign = fnp.multiply(_unit(s), fnp.exp(fnp.multiply(1j, fnp.imag(amax))))
            amax = fnp.real(amax)
        with np.errstate(divide="ignore"):   # (a zero sum: -inf, as in SciPy)
            return fnp.add(fnp.log(fnp.absolute(s)), amax), sign
    with np.errstate(divide="ignore"):
        return fnp.add(fnp.log(s), amax)


def _unit(z):
    """``z / |z|`` (0 at 0) for complex ``z``: ``sign(z)``, written out so that it has its
    derivative (``sign``'s is 0, which is right only for real numbers)."""
    r = fnp.absolute(z)
    zero = fnp.equal(r, 0)
    return fnp.where(zero, 0, fnp.true_divide(z, fnp.where(zero, 1, r)))


def softmax(x, axis=None):
    """``exp(x) / sum(exp(x), axis)``, computed stably; the gradient of ``logsumexp``.

    >>> import fad
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> bool(np.allclose(softmax(x), np.exp(x) / np.sum(np.exp(x))))
    True
    >>> bool(np.allclose(fad.grad(logsumexp)(x), softmax(x)))
    True
    """
    (x,) = promote_inexact(asarray(x))
    shifted = fnp.subtract(x, lax.stop_gradient(fnp.max(x, axis=axis, keepdims=True)))
    e = fnp.exp(shifted)
    return fnp.true_divide(e, fnp.sum(e, axis=axis, keepdims=True))


def log_softmax(x, axis=None):
    """``x - logsumexp(x, axis)``, computed stably.

    >>> print(log_softmax(np.array([1000.0, 0.0])))   # (exp(1000.0) overflows)
    [    0. -1000.]
    """
    (x,) = promote_inexact(asarray(x))
    shifted = fnp.subtract(x, lax.stop_gradient(fnp.max(x, axis=axis, keepdims=True)))
    return fnp.subtract(shifted, fnp.log(fnp.sum(fnp.exp(shifted), axis=axis, keepdims=True)))


_REAL_ONLY = " Real arguments only: complex ones are a ``TypeError`` (SciPy accepts them)."


def _real_float(name, lax_fn, doc="", example=""):
    """``scipy.special.name`` as the real-only ``lax_fn`` (``expit`` takes complex too);
    ``example`` (doctest lines) ends its docstring."""
    def fn(x):
        (x,) = promote_inexact(asarray(x))
        return lax_fn(x if lax_fn is lax.logistic else _real_only(name, x))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Like ``scipy.special.{name}``.{doc}\n\n{example}"
    return fn


expit = _real_float("expit", lax.logistic, " ``1 / (1 + exp(-x))``.", """\
>>> import fad
>>> print(expit(np.array([-np.inf, 0.0, np.inf])))
[0.  0.5 1. ]
>>> float(fad.grad(expit)(0.0))   # expit(x) (1 - expit(x))
0.25
""")
erf = _real_float("erf", lax.erf, _REAL_ONLY, """\
>>> import fad
>>> print(erf(np.array([-np.inf, 0.0, np.inf])))
[-1.  0.  1.]
>>> bool(np.isclose(fad.grad(erf)(0.0), 2 / np.sqrt(np.pi)))
True
""")
erfc = _real_float("erfc", lax.erfc, _REAL_ONLY, """\
>>> print(f"{float(erfc(10.0)):.6e}")   # 1 - erf(10.0) would be 0
2.088488e-45
""")
erfinv = _real_float("erfinv", lax.erf_inv, " ``erf(erfinv(y)) == y``; +-inf at +-1.", """\
>>> print(erfinv(np.array([-1.0, 0.0, 1.0])))
[-inf   0.  inf]
>>> bool(np.isclose(erfinv(erf(0.3)), 0.3))
True
""")
ndtri = _real_float("ndtri", lax.ndtri, " The inverse of ``ndtr``, accurate down to the "
                    "smallest probabilities.", """\
>>> print(f"{float(ndtri(0.975)):.6f}")
1.959964
>>> bool(np.isclose(ndtri(ndtr(-30.0)), -30.0))   # ndtr(-30.0) is about 5e-198
True
""")
gammaln = _real_float("gammaln", lax.lgamma, " ``log|gamma(x)|``.", """\
>>> bool(np.isclose(gammaln(0.5), np.log(np.sqrt(np.pi))))   # gamma(1/2) = sqrt(pi)
True
>>> print(f"{float(gammaln(1000.0)):.6f}")   # (gamma(1000.0) overflows)
5905.220423
""")
digamma = psi = _real_float("digamma", lax.digamma, " The derivative of ``gammaln``."
                            + _REAL_ONLY, """\
>>> import fad
>>> print(f"{float(digamma(1.0)):.6f}")   # minus the Euler-Mascheroni constant
-0.577216
>>> bool(np.isclose(fad.grad(gammaln)(3.0), digamma(3.0)))
True
""")
i0e = _real_float("i0e", lax.bessel_i0e, " ``exp(-|x|) i0(x)``.", """\
>>> import scipy.special
>>> bool(np.isclose(i0e(1000.0), scipy.special.i0e(1000.0)))   # (i0(1000.0) overflows)
True
""")
i1e = _real_float("i1e", lax.bessel_i1e, " ``exp(-|x|) i1(x)``.", """\
>>> import scipy.special
>>> bool(np.isclose(i1e(1000.0), scipy.special.i1e(1000.0)))
True
""")


def erfcinv(y):
    """Like ``scipy.special.erfcinv``: ``erfc(erfcinv(y)) == y`` for ``0 <= y <= 2``.

    >>> print(erfcinv(np.array([0.0, 2.0])))
    [ inf -inf]
    >>> bool(np.isclose(erfcinv(erfc(0.3)), 0.3))
    True
    """
    (y,) = promote_inexact(asarray(y))
    # (Python floats: they adopt y's dtype, so float32 stays float32 as in SciPy)
    return fnp.multiply(fnp.negative(lax.ndtri(fnp.multiply(y, 0.5))), _SQRT_HALF)


def i0(x):
    """Like ``scipy.special.i0``: the modified Bessel function of order 0
    (``exp(|x|) i0e(x)``; inf beyond about 713).

    >>> import scipy.special
    >>> float(i0(0.0))
    1.0
    >>> bool(np.isclose(i0(1.5), scipy.special.i0(1.5)))
    True
    """
    (x,) = promote_inexact(asarray(x))
    return fnp.multiply(fnp.exp(fnp.absolute(x)), lax.bessel_i0e(x))


def i1(x):
    """Like ``scipy.special.i1``: the modified Bessel function of order 1
    (``exp(|x|) i1e(x)``).

    >>> import fad
    >>> float(i1(0.0))
    0.0
    >>> bool(np.isclose(fad.grad(i0)(1.5), i1(1.5)))   # i0' = i1
    True
    """
    (x,) = promote_inexact(asarray(x))
    return fnp.multiply(fnp.exp(fnp.absolute(x)), lax.bessel_i1e(x))


def polygamma(n, x):
    """Like ``scipy.special.polygamma``: the ``n``-th derivative of ``digamma``. ``n`` must
    be known (a Python int or concrete integer array: it selects the function), with
    non-negative integer values; it broadcasts against ``x``.

    >>> bool(np.isclose(polygamma(1, 1.0), np.pi ** 2 / 6))   # zeta(2)
    True
    >>> bool(np.allclose(polygamma(np.array([0, 1]), 1.0), [digamma(1.0), np.pi ** 2 / 6]))
    True
    """
    known = concrete_or_none(n)
    if known is None:
        raise ConcretizationTypeError(
            "fad.scipy.special.polygamma: the order n must be concrete (it selects the "
            "function); under jit pass it as a static argument")
    orders = np.asarray(known)
    if orders.size and (np.any(orders != np.floor(orders)) or np.any(orders < 0)):
        raise ValueError(f"fad.scipy.special.polygamma: n must hold non-negative integers, "
                         f"got {orders!r}")
    (x,) = promote_inexact(asarray(x))
    shape = np.broadcast_shapes(orders.shape, fnp.shape(x))
    out = None
    for m in np.unique(orders).astype(int).tolist():
        value = lax.digamma(x) if m == 0 else lax.polygamma(m, x)
        out = value if out is None else fnp.where(orders == m, value, out)
    return fnp.broadcast_to(out, shape) if out is not None else fnp.zeros(shape, fnp.result_type(x))


def betaln(a, b):
    """Like ``scipy.special.betaln``: ``log|B(a, b)|`` as ``gammaln(a) + gammaln(b) -
    gammaln(a + b)`` (which loses some relative precision when ``a + b`` is very large
    and the result small).

    >>> bool(np.isclose(betaln(2.0, 3.0), np.log(1 / 12)))   # B(2, 3) = 1! 2! / 4!
    True
    """
    a, b = promote_inexact(asarray(a), asarray(b))
    return fnp.subtract(fnp.add(lax.lgamma(a), lax.lgamma(b)), lax.lgamma(fnp.add(a, b)))


def ndtr(x):
    """Like ``scipy.special.ndtr``: the standard normal CDF, from ``erf`` near 0 and
    ``erfc`` in the tails (full relative precision in the lower tail). Real arguments only
    (complex ones are a ``TypeError``).

    >>> print(ndtr(np.array([-np.inf, 0.0, np.inf])))
    [0.  0.5 1. ]
    >>> print(f"{float(ndtr(-10.0)):.6e}")
    7.619853e-24
    """
    (x,) = promote_inexact(asarray(x))
    t = fnp.multiply(_real_only("ndtr", x), _SQRT_HALF)
    near = fnp.less(fnp.absolute(t), _SQRT_HALF)
    centre = fnp.add(0.5, fnp.multiply(0.5, lax.erf(t)))
    tail = fnp.multiply(0.5, lax.erfc(fnp.absolute(t)))
    return fnp.where(near, centre, fnp.where(fnp.greater(x, 0), fnp.subtract(1, tail), tail))


def log_ndtr(x):
    """Like ``scipy.special.log_ndtr``: ``log(ndtr(x))``, accurate in both tails
    (``log1p(-ndtr(-x))`` above 0, an asymptotic series far below), with finite
    derivatives everywhere (each formula gets inputs clamped to its own range). Real
    arguments only (complex ones are a ``TypeError``).

    >>> import scipy.special
    >>> print(f"{float(log_ndtr(-40.0)):.6f}")   # ndtr(-40.0) underflows to 0
    -804.608442
    >>> bool(np.isclose(log_ndtr(-40.0), scipy.special.log_ndtr(-40.0)))
    True
    """
    (x,) = promote_inexact(asarray(x))
    _real_only("log_ndtr", x)
    low = -10.0 if fnp.result_type(x) == np.float32 else -20.0
    zero = np.zeros((), fnp.result_type(x))[()]
    x_up = fnp.maximum(x, zero)
    upper = fnp.log1p(fnp.negative(ndtr(fnp.negative(x_up))))
    x_mid = fnp.clip(x, low, zero)
    middle = fnp.log(ndtr(x_mid))
    lower = _log_ndtr_asymptotic(fnp.minimum(x, low))
    return fnp.where(fnp.greater(x, 0), upper, fnp.where(fnp.less(x, low), lower, middle))


def _log_ndtr_asymptotic(x):
    """``log ndtr(x)`` for ``x <= -10``: ``-x^2/2 - log(-x) - log(2 pi)/2 + log(1 +
    sum_n (-1)^n (2n-1)!! / x^(2n))``, 12 terms (below 1e-12 relative at -10, 1e-19 at
    -20)."""
    w = fnp.reciprocal(fnp.square(x))
    term, series = fnp.ones_like(x), fnp.ones_like(x)
    for n in range(1, 13):
        term = fnp.multiply(term, fnp.multiply(w, -(2 * n - 1)))
        series = fnp.add(series, term)
    return fnp.add(fnp.subtract(fnp.multiply(-0.5, fnp.square(x)),
                                fnp.add(fnp.log(fnp.negative(x)), float(0.5 * np.log(2 * np.pi)))),
                   fnp.log(series))


def logit(p):
    """Like ``scipy.special.logit``: ``log(p / (1 - p))``, the inverse of ``expit``; near
    1/2 as ``log1p(s) - log1p(-s)`` with ``s = 2p - 1`` (exact there), which keeps full
    relative precision where the result is small.

    >>> print(logit(np.array([0.0, 0.5, 1.0])))
    [-inf   0.  inf]
    >>> bool(np.isclose(logit(expit(2.0)), 2.0))
    True
    """
    (p,) = promote_inexact(asarray(p))
    near = fnp.logical_and(fnp.greater_equal(p, 0.3), fnp.less_equal(p, 0.65))
    s = fnp.subtract(fnp.multiply(fnp.clip(p, 0.3, 0.65), 2), 1)
    centre = fnp.subtract(fnp.log1p(s), fnp.log1p(fnp.negative(s)))
    with np.errstate(divide="ignore"):
        tails = fnp.log(fnp.true_divide(p, fnp.subtract(1, p)))
    return fnp.where(near, centre, tails)


def log_expit(x):
    """Like ``scipy.special.log_expit``: ``log(expit(x))``, stable for large ``|x|``.

    >>> float(log_expit(-1000.0))   # (expit(-1000.0) underflows to 0)
    -1000.0
    >>> bool(np.isclose(log_expit(0.0), -np.log(2.0)))
    True
    """
    (x,) = promote_inexact(asarray(x))
    return fnp.negative(fnp.logaddexp(0, fnp.negative(x)))


def xlogy(x, y):
    """Like ``scipy.special.xlogy``: ``x * log(y)``, 0 where ``x == 0`` (unless ``y`` is
    NaN). Derivatives: ``log(y)`` with respect to ``x`` (as JAX), ``x / y`` with respect
    to ``y``, which is 0 where ``x == 0``, also at ``y == 0``.

    >>> import fad
    >>> float(xlogy(0.0, 0.0)), float(xlogy(2.0, np.e))
    (0.0, 2.0)
    >>> float(fad.grad(xlogy, argnums=1)(0.0, 0.0))
    0.0
    """
    x, y = promote_inexact(asarray(x), asarray(y))
    return lax.xlogy(x, y)


def xlog1py(x, y):
    """Like ``scipy.special.xlog1py``: ``x * log1p(y)``, 0 where ``x == 0`` (unless ``y``
    is NaN); derivatives as ``xlogy``'s.

    >>> float(xlog1py(0.0, -1.0)), float(xlog1py(2.0, np.e - 1))
    (0.0, 2.0)
    """
    x, y = promote_inexact(asarray(x), asarray(y))
    return lax.xlog1py(x, y)


def entr(x):
    """Like ``scipy.special.entr``: ``-x log(x)`` for ``x > 0``, 0 at 0, -inf below. Its
    derivative at 0 is +inf (the one-sided limit), 0 below 0.

    >>> float(entr(-1.0)), abs(float(entr(0.0)))
    (-inf, 0.0)
    >>> bool(np.isclose(entr(0.5), 0.5 * np.log(2.0)))
    True
    """
    (x,) = promote_inexact(asarray(x))
    negative = fnp.less(x, 0)
    safe = fnp.where(negative, np.ones((), fnp.result_type(x))[()], x)
    return fnp.where(negative, -np.inf, fnp.negative(lax.xlogy(safe, safe)))


__all__ = ["logsumexp", "softmax", "log_softmax", "expit", "logit", "log_expit", "erf",
           "erfc", "erfinv", "erfcinv", "ndtr", "ndtri", "log_ndtr", "gammaln", "digamma",
           "psi", "polygamma", "betaln", "i0", "i0e", "i1", "i1e", "xlogy", "xlog1py", "entr",
           "gammainc", "gammaincc", "betainc", "betaincc"]
