"""The interpreters' contracts: symbolic zeros, one forward pass per derivative, linearize
without re-running, transposition, and evaluation of closed jaxprs."""
from __future__ import annotations

import numpy as np
import pytest

import fad
from fad import lax
from fad.core.ir import ClosedJaxpr, Literal, typecheck_jaxpr


def _sum(x):
    return lax.reduce_sum(x, tuple(range(len(np.shape(x)) if not hasattr(x, "aval") else
                                         x.ndim)))


# -- symbolic zeros ---------------------------------------------------------------------------

def _is_zero_atom(atom, env):
    if isinstance(atom, Literal):
        return not np.any(atom.val)
    return atom in env and not np.any(env[atom])


def _zero_only_eqns(closed: ClosedJaxpr):
    """Equations all of whose inputs are zeros (literals or constants): wasted work."""
    env = dict(zip(closed.jaxpr.constvars, closed.consts))
    return [e for e in closed.eqns if e.invars and all(_is_zero_atom(a, env) for a in e.invars)]


def _eqns_with_a_zero_summand(closed: ClosedJaxpr):
    env = dict(zip(closed.jaxpr.constvars, closed.consts))
    return [e for e in closed.eqns if e.primitive.name in ("add_any", "add")
            and any(_is_zero_atom(a, env) for a in e.invars)]


C = np.array([0.5, -1.0, 2.0])


def branchy(x):
    """A sum of terms, some of which do not depend on x."""
    const_branch = lax.cos(lax.mul(C, 2.0))
    dead = lax.exp(C)                             # noqa: F841 - computed, never used
    detached = lax.sin(lax.stop_gradient(x))
    live = lax.mul(lax.sin(x), x)
    return _sum(lax.add(lax.add(live, const_branch), detached))


@pytest.mark.parametrize("f", [
    branchy,
    lambda x: lax.reduce_sum(lax.mul(x, 2.0), (0,)),
    lambda x: _sum(lax.select_n(lax.gt(x, 0.0), lax.mul(C, C), lax.mul(x, x))),
    lambda x: _sum(lax.add(lax.floor(x), lax.mul(x, lax.stop_gradient(x)))),
], ids=["branchy", "linear", "select_const_case", "floor_plus_stopped"])
def test_grad_materialises_no_zeros(f):
    x = np.array([0.3, 1.2, -0.7])
    closed = fad.make_jaxpr(fad.grad(f))(x)
    typecheck_jaxpr(closed)
    assert _zero_only_eqns(closed) == []
    assert _eqns_with_a_zero_summand(closed) == []
    np.testing.assert_allclose(fad.eval_jaxpr(closed, (), x)[0], fad.grad(f)(x))


def test_linearize_records_only_the_live_tangent_path():
    _, f_jvp = fad.linearize(branchy, np.array([0.3, 1.2, -0.7]))
    names = [e.primitive.name for e in f_jvp.jaxpr.eqns]
    assert "cos" not in names and "exp" not in names and "stop_gradient" not in names
    assert _zero_only_eqns(f_jvp.jaxpr) == []


def test_structurally_zero_outputs_are_zeros_not_computed():
    closed = fad.make_jaxpr(fad.grad(lambda x: _sum(lax.mul(lax.stop_gradient(x), C))))(C)
    assert [e.primitive.name for e in closed.eqns if e.primitive.name == "mul"] == ["mul"]
    np.testing.assert_array_equal(fad.grad(lambda x: _sum(lax.stop_gradient(x)))(C), 0 * C)
    out, t = fad.jvp(lambda x, y: (lax.sin(x), lax.cos(y)), (1.0, 2.0), (1.0, 0.0))
    assert t[1] == 0.0


def test_jvp_with_integer_input_has_float0_zero_tangent():
    def f(x, n):
        return lax.mul(x, lax.convert_element_type(n, np.float64))
    closed = fad.make_jaxpr(lambda x, n: fad.jvp(f, (x, n), (1.0, np.zeros((), fad.float0))))(
        2.0, np.int64(3))
    assert _zero_only_eqns(closed) == []
    assert fad.grad(f, argnums=(0, 1), allow_int=True)(2.0, np.int64(3))[1].dtype == fad.float0


# -- the forward pass runs once -------------------------------------------------------------

@pytest.fixture
def counts(monkeypatch):
    """Counts of calls to the NumPy implementations of sin and cos."""
    calls = {"sin": 0, "cos": 0}
    for name in calls:
        prim = getattr(lax, f"{name}_p")
        impl = prim.impl

        def counted(*args, _impl=impl, _name=name, **params):
            calls[_name] += 1
            return _impl(*args, **params)
        monkeypatch.setattr(prim, "impl", counted)
    return calls


def test_grad_runs_the_forward_computation_once(counts):
    x = np.array([0.1, 0.2])
    g = fad.grad(lambda x: _sum(lax.mul(lax.sin(x), x)))(x)
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x))
    assert counts == {"sin": 1, "cos": 1}
    fad.value_and_grad(lambda x: _sum(lax.sin(x)))(x)
    assert counts == {"sin": 2, "cos": 2}


def test_vjp_backward_passes_do_not_rerun_the_forward(counts):
    calls = []

    def f(x):
        calls.append(1)
        return lax.sin(x)
    out, f_vjp = fad.vjp(f, np.array([0.1, 0.2]))
    before = dict(counts)
    for k in range(3):
        np.testing.assert_allclose(f_vjp(np.full(2, float(k)))[0], k * np.cos([0.1, 0.2]))
    assert counts == before == {"sin": 1, "cos": 1} and len(calls) == 1


def test_linearize_jvp_does_not_rerun_the_function(counts):
    calls = []

    def f(x):
        calls.append(1)
        return lax.mul(lax.sin(x), x)
    x = np.array([0.4, 1.1])
    y, f_jvp = fad.linearize(f, x)
    after_linearize = dict(counts)
    deriv = np.cos(x) * x + np.sin(x)
    for t in (np.ones(2), np.array([2.0, -1.0]), np.zeros(2)):
        np.testing.assert_allclose(f_jvp(t), deriv * t)
    np.testing.assert_allclose(fad.vmap(f_jvp)(np.eye(2)), np.diag(deriv))
    assert counts == after_linearize == {"sin": 1, "cos": 1} and len(calls) == 1
    np.testing.assert_allclose(y, np.sin(x) * x)


def test_grad_of_grad_evaluates_sin_a_bounded_number_of_times(counts):
    fad.grad(fad.grad(lax.sin))(0.5)
    # forward sin once; sin's derivative cos (and its derivative -sin) once each level
    assert counts["sin"] <= 2 and counts["cos"] <= 2


# -- linear_transpose against the explicit matrix ---------------------------------------------

A = np.arange(12.0).reshape(3, 4) - 5.0


def _flat(tree):
    leaves, _ = fad.tree_util.tree_flatten(tree)
    return np.concatenate([np.ravel(np.asarray(x, dtype=np.float64)) for x in leaves])


def _unflat_like(vec, example):
    leaves, tree = fad.tree_util.tree_flatten(example)
    out, i = [], 0
    for x in leaves:
        n = np.size(x)
        out.append(vec[i:i + n].reshape(np.shape(x)))
        i += n
    return fad.tree_util.tree_unflatten(tree, out)


def _matrix(f, primals):
    """The matrix of the linear map ``f``, column by column (eager evaluation only)."""
    n = _flat(primals).size
    cols = [_flat(f(*_unflat_like(np.eye(n)[j], primals))) for j in range(n)]
    return np.stack(cols, axis=1)


def matvec(x):
    xb = lax.broadcast_in_dim(x, (3, 4), (1,))
    return lax.reduce_sum(lax.mul(A, xb), (1,))


MASK = np.array([True, False, True, False, True, True])
LINEAR = {
    "matvec": (matvec, (np.ones(4),)),
    "reshape_transpose": (lambda x: lax.transpose(lax.reshape(x, (2, 3)), (1, 0)),
                          (np.ones(6),)),
    "two_inputs": (lambda x, y: lax.sub(lax.mul(x, 2.0), lax.mul(y, C)), (np.ones(3),
                                                                         np.ones(3))),
    "two_outputs": (lambda x: (lax.mul(x, 3.0), lax.neg(lax.reduce_sum(x, (0,)))),
                    (np.ones(3),)),
    "masked": (lambda x: lax.select_n(MASK, lax.mul(x, 0.0), lax.div(x, 4.0)), (np.ones(6),)),
    "broadcast_add": (lambda x, y: lax.add(lax.broadcast_in_dim(x, (2, 3), (1,)), y),
                      (np.ones(3), np.ones((2, 3)))),
}


@pytest.mark.parametrize("name", list(LINEAR))
def test_linear_transpose_is_the_matrix_transpose(name):
    f, primals = LINEAR[name]
    M = _matrix(f, primals)
    f_t = fad.linear_transpose(f, *primals)
    out_example = f(*primals)
    rng = np.random.default_rng(0)
    for _ in range(2):
        ct = rng.standard_normal(M.shape[0])
        got = f_t(_unflat_like(ct, out_example))
        assert isinstance(got, tuple) and len(got) == len(primals)
        np.testing.assert_allclose(_flat(got), M.T @ ct, rtol=1e-12, atol=1e-12)


def test_linear_transpose_twice_is_the_function():
    f_t = fad.linear_transpose(matvec, np.ones(4))
    f_tt = fad.linear_transpose(lambda ct: f_t(ct)[0], np.ones(3))
    x = np.array([1.0, -2.0, 0.5, 3.0])
    np.testing.assert_allclose(f_tt(x)[0], A @ x)


# -- eval_jaxpr -------------------------------------------------------------------------------

def _closed():
    return fad.make_jaxpr(lambda x, y: (lax.mul(lax.sin(x), C), lax.add(x, y)))(
        np.ones(3), 2.0)


def test_eval_jaxpr_on_closed_jaxpr():
    closed = _closed()
    assert len(closed.consts) == 1
    x = np.array([0.1, 0.2, 0.3])
    a, b = fad.eval_jaxpr(closed, (), x, 2.0)
    np.testing.assert_allclose(a, np.sin(x) * C)
    np.testing.assert_allclose(b, x + 2.0)
    a2, b2 = fad.eval_jaxpr(closed.jaxpr, closed.consts, x, 2.0)
    np.testing.assert_array_equal(a, a2)


def test_eval_jaxpr_misuse():
    closed = _closed()
    with pytest.raises(TypeError, match="ClosedJaxpr carries its own constants"):
        fad.eval_jaxpr(closed, closed.consts, np.ones(3), 2.0)
    with pytest.raises(TypeError, match="takes 2 arguments, got 1"):
        fad.eval_jaxpr(closed, (), np.ones(3))


def test_eval_jaxpr_is_transformable():
    closed = _closed()
    x = np.array([0.1, 0.2, 0.3])

    def f(x):
        return _sum(fad.eval_jaxpr(closed, (), x, 2.0)[0])
    np.testing.assert_allclose(fad.grad(f)(x), np.cos(x) * C)
    xs = np.stack([x, 2 * x])
    np.testing.assert_allclose(fad.vmap(lambda x: fad.eval_jaxpr(closed, (), x, 2.0)[0])(xs),
                               np.sin(xs) * C)
    again = fad.make_jaxpr(lambda x, y: fad.eval_jaxpr(closed, (), x, y))(x, 2.0)
    assert str(again) == str(closed)


def test_gradient_program_of_an_elementwise_chain_is_at_most_three_times_longer():
    """make_jaxpr(grad(f)) of an n-operation elementwise chain has at most ~3n equations:
    the forward list, the residuals the backward list needs, and the backward list."""
    import fad.numpy as fnp

    def chain(x):
        for _ in range(10):
            x = fnp.sin(x)
            x = x * 1.01
            x = fnp.tanh(x)
            x = x + 0.1
        return fnp.sum(x)

    x = np.linspace(-1.0, 1.0, 4)
    n = len(fad.make_jaxpr(chain)(x).eqns)
    n_grad = len(fad.make_jaxpr(fad.grad(chain))(x).eqns)
    assert n == 41
    assert n_grad <= 3 * n, (n, n_grad)
