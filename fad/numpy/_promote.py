"""NumPy's type promotion and argument checking for fad.numpy: the only place operands
change dtype.

Traced operands are promoted exactly as NumPy 2 promotes (NEP 50): Python scalars, and
tracers that stand for Python scalars (weakly typed), adopt the dtype of the arrays
they meet. For ufuncs the rule comes from NumPy itself (``ufunc.resolve_dtypes``).

A weakly typed tracer is the Python scalar it stands for, so a ``fad.numpy`` function
treats it as NumPy treats that scalar: ufuncs, ``where`` and ``clip`` let it adopt the
other operands' dtype (``operand``), other functions make it an array first, as
``numpy.asarray`` makes ``2.0`` a float64 array (``asarray``). Either way the result is
strong, as NumPy's results are arrays and NumPy scalars (``cast`` and ``promote`` give
strong values); only Python's operators on tracers keep a weak result (``_ufuncs``).
"""
from __future__ import annotations

import functools
import types

import numpy as np

from fad.core import dtypes
from fad.core.abstract import get_aval
from fad.core.trace import Tracer
from fad.errors import TracerArrayConversionError
from fad.lax import concatenate, convert_element_type, expand_dims
from fad.lax.plumbing import normalize_axis

# bools are NumPy's lowest kind, so a Python bool promotes exactly like ``np.bool_`` (and
# ``ufunc.resolve_dtypes`` accepts ``int``/``float``/``complex`` but not ``bool``)
_WEAK_TYPES = {"b": np.dtype(bool), "i": int, "u": int, "f": float, "c": complex}


def is_traced(*args) -> bool:
    """Whether any argument is a tracer."""
    for a in args:
        if isinstance(a, Tracer):
            return True
    return False


def any_traced(seq) -> bool:
    """Whether a (nested) list/tuple holds a tracer."""
    for a in seq:
        if isinstance(a, Tracer) or (isinstance(a, (list, tuple)) and any_traced(a)):
            return True
    return False


def _traced_sequence(x) -> bool:
    return isinstance(x, (list, tuple)) and any_traced(x)


def _sequences_as_arrays(values):
    return [asarray(v) if _traced_sequence(v) else v for v in values]


def traced_sequences_as_arrays(args):
    """``args`` with each list or tuple holding tracers made an array (``asarray``), or
    ``None`` if none holds one (then a ``TracerArrayConversionError`` was not theirs)."""
    if not any(map(_traced_sequence, args)):
        return None
    return _sequences_as_arrays(args)


def accepts_traced_sequences(fn):
    """``fn``, also taking lists and tuples that hold tracers wherever it takes an
    array-like (``sum([x, y])``, ``sort((x, 1.0))``), as NumPy takes nested sequences.

    Most functions test ``isinstance(a, Tracer)`` to choose between NumPy and lax; a list
    holding tracers then reaches NumPy, which fails converting a tracer
    (``TracerArrayConversionError``). That failure is the signal: the call is repeated
    with every such list made an array (``asarray``: stacked, promoted as NumPy promotes
    array-likes). Functions that take sequences of arrays (``concatenate``, ``stack``)
    handle them before NumPy sees them, so they never fail and are never retried; and a
    call without such lists costs nothing more than the ``try``.
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except TracerArrayConversionError:
            if not (any(map(_traced_sequence, args))
                    or any(map(_traced_sequence, kwargs.values()))):
                raise
        converted = dict(zip(kwargs, _sequences_as_arrays(kwargs.values())))
        return fn(*_sequences_as_arrays(args), **converted)
    wrapper.accepts_traced_sequences = True
    return wrapper


def accept_traced_sequences_in(namespace: dict, names=None) -> None:
    """Wrap the public functions of a ``fad.numpy`` module (``names``, by default its
    ``__all__``) with ``accepts_traced_sequences``; a module calls it on ``globals()``
    after its last definition."""
    for name in namespace["__all__"] if names is None else names:
        fn = namespace[name]
        if isinstance(fn, types.FunctionType) and not getattr(fn, "accepts_traced_sequences",
                                                             False):
            namespace[name] = accepts_traced_sequences(fn)


def operand(x):
    """``x`` as a ufunc sees it: an array, a tracer or a Python scalar (sequences become
    arrays); Python scalars and weakly typed tracers stay weak."""
    if isinstance(x, (Tracer, np.ndarray, np.generic)) or type(x) in dtypes.PYTHON_SCALAR_TYPES:
        return x
    return asarray(x)


def asarray(x):
    """``x`` as ``numpy.asarray`` makes it: an array or a strongly typed tracer (a Python
    scalar, or a tracer standing for one, becomes a 0-d array of NumPy's default dtype:
    ``numpy.dot(2.0, float32_array)`` is float64)."""
    if isinstance(x, Tracer):
        return strong(x)
    if isinstance(x, (np.ndarray, np.generic)):
        return x
    if isinstance(x, (list, tuple)) and any_traced(x):
        return stack_arrays(x)
    out = np.asarray(x)
    dtypes.check_dtype(out.dtype, "argument")
    return out


def strong(x):
    """The tracer ``x`` with a strong type: a weakly typed one (a traced Python scalar)
    becomes the NumPy value NumPy would make of the scalar, of the same dtype."""
    aval = x.aval
    if aval.weak_type:
        return convert_element_type(x, aval.dtype)
    return x


def dtype_key(x):
    """What NumPy's promotion sees for ``x``: its dtype, or a Python type if weak."""
    if type(x) in dtypes.PYTHON_SCALAR_TYPES:
        return _WEAK_TYPES["b"] if type(x) is bool else type(x)
    aval = x.aval if isinstance(x, Tracer) else get_aval(x)
    if aval.weak_type:
        return _WEAK_TYPES[aval.dtype.kind]
    return aval.dtype


@functools.lru_cache(maxsize=4096)
def ufunc_dtypes(ufunc, keys):
    """``(input dtypes, output dtypes)`` of the loop NumPy picks for ``ufunc``."""
    resolved = ufunc.resolve_dtypes(keys + (None,) * ufunc.nout)
    if any(d.kind == "O" for d in resolved):
        # comparisons of two Python ints resolve to NumPy's object loop (ints may be
        # unbounded); weak tracers hold int64, so resolve with the default dtypes instead
        resolved = ufunc.resolve_dtypes(
            tuple(k if isinstance(k, np.dtype) else np.dtype(k) for k in keys)
            + (None,) * ufunc.nout)
    return resolved[:ufunc.nin], resolved[ufunc.nin:]


def cast(x, dtype):
    """``x`` as a strongly typed value of ``dtype``, as ``astype`` makes it (Python scalars
    become NumPy scalars, weakly typed tracers strong ones)."""
    if type(x) in dtypes.PYTHON_SCALAR_TYPES:
        return np.asarray(x, dtype)[()]
    aval = get_aval(x)
    if aval.dtype == dtype and not aval.weak_type:
        return x
    return convert_element_type(x, dtype)


def weak_cast(x, dtype):
    """``x`` as a weakly typed value of ``dtype``: the result of a Python operator whose
    operands all stand for Python scalars (``2 * 3.0`` is a Python float)."""
    if type(x) in dtypes.PYTHON_SCALAR_TYPES:
        return _WEAK_TYPES[dtype.kind](x) if dtype.kind != "b" else x
    aval = get_aval(x)
    if aval.dtype == dtype and aval.weak_type:
        return x
    return convert_element_type(x, dtype, weak_type=True)


def is_weak(x) -> bool:
    """Whether ``x`` is a Python scalar or a tracer standing for one."""
    return type(x) in dtypes.PYTHON_SCALAR_TYPES or isinstance(x, Tracer) and x.aval.weak_type


@functools.lru_cache(maxsize=4096)
def _result_type(keys):
    return np.result_type(*[k if isinstance(k, np.dtype) else dtypes.weak_standin(
        np.dtype(k)) for k in keys])


def result_type(*args) -> np.dtype:
    """``numpy.result_type`` of the operands (weak values promote like Python scalars)."""
    return _result_type(tuple(dtype_key(a) for a in args))


def promote(*args):
    """Operands converted to their common dtype by NumPy's rules."""
    dtype = result_type(*args)
    return [cast(a, dtype) for a in args]


def stack_arrays(arrays, axis=0, dtype=None):
    """``numpy.stack`` of arrays of which some are traced: what ``asarray`` makes of a
    list holding tracers (and ``fad.numpy.stack``, whose module is above this one)."""
    arrays = [asarray(a) for a in arrays]
    shapes = {shape_of(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError("all input arrays must have the same shape, got "
                         f"{sorted(shapes, key=str)}")
    axis = normalize_axis(axis, ndim_of(arrays[0]) + 1)
    expanded = [expand_dims(a, (axis,)) for a in arrays]
    if dtype is not None:
        expanded = [convert_element_type(a, dtype) for a in expanded]
    return concatenate(promote(*expanded), axis)


def promote_inexact(*args):
    """``promote``, then integers and bools go to the float dtype NumPy would compute in."""
    dtype = dtypes.to_inexact_dtype(result_type(*args))
    return [cast(a, dtype) for a in args]


def canonical_axes(axis, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, an int or a sequence) as a sorted tuple of distinct axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        axes = tuple(normalize_axis(a, ndim) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"duplicate value in 'axis': {tuple(axis)}")
        return tuple(sorted(axes))
    return (normalize_axis(axis, ndim),)


def shape_of(x) -> tuple[int, ...]:
    return get_aval(x).shape


def ndim_of(x) -> int:
    return len(get_aval(x).shape)


def dtype_of(x) -> np.dtype:
    return get_aval(x).dtype


def concrete_or_none(x):
    """The concrete value of ``x`` if there is one (under grad/jvp), else ``None``."""
    if not isinstance(x, Tracer):
        return x
    try:
        return x.concrete_value()
    except TypeError:
        return None
