"""``fad.numpy``: NumPy's API on fad.lax primitives.

Called on NumPy arrays and scalars (nothing traced), each function goes straight to
NumPy; called on tracers it promotes dtypes like NumPy 2 and binds fad.lax primitives,
so it can be differentiated, batched and staged.

>>> import fad, fad.numpy as fnp
>>> fad.grad(lambda x: fnp.sum(fnp.sin(x) ** 2))(fnp.zeros(3))
array([0., 0., 0.])
"""
from fad.numpy._dtypes import *  # noqa: F401,F403
from fad.numpy._ufuncs import *  # noqa: F401,F403
from fad.numpy._elementwise import *  # noqa: F401,F403
from fad.numpy._reductions import *  # noqa: F401,F403
from fad.numpy._shape import *  # noqa: F401,F403
from fad.numpy._creation import *  # noqa: F401,F403
from fad.numpy._linalg import *  # noqa: F401,F403
from fad.numpy._einsum import *  # noqa: F401,F403
from fad.numpy._indexing import *  # noqa: F401,F403
from fad.numpy._sorting import *  # noqa: F401,F403
from fad.numpy import _tracer_methods  # noqa: F401,E402  - operators and methods on tracers
