"""``debug_nans`` and ``debug_infs``: stop at the first primitive that produces a NaN (or
an infinity) from operands without one, naming it and the user's source line.

Switching a check on wraps every primitive's implementation (``Primitive.impl``) in a
checking one, and switching both off restores them, so that nothing is paid while they
are off. Eager evaluation, the interpreters (the backward pass of ``grad`` included) and
constant folding all call ``impl``: they are checked. A compiled program (``jit``) is
generated with a checking call per instruction, carrying the instruction's source line
(``checking_instruction``), and the caches of compiled programs are emptied when a check
is switched, so that programs compiled before are not used. The tangent coefficients
that linearization folds with NumPy are checked where they are folded
(``scaled.coefficient_check``). Plain ``fad.numpy`` calls outside any transformation are
NumPy's own, so NumPy is set to raise (``np.seterr``) while a check is on. Every trace
notes its equations' source lines then (``source_info.note_all_sources``), and top-level
gradients are interpreted rather than staged.
"""
from __future__ import annotations

import functools

import numpy as np

from fad.core.config import config
from fad.core.primitive import registry
from fad.interpreters import scaled
from fad.interpreters.source_info import current_origin, note_all_sources

# primitive -> its implementation before the checks wrapped it
_unwrapped: dict = {}


def checks_on() -> bool:
    """Whether ``debug_nans`` or ``debug_infs`` is on."""
    return config.debug_nans or config.debug_infs


def _bad(x, nans: bool, infs: bool) -> str | None:
    """``"NaN"``/``"inf"`` if ``x`` (a NumPy value of an inexact type) holds one that is
    checked for, else None."""
    if not isinstance(x, (np.ndarray, np.generic, float, complex)):
        return None
    if isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind not in "fc":
        return None
    if nans and np.isnan(x).any():
        return "NaN"
    if infs and np.isinf(x).any():
        return "inf"
    return None


def check_results(name: str, multiple: bool, out, args, where) -> None:
    """Raise ``FloatingPointError`` if a result of ``name`` holds a NaN (or inf) that no
    operand holds. ``where`` is the source line, or a function making it."""
    nans, infs = config.debug_nans, config.debug_infs
    for x in (out if multiple else (out,)):
        bad = _bad(x, nans, infs)
        if bad is None:
            continue
        if any(_bad(a, bad == "NaN", bad == "inf") for a in args):
            return   # (passed along, not produced here)
        line = where() if callable(where) else where
        option = "debug_nans" if bad == "NaN" else "debug_infs"
        raise FloatingPointError(
            f"{option}: the primitive {name} produced {'a NaN' if bad == 'NaN' else 'an inf'}"
            f" from operands without one, at {line}. Inspect its operands there (with "
            f"fad.debug.print under jit); switch the check off with "
            f"fad.config.update({option!r}, False)")


def _checking_impl(prim, impl):
    @functools.wraps(impl)
    def checked(*args, **params):
        with np.errstate(all="ignore"):   # (the check below names more than NumPy's)
            out = impl(*args, **params)
        check_results(prim.name, prim.multiple_results, out, args, current_origin)
        return out

    # (a compiled program wraps the raw impl itself, with the instruction's line)
    checked.unchecked = getattr(impl, "unchecked", impl)
    return checked


def checking_instruction(prim, impl, where: str | None):
    """``impl`` of an instruction of a compiled program, checked, naming ``where``."""
    line = where or "a line of a compiled program"

    def checked(*args, **params):
        with np.errstate(all="ignore"):
            out = impl(*args, **params)
        check_results(prim.name, prim.multiple_results, out, args, line)
        return out

    return checked


def check_coefficient(name: str, op, a, b):
    """``op(a, b)``, a tangent coefficient the linearization folds with NumPy
    (``Scaled``: ``coef * coef``, ``p + q``), checked as if its primitive ``name`` had
    computed it."""
    with np.errstate(all="ignore"):
        out = op(a, b)
    check_results(name, False, out, (a, b), current_origin)
    return out


# NumPy's error settings before the checks changed them (None: not changed)
_numpy_errors: dict | None = None


def _switch() -> None:
    """Wrap or unwrap every primitive's impl; outside transformations ``fad.numpy`` is
    NumPy itself, so NumPy is told to raise ``FloatingPointError`` at an invalid
    operation (NaN) or at a division by zero or overflow (inf) while a check is on."""
    global _numpy_errors
    on = checks_on()
    note_all_sources(on)
    scaled.coefficient_check = check_coefficient if on else None
    if _numpy_errors is not None:
        np.seterr(**_numpy_errors)
        _numpy_errors = None
    if on:
        _numpy_errors = np.seterr(invalid="raise" if config.debug_nans else None,
                                  divide="raise" if config.debug_infs else None,
                                  over="raise" if config.debug_infs else None)
    for prim in list(registry):
        if on and prim not in _unwrapped:
            _unwrapped[prim] = prim.impl
            prim.impl = _checking_impl(prim, prim.impl)
        elif not on and prim in _unwrapped:
            prim.impl = _unwrapped.pop(prim)


def sync_with_config() -> None:
    """Apply the current ``debug_nans``/``debug_infs`` settings (from the environment
    at import, then at each ``fad.config.update``)."""
    if checks_on() or _unwrapped:
        _switch()


config.watch("debug_nans", _switch)
config.watch("debug_infs", _switch)

__all__ = ["checks_on", "check_results", "checking_instruction", "sync_with_config"]
