"""The colour augmentations (RandomColorDegeneration, RandomSaturation,
RandomHue, RandomSharpness, RandomColorJitter, RandomGaussianBlur,
Equalization) on every engine: Keras 3's numbers for fixed factors and the
deterministic Equalization, identity at inference, determinism by seed,
what a random draw may do, the data dict, configs and errors."""

from __future__ import annotations

import numpy as np
import pytest

from conformance.tolerances import tolerance
from polykeras import layers, ops

from ..helpers import check_layer, layer_outputs, to_numpy_tree
from ..keras_reference import assert_matches_keras

LAYER_TOL = dict(zip(("rtol", "atol"), tolerance("layer")))
_X = (np.random.default_rng(0).random((3, 7, 9, 3)) * 255).astype("float32")

FIXED = [
    ("RandomColorDegeneration", {"factor": [0.4, 0.4]}),
    ("RandomColorDegeneration", {"factor": [-0.3, -0.3], "value_range": [0, 1]}),
    ("RandomSaturation", {"factor": [0.7, 0.7]}),
    ("RandomSaturation", {"factor": [0.2, 0.2], "data_format": "channels_first"}),
    ("RandomHue", {"factor": 0.0}),
    ("RandomSharpness", {"factor": [0.9, 0.9]}),
    ("RandomSharpness", {"factor": [0.1, 0.1], "data_format": "channels_first"}),
    ("RandomGaussianBlur", {"factor": [1.0, 1.0], "sigma": [0.8, 0.8], "kernel_size": [3, 5]}),
    ("RandomGaussianBlur", {"factor": [1.0, 1.0], "sigma": [0.5, 0.5], "data_format": "channels_first"}),
    ("RandomColorJitter", {"brightness_factor": [0.1, 0.1], "saturation_factor": [0.7, 0.7]}),
    ("Equalization", {}),
    ("Equalization", {"bins": 64, "value_range": [0, 1]}),
    ("Equalization", {"data_format": "channels_first"}),
]


def _inputs(kwargs: dict) -> np.ndarray:
    x = _X / 255.0 if kwargs.get("value_range") == [0, 1] else _X
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if kwargs.get("data_format") == "channels_first" else x


@pytest.mark.parametrize("name,kwargs", FIXED, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FIXED)])
def test_fixed_factors_match_keras(engine, name, kwargs):
    layer = assert_matches_keras(lambda: getattr(layers, name)(**kwargs), name, kwargs, _inputs(kwargs))
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


RANDOM = {
    "RandomColorDegeneration": lambda seed=1: layers.RandomColorDegeneration(0.8, seed=seed),
    "RandomSaturation": lambda seed=1: layers.RandomSaturation(0.5, seed=seed),
    "RandomHue": lambda seed=1: layers.RandomHue(0.5, seed=seed),
    "RandomSharpness": lambda seed=1: layers.RandomSharpness(1.0, seed=seed),
    "RandomColorJitter": lambda seed=1: layers.RandomColorJitter(brightness_factor=0.2, contrast_factor=0.3,
                                                                 saturation_factor=0.5, hue_factor=0.3, seed=seed),
    "RandomGaussianBlur": lambda seed=1: layers.RandomGaussianBlur((1.0, 1.0), kernel_size=5, sigma=(0.5, 1.0),
                                                                   seed=seed),
}


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_random_draws_identity_at_inference_and_seeds(engine, name):
    make = RANDOM[name]
    layer = check_layer(make, (2, 7, 9, 3), call_kwargs={"training": False}, **LAYER_TOL)
    np.testing.assert_array_equal(layer_outputs(layer, _X, training=False), _X)
    first = layer_outputs(make(seed=7), _X)
    np.testing.assert_array_equal(first, layer_outputs(make(seed=7), _X))  # same seed, same augmentation
    assert not np.allclose(first, _X), f"{name} changed nothing in training"
    assert first.min() >= -1e-3 and first.max() <= 255.0 + 1e-3  # stays in value_range
    again = make(seed=7)
    layer_outputs(again, _X)
    assert not np.array_equal(layer_outputs(again, _X), first), f"{name}: a second call drew the same values"
    assert layer_outputs(make(), _X[0]).shape == _X[0].shape  # one image
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


def test_degeneration_and_hue_properties(engine):
    gray = layer_outputs(layers.RandomColorDegeneration((1.0, 1.0)), _X)
    np.testing.assert_allclose(gray[..., 0], gray[..., 2], atol=1e-3)  # fully gray
    y = layer_outputs(layers.RandomHue((0.4, 0.4), seed=3), _X)  # a hue turn of +-0.2 per image
    hsv_in = ops.to_numpy(ops.image.rgb_to_hsv(ops.convert_to_tensor(_X / 255.0)))
    hsv_out = ops.to_numpy(ops.image.rgb_to_hsv(ops.convert_to_tensor(y / 255.0)))
    turn = np.mod(hsv_out[..., 0] - hsv_in[..., 0] + 0.5, 1.0) - 0.5
    saturated = hsv_in[..., 1] > 0.2
    for image in range(len(_X)):
        shift = turn[image][saturated[image]]
        assert np.allclose(np.abs(shift), 0.2, atol=2e-3), "each image's hue turns by factor / 2"
    np.testing.assert_allclose(hsv_out[..., 2], hsv_in[..., 2], atol=1e-4)  # value kept


def test_sharpness_half_is_identity_and_blur_probability_zero(engine):
    np.testing.assert_allclose(layer_outputs(layers.RandomSharpness((0.5, 0.5)), _X), _X, atol=1e-3)
    np.testing.assert_array_equal(layer_outputs(layers.RandomGaussianBlur(0.0, seed=2), _X), _X)


def test_equalization_spreads_the_histogram(engine):
    dark = (_X * 0.2 + 10).astype("float32")
    y = layer_outputs(layers.Equalization(), dark)
    assert y.min() <= 1.0 and y.max() >= 254.0
    np.testing.assert_array_equal(layer_outputs(layers.Equalization(), dark, training=False), dark)
    flat = np.full((1, 4, 4, 3), 7.0, "float32")
    np.testing.assert_array_equal(layer_outputs(layers.Equalization(), flat), flat)  # one bin: kept
    check_layer(lambda: layers.Equalization(), (2, 5, 6, 3), check_gradients=False, **LAYER_TOL)
    assert "seed" not in layers.Equalization().get_config()


def test_the_data_dict(engine):
    masks = np.zeros((3, 7, 9, 1), "float32")
    labels = np.eye(3, dtype="float32")
    data = {"images": ops.convert_to_tensor(_X), "labels": ops.convert_to_tensor(labels),
            "segmentation_masks": ops.convert_to_tensor(masks)}
    out = to_numpy_tree(layers.RandomSaturation((0.7, 0.7))(data))
    np.testing.assert_array_equal(out["labels"], labels)
    np.testing.assert_array_equal(out["segmentation_masks"], masks)
    np.testing.assert_allclose(out["images"], layer_outputs(layers.RandomSaturation((0.7, 0.7)), _X), atol=1e-4)


def test_errors_name_the_layer(engine):
    with pytest.raises(ValueError, match=r"random_hue.*factor.*\[0.0, 1.0\].*1.5"):
        layers.RandomHue(1.5)
    with pytest.raises(ValueError, match=r"random_sharpness.*factor.*-0.5"):
        layers.RandomSharpness(-0.5)
    with pytest.raises(ValueError, match=r"random_saturation.*value_range"):
        layers.RandomSaturation(0.5, value_range=3)
    with pytest.raises(ValueError, match=r"random_gaussian_blur.*kernel_size.*odd.*4"):
        layers.RandomGaussianBlur(kernel_size=4)
    with pytest.raises(ValueError, match=r"random_color_jitter.*hue_factor.*2"):
        layers.RandomColorJitter(hue_factor=2)
    with pytest.raises(ValueError, match=r"equalization.*bins.*1"):
        layers.Equalization(bins=1)
    with pytest.raises(ValueError, match=r"random_color_degeneration.*3 channels.*\(3, 7, 9, 1\)"):
        layers.RandomColorDegeneration(0.5)(ops.convert_to_tensor(_X[..., :1]))
    with pytest.raises(ValueError, match=r"random_hue.*rank 3 or 4.*\(7, 9\)"):
        layers.RandomHue(0.5)(ops.convert_to_tensor(_X[0, ..., 0]))
    with pytest.raises(ValueError, match=r"random_hue.*'images' key"):
        layers.RandomHue(0.5)({"labels": ops.convert_to_tensor(_X)})
