"""The README's benchmark table: each workload's gradient (or Hessian) with fad eagerly and
under ``jit``, as a ratio to a hand-written NumPy forward+backward pass timed in the same
run, and the target each ratio is held to (``run.py`` times the peers, autograd and
others, where they are installed). Every result is checked against the NumPy reference first.

    python benchmarks/run.py table      # (or: python benchmarks/table.py)

Also measured: the cost per operation of ``make_jaxpr(grad(f))`` at 1,000 and 10,000
operations, the time to compile a 20,000-operation program against one interpreted call
of it, and the peak memory (``tracemalloc``) of ``jit(grad)`` of the MLP against the
hand-written pass's.
"""
from __future__ import annotations

import time
import tracemalloc

import numpy as np

import fad
import fad.numpy as fnp
from fad.interpreters.lowering import lower
from run import (best_times, chain_fad, chain_numpy_grad, logistic_loss,
                 logistic_numpy_per_example, poly, poly_numpy_grad, softplus_numpy_hessian,
                 softplus_objective)

# -- the workloads not in run.py ----------------------------------------------------------------

def mlp_loss(xnp):
    """A 784-512-512-10 tanh MLP's mean softmax cross-entropy (``xnp``: a NumPy-like
    namespace)."""
    def loss(params, x, labels):
        (w1, b1), (w2, b2), (w3, b3) = params
        h = xnp.tanh(x @ w1 + b1)
        h = xnp.tanh(h @ w2 + b2)
        logits = h @ w3 + b3
        shifted = logits - xnp.max(logits, axis=1, keepdims=True)
        logp = shifted - xnp.log(xnp.sum(xnp.exp(shifted), axis=1, keepdims=True))
        return -xnp.mean(xnp.sum(logp * labels, axis=1))
    return loss


def mlp_numpy_grad(params, x, labels):
    (w1, b1), (w2, b2), (w3, b3) = params
    h1 = np.tanh(x @ w1 + b1)
    h2 = np.tanh(h1 @ w2 + b2)
    logits = h2 @ w3 + b3
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    g3 = (p - labels) / x.shape[0]
    g2 = (g3 @ w3.T) * (1 - h2 * h2)
    g1 = (g2 @ w2.T) * (1 - h1 * h1)
    return ((x.T @ g1, g1.sum(0)), (h1.T @ g2, g2.sum(0)), (h2.T @ g3, g3.sum(0)))


def mlp_problem():
    rng = np.random.default_rng(0)
    sizes = [784, 512, 512, 10]
    params = tuple((rng.standard_normal((m, n)) / np.sqrt(m), np.zeros(n))
                   for m, n in zip(sizes, sizes[1:]))
    x = rng.standard_normal((128, 784))
    labels = np.eye(10)[rng.integers(0, 10, 128)]
    return params, x, labels


def rnn_loss(xnp):
    """A tanh RNN (hidden 64, input 32, batch 32) unrolled by a Python loop."""
    def loss(params, h0, xs):
        wh, wx, b = params
        h = h0
        for x in xs:
            h = xnp.tanh(h @ wh + x @ wx + b)
        return xnp.mean(h ** 2)
    return loss


def rnn_numpy_grad(params, h0, xs):
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


def rnn_problem():
    rng = np.random.default_rng(0)
    params = (rng.standard_normal((64, 64)) * 0.1, rng.standard_normal((32, 64)) * 0.1,
              np.zeros(64))
    return params, np.zeros((32, 64)), rng.standard_normal((100, 32, 32))


# -- the table -----------------------------------------------------------------------------------

ROWS = []   # (workload, fad eager, fad jit, target eager, target jit)


def _row(name, ref, t, t_jit, target=("", "")):
    ROWS.append((name, f"{t / ref:.2f}x", f"{t_jit / ref:.2f}x", *target))


def _close(a, b):
    return all(np.allclose(x, y) for x, y in zip(fad.tree_util.tree_leaves(a),
                                                  fad.tree_util.tree_leaves(b)))


def seed_row():
    g, g_jit = fad.grad(poly), fad.jit(fad.grad(poly))
    assert g(2.0) == poly_numpy_grad(2.0) == g_jit(2.0) == 46.0
    ref, t, t_jit = best_times(lambda: poly_numpy_grad(2.0), lambda: g(2.0),
                               lambda: g_jit(2.0))
    _row("seed polynomial at a Python float", ref, t, t_jit, target=("<= 100x", "<= 15x"))


def chain_row():
    x = np.linspace(-1, 1, 16)
    g, g_jit = fad.grad(chain_fad), fad.jit(fad.grad(chain_fad))
    assert _close(g(x), chain_numpy_grad(x)) and _close(g_jit(x), chain_numpy_grad(x))
    ref, t, t_jit = best_times(lambda: chain_numpy_grad(x), lambda: g(x), lambda: g_jit(x))
    _row("600-op elementwise chain, n = 16", ref, t, t_jit, target=("keep", "keep"))


def mlp_row():
    params, x, labels = mlp_problem()
    loss = mlp_loss(fnp)
    g, g_jit = fad.grad(loss), fad.jit(fad.grad(loss))
    want = mlp_numpy_grad(params, x, labels)
    assert _close(g(params, x, labels), want) and _close(g_jit(params, x, labels), want)
    ref, t, t_jit = best_times(lambda: mlp_numpy_grad(params, x, labels),
                               lambda: g(params, x, labels), lambda: g_jit(params, x, labels))
    _row("MLP 784-512-512-10, batch 128", ref, t, t_jit, target=("<= 1.05x", "<= 1.02x"))
    return params, x, labels, g_jit


def hessian_row():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((500, 200)) * 0.1
    x = rng.standard_normal(200) * 0.1
    f = softplus_objective(fnp, A)
    h, h_jit = fad.hessian(f), fad.jit(fad.hessian(f))
    want = softplus_numpy_hessian(A, x)
    assert np.allclose(h(x), want) and np.allclose(h_jit(x), want)
    ref, t, t_jit = best_times(lambda: softplus_numpy_hessian(A, x), lambda: h(x),
                               lambda: h_jit(x), repeat=5)
    _row("Hessian 200x200, A 500x200", ref, t, t_jit, target=("<= 2x", "<= 1.3x"))


def per_example_row():
    rng = np.random.default_rng(0)
    w = rng.standard_normal(100) * 0.1
    X, Y = rng.standard_normal((512, 100)), np.sign(rng.standard_normal(512))
    per_ex = fad.vmap(fad.grad(logistic_loss), in_axes=(None, 0, 0))
    per_ex_jit = fad.jit(per_ex)
    want = logistic_numpy_per_example(w, X, Y)
    assert np.allclose(per_ex(w, X, Y), want) and np.allclose(per_ex_jit(w, X, Y), want)
    ref, t, t_jit = best_times(lambda: logistic_numpy_per_example(w, X, Y),
                               lambda: per_ex(w, X, Y), lambda: per_ex_jit(w, X, Y))
    _row("per-example gradients, logistic d = 100, n = 512", ref, t, t_jit,
         target=("keep", "keep"))


def rnn_row():
    params, h0, xs = rnn_problem()
    loss = rnn_loss(fnp)
    g, g_jit = fad.grad(loss), fad.jit(fad.grad(loss))
    want = rnn_numpy_grad(params, h0, xs)
    assert _close(g(params, h0, xs), want) and _close(g_jit(params, h0, xs), want)
    ref, t, t_jit = best_times(lambda: rnn_numpy_grad(params, h0, xs),
                               lambda: g(params, h0, xs), lambda: g_jit(params, h0, xs),
                               repeat=5)
    _row("tanh RNN 64/32/32, 100 steps, Python loop", ref, t, t_jit,
         target=("<= 1.5x", "<= 1.2x"))


def make_jaxpr_cost():
    """Microseconds per operation of ``make_jaxpr(grad(f))`` for a chain of ``n``
    operations (the best of three), at 1,000 and 10,000."""
    def chain_of(n):
        def f(x):
            for _ in range(n // 3):
                x = fnp.sin(x) * 1.001 + 0.1
            return fnp.sum(x)
        return f
    x = np.linspace(-1, 1, 16)
    out = {}
    for n in (1000, 10000):
        f = chain_of(n)
        fad.make_jaxpr(fad.grad(f))(x)
        best = min(_seconds(lambda f=f: fad.make_jaxpr(fad.grad(f))(x)) for _ in range(3))
        out[n] = best / n * 1e6
    return out


def compile_cost():
    """(seconds to compile a 20,000-equation program, seconds to interpret it once)."""
    def f(x):
        for _ in range(10000 // 3):
            x = fnp.sin(x) * 1.001 + 0.1
        return fnp.sum(x)
    x = np.linspace(-1, 1, 16)
    closed = fad.make_jaxpr(fad.grad(f))(x)
    t_compile = _seconds(lambda: lower(closed))
    t_interpret = min(_seconds(lambda: fad.eval_jaxpr(closed, (), x)) for _ in range(3))
    return len(closed.jaxpr.eqns), t_compile, t_interpret


def peak_memory(params, x, labels, g_jit):
    """Peak traced bytes of one call of ``g_jit`` and of the hand-written pass."""
    def peak(fn):
        fn()
        tracemalloc.start()
        fn()
        out = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return out
    return (peak(lambda: g_jit(params, x, labels)),
            peak(lambda: mlp_numpy_grad(params, x, labels)))


def _seconds(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    seed_row()
    chain_row()
    mlp = mlp_row()
    hessian_row()
    per_example_row()
    rnn_row()
    print("| workload | fad eager | fad.jit | target eager | target jit |")
    print("|---|---|---|---|---|")
    for r in ROWS:
        print("| " + " | ".join(v or "-" for v in r) + " |")
    per_op = make_jaxpr_cost()
    print(f"\nmake_jaxpr(grad(f)): {per_op[1000]:.1f} us/op at 1,000 ops, "
          f"{per_op[10000]:.1f} us/op at 10,000 (ratio of totals "
          f"{per_op[10000] * 10 / per_op[1000]:.1f}; targets <= 15 us/op, <= 11)")
    n, t_compile, t_interpret = compile_cost()
    print(f"compiling a {n}-equation program: {t_compile:.3f} s; interpreting it once: "
          f"{t_interpret:.3f} s ({t_compile / t_interpret:.1f}x; target <= 3x)")
    mine, ref = peak_memory(*mlp)
    print(f"peak memory of jit(grad) of the MLP: {mine / 1e6:.1f} MB; hand-written: "
          f"{ref / 1e6:.1f} MB ({mine / ref:.2f}x; target <= 1.2x)")


if __name__ == "__main__":
    main()
