"""Jacobians and Hessians, interpreted, built from ``vmap`` over ``jvp`` and ``vjp`` (no
Python loop over basis vectors). (The public ``fad.jacfwd`` & co. stage top-level calls:
``fad.api``.)"""
from __future__ import annotations

import functools
from typing import Callable

import numpy as np

from fad import lax
from fad.api_grad import vjp_flat, grad, jvp
from fad.api_util import (arg_paths, argnums_tuple, caller_leaves, check_callable, check_leaves,
                          flatten_fun, partial_args, split_aux)
from fad.api_vmap import vmap
from fad.core import dtypes
from fad.core.abstract import get_aval
from fad.core.ad_util import Zero, instantiate, tangent_aval
from fad.core.fresh import fresh_outputs
from fad.errors import GradInputError, TangentMismatchError
from fad.interpreters.jvp import jvp_flat
from fad.tree_util import tree_flatten, tree_unflatten

__all__ = ["jacfwd", "jacrev", "jacobian", "hessian", "hvp"]


# -- Jacobians ------------------------------------------------------------------------------
#
# Each Jacobian is built one leaf at a time: ``jacfwd`` maps ``jvp`` over the standard basis
# of one input leaf (the other tangents are symbolic zeros), ``jacrev`` maps the pullback over
# the standard basis of one output leaf. The blocks then only need reshaping, never slicing.

def _basis(aval):
    """The standard basis of the space of ``aval``: shape ``(aval.size, *aval.shape)``."""
    return np.eye(aval.size, dtype=aval.dtype).reshape((aval.size, *aval.shape))


def _zero_block(out_aval, in_aval):
    """The Jacobian block of a non-differentiable (integer or boolean) output."""
    dtype = in_aval.dtype if dtypes.is_inexact(in_aval.dtype) else np.float64
    return np.zeros((*out_aval.shape, *in_aval.shape), dtype)


def _is_float0_zero(t):
    return type(t) is Zero and t.aval.dtype == dtypes.float0


def _check_jac_input(x, fname, path, holomorphic, allow_int=False):
    dtype = get_aval(x).dtype
    if allow_int and not dtypes.is_inexact(dtype):
        return
    if holomorphic and not dtypes.is_complex(dtype):
        raise GradInputError(f"{fname} with holomorphic=True needs complex inputs, but {path} "
                        f"has dtype {dtype}; convert it with .astype(complex)")
    if dtypes.is_float(dtype) or (holomorphic and dtypes.is_complex(dtype)):
        return
    if dtypes.is_complex(dtype):
        raise GradInputError(f"{fname}: {path} is complex ({dtype}); pass holomorphic=True "
                        "for a holomorphic function, or split real and imaginary parts")
    raise GradInputError(f"{fname} needs floating-point inputs, but {path} has dtype {dtype}; "
                    "pass floats (e.g. 2.0 rather than 2, or x.astype(float))")


def _jac_setup(fun, argnums, args, kwargs, fname, has_aux, holomorphic, allow_int=False):
    """Flatten the differentiated arguments; ``(single, flat_fun, store, flat_dyn, in_tree)``."""
    single, nums = argnums_tuple(argnums, len(args), fname)
    partial_fun, dyn = partial_args(fun, args, kwargs, nums)
    flat_dyn, in_tree = tree_flatten(tuple(dyn))
    check_leaves(flat_dyn, fname, "the arguments")
    for x, path in zip(flat_dyn, arg_paths(nums, dyn)):
        _check_jac_input(x, fname, path, holomorphic, allow_int)
    flat_fun, store = flatten_fun(partial_fun, in_tree, has_aux, fname)
    return single, flat_fun, store, flat_dyn, in_tree


def _assemble(store, blocks, in_tree, single, aux, has_aux, inputs):
    """``blocks[k][j]``: the block of output leaf ``k`` and input leaf ``j``; none may
    share memory with the arrays ``inputs`` or with another block (``fresh_outputs``)."""
    fresh = iter(fresh_outputs([b for row in blocks for b in row], inputs))
    per_out = [tree_unflatten(in_tree, [next(fresh) for _ in row]) for row in blocks]
    result = tree_unflatten(store["tree"], [t[0] if single else t for t in per_out])
    return (result, aux) if has_aux else result


def jacfwd(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False):
    """The Jacobian by forward mode: ``vmap`` of ``jvp`` over the standard basis.

    For input leaf shape ``I`` and output leaf shape ``O`` the block has shape ``O + I``.

    >>> import fad, fad.numpy as fnp, numpy as np
    >>> fad.jacfwd(fnp.sin)(np.zeros(2))
    array([[1., 0.],
           [0., 1.]])
    """
    return _jacfwd(fun, argnums, has_aux, holomorphic, "jacfwd")


def _jacfwd(fun, argnums, has_aux, holomorphic, fname):
    """``jacfwd``, naming itself ``fname`` in errors (``hessian`` is a ``jacfwd``)."""
    check_callable(fun, fname)
    @functools.wraps(fun)
    def jac(*args, **kwargs):
        single, flat_fun, store, flat_dyn, in_tree = _jac_setup(
            fun, argnums, args, kwargs, fname, has_aux, holomorphic)
        in_avals = [get_aval(x) for x in flat_dyn]
        inputs = caller_leaves(args, kwargs)
        if not in_avals:
            outs, aux = split_aux(store, fresh_outputs(flat_fun(), inputs))
            return _assemble(store, [[] for _ in outs], in_tree, single, aux, has_aux, ())
        columns = []
        for j, a in enumerate(in_avals):
            def push(t, j=j, a=a):
                tangents = [t if i == j else Zero(tangent_aval(b)) for i, b in enumerate(in_avals)]
                outs, out_tangents = jvp_flat(flat_fun, flat_dyn, tangents)
                n = len(outs) - store["n_aux"]
                return outs, [np.zeros(np.shape(o), a.dtype) if _is_float0_zero(t)
                              else instantiate(t) for o, t in zip(outs[:n], out_tangents)]
            outs, tangents = vmap(push, out_axes=(None, -1))(_basis(a))
            columns.append([lax.reshape(t, (*np.shape(o), *a.shape))
                            for o, t in zip(outs, tangents)])
        all_outs = fresh_outputs(outs, inputs)   # (the aux leaves among them)
        outs, aux = split_aux(store, all_outs)
        blocks = [list(row) for row in zip(*columns)]
        return _assemble(store, blocks, in_tree, single, aux, has_aux, [*inputs, *all_outs])

    return jac


def jacrev(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False,
           allow_int: bool = False):
    """The Jacobian by reverse mode: ``vmap`` of the VJP over the standard basis of the
    output. Same layout as ``jacfwd``.

    >>> import fad, fad.numpy as fnp, numpy as np
    >>> fad.jacrev(fnp.sin)(np.zeros(2))
    array([[1., 0.],
           [0., 1.]])
    """
    check_callable(fun, "jacrev")
    @functools.wraps(fun)
    def jac(*args, **kwargs):
        single, flat_fun, store, flat_dyn, in_tree = _jac_setup(
            fun, argnums, args, kwargs, "jacrev", has_aux, holomorphic, allow_int)
        all_outs, pullback, _ = vjp_flat(flat_fun, flat_dyn)
        inputs = caller_leaves(args, kwargs)
        all_outs = fresh_outputs(all_outs, inputs)   # (the aux leaves among them)
        outs, aux = split_aux(store, all_outs)
        all_avals = [tangent_aval(get_aval(o)) for o in all_outs]
        in_avals = [get_aval(x) for x in flat_dyn]
        blocks = []
        for k, a in enumerate(all_avals[:len(outs)]):
            if a.dtype == dtypes.float0:
                blocks.append([_zero_block(a, b) for b in in_avals])
                continue

            def pull(c, k=k):
                cts = [c if i == k else Zero(b) for i, b in enumerate(all_avals)]
                return [instantiate(x) for x in pullback(cts)]
            cts = vmap(pull)(_basis(a)) if in_avals else []
            blocks.append([lax.reshape(ct, (*a.shape, *b.shape))
                           for ct, b in zip(cts, in_avals)])
        return _assemble(store, blocks, in_tree, single, aux, has_aux, [*inputs, *all_outs])

    return jac


jacobian = jacrev


def hessian(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False):
    """``jacfwd(jacrev(fun))``: for input shape ``I`` and scalar output, shape ``I + I``."""
    return _jacfwd(jacrev(fun, argnums, has_aux=has_aux, holomorphic=holomorphic), argnums,
                   has_aux, holomorphic, "hessian")


def hvp(fun: Callable, primals, tangents):
    """Hessian-vector product by forward-over-reverse: ``jvp(grad(fun), primals, tangents)[1]``.

    ``primals`` and ``tangents`` are tuples with one entry per argument; the result has the
    structure of the single argument, or is a tuple for several.

    >>> import fad, fad.numpy as fnp, numpy as np
    >>> fad.hvp(lambda x: fnp.sum(x ** 3), (np.array([1.0, 2.0]),), (np.array([1.0, 0.0]),))
    array([6., 0.])
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TangentMismatchError(
            "hvp: primals and tangents must be tuples (one entry per argument), got "
            f"{type(primals).__name__} and {type(tangents).__name__}")
    if len(primals) != len(tangents):
        raise TangentMismatchError(
            f"hvp: got {len(primals)} primal(s) but {len(tangents)} tangent(s); give one "
            "tangent per primal")
    argnums = 0 if len(primals) == 1 else tuple(range(len(primals)))
    return jvp(grad(fun, argnums=argnums), tuple(primals), tuple(tangents))[1]
