"""Traces and tracers: how transformations nest.

fad is *stackless*: the innermost active transformation is a ``Trace`` held in a
context variable. ``Primitive.bind`` hands every operation to that trace. A trace knows
its parent (the transformation it runs inside) and tags the tracers it creates; it
unpacks its own tracers, treats every other value as a constant of the levels below, and
runs its rule for the primitive with the parent as the current trace, so that the
operations the rule performs are processed by the parent in turn. Evaluation with NumPy
is the trace at the bottom.

When a transformation returns, its trace is invalidated, so a tracer that escaped is
caught the next time it is used.
"""
from __future__ import annotations

import contextvars

from fad.core.abstract import ShapedArray
from fad.errors import ConcretizationTypeError, TracerArrayConversionError, UnexpectedTracerError


class Trace:
    """One level of transformation. Subclasses implement ``process_primitive``."""

    name = "Trace"
    __slots__ = ("parent", "level", "valid", "const_eval", "__weakref__")
    # Whether an operation none of whose operands is a tracer goes to the parent trace
    # (true of every transformation but staging, which records it).
    forwards_constants = True

    def __init__(self, parent: Trace | None):
        self.parent = parent
        self.level = 0 if parent is None else parent.level + 1
        self.valid = True
        # ``const_eval``: an operation without tracer operands, bound while this trace is
        # current, would reach the evaluation trace unchanged; ``bind`` evaluates it at once.
        self.const_eval = parent is None or (self.forwards_constants and parent.const_eval)

    def process_primitive(self, prim, args, params):
        raise NotImplementedError

    def process_binary(self, prim, x, y):
        """``process_primitive`` of a two-operand primitive without parameters (the
        arithmetic operators' entry, which a trace may shortcut)."""
        return self.process_primitive(prim, (x, y), {})

    def check_foreign(self, x):
        """``x`` is not one of ours: it must belong to a live trace below us."""
        t = x._trace
        if not t.valid or t.level >= self.level:
            raise_escaped(x)

    def __repr__(self):
        return f"{self.name}(level={self.level})"


def raise_escaped(x):
    raise UnexpectedTracerError(
        f"A tracer ({x!r}) was used outside the transformation that created it "
        f"({x._trace.name}, which has already returned or is not active here). It probably "
        "escaped through a global variable, a closure or a mutable container. Return it "
        "from the transformed function instead.")


class Tracer:
    """A value inside a transformation; behaves like an array.

    Operators and array methods are installed by ``fad.numpy`` and route to it.
    """

    __slots__ = ("_trace",)
    __array_priority__ = 1000

    @property
    def aval(self) -> ShapedArray:
        raise NotImplementedError

    # -- array-like metadata ------------------------------------------------------------
    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)
    ndim = property(lambda self: self.aval.ndim)
    size = property(lambda self: self.aval.size)
    weak_type = property(lambda self: self.aval.weak_type)

    def __len__(self):
        if not self.aval.shape:
            raise TypeError("len() of a 0-d (scalar) array")
        return self.aval.shape[0]

    def __repr__(self):
        return f"Traced<{self.aval.str_short()}>with<{self._trace.name}>"

    # -- concreteness -------------------------------------------------------------------
    def concrete_value(self):
        """The concrete value behind this tracer, or raise ConcretizationTypeError."""
        raise ConcretizationTypeError(
            f"A concrete value was needed, but {self!r} is abstract: under jit and vmap only "
            "its shape and dtype are known. Python control flow (`if`, `while`, bool(), "
            "int(), float()) cannot depend on it. Use fad.lax.cond / fad.lax.select / "
            "fad.numpy.where for data-dependent choices, or static_argnums to make the "
            "argument a constant.")

    def _live_concrete_value(self):
        if not self._trace.valid:   # a leaked tracer: its value is no longer meaningful
            raise_escaped(self)
        return self.concrete_value()

    def __bool__(self):
        return bool(self._live_concrete_value())

    def __int__(self):
        return int(self._live_concrete_value())

    def __index__(self):
        return self._live_concrete_value().__index__()

    def __float__(self):
        return float(self._live_concrete_value())

    def __complex__(self):
        return complex(self._live_concrete_value())

    def __array__(self, dtype=None, copy=None):
        raise TracerArrayConversionError(
            f"{self!r} cannot be converted to a NumPy array: NumPy cannot follow "
            "derivatives or batch dimensions through it. Use fad.numpy instead of numpy "
            "for this operation (or an operation fad supports through __array_function__). "
            "To index a NumPy array with a traced index, write fad.numpy.take(a, i, axis=0) "
            "instead of a[i].")

    def __hash__(self):
        raise TypeError(f"unhashable type: {self!r} (arrays are not hashable)")

    def __iter__(self):
        if not self.aval.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.aval.shape[0]))

    def __reversed__(self):
        return (self[i] for i in reversed(range(len(self))))


class EvalTrace(Trace):
    """The bottom of every stack: run each primitive's NumPy implementation."""

    name = "EvalTrace"
    __slots__ = ()

    def process_primitive(self, prim, args, params):
        for x in args:
            if isinstance(x, Tracer):
                raise_escaped(x)
        return prim.impl(*args, **params)


eval_trace = EvalTrace(None)
_current_trace: contextvars.ContextVar[Trace] = contextvars.ContextVar(
    "fad_trace", default=eval_trace)
get_current_trace = _current_trace.get


class new_trace:
    """Context manager: a fresh ``cls(parent=current, ...)`` that is current in the block
    and invalidated when the block exits."""

    __slots__ = ("trace", "token")

    def __init__(self, cls, *args, **kwargs):
        self.trace = cls(_current_trace.get(), *args, **kwargs)

    def __enter__(self):
        self.token = _current_trace.set(self.trace)
        return self.trace

    def __exit__(self, *exc):
        _current_trace.reset(self.token)
        self.trace.valid = False
