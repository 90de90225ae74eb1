"""Issue 12, part 2: ``scan`` (and ``map``, ``fori_loop``) equal their unrolled Python
versions under every transformation; staging traces one step; errors name both types."""
import time
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fad
import fad.numpy as fnp
from fad import lax
from fad.core.ir import typecheck_jaxpr
from fad.test_util import check_grads, check_vmap

RNG = np.random.default_rng(2)
W = RNG.standard_normal((3, 3)) * 0.5
XS = RNG.standard_normal((5, 3))
H0 = RNG.standard_normal(3)


def step(w, h, x):
    h = fnp.tanh(w @ h + x)
    return h, fnp.sum(h * x)


def rnn(w, h0, xs, reverse=False):
    return lax.scan(lambda h, x: step(w, h, x), h0, xs, reverse=reverse)


def unrolled(w, h0, xs, reverse=False):
    h, ys = h0, []
    for x in (xs[::-1] if reverse else xs):
        h, y = step(w, h, x)
        ys.append(y)
    return h, fnp.stack(ys[::-1] if reverse else ys)


def loss(f):
    return lambda w, h0, xs: fnp.sum(f(w, h0, xs)[1] ** 2) + fnp.sum(f(w, h0, xs)[0] * 3.0)


def close(a, b, rtol=1e-10, atol=1e-12):
    for x, y in zip(fad.tree_util.tree_leaves(a), fad.tree_util.tree_leaves(b)):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)


@pytest.mark.parametrize("reverse", [False, True])
def test_values_and_jit(reverse):
    want = unrolled(W, H0, XS, reverse)
    close(rnn(W, H0, XS, reverse), want)                       # eager: a Python loop
    close(fad.jit(lambda *a: rnn(*a, reverse))(W, H0, XS), want)   # staged once
    typecheck_jaxpr(fad.make_jaxpr(lambda *a: rnn(*a, reverse))(W, H0, XS))


@pytest.mark.parametrize("argnums", [0, 1, 2, (0, 1, 2)])
def test_gradients_equal_the_unrolled_loop(argnums):
    f, g = loss(rnn), loss(unrolled)
    want = fad.grad(g, argnums)(W, H0, XS)
    for _ in range(3):   # (staged: interpreted, compiled, replayed)
        close(fad.grad(f, argnums)(W, H0, XS), want)
    with fad.disable_staging():
        close(fad.grad(f, argnums)(W, H0, XS), want)
    close(fad.jit(fad.grad(f, argnums))(W, H0, XS), want)
    typecheck_jaxpr(fad.make_jaxpr(fad.grad(f, argnums))(W, H0, XS))


def test_forward_mode_hessian_and_check_grads():
    f, g = loss(rnn), loss(unrolled)
    check_grads(f, (W, H0, XS), order=2, modes=("fwd", "rev"))
    close(fad.hessian(f, 1)(W, H0, XS), fad.hessian(g, 1)(W, H0, XS), rtol=1e-9)
    close(fad.jit(fad.hessian(f, 1))(W, H0, XS), fad.hessian(g, 1)(W, H0, XS), rtol=1e-9)
    close(fad.jacfwd(lambda h: rnn(W, h, XS)[1])(H0),
          fad.jacfwd(lambda h: unrolled(W, h, XS)[1])(H0))


def test_vmap_of_scan_and_of_its_gradient():
    hs = RNG.standard_normal((4, 3))
    xss = RNG.standard_normal((4, 5, 3))
    check_vmap(lambda h, xs: rnn(W, h, xs), (hs, xss))
    check_vmap(lambda h: rnn(W, h, XS), (hs,))
    check_vmap(lambda xs: rnn(W, H0, xs), (xss,), in_axes=0)
    check_vmap(lambda xs: rnn(W, H0, xs), (np.moveaxis(xss, 0, 1),), in_axes=1)
    per_example = fad.vmap(fad.grad(loss(rnn)), in_axes=(None, 0, 0))(W, hs, xss)
    for i in range(4):
        close(per_example[i], fad.grad(loss(unrolled))(W, hs[i], xss[i]))
    close(fad.vmap(fad.grad(loss(rnn), 1), in_axes=(None, 0, None))(W, hs, XS),
          np.stack([fad.grad(loss(unrolled), 1)(W, h, XS) for h in hs]))


def test_pytrees_xs_none_map_and_fori_loop():
    def f(c, x):
        return {"a": c["a"] + x[0], "b": c["b"] * 2.0}, (x[1], c["a"])
    init = {"a": np.float64(1.0), "b": np.ones(2)}
    xs = (np.arange(3.0), np.arange(6.0).reshape(3, 2))
    carry, ys = fad.jit(lambda i, x: lax.scan(f, i, x))(init, xs)
    np.testing.assert_allclose(carry["a"], 1.0 + 0 + 1 + 2)
    np.testing.assert_allclose(ys[1], [1.0, 1.0, 2.0])
    c, ys = fad.jit(lambda c: lax.scan(lambda c, _: (c * 2.0, c), c, None, length=4))(1.0)
    np.testing.assert_allclose(ys, [1.0, 2.0, 4.0, 8.0])
    np.testing.assert_allclose(fad.jit(lambda x: lax.map(fnp.sin, x))(XS), np.sin(XS))
    body = lambda i, v: v * 1.5 + i   # noqa: E731
    want = 0.3
    for i in range(2, 7):
        want = body(i, want)
    np.testing.assert_allclose(lax.fori_loop(2, 7, body, 0.3), want)
    np.testing.assert_allclose(fad.jit(lambda v: lax.fori_loop(2, 7, body, v))(0.3), want)
    np.testing.assert_allclose(fad.grad(lambda v: lax.fori_loop(2, 7, body, v))(0.3),
                               1.5 ** 5)


def test_errors_name_both_types():
    with pytest.raises(TypeError, match="carry leaf 0 of type f64\\[2\\].*f64\\[3\\]"):
        fad.jit(lambda h: lax.scan(lambda c, x: (c[:2], x), h, XS))(H0)
    with pytest.raises(TypeError, match="carry"):
        lax.scan(lambda c, x: (c[:2], x), H0, XS)   # (eagerly too)
    with pytest.raises(ValueError, match="different leading axis sizes"):
        lax.scan(lambda c, x: (c, x), H0, (XS, XS[:2]))
    with pytest.raises(ValueError, match="length="):
        lax.scan(lambda c, x: (c, x), H0, None)
    # (traced bounds: a while_loop, forward-differentiable only)
    np.testing.assert_allclose(fad.jit(lambda n: lax.fori_loop(0, n, lambda i, v: v * 2.0,
                                                               1.0))(3), 8.0)
    with pytest.raises(ValueError, match="while_loop"):
        fad.grad(lambda v: fad.jit(lambda n, v: lax.fori_loop(0, n, lambda i, w: w * v,
                                                              1.0))(3, v))(2.0)


def test_staging_traces_one_step():
    """``make_jaxpr`` of a 10,000-step scan costs about what one step costs."""
    xs_long = np.zeros((10_000, 3))
    f = lambda h, xs: rnn(W, h, xs)   # noqa: E731
    t0 = time.perf_counter()
    closed_long = fad.make_jaxpr(f)(H0, xs_long)
    t_long = time.perf_counter() - t0
    t0 = time.perf_counter()
    fad.make_jaxpr(f)(H0, xs_long[:1])
    t_one = time.perf_counter() - t0
    assert len(closed_long.jaxpr.eqns) == 1
    assert t_long < 10 * t_one + 0.05


def test_dce_drops_unused_outputs_and_carries():
    from fad.core.ir import dce_jaxpr
    def f(h, xs):
        def body(c, x):
            a, b = c
            return (a * 2.0, fnp.sin(b) + x), fnp.cos(a)
        (a, b), ys = lax.scan(body, (h, h), xs)
        return b
    closed = fad.make_jaxpr(f)(H0, XS)
    (eqn,) = dce_jaxpr(closed.jaxpr).eqns
    assert eqn.params["num_carry"] == 1 and len(eqn.outvars) == 1
    assert "cos" not in str(eqn.params["jaxpr"])


def test_staged_equals_interpreted_bit_for_bit():
    f = loss(rnn)
    with fad.disable_staging():
        want = fad.vmap(fad.grad(f), in_axes=(None, 0, None))(W, np.stack([H0, -H0]), XS)
    g = fad.vmap(fad.grad(f), in_axes=(None, 0, None))
    for _ in range(3):
        np.testing.assert_array_equal(g(W, np.stack([H0, -H0]), XS), want)


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 6), st.floats(-1.0, 1.0), st.booleans())
def test_random_lengths_equal_the_unrolled_loop(n, scale, reverse):
    xs = XS[:1].repeat(n, 0) * scale + np.arange(n)[:, None] * 0.1
    f, g = loss(lambda *a: rnn(*a, reverse)), loss(lambda *a: unrolled(*a, reverse))
    close(fad.jit(f)(W, H0, xs), g(W, H0, xs))
    close(fad.grad(f, (0, 1, 2))(W, H0, xs), fad.grad(g, (0, 1, 2))(W, H0, xs))


def test_memory_of_grad_grows_linearly_with_the_steps():
    """The reverse pass keeps one step's residuals per step (tracemalloc's peak)."""
    w = np.float64(0.9)

    def peak(n):
        xs = np.linspace(0, 1, n * 64).reshape(n, 64)
        f = lambda w: fnp.sum(lax.scan(lambda h, x: (fnp.tanh(w * h + x), None),   # noqa: E731
                                       np.zeros(64), xs)[0])
        with fad.disable_staging():
            fad.grad(f)(w)   # (warm: shape rules, derived programs)
            tracemalloc.start()
            fad.grad(f)(w)
            _, top = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        return top - xs.nbytes
    small, large = peak(500), peak(4000)
    assert 4 < large / small < 12   # 8x the steps: about 8x the memory, not more


_W = np.random.default_rng(3).standard_normal((4, 4)) * 0.3


def _invariant_loss(c, h0, xs):
    def body(h, x):
        s = fnp.exp(c)                       # depends on the constant c alone
        h = fnp.tanh(s * (_W @ h) + x)       # _W: an array the body closes over
        return h, h.sum()
    return lax.scan(body, h0, xs)[1].sum()


def _invariant_loss_unrolled(c, h0, xs):
    h, total = h0, 0.0
    for x in xs:
        h = fnp.tanh(fnp.exp(c) * (_W @ h) + x)
        total = total + h.sum()
    return total


def test_loop_invariants_are_computed_once_and_not_stacked():
    args = (np.float64(0.1), np.ones(4), np.linspace(-1, 1, 200).reshape(50, 4))
    saved = fad.saved_residuals(_invariant_loss, *args)
    shapes = sorted(s for s, _, _ in saved)
    # exp(c) once (a scalar), _W not at all (the reverse loop closes over it too), and
    # the two per-step values stacked: nothing (50, 4, 4), nothing (50,) of exp(c)
    assert shapes == [(), (50, 4), (50, 4)]
    assert any(d.startswith("exp at") for _, _, d in saved)
    closed = fad.make_jaxpr(fad.grad(_invariant_loss))(*args)
    typecheck_jaxpr(closed)
    text = str(closed)
    assert "exp" not in text.split("scan[", 1)[1].split("length=50", 1)[0]   # hoisted
    for argnums in (0, 1, 2):
        np.testing.assert_allclose(fad.grad(_invariant_loss, argnums)(*args),
                                   fad.grad(_invariant_loss_unrolled, argnums)(*args),
                                   rtol=1e-12)
    check_grads(lambda c: _invariant_loss(c, *args[1:]), (args[0],), order=2)


def test_hoisting_keeps_effects_in_the_loop(capsys):
    def body(h, x):
        fad.debug.print("step")              # depends on nothing: must stay in the loop
        return h + x, h
    fad.jit(lambda xs: lax.scan(body, 0.0, xs))(np.arange(3.0))
    assert capsys.readouterr().out == "step\nstep\nstep\n"
