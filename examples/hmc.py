"""Hamiltonian Monte Carlo for Bayesian logistic regression, written as a JAX user would.

The log posterior's gradient (``fad.grad``) drives the leapfrog integrator; one HMC
transition draws a momentum and an accept/reject uniform from explicit ``fad.random``
keys; a chain is a ``fad.lax.scan`` over per-step keys; several chains run side by side
under ``fad.vmap``; and the whole sampler is compiled once with ``fad.jit``.

The posterior means are checked against an independent reference: self-normalised
importance sampling from the Laplace approximation (Newton's method with ``fad.grad``
and ``fad.hessian``), whose own Monte-Carlo error is estimated too. HMC's Monte-Carlo
standard error (MCSE) comes from batch means: each chain is cut into batches, and the
spread of the batch means across all chains gives the error of the overall mean.

    python examples/hmc.py [--fast]
"""
import argparse
import time

import numpy as np

import fad
import fad.numpy as fnp

PRIOR_SCALE = 2.0          # w ~ N(0, PRIOR_SCALE^2 I)


# -- the model ---------------------------------------------------------------------------------

def make_data(key, n=150, d=4):
    """Features with an intercept column, and labels drawn from a known weight vector."""
    k_x, k_y = fad.random.split(key)
    x = fad.random.normal(k_x, (n, d - 1))
    x = fnp.concatenate([fnp.ones((n, 1)), x], axis=1)
    w_true = np.linspace(-1.0, 1.5, d)
    p = fad.nn.sigmoid(x @ w_true)
    y = fad.random.bernoulli(k_y, p).astype(np.float64)
    return x, y, w_true


def log_posterior(w, x, y):
    """Bernoulli likelihood with logits ``x @ w`` plus the Gaussian prior (up to a
    constant); ``logaddexp(0, z)`` is ``log(1 + e^z)`` without overflow."""
    logits = x @ w
    log_lik = fnp.sum(y * logits - fnp.logaddexp(0.0, logits))
    return log_lik - 0.5 * fnp.sum(w ** 2) / PRIOR_SCALE ** 2


# -- the sampler -------------------------------------------------------------------------------

def make_sampler(x, y, step_size, n_leapfrog):
    """``sample(keys, w0) -> (draws, accepted)``: one chain per key, jitted, vmapped."""
    potential = lambda w: -log_posterior(w, x, y)          # noqa: E731  (U = -log p)
    grad_u = fad.grad(potential)

    def leapfrog(w, p):
        # Half step in momentum, alternating full steps, half step at the end; the
        # half steps in the middle are merged into full ones.
        p = p - 0.5 * step_size * grad_u(w)

        def full_step(_, wp):
            w, p = wp
            w = w + step_size * p
            return w, p - step_size * grad_u(w)

        w, p = fad.lax.fori_loop(0, n_leapfrog - 1, full_step, (w, p))
        w = w + step_size * p
        return w, p - 0.5 * step_size * grad_u(w)

    def hmc_step(w, key):
        k_p, k_u = fad.random.split(key)
        p0 = fad.random.normal(k_p, w.shape)
        w1, p1 = leapfrog(w, p0)
        h0 = potential(w) + 0.5 * fnp.sum(p0 ** 2)
        h1 = potential(w1) + 0.5 * fnp.sum(p1 ** 2)
        # Metropolis correction for the integrator's error; a NaN energy rejects.
        accept = fnp.log(fad.random.uniform(k_u)) < h0 - h1
        w = fnp.where(accept, w1, w)
        return w, (w, accept)

    def chain(key, w0, n_steps):
        _, (draws, accepted) = fad.lax.scan(hmc_step, w0, fad.random.split(key, n_steps))
        return draws, accepted

    def sample(keys, w0s, n_steps):
        return fad.vmap(lambda k, w0: chain(k, w0, n_steps))(keys, w0s)

    return fad.jit(sample, static_argnums=2)


# -- the reference: importance sampling from the Laplace approximation -----------------------

def laplace_importance_reference(key, x, y, n_draws):
    """Posterior mean by self-normalised importance sampling with a Gaussian proposal
    centred at the mode, covariance the inverse Hessian inflated by 1.5^2 (heavier than
    the posterior, so the weights stay bounded). Returns the mean and its MCSE."""
    log_p = lambda w: log_posterior(w, x, y)               # noqa: E731
    w = np.zeros(x.shape[1])
    for _ in range(25):                                    # Newton's method on a concave log_p
        w = w - np.linalg.solve(fad.hessian(log_p)(w), fad.grad(log_p)(w))
    cov = 1.5 ** 2 * np.linalg.inv(-fad.hessian(log_p)(w))
    chol = np.linalg.cholesky(cov)
    z = fad.random.normal(key, (n_draws, w.size))
    draws = w + z @ chol.T
    log_q = -0.5 * np.sum(z ** 2, axis=1)                  # proposal density up to a constant
    # vmap over the draws, in chunks so that the (chunk, n) logits stay small.
    log_p_many = fad.jit(fad.vmap(log_p))
    chunks = np.array_split(draws, -(-n_draws // 20_000))
    log_weights = np.concatenate([log_p_many(c) for c in chunks]) - log_q
    weights = np.exp(log_weights - log_weights.max())
    weights /= weights.sum()
    mean = weights @ draws
    # Delta-method standard error of a ratio estimator: sqrt(sum w_i^2 (x_i - mean)^2).
    mcse = np.sqrt(weights ** 2 @ (draws - mean) ** 2)
    ess = 1.0 / np.sum(weights ** 2)
    return mean, mcse, ess


def batch_means_mcse(draws, n_batches):
    """MCSE of the mean of ``draws`` (chains, steps, d): each chain cut into
    ``n_batches`` consecutive batches; the standard deviation of all batch means,
    divided by the square root of their number."""
    chains, steps, d = draws.shape
    size = steps // n_batches
    batches = draws[:, :size * n_batches].reshape(chains * n_batches, size, d).mean(axis=1)
    return batches.std(axis=0, ddof=1) / np.sqrt(chains * n_batches)


# -- the run -----------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a few-second configuration")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampler's keys")
    args = parser.parse_args(argv)
    n_chains, n_steps, n_warmup = (8, 300, 60) if args.fast else (16, 4000, 200)
    n_ref_draws = 20_000 if args.fast else 200_000

    k_data, k_ref = fad.random.split(fad.random.key(0))         # the data stay fixed
    k_init, k_chains = fad.random.split(fad.random.key(args.seed))
    x, y, w_true = make_data(k_data)
    print(f"data: n={x.shape[0]}, d={x.shape[1]}, true weights {np.round(w_true, 2)}")

    t0 = time.perf_counter()
    ref_mean, ref_mcse, ess = laplace_importance_reference(k_ref, x, y, n_ref_draws)
    print(f"reference (Laplace importance sampling, {n_ref_draws} draws, ESS {ess:.0f}): "
          f"{np.round(ref_mean, 3)}  [{time.perf_counter() - t0:.1f} s]")

    sample = make_sampler(x, y, step_size=0.1, n_leapfrog=8)
    w0s = fad.random.normal(k_init, (n_chains, x.shape[1]))
    keys = fad.random.split(k_chains, n_chains)
    # The chain in blocks, so that long runs report progress; each block continues from
    # the last draw of the previous one with fresh keys (one compiled program, reused).
    block = n_steps // 5 if n_steps >= 500 else n_steps
    draws, accepted = [], []
    t0 = time.perf_counter()
    for i in range(n_steps // block):
        keys_i = fad.vmap(fad.random.fold_in, in_axes=(0, None))(keys, i)
        d_i, a_i = sample(keys_i, w0s, block)
        draws.append(d_i)
        accepted.append(a_i)
        w0s = d_i[:, -1]
        print(f"  steps {(i + 1) * block:5d}/{n_steps}: acceptance so far "
              f"{np.mean(accepted):.3f}  [{time.perf_counter() - t0:.1f} s]")
    draws = np.concatenate(draws, axis=1)[:, n_warmup:]
    acceptance = float(np.mean(np.concatenate(accepted, axis=1)[:, n_warmup:]))

    mean = draws.reshape(-1, draws.shape[-1]).mean(axis=0)
    mcse = batch_means_mcse(draws, n_batches=5)
    # Both estimates are noisy: compare their difference with the combined error.
    z = np.abs(mean - ref_mean) / np.sqrt(mcse ** 2 + ref_mcse ** 2)
    for j in range(mean.size):
        print(f"  w[{j}]: HMC {mean[j]:+.4f} +- {mcse[j]:.4f}   reference {ref_mean[j]:+.4f} "
              f"+- {ref_mcse[j]:.4f}   |z| = {z[j]:.2f}")
    result = {"acceptance": acceptance, "max_z": float(z.max()),
              "max_abs_error": float(np.max(np.abs(mean - ref_mean))),
              "mcse_max": float(mcse.max()), "mean": mean, "ref_mean": ref_mean,
              "mcse": mcse, "ref_mcse": ref_mcse}
    print(f"RESULT acceptance={acceptance:.3f} max_z={result['max_z']:.2f} "
          f"max_abs_error={result['max_abs_error']:.4f} mcse_max={result['mcse_max']:.4f}")
    return result


if __name__ == "__main__":
    main()
