"""Properties of fad's transformations on random programs (issue 16).

Each test draws a program (``program_strategy.programs``: elementwise functions,
broadcasting, reductions, indexing, ``.at`` updates, products, float32 casts,
``cond``/``switch``/``scan``/``fori_loop``/``while_loop``, ``custom_jvp``/``custom_vjp``,
``checkpoint``, nested ``jit``, ``vmap`` and ``grad``; one result or a pair) and
arguments, and checks one property:

- eager fad equals NumPy (the same source run on NumPy), ``jit``, and the evaluated
  jaxpr; staged ``grad`` (of some ``argnums``), ``value_and_grad`` and ``jvp`` (first,
  second and third call) equal interpreted ones (``disable_staging``) and ``jit`` of them;
- ``jvp`` and ``vjp`` are transposes, <ct, J t> = <J^T ct, t>, and ``linearize``,
  ``jacfwd`` and ``jacrev`` give the same linear map;
- ``jvp`` equals a central finite difference (Richardson-extrapolated, float64) of the
  NumPy run, where no branch decision changes between the points it samples, and so
  does ``vjp`` paired with a random cotangent (which checks custom_vjp functions too);
- ``vmap`` (and ``vmap`` of ``grad``) equals a Python loop, ``in_axes``/``out_axes`` drawn;
- ``hessian`` is symmetric, equals ``jacrev(jacrev)``, and ``hvp`` is its product;
- every jaxpr each transformation and each pass produces type-checks (``make_jaxpr`` of
  ``f``, ``grad``, ``jvp``, ``vjp_fn``, ``vmap``, ``jit(...).lower(...).jaxpr``, and,
  while any test here runs, every result of the staging, JVP, batching, partial
  evaluation, transpose and hoisting passes and every program lowered for ``jit``);
  NumPy raises on a division by zero, overflow or NaN anywhere (values are bounded).

The number of examples comes from the hypothesis profile (``conftest.py``): bounded and
derandomized by default, ``--hypothesis-profile=long`` (or ``FAD_FUZZ_PROFILE=long``) for
a long run. A failing example prints the program's source, runnable as it is (with
``import numpy as np, fad, fad.numpy as fnp; from fad import lax``).
"""
from __future__ import annotations

import contextlib
import importlib
import sys

import numpy as np
import pytest
from hypothesis import event, given, note
from hypothesis import strategies as st

import fad
from fad.core.ir import ClosedJaxpr, Jaxpr, typecheck_jaxpr
from fad.interpreters.staging import StagingTrace
from fad.tree_util import tree_flatten, tree_leaves, tree_map

from program_strategy import COUNTS, arguments, fuzz_settings, programs

pytestmark = pytest.mark.fuzz
SETTINGS = fuzz_settings()
EXACT = dict(rtol=1e-12, atol=1e-14)     # the same computation by another route
LOOSE = dict(rtol=1e-9, atol=1e-12)      # another summation order (batched, NumPy)
LOOSE32 = dict(rtol=1e-5, atol=1e-6)     # the same, where float32 values take part


EXACT32 = dict(rtol=1e-6, atol=1e-7)     # the same, where float32 values take part:
#                                          jit may take another NumPy route (einsum, dot)


def _loose(p):
    return LOOSE32 if "float32" in p.features else LOOSE


def _exact(p):
    return EXACT32 if "float32" in p.features else EXACT


def _close(got, want, what, rtol, atol):
    gl, gt = tree_flatten(got)
    wl, wt = tree_flatten(want)
    assert gt == wt, f"{what}: result structure {gt}, expected {wt}"
    for i, (g, w) in enumerate(zip(gl, wl)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, f"{what}: leaf {i} has shape {g.shape}, expected {w.shape}"
        assert g.dtype == w.dtype, f"{what}: leaf {i} has dtype {g.dtype}, expected {w.dtype}"
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"{what}, leaf {i}")


def _random_like(rng, tree):
    """Standard normal arrays of the shapes of ``tree``'s leaves, in its structure."""
    return tree_map(lambda x: np.asarray(rng.standard_normal(np.shape(x))), tree)


def _pairing(xs, ys):
    """Sum of <x, y> over the leaves of two pytrees, and the sum of |x| |y| (its scale)."""
    pairs = [(np.asarray(x).ravel(), np.asarray(y).ravel())
             for x, y in zip(tree_leaves(xs), tree_leaves(ys))]
    return (sum(float(x @ y) for x, y in pairs),
            sum(float(np.abs(x) @ np.abs(y)) for x, y in pairs))


def _argnums(data, n):
    """An int, or a tuple of distinct sorted ints, naming some of ``n`` arguments."""
    if data.draw(st.booleans(), label="one argnum"):
        return data.draw(st.integers(0, n - 1), label="argnums")
    return tuple(sorted(data.draw(st.sets(st.integers(0, n - 1), min_size=1),
                                  label="argnums")))


def _stack(rows, axis=0):
    """Rows of one pytree structure stacked leaf by leaf along ``axis``."""
    return tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs], axis=axis), *rows)


# -- every pass's jaxprs type-checked, while the tests of this module run -------------------

_PASSES = [("fad.interpreters.staging", "trace_to_jaxpr"),
           ("fad.interpreters.jaxpr_transforms", "jvp_jaxpr"),
           ("fad.interpreters.jaxpr_transforms", "batch_jaxpr"),
           ("fad.interpreters.jaxpr_transforms", "partial_eval_jaxpr"),
           ("fad.interpreters.jaxpr_transforms", "transpose_jaxpr"),
           ("fad.lax.control_flow.common", "hoist_loop_invariants"),
           ("fad.interpreters.lowering", "lower")]
CHECKED = {"jaxprs": 0}


def _typecheck_all(value, where):
    if isinstance(value, (ClosedJaxpr, Jaxpr)):
        try:
            typecheck_jaxpr(value)
        except Exception as e:
            raise AssertionError(f"{where} produced a jaxpr that does not type-check: "
                                 f"{e}\n{value}") from e
        CHECKED["jaxprs"] += 1
    elif isinstance(value, (tuple, list)):
        for v in value:
            _typecheck_all(v, where)


def _checking(fun, where, inputs=False):
    """``fun`` type-checking the jaxprs it returns (``inputs``: its first argument's)."""
    def checked(*args, **kwargs):
        out = fun(*args, **kwargs)
        _typecheck_all(args[:1] if inputs else out, where)
        return out
    return checked


@contextlib.contextmanager
def typechecking_every_pass():
    """Within the block, each pass in ``_PASSES`` (wherever fad imported it by name) and
    ``StagingTrace.to_jaxpr`` type-check the jaxprs they make and take."""
    replaced = []
    for module, name in _PASSES:
        original = getattr(importlib.import_module(module), name)
        wrapper = _checking(original, f"{module}.{name}", inputs=name == "lower")
        for mod in list(sys.modules.values()):
            if getattr(mod, "__name__", "").startswith("fad") and \
                    getattr(mod, name, None) is original:
                replaced.append((mod, name, original))
                setattr(mod, name, wrapper)
    original_to_jaxpr = StagingTrace.to_jaxpr
    StagingTrace.to_jaxpr = _checking(original_to_jaxpr, "StagingTrace.to_jaxpr")
    try:
        yield
    finally:
        StagingTrace.to_jaxpr = original_to_jaxpr
        for mod, name, original in replaced:
            setattr(mod, name, original)


@pytest.fixture(scope="module", autouse=True)
def _every_pass_typechecked():
    # Every value a program computes is bounded, so are its derivatives: a division by
    # zero, an overflow or a NaN anywhere (a select's unused branch included) is a bug.
    with typechecking_every_pass(), np.errstate(divide="raise", over="raise",
                                                invalid="raise"):
        yield


# -- the properties -------------------------------------------------------------------------

@SETTINGS
@given(st.data())
def test_eval_equals_numpy_jit_and_staged(data):
    p = data.draw(programs(float32=True), label="program")
    args = data.draw(arguments(p, smooth=False), label="args")
    COUNTS["eval_equals_numpy_jit_and_staged"] += 1
    want, _ = p.reference(*args)
    out = p.f(*args)
    _close(out, want, "eager fad vs NumPy", **_loose(p))
    jitted = fad.jit(p.f)
    for call in ("first", "second"):
        _close(jitted(*args), out, f"jit(f), {call} call, vs eager f", **_exact(p))
    closed = fad.make_jaxpr(p.f)(*args)
    _close(fad.eval_jaxpr(closed.jaxpr, closed.consts, *args), tree_leaves(out),
           "eval_jaxpr(make_jaxpr(f)) vs f", **_exact(p))
    argnums = _argnums(data, len(args))
    if p.reverse:
        with fad.disable_staging():
            want_grad = fad.grad(p.loss, argnums)(*args)
        for i, g in zip([argnums] if isinstance(argnums, int) else argnums,
                        [want_grad] if isinstance(argnums, int) else want_grad):
            assert np.shape(g) == np.shape(args[i]), \
                f"grad for argument {i} of shape {np.shape(args[i])} has shape {np.shape(g)}"
        staged = fad.grad(p.loss, argnums)
        for call in ("first", "second", "third"):
            _close(staged(*args), want_grad, f"staged grad, {call} call, vs interpreted",
                   **EXACT)
        value, grads = fad.value_and_grad(p.loss, argnums)(*args)
        _close((value, grads), (p.loss(*args), want_grad), "value_and_grad vs loss, grad",
               **EXACT)
        _close(fad.jit(staged)(*args), want_grad, "jit(grad) vs interpreted grad",
               **_exact(p))
    if p.forward:
        tangents = _random_like(np.random.default_rng(0), args)
        with fad.disable_staging():
            want_jvp = fad.jvp(p.f, args, tangents)
        for call in ("first", "second", "third"):
            _close(fad.jvp(p.f, args, tangents), want_jvp,
                   f"staged jvp, {call} call, vs interpreted", **EXACT)


@SETTINGS
@given(st.data())
def test_jvp_and_vjp_are_transposes(data):
    p = data.draw(programs(forward=True, reverse=True), label="program")
    args = data.draw(arguments(p, smooth=False), label="args")
    COUNTS["jvp_and_vjp_are_transposes"] += 1
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1), label="seed"))
    tangents = _random_like(rng, args)
    out, t_out = fad.jvp(p.f, args, tangents)
    out_v, f_vjp = fad.vjp(p.f, *args)
    _close(out_v, out, "vjp's primal result vs jvp's", **EXACT)
    ct = _random_like(rng, out)
    cts = f_vjp(ct)
    assert len(cts) == len(args), f"vjp_fn gave {len(cts)} cotangents for {len(args)} args"
    for c, a in zip(cts, args):
        assert np.shape(c) == np.shape(a), f"cotangent shape {np.shape(c)} for {np.shape(a)}"
    lhs, lhs_scale = _pairing(ct, t_out)
    rhs, rhs_scale = _pairing(cts, tangents)
    note(f"<ct, J t> = {lhs!r}, <J^T ct, t> = {rhs!r}")
    assert abs(lhs - rhs) <= 1e-10 * (lhs_scale + rhs_scale) + 1e-12, \
        f"<ct, J t> = {lhs!r} but <J^T ct, t> = {rhs!r}"
    # the same linear map, spelled three more ways
    _close(fad.linearize(p.f, *args)[1](*tangents), t_out, "linearize's map vs jvp", **LOOSE)
    argnums = tuple(range(len(args)))
    jac_fwd = fad.jacfwd(p.f, argnums)(*args)
    _close(fad.jacrev(p.f, argnums)(*args), jac_fwd, "jacrev vs jacfwd", **LOOSE)
    single = not isinstance(out, tuple)
    for k, (o, t_o) in enumerate(zip(tree_leaves(out), tree_leaves(t_out))):
        jac = jac_fwd if single else jac_fwd[k]      # (one block per argument)
        t_jac = sum(np.reshape(j, (np.size(o), -1)) @ np.ravel(t)
                    for j, t in zip(jac, tangents))
        _close(t_jac.reshape(np.shape(o)), np.asarray(t_o), f"jacfwd times t vs jvp, "
               f"output {k}", **LOOSE)


def _same_decisions(a, b) -> bool:
    return len(a) == len(b) and all(x.shape == y.shape and np.array_equal(x, y)
                                    for x, y in zip(a, b))


@SETTINGS
@given(st.data())
def test_derivatives_match_finite_differences(data):
    p = data.draw(programs(smooth=True), label="program")
    args = data.draw(arguments(p, smooth=True), label="args")
    COUNTS["derivatives_match_finite_differences"] += 1
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1), label="seed"))
    tangents = _random_like(rng, args)
    want, ref = p.reference(*args)
    h = 1e-3

    def at(s):
        return p.reference(*[np.asarray(a) + s * t for a, t in zip(args, tangents)])

    runs = {s: at(s) for s in (-h, -h / 2, h / 2, h)}
    if ref.margin < 1e-6 or not all(_same_decisions(ref.decisions, r.decisions)
                                    for _, r in runs.values()):
        event("finite differences skipped: a branch decision changes near the point")
        return

    def difference(s):   # the central difference at step s
        return tree_map(lambda a, b: (a - b) / (2 * s), runs[s][0], runs[-s][0])

    # Richardson: the h**2 term cancels
    fd = tree_map(lambda d1, d2: (4 * d2 - d1) / 3, difference(h), difference(h / 2))
    if p.forward:
        out, t_out = fad.jvp(p.f, args, tangents)
        _close(out, want, "jvp's primal result vs NumPy", **LOOSE)
        for k, (t, d) in enumerate(zip(tree_leaves(t_out), tree_leaves(fd))):
            scale = 1.0 + float(np.max(np.abs(d), initial=0.0))
            np.testing.assert_allclose(np.asarray(t), d, rtol=1e-6, atol=1e-6 * scale,
                                       err_msg=f"jvp vs finite differences, output {k}")
    if p.reverse:   # <ct, J t> from the finite differences, <J^T ct, t> from vjp
        out, f_vjp = fad.vjp(p.f, *args)
        _close(out, want, "vjp's primal result vs NumPy", **LOOSE)
        ct = _random_like(rng, out)
        cts = f_vjp(ct)
        for c, a in zip(cts, args):
            assert np.shape(c) == np.shape(a), \
                f"cotangent shape {np.shape(c)} for an argument of shape {np.shape(a)}"
        lhs, lhs_scale = _pairing(ct, fd)
        rhs, rhs_scale = _pairing(cts, tangents)
        assert abs(lhs - rhs) <= 1e-6 * (1.0 + lhs_scale + rhs_scale), \
            f"<ct, finite differences> = {lhs!r} but <vjp(ct), t> = {rhs!r}"


@SETTINGS
@given(st.data())
def test_vmap_equals_a_loop(data):
    p = data.draw(programs(float32=True), label="program")
    size = data.draw(st.integers(1, 3), label="batch size")
    batched = data.draw(arguments(p, smooth=False, batch=size), label="batched args")
    in_axes = []
    for a in batched:
        ax = data.draw(st.sampled_from([0, None] + list(range(1, a.ndim))
                                       + [-1] * (a.ndim > 1)), label="in_axis")
        in_axes.append(ax)
    if all(ax is None for ax in in_axes):
        in_axes[0] = 0
    args = [np.moveaxis(a, 0, ax) if ax is not None else a[0]
            for a, ax in zip(batched, in_axes)]
    out_axis = data.draw(st.sampled_from([0, -1]), label="out_axes")
    COUNTS["vmap_equals_a_loop"] += 1

    def rows(fun):
        return [fun(*[a if ax is None else np.take(a, i, axis=ax)
                      for a, ax in zip(args, in_axes)]) for i in range(size)]

    want = _stack(rows(p.f), axis=out_axis)
    mapped = fad.vmap(p.f, in_axes=tuple(in_axes), out_axes=out_axis)
    for call in ("first", "second"):
        _close(mapped(*args), want, f"vmap(f), {call} call, vs a loop", **_loose(p))
    _close(fad.jit(mapped)(*args), want, "jit(vmap(f)) vs a loop", **_loose(p))
    if p.reverse:
        argnums = _argnums(data, len(args))
        want_grads = _stack(rows(fad.grad(p.loss, argnums)))
        # (a batched cond's untaken branch may divide by zero in its backward pass:
        # test_fuzz_regressions.py; the values must still be right)
        with np.errstate(divide="ignore", invalid="ignore"):
            got = fad.vmap(fad.grad(p.loss, argnums), in_axes=tuple(in_axes))(*args)
        _close(got, want_grads, "vmap(grad(loss)) vs a loop of grad", **_loose(p))


@SETTINGS
@given(st.data())
def test_hessian_is_symmetric(data):
    p = data.draw(programs(hessian=True), label="program")
    args = data.draw(arguments(p, smooth=True), label="args")
    COUNTS["hessian_is_symmetric"] += 1
    hess = np.asarray(fad.hessian(p.loss)(*args))
    shape = np.shape(args[0])
    assert hess.shape == shape + shape, f"hessian shape {hess.shape} for input {shape}"
    n = int(np.prod(shape))
    m = hess.reshape(n, n)
    tol = 1e-9 * (1.0 + float(np.max(np.abs(m), initial=0.0)))
    np.testing.assert_allclose(m, m.T, rtol=1e-9, atol=tol, err_msg="hessian not symmetric")
    rev_rev = np.asarray(fad.jacrev(fad.jacrev(p.loss))(*args)).reshape(n, n)
    np.testing.assert_allclose(m, rev_rev, rtol=1e-9, atol=tol,
                               err_msg="hessian (jacfwd of jacrev) vs jacrev of jacrev")
    t = np.random.default_rng(0).standard_normal(shape)
    hvp = fad.hvp(p.loss, args, (t, *[np.zeros_like(a) for a in args[1:]]))
    hvp = hvp[0] if len(args) > 1 else hvp        # (one entry per argument)
    np.testing.assert_allclose(np.ravel(hvp), m @ np.ravel(t), rtol=1e-9, atol=tol * n,
                               err_msg="hvp vs hessian times the vector")


@SETTINGS
@given(st.data())
def test_every_jaxpr_typechecks(data):
    p = data.draw(programs(float32=True), label="program")
    args = data.draw(arguments(p, smooth=False), label="args")
    COUNTS["every_jaxpr_typechecks"] += 1
    argnums = tuple(range(len(args)))
    jaxprs = {"make_jaxpr(f)": fad.make_jaxpr(p.f)(*args),
              "jit(f).lower": fad.jit(p.f).lower(*args).jaxpr,
              "make_jaxpr(vmap(f))": fad.make_jaxpr(fad.vmap(p.f))(
                  *[np.stack([a, a]) for a in args])}
    if p.forward:
        tangents = _random_like(np.random.default_rng(0), args)
        jaxprs["make_jaxpr(jvp)"] = fad.make_jaxpr(
            lambda *a: fad.jvp(p.f, a, tangents))(*args)
        jaxprs["linearize"] = fad.linearize(p.f, *args)[1].jaxpr
    if p.reverse:
        grad = fad.grad(p.loss, argnums)
        jaxprs["make_jaxpr(grad)"] = fad.make_jaxpr(grad)(*args)
        jaxprs["jit(grad).lower"] = fad.jit(grad).lower(*args).jaxpr
        out, f_vjp = fad.vjp(p.f, *args)
        jaxprs["make_jaxpr(vjp_fn)"] = fad.make_jaxpr(f_vjp)(tree_map(np.ones_like, out))
    for what, jaxpr in jaxprs.items():
        try:
            typecheck_jaxpr(jaxpr)
        except Exception as e:
            raise AssertionError(f"{what} does not type-check: {e}\n{jaxpr}") from e
