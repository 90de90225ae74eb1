"""The IR: jaxprs, typed Wengert lists.

A ``Jaxpr`` has constant variables (bound to arrays closed over), input variables, a list
of equations ``outvars = primitive[params] invars`` in evaluation order, and output atoms.
An atom is a ``Var`` or a ``Literal`` (a scalar constant written inline). A
``ClosedJaxpr`` pairs a jaxpr with the values of its constants.
"""
from __future__ import annotations

import functools
import itertools
from typing import Any, Callable, NamedTuple

import numpy as np

from fad.core import dtypes
from fad.core.abstract import ShapedArray, get_aval


class Var:
    __slots__ = ("aval", "count")
    _counter = itertools.count()

    def __init__(self, aval: ShapedArray):
        self.aval = aval
        self.count = next(Var._counter)

    def __repr__(self):
        return f"Var({self.count}:{self.aval.str_short()})"


class Literal:
    """A scalar constant written inline in the program."""

    __slots__ = ("val", "aval")

    def __init__(self, val, aval: ShapedArray | None = None):
        self.val = val
        self.aval = get_aval(val) if aval is None else aval

    def __repr__(self):
        return f"Literal({self.val})"


class JaxprEqn(NamedTuple):
    primitive: Any
    invars: list
    outvars: list
    params: dict


# ``new_eqn((prim, invars, outvars, params))``: a JaxprEqn built in C (the NamedTuple
# constructor is a Python function, and staging builds one per operation).
new_eqn = functools.partial(tuple.__new__, JaxprEqn)


class Jaxpr:
    """A typed program: the variables of its constants and inputs, its equations
    (primitive applications, in order) and its output atoms (variables or literals).

    >>> import numpy as np, fad
    >>> jaxpr = fad.make_jaxpr(lambda x, y: x * y + 1.0)(2.0, 3.0).jaxpr
    >>> len(jaxpr.invars), [eqn.primitive.name for eqn in jaxpr.eqns]
    (2, ['mul', 'add'])
    >>> jaxpr.out_avals
    [ShapedArray((), float64, weak_type=True)]
    """

    __slots__ = ("constvars", "invars", "outvars", "eqns")

    def __init__(self, constvars, invars, outvars, eqns):
        self.constvars = list(constvars)
        self.invars = list(invars)
        self.outvars = list(outvars)
        self.eqns = list(eqns)

    @property
    def in_avals(self):
        return [v.aval for v in self.invars]

    @property
    def out_avals(self):
        return [v.aval for v in self.outvars]

    def __str__(self):
        return pp_jaxpr(self)

    __repr__ = __str__


class ClosedJaxpr:
    """A jaxpr together with the values of its constant variables.

    >>> import numpy as np, fad
    >>> closed = fad.make_jaxpr(lambda x: x + np.arange(3.0))(1.0)
    >>> closed.consts, len(closed.jaxpr.constvars), len(closed.jaxpr.invars)
    ([array([0., 1., 2.])], 1, 1)
    """

    __slots__ = ("jaxpr", "consts", "_derived", "__weakref__")

    def __init__(self, jaxpr: Jaxpr, consts):
        if len(jaxpr.constvars) != len(consts):
            raise ValueError(f"{len(jaxpr.constvars)} constvars but {len(consts)} consts")
        self.jaxpr = jaxpr
        self.consts = list(consts)
        self._derived = None

    def derived(self, key, make: Callable):
        """``make()``, the program derived from this one that ``key`` names (its JVP for
        these nonzero tangents, its batched form for these axes, its lowered code...),
        made once and kept as long as this jaxpr: the rules of a higher-order primitive
        (``jit``'s call, control flow) ask for the same derived programs at every call."""
        derived = self._derived
        if derived is None:
            derived = self._derived = {}
        try:
            return derived[key]
        except KeyError:
            out = derived[key] = make()
            return out

    in_avals = property(lambda self: self.jaxpr.in_avals)
    out_avals = property(lambda self: self.jaxpr.out_avals)
    eqns = property(lambda self: self.jaxpr.eqns)

    def __str__(self):
        return pp_jaxpr(self.jaxpr)

    __repr__ = __str__

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


# -- printing -------------------------------------------------------------------------------

def _var_names():
    for n in itertools.count(1):
        for letters in itertools.product("abcdefghijklmnopqrstuvwxyz", repeat=n):
            yield "".join(letters)


class _Namer:
    def __init__(self):
        self.names = {}
        self.fresh = _var_names()

    def __call__(self, atom) -> str:
        if isinstance(atom, Literal):
            return _pp_literal(atom)
        name = self.names.get(atom)
        if name is None:
            name = self.names[atom] = next(self.fresh)
        return name

    def typed(self, var) -> str:
        return f"{self(var)}:{var.aval.str_short()}"


def _pp_literal(lit: Literal) -> str:
    val = lit.val
    if isinstance(val, np.ndarray) and val.ndim:
        return f"<const {lit.aval.str_short()}>"
    val = val.item() if isinstance(val, (np.ndarray, np.generic)) else val
    return f"{val!r}:{lit.aval.str_short()}"


def _pp_param(value, namer, indent) -> str:
    if isinstance(value, ClosedJaxpr):
        value = value.jaxpr
    if isinstance(value, Jaxpr):
        inner = _pp_jaxpr(value, namer, indent + 4)
        return "\n" + " " * (indent + 4) + inner
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], (Jaxpr, ClosedJaxpr)):
        return "(" + ", ".join(_pp_param(v, namer, indent) for v in value) + ")"
    if callable(value) and hasattr(value, "__name__"):
        return value.__name__
    return repr(value)


def _pp_eqn(eqn: JaxprEqn, namer: _Namer, indent: int) -> str:
    lhs = " ".join(namer.typed(v) for v in eqn.outvars) or "_"
    params = ""
    if eqn.params:
        params = "[" + " ".join(f"{k}={_pp_param(v, namer, indent)}"
                                for k, v in sorted(eqn.params.items())) + "]"
    rhs = " ".join(namer(v) for v in eqn.invars)
    return f"{lhs} = {eqn.primitive.name}{params} {rhs}".rstrip()


def _pp_jaxpr(jaxpr: Jaxpr, namer: _Namer, indent: int) -> str:
    consts = " ".join(namer.typed(v) for v in jaxpr.constvars)
    ins = " ".join(namer.typed(v) for v in jaxpr.invars)
    pad = " " * (indent + 4)
    eqns = "".join(f"\n{pad}{_pp_eqn(e, namer, indent + 4)}" for e in jaxpr.eqns)
    outs = ", ".join(namer(v) for v in jaxpr.outvars)
    outs = f"({outs},)" if len(jaxpr.outvars) == 1 else f"({outs})"
    return (f"{{ lambda {consts}; {ins}. let{eqns}\n{' ' * (indent + 2)}in {outs} }}")


def pp_jaxpr(jaxpr: Jaxpr) -> str:
    return _pp_jaxpr(jaxpr, _Namer(), 0)


# -- type checking --------------------------------------------------------------------------

class JaxprTypeError(TypeError):
    """A jaxpr is malformed: an undefined variable or a type its primitive disagrees with."""


def _same_type(a: ShapedArray, b: ShapedArray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype


def typecheck_jaxpr(jaxpr: Jaxpr | ClosedJaxpr) -> None:
    """Re-derive every equation's output types with its primitive's shape rule.

    Raises ``JaxprTypeError`` naming the equation on the first disagreement.
    """
    if isinstance(jaxpr, ClosedJaxpr):
        for v, c in zip(jaxpr.jaxpr.constvars, jaxpr.consts):
            aval = c.aval if hasattr(c, "aval") and not isinstance(c, np.ndarray) else get_aval(c)
            if not _same_type(v.aval, aval):
                raise JaxprTypeError(f"constant {v} has type {aval}, not {v.aval}")
        jaxpr = jaxpr.jaxpr
    defined = set()

    def define(v):
        if not isinstance(v, Var):
            raise JaxprTypeError(f"binder {v!r} is not a Var")
        if v in defined:
            raise JaxprTypeError(f"variable {v} is defined twice")
        defined.add(v)

    def read(a, where):
        if isinstance(a, Literal):
            return a.aval
        if a not in defined:
            raise JaxprTypeError(f"{where} reads {a}, which is not defined before it")
        return a.aval

    for v in jaxpr.constvars + jaxpr.invars:
        define(v)
    for i, eqn in enumerate(jaxpr.eqns):
        where = f"equation {i} ({eqn.primitive.name})"
        in_avals = [read(a, where) for a in eqn.invars]
        for name, sub in sub_jaxprs(eqn.params):   # (a call's body, a loop's, branches)
            try:
                typecheck_jaxpr(sub)
            except JaxprTypeError as e:
                raise JaxprTypeError(f"{where}, in its parameter {name}: {e}") from e
        try:
            out = eqn.primitive.abstract_eval(*in_avals, **eqn.params)
        except Exception as e:
            raise JaxprTypeError(f"{where}: the shape rule rejects its inputs: {e}") from e
        outs = out if eqn.primitive.multiple_results else [out]
        if len(outs) != len(eqn.outvars):
            raise JaxprTypeError(f"{where}: {len(eqn.outvars)} outputs, rule gives {len(outs)}")
        for v, aval in zip(eqn.outvars, outs):
            if not _same_type(v.aval, aval):
                raise JaxprTypeError(f"{where}: output {v} declared {v.aval}, rule gives {aval}")
            define(v)
    for a in jaxpr.outvars:
        read(a, "the output list")



def check_inputs(jaxpr: Jaxpr, consts, args, fname: str = "eval_jaxpr") -> None:
    """Check that ``consts`` and ``args`` are as many as ``jaxpr``'s constant and input
    variables, of their shapes and dtypes (a Python scalar may stand for a NumPy dtype
    of its kind or wider: ``2`` for ``f64[]``); raise ``TypeError`` naming the first that
    is not. Cheap (no equation is looked at): for public entry points, whose callers
    may pass anything."""
    for what, variables, values in (("constant", jaxpr.constvars, consts),
                                    ("argument", jaxpr.invars, args)):
        if len(values) != len(variables):
            plural = "" if len(variables) == 1 else "s"
            raise TypeError(f"{fname}: the jaxpr takes {len(variables)} {what}{plural}, got "
                            f"{len(values)}")
        for i, (var, value) in enumerate(zip(variables, values)):
            _check_input(fname, f"{what} {i}", var.aval, value)


def _check_input(fname, which, want: ShapedArray, value):
    try:
        have = get_aval(value)
    except TypeError:
        raise TypeError(f"{fname}: {which} is a {type(value).__name__}, not an array; the "
                        f"jaxpr expects {want.str_short()} (pass np.asarray(...))") from None
    python_scalar = isinstance(value, dtypes.PYTHON_SCALAR_TYPES)
    if have.shape != want.shape or not (
            have.dtype == want.dtype
            or python_scalar and np.can_cast(have.dtype, want.dtype, "same_kind")):
        raise TypeError(f"{fname}: {which} has type {have.str_short()}, but the jaxpr "
                        f"expects {want.str_short()}")


# -- small passes ---------------------------------------------------------------------------

# primitive -> rule(used_outputs, eqn) -> (used_inputs, eqn'): the DCE of an equation
# with a sub-program (a call drops the outputs no one reads and the inputs its body no
# longer needs; a loop, its unused carried values). ``eqn'`` computes the used outputs
# from the used inputs (its other outvars may be dropped or kept), or is ``None`` to drop
# the equation. Primitives without a rule keep all their inputs.
dce_rules: dict = {}


def dce_jaxpr(jaxpr: Jaxpr) -> Jaxpr:
    """Drop equations whose outputs nothing reads (unless they have effects), and the
    parts of higher-order equations no one reads (``dce_rules``)."""
    live = {v for v in jaxpr.outvars if isinstance(v, Var)}
    kept = []
    for eqn in reversed(jaxpr.eqns):
        used = [v in live for v in eqn.outvars]
        if not any(used) and not has_effects(eqn):
            continue
        rule = dce_rules.get(eqn.primitive)
        if rule is not None:
            invars = eqn.invars   # (``used_in`` says which of these the new equation reads)
            used_in, eqn = rule(used, eqn)
            if eqn is None:
                continue
            live.update(v for v, u in zip(invars, used_in) if u and isinstance(v, Var))
        else:
            live.update(v for v in eqn.invars if isinstance(v, Var))
        kept.append(eqn)
    kept.reverse()
    return Jaxpr(jaxpr.constvars, jaxpr.invars, jaxpr.outvars, kept)


def has_effects(eqn) -> bool:
    """Whether running ``eqn`` does something besides computing its results: its
    primitive is ``effectful``, or one equation of a jaxpr it runs is."""
    if eqn.primitive.effectful:
        return True
    for _, sub in sub_jaxprs(eqn.params):
        body = sub.jaxpr if isinstance(sub, ClosedJaxpr) else sub
        if any(has_effects(e) for e in body.eqns):
            return True
    return False


def sub_jaxprs(params):
    """The (name, jaxpr) pairs among ``params``: closed or open jaxprs, alone or in a tuple
    (the branches of a ``switch``)."""
    for name, value in params.items():
        if isinstance(value, (Jaxpr, ClosedJaxpr)):
            yield name, value
        elif type(value) is tuple and value and isinstance(value[0], (Jaxpr, ClosedJaxpr)):
            for i, v in enumerate(value):
                yield f"{name}[{i}]", v
