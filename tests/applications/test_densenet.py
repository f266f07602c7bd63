"""DenseNet121/169/201 against Keras 3: DenseNet121 headless (32x32,
average pooling) from a Keras-written legacy ``.h5`` through a local
"imagenet" download on every engine, the bigger members' structure once,
preprocessing ("torch" mode) and argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from polykeras.applications import densenet

from ._reference import (
    assert_matches_keras_structure, build, check_bad_arguments, check_preprocessing, check_smallest_member,
    keras_application,
)

X32 = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")


def test_densenet121_imagenet_weights_from_a_local_server(engine, tmp_path_factory, local_server, keras_home,
                                                          monkeypatch):
    kwargs = {"weights": None, "include_top": False, "pooling": "avg", "input_shape": (32, 32, 3)}
    model = check_smallest_member("DenseNet121", kwargs, X32, tmp_path_factory.getbasetemp(),
                                  imagenet_key="densenet121", local_server=local_server, monkeypatch=monkeypatch)
    assert model.output_shape == (None, 1024) and model.layers[-1].name == "avg_pool"


@pytest.mark.parametrize("name", ["DenseNet121", "DenseNet169", "DenseNet201"])
def test_members_match_keras_structure(name):
    # Engine-independent layer graphs, built once; DenseNet121 with its top here, headless above.
    kwargs = {"weights": None, "include_top": name == "DenseNet121", "input_shape": (32, 32, 3)}
    assert_matches_keras_structure(build(name, **kwargs), keras_application(name, kwargs))


def test_preprocessing(engine):
    check_preprocessing(densenet, "densenet")


@pytest.mark.parametrize("name", ["DenseNet121", "DenseNet201"])
def test_bad_arguments(engine, tmp_path, name):
    check_bad_arguments(name, 32, tmp_path)
