"""The worked examples in ``examples/`` run in their ``--fast`` configuration and reach
their figures: HMC's posterior means agree with an independent reference within 3
Monte-Carlo standard errors; per-example gradients equal a loop and DP-SGD learns;
the checkpointed RNN keeps fewer residual bytes and its loss falls; the fitted GP's
likelihood is at least the truth's. Each example's ``RESULT`` line is parsed too."""
import importlib.util
import pathlib
import re

import numpy as np
import pytest
import scipy.stats

import fad
from fad.test_util import check_grads

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def _load(name):
    """Import ``examples/<name>.py`` by path (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"fad_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(name, capsys):
    """``main(["--fast"])``'s figures, and its ``RESULT`` line as a dict of floats."""
    result = _load(name).main(["--fast"])
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("RESULT ")]
    assert len(lines) == 1, f"{name}: expected one RESULT line, got {lines}"
    printed = dict(re.fullmatch(r"(\w+)=(\S+)", field).groups() for field in lines[0].split()[1:])
    return result, {k: float(v) for k, v in printed.items()}


@pytest.fixture(scope="module")
def hmc():
    return _load("hmc")


def test_hmc_matches_reference_within_3_mcse(capsys):
    result, printed = _run("hmc", capsys)
    assert 0.6 <= result["acceptance"] <= 0.995
    assert result["max_z"] <= 3.0, (result["mean"], result["ref_mean"], result["mcse"])
    # The comparison has teeth: both errors are small against the posterior's scale (~0.25).
    assert result["mcse_max"] < 0.02 and np.max(result["ref_mcse"]) < 0.02
    assert printed["acceptance"] == pytest.approx(result["acceptance"], abs=1e-3)


def test_hmc_batch_means_mcse(hmc):
    # Independent draws: the batch-means MCSE is the standard error sd / sqrt(N).
    draws = np.random.default_rng(0).normal(size=(8, 500, 2))
    np.testing.assert_allclose(hmc.batch_means_mcse(draws, 5), 1 / np.sqrt(4000), rtol=0.3)


def test_hmc_chain_matches_numpy_leapfrog(hmc):
    # The jitted, vmapped sampler against one chain written in NumPy with the analytic
    # gradient of the log posterior, fed the same random numbers.
    x, y, _ = hmc.make_data(fad.random.key(5), n=20)
    eps, n_leapfrog, n_steps = 0.1, 5, 6
    keys = fad.random.split(fad.random.key(6), 2)
    w0s = np.array([[0.1, -0.2, 0.3, 0.0], [1.0, 1.0, -1.0, 0.5]])
    draws, accepted = hmc.make_sampler(x, y, eps, n_leapfrog)(keys, w0s, n_steps)

    def log_p(w):
        z = x @ w
        return np.sum(y * z - np.logaddexp(0, z)) - 0.5 * w @ w / hmc.PRIOR_SCALE ** 2

    def grad_log_p(w):
        return x.T @ (y - 1 / (1 + np.exp(-x @ w))) - w / hmc.PRIOR_SCALE ** 2

    for c in range(2):
        w = w0s[c]
        for t, k in enumerate(fad.random.split(keys[c], n_steps)):
            k_p, k_u = fad.random.split(k)
            p = fad.random.normal(k_p, (4,))
            w1, p1 = w.copy(), p.copy()
            for _ in range(n_leapfrog):
                p1 = p1 + 0.5 * eps * grad_log_p(w1)
                w1 = w1 + eps * p1
                p1 = p1 + 0.5 * eps * grad_log_p(w1)
            log_ratio = log_p(w1) - 0.5 * p1 @ p1 - log_p(w) + 0.5 * p @ p
            accept = np.log(fad.random.uniform(k_u)) < log_ratio
            w = w1 if accept else w
            assert accepted[c, t] == accept
            np.testing.assert_allclose(draws[c, t], w, rtol=1e-10, atol=1e-12)


def test_hmc_laplace_reference_on_a_gaussian_posterior(hmc):
    # Zero data and a Gaussian prior: the posterior is the prior, mean zero, and the
    # importance weights of the (wider) Laplace proposal are exact ratios.
    x, y = np.zeros((3, 2)), np.zeros(3)
    mean, mcse, ess = hmc.laplace_importance_reference(fad.random.key(1), x, y, 4000)
    # log(1 + e^0) terms are constant, so the posterior is N(0, PRIOR_SCALE^2 I)
    assert np.all(np.abs(mean) <= 4 * mcse)
    assert 1000 < ess < 4000


def test_per_example_gradients_dp_sgd(capsys):
    result, printed = _run("per_example_gradients", capsys)
    assert result["grad_max_diff"] < 1e-12
    assert result["test_accuracy"] >= 0.9
    assert printed["test_accuracy"] == pytest.approx(result["test_accuracy"], abs=1e-3)


def test_per_example_clipping_bounds_each_norm():
    ex = _load("per_example_gradients")
    rng = np.random.default_rng(0)
    grads = {"a": rng.normal(size=(5, 3, 2)) * 3, "b": rng.normal(size=(5,)) * 0.01}
    clipped, frac = ex.clip(grads)
    norms = np.sqrt(np.sum(clipped["a"] ** 2, axis=(1, 2)) + clipped["b"] ** 2)
    before = np.sqrt(np.sum(grads["a"] ** 2, axis=(1, 2)) + grads["b"] ** 2)
    np.testing.assert_allclose(norms, np.minimum(before, ex.CLIP_NORM), rtol=1e-12)
    assert float(frac) == np.mean(before > ex.CLIP_NORM)


def test_rnn_scan_checkpoint(capsys):
    result, printed = _run("rnn_scan", capsys)
    assert result["grad_diff"] < 1e-12
    assert result["final_loss"] < result["initial_loss"] / 3
    assert result["residual_bytes_checkpoint"] < result["residual_bytes_plain"] / 2
    assert printed["memory_ratio"] == pytest.approx(result["memory_ratio"], abs=0.01)


def test_gaussian_process_fit(capsys):
    result, printed = _run("gaussian_process", capsys)
    assert result["nll_fit"] <= result["nll_true"] + 1e-3
    assert result["grad_norm"] < 0.2                       # near a stationary point
    for name in ("lengthscale", "signal_var", "noise_var"):
        assert 0.5 < result[name] / result["true_" + name] < 2.0, name
    assert printed["nll_fit"] == pytest.approx(result["nll_fit"], abs=1e-3)


def test_gaussian_process_nll_matches_scipy_and_its_gradient():
    gp = _load("gaussian_process")
    x, y, _, _ = gp.sample_data(fad.random.key(3), 12, n_test=1)
    theta = {"log_lengthscale": np.float64(-0.3), "log_signal_var": np.float64(0.2),
             "log_noise_var": np.float64(-2.0)}
    k = (np.exp(0.2) * np.exp(-0.5 * (x[:, None] - x[None, :]) ** 2 / np.exp(-0.6))
         + np.exp(-2.0) * np.eye(12))
    want = -scipy.stats.multivariate_normal(np.zeros(12), k).logpdf(y)
    np.testing.assert_allclose(float(gp.nll(theta, x, y)), want, rtol=1e-10)
    check_grads(lambda th: gp.nll(th, x, y), (theta,), order=1, modes=("rev",))
