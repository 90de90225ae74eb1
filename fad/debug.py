"""``fad.debug``: see runtime values from inside ``jit``, ``vmap``, ``grad`` and loop
bodies, where Python's ``print`` shows only tracers.

``fad.debug.print(fmt, *args, **kwargs)`` formats with ``str.format`` at run time, on
the NumPy values: under ``jit`` each call of the compiled program prints, in program
order; under ``vmap`` each lane prints its own line, labelled ``[lane i]`` (``[lane i,
j]`` for nested ``vmap``, outermost first); under ``grad`` the forward pass prints the
primal values once; inside a ``lax.scan`` body every step prints.

>>> import fad, fad.numpy as fnp
>>> def f(x):
...     fad.debug.print("x = {}", x)
...     return fnp.sin(x)
>>> _ = fad.jit(f)(0.5)
x = 0.5
>>> _ = fad.vmap(f)(fnp.array([1.0, 2.0]))
[lane 0] x = 1.0
[lane 1] x = 2.0

``fad.debug.callback(fn, *args)`` calls ``fn(*args)`` on the runtime values, the same way;
``fad.debug.breakpoint(**values)`` stops in the debugger (``sys.breakpointhook``, so
``PYTHONBREAKPOINT`` applies) with the runtime ``values`` as the local ``values``.
Finding where a NaN or an infinity is produced: ``fad.config.update("debug_nans", True)``
(see ``fad.config``).
"""
from __future__ import annotations

import builtins
import sys
from typing import Callable

from fad.lax.debug import debug_callback
from fad.tree_util import tree_flatten

__all__ = ["print", "callback", "breakpoint"]


def _lane_prefix(lanes) -> str:
    return f"[lane {', '.join(map(str, lanes))}] " if lanes else ""


def _print_callback(lanes, static, tree):
    fmt, file_name = static
    args, kwargs = tree
    file = sys.stderr if file_name == "stderr" else sys.stdout
    builtins.print(_lane_prefix(lanes) + fmt.format(*args, **kwargs), file=file)


def print(fmt: str, *args, file: str = "stdout", **kwargs) -> None:
    """Print ``fmt.format(*args, **kwargs)`` with the runtime values of ``args`` and
    ``kwargs`` (arrays, scalars, pytrees of them), also inside transformations.
    ``file`` is ``"stdout"`` or ``"stderr"``.

    >>> import numpy as np, fad, fad.debug
    >>> def f(x):
    ...     fad.debug.print('x is {}', x)
    ...     return x * 2
    ...
    >>> fad.jit(f)(1.5)
    x is 1.5
    np.float64(3.0)
    >>> _ = fad.vmap(f)(np.array([1.0, 2.0]))
    [lane 0] x is 1.0
    [lane 1] x is 2.0
    """
    if not isinstance(fmt, str):
        raise TypeError(f"fad.debug.print: the format must be a str, got "
                        f"{type(fmt).__name__}; write fad.debug.print('{{}}', value)")
    if file not in ("stdout", "stderr"):
        raise ValueError(f"fad.debug.print: file must be 'stdout' or 'stderr', got {file!r}")
    leaves, in_tree = tree_flatten((args, kwargs))
    debug_callback(_print_callback, (fmt, file), in_tree, leaves)


def _call_callback(lanes, static, tree):
    fn, pass_lanes = static
    args, kwargs = tree
    if pass_lanes:
        fn(lanes, *args, **kwargs)
    else:
        fn(*args, **kwargs)


def callback(fn: Callable, *args, pass_lanes: bool = False, **kwargs) -> None:
    """Call ``fn(*args, **kwargs)`` with the runtime values, from inside any
    transformation; its result is ignored. Under ``vmap`` it is called once per lane;
    with ``pass_lanes=True`` the lane's indices (a tuple, outermost ``vmap`` first) come
    first: ``fn(lanes, *args, **kwargs)``.

    >>> import fad, fad.numpy as fnp
    >>> seen = []
    >>> _ = fad.jit(lambda x: fad.debug.callback(seen.append, x) or x * 2)(fnp.arange(2.0))
    >>> seen
    [array([0., 1.])]
    """
    if not callable(fn):
        raise TypeError(f"fad.debug.callback: {fn!r:.60} is not callable")
    try:
        hash(fn)
    except TypeError:
        raise TypeError("fad.debug.callback: the function must be hashable (a function "
                        "or bound method, not a list or dict)") from None
    leaves, in_tree = tree_flatten((args, kwargs))
    debug_callback(_call_callback, (fn, bool(pass_lanes)), in_tree, leaves)


def _breakpoint_callback(lanes, static, tree):
    values = dict(tree[1])   # (the debugger shows this frame: ``values`` is its local)
    if lanes:
        values["lanes"] = lanes
    sys.breakpointhook()


def breakpoint(**values) -> None:   # noqa: A001 - the name JAX users know
    """Stop in the debugger at run time (inside ``jit``, ``vmap``, ``grad`` and loop
    bodies too), with the runtime values of ``values`` (name=array keyword arguments) in
    the debugger's local ``values`` (and, under ``vmap``, the lane as ``values['lanes']``,
    one stop per lane). It calls ``sys.breakpointhook``, so ``PYTHONBREAKPOINT=0``
    disables it.

    >>> import numpy as np, fad, fad.debug
    >>> from unittest import mock
    >>> stops = []
    >>> with mock.patch('sys.breakpointhook', lambda: stops.append('stopped')):
    ...     fad.jit(lambda x: (fad.debug.breakpoint(x=x), x * 2)[1])(1.5)
    ...
    np.float64(3.0)
    >>> stops
    ['stopped']
    """
    leaves, in_tree = tree_flatten(((), values))
    debug_callback(_breakpoint_callback, None, in_tree, leaves)
