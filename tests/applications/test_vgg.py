"""VGG16 and VGG19 against Keras 3: VGG16 with the top (32x32, 7 classes)
from a Keras-written ``.weights.h5`` on every engine, VGG19's structure
once, the headless pooling options, preprocessing and argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from polykeras.applications import vgg16, vgg19

from ._reference import (
    assert_matches_keras_structure, build, check_bad_arguments, check_preprocessing, check_smallest_member,
    keras_application,
)

X32 = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")


def test_vgg16_matches_keras(engine, tmp_path_factory):
    kwargs = {"weights": None, "input_shape": (32, 32, 3), "classes": 7}
    check_smallest_member("VGG16", kwargs, X32, tmp_path_factory.getbasetemp())


def test_vgg16_headless_with_pooling_from_imagenet_download(engine, tmp_path_factory, local_server, keras_home,
                                                            monkeypatch):
    kwargs = {"weights": None, "include_top": False, "pooling": "max", "input_shape": (32, 32, 3)}
    model = check_smallest_member("VGG16", kwargs, X32, tmp_path_factory.getbasetemp(), imagenet_key="vgg16",
                                  local_server=local_server, monkeypatch=monkeypatch)
    assert model.output_shape == (None, 512)


def test_vgg19_matches_keras_structure():
    # Engine-independent layer graph, built once (the VGG16 tests compare numbers on every engine).
    kwargs = {"weights": None, "include_top": True, "input_shape": (32, 32, 3), "classes": 3}
    assert_matches_keras_structure(build("VGG19", **kwargs), keras_application("VGG19", kwargs))


@pytest.mark.parametrize("module", [vgg16, vgg19])
def test_preprocessing(engine, module):
    check_preprocessing(module, module.__name__.rsplit(".", 1)[-1])


@pytest.mark.parametrize("name", ["VGG16", "VGG19"])
def test_bad_arguments(engine, tmp_path, name):
    check_bad_arguments(name, 32, tmp_path)
