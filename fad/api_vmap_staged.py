"""``vmap`` of a differentiated function, staged: ``vmap(grad(loss))`` at array speed.

Run eagerly, ``vmap(grad(loss))(w, X, Y)`` passes every operation of ``loss`` through
three interpreters (batching, linearization, transposition) at every call: hundreds of
Python calls for a loss of a few operations, several times the NumPy work. Yet under
``vmap`` the batched values are abstract to Python (it cannot branch on them or read
them), so nothing observable changes if, at each call, ``loss`` is *recorded* — with the
batched arguments abstract and the unbatched differentiated ones concrete on demand, as
eager ``grad`` keeps them (``fad.interpreters.probe``) — and the recorded program is
differentiated, batched and compiled once, then run on this call's values.

The compiled programs are cached under the recorded program's structure
(``structural_key``), never under the function's identity: the user's Python runs on
every call, with its side effects, fresh globals and data, and anything that changes what
it computes is a different program. A program is compiled the second time it is seen;
the first time it runs through the interpreters, so a function whose recording changes at
every call (say, a Python float read off the data into the program) costs about what
eager evaluation costs, never a compilation per call.

The path applies to ``vmap`` of a function made by ``grad`` or ``value_and_grad`` without
``has_aux``/``holomorphic``, called at the top level with array arguments mapped along int
axes and no keyword arguments; ``fad.disable_jit()`` turns it off. Otherwise, and for
everything else, ``vmap`` interprets.
"""
from __future__ import annotations

import numpy as np

from fad.api import (_FLOAT_TYPES, _LEAF_TYPES, _argnums_tuple, _check_grad_output,
                     _is_float_leaf, _not_one_output)
from fad.api import grad, value_and_grad
from fad.core.abstract import ShapedArray, get_aval
from fad.api_jit import _jit_disabled
from fad.core.trace import Tracer, eval_trace, get_current_trace, new_trace
from fad.interpreters.eval import eval_jaxpr
from fad.interpreters.lowering import lower
from fad.core.ir import ClosedJaxpr
from fad.interpreters.probe import ProbeTrace, Template, Unkeyable, structural_key, value_key
from fad.interpreters.staging import trace_to_jaxpr
from fad.tree_util import tree_flatten, tree_structure, tree_unflatten

__all__ = ["StagedVmap", "NOT_STAGED"]

_MAX_PROGRAMS = 256  # the oldest is dropped first
_MAX_MISSES = 8      # first sightings in a row after which a function is interpreted
_SEEN_ONCE = object()
NOT_STAGED = object()
_LEAF = tree_structure(0)

# structural key of a recording and of the transformation -> _SEEN_ONCE, or the compiled
# program. Shared by all vmapped gradients: the key says everything the program depends
# on, so a vmap(grad(loss)) made afresh at every step of a loop finds its program too.
_programs: dict = {}


class StagedVmap:
    """The staged path of one ``vmap(g)`` with ``g = grad(fun, ...)`` (or value_and_grad);
    ``spec`` is what ``grad`` registered for ``g``; the axes are ``vmap``'s (``in_axes`` a
    tuple if not an int or None). ``make_vmap(f, in_axes, out_axes)``
    builds the interpreted vmap of a function (that of ``fad.api_vmap``)."""

    def __init__(self, spec, in_axes, out_axes, axis_size, make_vmap):
        self.spec = spec
        self.in_axes, self.out_axes, self.axis_size = in_axes, out_axes, axis_size
        self.make_vmap = make_vmap
        self.name = getattr(spec.fun, "__name__", "function")
        try:   # (what the key needs besides the recording)
            self.transform_key = (spec.with_value, value_key(out_axes))
        except Unkeyable:
            self.transform_key = None
        # First sightings in a row: a function recording a new program at every call
        # (reading a float off changing data into its program, say) gains nothing from
        # recording, so after _MAX_MISSES of them it is interpreted from then on.
        self.misses = 0
        self.argnums_for: dict = {}   # number of arguments -> (single, argnums normalised)
        # The last recording, which the next call replays (``probe.Template``), and the
        # positions of its inputs among the arguments.
        self.template = (None, None)
        self.last = (None, None)   # the key and compiled program of the last compiled call

    def try_call(self, args):
        """``vmap(g)(*args)`` by the staged path, or ``NOT_STAGED`` when it does not apply
        (decided before any user code runs; the interpreted path then runs, and raises
        the errors about axes and arguments)."""
        spec = self.spec
        if (spec.has_aux or spec.holomorphic or self.misses >= _MAX_MISSES
                or self.transform_key is None or _jit_disabled[0]
                or get_current_trace() is not eval_trace):
            return NOT_STAGED
        in_axes = self.in_axes
        if type(in_axes) is tuple:
            if len(in_axes) != len(args):
                return NOT_STAGED
        else:
            in_axes = (in_axes,) * len(args)
        axes, size = [], None
        for a, ax in zip(args, in_axes):
            t = type(a)
            if ax is None:
                if t not in _LEAF_TYPES and t not in _FLOAT_TYPES:
                    return NOT_STAGED
                axes.append(None)
                continue
            if t is not np.ndarray or type(ax) is not int or not -a.ndim <= ax < a.ndim:
                return NOT_STAGED
            ax %= a.ndim
            if size is None:
                size = a.shape[ax]
            elif a.shape[ax] != size:
                return NOT_STAGED
            axes.append(ax)
        if size is None or (self.axis_size is not None and self.axis_size != size):
            return NOT_STAGED
        checked = self.argnums_for.get(len(args))
        if checked is None:
            try:
                checked = _argnums_tuple(spec.argnums, len(args), "grad")
            except (TypeError, ValueError):
                return NOT_STAGED
            self.argnums_for[len(args)] = checked
        for i in checked[1]:
            if not _is_float_leaf(args[i]):
                return NOT_STAGED
        return self(args, axes, size, *checked)

    def __call__(self, args, axes, size, single, nums):
        """``vmap(g)(*args)`` for flat array ``args`` mapped along ``axes`` (ints or None,
        normalised and checked), ``size`` the mapped size, ``nums`` the argnums."""
        closed, traced, skey, replayed = self._record(args, axes, nums)
        values = [*closed.consts, *[args[i] for i in traced]]
        if skey is None:   # (a parameter that cannot be compared)
            return self._program(closed, traced, axes, nums, single)(*values)
        key = (skey, nums, single, tuple([axes[i] for i in traced]), size, self.transform_key)
        if replayed:   # the last call's program again: no lookup (``key`` is small to compare)
            last_key, last_program = self.last
            if key == last_key:
                self.misses = 0
                return last_program(*values)
        programs = _programs
        entry = programs.get(key)
        if entry is None:   # first sighting: interpret it
            self.misses += 1
            if len(programs) >= _MAX_PROGRAMS:
                del programs[next(iter(programs))]
            programs[key] = _SEEN_ONCE
            return self._program(closed, traced, axes, nums, single)(*values)
        self.misses = 0
        if entry is _SEEN_ONCE:
            entry = programs[key] = _compile(
                self._program(closed, traced, axes, nums, single), values)
        self.last = (key, entry)
        return entry(*values)

    def _record(self, args, axes, nums):
        """The program ``fun`` computes at this call, for one batch element, the positions
        of the arguments that are its inputs, and its structural key (``None`` if it has
        none). The last recording is the template the next call replays."""
        spec = self.spec
        template, traced_before = self.template
        with new_trace(ProbeTrace, template) as probe:
            call_args = list(args)
            traced, tracers = [], []
            for i, (a, ax) in enumerate(zip(args, axes)):
                if ax is not None:   # batched: abstract, like a BatchTracer to Python
                    full = get_aval(a)
                    t = probe.new_arg(ShapedArray(full.shape[:ax] + full.shape[ax + 1:],
                                                  full.dtype, full.weak_type))
                elif i in nums:      # differentiated, unbatched: concrete, like under grad
                    t = probe.new_concrete_arg(a)
                else:                # neither: passed as it is, as eager vmap and grad do
                    continue
                call_args[i] = t
                traced.append(i)
                tracers.append(t)
            out = spec.fun(*call_args)
            if not isinstance(out, (Tracer, np.ndarray, np.generic, int, float, complex)):
                raise _not_one_output(self.name, out)
            aval = get_aval(out)
            if aval.shape or aval.dtype.kind != "f":
                _check_grad_output(self.name, aval, False)
            if template is not None and traced == traced_before and probe.replayed([out]):
                return ClosedJaxpr(template.jaxpr, probe.consts), traced, template.key, True
            closed = probe.to_jaxpr(tracers, [out])
        try:
            skey = structural_key(closed)
        except Unkeyable:
            self.template = (None, None)
            return closed, traced, None, False
        self.template = (Template(closed.jaxpr, skey), traced)
        return closed, traced, skey, False

    def _program(self, closed, traced, axes, nums, single):
        """``vmap(grad(recorded program))``, as a function of (constants, traced arguments)."""
        jaxpr, n_consts = closed.jaxpr, len(closed.consts)

        def recorded(*values):
            return eval_jaxpr(jaxpr, values[:n_consts], *values[n_consts:])[0]

        recorded.__name__ = recorded.__qualname__ = self.name
        argnums = [n_consts + traced.index(i) for i in nums]
        transform = value_and_grad if self.spec.with_value else grad
        g = transform(recorded, argnums=argnums[0] if single else tuple(argnums))
        in_axes = (None,) * n_consts + tuple([axes[i] for i in traced])
        return self.make_vmap(g, in_axes, self.out_axes)


def _compile(program, values):
    """``program`` (a function of flat arrays) staged and lowered for arguments of the
    types of ``values`` (which the key that will find it fixes): ``jit`` without its
    per-call signature checks."""
    store = {}

    def flat(*xs):
        leaves, store["tree"] = tree_flatten(program(*xs))
        return leaves

    run = lower(trace_to_jaxpr(flat, [get_aval(v) for v in values]))
    tree = store["tree"]
    if tree == _LEAF:
        return lambda *xs: run(*xs)[0]
    return lambda *xs: tree_unflatten(tree, run(*xs))
