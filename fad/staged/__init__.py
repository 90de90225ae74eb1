"""The staged layer: top-level transformations recorded, replayed and compiled.

Called at the top level (nothing being traced), ``grad(f)(x)``, ``value_and_grad(f)(x)``
and ``vmap(grad(f))(...)`` need not pass every operation of ``f`` through the
interpreters: the staged layer records ``f`` with a probe that lets Python see exactly
what eager evaluation lets it see (``recording``), and runs the transformation of the
recording, compiled from the second time the same program is seen (``programs``), for the
same results, dtypes, result types, errors and side effects as the interpreted path.

- ``recording``: the probe (``ProbeTrace``) and replay of the last recording (``Template``);
- ``programs``: signatures of the arguments, the ``Stager`` base, the program cache;
- ``grad``, ``vmap``: the front ends (``StagedGrad``, ``StagedJacobian``, ``StagedJvp``,
  ``StagedVmap``);
- ``calls``: a transformation called inside a recording, recorded as one equation.

``fad.api`` decides, in one place (``staged_call``), whether a call is staged;
``disable_staging()`` (and ``fad.disable_jit()``) turn staging off within a block.
"""
from __future__ import annotations

import contextlib
import contextvars

from fad.api_jit import jit_disabled
from fad.core.config import config
from fad.interpreters.debug_checks import checks_on

__all__ = ["disable_staging", "staging_enabled"]

_STAGING_DISABLED = contextvars.ContextVar("fad_staging_disabled", default=False)
_staging_disabled = _STAGING_DISABLED.get   # (the variable's own method: no extra frame)


@contextlib.contextmanager
def disable_staging():
    """Within this block, top-level transformations are interpreted operation by
    operation instead of recorded, replayed and compiled (for debugging; the results are
    the same). Per thread and per task, as a context variable.

    >>> import fad
    >>> with fad.disable_staging():
    ...     fad.grad(lambda x: x * x)(3.0)
    np.float64(6.0)
    """
    token = _STAGING_DISABLED.set(True)
    try:
        yield
    finally:
        _STAGING_DISABLED.reset(token)


def staging_enabled() -> bool:
    """Whether top-level transformations may be staged here (not within
    ``disable_staging()`` or ``fad.disable_jit()``, nor while a debug check is on)."""
    return not _checks_on and not _staging_disabled() and not jit_disabled()


# Whether ``debug_nans``/``debug_infs`` is on: gradients are then interpreted, every
# operation checked where it runs (a module global, kept in step by the config).
_checks_on = False


def _follow_checks() -> None:
    global _checks_on
    _checks_on = checks_on()


config.watch("debug_nans", _follow_checks)
config.watch("debug_infs", _follow_checks)
