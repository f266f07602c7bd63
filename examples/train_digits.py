"""Train a classifier on scikit-learn's handwritten digits (8x8 images, 1,797
samples), report test accuracy and save the model.

    python examples/train_digits.py                  # the default engine
    POLYKERAS_BACKEND=jax python examples/train_digits.py --epochs 30
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import polykeras as pk  # noqa: E402
from polykeras import layers  # noqa: E402


def load(seed: int = 0) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Digits scaled to [0, 1], shuffled, split 80/20."""
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target.astype("int32")
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    cut = int(0.8 * len(x))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def build_model() -> pk.Model:
    """A small MLP: 64 -> 128 -> 64 -> 10 logits."""
    inputs = pk.Input((64,), name="pixels")
    h = layers.Dense(128, activation="relu")(inputs)
    h = layers.Dense(64, activation="relu")(h)
    return pk.Model(inputs, layers.Dense(10, name="logits")(h), name="digits_mlp")


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--save", default="digits.pkeras", help="where to save the trained model")
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args(argv)

    pk.random.set_seed(0)
    (x_train, y_train), (x_test, y_test) = load()
    model = build_model()
    model.compile(optimizer=pk.optimizers.Adam(2e-3),
                  loss=pk.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    print(f"Training on engine {pk.backend()!r}: {len(x_train)} training, {len(x_test)} test digits")
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, validation_split=0.1,
              verbose=args.verbose)
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy {accuracy:.4f} (loss {loss:.4f}) after {seconds:.1f} s of training")
    if args.save and hasattr(model, "save"):
        model.save(args.save)
        print(f"saved the model to {args.save}")
    return accuracy


if __name__ == "__main__":
    main()
