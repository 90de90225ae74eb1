"""Helpers the API modules share: flattening functions and arguments, ``argnums``,
checks of inputs and outputs with the errors they raise, and fresh results.

The lowest of the API modules: ``api_grad`` (forward and reverse mode, interpreted),
``api_vmap``, ``api_jacobians``, the staged layer ``fad.staged`` and the public front
``fad.api`` all import it, and it imports none of them.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple

import numpy as np

from fad import lax, tree_util
from fad.core import dtypes
from fad.core.abstract import _SCALAR_AVALS, get_aval
from fad.core.ad_util import Zero
from fad.core.trace import Tracer, eval_trace, get_current_trace
from fad.core.fresh import fresh_outputs
from fad.errors import (ArgnumsError, GradInputError, GradOutputError, NotAnArrayError,
                        TangentMismatchError)
from fad.tree_util import tree_flatten, tree_structure, tree_unflatten

# -- flattening ------------------------------------------------------------------------------

def check_leaves(leaves, fname: str, what: str):
    for x in leaves:
        if not is_array_leaf(x):
            found = (f"{fname}: {what} hold{'s' if what == OUTPUT else ''} a value of type "
                     f"{type(x).__name__} ({x!r:.60}), which is not an array.")
            if what == OUTPUT:   # (advice about the function's return value, not its inputs)
                raise NotAnArrayError(f"{found} The function must return NumPy arrays or Python "
                                "scalars (in tuples, lists, dicts or registered pytrees); "
                                "return other values as auxiliary data with has_aux=True "
                                "where the transformation takes it (grad, jvp, vjp, "
                                "linearize).")
            raise NotAnArrayError(f"{found} Pass NumPy arrays or Python scalars (in tuples, "
                                  "lists, dicts or registered pytrees), "
                                  f"{_NON_ARRAY_ARGUMENT.get(fname, _STATIC_ARGUMENT)}.")


OUTPUT = "the function's output"
# What to do with an argument that is not an array, by transformation.
_STATIC_ARGUMENT = "or mark the argument static (static_argnums)"
_NOT_DIFFERENTIATED = ("or leave the argument out of argnums (only the differentiated "
                       "arguments must be arrays)")
_NON_ARRAY_ARGUMENT = {
    "grad": _NOT_DIFFERENTIATED, "jacfwd": _NOT_DIFFERENTIATED,
    "jacrev": _NOT_DIFFERENTIATED, "hessian": _NOT_DIFFERENTIATED,
    "vmap": "or pass it as a keyword argument (vmap passes those unmapped)",
    "jvp": "or close over it: fad.jvp(lambda x: f(x, other), (x,), (v,))",
    "vjp": "or close over it: fad.vjp(lambda x: f(x, other), x)",
    "linearize": "or close over it: fad.linearize(lambda x: f(x, other), x)",
}


def conform(fname, what, values, avals):
    """Check user-given (co)tangents against the types ``avals`` they must have.

    Shapes must match and dtypes too, except that Python scalars are converted; entries
    whose type is ``float0`` (tangents of integer values) become symbolic zeros."""
    out = []
    for i, (v, want) in enumerate(zip(values, avals)):
        have = get_aval(v)
        if have.shape != want.shape:
            raise TangentMismatchError(
                f"{fname}: {what} {i} has shape {have.shape}, but it must have shape "
                f"{want.shape} (the shape of the value it belongs to)")
        if want.dtype == dtypes.float0:
            v = Zero(want)
        elif have.dtype != want.dtype and not (
                have.weak_type and np.can_cast(have.dtype, want.dtype, "same_kind")):
            raise TangentMismatchError(
                f"{fname}: {what} {i} has dtype {have.dtype}, but it must have dtype "
                f"{want.dtype} (that of the value it belongs to); convert it with "
                f".astype({want.dtype})")
        elif isinstance(v, (bool, int, float, complex)):   # a Python scalar: make it typed
            v = np.asarray(v, want.dtype)[()]
        elif have.dtype != want.dtype:
            v = lax.convert_element_type(v, want.dtype)
        out.append(v)
    return out


def is_array_leaf(x):
    if isinstance(x, (np.ndarray, np.generic, Tracer, bool, int, float, complex)):
        return True
    try:
        get_aval(x)
    except TypeError:
        return False
    return True


def flatten_fun(fun, in_tree, has_aux=False, fname="function", args_are_leaves=None):
    """Wrap ``fun`` to take and return flat lists; ``store`` receives the output tree.

    With ``has_aux`` the auxiliary array leaves are appended to the outputs, so that the
    transformation unpacks them like outputs (no tracer escapes through them); other aux
    leaves (strings, ...) are kept aside unchanged. ``split_aux`` puts them back.
    ``args_are_leaves``: whether ``in_tree`` is a tuple of leaves, if the caller knows."""
    store = {"n_aux": 0}
    user_fun = fun.func if isinstance(fun, functools.partial) else fun
    origin = (fname, getattr(user_fun, "__wrapped__", user_fun))   # (for error messages)
    if args_are_leaves is None:
        args_are_leaves = in_tree is tuple_of_leaves(in_tree.num_leaves) or (
            in_tree == tuple_of_leaves(in_tree.num_leaves))

    def flat_fun(*flat_args):
        trace = get_current_trace()
        if trace is not eval_trace:
            trace.origin = origin   # (what an escaped value's error names)
        out = fun(*(flat_args if args_are_leaves else tree_unflatten(in_tree, flat_args)))
        if not has_aux and (type(out) in LEAF_TYPES or isinstance(out, Tracer)):
            store["tree"] = SCALAR_TREE   # one array out: the common case, fast
            return [out]
        aux_leaves = []
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise GradOutputError(
                    f"{fname} with has_aux=True needs the function to return a pair "
                    f"(output, auxiliary data), got {value_summary(out)}; return "
                    "(output, aux), e.g. (loss, {'accuracy': acc})")
            out, aux = out
            all_aux, store["aux_tree"] = tree_flatten(aux)
            store["aux_static"] = [None if is_array_leaf(x) else x for x in all_aux]
            aux_leaves = [x for x in all_aux if is_array_leaf(x)]
            store["n_aux"] = len(aux_leaves)
        leaves, store["tree"] = tree_flatten(out)
        check_leaves(leaves, fname, OUTPUT)
        return leaves + aux_leaves

    return flat_fun, store


# Types that are array leaves for sure (the fast paths below skip the general checks).
LEAF_TYPES = dtypes.INEXACT_SCALAR_TYPES | {np.ndarray, float}
FLOAT_TYPES = frozenset({float, np.float16, np.float32, np.float64, np.longdouble})


@functools.lru_cache(maxsize=64)
def tuple_of_leaves(n):
    """The treedef of a tuple of ``n`` leaves."""
    return tree_structure((0,) * n)


def split_aux(store, outs):
    """``(main_outputs, aux_value_or_None)`` from the flat outputs of a ``flatten_fun``."""
    n = store["n_aux"]
    if "aux_tree" not in store:
        return outs, None
    main, aux = (outs[:-n], outs[-n:]) if n else (outs, [])
    arrays = iter(aux)
    leaves = [next(arrays) if x is None else x for x in store["aux_static"]]
    return main, tree_unflatten(store["aux_tree"], leaves)


def check_callable(fun, fname):
    if not callable(fun):
        raise TypeError(f"{fname} expects a callable (the function to transform) as its "
                        f"first argument, got {type(fun).__name__} ({fun!r:.60})")


def argnums_tuple(argnums, nargs, fname):
    """``(single, argnums as a tuple of non-negative ints)`` for a call with ``nargs``
    positional arguments, or an ``ArgnumsError`` naming what is wrong."""
    single = isinstance(argnums, int)
    if not single and not isinstance(argnums, (tuple, list)):
        raise ArgnumsError(f"{fname}: argnums must be an int or a tuple of ints, got "
                           f"{argnums!r:.60}")
    nums = (argnums,) if single else tuple(argnums)
    for a in nums:
        if not isinstance(a, int):
            raise ArgnumsError(f"{fname}: argnums must be an int or a tuple of ints, got "
                               f"{argnums!r:.60}")
        if not -nargs <= a < nargs:
            raise ArgnumsError(
                f"{fname}: argnums={argnums!r} but the function was called with {nargs} "
                f"positional argument(s); differentiating with respect to argument {a} "
                "needs it passed positionally (arguments count from 0, negative ones from "
                "the end)")
    nums = tuple(a % nargs for a in nums)
    if len(set(nums)) != len(nums):
        raise ArgnumsError(f"{fname}: argnums={argnums!r} names an argument more than once; "
                           "list each argument once")
    return single, nums


def partial_args(fun, args, kwargs, argnums):
    """``fun`` as a function of the ``argnums`` arguments only, and those arguments."""
    def partial_fun(*dyn):
        full = list(args)
        for i, x in zip(argnums, dyn):
            full[i] = x
        return fun(*full, **kwargs)
    partial_fun.__wrapped__ = fun   # (the user's function, for error messages)
    return partial_fun, [args[i] for i in argnums]


def caller_leaves(args, kwargs):
    """The leaves of a call's arguments: the arrays whose memory its results must not
    share (``fresh_outputs``)."""
    if not kwargs and all(type(a) in LEAF_TYPES for a in args):   # (no pytree to walk)
        return args
    return tree_util.tree_leaves((args, kwargs))


def fresh_groups(inputs, *groups):
    """The lists ``groups`` (of results) with every array that shares memory with one of
    ``inputs`` or with an earlier result copied: what ``fresh_outputs`` does, for results
    that come in several lists."""
    flat = fresh_outputs([x for g in groups for x in g], inputs)
    out, start = [], 0
    for g in groups:
        out.append(flat[start:start + len(g)])
        start += len(g)
    return out


def leaf_paths(tree, prefix):
    """A readable name for each leaf of ``tree``: ``prefix`` followed by its path."""
    node = tree_util._node_children(tree)
    if node is None:
        return [prefix]
    node_type, aux, children = node
    return [p for i, c in enumerate(children)
            for p in leaf_paths(c, prefix + tree_util._path_entry(node_type, aux, i))]


def arg_paths(nums, dyn):
    """Readable names of the leaves of the differentiated arguments (for errors)."""
    return [p for k, a in zip(nums, dyn) for p in leaf_paths(a, f"argument {k}")]


def is_float_leaf(x):
    t = type(x)
    return t in FLOAT_TYPES or (t is np.ndarray and x.dtype.kind == "f")


def all_float_leaves(xs):
    """Whether every entry of ``xs`` is a float array or scalar (``is_float_leaf`` of
    each, inlined: this runs on every grad call)."""
    for x in xs:
        t = type(x)
        if t not in FLOAT_TYPES and not (t is np.ndarray and x.dtype.kind == "f"):
            return False
    return True


def path_name(path):
    return path() if callable(path) else path


def check_grad_input(x, fname, path, allow_int, holomorphic):
    """Whether input ``x`` is differentiated (raise for a bad one; ``path`` names it, or
    is a function returning its name, built only for the message)."""
    dtype = get_aval(x).dtype
    if dtypes.is_float(dtype):
        if holomorphic:
            raise GradInputError(f"{fname} with holomorphic=True needs complex inputs, but "
                            f"{path_name(path)} has dtype {dtype}; convert it with "
                            ".astype(complex)")
        return True
    if dtypes.is_complex(dtype):
        # A real function of complex inputs: the gradient follows JAX's convention (the
        # conjugate of the direction of steepest ascent), e.g. grad(|z|^2) = 2 conj(z).
        return True
    if allow_int:
        return False
    raise GradInputError(f"{fname} needs floating-point inputs, but {path_name(path)} has dtype "
                    f"{dtype}. "
                    "Pass a float (e.g. 2.0 rather than 2, or x.astype(float)), or use "
                    "allow_int=True to get a float0 zero gradient for it.")


SCALAR_TREE = tree_structure(0)


def list_argument_error(args, argnums, err):
    """A clearer error than ``err`` (NumPy was handed a tracer) when a differentiated
    argument is a Python list or tuple of numbers, which the user probably meant as an
    array: fad takes it as a pytree of scalars, so a NumPy function given it meets a list
    of tracers. ``None`` when no argument is such a list."""
    try:
        _, nums = argnums_tuple(argnums, len(args), "grad")
    except (TypeError, ValueError):
        return None
    for i in nums:
        arg = args[i]
        if not isinstance(arg, (list, tuple)) or not arg:
            continue
        leaves = tree_flatten(arg)[0]
        if all(type(x) in _SCALAR_AVALS for x in leaves):
            kind = type(arg).__name__
            return type(err)(
                f"grad: argument {i} is a Python {kind} of {len(leaves)} numbers, which fad "
                f"differentiates as a pytree of {len(leaves)} separate scalars (its gradient "
                f"is a {kind} too), not as an array; so the function works on a {kind} of "
                "traced scalars, which NumPy cannot convert to an array. If you meant an "
                "array, pass np.array(...) instead (grad(f)(np.array([1.0, 2.0]))). "
                f"[{err}]")
    return None


def scalar_if_0d(g):
    """0-d gradients are NumPy scalars, whichever operation made them."""
    return g[()] if type(g) is np.ndarray and not g.shape else g


def not_one_output(name, out):
    """The ``TypeError`` for a differentiated function whose output ``out`` is not one
    array (grad needs a single scalar): a ``NotAnArrayError`` if it holds a value that is
    not an array (as the interpreted path, which checks the leaves first, raises)."""
    try:
        check_leaves(tree_flatten(out)[0], "grad", OUTPUT)
    except NotAnArrayError as err:
        return err
    return GradOutputError(f"grad requires a function with a single scalar output, but {name} "
                           f"returned {value_summary(out)}. Use jacrev/jacobian or vjp for "
                           "several or non-scalar outputs, or sum them.")


def value_summary(x) -> str:
    """What a function returned, for a message: its container and the types of its
    leaves (``a tuple (*, *) of (f64[], f64[])``), never the internals of a traced value."""
    if is_array_leaf(x):
        return f"an array of type {get_aval(x).str_short()}"
    if x is None:
        return "None (of type NoneType)"
    leaves, tree = tree_flatten(x)
    types = ", ".join(get_aval(v).str_short() if is_array_leaf(v) else type(v).__name__
                      for v in leaves[:8]) + (", ..." if len(leaves) > 8 else "")
    return f"a {type(x).__name__} {repr(tree).removeprefix('PyTreeDef(')[:-1]} of ({types})"


def check_grad_output(name, aval, holomorphic):
    """A ``TypeError`` saying what to do unless ``aval`` is a valid output for ``grad``."""
    if aval.shape != ():
        extract = (" (or take its one element with .reshape(()))" if aval.size == 1 else "")
        raise GradOutputError(
            f"grad requires a scalar output, but {name} returned an array of shape "
            f"{aval.shape}. Use jacrev or vjp for a non-scalar output, or reduce it (e.g. "
            f".sum()){extract}.")
    if holomorphic and not dtypes.is_complex(aval.dtype):
        raise GradOutputError(f"grad with holomorphic=True requires a complex output, but "
                        f"{name} returned {aval.dtype}; a real-valued function of a "
                        "complex input is not holomorphic: differentiate it with respect "
                        "to the real and imaginary parts separately")
    if dtypes.is_complex(aval.dtype) and not holomorphic:
        raise GradOutputError(f"grad requires a real output, but {name} returned {aval.dtype}. "
                        "Use holomorphic=True for holomorphic functions, or take the real "
                        "part / absolute value.")
    if not dtypes.is_inexact(aval.dtype):
        raise GradOutputError(f"grad requires a floating-point output, but {name} returned "
                        f"{aval.dtype}, which has no derivative; compute the output in "
                        "floating point (e.g. .astype(float) on the value that matters)")


class GradSpec(NamedTuple):
    """What a differentiating transformation of ``fun`` computes (``grad``,
    ``value_and_grad``, the Jacobians): the staged front ends' description of it
    (``fad.staged.grad``)."""
    fun: Callable
    argnums: Any
    has_aux: bool
    holomorphic: bool
    with_value: bool
