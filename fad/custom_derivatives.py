"""User-defined derivatives: ``custom_jvp`` and ``custom_vjp``, as in JAX.

>>> import fad, fad.numpy as fnp
>>> @fad.custom_jvp
... def f(x):
...     return fnp.sin(x)
>>> @f.defjvp
... def f_jvp(primals, tangents):
...     (x,), (t,) = primals, tangents
...     return f(x), 2.0 * t   # a deliberately "wrong" derivative
>>> fad.grad(f)(0.0)
np.float64(2.0)

Called with nothing traced, the function simply runs. Under a transformation the call
binds a primitive of ``fad.lax.control_flow.custom`` carrying the traced function and the
rules, traced on demand; see there for how each interpreter treats them.
"""
from __future__ import annotations

import functools
import inspect

import numpy as np

from fad.core.ad_util import tangent_aval, zeros_like_aval
from fad.core.ir import ClosedJaxpr, Jaxpr
from fad.core.trace import Tracer, eval_trace, get_current_trace
from fad.errors import CustomDerivativeError
from fad.interpreters.staging import trace_to_jaxpr
from fad.lax import plumbing
from fad.lax.control_flow.common import aval_of, lift_tracer_consts, trace_body
from fad.lax.control_flow.custom import (LazyJaxpr, PatternRule, custom_jvp_call_p,
                                         custom_vjp_call_p)
from fad.tree_util import tree_flatten, tree_leaves, tree_map, tree_structure, tree_unflatten

__all__ = ["custom_jvp", "custom_vjp", "SymbolicZero"]


class _CustomFunction:
    """What ``custom_jvp`` and ``custom_vjp`` share: the arguments split into the
    differentiable ones and the ``nondiff_argnums`` ones, the primal function traced."""

    kind = ""

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        nums = (nondiff_argnums,) if isinstance(nondiff_argnums, int) else nondiff_argnums
        self.nondiff_argnums = tuple(sorted(int(i) for i in nums))
        self._rules = {}   # (input structure, types, nondiff values) -> the lazy rules

    @property
    def _name(self):
        return getattr(self.fun, "__name__", repr(self.fun))

    def _positional(self, args, kwargs):
        if not kwargs:
            return args
        try:
            bound = inspect.signature(self.fun).bind(*args, **kwargs)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{self.kind} function {self._name}: {e}") from None
        return bound.args + tuple(bound.kwargs.values())

    def _split(self, args):
        n = len(args)
        for i in self.nondiff_argnums:
            if not -n <= i < n:
                raise ValueError(f"{self.kind} function {self._name}: nondiff_argnums entry "
                                 f"{i} is out of range for a call with {n} positional "
                                 "arguments")
        nondiff = {i % n for i in self.nondiff_argnums}
        static = tuple(args[i] for i in sorted(nondiff))
        dyn = tuple(a for i, a in enumerate(args) if i not in nondiff)
        return static, dyn, sorted(nondiff)

    @staticmethod
    def _merge(positions, static, dyn):
        out, s, d = [], iter(static), iter(dyn)
        for i in range(len(static) + len(dyn)):
            out.append(next(s) if i in positions else next(d))
        return out

    def _trace(self, args):
        """``(static, dyn, positions, leaves, in_tree, in_avals, body, out_tree, lifted,
        cache key)`` for a call with positional ``args``."""
        static, dyn, positions = self._split(args)
        leaves, in_tree = tree_flatten(dyn)
        in_avals = [aval_of(x) for x in leaves]
        body, out_tree = trace_body(
            lambda *d: self.fun(*self._merge(positions, static, d)), in_tree, in_avals,
            f"{self.kind} function {self._name}")
        (body,), lifted = lift_tracer_consts([body])
        key = None
        if not lifted and not any(isinstance(x, Tracer) for x in tree_leaves(static)):
            key = (in_tree, tuple(in_avals), tuple(positions), _static_key(static))
        return static, dyn, positions, leaves, in_tree, in_avals, body, out_tree, lifted, key

    def _cached_rules(self, key, make):
        if key is None:
            return make()
        rules = self._rules.get(key)
        if rules is None:
            rules = self._rules[key] = make()
        return rules


def _static_key(static):
    """A hashable stand-in for the nondiff arguments (values that are hashed as they
    are; arrays and other unhashable values make no key: no cached rules then)."""
    try:
        hash(static)
    except TypeError:
        return object()   # (never equal to another: nothing cached is found with it)
    return static


def _nothing_traced(leaves) -> bool:
    return get_current_trace() is eval_trace and not any(isinstance(x, Tracer) for x in leaves)


def _inputs_for_lifted(closed: ClosedJaxpr, lifted) -> ClosedJaxpr:
    """``closed``, whose first ``len(lifted)`` inputs stand for the tracers ``lifted``
    (and are unused), reading those inputs where it closes over one of them itself (a
    rule closing over what the function closes over): so that the rule reads the
    operands of the call rather than tracers that may be gone by the time it runs."""
    jaxpr = closed.jaxpr
    where = {id(x): i for i, x in enumerate(lifted)}
    invars, constvars, consts = list(jaxpr.invars), [], []
    for v, c in zip(jaxpr.constvars, closed.consts):
        i = where.get(id(c)) if isinstance(c, Tracer) else None
        if i is None:
            constvars.append(v)
            consts.append(c)
        else:
            invars[i] = v
    if len(consts) == len(closed.consts):
        return closed
    return ClosedJaxpr(Jaxpr(constvars, invars, jaxpr.outvars, jaxpr.eqns), consts)


def _conform(x, aval, what):
    """``x`` as a value of type ``aval`` (a weakly typed one converted), or raise."""
    xa = aval_of(x)
    if xa.shape != aval.shape:
        raise CustomDerivativeError(
            f"{what}: expected shape {aval.shape} and dtype {aval.dtype}, got shape "
            f"{xa.shape} and dtype {xa.dtype}")
    if xa.dtype != aval.dtype:
        if not xa.weak_type and not (xa.dtype.kind in "fc" and aval.dtype.kind in "fc"):
            raise CustomDerivativeError(
                f"{what}: expected dtype {aval.dtype} (shape {aval.shape}), got dtype "
                f"{xa.dtype}")
        x = plumbing.convert_element_type(x, aval.dtype)
    return x


def _leaves_of(value, tree, avals, what, tangents=False):
    """The leaves of ``value``, which must have structure ``tree`` and leaves of types
    ``avals`` (their tangent types if ``tangents``; those of integer values are
    float0 zeros whatever was given)."""
    got_tree = tree_structure(value)
    if got_tree != tree:
        raise CustomDerivativeError(
            f"{what}: expected a value of structure {tree}, got {got_tree}")
    out = []
    for i, (x, a) in enumerate(zip(tree_leaves(value), avals)):
        if tangents:
            a = tangent_aval(a)
            if a.dtype.kind not in "fc":
                out.append(zeros_like_aval(a))
                continue
        out.append(_conform(x, a, f"{what}, leaf {i}"))
    return out


class custom_jvp(_CustomFunction):
    """Like ``jax.custom_jvp``: ``fun`` with a JVP rule of its own (``defjvp``,
    ``defjvps``), used by forward mode and, linearized and transposed, by reverse mode
    (so the rule's tangent output must be linear in the tangents).

    ``nondiff_argnums`` arguments are passed to the rule first, and not differentiated.
    Tangents of inputs not differentiated reach the rule as zeros, or, with
    ``defjvp(rule, symbolic_zeros=True)``, as ``SymbolicZero`` objects the rule may test
    for (and return, for an output tangent known to be zero), so that it skips their work.
    Differentiating with respect to a value the function closes over raises a
    ``TypeError``: pass it as an argument.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> log1pexp = fad.custom_jvp(lambda x: fnp.log1p(fnp.exp(x)))
    >>> def rule(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return log1pexp(x), t / (1 + fnp.exp(-x))
    ...
    >>> _ = log1pexp.defjvp(rule)
    >>> fad.grad(log1pexp)(0.0), fad.jvp(log1pexp, (100.0,), (2.0,))
    (np.float64(0.5), (np.float64(100.0), np.float64(2.0)))
    """

    kind = "custom_jvp"

    def __init__(self, fun, nondiff_argnums=()):
        super().__init__(fun, nondiff_argnums)
        self.jvp = None
        self.symbolic_zeros = False

    def defjvp(self, jvp, symbolic_zeros: bool = False):
        """Set the rule ``jvp(*nondiff_args, primals, tangents) -> (primal_out,
        tangent_out)`` (``primals``, ``tangents``: tuples of the differentiable
        arguments and their tangents); returns ``jvp`` (usable as a decorator). With
        ``symbolic_zeros=True`` the tangents of inputs not differentiated are
        ``SymbolicZero`` objects (the rule is traced once per pattern of them), and the
        rule may return a ``SymbolicZero`` as a tangent.

        >>> import fad, fad.numpy as fnp
        >>> from fad.custom_derivatives import SymbolicZero
        >>> @fad.custom_jvp
        ... def f(x, y):
        ...     return x * y
        >>> def f_jvp(primals, tangents):
        ...     (x, y), (tx, ty) = primals, tangents
        ...     seen.append((type(tx).__name__, type(ty).__name__))
        ...     out = 0.0 if type(ty) is SymbolicZero else x * ty
        ...     return f(x, y), out if type(tx) is SymbolicZero else out + tx * y
        >>> _ = f.defjvp(f_jvp, symbolic_zeros=True)
        >>> seen = []
        >>> float(fad.grad(f)(2.0, 3.0)), seen[0][1]
        (3.0, 'SymbolicZero')
        """
        self.jvp = jvp
        self.symbolic_zeros = bool(symbolic_zeros)
        self._rules.clear()
        return jvp

    def defjvps(self, *jvps):
        """Set the rule from one function per argument, ``jvp_i(t_i, ans, *primals)``
        giving that argument's contribution to the output tangent (``None``: the
        argument is not differentiable); as ``jax.custom_jvp.defjvps``."""
        if self.nondiff_argnums:
            raise TypeError("Can't use custom_jvp.defjvps with nondiff_argnums: use defjvp")

        def jvp(primals, tangents):
            ans = self(*primals)
            total = None
            for fn, t in zip(jvps, tangents):
                if fn is None:
                    continue
                part = fn(t, ans, *primals)
                total = part if total is None else tree_map(lambda a, b: a + b, total, part)
            if total is None:
                total = tree_map(lambda a: zeros_like_aval(tangent_aval(aval_of(a))), ans)
            return ans, total

        self.defjvp(jvp)

    def __call__(self, *args, **kwargs):
        if self.jvp is None:
            raise AttributeError(f"No JVP defined for custom_jvp function {self._name} "
                                 "using defjvp.")
        args = self._positional(args, kwargs)
        if _nothing_traced(tree_leaves(args)):
            return self.fun(*args)
        static, _, _, leaves, in_tree, in_avals, body, out_tree, lifted, key = \
            self._trace(args)

        def make_rule():
            if self.symbolic_zeros:
                return PatternRule(lambda nonzero: self._trace_jvp_for(
                    static, in_tree, in_avals, body, out_tree, lifted, nonzero))
            return LazyJaxpr(lambda: _inputs_for_lifted(
                self._trace_jvp(static, in_tree, in_avals, body, out_tree, lifted), lifted))

        outs = custom_jvp_call_p.bind(*lifted, *leaves, call_jaxpr=body,
                                      jvp=self._cached_rules(key, make_rule),
                                      num_consts=len(lifted), name=self._name)
        return tree_unflatten(out_tree, outs)

    def _trace_jvp(self, static, in_tree, in_avals, body, out_tree, lifted):
        n, nc = len(in_avals), len(lifted)
        out_avals = body.out_avals
        what = f"the custom_jvp rule of {self._name}"

        def flat(*xs):
            primals = tree_unflatten(in_tree, xs[nc:nc + n])
            tangents = tree_unflatten(in_tree, xs[nc + n:])
            out = self.jvp(*static, primals, tangents)
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                raise CustomDerivativeError(
                    f"{what} must return a pair (primal_out, tangent_out), got "
                    f"{_kind_of(out)}")
            return [*_leaves_of(out[0], out_tree, out_avals, f"{what}: primal output"),
                    *_leaves_of(out[1], out_tree, out_avals, f"{what}: tangent output",
                                tangents=True)]

        return trace_to_jaxpr(flat, [*[aval_of(x) for x in lifted], *in_avals,
                                     *[tangent_aval(a) for a in in_avals]])

    def _trace_jvp_for(self, static, in_tree, in_avals, body, out_tree, lifted, nonzero):
        """The rule traced with ``SymbolicZero`` tangents where ``nonzero`` is False:
        ``(program of [consts, primals, the nonzero tangents] -> [outputs, the tangents
        the rule did not return as SymbolicZero], which those are)``."""
        n, nc = len(in_avals), len(lifted)
        out_avals = body.out_avals
        what = f"the custom_jvp rule of {self._name}"
        store = {}

        def flat(*xs):
            primals = tree_unflatten(in_tree, xs[nc:nc + n])
            given = iter(xs[nc + n:])
            tangents = tree_unflatten(in_tree, [next(given) if nz else
                                                SymbolicZero(tangent_aval(a))
                                                for nz, a in zip(nonzero, in_avals)])
            out = self.jvp(*static, primals, tangents)
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                raise CustomDerivativeError(
                    f"{what} must return a pair (primal_out, tangent_out), got "
                    f"{_kind_of(out)}")
            t_leaves, t_tree = tree_flatten(out[1], is_leaf=_is_symbolic_zero)
            if t_tree == out_tree:
                store["out_nonzero"] = tuple(type(t) is not SymbolicZero for t in t_leaves)
                instantiated = tree_unflatten(t_tree, [
                    zeros_like_aval(t.aval) if type(t) is SymbolicZero else t
                    for t in t_leaves])
            else:   # (the structure error below names it)
                store["out_nonzero"], instantiated = (True,) * len(out_avals), out[1]
            tangents_out = _leaves_of(instantiated, out_tree, out_avals,
                                      f"{what}: tangent output", tangents=True)
            return [*_leaves_of(out[0], out_tree, out_avals, f"{what}: primal output"),
                    *[t for t, nz in zip(tangents_out, store["out_nonzero"]) if nz]]

        closed = trace_to_jaxpr(flat, [*[aval_of(x) for x in lifted], *in_avals,
                                       *[tangent_aval(a) for a, nz in zip(in_avals, nonzero)
                                         if nz]])
        return _inputs_for_lifted(closed, lifted), store["out_nonzero"]


class SymbolicZero:
    """The tangent of an input not being differentiated, as a ``custom_jvp`` rule defined
    with ``symbolic_zeros=True`` sees it (and may return it): an array of zeros of type
    ``aval`` that is never built. Test for it with ``type(t) is SymbolicZero``; it has no
    arithmetic (make ``fad.numpy.zeros(t.shape, t.dtype)`` if you need the array).

    >>> import numpy as np, fad
    >>> from fad.custom_derivatives import SymbolicZero
    >>> f = fad.custom_jvp(lambda x, y: x * y)
    >>> def f_jvp(primals, tangents):
    ...     (x, y), (tx, ty) = primals, tangents
    ...     print(type(ty) is SymbolicZero)
    ...     return x * y, tx * y if type(ty) is SymbolicZero else tx * y + x * ty
    ...
    >>> _ = f.defjvp(f_jvp, symbolic_zeros=True)
    >>> fad.grad(f)(2.0, 3.0)
    True
    np.float64(3.0)
    """

    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval

    @property
    def shape(self):
        return self.aval.shape

    @property
    def dtype(self):
        return self.aval.dtype

    def __repr__(self):
        return f"SymbolicZero({self.aval.str_short()})"


def _is_symbolic_zero(x) -> bool:
    return type(x) is SymbolicZero


class custom_vjp(_CustomFunction):
    """Like ``jax.custom_vjp``: ``fun`` with a reverse-mode rule of its own, given by
    ``defvjp(fwd, bwd)``. Forward mode (``jvp``, ``jacfwd``, ``hessian``) raises a
    ``TypeError``, as in JAX.

    ``fwd`` takes the arguments of ``fun``; ``bwd(*nondiff_args, residuals, ct)``
    returns a tuple with one cotangent (a pytree like the argument, or ``None`` for
    zeros) per differentiable argument.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> clip_gradient = fad.custom_vjp(lambda x: x)
    >>> clip_gradient.defvjp(lambda x: (x, None), lambda res, ct: (fnp.clip(ct, -1.0, 1.0),))
    >>> fad.grad(lambda x: 5.0 * clip_gradient(x))(2.0)
    np.float64(1.0)
    """

    kind = "custom_vjp"

    def __init__(self, fun, nondiff_argnums=()):
        super().__init__(fun, nondiff_argnums)
        self.fwd = self.bwd = None

    def defvjp(self, fwd, bwd):
        """Set ``fwd(*args) -> (out, residuals)`` and ``bwd(*nondiff_args, residuals,
        ct_out) -> tuple of cotangents``."""
        self.fwd, self.bwd = fwd, bwd
        self._rules.clear()

    def __call__(self, *args, **kwargs):
        if self.fwd is None:
            raise AttributeError(f"No VJP defined for custom_vjp function {self._name} "
                                 "using defvjp.")
        args = self._positional(args, kwargs)
        if _nothing_traced(tree_leaves(args)):
            return self.fun(*args)
        traced = self._trace(args)
        leaves, body, out_tree, lifted, key = (traced[3], traced[6], traced[7], traced[8],
                                               traced[9])
        fwd, bwd = self._cached_rules(key, lambda: self._lazy_rules(traced))
        outs = custom_vjp_call_p.bind(*lifted, *leaves, call_jaxpr=body, fwd=fwd, bwd=bwd,
                                      num_consts=len(lifted), name=self._name)
        return tree_unflatten(out_tree, outs)

    def _lazy_rules(self, traced):
        static, dyn, positions, _, in_tree, in_avals, body, out_tree, lifted, _ = traced
        nc = len(lifted)
        out_avals = body.out_avals
        store = {}
        what = f"the custom_vjp rules of {self._name}"

        def fwd_flat(*xs):
            dyn_args = tree_unflatten(in_tree, xs[nc:])
            out = self.fwd(*self._merge(positions, static, dyn_args))
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                raise CustomDerivativeError(
                    f"{what}: fwd must return a pair (output, residuals), got "
                    f"{_kind_of(out)}")
            res_leaves, store["res_tree"] = tree_flatten(out[1])
            return [*_leaves_of(out[0], out_tree, out_avals, f"{what}: fwd's output"),
                    *res_leaves]

        const_avals = [aval_of(x) for x in lifted]
        fwd = LazyJaxpr(lambda: _inputs_for_lifted(
            trace_to_jaxpr(fwd_flat, [*const_avals, *in_avals]), lifted))

        def make_bwd():
            res_avals = fwd.get().out_avals[len(out_avals):]
            nr = len(res_avals)

            def bwd_flat(*xs):
                res = tree_unflatten(store["res_tree"], xs[nc:nc + nr])
                ct = tree_unflatten(out_tree, xs[nc + nr:])
                return _bwd_leaves(self.bwd(*static, res, ct), dyn, in_tree, in_avals,
                                   f"{what}: bwd")

            closed = trace_to_jaxpr(bwd_flat, [*const_avals, *res_avals,
                                               *[tangent_aval(a) for a in out_avals]])
            return _inputs_for_lifted(closed, lifted)

        return fwd, LazyJaxpr(make_bwd)


def _bwd_leaves(cts, dyn, in_tree, in_avals, what):
    """The cotangents ``bwd`` returned as flat leaves of the tangent types of the
    differentiable arguments ``dyn``: a tuple with one entry per argument, ``None`` for
    zeros (also for a subtree)."""
    want = ", ".join(str(tree_structure(a)) for a in dyn)
    if not isinstance(cts, (tuple, list)) or len(cts) != len(dyn):
        got = (f"a {type(cts).__name__} of length {len(cts)}"
               if isinstance(cts, (tuple, list)) else _kind_of(cts))
        raise CustomDerivativeError(
            f"{what} must return a tuple with one cotangent per differentiable argument, "
            f"{len(dyn)} of structures ({want}); got {got}. Return (ct,) rather than ct "
            "for a function of one argument")
    avals = iter(in_avals)
    out = []
    for i, (arg, ct) in enumerate(zip(dyn, cts)):
        arg_avals = [next(avals) for _ in tree_leaves(arg)]
        if ct is None:
            out.extend(zeros_like_aval(tangent_aval(a)) for a in arg_avals)
            continue
        ct = _none_as_zeros(ct, arg_avals)
        shapes = ", ".join(str(a.shape) for a in arg_avals)
        out.extend(_leaves_of(ct, tree_structure(arg), arg_avals,
                              f"{what}: cotangent {i} (expected shapes {shapes})",
                              tangents=True))
    return out



def _kind_of(x) -> str:
    """What ``x``, returned by a rule, is, in the user's words (a traced value is an
    array; its class is fad's business)."""
    if isinstance(x, (Tracer, np.ndarray)):
        return f"a single array ({aval_of(x).str_short()})"
    return type(x).__name__


def _none_as_zeros(ct, avals):
    """``ct`` with ``None`` in place of a leaf (a zero cotangent, as JAX allows) made
    zeros of that leaf's tangent type, where the leaves line up with ``avals``."""
    leaves, tree = tree_flatten(ct, is_leaf=lambda c: c is None)
    if not any(c is None for c in leaves) or len(leaves) != len(avals):
        return ct
    return tree_unflatten(tree, [zeros_like_aval(tangent_aval(a)) if c is None else c
                                 for c, a in zip(leaves, avals)])
