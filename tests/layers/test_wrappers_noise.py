"""TimeDistributed and the noise/regularization layers on every engine:
the standard layer checks, NumPy per-step references, masks, configs inside
saved models; identity in inference, the noise statistics and structure in
training (seeded, fresh draws per compiled step), activity losses, bad
arguments naming the layer."""

from __future__ import annotations

import math

import numpy as np
import pytest

import polykeras
from conformance.tolerances import assert_close, tolerance
from polykeras import layers, ops
from polykeras.saving import model_from_json
from polykeras.variables import StatelessScope

from .helpers import check_layer, layer_outputs

LAYER_TOL = dict(zip(("rtol", "atol"), tolerance("layer")))


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


# ------------------------------------------------------------- TimeDistributed
def test_time_distributed_dense_checks_and_numpy_reference(engine):
    x = _x((2, 5, 4))
    layer = check_layer(lambda: layers.TimeDistributed(layers.Dense(3, activation="tanh")), x.shape, **LAYER_TOL)
    kernel, bias = layer.get_weights()
    assert [w.path.split("/", 1)[1] for w in layer.weights][0].endswith("kernel") and kernel.shape == (4, 3)
    assert_close(layer_outputs(layer, x), np.tanh(x.astype(np.float64) @ kernel + bias), "layer")
    assert layer.compute_output_shape((None, None, 4)) == (None, None, 3)
    assert layer.get_config()["layer"]["class_name"] == "Dense"


def test_time_distributed_conv_equals_a_loop_over_steps(engine):
    x = _x((2, 3, 5, 5, 2))
    conv = layers.Conv2D(4, 3, padding="same")
    layer = check_layer(lambda: layers.TimeDistributed(layers.Conv2D(4, 3, padding="same")), x.shape, **LAYER_TOL)
    layer_outputs(conv, x[:, 0])
    conv.set_weights(layer.get_weights())
    expected = np.stack([layer_outputs(conv, x[:, t]) for t in range(3)], axis=1)
    assert_close(layer_outputs(layer, x), expected, "conv")
    assert layer.compute_output_shape((None, 3, 5, 5, 2)) == (None, 3, 5, 5, 4)


def test_time_distributed_masks_training_and_saving(engine):
    polykeras.random.set_seed(2)
    ids = layers.Input((4,), dtype="int32")
    hidden = layers.Embedding(7, 3, mask_zero=True)(ids)
    hidden = layers.TimeDistributed(layers.Dense(2), name="td")(hidden)
    outputs = layers.GlobalAveragePooling1D()(hidden)
    model = polykeras.Model(ids, outputs)
    data = np.array([[1, 2, 0, 0], [3, 4, 5, 0]])
    before = model.predict(data, verbose=0)
    clone = model_from_json(model.to_json())
    clone.set_weights(model.get_weights())
    assert_close(clone.predict(data, verbose=0), before, "layer")
    embedding = layers.Embedding(7, 3, mask_zero=True)
    y = layers.TimeDistributed(layers.Dense(2))(embedding(data))
    np.testing.assert_array_equal(ops.to_numpy(layers.get_mask(y)), data != 0)
    # training flows to the wrapped layer
    dropped = layers.TimeDistributed(layers.Dropout(0.5, seed=1))
    x = np.ones((2, 3, 8), "float32")
    np.testing.assert_array_equal(layer_outputs(dropped, x), x)
    assert np.any(layer_outputs(dropped, x, training=True) == 0)


def test_time_distributed_bad_arguments(engine):
    with pytest.raises(ValueError, match=r"TimeDistributed 'td'.*Layer instance.*Dense"):
        layers.TimeDistributed(layers.Dense, name="td")
    with pytest.raises(ValueError, match=r"TimeDistributed 'td2'.*rank 3 or more.*\(2, 4\)"):
        layer_outputs(layers.TimeDistributed(layers.Dense(2), name="td2"), _x((2, 4)))


# ----------------------------------------------------------- spatial dropout
SPATIAL = [
    (layers.SpatialDropout1D, {}, (4, 6, 5), (1,)),
    (layers.SpatialDropout2D, {}, (4, 3, 3, 5), (1, 2)),
    (layers.SpatialDropout2D, {"data_format": "channels_first"}, (4, 5, 3, 3), (2, 3)),
    (layers.SpatialDropout3D, {}, (4, 2, 2, 2, 5), (1, 2, 3)),
    (layers.SpatialDropout3D, {"data_format": "channels_first"}, (4, 5, 2, 2, 2), (2, 3, 4)),
]


@pytest.mark.parametrize("cls, kwargs, shape, spatial", SPATIAL, ids=lambda v: getattr(v, "__name__", str(v)))
def test_spatial_dropout_drops_whole_channels(engine, cls, kwargs, shape, spatial):
    x = np.ones(shape, "float32")
    layer = check_layer(lambda: cls(0.5, seed=3, **kwargs), shape)
    np.testing.assert_array_equal(layer_outputs(layer, x), x)
    y = layer_outputs(layer, x, training=True)
    assert set(np.unique(y)).issubset({0.0, 2.0}) and 0 < (y == 0).mean() < 1
    np.testing.assert_array_equal(y, np.broadcast_to(y.max(axis=spatial, keepdims=True), shape))
    np.testing.assert_array_equal(layer_outputs(cls(0.5, seed=3, **kwargs), x, training=True), y)
    assert layer.get_config()["rate"] == 0.5 and layer.get_config()["seed"] == 3
    assert ("data_format" in layer.get_config()) == (cls is not layers.SpatialDropout1D)


def test_spatial_dropout_errors(engine):
    with pytest.raises(ValueError, match=r"'sd'.*expected ndim=4.*\(2, 3, 4\)"):
        layer_outputs(layers.SpatialDropout2D(0.3, name="sd"), _x((2, 3, 4)), training=True)
    with pytest.raises(ValueError, match=r"SpatialDropout1D 'sd1'.*rate.*1.5"):
        layers.SpatialDropout1D(1.5, name="sd1")
    np.testing.assert_array_equal(layer_outputs(layers.SpatialDropout1D(1.0), np.ones((2, 3, 4), "float32"),
                                                training=True), np.zeros((2, 3, 4)))


# ------------------------------------------------------------ Gaussian noise
def test_gaussian_noise_statistics(engine):
    x = _x((200, 50))
    layer = check_layer(lambda: layers.GaussianNoise(0.3, seed=1), x.shape)
    np.testing.assert_array_equal(layer_outputs(layer, x), x)
    noise = layer_outputs(layer, x, training=True) - x
    assert abs(noise.mean()) < 0.015 and abs(noise.std() - 0.3) < 0.01  # ~5 sigma
    again = layer_outputs(layer, x, training=True) - x
    assert not np.allclose(noise, again)  # a fresh draw per call
    np.testing.assert_allclose(layer_outputs(layers.GaussianNoise(0.3, seed=1), x, training=True) - x, noise,
                               atol=1e-6)
    assert layer.get_config()["stddev"] == 0.3


def test_gaussian_dropout_statistics(engine):
    x = np.full((200, 50), 2.0, "float32")
    layer = check_layer(lambda: layers.GaussianDropout(0.2, seed=5), x.shape)
    np.testing.assert_array_equal(layer_outputs(layer, x), x)
    factor = layer_outputs(layer, x, training=True) / 2.0
    assert abs(factor.mean() - 1.0) < 0.025 and abs(factor.std() - math.sqrt(0.2 / 0.8)) < 0.02  # ~5 sigma
    np.testing.assert_array_equal(layer_outputs(layers.GaussianDropout(0.0), x, training=True), x)


def test_alpha_dropout_keeps_selu_statistics(engine):
    x = _x((400, 50), seed=2)
    layer = check_layer(lambda: layers.AlphaDropout(0.2, seed=7), x.shape)
    np.testing.assert_array_equal(layer_outputs(layer, x), x)
    y = layer_outputs(layer, x, training=True)
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - 0.2) * (1 + 0.2 * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * 0.2
    dropped = np.isclose(y, a * alpha_p + b, atol=1e-5)
    assert abs(dropped.mean() - 0.2) < 0.02
    np.testing.assert_allclose(y[~dropped], a * x[~dropped] + b, rtol=1e-5, atol=1e-5)
    assert abs(y.mean()) < 0.04 and abs(y.std() - 1.0) < 0.04  # ~5 sigma
    shared = layer_outputs(layers.AlphaDropout(0.5, noise_shape=(None, 1), seed=1), np.ones((6, 4), "float32"),
                           training=True)
    assert np.all(shared == shared[:, :1])


def test_noise_draws_fresh_values_in_a_compiled_step(diff_engine):
    layer = layers.GaussianNoise(0.5, seed=4)
    state = layer.non_trainable_variables

    def step(values, data):
        with StatelessScope(list(zip(state, values))) as scope:
            y = layer(data, training=True)
        return y, [scope.get_current_value(v) for v in state]

    compiled = ops.jit(step)
    values = [v.value for v in state]
    x = ops.zeros((3, 4))
    y1, values = compiled(values, x)
    y2, values = compiled(values, x)
    assert not np.allclose(ops.to_numpy(y1), ops.to_numpy(y2))


def test_noise_layers_pass_masks_and_refuse_bad_arguments(engine):
    masked = layers.Masking()(np.array([[[1.0], [0.0]]], "float32"))
    for layer in (layers.GaussianNoise(0.1), layers.GaussianDropout(0.1), layers.AlphaDropout(0.1),
                  layers.ActivityRegularization(l1=0.1)):
        np.testing.assert_array_equal(ops.to_numpy(layers.get_mask(layer(masked))), [[True, False]])
    with pytest.raises(ValueError, match=r"GaussianNoise 'gn'.*stddev.*-1"):
        layers.GaussianNoise(-1, name="gn")
    with pytest.raises(ValueError, match=r"GaussianDropout 'gd'.*rate.*2"):
        layers.GaussianDropout(2, name="gd")
    with pytest.raises(ValueError, match=r"AlphaDropout 'ad'.*noise_shape.*rank 2"):
        layer_outputs(layers.AlphaDropout(0.5, noise_shape=(1, 2, 3), name="ad"), _x((2, 3)), training=True)


# ------------------------------------------------------ ActivityRegularization
def test_activity_regularization_adds_the_penalty(engine):
    x = _x((4, 3))
    layer = check_layer(lambda: layers.ActivityRegularization(l1=0.01, l2=0.1), x.shape)
    np.testing.assert_array_equal(layer_outputs(layer, x), x)
    expected = (0.01 * np.abs(x).sum() + 0.1 * np.square(x).sum()) / 4
    assert len(layer.losses) == 1
    assert_close(ops.to_numpy(layer.losses[0]), np.float64(expected), "reduction", dtype="float32")
    config = layer.get_config()
    assert config["l1"] == 0.01 and config["l2"] == 0.1 and "activity_regularizer" not in config
    clone = layers.ActivityRegularization.from_config(config)
    layer_outputs(clone, x)
    assert_close(ops.to_numpy(clone.losses[0]), np.float64(expected), "reduction", dtype="float32")
