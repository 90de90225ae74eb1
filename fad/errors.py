"""The exceptions fad raises for misuse: one class per family, each with its fixes.

Every class is also the builtin exception a user would catch, and the one JAX raises for
the same mistake (``TypeError`` or ``ValueError``); where fad used to raise the other
builtin for a family, the class is both, so that old ``except`` clauses still catch it.
The messages speak of transformations ("under jit", "under vmap", "while recording for
grad"), never of fad's internal classes, and name the user's function, argument or
source line where fad knows it.

>>> import fad, numpy as np
>>> from fad import errors
>>> try:
...     fad.vmap(lambda x: x if x > 0 else -x)(np.ones(2))
... except errors.ConcretizationTypeError as e:
...     print(type(e).__name__, isinstance(e, TypeError))
TracerBoolConversionError True
"""
from __future__ import annotations

__all__ = [
    "FadError", "ConcretizationTypeError", "TracerBoolConversionError",
    "TracerIntegerConversionError", "TracerArrayConversionError", "LostDerivativeError",
    "UnexpectedTracerError", "NotAnArrayError", "GradInputError", "GradOutputError",
    "ArgnumsError", "TangentMismatchError", "VmapError", "VmapSpecTypeError",
    "StaticArgumentError", "PytreeStructureError", "ControlFlowTypeError",
    "CustomDerivativeError",
]


class FadError(Exception):
    """Base class of fad's own errors (each is also a ``TypeError`` or ``ValueError``).

    >>> from fad.errors import FadError, ConcretizationTypeError as Error
    >>> issubclass(Error, FadError), issubclass(Error, TypeError)
    (True, True)
    """


# -- values Python needed but a transformation made abstract ------------------------------

class ConcretizationTypeError(FadError, TypeError):
    """A Python operation needed a concrete value but got an abstract tracer.

    Under ``jit``, ``make_jaxpr`` and ``vmap``, and in the bodies of ``lax.cond``,
    ``lax.scan`` and ``lax.while_loop``, values are abstract (only shape and dtype are
    known; under ``vmap`` a value stands for a whole batch), so ``if x > 0:``,
    ``bool(x)``, ``int(x)``, ``float(x)`` and shapes taken from values cannot be
    answered. The message names the function, the argument the value comes from and the
    fixes that apply to the transformation at hand::

        >>> import fad, fad.numpy as fnp, numpy as np
        >>> fad.vmap(lambda x: x if x > 0 else -x)(np.array([1.0, -2.0]))
        Traceback (most recent call last):
        ...
        fad.errors.TracerBoolConversionError: ...
        >>> fad.vmap(lambda x: fnp.where(x > 0, x, -x))(np.array([1.0, -2.0]))
        array([1., 2.])

    Fixes: compute both sides and choose elementwise with ``fad.numpy.where`` (or
    ``fad.lax.select_n``), or choose which function runs with
    ``fad.lax.cond(pred, true_fun, false_fun, *operands)``; under ``jit`` (and
    ``make_jaxpr``), ``static_argnums`` / ``static_argnames`` make an argument a
    compile-time constant; under ``vmap``, an argument that is the same for every example
    can be passed with ``in_axes=None``. Under ``grad``, ``jvp`` and ``vjp`` values are
    concrete, so Python control flow works.
    """


class TracerBoolConversionError(ConcretizationTypeError):
    """``if``, ``while``, ``and``/``or``/``not`` or ``bool()`` of an abstract value.

        >>> import fad, fad.numpy as fnp
        >>> from fad import lax
        >>> def relu(x):
        ...     if x > 0:
        ...         return x
        ...     return 0.0 * x
        >>> fad.jit(relu)(2.0)
        Traceback (most recent call last):
        ...
        fad.errors.TracerBoolConversionError: ...
        >>> float(fad.jit(lambda x: fnp.where(x > 0, x, 0.0 * x))(2.0))
        2.0
        >>> float(fad.jit(lambda x: lax.cond(x > 0, lambda v: v, lambda v: 0.0 * v, x))(2.0))
        2.0
        >>> float(fad.jit(lambda x, on: x if on else 0.0 * x, static_argnums=1)(2.0, True))
        2.0

    Fixes: ``fad.numpy.where`` / ``fad.lax.select_n`` (both sides computed, one chosen
    per element), ``fad.lax.cond`` (one branch run), ``fad.lax.while_loop`` for a
    ``while`` on a value, or (under ``jit``) a static argument for a setting.
    """


class TracerIntegerConversionError(ConcretizationTypeError):
    """``int()``, ``range()`` or list indexing (``__index__``) of an abstract value.

        >>> import fad, fad.numpy as fnp, numpy as np
        >>> fad.jit(lambda x, n: x * len(range(n)))(1.0, 3)
        Traceback (most recent call last):
        ...
        fad.errors.TracerIntegerConversionError: ...
        >>> float(fad.jit(lambda x, n: x * len(range(n)), static_argnums=1)(1.0, 3))
        3.0
        >>> table = np.array([10.0, 20.0])
        >>> float(fad.jit(lambda i: fnp.take(table, i))(1))
        20.0

    Fixes: make the integer static (``static_argnums``), index arrays with
    ``fad.numpy`` (``fnp.take``, ``fnp.asarray(table)[i]``) rather than Python lists, or
    loop with ``fad.lax.fori_loop`` over a traced bound.
    """


class TracerArrayConversionError(FadError, TypeError):
    """A tracer was converted to a NumPy array, e.g. by ``np.asarray(x)``.

    NumPy cannot follow derivatives or batch dimensions::

        >>> import fad, fad.numpy as fnp, numpy as np
        >>> fad.jit(lambda x: np.sin(np.asarray(x)))(1.0)
        Traceback (most recent call last):
        ...
        fad.errors.TracerArrayConversionError: ...
        >>> round(float(fad.jit(fnp.sin)(1.0)), 3)
        0.841

    Fix: use ``fad.numpy`` functions (or the NumPy functions fad supports through
    ``__array_function__``) on the tracer.
    """


class LostDerivativeError(ConcretizationTypeError, TracerArrayConversionError):
    """A value that carries a derivative was made a Python number or a NumPy array.

    Under ``grad``, ``jvp``, ``vjp`` and ``linearize`` a value computed from a
    differentiated input is concrete, but a Python ``float`` / ``complex`` (``float(x)``,
    ``x.item()``, ``x.tolist()``, ``math.sin(x)``, ``np.float64(x)``) or a NumPy array
    (``np.asarray(x)``) cannot carry its derivative: the gradient would silently be
    wrong, so fad raises instead::

        >>> import fad, fad.numpy as fnp
        >>> fad.grad(lambda x: float(x) * 2)(1.0)
        Traceback (most recent call last):
        ...
        fad.errors.LostDerivativeError: ...
        >>> float(fad.grad(lambda x: fnp.sin(x) * 2)(0.0))            # not math.sin
        2.0
        >>> float(fad.grad(lambda x: float(fad.stop_gradient(x)) * x)(3.0))  # on purpose
        3.0

    Fixes: keep the value an array and use ``fad.numpy`` functions, or convert
    ``fad.stop_gradient(x)`` (``fad.lax.stop_gradient``) to drop the derivative on
    purpose. ``bool()``, ``int()`` and indexing, whose derivative is zero, work.
    It is a ``ConcretizationTypeError`` (and, for the NumPy conversions it comes from, a
    ``TracerArrayConversionError``).
    """


class UnexpectedTracerError(FadError, TypeError):
    """A traced value was used after the transformation that made it had returned.

    This happens when a traced value escapes, e.g. by being stored in a global or a
    list outside the function; the message names the transformation and the function it
    was running when the value was made::

        >>> import fad
        >>> seen = []
        >>> _ = fad.grad(lambda x: seen.append(x) or x * 2)(1.0)
        >>> seen[0] + 1
        Traceback (most recent call last):
        ...
        fad.errors.UnexpectedTracerError: ...

    Fix: return the value from the transformed function instead of leaking it (as a
    second output, or as auxiliary data with ``has_aux=True``)::

        >>> fad.value_and_grad(lambda x: (x * 2, x), has_aux=True)(1.0)[0][1]
        np.float64(1.0)
    """


# -- what the transformations take and give -----------------------------------------------

class NotAnArrayError(FadError, TypeError):
    """An argument or output of a transformed function is not an array (a string, an
    object): transformations act on arrays and Python numbers, in pytrees.

        >>> import fad
        >>> fad.grad(lambda x, name: x * 2.0)(1.0, "w")
        np.float64(2.0)
        >>> fad.vmap(lambda s: s)("abc")
        Traceback (most recent call last):
        ...
        fad.errors.NotAnArrayError: ...

    Fixes: pass arrays (``np.asarray``), leave the argument out of ``argnums`` or mark
    it static (``jit``'s ``static_argnums``), or return non-array values as auxiliary
    data with ``has_aux=True``.
    """


class GradInputError(FadError, TypeError):
    """A differentiated input has a dtype with no derivative (integer, boolean), or the
    wrong kind for ``holomorphic``.

        >>> import fad, numpy as np
        >>> fad.grad(lambda x: x * 2.0)(3)
        Traceback (most recent call last):
        ...
        fad.errors.GradInputError: ...
        >>> float(fad.grad(lambda x: x * 2.0)(3.0))
        2.0
        >>> fad.grad(lambda x: x * 2.0, allow_int=True)(3).dtype
        dtype([('float0', 'V')])

    Fixes: pass floats (``3.0``, ``x.astype(float)``), ``allow_int=True`` for a
    ``float0`` zero gradient, or complex inputs with ``holomorphic=True``.
    """


class GradOutputError(FadError, TypeError):
    """The output of a differentiated function is not what the transformation needs:
    ``grad`` needs one real floating-point scalar; ``has_aux=True`` needs a pair.

        >>> import fad, fad.numpy as fnp, numpy as np
        >>> fad.grad(lambda x: x * 2.0)(np.ones(2))
        Traceback (most recent call last):
        ...
        fad.errors.GradOutputError: ...
        >>> fad.grad(lambda x: fnp.sum(x * 2.0))(np.ones(2))
        array([2., 2.])
        >>> fad.jacrev(lambda x: x * 2.0)(np.ones(2))
        array([[2., 0.],
               [0., 2.]])

    Fixes: reduce the output (``.sum()``), use ``jacrev`` / ``vjp`` for a non-scalar
    output, ``holomorphic=True`` or ``.real`` for a complex one, compute it in floating
    point, and return ``(output, aux)`` with ``has_aux=True``.
    """


class ArgnumsError(FadError, TypeError, ValueError):
    """``argnums`` is not an int or tuple of ints, names an argument the call does not
    have, or names one twice. (A ``TypeError`` as in JAX, and a ``ValueError`` as fad
    raised before.)

        >>> import fad
        >>> fad.grad(lambda x, y: x * y, argnums=2)(1.0, 2.0)
        Traceback (most recent call last):
        ...
        fad.errors.ArgnumsError: ...
        >>> fad.grad(lambda x, y: x * y, argnums=(0, 1))(1.0, 2.0)
        (np.float64(2.0), np.float64(1.0))

    Fix: count positional arguments from 0 (negative numbers count from the end), pass
    differentiated arguments positionally, and list each once.
    """


class TangentMismatchError(FadError, TypeError, ValueError):
    """A tangent (``jvp``, ``linearize``) or cotangent (``vjp``, ``linear_transpose``)
    does not match the value it belongs to: its pytree structure, shape or dtype differ.
    As in JAX, a structure or dtype mismatch is a ``TypeError`` and a shape mismatch a
    ``ValueError``; the class is both.

        >>> import fad, fad.numpy as fnp, numpy as np
        >>> fad.jvp(fnp.sin, (np.zeros(3),), (np.ones(2),))
        Traceback (most recent call last):
        ...
        fad.errors.TangentMismatchError: ...
        >>> fad.jvp(fnp.sin, (np.zeros(3),), (np.ones(3),))[1]
        array([1., 1., 1.])

    Fix: give each primal a tangent of its shape and dtype, in the same structure (a
    tuple with one entry per argument); a cotangent has the output's.
    """


class VmapError(FadError, ValueError):
    """``vmap``'s mapped axes do not fit the arguments: sizes differ, an axis is out of
    range, ``in_axes`` / ``out_axes`` do not match the arguments' or outputs' structure,
    nothing is mapped, or an output that depends on the mapped axis has
    ``out_axes=None``. The message names each argument with its shape and axis.

        >>> import fad, numpy as np
        >>> fad.vmap(lambda x, y: x * y)(np.ones(3), np.ones(2))
        Traceback (most recent call last):
        ...
        fad.errors.VmapError: ...
        >>> fad.vmap(lambda x, y: x * y, in_axes=(0, None))(np.ones(3), 2.0)
        array([2., 2., 2.])

    Fixes: map axes of one size, ``in_axes=None`` for a shared argument, one
    ``in_axes`` entry per positional argument, ``axis_size=`` when nothing is mapped.
    """


class VmapSpecTypeError(VmapError, TypeError):
    """An ``in_axes`` / ``out_axes`` entry is not an int or ``None`` (a ``TypeError``, as
    in JAX, and a ``VmapError``).

        >>> import fad, numpy as np
        >>> fad.vmap(lambda x: x, in_axes=0.5)(np.ones(2))
        Traceback (most recent call last):
        ...
        fad.errors.VmapSpecTypeError: ...
    """


class StaticArgumentError(FadError, ValueError, TypeError):
    """A static argument of ``jit`` / ``make_jaxpr`` is unhashable (a list, a dict, an
    array), or ``static_argnums`` / ``static_argnames`` name no parameter. (A
    ``ValueError`` as in JAX; also a ``TypeError``, as fad raised for unhashable ones.)

        >>> import fad
        >>> f = fad.jit(lambda x, sizes: x * len(sizes), static_argnums=1)
        >>> float(f(1.0, (2, 3)))        # a tuple, not a list
        2.0

    Fixes: pass a tuple instead of a list (a frozen dataclass instead of a dict), or
    make the argument an ordinary (traced) array argument.
    """


class PytreeStructureError(FadError, ValueError):
    """Two pytrees that must have the same structure do not (``tree_map``'s arguments,
    a prefix such as ``in_axes``, the leaves given to ``tree_unflatten``). The message
    names both structures and where they first differ.

        >>> from fad import tree_util
        >>> tree_util.tree_map(lambda a, b: a + b, {"w": 1}, {"b": 2})
        Traceback (most recent call last):
        ...
        fad.errors.PytreeStructureError: ...
        >>> tree_util.tree_map(lambda a, b: a + b, {"w": 1}, {"w": 2})
        {'w': 3}

    Fix: build both trees the same way (same container types, dict keys, lengths).
    """


class ControlFlowTypeError(FadError, TypeError):
    """The functions of ``lax.cond`` / ``switch`` / ``scan`` / ``while_loop`` /
    ``fori_loop`` do not agree on types: branches return different structures, shapes
    or dtypes, a loop body changes its carry's, a predicate is not a boolean scalar.

        >>> import fad, numpy as np
        >>> from fad import lax
        >>> fad.jit(lambda p, x: lax.cond(p, lambda v: v, lambda v: v[:2], x))(True, np.ones(3))
        Traceback (most recent call last):
        ...
        fad.errors.ControlFlowTypeError: ...
        >>> lax.scan(lambda c, x: (c + x, c), 0.0, np.ones(3))[0]
        np.float64(3.0)

    Fixes: make every branch return the same structure of the same shapes and dtypes,
    keep the carry's (``.astype``, ``fad.numpy.zeros_like``), and compare to make a
    boolean scalar predicate (``x > 0``, ``fad.numpy.any(x)``).
    """


class CustomDerivativeError(FadError, TypeError):
    """A ``custom_jvp`` / ``custom_vjp`` rule returns values of the wrong structure,
    shape or dtype (``bwd`` must return a tuple with one cotangent per argument, shaped
    like it; ``fwd`` a pair ``(output, residuals)``).

        >>> import fad, numpy as np
        >>> @fad.custom_vjp
        ... def double(x):
        ...     return 2.0 * x
        >>> double.defvjp(lambda x: (double(x), None), lambda res, g: 2.0 * g)
        >>> fad.grad(double)(1.0)
        Traceback (most recent call last):
        ...
        fad.errors.CustomDerivativeError: ...
        >>> double.defvjp(lambda x: (double(x), None), lambda res, g: (2.0 * g,))
        >>> float(fad.grad(double)(1.0))
        2.0

    Fix: return ``(cotangent_x,)`` -- a tuple even for one argument -- with each entry
    shaped like its argument.
    """
