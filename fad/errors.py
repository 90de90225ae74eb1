"""The exceptions fad raises for misuse, one class per family, each with its fixes."""
from __future__ import annotations


class FadError(Exception):
    """Base class of fad's own errors."""


class UnexpectedTracerError(FadError):
    """A tracer was used after the transformation that made it had returned.

    This happens when a traced value escapes, e.g. by being stored in a global or a
    list outside the function, or returned from ``vmap``'s function through a side
    channel::

        seen = []
        fad.grad(lambda x: seen.append(x) or x * 2)(1.0)
        seen[0] + 1      # UnexpectedTracerError

    Fix: return the value from the transformed function instead of leaking it.
    """


class ConcretizationTypeError(FadError, TypeError):
    """A Python operation needed a concrete value but got an abstract tracer.

    Under ``jit`` and ``vmap`` values are abstract (only shape and dtype are known), so
    ``if x > 0:``, ``bool(x)``, ``int(x)`` and ``float(x)`` cannot be answered. Fixes:
    ``fad.lax.cond`` / ``fad.numpy.where`` / ``fad.lax.select`` for data-dependent
    choices, or ``static_argnums`` to make the value a compile-time constant.
    """


class TracerArrayConversionError(FadError, TypeError):
    """A tracer was converted to a NumPy array, e.g. by ``np.asarray(x)``.

    NumPy cannot follow derivatives or batch dimensions. Use ``fad.numpy`` functions
    (or the NumPy functions fad supports through ``__array_function__``) on the tracer.
    """
