"""The user-facing transformations: pytrees, argnums, checks and errors around the
flat interpreters in ``fad.interpreters``."""
from __future__ import annotations

import functools
from typing import Callable

import numpy as np

from fad import lax, tree_util
from fad.core import dtypes
from fad.core.abstract import get_aval
from fad.core.ad_util import Zero, instantiate, tangent_aval
from fad.core.trace import Tracer, new_trace
from fad.interpreters.batching import BatchTrace, BatchTracer
from fad.interpreters.eval import eval_jaxpr
from fad.interpreters.jvp import jvp_flat
from fad.interpreters.partial_eval import linearize_flat
from fad.interpreters.staging import trace_to_jaxpr
from fad.interpreters.transpose import UndefinedPrimal, backward_pass
from fad.tree_util import tree_flatten, tree_map, tree_structure, tree_unflatten

__all__ = ["jvp", "linearize", "vjp", "grad", "value_and_grad", "linear_transpose",
           "jacfwd", "jacrev", "hessian", "hvp", "vmap", "make_jaxpr", "eval_jaxpr",
           "stop_gradient"]


# -- flattening helpers -------------------------------------------------------------------------

def _check_leaves(leaves, fname: str, what: str):
    for x in leaves:
        if not _is_array_leaf(x):
            raise TypeError(
                f"{fname}: {what} hold a value of type {type(x).__name__} ({x!r:.60}), "
                "which is not an array. Pass NumPy arrays or Python scalars (in tuples, "
                "lists, dicts or registered pytrees), or mark the argument static.")


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


def _flatten_fun(fun, in_tree, has_aux=False, fname="function"):
    """Wrap ``fun`` to take and return flat lists; ``store`` receives the output tree.

    With ``has_aux`` the auxiliary array leaves are appended to the outputs, so that the
    transformation unpacks them like outputs (no tracer escapes through them); other aux
    leaves (strings, ...) are kept aside unchanged. ``_split_aux`` puts them back."""
    store = {"n_aux": 0}

    def flat_fun(*flat_args):
        out = fun(*tree_unflatten(in_tree, flat_args))
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
        _check_leaves(leaves, fname, "the function's output")
        return leaves + aux_leaves

    return flat_fun, store


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
    flat_tangents = _conform("jvp", "tangent", flat_tangents,
                             [tangent_aval(get_aval(p)) for p in flat_primals])
    flat_fun, store = _flatten_fun(fun, in_tree, has_aux, "jvp")
    outs, out_tangents = jvp_flat(flat_fun, flat_primals, flat_tangents)
    outs, aux = _split_aux(store, outs)
    out_tree = store["tree"]
    result = (tree_unflatten(out_tree, outs),
              tree_unflatten(out_tree, [instantiate(t) for t in out_tangents[:len(outs)]]))
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
    outs, aux = _split_aux(store, outs)
    out_tree = store["tree"]

    def f_jvp(*tangents):
        flat_t, t_tree = tree_flatten(tangents)
        if t_tree != in_tree:
            raise ValueError(f"linearize: the linear map takes tangents of structure "
                             f"{in_tree}, got {t_tree}")
        _check_leaves(flat_t, "linearize", "the tangents")
        flat_t = _conform("linearize", "tangent", flat_t, lin.in_tangent_avals)
        out_t = lin(*flat_t)[:len(outs)]
        return tree_unflatten(out_tree, [instantiate(t) for t in out_t])

    f_jvp.jaxpr = lin.jaxpr
    result = tree_unflatten(out_tree, outs), f_jvp
    return (*result, aux) if has_aux else result


# -- reverse mode ---------------------------------------------------------------------------

def _vjp_flat(flat_fun, flat_primals, differentiable=None):
    outs, lin = linearize_flat(flat_fun, flat_primals, differentiable, dce=False)

    def pullback(flat_cts):
        cts = [ct for ct, nz in zip(flat_cts, lin.out_nonzero) if nz]
        jaxpr = lin.jaxpr
        args = [UndefinedPrimal(a) for a in lin.in_tangent_avals]
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
    outs, aux = _split_aux(store, outs)
    out_tree = store["tree"]
    out_avals = [tangent_aval(get_aval(o)) for o in outs]

    def vjp_fn(cotangent):
        flat_cts, ct_tree = tree_flatten(cotangent)
        if ct_tree != out_tree:
            raise ValueError(f"vjp: the cotangent must have the structure of the output, "
                             f"{out_tree}, got {ct_tree}")
        _check_leaves(flat_cts, "vjp", "the cotangents")
        cts_in = pullback(_conform("vjp", "cotangent", flat_cts, out_avals))
        return tree_unflatten(in_tree, [instantiate(c) for c in cts_in])

    result = tree_unflatten(out_tree, outs), vjp_fn
    return (*result, aux) if has_aux else result


def _arg_paths(nums, dyn):
    """Readable names of the leaves of the differentiated arguments (for errors)."""
    return [p for k, a in zip(nums, dyn) for p in _leaf_paths(a, f"argument {k}")]


def _check_grad_input(x, fname, path, allow_int, holomorphic):
    dtype = get_aval(x).dtype
    if dtypes.is_float(dtype):
        if holomorphic:
            raise TypeError(f"{fname} with holomorphic=True needs complex inputs, but {path} "
                            f"has dtype {dtype}; convert it with .astype(complex)")
        return True
    if dtypes.is_complex(dtype):
        if not holomorphic:
            raise TypeError(f"{fname}: {path} is complex ({dtype}); pass holomorphic=True "
                            "to differentiate a holomorphic function, or split real and "
                            "imaginary parts")
        return True
    if allow_int:
        return False
    raise TypeError(f"{fname} needs floating-point inputs, but {path} has dtype {dtype}. "
                    "Pass a float (e.g. 2.0 rather than 2, or x.astype(float)), or use "
                    "allow_int=True to get a float0 zero gradient for it.")


def value_and_grad(fun: Callable, argnums=0, has_aux: bool = False,
                   holomorphic: bool = False, allow_int: bool = False):
    """A function returning ``(fun(*args), grad(fun)(*args))`` from one pass.

    >>> import fad
    >>> fad.value_and_grad(lambda x: x ** 3)(2.0)
    (np.float64(8.0), np.float64(12.0))
    """
    _check_callable(fun, "grad")
    name = getattr(fun, "__name__", "function")

    @functools.wraps(fun)
    def value_and_grad_f(*args, **kwargs):
        single, nums = _argnums_tuple(argnums, len(args), "grad")
        partial_fun, dyn = _partial_args(fun, args, kwargs, nums)
        flat_dyn, in_tree = tree_flatten(tuple(dyn))
        _check_leaves(flat_dyn, "grad", "the arguments")
        differentiable = [_check_grad_input(x, "grad", p, allow_int, holomorphic)
                          for x, p in zip(flat_dyn, _arg_paths(nums, dyn))]
        flat_fun, store = _flatten_fun(partial_fun, in_tree, has_aux, "grad")
        outs, pullback, _ = _vjp_flat(flat_fun, flat_dyn, differentiable)
        outs, aux = _split_aux(store, outs)
        if len(outs) != 1 or store["tree"] != _SCALAR_TREE:
            raise TypeError(f"grad requires a function with a single scalar output, but "
                            f"{name} returned {tree_unflatten(store['tree'], outs)!r:.100}. "
                            "Use jacrev/jacobian or vjp for non-scalar outputs, or sum them.")
        out = outs[0]
        aval = get_aval(out)
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
        cts = pullback([np.ones((), aval.dtype)[()]])
        grads = [instantiate(c) if d else np.zeros(get_aval(x).shape, dtypes.float0)
                 for c, d, x in zip(cts, differentiable, flat_dyn)]
        grads = tree_unflatten(in_tree, grads)
        g = grads[0] if single else grads
        value = (out, aux) if has_aux else out
        return value, g

    return value_and_grad_f


_SCALAR_TREE = tree_structure(0)


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

    return grad_f


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
        flat_cts = _conform("linear_transpose", "cotangent", flat_cts, out_avals)
        cts = backward_pass(closed.jaxpr, closed.consts,
                            [UndefinedPrimal(a) for a in in_avals], flat_cts)
        return tree_unflatten(in_tree, [instantiate(c) for c in cts])

    return transposed


def stop_gradient(x):
    """The identity, with a zero derivative (applied to every leaf of a pytree)."""
    return tree_map(lax.stop_gradient, x)


# -- vmap -----------------------------------------------------------------------------------

def _axis_spec_error(fname, spec, what):
    raise ValueError(f"{fname}: {what} must hold ints or None (a pytree prefix of the "
                     f"{'arguments' if what == 'in_axes' else 'outputs'}), got {spec!r}")


def vmap(fun: Callable, in_axes=0, out_axes=0, axis_size: int | None = None):
    """Vectorise ``fun`` over axis ``in_axes`` of its arguments.

    ``in_axes``/``out_axes``: an int, ``None`` (not mapped), or a pytree prefix of the
    arguments/outputs holding those. Keyword arguments are passed through unmapped.

    >>> import fad, numpy as np
    >>> fad.vmap(lambda x, y: x * y, in_axes=(0, None))(np.arange(3.0), 2.0)
    array([0., 2., 4.])
    """
    _check_callable(fun, "vmap")
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    name = getattr(fun, "__name__", "function")

    @functools.wraps(fun)
    def vmapped(*args, **kwargs):
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise ValueError(f"vmap({name}): in_axes has {len(in_axes)} entries but the "
                             f"function was called with {len(args)} positional argument(s); "
                             "give one entry per argument (None for an unmapped one)")
        flat_args, in_tree = tree_flatten(args)
        _check_leaves(flat_args, "vmap", "the arguments")
        spec = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        try:
            flat_axes = tree_util.broadcast_prefix(spec, args)
        except ValueError as e:
            raise ValueError(f"vmap({name}): in_axes {in_axes!r} does not match the arguments: "
                             f"{e}") from None
        arg_paths = [p for i, a in enumerate(args) for p in _leaf_paths(a, f"argument {i}")]
        size, flat_axes = _mapped_size(name, arg_paths, flat_args, flat_axes, axis_size)
        flat_fun, store = _flatten_fun(lambda *a: fun(*a, **kwargs), in_tree, False, "vmap")
        outs, out_dims = _vmap_flat(flat_fun, flat_args, flat_axes, size)
        out_tree = store["tree"]
        out_value = tree_unflatten(out_tree, outs)
        try:
            flat_out_axes = tree_util.broadcast_prefix(out_axes, out_value)
        except ValueError as e:
            raise ValueError(f"vmap({name}): out_axes {out_axes!r} does not match the "
                             f"output structure {out_tree}: {e}") from None
        out_paths = _leaf_paths(out_value, "output")
        results = [_move_batch_axis(name, p, o, d, dst, size)
                   for p, o, d, dst in zip(out_paths, outs, out_dims, flat_out_axes)]
        return tree_unflatten(out_tree, results)

    return vmapped


def _leaf_paths(tree, prefix):
    """A readable name for each leaf of ``tree``: ``prefix`` followed by its path."""
    node = tree_util._node_children(tree)
    if node is None:
        return [prefix]
    node_type, aux, children = node
    return [p for i, c in enumerate(children)
            for p in _leaf_paths(c, prefix + tree_util._path_entry(node_type, aux, i))]


def _is_axis(ax):
    return isinstance(ax, (int, np.integer)) and not isinstance(ax, bool)


def _mapped_size(name, arg_paths, flat_args, flat_axes, axis_size):
    """The common size of the mapped axes, and the axes made non-negative."""
    sizes = {}
    normalized = []
    for x, ax, path in zip(flat_args, flat_axes, arg_paths):
        if ax is None:
            normalized.append(None)
            continue
        if not _is_axis(ax):
            _axis_spec_error(f"vmap({name})", ax, "in_axes")
        shape = get_aval(x).shape
        if not -len(shape) <= ax < len(shape):
            raise ValueError(f"vmap({name}): in_axes={ax} for {path} of shape {shape} "
                             f"is out of range (it has {len(shape)} axes)")
        ax = int(ax) % len(shape)
        normalized.append(ax)
        sizes.setdefault(shape[ax], []).append(f"{path} (shape {shape}, axis {ax})")
    if axis_size is not None:
        if not _is_axis(axis_size) or axis_size < 0:
            raise ValueError(f"vmap({name}): axis_size must be a non-negative int, "
                             f"got {axis_size!r}")
        sizes.setdefault(int(axis_size), []).append(f"axis_size={axis_size}")
    if not sizes:
        raise ValueError(f"vmap({name}): no argument is mapped (all in_axes are None); pass "
                         "axis_size to say how many times to map")
    if len(sizes) > 1:
        found = "; ".join(f"size {s}: {', '.join(w)}" for s, w in sizes.items())
        raise ValueError(f"vmap({name}) got inconsistent sizes for the mapped axes: {found}")
    return next(iter(sizes)), normalized


def _vmap_flat(flat_fun, flat_args, flat_axes, size):
    with new_trace(BatchTrace, size) as trace:
        tracers = [x if ax is None else BatchTracer(trace, x, ax)
                   for x, ax in zip(flat_args, flat_axes)]
        outs = flat_fun(*tracers)
        pairs = [trace.unpack(o) for o in outs]
    return [v for v, _ in pairs], [d for _, d in pairs]


def _move_batch_axis(name, path, x, src, dst, size):
    """Put the batch axis ``src`` of output ``x`` at ``dst`` (broadcasting if unbatched)."""
    if dst is None:
        if src is None:
            return x
        raise ValueError(f"vmap({name}): out_axes is None for {path}, but that output "
                         "depends on the mapped axis; use an integer out_axes for it")
    if not _is_axis(dst):
        _axis_spec_error(f"vmap({name})", dst, "out_axes")
    aval = get_aval(x)
    ndim = aval.ndim + (src is None)
    if not -ndim <= dst < ndim:
        raise ValueError(f"vmap({name}): out_axes={dst} is out of range for {path}, "
                         f"which has {ndim} axes when batched (shape {aval.shape} per element)")
    dst = int(dst) % ndim
    if src is None:
        x = lax.broadcast_in_dim(x, (size, *aval.shape), tuple(range(1, ndim)))
        src = 0
    return lax.moveaxis(x, src, dst)


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
        raise TypeError(f"{fname} with holomorphic=True needs complex inputs, but {path} "
                        f"has dtype {dtype}; convert it with .astype(complex)")
    if dtypes.is_float(dtype) or (holomorphic and dtypes.is_complex(dtype)):
        return
    if dtypes.is_complex(dtype):
        raise TypeError(f"{fname}: {path} is complex ({dtype}); pass holomorphic=True "
                        "for a holomorphic function, or split real and imaginary parts")
    raise TypeError(f"{fname} needs floating-point inputs, but {path} has dtype {dtype}; "
                    "pass floats (e.g. 2.0 rather than 2, or x.astype(float))")


def _jac_setup(fun, argnums, args, kwargs, fname, has_aux, holomorphic, allow_int=False):
    """Flatten the differentiated arguments; ``(single, flat_fun, store, flat_dyn, in_tree)``."""
    single, nums = _argnums_tuple(argnums, len(args), fname)
    partial_fun, dyn = _partial_args(fun, args, kwargs, nums)
    flat_dyn, in_tree = tree_flatten(tuple(dyn))
    _check_leaves(flat_dyn, fname, "the arguments")
    for x, path in zip(flat_dyn, _arg_paths(nums, dyn)):
        _check_jac_input(x, fname, path, holomorphic, allow_int)
    flat_fun, store = _flatten_fun(partial_fun, in_tree, has_aux, fname)
    return single, flat_fun, store, flat_dyn, in_tree


def _assemble(store, blocks, in_tree, single, aux, has_aux):
    """``blocks[k][j]``: the block of output leaf ``k`` and input leaf ``j``."""
    per_out = [tree_unflatten(in_tree, row) for row in blocks]
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
    _check_callable(fun, "jacfwd")
    @functools.wraps(fun)
    def jac(*args, **kwargs):
        single, flat_fun, store, flat_dyn, in_tree = _jac_setup(
            fun, argnums, args, kwargs, "jacfwd", has_aux, holomorphic)
        in_avals = [get_aval(x) for x in flat_dyn]
        if not in_avals:
            outs, aux = _split_aux(store, flat_fun())
            return _assemble(store, [[] for _ in outs], in_tree, single, aux, has_aux)
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
        outs, aux = _split_aux(store, outs)
        blocks = [list(row) for row in zip(*columns)]
        return _assemble(store, blocks, in_tree, single, aux, has_aux)

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
    _check_callable(fun, "jacrev")
    @functools.wraps(fun)
    def jac(*args, **kwargs):
        single, flat_fun, store, flat_dyn, in_tree = _jac_setup(
            fun, argnums, args, kwargs, "jacrev", has_aux, holomorphic, allow_int)
        all_outs, pullback, _ = _vjp_flat(flat_fun, flat_dyn)
        outs, aux = _split_aux(store, all_outs)
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
        return _assemble(store, blocks, in_tree, single, aux, has_aux)

    return jac


jacobian = jacrev


def hessian(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False):
    """``jacfwd(jacrev(fun))``: for input shape ``I`` and scalar output, shape ``I + I``."""
    return jacfwd(jacrev(fun, argnums, has_aux=has_aux, holomorphic=holomorphic), argnums,
                  has_aux=has_aux, holomorphic=holomorphic)


def hvp(fun: Callable, primals, tangents):
    """Hessian-vector product by forward-over-reverse: ``jvp(grad(fun), primals, tangents)[1]``.

    ``primals`` and ``tangents`` are tuples with one entry per argument; the result has the
    structure of the single argument, or is a tuple for several.

    >>> import fad, fad.numpy as fnp, numpy as np
    >>> fad.hvp(lambda x: fnp.sum(x ** 3), (np.array([1.0, 2.0]),), (np.array([1.0, 0.0]),))
    array([6., 0.])
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("hvp: primals and tangents must be tuples (one entry per argument), "
                        f"got {type(primals).__name__} and {type(tangents).__name__}")
    if len(primals) != len(tangents):
        raise ValueError(f"hvp: got {len(primals)} primal(s) but {len(tangents)} tangent(s)")
    argnums = 0 if len(primals) == 1 else tuple(range(len(primals)))
    return jvp(grad(fun, argnums=argnums), tuple(primals), tuple(tangents))[1]


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

    @functools.wraps(fun)
    def make(*args, **kwargs):
        dyn_nums = tuple(i for i in range(len(args)) if i not in static)
        partial_fun, dyn = _partial_args(fun, args, kwargs, dyn_nums)
        flat, in_tree = tree_flatten(tuple(dyn))
        _check_leaves(flat, "make_jaxpr", "the arguments")
        flat_fun, store = _flatten_fun(partial_fun, in_tree, False, "make_jaxpr")
        return trace_to_jaxpr(flat_fun, [get_aval(x) for x in flat])

    return make
