"""Primitives: named operations that every interpreter knows how to process.

A primitive is a name plus two rules that live here (its NumPy implementation and its
shape/dtype rule); the rules of the interpreters (JVP, transpose, batching) live in
their tables and are registered next to the primitive's definition in ``fad.lax``.
Arrays go to ``bind`` positionally, static parameters by keyword.
"""
from __future__ import annotations

import weakref

from fad.core.abstract import impl_error
from fad.core.trace import Tracer, eval_trace, get_current_trace, raise_escaped

# Every primitive defined (for the debug checks, which wrap every implementation).
registry: weakref.WeakSet = weakref.WeakSet()


class Primitive:
    """A named operation. ``effectful`` marks one run for what it does besides its
    results (``fad.debug.print``): dead-code elimination, constant folding and common
    subexpressions leave its equations alone.

    >>> import numpy as np, fad
    >>> from fad.extend import Primitive
    >>> twice_p = Primitive('doc_twice')
    >>> _ = twice_p.def_impl(lambda x: 2 * x)
    >>> _ = twice_p.def_abstract_eval(lambda x: x)
    >>> twice_p.bind(np.array([1.0, 2.0])), fad.make_jaxpr(twice_p.bind)(1.0)
    (array([2., 4.]), { lambda ; a:f64[]. let
        b:f64[] = doc_twice a
      in (b,) })
    """

    __slots__ = ("name", "multiple_results", "impl", "abstract_eval", "effectful",
                 "__weakref__")

    def __init__(self, name: str, multiple_results: bool = False, effectful: bool = False):
        self.name = name
        self.multiple_results = multiple_results
        self.effectful = effectful
        self.impl = self._missing_impl
        self.abstract_eval = self._missing_abstract_eval
        registry.add(self)

    def bind(self, *args, **params):
        trace = get_current_trace()
        if trace.const_eval:
            # Without tracer operands the operation would pass down every level to the
            # evaluation trace: evaluate it here, as that trace would.
            for x in args:
                if isinstance(x, Tracer):
                    if trace is eval_trace:
                        raise_escaped(x)
                    break
            else:
                try:
                    return self.impl(*args, **params)
                except (TypeError, ValueError, IndexError) as err:
                    # (NumPy's words: the shape rule's name the primitive and the shapes)
                    raise impl_error(self, args, params, err) from None
        return trace.process_primitive(self, args, params)

    def bind_shared(self, args, params: dict):
        """``bind(*args, **params)``, handing a trace ``params`` itself rather than a copy:
        for a caller that keeps its parameters (cached, never changed), so that the
        equations recorded with them share one dict, and comparing them is an identity
        test."""
        for x in args:
            if isinstance(x, Tracer):
                return get_current_trace().process_primitive(self, args, params)
        return self.bind(*args, **params)

    def def_impl(self, impl):
        self.impl = impl
        return impl

    def def_abstract_eval(self, rule):
        """``rule(*avals, **params)`` returns the output aval (a list if multiple_results)."""
        self.abstract_eval = rule
        return rule

    def _missing_impl(self, *args, **params):
        raise NotImplementedError(f"primitive {self.name!r} has no implementation")

    def _missing_abstract_eval(self, *avals, **params):
        raise NotImplementedError(f"primitive {self.name!r} has no shape rule")

    def __repr__(self):
        return self.name
