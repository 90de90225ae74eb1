"""A two-layer MLP classifies handwritten digits, trained with ``fad.optimizers.adam``.

The data are scikit-learn's bundled 8x8 digits (1797 images, 10 classes; nothing is
downloaded), split once into training and test sets with a fixed ``fad.random`` key.
The model is ``softmax(relu(x W1 + b1) W2 + b2)`` with the mean cross-entropy as loss;
a training step is ``fad.value_and_grad(loss)`` followed by the optimizer's update
(gradients clipped to global norm 1 by ``clip_by_global_norm``, then Adam with a cosine
learning-rate schedule, joined by ``chain``), compiled as one program by ``fad.jit``.
Each epoch visits the training set in a fresh order (``fad.random.permutation`` of a
key folded with the epoch number) in minibatches. The loss and the accuracies of each
epoch are printed and plotted (matplotlib, Agg backend) to ``--out``.

    pip install -e '.[examples]'        # scikit-learn and matplotlib
    python examples/mlp_digits.py [--fast] [--out mlp_digits.png]
"""
import argparse
import math
import time

import numpy as np

import fad
import fad.numpy as fnp
import fad.optimizers as optim

try:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from sklearn.datasets import load_digits
except ImportError as err:     # not dependencies of fad: only this example needs them
    raise ImportError(f"examples/mlp_digits.py needs scikit-learn and matplotlib ({err.name} "
                      "could not be imported): pip install -e '.[examples]'") from err

HIDDEN = 64
BATCH = 32
DTYPE = np.float32         # the optimizer keeps each parameter's dtype: float32 throughout


# -- data and model ----------------------------------------------------------------------------

def load_data(key, test_fraction=0.2):
    """Images as rows of 64 standardised pixels, labels 0..9, split at random by ``key``.

    Each pixel is centred and scaled by the mean and standard deviation of the training
    images only (the test set must not leak into training); 1 is added to the standard
    deviation in units of the 0..16 grey levels, so that border pixels that are almost
    always 0 are not blown up into noise. Standardising takes the test accuracy from
    about 94% to about 99% here."""
    digits = load_digits()
    x, y = digits.data, digits.target.astype(np.int32)
    order = np.asarray(fad.random.permutation(key, x.shape[0]))
    n_test = int(round(test_fraction * x.shape[0]))
    test, train = order[:n_test], order[n_test:]
    mean, scale = x[train].mean(axis=0), x[train].std(axis=0) + 1.0
    x = ((x - mean) / scale).astype(DTYPE)
    return x[train], y[train], x[test], y[test]


def init_params(key, d_in, d_hidden, n_classes):
    """He-normal weights (variance 2 / fan-in, for the ReLU) and zero biases."""
    k1, k2 = fad.random.split(key)
    # Python floats as scales: a NumPy float64 scalar would make the weights float64.
    scale1, scale2 = math.sqrt(2.0 / d_in), math.sqrt(2.0 / d_hidden)
    return {"w1": fad.random.normal(k1, (d_in, d_hidden), DTYPE) * scale1,
            "b1": np.zeros(d_hidden, DTYPE),
            "w2": fad.random.normal(k2, (d_hidden, n_classes), DTYPE) * scale2,
            "b2": np.zeros(n_classes, DTYPE)}


def logits(params, x):
    hidden = fad.nn.relu(x @ params["w1"] + params["b1"])
    return hidden @ params["w2"] + params["b2"]


def loss(params, x, y):
    """Mean cross-entropy of the integer labels ``y`` under the model's softmax."""
    log_probs = fad.nn.log_softmax(logits(params, x))
    return -fnp.mean(fnp.take_along_axis(log_probs, y[:, None], axis=1))


@fad.jit
def accuracy(params, x, y):
    return fnp.mean(fnp.argmax(logits(params, x), axis=1) == y)


def make_train_step(optimizer):
    """``step(params, state, x, y) -> (params, state, loss)``, one compiled program."""
    loss_and_grad = fad.value_and_grad(loss)

    @fad.jit
    def step(params, state, x, y):
        value, grads = loss_and_grad(params, x, y)
        updates, state = optimizer.update(grads, state, params)
        return optim.apply_updates(params, updates), state, value

    return step


# -- the plot ----------------------------------------------------------------------------------

def plot_history(history, path):
    """Training loss and training/test accuracy per epoch, side by side, to ``path``.
    ``Figure`` with the Agg canvas directly (not pyplot): no GUI, no global backend."""
    fig = Figure(figsize=(9, 3.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax_loss, ax_acc = fig.subplots(1, 2)
    epochs = np.arange(1, len(history["loss"]) + 1)
    ax_loss.plot(epochs, history["loss"], marker="o", markersize=3)
    ax_loss.set(xlabel="epoch", ylabel="mean cross-entropy", yscale="log",
                title="training loss")
    ax_acc.plot(epochs, history["train_accuracy"], marker="o", markersize=3, label="train")
    ax_acc.plot(epochs, history["test_accuracy"], marker="s", markersize=3, label="test")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    ax_acc.legend(loc="lower right")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    fig.savefig(path, dpi=100)


# -- the run -----------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a few-second configuration")
    parser.add_argument("--epochs", type=int, default=None, help="override the epoch count")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the initial weights and the minibatch order (the "
                             "train/test split is fixed)")
    parser.add_argument("--out", default="mlp_digits.png", help="where to write the plot")
    args = parser.parse_args(argv)
    epochs = args.epochs or (4 if args.fast else 25)

    x_train, y_train, x_test, y_test = load_data(fad.random.key(0))
    k_init, k_shuffle = fad.random.split(fad.random.key(args.seed))
    n_train = x_train.shape[0]
    steps_per_epoch = n_train // BATCH          # the last, partial batch of an epoch is dropped
    print(f"digits: {n_train} training and {x_test.shape[0]} test images of "
          f"{x_train.shape[1]} pixels; {epochs} epochs of {steps_per_epoch} minibatches")

    params = init_params(k_init, x_train.shape[1], HIDDEN, 10)
    schedule = optim.cosine_decay(3e-3, epochs * steps_per_epoch, alpha=0.05)
    optimizer = optim.chain(optim.clip_by_global_norm(1.0), optim.adam(schedule))
    state = optimizer.init(params)
    train_step = make_train_step(optimizer)

    history = {"loss": [], "train_accuracy": [], "test_accuracy": []}
    t0 = time.perf_counter()
    for epoch in range(epochs):
        order = np.asarray(fad.random.permutation(fad.random.fold_in(k_shuffle, epoch),
                                                  n_train))
        losses = []
        for i in range(steps_per_epoch):
            batch = order[i * BATCH:(i + 1) * BATCH]
            params, state, value = train_step(params, state, x_train[batch], y_train[batch])
            losses.append(float(value))
        history["loss"].append(float(np.mean(losses)))
        history["train_accuracy"].append(float(accuracy(params, x_train, y_train)))
        history["test_accuracy"].append(float(accuracy(params, x_test, y_test)))
        print(f"  epoch {epoch + 1:3d}/{epochs}: loss {history['loss'][-1]:.4f}  "
              f"train accuracy {history['train_accuracy'][-1]:.4f}  "
              f"test accuracy {history['test_accuracy'][-1]:.4f}  "
              f"[{time.perf_counter() - t0:.1f} s]")

    train_seconds = time.perf_counter() - t0
    plot_history(history, args.out)
    print(f"training curve written to {args.out}")
    result = {"test_accuracy": history["test_accuracy"][-1],
              "train_accuracy": history["train_accuracy"][-1],
              "final_loss": history["loss"][-1], "initial_loss": history["loss"][0],
              "epochs": epochs, "train_seconds": train_seconds,
              "history": history, "params": params, "plot": args.out}
    print(f"RESULT test_accuracy={result['test_accuracy']:.4f} "
          f"train_accuracy={result['train_accuracy']:.4f} final_loss={result['final_loss']:.4f} "
          f"train_seconds={result['train_seconds']:.1f}")
    return result


if __name__ == "__main__":
    main()
