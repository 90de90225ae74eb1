"""Per-example gradients and DP-SGD (differentially private SGD) for a tiny MLP.

``fad.vmap(fad.grad(loss), in_axes=(None, 0, 0))`` maps the gradient of the loss of
*one* example over a batch, the parameters shared (``None``): one gradient per example,
as a pytree with a leading batch axis, in one vectorised program. DP-SGD clips each
example's gradient to norm at most ``C`` (so no example moves the model far), averages,
and adds Gaussian noise of scale ``sigma * C / batch`` drawn from ``fad.random`` keys.
The per-example gradients are checked once against a Python loop of ``fad.grad``; the
model is trained on synthetic, linearly separable data and its test accuracy reported.

    python examples/per_example_gradients.py [--fast]
"""
import argparse
import time

import numpy as np

import fad
import fad.numpy as fnp
from fad.tree_util import tree_leaves, tree_map

CLIP_NORM = 1.0            # C: the largest norm an example's gradient may have
NOISE_MULTIPLIER = 1.1     # sigma: noise standard deviation in units of C


def make_data(key, n, d=20, margin=0.05):
    """Points labelled by a random hyperplane, those within ``margin`` of it dropped."""
    k_w, k_x = fad.random.split(key)
    w = fad.random.normal(k_w, (d,))
    x = fad.random.normal(k_x, (2 * n, d))
    score = x @ w / np.linalg.norm(w)
    keep = np.abs(score) > margin
    return x[keep][:n], (score[keep][:n] > 0).astype(np.float64)


def init_params(key, d, hidden=32):
    k1, k2 = fad.random.split(key)
    return {"w1": fad.random.normal(k1, (d, hidden)) / np.sqrt(d), "b1": fnp.zeros(hidden),
            "w2": fad.random.normal(k2, (hidden,)) / np.sqrt(hidden), "b2": fnp.zeros(())}


def logit(params, x):
    h = fnp.tanh(x @ params["w1"] + params["b1"])
    return h @ params["w2"] + params["b2"]


def loss(params, x, y):
    """Binary cross-entropy of one example (``x`` a vector, ``y`` 0 or 1)."""
    z = logit(params, x)
    return fnp.logaddexp(0.0, z) - y * z


per_example_grads = fad.vmap(fad.grad(loss), in_axes=(None, 0, 0))


def clip(grads):
    """Scale each example's gradient (a pytree with a batch axis) to norm <= C; also
    return the fraction of examples that were clipped."""
    sq_norms = sum(fnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=1) for g in tree_leaves(grads))
    norms = fnp.sqrt(sq_norms)
    scale = fnp.minimum(1.0, CLIP_NORM / fnp.maximum(norms, 1e-12))
    clipped = tree_map(lambda g: g * scale.reshape((-1,) + (1,) * (g.ndim - 1)), grads)
    return clipped, fnp.mean(norms > CLIP_NORM)


@fad.jit
def dp_sgd_step(params, x, y, key, learning_rate):
    """One DP-SGD step: returns the new parameters and the fraction of clipped examples."""
    grads, frac_clipped = clip(per_example_grads(params, x, y))
    leaves = tree_leaves(params)
    keys = fad.random.split(key, len(leaves))
    # One independent noise draw per parameter array, keyed by its position.
    noise = fad.tree_util.tree_unflatten(
        fad.tree_util.tree_structure(params),
        [fad.random.normal(k, p.shape) * NOISE_MULTIPLIER * CLIP_NORM
         for k, p in zip(keys, leaves)])
    batch = x.shape[0]
    new = tree_map(lambda p, g, n: p - learning_rate * (g.sum(axis=0) + n) / batch,
                   params, grads, noise)
    return new, frac_clipped


def accuracy(params, x, y):
    return float(np.mean((fad.vmap(logit, in_axes=(None, 0))(params, x) > 0) == (y > 0.5)))


def check_against_loop(params, x, y):
    """The vmapped per-example gradients equal a Python loop of ``fad.grad`` (asserted);
    returns the largest difference and the two run times."""
    per_example_grads(params, x, y)                        # (first call: records the program)
    t0 = time.perf_counter()
    batched = per_example_grads(params, x, y)
    t_vmap = time.perf_counter() - t0
    t0 = time.perf_counter()
    looped = [fad.grad(loss)(params, x[i], y[i]) for i in range(x.shape[0])]
    t_loop = time.perf_counter() - t0
    worst = 0.0
    for i, one in enumerate(looped):
        for name in params:
            np.testing.assert_allclose(batched[name][i], one[name], rtol=1e-10, atol=1e-12)
            worst = max(worst, float(np.max(np.abs(batched[name][i] - one[name]))))
    return worst, t_vmap, t_loop


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a few-second configuration")
    args = parser.parse_args(argv)
    n_train, epochs, batch = (2048, 5, 128) if args.fast else (16384, 20, 128)
    learning_rate = 1.0

    k_data, k_init, k_train = fad.random.split(fad.random.key(0), 3)
    x, y = make_data(k_data, n_train + 1000)
    x_train, y_train, x_test, y_test = x[:n_train], y[:n_train], x[n_train:], y[n_train:]
    params = init_params(k_init, x.shape[1])

    max_diff, t_vmap, t_loop = check_against_loop(params, x_train[:batch], y_train[:batch])
    print(f"per-example gradients of {batch} examples equal a Python loop of fad.grad "
          f"(max |diff| {max_diff:.1e}); vmap {1e3 * t_vmap:.1f} ms, loop {1e3 * t_loop:.0f} ms")

    t0 = time.perf_counter()
    steps_per_epoch = n_train // batch
    for epoch in range(epochs):
        k_epoch = fad.random.fold_in(k_train, epoch)
        k_perm, k_noise = fad.random.split(k_epoch)
        order = np.asarray(fad.random.permutation(k_perm, n_train))
        clipped = []
        for s in range(steps_per_epoch):
            idx = order[s * batch:(s + 1) * batch]
            params, frac = dp_sgd_step(params, x_train[idx], y_train[idx],
                                       fad.random.fold_in(k_noise, s), learning_rate)
            clipped.append(float(frac))
        print(f"  epoch {epoch + 1:2d}/{epochs}: train accuracy "
              f"{accuracy(params, x_train, y_train):.3f}, clipped {np.mean(clipped):.0%} of "
              f"the gradients  [{time.perf_counter() - t0:.1f} s]")
    test_acc = accuracy(params, x_test, y_test)
    result = {"test_accuracy": test_acc, "grad_max_diff": max_diff,
              "train_accuracy": accuracy(params, x_train, y_train)}
    print(f"RESULT test_accuracy={test_acc:.3f} train_accuracy={result['train_accuracy']:.3f} "
          f"grad_max_diff={max_diff:.1e}")
    return result


if __name__ == "__main__":
    main()
