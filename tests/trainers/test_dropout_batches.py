"""Dropout inside compiled steps whose batch size changes (the last, smaller batch)."""

from __future__ import annotations

import numpy as np

import polykeras as pk
from polykeras import layers


def test_dropout_with_a_ragged_last_batch_trains(diff_engine):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((10, 4)).astype("float32")
    y = rng.standard_normal((10, 1)).astype("float32")
    model = pk.Sequential([pk.Input((4,)), layers.Dense(8), layers.Dropout(0.5), layers.Dense(1)])
    model.compile("sgd", "mse")
    for _ in range(2):
        history = model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
