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
import inspect
import os
import sys
import sysconfig

import numpy as np

from fad.errors import (ConcretizationTypeError, LostDerivativeError, TracerArrayConversionError,
                        TracerBoolConversionError, TracerIntegerConversionError,
                        UnexpectedTracerError)


# Why one of a trace's tracers is abstract, and which fix is particular to the
# transformation (``Trace.abstract_value_help``, read by the message of
# ``abstract_value_error``): the default, that of staging (``jit``, ``make_jaxpr``, the
# bodies of control flow), where a static argument can help, and that of ``vmap``, where
# ``static_argnums`` does not apply but ``in_axes=None`` may.
ABSTRACT_VALUE_HELP = ("only its shape and dtype are known while fad traces the function",
                       "")
STAGED_VALUE_HELP = ("only its shape and dtype are known while the function is traced into "
                     "a program", "static")
BATCHED_VALUE_HELP = ("it stands for a whole batch of values, one per example, so only its "
                      "shape and dtype are known", "in_axes")


class Trace:
    """One level of transformation. Subclasses implement ``process_primitive``."""

    name = "Trace"
    # ``origin``: ``(what, function)``, the API and the user's function this trace runs,
    # where the API knows it (set when the function is called; read only by error messages:
    # ``transformation_words``). Unset on traces made without ``__init__``.
    __slots__ = ("parent", "level", "valid", "const_eval", "origin", "__weakref__")
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
    """Raise the error for the tracer ``x`` used after its transformation returned."""
    raise escaped_error(x)


def raise_derivative_lost(x, conversion):
    """Raise the error for ``conversion`` (``"float()"``, ``".item()"``) of the tracer
    ``x``, which carries a derivative that the Python number made would drop."""
    frame = sys._getframe(1)
    raise LostDerivativeError(LazyMessage(lambda: (
        f"{conversion} of {describe(x)} would lose its derivative: the value depends on an "
        "input being differentiated (grad, jvp, vjp, linearize), and a Python number cannot "
        "carry a derivative, so the gradient would silently be wrong. Keep it an array: "
        "use fad.numpy functions (fad.numpy.sin(x), not math.sin(x); x rather than "
        "float(x), x.item() or x.tolist()). To drop the derivative on purpose, convert "
        f"{_applied(conversion, 'fad.stop_gradient(x)')} (or fad.lax.stop_gradient) instead."
        f"{_where(frame)}")))


def _applied(conversion, operand):
    """``conversion`` written on ``operand``: ``float(operand)``, ``operand.item()``."""
    if conversion.startswith("."):
        return operand + conversion
    return f"{conversion[:-2]}({operand})"


class Tracer:
    """A value inside a transformation; behaves like an array.

    Operators and array methods are installed by ``fad.numpy`` and route to it.

    >>> import numpy as np, fad, fad.lax as lax
    >>> def f(x):
    ...     print(isinstance(x, lax.Tracer), x.shape, x.dtype)
    ...     return x * x
    ...
    >>> fad.grad(f)(3.0)
    True () float64
    np.float64(6.0)
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
        raise abstract_value_error(self)

    def _live_concrete_value(self, conversion: str | None = None):
        """``concrete_value``, for ``conversion`` (``"bool()"``, ``"int()"``,
        ``"__index__"``: the error is then the class for it, as JAX's)."""
        if not self._trace.valid:   # a leaked tracer: its value is no longer meaningful
            raise_escaped(self)
        if conversion is None:
            return self.concrete_value()
        try:
            return self.concrete_value()
        except ConcretizationTypeError as err:
            # (the abstract tracer may be another one: a JVP tracer asks its primal)
            abstract = getattr(err, "tracer", None)
            if type(err) is not ConcretizationTypeError or abstract is None:
                raise
            raise abstract_value_error(abstract, conversion) from None

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
        return bool(self._live_concrete_value("bool()"))

    def __int__(self):
        return int(self._live_concrete_value("int()"))

    def __index__(self):
        return self._live_concrete_value("__index__").__index__()

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
        frame = sys._getframe()
        raise TracerArrayConversionError(LazyMessage(lambda: (
            f"{describe(self, capital=True)} cannot be converted to a NumPy array "
            f"{transformation_words(self._trace)[1]}: NumPy cannot follow derivatives or "
            "batch dimensions through it. Use fad.numpy instead of numpy for this "
            "operation (or an operation fad supports through __array_function__). To index "
            "a NumPy array with a traced index, write fad.numpy.take(a, i, axis=0) instead "
            f"of a[i].{_where(frame)}")))

    def __hash__(self):
        raise TypeError(f"unhashable type: {describe(self)} (arrays are not hashable); "
                        "to use a value as a dict key or a static argument, convert a "
                        "concrete one with .item() or tuple(x.tolist()) outside the "
                        "transformation")

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


# -- error messages -------------------------------------------------------------------------
#
# They speak of transformations as users call them ("under vmap", "while recording for
# grad"), never of the classes above, and name the user's function, line and argument:
# the innermost frame outside fad (and NumPy, and Python's own library) is the user's code.

_FAD_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_NUMPY_DIR = os.path.dirname(os.path.abspath(np.__file__)) + os.sep
_PATHS = sysconfig.get_paths()
_STDLIB_DIRS = tuple({_PATHS["stdlib"], _PATHS["platstdlib"]})
_SITE_DIRS = tuple({_PATHS["purelib"], _PATHS["platlib"]})

# The transformation a kind of trace (``Trace.name``) belongs to, when the trace does not
# say which API made it (``Trace.origin``).
_KIND_API = {"StagingTrace": "jit", "BatchTrace": "vmap", "JVPTrace": "jvp",
             "LinearizeTrace": "grad", "ProbeTrace": "grad"}
# APIs whose values are recorded for a reverse pass ("while recording for grad").
_RECORDING_APIS = frozenset({"grad", "value_and_grad", "vjp", "linearize", "jacrev",
                             "hessian", "linear_transpose"})
_LAX_APIS = frozenset({"cond", "switch", "scan", "while_loop", "fori_loop"})


def is_internal_file(filename: str) -> bool:
    """Whether code in ``filename`` is fad's, NumPy's or Python's own (not the user's)."""
    if filename.startswith((_FAD_DIR, _NUMPY_DIR, "<frozen")):
        return True
    return filename.startswith(_STDLIB_DIRS) and not filename.startswith(_SITE_DIRS)


def user_frame(start=None):
    """The innermost frame of the user's code on the stack, from ``start`` (a frame; by
    default the caller's) outwards; ``None`` if there is none."""
    f = sys._getframe(1) if start is None else start
    while f is not None and is_internal_file(f.f_code.co_filename):
        f = f.f_back
    return f


class LazyMessage:
    """An error message built when it is first read (``str(error)``), from the stack as it
    was when the error was raised (the frames an exception keeps stay readable): so an
    error that fad catches and drops -- ``concrete_or_none`` asks for a value and takes
    the error as "abstract" -- costs no search of the stack or of the program recorded."""

    __slots__ = ("build", "text")

    def __init__(self, build):
        self.build, self.text = build, None

    def __str__(self):
        if self.text is None:
            self.text, self.build = self.build(), None
        return self.text

    def __repr__(self):
        return repr(str(self))

    def __reduce__(self):   # (pickled, as for another process, it is the text)
        return str, (str(self),)


def _function_at(code, line) -> str:
    """``relu (model.py:12)``: a function and a line of it, for a message."""
    name = "the lambda" if code.co_name == "<lambda>" else code.co_name
    return f"{name} ({os.path.basename(code.co_filename)}:{line})"


def describe(x, capital: bool = False) -> str:
    """A tracer in the user's words: ``a traced f64[3] value`` (``A`` if ``capital``)."""
    try:
        words = f"a traced {x.aval.str_short()} value"
    except Exception:   # noqa: BLE001 -- (a message must not fail for a broken tracer)
        words = "a traced value"
    return "A" + words[1:] if capital else words


def _origin(trace):
    """``(what, function)``: the API and user function ``trace`` runs, or Nones."""
    origin = getattr(trace, "origin", None)   # (a slot left unset reads as missing)
    return origin if origin is not None else (None, None)


def transformation_words(trace) -> tuple[str, str]:
    """``(api, phrase)``: the transformation ``trace`` belongs to and a phrase for it:
    ``("vmap", "under vmap")``, ``("grad", "while recording for grad")``,
    ``("lax.scan", "in the body f of lax.scan")``."""
    what = _origin(trace)[0] or _KIND_API.get(trace.name, "a transformation")
    if ": " in what:   # a function given to a control-flow primitive: "scan: f"
        api, part = what.split(": ", 1)
        api = f"lax.{api}" if api in _LAX_APIS else f"fad.{api}"
        return api, f"in {part} of {api}, which fad traces into a program"
    if what.startswith("custom_"):   # "custom_jvp function f"
        return what.split()[0], f"in {what}, which fad traces into a program"
    if what in _RECORDING_APIS:
        return what, f"while recording for {what}"
    return what, f"under {what}"


def _where(start) -> str:
    """`` It happened in relu (model.py:12).``: the user's code, on the stack from the frame
    ``start`` outwards."""
    frame = user_frame(start)
    if frame is None:
        return ""
    return f" It happened in {_function_at(frame.f_code, frame.f_lineno)}."


def escaped_error(x) -> UnexpectedTracerError:
    """The error for the tracer ``x`` used after its transformation returned (or outside
    it), naming the transformation and the function it ran when ``x`` was made."""
    frame = sys._getframe(1)
    return UnexpectedTracerError(LazyMessage(lambda: _escaped_message(x, frame)))


def _escaped_message(x, frame) -> str:
    api, phrase = transformation_words(x._trace)
    fun = _origin(x._trace)[1]
    code = getattr(fun, "__code__", None)
    made = ""
    if code is not None and not is_internal_file(code.co_filename):
        made = f", while it ran {_function_at(code, code.co_firstlineno)}"
    return (
        f"{describe(x, capital=True)} made {phrase}{made} was used outside the "
        f"transformation that created it ({api}, which has already returned or is not "
        "active here): it escaped, through a global variable, a closure or a container "
        "outside the function. The values a transformation traces are valid only while "
        "it runs. Return the value from the transformed function instead (as an output, "
        f"or as auxiliary data with has_aux=True).{_where(frame)}")


# What the Python operation needed, and the class of its error (as JAX's).
_CONVERSIONS = {
    None: (ConcretizationTypeError,
           "A concrete value was needed (by float(), .item(), .tolist(), or for a shape or "
           "a size)"),
    "bool()": (TracerBoolConversionError,
               "Python's `if`, `while`, `and`/`or`/`not` and bool() need a concrete True "
               "or False"),
    "int()": (TracerIntegerConversionError, "int() needs a concrete integer"),
    "__index__": (TracerIntegerConversionError,
                  "Using a value as a Python index (a list's x[i], range(n), a shape) "
                  "needs a concrete integer"),
}


def abstract_value_error(tracer, conversion: str | None = None) -> ConcretizationTypeError:
    """The error for Python needing the value of the abstract ``tracer`` (for
    ``conversion``: ``"bool()"``, ``"int()"``, ``"__index__"``, or ``None``): what was
    needed, why the value is abstract under this transformation, the user's function
    and the argument the value comes from, and the fixes that apply here."""
    frame = sys._getframe(1)
    err = _CONVERSIONS[conversion][0](
        LazyMessage(lambda: _abstract_message(tracer, conversion, frame)))
    err.tracer = tracer   # (``Tracer._live_concrete_value`` names the conversion)
    return err


def _abstract_message(tracer, conversion, frame) -> str:
    needed = _CONVERSIONS[conversion][1]
    trace = tracer._trace
    reason, kind = trace.abstract_value_help
    api, phrase = transformation_words(trace)
    if api.startswith(("lax.", "fad.", "custom_")):   # a function fad traces for a primitive
        kind, reason = "body", "only its shape and dtype are known"
    elif kind == "in_axes" and api != "vmap":   # (a gradient's recording, inside vmap)
        phrase = f"{phrase}, under vmap"
    source, names, code = _source(tracer, frame)
    fixes = ["to choose per element, compute both sides and pick with "
             "fad.numpy.where(condition, x, y) (or fad.lax.select_n)",
             "to run one of two functions, use fad.lax.cond(pred, true_fun, false_fun, "
             "*operands)" + (" (and fad.lax.while_loop for a loop on the value)"
                             if conversion == "bool()" else "")]
    if conversion in ("int()", "__index__"):
        fixes.append("to index an array, use fad.numpy (fad.numpy.take(a, i)) rather than "
                     "a Python list, and loop with fad.lax.fori_loop over a traced bound")
    fixes.append(_particular_fix(kind, api, names, code))
    return (f"{needed}, but {describe(tracer)} is abstract {phrase}: {reason}.{source} "
            f"Fixes: {'; '.join(f for f in fixes if f)}.")


def _particular_fix(kind, api, names, code) -> str:
    """The fix that applies under this transformation only."""
    if kind == "static":
        how = "fad.make_jaxpr" if api == "make_jaxpr" else "fad.jit"
        if len(names) == 1 and code is not None and names[0] in code.co_varnames[
                :code.co_argcount]:
            name = names[0]
            num = code.co_varnames.index(name)
            return (f"if `{name}` is a setting rather than data, make it static: "
                    f"{how}(f, static_argnums={num}) (or static_argnames='{name}')")
        return ("if the value is a setting rather than data, make the argument it comes "
                f"from static: {how}(f, static_argnums=...) (or static_argnames)")
    if kind == "in_axes":
        arg = f"`{names[0]}`" if len(names) == 1 else "its argument"
        return ("if the value is the same for every example, do not map it: pass "
                f"{arg} with in_axes=None, or decide outside the vmapped function")
    if kind == "body":
        return (f"if the value does not depend on what {api} passes the function, compute "
                f"it outside, before calling {api}")
    return ""


def _source(tracer, start) -> tuple[str, list, object]:
    """``(sentence, argument names, code)``: the user's function where ``tracer``'s value
    was needed and the argument(s) of it the value comes from (known exactly when the
    value is an argument, or for a recorded program, whose equations say what it was
    computed from; otherwise the traced arguments are named as candidates). The stack is
    searched from the frame ``start`` outwards."""
    frame = user_frame(start)
    if frame is None:
        return "", [], None
    code = frame.f_code
    at = _function_at(code, frame.f_lineno)
    params = _traced_params(frame, tracer._trace)
    direct = [name for name, found in params if any(t is tracer for t in found)]
    if direct:
        return f" The value is the argument `{direct[0]}` of {at}.", direct[:1], code
    deps = _dependencies(tracer)
    if deps is not None:
        names = [name for name, found in params
                 if any(getattr(t, "ir_var", None) in deps for t in found)]
        if names:
            listed = ", ".join(f"`{n}`" for n in names)
            return (f" It happened in {at}; the value depends on its argument"
                    f"{'s' if len(names) > 1 else ''} {listed}.", names, code)
        return f" It happened in {at}.", [], code
    if params:
        listed = ", ".join(f"`{n}`" for n, _ in params)
        return (f" It happened in {at}, whose traced argument"
                f"{'s are' if len(params) > 1 else ' is'} {listed}.",
                [n for n, _ in params], code)
    return f" It happened in {at}.", [], code


def _traced_params(frame, trace) -> list:
    """``[(name, tracers)]``: the parameters of ``frame``'s function holding tracers of
    ``trace`` (in tuples, lists and dicts too)."""
    code = frame.f_code
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags
                                                               & inspect.CO_VARKEYWORDS)
    values = frame.f_locals
    out = []
    for name in code.co_varnames[:count]:
        found = []
        _collect_tracers(values.get(name), trace, found, 0)
        if found:
            out.append((name, found))
    return out


def _collect_tracers(value, trace, found, depth):
    if isinstance(value, Tracer):
        if value._trace is trace:
            found.append(value)
    elif depth < 4 and isinstance(value, (tuple, list)):
        for v in value[:1000]:
            _collect_tracers(v, trace, found, depth + 1)
    elif depth < 4 and isinstance(value, dict):
        for v in list(value.values())[:1000]:
            _collect_tracers(v, trace, found, depth + 1)


def _dependencies(tracer):
    """The variables ``tracer``'s value is computed from, if its trace records the
    program (its ``eqns``); ``None`` if it does not (the batching trace computes as it
    goes, and keeps no record)."""
    var = getattr(tracer, "ir_var", None)
    eqns = getattr(tracer._trace, "eqns", None)
    if var is None or eqns is None:
        return None
    var_type = type(var)
    deps = {var}
    for eqn in reversed(eqns):
        if any(type(v) is var_type and v in deps for v in eqn.outvars):
            deps.update(v for v in eqn.invars if type(v) is var_type)
    return deps
