"""A training loop written by hand: engine-neutral gradients and an optimizer's
``apply``, on whichever engine ``POLYKERAS_BACKEND`` picks.

    POLYKERAS_BACKEND=torch python examples/custom_training_loop.py
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import polykeras as pk  # noqa: E402
from polykeras import layers, ops  # noqa: E402
from polykeras.variables import StatelessScope  # noqa: E402


def main(epochs: int = 20, batch_size: int = 64) -> float:
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target.astype("int32")
    pk.random.set_seed(0)
    model = pk.Sequential([pk.Input((64,)), layers.Dense(64, activation="relu"), layers.Dense(10)])
    loss_fn = pk.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = pk.optimizers.Adam(3e-3)
    accuracy = pk.metrics.SparseCategoricalAccuracy()
    weights = model.trainable_variables

    def compute_loss(values, xb, yb):
        # Reads of the weights inside the scope see `values`, so gradients flow to them.
        with StatelessScope(zip(weights, values)):
            logits = model(xb, training=True)
            return loss_fn(yb, logits), logits

    grad_fn = ops.value_and_grad(compute_loss, has_aux=True)
    rng = np.random.default_rng(0)
    for epoch in range(epochs):
        accuracy.reset_state()
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            index = order[start:start + batch_size]
            (loss, logits), grads = grad_fn([w.value for w in weights], x[index], y[index])
            optimizer.apply(grads, weights)
            accuracy.update_state(y[index], logits)
        print(f"epoch {epoch + 1:2d}: loss {float(ops.to_numpy(loss)):.4f}, "
              f"training accuracy {float(ops.to_numpy(accuracy.result())):.4f}")
    return float(ops.to_numpy(accuracy.result()))


if __name__ == "__main__":
    main()
