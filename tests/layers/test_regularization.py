"""Dropout on every engine: identity outside training, the drop rate and the
rescaling in training, noise_shape, seeds, fresh masks inside a compiled step,
configs and bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

from polykeras import layers, ops
from polykeras.variables import StatelessScope

from .helpers import check_layer, layer_outputs


def test_dropout_is_identity_unless_training(engine):
    x = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")
    layer = check_layer(lambda: layers.Dropout(0.5, seed=1), x.shape)
    np.testing.assert_array_equal(layer_outputs(layer, x), x)
    np.testing.assert_array_equal(layer_outputs(layer, x, training=False), x)
    np.testing.assert_array_equal(layer_outputs(layers.Dropout(0.0), x, training=True), x)
    assert layer.get_config()["rate"] == 0.5 and layer.get_config()["seed"] == 1
    assert layer.weights == [] and len(layer.variables) == 1  # the seed state is a variable, not a weight


def test_dropout_rate_and_rescaling_in_training(engine):
    x = np.ones((100, 50), "float32")
    y = layer_outputs(layers.Dropout(0.3, seed=0), x, training=True)
    assert set(np.unique(y)).issubset({0.0, np.float32(1 / 0.7)})
    assert abs((y == 0).mean() - 0.3) < 0.03
    np.testing.assert_array_equal(layer_outputs(layers.Dropout(1.0), x[:2], training=True), np.zeros((2, 50)))


def test_dropout_seed_and_fresh_masks(engine):
    x = np.ones((8, 16), "float32")
    a, b = layers.Dropout(0.5, seed=3), layers.Dropout(0.5, seed=3)
    first = layer_outputs(a, x, training=True)
    np.testing.assert_array_equal(first, layer_outputs(b, x, training=True))
    assert not np.array_equal(first, layer_outputs(a, x, training=True))


def test_dropout_noise_shape_broadcasts(engine):
    x = np.ones((4, 6, 5), "float32")
    y = layer_outputs(layers.Dropout(0.5, noise_shape=(None, 1, 5), seed=2), x, training=True)
    assert np.all(y == y[:, :1, :])
    assert 0 < (y == 0).mean() < 1


def test_dropout_draws_new_masks_in_a_compiled_step(diff_engine):
    layer = layers.Dropout(0.5, seed=4)
    x = ops.ones((4, 8))
    state = layer.non_trainable_variables

    def step(values, data):
        with StatelessScope(list(zip(state, values))) as scope:
            y = layer(data, training=True)
        return y, [scope.get_current_value(v) for v in state]

    compiled = ops.jit(step)
    values = [v.value for v in state]
    y1, values = compiled(values, x)
    y2, values = compiled(values, x)
    assert not np.array_equal(ops.to_numpy(y1), ops.to_numpy(y2))


def test_dropout_passes_masks_and_rejects_bad_rates(engine):
    y = layers.Masking()(np.array([[[1.0], [0.0]]], "float32"))
    np.testing.assert_array_equal(ops.to_numpy(layers.get_mask(layers.Dropout(0.5)(y))), [[True, False]])
    with pytest.raises(ValueError, match=r"Dropout 'd'.*rate.*1.5"):
        layers.Dropout(1.5, name="d")
    with pytest.raises(ValueError, match=r"Dropout 'dn'.*noise_shape.*rank 2"):
        layers.Dropout(0.5, noise_shape=(1, 2, 3), name="dn")(np.ones((2, 3), "float32"), training=True)
