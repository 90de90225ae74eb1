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
from fad.api_jit import jit
from fad.core.abstract import ShapedArray, get_aval
from fad.core.trace import Tracer, new_trace
from fad.interpreters.eval import eval_jaxpr
from fad.interpreters.probe import ProbeTrace, Unkeyable, structural_key, value_key

__all__ = ["StagedVmap"]

_MAX_PROGRAMS = 256  # the oldest is dropped first
_MAX_MISSES = 8      # first sightings in a row after which a function is interpreted
_SEEN_ONCE = object()

# structural key of a recording and of the transformation -> _SEEN_ONCE, or the compiled
# program. Shared by all vmapped gradients: the key says everything the program depends
# on, so a vmap(grad(loss)) made afresh at every step of a loop finds its program too.
_programs: dict = {}


class StagedVmap:
    """The staged path of one ``vmap(g)`` with ``g = grad(fun, ...)`` (or value_and_grad);
    ``spec`` is what ``grad`` registered for ``g``. ``make_vmap(f, in_axes, out_axes)``
    builds the interpreted vmap of a function (that of ``fad.api_vmap``)."""

    def __init__(self, spec, out_axes, make_vmap):
        self.spec = spec
        self.out_axes = out_axes
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

    def applies(self, args) -> bool:
        """Whether the staged path can take this call (checked before any user code runs)."""
        spec = self.spec
        if (spec.has_aux or spec.holomorphic or self.misses >= _MAX_MISSES
                or self.transform_key is None):
            return False
        for a in args:
            if type(a) not in _LEAF_TYPES and type(a) not in _FLOAT_TYPES:
                return False
        checked = self.argnums_for.get(len(args))
        if checked is None:
            try:
                checked = _argnums_tuple(spec.argnums, len(args), "grad")
            except (TypeError, ValueError):
                return False   # the interpreted path raises the error
            self.argnums_for[len(args)] = checked
        for i in checked[1]:
            if not _is_float_leaf(args[i]):
                return False
        return True

    def __call__(self, args, axes, size):
        """``vmap(g)(*args)`` for flat array ``args`` mapped along ``axes`` (ints or None,
        normalised and checked by vmap), ``size`` the mapped size."""
        single, nums = self.argnums_for[len(args)]   # (``applies`` has checked them)
        closed, traced = self._record(args, axes, nums)
        consts = closed.consts
        values = [*consts, *[args[i] for i in traced]]
        try:
            key = (structural_key(closed), nums, single, tuple([axes[i] for i in traced]),
                   size, self.transform_key)
        except Unkeyable:
            return self._program(closed, traced, axes, nums, single)(*values)
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
            entry = programs[key] = jit(self._program(closed, traced, axes, nums, single))
        return entry(*values)

    def _record(self, args, axes, nums):
        """The program ``fun`` computes at this call, for one batch element, and the
        positions of the arguments that are its inputs."""
        spec = self.spec
        with new_trace(ProbeTrace) as probe:
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
            closed = probe.to_jaxpr(tracers, [out])
        return closed, traced

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
