"""Fresh results at the API boundary: an array a transformation hands back never shares
memory with the caller's arrays, nor with another array it hands back, and is in native
byte order.

Inside fad arrays are shared freely, since nothing writes into an array in place: the
transpose of ``add`` gives one cotangent to both operands, ``unbroadcast`` and the
transpose of a multiplication by grad's unit seed return their operand, a reshape is a
NumPy view, a compiled program may return one of its inputs. The caller, though, may
update a result in place (``g *= lr``), so every transformation passes its results
through ``fresh_outputs`` before returning them; only what is shared gets copied. A
big-endian array the function closes over, or a cotangent given big-endian, computes as
a native one does, but a result may keep its byte order (a permutation of it): it is
converted there too (``native_dtype``).
"""
from __future__ import annotations

import numpy as np

from fad.core.abstract import native_dtype

__all__ = ["fresh_outputs"]


def _memory_owner(x):
    """The object owning the memory of array ``x``: NumPy makes a view's ``base`` the
    array that owns the data, but a view made through another object (``as_strided``'s)
    has that object as its base, hence the walk."""
    base = x.base
    while base is not None:
        x = base
        base = getattr(x, "base", None)
    return x


def _overlap(a, b) -> bool:
    """Whether arrays ``a`` and ``b`` share memory; when an exact answer would take long
    (interleaved strides), yes."""
    try:
        return np.shares_memory(a, b, max_work=_MAX_WORK)
    except np.exceptions.TooHardError:
        return True


_MAX_WORK = 1000


def fresh_outputs(outs: list, inputs) -> list:
    """``outs`` with each NumPy array that is, or is a view of, an array among ``inputs``
    (a sequence) or an earlier entry of ``outs`` replaced by a copy, and each big-endian
    array by a native copy (in place: the list is returned). Scalars and tracers are
    left alone: they are immutable and native, or not the caller's.

    Cheap when nothing is shared: a set of the inputs' memory owners, one lookup per
    array; the exact overlap test runs only for arrays with a common owner (``x[:2]``
    and ``x[2:]`` share none).

    >>> import numpy as np
    >>> x = np.ones(4)
    >>> a, b, c = fresh_outputs([x, x[:2], x[2:]], [np.zeros(1)])
    >>> a is x, np.shares_memory(a, b), np.shares_memory(b, c)
    (True, False, False)
    """
    owners = None   # ids of the memory owners of the inputs and of the results so far
    for i, out in enumerate(outs):
        if not isinstance(out, np.ndarray):
            continue
        if owners is None:   # (built only when there is an array to check)
            # (``x.base is None``: an array owning its memory, the common case, tested
            # here to save a call per array)
            owners = {id(x if x.base is None else _memory_owner(x))
                      for x in inputs if isinstance(x, np.ndarray)}
        if not out.dtype.isnative:
            out = outs[i] = out.astype(native_dtype(out.dtype))
        owner = out if out.base is None else _memory_owner(out)
        if id(owner) in owners and _overlaps_any(out, owner, [*inputs, *outs[:i]]):
            out = outs[i] = out.copy()
            owner = out
        owners.add(id(owner))
    return outs


def _overlaps_any(out, owner, others):
    """Whether array ``out``, whose memory ``owner`` holds, overlaps one of ``others``."""
    return any(isinstance(x, np.ndarray) and _memory_owner(x) is owner and _overlap(out, x)
               for x in others)
