"""Testing helpers: derivatives against finite differences, vmap against a loop,
jaxprs against eager evaluation."""
from __future__ import annotations

import importlib
import itertools
import pkgutil

import numpy as np

import fad
from fad.core import dtypes
from fad.core.ir import typecheck_jaxpr
from fad.core.primitive import Primitive
from fad.tree_util import tree_flatten, tree_map, tree_unflatten

_DEFAULT_EPS = {np.dtype(np.float32): 1e-2, np.dtype(np.float64): 1e-5,
                np.dtype(np.complex64): 1e-2, np.dtype(np.complex128): 1e-5}
_DEFAULT_TOL = {np.dtype(np.float32): 2e-2, np.dtype(np.float64): 1e-5,
                np.dtype(np.complex64): 2e-2, np.dtype(np.complex128): 1e-5}


def _dtype_of(tree):
    leaves, _ = tree_flatten(tree)
    dts = [np.asarray(x).dtype for x in leaves if dtypes.is_inexact(np.asarray(x).dtype)]
    return np.result_type(*dts) if dts else np.dtype(np.float64)


def _tol(tree, given, table):
    return given if given is not None else table.get(_dtype_of(tree), 1e-5)


def _rand_like(rng, x):
    x = np.asarray(x)
    if x.dtype.kind == "c":
        return (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape)).astype(x.dtype)
    return rng.standard_normal(x.shape).astype(x.dtype)


def _add_scaled(args, tangents, eps):
    def step(a, t):
        a = np.asarray(a)
        return (a + eps * np.asarray(t)).astype(a.dtype)
    return tuple(tree_map(step, x, t) for x, t in zip(args, tangents))


def _pairing(x, y):
    """The real inner product Re <x, y> over pytrees."""
    xs, _ = tree_flatten(x)
    ys, _ = tree_flatten(y)
    return sum(np.vdot(np.asarray(a).ravel(), np.asarray(b).ravel()).real
               for a, b in zip(xs, ys))


def _conj(tree):
    return tree_map(lambda a: np.conj(a) if np.iscomplexobj(a) else a, tree)


def _assert_close(what, got, want, atol, rtol):
    gl, gt = tree_flatten(got)
    wl, wt = tree_flatten(want)
    if gt != wt:
        raise AssertionError(f"{what}: structures differ: {gt} vs {wt}")
    for i, (g, w) in enumerate(zip(gl, wl)):
        g, w = np.asarray(g), np.asarray(w)
        if g.shape != w.shape:
            raise AssertionError(f"{what}: leaf {i} has shape {g.shape}, expected {w.shape}")
        if not np.allclose(g, w, atol=atol, rtol=rtol, equal_nan=True):
            err = np.max(np.abs(g - w)) if g.size else 0.0
            raise AssertionError(f"{what}: leaf {i} differs (max abs err {err:.3g}, "
                                 f"atol={atol}, rtol={rtol})\n  got:      {g!r}\n"
                                 f"  expected: {w!r}")


def check_jvp(f, args, eps=None, atol=None, rtol=None, rng=None):
    """``jvp(f)`` against a central finite difference along a random tangent."""
    rng = rng or np.random.default_rng(0)
    eps = _tol(args, eps, _DEFAULT_EPS)
    atol, rtol = _tol(args, atol, _DEFAULT_TOL), _tol(args, rtol, _DEFAULT_TOL)
    tangents = tuple(tree_map(lambda x: _rand_like(rng, x), a) for a in args)
    _, t_out = fad.jvp(f, args, tangents)
    f_plus = f(*_add_scaled(args, tangents, eps / 2))
    f_minus = f(*_add_scaled(args, tangents, -eps / 2))
    t_fd = tree_map(lambda p, m: (np.asarray(p) - np.asarray(m)) / eps, f_plus, f_minus)
    _assert_close("JVP vs finite differences", t_out, t_fd, atol, rtol)


def check_vjp(f, args, eps=None, atol=None, rtol=None, rng=None):
    """``vjp(f)`` against ``jvp(f)`` through the identity <ct, J t> = <J^T ct, t>, and
    the JVP against finite differences."""
    rng = rng or np.random.default_rng(1)
    atol, rtol = _tol(args, atol, _DEFAULT_TOL), _tol(args, rtol, _DEFAULT_TOL)
    out, f_vjp = fad.vjp(f, *args)
    tangents = tuple(tree_map(lambda x: _rand_like(rng, x), a) for a in args)
    cts = tree_map(lambda y: _rand_like(rng, y), out)
    # fad's transposes are plain (unconjugated) linear transposes, as JAX's are; the
    # adjoint with respect to Re <., .> is conj(vjp(conj(ct))).
    cts_in = _conj(f_vjp(_conj(cts)))
    check_jvp(f, args, eps, atol, rtol, rng)
    _, t_out = fad.jvp(f, args, tangents)
    lhs = _pairing(cts, t_out)
    rhs = _pairing(cts_in, tangents)
    if not np.isclose(lhs, rhs, atol=atol * 10, rtol=rtol * 10):
        raise AssertionError(f"VJP vs JVP: <ct, J t> = {lhs!r} but <J^T ct, t> = {rhs!r}")


def check_grads(f, args, order: int = 1, modes=("fwd", "rev"), eps=None, atol=None,
                rtol=None):
    """Check the derivatives of ``f`` at ``args`` to ``order``, in each of ``modes``:
    JVPs against central finite differences ("fwd"), VJPs against JVPs ("rev"), and
    recursively the derivatives of the derivatives.

    >>> import numpy as np, fad.numpy as fnp
    >>> check_grads(fnp.sin, (np.array([0.3, 1.2]),), order=2)
    """
    args = tuple(args)
    if order < 1:
        return
    if "fwd" in modes:
        check_jvp(f, args, eps, atol, rtol)
        if order > 1:
            tangents = tuple(tree_map(lambda x: _rand_like(np.random.default_rng(2), x), a)
                             for a in args)

            def f_jvp(*primals):
                return fad.jvp(f, primals, tangents)[1]
            check_grads(f_jvp, args, order - 1, ("fwd",), eps, atol, rtol)
    if "rev" in modes:
        check_vjp(f, args, eps, atol, rtol)
        if order > 1:
            out = f(*args)
            cts = tree_map(lambda y: _rand_like(np.random.default_rng(3), y), out)

            def f_vjp(*primals):
                return fad.vjp(f, *primals)[1](cts)
            check_grads(f_vjp, args, order - 1, ("rev",), eps, atol, rtol)


def check_vmap(f, args, in_axes=0, out_axes=0, atol=1e-6, rtol=1e-6):
    """``vmap(f, in_axes, out_axes)(*args)`` against a Python loop and ``np.stack``."""
    got = fad.vmap(f, in_axes, out_axes)(*args)
    axes = in_axes if isinstance(in_axes, (tuple, list)) else (in_axes,) * len(args)
    size = next(np.shape(tree_flatten(a)[0][0])[ax] for a, ax in zip(args, axes)
                if ax is not None)
    rows = []
    for i in range(size):   # an int axis maps every leaf of its (pytree) argument
        row_args = [a if ax is None else
                    tree_map(lambda leaf, i=i, ax=ax: np.take(leaf, i, axis=ax), a)
                    for a, ax in zip(args, axes)]
        rows.append(f(*row_args))
    want = tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs], axis=out_axes), *rows)
    _assert_close("vmap vs a Python loop", got, want, atol, rtol)


def check_jaxpr(f, args, atol=0, rtol=1e-12):
    """Stage ``f``, type-check the jaxpr, and compare its evaluation with eager ``f``."""
    closed = fad.make_jaxpr(f)(*args)
    typecheck_jaxpr(closed)
    flat, _ = tree_flatten(args)
    got = fad.eval_jaxpr(closed.jaxpr, closed.consts, *flat)
    want, _ = tree_flatten(f(*args))
    _assert_close("eval_jaxpr(make_jaxpr(f)) vs f", got, [np.asarray(w) for w in want],
                  atol, rtol)
    return closed


def check_matches_numpy(f, *args):
    """Stage ``f`` (type-checked), run the jaxpr, and compare with ``f`` run eagerly on
    NumPy values: the staged types, and the results' shapes, dtypes and values (floats to
    a few ulps, everything else exactly)."""
    with np.errstate(all="ignore"):
        want, _ = tree_flatten(f(*args))
        closed = fad.make_jaxpr(f)(*args)
        typecheck_jaxpr(closed)
        got = fad.eval_jaxpr(closed.jaxpr, closed.consts, *tree_flatten(args)[0])
    if len(got) != len(want):
        raise AssertionError(f"staged f gives {len(got)} outputs, eager f {len(want)}")
    for i, (g, w, aval) in enumerate(zip(got, want, closed.out_avals)):
        g, w = np.asarray(g), np.asarray(w)
        if (aval.dtype, aval.shape) != (w.dtype, w.shape):
            raise AssertionError(f"output {i}: staged type {aval}, but NumPy gives "
                                 f"{w.dtype}{list(w.shape)}")
        if (g.dtype, g.shape) != (w.dtype, w.shape):
            raise AssertionError(f"output {i}: evaluated to {g.dtype}{list(g.shape)}, "
                                 f"NumPy gives {w.dtype}{list(w.shape)}")
        if w.dtype.kind in "fc":
            rtol = max(1e-12, 16 * np.finfo(w.dtype).eps)
            np.testing.assert_allclose(g, w, rtol=rtol, atol=1e-13, equal_nan=True)
        else:
            np.testing.assert_array_equal(g, w)
    return closed


__all__ = ["check_grads", "check_matches_numpy", "check_jvp", "check_vjp", "check_vmap",
           "check_jaxpr"]
del itertools, tree_unflatten


def all_primitives() -> list:
    """Every primitive fad defines (in any module of the package), sorted by name: for
    tests that walk them all rather than a hand-picked list."""
    found = set()
    for info in pkgutil.walk_packages(fad.__path__, "fad."):
        module = importlib.import_module(info.name)
        found.update(v for v in vars(module).values() if isinstance(v, Primitive))
    return sorted(found, key=lambda p: p.name)
