"""Dtypes: NumPy's dtypes and promotion, plus weak types for Python scalars.

A Python scalar is *weakly typed*: it takes the dtype of the array it meets, as NumPy 2
does under NEP 50 (``float32_array * 2.0`` stays float32). We get that promotion for
free from ``np.result_type`` by standing a Python scalar in for every weak value.
"""
from __future__ import annotations

import functools

import numpy as np

# The dtype of tangents of integer and boolean values: it holds no information.
float0 = np.dtype([("float0", np.void, 0)])

_SHORT_NAMES = {
    "float16": "f16", "float32": "f32", "float64": "f64", "longdouble": "f128",
    "complex64": "c64", "complex128": "c128",
    "int8": "i8", "int16": "i16", "int32": "i32", "int64": "i64",
    "uint8": "u8", "uint16": "u16", "uint32": "u32", "uint64": "u64",
    "bool": "bool",
}


def short_name(dtype: np.dtype) -> str:
    if dtype == float0:
        return "float0"
    return _SHORT_NAMES.get(dtype.name, dtype.name)


def check_dtype(dtype, what: str = "value") -> np.dtype:
    """Return ``np.dtype(dtype)`` if fad supports it, else raise ``TypeError``."""
    try:
        dt = np.dtype(dtype)
    except TypeError as e:
        raise TypeError(
            f"fad does not understand the dtype {dtype!r} of this {what}: {e}") from None
    if dt.kind not in "biufc" and dt != float0:
        raise TypeError(
            f"fad does not support the dtype {dt} of this {what}; use a boolean, integer, "
            "floating or complex dtype")
    return dt


# Python's scalar types: weakly typed values (NEP 50), which take the dtype of the array
# they meet and are recorded as literals. ``type(x) in PYTHON_SCALAR_TYPES`` for the exact
# types, ``isinstance(x, PYTHON_SCALAR_TYPES)`` to admit subclasses (``IntEnum``).
PYTHON_SCALAR_TYPES = (bool, int, float, complex)
# Every scalar: Python's and NumPy's.
SCALAR_TYPES = (*PYTHON_SCALAR_TYPES, np.generic)

# NumPy's inexact scalar types: fast paths test ``type(x) in INEXACT_SCALAR_TYPES`` (these
# scalars compute with their operators, and have a dtype of their own).
INEXACT_SCALAR_TYPES = frozenset({np.float16, np.float32, np.float64, np.longdouble,
                                  np.complex64, np.complex128})
FLOAT64 = np.dtype(np.float64)


def numpy_value_of_type(x, aval) -> bool:
    """Whether ``x`` is a NumPy array of ``aval``'s shape, or a NumPy scalar, of ``aval``'s
    dtype: a coefficient a value of type ``aval`` can be multiplied by, keeping its type."""
    t = type(x)
    return ((t is np.ndarray and x.shape == aval.shape or t in INEXACT_SCALAR_TYPES)
            and x.dtype == aval.dtype)


def is_inexact(dtype) -> bool:
    return np.dtype(dtype).kind in "fc"


def is_float(dtype) -> bool:
    return np.dtype(dtype).kind == "f"


def is_complex(dtype) -> bool:
    return np.dtype(dtype).kind == "c"


def is_integer(dtype) -> bool:
    return np.dtype(dtype).kind in "iu"


def is_bool(dtype) -> bool:
    return np.dtype(dtype).kind == "b"


def tangent_dtype(dtype) -> np.dtype:
    """Tangents of inexact values share their dtype; other values get ``float0``."""
    return np.dtype(dtype) if is_inexact(dtype) else float0


_WEAK_STANDINS = {"b": False, "i": 0, "u": 0, "f": 0.0, "c": 0j}


def weak_standin(dtype):
    """The Python scalar that promotes like a weakly typed value of ``dtype``."""
    return _WEAK_STANDINS[np.dtype(dtype).kind]


def result_type(*avals) -> tuple[np.dtype, bool]:
    """NumPy's promotion over abstract values: ``(dtype, weak_type)`` of the result."""
    if len(avals) == 2:   # the common case, one strong dtype: no promotion to look up
        a, b = avals
        if a.dtype == b.dtype and not a.weak_type and not b.weak_type:
            return a.dtype, False
    strong = [a.dtype for a in avals if not a.weak_type]
    weak = [weak_standin(a.dtype) for a in avals if a.weak_type]
    if not strong:
        return np.result_type(*weak), True
    return np.result_type(*strong, *weak), False


@functools.lru_cache(maxsize=None)
def to_inexact_dtype(dtype) -> np.dtype:
    """The dtype NumPy computes ``np.sin`` in for inputs of ``dtype`` (int32 -> float64)."""
    dt = np.dtype(dtype)
    if dt.kind in "fc":
        return dt
    return np.sin(np.zeros((), dt)).dtype
