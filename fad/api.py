"""The user-facing transformations: pytrees, argnums, checks and errors around the
flat interpreters in ``fad.interpreters``. Forward and reverse mode and staging live here,
``vmap`` in ``api_vmap``, Jacobians and Hessians in ``api_jacobians``, ``jit`` in
``api_jit``; the shared helpers (flattening, argnums, checks) are the private functions
below."""
from __future__ import annotations

import functools
import weakref
from typing import Any, Callable, NamedTuple

import numpy as np

from fad import lax, tree_util
from fad.api_jit import infer_static_args
from fad.core import dtypes
from fad.core.abstract import _SCALAR_AVALS, get_aval
from fad.core.ad_util import Zero, instantiate, tangent_aval
from fad.core.fresh import fresh_outputs
from fad.core.trace import Tracer
from fad.errors import TracerArrayConversionError
from fad.interpreters.eval import eval_jaxpr_checked as eval_jaxpr   # (inputs checked)
from fad.interpreters.jvp import jvp_flat
from fad.interpreters.partial_eval import linearize_flat
from fad.interpreters.staging import trace_to_jaxpr
from fad.interpreters.transpose import UndefinedPrimal, backward_pass
from fad.tree_util import tree_flatten, tree_map, tree_structure, tree_unflatten

__all__ = ["jvp", "linearize", "vjp", "grad", "value_and_grad", "linear_transpose",
           "make_jaxpr", "eval_jaxpr", "stop_gradient"]


# -- flattening helpers -------------------------------------------------------------------------

def _check_leaves(leaves, fname: str, what: str):
    for x in leaves:
        if not _is_array_leaf(x):
            found = (f"{fname}: {what} hold{'s' if what == _OUTPUT else ''} a value of type "
                     f"{type(x).__name__} ({x!r:.60}), which is not an array.")
            if what == _OUTPUT:   # (advice about the function's return value, not its inputs)
                raise TypeError(f"{found} The function must return NumPy arrays or Python "
                                "scalars (in tuples, lists, dicts or registered pytrees); "
                                "return other values as auxiliary data with has_aux=True "
                                "where the transformation takes it (grad, jvp, vjp, "
                                "linearize).")
            raise TypeError(f"{found} Pass NumPy arrays or Python scalars (in tuples, "
                            "lists, dicts or registered pytrees), or mark the argument "
                            "static.")


_OUTPUT = "the function's output"


def _conform(fname, what, values, avals):
    """Check user-given (co)tangents against the types ``avals`` they must have.

    Shapes must match and dtypes too, except that Python scalars are converted; entries
    whose type is ``float0`` (tangents of integer values) become symbolic zeros."""
    out = []
    for i, (v, want) in enumerate(zip(values, avals)):
        have = get_aval(v)
        if have.shape != want.shape:
            raise ValueError(f"{fname}: {what} {i} has shape {have.shape}, but it must have "
                             f"shape {want.shape} (the shape of the value it belongs to)")
        if want.dtype == dtypes.float0:
            v = Zero(want)
        elif have.dtype != want.dtype and not (
                have.weak_type and np.can_cast(have.dtype, want.dtype, "same_kind")):
            raise TypeError(f"{fname}: {what} {i} has dtype {have.dtype}, but it must have "
                            f"dtype {want.dtype}; convert it with .astype({want.dtype})")
        elif isinstance(v, (bool, int, float, complex)):   # a Python scalar: make it typed
            v = np.asarray(v, want.dtype)[()]
        elif have.dtype != want.dtype:
            v = lax.convert_element_type(v, want.dtype)
        out.append(v)
    return out


def _is_array_leaf(x):
    if isinstance(x, (np.ndarray, np.generic, Tracer, bool, int, float, complex)):
        return True
    try:
        get_aval(x)
    except TypeError:
        return False
    return True


def _flatten_fun(fun, in_tree, has_aux=False, fname="function", args_are_leaves=None):
    """Wrap ``fun`` to take and return flat lists; ``store`` receives the output tree.

    With ``has_aux`` the auxiliary array leaves are appended to the outputs, so that the
    transformation unpacks them like outputs (no tracer escapes through them); other aux
    leaves (strings, ...) are kept aside unchanged. ``_split_aux`` puts them back.
    ``args_are_leaves``: whether ``in_tree`` is a tuple of leaves, if the caller knows."""
    store = {"n_aux": 0}
    if args_are_leaves is None:
        args_are_leaves = in_tree is _tuple_of_leaves(in_tree.num_leaves) or (
            in_tree == _tuple_of_leaves(in_tree.num_leaves))

    def flat_fun(*flat_args):
        out = fun(*(flat_args if args_are_leaves else tree_unflatten(in_tree, flat_args)))
        if not has_aux and (type(out) in _LEAF_TYPES or isinstance(out, Tracer)):
            store["tree"] = _SCALAR_TREE   # one array out: the common case, fast
            return [out]
        aux_leaves = []
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError(f"{fname} with has_aux=True needs the function to return a "
                                f"pair (output, auxiliary data), got {type(out).__name__}")
            out, aux = out
            all_aux, store["aux_tree"] = tree_flatten(aux)
            store["aux_static"] = [None if _is_array_leaf(x) else x for x in all_aux]
            aux_leaves = [x for x in all_aux if _is_array_leaf(x)]
            store["n_aux"] = len(aux_leaves)
        leaves, store["tree"] = tree_flatten(out)
        _check_leaves(leaves, fname, _OUTPUT)
        return leaves + aux_leaves

    return flat_fun, store


# Types that are array leaves for sure (the fast paths below skip the general checks).
_LEAF_TYPES = dtypes.INEXACT_SCALAR_TYPES | {np.ndarray, float}
_FLOAT_TYPES = frozenset({float, np.float16, np.float32, np.float64, np.longdouble})


@functools.lru_cache(maxsize=64)
def _tuple_of_leaves(n):
    """The treedef of a tuple of ``n`` leaves."""
    return tree_structure((0,) * n)


def _split_aux(store, outs):
    """``(main_outputs, aux_value_or_None)`` from the flat outputs of a ``_flatten_fun``."""
    n = store["n_aux"]
    if "aux_tree" not in store:
        return outs, None
    main, aux = (outs[:-n], outs[-n:]) if n else (outs, [])
    arrays = iter(aux)
    leaves = [next(arrays) if x is None else x for x in store["aux_static"]]
    return main, tree_unflatten(store["aux_tree"], leaves)


def _check_callable(fun, fname):
    if not callable(fun):
        raise TypeError(f"{fname} expects a callable (the function to transform) as its "
                        f"first argument, got {type(fun).__name__} ({fun!r:.60})")


def _argnums_tuple(argnums, nargs, fname):
    single = isinstance(argnums, int)
    if not single and not isinstance(argnums, (tuple, list)):
        raise TypeError(f"{fname}: argnums must be an int or a tuple of ints, got {argnums!r}")
    nums = (argnums,) if single else tuple(argnums)
    for a in nums:
        if not isinstance(a, int):
            raise TypeError(f"{fname}: argnums must be an int or a tuple of ints, got {argnums!r}")
        if not -nargs <= a < nargs:
            raise ValueError(f"{fname}: argnums={argnums!r} but the function was called with "
                             f"{nargs} positional argument(s)")
    nums = tuple(a % nargs for a in nums)
    if len(set(nums)) != len(nums):
        raise ValueError(f"{fname}: argnums={argnums!r} names an argument more than once; "
                         "list each argument once")
    return single, nums


def _partial_args(fun, args, kwargs, argnums):
    """``fun`` as a function of the ``argnums`` arguments only, and those arguments."""
    def partial_fun(*dyn):
        full = list(args)
        for i, x in zip(argnums, dyn):
            full[i] = x
        return fun(*full, **kwargs)
    return partial_fun, [args[i] for i in argnums]


def _caller_leaves(args, kwargs):
    """The leaves of a call's arguments: the arrays whose memory its results must not
    share (``fresh_outputs``)."""
    if not kwargs and all(type(a) in _LEAF_TYPES for a in args):   # (no pytree to walk)
        return args
    return tree_util.tree_leaves((args, kwargs))


def _fresh_groups(inputs, *groups):
    """The lists ``groups`` (of results) with every array that shares memory with one of
    ``inputs`` or with an earlier result copied: what ``fresh_outputs`` does, for results
    that come in several lists."""
    flat = fresh_outputs([x for g in groups for x in g], inputs)
    out, start = [], 0
    for g in groups:
        out.append(flat[start:start + len(g)])
        start += len(g)
    return out


# -- forward mode ---------------------------------------------------------------------------

def jvp(fun: Callable, primals, tangents, has_aux: bool = False):
    """Forward-mode derivative: ``(fun(*primals), J @ tangents)``.

    >>> import fad, fad.numpy as fnp
    >>> fad.jvp(fnp.sin, (0.0,), (2.0,))
    (np.float64(0.0), np.float64(2.0))
    """
    _check_callable(fun, "jvp")
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples (one entry per argument), "
                        f"got {type(primals).__name__} and {type(tangents).__name__}")
    flat_primals, in_tree = tree_flatten(tuple(primals))
    flat_tangents, tangent_tree = tree_flatten(tuple(tangents))
    if in_tree != tangent_tree:
        raise ValueError(f"jvp: primals and tangents must have the same structure, got "
                         f"{in_tree} and {tangent_tree}")
    _check_leaves(flat_primals, "jvp", "primals")
    _check_leaves(flat_tangents, "jvp", "tangents")
    user_leaves = [*flat_primals, *flat_tangents]
    flat_tangents = _conform("jvp", "tangent", flat_tangents,
                             [tangent_aval(get_aval(p)) for p in flat_primals])
    flat_fun, store = _flatten_fun(fun, in_tree, has_aux, "jvp")
    all_outs, out_tangents = jvp_flat(flat_fun, flat_primals, flat_tangents)
    n_main = len(all_outs) - store["n_aux"]
    all_outs, out_tangents = _fresh_groups(
        user_leaves, all_outs, [instantiate(t) for t in out_tangents[:n_main]])
    outs, aux = _split_aux(store, all_outs)
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
    _check_callable(fun, "linearize")
    flat_primals, in_tree = tree_flatten(primals)
    _check_leaves(flat_primals, "linearize", "primals")
    flat_fun, store = _flatten_fun(fun, in_tree, has_aux, "linearize")
    outs, lin = linearize_flat(flat_fun, flat_primals)
    outs, aux = _split_aux(store, fresh_outputs(outs, flat_primals))
    out_tree = store["tree"]

    def f_jvp(*tangents):
        flat_t, t_tree = tree_flatten(tangents)
        if t_tree != in_tree:
            raise ValueError(f"linearize: the linear map takes tangents of structure "
                             f"{in_tree}, got {t_tree}")
        _check_leaves(flat_t, "linearize", "the tangents")
        user_leaves = [*flat_t, *flat_primals]
        flat_t = _conform("linearize", "tangent", flat_t, lin.in_tangent_avals)
        out_t = [instantiate(t) for t in lin(*flat_t)[:len(outs)]]
        return tree_unflatten(out_tree, fresh_outputs(out_t, user_leaves))

    f_jvp.jaxpr = lin.jaxpr
    result = tree_unflatten(out_tree, outs), f_jvp
    return (*result, aux) if has_aux else result


# -- reverse mode ---------------------------------------------------------------------------

def _vjp_flat(flat_fun, flat_primals, differentiable=None):
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
    _check_callable(fun, "vjp")
    flat_primals, in_tree = tree_flatten(primals)
    _check_leaves(flat_primals, "vjp", "primals")
    flat_fun, store = _flatten_fun(fun, in_tree, has_aux, "vjp")
    outs, pullback, lin = _vjp_flat(flat_fun, flat_primals)
    outs, aux = _split_aux(store, fresh_outputs(outs, flat_primals))
    out_tree = store["tree"]
    out_avals = [tangent_aval(get_aval(o)) for o in outs]

    def vjp_fn(cotangent):
        flat_cts, ct_tree = tree_flatten(cotangent)
        if ct_tree != out_tree:
            raise ValueError(f"vjp: the cotangent must have the structure of the output, "
                             f"{out_tree}, got {ct_tree}")
        _check_leaves(flat_cts, "vjp", "the cotangents")
        cts_in = pullback(_conform("vjp", "cotangent", flat_cts, out_avals))
        return tree_unflatten(in_tree, fresh_outputs([instantiate(c) for c in cts_in],
                                                     [*flat_cts, *flat_primals]))

    result = tree_unflatten(out_tree, outs), vjp_fn
    return (*result, aux) if has_aux else result


def _leaf_paths(tree, prefix):
    """A readable name for each leaf of ``tree``: ``prefix`` followed by its path."""
    node = tree_util._node_children(tree)
    if node is None:
        return [prefix]
    node_type, aux, children = node
    return [p for i, c in enumerate(children)
            for p in _leaf_paths(c, prefix + tree_util._path_entry(node_type, aux, i))]


def _arg_paths(nums, dyn):
    """Readable names of the leaves of the differentiated arguments (for errors)."""
    return [p for k, a in zip(nums, dyn) for p in _leaf_paths(a, f"argument {k}")]


def _is_float_leaf(x):
    t = type(x)
    return t in _FLOAT_TYPES or (t is np.ndarray and x.dtype.kind == "f")


def _all_float_leaves(xs):
    """Whether every entry of ``xs`` is a float array or scalar (``_is_float_leaf`` of
    each, inlined: this runs on every grad call)."""
    for x in xs:
        t = type(x)
        if t not in _FLOAT_TYPES and not (t is np.ndarray and x.dtype.kind == "f"):
            return False
    return True


def _name(path):
    return path() if callable(path) else path


def _check_grad_input(x, fname, path, allow_int, holomorphic):
    """Whether input ``x`` is differentiated (raise for a bad one; ``path`` names it, or
    is a function returning its name, built only for the message)."""
    dtype = get_aval(x).dtype
    if dtypes.is_float(dtype):
        if holomorphic:
            raise TypeError(f"{fname} with holomorphic=True needs complex inputs, but "
                            f"{_name(path)} has dtype {dtype}; convert it with "
                            ".astype(complex)")
        return True
    if dtypes.is_complex(dtype):
        # A real function of complex inputs: the gradient follows JAX's convention (the
        # conjugate of the direction of steepest ascent), e.g. grad(|z|^2) = 2 conj(z).
        return True
    if allow_int:
        return False
    raise TypeError(f"{fname} needs floating-point inputs, but {_name(path)} has dtype {dtype}. "
                    "Pass a float (e.g. 2.0 rather than 2, or x.astype(float)), or use "
                    "allow_int=True to get a float0 zero gradient for it.")


def value_and_grad(fun: Callable, argnums=0, has_aux: bool = False,
                   holomorphic: bool = False, allow_int: bool = False):
    """A function returning ``(fun(*args), grad(fun)(*args))`` from one pass.

    Called at the top level with float arrays, it records ``fun`` and runs the compiled
    gradient of the recording from the second call of the same program on
    (``fad.api_grad_staged``): the same results and the same Python behaviour as
    interpreting it, at compiled speed. ``fad.disable_jit()`` turns that off.

    >>> import fad
    >>> fad.value_and_grad(lambda x: x ** 3)(2.0)
    (np.float64(8.0), np.float64(12.0))
    """
    return _value_and_grad(fun, argnums, has_aux, holomorphic, allow_int, staged=True)


def _value_and_grad(fun, argnums, has_aux, holomorphic, allow_int, staged):
    """``value_and_grad``; ``staged=False`` always interprets."""
    _check_callable(fun, "grad")
    name = getattr(fun, "__name__", "function")
    stager = None
    if staged and not has_aux and not holomorphic:
        from fad.api_grad_staged import NOT_STAGED, StagedGrad   # (it imports this module)
        stager = StagedGrad(GradSpec(fun, argnums, False, False, True),
                            lambda f, nums: _value_and_grad(f, nums, False, False, False,
                                                            staged=False))

    # number of positional arguments -> (single, argnums normalised, whether those are
    # all the arguments in order)
    argnums_for = {}

    def call(args, kwargs):
        if stager is not None and not kwargs:
            out = stager.try_call(args)
            if out is not NOT_STAGED:
                return out
        checked = argnums_for.get(len(args))
        if checked is None:
            single, nums = _argnums_tuple(argnums, len(args), "grad")
            checked = argnums_for[len(args)] = single, nums, nums == tuple(range(len(args)))
        single, nums, every = checked
        if every and not kwargs:   # nothing to fix: ``fun`` is its own partial function
            partial_fun, dyn = fun, args
        else:
            partial_fun, dyn = _partial_args(fun, args, kwargs, nums)
        if not holomorphic and _all_float_leaves(dyn):
            # The common case (float arrays and scalars): no pytree to walk, no checks.
            flat_dyn, in_tree = dyn, _tuple_of_leaves(len(dyn))
            differentiable = None
            args_are_leaves = True
        else:
            flat_dyn, in_tree = tree_flatten(tuple(dyn))
            _check_leaves(flat_dyn, "grad", "the arguments")
            differentiable = [_check_grad_input(x, "grad", lambda i=i: _arg_paths(nums, dyn)[i],
                                                allow_int, holomorphic)
                              for i, x in enumerate(flat_dyn)]
            args_are_leaves = None
        flat_fun, store = _flatten_fun(partial_fun, in_tree, has_aux, "grad", args_are_leaves)
        all_outs, pullback, _ = _vjp_flat(flat_fun, flat_dyn, differentiable)
        outs = _split_aux(store, all_outs)[0] if has_aux else all_outs
        tree = store["tree"]
        if len(outs) != 1 or (tree is not _SCALAR_TREE and tree != _SCALAR_TREE):
            raise _not_one_output(name, tree_unflatten(store["tree"], outs))
        out = outs[0]
        aval = _SCALAR_AVALS.get(type(out)) or get_aval(out)   # (get_aval's first case)
        kind = aval.dtype.kind
        if aval.shape or kind != "f" or holomorphic:
            _check_grad_output(name, aval, holomorphic)
        cts = pullback([aval.dtype.type(1)])
        if differentiable is None:
            grads = []
            for c in cts:   # (a loop, not a comprehension: this runs on every call)
                if type(c) is Zero:
                    c = instantiate(c)
                grads.append(_scalar_if_0d(c))
        else:
            grads = [_scalar_if_0d(instantiate(c)) if d
                     else np.zeros(get_aval(x).shape, dtypes.float0)
                     for c, d, x in zip(cts, differentiable, flat_dyn)]
        # (the value and aux leaves first, then the gradients, all fresh: the gradient of
        # ``w * x`` is ``x`` itself, ``a + b`` gives both operands one cotangent)
        all_outs, grads = _fresh_groups(_caller_leaves(args, kwargs), all_outs, grads)
        if single:
            g = grads[0] if in_tree is _tuple_of_leaves(1) else tree_unflatten(in_tree, grads)[0]
        else:
            g = tuple(grads) if in_tree is _tuple_of_leaves(len(grads)) else tree_unflatten(
                in_tree, grads)
        value = (all_outs[0], _split_aux(store, all_outs)[1]) if has_aux else all_outs[0]
        return value, g

    @functools.wraps(fun)
    def value_and_grad_f(*args, **kwargs):
        try:
            return call(args, kwargs)
        except TracerArrayConversionError as err:
            clearer = _list_argument_error(args, argnums, err)
            if clearer is None:
                raise
            raise clearer from err

    _GRAD_SPECS[value_and_grad_f] = GradSpec(fun, argnums, has_aux, holomorphic, True)
    return value_and_grad_f


_SCALAR_TREE = tree_structure(0)


def _list_argument_error(args, argnums, err):
    """A clearer error than ``err`` (NumPy was handed a tracer) when a differentiated
    argument is a Python list or tuple of numbers, which the user probably meant as an
    array: fad takes it as a pytree of scalars, so a NumPy function given it meets a list
    of tracers. ``None`` when no argument is such a list."""
    try:
        _, nums = _argnums_tuple(argnums, len(args), "grad")
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


def _scalar_if_0d(g):
    """0-d gradients are NumPy scalars, whichever operation made them."""
    return g[()] if type(g) is np.ndarray and not g.shape else g


def _not_one_output(name, out):
    """The ``TypeError`` for a differentiated function whose output ``out`` is not one
    array (grad needs a single scalar)."""
    return TypeError(f"grad requires a function with a single scalar output, but {name} "
                     f"returned {out!r:.100} (of type {type(out).__name__}). Use "
                     "jacrev/jacobian or vjp for non-scalar outputs, or sum them.")


def _check_grad_output(name, aval, holomorphic):
    """A ``TypeError`` saying what to do unless ``aval`` is a valid output for ``grad``."""
    if aval.shape != ():
        raise TypeError(f"grad requires a scalar output, but {name} returned an array of "
                        f"shape {aval.shape}. Use jacrev or vjp, or reduce it (e.g. .sum()).")
    if holomorphic and not dtypes.is_complex(aval.dtype):
        raise TypeError(f"grad with holomorphic=True requires a complex output, but "
                        f"{name} returned {aval.dtype}; a real-valued function of a "
                        "complex input is not holomorphic: differentiate it with respect "
                        "to the real and imaginary parts separately")
    if dtypes.is_complex(aval.dtype) and not holomorphic:
        raise TypeError(f"grad requires a real output, but {name} returned {aval.dtype}. "
                        "Use holomorphic=True for holomorphic functions, or take the real "
                        "part / absolute value.")
    if not dtypes.is_inexact(aval.dtype):
        raise TypeError(f"grad requires a floating-point output, but {name} returned "
                        f"{aval.dtype}, which has no derivative; compute the output in "
                        "floating point (e.g. .astype(float) on the value that matters)")


def grad(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False,
         allow_int: bool = False):
    """The gradient of a scalar-output function with respect to argument(s) ``argnums``.

    >>> import fad
    >>> fad.grad(lambda x: x ** 4 + 3 * x ** 2 + 2 * x)(2.0)
    np.float64(46.0)
    """
    vg = value_and_grad(fun, argnums, has_aux, holomorphic, allow_int)

    @functools.wraps(fun)
    def grad_f(*args, **kwargs):
        (value, g) = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    _GRAD_SPECS[grad_f] = GradSpec(fun, argnums, has_aux, holomorphic, False)
    return grad_f


class GradSpec(NamedTuple):
    """What a function made by ``grad``/``value_and_grad`` computes, for ``vmap`` to
    stage it (``fad.api_vmap_staged``)."""
    fun: Callable
    argnums: Any
    has_aux: bool
    holomorphic: bool
    with_value: bool


# The functions grad and value_and_grad made -> their GradSpec. (Not an attribute: the
# functools.wraps of other transformations would copy it onto functions that are not
# gradients.)
_GRAD_SPECS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def linear_transpose(fun: Callable, *primals):
    """The transpose of the linear function ``fun`` (at arguments shaped like ``primals``).

    >>> import fad, numpy as np
    >>> t = fad.linear_transpose(lambda x: 2 * x, 1.0)
    >>> t(1.0)
    (np.float64(2.0),)
    """
    _check_callable(fun, "linear_transpose")
    flat_primals, in_tree = tree_flatten(primals)
    _check_leaves(flat_primals, "linear_transpose", "primals")
    in_avals = [get_aval(p).strip_weak_type() for p in flat_primals]
    flat_fun, store = _flatten_fun(fun, in_tree, False, "linear_transpose")
    closed = trace_to_jaxpr(flat_fun, in_avals)
    out_tree = store["tree"]
    out_avals = [v.aval for v in closed.jaxpr.outvars]

    def transposed(*cotangent):
        ct = cotangent[0] if len(cotangent) == 1 else cotangent
        flat_cts, ct_tree = tree_flatten(ct)
        if ct_tree != out_tree:
            raise ValueError(f"linear_transpose: cotangent structure {ct_tree} does not match "
                             f"the output structure {out_tree}")
        _check_leaves(flat_cts, "linear_transpose", "the cotangents")
        user_cts = flat_cts
        flat_cts = _conform("linear_transpose", "cotangent", flat_cts, out_avals)
        cts = backward_pass(closed.jaxpr, closed.consts,
                            [UndefinedPrimal(a) for a in in_avals], flat_cts)
        return tree_unflatten(in_tree, fresh_outputs([instantiate(c) for c in cts], user_cts))

    return transposed


def stop_gradient(x):
    """The identity, with a zero derivative (applied to every leaf of a pytree)."""
    return tree_map(lax.stop_gradient, x)


# -- staging --------------------------------------------------------------------------------

def make_jaxpr(fun: Callable, static_argnums=()):
    """A function returning the traced program (a ``ClosedJaxpr``) of ``fun`` at the
    shapes and dtypes of its arguments.

    >>> import fad, fad.numpy as fnp
    >>> print(fad.make_jaxpr(lambda x: fnp.sin(x) * 2.0)(1.0))
    { lambda ; a:f64[]. let
        b:f64[] = sin a
        c:f64[] = mul b 2.0:f64[]
      in (c,) }
    """
    _check_callable(fun, "make_jaxpr")
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    static = infer_static_args(fun, static, (), "make_jaxpr")[0]   # (checked, as by jit)

    @functools.wraps(fun)
    def make(*args, **kwargs):
        dyn_nums = tuple(i for i in range(len(args)) if i not in static)
        partial_fun, dyn = _partial_args(fun, args, kwargs, dyn_nums)
        flat, in_tree = tree_flatten(tuple(dyn))
        _check_leaves(flat, "make_jaxpr", "the arguments")
        flat_fun, store = _flatten_fun(partial_fun, in_tree, False, "make_jaxpr")
        return trace_to_jaxpr(flat_fun, [get_aval(x) for x in flat])

    return make
