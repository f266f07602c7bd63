"""polykeras.utils offers keras.utils' names with Keras' signatures."""

from __future__ import annotations

import inspect

import pytest

from polykeras import utils

from ._compare import params

#: keras.utils names polykeras does not offer, and why.
NOT_OFFERED = {
    "FeatureSpace": "a preprocessing model of its own (built on tf.data in Keras); not part of this port",
    "bounding_boxes": "the KerasCV-style box converters belong with the image preprocessing layers",
    "legacy": "Keras 2's serialization format; polykeras reads Keras 3 configs",
}


@pytest.fixture(scope="module")
def keras_utils():
    return pytest.importorskip("keras").utils


def test_every_keras_name_is_offered(keras_utils):
    names = {n for n in dir(keras_utils) if not n.startswith("_")}
    missing = sorted(names - set(dir(utils)) - set(utils.__all__) - set(NOT_OFFERED))
    assert missing == []


def test_signatures_match_keras(keras_utils):
    differing = []
    for name in sorted(n for n in dir(keras_utils) if not n.startswith("_") and n not in NOT_OFFERED):
        theirs, ours = getattr(keras_utils, name), getattr(utils, name)
        if inspect.ismodule(theirs) or not callable(theirs):
            continue
        if params(ours) != params(theirs):
            differing.append((name, params(ours), params(theirs)))
    assert differing == []
