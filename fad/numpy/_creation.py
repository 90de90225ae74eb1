"""Array creation. Constant arrays are plain NumPy arrays even inside a transformation
(they do not depend on any traced value); a traced fill value or endpoint is broadcast."""
from __future__ import annotations

import numpy as np

from fad import lax
from fad.core import doc_examples as _doc_examples
from fad.core.trace import Tracer, describe
from fad.errors import ConcretizationTypeError
from fad.numpy import _shape
from fad.numpy import _ufuncs as uf
from fad.numpy._promote import (accept_traced_sequences_in, any_traced, asarray as _asarray,
                                cast, concrete_or_none, dtype_of, operand, result_type,
                                shape_of)



def _static_shape(np_fn):
    """``np_fn`` (whose arguments are shapes and sizes), with a clear error for a traced
    shape instead of NumPy's ``TypeError`` about a sequence of integers."""
    def fn(*args, **kwargs):
        try:
            return np_fn(*args, **kwargs)
        except TypeError:
            for a in [*args, *kwargs.values()]:
                for t in (a if isinstance(a, (tuple, list)) else (a,)):
                    if isinstance(t, Tracer):
                        _concrete(t, np_fn.__name__)
            raise
    fn.__name__ = fn.__qualname__ = np_fn.__name__
    # (np.empty's values are arbitrary: its example compares shapes)
    got, want = ((f"fnp.{np_fn.__name__}(3) * x", f"np.{np_fn.__name__}(3) * 2.0")
                 if np_fn is not np.empty else
                 (f"fnp.{np_fn.__name__}(3).shape", f"np.{np_fn.__name__}(3).shape"))
    fn.__doc__ = (f"Like ``numpy.{np_fn.__name__}`` (the shape must be concrete).\n\n"
                  + _doc_examples.call_example(got, want, "2.0", exact=True) + "\n")
    return fn


zeros, ones, empty, eye, identity, tri = map(
    _static_shape, (np.zeros, np.ones, np.empty, np.eye, np.identity, np.tri))


def _shape_dtype(a, dtype, shape):
    return (shape_of(a) if shape is None else shape), (dtype_of(a) if dtype is None else dtype)


def zeros_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """Like ``numpy.zeros_like`` (a constant, also for a traced ``a``).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.zeros_like(np.array([1.5, 2.5]))
    array([0., 0.])
    """
    if not isinstance(a, Tracer):
        return np.zeros_like(a, dtype, order, subok, shape)
    return np.zeros(*_shape_dtype(a, dtype, shape))


def ones_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """Like ``numpy.ones_like`` (a constant, also for a traced ``a``).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.ones_like(np.array([[1, 2], [3, 4]]))
    array([[1, 1],
           [1, 1]])
    """
    if not isinstance(a, Tracer):
        return np.ones_like(a, dtype, order, subok, shape)
    return np.ones(*_shape_dtype(a, dtype, shape))


def empty_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """Like ``numpy.empty_like`` (zeros for a traced ``a``).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.empty_like(np.ones((2, 3))).shape
    (2, 3)
    """
    if not isinstance(a, Tracer):
        return np.empty_like(a, dtype, order, subok, shape)
    return np.zeros(*_shape_dtype(a, dtype, shape))


def full(shape, fill_value, dtype=None, order="C", *, device=None):
    """Like ``numpy.full``; ``fill_value`` may be traced (it is broadcast).

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.full((2, 2), 7)
    array([[7, 7],
           [7, 7]])
    >>> fad.grad(lambda x: fnp.full((3,), x).sum())(1.0)
    np.float64(3.0)
    """
    if not isinstance(fill_value, Tracer):
        return np.full(shape, fill_value, dtype, order)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    value = _asarray(fill_value) if dtype is None else cast(fill_value, np.dtype(dtype))
    return lax.broadcast_to(value, shape)


def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """Like ``numpy.full_like``; ``fill_value`` may be traced.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.full_like(np.array([1, 2, 3]), 5)
    array([5, 5, 5])
    """
    if not isinstance(a, Tracer) and not isinstance(fill_value, Tracer):
        return np.full_like(a, fill_value, dtype, order, subok, shape)
    shape, dtype = _shape_dtype(_asarray(a), dtype, shape)
    if not isinstance(fill_value, Tracer):
        return np.full(shape, fill_value, dtype)
    return lax.broadcast_to(cast(fill_value, np.dtype(dtype)), tuple(shape))


def _concrete(x, what):
    """The value of ``x``, a tracer giving a size or bound of ``what``'s output shape. A
    float value carrying a derivative is refused (``LostDerivativeError``): the output
    read off it would silently lose that derivative."""
    if concrete_or_none(x) is None:
        raise ConcretizationTypeError(
            f"fad.numpy.{what} needs concrete arguments (its output shape depends on them), "
            f"got {describe(x)}, which is abstract; pass Python numbers (under jit: make the "
            "argument static with static_argnums)")
    return x.concrete_number(f"fad.numpy.{what}()") if isinstance(x, Tracer) else x


def arange(start=None, stop=None, step=None, dtype=None, *, device=None, like=None):
    """Like ``numpy.arange``; the arguments must be concrete.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.arange(5)
    array([0, 1, 2, 3, 4])
    >>> fnp.arange(0.0, 1.0, 0.25)
    array([0.  , 0.25, 0.5 , 0.75])
    """
    args = [_concrete(v, "arange") if isinstance(v, Tracer) else v for v in (start, stop, step)]
    args = [a for a in args if a is not None]
    return np.arange(*args, dtype=dtype)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *,
             device=None):
    """Like ``numpy.linspace``; ``start`` and ``stop`` may be traced.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.linspace(0.0, 1.0, 5)
    array([0.  , 0.25, 0.5 , 0.75, 1.  ])
    >>> fad.grad(lambda s: fnp.linspace(0.0, s, 5).sum())(1.0)
    np.float64(2.5)
    """
    if not isinstance(start, Tracer) and not isinstance(stop, Tracer):
        return np.linspace(start, stop, num, endpoint, retstep, dtype, axis)
    num = int(_concrete(num, "linspace"))
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    start, stop = operand(start), operand(stop)   # (weak, as NumPy's linspace has them)
    dt = result_type(start, stop, float(num))
    start, stop = cast(start, dt), cast(stop, dt)
    div = (num - 1) if endpoint else num
    delta = uf.subtract(stop, start)
    nd = len(np.broadcast_shapes(shape_of(start), shape_of(stop)))
    steps = np.arange(num, dtype=dt).reshape((-1,) + (1,) * nd)
    step = uf.true_divide(delta, div) if div > 0 else np.nan
    y = uf.add(uf.multiply(steps, step if div > 0 else delta), start)
    if endpoint and num > 1:
        last = _shape.expand_dims(_shape.broadcast_to(stop, shape_of(y)[1:]), 0)
        y = _shape.concatenate([_shape.slice_axis(y, 0, num - 1, 0), last], 0)
    y = _shape.moveaxis(y, 0, axis) if axis != 0 else y
    if dtype is not None:
        if np.dtype(dtype).kind in "iu":
            y = uf.floor(y)
        y = cast(y, np.dtype(dtype))
    return (y, step) if retstep else y


def asarray(a, dtype=None, order=None, *, copy=None, device=None, like=None):
    """Like ``numpy.asarray``; tracers (and lists holding them) stay traced.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.asarray([1.0, 2.0])
    array([1., 2.])
    >>> fad.grad(lambda x: (fnp.asarray([x, x]) ** 2).sum())(3.0)
    np.float64(12.0)
    """
    if isinstance(a, Tracer) or (isinstance(a, (list, tuple)) and any_traced(a)):
        a = _asarray(a)
        return a if dtype is None else cast(a, np.dtype(dtype))
    return np.asarray(a, dtype, order, copy=copy)


def array(object, dtype=None, *, copy=True, order="K", subok=False,  # noqa: A002
          ndmin=0, like=None):
    """Like ``numpy.array``; tracers (and lists holding them) stay traced.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> fnp.array([[1, 2], [3, 4]])
    array([[1, 2],
           [3, 4]])
    >>> fad.grad(lambda x: fnp.array([x, 2 * x]).sum())(1.0)
    np.float64(3.0)
    """
    if isinstance(object, Tracer) or (isinstance(object, (list, tuple)) and any_traced(object)):
        out = asarray(object, dtype)
        if ndmin > len(shape_of(out)):
            out = lax.reshape(out, (1,) * (ndmin - len(shape_of(out))) + shape_of(out))
        return out
    return np.array(object, dtype, copy=copy, order=order, subok=subok, ndmin=ndmin)


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Like ``numpy.meshgrid``.

    >>> import numpy as np, fad, fad.numpy as fnp
    >>> xs, ys = fnp.meshgrid(np.array([1, 2, 3]), np.array([4, 5]))
    >>> xs
    array([[1, 2, 3],
           [1, 2, 3]])
    >>> ys
    array([[4, 4, 4],
           [5, 5, 5]])
    """
    if not any_traced(xi):
        return np.meshgrid(*xi, copy=copy, sparse=sparse, indexing=indexing)
    n = len(xi)
    outs = []
    for i, x in enumerate(xi):
        shape = [1] * n
        shape[i] = -1
        if indexing == "xy" and n > 1 and i < 2:
            shape[0], shape[1] = shape[1], shape[0]
        outs.append(_shape.reshape(_asarray(x), shape))
    if not sparse:
        full_shape = np.broadcast_shapes(*(shape_of(o) for o in outs))
        outs = [_shape.broadcast_to(o, full_shape) for o in outs]
    return tuple(outs)


__all__ = ["zeros", "ones", "empty", "eye", "identity", "tri", "zeros_like", "ones_like",
           "empty_like", "full", "full_like", "arange", "linspace", "asarray", "array",
           "meshgrid"]
accept_traced_sequences_in(globals())
