"""Xception against Keras 3: with its top (71x71, the smallest input,
7 classes) from a Keras-written ``.weights.h5`` on every engine,
preprocessing ("tf" mode) and argument checks."""

from __future__ import annotations

import numpy as np

from polykeras.applications import xception

from ._reference import check_bad_arguments, check_preprocessing, check_smallest_member

X71 = np.random.default_rng(0).uniform(-1, 1, (2, 71, 71, 3)).astype("float32")


def test_xception_matches_keras(engine, tmp_path_factory):
    kwargs = {"weights": None, "input_shape": (71, 71, 3), "classes": 7}
    model = check_smallest_member("Xception", kwargs, X71, tmp_path_factory.getbasetemp())
    assert model.name == "xception" and model.output_shape == (None, 7)


def test_preprocessing(engine):
    check_preprocessing(xception, "xception")


def test_bad_arguments(engine, tmp_path):
    check_bad_arguments("Xception", 71, tmp_path)
