"""The four models every export format is checked with, trained briefly on
scikit-learn's digits (8x8 images): an MLP, a CNN with BatchNormalization, an
LSTM over the image rows and a small Transformer block."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.datasets import load_digits

import polykeras as pk
from polykeras import layers


def digits(count: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """``count`` digits scaled to [0, 1] (flat, 64 features) and their labels."""
    data = load_digits()
    return (data.data[:count] / 16.0).astype("float32"), data.target[:count].astype("int32")


def mlp() -> pk.Model:
    inputs = pk.Input((64,), name="pixels")
    h = layers.Dense(32, activation="relu")(inputs)
    h = layers.Dense(16, activation="relu")(h)
    return pk.Model(inputs, layers.Dense(10, name="logits")(h), name="digits_mlp")


def cnn() -> pk.Model:
    inputs = pk.Input((8, 8, 1), name="image")
    h = layers.Conv2D(4, 3, padding="same", use_bias=False)(inputs)
    h = layers.BatchNormalization()(h)
    h = layers.Activation("relu")(h)
    h = layers.MaxPooling2D()(h)
    h = layers.Flatten()(h)
    return pk.Model(inputs, layers.Dense(10)(h), name="cnn")


def lstm() -> pk.Model:
    inputs = pk.Input((8, 8), name="rows")
    h = layers.LSTM(8)(inputs)
    return pk.Model(inputs, layers.Dense(10)(h), name="lstm")


def transformer() -> pk.Model:
    inputs = pk.Input((8, 8), name="rows")
    h = layers.Dense(16)(inputs)
    attended = layers.MultiHeadAttention(num_heads=2, key_dim=8)(h, h)
    h = layers.LayerNormalization()(h + attended)
    ff = layers.Dense(16)(layers.Dense(32, activation="relu")(h))
    h = layers.LayerNormalization()(h + ff)
    h = layers.GlobalAveragePooling1D()(h)
    return pk.Model(inputs, layers.Dense(10)(h), name="transformer")


#: name -> (builder, input shape without the batch axis)
MODELS: dict[str, tuple[Callable[[], pk.Model], tuple[int, ...]]] = {
    "mlp": (mlp, (64,)),
    "cnn": (cnn, (8, 8, 1)),
    "lstm": (lstm, (8, 8)),
    "transformer": (transformer, (8, 8)),
}


def trained(name: str, differentiable: bool = True) -> pk.Model:
    """Model ``name`` after one short epoch on the active engine. An engine
    without autodiff (NumPy) cannot fit: its model gets weights moved off
    their initial values and BatchNormalization statistics updated by
    forward passes in training mode, so the export still carries state."""
    build, shape = MODELS[name]
    pk.random.set_seed(0)
    model = build()
    x, y = digits()
    x = x.reshape((-1, *shape))
    if differentiable:
        model.compile(optimizer="adam", loss=pk.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, batch_size=64, epochs=1, verbose=0)
        return model
    rng = np.random.default_rng(0)
    model.set_weights([w + rng.normal(scale=0.05, size=w.shape).astype(w.dtype) for w in model.get_weights()])
    for start in range(0, len(x), 64):
        model(x[start:start + 64], training=True)
    return model
