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


@pytest.mark.parametrize("kwargs, shape, params, training", [
    (dict(), (4, 5), 20, False),
    (dict(axis=1, epsilon=0.01, scale=False), (3, 4, 2, 2), 12, False),
    # training: the batch's statistics (the engine's fused training kernel), features last and second
    (dict(), (4, 3, 3, 5), 20, True),
    (dict(axis=1, epsilon=0.01, center=False), (3, 4, 2, 2), 12, True),
], ids=str)
def test_batch_normalization_matches_keras(engine, kwargs, shape, params, training):
    layer = assert_matches_keras(lambda: layers.BatchNormalization(**kwargs), "BatchNormalization", kwargs,
                                 _x(shape, shift=1.0), call_kwargs={"training": training} if training else None)
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


@pytest.mark.parametrize("masked", [False, True])
def test_synchronized_batch_normalization_alone_is_the_plain_one(engine, masked):
    """Outside data parallelism the global batch is the batch: ``synchronized``
    (sums of x and x**2 instead of centred moments) gives the same numbers."""
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, (6, 5, 4)).astype("float32")
    mask = rng.uniform(size=(6, 5)) > 0.3 if masked else None
    plain, synced = layers.BatchNormalization(), layers.BatchNormalization(synchronized=True)
    out_plain = ops.to_numpy(plain(x, training=True, mask=mask))
    out_synced = ops.to_numpy(synced(x, training=True, mask=mask))
    assert_close(out_synced, out_plain, "layer", "float32", err_msg="outputs")
    for a, b in zip(synced.weights, plain.weights):
        assert_close(ops.to_numpy(a.value), ops.to_numpy(b.value), "layer", "float32", err_msg=a.name)


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
    model = polykeras.Sequential([layers.Input((4,)), layers.Dense(4), layers.BatchNormalization(),
                                  layers.Dropout(0.25, seed=1), layers.Dense(1)])
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
    np.testing.assert_array_equal(model.layers[2].seed_generator.state.numpy(), [1, 4])  # a new mask each step


@pytest.mark.parametrize("shape", [(3,), (2, 2, 3)], ids=["features", "images"])
def test_batch_normalization_fits_batches_of_every_size(diff_engine, shape):
    """Batches of 4, 4 and 1 rows through ``fit``: a compiled step that meets
    a second batch size runs for any, with the batch axis unknown until it
    runs. An engine's training kernel that reports the sample variance
    (divided by rows - 1) must be corrected with the rows counted then."""
    x = _x((9, *shape), scale=2.0, shift=1.0)
    model = polykeras.Sequential([layers.Input(shape), layers.BatchNormalization(momentum=0.5)])
    model.compile(optimizer=polykeras.optimizers.SGD(0.0), loss="mse")
    model.fit(x, np.zeros_like(x), batch_size=4, epochs=1, shuffle=False, verbose=0)
    mean, var = np.zeros(3), np.ones(3)
    for start in (0, 4, 8):
        rows = x[start:start + 4].reshape(-1, 3).astype(np.float64)
        mean, var = 0.5 * mean + 0.5 * rows.mean(0), 0.5 * var + 0.5 * rows.var(0)
    bn = model.layers[0]
    assert_close(bn.moving_mean.numpy(), mean, "reduction", err_msg="moving_mean")
    assert_close(bn.moving_variance.numpy(), var, "reduction", err_msg="moving_variance")


def test_batch_normalization_bad_inputs_name_the_layer(engine):
    with pytest.raises(ValueError, match=r"BatchNormalization 'bn'.*axis.*rank 2"):
        layers.BatchNormalization(axis=3, name="bn")(_x((2, 3)))
    bn = layers.BatchNormalization(name="bn2")
    layer_outputs(bn, _x((2, 3)))
    with pytest.raises(ValueError, match=r"bn2.*axis 1 of size 3.*\(2, 4\)"):
        bn(_x((2, 4)))
    with pytest.raises(ValueError, match=r"bn2.*ndim=2.*\(2, 3, 3\)"):
        bn(_x((2, 3, 3)))


# ------------------------------------------------------ LayerNormalization
def numpy_layer_norm(x, axes, gamma=None, beta=None, epsilon=1e-3):
    x = x.astype(np.float64)
    mean, var = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
    shape = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]
    out = (x - mean) / np.sqrt(var + epsilon)
    if gamma is not None:
        out = out * gamma.reshape(shape)
    return out if beta is None else out + beta.reshape(shape)


@pytest.mark.parametrize("kwargs, shape, axes", [
    (dict(), (2, 3, 4), (2,)),
    (dict(axis=[1, 2], epsilon=0.01, center=False), (2, 3, 4), (1, 2)),
], ids=str)
def test_layer_normalization_checks_and_numpy(engine, kwargs, shape, axes):
    layer = check_layer(lambda: layers.LayerNormalization(**kwargs), shape, **LAYER_TOL)
    x = _x(shape, seed=3, scale=2.0, shift=1.0)
    rng = np.random.default_rng(4)
    layer.set_weights([rng.standard_normal(w.shape).astype("float32") for w in layer.weights])
    weights = dict(zip([w.name for w in layer.weights], layer.get_weights()))
    expected = numpy_layer_norm(x, axes, weights.get("gamma"), weights.get("beta"), kwargs.get("epsilon", 1e-3))
    assert_close(layer_outputs(layer, x), expected, "nn")


@pytest.mark.parametrize("kwargs, shape", [(dict(), (2, 3, 6)), (dict(axis=[1, 2], scale=False), (2, 3, 4))],
                         ids=str)
def test_layer_normalization_matches_keras(engine, kwargs, shape):
    assert_matches_keras(lambda: layers.LayerNormalization(**kwargs), "LayerNormalization", kwargs,
                         _x(shape, shift=1.0))


# ------------------------------------------------------ GroupNormalization
def numpy_group_norm(x, groups, gamma, beta, epsilon=1e-3, axis=-1):
    x = np.moveaxis(x.astype(np.float64), axis, -1)
    c = x.shape[-1]
    g = x.reshape(*x.shape[:-1], groups, c // groups)
    axes = tuple(range(1, g.ndim - 2)) + (g.ndim - 1,)
    out = ((g - g.mean(axes, keepdims=True)) / np.sqrt(g.var(axes, keepdims=True) + epsilon)).reshape(x.shape)
    return np.moveaxis(out * gamma + beta, -1, axis)


@pytest.mark.parametrize("kwargs, shape", [
    (dict(groups=2), (2, 3, 4)),
    (dict(groups=-1, epsilon=0.01, axis=1), (2, 4, 3, 3)),
], ids=str)
def test_group_normalization_checks_numpy_and_keras(engine, kwargs, shape):
    layer = check_layer(lambda: layers.GroupNormalization(**kwargs), shape, **LAYER_TOL)
    x = _x(shape, seed=5, shift=1.0)
    gamma, beta = layer.get_weights()
    gamma, beta = gamma + 0.5, beta - 0.25
    layer.set_weights([gamma, beta])
    axis = kwargs.get("axis", -1)
    groups = shape[axis] if kwargs["groups"] == -1 else kwargs["groups"]
    expected = numpy_group_norm(x, groups, gamma, beta, kwargs.get("epsilon", 1e-3), axis)
    assert_close(layer_outputs(layer, x), expected, "nn")
    assert_matches_keras(lambda: layers.GroupNormalization(**kwargs), "GroupNormalization", kwargs, x)


def test_group_normalization_bad_groups_name_the_layer(engine):
    with pytest.raises(ValueError, match=r"GroupNormalization 'gn'.*divisible by groups=4.*\(2, 3, 6\)"):
        layers.GroupNormalization(groups=4, name="gn")(_x((2, 3, 6)))
    with pytest.raises(ValueError, match=r"GroupNormalization 'gn2'.*at most 6 groups.*groups=32"):
        layers.GroupNormalization(name="gn2")(_x((2, 3, 6)))
    with pytest.raises(ValueError, match=r"GroupNormalization.*groups.*0"):
        layers.GroupNormalization(groups=0)


# ------------------------------------------------------- UnitNormalization
@pytest.mark.parametrize("axis, shape", [([1, 2], (2, 3, 4))], ids=str)
def test_unit_normalization(engine, axis, shape):
    x = _x(shape)
    layer = check_layer(lambda: layers.UnitNormalization(axis=axis), shape, **LAYER_TOL)
    axes = (len(shape) - 1,) if axis == -1 else tuple(axis)
    expected = x / np.sqrt(np.sum(x.astype(np.float64) ** 2, axis=axes, keepdims=True))
    assert_close(layer_outputs(layer, x), expected, "nn")
    np.testing.assert_array_equal(layer_outputs(layers.UnitNormalization(), np.zeros((1, 3), "float32")),
                                  np.zeros((1, 3)))


def test_per_sample_normalizations_pass_masks(engine):
    y = layers.Masking()(np.array([[[1.0, 2.0], [0.0, 0.0]]], "float32"))
    for layer in (layers.LayerNormalization(), layers.UnitNormalization(), layers.BatchNormalization()):
        np.testing.assert_array_equal(ops.to_numpy(layers.get_mask(layer(y))), [[True, False]])
    with pytest.raises(ValueError, match=r"LayerNormalization 'ln'.*axis.*rank 2"):
        layers.LayerNormalization(axis=2, name="ln")(_x((2, 3)))
