"""Operators, array methods and NumPy's dispatch protocols on tracers.

Installed on ``fad.core.trace.Tracer`` when fad.numpy is imported: operators and
methods route to fad.numpy; ``__array_ufunc__`` and ``__array_function__`` route plain
``numpy`` calls (``np.sin(tracer)``, ``np.sum(tracer, axis=0)``) to the fad.numpy
function of the same name, and raise a ``TypeError`` naming the function otherwise.
"""
from __future__ import annotations

import numpy as np

import fad.numpy as fnp
from fad.core import dtypes
from fad import lax
from fad.core.trace import Tracer, describe, get_current_trace
from fad.numpy._indexing import IndexUpdateHelper, getitem
from fad.numpy._ufuncs import UFUNCS, python_operator

_OPERAND_TYPES = (Tracer, np.ndarray, np.generic, bool, int, float, complex, list, tuple)


_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//",
            "mod": "%", "divmod": "divmod()", "pow": "** or pow()", "and": "&", "or": "|",
            "xor": "^", "lshift": "<<", "rshift": ">>", "matmul": "@", "lt": "<",
            "le": "<=", "gt": ">", "ge": ">="}


def _unsupported(name, left, right):
    """Python's error for an operator no operand supports, naming a traced operand in the
    user's words rather than by its class."""
    def what(x):
        return describe(x) if isinstance(x, Tracer) else repr(type(x).__name__)
    return TypeError(f"unsupported operand type(s) for {_SYMBOLS[name]}: {what(left)} and "
                     f"{what(right)}")


def _binop(fn, reflected=False, name=None):
    """The operator ``name`` on tracers. An operand of another type gets Python's
    ``NotImplemented`` where its own type may still handle the operation (it defines the
    reflected method), else the ``TypeError`` Python would raise, in fad's words."""
    if reflected:
        def op(self, other):
            if isinstance(other, _OPERAND_TYPES):
                return fn(other, self)
            if name is None:
                return NotImplemented
            raise _unsupported(name, other, self)
    else:
        def op(self, other):
            if isinstance(other, _OPERAND_TYPES):
                return fn(self, other)
            if name is None or name in ("eq", "ne"):
                return NotImplemented
            reflected_name = _REFLECTED.get(name, f"__r{name}__")
            if getattr(type(other), reflected_name, None) not in (
                    None, getattr(object, reflected_name, None)):
                return NotImplemented   # (its own type may handle it)
            raise _unsupported(name, self, other)
    return op


# The method Python tries on the right operand when the left one's gives up.
_REFLECTED = {"lt": "__gt__", "le": "__ge__", "gt": "__lt__", "ge": "__le__"}


def _arith(fn, prim, reflected=False, name=None):
    """An arithmetic operator with shortcuts for the commonest cases, a float tracer with
    a Python float or int (``x * 2.0``) or with another tracer of its dtype (``x * y``):
    NumPy's promotion keeps the tracer's dtype, so the primitive goes to the current
    trace directly (after converting the scalar), through ``Trace.process_binary``
    (``Primitive.bind`` inlined: an operand is a tracer, so there is no constant to
    evaluate)."""
    general = _binop(fn, reflected, name)

    def op(self, other):
        if type(other) is float or type(other) is int:
            aval = self.aval
            dtype = aval.dtype
            if dtype.kind == "f" and (not aval.weak_type or dtype == dtypes.FLOAT64):
                # strong: the scalar takes the tracer's dtype; weak (a traced Python
                # float): both stay weak, as Python floats
                other = float(other) if aval.weak_type else dtype.type(other)
                return (get_current_trace().process_binary(prim, other, self) if reflected
                        else get_current_trace().process_binary(prim, self, other))
        elif isinstance(other, Tracer):
            # two tracers of one float dtype: no promotion to work out, unless both are
            # weak (NumPy computes two Python floats in float64)
            a, b = self.aval, other.aval
            if (a.dtype is b.dtype or a.dtype == b.dtype) and a.dtype.kind == "f" and (
                    not (a.weak_type and b.weak_type) or a.dtype == dtypes.FLOAT64):
                return (get_current_trace().process_binary(prim, other, self) if reflected
                        else get_current_trace().process_binary(prim, self, other))
        return general(self, other)
    return op


# Python's operators keep NEP 50's weak Python scalars (``python_operator``); matmul has no
# scalar operands.
_BINARY_OPERATORS = {
    **{name: python_operator(fn) for name, fn in {
        "add": fnp.add, "sub": fnp.subtract, "mul": fnp.multiply, "truediv": fnp.true_divide,
        "floordiv": fnp.floor_divide, "mod": fnp.remainder, "divmod": fnp.divmod,
        "pow": fnp.power, "and": fnp.bitwise_and, "or": fnp.bitwise_or,
        "xor": fnp.bitwise_xor, "lshift": fnp.left_shift, "rshift": fnp.right_shift,
        "lt": fnp.less, "le": fnp.less_equal, "gt": fnp.greater, "ge": fnp.greater_equal,
        "eq": fnp.equal, "ne": fnp.not_equal}.items()},
    "matmul": fnp.matmul,
}
for _name, _fn in _BINARY_OPERATORS.items():
    setattr(Tracer, f"__{_name}__", _binop(_fn, name=_name))
    if _name not in ("lt", "le", "gt", "ge", "eq", "ne"):
        setattr(Tracer, f"__r{_name}__", _binop(_fn, reflected=True, name=_name))
for _name, _prim in {"add": lax.add_p, "sub": lax.sub_p, "mul": lax.mul_p,
                     "truediv": lax.div_p}.items():
    setattr(Tracer, f"__{_name}__", _arith(_BINARY_OPERATORS[_name], _prim, name=_name))
    setattr(Tracer, f"__r{_name}__", _arith(_BINARY_OPERATORS[_name], _prim, reflected=True,
                                           name=_name))

_general_pow = Tracer.__pow__


def _pow(self, other):
    """``x ** n`` for a Python int ``n`` and a float tracer (the common ``x ** 2``) binds
    ``integer_pow`` directly; everything else is ``fad.numpy.power``."""
    if type(other) is int and self.aval.dtype.kind in "fc":
        # (``Primitive.bind`` inlined, as in ``_arith``)
        return get_current_trace().process_primitive(lax.integer_pow_p, (self,), {"y": other})
    return _general_pow(self, other)


Tracer.__pow__ = _pow


_negative = python_operator(fnp.negative)


def _neg(self):
    """``-x`` of a float or complex tracer binds ``neg`` directly (the result has the
    operand's type, weak or strong); everything else is ``fad.numpy.negative``."""
    if self.aval.dtype.kind in "fc":
        return get_current_trace().process_primitive(lax.neg_p, (self,), {})
    return _negative(self)


Tracer.__neg__ = _neg
Tracer.__pos__ = python_operator(fnp.positive)
Tracer.__abs__ = python_operator(fnp.absolute)
Tracer.__invert__ = python_operator(fnp.invert)
Tracer.__round__ = lambda self, ndigits=None: fnp.round(self, ndigits or 0)
Tracer.__getitem__ = getitem


def _setitem(self, idx, value):
    raise TypeError(f"{self!r} is immutable: fad arrays cannot be assigned in place. Use "
                    "x = x.at[idx].set(value) (or .add/.mul/.min/.max) instead of "
                    "x[idx] = value")


Tracer.__setitem__ = _setitem


# -- properties -------------------------------------------------------------------------------

Tracer.T = property(lambda self: fnp.transpose(self))
Tracer.mT = property(lambda self: fnp.swapaxes(self, -1, -2))
Tracer.real = property(lambda self: fnp.real(self))
Tracer.imag = property(lambda self: fnp.imag(self))
Tracer.at = property(lambda self: IndexUpdateHelper(self), doc=IndexUpdateHelper.__doc__)
Tracer.itemsize = property(lambda self: self.dtype.itemsize)
Tracer.nbytes = property(lambda self: self.dtype.itemsize * self.size)


# -- methods ----------------------------------------------------------------------------------

def _shape_args(args):
    """``x.reshape(2, 3)`` and ``x.reshape((2, 3))`` both mean shape (2, 3)."""
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
        return args[0]
    return args


def _concrete_numpy(self, conversion):
    """The value behind ``self`` as a NumPy array, for ``conversion`` to make Python
    numbers of (it raises for a leaked tracer, an abstract one, or one whose derivative
    the numbers would drop: ``Tracer.concrete_number``)."""
    return np.asarray(self.concrete_number(conversion))


_METHODS = {
    "sum": fnp.sum, "prod": fnp.prod, "mean": fnp.mean, "var": fnp.var, "std": fnp.std,
    "max": fnp.max, "min": fnp.min, "argmax": fnp.argmax, "argmin": fnp.argmin,
    "all": fnp.all, "any": fnp.any, "cumsum": fnp.cumsum, "cumprod": fnp.cumprod,
    "ravel": fnp.ravel, "swapaxes": fnp.swapaxes, "squeeze": fnp.squeeze,
    "clip": fnp.clip, "round": fnp.round, "conj": fnp.conjugate,
    "conjugate": fnp.conjugate, "dot": fnp.dot, "take": fnp.take, "repeat": fnp.repeat,
    "trace": fnp.trace, "diagonal": fnp.diagonal, "ptp": fnp.ptp, "argsort": fnp.argsort,
}
for _name, _fn in _METHODS.items():
    setattr(Tracer, _name, _fn)

Tracer.reshape = lambda self, *shape, order="C": fnp.reshape(self, _shape_args(shape), order)
Tracer.transpose = lambda self, *axes: fnp.transpose(self, _shape_args(axes) if axes else None)
Tracer.flatten = lambda self, order="C": fnp.ravel(self, order)
Tracer.astype = lambda self, dtype, *args, **kwargs: fnp.asarray(self, dtype)
Tracer.copy = lambda self, order="C": self
Tracer.item = lambda self, *args: _concrete_numpy(self, ".item()").item(*args)
Tracer.tolist = lambda self: _concrete_numpy(self, ".tolist()").tolist()
Tracer.__array_priority__ = 1000


# -- NumPy's dispatch protocols -------------------------------------------------------------------

_CALL_METHODS = {**UFUNCS, np.matmul: fnp.matmul, np.vecdot: fnp.vecdot}
_REDUCE_METHODS = {np.add: fnp.sum, np.multiply: fnp.prod, np.maximum: fnp.max,
                   np.minimum: fnp.min, np.logical_and: fnp.all, np.logical_or: fnp.any}
_ACCUMULATE_METHODS = {np.add: fnp.cumsum, np.multiply: fnp.cumprod}


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    where = f"numpy.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
    if "out" in kwargs:
        raise TypeError(f"{where}(..., out=...) cannot write into a traced array: fad "
                        "arrays are immutable; drop out= and use the returned value")
    fn = {"__call__": _CALL_METHODS, "reduce": _REDUCE_METHODS,
          "accumulate": _ACCUMULATE_METHODS}.get(method, {}).get(ufunc)
    if fn is None:
        raise TypeError(f"fad.numpy cannot trace {where}: it has no traceable version "
                        "(use fad.numpy / fad.lax functions on traced values)")
    if method == "__call__":
        if kwargs:
            raise TypeError(f"fad.numpy cannot trace {where} with the keyword arguments "
                            f"{sorted(kwargs)}")
        return fn(*inputs)
    kwargs.setdefault("axis", 0)
    return fn(*inputs, **kwargs)


def _numpy_to_fad():
    """``{numpy function: fad.numpy function}`` for every name fad.numpy provides."""
    table = {}
    for name in dir(fnp):
        ours, theirs = getattr(fnp, name), getattr(np, name, None)
        if callable(ours) and callable(theirs) and not isinstance(theirs, (np.ufunc, type)):
            table[theirs] = ours
    for sub in ("linalg", "fft"):   # (np.linalg.solve -> fad.numpy.linalg.solve, ...)
        ours = getattr(fnp, sub, None)
        if ours is None:
            continue
        for name in getattr(ours, "__all__", None) or dir(ours):
            theirs = getattr(getattr(np, sub), name, None)
            if theirs is not None and callable(getattr(ours, name)):
                table[theirs] = getattr(ours, name)
    return table


_ARRAY_FUNCTIONS: dict = {}


def _array_function(self, func, types, args, kwargs):
    if not _ARRAY_FUNCTIONS:
        _ARRAY_FUNCTIONS.update(_numpy_to_fad())
    fn = _ARRAY_FUNCTIONS.get(func)
    if fn is None:
        mod = getattr(func, "__module__", "numpy") or "numpy"
        mod = "numpy" if mod.startswith("numpy._core") or mod == "numpy" else mod
        raise TypeError(f"fad.numpy cannot trace {mod}.{func.__name__}: it has no traceable "
                        "version. Use fad.numpy / fad.lax functions on traced values, or "
                        "compute it outside the transformation.")
    return fn(*args, **kwargs)


Tracer.__array_ufunc__ = _array_ufunc
Tracer.__array_function__ = _array_function
