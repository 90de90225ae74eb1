"""``vmap`` at the top level, staged: ``vmap(f)``, ``vmap(grad(loss))`` at array speed.

Run eagerly, ``vmap(grad(loss))(w, X, Y)`` passes every operation of ``loss`` through
three interpreters (batching, linearization, transposition) at every call: hundreds of
Python calls for a loss of a few operations, several times the NumPy work. Yet under
``vmap`` the batched values are abstract to Python (it cannot branch on them or read
them), so nothing observable changes if, at each call, the function is *recorded* — with
the batched arguments abstract and the unbatched ones passed as they are, as eager
``vmap`` passes them — and the recorded program is batched and compiled once, then run
on this call's values. A gradient called inside (``grad(loss)`` itself, or
``lambda w, x, y: grad(loss)(w, x, y)``) records ``loss`` as a region of the same
recording, which appears in it as one equation (``fad.staged.calls``), so the spelling of
the composition hardly changes the cost.

The compiled programs are cached under the recorded program's structure, never under the
function's identity (``fad.staged.programs``): the user's Python runs at every call, with
its side effects, fresh globals and data, and anything that changes what it computes is a
different program. A program is compiled the second time it is seen; at a steady state
the recording *replays* the last one and the compiled program runs at once.

The path applies to ``vmap`` called at the top level with arrays (or pytrees of arrays)
mapped along int axes, ``None`` for unmapped arguments, and no keyword arguments;
``fad.disable_staging()`` (and ``fad.disable_jit()``) turn it off. Otherwise ``vmap``
interprets.
"""
from __future__ import annotations

import numpy as np

from fad.api_util import FLOAT_TYPES, LEAF_TYPES, OUTPUT, check_leaves
from fad.api_vmap import vmap as interpreted_vmap
from fad.core.ir import Jaxpr
from fad.core.keys import Unkeyable, value_key
from fad.core.trace import Tracer
from fad.interpreters.eval import eval_jaxpr
from fad.staged.calls import ValueAndGrad, transform_call_p
from fad.staged.grad import state_for
from fad.staged.programs import (NOT_STAGED, TREES, Signature, Stager, State,
                                 staged_float_leaf)
from fad.staged.recording import BatchedProbe, DifferentiatedProbe
from fad.tree_util import broadcast_prefix, tree_flatten, tree_structure, tree_unflatten

__all__ = ["StagedVmap", "StagedVmapOfGrad"]

_LEAF = tree_structure(0)


class StagedVmap(Stager):
    """The staged path of one ``vmap(fun, in_axes, out_axes, axis_size)`` (``in_axes`` a
    tuple if not an int or None). Batched leaves are the recording's (abstract) inputs;
    unbatched ones are passed to ``fun`` as they are; the program of a recording is its
    interpreted ``vmap``."""

    first_scalar = 1 << 62   # (vmap's results are what the interpreter gives: none converted)
    probe_type = BatchedProbe

    def __init__(self, fun, in_axes, out_axes, axis_size):
        super().__init__(fun, State())
        self.in_axes, self.out_axes, self.axis_size = in_axes, out_axes, axis_size
        try:   # (what the key needs besides the recording)
            self.transform_key = ("vmap", value_key(out_axes))
        except Unkeyable:
            self.transform_key = None
        self.never = self.transform_key is None

    def try_call(self, args):
        """``vmap(fun)(*args)`` by the staged path, or ``NOT_STAGED`` when it does not
        apply (decided before any user code runs; the interpreted path then runs, and
        raises the errors about axes and arguments)."""
        sig, args, treedef = self._lookup(args, args)
        if sig is None:
            return NOT_STAGED
        return self(args, sig, treedef)

    def _signature(self, args):
        """The ``Signature`` of a call with arguments like ``args``, ``TREES`` if some
        are containers, or ``None`` if the staged path does not take it."""
        for a in args:
            if type(a) not in LEAF_TYPES and type(a) not in FLOAT_TYPES:
                return TREES   # (or another kind of value, which _tree_signature refuses)
        in_axes = self.in_axes
        if type(in_axes) is not tuple:
            in_axes = (in_axes,) * len(args)
        elif len(in_axes) != len(args):
            return None
        found = self._axes_and_size(args, in_axes)
        return None if found is None else self._leaf_signature(args, found, None, args)

    def _tree_signature(self, args, leaves, treedef):
        """``_signature`` for arguments with pytrees among them: their leaves are mapped
        along the axes ``in_axes`` gives them as a pytree prefix."""
        in_axes = self.in_axes
        if type(in_axes) is tuple and len(in_axes) != len(args):
            return None
        try:
            leaf_axes = broadcast_prefix(in_axes if type(in_axes) is tuple
                                         else (in_axes,) * len(args), args)
        except (TypeError, ValueError):
            return None
        found = self._axes_and_size(leaves, leaf_axes)
        if found is None:
            return None
        return self._leaf_signature(leaves, found, treedef, args)

    def _leaf_signature(self, leaves, found, treedef, args):
        """The ``Signature`` of the leaves ``leaves`` of the arguments ``args``, mapped along
        the axes ``found`` gives (with the mapped size); ``None`` if it does not apply."""
        return Signature(leaves, *found, False, (), self.transform_key, treedef)

    def _axes_and_size(self, args, in_axes):
        """The axes (non-negative, or None) of ``args`` mapped along ``in_axes`` and the
        mapped size, or ``None`` if they are not all arrays with consistent sizes."""
        axes, size = [], None
        for a, ax in zip(args, in_axes):
            t = type(a)
            if ax is None:
                if t not in LEAF_TYPES and t not in FLOAT_TYPES:
                    return None
                axes.append(None)
                continue
            if t is not np.ndarray or type(ax) is not int or not -a.ndim <= ax < a.ndim:
                return None
            ax %= a.ndim
            if size is None:
                size = a.shape[ax]
            elif a.shape[ax] != size:
                return None
            axes.append(ax)
        if size is None or (self.axis_size is not None and self.axis_size != size):
            return None
        return axes, size

    def _outputs(self, out):
        """The leaves of ``out`` and its structure (any pytree of arrays, as the
        interpreted vmap takes)."""
        if isinstance(out, Tracer):   # (one array out: the common case)
            return [out], _LEAF
        leaves, tree = tree_flatten(out)
        check_leaves(leaves, "vmap", OUTPUT)
        return leaves, tree

    def _program(self, closed, sig, tree):
        """``vmap`` of the recorded program, as a function of (constants, batched leaves)."""
        jaxpr, n_consts = closed.jaxpr, len(closed.consts)

        def recorded(*values):
            return tree_unflatten(tree, eval_jaxpr(jaxpr, values[:n_consts],
                                                   *values[n_consts:]))

        recorded.__name__ = recorded.__qualname__ = self.name
        in_axes = (None,) * n_consts + tuple([sig.axes[i] for i in sig.traced])
        return interpreted_vmap(recorded, in_axes, self.out_axes)


class StagedVmapOfGrad(StagedVmap):
    """The fast path of ``vmap`` of a staged gradient function itself,
    ``vmap(grad(loss), in_axes=(None, 0, 0))``: ``loss`` recorded by one probe, its
    batched leaves abstract and its unbatched differentiated ones concrete, as eager
    ``vmap(grad)`` lets Python see them. The general path (``StagedVmap``) records the
    gradient function, ``loss`` as a region of its recording, and gets a program of one
    ``transform_call`` equation applying ``value_and_grad`` to that recording of ``loss``
    (``StagedGrad.record_call``); ``_program`` builds that program from the recording
    directly, the batched leaves inputs of the jaxpr rather than its constants. Both paths
    run the same operations, so they give the same bits
    (``tests/test_staged_equals_eager.py`` runs both spellings), and this one saves the
    region's bookkeeping and the calls through the gradient function.
    ``grad`` is the gradient's stager."""

    probe_type = DifferentiatedProbe
    _outputs = Stager._outputs   # (``loss``'s output, checked as ``grad`` checks it)

    def __init__(self, grad, in_axes, out_axes, axis_size):
        super().__init__(grad.fun, in_axes, out_axes, axis_size)
        self.grad, self.with_value = grad, grad.spec.with_value
        # (gradients mapped along one int axis, or none, each: else the general path)
        self.never = (self.never or grad.never
                      or not (out_axes is None or type(out_axes) is int))
        if self.never:
            return
        self.transform_key = ("vmap of grad", self.with_value, self.transform_key)
        try:   # (the state of one loss's code, as a gradient's: a new vmap(grad) per step replays)
            self.state = state_for(grad.spec, (self.transform_key, value_key(in_axes),
                                               axis_size))
        except Unkeyable:
            self.never = True

    def try_call(self, args):
        checked = self.grad.checked_argnums(len(args))
        if checked is None:
            return NOT_STAGED
        single, nums = checked
        sig, leaves, treedef = self._lookup(args, args)
        if sig is None:
            return NOT_STAGED
        out = self(leaves, sig, treedef)
        grads = out[1:] if self.with_value else out
        if treedef is not None:   # (back in the structure of this call's arguments)
            grads = tree_unflatten(tree_structure(tuple([args[i] for i in nums])), grads)
        grads = grads[0] if single else tuple(grads)
        return (out[0], grads) if self.with_value else grads

    def _leaf_signature(self, leaves, found, treedef, args):
        """The signature of ``StagedVmap``, whose differentiated leaves (concrete where
        unbatched) are those of the arguments ``argnums`` names, floats all."""
        single, nums = self.grad.checked_argnums(len(args))
        if treedef is None:
            diff = list(nums)
        else:
            starts, n = [], 0
            for a in args:
                starts.append(n)
                n += tree_structure(a).num_leaves
            diff = [k for i in nums
                    for k in range(starts[i], starts[i] + tree_structure(args[i]).num_leaves)]
        if not diff or not all(staged_float_leaf(leaves[k]) for k in diff):
            return None
        return Signature(leaves, *found, False, tuple(diff), self.transform_key, treedef)

    def _program(self, closed, sig, tree):
        """``vmap`` of the ``transform_call`` applying ``value_and_grad`` to the recording
        ``closed``, as the general path records it: the differentiated inputs first, the
        gradients (after the value, for ``value_and_grad``) a flat list."""
        jaxpr, n_consts = closed.jaxpr, len(closed.consts)
        position = {i: k for k, i in enumerate(sig.traced)}   # (leaf -> recording input)
        diff = set(sig.nums)   # (in argnums' order, as the gradients come out)
        order = ([position[i] for i in sig.nums]
                 + [k for k, i in enumerate(sig.traced) if i not in diff])
        params = {"transform": ValueAndGrad(self.name, len(diff)), "n_consts": n_consts,
                  "jaxpr": Jaxpr(jaxpr.constvars, [jaxpr.invars[k] for k in order],
                                 jaxpr.outvars, jaxpr.eqns), "out_avals": None}
        start = 0 if self.with_value else 1

        def recorded(*values):
            traced = values[n_consts:]
            return transform_call_p.impl(*values[:n_consts], *[traced[k] for k in order],
                                         **params)[start:]

        recorded.__name__ = recorded.__qualname__ = self.name
        in_axes = (None,) * n_consts + tuple([sig.axes[i] for i in sig.traced])
        return interpreted_vmap(recorded, in_axes, self.out_axes)
