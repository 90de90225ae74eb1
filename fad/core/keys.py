"""Keys that say when two values, parameters or programs are the same.

``value_key(v)`` is a hashable stand-in for a value that is equal only for the same value
of the same type (bitwise for floating point: ``-0.0``, ``0.0`` and the NaNs are told
apart; ``1``, ``1.0`` and ``True`` are three keys). ``structural_key(closed)`` is equal for
two closed jaxprs exactly when they are the same program up to the values of their
constants. Sub-jaxprs in parameters (control flow, call primitives) are keyed by their
structure and constants' values, never by identity, so a program holding one is found
again when it is recorded again. ``jit`` keys static arguments and the staged layer keys
recordings with them.
"""
from __future__ import annotations

import numpy as np

from fad.core.abstract import ShapedArray
from fad.core.ir import ClosedJaxpr, Jaxpr, Var
from fad.core.primitive import Primitive

__all__ = ["value_key", "structural_key", "params_key", "Unkeyable", "ints_only"]


class Unkeyable(Exception):
    """A value (a parameter, a static argument) that cannot be compared by value: it is
    not hashable."""


def params_key(params):
    return tuple([(k, value_key(v)) for k, v in params.items()]) if params else ()


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
        parts.append((prim, ins, params_key(params)))
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


def ints_only(v):
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
    if t is tuple and ints_only(v):
        return v   # the common parameter: axes, shapes, dimension numbers
    if t is tuple or t is list:
        return (t, tuple([value_key(x) for x in v]))
    if t is complex:
        return (complex, v.real.hex(), v.imag.hex())
    if isinstance(v, np.generic):
        return (t, v.tobytes())
    if t is np.ndarray:
        return (np.ndarray, v.dtype, v.shape, v.tobytes())
    if t is ClosedJaxpr:   # (a sub-program: its structure, and its constants' values)
        return (ClosedJaxpr, structural_key(v), tuple([value_key(c) for c in v.consts]))
    if t is Jaxpr:
        return (Jaxpr, structural_key(ClosedJaxpr(v, [None] * len(v.constvars))))
    try:
        hash(v)
    except TypeError:
        raise Unkeyable(f"{t.__name__} parameter") from None
    return (t, v)   # compared as its type defines; the key keeps it alive
