"""Subclassed models on every engine."""

from __future__ import annotations

import numpy as np
import pytest

from polykeras import layers, ops
from polykeras.models import Model


class TwoLayer(Model):
    def __init__(self, hidden=16, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(hidden, activation="relu")
        self.head = layers.Dense(1)

    def call(self, x):
        return self.head(self.hidden(x))


def test_build_creates_weights_before_data(engine):
    model = TwoLayer()
    model.build((None, 8))
    assert model.count_params() == 8 * 16 + 16 + 16 + 1
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    assert any("Total params: 161" in line for line in lines)
    assert [layer.name for layer in model.layers] == [model.hidden.name, model.head.name]


def test_call_and_weights(engine, rng):
    model = TwoLayer(hidden=4)
    data = rng.standard_normal((3, 2)).astype("float32")
    out = ops.to_numpy(model(data))
    k1, b1, k2, b2 = model.get_weights()
    np.testing.assert_allclose(out, np.maximum(data @ k1 + b1, 0) @ k2 + b2, rtol=1e-5, atol=1e-5)
    assert model.get_layer(index=1) is model.head


def test_get_layer_errors(engine):
    model = TwoLayer()
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="exactly one"):
        model.get_layer()
    with pytest.raises(ValueError, match="symbolic"):
        _ = model.input_shape
