"""The training examples run in their ``--fast`` configuration and reach their figures:
the digits MLP (``examples/mlp_digits.py``, needs the ``examples`` extra) learns to at
least 85% test accuracy in a few epochs, keeps float32 parameters and writes its plot;
its loss's gradient equals backpropagation written by hand in NumPy. Newton's method
(``examples/newton.py``) agrees with SciPy's trust-exact to 1e-8 on Rosenbrock's function
and a logistic regression, its damping escapes a saddle, and its gradient is the
closed-form one. Each example's ``RESULT`` line is parsed too."""
import doctest
import importlib.util
import pathlib
import re
import sys

import numpy as np
import pytest

import fad

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def _load(name):
    """Import ``examples/<name>.py`` by path (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"fad_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(name, capsys, *extra):
    """``main(["--fast", *extra])``'s figures, and its ``RESULT`` line as floats."""
    result = _load(name).main(["--fast", *extra])
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("RESULT ")]
    assert len(lines) == 1, f"{name}: expected one RESULT line, got {lines}"
    printed = dict(re.fullmatch(r"(\w+)=(\S+)", field).groups() for field in lines[0].split()[1:])
    return result, {k: float(v) for k, v in printed.items()}


# -- examples/mlp_digits.py --------------------------------------------------------------------

@pytest.fixture(scope="module")
def mlp():
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    return _load("mlp_digits")


def test_mlp_digits_learns_and_plots(mlp, capsys, tmp_path):
    out = tmp_path / "curve.png"
    result, printed = _run("mlp_digits", capsys, "--out", str(out))
    assert result["test_accuracy"] >= 0.85
    assert result["final_loss"] < result["initial_loss"] / 2
    assert len(result["history"]["test_accuracy"]) == result["epochs"]
    # Adam, the clipping and the schedule keep float32 parameters float32.
    assert {p.dtype for p in fad.tree_util.tree_leaves(result["params"])} == {np.dtype("f4")}
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    assert printed["test_accuracy"] == pytest.approx(result["test_accuracy"], abs=1e-4)


def test_mlp_digits_data_split_and_scaling(mlp):
    x_train, y_train, x_test, y_test = mlp.load_data(fad.random.key(0))
    assert x_train.shape[0] + x_test.shape[0] == 1797 and x_test.shape[0] == 359
    assert x_train.dtype == np.float32 and set(np.unique(y_test)) == set(range(10))
    # Standardised with the training set's statistics only: centred there, not on the test.
    np.testing.assert_allclose(x_train.mean(axis=0), 0.0, atol=1e-5)
    again = mlp.load_data(fad.random.key(0))                  # the split is reproducible
    np.testing.assert_array_equal(again[3], y_test)


def test_mlp_digits_gradient_matches_numpy_backprop(mlp):
    # The loss's gradient against backpropagation written out in NumPy (float64).
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 5)), rng.integers(0, 3, size=7).astype(np.int32)
    params = {"w1": rng.normal(size=(5, 4)), "b1": rng.normal(size=4),
              "w2": rng.normal(size=(4, 3)), "b2": rng.normal(size=3)}
    pre = x @ params["w1"] + params["b1"]
    hidden = np.maximum(pre, 0.0)
    z = hidden @ params["w2"] + params["b2"]
    probs = np.exp(z - z.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    dz = (probs - np.eye(3)[y]) / len(y)                   # d mean cross-entropy / d logits
    dpre = (dz @ params["w2"].T) * (pre > 0)
    want = {"w1": x.T @ dpre, "b1": dpre.sum(0), "w2": hidden.T @ dz, "b2": dz.sum(0)}
    value, grads = fad.value_and_grad(mlp.loss)(params, x, y)
    np.testing.assert_allclose(value, -np.mean(np.log(probs[np.arange(7), y])), rtol=1e-12)
    for name in want:
        np.testing.assert_allclose(grads[name], want[name], rtol=1e-10, atol=1e-12)


def test_mlp_digits_without_extras_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)   # as if not installed
    with pytest.raises(ImportError, match=re.escape("pip install -e '.[examples]'")):
        _load("mlp_digits")


# -- examples/newton.py ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def newton():
    pytest.importorskip("scipy")
    return _load("newton")


def test_newton_agrees_with_trust_exact(newton, capsys):
    result, printed = _run("newton", capsys)
    for problem in ("rosenbrock", "logistic"):
        assert result[f"{problem}_max_diff"] < 1e-8, problem
        assert result[f"{problem}_grad_norm"] < 1e-10, problem
        assert printed[f"{problem}_max_diff"] == pytest.approx(result[f"{problem}_max_diff"],
                                                               rel=1e-2, abs=1e-18)
    np.testing.assert_allclose(result["x_rosenbrock"], [1.0, 1.0], atol=1e-10)
    # Quadratic convergence: a handful of iterations for the (concave) likelihood.
    assert result["logistic_iters"] <= 10 and result["rosenbrock_iters"] <= 40


def test_newton_damping_escapes_a_saddle(newton):
    # f = x^4 - x^2 + y^2 has a saddle at the origin and minima at x = +-1/sqrt(2); at
    # x = 0.1 the Hessian is indefinite, and pure Newton steps straight to the saddle.
    f = lambda v: v[0] ** 4 - v[0] ** 2 + v[1] ** 2
    start = np.array([0.1, 1.0])
    pure = start - np.linalg.solve(fad.hessian(f)(start), fad.grad(f)(start))
    assert abs(pure[0]) < 0.01                               # towards the saddle
    x, _ = newton.newton(f, start)
    np.testing.assert_allclose(x, [1 / np.sqrt(2), 0.0], atol=1e-12)


def test_newton_positive_definite_shift(newton):
    h = np.array([[1.0, 0.0], [0.0, -3.0]])
    shifted, tau = newton.positive_definite(h)
    assert tau > 3.0 and np.all(np.linalg.eigvalsh(shifted) > 0)
    np.testing.assert_allclose(shifted, h + tau * np.eye(2))
    spd = np.array([[2.0, 1.0], [1.0, 2.0]])
    assert newton.positive_definite(spd)[1] == 0.0            # left alone when already PD


def test_newton_logistic_gradient_is_the_closed_form(newton):
    x, y, _ = newton.make_logistic_data(fad.random.key(3), 30, 3)
    w = np.array([0.3, -0.5, 0.8])
    want = x.T @ (1.0 / (1.0 + np.exp(-x @ w)) - y)          # X^T (sigmoid(Xw) - y)
    np.testing.assert_allclose(fad.grad(newton.logistic_nll)(w, x, y), want, rtol=1e-12)


def test_newton_docstring_example(newton):
    failed, attempted = doctest.testmod(newton, verbose=False)
    assert attempted > 0 and failed == 0
