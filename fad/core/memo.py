"""``bounded_memo``: the one memo of fad's hot paths.

Shape rules and the static planning of rules (normalised parameters, result types,
transposed layouts) are pure functions of hashable, static arguments that recur: staging
and ``jit`` ask for the same few products over and over. A bounded memo keeps the answers
without growing with every shape a long run meets.
"""
from __future__ import annotations

import functools


def bounded_memo(fn=None, *, maxsize: int = 4096):
    """Memoise ``fn``, a pure function of hashable positional arguments, keeping the
    ``maxsize`` most recent answers.

    >>> @bounded_memo
    ... def square(n):
    ...     return n * n
    >>> square(3), square.cache_info().hits
    (9, 0)
    """
    if fn is None:
        return functools.partial(bounded_memo, maxsize=maxsize)
    return functools.lru_cache(maxsize=maxsize)(fn)
