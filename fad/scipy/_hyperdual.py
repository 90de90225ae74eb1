"""Hyper-dual numbers on NumPy arrays, and the vectorised iteration the incomplete gamma and
beta kernels (``fad.scipy._incomplete_kernels``) run on them.

A ``Dual`` carries a value and, optionally, two first derivatives and the mixed second
one along two directions: kernels written once with these operators and functions give
their values alone (the derivative parts ``None``, at no cost), or exact first and second
derivatives in their shape parameters, with no finite differences.
"""
from __future__ import annotations

import math

import numpy as np

from fad.lax import special_kernels

_TOL = 2.0 ** -54       # a step below half an ulp of the total no longer changes it
MAX_STEPS = 100_000     # then the element is NaN (betainc beyond a + b ~ 1e13 at the mean)


def plus(*parts):
    out = None
    for p in parts:
        if p is not None:
            out = p if out is None else out + p
    return out


def times(p, q):
    return None if p is None or q is None else p * q


def minus(p):
    return None if p is None else -p


class Dual:
    """``v + d1 e1 + d2 e2 + d12 e1 e2`` with ``e1^2 = e2^2 = 0`` (float64 arrays): a
    kernel fed ``a + e1`` gives its derivative in ``d1``, fed ``a + e1 + e2`` its second
    derivative in ``d12``, fed ``a + e1`` and ``b + e2`` the mixed one. A part that is
    ``None`` is zero and costs nothing (values alone have only ``v``)."""
    __slots__ = ("v", "d1", "d2", "d12")
    __array_ufunc__ = None   # (NumPy arrays defer to these operators: ``x / dual``)

    def __init__(self, v, d1=None, d2=None, d12=None):
        self.v, self.d1, self.d2, self.d12 = v, d1, d2, d12

    def parts(self):
        return (self.v, self.d1, self.d2, self.d12)

    def __add__(self, o):
        if isinstance(o, Dual):
            return Dual(self.v + o.v, plus(self.d1, o.d1), plus(self.d2, o.d2),
                        plus(self.d12, o.d12))
        return Dual(self.v + o, self.d1, self.d2, self.d12)

    __radd__ = __add__

    def __neg__(self):
        return Dual(-self.v, minus(self.d1), minus(self.d2), minus(self.d12))

    def __sub__(self, o):
        return self + (-o)

    def __rsub__(self, o):
        return (-self) + o

    def __mul__(self, o):
        if not isinstance(o, Dual):
            return Dual(self.v * o, times(self.d1, o), times(self.d2, o),
                        times(self.d12, o))
        return Dual(self.v * o.v, plus(times(self.v, o.d1), times(self.d1, o.v)),
                    plus(times(self.v, o.d2), times(self.d2, o.v)),
                     plus(times(self.v, o.d12), times(self.d1, o.d2),
                          times(self.d2, o.d1), times(self.d12, o.v)))

    __rmul__ = __mul__

    def __truediv__(self, o):
        if not isinstance(o, Dual):
            return Dual(self.v / o, *(None if p is None else p / o for p in self.parts()[1:]))
        # (u = q o, differentiated: the value keeps its one rounding)
        q = self.v / o.v
        d1 = plus(self.d1, minus(times(q, o.d1)))
        d1 = None if d1 is None else d1 / o.v
        d2 = plus(self.d2, minus(times(q, o.d2)))
        d2 = None if d2 is None else d2 / o.v
        d12 = plus(self.d12, minus(times(d1, o.d2)), minus(times(d2, o.d1)),
                   minus(times(q, o.d12)))
        return Dual(q, d1, d2, None if d12 is None else d12 / o.v)

    def __rtruediv__(self, o):
        return Dual(np.asarray(o, np.float64)) / self


def value(u):
    return u.v if isinstance(u, Dual) else u


def chain(u, f0, f1, f2):
    """``f(u)`` from ``f0 = f(u.v)`` and thunks giving ``f'(u.v)``, ``f''(u.v)``."""
    if not isinstance(u, Dual):
        return f0
    if u.d1 is None and u.d2 is None and u.d12 is None:
        return Dual(f0)
    g1 = f1()
    d12 = times(g1, u.d12)
    if u.d1 is not None and u.d2 is not None:
        d12 = plus(d12, f2() * u.d1 * u.d2)
    return Dual(f0, times(g1, u.d1), times(g1, u.d2), d12)


def exp(u):
    e = np.exp(value(u))
    return chain(u, e, lambda: e, lambda: e)


def expm1(u):
    v = value(u)
    return chain(u, np.expm1(v), lambda: np.exp(v), lambda: np.exp(v))


def log(u):
    if not isinstance(u, Dual):
        return np.log(u)
    # (with the relative tangents: 1/v^2 would overflow for tiny v)
    r1, r2, r12 = (None if d is None else d / u.v for d in u.parts()[1:])
    return Dual(np.log(u.v), r1, r2, plus(r12, minus(times(r1, r2))))


def log1p(u):
    v = value(u)
    return chain(u, np.log1p(v), lambda: 1 / (1 + v), lambda: -1 / ((1 + v) * (1 + v)))


def lgamma(u):
    v = value(u)
    return chain(u, special_kernels.lgamma(v), lambda: special_kernels.polygamma(0, v),
                 lambda: special_kernels.polygamma(1, v))


def sqrt(u):
    v = value(u)
    r = np.sqrt(v)
    return chain(u, r, lambda: 0.5 / r, lambda: -0.25 / (v * r))


def erfc(u):
    v = value(u)
    slope = lambda: -2 / math.sqrt(math.pi) * np.exp(-v * v)
    return chain(u, special_kernels.erfc(v), slope, lambda: -2 * v * slope())


def where(mask, u, w):
    if not isinstance(u, Dual) and not isinstance(w, Dual):
        return np.where(mask, u, w)
    u, w = (p if isinstance(p, Dual) else Dual(p) for p in (u, w))
    return Dual(*(None if p is None and q is None else
                  np.where(mask, 0.0 if p is None else p, 0.0 if q is None else q)
                   for p, q in zip(u.parts(), w.parts())))


def take(u, index):
    if isinstance(u, Dual):
        return Dual(*(None if p is None else p[index] for p in u.parts()))
    return u[index] if np.ndim(u) else u


def put(out, index, u):
    """``out[index] = u``, into ``out`` of the parts ``u`` has (``zeros``)."""
    for o, p in zip(out.parts(), u.parts()):
        if p is not None:
            o[index] = p


def zeros(n, like):
    """A dual of ``n`` zeros with the parts that ``like`` has."""
    return Dual(*(None if p is None else np.zeros(n) for p in like.parts()))


def settled(step, total):
    """Where ``step`` no longer changes ``total``, in each of its parts."""
    done = np.abs(step.v) <= _TOL * np.abs(total.v)
    for s, t in zip(step.parts()[1:], total.parts()[1:]):
        if s is not None:
            done &= np.abs(s) <= _TOL * np.abs(t)
    return done


def iterate(carry, step, result):
    """Run ``carry, done = step(k, carry)`` for k = 1, 2, ... over 1-d operands (``carry``
    a tuple of arrays and duals), retiring the elements that are ``done`` (their
    ``result(carry)`` goes into the output) so that the hard ones alone go on; those not
    done after ``MAX_STEPS`` are NaN."""
    n = len(value(carry[0]))
    out, index = None, np.arange(n)
    for k in range(1, MAX_STEPS + 1):
        carry, done = step(k, carry)
        if done.any() or k == MAX_STEPS:
            got = result(carry)
            out = zeros(n, got) if out is None else out
            if k == MAX_STEPS:
                got = Dual(*(None if p is None else np.where(done, p, np.nan)
                             for p in got.parts()))
                done = np.ones_like(done)
            put(out, index[done], take(got, done))
            if done.all():
                break
            keep = ~done
            index = index[keep]
            carry = tuple(take(c, keep) for c in carry)
    return out


def on(mask, fn, *args):
    """``fn(*args)`` on the elements where ``mask`` holds (1-d operands), as a full-size
    dual (zeros elsewhere): each method runs only where it is chosen."""
    if not mask.any():
        return Dual(np.zeros(len(mask)))
    got = fn(*(take(a, mask) for a in args))
    out = zeros(len(mask), got)
    put(out, mask, got)
    return out


def polygamma(n, u):
    """``polygamma(n, u)`` of a dual."""
    v = value(u)
    return chain(u, special_kernels.polygamma(n, v), lambda: special_kernels.polygamma(n + 1, v),
                 lambda: special_kernels.polygamma(n + 2, v))
