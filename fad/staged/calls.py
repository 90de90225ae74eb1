"""Transformations called inside a recording, recorded as one equation each.

While the staged layer records a function for an outer transformation (``vmap(g)`` at the
top level, say), ``g`` may itself call a transformation: ``fad.grad(loss)(w, x, y)``.
Interpreting that inner gradient operation by operation on the probe's tracers would
record the whole linearized and transposed program at every call. Instead the outer
probe records ``loss`` as a *region* of its own recording
(``ProbeTrace.begin_region``/``end_region``): a ``region_begin`` equation gives the
region its inputs (fresh variables for the differentiated leaves), ``loss``'s equations
follow in place, and a ``region_end`` equation takes its outputs and gives the
transformation's results. Replaying, the three are checked like any other equations, so
a call costs nearly the same however the composition is spelled, ``vmap(grad(loss))`` or
``vmap(lambda w, x, y: grad(loss)(w, x, y))``, with no second probe.

Before a program is made of the recording, ``nest_regions`` turns each region into one
``transform_call`` equation carrying the region's jaxpr, whose constants are the values
of the recording it reads (closure conversion). ``transform_call`` is an ``InlineCall``:
every trace (evaluation, JVP, batching, ``jit``'s staging) runs its body, the interpreted
transformation of the region's jaxpr, so the outer program is differentiated, batched and
compiled through it like any other code, with no rules of its own.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from fad.api_grad import value_and_grad as interpreted_value_and_grad
from fad.core.ir import ClosedJaxpr, Jaxpr, Literal, new_eqn
from fad.core.primitive import Primitive
from fad.core.trace import raise_escaped
from fad.interpreters.eval import eval_jaxpr
from fad.interpreters.partial_eval import LinearizeTrace
from fad.interpreters.staging import StagingTracer, trace_to_jaxpr

__all__ = ["InlineCall", "transform_call_p", "transform_call_params", "ValueAndGrad",
           "region_begin_p", "region_end_p", "nest_regions", "nest_eqns", "region_jaxpr"]


class InlineCall(Primitive):
    """A primitive standing for a Python function of fad operations (its impl): an
    equation of the programs the staged layer makes, which every trace runs as that
    function — so transformed operation by operation, with no rules of its own."""

    __slots__ = ()

    def bind(self, *args, **params):
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


def transform_call_params(transform, jaxpr: Jaxpr) -> dict:
    """The parameters of a ``transform_call`` equation applying ``transform`` to the
    function ``jaxpr`` (its constvars, the values it reads, are the equation's first
    operands); the types of its results come from staging the interpreted
    transformation once, which also raises the errors the interpreted path raises for
    this function."""
    params = {"transform": transform, "jaxpr": jaxpr, "n_consts": len(jaxpr.constvars)}
    staged = trace_to_jaxpr(lambda *a: transform_call_p.impl(*a, out_avals=None, **params),
                            [v.aval for v in [*jaxpr.constvars, *jaxpr.invars]])
    params["out_avals"] = tuple([v.aval for v in staged.jaxpr.outvars])
    return params


# -- regions of a recording ---------------------------------------------------------------------

class RegionMark(Primitive):
    """A mark of the staged layer's probe, where a region begins or ends: recorded by the
    probe itself (``begin_region``, ``end_region``), never bound, and nested away before
    any program is made of a recording."""

    __slots__ = ()

    def bind(self, *args, **params):
        raise TypeError(f"{self.name} marks a region of a recording of fad's staged layer; "
                        "it is not an operation to apply")


region_begin_p = RegionMark("region_begin", multiple_results=True)
region_end_p = RegionMark("region_end", multiple_results=True)


@region_begin_p.def_impl
def _region_begin(*operands):
    # (what a probe knows of the region's inputs: its operands' values, a Python float as
    # the NumPy float64 the interpreters compute with)
    return [np.float64(x) if type(x) is float else x for x in operands]


@region_begin_p.def_abstract_eval
def _region_begin_abstract_eval(*avals):
    return list(avals)


@region_end_p.def_abstract_eval
def _region_end_abstract_eval(*avals, transform, out_avals):
    return list(out_avals)
# (``region_end`` has no impl: its results, the transformation's, do not follow from its
# operands, the region's outputs; a probe leaves them unknown)


def region_jaxpr(begin, eqns, outvars) -> Jaxpr:
    """The jaxpr of a region: inputs the results of its ``region_begin`` equation
    ``begin``, the (nested) equations ``eqns``, outputs the atoms ``outvars``; the
    variables of the recording it reads are its constvars."""
    inside, free = set(begin.outvars), {}
    for eqn in eqns:
        for v in eqn.invars:
            if type(v) is not Literal and v not in inside:
                free[v] = None
        inside.update(eqn.outvars)
    for v in outvars:
        if type(v) is not Literal and v not in inside:
            free[v] = None
    return Jaxpr(list(free), begin.outvars, outvars, eqns)


def nest_eqns(eqns, defined=None, outvars=()) -> list:
    """``eqns`` with each region, from its ``region_begin`` to its ``region_end``
    equation, replaced by one ``transform_call`` equation applying the transformation
    to the region's jaxpr (``region_jaxpr``). Raises the escaped-tracer error where a
    value made inside a region is used after it (by a later equation, or as one of the
    ``outvars``), or, given the set of variables ``defined`` before ``eqns``, where one
    is used that none defines (made inside a region cut out of the recording)."""
    levels, begins, dead = [[]], [], set()
    defined = None if defined is None else set(defined)
    for eqn in eqns:
        for v in eqn.invars:
            if type(v) is not Literal and (v in dead or (
                    defined is not None and v not in defined)):
                _raise_escaped(v)
        if defined is not None:
            defined.update(eqn.outvars)
        prim = eqn.primitive
        if prim is region_begin_p:
            begins.append(eqn)
            levels.append([])
        elif prim is region_end_p:
            begin, body = begins.pop(), levels.pop()
            jaxpr = region_jaxpr(begin, body, eqn.invars)
            params = {"transform": eqn.params["transform"], "jaxpr": jaxpr,
                      "n_consts": len(jaxpr.constvars), "out_avals": eqn.params["out_avals"]}
            levels[-1].append(new_eqn((transform_call_p, [*jaxpr.constvars, *begin.invars],
                                       eqn.outvars, params)))
            dead.update(begin.outvars)
            for e in body:
                dead.update(e.outvars)
        else:
            levels[-1].append(eqn)
    for v in outvars:
        if type(v) is not Literal and (v in dead or (defined is not None and v not in defined)):
            _raise_escaped(v)
    return levels[0]


def nest_regions(closed: ClosedJaxpr) -> ClosedJaxpr:
    """The recording ``closed``, in which regions began, with its regions nested
    (``nest_eqns``), as programs are made of it."""
    jaxpr = closed.jaxpr
    eqns = nest_eqns(jaxpr.eqns, {*jaxpr.constvars, *jaxpr.invars}, jaxpr.outvars)
    return ClosedJaxpr(Jaxpr(jaxpr.constvars, jaxpr.invars, jaxpr.outvars, eqns),
                       closed.consts)


class _EscapedRegion:
    """What an escaped tracer of a region shows in its error: the trace of the eager
    gradient it stands for."""
    name = LinearizeTrace.name
    origin = None


def _raise_escaped(var):
    raise_escaped(StagingTracer(_EscapedRegion(), var))
