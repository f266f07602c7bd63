"""Layers whose shape checks (Add, Concatenate, Dot, Attention, MultiHeadAttention,
LayerNormalization) meet sizes unknown while tracing (a retraced
step on TensorFlow sees the batch axis, and after relaxing, other axes, as
scalar tensors) still train when the last batch is shorter, on every engine."""

from __future__ import annotations

import numpy as np

import polykeras as pk
from polykeras import layers


def _model():
    pk.random.set_seed(0)
    tokens = pk.Input((5, 8), name="tokens")
    other = pk.Input((5, 8), name="other")
    summed = layers.Add()([tokens, other])
    attended = layers.MultiHeadAttention(num_heads=2, key_dim=4)(summed, layers.Attention()([summed, other]))
    normed = layers.LayerNormalization()(layers.Add()([summed, attended]))
    joined = layers.Concatenate()([normed, other])
    pooled = layers.GlobalAveragePooling1D()(joined)
    similarity = layers.Flatten()(layers.Dot(axes=(2, 2))([normed, other]))
    model = pk.Model([tokens, other], layers.Dense(3)(layers.Concatenate()([pooled, similarity])))
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def _data(n=13):
    rng = np.random.default_rng(0)
    return [rng.standard_normal((n, 5, 8)).astype("float32") for _ in range(2)], rng.integers(0, 3, n)


def test_fit_with_a_shorter_last_batch(diff_engine):
    x, y = _data()
    model = _model()
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0)  # batches of 4, 4, 4 and 1
    assert all(np.isfinite(history.history["loss"]))
    assert model.predict(x, batch_size=5, verbose=0).shape == (13, 3)


def test_evaluate_with_a_shorter_last_batch(engine):
    x, y = _data()
    model = _model()
    assert np.isfinite(model.evaluate(x, y, batch_size=4, verbose=0))
    assert np.isfinite(model.evaluate([a[:6] for a in x], y[:6], batch_size=5, verbose=0))
