"""``fad.checkpoint`` (``remat``) and ``fad.saved_residuals``: the derivatives are those
of the function without checkpoint, under every transformation; the backward pass keeps
fewer arrays (``saved_residuals``) and less memory (``tracemalloc``)."""
import tracemalloc

import numpy as np
import pytest

import fad
import fad.numpy as fnp
from fad import lax
from fad.core.ir import typecheck_jaxpr
from fad.test_util import check_grads, check_jaxpr

P = fad.checkpoint_policies
POLICIES = [None, P.nothing_saveable, P.everything_saveable, P.dots_saveable,
            P.checkpoint_dots]


def _f(w, x):
    h = fnp.tanh(w @ x)
    return fnp.sum(fnp.sin(h) * h) + fnp.sum(fnp.exp(w) * 0.1)


W = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
X = np.linspace(0.5, 1.5, 3)


@pytest.mark.parametrize("policy", POLICIES)
def test_grad_equals_grad_without_checkpoint(policy):
    g = fad.checkpoint(_f, policy=policy)
    want = fad.grad(_f, argnums=(0, 1))(W, X)
    for got in (fad.grad(g, argnums=(0, 1))(W, X),
                fad.jit(fad.grad(g, argnums=(0, 1)))(W, X)):
        np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
    with fad.disable_staging():
        got = fad.grad(g, argnums=(0, 1))(W, X)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)


@pytest.mark.parametrize("policy", POLICIES)
def test_check_grads_second_order(policy):
    check_grads(fad.checkpoint(_f, policy=policy), (W, X), order=2, modes=("fwd", "rev"))


def test_vmap_of_grad_and_hessian():
    g = fad.checkpoint(lambda x: fnp.sum(fnp.sin(x) ** 2 * x))
    f = lambda x: fnp.sum(fnp.sin(x) ** 2 * x)   # noqa: E731
    xs = np.linspace(0.1, 1.0, 12).reshape(4, 3)
    np.testing.assert_allclose(fad.vmap(fad.grad(g))(xs), fad.vmap(fad.grad(f))(xs),
                               rtol=1e-12)
    np.testing.assert_allclose(fad.hessian(g)(xs[0]), fad.hessian(f)(xs[0]), rtol=1e-12)
    np.testing.assert_allclose(fad.jit(fad.hessian(g))(xs[0]), fad.hessian(f)(xs[0]),
                               rtol=1e-12)
    t = np.ones(3)
    np.testing.assert_allclose(fad.jvp(g, (xs[0],), (t,))[1], fad.jvp(f, (xs[0],), (t,))[1])


def test_grad_of_checkpoint_inside_vmap_and_vmap_inside_checkpoint():
    f = lambda x: fnp.sum(fnp.cos(x) * x)   # noqa: E731
    xs = np.linspace(0.1, 1.0, 6).reshape(2, 3)
    want = fad.grad(lambda xs: fnp.sum(fad.vmap(f)(xs)))(xs)
    got = fad.grad(lambda xs: fnp.sum(fad.vmap(fad.checkpoint(f))(xs)))(xs)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    got = fad.grad(lambda xs: fnp.sum(fad.checkpoint(fad.vmap(f))(xs)))(xs)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def _step(c, x):
    h = fnp.sin(c * x) + fnp.tanh(c)
    return h * 0.9, fnp.sum(h ** 2)


@pytest.mark.parametrize("policy", [None, P.everything_saveable])
def test_inside_scan(policy):
    xs = np.linspace(0.1, 1.0, 15).reshape(5, 3)

    def loss(c0, step):
        c, ys = lax.scan(step, c0, xs)
        return fnp.sum(c) + fnp.sum(ys)
    c0 = np.linspace(0.2, 0.4, 3)
    want = fad.grad(loss)(c0, _step)
    got = fad.grad(loss)(c0, fad.checkpoint(_step, policy=policy))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(fad.jit(fad.grad(lambda c: loss(c, fad.checkpoint(_step))))(c0),
                               want, rtol=1e-12)
    check_grads(lambda c: loss(c, fad.checkpoint(_step, policy=policy)), (c0,), order=1)


def test_nested_and_static_argnums():
    inner = fad.checkpoint(lambda x: fnp.sin(x) * x)

    def outer(x, n):
        for _ in range(n):
            x = inner(x) + 1.0
        return fnp.sum(x)
    plain = lambda x: fnp.sum(fnp.sin(fnp.sin(x) * x + 1.0) * (fnp.sin(x) * x + 1.0) + 1.0)  # noqa: E731,E501
    g = fad.checkpoint(outer, static_argnums=1)
    x = np.linspace(0.1, 1.0, 3)
    np.testing.assert_allclose(fad.grad(g)(x, 2), fad.grad(plain)(x), rtol=1e-12)
    np.testing.assert_allclose(fad.jit(fad.grad(g), static_argnums=1)(x, 2),
                               fad.grad(plain)(x), rtol=1e-12)
    np.testing.assert_allclose(fad.hessian(g)(x, 2), fad.hessian(plain)(x), rtol=1e-10)


def test_eager_and_pytrees_and_errors():
    g = fad.remat(lambda d: {"y": d["a"] * d["b"]})
    out = g({"a": 2.0, "b": np.ones(2)})
    np.testing.assert_allclose(out["y"], 2.0 * np.ones(2))
    gr = fad.grad(lambda d: fnp.sum(g(d)["y"]))({"a": 2.0, "b": np.ones(2)})
    np.testing.assert_allclose(gr["b"], [2.0, 2.0])
    assert float(gr["a"]) == 2.0
    with pytest.raises(TypeError, match="callable"):
        fad.checkpoint(3)
    with pytest.raises(TypeError, match="policy"):
        fad.checkpoint(fnp.sin, policy=3)
    with pytest.raises(TypeError, match="static_argnums"):
        fad.grad(lambda x: fad.checkpoint(lambda x, s: x * len(s))(x, "ab"))(1.0)


def test_jaxpr_has_one_remat_call_and_typechecks():
    g = fad.checkpoint(lambda x: fnp.sin(x) * 2.0)
    text = str(fad.make_jaxpr(fad.grad(lambda x: fnp.sum(g(x))))(np.ones(3)))
    assert text.count("remat[") == 2    # the forward call, and its transpose
    typecheck_jaxpr(fad.make_jaxpr(fad.grad(lambda x: fnp.sum(g(x))))(np.ones(3)))
    typecheck_jaxpr(fad.make_jaxpr(fad.hessian(lambda x: fnp.sum(g(x))))(np.ones(3)))
    check_jaxpr(lambda x: g(x), (np.ones(3),))


def _names(res):
    return [d for _, _, d in res]


def test_saved_residuals_nothing_saveable_keeps_only_inputs():
    def f(x):
        a = fnp.sin(x)
        return fnp.sum(fnp.tanh(a @ fnp.cos(a)))
    x = np.ones((3, 3)) * 0.5
    plain = fad.saved_residuals(f, x)
    remat = fad.saved_residuals(fad.checkpoint(f), x)
    assert len(remat) < len(plain)
    assert _names(remat) == ["from the argument x"]
    assert all(".py:" in d for d in _names(plain))   # (they name the user's source line)
    assert any("test_checkpoint.py" in d for d in _names(plain))


def test_saved_residuals_dots_saveable_keeps_the_products():
    def f(w, x):
        return fnp.sum(fnp.tanh(w.T @ fnp.tanh(w @ x)))
    w, x = np.ones((3, 3)) * 0.1, np.ones((3, 2))
    res = fad.saved_residuals(fad.checkpoint(f, policy=P.dots_saveable), w, x)
    names = _names(res)
    assert sum("dot_general saved by checkpoint" in d for d in names) == 2
    assert all("tanh" not in d for d in names)
    nothing = _names(fad.saved_residuals(fad.checkpoint(f), w, x))
    assert sorted(nothing) == ["from the argument w", "from the argument x"]
    everything = fad.saved_residuals(fad.checkpoint(f, policy=P.everything_saveable), w, x)
    assert len(everything) > len(res)


def _peak(fun, *args):
    fun(*args)   # (warm: staging caches, compiled programs)
    tracemalloc.start()
    try:
        fun(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _big_step(c, x):
    a = fnp.sin(c) * c
    b = fnp.cos(a) * a
    d = fnp.tanh(b) * b
    return d * x + c * 0.5, None


def _scan_loss(c0, xs, step):
    c, _ = lax.scan(step, c0, xs)
    return fnp.sum(c)


# Without checkpoint the scan stacks several residuals of each step (sin, cos, tanh and
# their products); with it, only the carry of each step. Observed factor: about 6.
MEMORY_FACTOR = 3.0


def test_memory_peak_is_lower_with_checkpoint():
    c0, xs = np.linspace(0.0, 1.0, 100_000), np.linspace(0.1, 0.2, 20)
    plain = _peak(fad.grad(lambda c: _scan_loss(c, xs, _big_step)), c0)
    remat = _peak(fad.grad(lambda c: _scan_loss(c, xs, fad.checkpoint(_big_step))), c0)
    assert plain > MEMORY_FACTOR * remat, (plain, remat)
    np.testing.assert_allclose(fad.grad(lambda c: _scan_loss(c, xs, fad.checkpoint(_big_step)))(
        c0[:10]), fad.grad(lambda c: _scan_loss(c, xs, _big_step))(c0[:10]), rtol=1e-12)


@pytest.mark.parametrize("policy", POLICIES)
def test_checkpoint_inside_jit_inside_grad(policy):
    # (jit's partial evaluation splits the remat equation of its body: the jaxpr rule)
    g = fad.jit(fad.checkpoint(_f, policy=policy))
    want = fad.grad(_f, argnums=(0, 1))(W, X)
    got = fad.grad(g, argnums=(0, 1))(W, X)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
    nested = fad.checkpoint(lambda w, x: fad.checkpoint(_f, policy=policy)(w, x) * 2.0)
    np.testing.assert_allclose(fad.grad(nested)(W, X), 2.0 * want[0], rtol=1e-12)


def _elementwise_chain(x):
    for _ in range(20):
        x = fnp.sin(x) * 1.01 + fnp.cos(x)
    return x


def _peak_bytes(fn, *args):
    fn(*args)   # (compiled, staged: the steady state)
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_checkpoint_of_an_elementwise_chain_folds_the_recomputed_tangents():
    # grad folds an elementwise chain's tangent work into one coefficient built step by
    # step; the recomputation of a checkpoint does the same (linearize rule of remat),
    # rather than keeping every intermediate of the chain for its backward pass
    plain = lambda x: fnp.sum(_elementwise_chain(_elementwise_chain(x)))
    ck = fad.checkpoint(_elementwise_chain)
    checkpointed = lambda x: fnp.sum(ck(ck(x)))
    x = np.linspace(-1.0, 1.0, 50_000)
    np.testing.assert_allclose(fad.grad(checkpointed)(x), fad.grad(plain)(x), rtol=1e-12)
    for wrap in (lambda g: g, fad.jit):
        with_ck = _peak_bytes(wrap(fad.grad(checkpointed)), x)
        without = _peak_bytes(wrap(fad.grad(plain)), x)
        assert with_ck < 2 * without, (with_ck, without)   # (was 7x before the rule)
    closed = fad.make_jaxpr(fad.grad(checkpointed))(np.ones(3))
    typecheck_jaxpr(closed)
    backward = closed.jaxpr.eqns[-1].params["jaxpr"].jaxpr
    linear = [e for e in backward.eqns if any(v is backward.invars[-1] for v in e.invars)]
    assert [e.primitive.name for e in linear] == ["mul"]   # ct * (one coefficient)
