"""``fad.config``: the library's few global settings.

Each option is a boolean, read from an environment variable when fad is imported
(``FAD_LOG_COMPILES=1``) and changed with ``fad.config.update(name, value)``, as in JAX;
``fad.config.<name>`` reads it.

>>> import fad
>>> fad.config.update("log_compiles", True)
>>> fad.config.log_compiles
True
>>> fad.config.update("log_compiles", False)
"""
from __future__ import annotations

import os

# name -> (default, help)
OPTIONS = {
    "log_compiles": (
        False, "log (logger 'fad', level WARNING) each time jit traces and compiles a "
        "function, with its argument types and why the cache missed"),
    "explain_cache_misses": (
        False, "log, when a jitted function is traced again, which part of its call "
        "signature changed since the last call: an argument's shape or dtype, a static "
        "argument's value, the pytree structure"),
    "jit_optimize": (
        True, "run the jaxpr passes (fad.interpreters.passes.optimize: dead code, common "
        "subexpressions, constant folding, algebraic simplification) on each program jit "
        "compiles; they keep values the same for finite inputs (x + 0 is x, also for -0.0; "
        "a product with an identity matrix is its other factor)"),
    "debug_nans": (
        False, "raise FloatingPointError at the first primitive that produces a NaN from "
        "operands without one, naming it and the user's source line: eagerly, under jit "
        "and in backward passes (slow: every result is checked, gradients are "
        "interpreted rather than staged)"),
    "debug_infs": (
        False, "the same for infinities produced from finite operands"),
}


def _env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(f"FAD_{name.upper()}")
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"the environment variable FAD_{name.upper()}={raw!r} is not a "
                     "boolean; set it to 1 or 0")


class Config:
    """fad's settings (see ``OPTIONS`` for each one's meaning)."""

    def __init__(self):
        for name, (default, _) in OPTIONS.items():
            object.__setattr__(self, name, _env_flag(name, default))
        object.__setattr__(self, "_watchers", {})

    def watch(self, name: str, callback) -> None:
        """Call ``callback()`` after each ``update`` of option ``name`` (for the parts of
        fad that act on a change: the debug checks, the compiled-program caches)."""
        self._watchers.setdefault(name, []).append(callback)

    def update(self, name: str, value) -> None:
        """Set option ``name`` to ``value`` (a bool)."""
        if name not in OPTIONS:
            raise AttributeError(f"fad.config has no option {name!r}; the options are "
                                 f"{sorted(OPTIONS)}")
        if not isinstance(value, (bool, int)) or value not in (0, 1):
            raise TypeError(f"fad.config.update({name!r}, ...) takes True or False, got "
                            f"{value!r}")
        object.__setattr__(self, name, bool(value))
        for callback in self._watchers.get(name, ()):
            callback()

    def __setattr__(self, name, value):
        raise AttributeError(f"set fad's options with fad.config.update({name!r}, value)")

    def __repr__(self):
        return "fad.config(" + ", ".join(f"{n}={getattr(self, n)}" for n in OPTIONS) + ")"


config = Config()

__all__ = ["config", "Config", "OPTIONS"]
