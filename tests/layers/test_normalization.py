"""Normalization layers on every engine: the standard checks, NumPy formulas,
Keras 3's numbers with Keras' weights, BatchNormalization's moving
statistics (eager, inside a compiled stateless step, through ``model.fit``)
and masks."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras
from conformance.tolerances import assert_close, tolerance
from polykeras import layers, ops
from polykeras.variables import StatelessScope

from .helpers import check_layer, layer_outputs
from .keras_reference import assert_matches_keras

LAYER_TOL = dict(zip(("rtol", "atol"), tolerance("layer")))


def _x(shape, seed=0, scale=1.0, shift=0.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale + shift).astype("float32")


# ------------------------------------------------------ BatchNormalization
def numpy_batch_norm(x, mean, var, gamma, beta, epsilon, axis=-1):
    shape = [1] * x.ndim
    shape[axis] = -1
    r = lambda v: np.reshape(v, shape).astype(np.float64)  # noqa: E731
    return (x - r(mean)) / np.sqrt(r(var) + epsilon) * r(gamma) + r(beta)


def test_batch_normalization_checks(engine):
    layer = check_layer(lambda: layers.BatchNormalization(), (4, 3, 5), **LAYER_TOL)
    assert [w.name for w in layer.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.name for w in layer.trainable_weights] == ["gamma", "beta"]
    check_layer(lambda: layers.BatchNormalization(axis=1, center=False), (4, 3, 2, 2), **LAYER_TOL)


@pytest.mark.parametrize("kwargs, shape, params", [
    (dict(), (4, 5), 20),
    (dict(axis=1, epsilon=0.01, scale=False), (3, 4, 2, 2), 12),
    (dict(momentum=0.9, center=False), (2, 3, 4), 12),
], ids=str)
def test_batch_normalization_matches_keras(engine, kwargs, shape, params):
    layer = assert_matches_keras(lambda: layers.BatchNormalization(**kwargs), "BatchNormalization", kwargs,
                                 _x(shape, shift=1.0))
    assert layer.count_params() == params


def test_batch_normalization_training_and_inference(engine):
    x = _x((16, 3), scale=2.0, shift=3.0)
    bn = layers.BatchNormalization(momentum=0.8, epsilon=1e-3)
    layer_outputs(bn, x)  # build
    gamma = np.array([1.5, 0.5, 2.0], "float32")
    beta = np.array([0.1, -0.2, 0.3], "float32")
    bn.set_weights([gamma, beta, np.zeros(3, "float32"), np.ones(3, "float32")])

    # inference: moving statistics, which do not move
    y = layer_outputs(bn, x, training=False)
    assert_close(y, numpy_batch_norm(x, np.zeros(3), np.ones(3), gamma, beta, 1e-3), "nn")
    np.testing.assert_array_equal(bn.moving_mean.numpy(), np.zeros(3))
    layer_outputs(bn, x)  # training defaults to inference
    np.testing.assert_array_equal(bn.moving_variance.numpy(), np.ones(3))

    # training: batch statistics, moving ones step towards them
    y = layer_outputs(bn, x, training=True)
    mean, var = x.astype(np.float64).mean(0), x.astype(np.float64).var(0)
    assert_close(y, numpy_batch_norm(x, mean, var, gamma, beta, 1e-3), "nn")
    assert_close(bn.moving_mean.numpy(), 0.2 * mean, "reduction")
    assert_close(bn.moving_variance.numpy(), 0.8 + 0.2 * var, "reduction")

    # a frozen layer runs in inference mode even when training
    bn.trainable = False
    before = bn.get_weights()
    layer_outputs(bn, x, training=True)
    for a, b in zip(bn.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_batch_normalization_masked_statistics(engine):
    x = _x((2, 4, 3), shift=1.0)
    mask = np.array([[True, True, False, False], [True, True, True, False]])
    bn = layers.BatchNormalization(momentum=0.0)
    bn(ops.convert_to_tensor(x), training=True, mask=ops.convert_to_tensor(mask))
    kept = x[mask].astype(np.float64)
    assert_close(bn.moving_mean.numpy(), kept.mean(0), "reduction")
    assert_close(bn.moving_variance.numpy(), kept.var(0), "reduction")


def test_batch_normalization_updates_inside_a_compiled_stateless_step(diff_engine):
    bn = layers.BatchNormalization(momentum=0.5)
    x = _x((8, 2), shift=2.0)
    layer_outputs(bn, x)
    state = bn.non_trainable_variables

    def step(values, data):
        with StatelessScope(list(zip(state, values))) as scope:
            y = bn(data, training=True)
        return y, [scope.get_current_value(v) for v in state]

    _, new = ops.jit(step)([v.value for v in state], ops.convert_to_tensor(x))
    np.testing.assert_array_equal(bn.moving_mean.numpy(), np.zeros(2))  # the handle is untouched
    assert_close(ops.to_numpy(new[0]), 0.5 * x.astype(np.float64).mean(0), "reduction")


def test_batch_normalization_moves_in_fit_not_in_evaluate(diff_engine):
    polykeras.random.set_seed(0)
    model = polykeras.Sequential([layers.Input((4,)), layers.Dense(4), layers.BatchNormalization(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = _x((32, 4), shift=2.0), _x((32, 1), seed=1)
    bn = model.layers[1]
    start = [w.copy() for w in bn.get_weights()[2:]]
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    for a, b in zip(bn.get_weights()[2:], start):
        np.testing.assert_array_equal(a, b)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    moved = bn.get_weights()[2:]
    assert all(np.all(np.abs(a - b) > 0) for a, b in zip(moved, start))


def test_batch_normalization_bad_inputs_name_the_layer(engine):
    with pytest.raises(ValueError, match=r"BatchNormalization 'bn'.*axis.*rank 2"):
        layers.BatchNormalization(axis=3, name="bn")(_x((2, 3)))
    bn = layers.BatchNormalization(name="bn2")
    layer_outputs(bn, _x((2, 3)))
    with pytest.raises(ValueError, match=r"bn2.*axis 1 of size 3.*\(2, 4\)"):
        bn(_x((2, 4)))
    with pytest.raises(ValueError, match=r"bn2.*ndim=2.*\(2, 3, 3\)"):
        bn(_x((2, 3, 3)))
