"""Transformations called inside a recording, recorded as one equation each.

While the staged layer records a function for an outer transformation (``vmap(g)`` at the
top level, say), ``g`` may itself call a transformation: ``fad.grad(loss)(w, x, y)``.
Interpreting that inner gradient operation by operation on the probe's tracers would
record the whole linearized and transposed program at every call. Instead the outer
probe records ``loss`` as a *region* of its recording (``ProbeTrace.record_region``:
fresh inputs for the differentiated leaves, the values of the outer recording that
``loss`` reads becoming the region's constants), cuts the region's equations out into a
jaxpr of their own, and puts one ``transform_call`` equation carrying that jaxpr in their
place. Replaying, the region replays in place like the rest of the recording, with no
second probe: a call is then nearly as cheap however the composition is spelled,
``vmap(grad(loss))`` or ``vmap(lambda w, x, y: grad(loss)(w, x, y))``.

``transform_call`` is an ``InlineCall``: only the staged layer's probe keeps it as an
equation; every other trace (evaluation, JVP, batching, ``jit``'s staging) runs its body,
the interpreted transformation of the inner jaxpr, so the outer program is differentiated,
batched and compiled through it like any other code, with no rules of its own.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

from fad.api_grad import value_and_grad as interpreted_value_and_grad
from fad.core.ir import Jaxpr
from fad.core.primitive import Primitive
from fad.core.trace import get_current_trace
from fad.interpreters.eval import eval_jaxpr

__all__ = ["InlineCall", "transform_call_p", "ValueAndGrad"]


class InlineCall(Primitive):
    """A primitive standing for a Python function of fad operations (``body``): recorded
    whole by the traces that keep calls (``keeps_calls``: the staged layer's probe), run
    as its body — so transformed operation by operation — by every other trace."""

    __slots__ = ()

    def bind(self, *args, **params):
        trace = get_current_trace()
        if getattr(trace, "keeps_calls", False):
            return trace.process_primitive(self, args, params)
        return self.impl(*args, **params)


class ValueAndGrad(NamedTuple):
    """The transformation a ``transform_call`` applies: ``value_and_grad`` with respect
    to the first ``n_diff`` inputs of the recorded function (its differentiated leaves;
    the others are values it reads), giving the flat list ``[value, *gradients]``."""
    name: str   # the function's, for the errors the interpreted transformation raises
    n_diff: int

    def apply(self, fun: Callable, inputs) -> list:
        value, grads = interpreted_value_and_grad(fun, tuple(range(self.n_diff)))(*inputs)
        return [value, *grads]


transform_call_p = InlineCall("transform_call", multiple_results=True)


@transform_call_p.def_impl
def _transform_call(*args, transform, jaxpr: Jaxpr, n_consts: int, out_avals):
    consts = args[:n_consts]

    def recorded(*xs):
        return eval_jaxpr(jaxpr, consts, *xs)[0]

    recorded.__name__ = recorded.__qualname__ = transform.name
    return transform.apply(recorded, args[n_consts:])


@transform_call_p.def_abstract_eval
def _transform_call_abstract_eval(*avals, transform, jaxpr, n_consts, out_avals):
    return list(out_avals)
