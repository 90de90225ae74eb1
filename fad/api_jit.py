"""``jit``: trace once per input signature, cache, run the lowered program.

Called with NumPy values (nothing being traced), a jitted function runs its cached,
lowered program. Called inside another transformation (``grad``, ``vmap``, ``jvp``, an
outer ``jit``), it binds one ``jit_p`` call carrying its cached jaxpr
(``fad.lax.control_flow.call``), which each interpreter transforms as a whole — the
JVP, batched, split and transposed programs of the body are made once and compiled — so
``grad(jit(f))`` and ``vmap(jit(f))`` run compiled code: ``jit`` composes with
everything, in both directions.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import weakref
from collections import OrderedDict
from contextvars import ContextVar
from typing import Callable

import numpy as np

from fad.core import dtypes
from fad.core.config import config
from fad.core.abstract import get_aval, native_byte_order
from fad.core.ir import ClosedJaxpr
from fad.core.trace import Tracer, eval_trace, get_current_trace
from fad.errors import StaticArgumentError
from fad.api_jit_inspect import Lowered, log_trace
from fad.interpreters.lowering import compact_constant
from fad.interpreters.passes import optimize
from fad.interpreters.lowering import lower as lower_jaxpr
from fad.interpreters.source_info import noting_sources
from fad.lax.control_flow import closed_call
from fad.core.keys import value_key
from fad.interpreters.staging import trace_to_jaxpr
from fad.tree_util import tree_flatten, tree_leaves, tree_structure, tree_unflatten

_LEAF = tree_structure(0)
# Argument types the fast cache keys on: type, shape and dtype fix the abstract value.
_FAST_ARG_TYPES = dtypes.INEXACT_SCALAR_TYPES | {
    np.ndarray, float, int, bool, complex, np.bool_, np.int8, np.int16, np.int32, np.int64,
    np.uint8, np.uint16, np.uint32, np.uint64}

CACHE_SIZE = 64   # programs kept per jitted function (and as many fast-path entries)

# Per thread and per asyncio task (a context variable, not a global flag): two threads'
# overlapping ``disable_jit()`` blocks cannot leave it set for the other.
_JIT_DISABLED: ContextVar[bool] = ContextVar("fad_jit_disabled", default=False)

# ``jit_disabled()``: whether this code runs inside a ``disable_jit()`` block (read by
# ``jit`` and the staged gradients). The ContextVar's own ``get``, bound: this is read on
# every staged ``grad`` call, and a Python wrapper would add a frame.
jit_disabled = _JIT_DISABLED.get

_INT64_MIN, _INT64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)


@contextlib.contextmanager
def disable_jit():
    """Within this block ``jit`` runs its function eagerly (for debugging with print),
    and gradients are interpreted rather than staged. The setting belongs to the thread
    (or asyncio task) that opened the block.

    >>> import fad
    >>> with fad.disable_jit():
    ...     fad.jit(lambda x: print("eager:", x) or x)(1.0)
    eager: 1.0
    1.0
    """
    token = _JIT_DISABLED.set(True)
    try:
        yield
    finally:
        _JIT_DISABLED.reset(token)


class _LRUCache(OrderedDict):
    """A dict of at most ``size`` entries that forgets the least recently used one (a hit
    is marked used with ``move_to_end``)."""

    __hash__ = object.__hash__   # (by identity: kept in a WeakSet of every cache)

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def store(self, key, entry):
        self[key] = entry
        if len(self) > self.size:
            self.popitem(last=False)


def _static_key(value, where):
    """``value``, a static argument, as a cache key: by type and value (``value_key``), so
    that ``2`` and ``2.0``, ``1`` and ``True``, which are ``==``, trace separately, and a
    NaN finds its own entry again."""
    try:
        hash(value)
    except TypeError:
        raise StaticArgumentError(
            f"jit: {where} is static, so it must be hashable, but it is a "
            f"{type(value).__name__} holding an unhashable value; pass a tuple instead of "
            "a list (of numbers, not arrays), or make it a non-static (array) "
            "argument") from None
    return value_key(value)


def _has_big_int(leaves) -> bool:
    """Whether a leaf is a Python int outside int64, the type ``jit`` traces Python ints
    as (NumPy would fail later, with a message naming neither the argument nor the fix)."""
    for x in leaves:
        if isinstance(x, int) and not _INT64_MIN <= x <= _INT64_MAX:
            return True
    return False


def _int_overflow_error(args, kwargs, nums, static_names) -> OverflowError:
    """The error for the first dynamic argument holding a Python int outside int64."""
    named = [(f"argument {i}", a) for i, a in enumerate(args) if i not in nums]
    named += [(f"keyword argument {k!r}", v) for k, v in kwargs.items()
              if k not in static_names]
    where, big = next((where, x) for where, value in named for x in tree_leaves(value)
                      if _has_big_int([x]))
    return OverflowError(
        f"jit: {where} is the Python int {big}, too large to convert to int64 (jit "
        "traces Python ints as int64); pass it as a static argument (static_argnums or "
        "static_argnames), or as a float or an np.uint64 array")


def jit(fun: Callable, static_argnums=(), static_argnames=()):
    """Compile ``fun``: trace it once per input signature (pytree structure, shapes,
    dtypes, types and values of static arguments), cache the program, and run it.

    As in JAX, what the function reads besides its arguments is captured when it is
    traced: arrays it closes over are copied then, so writing into them later does not
    change what the compiled program computes (other transformations read them by
    reference). Static arguments are told apart by type as well as value (``2`` and
    ``2.0``, ``1`` and ``True`` trace separately). Python ints are traced as int64; a
    larger one raises ``OverflowError`` (pass it as a static argument, or as a float).

    Each jitted function keeps its ``CACHE_SIZE`` (64) most recently used programs;
    ``jitted.clear_cache()`` forgets them all.

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
    static_nums, static_names = infer_static_args(fun, static_nums, static_names)
    cache = _LRUCache(CACHE_SIZE)
    name = getattr(fun, "__name__", "function")
    # Arrays and scalars in, no static arguments, at the top level: the common call goes
    # by a cheaper key (types, shapes, dtypes) to the lowered program.
    fast_cache = _LRUCache(CACHE_SIZE)
    fast_ok = not static_nums and not static_names

    @functools.wraps(fun)
    def jitted(*args, **kwargs):
        if _JIT_DISABLED.get():
            return fun(*args, **kwargs)
        if fast_ok and not kwargs:
            key = tuple([(a.shape, a.dtype) if type(a) is np.ndarray else type(a)
                         for a in args])
            entry = fast_cache.get(key)
            if entry is not None and get_current_trace() is eval_trace:
                fast_cache.move_to_end(key)
                run, out_tree, single, takes_ints = entry
                if takes_ints and _has_big_int(args):
                    raise _int_overflow_error(args, {}, (), ())
                outs = run(*args)
                return outs[0] if single else tree_unflatten(out_tree, outs)
        key, leaves, nums = _signature(args, kwargs, static_nums, static_names)
        entry = cache.get(key)
        if entry is not None:
            cache.move_to_end(key)
        else:
            log_trace(name, fun, args, kwargs, key, next(reversed(cache), None))
            entry = _trace(fun, args, kwargs, nums, static_names, key[0], key[1])
            if not any(isinstance(c, Tracer) for c in entry[0].consts):
                cache.store(key, entry)  # a program closing over tracers is used once
        closed, out_tree, run = entry
        if run is not None and get_current_trace() is eval_trace and not any(
                isinstance(x, Tracer) for x in leaves):
            if fast_ok and not kwargs and key in cache and all(
                    type(a) in _FAST_ARG_TYPES for a in args) and all(
                    a is b for a, b in zip(args, leaves)):   # (none made native)
                # (the key fixes the number of arguments: the unchecked entry will do)
                fast_key = tuple([(a.shape, a.dtype) if type(a) is np.ndarray else type(a)
                                  for a in args])
                fast_cache.store(fast_key, (run.straight, out_tree, out_tree == _LEAF,
                                            int in fast_key))
            outs = run(*leaves)
        else:   # inside another transformation: one call, which each trace handles whole
            outs = closed_call(closed, leaves, name)
        return tree_unflatten(out_tree, outs)

    def clear_cache():
        """Forget every program traced so far (the next call traces again)."""
        cache.clear()
        fast_cache.clear()

    def lower(*args, **kwargs) -> Lowered:
        """The program this function runs for ``args``, to read (``as_text()``,
        ``as_python()``: the generated code, each line commented with the source line
        it came from) or to call (``compile()``). It is traced again, noting the source
        lines (the cached program, traced without them, is not used)."""
        key, _, nums = _signature(args, kwargs, static_nums, static_names)
        with noting_sources() as notes:
            closed, out_tree, _ = _trace(fun, args, kwargs, nums, static_names, key[0],
                                         key[1], lowered=False)
        return Lowered(name, closed, lower_jaxpr(closed, notes), key[0], out_tree)

    _all_caches.add(cache)
    _all_caches.add(fast_cache)
    jitted._cache, jitted._fast_cache = cache, fast_cache
    jitted.clear_cache = clear_cache
    jitted.lower = lower
    return jitted


def _signature(args, kwargs, static_nums, static_names):
    """The cache key of a call (the pytree structure of the dynamic arguments, their
    types, the static arguments' values), the dynamic arguments' leaves (in native
    byte order) and the positions of the static arguments."""
    nargs = len(args)
    nums = tuple(sorted({n % nargs for n in static_nums if -nargs <= n < nargs}))
    static = tuple((i, _static_key(args[i], f"argument {i}")) for i in nums)
    static_kw = tuple(sorted((k, _static_key(v, f"keyword argument {k!r}"))
                             for k, v in kwargs.items() if k in static_names))
    dyn_args = [a for i, a in enumerate(args) if i not in nums]
    dyn_kwargs = {k: v for k, v in kwargs.items() if k not in static_names}
    leaves, in_tree = tree_flatten((dyn_args, dyn_kwargs))
    leaves = [native_byte_order(x) for x in leaves]   # (big-endian arrays from files)
    if _has_big_int(leaves):
        raise _int_overflow_error(args, kwargs, nums, static_names)
    avals = tuple(get_aval(x) for x in leaves)
    return (in_tree, avals, static, static_kw), leaves, nums


# Every jitted function's caches, emptied when a debug check is switched on or off (its
# programs are compiled with or without the checks).
_all_caches: weakref.WeakSet = weakref.WeakSet()


def _clear_all_caches() -> None:
    for cache in list(_all_caches):
        cache.clear()


config.watch("debug_nans", _clear_all_caches)
config.watch("debug_infs", _clear_all_caches)


def infer_static_args(fun, nums, names, api: str = "jit"):
    """Complete ``static_argnums`` with the positions of the ``static_argnames`` and vice
    versa (from ``fun``'s signature), so that a static argument stays static whether it
    is passed by position or by keyword; out-of-range numbers and unknown names raise a
    ``ValueError`` naming ``api`` (``jit``, ``make_jaxpr``).

    >>> infer_static_args(lambda x, n: x * n, (-1,), ())
    ((1,), ('n',))
    """
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
                raise StaticArgumentError(
                    f"{api}: static_argnums={nums} but the function takes "
                    f"{len(positional)} positional argument(s)")
        nums = [n % len(positional) for n in nums]   # negative: from the signature's end
    if not any(p.kind == kinds.VAR_KEYWORD for p in params):
        unknown = [n for n in names if n not in named]
        if unknown:
            raise StaticArgumentError(
                f"{api}: static_argnames {unknown} are not parameters of the function (it "
                f"takes {named})")
    nums = set(nums) | {positional.index(n) for n in names if n in positional}
    names = set(names) | {positional[n] for n in nums
                          if -len(positional) <= n < len(positional) and
                          positional[n] in named}
    return tuple(sorted(nums)), tuple(sorted(names))


def _trace(fun, args, kwargs, nums, static_names, in_tree, avals, lowered=True):
    """``(closed jaxpr, output tree, its lowered program)`` (the program ``None``
    unless ``lowered``)."""
    store = {}

    def flat_fun(*leaves):
        get_current_trace().origin = ("jit", fun)   # (named by error messages)
        dyn_args, dyn_kwargs = tree_unflatten(in_tree, leaves)
        it = iter(dyn_args)
        full = [args[i] if i in nums else next(it) for i in range(len(args))]
        full_kwargs = {**{k: v for k, v in kwargs.items() if k in static_names}, **dyn_kwargs}
        out_leaves, store["tree"] = tree_flatten(fun(*full, **full_kwargs))
        return out_leaves

    closed = _snapshot_consts(trace_to_jaxpr(flat_fun, list(avals)))
    if any(isinstance(c, Tracer) for c in closed.consts):
        # It closes over values of an enclosing transformation (``x`` of ``grad(lambda
        # x: jit(lambda y: x * y)(x))``): used once, as the call that transformation
        # transforms; neither optimized nor lowered here, where no pass may compute with
        # those values.
        return closed, store["tree"], None
    if config.jit_optimize:
        closed = optimize(closed)
    return closed, store["tree"], lower_jaxpr(closed) if lowered else None


def _snapshot_consts(closed: ClosedJaxpr) -> ClosedJaxpr:
    """``closed`` with copies of the arrays it closes over, taken now, at trace time (as
    JAX captures them): the lowered program folds some of its constants and reads the
    others at each call, and both must see the same values, whatever the caller writes
    into its arrays afterwards."""
    return ClosedJaxpr(closed.jaxpr, [_snapshot(c) for c in closed.consts])


def _snapshot(c):
    """A copy of the constant ``c`` if it is an array, in native byte order (what the
    program's results are in), compacted if it is uniform (no copy then: ``ones_like(x)``
    of a large input costs one element per program)."""
    if not isinstance(c, np.ndarray):
        return c
    native = native_byte_order(c)   # (a copy, if ``c`` is big-endian)
    compact = compact_constant(native)
    return c.copy() if compact is c else compact


__all__ = ["CACHE_SIZE", "jit", "disable_jit", "infer_static_args", "jit_disabled"]
