"""What ``jit`` made, shown to the user: ``jit(f).lower(*args)`` and the compile log.

``Lowered`` holds the program ``jit`` runs for one call signature: ``as_text()`` prints
its jaxpr as the compiled program sees it (dead code removed), ``as_python()`` the
generated NumPy code, each line commented with the line of the user's program it came
from — for ``jit(grad(f))``, the forward pass followed by the backward pass, as
source-transformation AD tools print them. ``compile()`` returns the callable.

With ``fad.config.log_compiles`` (``FAD_LOG_COMPILES=1``) every trace is logged with its
argument types; with ``explain_cache_misses`` a trace after the first also says which
part of the signature changed since the most recent call.
"""
from __future__ import annotations

import inspect
import logging

from fad.api_util import leaf_paths
from fad.core.config import config
from fad.core.ir import ClosedJaxpr, pp_jaxpr
from fad.tree_util import tree_flatten, tree_unflatten

logger = logging.getLogger("fad")


class Lowered:
    """The program ``jit`` runs for one call signature (``jit(f).lower(*args)``).

    >>> import fad, fad.numpy as fnp
    >>> import numpy as np
    >>> lowered = fad.jit(lambda x: fnp.sin(x) * 2.0).lower(np.float64(1.0))
    >>> print(lowered.as_text())
    { lambda ; a:f64[]. let
        b:f64[] = sin a
        c:f64[] = mul b 2.0:f64[]
      in (c,) }
    >>> float(lowered.compile()(0.0))
    0.0
    """

    def __init__(self, name: str, closed: ClosedJaxpr, run, in_tree, out_tree):
        self.name = name
        self.closed = closed
        self._run = run
        self._in_tree, self._out_tree = in_tree, out_tree

    @property
    def jaxpr(self) -> ClosedJaxpr:
        """The program, as the compiled code runs it (dead equations removed)."""
        return ClosedJaxpr(self._run.jaxpr, self.closed.consts)

    def as_text(self) -> str:
        """The program's jaxpr, printed."""
        return pp_jaxpr(self._run.jaxpr)

    def as_python(self) -> str:
        """The generated Python source: one NumPy call per line, each commented with
        the user's source line it came from. Constants folded while compiling and the
        arrays the function closes over are the globals ``v0, v1, ...``."""
        return self._run.source

    def compile(self):
        """The compiled program: a function of the same arguments (static ones left
        out, as in JAX's ``Compiled``), returning the same pytree."""
        run, in_tree, out_tree = self._run, self._in_tree, self._out_tree

        def compiled(*args, **kwargs):
            from_tree = (list(args), kwargs)
            leaves = _leaves_checked(from_tree, in_tree, self.name)
            return tree_unflatten(out_tree, run(*leaves))

        compiled.as_python = self.as_python
        compiled.as_text = self.as_text
        return compiled

    def __repr__(self):
        return f"<Lowered {self.name}: {len(self._run.jaxpr.eqns)} equations>"


def _leaves_checked(tree, in_tree, name):
    leaves, got = tree_flatten(tree)
    if got != in_tree:
        raise TypeError(f"{name}: the compiled program was lowered for arguments of "
                        f"structure {in_tree}, but got {got}; lower it again for these")
    return leaves


# -- the compile log ------------------------------------------------------------------------

def log_trace(name: str, fun, args, kwargs, key, previous_key) -> None:
    """Log a trace of the jitted ``fun`` (if ``config.log_compiles`` or, for a trace
    after the first, ``config.explain_cache_misses`` asks for it)."""
    if previous_key is None:
        if config.log_compiles:
            logger.warning("fad.jit: compiling %s for %s (its first call)", name,
                           _signature_text(fun, key))
        return
    if not (config.log_compiles or config.explain_cache_misses):
        return
    why = explain_miss(fun, args, kwargs, previous_key, key)
    logger.warning("fad.jit: compiling %s for %s: %s", name, _signature_text(fun, key), why)


def _signature_text(fun, key) -> str:
    _, avals, static, static_kw = key
    parts = [a.str_short() for a in avals]
    parts += [f"{_name(fun, i)}={_shown(v)!r}" for i, v in static]
    parts += [f"{k!r}={_shown(v)!r}" for k, v in static_kw]
    return "(" + ", ".join(parts) + ")"


def explain_miss(fun, args, kwargs, old, new) -> str:
    """Which part of a jitted function's call signature ``new`` differs from ``old``
    (both ``(in_tree, avals, static, static_kw)``), named as the user wrote it."""
    old_tree, old_avals, old_static, old_kw = old
    new_tree, new_avals, new_static, new_kw = new
    if old_static != new_static or old_kw != new_kw:
        changed = [f"static argument {_name(fun, i)} was {_shown(a)}, now {_shown(b)}"
                   for (i, a), (_, b) in zip(old_static, new_static) if a != b]
        changed += [f"static argument {k!r} was {_shown(a)}, now {_shown(b)}"
                    for (k, a), (_, b) in zip(old_kw, new_kw) if a != b]
        return "; ".join(changed) or "the static arguments passed changed"
    if old_tree != new_tree:
        return (f"the pytree structure of the arguments changed from {old_tree} to "
                f"{new_tree}")
    names = _leaf_names(fun, args, kwargs, {i for i, _ in new_static},
                        {k for k, _ in new_kw})
    changed = [f"{n} was {a.str_short()}, now {b.str_short()}"
               for n, a, b in zip(names, old_avals, new_avals) if a != b]
    return "; ".join(changed) or "the signature was evicted from the cache (it keeps 64)"


def _shown(value_key):
    """The value a static argument's ``value_key`` stands for, briefly."""
    return value_key[1] if type(value_key) is tuple and len(value_key) == 2 else value_key


def _name(fun, i: int) -> str:
    try:
        params = list(inspect.signature(fun).parameters)
    except (TypeError, ValueError):
        params = []
    return repr(params[i]) if i < len(params) else str(i)


def _leaf_names(fun, args, kwargs, static_nums, static_names) -> list:
    names = []
    for i, a in enumerate(args):
        if i not in static_nums:
            names += leaf_paths(a, f"argument {_name(fun, i)}")
    for k in sorted(kwargs):   # (in the order the flattened dict's leaves come)
        if k not in static_names:
            names += leaf_paths(kwargs[k], f"argument {k!r}")
    return names


__all__ = ["Lowered", "log_trace", "explain_miss"]
