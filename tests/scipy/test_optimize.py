"""fad.scipy.optimize.minimize against SciPy's own minimize run on the flat problem with
hand-written derivatives (scipy.optimize.rosen_der & co.): the same answers, in the
pytree's structure; a logistic-regression MLE; the error messages."""
import warnings

import numpy as np
import pytest
import scipy.optimize as so

import fad
import fad.numpy as fnp
import fad.scipy.optimize as fso
from fad.scipy.optimize import minimize
from fad.tree_util import tree_structure

X0 = np.array([1.3, 0.7, 0.8, 1.9, 1.2])   # SciPy's tutorial start


def _as_tree(v):
    return {"head": np.array(v[:2]), "tail": np.array(v[2:])}   # sorted keys: head, tail


def rosen_tree(p):
    v = fnp.concatenate([p["head"], p["tail"]])
    return fnp.sum(100.0 * (v[1:] - v[:-1] ** 2) ** 2 + (1.0 - v[:-1]) ** 2)


CASES = {   # method: the derivatives SciPy's reference run gets, written by hand
    "BFGS": {"jac": so.rosen_der},
    "Newton-CG": {"jac": so.rosen_der, "hessp": so.rosen_hess_prod},
    "trust-exact": {"jac": so.rosen_der, "hess": so.rosen_hess},
    "trust-krylov": {"jac": so.rosen_der, "hessp": so.rosen_hess_prod},
    "trust-ncg": {"jac": so.rosen_der, "hessp": so.rosen_hess_prod},
}


@pytest.mark.parametrize("method", CASES)
def test_rosenbrock_pytree_reaches_scipys_answer(method):
    want = so.minimize(so.rosen, X0, method=method, **CASES[method])
    got = minimize(rosen_tree, _as_tree(X0), method=method)
    assert got.success and want.success
    assert tree_structure(got.x) == tree_structure(_as_tree(X0))
    flat = np.concatenate([got.x["head"], got.x["tail"]])
    np.testing.assert_allclose(flat, want.x, atol=1e-8)
    np.testing.assert_allclose(flat, np.ones(5), atol=1e-3)   # (SciPy's default tolerances)
    assert got.fun == pytest.approx(want.fun, abs=1e-12)
    assert got.nit == want.nit and got.status == want.status and got.message == want.message
    if "hess" in CASES[method] or "hessp" in CASES[method]:
        assert got.raw.nhev > 0      # fad's second derivatives were used, not approximated
    # (the gradient SciPy reports: Newton-CG's is that of its last iterate but one)
    np.testing.assert_allclose(np.concatenate([got.jac["head"], got.jac["tail"]]),
                               want.jac, atol=1e-8)


def test_rosenbrock_two_scalars_with_trust_exact():
    got = minimize(lambda p: (1 - p["x"]) ** 2 + 100 * (p["y"] - p["x"] ** 2) ** 2,
                   {"x": -1.2, "y": 1.0}, method="trust-exact")
    want = so.minimize(so.rosen, [-1.2, 1.0], method="trust-exact", jac=so.rosen_der,
                       hess=so.rosen_hess)
    np.testing.assert_allclose([got.x["x"], got.x["y"]], want.x, atol=1e-8)
    assert np.shape(got.x["x"]) == () and got.success


def test_lbfgsb_with_pytree_bounds():
    bounds = ({"head": -2.0, "tail": None}, {"head": None, "tail": np.array([0.8, np.inf, 5])})
    got = minimize(rosen_tree, _as_tree(X0), method="L-BFGS-B", bounds=bounds)
    flat_bounds = so.Bounds([-2, -2, -np.inf, -np.inf, -np.inf], [np.inf, np.inf, 0.8, np.inf, 5])
    want = so.minimize(so.rosen, X0, method="L-BFGS-B", jac=so.rosen_der, bounds=flat_bounds)
    flat = np.concatenate([got.x["head"], got.x["tail"]])
    np.testing.assert_allclose(flat, want.x, atol=1e-8)
    assert flat[2] <= 0.8 + 1e-12 and got.success
    # a scipy.optimize.Bounds on the ravelled vector passes through
    same = minimize(rosen_tree, _as_tree(X0), method="L-BFGS-B", bounds=flat_bounds)
    np.testing.assert_allclose(np.concatenate([same.x["head"], same.x["tail"]]), want.x,
                               atol=1e-8)


def _logistic_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    logits = x @ np.array([1.5, -2.0, 0.5]) + 0.3
    y = (rng.uniform(size=60) < 1 / (1 + np.exp(-logits))).astype(np.float64)
    return x, y


def _nll(params, x, y):
    z = x @ params["w"] + params["b"]
    return fnp.sum(fnp.logaddexp(0.0, z) - y * z)


@pytest.mark.parametrize("method", ["BFGS", "Newton-CG", "trust-krylov"])
def test_logistic_regression_mle(method):
    x, y = _logistic_data()
    res = minimize(_nll, {"w": np.zeros(3), "b": 0.0}, (x, y), method=method,
                   options={"gtol": 1e-10} if method != "Newton-CG" else {"xtol": 1e-12})
    design = np.hstack([x, np.ones((60, 1))])

    def nll(v):
        z = design @ v
        return np.sum(np.logaddexp(0.0, z) - y * z)

    def score(v):
        return design.T @ (1 / (1 + np.exp(-design @ v)) - y)

    want = so.minimize(nll, np.zeros(4), jac=score, method="BFGS", options={"gtol": 1e-10})
    got = np.append(res.x["w"], res.x["b"])
    np.testing.assert_allclose(got, want.x, atol=1e-6)
    np.testing.assert_allclose(score(got), 0.0, atol=1e-7)   # the score equations hold
    assert res.fun == pytest.approx(nll(got), rel=1e-12)


def test_float32_leaves_come_back_float32_and_callback_sees_pytrees():
    seen = []
    x0 = {"a": np.zeros(2, np.float32), "n": np.int64(3)}
    res = minimize(lambda p: fnp.sum((p["a"] - 1.0) ** 2) + (p["n"] - 0.5) ** 2, x0,
                   callback=lambda x: seen.append(x))
    assert res.x["a"].dtype == np.float32 and res.x["n"].dtype == np.float64
    np.testing.assert_allclose(res.x["a"], [1.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(res.x["n"], 0.5, atol=1e-6)
    assert seen and all(tree_structure(s) == tree_structure(x0) for s in seen)


def test_jac_options_and_derivative_free_methods():
    fun = lambda p, c: fnp.sum((p - c) ** 2)
    c = np.array([1.0, -1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")     # no "does not use gradient information" warning
        nm = minimize(fun, np.zeros(2), (c,), method="Nelder-Mead",
                      options={"xatol": 1e-10, "fatol": 1e-14})
    np.testing.assert_allclose(nm.x, c, atol=1e-6)
    assert nm.jac is None
    fd = minimize(fun, np.zeros(2), (c,), jac=False)
    np.testing.assert_allclose(fd.x, c, atol=1e-6)
    calls = []
    by_hand = minimize(fun, np.zeros(2), (c,), jac=lambda p, c: calls.append(1) or 2 * (p - c))
    np.testing.assert_allclose(by_hand.x, c, atol=1e-8)
    assert calls


def test_python_control_flow_needs_jit_false():
    def fun(x):
        return fnp.sum(x ** 2) if x[0] > -10 else 0.0     # bool() of a traced value: not in jit
    res = minimize(fun, np.ones(2), jit=False)
    np.testing.assert_allclose(res.x, 0.0, atol=1e-8)


def test_constraints_on_pytrees():
    fun = lambda p: p["a"] ** 2 + fnp.sum(p["b"] ** 2)
    x0 = {"a": 1.0, "b": np.array([2.0, 0.0])}
    eq = {"type": "eq", "fun": lambda p, t: p["a"] + fnp.sum(p["b"]) - t, "args": (3.0,)}
    res = minimize(fun, x0, method="SLSQP", constraints=eq)
    np.testing.assert_allclose(res.x["a"], 1.0, atol=1e-6)
    np.testing.assert_allclose(res.x["b"], [1.0, 1.0], atol=1e-6)
    ineq = [{"type": "ineq", "fun": lambda p: {"lo": p["a"] - 0.5, "hi": p["b"] - 0.2}}]
    res = minimize(fun, x0, method="SLSQP", constraints=ineq)
    np.testing.assert_allclose(res.x["a"], 0.5, atol=1e-6)
    np.testing.assert_allclose(res.x["b"], [0.2, 0.2], atol=1e-6)


# ------------------------------------------------------------------------------ errors

def test_non_scalar_output_is_a_type_error_naming_the_shape():
    with pytest.raises(TypeError, match=r"real scalar.*shape \(3,\)"):
        minimize(lambda x: x ** 2, np.ones(3))
    with pytest.raises(TypeError, match="real scalar, got complex128"):
        minimize(lambda x: fnp.sum(x) * 1j, np.ones(3))


def test_bad_x0_fun_and_bounds():
    with pytest.raises(TypeError, match="complex"):
        minimize(lambda x: fnp.sum(fnp.abs(x)), {"z": np.ones(2, np.complex128)})
    with pytest.raises(TypeError, match="not a number"):
        minimize(lambda x: 0.0, ["text"])
    with pytest.raises(ValueError, match="no leaves"):
        minimize(lambda x: 0.0, {})
    with pytest.raises(TypeError, match="fun must be callable"):
        minimize("rosen", np.ones(2))
    with pytest.raises(TypeError, match="traced value"):
        fad.grad(lambda s: minimize(lambda x: fnp.sum(x ** 2), s * np.ones(2)).fun)(1.0)
    with pytest.raises(TypeError, match="pair"):
        minimize(rosen_tree, _as_tree(X0), method="L-BFGS-B", bounds=[(0, 1)] * 5)
    with pytest.raises(ValueError, match="lower bound is not shaped like x0"):
        minimize(rosen_tree, _as_tree(X0), method="L-BFGS-B", bounds=((0, 1), None))
    with pytest.raises(ValueError, match="upper bound does not broadcast"):
        minimize(rosen_tree, _as_tree(X0), method="L-BFGS-B",
                 bounds=(None, {"head": np.ones(3), "tail": 1.0}))


def test_unknown_method_passes_through_to_scipy():
    with pytest.raises(ValueError, match="Unknown solver not-a-method"):
        minimize(lambda x: fnp.sum(x ** 2), np.ones(2), method="not-a-method")


def test_without_scipy_minimize_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(fso, "_scipy_optimize", None)
    with pytest.raises(ImportError, match="pip install scipy"):
        minimize(lambda x: fnp.sum(x ** 2), np.ones(2))
