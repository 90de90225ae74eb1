"""Forward and reverse mode, interpreted: ``jvp``, ``linearize``, ``vjp``, ``grad``,
``value_and_grad``, ``linear_transpose``, and ``make_jaxpr``; pytrees, argnums, checks
and errors around the flat interpreters in ``fad.interpreters``.

Every call here runs the function through the interpreters operation by operation. The
public ``fad.grad`` / ``fad.value_and_grad`` (``fad.api``) stage top-level calls instead
where they can (``fad.staged``) and fall back on these.
"""
from __future__ import annotations

import functools
from typing import Callable

import numpy as np

from fad import lax
from fad.api_jit import infer_static_args
from fad.api_util import (SCALAR_TREE, all_float_leaves, arg_paths, caller_leaves,
                          check_callable, check_grad_input, check_grad_output, check_leaves,
                          conform, flatten_fun, fresh_groups, not_one_output, partial_args,
                          argnums_tuple, scalar_if_0d, split_aux, tuple_of_leaves)
from fad.core import dtypes
from fad.core.abstract import _SCALAR_AVALS, get_aval
from fad.core.ad_util import Zero, instantiate, tangent_aval
from fad.core.fresh import fresh_outputs
from fad.errors import TangentMismatchError
from fad.interpreters.eval import eval_jaxpr_checked as eval_jaxpr   # (inputs checked)
from fad.interpreters.jvp import jvp_flat
from fad.interpreters.partial_eval import linearize_flat
from fad.interpreters.staging import trace_to_jaxpr
from fad.interpreters.transpose import UndefinedPrimal, backward_pass
from fad.tree_util import tree_flatten, tree_map, tree_unflatten

__all__ = ["jvp", "linearize", "vjp", "grad", "value_and_grad", "linear_transpose",
           "make_jaxpr", "eval_jaxpr", "stop_gradient"]


# -- forward mode ---------------------------------------------------------------------------

def jvp(fun: Callable, primals, tangents, has_aux: bool = False):
    """Forward-mode derivative: ``(fun(*primals), J @ tangents)``.

    >>> import fad, fad.numpy as fnp
    >>> fad.jvp(fnp.sin, (0.0,), (2.0,))
    (np.float64(0.0), np.float64(2.0))
    """
    check_callable(fun, "jvp")
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TangentMismatchError(
            "jvp: primals and tangents must be tuples (one entry per argument), got "
            f"{type(primals).__name__} and {type(tangents).__name__}; write "
            "fad.jvp(f, (x,), (v,)) for one argument")
    flat_primals, in_tree = tree_flatten(tuple(primals))
    flat_tangents, tangent_tree = tree_flatten(tuple(tangents))
    if in_tree != tangent_tree:
        raise TangentMismatchError(
            f"jvp: primals and tangents must have the same structure (one tangent per "
            f"primal leaf), got primals {in_tree} and tangents {tangent_tree}")
    check_leaves(flat_primals, "jvp", "primals")
    check_leaves(flat_tangents, "jvp", "tangents")
    user_leaves = [*flat_primals, *flat_tangents]
    flat_tangents = conform("jvp", "tangent", flat_tangents,
                             [tangent_aval(get_aval(p)) for p in flat_primals])
    flat_fun, store = flatten_fun(fun, in_tree, has_aux, "jvp")
    all_outs, out_tangents = jvp_flat(flat_fun, flat_primals, flat_tangents)
    n_main = len(all_outs) - store["n_aux"]
    all_outs, out_tangents = fresh_groups(
        user_leaves, all_outs, [instantiate(t) for t in out_tangents[:n_main]])
    outs, aux = split_aux(store, all_outs)
    out_tree = store["tree"]
    result = (tree_unflatten(out_tree, outs), tree_unflatten(out_tree, out_tangents))
    return (*result, aux) if has_aux else result


def linearize(fun: Callable, *primals, has_aux: bool = False):
    """``(fun(*primals), f_jvp)``: ``f_jvp(*tangents)`` evaluates the linear map recorded
    once, without running ``fun`` again. With ``has_aux``, ``(out, f_jvp, aux)``.

    >>> import fad, fad.numpy as fnp
    >>> y, f_jvp = fad.linearize(fnp.sin, 0.0)
    >>> f_jvp(3.0)
    np.float64(3.0)
    """
    check_callable(fun, "linearize")
    flat_primals, in_tree = tree_flatten(primals)
    check_leaves(flat_primals, "linearize", "primals")
    flat_fun, store = flatten_fun(fun, in_tree, has_aux, "linearize")
    outs, lin = linearize_flat(flat_fun, flat_primals)
    outs, aux = split_aux(store, fresh_outputs(outs, flat_primals))
    out_tree = store["tree"]

    def f_jvp(*tangents):
        flat_t, t_tree = tree_flatten(tangents)
        if t_tree != in_tree:
            raise TangentMismatchError(
                f"linearize: the linear map takes tangents of the primals' structure "
                f"{in_tree}, got {t_tree}")
        check_leaves(flat_t, "linearize", "the tangents")
        user_leaves = [*flat_t, *flat_primals]
        flat_t = conform("linearize", "tangent", flat_t, lin.in_tangent_avals)
        out_t = [instantiate(t) for t in lin(*flat_t)[:len(outs)]]
        return tree_unflatten(out_tree, fresh_outputs(out_t, user_leaves))

    f_jvp.jaxpr = lin.jaxpr
    result = tree_unflatten(out_tree, outs), f_jvp
    return (*result, aux) if has_aux else result


# -- reverse mode ---------------------------------------------------------------------------

def vjp_flat(flat_fun, flat_primals, differentiable=None):
    outs, lin = linearize_flat(flat_fun, flat_primals, differentiable, dce=False)

    def pullback(flat_cts):
        nonzero = lin.out_nonzero
        cts = flat_cts if all(nonzero) else [ct for ct, nz in zip(flat_cts, nonzero) if nz]
        jaxpr = lin.jaxpr
        args = []
        for a in lin.in_tangent_avals:   # (a loop, not a comprehension: runs per grad call)
            args.append(UndefinedPrimal(a))
        return backward_pass(jaxpr.jaxpr, jaxpr.consts, args, cts, all_linear=True)

    return outs, pullback, lin


def vjp(fun: Callable, *primals, has_aux: bool = False):
    """Reverse mode: ``(fun(*primals), vjp_fn)`` with ``vjp_fn(ct)`` returning a tuple
    holding the cotangent of each primal (linearize, then transpose).

    >>> import fad, fad.numpy as fnp
    >>> y, f_vjp = fad.vjp(fnp.sin, 0.0)
    >>> f_vjp(1.0)
    (np.float64(1.0),)
    """
    check_callable(fun, "vjp")
    flat_primals, in_tree = tree_flatten(primals)
    check_leaves(flat_primals, "vjp", "primals")
    flat_fun, store = flatten_fun(fun, in_tree, has_aux, "vjp")
    outs, pullback, lin = vjp_flat(flat_fun, flat_primals)
    outs, aux = split_aux(store, fresh_outputs(outs, flat_primals))
    out_tree = store["tree"]
    out_avals = [tangent_aval(get_aval(o)) for o in outs]
    result = tree_unflatten(out_tree, outs), vjp_function(pullback, in_tree, out_tree,
                                                          out_avals, flat_primals)
    return (*result, aux) if has_aux else result


def vjp_function(pullback, in_tree, out_tree, out_avals, flat_primals):
    """The ``vjp_fn`` that ``vjp`` returns: checks a cotangent of the output's structure
    and types (``out_avals``), runs ``pullback`` (flat cotangents in, flat cotangents of
    the primals out) and gives them the primals' structure ``in_tree``, fresh."""
    def vjp_fn(cotangent):
        flat_cts, ct_tree = tree_flatten(cotangent)
        if ct_tree != out_tree:
            raise TangentMismatchError(
                f"vjp: the cotangent must have the structure of the output, {out_tree}, "
                f"got {ct_tree}")
        check_leaves(flat_cts, "vjp", "the cotangents")
        cts_in = pullback(conform("vjp", "cotangent", flat_cts, out_avals))
        return tree_unflatten(in_tree, fresh_outputs([instantiate(c) for c in cts_in],
                                                     [*flat_cts, *flat_primals]))
    return vjp_fn


def value_and_grad(fun: Callable, argnums=0, has_aux: bool = False,
                   holomorphic: bool = False, allow_int: bool = False):
    """``fad.value_and_grad``, interpreted: every call runs ``fun`` through linearization
    and transposition, operation by operation (``fad.api`` stages top-level calls).

    >>> from fad import api_grad
    >>> api_grad.value_and_grad(lambda x: x ** 3)(2.0)
    (np.float64(8.0), np.float64(12.0))
    """
    check_callable(fun, "grad")
    name = getattr(fun, "__name__", "function")

    # number of positional arguments -> (single, argnums normalised, whether those are
    # all the arguments in order)
    argnums_for = {}

    @functools.wraps(fun)
    def value_and_grad_f(*args, **kwargs):
        checked = argnums_for.get(len(args))
        if checked is None:
            single, nums = argnums_tuple(argnums, len(args), "grad")
            checked = argnums_for[len(args)] = single, nums, nums == tuple(range(len(args)))
        single, nums, every = checked
        if every and not kwargs:   # nothing to fix: ``fun`` is its own partial function
            partial_fun, dyn = fun, args
        else:
            partial_fun, dyn = partial_args(fun, args, kwargs, nums)
        if not holomorphic and all_float_leaves(dyn):
            # The common case (float arrays and scalars): no pytree to walk, no checks.
            flat_dyn, in_tree = dyn, tuple_of_leaves(len(dyn))
            differentiable = None
            args_are_leaves = True
        else:
            flat_dyn, in_tree = tree_flatten(tuple(dyn))
            check_leaves(flat_dyn, "grad", "the arguments")
            differentiable = [check_grad_input(x, "grad", lambda i=i: arg_paths(nums, dyn)[i],
                                                allow_int, holomorphic)
                              for i, x in enumerate(flat_dyn)]
            args_are_leaves = None
        flat_fun, store = flatten_fun(partial_fun, in_tree, has_aux, "grad", args_are_leaves)
        all_outs, pullback, _ = vjp_flat(flat_fun, flat_dyn, differentiable)
        outs = split_aux(store, all_outs)[0] if has_aux else all_outs
        tree = store["tree"]
        if len(outs) != 1 or (tree is not SCALAR_TREE and tree != SCALAR_TREE):
            raise not_one_output(name, tree_unflatten(store["tree"], outs))
        out = outs[0]
        aval = _SCALAR_AVALS.get(type(out)) or get_aval(out)   # (get_aval's first case)
        kind = aval.dtype.kind
        if aval.shape or kind != "f" or holomorphic:
            check_grad_output(name, aval, holomorphic)
        cts = pullback([aval.dtype.type(1)])
        if differentiable is None:
            grads = []
            for c in cts:   # (a loop, not a comprehension: this runs on every call)
                if type(c) is Zero:
                    c = instantiate(c)
                grads.append(scalar_if_0d(c))
        else:
            grads = [scalar_if_0d(instantiate(c)) if d
                     else np.zeros(get_aval(x).shape, dtypes.float0)
                     for c, d, x in zip(cts, differentiable, flat_dyn)]
        # (the value and aux leaves first, then the gradients, all fresh: the gradient of
        # ``w * x`` is ``x`` itself, ``a + b`` gives both operands one cotangent)
        all_outs, grads = fresh_groups(caller_leaves(args, kwargs), all_outs, grads)
        if single:
            g = grads[0] if in_tree is tuple_of_leaves(1) else tree_unflatten(in_tree, grads)[0]
        else:
            g = tuple(grads) if in_tree is tuple_of_leaves(len(grads)) else tree_unflatten(
                in_tree, grads)
        value = (all_outs[0], split_aux(store, all_outs)[1]) if has_aux else all_outs[0]
        return value, g

    return value_and_grad_f


def grad(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False,
         allow_int: bool = False):
    """``fad.grad``, interpreted (see ``value_and_grad``).

    >>> from fad import api_grad
    >>> api_grad.grad(lambda x: x ** 4 + 3 * x ** 2 + 2 * x)(2.0)
    np.float64(46.0)
    """
    vg = value_and_grad(fun, argnums, has_aux, holomorphic, allow_int)

    @functools.wraps(fun)
    def grad_f(*args, **kwargs):
        (value, g) = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return grad_f


def linear_transpose(fun: Callable, *primals):
    """The transpose of the linear function ``fun`` (at arguments shaped like ``primals``).

    >>> import fad, numpy as np
    >>> t = fad.linear_transpose(lambda x: 2 * x, 1.0)
    >>> t(1.0)
    (np.float64(2.0),)
    """
    check_callable(fun, "linear_transpose")
    flat_primals, in_tree = tree_flatten(primals)
    check_leaves(flat_primals, "linear_transpose", "primals")
    in_avals = [get_aval(p).strip_weak_type() for p in flat_primals]
    flat_fun, store = flatten_fun(fun, in_tree, False, "linear_transpose")
    closed = trace_to_jaxpr(flat_fun, in_avals)
    out_tree = store["tree"]
    out_avals = [v.aval for v in closed.jaxpr.outvars]

    def transposed(*cotangent):
        ct = cotangent[0] if len(cotangent) == 1 else cotangent
        flat_cts, ct_tree = tree_flatten(ct)
        if ct_tree != out_tree:
            raise TangentMismatchError(
                f"linear_transpose: cotangent structure {ct_tree} does not match the "
                f"output structure {out_tree}")
        check_leaves(flat_cts, "linear_transpose", "the cotangents")
        user_cts = flat_cts
        flat_cts = conform("linear_transpose", "cotangent", flat_cts, out_avals)
        cts = backward_pass(closed.jaxpr, closed.consts,
                            [UndefinedPrimal(a) for a in in_avals], flat_cts)
        return tree_unflatten(in_tree, fresh_outputs([instantiate(c) for c in cts], user_cts))

    return transposed


def stop_gradient(x):
    """The identity, with a zero derivative (applied to every leaf of a pytree).

    >>> import numpy as np, fad
    >>> fad.grad(lambda x: x * fad.stop_gradient(x))(3.0)
    np.float64(3.0)
    >>> fad.grad(lambda p: fad.stop_gradient(p)['a'] + p['b'])({'a': 1.0, 'b': 2.0})
    {'a': np.float64(0.0), 'b': np.float64(1.0)}
    """
    return tree_map(lax.stop_gradient, x)


# -- staging --------------------------------------------------------------------------------

def make_jaxpr(fun: Callable, static_argnums=()):
    """A function returning the traced program (a ``ClosedJaxpr``) of ``fun`` at the
    shapes and dtypes of its arguments.

    >>> import fad, fad.numpy as fnp
    >>> import numpy as np
    >>> print(fad.make_jaxpr(lambda x: fnp.sin(x) * 2.0)(np.float64(1.0)))
    { lambda ; a:f64[]. let
        b:f64[] = sin a
        c:f64[] = mul b 2.0:f64[]
      in (c,) }
    """
    check_callable(fun, "make_jaxpr")
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    static = infer_static_args(fun, static, (), "make_jaxpr")[0]   # (checked, as by jit)

    @functools.wraps(fun)
    def make(*args, **kwargs):
        dyn_nums = tuple(i for i in range(len(args)) if i not in static)
        partial_fun, dyn = partial_args(fun, args, kwargs, dyn_nums)
        flat, in_tree = tree_flatten(tuple(dyn))
        check_leaves(flat, "make_jaxpr", "the arguments")
        flat_fun, store = flatten_fun(partial_fun, in_tree, False, "make_jaxpr")
        return trace_to_jaxpr(flat_fun, [get_aval(x) for x in flat])

    return make
