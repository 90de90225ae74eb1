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
from fad.numpy._statistics import *  # noqa: F401,F403
from fad.numpy._shape import *  # noqa: F401,F403
from fad.numpy._creation import *  # noqa: F401,F403
from fad.numpy._linalg import *  # noqa: F401,F403
from fad.numpy._einsum import *  # noqa: F401,F403
from fad.numpy._indexing import *  # noqa: F401,F403
from fad.numpy._sorting import *  # noqa: F401,F403
from fad.numpy._padding import *  # noqa: F401,F403
from fad.numpy._signal import *  # noqa: F401,F403
from fad.numpy._index_tricks import *  # noqa: F401,F403
from fad.numpy._setops import *  # noqa: F401,F403
from fad.numpy import fft  # noqa: F401,E402  - the fad.numpy.fft namespace
from fad.numpy import linalg  # noqa: F401,E402  - the fad.numpy.linalg namespace
from fad.numpy._polynomial import *  # noqa: F401,F403,E402  - (on fad.numpy.linalg)
from fad.numpy import _elementwise, _linalg, _polynomial, _reductions, _statistics  # noqa: E402
from fad.numpy._promote import accept_traced_sequences_in  # noqa: E402

# Lists and tuples holding tracers wherever NumPy takes array-likes (``fnp.mean([a, b])``):
# the ufuncs convert them themselves; the other modules' functions are wrapped (the
# modules of shapes, creation, sorting... wrap their own).
accept_traced_sequences_in(globals(), [name for module in (
    _elementwise, _linalg, _polynomial, _reductions, _statistics) for name in module.__all__])
del accept_traced_sequences_in
from fad.numpy import _tracer_methods  # noqa: F401,E402  - operators and methods on tracers
from fad.numpy import _numpy_at  # noqa: F401,E402  - x.at[idx] on NumPy arrays and scalars
