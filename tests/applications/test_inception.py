"""InceptionV3 and InceptionResNetV2 against Keras 3 at 75x75 (their
smallest input) on every engine: InceptionV3 headless from a Keras-written
legacy ``.h5`` through a local "imagenet" download, InceptionResNetV2 with
its top from a ``.weights.h5``; preprocessing ("tf" mode) and argument
checks."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras
from polykeras.applications import inception_resnet_v2, inception_v3

from ._reference import check_bad_arguments, check_preprocessing, check_smallest_member

X75 = np.random.default_rng(0).uniform(-1, 1, (2, 75, 75, 3)).astype("float32")


def test_inception_v3_imagenet_weights_from_a_local_server(engine, tmp_path_factory, local_server, keras_home,
                                                           monkeypatch):
    kwargs = {"weights": None, "include_top": False, "pooling": "max", "input_shape": (75, 75, 3)}
    model = check_smallest_member("InceptionV3", kwargs, X75, tmp_path_factory.getbasetemp(),
                                  imagenet_key="inception_v3", local_server=local_server, monkeypatch=monkeypatch)
    assert model.output_shape == (None, 2048)


def test_inception_resnet_v2_matches_keras(engine, tmp_path_factory):
    kwargs = {"weights": None, "input_shape": (75, 75, 3), "classes": 7}
    check_smallest_member("InceptionResNetV2", kwargs, X75, tmp_path_factory.getbasetemp())


def test_custom_scale_layer(engine):
    layer = inception_resnet_v2.CustomScaleLayer(0.5)
    out = layer([np.ones((1, 2), "float32"), np.full((1, 2), 4.0, "float32")])
    np.testing.assert_allclose(polykeras.ops.convert_to_numpy(out), [[3.0, 3.0]])
    assert layer.get_config()["scale"] == 0.5
    with pytest.raises(ValueError, match="inception_resnet_block: unknown Inception-ResNet block type.*block9"):
        inception_resnet_v2.inception_resnet_block(polykeras.Input((8, 8, 32)), 0.1, "block9", 1)


@pytest.mark.parametrize("module", [inception_v3, inception_resnet_v2])
def test_preprocessing(engine, module):
    check_preprocessing(module, module.__name__.rsplit(".", 1)[-1])


@pytest.mark.parametrize("name", ["InceptionV3", "InceptionResNetV2"])
def test_bad_arguments(engine, tmp_path, name):
    check_bad_arguments(name, 75, tmp_path)
