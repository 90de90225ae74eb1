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

At a steady state the same program is recorded call after call, so the recording
*replays* the last one (``probe.Template``): each operation is checked against the last
recording's next equation instead of being recorded anew, and when the whole call agrees,
the last compiled program runs without building a jaxpr or a key.

The path applies to ``vmap`` of a function made by ``grad`` or ``value_and_grad`` without
``has_aux``/``holomorphic``, called at the top level with arrays or pytrees of arrays
(differentiated ones NumPy floats, not Python floats) mapped along int axes
(``out_axes`` an int or None when there are pytrees) and no keyword arguments;
``fad.disable_staging()`` (and ``fad.disable_jit()``) turn it off. Otherwise, and for
everything else, ``vmap`` interprets. The machinery (signatures, recording, the program
cache) is ``fad.staged.programs``'.
"""
from __future__ import annotations

import numpy as np

from fad.api_grad import grad, value_and_grad
from fad.api_util import FLOAT_TYPES, LEAF_TYPES, argnums_tuple
from fad.api_vmap import vmap as interpreted_vmap
from fad.core.keys import Unkeyable, value_key
from fad.interpreters.eval import eval_jaxpr
from fad.staged.programs import NOT_STAGED, TREES, Signature, Stager, State, staged_float_leaf
from fad.tree_util import broadcast_prefix, tree_leaves, tree_structure, tree_unflatten

__all__ = ["StagedVmap"]


class StagedVmap(Stager):
    """The staged path of one ``vmap(g)`` with ``g = grad(fun, ...)`` (or value_and_grad);
    ``spec`` is what ``grad`` registered for ``g`` (a ``GradSpec``); the axes are
    ``vmap``'s (``in_axes`` a tuple if not an int or None)."""

    def __init__(self, spec, in_axes, out_axes, axis_size):
        super().__init__(spec.fun, State())
        self.spec = spec
        self.in_axes, self.out_axes, self.axis_size = in_axes, out_axes, axis_size
        self.first_scalar = 1 if spec.with_value else 0
        try:   # (what the key needs besides the recording)
            self.transform_key = (spec.with_value, value_key(out_axes))
        except Unkeyable:
            self.transform_key = None
        self.never = spec.has_aux or spec.holomorphic or self.transform_key is None

    def try_call(self, args):
        """``vmap(g)(*args)`` by the staged path, or ``NOT_STAGED`` when it does not apply
        (decided before any user code runs; the interpreted path then runs, and raises
        the errors about axes and arguments)."""
        sig, args = self._lookup(args, args)
        if sig is None:
            return NOT_STAGED
        out = self(args, sig)
        if sig.grad_tree is None:
            return out
        if self.spec.with_value:
            return out[0], tree_unflatten(sig.grad_tree, list(out[1]))
        return tree_unflatten(sig.grad_tree, list(out))

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
        if found is None:
            return None
        try:
            single, nums = argnums_tuple(self.spec.argnums, len(args), "grad")
        except (TypeError, ValueError):
            return None
        if not all(staged_float_leaf(args[i]) for i in nums):
            return None
        return Signature(args, *found, single, nums, self.transform_key)

    def _tree_signature(self, args, leaves, treedef):
        """``_signature`` for arguments with pytrees among them: the leaves are traced,
        and the gradients of the differentiated arguments' leaves are put back into
        those arguments' structure (an int or None ``out_axes`` only)."""
        out_axes = self.out_axes
        if not (out_axes is None or type(out_axes) is int):
            return None
        in_axes = self.in_axes
        if type(in_axes) is tuple and len(in_axes) != len(args):
            return None
        try:
            leaf_axes = broadcast_prefix(in_axes if type(in_axes) is tuple
                                         else (in_axes,) * len(args), args)
            single, nums = argnums_tuple(self.spec.argnums, len(args), "grad")
        except (TypeError, ValueError):
            return None
        found = self._axes_and_size(leaves, leaf_axes)
        if found is None:
            return None
        starts = [0]
        for a in args:
            starts.append(starts[-1] + len(tree_leaves(a)))
        leaf_nums = tuple(k for i in nums for k in range(starts[i], starts[i + 1]))
        if not leaf_nums or not all(staged_float_leaf(leaves[k]) for k in leaf_nums):
            return None
        return Signature(leaves, *found, False, leaf_nums, self.transform_key, treedef,
                          self._grad_structure(args))

    def _grad_structure(self, args):
        """The pytree structure of the gradient of a call with arguments ``args``."""
        single, nums = argnums_tuple(self.spec.argnums, len(args), "grad")
        return tree_structure(args[nums[0]] if single else tuple(args[i] for i in nums))

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

    def _program(self, closed, sig):
        """``vmap(grad(recorded program))``, as a function of (constants, traced arguments)."""
        jaxpr, n_consts = closed.jaxpr, len(closed.consts)

        def recorded(*values):
            return eval_jaxpr(jaxpr, values[:n_consts], *values[n_consts:])[0]

        recorded.__name__ = recorded.__qualname__ = self.name
        argnums = [n_consts + sig.traced.index(i) for i in sig.nums]
        transform = value_and_grad if self.spec.with_value else grad
        g = transform(recorded, argnums=argnums[0] if sig.single else tuple(argnums))
        in_axes = (None,) * n_consts + tuple([sig.axes[i] for i in sig.traced])
        return interpreted_vmap(g, in_axes, self.out_axes)
