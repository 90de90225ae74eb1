"""Gradients and Jacobians at the top level, staged: eager derivatives at compiled speed.

Called with arrays and nothing being traced, ``grad(f)(x)`` passes every operation of
``f`` through two interpreters (linearization, transposition). Instead it records ``f``
at each call with a probe that keeps the differentiated arguments concrete on demand —
Python may branch on them and read them, exactly as under eager ``grad`` — and runs the
gradient of the recording, interpreted the first time a program is seen and compiled
from the second (``fad.staged.programs``). The user's Python runs once per call, with its
side effects and fresh globals; at a steady state the recording replays the previous one
and the compiled program runs at once. ``StagedJacobian`` does the same for ``jacfwd``,
``jacrev`` and ``hessian`` of an array argument.

Called inside a function another stager records (``vmap(lambda w, x, y: grad(loss)(w, x,
y))``), ``StagedGrad.record_call`` records ``loss`` as a region of the outer recording
(``fad.staged.calls``).

The path applies to ``grad``/``value_and_grad`` without ``has_aux``/``holomorphic``,
called without keyword arguments, whose differentiated arguments are float arrays or
scalars (NumPy's or Python's), or pytrees of them. Results without derivative of
concrete inputs (``x > 0``, ``stop_gradient(x)``) are NumPy values, as under eager
``grad``. ``fad.disable_staging()`` (and ``fad.disable_jit()``) turn it off.
"""
from __future__ import annotations

import functools

import numpy as np

from fad.api_grad import jvp as interpreted_jvp
from fad.api_grad import vjp as interpreted_vjp
from fad.api_grad import vjp_flat, vjp_function
from fad.api_grad import value_and_grad as interpreted_value_and_grad
from fad.api_util import (FLOAT_TYPES, LEAF_TYPES, OUTPUT, GradSpec, argnums_tuple,
                          check_leaves)
from fad.core.abstract import get_aval
from fad.core.ad_util import instantiate, tangent_aval
from fad.core.keys import Unkeyable, value_key
from fad.core.trace import Tracer, eval_trace, get_current_trace
from fad.interpreters.eval import eval_jaxpr
from fad.interpreters.lowering import lower
from fad.interpreters.staging import trace_to_jaxpr
from fad.interpreters.transpose import UndefinedPrimal, backward_pass
from fad.staged.calls import ValueAndGrad
from fad.staged.programs import NOT_STAGED, TREES, Signature, Stager, State, staged_float_leaf
from fad.staged.recording import ForwardProbe
from fad.tree_util import tree_flatten, tree_structure, tree_unflatten

__all__ = ["StagedGrad", "StagedJacobian", "StagedJvp", "StagedVjp", "compile_vjp",
           "state_for"]


class StagedGrad(Stager):
    """The staged path of one ``value_and_grad(fun, ...)`` (or ``grad``); ``spec`` is its
    ``GradSpec``. The program of a recording is its interpreted ``value_and_grad``; the
    signature has no axes (every differentiated leaf is a concrete input). The state
    (the last recording, the signatures) is shared by the stagers of one function's code,
    so that ``grad(f)(x)`` written inline, a new gradient function at every step, still
    replays the last recording of ``f``; the misses are this stager's own."""

    first_scalar = 1   # (the program gives the value, then the gradients)
    # Whether Python floats may be differentiated arguments (the interpreters keep their
    # weak type, NEP 50, as a recording does)
    python_floats = True

    transform_key = ("grad",)

    def __init__(self, spec):
        super().__init__(spec.fun, state_for(spec, self.transform_key))
        self.spec = spec
        self.never = spec.has_aux or spec.holomorphic

    def try_call(self, args):
        """``value_and_grad(fun)(*args)`` (or ``grad``) by the staged path, or
        ``NOT_STAGED`` when it does not apply (decided before any user code runs)."""
        checked = self.checked_argnums(len(args))
        if checked is None:
            return NOT_STAGED
        single, nums = checked
        sig, leaves, treedef = self._lookup(args, [args[i] for i in nums])
        if sig is None:
            return NOT_STAGED
        value, grads = self((args, leaves), sig, treedef)
        if treedef is not None:   # (the gradients of the leaves, back in this call's pytrees)
            grads = tree_unflatten(treedef, list(grads))
        grads = grads[0] if single else tuple(grads)
        return (value, grads) if self.spec.with_value else grads

    def record_call(self, outer, args):
        """``value_and_grad(fun)(*args)`` (or ``grad``) called while an outer stager
        records with the probe ``outer``: ``fun`` recorded as a region of the outer
        recording (``ProbeTrace.begin_region``, ``end_region``; ``fad.staged.calls``), or
        ``NOT_STAGED``. The differentiated leaves are the region's inputs, concrete where
        the outer recording knows their values (as eager ``grad`` of a value eager
        ``vmap`` leaves unbatched would see them), abstract otherwise; the other
        arguments are passed as they are."""
        checked = self.checked_argnums(len(args))
        if checked is None:
            return NOT_STAGED
        single, nums = checked
        found = self._region_leaves(args, nums, outer)
        if found is None:
            return NOT_STAGED
        leaves, values, treedef = found
        tracers, region = outer.begin_region(leaves, values)
        call_args = list(args)
        for i, d in zip(nums, tracers if treedef is None else tree_unflatten(treedef, tracers)):
            call_args[i] = d
        try:
            outs = self._outputs(self.fun(*call_args))[0]
        except BaseException:
            outer.abandon_region(region)
            raise
        value, *grads = outer.end_region(region, outs, ValueAndGrad(self.name, len(leaves)))
        if treedef is not None:
            grads = tree_unflatten(treedef, grads)
        grads = grads[0] if single else tuple(grads)
        return (value, grads) if self.spec.with_value else grads

    @staticmethod
    def _region_leaves(args, nums, outer):
        """The leaves of the differentiated arguments ``nums``, their values where
        ``outer`` knows them (``None`` elsewhere; NumPy values are known), and their
        treedef (``None`` when the arguments are leaves); ``None`` when a leaf is not a
        float array, scalar or value of ``outer``."""
        leaves = [args[i] for i in nums]
        treedef = None
        for x in leaves:
            if not isinstance(x, Tracer) and type(x) not in LEAF_TYPES:
                leaves, treedef = tree_flatten(leaves)
                break
        values = []
        for x in leaves:
            if isinstance(x, Tracer):
                if x._trace is not outer or x.aval.dtype.kind != "f":
                    return None
                values.append(outer.known_value(x))
            elif staged_float_leaf(x):
                values.append(x)
            else:
                return None
        return leaves, values, treedef

    def checked_argnums(self, nargs, fname="grad"):
        """``(single, argnums normalised)`` for ``nargs`` positional arguments (worked
        out once per arity), or ``None`` for argnums that do not fit: the interpreted
        path then raises."""
        argnums_for = self.state.argnums_for
        checked = argnums_for.get(nargs)
        if checked is None:
            try:
                checked = argnums_for[nargs] = argnums_tuple(self.spec.argnums, nargs, fname)
            except (TypeError, ValueError):
                return None
        return checked

    def _signature(self, args):
        single, nums = self.state.argnums_for[len(args)]
        diff = [args[i] for i in nums]
        for a in diff:
            if type(a) is not np.ndarray and type(a) not in FLOAT_TYPES:
                return TREES   # (or another kind of value, which _tree_signature refuses)
        if not all(self._takes(a) for a in diff):
            return None
        return self._make_signature(diff, nums, None)

    def _tree_signature(self, args, leaves, treedef):
        single, nums = self.state.argnums_for[len(args)]
        if not leaves or not all(self._takes(a) for a in leaves):
            return None
        return self._make_signature(leaves, nums, treedef)

    def _takes(self, x) -> bool:
        """Whether ``x`` may be a differentiated leaf of a staged call."""
        return staged_float_leaf(x) and (self.python_floats or type(x) is not float)

    def _make_signature(self, leaves, nums, treedef):
        n = len(leaves)
        sig = Signature(leaves, [None] * n, None, False, tuple(range(n)),
                        self.transform_key, treedef)
        sig.outer = (nums, sig.outer)   # (which arguments the leaves are)
        return sig

    def _inputs(self, args, sig):
        return args[1]

    def _record(self, args, sig, template, treedef):
        args, leaves = args
        return super()._record(leaves, sig, template, treedef,
                               call=self._caller(args, treedef))

    def _caller(self, args, treedef):
        """Call ``fun`` with the differentiated arguments made of the tracers."""
        single, nums = self.state.argnums_for[len(args)]
        fun = self.fun

        def call(tracers):
            diff = tree_unflatten(treedef, tracers) if treedef is not None else tracers
            call_args = list(args)
            for i, d in zip(nums, diff):
                call_args[i] = d
            return fun(*call_args)
        return call

    def _program(self, closed, sig, tree):
        """``value_and_grad`` of the recorded program, as a function of (constants,
        differentiated leaves); the gradients come out as a tuple."""
        jaxpr, n_consts = closed.jaxpr, len(closed.consts)

        def recorded(*values):
            return eval_jaxpr(jaxpr, values[:n_consts], *values[n_consts:])[0]

        recorded.__name__ = recorded.__qualname__ = self.name
        return interpreted_value_and_grad(
            recorded, tuple(range(n_consts, n_consts + len(jaxpr.invars))))


class StagedJacobian(StagedGrad):
    """The staged path of one ``jacfwd``/``jacrev``/``hessian(fun, argnums)`` with an
    int ``argnums`` whose argument is an array (not a pytree): ``fun`` is recorded as for
    a gradient, its output any pytree of arrays, and the program of a recording is the
    interpreted transformation (``interpreted(f, argnums)``, of ``fad.api_jacobians``)
    of it, whose results have the structure the user's call gives."""

    first_scalar = 1 << 62   # (Jacobians are arrays, 0-d ones too, as interpreted)

    def __init__(self, spec, interpreted):
        self.transform_key = ("jacobian", interpreted.__name__)
        super().__init__(spec)
        self.interpreted = interpreted
        self.never = (spec.has_aux or spec.holomorphic or type(spec.argnums) is not int)

    def try_call(self, args):
        checked = self.checked_argnums(len(args), self.interpreted.__name__)
        if checked is None:
            return NOT_STAGED
        nums = checked[1]
        sig, leaves, treedef = self._lookup(args, [args[i] for i in nums])
        if sig is None or treedef is not None:
            return NOT_STAGED
        return self((args, leaves), sig)

    record_call = None   # (inside a recording: interpreted, on the recording's tracers)

    def _tree_signature(self, args, leaves, treedef):
        return None   # (a pytree argument: interpreted)

    def _outputs(self, out):
        """The leaves of ``out``, any pytree of arrays, and its structure."""
        if isinstance(out, Tracer):
            return [out], _LEAF
        leaves, tree = tree_flatten(out)
        check_leaves(leaves, self.interpreted.__name__, OUTPUT)
        return leaves, tree

    def _program(self, closed, sig, tree):
        """The Jacobian (or Hessian) of the recorded program, as a function of
        (constants, the differentiated argument)."""
        jaxpr, n_consts = closed.jaxpr, len(closed.consts)

        def recorded(*values):
            return tree_unflatten(tree, eval_jaxpr(jaxpr, values[:n_consts],
                                                   *values[n_consts:]))

        recorded.__name__ = recorded.__qualname__ = self.name
        return self.interpreted(recorded, n_consts)


class _StagedAtPrimals(StagedJacobian):
    """A staged transformation called with the primals themselves (``jvp``, ``vjp``):
    every primal is differentiated, and each is a float array or scalar (not a pytree).
    Subclasses name ``transform_key`` and the ``interpreted`` transformation."""

    def __init__(self, fun):
        StagedGrad.__init__(self, GradSpec(fun, 0, False, False, False))
        self.never = False

    def _lookup_primals(self, primals):
        """The signature of a call at ``primals`` and their leaves, or ``(None, None)``."""
        self.state.argnums_for[len(primals)] = (False, tuple(range(len(primals))))
        sig, leaves, treedef = self._lookup(primals, list(primals))
        return (None, None) if sig is None or treedef is not None else (sig, leaves)


class StagedJvp(_StagedAtPrimals):
    """The staged path of ``jvp(fun, primals, tangents)`` called at the top level with
    primals that are float arrays or scalars (not pytrees) and tangents of their
    types: ``fun`` is recorded with the primals concrete, and the program of a recording
    is the interpreted ``jvp`` of it, a function of (constants, primals, tangents)."""

    probe_type = ForwardProbe
    transform_key = ("jvp",)
    interpreted = staticmethod(interpreted_jvp)

    def try_call(self, args):
        primals, tangents = args
        if (type(primals) is not tuple or type(tangents) is not tuple
                or len(primals) != len(tangents) or not primals):
            return NOT_STAGED
        sig, leaves = self._lookup_primals(primals)
        if sig is None:
            return NOT_STAGED
        for p, t in zip(leaves, tangents):   # (of the primals' types: else interpreted)
            if type(t) is not type(p) or (type(t) is np.ndarray and (
                    t.shape != p.shape or t.dtype != p.dtype or not t.dtype.isnative)):
                return NOT_STAGED
        return self((primals, leaves, tangents), sig)

    def _inputs(self, args, sig):
        return [*args[1], *args[2]]

    def _record(self, args, sig, template, treedef):
        return StagedGrad._record(self, args[:2], sig, template, treedef)

    def _program(self, closed, sig, tree):
        """``jvp`` of the recorded program: (constants, primals, tangents) -> the output
        and its tangent."""
        jaxpr, n_consts, n = closed.jaxpr, len(closed.consts), len(closed.jaxpr.invars)

        def program(*values):
            consts = values[:n_consts]

            def recorded(*primals):
                return tree_unflatten(tree, eval_jaxpr(jaxpr, consts, *primals))

            recorded.__name__ = recorded.__qualname__ = self.name
            return interpreted_jvp(recorded, values[n_consts:n_consts + n],
                                   values[n_consts + n:])
        return program


class StagedVjp(_StagedAtPrimals):
    """The staged path of ``vjp(fun, *primals)`` called at the top level with primals that
    are float arrays or scalars (not pytrees): ``fun`` is recorded with the primals
    concrete. Its program is two compiled programs: the forward one gives the output and
    the residuals of the linearization, the backward one the cotangents of the primals
    from the residuals and a cotangent of the output (``compile_vjp``); ``vjp_fn`` runs
    the backward one, as often as it is called."""

    transform_key = ("vjp",)
    interpreted = staticmethod(interpreted_vjp)

    def try_call(self, primals):
        sig, leaves = self._lookup_primals(primals) if primals else (None, None)
        if sig is None:
            return NOT_STAGED
        return self((primals, leaves), sig)

    def _program(self, closed, sig, tree):
        """``vjp`` of the recorded program, interpreted: (constants, primals) -> the
        output and ``vjp_fn``."""
        jaxpr, n_consts = closed.jaxpr, len(closed.consts)

        def program(*values):
            consts = values[:n_consts]

            def recorded(*primals):
                return tree_unflatten(tree, eval_jaxpr(jaxpr, consts, *primals))

            recorded.__name__ = recorded.__qualname__ = self.name
            return interpreted_vjp(recorded, *values[n_consts:])
        return program

    def _compile(self, closed, sig, tree, values):
        return compile_vjp(closed, tree, values)


def compile_vjp(closed, tree, values):
    """``vjp`` of the recording ``closed`` (output structure ``tree``) as two lowered
    programs for inputs like ``values`` (constants, then primals): forward, (constants,
    primals) -> (outputs, residuals), staged through the linearizing interpreter over
    abstract primals, so that the residuals are the forward program's values; backward,
    (residuals, cotangents of the outputs with a derivative) -> cotangents of the primals,
    the transpose of the linear program. The same operations as the interpreted ``vjp``."""
    jaxpr, n_consts, n_out = closed.jaxpr, len(closed.consts), len(closed.jaxpr.outvars)
    found = {}

    def forward(*vals):
        consts = vals[:n_consts]
        outs, _, lin = vjp_flat(lambda *ps: eval_jaxpr(jaxpr, consts, *ps),
                                list(vals[n_consts:]))
        found["lin"] = lin
        return [*outs, *lin.jaxpr.consts]

    fwd = trace_to_jaxpr(forward, [get_aval(v) for v in values])
    lin = found["lin"]
    res_avals = [get_aval(r) if not isinstance(r, Tracer) else r.aval
                 for r in lin.jaxpr.consts]
    ct_avals = [v.aval for v in lin.jaxpr.jaxpr.outvars]

    def backward(*vals):
        undefined = [UndefinedPrimal(a) for a in lin.in_tangent_avals]
        cts = backward_pass(lin.jaxpr.jaxpr, vals[:len(res_avals)], undefined,
                            list(vals[len(res_avals):]), all_linear=True)
        return [instantiate(c) for c in cts]

    bwd = trace_to_jaxpr(backward, [*res_avals, *ct_avals])
    run_fwd, run_bwd = lower(fwd).straight, lower(bwd).straight
    nonzero = lin.out_nonzero
    out_avals = [tangent_aval(v.aval) for v in jaxpr.outvars]

    def run(*vals):
        results = run_fwd(*vals)
        outs, residuals = results[:n_out], results[n_out:]

        def pullback(flat_cts):
            cts = flat_cts if all(nonzero) else [c for c, nz in zip(flat_cts, nonzero) if nz]
            if get_current_trace() is not eval_trace or any(isinstance(c, Tracer)
                                                             for c in cts):
                # (``vjp_fn`` itself transformed: jit, make_jaxpr, grad or vmap of it)
                return eval_jaxpr(bwd, (), *residuals, *cts)
            return run_bwd(*residuals, *cts)

        primals = list(vals[n_consts:])
        return tree_unflatten(tree, outs), vjp_function(
            pullback, tree_structure(tuple(primals)), tree, out_avals, primals)
    return run


_LEAF = tree_structure(0)


# (code object, argnums, transformation) -> State. Keyed by the function's code, not the
# function: ``grad(lambda x: ...)(x)`` written inline makes a new function at every step
# but runs the same code, and a template is only ever a guess that replay verifies.
# Code objects live as long as their module; the table is bounded all the same.
_states: dict = {}
_MAX_STATES = 1024


def state_for(spec, transform_key) -> State:
    fun = spec.fun
    while type(fun) is functools.partial:   # (``grad(partial(f, c))`` made at every step)
        fun = fun.func
    code = getattr(fun, "__code__", None)
    if code is None:   # (a callable object: its own state)
        return State()
    try:   # (argnums by type and value: 1.0 and True are not 1, and are refused)
        key = (code, value_key(spec.argnums), transform_key)
        state = _states.get(key)
    except (TypeError, Unkeyable):   # (unhashable argnums, a list of lists say)
        return State()
    if state is None:
        if len(_states) >= _MAX_STATES:
            _states.clear()
        state = _states[key] = State()
    return state
