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
``fad.disable_jit()`` turns it off. Otherwise, and for everything else, ``vmap``
interprets.
"""
from __future__ import annotations

import copy

import numpy as np

from fad.api import (_FLOAT_TYPES, _LEAF_TYPES, _argnums_tuple, _check_grad_output,
                     _not_one_output)
from fad.api import grad, value_and_grad
from fad.api_jit import jit_disabled
from fad.core.abstract import ShapedArray, get_aval, native_byte_order
from fad.core.ir import ClosedJaxpr
from fad.core.trace import Tracer, eval_trace, get_current_trace, new_trace
from fad.interpreters.eval import eval_jaxpr
from fad.interpreters.lowering import lower
from fad.interpreters.probe import ProbeTrace, Template, Unkeyable, structural_key, value_key
from fad.interpreters.staging import StagingTracer, trace_to_jaxpr
from fad.tree_util import (broadcast_prefix, tree_flatten, tree_leaves, tree_structure,
                            tree_unflatten)

__all__ = ["StagedVmap", "NOT_STAGED"]

_MAX_PROGRAMS = 256    # the oldest is dropped first
_MAX_MISSES = 8        # first sightings in a row after which a function is interpreted
_MAX_SIGNATURES = 64   # argument signatures remembered per vmapped function
_SEEN_ONCE = object()
NOT_STAGED = object()
_TREES = object()   # (a signature: the arguments hold pytrees, look at their leaves)
_LEAF = tree_structure(0)

# structural key of a recording and of the transformation -> _SEEN_ONCE, or the compiled
# program. Shared by all vmapped gradients: the key says everything the program depends
# on, so a vmap(grad(loss)) made afresh at every step of a loop finds its program too.
_programs: dict = {}


def _types_key(values):
    """What a signature depends on: each value's shape and dtype, or type."""
    return tuple([(a.shape, a.dtype) if type(a) is np.ndarray else type(a) for a in values])


def staged_float_leaf(x) -> bool:
    """Whether ``x`` may be a differentiated input of a staged gradient: a float NumPy
    array or scalar. (A Python float is weakly typed; traced, fad.numpy keeps it weak
    where eager NumPy makes it a float64, so its gradients are left to the interpreter.)"""
    t = type(x)
    return (t is np.ndarray and x.dtype.kind == "f") or t in _NUMPY_FLOATS


_NUMPY_FLOATS = frozenset({np.float16, np.float32, np.float64, np.longdouble})


class _Signature:
    """What the staged path needs to know of one kind of call (argument types, shapes and
    dtypes), worked out once: which arguments are traced and how, the element types of
    the traced ones, and what the key needs besides the recording."""

    __slots__ = ("axes", "size", "single", "nums", "traced", "concrete", "in_avals",
                 "outer", "all_traced", "treedef", "grad_tree")
    # ``concrete``: (position among the traced, position among the arguments) of each
    # concrete input

    def __init__(self, args, axes, size, single, nums, transform_key, treedef=None,
                 grad_tree=None):
        # ``args`` are the arguments' leaves; ``treedef`` says how they make the arguments
        # (None: each argument is a leaf); ``grad_tree``, how the gradients of the leaves
        # ``nums`` make the gradient (None: as ``single``/``nums`` say, for leaves)
        self.treedef, self.grad_tree = treedef, grad_tree
        self.axes, self.size, self.single, self.nums = axes, size, single, nums
        self.traced, self.concrete, in_avals = [], [], []
        for i, (a, ax) in enumerate(zip(args, axes)):
            if ax is not None:   # batched: abstract, as a BatchTracer is to Python
                shape = a.shape[:ax] + a.shape[ax + 1:]
                in_avals.append(ShapedArray(shape, a.dtype))
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

    def for_tree(self, treedef, grad_tree) -> _Signature:
        """This signature for a call whose pytrees are ``treedef`` and whose gradient has
        the structure ``grad_tree``: equal to the signature's own, but their auxiliary
        data may differ where ``==`` does not look (``1`` and ``1.0``, a dataclass field
        with ``compare=False``), and the function must see this call's, as it would
        under the interpreted path."""
        sig = copy.copy(self)
        sig.treedef, sig.grad_tree = treedef, grad_tree
        return sig


class StagedVmap:
    """The staged path of one ``vmap(g)`` with ``g = grad(fun, ...)`` (or value_and_grad);
    ``spec`` is what ``grad`` registered for ``g``; the axes are ``vmap``'s (``in_axes`` a
    tuple if not an int or None). ``make_vmap(f, in_axes, out_axes)`` builds the
    interpreted vmap of a function (that of ``fad.api_vmap``)."""

    def __init__(self, spec, in_axes, out_axes, axis_size, make_vmap):
        self.spec = spec
        self.in_axes, self.out_axes, self.axis_size = in_axes, out_axes, axis_size
        self.make_vmap = make_vmap
        self.name = getattr(spec.fun, "__name__", "function")
        try:   # (what the key needs besides the recording)
            self.transform_key = (spec.with_value, value_key(out_axes))
        except Unkeyable:
            self.transform_key = None
        self.never = spec.has_aux or spec.holomorphic or self.transform_key is None
        # First sightings in a row: a function recording a new program at every call
        # (reading a float off changing data into its program, say) gains nothing from
        # recording, so after _MAX_MISSES of them it is interpreted from then on.
        self.misses = 0
        # (type, or shape and dtype, of each argument) -> its _Signature, or None when
        # the staged path does not take such calls
        self.signatures: dict = {}
        self.template = None   # the last recording, which the next call replays

    def try_call(self, args):
        """``vmap(g)(*args)`` by the staged path, or ``NOT_STAGED`` when it does not apply
        (decided before any user code runs; the interpreted path then runs, and raises
        the errors about axes and arguments)."""
        if (self.never or self.misses >= _MAX_MISSES or jit_disabled()
                or get_current_trace() is not eval_trace):
            return NOT_STAGED
        sig, args = self._lookup(args, args)
        if sig is None:
            return NOT_STAGED
        out = self(args, sig)
        if sig.grad_tree is None:
            return out
        if self.spec.with_value:
            return out[0], tree_unflatten(sig.grad_tree, list(out[1]))
        return tree_unflatten(sig.grad_tree, list(out))

    def _lookup(self, args, traced):
        """The signature of a call with arguments ``args`` whose traced values are
        ``traced`` (pytrees among them flattened), and the leaves of ``traced``; ``None``
        for the signature when the staged path does not take the call."""
        sig = self._signature_for(_types_key(traced), args, None)
        if sig is _TREES:   # pytrees among them: key their leaves
            traced, treedef = tree_flatten(traced)
            try:
                sig = self._signature_for((treedef, _types_key(traced)), args,
                                          (traced, treedef))
            except TypeError:   # (a pytree node with unhashable auxiliary data)
                return None, traced
            if sig is not None and treedef is not sig.treedef:
                sig = sig.for_tree(treedef, self._grad_structure(args))
        # (what the program computes with, in native byte order: see ``native_byte_order``)
        return sig, [native_byte_order(a) for a in traced]

    def _signature_for(self, key, args, tree):
        try:
            return self.signatures[key]
        except KeyError:
            if len(self.signatures) >= _MAX_SIGNATURES:
                self.signatures.clear()
            sig = self.signatures[key] = (self._signature(args) if tree is None else
                                          self._tree_signature(args, *tree))
            return sig

    def _signature(self, args):
        """The ``_Signature`` of a call with arguments like ``args``, ``_TREES`` if some
        are containers, or ``None`` if the staged path does not take it."""
        for a in args:
            if type(a) not in _LEAF_TYPES and type(a) not in _FLOAT_TYPES:
                return _TREES   # (or another kind of value, which _tree_signature refuses)
        in_axes = self.in_axes
        if type(in_axes) is not tuple:
            in_axes = (in_axes,) * len(args)
        elif len(in_axes) != len(args):
            return None
        found = self._axes_and_size(args, in_axes)
        if found is None:
            return None
        try:
            single, nums = _argnums_tuple(self.spec.argnums, len(args), "grad")
        except (TypeError, ValueError):
            return None
        if not all(staged_float_leaf(args[i]) for i in nums):
            return None
        return _Signature(args, *found, single, nums, self.transform_key)

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
            single, nums = _argnums_tuple(self.spec.argnums, len(args), "grad")
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
        return _Signature(leaves, *found, False, leaf_nums, self.transform_key, treedef,
                          self._grad_structure(args))

    def _grad_structure(self, args):
        """The pytree structure of the gradient of a call with arguments ``args``."""
        single, nums = _argnums_tuple(self.spec.argnums, len(args), "grad")
        return tree_structure(args[nums[0]] if single else tuple(args[i] for i in nums))

    def _axes_and_size(self, args, in_axes):
        """The axes (non-negative, or None) of ``args`` mapped along ``in_axes`` and the
        mapped size, or ``None`` if they are not all arrays with consistent sizes."""
        axes, size = [], None
        for a, ax in zip(args, in_axes):
            t = type(a)
            if ax is None:
                if t not in _LEAF_TYPES and t not in _FLOAT_TYPES:
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

    def __call__(self, args, sig):
        """``vmap(g)`` of the arguments whose leaves are ``args``, of the signature ``sig``
        (the gradients of the leaves, flat, when ``sig.grad_tree`` is set)."""
        template = self.template
        if template is not None and template.in_avals is not sig.in_avals:
            template = None   # recorded for other argument types: record afresh
        probe, tracers, out = self._record(args, sig, template)
        values = [*probe.consts, *self._inputs(args, sig)]
        if template is not None and probe.replayed([out]):
            if template.program is not None:   # the steady state
                self.misses = 0
                return template.program(*values)
            closed, skey = ClosedJaxpr(template.jaxpr, probe.consts), template.key
        else:
            closed = probe.to_jaxpr(tracers, [out])
            try:
                skey = structural_key(closed)
            except Unkeyable:   # (a parameter that cannot be compared)
                self.template = None
                return self._program(closed, sig)(*values)
            template = self.template = Template(closed.jaxpr, skey, sig.in_avals)
        key = (skey, sig.outer)
        programs = _programs
        entry = programs.get(key)
        if entry is None:   # first sighting: interpret it
            self.misses += 1
            if len(programs) >= _MAX_PROGRAMS:
                del programs[next(iter(programs))]
            programs[key] = _SEEN_ONCE
            return self._program(closed, sig)(*values)
        self.misses = 0
        if entry is _SEEN_ONCE:
            entry = programs[key] = _compile(self._program(closed, sig), values,
                                             self.spec.with_value)
        template.program = entry
        return entry(*values)

    def _inputs(self, args, sig):
        """The values of the recording's inputs, for the compiled program."""
        return args if sig.all_traced else [args[i] for i in sig.traced]

    def _record(self, args, sig, template, call=None):
        """Run ``fun`` on tracers of a ``ProbeTrace`` (replaying ``template``, if given):
        returns the probe, its input tracers and the output. ``call(tracers)``, if given,
        calls ``fun`` instead of the leaves ``args`` with the tracers in their places."""
        with new_trace(ProbeTrace, template) as probe:
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
                if sig.treedef is not None:
                    call_args = tree_unflatten(sig.treedef, call_args)
                out = self.spec.fun(*call_args)
            if type(out) is not StagingTracer or out.aval.shape or out.aval.dtype.kind != "f":
                self._check_output(out)
        return probe, tracers, out

    def _check_output(self, out):
        if not isinstance(out, (Tracer, np.ndarray, np.generic, int, float, complex)):
            raise _not_one_output(self.name, out)
        aval = get_aval(out)
        if aval.shape or aval.dtype.kind != "f":
            _check_grad_output(self.name, aval, False)

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
        return self.make_vmap(g, in_axes, self.out_axes)


def _compile(program, values, with_value):
    """``program`` (a function of flat arrays) staged and lowered for arguments of the
    types of ``values`` (which the key that will find it fixes): ``jit`` without its
    per-call signature checks."""
    store = {}

    def flat(*xs):
        leaves, store["tree"] = tree_flatten(program(*xs))
        return leaves

    closed = trace_to_jaxpr(flat, [get_aval(v) for v in values])
    lowered = lower(closed).straight
    # 0-d gradients as NumPy scalars, as the interpreters give them (the value, first if
    # ``with_value``, is whatever the function returned, a 0-d array possibly)
    scalars = [i for i, v in enumerate(closed.jaxpr.outvars)
               if not v.aval.shape and not (with_value and i == 0)]
    run = lowered
    if scalars:
        def run(*xs):
            out = lowered(*xs)
            for i in scalars:
                if type(out[i]) is np.ndarray:
                    out[i] = out[i][()]
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
