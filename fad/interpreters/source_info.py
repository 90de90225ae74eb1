"""Which line of the user's program made each equation — noted only when asked.

Knowing, for every equation of a program, the user's source line it came from is what
``jit(f).lower(x).as_python()`` prints beside each line of the generated code, and what
``saved_residuals`` names for each value the backward pass keeps. Walking the Python
stack at every recorded equation costs more than recording it, so it is done only inside
a ``noting_sources()`` block: a staging trace made there records into a ``NotingEqns``
list, whose ``append`` notes the line; everywhere else the list is a plain ``list`` and
recording pays nothing.

Where an equation comes from:

- recorded while the user's code runs (the primal operations, and the tangent operations
  their JVP rules record): the innermost frame outside the fad package;
- recorded while fad interprets an equation it recorded before (the transpose of a
  linear equation in the backward pass, the body of a ``scan`` being transformed): that
  equation's line. The interpreter's frame is found on the stack by its local ``eqn`` or
  ``outvars`` (``eval_jaxpr``, ``backward_pass``), so no interpreter pays for the notes.
"""
from __future__ import annotations

import contextlib
import os
import sys
from contextvars import ContextVar

from fad.core.ir import JaxprEqn, Var

_FAD_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

# The notes of the innermost ``noting_sources()`` block (Var -> "file:line (function)"),
# or None outside one.
_NOTES: ContextVar[dict | None] = ContextVar("fad_source_notes", default=None)


# While ``debug_nans``/``debug_infs`` is on, every trace notes sources here (so that the
# error can name the line), a bounded table: cleared when it grows past _MAX_NOTES.
_DEBUG_NOTES: dict | None = None
_MAX_NOTES = 200_000


def note_all_sources(on: bool) -> None:
    """Note every equation's source from now on (``on``), or stop."""
    global _DEBUG_NOTES
    _DEBUG_NOTES = {} if on else None


def noted_sources() -> dict:
    """The notes taken while the debug checks are on (empty otherwise)."""
    return _debug_notes()


def _debug_notes() -> dict:
    notes = _DEBUG_NOTES
    if notes is None:
        return {}
    if len(notes) > _MAX_NOTES:
        notes.clear()
    return notes


def new_eqn_list() -> list:
    """The list a staging trace records its equations into: a ``NotingEqns`` inside a
    ``noting_sources()`` block (or while the debug checks are on), a plain list
    otherwise."""
    notes = _NOTES.get()
    if notes is None:
        if _DEBUG_NOTES is None:
            return []
        notes = _debug_notes()
    return NotingEqns(notes)


class NotingEqns(list):
    """A list of equations that notes, as each is appended, where it came from."""

    __slots__ = ("notes",)

    def __init__(self, notes: dict):
        super().__init__()
        self.notes = notes

    def append(self, eqn):
        super().append(eqn)
        where = _origin(self.notes, sys._getframe(1))
        for v in eqn.outvars:
            self.notes.setdefault(v, where)
        if not eqn.outvars:   # (an effect: ``fad.debug.print``)
            self.notes[id(eqn)] = where


@contextlib.contextmanager
def noting_sources():
    """Within this block, staging traces note each equation's source line; yields the
    notes, a dict from each result variable to ``"file:line (function)"``."""
    notes = {}
    token = _NOTES.set(notes)
    try:
        yield notes
    finally:
        _NOTES.reset(token)


def _origin(notes: dict, frame) -> str:
    """The source line of an equation being recorded from ``frame``: the equation fad
    is interpreting there, if that one is noted, else the first frame of user code."""
    while frame is not None:
        if not frame.f_code.co_filename.startswith(_FAD_DIR):
            code = frame.f_code
            return f"{os.path.basename(code.co_filename)}:{frame.f_lineno} ({code.co_name})"
        where = _interpreted_origin(notes, frame.f_locals)
        if where is not None:
            backward = frame.f_code.co_name == "backward_pass" and not where.startswith(
                "backward")
            return f"backward pass of {where}" if backward else where
        frame = frame.f_back
    return "fad"


def current_origin(notes: dict | None = None) -> str:
    """Where the operation running now comes from (see ``_origin``), for errors raised
    while it runs (``debug_nans``)."""
    return _origin(notes if notes is not None else _debug_notes(), sys._getframe(1))


def _interpreted_origin(notes: dict, local_vars: dict):
    eqn = local_vars.get("eqn")
    outvars = eqn.outvars if type(eqn) is JaxprEqn else local_vars.get("outvars")
    if type(outvars) is list and outvars and type(outvars[0]) is Var:
        return notes.get(outvars[0])
    return None


def source_of(notes: dict, eqn) -> str | None:
    """The noted source line of ``eqn``, or None."""
    return notes.get(eqn.outvars[0] if eqn.outvars else id(eqn))


__all__ = ["noting_sources", "new_eqn_list", "NotingEqns", "source_of", "current_origin",
           "note_all_sources", "noted_sources"]
