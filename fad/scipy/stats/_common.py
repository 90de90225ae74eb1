"""What the distributions of ``fad.scipy.stats`` share: promotion and SciPy's handling
of invalid parameters (NaN) and of points outside the support."""
from __future__ import annotations

import numpy as np

import fad.numpy as fnp
from fad.numpy._promote import operand, promote_inexact


def inexact(*args):
    """The arguments as arrays of one inexact dtype (integers become float64; float32
    stays float32, as in JAX, where SciPy computes in float64). Python scalars (the
    default ``loc=0``, ``scale=1``) adopt the arrays' dtype, as in NumPy's arithmetic,
    so that they do not make float32 arguments float64."""
    return promote_inexact(*(operand(a) for a in args))


def constant(value, like):
    """``value`` as a scalar of ``like``'s dtype (so that it does not promote it)."""
    return np.asarray(value, fnp.result_type(like))[()]


def where_valid(valid, value):
    """``value`` where the parameters are ``valid``, NaN elsewhere (SciPy's answer)."""
    return fnp.where(valid, value, constant(np.nan, value))


def standardized(x, loc, scale):
    """``(x - loc) / scale`` with a safe scale (1 where it is not positive: those points
    are NaN in the end, and must not give NaN derivatives to the others)."""
    ok = fnp.greater(scale, 0)
    safe = fnp.where(ok, scale, constant(1, scale))
    return fnp.true_divide(fnp.subtract(x, loc), safe), safe, ok
