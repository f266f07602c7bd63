"""ContrastLimitedAdaptiveHistogramEqualization against Keras 3's numbers
(it is deterministic), and the RandAugment and AugMix policies: seeds,
identity at inference, value ranges, configs and errors, on every engine."""

from __future__ import annotations

import numpy as np
import pytest

from conformance.tolerances import tolerance
from polykeras import layers, ops

from ..helpers import check_layer, layer_outputs
from ..keras_reference import assert_matches_keras

LAYER_TOL = dict(zip(("rtol", "atol"), tolerance("layer")))
_X = (np.random.default_rng(0).random((2, 13, 17, 3)) * 120 + 30).astype("float32")

CLAHE = [
    {},
    {"tile_grid_size": [2, 3]},
    {"tile_grid_size": [3, 2], "clip_limit": 0.0, "value_range": [0, 1]},
    {"tile_grid_size": [2, 2], "clip_limit": 2.0, "data_format": "channels_first"},
]


@pytest.mark.parametrize("kwargs", CLAHE, ids=range(len(CLAHE)))
def test_clahe_matches_keras(engine, kwargs):
    x = _X / 255.0 if kwargs.get("value_range") == [0, 1] else _X
    x = np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if kwargs.get("data_format") == "channels_first" else x
    name = "ContrastLimitedAdaptiveHistogramEqualization"
    layer = assert_matches_keras(lambda: getattr(layers, name)(**kwargs), name, kwargs, x)
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()
    assert "seed" not in layer.get_config()


def test_clahe_runs_at_inference_and_checks_arguments(engine):
    layer = layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2))
    np.testing.assert_array_equal(layer_outputs(layer, _X, training=False), layer_outputs(layer, _X))
    assert layer_outputs(layer, _X[0]).shape == _X[0].shape
    with pytest.raises(ValueError, match=r"contrast_limited_adaptive_histogram_equalization.*tile_grid_size.*0"):
        layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(0, 2))


POLICIES = {
    "RandAugment": lambda seed=1: layers.RandAugment(num_ops=3, factor=0.4, seed=seed),
    "AugMix": lambda seed=1: layers.AugMix(seed=seed),
    "AugMix-basic": lambda seed=1: layers.AugMix(num_chains=2, chain_depth=2, all_ops=False, seed=seed),
}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_policies(engine, name):
    make = POLICIES[name]
    x = (np.random.default_rng(1).random((3, 16, 16, 3)) * 255).astype("float32")
    layer = check_layer(make, (2, 16, 16, 3), call_kwargs={"training": False}, **LAYER_TOL)
    np.testing.assert_array_equal(layer_outputs(layer, x, training=False), x)
    first = layer_outputs(make(seed=7), x)
    np.testing.assert_array_equal(first, layer_outputs(make(seed=7), x))  # same seed, same augmentation
    assert first.min() >= -1e-3 and first.max() <= 255.0 + 1e-3
    outputs = [layer_outputs(layer, x) for _ in range(3)]
    assert any(not np.allclose(o, x) for o in outputs), f"{name} changed nothing in three calls"
    assert layer_outputs(make(), x[0]).shape == x[0].shape
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


def test_policy_errors_name_the_layer(engine):
    with pytest.raises(ValueError, match=r"rand_augment.*num_ops.*-1"):
        layers.RandAugment(num_ops=-1)
    with pytest.raises(ValueError, match=r"rand_augment.*factor.*1.5"):
        layers.RandAugment(factor=1.5)
    with pytest.raises(ValueError, match=r"aug_mix.*alpha.*positive.*0"):
        layers.AugMix(alpha=0)
    with pytest.raises(ValueError, match=r"aug_mix.*chain_depth.*0"):
        layers.AugMix(chain_depth=0)
    with pytest.raises(ValueError, match=r"aug_mix.*interpolation.*'cubic'"):
        layers.AugMix(interpolation="cubic")
    with pytest.raises(ValueError, match=r"rand_augment.*3 channels"):
        layers.RandAugment(seed=1)(ops.convert_to_tensor(_X[..., :1]))


def test_augmentations_train_inside_the_compiled_step(engine):
    import polykeras as pk
    import polykeras.backends as B

    # the layers whose compiled form needs care: a static-length histogram (segment_sum, as in CLAHE, RandAugment
    # and AugMix), the host-drawn elastic strength, a permutation of the batch
    augment = [layers.Equalization(), layers.RandomElasticTransform(seed=9), layers.CutMix(seed=11)]
    model = pk.Sequential([pk.Input((12, 12, 3)), *augment, layers.Rescaling(1 / 255.0),
                           layers.GlobalAveragePooling2D(), layers.Dense(2)])
    model.compile("adam", pk.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = (np.random.default_rng(2).random((8, 12, 12, 3)) * 255).astype("float32")
    if not B.active().differentiable:  # the engine's own capability flag, as the conformance runner reads it
        with pytest.raises(NotImplementedError, match="autodiff"):
            model.fit(x, np.arange(8) % 2, epochs=1, batch_size=4, verbose=0)
        return
    history = model.fit(x, np.arange(8) % 2, epochs=1, batch_size=4, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    np.testing.assert_allclose(model.predict(x, verbose=0), model.predict(x, verbose=0))  # inference: identity
