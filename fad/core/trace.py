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

from fad.errors import (ConcretizationTypeError, LostDerivativeError, TracerArrayConversionError,
                        UnexpectedTracerError)


# (why the value is abstract, the fix particular to the transformation) for
# ``Trace.abstract_value_help``: the default, that of staging (``jit``, ``make_jaxpr``),
# and that of ``vmap``, where ``static_argnums`` does not apply.
ABSTRACT_VALUE_HELP = ("only its shape and dtype are known while fad traces the function",
                       "")
STAGED_VALUE_HELP = (
    "under jit and make_jaxpr only its shape and dtype are known",
    " Or, if the value is a configuration rather than data, make the argument it comes from "
    "static: fad.jit(f, static_argnums=...) (or static_argnames), "
    "fad.make_jaxpr(f, static_argnums=...).")
BATCHED_VALUE_HELP = (
    "under vmap it stands for a whole batch of values, one per example, so only its shape "
    "and dtype are known",
    " A value that is the same for every example should not be mapped: pass its argument "
    "with in_axes=None, or compute the decision outside the vmapped function.")


class Trace:
    """One level of transformation. Subclasses implement ``process_primitive``."""

    name = "Trace"
    __slots__ = ("parent", "level", "valid", "const_eval", "__weakref__")
    # Whether an operation none of whose operands is a tracer goes to the parent trace
    # (true of every transformation but staging, which records it).
    forwards_constants = True
    # Whether a concrete value of one of our tracers carries a derivative (JVP, and the
    # probe of staged gradients, whose concrete inputs are differentiated): a Python
    # number made of it would silently drop that derivative (``Tracer.concrete_number``).
    carries_derivatives = False
    # Why Python cannot have the value of one of our abstract tracers, and the fix
    # particular to this transformation (``Tracer.concrete_value``'s message).
    abstract_value_help = ABSTRACT_VALUE_HELP

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


def raise_derivative_lost(x, conversion):
    """Raise the error for ``conversion`` (``"float()"``, ``".item()"``) of the tracer
    ``x``, which carries a derivative that the Python number made would drop."""
    raise LostDerivativeError(
        f"{conversion} of {x!r} would lose its derivative: the value depends on an input "
        "being differentiated (grad, jvp, vjp, linearize), and a Python number cannot "
        "carry a derivative, so the gradient would silently be wrong. Keep it an array: "
        "use fad.numpy functions (fad.numpy.sin(x), not math.sin(x); x rather than "
        "float(x), x.item() or x.tolist()). To drop the derivative on purpose, convert "
        f"{_applied(conversion, 'fad.stop_gradient(x)')} (or fad.lax.stop_gradient) instead.")


def _applied(conversion, operand):
    """``conversion`` written on ``operand``: ``float(operand)``, ``operand.item()``."""
    if conversion.startswith("."):
        return operand + conversion
    return f"{conversion[:-2]}({operand})"


class Tracer:
    """A value inside a transformation; behaves like an array.

    Operators and array methods are installed by ``fad.numpy`` and route to it.
    """

    __slots__ = ("_trace",)
    __array_priority__ = 1000

    @property
    def aval(self):
        """The ``fad.core.abstract.ShapedArray`` of the value. (Not imported here: the
        abstract values' module imports this one, for ``get_aval`` of a tracer.)"""
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
        reason, fix = self._trace.abstract_value_help
        raise ConcretizationTypeError(
            f"A concrete value was needed, but {self!r} is abstract: {reason}. Python "
            "control flow (`if`, `while`, bool(), int(), float()) cannot depend on it. "
            "For a data-dependent choice compute both sides and pick elementwise with "
            "fad.numpy.where(condition, x, y) (or fad.lax.select_n), or run one of two "
            "functions with fad.lax.cond(pred, true_fun, false_fun, *operands)."
            f"{fix}")

    def _live_concrete_value(self):
        if not self._trace.valid:   # a leaked tracer: its value is no longer meaningful
            raise_escaped(self)
        return self.concrete_value()

    def concrete_number(self, conversion: str):
        """The concrete value behind this tracer, for ``conversion`` (``"float()"``,
        ``".item()"``, ...) to make a Python number of. A Python number has no
        derivative, so if the tracer carries one (it depends on a value being
        differentiated) this raises ConcretizationTypeError rather than silently give a
        zero derivative; ``bool()``, ``int()`` and indexing, whose derivative is zero
        anyway, use ``concrete_value``. Under ``grad``::

            float(x) * 2                       # ConcretizationTypeError
            float(fad.stop_gradient(x)) * 2    # a constant, derivative 0 on purpose
        """
        value = self._live_concrete_value()   # (abstract: the abstract-value error)
        if self._has_derivative():
            raise_derivative_lost(self, conversion)
        return value

    def _has_derivative(self) -> bool:
        """Whether this tracer, known to be concrete, carries a derivative. (An integer
        or boolean value has none to lose: ``argmax(x).item()`` is fine.)"""
        return self._trace.carries_derivatives and self.aval.dtype.kind in "fc"

    def __bool__(self):
        return bool(self._live_concrete_value())

    def __int__(self):
        return int(self._live_concrete_value())

    def __index__(self):
        return self._live_concrete_value().__index__()

    def __float__(self):
        # (also what math.sin(x), np.float64(x) and "%f" % x call)
        return float(self.concrete_number("float()"))

    def __complex__(self):
        return complex(self.concrete_number("complex()"))

    def __array__(self, dtype=None, copy=None):
        # (also what np.float64(x) falls back on once float(x) has failed)
        if self._has_derivative():
            try:
                self._live_concrete_value()
            except ConcretizationTypeError:
                pass   # abstract as well: the conversion error below says enough
            else:
                raise_derivative_lost(self, "numpy.asarray()")
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
