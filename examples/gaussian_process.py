"""Gaussian-process regression: fitting the kernel's hyperparameters by maximum likelihood.

Data are drawn from a GP with a squared-exponential kernel of known lengthscale, signal
variance and noise variance. The negative log marginal likelihood

    NLL(theta) = 1/2 y^T K^-1 y + sum(log diag L) + n/2 log(2 pi),   K = L L^T,

is written with ``fad.numpy.linalg.cholesky`` and ``fad.scipy.linalg.cho_solve``, and
``fad.jit(fad.value_and_grad(nll))`` differentiates through the Cholesky factorisation.
The three hyperparameters are fitted in log space by Adam (written inline). The fitted
NLL must not be above the NLL at the true hyperparameters (the maximum-likelihood point
fits this sample at least as well as the truth does); the fitted values are near the
truth, within the error of an estimate from one sampled function (the signal variance is
the least well determined). The posterior mean at held-out points is compared with the
noise-free function there.

    python examples/gaussian_process.py [--fast]
"""
import argparse
import time

import numpy as np

import fad
import fad.numpy as fnp
import fad.scipy.linalg as fsl

TRUE = {"log_lengthscale": np.log(0.6), "log_signal_var": np.log(1.5),
        "log_noise_var": np.log(0.05)}


def kernel(theta, a, b):
    """Squared-exponential kernel between 1-D inputs ``a`` (n,) and ``b`` (m,)."""
    sq_dist = (a[:, None] - b[None, :]) ** 2
    return fnp.exp(theta["log_signal_var"] - 0.5 * sq_dist * fnp.exp(-2 * theta["log_lengthscale"]))


def nll(theta, x, y):
    """Negative log marginal likelihood of ``y`` under the GP with hyperparameters ``theta``."""
    n = x.shape[0]
    k = kernel(theta, x, x) + fnp.exp(theta["log_noise_var"]) * fnp.eye(n)
    chol = fnp.linalg.cholesky(k)
    alpha = fsl.cho_solve((chol, True), y)
    return 0.5 * y @ alpha + fnp.sum(fnp.log(fnp.diag(chol))) + 0.5 * n * np.log(2 * np.pi)


def posterior_mean(theta, x, y, x_new):
    k = kernel(theta, x, x) + fnp.exp(theta["log_noise_var"]) * fnp.eye(x.shape[0])
    return kernel(theta, x_new, x) @ fsl.cho_solve((fnp.linalg.cholesky(k), True), y)


def sample_data(key, n, n_test):
    """Inputs uniform on [0, 10]; one GP function at all of them (training and held-out),
    observed with noise at the training points."""
    k_x, k_f, k_noise = fad.random.split(key, 3)
    x = fad.random.uniform(k_x, (n + n_test,), maxval=10.0)
    cov = kernel(TRUE, x, x) + 1e-9 * np.eye(n + n_test)        # jitter: numerically PSD
    f = fad.random.multivariate_normal(k_f, np.zeros(n + n_test), cov)
    y = f[:n] + np.sqrt(np.exp(TRUE["log_noise_var"])) * fad.random.normal(k_noise, (n,))
    return x[:n], y, x[n:], f[n:]


def adam_minimise(value_and_grad, theta, steps, lr=0.05, b1=0.9, b2=0.999, eps=1e-8,
                  report=None):
    """Adam over a dict of scalars: moving averages of the gradient and of its square."""
    m = {k: 0.0 for k in theta}
    v = {k: 0.0 for k in theta}
    for t in range(1, steps + 1):
        value, g = value_and_grad(theta)
        for k in theta:
            m[k] = b1 * m[k] + (1 - b1) * g[k]
            v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
            theta[k] = theta[k] - lr * (m[k] / (1 - b1 ** t)) / (np.sqrt(v[k] / (1 - b2 ** t))
                                                                 + eps)
        if report:
            report(t, value)
    return theta


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a few-second configuration")
    args = parser.parse_args(argv)
    n, steps = (60, 150) if args.fast else (200, 500)

    x, y, x_test, f_test = sample_data(fad.random.key(0), n, n_test=50)
    objective = fad.jit(fad.value_and_grad(nll))
    nll_true = float(nll(TRUE, x, y))
    theta = {"log_lengthscale": np.float64(0.0), "log_signal_var": np.float64(0.0),
             "log_noise_var": np.float64(0.0)}
    print(f"{n} observations; NLL at the true hyperparameters {nll_true:.3f}, "
          f"at the start {float(nll(theta, x, y)):.3f}")

    t0 = time.perf_counter()

    def report(t, value):
        if t == 1 or t % (steps // 10) == 0:
            print(f"  step {t:4d}/{steps}: NLL {float(value):.4f}  "
                  f"[{time.perf_counter() - t0:.1f} s]")

    theta = adam_minimise(lambda th: objective(th, x, y), theta, steps, report=report)
    nll_fit = float(nll(theta, x, y))
    grad_norm = float(np.sqrt(sum(g ** 2 for g in objective(theta, x, y)[1].values())))
    for name in TRUE:
        print(f"  {name[4:]:>12}: fitted {np.exp(theta[name]):.4f}   "
              f"true {np.exp(TRUE[name]):.4f}")
    rmse = float(np.sqrt(np.mean((posterior_mean(theta, x, y, x_test) - f_test) ** 2)))
    print(f"posterior mean at {x_test.size} held-out inputs: RMSE {rmse:.4f} against the "
          f"noise-free function (noise sd {np.exp(0.5 * TRUE['log_noise_var']):.3f})")

    result = {"nll_fit": nll_fit, "nll_true": nll_true, "grad_norm": grad_norm,
              "test_rmse": rmse,
              **{name[4:]: float(np.exp(theta[name])) for name in TRUE},
              **{"true_" + name[4:]: float(np.exp(TRUE[name])) for name in TRUE}}
    print(f"RESULT nll_fit={nll_fit:.4f} nll_true={nll_true:.4f} "
          + " ".join(f"{k}={result[k]:.4f}" for k in
                     ("lengthscale", "signal_var", "noise_var", "test_rmse", "grad_norm")))
    return result


if __name__ == "__main__":
    main()
