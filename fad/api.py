"""The transformations users call. Each is its interpreted version (``api_grad``,
``api_vmap``, ``api_jacobians``) behind one decision, made here and nowhere else: a call at
the top level that the staged layer takes (``fad.staged``) is recorded, replayed and
compiled; every other call is interpreted. Both give the same results, dtypes, result
types, errors and side effects; ``fad.disable_staging()`` (or ``fad.disable_jit()``)
interprets everything within a block.
"""
from __future__ import annotations

import functools
from typing import Callable

from fad import api_grad, api_jacobians, api_vmap
from fad.api_grad import eval_jaxpr, linear_transpose, linearize, make_jaxpr, stop_gradient
from fad.api_util import GradSpec, check_callable, list_argument_error
from fad.core.keys import Unkeyable, value_key
from fad.core.trace import eval_trace, get_current_trace
from fad.errors import TracerArrayConversionError
from fad.staged import staging_enabled
from fad.staged.grad import StagedGrad, StagedJacobian, StagedJvp, StagedVjp
from fad.staged.programs import NOT_STAGED
from fad.staged.recording import ProbeTrace
from fad.staged.vmap import StagedVmap, StagedVmapOfGrad

__all__ = ["jvp", "linearize", "vjp", "grad", "value_and_grad", "vmap", "jacfwd", "jacrev",
           "jacobian", "hessian", "linear_transpose", "make_jaxpr", "eval_jaxpr",
           "stop_gradient"]

def staged_or_interpreted(stager, make_interpreted: Callable, fun: Callable,
                          clearer_error: Callable | None = None) -> Callable:
    """The transformed function of ``fun``: ``stager``'s staged path for the calls it
    takes — at the top level, staging enabled, no keyword arguments, the stager not
    resting, and its ``try_call`` accepting the arguments; or, called while an outer
    stager records a function, its ``record_call`` — and the interpreted transformation
    for every other call. ``make_interpreted()`` makes that one, at the first call that
    needs it (a gradient made afresh at every step is staged at every step, so it is
    never made). ``stager`` may be ``None`` (always interpreted).
    ``clearer_error(args, err)``, if given, may replace a ``TracerArrayConversionError``
    by a clearer one (or return ``None``)."""
    if stager is None and clearer_error is None:
        return make_interpreted()
    interpreted = None

    @functools.wraps(fun)
    def transformed(*args, **kwargs):
        nonlocal interpreted
        try:
            if not kwargs and stager is not None:
                out = staged_call(stager, args)
                if out is not NOT_STAGED:
                    return out
            if interpreted is None:
                interpreted = make_interpreted()
            return interpreted(*args, **kwargs)
        except TracerArrayConversionError as err:
            clearer = None if clearer_error is None else clearer_error(args, err)
            if clearer is None:
                raise
            raise clearer from err

    transformed.stager = stager   # (``stager_of``)
    return transformed


def stager_of(fun):
    """The stager of ``fun`` if ``fun`` is a function ``staged_or_interpreted`` made, else
    ``None``. (A wrapper made by ``functools.wraps`` copies the attribute, but its
    ``__wrapped__`` is the function itself, not the stager's function.)"""
    stager = getattr(fun, "stager", None)
    if stager is None or getattr(fun, "__wrapped__", None) is not stager.fun:
        return None
    return stager


def staged_call(stager, args):
    """``stager``'s answer to a call with positional ``args``: its staged path at the top
    level (staging enabled, the stager not resting), its ``record_call`` while an outer
    stager records a function, else ``NOT_STAGED``."""
    trace = get_current_trace()
    if trace is eval_trace:
        if staging_enabled() and stager.applies():
            return stager.try_call(args)
    elif stager.record_call is not None and isinstance(trace, ProbeTrace):
        # called inside a function an outer stager records: one equation there
        return stager.record_call(trace, args)
    return NOT_STAGED


def jvp(fun: Callable, primals, tangents, has_aux: bool = False):
    """Forward-mode derivative: ``(fun(*primals), J @ tangents)``. Called at the top level
    with float arrays (a Newton-Krylov solver's products, say), staged (``fad.staged``).

    >>> import fad, fad.numpy as fnp
    >>> fad.jvp(fnp.sin, (0.0,), (2.0,))
    (np.float64(0.0), np.float64(2.0))
    """
    if not has_aux and callable(fun):
        out = staged_call(StagedJvp(fun), (primals, tangents))
        if out is not NOT_STAGED:
            return out
    return api_grad.jvp(fun, primals, tangents, has_aux)


def vjp(fun: Callable, *primals, has_aux: bool = False):
    """Reverse mode: ``(fun(*primals), vjp_fn)`` with ``vjp_fn(ct)`` returning a tuple
    holding the cotangent of each primal (linearize, then transpose). Called at the top
    level with float arrays or scalars, staged: the forward and backward programs are
    compiled from the second call of the same program on (``fad.staged.grad``).

    >>> import fad, fad.numpy as fnp
    >>> y, f_vjp = fad.vjp(fnp.sin, 0.0)
    >>> f_vjp(1.0)
    (np.float64(1.0),)
    """
    if not has_aux and callable(fun):
        out = staged_call(StagedVjp(fun), primals)
        if out is not NOT_STAGED:
            return out
    return api_grad.vjp(fun, *primals, has_aux=has_aux)


def value_and_grad(fun: Callable, argnums=0, has_aux: bool = False,
                   holomorphic: bool = False, allow_int: bool = False):
    """A function returning ``(fun(*args), grad(fun)(*args))`` from one pass.

    Called at the top level with float arrays or scalars, it records ``fun`` and runs
    the compiled gradient of the recording from the second call of the same program on
    (``fad.staged``): the same results and the same Python behaviour as interpreting it,
    at compiled speed. ``fad.disable_staging()`` turns that off.

    >>> import fad
    >>> fad.value_and_grad(lambda x: x ** 3)(2.0)
    (np.float64(8.0), np.float64(12.0))
    """
    return _gradient_function(fun, argnums, has_aux, holomorphic, True, allow_int)


def grad(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False,
         allow_int: bool = False):
    """The gradient of a scalar-output function with respect to argument(s) ``argnums``
    (staged at the top level, as ``value_and_grad`` is).

    >>> import fad
    >>> fad.grad(lambda x: x ** 4 + 3 * x ** 2 + 2 * x)(2.0)
    np.float64(46.0)
    """
    return _gradient_function(fun, argnums, has_aux, holomorphic, False, allow_int)


# The gradient functions made last, by what they compute: ``grad(loss)`` written inside a
# step function, or a vmapped lambda, made afresh at every call, is the function made the
# time before (the same behaviour: making one has no other effect) rather than a new
# stager and wrapper each time. Keyed by the function's identity (kept alive while here)
# and argnums by type and value (``True`` is not ``1``: it is refused).
_recent_gradients: dict = {}
_MAX_RECENT = 32


def _gradient_function(fun, argnums, has_aux, holomorphic, with_value, allow_int):
    """``grad`` (or, ``with_value``, ``value_and_grad``) of ``fun``: the function made
    last time for the same arguments, or a new one, staged where it applies."""
    try:   # (an int argnums, the common case, is its own key with its type)
        key = (id(fun), type(argnums), argnums if type(argnums) is int else value_key(argnums),
               has_aux, holomorphic, with_value, allow_int)
        recent = _recent_gradients.get(key)
    except (TypeError, Unkeyable):   # (argnums unhashable: made afresh, and checked)
        key = recent = None
    if recent is not None and recent[0] is fun:
        return recent[1]
    check_callable(fun, "grad")
    spec = GradSpec(fun, argnums, has_aux, holomorphic, with_value)
    interpreted = api_grad.value_and_grad if with_value else api_grad.grad
    stager = None if has_aux or holomorphic else StagedGrad(spec)
    made = staged_or_interpreted(
        stager, lambda: interpreted(fun, argnums, has_aux, holomorphic, allow_int), fun,
        lambda args, err: list_argument_error(args, argnums, err))
    if key is not None:
        if len(_recent_gradients) >= _MAX_RECENT:
            _recent_gradients.clear()
        _recent_gradients[key] = (fun, made)
    return made


def vmap(fun: Callable, in_axes=0, out_axes=0, axis_size: int | None = None):
    """Vectorise ``fun`` over axis ``in_axes`` of its arguments.

    ``in_axes``/``out_axes``: an int, ``None`` (not mapped), or a pytree prefix of the
    arguments/outputs holding those. Keyword arguments are passed through unmapped.

    Called at the top level with arrays, it records ``fun`` at each call (a gradient
    inside, ``vmap(grad(loss), in_axes=(None, 0, 0))``, as one equation) and runs a
    compiled program for the rest (``fad.staged.vmap``): the same results and the same
    Python behaviour as interpreting it, at array speed.

    >>> import fad, numpy as np
    >>> fad.vmap(lambda x, y: x * y, in_axes=(0, None))(np.arange(3.0), 2.0)
    array([0., 2., 4.])
    """
    interpreted = api_vmap.vmap(fun, in_axes, out_axes, axis_size)
    in_axes = tuple(in_axes) if isinstance(in_axes, list) else in_axes
    inner = stager_of(fun)
    stager = None
    if type(inner) is StagedGrad:   # vmap(grad(f)): the named fast path, one probe
        stager = StagedVmapOfGrad(inner, in_axes, out_axes, axis_size)
    if stager is None or stager.never:
        stager = StagedVmap(fun, in_axes, out_axes, axis_size)
    return staged_or_interpreted(None if stager.never else stager, lambda: interpreted, fun)


def jacfwd(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False):
    """The Jacobian by forward mode: ``vmap`` of ``jvp`` over the standard basis (for
    input leaf shape ``I`` and output leaf shape ``O`` the block has shape ``O + I``).
    Called at the top level on an array argument, staged (``fad.staged.grad``).

    >>> import fad, fad.numpy as fnp, numpy as np
    >>> fad.jacfwd(fnp.sin)(np.zeros(2))
    array([[1., 0.],
           [0., 1.]])
    """
    return _jacobian_function(api_jacobians.jacfwd, fun, argnums, has_aux, holomorphic)


def jacrev(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False,
           allow_int: bool = False):
    """The Jacobian by reverse mode: ``vmap`` of the VJP over the standard basis of the
    output. Called at the top level on an array argument, staged (``fad.staged.grad``).

    >>> import fad, fad.numpy as fnp, numpy as np
    >>> fad.jacrev(fnp.sin)(np.zeros(2))
    array([[1., 0.],
           [0., 1.]])
    """
    return _jacobian_function(api_jacobians.jacrev, fun, argnums, has_aux, holomorphic,
                              allow_int=allow_int)


jacobian = jacrev


def hessian(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False):
    """``jacfwd(jacrev(fun))``: for input shape ``I`` and scalar output, shape ``I + I``.
    Called at the top level on an array argument, staged (``fad.staged.grad``).

    >>> import fad, fad.numpy as fnp, numpy as np
    >>> fad.hessian(lambda x: fnp.sum(x ** 3))(np.ones(2))
    array([[6., 0.],
           [0., 6.]])
    """
    return _jacobian_function(api_jacobians.hessian, fun, argnums, has_aux, holomorphic)


def _jacobian_function(transform, fun, argnums, has_aux, holomorphic, **options):
    """``transform`` (jacfwd, jacrev or hessian of ``api_jacobians``) of ``fun``, staged
    where it applies."""
    interpreted = transform(fun, argnums, has_aux=has_aux, holomorphic=holomorphic, **options)
    stager = StagedJacobian(GradSpec(fun, argnums, has_aux, holomorphic, False), transform)
    staged = not stager.never and not any(options.values())   # (allow_int: interpreted)
    return staged_or_interpreted(stager if staged else None, lambda: interpreted, fun)
