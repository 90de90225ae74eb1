"""``jit``: trace once per input signature, cache, run the lowered program.

Called with NumPy values (nothing being traced), a jitted function runs its cached,
lowered program. Called inside another transformation (``grad``, ``vmap``, ``jvp``, an
outer ``jit``), it evaluates its cached jaxpr with the current trace, which transforms
it like any other program: ``jit`` composes with everything, in both directions.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
from typing import Callable

import numpy as np

from fad.core import dtypes
from fad.core.abstract import get_aval
from fad.core.trace import Tracer, eval_trace, get_current_trace
from fad.interpreters.eval import eval_jaxpr
from fad.interpreters.lowering import lower
from fad.interpreters.staging import trace_to_jaxpr
from fad.tree_util import tree_flatten, tree_structure, tree_unflatten

_LEAF = tree_structure(0)
# Argument types the fast cache keys on: type, shape and dtype fix the abstract value.
_FAST_ARG_TYPES = dtypes.INEXACT_SCALAR_TYPES | {
    np.ndarray, float, int, bool, complex, np.bool_, np.int8, np.int16, np.int32, np.int64,
    np.uint8, np.uint16, np.uint32, np.uint64}

_jit_disabled = [False]


@contextlib.contextmanager
def disable_jit():
    """Within this block ``jit`` runs its function eagerly (for debugging with print)."""
    prev, _jit_disabled[0] = _jit_disabled[0], True
    try:
        yield
    finally:
        _jit_disabled[0] = prev


def _static_key(value, where):
    try:
        hash(value)
    except TypeError:
        raise TypeError(f"jit: {where} is static, so it must be hashable, but it is a "
                        f"{type(value).__name__}; pass a tuple instead of a list, or make "
                        "it a non-static (array) argument") from None
    return value


def jit(fun: Callable, static_argnums=(), static_argnames=()):
    """Compile ``fun``: trace it once per input signature (pytree structure, shapes,
    dtypes, values of static arguments), cache the program, and run it.

    >>> import fad, fad.numpy as fnp
    >>> f = fad.jit(lambda x: fnp.sin(x) * 2.0)
    >>> float(f(0.0))
    0.0
    """
    if not callable(fun):
        raise TypeError(f"jit expects a callable, got {type(fun).__name__} ({fun!r:.60})")
    static_nums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    static_names = ((static_argnames,) if isinstance(static_argnames, str)
                    else tuple(static_argnames))
    static_nums, static_names = _infer_static(fun, static_nums, static_names)
    cache = {}
    # Arrays and scalars in, no static arguments, at the top level: the common call goes
    # by a cheaper key (types, shapes, dtypes) to the lowered program.
    fast_cache = {}
    fast_ok = not static_nums and not static_names

    @functools.wraps(fun)
    def jitted(*args, **kwargs):
        if _jit_disabled[0]:
            return fun(*args, **kwargs)
        if fast_ok and not kwargs:
            key = tuple([(a.shape, a.dtype) if type(a) is np.ndarray else type(a)
                         for a in args])
            entry = fast_cache.get(key)
            if entry is not None and get_current_trace() is eval_trace:
                run, out_tree, single = entry
                outs = run(*args)
                return outs[0] if single else tree_unflatten(out_tree, outs)
        nargs = len(args)
        nums = tuple(sorted({n % nargs for n in static_nums if -nargs <= n < nargs}))
        static = tuple((i, _static_key(args[i], f"argument {i}")) for i in nums)
        static_kw = tuple(sorted((k, _static_key(v, f"keyword argument {k!r}"))
                                 for k, v in kwargs.items() if k in static_names))
        dyn_args = [a for i, a in enumerate(args) if i not in nums]
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in static_names}
        leaves, in_tree = tree_flatten((dyn_args, dyn_kwargs))
        avals = tuple(get_aval(x) for x in leaves)
        key = (in_tree, avals, static, static_kw)
        entry = cache.get(key)
        if entry is None:
            entry = _trace(fun, args, kwargs, nums, static_names, in_tree, avals)
            if not any(isinstance(c, Tracer) for c in entry[0].consts):
                cache[key] = entry  # a program closing over tracers is used once
        closed, out_tree, run = entry
        if get_current_trace() is eval_trace and not any(isinstance(x, Tracer) for x in leaves):
            if fast_ok and not kwargs and key in cache and all(
                    type(a) in _FAST_ARG_TYPES for a in args):
                # (the key fixes the number of arguments: the unchecked entry will do)
                fast_cache[tuple([(a.shape, a.dtype) if type(a) is np.ndarray else type(a)
                                  for a in args])] = (run.straight, out_tree, out_tree == _LEAF)
            outs = run(*leaves)
        else:
            outs = eval_jaxpr(closed.jaxpr, closed.consts, *leaves)
        return tree_unflatten(out_tree, outs)

    jitted._cache = cache
    return jitted


def _infer_static(fun, nums, names):
    """Complete ``static_argnums`` with the positions of the ``static_argnames`` and vice
    versa (from ``fun``'s signature), so that a static argument stays static whether it
    is passed by position or by keyword; out-of-range numbers and unknown names raise."""
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):   # builtins without a signature: take them as given
        return nums, names
    kinds = inspect.Parameter
    positional = [p.name for p in params
                  if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)]
    named = [p.name for p in params
             if p.kind in (kinds.POSITIONAL_OR_KEYWORD, kinds.KEYWORD_ONLY)]
    if not any(p.kind == kinds.VAR_POSITIONAL for p in params):
        for n in nums:
            if not -len(positional) <= n < len(positional):
                raise ValueError(f"jit: static_argnums={nums} but the function takes "
                                 f"{len(positional)} positional argument(s)")
        nums = [n % len(positional) for n in nums]   # negative: from the signature's end
    if not any(p.kind == kinds.VAR_KEYWORD for p in params):
        unknown = [n for n in names if n not in named]
        if unknown:
            raise ValueError(f"jit: static_argnames {unknown} are not parameters of the "
                             f"function (it takes {named})")
    nums = set(nums) | {positional.index(n) for n in names if n in positional}
    names = set(names) | {positional[n] for n in nums
                          if -len(positional) <= n < len(positional) and
                          positional[n] in named}
    return tuple(sorted(nums)), tuple(sorted(names))


def _trace(fun, args, kwargs, nums, static_names, in_tree, avals):
    store = {}

    def flat_fun(*leaves):
        dyn_args, dyn_kwargs = tree_unflatten(in_tree, leaves)
        it = iter(dyn_args)
        full = [args[i] if i in nums else next(it) for i in range(len(args))]
        full_kwargs = {**{k: v for k, v in kwargs.items() if k in static_names}, **dyn_kwargs}
        out_leaves, store["tree"] = tree_flatten(fun(*full, **full_kwargs))
        return out_leaves

    closed = trace_to_jaxpr(flat_fun, list(avals))
    return closed, store["tree"], lower(closed)


__all__ = ["jit", "disable_jit"]
