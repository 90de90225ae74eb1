"""``fad.scipy.optimize.minimize``: SciPy's minimizers on pytrees, with fad's derivatives.

SciPy optimizes float64 vectors; ``minimize`` ravels the pytree ``x0`` into one
(``fad.flatten_util.ravel_pytree``), hands SciPy the objective and its gradient computed
together by ``fad.jit(fad.value_and_grad(...))``, and, for the methods that use second
derivatives, the Hessian (``fad.hessian``) or Hessian-vector products (``fad.hvp``).
The answer comes back in ``x0``'s structure.

SciPy is not a dependency of fad: without it, calling ``minimize`` raises ImportError.
This is SciPy's algorithm run on concrete values (unlike ``jax.scipy.optimize``, it
cannot be called inside ``jit``/``grad``/``vmap``); ``fun`` is traced by ``fad.jit``.

>>> import numpy as np, fad.numpy as fnp
>>> def rosenbrock(p):
...     return (1.0 - p["x"]) ** 2 + 100.0 * (p["y"] - p["x"] ** 2) ** 2
>>> res = minimize(rosenbrock, {"x": -1.2, "y": 1.0}, method="BFGS")
>>> res.success, {k: round(float(v), 6) for k, v in res.x.items()}
(True, {'x': 1.0, 'y': 1.0})
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

import fad.numpy as fnp
from fad.api import hessian, jacrev, value_and_grad
from fad.api_jacobians import hvp
from fad.api_jit import jit as fad_jit
from fad.core.trace import Tracer
from fad.flatten_util import ravel_pytree
from fad.tree_util import broadcast_prefix, tree_flatten, tree_unflatten

try:
    import scipy.optimize as _scipy_optimize
except ImportError:  # SciPy is optional: minimize says how to install it when called
    _scipy_optimize = None

__all__ = ["MinimizeResult", "minimize"]

# The methods that use second derivatives: these two need the Hessian matrix, the others
# take Hessian-vector products (cheaper: no n x n matrix).
_NEEDS_HESSIAN = {"dogleg", "trust-exact"}
_TAKES_HESSP = {"newton-cg", "trust-ncg", "trust-krylov", "trust-constr"}
# These use no derivative: the default jac=True gives them none (SciPy would warn).
_DERIVATIVE_FREE = {"nelder-mead", "powell", "cobyla", "cobyqa"}


@dataclasses.dataclass(frozen=True)
class MinimizeResult:
    """What ``minimize`` found: ``x`` (in ``x0``'s structure), ``fun`` (a float), ``jac``
    (the gradient at ``x`` in ``x0``'s structure, float64; None when the method reports
    none), SciPy's ``nit``, ``nfev``, ``njev`` (None when not reported), ``success``,
    ``status``, ``message``, and ``raw``, SciPy's own ``OptimizeResult`` (flat vectors;
    ``hess_inv`` and the rest are there).

    >>> import numpy as np, fad.numpy as fnp
    >>> from fad.scipy.optimize import minimize
    >>> res = minimize(lambda x: fnp.sum((x - 2.0) ** 2), np.zeros(2), method='BFGS')
    >>> res.x.round(4), bool(res.success), type(res).__name__
    (array([2., 2.]), True, 'MinimizeResult')
    """
    x: Any
    fun: float
    jac: Any
    nit: int | None
    nfev: int | None
    njev: int | None
    success: bool
    status: int
    message: str
    raw: Any


def minimize(fun: Callable, x0: Any, args: tuple = (), *, method: str | Callable = "BFGS",
             tol: float | None = None, options: dict | None = None, bounds: Any = None,
             constraints: Any = (), callback: Callable | None = None, jac: Any = True,
             hess: Any = "auto", jit: bool = True) -> MinimizeResult:
    """Minimize the real scalar ``fun(x, *args)`` over the pytree ``x`` from ``x0`` with
    ``scipy.optimize.minimize``'s ``method`` (any name SciPy knows, or a callable).

    - ``x0``: a pytree of real numbers/arrays (ints and bools are taken as floats).
      ``fun`` sees float64 leaves, SciPy's working precision; the result ``x`` has
      ``x0``'s structure and the dtype of each floating leaf of ``x0``.
    - ``jac``: ``True`` (fad's gradient with the value in one pass; none for the
      derivative-free Nelder-Mead, Powell, COBYLA, COBYQA), ``False``/``None``
      (none: SciPy's finite differences, or a derivative-free method), a SciPy string
      (``"2-point"``, ...), or a callable ``jac(x, *args)`` returning ``x``'s structure.
    - ``hess``: ``"auto"`` gives ``dogleg`` and ``trust-exact`` the Hessian and
      ``Newton-CG``, ``trust-ncg``, ``trust-krylov``, ``trust-constr`` Hessian-vector
      products; ``"full"`` or ``"hvp"`` choose one; ``None`` neither; anything else
      (``"2-point"``, ``scipy.optimize.BFGS()``, a function of the ravelled vector) is
      SciPy's ``hess``.
    - ``bounds``: ``(lower, upper)``, each ``None`` (unbounded), a number, or a pytree
      prefix of ``x0`` (``None`` leaves unbounded, arrays broadcast to the leaf); or a
      ``scipy.optimize.Bounds`` on the ravelled vector.
    - ``constraints``: SciPy's dicts, whose ``fun(x, *args)`` takes ``x`` as a pytree
      and returns a number, an array or a pytree (ravelled); fad supplies its Jacobian
      unless the dict has a ``jac(x, *args)``, which must then return the Jacobian with
      respect to the ravelled vector. SciPy's constraint objects act on the ravelled
      vector and pass through.
    - ``callback(x)`` gets ``x`` as a pytree; ``tol`` and ``options`` are SciPy's.
    - ``jit=False`` evaluates ``fun`` and its derivatives without ``fad.jit`` (for a
      ``fun`` with Python control flow on values).

    >>> import numpy as np, fad.numpy as fnp
    >>> res = minimize(lambda w, a: fnp.sum((w - a) ** 2), np.zeros(2), (np.array([1., 2.]),),
    ...                method="L-BFGS-B", bounds=(None, 1.5))
    >>> np.round(res.x, 6)
    array([1. , 1.5])
    """
    if _scipy_optimize is None:
        raise ImportError("fad.scipy.optimize needs SciPy: pip install scipy")
    if not callable(fun):
        raise TypeError(f"minimize: fun must be callable, got {fun!r:.60}")
    leaves, treedef = tree_flatten(x0)
    if not leaves:
        raise ValueError(f"minimize: x0 has no leaves to optimize ({treedef})")
    x64 = treedef.unflatten([_as_float64(x, i) for i, x in enumerate(leaves)])
    flat0, unravel = ravel_pytree(x64)   # (one dtype, float64: unravel keeps float64)
    args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    transform = fad_jit if jit else (lambda f: f)
    meth = method.lower() if isinstance(method, str) else None
    if jac is True and meth in _DERIVATIVE_FREE:
        jac = None
    objective = _checked_objective(fun, unravel, args)
    scipy_fun, scipy_jac = _objective_and_jac(objective, jac, unravel, args, transform)
    hess_fn, hessp_fn = _second_derivatives(objective, hess, meth, transform)

    def scipy_callback(xk, *_):
        return callback(_restore(unravel(np.asarray(xk)), leaves))

    raw = _scipy_optimize.minimize(
        scipy_fun, np.array(flat0), method=method, jac=scipy_jac, hess=hess_fn,
        hessp=hessp_fn, bounds=_flat_bounds(bounds, x64), tol=tol, options=options,
        constraints=_flat_constraints(constraints, unravel, transform),
        callback=None if callback is None else scipy_callback)
    raw_jac = raw.get("jac")
    return MinimizeResult(
        x=_restore(unravel(np.asarray(raw.x, np.float64)), leaves), fun=float(raw.fun),
        jac=None if raw_jac is None or np.shape(raw_jac) != np.shape(flat0)
        else unravel(np.asarray(raw_jac, np.float64)),
        nit=raw.get("nit"), nfev=raw.get("nfev"), njev=raw.get("njev"),
        success=bool(raw.success), status=int(raw.get("status", 0)),
        message=str(raw.message), raw=raw)


def _as_float64(x: Any, i: int) -> np.ndarray:
    if isinstance(x, Tracer):
        raise TypeError("minimize: x0 holds a traced value; minimize runs SciPy on concrete "
                        "values, so it cannot be called inside jit, grad or vmap")
    value = np.asarray(x)
    if value.dtype.kind == "c":
        raise TypeError(f"minimize: x0's leaf {i} is complex ({value.dtype}); SciPy minimizes "
                        "over reals: optimize the real and imaginary parts as two leaves")
    if value.dtype.kind not in "biuf":
        raise TypeError(f"minimize: x0's leaf {i} is not a number (dtype {value.dtype})")
    return value.astype(np.float64)


def _restore(tree64: Any, leaves: list) -> Any:
    """The float64 answer in the dtype of each floating leaf of x0 (others stay float64)."""
    out, treedef = tree_flatten(tree64)
    dtypes = [np.asarray(x).dtype for x in leaves]
    return tree_unflatten(treedef, [v.astype(d) if d.kind == "f" else v
                                    for v, d in zip(out, dtypes)])


def _checked_objective(fun: Callable, unravel: Callable, args: tuple) -> Callable:
    """``fun`` on the ravelled vector, with its output checked when traced (once)."""
    def objective(z):
        out = fun(unravel(z), *args)
        shape = tuple(fnp.shape(out))
        if shape != ():
            raise TypeError(f"minimize: fun must return a real scalar, but it returned an "
                            f"array of shape {shape}; reduce it (e.g. .sum())")
        if np.iscomplexobj(out):
            raise TypeError(f"minimize: fun must return a real scalar, got {fnp.result_type(out)}")
        return out
    return objective


def _objective_and_jac(objective, jac, unravel, args, transform):
    """SciPy's ``fun`` and ``jac``: with ``jac=True`` both from one fad pass."""
    if jac is True:
        value_and_gradient = transform(value_and_grad(objective))

        def fun_and_grad(z):
            value, gradient = value_and_gradient(z)
            return float(value), np.asarray(gradient, np.float64)
        return fun_and_grad, True
    value_only = transform(objective)
    scipy_fun = lambda z: float(value_only(z))
    if callable(jac):   # the user's gradient, over pytrees
        return scipy_fun, lambda z: np.asarray(ravel_pytree(jac(unravel(z), *args))[0],
                                               np.float64)
    return scipy_fun, (None if jac is False else jac)


def _second_derivatives(objective, hess, meth, transform):
    """``(hess, hessp)`` for SciPy: fad's, or ``hess`` passed through."""
    if isinstance(hess, str) and hess == "auto":
        hess = "full" if meth in _NEEDS_HESSIAN else "hvp" if meth in _TAKES_HESSP else None
    if hess is None or hess is False:
        return None, None
    if isinstance(hess, str) and hess == "full":
        full = transform(hessian(objective))
        return (lambda z: np.asarray(full(z), np.float64)), None
    if isinstance(hess, str) and hess == "hvp":
        product = transform(lambda z, p: hvp(objective, (z,), (p,)))
        return None, lambda z, p: np.asarray(product(z, np.asarray(p, np.float64)), np.float64)
    return hess, None


def _flat_bounds(bounds, x64):
    """``(lower, upper)`` on pytrees as a ``scipy.optimize.Bounds`` on the ravelled vector."""
    if bounds is None or isinstance(bounds, _scipy_optimize.Bounds):
        return bounds
    if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
        raise TypeError("minimize: bounds must be a pair (lower, upper) of numbers or pytrees "
                        "shaped like x0 (None for unbounded), or a scipy.optimize.Bounds on "
                        f"the ravelled vector; got {bounds!r:.80}")
    leaves = tree_flatten(x64)[0]
    flat = []
    for limit, fill, name in ((bounds[0], -np.inf, "lower"), (bounds[1], np.inf, "upper")):
        try:
            per_leaf = broadcast_prefix(limit, x64)
        except ValueError as e:
            raise ValueError(f"minimize: the {name} bound is not shaped like x0 (a number, "
                             f"None, or a pytree prefix of x0): {e}") from None
        try:
            flat.append(np.concatenate([
                np.broadcast_to(np.asarray(fill if b is None else b, np.float64),
                                np.shape(x)).ravel() for b, x in zip(per_leaf, leaves)]))
        except ValueError as e:
            raise ValueError(f"minimize: a {name} bound does not broadcast to its leaf of x0: "
                             f"{e}") from None
    return _scipy_optimize.Bounds(*flat)


def _flat_constraints(constraints, unravel, transform):
    """SciPy's constraint dicts with ``fun`` (and ``jac``) moved onto the ravelled vector."""
    single = isinstance(constraints, dict)
    out = []
    for con in [constraints] if single else list(constraints):
        if not isinstance(con, dict):
            out.append(con)   # NonlinearConstraint & co.: already on the ravelled vector
            continue
        if not callable(con.get("fun")):
            raise TypeError(f"minimize: a constraint dict needs a callable 'fun', got {con!r:.80}")
        con_fun, con_args = con["fun"], tuple(con.get("args", ()))
        flat_fun = lambda z, f=con_fun, a=con_args: ravel_pytree(f(unravel(z), *a))[0]
        user_jac = con.get("jac")
        if callable(user_jac):
            flat_jac = lambda z, j=user_jac, a=con_args: j(unravel(z), *a)
        else:
            flat_jac = transform(jacrev(flat_fun))
        new = {k: v for k, v in con.items() if k not in ("fun", "jac", "args")}
        new["fun"] = _float64_output(transform(flat_fun))
        new["jac"] = _float64_output(flat_jac)
        out.append(new)
    return out[0] if single else out


def _float64_output(f):
    return lambda z: np.asarray(f(np.asarray(z, np.float64)), np.float64)

