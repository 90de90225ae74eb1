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

    Under ``jit``, ``make_jaxpr`` and ``vmap`` values are abstract (only shape and dtype
    are known; under ``vmap`` a value stands for a whole batch), so ``if x > 0:``,
    ``bool(x)``, ``int(x)`` and ``float(x)`` cannot be answered::

        fad.vmap(lambda x: x if x > 0 else -x)(xs)       # ConcretizationTypeError
        fad.vmap(lambda x: fad.numpy.where(x > 0, x, -x))(xs)   # works

    Fixes: compute both sides and choose elementwise with ``fad.numpy.where`` (or
    ``fad.lax.select_n``), or choose which function runs with
    ``fad.lax.cond(pred, true_fun, false_fun, *operands)``; under ``jit`` (and
    ``make_jaxpr``), ``static_argnums`` /
    ``static_argnames`` make an argument a compile-time constant; under ``vmap``, an
    argument that is the same for every example can be passed with ``in_axes=None``.
    Under ``grad``, ``jvp`` and ``vjp`` values are concrete, so Python control flow works.
    """


class TracerArrayConversionError(FadError, TypeError):
    """A tracer was converted to a NumPy array, e.g. by ``np.asarray(x)``.

    NumPy cannot follow derivatives or batch dimensions. Use ``fad.numpy`` functions
    (or the NumPy functions fad supports through ``__array_function__``) on the tracer.
    """


class LostDerivativeError(ConcretizationTypeError, TracerArrayConversionError):
    """A value that carries a derivative was made a Python number or a NumPy array.

    Under ``grad``, ``jvp``, ``vjp`` and ``linearize`` a value computed from a
    differentiated input is concrete, but a Python ``float`` / ``complex`` (``float(x)``,
    ``x.item()``, ``x.tolist()``, ``math.sin(x)``, ``np.float64(x)``) or a NumPy array
    (``np.asarray(x)``) cannot carry its derivative: the gradient would silently be
    wrong, so fad raises instead::

        fad.grad(lambda x: float(x) * 2)(1.0)                      # LostDerivativeError
        fad.grad(lambda x: fad.numpy.sin(x) * 2)(1.0)              # not math.sin: works
        fad.grad(lambda x: float(fad.stop_gradient(x)) * x)(3.0)   # 3.0: dropped on purpose

    Fixes: keep the value an array and use ``fad.numpy`` functions, or convert
    ``fad.stop_gradient(x)`` (``fad.lax.stop_gradient``) to drop the derivative on
    purpose. ``bool()``, ``int()`` and indexing, whose derivative is zero, work.
    It is a ``ConcretizationTypeError`` (and, for the NumPy conversions it comes from, a
    ``TracerArrayConversionError``).
    """
