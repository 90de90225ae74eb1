"""A tanh RNN trained through ``fad.lax.scan``, with ``fad.checkpoint`` on the step.

The recurrence is one ``scan`` over time, so ``fad.jit(fad.value_and_grad(loss))``
stages a single step body and its reverse-mode derivative (a reverse scan), however long
the sequences. Reverse mode keeps residuals of every step for the backward pass (here the
hidden state before and after ``tanh``, the inputs, the outputs); ``fad.checkpoint(step)``
keeps only the step's inputs and recomputes the rest during the backward pass.
``fad.saved_residuals`` lists what each version keeps (shape, dtype, source line), and we
sum the bytes. Both versions give the same gradient; training (Adam, written inline)
teaches the RNN a nonlinear filter of its input, and the loss drops.

    python examples/rnn_scan.py [--fast]
"""
import argparse
import time

import numpy as np

import fad
import fad.numpy as fnp
from fad.tree_util import tree_map


def make_data(key, batch, length):
    """Inputs ``u`` (length, batch) of white noise; targets ``sin(2 s_t)`` where ``s`` is
    a leaky running sum ``s_t = 0.8 s_{t-1} + 0.5 u_t``: a task that needs memory."""
    def leak(s, u_t):
        s = 0.8 * s + 0.5 * u_t
        return s, s

    u = fad.random.normal(key, (length, batch))
    _, s = fad.lax.scan(leak, np.zeros(batch), u)
    return u, np.sin(2.0 * s)


def init_params(key, hidden):
    k1, k2, k3 = fad.random.split(key, 3)
    return {"w_hh": fad.random.normal(k1, (hidden, hidden)) * 0.5 / np.sqrt(hidden),
            "w_xh": fad.random.normal(k2, (hidden,)),
            "b_h": np.zeros(hidden),
            "w_out": fad.random.normal(k3, (hidden,)) / np.sqrt(hidden),
            "b_out": np.zeros(())}


def rnn_step(params, h, u_t):
    """One step for a batch: ``h`` (batch, hidden), ``u_t`` (batch,)."""
    h = fnp.tanh(h @ params["w_hh"] + u_t[:, None] * params["w_xh"] + params["b_h"])
    return h, h @ params["w_out"] + params["b_out"]


def make_loss(checkpointed):
    """Mean squared error of the RNN's outputs over all steps; with ``checkpointed`` the
    step is wrapped in ``fad.checkpoint``."""
    step = fad.checkpoint(rnn_step) if checkpointed else rnn_step

    def loss(params, u, targets):
        h0 = fnp.zeros((u.shape[1], params["b_h"].shape[0]))
        _, outputs = fad.lax.scan(lambda h, u_t: step(params, h, u_t), h0, u)
        return fnp.mean((outputs - targets) ** 2)

    return loss


def residual_bytes(fun, *args):
    """Bytes of the arrays the backward pass of ``fun`` keeps, per ``fad.saved_residuals``."""
    return sum(int(np.prod(shape)) * np.dtype(dtype).itemsize
               for shape, dtype, _ in fad.saved_residuals(fun, *args))


def adam_update(params, grads, m, v, t, lr=0.01, b1=0.9, b2=0.999, eps=1e-8):
    """One Adam step (step number ``t`` from 1): moving averages of the gradient and of
    its square, bias-corrected; returns the new parameters and averages."""
    m = tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
    v = tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
    params = tree_map(lambda p, m, v: p - lr * (m / (1 - b1 ** t))
                      / (np.sqrt(v / (1 - b2 ** t)) + eps), params, m, v)
    return params, m, v


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a few-second configuration")
    args = parser.parse_args(argv)
    hidden, batch, length, steps = (16, 32, 50, 60) if args.fast else (32, 64, 100, 1000)

    k_data, k_init = fad.random.split(fad.random.key(0))
    u, targets = make_data(k_data, batch, length)
    params = init_params(k_init, hidden)
    plain, remat = make_loss(False), make_loss(True)

    bytes_plain = residual_bytes(plain, params, u, targets)
    bytes_remat = residual_bytes(remat, params, u, targets)
    print(f"residuals kept for the backward pass over {length} steps: "
          f"{bytes_plain / 1024:.1f} KiB without checkpoint, "
          f"{bytes_remat / 1024:.1f} KiB with fad.checkpoint on the step")
    for shape, dtype, where in fad.saved_residuals(remat, params, u, targets):
        print(f"    {dtype}{list(shape)}: {where}")

    grad_plain = fad.jit(fad.value_and_grad(plain))
    grad_remat = fad.jit(fad.value_and_grad(remat))
    g1, g2 = grad_plain(params, u, targets)[1], grad_remat(params, u, targets)[1]
    grad_diff = max(float(np.max(np.abs(g1[k] - g2[k]))) for k in params)
    print(f"the two gradients agree: max |difference| {grad_diff:.1e}")

    t0 = time.perf_counter()
    losses = []
    m, v = tree_map(np.zeros_like, params), tree_map(np.zeros_like, params)
    for t in range(1, steps + 1):
        value, grads = grad_remat(params, u, targets)
        params, m, v = adam_update(params, grads, m, v, t)
        losses.append(float(value))
        if t == 1 or t % (steps // 10) == 0:
            print(f"  step {t:4d}/{steps}: loss {losses[-1]:.4f}  "
                  f"[{time.perf_counter() - t0:.1f} s]")
    final = float(remat(params, u, targets))
    result = {"initial_loss": losses[0], "final_loss": final,
              "loss_reduction": losses[0] / final, "residual_bytes_plain": bytes_plain,
              "residual_bytes_checkpoint": bytes_remat,
              "memory_ratio": bytes_plain / bytes_remat, "grad_diff": grad_diff}
    print(f"RESULT loss_reduction={result['loss_reduction']:.1f} "
          f"memory_ratio={result['memory_ratio']:.2f} initial_loss={losses[0]:.4f} "
          f"final_loss={final:.4f}")
    return result


if __name__ == "__main__":
    main()
