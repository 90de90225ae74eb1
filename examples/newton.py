"""Newton's method with ``fad.grad`` and ``fad.hessian``, checked against SciPy's trust-exact.

Newton's method steps to the minimum of the local quadratic model,
``x <- x - H(x)^-1 g(x)``, with the gradient ``g = fad.grad(f)`` and the Hessian
``H = fad.hessian(f)`` (both compiled once with ``fad.jit``). Far from a minimum the pure
step need not go downhill: where ``H`` is indefinite it heads for a saddle or a maximum,
and on Rosenbrock's function from (-1.2, 1) its second step raises ``f`` from 4.7 to
1412 (it recovers by luck). This Newton is *damped*, so that ``f`` falls at every step:

- where ``H`` is not positive definite, a multiple of the identity is added until it is
  (Nocedal & Wright, Algorithm 3.3): the step is then a descent direction;
- a backtracking (Armijo) line search halves the step until ``f`` falls enough.

Near the minimum the full step is accepted and convergence is quadratic: the gradient
norm roughly squares at each iteration, down to rounding error.

Two problems: (a) the Rosenbrock function from the standard start (-1.2, 1), along
its curved valley; (b) maximum-likelihood logistic regression on
synthetic data (Newton's method here is what statisticians call IRLS). Each is also
solved by ``fad.scipy.optimize.minimize(f, x0, method="trust-exact")`` (fad supplies its
gradient and Hessian), and the two answers must agree to 1e-8.

    python examples/newton.py [--fast]
"""
import argparse
import time

import numpy as np

import fad
import fad.numpy as fnp
import fad.scipy.optimize

TOLERANCE = 1e-8           # the largest difference allowed between Newton's and SciPy's answers


# -- the problems ------------------------------------------------------------------------------

def rosenbrock(x):
    """The n-dimensional Rosenbrock function; its minimum is 0 at (1, ..., 1)."""
    return fnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def make_logistic_data(key, n, d):
    """Features with an intercept column and labels drawn from a logistic model with known
    weights; noisy enough that the classes overlap, so the likelihood has a finite maximum."""
    k_x, k_y = fad.random.split(key)
    x = fnp.concatenate([fnp.ones((n, 1)), fad.random.normal(k_x, (n, d - 1))], axis=1)
    w_true = np.linspace(-1.0, 1.0, d)
    y = fad.random.bernoulli(k_y, fad.nn.sigmoid(x @ w_true)).astype(np.float64)
    return x, y, w_true


def logistic_nll(w, x, y):
    """Negative log-likelihood of labels ``y`` with logits ``x @ w``; ``logaddexp(0, z)``
    is ``log(1 + e^z)`` without overflow."""
    logits = x @ w
    return fnp.sum(fnp.logaddexp(0.0, logits) - y * logits)


# -- Newton's method ---------------------------------------------------------------------------

def positive_definite(h, beta=1e-3):
    """``(h + tau I, tau)`` for the first ``tau`` at which a Cholesky factorisation
    succeeds: 0 when ``h``'s diagonal is positive, else ``beta - min(diag h)``, then
    doubled (at least ``beta``) on each failure (Nocedal & Wright, Algorithm 3.3)."""
    low = np.min(np.diag(h))
    tau = 0.0 if low > 0 else beta - low
    eye = np.eye(h.shape[0])
    while True:
        try:
            np.linalg.cholesky(h + tau * eye)
            return h + tau * eye, tau
        except np.linalg.LinAlgError:
            tau = max(2.0 * tau, beta)


def newton(f, x0, gtol=1e-12, max_iter=100, c1=1e-4, report=None):
    """Minimize ``f`` from ``x0`` by damped Newton; stop when the gradient norm is below
    ``gtol`` (or after ``max_iter`` iterations). Returns ``x`` and the iteration count;
    ``report(it, f, |grad|, t, tau)`` is called at each iterate, with the step length
    ``t`` and Hessian shift ``tau`` of the step that led there.

    >>> x, iters = newton(lambda x: fnp.sum((x - 2.0) ** 2), np.zeros(3))
    >>> x, iters           # a quadratic: one full Newton step
    (array([2., 2., 2.]), 1)
    """
    value = fad.jit(f)
    grad = fad.jit(fad.grad(f))
    hess = fad.jit(fad.hessian(f))
    x = np.asarray(x0, np.float64)
    fx, g = float(value(x)), np.asarray(grad(x))
    t = tau = None                                # the last step's length and shift
    for it in range(max_iter + 1):
        if report:
            report(it, fx, np.linalg.norm(g), t, tau)
        if np.linalg.norm(g) < gtol or it == max_iter:
            return x, it
        h, tau = positive_definite(np.asarray(hess(x)))
        step = -np.linalg.solve(h, g)
        slope = g @ step                          # < 0: h is positive definite
        # Backtracking line search. The allowance of a few ulps of |f| matters only at the
        # end, where the decrease Newton's step predicts is below f's rounding error and
        # comparing values of f would reject a step that is in fact good.
        t, slack = 1.0, 16 * np.finfo(np.float64).eps * abs(fx)
        while True:
            f_new = float(value(x + t * step))
            if f_new <= fx + c1 * t * slope + slack or t < 1e-10:
                break
            t *= 0.5
        x = x + t * step
        fx, g = f_new, np.asarray(grad(x))


def trust_exact(f, x0, args=()):
    """SciPy's trust-region method with exact Hessians, fed by fad; the tolerance is
    tight so that it too converges to rounding error.

    SciPy gives up (status 2, "A bad approximation caused failure to predict
    improvement") once the decrease its quadratic model predicts falls below the
    rounding error of ``f``; for a negative log-likelihood, whose value grows with the
    number of observations, that can come an iteration before full accuracy. The
    data of ``main`` converge; a failure is raised rather than compared.
    """
    res = fad.scipy.optimize.minimize(f, x0, args, method="trust-exact",
                                      options={"gtol": 1e-11, "maxiter": 500})
    if not res.success:
        raise RuntimeError(f"trust-exact did not converge: {res.message}")
    return res


# -- the run -----------------------------------------------------------------------------------

def solve_both(name, f, x0):
    """Newton and trust-exact on ``f`` from ``x0``; prints and returns the comparison."""
    print(f"{name}: damped Newton from {np.round(x0, 3) if x0.size <= 8 else x0.shape}")
    t0 = time.perf_counter()

    def report(it, fx, gnorm, t, tau):
        step = "" if t is None else f"  step length {t:.3g}"
        if tau:
            step += f", Hessian shifted by {tau:.2g} I"
        print(f"  iteration {it:3d}: f = {fx:.15e}  |grad| = {gnorm:.3e}{step}")

    x, iters = newton(f, x0, report=report)
    grad_norm = float(np.linalg.norm(fad.grad(f)(x)))
    t_newton = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = trust_exact(f, x0)
    diff = float(np.max(np.abs(x - res.x)))
    print(f"  Newton: {iters} iterations, |grad| = {grad_norm:.2e} [{t_newton:.2f} s]; "
          f"trust-exact: {res.nit} iterations, |grad| = {np.linalg.norm(res.jac):.2e} "
          f"[{time.perf_counter() - t0:.2f} s]")
    print(f"  max |x_newton - x_trust_exact| = {diff:.2e}")
    return x, {"iters": iters, "grad_norm": grad_norm, "max_diff": diff,
               "scipy_iters": int(res.nit)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a smaller logistic regression")
    args = parser.parse_args(argv)
    n, d = (200, 8) if args.fast else (1000, 8)

    x_rosen, rosen = solve_both("Rosenbrock (2-D)", rosenbrock, np.array([-1.2, 1.0]))
    x, y, w_true = make_logistic_data(fad.random.key(0), n, d)
    w_mle, logreg = solve_both(f"logistic regression (n={n}, d={d})",
                               lambda w: logistic_nll(w, x, y), np.zeros(d))
    print(f"  true weights {np.round(w_true, 3)}\n  MLE          {np.round(w_mle, 3)}")

    result = {"x_rosenbrock": x_rosen, "w_mle": w_mle, "w_true": w_true,
              **{f"rosenbrock_{k}": v for k, v in rosen.items()},
              **{f"logistic_{k}": v for k, v in logreg.items()}}
    result["rosenbrock_error"] = float(np.max(np.abs(x_rosen - 1.0)))   # the minimum: (1, 1)
    for key in ("rosenbrock_max_diff", "logistic_max_diff"):
        if not result[key] < TOLERANCE:
            raise RuntimeError(f"Newton and trust-exact disagree: {key} = {result[key]:.2e}")
    print("RESULT " + " ".join(
        f"{p}_{k}={result[f'{p}_{k}']:.3g}" for p in ("rosenbrock", "logistic")
        for k in ("iters", "grad_norm", "max_diff"))
        + f" rosenbrock_error={result['rosenbrock_error']:.3g}")
    return result


if __name__ == "__main__":
    main()
