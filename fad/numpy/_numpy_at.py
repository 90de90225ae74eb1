"""``x.at[idx]`` on NumPy's own arrays and scalars, so that JAX's update idiom
``fnp.zeros(n).at[idx].add(v)`` works on every value fad.numpy gives, eagerly and inside
every transformation (where fad.numpy's constants are NumPy arrays too).

>>> import fad, fad.numpy as fnp
>>> fnp.zeros(3).at[np.array([1, 1])].add(2.0)
array([0., 4., 0.])
>>> fad.grad(lambda v: fnp.sum(fnp.zeros(3).at[1].set(v) ** 2))(3.0)
np.float64(6.0)

Why a property on NumPy's types rather than an array type of fad's own: fad.numpy returns
plain NumPy arrays when nothing is traced (the SPEC's promise), and fad's fast paths
(``jit``'s and the staged layer's cache keys, ``grad``'s argument checks, the evaluation of
constants) test ``type(x) is np.ndarray``. An ``ndarray`` subclass would leave every one of
those paths, and NumPy itself is slower on a subclass: measured on a length-16 array,
``np.sin`` 340 -> 760 ns, ``np.add`` 350 -> 890 ns, a ``jit`` call 1.5 -> 12 us, a ``grad``
call 27 -> 110 us; a full reduction gives an unhashable 0-d array instead of a scalar. A
constant lifted to a tracer would only help inside transformations.

NumPy's types refuse new attributes from Python (``setattr`` raises ``TypeError``), so the
property is written into the type's dictionary, which its read-only ``__dict__`` proxy
wraps, and CPython's attribute cache is told (``PyType_Modified``). The types gain one
name that NumPy does not define; no existing attribute and no operation changes, so
NumPy's speed is untouched (``benchmarks/run.py at``). Where this cannot be done (not
CPython, or with ``FAD_NUMPY_AT=0`` in the environment), ``fad.numpy.at(x)[idx]`` is the
spelling that works on every array.
"""
from __future__ import annotations

import ctypes
import gc
import os

import numpy as np

from fad.numpy._indexing import IndexUpdateHelper


def _at(self):
    # A structured array keeps NumPy's behaviour (fad has no structured dtypes): the
    # AttributeError lets ``numpy.recarray`` find a field named "at" as before.
    if self.dtype.names is not None:
        raise AttributeError(f"{type(self).__name__!r} object has no attribute 'at' (fad's "
                             ".at does not take structured dtypes)")
    return IndexUpdateHelper(self)


AT = property(_at, doc=IndexUpdateHelper.__doc__)


def add_property(cls: type, name: str, prop: property) -> bool:
    """Give the immutable type ``cls`` (a NumPy type) the attribute ``name`` unless it has
    one already; whether ``cls.name`` is then ``prop``."""
    if name in cls.__dict__:
        return cls.__dict__[name] is prop
    if hasattr(cls, name):   # (inherited: NumPy defines it; do not shadow it)
        return False
    namespaces = gc.get_referents(cls.__dict__)
    pythonapi = getattr(ctypes, "pythonapi", None)
    if len(namespaces) != 1 or type(namespaces[0]) is not dict or pythonapi is None:
        return False
    namespaces[0][name] = prop
    pythonapi.PyType_Modified(ctypes.py_object(cls))
    return getattr(cls, name, None) is prop


# ``FAD_NUMPY_AT=0`` in the environment leaves NumPy's types alone (``fnp.at(x)[idx]``
# still works): for programs that must not see NumPy's types change.
INSTALLED = ({cls: add_property(cls, "at", AT) for cls in (np.ndarray, np.generic)}
             if os.environ.get("FAD_NUMPY_AT", "1") != "0" else {})

__all__: list = []
