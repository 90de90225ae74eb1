"""The user-facing transformations: pytrees, argnums, checks and errors around the
flat interpreters in ``fad.interpreters``."""
from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy as np

from fad import lax, tree_util
from fad.core import dtypes
from fad.core.abstract import ShapedArray, get_aval
from fad.core.ad_util import Zero, instantiate, tangent_aval, zeros_like_aval
from fad.core.ir import ClosedJaxpr
from fad.core.trace import Tracer, new_trace
from fad.interpreters.batching import BatchTrace, BatchTracer
from fad.interpreters.eval import eval_jaxpr
from fad.interpreters.jvp import jvp_flat
from fad.interpreters.partial_eval import linearize_flat
from fad.interpreters.staging import StagingTrace, trace_to_jaxpr
from fad.interpreters.transpose import UndefinedPrimal, backward_pass
from fad.tree_util import tree_flatten, tree_map, tree_structure, tree_unflatten

__all__ = ["jvp", "linearize", "vjp", "grad", "value_and_grad", "linear_transpose",
           "jacfwd", "jacrev", "hessian", "hvp", "vmap", "make_jaxpr", "eval_jaxpr",
           "stop_gradient"]


# -- flattening helpers -------------------------------------------------------------------------

def _check_leaves(leaves, fname: str, what: str):
    for i, x in enumerate(leaves):
        if isinstance(x, (np.ndarray, np.generic, Tracer, bool, int, float, complex)):
            continue
        if isinstance(x, (list, tuple)):  # cannot happen for flattened leaves; defensive
            continue
        try:
            get_aval(x)
        except TypeError:
            raise TypeError(
                f"{fname}: {what} contains a value of type {type(x).__name__} ({x!r:.60}), "
                "which is not an array. Pass NumPy arrays or Python scalars (in tuples, "
                "lists, dicts or registered pytrees), or mark the argument static.") from None


def _flatten_fun(fun, in_tree, has_aux=False, fname="function"):
    """Wrap ``fun`` to take and return flat lists; ``store`` receives the output tree.

    With ``has_aux`` the auxiliary leaves are appended to the outputs, so that the
    transformation unpacks them like outputs (no tracer escapes through them); split them
    off again with ``_split_aux``."""
    store = {"n_aux": 0}

    def flat_fun(*flat_args):
        out = fun(*tree_unflatten(in_tree, flat_args))
        aux_leaves = []
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError(f"{fname} with has_aux=True needs the function to return a "
                                f"pair (output, auxiliary data), got {type(out).__name__}")
            out, aux = out
            aux_leaves, store["aux_tree"] = tree_flatten(aux)
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
    return main, tree_unflatten(store["aux_tree"], aux)


def _argnums_tuple(argnums, nargs, fname):
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    for a in nums:
        if not isinstance(a, int):
            raise TypeError(f"{fname}: argnums must be an int or a tuple of ints, got {argnums!r}")
        if not -nargs <= a < nargs:
            raise ValueError(f"{fname}: argnums={argnums!r} but the function was called with "
                             f"{nargs} positional argument(s)")
    return single, tuple(a % nargs for a in nums)


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
    for i, (p, t) in enumerate(zip(flat_primals, flat_tangents)):
        pa, ta = get_aval(p), get_aval(t)
        want = tangent_aval(pa)
        if pa.shape != ta.shape:
            raise ValueError(f"jvp: tangent {i} has shape {ta.shape} but its primal has "
                             f"shape {pa.shape}")
        if want.dtype == dtypes.float0 or not dtypes.is_inexact(ta.dtype):
            flat_tangents[i] = Zero(want)
        elif ta.dtype != want.dtype and not ta.weak_type:
            raise TypeError(f"jvp: tangent {i} has dtype {ta.dtype} but its primal has dtype "
                            f"{pa.dtype}; they must match")
    flat_fun, store = _flatten_fun(fun, in_tree, has_aux, "jvp")
    outs, out_tangents = jvp_flat(flat_fun, flat_primals, flat_tangents)
    outs, aux = _split_aux(store, outs)
    out_tree = store["tree"]
    result = (tree_unflatten(out_tree, outs),
              tree_unflatten(out_tree, [instantiate(t) for t in out_tangents[:len(outs)]]))
    return (*result, aux) if has_aux else result


def linearize(fun: Callable, *primals):
    """``(fun(*primals), f_jvp)``: ``f_jvp(*tangents)`` evaluates the linear map recorded
    once, without running ``fun`` again.

    >>> import fad, fad.numpy as fnp
    >>> y, f_jvp = fad.linearize(fnp.sin, 0.0)
    >>> f_jvp(3.0)
    np.float64(3.0)
    """
    flat_primals, in_tree = tree_flatten(primals)
    _check_leaves(flat_primals, "linearize", "primals")
    flat_fun, store = _flatten_fun(fun, in_tree, False, "linearize")
    outs, lin = linearize_flat(flat_fun, flat_primals)
    out_tree = store["tree"]

    def f_jvp(*tangents):
        flat_t, t_tree = tree_flatten(tangents)
        if t_tree != in_tree:
            raise ValueError(f"linearize: the linear map takes tangents of structure "
                             f"{in_tree}, got {t_tree}")
        for i, (t, aval) in enumerate(zip(flat_t, lin.in_tangent_avals)):
            if np.shape(t) != aval.shape:
                raise ValueError(f"linearize: tangent {i} has shape {np.shape(t)}, "
                                 f"expected {aval.shape}")
        flat_t = [t if aval.dtype != dtypes.float0 else zeros_like_aval(aval)
                  for t, aval in zip(flat_t, lin.in_tangent_avals)]
        return tree_unflatten(out_tree, [instantiate(t) for t in lin(*flat_t)])

    f_jvp.jaxpr = lin.jaxpr
    return tree_unflatten(out_tree, outs), f_jvp


# -- reverse mode ---------------------------------------------------------------------------

def _vjp_flat(flat_fun, flat_primals, differentiable=None):
    outs, lin = linearize_flat(flat_fun, flat_primals, differentiable)

    def pullback(flat_cts):
        cts = [ct for ct, nz in zip(flat_cts, lin.out_nonzero) if nz]
        jaxpr = lin.jaxpr
        args = [UndefinedPrimal(a) for a in lin.in_tangent_avals]
        return backward_pass(jaxpr.jaxpr, jaxpr.consts, args, cts)

    return outs, pullback, lin


def vjp(fun: Callable, *primals, has_aux: bool = False):
    """Reverse mode: ``(fun(*primals), vjp_fn)`` with ``vjp_fn(ct)`` returning a tuple
    holding the cotangent of each primal (linearize, then transpose).

    >>> import fad, fad.numpy as fnp
    >>> y, f_vjp = fad.vjp(fnp.sin, 0.0)
    >>> f_vjp(1.0)
    (np.float64(1.0),)
    """
    flat_primals, in_tree = tree_flatten(primals)
    _check_leaves(flat_primals, "vjp", "primals")
    flat_fun, store = _flatten_fun(fun, in_tree, has_aux, "vjp")
    outs, pullback, lin = _vjp_flat(flat_fun, flat_primals)
    outs, aux = _split_aux(store, outs)
    out_tree = store["tree"]
    out_avals = [get_aval(o) for o in outs]

    def vjp_fn(cotangent):
        flat_cts, ct_tree = tree_flatten(cotangent)
        if ct_tree != out_tree:
            raise ValueError(f"vjp: the cotangent must have the structure of the output, "
                             f"{out_tree}, got {ct_tree}")
        for i, (ct, aval) in enumerate(zip(flat_cts, out_avals)):
            if np.shape(ct) != aval.shape:
                raise ValueError(f"vjp: cotangent {i} has shape {np.shape(ct)} but the "
                                 f"output has shape {aval.shape}")
        cts_in = pullback(flat_cts)
        return tree_unflatten(in_tree, [instantiate(c) for c in cts_in])

    result = tree_unflatten(out_tree, outs), vjp_fn
    return (*result, aux) if has_aux else result


def _check_grad_input(x, fname, i, allow_int, holomorphic):
    dtype = get_aval(x).dtype
    if dtypes.is_float(dtype):
        if holomorphic:
            raise TypeError(f"{fname} with holomorphic=True needs complex inputs, but argument "
                            f"{i} has dtype {dtype}; convert it with .astype(complex)")
        return True
    if dtypes.is_complex(dtype):
        if not holomorphic:
            raise TypeError(f"{fname}: argument {i} is complex ({dtype}); pass holomorphic=True "
                            "to differentiate a holomorphic function, or split real and "
                            "imaginary parts")
        return True
    if allow_int:
        return False
    raise TypeError(f"{fname} needs floating-point inputs, but argument {i} has dtype {dtype}. "
                    "Pass a float (e.g. 2.0 rather than 2, or x.astype(float)), or use "
                    "allow_int=True to get a float0 zero gradient for it.")


def value_and_grad(fun: Callable, argnums=0, has_aux: bool = False,
                   holomorphic: bool = False, allow_int: bool = False):
    """A function returning ``(fun(*args), grad(fun)(*args))`` from one pass.

    >>> import fad
    >>> fad.value_and_grad(lambda x: x ** 3)(2.0)
    (np.float64(8.0), np.float64(12.0))
    """
    name = getattr(fun, "__name__", "function")

    @functools.wraps(fun)
    def value_and_grad_f(*args, **kwargs):
        single, nums = _argnums_tuple(argnums, len(args), "grad")
        partial_fun, dyn = _partial_args(fun, args, kwargs, nums)
        flat_dyn, in_tree = tree_flatten(tuple(dyn))
        _check_leaves(flat_dyn, "grad", "the arguments")
        differentiable = [_check_grad_input(x, "grad", i, allow_int, holomorphic)
                          for i, x in enumerate(flat_dyn)]
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
        if dtypes.is_complex(aval.dtype) and not holomorphic:
            raise TypeError(f"grad requires a real output, but {name} returned {aval.dtype}. "
                            "Use holomorphic=True for holomorphic functions, or take the real "
                            "part / absolute value.")
        if not dtypes.is_inexact(aval.dtype):
            raise TypeError(f"grad requires a floating-point output, but {name} returned "
                            f"{aval.dtype}")
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
    np.float64(58.0)
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
    flat_primals, in_tree = tree_flatten(primals)
    _check_leaves(flat_primals, "linear_transpose", "primals")
    in_avals = [get_aval(p).strip_weak_type() for p in flat_primals]
    flat_fun, store = _flatten_fun(fun, in_tree, False, "linear_transpose")
    closed = trace_to_jaxpr(flat_fun, in_avals)
    out_tree = store["tree"]

    def transposed(*cotangent):
        ct = cotangent[0] if len(cotangent) == 1 else cotangent
        flat_cts, ct_tree = tree_flatten(ct)
        if ct_tree != out_tree:
            raise ValueError(f"linear_transpose: cotangent structure {ct_tree} does not match "
                             f"the output structure {out_tree}")
        cts = backward_pass(closed.jaxpr, closed.consts,
                            [UndefinedPrimal(a) for a in in_avals], flat_cts)
        return tree_unflatten(in_tree, [instantiate(c) for c in cts])

    return transposed


def stop_gradient(x):
    """The identity, with a zero derivative (applied to every leaf of a pytree)."""
    return tree_map(lax.stop_gradient, x)


# -- vmap -----------------------------------------------------------------------------------

def _axis_spec_error(fname, spec, what):
    raise ValueError(f"{fname}: {what} must be an int, None, or a pytree of them matching the "
                     f"arguments, got {spec!r}")


def vmap(fun: Callable, in_axes=0, out_axes=0, axis_size: int | None = None):
    """Vectorise ``fun`` over axis ``in_axes`` of its arguments.

    ``in_axes``/``out_axes``: an int, ``None`` (not mapped), or a pytree prefix of the
    arguments/outputs holding those. Keyword arguments are passed through unmapped.

    >>> import fad, numpy as np
    >>> fad.vmap(lambda x, y: x * y, in_axes=(0, None))(np.arange(3.0), 2.0)
    array([0., 2., 4.])
    """
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
        size, flat_axes = _mapped_size(name, args, in_tree, flat_args, flat_axes, axis_size)
        flat_fun, store = _flatten_fun(lambda *a: fun(*a, **kwargs), in_tree, False, "vmap")
        outs, out_dims = _vmap_flat(flat_fun, flat_args, flat_axes, size)
        out_tree = store["tree"]
        out_struct = tree_unflatten(out_tree, [None] * len(outs))
        try:
            flat_out_axes = tree_util.broadcast_prefix(out_axes, tree_unflatten(out_tree, outs))
        except ValueError as e:
            raise ValueError(f"vmap({name}): out_axes {out_axes!r} does not match the "
                             f"output structure {out_tree}: {e}") from None
        del out_struct
        results = [_move_batch_axis(name, i, o, d, dst, size)
                   for i, (o, d, dst) in enumerate(zip(outs, out_dims, flat_out_axes))]
        return tree_unflatten(out_tree, results)

    return vmapped


def _mapped_size(name, args, in_tree, flat_args, flat_axes, axis_size):
    sizes = {}
    normalized = []
    # Describe leaves by argument index for error messages.
    arg_of_leaf = []
    for i, a in enumerate(args):
        arg_of_leaf += [i] * len(tree_util.tree_leaves(a))
    for x, ax, argi in zip(flat_args, flat_axes, arg_of_leaf):
        if ax is None:
            normalized.append(None)
            continue
        if not isinstance(ax, int):
            _axis_spec_error(f"vmap({name})", ax, "in_axes")
        shape = get_aval(x).shape
        if not -len(shape) <= ax < len(shape):
            raise ValueError(f"vmap({name}): in_axes={ax} for argument {argi} of shape {shape} "
                             f"is out of range (it has {len(shape)} axes)")
        ax %= len(shape)
        normalized.append(ax)
        sizes.setdefault(shape[ax], []).append(f"argument {argi} (shape {shape}, axis {ax})")
    if axis_size is not None:
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


def _move_batch_axis(name, i, x, src, dst, size):
    if dst is None:
        if src is None:
            return x
        raise ValueError(f"vmap({name}): out_axes is None for output {i}, but that output "
                         "depends on the mapped axis; use an integer out_axes for it")
    aval = get_aval(x)
    ndim = aval.ndim + (src is None)
    if not -ndim <= dst < ndim:
        raise ValueError(f"vmap({name}): out_axes={dst} is out of range for output {i}, "
                         f"which has {ndim} axes when batched")
    dst %= ndim
    if src is None:
        x = lax.broadcast_in_dim(x, (size, *aval.shape), tuple(range(1, ndim)))
        src = 0
    return lax.moveaxis(x, src, dst)


# -- Jacobians ------------------------------------------------------------------------------

def _std_basis(flat_avals):
    """Rows of the identity over the concatenated leaves, each leaf reshaped: a list of
    arrays of shape ``(n,) + leaf.shape``."""
    sizes = [a.size for a in flat_avals]
    n = sum(sizes)
    dtype = np.result_type(*[a.dtype for a in flat_avals]) if flat_avals else np.float64
    eye = np.eye(n, dtype=dtype)
    out, start = [], 0
    for a, s in zip(flat_avals, sizes):
        out.append(eye[:, start:start + s].reshape((n, *a.shape)).astype(a.dtype))
        start += s
    return out


def jacfwd(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False):
    """The Jacobian by forward mode: ``vmap`` of ``jvp`` over the standard basis.

    For input leaf shape ``I`` and output leaf shape ``O`` the block has shape ``O + I``.

    >>> import fad, fad.numpy as fnp, numpy as np
    >>> fad.jacfwd(fnp.sin)(np.zeros(2))
    array([[1., 0.],
           [0., 1.]])
    """
    @functools.wraps(fun)
    def jac(*args, **kwargs):
        single, nums = _argnums_tuple(argnums, len(args), "jacfwd")
        partial_fun, dyn = _partial_args(fun, args, kwargs, nums)
        flat_dyn, in_tree = tree_flatten(tuple(dyn))
        _check_leaves(flat_dyn, "jacfwd", "the arguments")
        for i, x in enumerate(flat_dyn):
            _check_jac_input(x, "jacfwd", i, holomorphic)
        in_avals = [get_aval(x) for x in flat_dyn]
        basis = _std_basis(in_avals)
        flat_fun, store = _flatten_fun(partial_fun, in_tree, has_aux, "jacfwd")

        def push(*tangents):
            return jvp_flat(flat_fun, flat_dyn, list(tangents))

        outs, out_tangents = vmap(lambda *t: _instantiated(push(*t)),
                                  out_axes=(None, -1))(*basis)
        outs, aux = _split_aux(store, outs)
        out_tangents = out_tangents[:len(outs)]
        out_tree = store["tree"]
        blocks = [_split_last(t, get_aval(o).shape, in_avals, in_tree, single)
                  for o, t in zip(outs, out_tangents)]
        result = tree_unflatten(out_tree, blocks)
        return (result, aux) if has_aux else result

    return jac


def _instantiated(pair):
    outs, tangents = pair
    return outs, [instantiate(t) for t in tangents]


def _split_last(t, out_shape, in_avals, in_tree, single):
    """Cut the trailing basis axis of ``t`` into one block per input leaf."""
    pieces, start = [], 0
    for a in in_avals:
        piece = lax.slice_in_dim(t, start, start + a.size, axis=-1)
        pieces.append(lax.reshape(piece, (*out_shape, *a.shape)))
        start += a.size
    tree = tree_unflatten(in_tree, pieces)
    return tree[0] if single else tree


def _check_jac_input(x, fname, i, holomorphic):
    dtype = get_aval(x).dtype
    if dtypes.is_float(dtype) or (holomorphic and dtypes.is_complex(dtype)):
        return
    if dtypes.is_complex(dtype):
        raise TypeError(f"{fname}: argument {i} is complex ({dtype}); pass holomorphic=True")
    raise TypeError(f"{fname} needs floating-point inputs, but argument {i} has dtype {dtype}; "
                    "pass floats (e.g. x.astype(float))")


def jacrev(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False,
           allow_int: bool = False):
    """The Jacobian by reverse mode: ``vmap`` of the VJP over the standard basis of the
    output. Same layout as ``jacfwd``.

    >>> import fad, fad.numpy as fnp, numpy as np
    >>> fad.jacrev(fnp.sin)(np.zeros(2))
    array([[1., 0.],
           [0., 1.]])
    """
    @functools.wraps(fun)
    def jac(*args, **kwargs):
        single, nums = _argnums_tuple(argnums, len(args), "jacrev")
        partial_fun, dyn = _partial_args(fun, args, kwargs, nums)
        flat_dyn, in_tree = tree_flatten(tuple(dyn))
        _check_leaves(flat_dyn, "jacrev", "the arguments")
        for i, x in enumerate(flat_dyn):
            _check_jac_input(x, "jacrev", i, holomorphic)
        flat_fun, store = _flatten_fun(partial_fun, in_tree, has_aux, "jacrev")
        outs, pullback, _ = _vjp_flat(flat_fun, flat_dyn)
        outs, aux = _split_aux(store, outs)
        out_avals = [get_aval(o) for o in outs]
        in_avals = [get_aval(x) for x in flat_dyn]
        basis = _std_basis(out_avals)
        aux_zeros = [Zero(tangent_aval(get_aval(a))) for a in tree_util.tree_leaves(aux)]
        cts = vmap(lambda *c: [instantiate(x) for x in pullback(list(c) + aux_zeros)])(*basis)
        out_tree = store["tree"]
        # cts[j] has shape (M,) + in_j.shape; cut M into one block per output leaf.
        blocks_per_out = [[] for _ in out_avals]
        for ct, a_in in zip(cts, in_avals):
            start = 0
            for k, a_out in enumerate(out_avals):
                piece = lax.slice_in_dim(ct, start, start + a_out.size, axis=0)
                blocks_per_out[k].append(lax.reshape(piece, (*a_out.shape, *a_in.shape)))
                start += a_out.size
        result = tree_unflatten(out_tree, [
            (lambda t: t[0] if single else t)(tree_unflatten(in_tree, b))
            for b in blocks_per_out])
        return (result, aux) if has_aux else result

    return jac


jacobian = jacrev


def hessian(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False):
    """``jacfwd(jacrev(fun))``: for input shape ``I`` and scalar output, shape ``I + I``."""
    return jacfwd(jacrev(fun, argnums, has_aux=has_aux, holomorphic=holomorphic), argnums,
                  has_aux=has_aux, holomorphic=holomorphic)


def hvp(fun: Callable, primals, tangents):
    """Hessian-vector product by forward-over-reverse: ``jvp(grad(fun), primals, tangents)[1]``."""
    return jvp(grad(fun, argnums=tuple(range(len(primals)))), tuple(primals),
               tuple(tangents))[1]


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
