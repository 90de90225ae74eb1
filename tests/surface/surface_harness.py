"""The machinery of the surface walk: what a table entry (``Case``) says, how its
arguments are made, and the checks every entry goes through.

A ``Case`` calls one public function (``fn``) and its reference (``ref``: NumPy's or
SciPy's function, or a formula written with them) on arguments of named *kinds*
(``"x"`` reals in [-2, 2], ``"pos"``, ``"spd"`` matrices, ``"idx3"`` indices...), of
shapes drawn from ``shape_space`` (or picked from ``shapes``, whose first is the example
the derivative, vmap and jit checks use) and of every dtype in ``dtypes``. Static arguments
(axes, sizes, modes) are closed over in ``fn``/``ref``; everything in ``args`` is an
array that the transformations see traced. The dtypes a case lists are narrowed to
those its reference accepts (``supported_dtypes``), so a table line may ask for every
dtype and get NumPy's own answer to which make sense.
"""
from __future__ import annotations

import dataclasses
import functools
import types
import warnings
from typing import Any, Callable

import numpy as np
import pytest

import fad
from fad.core.ir import typecheck_jaxpr
from fad.test_util import check_grads, check_vmap

F64, F32, C128, C64 = (np.dtype(t) for t in (np.float64, np.float32, np.complex128,
                                             np.complex64))
I64 = np.dtype(np.int64)
REAL = (F64, F32)
FC = (F64, F32, C128, C64)
ANY = (F64, F32, C128, C64, I64)
NUM = (F64, F32, I64)

# Real intervals of the argument kinds; complex values add an imaginary part in
# [-1, 1] (times the interval's width / 4), which keeps them off the branch cuts that
# the real intervals avoid.
_INTERVALS = {"x": (-2.0, 2.0), "pos": (0.3, 3.0), "unit": (-0.9, 0.9),
              "prob": (0.05, 0.95), "gt1": (1.2, 3.0), "small": (-0.5, 0.5),
              "big": (2.0, 6.0), "neg": (-3.0, -0.3), "tiny": (-0.04, 0.04),
              "wide": (-9.0, 9.0)}
_INT_RANGES = {"x": (-3, 4), "pos": (1, 4), "unit": (0, 1), "prob": (0, 2), "gt1": (2, 4),
               "small": (0, 1), "big": (2, 7), "neg": (-3, 0), "tiny": (0, 1), "wide": (-9, 10)}


def _floats(rng, kind, shape, dtype):
    lo, hi = _INTERVALS[kind]
    if dtype.kind in "iub":
        lo_i, hi_i = _INT_RANGES[kind]
        return rng.integers(lo_i, hi_i, shape).astype(dtype)
    x = np.asarray(rng.uniform(lo, hi, shape))
    if dtype.kind == "c":
        x = x + 1j * rng.uniform(-1, 1, shape) * (hi - lo) / 4
    return np.asarray(x).astype(dtype)


def _matrix(rng, kind, shape, dtype):
    """Square matrices (the last two axes) that the linear-algebra kinds ask for."""
    a = _floats(rng, "x", shape, dtype if dtype.kind in "fc" else F64)
    n = shape[-1]
    if kind == "sq":        # well conditioned: a dominant diagonal
        a = a + 2 * n * np.eye(n)
    elif kind == "spd":     # Hermitian positive definite
        a = a @ np.conj(np.swapaxes(a, -1, -2)) + n * np.eye(n)
    elif kind == "herm":    # Hermitian, eigenvalues apart
        a = a + np.conj(np.swapaxes(a, -1, -2)) + np.diag(4.0 * np.arange(n))
    elif kind == "tril":    # lower triangular, well conditioned
        a = np.tril(a) + 2 * n * np.eye(n)
    elif kind == "triu":
        a = np.triu(a) + 2 * n * np.eye(n)
    elif kind == "distinct":   # a general matrix with well separated real eigenvalues
        a = np.triu(0.3 * a, 1) + np.diag(np.arange(1.0, n + 1) * 2)
        q = np.linalg.qr(rng.standard_normal((n, n)) + 3 * np.eye(n))[0]
        a = q @ a @ q.T
    if dtype.kind in "iu":     # integer matrices: the same, rounded
        return np.round(a).astype(dtype)
    return np.asarray(a).astype(dtype)


def make_arg(kind: str, rng, shape, dtype):
    """One argument of ``kind`` and ``shape``; float kinds take ``dtype``."""
    dtype = np.dtype(dtype)
    if kind in _INTERVALS:
        return _floats(rng, kind, shape, dtype)
    if kind == "away":      # magnitudes in [0.5, 2], random signs: off zero
        return (_floats(rng, "pos", shape, dtype) * rng.choice([-1, 1], shape)).astype(dtype)
    if kind == "xnan":      # reals with NaNs where every index is >= 2, so that every
        x = _floats(rng, "x", shape, dtype)     # slice along any axis keeps two numbers
        at = (rng.random(shape) < 0.6) & np.all(np.indices(shape) >= 2, axis=0)
        if dtype.kind in "fc":
            x[at] = np.nan
        return x
    if kind == "simplex":   # positive, summing to 1 along the first axis
        x = np.asarray(rng.uniform(0.2, 1.0, shape))
        return (x / x.sum(axis=0, keepdims=True)).astype(dtype)
    if kind == "sorted":
        return np.sort(_floats(rng, "x", shape, dtype), axis=-1)
    if kind in ("sq", "spd", "herm", "tril", "triu", "distinct"):
        return _matrix(rng, kind, shape, dtype)
    if kind == "bool":
        return rng.random(shape) < 0.5
    if kind == "int":        # small non-negative integers of the drawn dtype if integral
        return rng.integers(0, 4, shape).astype(dtype if dtype.kind in "iu" else I64)
    if kind == "uint8":
        return rng.integers(0, 64, shape).astype(np.uint8)
    if kind == "seg4":      # segment ids: each of 0..3 present, one 4 (out of range)
        ids = np.concatenate([np.arange(5), rng.integers(0, 5, shape[0] - 5)])
        return rng.permutation(ids)
    if kind.startswith("idx"):    # valid indices into an axis of that length
        return rng.integers(0, int(kind[3:]), shape)
    if kind.startswith("i32:"):   # a fixed int32 value
        return np.int32(int(kind[4:]))
    raise ValueError(f"unknown argument kind {kind!r}")


_FLOAT_KINDS = ("away", "xnan", "simplex", "sorted", "sq", "spd", "herm", "tril", "triu",
                "distinct")


def _float_kind(kind):
    return kind in _INTERVALS or kind in _FLOAT_KINDS


@dataclasses.dataclass(repr=False)
class Case:
    """One line of the table. ``covers`` are the qualified public names it walks
    (``"numpy.sum"``); ``id`` names the test. ``diff`` lists the argument positions
    differentiated (``None``: the float arguments; ``()``: not differentiable, with the
    reason in ``nodiff``); ``grad_fn``, if given, is differentiated (and batched, for a
    case compared through ``post``) instead of ``fn``: a gauge-invariant function of a
    factorisation. ``vmap``/``stage`` are ``True`` or the reason they do not apply
    (``stage``: the result's shape or dtype depends on the values, so nothing is traced
    with abstract values). ``post`` maps the list of result leaves before comparing
    (a gauge). ``xfail`` maps a check (``"value"``, ``"grad"``, ``"vmap"``, ``"jit"``)
    to the bug that makes it fail."""
    id: str
    covers: tuple
    fn: Callable
    ref: Callable | None
    args: tuple = ("x",)
    shapes: tuple = (((2, 3),), ((),), ((4,),), ((2, 1, 3),))
    shape_space: Any = None     # a hypothesis strategy of shape tuples, else ``shapes``
    dtypes: tuple = ANY
    diff: tuple | None = None
    nodiff: str = ""
    grad_fn: Callable | None = None
    order: int = 2
    grad_tol: float | None = None
    vmap: Any = True
    stage: Any = True
    rtol: float | None = None
    atol: float | None = None
    check_dtype: bool = True
    post: Callable | None = None
    xfail: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        self.dtypes = supported_dtypes(self)
        if self.diff is None:
            self.diff = tuple(i for i, k in enumerate(self.args) if _float_kind(k))
        if self.stage is not True:      # jit and vmap need abstract values too
            self.vmap = self.vmap if self.vmap is not True else self.stage

    def __repr__(self):
        return f"Case({self.id})"

    def make(self, seed, shapes=None, dtype=None):
        rng = np.random.default_rng(seed)
        shapes = self.shapes[0] if shapes is None else shapes
        dtype = self.dtypes[0] if dtype is None else dtype
        return tuple(make_arg(k, rng, s, dtype) for k, s in zip(self.args, shapes))


def case(name, fn, ref, *, id=None, covers=None, **kw):
    """A ``Case`` named after the public function ``name`` (``"numpy.sum"``)."""
    return Case(id=id or name, covers=covers or (name,), fn=fn, ref=ref, **kw)


@functools.lru_cache(maxsize=None)
def _rejects(ref, args, shapes, dtype):
    """The exception ``ref`` raises on arguments of ``dtype`` (None if it accepts them)."""
    rng = np.random.default_rng(0)
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref(*(make_arg(k, rng, s, dtype) for k, s in zip(args, shapes)))
    except (TypeError, ValueError, ZeroDivisionError, np.linalg.LinAlgError) as e:
        return e
    return None


def supported_dtypes(c: Case) -> tuple:
    """The case's dtypes that its reference accepts. The first, the dtype of the
    derivative checks, must be accepted: its rejection is an error in the table."""
    if not c.args:      # nothing to give a dtype to
        return (F64,)
    if c.ref is None or not any(_float_kind(k) or k == "int" for k in c.args):
        return tuple(c.dtypes)
    first = _rejects(c.ref, c.args, c.shapes[0], np.dtype(c.dtypes[0]))
    if first is not None:
        raise ValueError(f"table line {c.id}: the reference rejects its first dtype "
                         f"{c.dtypes[0]}: {first!r}")
    return tuple(d for d in c.dtypes
                 if _rejects(c.ref, c.args, c.shapes[0], np.dtype(d)) is None)


# -- comparing results --------------------------------------------------------------------

def leaves(tree):
    if isinstance(tree, (tuple, list)):
        return [leaf for t in tree for leaf in leaves(t)]
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree) for leaf in leaves(tree[k])]
    return [tree]


def default_tol(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind in "fc" and dtype.itemsize <= (8 if dtype.kind == "c" else 4):
        return 2e-5
    return 1e-10


def assert_same(what, got, want, rtol, atol, check_dtype=True):
    """Same number of leaves, shapes and dtypes (``check_dtype``), and close values."""
    gl, wl = leaves(got), leaves(want)
    assert len(gl) == len(wl), f"{what}: {len(gl)} results, expected {len(wl)}"
    for i, (g, w) in enumerate(zip(gl, wl)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, f"{what}: result {i} has shape {g.shape}, expected {w.shape}"
        if check_dtype:
            assert g.dtype == w.dtype, f"{what}: result {i} is {g.dtype}, expected {w.dtype}"
        if w.dtype.kind in "fc" or g.dtype.kind in "fc":
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, equal_nan=True,
                                       err_msg=f"{what}: result {i}")
        else:
            np.testing.assert_array_equal(g, w, err_msg=f"{what}: result {i}")


def _tols(c: Case, args):
    dts = [np.asarray(a).dtype for a in args if np.asarray(a).dtype.kind in "fc"]
    tol = max((default_tol(d) for d in dts), default=1e-10)
    return (c.rtol if c.rtol is not None else tol), (c.atol if c.atol is not None else tol)


def _post(c, out):
    """The results as a list of leaves, through the case's ``post`` (which sees and
    returns a list of leaves: both the eager results and the jaxpr's flat outputs)."""
    out = leaves(out)
    return c.post(out) if c.post is not None else out


# -- the checks ---------------------------------------------------------------------------

def check_value(c: Case, args):
    """Eager and staged (make_jaxpr, type-checked, evaluated) against the reference."""
    rtol, atol = _tols(c, args)
    want_raw = leaves(c.ref(*args))
    want = _post(c, want_raw)
    assert_same("eager", _post(c, c.fn(*args)), want, rtol, atol, c.check_dtype)
    if c.stage is not True:
        return
    closed = fad.make_jaxpr(c.fn)(*args)
    typecheck_jaxpr(closed)
    assert len(closed.out_avals) == len(want_raw), "staged: number of results"
    for i, (aval, w) in enumerate(zip(closed.out_avals, want_raw)):
        w = np.asarray(w)
        assert aval.shape == w.shape, f"staged: result {i} typed {aval}, expected {w.shape}"
        if c.check_dtype:
            assert aval.dtype == w.dtype, f"staged: result {i} typed {aval}, expected {w.dtype}"
    got = fad.eval_jaxpr(closed.jaxpr, closed.consts, *leaves(args))
    assert_same("staged", _post(c, got), want, rtol, atol, c.check_dtype)


def _split_diff(c: Case, args, fn):
    """``fn`` as a function of the differentiated arguments only."""
    rest = list(args)

    def g(*d):
        full = list(rest)
        for i, v in zip(c.diff, d):
            full[i] = v
        return fn(*full)
    return g, tuple(args[i] for i in c.diff)


def check_grad(c: Case, dtype):
    """Derivatives to ``order`` (order 1 in single precision) in both modes against
    finite differences, and the jaxprs of the JVP and the VJP type-check."""
    args = c.make(7, dtype=dtype)
    g, dargs = _split_diff(c, args, c.grad_fn or c.fn)
    tol = c.grad_tol if c.grad_tol is not None else (1e-5 if dtype == F64 else 1e-4)
    order = c.order if dtype in (F64, C128) else 1
    check_grads(g, dargs, order=order, modes=("fwd", "rev"), atol=tol, rtol=tol)
    if c.stage is not True:
        return
    tangents = tuple(np.ones_like(a) for a in dargs)
    typecheck_jaxpr(fad.make_jaxpr(lambda *p: fad.jvp(g, p, tangents))(*dargs))
    out = g(*dargs)
    ct = fad.tree_util.tree_map(lambda o: np.ones_like(np.asarray(o)), out)
    typecheck_jaxpr(fad.make_jaxpr(lambda *p: fad.vjp(g, *p)[1](ct))(*dargs))


def check_batching(c: Case, dtype=None):
    """vmap against a loop, and its jaxpr type-checks: every argument batched along a
    new leading axis; then the first argument alone batched along a new last axis
    (``in_axes=-1``), the others shared. A case compared up to a gauge (``post``) is
    batched through its gauge-invariant ``grad_fn``: the batched factorisation may pick
    another gauge than the loop."""
    fn = c.grad_fn if c.post is not None and c.grad_fn is not None else c.fn
    a1, a2 = c.make(11, dtype=dtype), c.make(12, dtype=dtype)
    rtol, atol = _tols(c, a1)
    rtol, atol = max(rtol, 1e-9), max(atol, 1e-9)
    variants = [(0,) * len(a1), (-1,) + (None,) * (len(a1) - 1)]
    for axes in variants:
        stacked = tuple(x if ax is None else np.stack([x, y], axis=ax)
                        for x, y, ax in zip(a1, a2, axes))
        check_vmap(fn, stacked, in_axes=axes, atol=atol, rtol=rtol)
        typecheck_jaxpr(fad.make_jaxpr(fad.vmap(fn, in_axes=axes))(*stacked))


def check_jit(c: Case, dtype):
    """``jit(fn)`` equals eager ``fn`` (values, shapes, dtypes), twice (the cached call)."""
    args = c.make(5, dtype=dtype)
    want = _post(c, c.fn(*args))
    rtol, atol = _tols(c, args)
    jitted = fad.jit(c.fn)
    for _ in range(2):
        assert_same("jit", _post(c, jitted(*args)), want, rtol, atol)


# -- parametrisation ------------------------------------------------------------------------

def applies(c: Case, check: str) -> bool:
    if check == "grad":
        return bool(c.diff)
    if check == "vmap":
        return c.vmap is True
    if check == "jit":
        return c.stage is True
    return True


def params(cases, check):
    """``pytest.param`` per case that ``check`` applies to, marked xfail (strict) where
    the table says a bug makes it fail."""
    out = []
    for c in cases:
        if not applies(c, check):
            continue
        marks = ()
        if check in c.xfail:
            marks = (pytest.mark.xfail(strict=True, reason=c.xfail[check]),)
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


def public_functions(module) -> list:
    """The public functions of a namespace: its ``__all__`` (else its names without a
    leading underscore) that are callables, not classes or modules."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    return sorted(n for n in names
                  if callable(getattr(module, n))
                  and not isinstance(getattr(module, n), (type, types.ModuleType)))
