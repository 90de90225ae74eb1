"""The staged layer's machinery: argument signatures, recording and replaying a function
(``fad.staged.recording``), and the cache of the programs made of recordings.

A *stager* (``Stager``; the front ends are ``fad.staged.grad`` and ``fad.staged.vmap``)
stands for one top-level transformation of one function. At each call it looks up the
*signature* of the arguments (their types, shapes and dtypes, worked out once: which are
traced, and how), records the function with a ``ProbeTrace`` (replaying the last
recording while the function does the same again), and runs the *program* of the
recording — the transformation applied to the recorded jaxpr — from a cache shared by
all stagers and keyed by the recording's structure and the transformation, never by the
function's identity: interpreted at a program's first sighting, compiled from its second.

A stager whose function records a new program call after call (a float read off
changing data into the program, say) gains nothing from recording: after ``_MAX_MISSES``
first sightings in a row it *rests*, interpreting its calls, for a while that doubles each
time it rests again and is reset by a hit. Misses are counted per stager (one function
object, one transformation), so one closure's misses never demote its siblings.
"""
from __future__ import annotations

import numpy as np

from fad.api_util import check_grad_output, not_one_output
from fad.core.abstract import array_aval, get_aval, native_byte_order
from fad.core.ir import ClosedJaxpr
from fad.core.keys import Unkeyable, structural_key
from fad.core.trace import Tracer, new_trace
from fad.interpreters.lowering import lower
from fad.interpreters.staging import StagingTracer, trace_to_jaxpr
from fad.staged.calls import nest_regions
from fad.staged.recording import DifferentiatedProbe, Template
from fad.tree_util import tree_flatten, tree_structure, tree_unflatten

__all__ = ["Stager", "State", "Signature", "NOT_STAGED", "TREES", "types_key",
           "staged_float_leaf", "compile_program"]

_MAX_PROGRAMS = 256    # the oldest is dropped first
_MAX_MISSES = 8        # first sightings in a row after which a stager rests
_FIRST_REST = 16       # calls interpreted the first time a stager rests (then 32, 64, ...)
_MAX_REST = 4096
_MAX_SIGNATURES = 64   # argument signatures remembered per stager state
_SEEN_ONCE = object()
NOT_STAGED = object()  # a stager's answer when the staged path does not take a call
TREES = object()       # (a signature: the arguments hold pytrees, look at their leaves)
_LEAF = tree_structure(0)

# structural key of a recording and of the transformation -> _SEEN_ONCE, or the compiled
# program. Shared by all stagers: the key says everything the program depends on, so a
# vmap(grad(loss)) made afresh at every step of a loop finds its program too.
_programs: dict = {}


def _drop_oldest(table: dict):
    """Drop the oldest entry of ``table``; nothing if another thread changes it meanwhile
    (it dropped that entry, or is adding one): the table is only bounded, not exact."""
    try:
        del table[next(iter(table))]
    except (KeyError, RuntimeError, StopIteration):
        pass


def types_key(values):
    """What a signature depends on: each value's shape and dtype, or type."""
    return tuple([(a.shape, a.dtype) if type(a) is np.ndarray else type(a) for a in values])


def staged_float_leaf(x) -> bool:
    """Whether ``x`` may be a differentiated input of a staged gradient: a float NumPy
    array or scalar, or a Python float (recorded weakly typed, as the interpreters keep
    it: fad.numpy gives NumPy's strong dtypes, operators NEP 50's weak ones)."""
    t = type(x)
    return (t is np.ndarray and x.dtype.kind == "f") or t in _FLOATS


_FLOATS = frozenset({float, np.float16, np.float32, np.float64, np.longdouble})


class Signature:
    """What the staged path needs to know of one kind of call (argument types, shapes and
    dtypes), worked out once: which arguments are traced and how, the element types of
    the traced ones, and what the key needs besides the recording."""

    __slots__ = ("axes", "size", "single", "nums", "traced", "concrete", "in_avals",
                 "outer", "all_traced", "treedef", "native")
    # ``concrete``: (position among the traced, position among the arguments) of each
    # concrete input

    def __init__(self, args, axes, size, single, nums, transform_key, treedef=None):
        # ``args`` are the arguments' leaves; ``treedef`` says how they make the arguments
        # (None: each argument is a leaf; each call passes its own, whose auxiliary data
        # may differ where ``==`` does not look: ``1`` and ``1.0``, a dataclass field with
        # ``compare=False``)
        self.treedef = treedef
        self.axes, self.size, self.single, self.nums = axes, size, single, nums
        self.traced, self.concrete, in_avals = [], [], []
        # (whether the leaves are in native byte order: else each call converts them)
        self.native = all(type(a) is not np.ndarray or a.dtype.isnative for a in args)
        for i, (a, ax) in enumerate(zip(args, axes)):
            if ax is not None:   # batched: abstract, as a BatchTracer is to Python
                shape = a.shape[:ax] + a.shape[ax + 1:]
                in_avals.append(array_aval(shape, get_aval(a).dtype))
            elif i in nums:      # differentiated, unbatched: concrete, as under grad
                in_avals.append(get_aval(a))
                self.concrete.append((len(self.traced), i))
            else:                # neither: passed as it is, as eager vmap and grad do
                continue
            self.traced.append(i)
        self.in_avals = tuple(in_avals)   # (its identity tells templates apart)
        self.all_traced = self.traced == list(range(len(args)))
        # (which of the recording's inputs are differentiated, and how they are mapped)
        self.outer = (tuple([self.traced.index(i) for i in nums]), single,
                      tuple([axes[i] for i in self.traced]), size, transform_key)


class State:
    """What a stager learns from its calls: the last recording (which the next call
    replays) and the signatures of the arguments seen. The stagers of ``grad`` share one
    per function code (``fad.staged.grad``), so that a gradient function made afresh at
    every step still replays."""

    __slots__ = ("template", "signatures", "argnums_for")

    def __init__(self):
        self.template = None
        self.signatures: dict = {}   # types key -> Signature, or None (not staged)
        self.argnums_for: dict = {}  # arity -> (single, argnums normalised)


class Stager:
    """The staged path of one top-level transformation of ``fun``; subclasses say which
    arguments are traced and how (``_signature``, ``_tree_signature``) and what program
    a recording makes (``_program``). ``first_scalar``: the position of the program's
    first result that is a gradient (0-d ones come back as NumPy scalars)."""

    # (``record_call(probe, args)``, if a subclass defines it: the transformation called
    # while an outer stager records with ``probe``, as one equation of its recording)
    record_call = None
    first_scalar = 0
    probe_type = DifferentiatedProbe   # (the recorder, as its tracers show to Python)

    def __init__(self, fun, state: State):
        self.fun, self.state = fun, state
        self.name = getattr(fun, "__name__", "function")
        self.misses = 0      # first sightings in a row
        self.resting = 0     # calls left to interpret before trying again
        self.rest = _FIRST_REST // 2

    def applies(self) -> bool:
        """Whether to try the staged path at this call (not while resting)."""
        if self.resting:
            self.resting -= 1
            return False
        return True

    def _missed(self):
        self.misses += 1
        if self.misses >= _MAX_MISSES:
            self.misses = 0
            self.rest = min(2 * self.rest, _MAX_REST)
            self.resting = self.rest

    def _hit(self):
        self.misses = 0
        self.rest = _FIRST_REST // 2

    def _lookup(self, args, traced):
        """The signature of a call with arguments ``args`` whose traced values are
        ``traced``, the leaves of ``traced``, and how they make ``traced`` (this call's
        treedef, ``None`` when each is a leaf); ``None`` for the signature when the staged
        path does not take the call."""
        treedef = None
        sig = self._signature_for(types_key(traced), args, None)
        if sig is TREES:   # pytrees among them: key their leaves
            traced, treedef = tree_flatten(traced)
            try:
                sig = self._signature_for((treedef, types_key(traced)), args,
                                          (traced, treedef))
            except TypeError:   # (a pytree node with unhashable auxiliary data)
                return None, traced, treedef
        if sig is not None and not sig.native:
            # (what the program computes with, in native byte order: ``native_byte_order``)
            traced = [native_byte_order(a) for a in traced]
        return sig, traced, treedef

    def _signature_for(self, key, args, tree):
        signatures = self.state.signatures
        try:
            return signatures[key]
        except KeyError:
            if len(signatures) >= _MAX_SIGNATURES:
                signatures.clear()
            sig = signatures[key] = (self._signature(args) if tree is None else
                                     self._tree_signature(args, *tree))
            return sig

    def __call__(self, args, sig, treedef=None):
        """The transformation of ``fun`` at the arguments whose leaves are ``args`` (made
        into the arguments by ``treedef``, if not ``None``), of the signature ``sig``:
        record ``fun`` (replaying the last recording), then run the program of the
        recording, interpreted at its first sighting, compiled from the second."""
        state = self.state
        template = state.template
        if template is not None and template.in_avals is not sig.in_avals:
            template = None   # recorded for other argument types: record afresh
        probe, tracers, outs, tree = self._record(args, sig, template, treedef)
        inputs = self._inputs(args, sig)
        if template is not None and probe.replayed(outs) and template.out_tree == tree:
            values = [*probe.consts, *inputs]
            if template.program is not None:   # the steady state
                self._hit()
                return template.program(*values)
            skey, closed = template.key, ClosedJaxpr(template.jaxpr, probe.consts)
            if probe.had_regions:
                closed = nest_regions(closed)
        else:
            recorded = probe.to_jaxpr(tracers, outs)   # (an output may add a constant)
            values = [*recorded.consts, *inputs]
            # (what programs are made of: transformations called inside as one equation
            # each; raises if a tracer escaped one)
            closed = nest_regions(recorded) if probe.had_regions else recorded
            try:
                skey = structural_key(recorded)
            except Unkeyable:   # (a parameter that cannot be compared)
                state.template = None
                return self._program(closed, sig, tree)(*values)
            template = state.template = Template(recorded.jaxpr, skey, sig.in_avals, tree)
        key = (skey, sig.outer, tree)
        programs = _programs
        entry = programs.get(key)
        if entry is None:   # first sighting: interpret it
            self._missed()
            if len(programs) >= _MAX_PROGRAMS:
                _drop_oldest(programs)
            programs[key] = _SEEN_ONCE
            return self._program(closed, sig, tree)(*values)
        self._hit()
        if entry is _SEEN_ONCE:
            entry = programs[key] = self._compile(closed, sig, tree, values)
        template.program = entry
        return entry(*values)

    def _compile(self, closed, sig, tree, values):
        """The compiled program of the recording ``closed``, for inputs like ``values``."""
        return compile_program(self._program(closed, sig, tree), values, self.first_scalar)

    def _inputs(self, args, sig):
        """The values of the recording's inputs, for the compiled program."""
        return args if sig.all_traced else [args[i] for i in sig.traced]

    def _record(self, args, sig, template, treedef, call=None):
        """Run ``fun`` on tracers of a ``ProbeTrace`` (replaying ``template``, if given):
        returns the probe, its input tracers, the leaves of the output and its structure.
        ``call(tracers)``, if given, calls ``fun`` instead of the leaves ``args`` with the
        tracers in their places."""
        with new_trace(self.probe_type, template) as probe:
            probe.origin = (None, self.fun)   # (named by error messages)
            tracers = probe.new_args(sig.in_avals)
            for k, i in sig.concrete:
                probe.make_concrete(tracers[k], args[i])
            if call is not None:
                out = call(tracers)
            else:
                if sig.all_traced:
                    call_args = tracers
                else:
                    call_args = list(args)
                    for i, t in zip(sig.traced, tracers):
                        call_args[i] = t
                if treedef is not None:
                    call_args = tree_unflatten(treedef, call_args)
                out = self.fun(*call_args)
            outs, tree = self._outputs(out)
        return probe, tracers, outs, tree

    def _outputs(self, out):
        """The leaves of the function's output ``out`` and its structure, or the error the
        interpreted transformation raises for such an output. (That of gradients: one
        real floating-point scalar.)"""
        if type(out) is not StagingTracer or out.aval.shape or out.aval.dtype.kind != "f":
            if not isinstance(out, (Tracer, np.ndarray, np.generic, int, float, complex)):
                raise not_one_output(self.name, out)
            aval = get_aval(out)
            if aval.shape or aval.dtype.kind != "f":
                check_grad_output(self.name, aval, False)
        return [out], _LEAF


def compile_program(program, values, first_scalar=0):
    """``program`` (a function of flat arrays) staged and lowered for arguments of the
    types of ``values`` (which the key that will find it fixes): ``jit`` without its
    per-call signature checks."""
    store = {}

    def flat(*xs):
        leaves, store["tree"] = tree_flatten(program(*xs))
        return leaves

    closed = trace_to_jaxpr(flat, [get_aval(v) for v in values])
    lowered = lower(closed).straight
    # 0-d results from ``first_scalar`` on (gradients) as NumPy scalars, as the
    # interpreters give them (a value before them is whatever the function returned, a
    # 0-d array possibly)
    # A Python float argument returned as it is comes back as a NumPy float64, as from
    # the interpreters (which compute with it as one).
    inputs = set(closed.jaxpr.invars)
    scalars = [i for i, v in enumerate(closed.jaxpr.outvars)
               if not v.aval.shape and (i >= first_scalar or v in inputs)]
    run = lowered
    if scalars:
        def run(*xs):
            out = lowered(*xs)
            for i in scalars:
                o = out[i]
                if type(o) is float:
                    out[i] = np.float64(o)
                elif type(o) is np.ndarray and i >= first_scalar:
                    out[i] = o[()]
            return out
    tree = store["tree"]
    if tree == _LEAF:
        return lambda *xs: run(*xs)[0]
    n = tree.num_leaves
    if tree == tree_structure((0,) * n):   # (gradients of several leaves)
        return lambda *xs: tuple(run(*xs))
    if tree == tree_structure((0, (0,) * (n - 1))):   # (a value and those gradients)
        def value_and_grads(*xs):
            out = run(*xs)
            return out[0], tuple(out[1:])
        return value_and_grads
    return lambda *xs: tree_unflatten(tree, run(*xs))
