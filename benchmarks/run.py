"""fad's benchmark suite: every workload timed in one run, as ratios to hand-written
NumPy (and to autograd / JAX / PyTorch when they are installed).

    python benchmarks/run.py            # all workloads
    python benchmarks/run.py chain      # workloads whose name contains "chain"

Times are CPU time of this process (``time.process_time``), the best of several repeats of
a timed loop, so that other work on the machine disturbs them as little as possible.
"""
from __future__ import annotations

import sys
import time
import timeit

import numpy as np

import fad
import fad.numpy as fnp
import fad.scipy.linalg as fsl

try:
    import autograd
    import autograd.numpy as anp
except ImportError:  # optional peer
    autograd = None

try:
    import scipy.linalg as sla
except ImportError:  # the gp workload's reference needs SciPy
    sla = None


def _loop_size(fn):
    fn()
    number, t = 1, 0.0
    while t < 0.02:
        number *= 2
        t = timeit.timeit(fn, number=number, timer=time.process_time)
    return number


def best_time(fn, number=None, repeat=5):
    """Seconds per call of ``fn``: the best of ``repeat`` timed loops."""
    number = number or _loop_size(fn)
    return min(timeit.repeat(fn, number=number, repeat=repeat,
                             timer=time.process_time)) / number


def best_times(*fns, repeat=9):
    """Seconds per call of each of ``fns``, timed in turns (short loops, round after
    round), so that a slow spell of the machine hits all of them alike: each time is the
    best of its ``repeat`` loops."""
    numbers = [_loop_size(fn) for fn in fns]
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, (fn, number) in enumerate(zip(fns, numbers)):
            t = timeit.timeit(fn, number=number, timer=time.process_time) / number
            best[i] = min(best[i], t)
    return best


# -- workload 1: a chain of 600 small elementwise operations ----------------------------------

N_BLOCKS = 150  # four operations each


def make_chain(xnp):
    """The chain written against a NumPy-like namespace (fad.numpy or autograd.numpy)."""
    def chain(x):
        for _ in range(N_BLOCKS):
            x = xnp.sin(x)
            x = x * 1.01
            x = xnp.tanh(x)
            x = x + 0.1
        return xnp.sum(x)
    return chain


chain_fad = make_chain(fnp)


def chain_numpy_grad(x):
    """Hand-written forward and backward pass."""
    saved = []
    for _ in range(N_BLOCKS):
        saved.append(x)
        s = np.sin(x)
        t = np.tanh(s * 1.01)
        saved.append(t)
        x = t + 0.1
    g = np.ones_like(x)
    for i in range(N_BLOCKS - 1, -1, -1):
        x_in, t = saved[2 * i], saved[2 * i + 1]
        g = g * (1 - t * t) * 1.01 * np.cos(x_in)
    return g


def make_mixed_chain(xnp):
    """A chain whose operations combine two traced values (no elementwise folding)."""
    def chain(x):
        for _ in range(N_BLOCKS):
            x = xnp.sin(x) * x
            x = xnp.tanh(x) + x
        return xnp.sum(x)
    return chain


mixed_chain_fad = make_mixed_chain(fnp)


def mixed_chain_numpy_grad(x):
    saved = []
    for _ in range(N_BLOCKS):
        s = np.sin(x)
        x1 = s * x
        t = np.tanh(x1)
        saved.append((x, s, t))
        x = t + x1
    g = np.ones_like(x)
    for x, s, t in reversed(saved):
        g = g * (2 - t * t)                 # through x2 = tanh(x1) + x1
        g = g * (s + x * np.cos(x))         # through x1 = sin(x) * x
    return g


# -- workload 2: a scalar polynomial --------------------------------------------------------

def poly(x):
    return x ** 4 + 3 * x ** 2 + 2 * x


def poly_numpy_grad(x):
    return 4 * x ** 3 + 6 * x + 2


# -- workload 3: per-example gradients of logistic regression -----------------------------------

def logistic_loss(w, x, y):
    logits = fnp.dot(x, w)
    return fnp.logaddexp(0.0, -y * logits) if hasattr(fnp, "logaddexp") else \
        fnp.log(1 + fnp.exp(-y * logits))


def logistic_numpy_per_example(w, X, Y):
    logits = X @ w
    s = -Y / (1 + np.exp(Y * logits))   # d/dlogit of log(1 + exp(-y logit))
    return s[:, None] * X


# -- workload 4: a small MLP's loss gradient with respect to its parameters -----------------------

def make_mlp_loss(xnp):
    def loss(params, x, y):
        (w1, b1), (w2, b2) = params
        h = xnp.tanh(x @ w1 + b1)
        out = h @ w2 + b2
        return xnp.mean((out - y) ** 2)
    return loss


def mlp_numpy_grad(params, x, y):
    (w1, b1), (w2, b2) = params
    a = x @ w1 + b1
    h = np.tanh(a)
    out = h @ w2 + b2
    g_out = 2 * (out - y) / out.size
    g_w2, g_b2 = h.T @ g_out, g_out.sum(0)
    g_a = (g_out @ w2.T) * (1 - h * h)
    return ((x.T @ g_a, g_a.sum(0)), (g_w2, g_b2))


def bench_mlp():
    rng = np.random.default_rng(0)
    params = ((rng.standard_normal((20, 64)) * 0.3, np.zeros(64)),
              (rng.standard_normal((64, 3)) * 0.3, np.zeros(3)))
    x, y = rng.standard_normal((32, 20)), rng.standard_normal((32, 3))
    g_fad = fad.grad(make_mlp_loss(fnp))
    got, want = g_fad(params, x, y), mlp_numpy_grad(params, x, y)
    assert all(np.allclose(a, b) for a, b in zip(fad.tree_util.tree_leaves(got),
                                                 fad.tree_util.tree_leaves(want)))
    g_jit = fad.jit(g_fad)
    fns = [lambda: mlp_numpy_grad(params, x, y), lambda: g_fad(params, x, y),
           lambda: g_jit(params, x, y)]
    if autograd is not None:
        g_ag = autograd.grad(make_mlp_loss(anp))
        fns.append(lambda: g_ag(params, x, y))
    ref, t, t_jit, *rest = best_times(*fns)
    peers = [("autograd", rest[0])] if rest else []
    print(f"{'numpy backprop (reference)':<44s} {ref * 1e6:10.1f} us")
    row("grad of a 2-layer MLP loss, batch 32", t, ref, peers)
    row("  jit(grad(...)) of the same", t_jit, ref)


# -- workload: Gaussian-process marginal likelihood (Cholesky) ---------------------------------

def gp_nlml(theta, x, y):
    """Negative log marginal likelihood of a GP with an RBF kernel; ``theta`` = (log
    lengthscale, log signal variance, log noise variance)."""
    n = x.shape[0]
    d2 = (x[:, None] - x[None, :]) ** 2
    k = fnp.exp(theta[1]) * fnp.exp(-0.5 * d2 * fnp.exp(-2 * theta[0]))
    k = k + fnp.exp(theta[2]) * np.eye(n)
    chol = fsl.cholesky(k, lower=True)
    alpha = fsl.cho_solve((chol, True), y)
    return 0.5 * y @ alpha + fnp.sum(fnp.log(fnp.diagonal(chol))) + 0.5 * n * np.log(2 * np.pi)


def gp_numpy_grad(theta, x, y):
    """Hand-written gradient: 0.5 tr((K^-1 - alpha alpha^T) dK/dtheta)."""
    n = x.shape[0]
    ell2, sf2, sn2 = np.exp(2 * theta[0]), np.exp(theta[1]), np.exp(theta[2])
    d2 = (x[:, None] - x[None, :]) ** 2
    k0 = sf2 * np.exp(-0.5 * d2 / ell2)
    factor = sla.cho_factor(k0 + sn2 * np.eye(n), lower=True)
    alpha = sla.cho_solve(factor, y)
    w = sla.cho_solve(factor, np.eye(n)) - np.outer(alpha, alpha)
    return 0.5 * np.array([np.sum(w * k0 * d2) / ell2, np.sum(w * k0), sn2 * np.trace(w)])


def bench_gp():
    if sla is None:
        print("skipped: the reference needs SciPy")
        return
    rng = np.random.default_rng(0)
    n = 500
    x = np.sort(rng.uniform(-3, 3, n))
    y = np.sin(2 * x) + 0.1 * rng.standard_normal(n)
    theta = np.array([np.log(0.7), np.log(1.3), np.log(0.05)])
    g = fad.grad(gp_nlml)
    g_jit = fad.jit(g)
    want = gp_numpy_grad(theta, x, y)
    assert np.allclose(g(theta, x, y), want) and np.allclose(g_jit(theta, x, y), want)
    ref, t, t_jit = best_times(lambda: gp_numpy_grad(theta, x, y), lambda: g(theta, x, y),
                               lambda: g_jit(theta, x, y), repeat=5)
    print(f"{'numpy/scipy gradient (reference)':<44s} {ref * 1e6:10.1f} us")
    row("grad of a GP's NLML, n=500, Cholesky", t, ref)
    row("  jit(grad(...)) of the same", t_jit, ref)


# -- the runner -----------------------------------------------------------------------------

def row(name, t, ref, peers=()):
    extra = "".join(f"  {pname} {pt / ref:6.1f}x" for pname, pt in peers)
    print(f"{name:<44s} {t * 1e6:10.1f} us  {t / ref:6.1f}x numpy{extra}")


def bench_chain():
    x = np.linspace(-1, 1, 16)
    g_fad = fad.grad(chain_fad)
    assert np.allclose(g_fad(x), chain_numpy_grad(x))
    g_jit = fad.jit(g_fad)
    fns = [lambda: chain_numpy_grad(x), lambda: g_fad(x), lambda: g_jit(x)]
    if autograd is not None:
        g_ag = autograd.grad(make_chain(anp))
        fns.append(lambda: g_ag(x))
    ref, t, t_jit, *rest = best_times(*fns)
    peers = [("autograd", rest[0])] if rest else []
    print(f"{'numpy forward+backward (reference)':<44s} {ref * 1e6:10.1f} us")
    row("grad of a 600-op chain, length-16 vector", t, ref, peers)
    row("  jit(grad(...)) of the same", t_jit, ref)
    for pname, pt in peers:
        print(f"{'  ' + pname:<44s} {pt * 1e6:10.1f} us  {pt / ref:6.1f}x numpy")


def make_scan_rnn(T=100):
    """A tanh RNN (hidden 64, input 32, batch 32) over ``T`` steps written with lax.scan;
    the loss is the mean of the squared last hidden state."""
    def loss(params, h0, xs):
        wh, wx, b = params

        def step(h, x):
            h = fnp.tanh(h @ wh + x @ wx + b)
            return h, None
        h, _ = fad.lax.scan(step, h0, xs)
        return fnp.mean(h ** 2)
    return loss


def rnn_numpy_grad(params, h0, xs):
    """Hand-written forward and backward pass of the same RNN."""
    wh, wx, b = params
    hs = [h0]
    for x in xs:
        hs.append(np.tanh(hs[-1] @ wh + x @ wx + b))
    g = 2 * hs[-1] / hs[-1].size
    gwh, gwx, gb = np.zeros_like(wh), np.zeros_like(wx), np.zeros_like(b)
    for t in range(len(xs) - 1, -1, -1):
        ga = g * (1 - hs[t + 1] ** 2)
        gwh += hs[t].T @ ga
        gwx += xs[t].T @ ga
        gb += ga.sum(0)
        g = ga @ wh.T
    return gwh, gwx, gb


def bench_rnn_scan():
    rng = np.random.default_rng(0)
    H, I, B, T = 64, 32, 32, 100
    params = (rng.standard_normal((H, H)) * 0.1, rng.standard_normal((I, H)) * 0.1,
              np.zeros(H))
    h0, xs = np.zeros((B, H)), rng.standard_normal((T, B, I))
    loss = make_scan_rnn(T)
    g = fad.grad(loss)
    want = rnn_numpy_grad(params, h0, xs)
    assert all(np.allclose(a, b) for a, b in zip(g(params, h0, xs), want))
    g_jit = fad.jit(g)
    ref, t, t_jit = best_times(lambda: rnn_numpy_grad(params, h0, xs),
                               lambda: g(params, h0, xs), lambda: g_jit(params, h0, xs))
    print(f"{'numpy forward+backward (reference)':<44s} {ref * 1e6:10.1f} us")
    row("grad of a lax.scan RNN (64/32/32, 100 steps)", t, ref)
    row("  jit(grad(...)) of the same", t_jit, ref)


def bench_jit_call():
    """A jitted function inside other transformations: one ``jit`` call (issue 12), whose
    JVP, batched, split and transposed bodies are made once and compiled."""
    x = np.linspace(-1, 1, 16)
    xs = np.stack([x] * 8)
    chain = fad.jit(chain_fad)
    g, v = fad.grad(lambda x: chain(x) * 2.0), fad.vmap(chain)
    assert np.allclose(g(x), 2 * chain_numpy_grad(x))
    ref, ref_v = best_times(lambda: chain_numpy_grad(x), lambda: [chain_fad(r) for r in xs])
    t, t_v = best_times(lambda: g(x), lambda: v(xs))
    with fad.disable_staging():
        ti, ti_v = best_times(lambda: g(x), lambda: v(xs), repeat=5)
    print(f"{'numpy forward+backward (reference)':<44s} {ref * 1e6:10.1f} us")
    row("grad(2 * jit(chain)(x)), staged", t, ref)
    row("  the same interpreted (disable_staging)", ti, ref)
    print(f"{'fad.numpy chain, Python loop of 8 (reference)':<44s} {ref_v * 1e6:10.1f} us")
    row("vmap(jit(chain)) over 8, staged", t_v, ref_v)
    row("  the same interpreted (disable_staging)", ti_v, ref_v)


def bench_mixed_chain():
    x = np.linspace(-1, 1, 16)
    g_fad = fad.grad(mixed_chain_fad)
    assert np.allclose(g_fad(x), mixed_chain_numpy_grad(x))
    fns = [lambda: mixed_chain_numpy_grad(x), lambda: g_fad(x)]
    if autograd is not None:
        g_ag = autograd.grad(make_mixed_chain(anp))
        fns.append(lambda: g_ag(x))
    ref, t, *rest = best_times(*fns)
    peers = [("autograd", rest[0])] if rest else []
    print(f"{'numpy forward+backward (reference)':<44s} {ref * 1e6:10.1f} us")
    row("grad of a 600-op chain of binary operations", t, ref, peers)


def bench_poly():
    g = fad.grad(poly)
    assert np.isclose(g(2.0), 46.0)
    with fad.disable_staging():
        t_interpreted = best_time(lambda: g(2.0))
    g_jit = fad.jit(g)
    fns = [lambda: poly_numpy_grad(2.0), lambda: g(2.0), lambda: g_jit(2.0)]
    if autograd is not None:
        g_ag = autograd.grad(poly)
        fns.append(lambda: g_ag(2.0))
    ref, t, t_jit, *rest = best_times(*fns)
    peers = [("autograd", rest[0])] if rest else []
    row("grad of x**4 + 3x**2 + 2x at a scalar", t, ref, peers)
    row("  jit(grad(...)) of the same", t_jit, ref)
    row("  the same under disable_staging()", t_interpreted, ref)
    for pname, pt in peers:
        print(f"{'  ' + pname:<44s} {pt * 1e6:10.1f} us")


def bench_per_example():
    rng = np.random.default_rng(0)
    d, n = 100, 512
    w = rng.standard_normal(d) * 0.1
    X = rng.standard_normal((n, d))
    Y = np.sign(rng.standard_normal(n))
    per_ex = fad.vmap(fad.grad(logistic_loss), in_axes=(None, 0, 0))
    want = logistic_numpy_per_example(w, X, Y)
    assert np.allclose(per_ex(w, X, Y), want)
    per_ex_jit = fad.jit(per_ex)
    # the same composition spelled with a lambda: staged alike (fad.staged.calls)
    per_ex_lambda = fad.vmap(lambda w, x, y: fad.grad(logistic_loss)(w, x, y),
                             in_axes=(None, 0, 0))
    assert np.allclose(per_ex_lambda(w, X, Y), want)
    ref, t, t_jit, t_lambda = best_times(
        lambda: logistic_numpy_per_example(w, X, Y), lambda: per_ex(w, X, Y),
        lambda: per_ex_jit(w, X, Y), lambda: per_ex_lambda(w, X, Y))
    g = fad.grad(logistic_loss)
    t_loop = best_time(lambda: [g(w, X[i], Y[i]) for i in range(n)], number=1, repeat=3)
    print(f"{'hand-vectorised numpy (reference)':<44s} {ref * 1e6:10.1f} us")
    row("vmap(grad) logistic regression, d=100 n=512", t, ref)
    row("  jit(vmap(grad)) of the same", t_jit, ref)
    row("  vmap(lambda w, x, y: grad(loss)(w, x, y))", t_lambda, ref)
    print(f"{'    (the lambda spelling / the direct one)':<44s} {'':>13s} {t_lambda / t:6.2f}x")
    print(f"{'  Python loop of grad':<44s} {t_loop * 1e6:10.1f} us  "
          f"{t_loop / t:6.1f}x slower than vmap(grad)")


def mlp_numpy_per_example(params, x, y):
    """Per-example gradients of the MLP loss (one example's loss is the mean over outputs)."""
    (w1, b1), (w2, b2) = params
    h = np.tanh(x @ w1 + b1)
    out = h @ w2 + b2
    g_out = 2 * (out - y) / out.shape[1]
    g_a = (g_out @ w2.T) * (1 - h * h)
    return ((np.einsum("bi,bj->bij", x, g_a), g_a), (np.einsum("bi,bj->bij", h, g_out), g_out))


def bench_per_example_mlp():
    rng = np.random.default_rng(0)
    params = ((rng.standard_normal((20, 64)) * 0.3, np.zeros(64)),
              (rng.standard_normal((64, 3)) * 0.3, np.zeros(3)))
    x, y = rng.standard_normal((32, 20)), rng.standard_normal((32, 3))
    per_ex = fad.vmap(fad.grad(make_mlp_loss(fnp)), in_axes=(None, 0, 0))
    got, want = per_ex(params, x, y), mlp_numpy_per_example(params, x, y)
    assert all(np.allclose(a, b) for a, b in zip(fad.tree_util.tree_leaves(got),
                                                 fad.tree_util.tree_leaves(want)))
    per_ex_jit = fad.jit(per_ex)
    ref, t, t_jit = best_times(lambda: mlp_numpy_per_example(params, x, y),
                               lambda: per_ex(params, x, y), lambda: per_ex_jit(params, x, y))
    print(f"{'hand-vectorised numpy (reference)':<44s} {ref * 1e6:10.1f} us")
    row("vmap(grad) of the MLP, pytree params, n=32", t, ref)
    row("  jit(vmap(grad)) of the same", t_jit, ref)


def softplus_objective(xnp, A):
    return lambda x: xnp.sum(xnp.log1p(xnp.exp(A @ x))) + 0.5 * xnp.sum(x ** 2)


def softplus_numpy_hessian(A, x):
    """Hand-written Hessian: A^T diag(sigmoid(Ax)(1 - sigmoid(Ax))) A + I."""
    s = 1.0 / (1.0 + np.exp(-(A @ x)))
    return (A.T * (s * (1.0 - s))) @ A + np.eye(x.shape[0])


def softplus_numpy_gradient(A, x):
    return A.T @ (1.0 / (1.0 + np.exp(-(A @ x)))) + x


def bench_hessian():
    """hessian and jacrev of a function called in a loop (a Newton method's steps)."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((500, 200)) * 0.1
    x = rng.standard_normal(200) * 0.1
    f = softplus_objective(fnp, A)
    assert np.allclose(fad.hessian(f)(x), softplus_numpy_hessian(A, x))
    assert np.allclose(fad.jacrev(fad.grad(f))(x), softplus_numpy_hessian(A, x))
    h_jit = fad.jit(fad.hessian(f))
    ref, t, t_jit, t_jacrev = best_times(
        lambda: softplus_numpy_hessian(A, x), lambda: fad.hessian(f)(x), lambda: h_jit(x),
        lambda: fad.jacrev(fad.grad(f))(x), repeat=5)
    print(f"{'hand-written numpy Hessian (reference)':<44s} {ref * 1e6:10.1f} us")
    row("hessian(f)(x) in a loop, A 500x200", t, ref)
    row("  jit(hessian(f)) of the same", t_jit, ref)
    row("  jacrev(grad(f))(x) in a loop", t_jacrev, ref)


def bench_eager():
    """fad.numpy with nothing traced must cost what NumPy costs."""
    x = np.linspace(-1, 1, 16)
    for name, f_np, f_fad in [("sin", lambda: np.sin(x), lambda: fnp.sin(x)),
                              ("add", lambda: np.add(x, x), lambda: fnp.add(x, x)),
                              ("sum", lambda: np.sum(x), lambda: fnp.sum(x))]:
        ref, t = best_times(f_np, f_fad)
        row(f"eager fad.numpy.{name} on a length-16 vector", t, ref)


def bench_at():
    """``.at`` on fad.numpy's results (NumPy arrays: fad/numpy/_numpy_at.py) must leave
    NumPy's speed alone: fad.numpy's eager calls, and NumPy's own operations on the arrays
    fad.numpy returns, cost what NumPy costs; the eager update itself is timed against
    NumPy's in-place update of a copy."""
    x = np.linspace(-1, 1, 16)
    y = fnp.sin(fnp.zeros(16))          # (a fad.numpy result)
    y_np = np.sin(np.zeros(16))
    assert type(y) is np.ndarray
    for name, f_np, f_fad in [
            ("fad.numpy.sin, length 16", lambda: np.sin(x), lambda: fnp.sin(x)),
            ("fad.numpy.add, length 16", lambda: np.add(x, x), lambda: fnp.add(x, x)),
            ("fad.numpy.sum, length 16", lambda: np.sum(x), lambda: fnp.sum(x)),
            ("fad.numpy.zeros(100)", lambda: np.zeros(100), lambda: fnp.zeros(100)),
            ("numpy.sin of a fad.numpy result", lambda: np.sin(y_np), lambda: np.sin(y)),
            ("y * 2.0 + y of a fad.numpy result", lambda: y_np * 2.0 + y_np,
             lambda: y * 2.0 + y),
            ("y.sum() of a fad.numpy result", lambda: y_np.sum(), lambda: y.sum())]:
        ref, t = best_times(f_np, f_fad)
        row(f"eager {name}", t, ref)
    z, idx = np.zeros(100), np.array([1, 5, 5, 9])

    def numpy_add_at():
        out = z.copy()
        np.add.at(out, idx, 1.0)
        return out

    def numpy_set():
        out = z.copy()
        out[3] = 2.0
        return out

    assert np.array_equal(z.at[idx].add(1.0), numpy_add_at())
    ref, t = best_times(numpy_add_at, lambda: z.at[idx].add(1.0))
    row("x.at[idx].add(v), n=100, 4 indices (eager)", t, ref)
    ref, t = best_times(numpy_set, lambda: z.at[3].set(2.0))
    row("x.at[3].set(v), n=100 (eager)", t, ref)
    f_jit = fad.jit(lambda v: fnp.zeros(100).at[idx].add(v))
    assert np.array_equal(f_jit(1.0), numpy_add_at())
    ref, t = best_times(numpy_add_at, lambda: f_jit(1.0))
    row("  jit(lambda v: zeros(100).at[idx].add(v))", t, ref)


BENCHMARKS = {"eager": bench_eager, "chain": bench_chain, "mixed_chain": bench_mixed_chain,
              "poly": bench_poly,
              "per_example": bench_per_example, "per_example_mlp": bench_per_example_mlp,
              "mlp": bench_mlp, "hessian": bench_hessian, "gp": bench_gp, "at": bench_at,
              "jit_call": bench_jit_call, "rnn_scan": bench_rnn_scan}

if __name__ == "__main__":
    import table   # (the README's table: imports this module's workloads)
    BENCHMARKS["table"] = table.main
    wanted = sys.argv[1:]
    for name, bench in BENCHMARKS.items():
        if not wanted or any(w in name for w in wanted):
            print(f"== {name}")
            bench()
