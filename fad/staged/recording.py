"""Probing: record what a function computes at this call, with concrete values on demand.

A ``ProbeTrace`` is a partial evaluator (``StagingTrace(fold_known=True)``) whose inputs
come in two kinds: *abstract* ones, of which only the type is known, and *concrete* ones,
which are recorded like the abstract ones but keep their value. Python code may ask for
the value of anything computed from concrete inputs alone (``if w.sum() > 0``,
``float(w[0])``): the probe computes it then, from the equations recorded so far, and
the recording goes on. So the probe sees exactly what eager evaluation would let Python
see when the abstract inputs are batched under ``vmap`` and the concrete ones are not —
and what it records is the program of this call, to be transformed and compiled once
(``fad.staged``).

``structural_key`` (``fad.core.keys``) says when two recordings are the same program:
equal keys mean the same equations on the same kinds of inputs, with equal literals and
parameters, so one compiled program serves both, fed each call's own input and constant
values. A probe given the ``Template`` of an earlier recording replays it, checking each
operation against the template's next equation as strictly as the key would compare
them, so that a call doing the same thing again builds neither a new jaxpr nor a key.

A transformation called inside the recorded function (``grad(loss)`` in a vmapped
lambda) is recorded by the same probe as a *region* (``begin_region``/``end_region``):
its equations are recorded in line between a ``region_begin`` and a ``region_end``
equation, so replaying a template replays them like any other, and they are nested into
one equation standing for the transformation only when a program is made
(``fad.staged.calls``).
"""
from __future__ import annotations

import math

import numpy as np

from fad.core.abstract import ShapedArray, get_aval
from fad.core.ir import Literal
from fad.core.trace import BATCHED_VALUE_HELP, Tracer, raise_escaped
from fad.core.keys import Unkeyable, ints_only, params_key, value_key
from fad.interpreters.batching import BatchTrace
from fad.interpreters.jvp import JVPTrace, zero_derivative
from fad.interpreters.partial_eval import LinearizeTrace
from fad.interpreters.staging import StagingTrace, StagingTracer
from fad.staged.calls import (nest_eqns, region_begin_p, region_end_p, region_jaxpr,
                              transform_call_p, transform_call_params)

__all__ = ["ProbeTrace", "BatchedProbe", "DifferentiatedProbe", "ForwardProbe", "Template"]


class ProbeTrace(StagingTrace):
    """The recorder; given the ``Template`` of an earlier recording, it *replays* it while
    the function does the same thing again (see ``Template``)."""

    name = "ProbeTrace"
    __slots__ = ("known", "_scanned", "_consts_seen", "_replay", "_pos", "had_regions")
    # The concrete inputs are the differentiated ones, so a value Python may read carries
    # a derivative (float() of it raises, as under eager grad); the abstract ones are
    # batched, as under vmap.
    carries_derivatives = True
    abstract_value_help = BATCHED_VALUE_HELP
    keeps_calls = True   # (transformations called while recording: ``fad.staged.calls``)

    def __init__(self, parent, template: Template | None = None):
        # Every field of the Trace and StagingTrace(fold_known=True) levels is set here
        # rather than through their __init__s: a staged vmap makes a probe per call.
        self.parent, self.level, self.valid = parent, parent.level + 1, True
        self.fold_known, self.const_eval = True, parent.const_eval
        self.eqns, self.invars, self.constvars, self.consts = [], [], {}, []
        self.known: dict = {}     # Var -> value, for everything computable from concrete inputs
        self._scanned = 0         # equations looked at by ``_propagate`` so far
        self._consts_seen = 0
        self._replay = template   # the template followed so far, or None once diverged
        self._pos = 0             # its next equation
        self.had_regions = False  # whether a region began (``begin_region``)

    def new_args(self, avals) -> list:
        """Abstract inputs of types ``avals`` (``make_concrete`` gives some a value).
        Replaying a template made for these types (the same ``avals`` object, or equal
        ones), they are the template's inputs."""
        replay = self._replay
        if replay is not None and (avals is replay.in_avals or tuple(avals) == replay.in_avals):
            self.invars.extend(replay.invars)
            return [StagingTracer(self, v) for v in replay.invars]
        self._replay = None
        return [StagingTrace.new_arg(self, a) for a in avals]

    def make_concrete(self, tracer, value):
        """Let Python read ``value`` as the value of the input ``tracer`` (and of what is
        computed from concrete inputs alone). A Python float is read as the NumPy
        float64 the interpreters compute with (its tracer stays weakly typed)."""
        self.known[tracer.ir_var] = np.float64(value) if type(value) is float else value

    def new_arg(self, aval: ShapedArray) -> StagingTracer:
        self._replay = None   # (a template's inputs come from ``new_args``)
        return super().new_arg(aval)

    def process_primitive(self, prim, args, params):
        # The fast path of replay: the template's next equation, reused as it is when its
        # inputs are our tracers for the template's variables, constant arrays it saw, and
        # scalars equal to its literals. Not at its ``special`` equations (their results
        # may be values without derivative, see ``_process``), nor for the rest:
        # ``_replay_or_record``.
        replay = self._replay
        if replay is not None:
            pos = self._pos
            if pos < replay.size and not replay.special[pos]:
                eqn = replay.eqns[pos]
                eprim, invars, outvars, eparams = eqn
                if (eprim is prim and len(args) == len(invars)
                        and (params is eparams or not (params or eparams)
                             or (replay.plain[pos] and _same_plain(params, eparams)))):
                    for x, v in zip(args, invars):
                        if type(x) is StagingTracer:
                            if x.ir_var is not v or x._trace is not self:
                                break
                        elif type(x) is np.ndarray and x.shape:   # (a constant array)
                            if type(v) is Literal or not self._same_const(x, v):
                                break
                        elif type(v) is not Literal or not _same_scalar(x, v.val):
                            break
                    else:
                        self._pos = pos + 1
                        self.eqns.append(eqn)
                        if prim.multiple_results:
                            return [StagingTracer(self, v) for v in outvars]
                        return StagingTracer(self, outvars[0])
        return self._process(prim, args, params)

    def _process(self, prim, args, params):
        """An operation off replay's fast path. A result without derivative of concrete
        inputs is a NumPy value, as eager grad gives it: that of a piecewise constant
        primitive (``x > 0``, ``floor(x)``, ``stop_gradient(x)``) is not part of the
        program at all; an integer or boolean result of any primitive (``argsort(x)``,
        the indices of ``top_k``) is computed from the program recorded so far
        (``_known_results``)."""
        known = self.known
        if known and prim in zero_derivative:
            out = self._evaluate_known(args, prim, params)
            if out is not _UNKNOWN:
                return out
        if self._replay is None:
            out = StagingTrace.process_primitive(self, prim, args, params)
        else:
            out = self._replay_or_record(prim, args, params)
        return self._known_results(out) if known else out

    def _known_results(self, out):
        """``out`` (one of our tracers, a list of them, or a value) with its integer and
        boolean results known now replaced by their values (``_known_or``)."""
        if type(out) is StagingTracer:
            return out if out.aval.dtype.kind in _DIFFERENTIABLE_KINDS else self._known_or(out)
        if type(out) is list:
            return [self._known_or(x) for x in out]
        return out

    def _known_or(self, x):
        """The value of ``x``, one of our tracers, if it is integer or boolean (it carries
        no derivative) and known; else ``x``."""
        if type(x) is not StagingTracer or x.aval.dtype.kind in _DIFFERENTIABLE_KINDS:
            return x
        value = self.known.get(x.ir_var, _UNKNOWN)
        if value is _UNKNOWN:
            self._propagate()   # (evaluates the equation just recorded, if it can)
            value = self.known.get(x.ir_var, _UNKNOWN)
        return x if value is _UNKNOWN else value

    def _reuse(self, eqn, pos):
        """The template's equation ``eqn`` as the result of this operation (no shape rule,
        no new variable)."""
        self._pos = pos + 1
        self.eqns.append(eqn)
        if eqn[0].multiple_results:
            return [StagingTracer(self, v) for v in eqn[2]]
        return StagingTracer(self, eqn[2][0])

    def _replay_or_record(self, prim, args, params):
        """The general case of an operation while replaying: literals, constants, and
        parameters compared by value; on the first difference, recording takes over."""
        replay = self._replay
        for x in args:
            if type(x) is StagingTracer and x._trace is self:
                break
        else:   # known (computed now) or foreign: as when recording
            return super().process_primitive(prim, args, params)
        pos = self._pos
        if pos < len(replay.eqns):
            eqn = replay.eqns[pos]
            if (eqn[0] is prim and self._same_inputs(args, eqn[1])
                    and replay.same_params(pos, params)):
                return self._reuse(eqn, pos)
        self._replay = None   # diverged: record from here on
        return super().process_primitive(prim, args, params)

    def _same_inputs(self, args, invars) -> bool:
        """Whether ``args`` are the template equation's ``invars``: our tracers for the
        same variables, equal literals, and arrays standing for the same constants (a
        constant seen for the first time must be the template's next one, of its type)."""
        if len(args) != len(invars):
            return False
        for x, v in zip(args, invars):
            if type(x) is StagingTracer and x._trace is self:
                if x.ir_var is not v:
                    return False
            elif type(v) is Literal:
                if type(x) is not type(v.val) or not self._replay.same_literal(x, v):
                    return False
            elif (type(x) is np.ndarray and x.shape) or isinstance(x, Tracer):
                # a constant: an array, or a value of an outer recording this one is
                # nested in (``fad.staged.calls``)
                if type(v) is Literal or not self._same_const(x, v):
                    return False
            else:   # another kind of value: recording decides
                return False
        return True

    def _same_const(self, x, v) -> bool:
        """Whether the constant ``x`` (an array, or a value of an outer recording) stands
        for the template's constvar ``v``: the constant seen before as ``v``, or one
        seen for the first time that is the template's next constant, of its type (then
        adopted with the template's var, as ``atom`` would adopt it)."""
        var = self.constvars.get(id(x))
        if var is not None:
            return var is v
        n, constvars = len(self.consts), self._replay.constvars
        if n >= len(constvars) or constvars[n] is not v:
            return False
        aval = v.aval
        if type(x) is np.ndarray:
            if x.dtype != aval.dtype or x.shape != aval.shape:
                return False
        elif x.aval != aval:   # (a tracer of an outer recording)
            return False
        else:
            self.check_foreign(x)
        self.constvars[id(x)] = v
        self.consts.append(x)
        return True

    def replayed(self, outs) -> bool:
        """Whether this call recorded exactly the template's program, with outputs ``outs``
        (then the template's structural key and compiled program serve it)."""
        replay = self._replay
        if replay is None or self._pos != len(replay.eqns) or len(outs) != len(replay.outvars):
            return False
        for x, v in zip(outs, replay.outvars):
            if type(x) is not StagingTracer or x._trace is not self or x.ir_var is not v:
                return False
        # (the constants, matched in order, are all the template's once its equations are)
        return len(self.consts) == len(replay.constvars)

    # -- regions: a transformation called inside the recording ------------------------------

    def begin_region(self, operands, values):
        """Begin a region (``fad.staged.calls``): one ``region_begin`` equation whose
        results, the region's inputs, stand for ``operands`` (the differentiated leaves:
        our tracers, arrays, scalars), concrete where ``values`` gives a value (``None``
        where not). Returns their tracers and what ``end_region`` needs. Replaying, the
        template's ``region_begin`` equation is reused as it is when its operands are
        these; it is always recorded otherwise (never computed now: its results are
        differentiated)."""
        replay, pos, start = self._replay, self._pos, len(self.eqns)
        self.had_regions = True
        tracers = None
        if replay is not None:
            if pos < replay.size and replay.eqns[pos][0] is region_begin_p and \
                    self._same_inputs(operands, replay.eqns[pos][1]):
                tracers = self._reuse(replay.eqns[pos], pos)
            else:
                self._replay = None   # (diverged: recording takes over)
        if tracers is None:
            tracers = self.record(region_begin_p, operands, _NO_PARAMS)
        for t, value in zip(tracers, values):
            if value is not None:
                self.make_concrete(t, value)
        return tracers, (start, replay, pos)

    def end_region(self, region, outs, transform):
        """End the region ``region`` (``begin_region``'s) with the outputs ``outs``: one
        ``region_end`` equation whose results are ``transform``'s applied to the region's
        jaxpr (``fad.staged.calls``: ``region_jaxpr``, ``transform_call_params``) — the
        template's equation, when the region replayed it to here. A region whose
        inputs and the values it reads are all known is no region: it is computed now,
        as eager code would, and cut out of the recording."""
        replay = self._replay
        if replay is not None:   # replayed to here: the template's region_end, if it is one
            pos = self._pos
            if pos < replay.size:
                eqn = replay.eqns[pos]
                if (eqn[0] is region_end_p and eqn[3]["transform"] == transform
                        and len(outs) == len(eqn[1])):
                    for x, v in zip(outs, eqn[1]):
                        if type(x) is not StagingTracer or x._trace is not self or \
                                x.ir_var is not v:
                            break
                    else:
                        return self._reuse(eqn, pos)
            self._replay = None
        start = region[0]
        begin = self.eqns[start]
        outvars = [x.ir_var if type(x) is StagingTracer and x._trace is self else self.atom(x)
                   for x in outs]
        jaxpr = region_jaxpr(begin, nest_eqns(self.eqns[start + 1:]), outvars)
        params = transform_call_params(transform, jaxpr)
        consts = self._constant_values([*jaxpr.constvars, *begin.invars])
        if consts is not None:   # reads no value of ours: computed now
            # (raises if a value read escaped an earlier region)
            nest_eqns(self.eqns[:start], {*self.invars, *self.constvars.values()},
                      jaxpr.constvars)
            self.abandon_region(region)
            return transform_call_p.impl(*consts, **params)
        return self.record(region_end_p, outs, {"transform": params["transform"],
                                                "out_avals": params["out_avals"]})

    def abandon_region(self, region):
        """Cut the region ``region`` out of the recording, which goes on (replaying, if it
        was) from where the region began."""
        start, self._replay, self._pos = region
        del self.eqns[start:]
        if self._scanned > start:
            self._scanned = start

    def _constant_values(self, atoms):
        """The values of ``atoms`` if all are literals or constants (NumPy values, no
        tracer of ours nor of another trace), else ``None``."""
        consts = dict(zip(self.constvars.values(), self.consts))
        values = []
        for a in atoms:
            if type(a) is Literal:
                values.append(a.val)
            else:
                value = consts.get(a, _MISSING)
                if value is _MISSING or isinstance(value, Tracer):
                    return None
                values.append(value)
        return values

    # -- concrete values on demand -------------------------------------------------------------

    def new_concrete_arg(self, value) -> StagingTracer:
        """An input recorded like any other whose value Python may still read."""
        tracer = self.new_arg(get_aval(value))
        self.make_concrete(tracer, value)
        return tracer

    def _evaluate_known(self, args, prim, params):
        """``prim`` applied to the values of ``args``, or ``_UNKNOWN`` if one depends on
        an abstract input."""
        values = []
        for x in args:
            if type(x) is StagingTracer and x._trace is self:
                value = self.known.get(x.ir_var, _UNKNOWN)
                if value is _UNKNOWN:
                    self._propagate()
                    value = self.known.get(x.ir_var, _UNKNOWN)
                    if value is _UNKNOWN:
                        return _UNKNOWN
                values.append(value)
            elif isinstance(x, Tracer):
                return _UNKNOWN   # (foreign: recording decides)
            else:
                values.append(x)
        return prim.impl(*values, **params)

    def known_value(self, tracer, default=None):
        """The value of our ``tracer`` if it is computed from concrete inputs alone, else
        ``default`` (never raises)."""
        if not self.known:   # (no concrete input: nothing computed from them alone)
            return default
        var = tracer.ir_var
        if var not in self.known:
            self._propagate()
        return self.known.get(var, default)

    def concrete(self, tracer):
        """The value of ``tracer``, computed from the concrete inputs (or raise)."""
        if not self.valid:   # a tracer of a finished call: its value means nothing now
            raise_escaped(tracer)
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
            for v, c in zip(constvars, new_consts):
                if isinstance(c, Tracer):   # (an outer recording's value: known there?)
                    outer = c._trace
                    if not isinstance(outer, ProbeTrace) or not outer.valid:
                        continue
                    c = outer.known_value(c, _UNKNOWN)
                    if c is _UNKNOWN:
                        continue
                known[v] = c
            self._consts_seen = len(self.consts)
        for prim, invars, outvars, params in self.eqns[self._scanned:]:
            if prim is region_end_p:   # (its results do not follow from its operands)
                continue
            if all(type(a) is Literal or a in known for a in invars):
                vals = [a.val if type(a) is Literal else known[a] for a in invars]
                out = prim.impl(*vals, **params)
                known.update(zip(outvars, out) if prim.multiple_results else
                             ((outvars[0], out),))
        self._scanned = len(self.eqns)


class BatchedProbe(ProbeTrace):
    """The probe of a staged ``vmap``: its abstract inputs stand for batched values, and
    its tracers show as eager ``vmap``'s do (staging is invisible)."""
    __slots__ = ()
    name = BatchTrace.name


class DifferentiatedProbe(ProbeTrace):
    """The probe of a staged gradient: its concrete inputs are differentiated, and its
    tracers show as eager ``grad``'s do."""
    __slots__ = ()
    name = LinearizeTrace.name


class ForwardProbe(DifferentiatedProbe):
    """The probe of a staged ``jvp``: its tracers show as eager ``jvp``'s do."""
    __slots__ = ()
    name = JVPTrace.name


def _same_scalar(x, y) -> bool:
    """Whether the scalars ``x`` and ``y`` are the same value of the same type, for the
    types whose ``==`` says so exactly once signed zeros are told apart (``False`` is
    not a verdict: ``value_key`` decides the rest, NaNs and complex numbers)."""
    t = type(x)
    return (t is type(y) and t in _EXACT_SCALARS and x == y
            and (x != 0 or math.copysign(1.0, x) == math.copysign(1.0, y)))


_EXACT_SCALARS = frozenset({bool, int, float, np.bool_, np.float16, np.float32, np.float64,
                            np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
                            np.uint32, np.uint64})


# -- when two recordings are the same program ------------------------------------------------

class Template:
    """An earlier recording, to be replayed: a ``ProbeTrace`` given a template checks each
    operation the function performs against the template's next equation and, while they
    agree, reuses that equation (no shape rule, no new variables). If the whole call
    agrees, it was the same program, with the same ``key`` (``structural_key``), and
    neither the jaxpr nor its key need building again. Agreement is checked as strictly
    as the key compares: same primitive, same input variables, literals equal to the bit,
    parameters equal by ``value_key``, constants of the same types."""

    __slots__ = ("jaxpr", "key", "in_avals", "out_tree", "invars", "constvars", "outvars",
                 "eqns", "size", "params", "plain", "special", "_params_keys", "_literals",
                 "program")

    def __init__(self, jaxpr, key, in_avals, out_tree=None):
        self.jaxpr, self.key, self.in_avals = jaxpr, key, tuple(in_avals)
        self.out_tree = out_tree   # (the structure of the function's output)
        self.program = None   # what the caller made of it (``fad.staged``)
        self.invars, self.constvars, self.outvars = jaxpr.invars, jaxpr.constvars, jaxpr.outvars
        self.eqns = jaxpr.eqns
        self.params = [e.params for e in jaxpr.eqns]
        # (parameters that ``_same_plain`` compares exactly: ints, None, tuples of ints)
        self.plain = [bool(e.params) and all(_is_plain(v) for v in e.params.values())
                      for e in jaxpr.eqns]
        self._params_keys = [params_key(e.params) for e in jaxpr.eqns]
        self.size = len(jaxpr.eqns)
        # (equations replay's fast path leaves to ``ProbeTrace._process``: those whose
        # results may have no derivative, by their primitive or by their dtype)
        self.special = [e.primitive in zero_derivative or any(
            v.aval.dtype.kind not in _DIFFERENTIABLE_KINDS for v in e.outvars)
            for e in jaxpr.eqns]
        self._literals = {}   # Literal -> value_key of its value

    def same_params(self, pos, params) -> bool:
        if params is self.params[pos]:   # (cached parameters, shared by both recordings)
            return True
        want = self._params_keys[pos]
        if not params:
            return not want
        try:
            return params_key(params) == want
        except Unkeyable:
            return False

    def same_literal(self, x, lit) -> bool:
        want = self._literals.get(lit)
        if want is None:
            want = self._literals[lit] = value_key(lit.val)
        return value_key(x) == want


def _is_plain(v) -> bool:
    t = type(v)
    return t is int or v is None or (t is tuple and ints_only(v))


def _same_plain(params, want) -> bool:
    """Whether ``params`` equal the plain parameters ``want`` exactly (same types: ``==``
    alone takes ``True`` for ``1`` and ``1.0`` for ``1``)."""
    if len(params) != len(want):
        return False
    for k, v in want.items():
        got = params.get(k, _MISSING)
        if type(got) is not type(v) or got != v or (type(got) is tuple and not ints_only(got)):
            return False
    return True


_MISSING = object()
_NO_PARAMS: dict = {}   # (region_begin's: one dict, which replay's fast path recognises)
_UNKNOWN = object()
_DIFFERENTIABLE_KINDS = "fc"   # (dtype kinds: an integer or boolean value has no derivative)
