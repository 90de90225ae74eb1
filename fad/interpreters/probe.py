"""Probing: record what a function computes at this call, with concrete values on demand.

A ``ProbeTrace`` is a partial evaluator (``StagingTrace(fold_known=True)``) whose inputs
come in two kinds: *abstract* ones, of which only the type is known, and *concrete* ones,
which are recorded like the abstract ones but keep their value. Python code may ask for
the value of anything computed from concrete inputs alone (``if w.sum() > 0``,
``float(w[0])``): the probe computes it then, from the equations recorded so far, and
the recording goes on. So the probe sees exactly what eager evaluation would let Python
see when the abstract inputs are batched under ``vmap`` and the concrete ones are not —
and what it records is the program of this call, to be transformed and compiled once
(``fad.api_vmap_staged``).

``structural_key`` says when two recordings are the same program: equal keys mean the
same equations on the same kinds of inputs, with equal literals and parameters, so one
compiled program serves both, fed each call's own input and constant values.
"""
from __future__ import annotations

import numpy as np

from fad.core.abstract import ShapedArray, get_aval
from fad.core.ir import ClosedJaxpr, Literal, Var
from fad.core.primitive import Primitive
from fad.core.trace import Tracer
from fad.interpreters.staging import StagingTrace, StagingTracer

__all__ = ["ProbeTrace", "structural_key", "value_key", "Unkeyable"]


class ProbeTrace(StagingTrace):
    name = "ProbeTrace"
    __slots__ = ("known", "_scanned", "_consts_seen")

    def __init__(self, parent):
        super().__init__(parent, fold_known=True)
        self.known: dict = {}     # Var -> value, for everything computable from concrete inputs
        self._scanned = 0         # equations looked at by ``_propagate`` so far
        self._consts_seen = 0

    def new_concrete_arg(self, value) -> StagingTracer:
        """An input recorded like any other whose value Python may still read."""
        tracer = self.new_arg(get_aval(value))
        self.known[tracer.ir_var] = value
        return tracer

    def concrete(self, tracer):
        """The value of ``tracer``, computed from the concrete inputs (or raise)."""
        var = tracer.ir_var
        if var not in self.known:
            self._propagate()
            if var not in self.known:   # it depends on an abstract input
                return Tracer.concrete_value(tracer)   # raises ConcretizationTypeError
        return self.known[var]

    def _propagate(self):
        """Evaluate the equations recorded since the last call whose inputs are known.
        (One whose inputs are not known now never will be: its inputs came before it.)"""
        known = self.known
        new_consts = self.consts[self._consts_seen:]
        if new_consts:
            constvars = list(self.constvars.values())[self._consts_seen:]
            known.update(zip(constvars, new_consts))
            self._consts_seen = len(self.consts)
        for prim, invars, outvars, params in self.eqns[self._scanned:]:
            if all(type(a) is Literal or a in known for a in invars):
                vals = [a.val if type(a) is Literal else known[a] for a in invars]
                out = prim.impl(*vals, **params)
                known.update(zip(outvars, out) if prim.multiple_results else
                             ((outvars[0], out),))
        self._scanned = len(self.eqns)


# -- when two recordings are the same program ------------------------------------------------

class Unkeyable(Exception):
    """A recording holds a parameter that cannot be compared by value (not hashable)."""


def structural_key(closed: ClosedJaxpr):
    """A hashable value equal for two closed jaxprs exactly when they are the same program
    up to the values of their constants (whose types are part of the key).

    Literals and parameters compare by their exact bits (``-0.0`` is not ``0.0``); raises
    ``Unkeyable`` when a parameter is not hashable."""
    jaxpr = closed.jaxpr
    ids = {}
    for v in jaxpr.constvars:
        ids[v] = len(ids)
    for v in jaxpr.invars:
        ids[v] = len(ids)
    parts = [tuple([_aval_key(v.aval) for v in jaxpr.constvars]),
             tuple([_aval_key(v.aval) for v in jaxpr.invars])]
    for prim, invars, outvars, params in jaxpr.eqns:
        ins = tuple([ids[a] if type(a) is Var else _literal_key(a) for a in invars])
        parts.append((prim, ins, tuple([(k, value_key(v)) for k, v in params.items()])
                      if params else ()))
        for v in outvars:   # their types follow from the inputs' and the parameters
            ids[v] = len(ids)
    parts.append(tuple([ids[a] if type(a) is Var else _literal_key(a) for a in jaxpr.outvars]))
    return tuple(parts)


def _aval_key(a):
    # (a tuple hashes and compares in C; a ShapedArray calls back into Python)
    return (a.shape, a.dtype, a.weak_type)


def _literal_key(lit):
    return ("literal", _aval_key(lit.aval), value_key(lit.val))


_PLAIN = frozenset({int, bool, str, type(None)})   # (typed: True == 1, but not as a parameter)


def _ints_only(v):
    """Whether ``v`` is a tuple of ints (not bools), ``None`` and such tuples, nested at
    most three deep: then ``==`` on it is exact, and it can stand for itself. (Loops,
    not recursion: this runs for most parameters of every recorded equation.)"""
    for x in v:
        t = type(x)
        if t is tuple:
            for y in x:
                u = type(y)
                if u is tuple:
                    for z in y:
                        if type(z) is not int:
                            return False
                elif u is not int and y is not None:
                    return False
        elif t is not int and x is not None:
            return False
    return True


def value_key(v):
    """A hashable stand-in for ``v`` that is equal only for the same value (bitwise for
    floating point, so that -0.0, 0.0 and the NaNs are told apart)."""
    t = type(v)
    if t in _PLAIN:
        return (t, v)
    if t is ShapedArray:
        return _aval_key(v)
    if isinstance(v, (np.dtype, Primitive)):
        return v
    if t is float:
        return (float, v.hex())
    if t is tuple and _ints_only(v):
        return v   # the common parameter: axes, shapes, dimension numbers
    if t is tuple or t is list:
        return (t, tuple([value_key(x) for x in v]))
    if t is complex:
        return (complex, v.real.hex(), v.imag.hex())
    if isinstance(v, np.generic):
        return (t, v.tobytes())
    if t is np.ndarray:
        return (np.ndarray, v.dtype, v.shape, v.tobytes())
    try:
        hash(v)
    except TypeError:
        raise Unkeyable(f"{t.__name__} parameter") from None
    return (t, v)   # compared as its type defines; the key keeps it alive
