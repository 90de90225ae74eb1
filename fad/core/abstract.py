"""Abstract values: what a tracer knows about the array it stands for."""
from __future__ import annotations

import numpy as np

from fad.core import dtypes
from fad.core.trace import Tracer
from fad.errors import NotAnArrayError


_DTYPE_TYPES = {type(np.dtype(t)) for t in (np.bool_, np.int8, np.int16, np.int32, np.int64,
                                           np.uint8, np.uint16, np.uint32, np.uint64,
                                           np.float16, np.float32, np.float64,
                                           np.complex64, np.complex128)}


class ShapedArray:
    """An array of known shape and dtype, whose values are unknown.

    ``weak_type`` marks values that came from Python scalars: they promote like Python
    scalars do in NumPy 2 (``ShapedArray((3,), float32) * 2.0`` is float32).

    >>> import numpy as np, fad
    >>> from fad.core.abstract import ShapedArray
    >>> aval = ShapedArray((2, 3), np.float32)
    >>> aval, aval.ndim, aval.str_short()
    (ShapedArray((2, 3), float32), 2, 'f32[2,3]')
    """

    __slots__ = ("shape", "dtype", "weak_type")

    def __init__(self, shape, dtype, weak_type: bool = False):
        self.shape = shape if type(shape) is tuple else tuple(shape)
        self.dtype = dtype if type(dtype) in _DTYPE_TYPES else np.dtype(dtype)
        self.weak_type = weak_type

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def update(self, shape=None, dtype=None, weak_type=None) -> ShapedArray:
        return ShapedArray(self.shape if shape is None else shape,
                           self.dtype if dtype is None else dtype,
                           self.weak_type if weak_type is None else weak_type)

    def strip_weak_type(self) -> ShapedArray:
        if not self.weak_type:
            return self
        if not self.shape:   # a scalar (a traced Python scalar, usually): the shared aval
            strong = _SCALAR_AVALS.get(self.dtype.type)
            if strong is not None:
                return strong
        return ShapedArray(self.shape, self.dtype)

    def __eq__(self, other):
        return self is other or (type(other) is ShapedArray and self.shape == other.shape
                and self.dtype == other.dtype and self.weak_type == other.weak_type)

    def __hash__(self):
        return hash((self.shape, self.dtype, self.weak_type))

    def str_short(self) -> str:
        return f"{dtypes.short_name(self.dtype)}[{','.join(map(str, self.shape))}]"

    def __repr__(self):
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapedArray({self.shape}, {self.dtype}{weak})"

    __str__ = str_short


_SCALAR_AVALS = {
    bool: ShapedArray((), np.bool_),
    int: ShapedArray((), np.int64, True),
    float: ShapedArray((), np.float64, True),
    complex: ShapedArray((), np.complex128, True),
    **{t: ShapedArray((), t) for t in (np.bool_, np.int8, np.int16, np.int32, np.int64,
                                        np.uint8, np.uint16, np.uint32, np.uint64,
                                        np.float16, np.float32, np.float64, np.longdouble,
                                        np.complex64, np.complex128)},
}


# The avals of NumPy arrays, by (shape, dtype): one object per type, so that comparing and
# hashing them (cache keys of the shape rules) is mostly an identity test.
_ARRAY_AVALS: dict = {}


def array_aval(shape: tuple, dtype) -> ShapedArray:
    """The abstract value of arrays of ``shape`` and the NumPy ``dtype`` (strongly typed,
    native byte order): the same object each time, as ``get_aval`` gives it for such
    arrays, so that caches keyed by abstract values find it by identity."""
    key = (shape, dtype)
    aval = _ARRAY_AVALS.get(key)
    if aval is None:
        if len(_ARRAY_AVALS) > 4096:   # many shapes: start over rather than grow
            _ARRAY_AVALS.clear()
        aval = _ARRAY_AVALS[key] = ShapedArray(shape, native_dtype(dtype))
    return aval


def get_aval(x) -> ShapedArray:
    """The abstract value of an array, a NumPy scalar, a Python scalar or a tracer."""
    t = type(x)
    if t is np.ndarray:
        key = (x.shape, x.dtype)
        aval = _ARRAY_AVALS.get(key)
        if aval is not None:
            return aval
        if x.dtype.kind in "biufc":
            return array_aval(x.shape, x.dtype)
    else:
        scalar_aval = _SCALAR_AVALS.get(t)  # Python and NumPy scalars
        if scalar_aval is not None:
            return scalar_aval
    if isinstance(x, Tracer):
        return x.aval
    if isinstance(x, (np.ndarray, np.generic)):
        if x.dtype.kind not in "biufc" and x.dtype != dtypes.float0:
            dtypes.check_dtype(x.dtype)
        return ShapedArray(x.shape, native_dtype(x.dtype))
    if isinstance(x, dtypes.PYTHON_SCALAR_TYPES):  # subclasses, e.g. IntEnum
        return _SCALAR_AVALS[bool if isinstance(x, bool) else
                             int if isinstance(x, int) else
                             float if isinstance(x, float) else complex]
    raise NotAnArrayError(
        f"fad expected an array or a scalar, got a value of type {type(x).__name__}: {x!r:.80}. "
        "Convert it with numpy.asarray, or mark the argument static.")


def impl_error(prim, args, params, err: Exception) -> Exception:
    """The error to raise where ``prim``'s NumPy implementation failed with ``err`` on
    ``args`` (eager code, where no shape rule ran first): the shape rule's own error if it
    rejects the operands too -- it names the primitive and the shapes in fad's words,
    where NumPy's says "operands could not be broadcast together" -- else ``err``."""
    try:
        prim.abstract_eval(*[get_aval(x) for x in args], **params)
    except (TypeError, ValueError, IndexError) as rejected:
        return rejected
    except Exception:   # noqa: BLE001 -- (a rule that cannot judge: NumPy's error stands)
        return err
    return err


def native_dtype(dtype: np.dtype) -> np.dtype:
    """``dtype`` in this machine's byte order. Arrays read from files (FITS, HDF5) may be
    big-endian (``>f8``); as NumPy does, fad computes with them as with native ones, and
    its types and results are native (``np.dtype('>f8')`` is not ``float64``)."""
    return dtype if dtype.isnative else dtype.newbyteorder("=")


def native_byte_order(x):
    """``x``, or a copy in native byte order if it is an array that is not (see
    ``native_dtype``): what enters a transformation, so that what comes out is native."""
    if isinstance(x, np.ndarray) and not x.dtype.isnative:
        return x.astype(native_dtype(x.dtype))
    return x

