"""``fad.numpy``: NumPy's API on fad.lax primitives.

Called on NumPy arrays and scalars (nothing traced), each function goes straight to
NumPy; called on tracers it promotes dtypes like NumPy and binds fad.lax primitives.
"""
from fad.numpy._ufuncs import *  # noqa: F401,F403
from fad.numpy._reductions import *  # noqa: F401,F403
from fad.numpy._shape import *  # noqa: F401,F403
from fad.numpy._linalg import *  # noqa: F401,F403
from fad.numpy import _tracer_methods  # noqa: F401  - operators and methods on tracers

ndarray = __import__("numpy").ndarray
