"""RandomRotation, RandomTranslation and RandomZoom on every engine: Keras
3's numbers for fixed transforms (a factor ``(a, a)``), identity at
inference and for a zero factor, a quarter turn is ``rot90``, integer shifts
move pixels, determinism by seed, configs and errors."""

from __future__ import annotations

import numpy as np
import pytest

from conformance.tolerances import tolerance
from polykeras import layers

from .helpers import check_layer, layer_outputs
from .keras_reference import assert_matches_keras

LAYER_TOL = dict(zip(("rtol", "atol"), tolerance("layer")))
_X = np.random.default_rng(0).random((3, 7, 9, 3)).astype("float32")

FIXED = [
    ("RandomRotation", {"factor": [0.1, 0.1]}),
    ("RandomRotation", {"factor": [-0.3, -0.3], "fill_mode": "constant", "interpolation": "nearest",
                        "fill_value": 0.5}),
    ("RandomTranslation", {"height_factor": [0.2, 0.2], "width_factor": [-0.3, -0.3]}),
    ("RandomTranslation", {"height_factor": [-0.1, -0.1], "width_factor": [0.25, 0.25], "fill_mode": "nearest"}),
    ("RandomZoom", {"height_factor": [0.3, 0.3]}),
    ("RandomZoom", {"height_factor": [-0.4, -0.4], "width_factor": [0.2, 0.2], "fill_mode": "wrap"}),
    ("RandomZoom", {"height_factor": [0.2, 0.2], "fill_mode": "constant", "data_format": "channels_first"}),
]


@pytest.mark.parametrize("name,kwargs", FIXED, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FIXED)])
def test_fixed_transforms_match_keras(engine, name, kwargs):
    x = _X if kwargs.get("data_format") != "channels_first" else np.ascontiguousarray(_X.transpose(0, 3, 1, 2))
    assert_matches_keras(lambda: getattr(layers, name)(**kwargs), name, kwargs, x)


MAKERS = {
    "RandomRotation": lambda seed=1: layers.RandomRotation(0.2, seed=seed),
    "RandomTranslation": lambda seed=1: layers.RandomTranslation(0.2, 0.3, seed=seed),
    "RandomZoom": lambda seed=1: layers.RandomZoom(0.3, seed=seed),
}


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_inference_identity_determinism_and_config(engine, name):
    make = MAKERS[name]
    layer = check_layer(make, (2, 7, 9, 3), call_kwargs={"training": False}, **LAYER_TOL)
    np.testing.assert_array_equal(layer_outputs(layer, _X, training=False), _X)
    first = layer_outputs(make(seed=4), _X)
    np.testing.assert_array_equal(first, layer_outputs(make(seed=4), _X))
    assert not np.allclose(first, _X)
    # reflect filling keeps values inside the input's range
    assert first.min() >= _X.min() - 1e-5 and first.max() <= _X.max() + 1e-5
    assert layer_outputs(make(), _X[0]).shape == _X[0].shape
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() | {"name": config["name"]} == config


def test_zero_factors_and_exact_moves(engine):
    for layer in (layers.RandomRotation(0.0), layers.RandomTranslation(0.0, 0.0), layers.RandomZoom(0.0)):
        np.testing.assert_allclose(layer_outputs(layer, _X), _X, atol=1e-6)
    square = _X[:, :7, :7]
    quarter = layer_outputs(layers.RandomRotation((0.25, 0.25)), square)
    np.testing.assert_allclose(quarter, np.rot90(square, k=1, axes=(1, 2)), atol=1e-5)  # counter-clockwise
    moved = layer_outputs(layers.RandomTranslation((2 / 7, 2 / 7), (0.0, 0.0), fill_mode="constant"), _X)
    np.testing.assert_allclose(moved[:, 2:], _X[:, :-2], atol=1e-5)
    np.testing.assert_array_equal(moved[:, :2], 0.0)


def test_errors_name_the_layer(engine):
    with pytest.raises(ValueError, match="random_rotation.*factor.*\\(-1, 1\\].*1.5"):
        layers.RandomRotation(1.5)
    with pytest.raises(ValueError, match="random_zoom.*fill_mode.*'mirror'"):
        layers.RandomZoom(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match="random_translation.*interpolation.*'bicubic'"):
        layers.RandomTranslation(0.1, 0.1, interpolation="bicubic")
    with pytest.raises(ValueError, match="random_translation.*width_factor"):
        layers.RandomTranslation(0.1, [0.1, 0.2, 0.3])


def test_random_crop(engine):
    layer = layers.RandomCrop(3, 4, seed=5)
    windows = {(i, j) for i in range(5) for j in range(6)}
    seen = set()
    for _ in range(6):
        y = layer_outputs(layer, _X)
        found = [(i, j) for i, j in windows if np.array_equal(y, _X[:, i:i + 3, j:j + 4])]
        assert len(found) >= 1, "the output is not a 3x4 window of the input"
        seen.add(found[0])
    assert len(seen) > 1, "six calls cropped the same window"
    np.testing.assert_array_equal(layer_outputs(layers.RandomCrop(3, 4, seed=9), _X),
                                  layer_outputs(layers.RandomCrop(3, 4, seed=9), _X))
    np.testing.assert_array_equal(layer_outputs(layer, _X, training=False), _X)  # Keras 3.15: identity
    assert layer.compute_output_shape((None, 7, 9, 3)) == (None, 3, 4, 3)
    assert layer_outputs(layer, _X[0]).shape == (3, 4, 3)
    cf = layer_outputs(layers.RandomCrop(3, 4, seed=5, data_format="channels_first"),
                       np.ascontiguousarray(_X.transpose(0, 3, 1, 2)))
    assert cf.shape == (3, 3, 3, 4)
    # images not larger than the target: centred aspect-ratio window, resized (deterministic, as Keras 3)
    check_layer(lambda: layers.RandomCrop(8, 9), (2, 7, 9, 3), **LAYER_TOL)
    assert_matches_keras(lambda: layers.RandomCrop(8, 9), "RandomCrop", {"height": 8, "width": 9}, _X)
    assert_matches_keras(lambda: layers.RandomCrop(7, 5), "RandomCrop", {"height": 7, "width": 5}, _X)
    with pytest.raises(ValueError, match="random_crop.*height.*positive int.*0"):
        layers.RandomCrop(0, 4)
