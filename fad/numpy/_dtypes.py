"""Dtype names, constants and dtype queries, as in NumPy (dtype objects are NumPy's)."""
from __future__ import annotations

import numpy as np

from fad.core.trace import Tracer
from fad.numpy._promote import result_type as _traced_result_type

bool_ = np.bool_
bool = np.bool_  # noqa: A001
(int8, int16, int32, int64, uint8, uint16, uint32, uint64, intp, uintp, float16, float32,
 float64, complex64, complex128) = (np.int8, np.int16, np.int32, np.int64, np.uint8,
                                    np.uint16, np.uint32, np.uint64, np.intp, np.uintp,
                                    np.float16, np.float32, np.float64, np.complex64,
                                    np.complex128)
half, single, double, csingle, cdouble = np.half, np.single, np.double, np.csingle, np.cdouble
int_, uint, longlong = np.int_, np.uint, np.longlong
(generic, number, integer, signedinteger, unsignedinteger, inexact, floating,
 complexfloating) = (np.generic, np.number, np.integer, np.signedinteger, np.unsignedinteger,
                     np.inexact, np.floating, np.complexfloating)
dtype, finfo, iinfo = np.dtype, np.finfo, np.iinfo
issubdtype, promote_types, can_cast, isscalar = (np.issubdtype, np.promote_types, np.can_cast,
                                                np.isscalar)
pi, e, inf, nan, euler_gamma, newaxis = np.pi, np.e, np.inf, np.nan, np.euler_gamma, None
ndarray = np.ndarray


def result_type(*arrays_and_dtypes):
    """Like ``numpy.result_type``; tracers count as arrays of their dtype.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.result_type(np.int32, np.float32)
    dtype('float64')
    >>> fnp.result_type(np.array([1.0], np.float32), 2.0)
    dtype('float32')
    """
    if not any(isinstance(a, Tracer) for a in arrays_and_dtypes):
        return np.result_type(*arrays_and_dtypes)
    arrays = [a for a in arrays_and_dtypes if isinstance(a, Tracer)]
    others = [a for a in arrays_and_dtypes if not isinstance(a, Tracer)]
    return np.result_type(_traced_result_type(*arrays), *others)


def iscomplexobj(x):
    """Like ``numpy.iscomplexobj``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.iscomplexobj(np.array([1.0])), fnp.iscomplexobj(np.array([1j]))
    (False, True)
    """
    return x.dtype.kind == "c" if isinstance(x, Tracer) else np.iscomplexobj(x)


def isrealobj(x):
    """Like ``numpy.isrealobj``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.isrealobj(np.array([1.0])), fnp.isrealobj(np.array([1j]))
    (True, False)
    """
    return not iscomplexobj(x)


# (not the modules this one imports: ``fad.numpy.np`` would be NumPy itself)
__all__ = [n for n in dir() if not n.startswith("_") and n not in ("annotations", "Tracer", "np")]
