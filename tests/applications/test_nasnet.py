"""NASNetMobile and NASNetLarge against Keras 3. On every engine
NASNetMobile takes the legacy ``.h5`` weights Keras wrote through a local
"imagenet" download (cached under Keras's own file name, fetched from its
published one) and gives Keras's outputs at 32x32, with the same layer
names, weight paths, shapes and parameter count; NASNetLarge's structure is
compared once. Preprocessing and the argument checks too."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from polykeras import applications, config, ops
from polykeras.applications import imagenet_utils, nasnet

from ._reference import assert_matches_keras_structure, build, keras_application

X32 = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")


def test_nasnet_mobile_imagenet_weights_from_a_local_server(engine, tmp_path_factory, local_server, keras_home,
                                                            monkeypatch):
    kwargs = {"weights": None, "include_top": False, "pooling": "avg", "input_shape": (32, 32, 3)}
    legacy = str(tmp_path_factory.getbasetemp() / "nasnet_mobile_keras_legacy.h5")
    ref = keras_application("NASNetMobile", kwargs, X32, files=(legacy,))
    url, folder = local_server
    data = open(legacy, "rb").read()
    (folder / "NASNet-mobile-no-top.h5").write_bytes(data)  # the published name
    monkeypatch.setattr(nasnet, "BASE_WEIGHTS_PATH", url)
    fname, origin, _ = nasnet.WEIGHTS[224][False]
    monkeypatch.setitem(nasnet.WEIGHTS[224], False, (fname, origin, hashlib.md5(data).hexdigest()))
    model = build("NASNetMobile", **{**kwargs, "weights": "imagenet"})
    assert_matches_keras_structure(model, ref)
    y = ops.convert_to_numpy(model.predict(X32, verbose=0))  # compiled: one XLA program on jax
    np.testing.assert_allclose(y, ref["y"], atol=1e-4, rtol=1e-4)
    assert (keras_home / "models" / "nasnet_mobile_no_top.h5").is_file()  # cached under Keras's name


def test_nasnet_large_matches_keras_structure():
    # Large builds take seconds (Keras's too): once, on the default engine.
    kwargs = {"weights": None, "input_shape": (32, 32, 3), "classes": 10}
    assert_matches_keras_structure(build("NASNetLarge", **kwargs), keras_application("NASNetLarge", kwargs))


def test_modules_and_names(engine):
    assert applications.NASNetLarge is nasnet.NASNetLarge and applications.nasnet is nasnet
    assert "NASNetMobile" in dir(applications)


def test_preprocess_input_and_decode_predictions_match_keras(engine, local_server, keras_home, monkeypatch):
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(3).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    expected = keras.applications.nasnet.preprocess_input(x.copy())
    np.testing.assert_allclose(nasnet.preprocess_input(x.copy()), expected, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(nasnet.preprocess_input(ops.convert_to_tensor(x))), expected,
                               rtol=1e-6, atol=1e-5)
    url, folder = local_server
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    (folder / "imagenet_class_index.json").write_text(json.dumps(index))
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", None)
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_PATH", url + "imagenet_class_index.json")
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_HASH", None)
    preds = np.zeros((1, 1000), "float32")
    preds[0, [10, 20]] = [0.25, 0.5]
    assert [entry[:2] for entry in nasnet.decode_predictions(preds, top=2)[0]] == [("n00000020", "class_20"),
                                                                                    ("n00000010", "class_10")]


@pytest.mark.parametrize("name", ["NASNetMobile", "NASNetLarge"])
def test_bad_arguments(engine, tmp_path, name):
    make = getattr(applications, name)
    with pytest.raises(ValueError, match=f"{name}: Input size must be at least 32x32.*16, 16, 3"):
        make(weights=None, include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match=f"{name}: .*`classes` should be 1000.*classes=10"):
        make(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match=f"{name}: the `weights` argument .*nowhere.h5"):
        make(weights=str(tmp_path / "nowhere.h5"))
    with pytest.raises(ValueError, match=f"{name}: .*must be static \\(no None entries\\)"):
        make(weights="imagenet", include_top=False, input_shape=(None, None, 3))


def test_channels_first_is_refused_by_name(engine):
    previous = config.image_data_format()
    config.set_image_data_format("channels_first")
    try:
        with pytest.raises(ValueError, match="NASNetMobile does not support the `channels_first`"):
            nasnet.NASNetMobile(weights=None)
    finally:
        config.set_image_data_format(previous)
