"""ConvNeXtTiny/Small/Base/Large/XLarge against Keras 3: ConvNeXtTiny
headless from a Keras-written legacy ``.h5`` through a local "imagenet"
download (its stem and downsampling blocks are nested Sequential models)
and with its top from a ``.weights.h5``, on every engine at 32x32; the
bigger members' structure once; preprocessing and argument checks."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras
from polykeras.applications import convnext

from ._reference import (
    assert_matches_keras_structure, build, check_preprocessing, check_smallest_member, keras_application,
)

X32 = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")


def test_convnext_tiny_imagenet_weights_from_a_local_server(engine, tmp_path_factory, local_server, keras_home,
                                                            monkeypatch):
    kwargs = {"weights": None, "include_top": False, "pooling": "avg", "input_shape": (32, 32, 3)}
    model = check_smallest_member("ConvNeXtTiny", kwargs, X32, tmp_path_factory.getbasetemp(),
                                  imagenet_key="convnext_tiny", local_server=local_server, monkeypatch=monkeypatch)
    assert model.output_shape == (None, 768)


def test_convnext_tiny_with_top_from_a_keras_weights_file(engine, tmp_path_factory):
    kwargs = {"weights": None, "input_shape": (32, 32, 3), "classes": 7, "include_preprocessing": False}
    check_smallest_member("ConvNeXtTiny", kwargs, X32 / 255.0, tmp_path_factory.getbasetemp())


@pytest.mark.parametrize("name", ["ConvNeXtSmall", "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtXLarge"])
def test_bigger_members_match_keras_structure(name):
    # Engine-independent layer graphs (50M to 350M parameters): built once, headless.
    kwargs = {"weights": None, "include_top": False, "input_shape": (32, 32, 3)}
    assert_matches_keras_structure(build(name, **kwargs), keras_application(name, kwargs))


def test_layer_scale_and_stochastic_depth(engine):
    x = np.ones((4, 2, 2, 3), dtype="float32")
    scale = convnext.LayerScale(0.5, 3)
    np.testing.assert_allclose(polykeras.ops.convert_to_numpy(scale(x)), 0.5 * x)
    assert [w.shape for w in scale.weights] == [(3,)]
    drop = convnext.StochasticDepth(0.5)
    np.testing.assert_array_equal(polykeras.ops.convert_to_numpy(drop(x)), x)
    kept = polykeras.ops.convert_to_numpy(drop(x, training=True))
    assert set(np.unique(kept)) <= {0.0, 2.0}  # whole samples dropped, the kept ones scaled by 1 / keep
    assert convnext.StochasticDepth.from_config(drop.get_config()).drop_path_rate == 0.5


def test_preprocessing(engine):
    check_preprocessing(convnext, "convnext")


def test_bad_arguments(engine, tmp_path):
    with pytest.raises(ValueError, match="ConvNeXtTiny: Input size must be at least 32x32"):
        convnext.ConvNeXtTiny(weights=None, include_top=False, input_shape=(31, 31, 3))
    with pytest.raises(ValueError, match="ConvNeXtSmall: .*`classes` should be 1000.*classes=10"):
        convnext.ConvNeXtSmall(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="ConvNeXtBase: the `weights` argument .*nowhere.h5"):
        convnext.ConvNeXtBase(weights=str(tmp_path / "nowhere.h5"))
    with pytest.raises(ValueError, match="ConvNeXtTiny: Only `None` and `softmax`.*relu"):
        convnext.ConvNeXtTiny(weights="imagenet", classifier_activation="relu")
    with pytest.raises(ValueError, match='ConvNeXtTiny: model name "tiny" does not match weights variant'):
        convnext.ConvNeXtTiny(weights="imagenet", name="tiny")
    with pytest.raises(ValueError, match="ConvNeXtTiny: the architecture does not match"):
        convnext.ConvNeXt([1, 1, 1, 1], [8, 8, 8, 8], weights="imagenet", weights_name="convnext_tiny",
                          name="convnext_tiny")
    with _channels_first():
        with pytest.raises(ValueError, match="ConvNeXtTiny: ConvNeXt does not support the `channels_first`"):
            convnext.ConvNeXtTiny(weights=None)


class _channels_first:  # noqa: N801 (a context manager, named as one)
    def __enter__(self) -> None:
        self.saved = polykeras.config.image_data_format()
        polykeras.config.set_image_data_format("channels_first")

    def __exit__(self, *exc: object) -> None:
        polykeras.config.set_image_data_format(self.saved)
