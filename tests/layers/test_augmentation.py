"""Image augmentation layers on every engine: identity at inference, the
standard checks there, what each augmentation may do in training (a flip is
a flip, brightness a per-image shift, ...), value ranges, determinism by seed,
configs, errors; AutoContrast against Keras 3's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from conformance.tolerances import assert_close, tolerance
from polykeras import layers, ops

from .helpers import check_layer, layer_outputs
from .keras_reference import assert_matches_keras

LAYER_TOL = dict(zip(("rtol", "atol"), tolerance("layer")))
_X = np.random.default_rng(0).random((16, 5, 6, 3)).astype("float32")

RANDOM_LAYERS = {
    "RandomFlip": lambda seed=1: layers.RandomFlip(seed=seed),
    "RandomContrast": lambda seed=1: layers.RandomContrast(0.5, value_range=(0, 1), seed=seed),
    "RandomBrightness": lambda seed=1: layers.RandomBrightness(0.3, value_range=(0, 1), seed=seed),
    "RandomInvert": lambda seed=1: layers.RandomInvert(value_range=(0, 1), seed=seed),
    "RandomGrayscale": lambda seed=1: layers.RandomGrayscale(seed=seed),
    "Solarization": lambda seed=1: layers.Solarization(0.2, threshold_factor=0.6, value_range=(0, 1), seed=seed),
    "RandomPosterization": lambda seed=1: layers.RandomPosterization(6, value_range=(0, 1), seed=seed),
}


@pytest.mark.parametrize("name", sorted(RANDOM_LAYERS))
def test_inference_identity_checks_and_determinism(engine, name):
    make = RANDOM_LAYERS[name]
    layer = check_layer(make, (2, 5, 6, 3), call_kwargs={"training": False}, **LAYER_TOL)
    np.testing.assert_array_equal(layer_outputs(layer, _X, training=False), _X)
    first, second = layer_outputs(make(seed=7), _X), layer_outputs(make(seed=7), _X)
    np.testing.assert_array_equal(first, second)  # same seed, same augmentation
    assert not np.array_equal(first, _X), f"{name} changed nothing in training"
    again = make(seed=7)
    layer_outputs(again, _X)
    assert not np.array_equal(layer_outputs(again, _X), first), f"{name}: a second call drew the same values"
    assert np.all((first >= 0.0) & (first <= 1.0))
    assert layer_outputs(make(), _X[0]).shape == _X[0].shape  # one unbatched image
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config() or {k: v for k, v in clone.get_config().items() if k != "name"} \
        == {k: v for k, v in layer.get_config().items() if k != "name"}


@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
def test_random_flip_is_a_flip(engine, mode):
    y = layer_outputs(layers.RandomFlip(mode, seed=3), _X)
    flipped = {"horizontal": _X[:, :, ::-1], "vertical": _X[:, ::-1],
               "horizontal_and_vertical": _X[:, ::-1, ::-1]}[mode]
    same = [np.array_equal(a, b) for a, b in zip(y, _X)]
    flip = [np.array_equal(a, b) for a, b in zip(y, flipped)]
    assert all(s or f for s, f in zip(same, flip)) and any(same) and any(flip)
    cf = layer_outputs(layers.RandomFlip("horizontal", seed=3, data_format="channels_first"),
                       np.ascontiguousarray(_X.transpose(0, 3, 1, 2)))
    assert all(np.array_equal(a, b) or np.array_equal(a, b[:, :, ::-1]) for a, b in zip(cf, _X.transpose(0, 3, 1, 2)))


def test_contrast_and_brightness_statistics(engine):
    x = (_X * 0.2 + 0.4).astype("float32")  # nothing reaches the clipping bounds
    y = layer_outputs(layers.RandomContrast(0.5, value_range=(0, 1), seed=2), x)
    mean = x.mean(axis=(1, 2), keepdims=True)
    ratio = (y - mean) / (x - mean)
    per_image = ratio.reshape(len(x), -1)
    assert np.allclose(per_image, per_image[:, :1], atol=1e-3) and np.all((per_image >= 1.0 - 1e-4) &
                                                                           (per_image <= 1.5 + 1e-4))
    shift = layer_outputs(layers.RandomBrightness((-0.1, 0.2), value_range=(0, 1), seed=2), x) - x
    per_image = shift.reshape(len(x), -1)
    assert np.allclose(per_image, per_image[:, :1], atol=1e-5)
    assert np.all((per_image >= -0.1 - 1e-5) & (per_image <= 0.2 + 1e-5)) and per_image.std() > 0
    bright = layer_outputs(layers.RandomBrightness((0.9, 1.0), seed=0), np.full((2, 2, 2, 3), 200.0, "float32"))
    np.testing.assert_array_equal(bright, 255.0)  # clipped to value_range


def test_invert_and_grayscale(engine):
    y = layer_outputs(layers.RandomInvert(value_range=(0, 1), seed=5), _X)
    inverted = [np.allclose(a, 1.0 - b) for a, b in zip(y, _X)]
    assert all(i or np.array_equal(a, b) for i, a, b in zip(inverted, y, _X)) and any(inverted)
    np.testing.assert_allclose(layer_outputs(layers.RandomInvert((1.0, 1.0), seed=5), _X * 255), 255 - _X * 255,
                               rtol=1e-6)
    np.testing.assert_array_equal(layer_outputs(layers.RandomInvert(0.0, seed=5), _X), _X)
    gray = layer_outputs(layers.RandomGrayscale(1.0, seed=1), _X)
    expected = (_X.astype(np.float64) @ np.array([0.2989, 0.587, 0.114]))[..., None]
    assert_close(gray, np.broadcast_to(expected, _X.shape), "layer")
    np.testing.assert_array_equal(layer_outputs(layers.RandomGrayscale(0.0, seed=1), _X), _X)


def test_auto_contrast_matches_keras(engine):
    x = (_X[:4] * 100 + 50).astype("float32")
    assert_matches_keras(lambda: layers.AutoContrast(), "AutoContrast", {}, x)
    assert_matches_keras(lambda: layers.AutoContrast(value_range=(0, 1)), "AutoContrast", {"value_range": [0, 1]},
                         _X[:4] * 0.5)
    check_layer(lambda: layers.AutoContrast(value_range=(0, 1)), (2, 5, 6, 3), **LAYER_TOL)
    y = layer_outputs(layers.AutoContrast(), x)
    np.testing.assert_allclose(y.min(axis=(1, 2)), 0.0, atol=1e-3)
    np.testing.assert_allclose(y.max(axis=(1, 2)), 255.0, rtol=1e-5)
    assert "seed" not in layers.AutoContrast().get_config() and layers.AutoContrast().variables == []


def test_errors_name_the_layer(engine):
    with pytest.raises(ValueError, match="random_flip.*mode.*'diagonal'"):
        layers.RandomFlip("diagonal")
    with pytest.raises(ValueError, match="random_contrast.*factor.*\\[0.0, 1.0\\].*1.5"):
        layers.RandomContrast(1.5)
    with pytest.raises(ValueError, match="random_brightness.*value_range"):
        layers.RandomBrightness(0.1, value_range=5)
    with pytest.raises(ValueError, match="random_grayscale.*factor between 0 and 1"):
        layers.RandomGrayscale(2.0)
    with pytest.raises(ValueError, match="random_invert.*rank 3 or 4.*\\(5, 6\\)"):
        layers.RandomInvert()(ops.convert_to_tensor(_X[0, :, :, 0]))


@pytest.mark.parametrize("name,kwargs", [
    ("Solarization", {}), ("Solarization", {"value_range": [0, 1]}),
    ("RandomPosterization", {"factor": [3, 3]}), ("RandomPosterization", {"factor": [6, 6], "value_range": [0, 1]}),
])
def test_fixed_solarization_and_posterization_match_keras(engine, name, kwargs):
    x = _X[:4] * (255.0 if "value_range" not in kwargs else 1.0)
    assert_matches_keras(lambda: getattr(layers, name)(**kwargs), name, kwargs, x)


def test_posterization_levels_and_solarization_bounds(engine):
    y = layer_outputs(layers.RandomPosterization(4, seed=2), _X * 255)
    levels = [np.unique(image) for image in y]
    assert all(np.all(np.mod(lv, 16) == 0) or np.all(np.mod(lv, 32) == 0) or np.all(np.mod(lv, 64) == 0)
               or np.all(np.mod(lv, 128) == 0) for lv in levels)  # 1 to 3 bits kept per image
    assert layers.RandomPosterization(4).factor == [1, 4]
    s = layer_outputs(layers.Solarization(threshold_factor=(0.5, 0.5), seed=2), _X * 255)
    assert s.min() >= 0.0 and s.max() <= 255.0
    with pytest.raises(ValueError, match=r"solarization.*threshold_factor.*\[0, 1\].*1.5"):
        layers.Solarization(threshold_factor=1.5)
    with pytest.raises(ValueError, match=r"random_posterization.*factor.*\[1.0, 8.0\].*9"):
        layers.RandomPosterization(9)


def test_mix_up(engine):
    x = np.broadcast_to(np.arange(6, dtype="float32")[:, None, None, None], (6, 4, 4, 3)).copy()
    labels = np.eye(6, dtype="float32")
    converted = {"images": ops.convert_to_tensor(x), "labels": ops.convert_to_tensor(labels)}
    out = layers.MixUp(seed=1)(converted)
    images, mixed = ops.to_numpy(out["images"]), ops.to_numpy(out["labels"])
    value = images[:, 0, 0, 0]
    assert np.allclose(images, value[:, None, None, None], atol=1e-5)  # each image mixes two constant images
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, rtol=1e-5)  # labels mixed with the same weights
    np.testing.assert_allclose(mixed @ np.arange(6), value, atol=1e-4)  # ... and the same partners
    assert np.all((mixed >= -1e-6) & (mixed <= 1 + 1e-6))
    again = layers.MixUp(seed=1)(converted)
    np.testing.assert_array_equal(ops.to_numpy(again["images"]), images)
    layer = check_layer(lambda: layers.MixUp(seed=3), (2, 4, 4, 3), call_kwargs={"training": False}, **LAYER_TOL)
    np.testing.assert_array_equal(layer_outputs(layer, _X, training=False), _X)
    assert layer_outputs(layer, _X).shape == _X.shape
    assert layers.MixUp.from_config(layer.get_config()).alpha == 0.2
    with pytest.raises(ValueError, match="mix_up.*alpha.*positive.*0"):
        layers.MixUp(alpha=0)
