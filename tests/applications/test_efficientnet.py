"""EfficientNetB0-B7 and EfficientNetV2B0-B3/S/M/L against Keras 3. On every
engine B0 and V2B0 take weights Keras wrote (a ``.weights.h5`` by path, or
the legacy ``.h5`` of the ImageNet files through a local "imagenet"
download) and give Keras's outputs at 32x32, with the same layer names,
weight paths, shapes and parameter count; the bigger members' structure is
compared once. Preprocessing and the argument checks too."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

import polykeras
from polykeras import applications, ops
from polykeras.applications import efficientnet, efficientnet_v2, imagenet_utils

from ._reference import assert_matches_keras_structure, build, keras_application

PIXELS32 = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype("float32")


def _outputs(model, x):
    # predict runs the graph compiled (one XLA program on jax, far quicker than op-by-op there)
    return ops.convert_to_numpy(model.predict(x, verbose=0))


def _serve(module, variant, include_top, path, fname, local_server, monkeypatch):
    """Serve Keras's file ``path`` as the ImageNet file ``fname`` (URL and md5 patched in)."""
    url, folder = local_server
    data = open(path, "rb").read()
    (folder / fname).write_bytes(data)
    monkeypatch.setattr(module, "BASE_WEIGHTS_PATH", url)
    hashes = list(module.WEIGHTS_HASHES[variant])
    hashes[0 if include_top else 1] = hashlib.md5(data).hexdigest()
    monkeypatch.setitem(module.WEIGHTS_HASHES, variant, tuple(hashes))


def test_efficientnet_b0_keras_weights_file_by_path(engine, tmp_path_factory):
    kwargs = {"weights": None, "input_shape": (32, 32, 3), "classes": 7, "classifier_activation": None}
    path = str(tmp_path_factory.getbasetemp() / "efficientnetb0_keras.weights.h5")
    ref = keras_application("EfficientNetB0", kwargs, PIXELS32, files=(path,))
    image = polykeras.Input((32, 32, 3), name="input_layer")  # the name Keras gives its own input
    model = build("EfficientNetB0", **{**kwargs, "weights": path, "input_tensor": image})
    assert model.inputs[0] is image and model.name == "efficientnetb0"
    assert_matches_keras_structure(model, ref)
    np.testing.assert_allclose(_outputs(model, PIXELS32), ref["y"], atol=1e-4, rtol=1e-4)


def test_efficientnet_v2_b0_imagenet_weights_from_a_local_server(engine, tmp_path_factory, local_server,
                                                                 keras_home, monkeypatch):
    kwargs = {"weights": None, "include_top": False, "pooling": "max", "input_shape": (32, 32, 3)}
    legacy = str(tmp_path_factory.getbasetemp() / "efficientnetv2b0_keras_legacy.h5")
    ref = keras_application("EfficientNetV2B0", kwargs, PIXELS32, files=(legacy,))
    _serve(efficientnet_v2, "b0", False, legacy, "efficientnetv2-b0_notop.h5", local_server, monkeypatch)
    model = build("EfficientNetV2B0", **{**kwargs, "weights": "imagenet"})
    assert_matches_keras_structure(model, ref)
    assert model.layers[-1].name == "max_pool"
    np.testing.assert_allclose(_outputs(model, PIXELS32), ref["y"], atol=1e-4, rtol=1e-4)
    assert (keras_home / "models" / "efficientnetv2-b0_notop.h5").is_file()  # cached where Keras caches it


def test_efficientnet_imagenet_weights_add_keras_rescaling(tmp_path_factory, local_server, keras_home,
                                                           monkeypatch):
    # With ImageNet weights Keras's EfficientNet divides the normalised input by the square roots of the
    # channel deviations: one weightless layer more, so the published file still fits.
    kwargs = {"weights": None, "include_top": False, "input_shape": (32, 32, 3)}
    legacy = str(tmp_path_factory.getbasetemp() / "efficientnetb0_notop_keras_legacy.h5")
    ref = keras_application("EfficientNetB0", kwargs, PIXELS32, files=(legacy,))
    _serve(efficientnet, "b0", False, legacy, "efficientnetb0_notop.h5", local_server, monkeypatch)
    model = build("EfficientNetB0", **{**kwargs, "weights": "imagenet"})
    names = [layer.name for layer in model.layers]
    assert names == ref["layers"][:3] + ["rescaling_1"] + ref["layers"][3:]
    assert [w.path for w in model.weights] == ref["paths"] and model.count_params() == ref["count"]
    for ours, theirs in zip(model.get_weights(), ref["weights"], strict=True):
        np.testing.assert_array_equal(ours, theirs)
    scale = ops.convert_to_numpy(model.get_layer("rescaling_1")(np.ones((1, 1, 1, 3), "float32")))
    np.testing.assert_allclose(scale.ravel(), 1 / np.sqrt(efficientnet.IMAGENET_STDDEV_RGB), rtol=1e-6)


@pytest.mark.parametrize("name, kwargs", [
    # B2, B4, B6, V2B1 and V2B3 differ from these only in their width/depth coefficients, left out for time
    ("EfficientNetB1", {"include_top": False, "pooling": "avg"}),
    ("EfficientNetB3", {"include_top": False}),
    ("EfficientNetB5", {"include_top": False}),
    ("EfficientNetB7", {"input_shape": (32, 32, 3), "classes": 10}),
    ("EfficientNetV2B2", {"include_top": False, "include_preprocessing": False}),
    ("EfficientNetV2S", {"include_top": False}),
    ("EfficientNetV2M", {"include_top": False}),
    ("EfficientNetV2L", {"input_shape": (32, 32, 3), "classes": 10}),
])
def test_bigger_members_match_keras_structure(name, kwargs):
    # The layer graph is engine-independent code; these builds take seconds each, so they run once, on the
    # default engine, while B0 and V2B0 above compare numbers on every engine.
    kwargs = {"weights": None, "input_shape": (32, 32, 3), **kwargs}
    assert_matches_keras_structure(build(name, **kwargs), keras_application(name, kwargs))


def test_modules_and_names(engine):
    assert applications.EfficientNetB7 is efficientnet.EfficientNetB7
    assert applications.EfficientNetV2L is efficientnet_v2.EfficientNetV2L
    assert applications.efficientnet_v2 is efficientnet_v2
    assert {f"EfficientNetB{i}" for i in range(8)} <= set(dir(applications))


@pytest.mark.parametrize("module", [efficientnet, efficientnet_v2])
def test_preprocess_input_passes_through_and_decode_predictions(engine, module, local_server, keras_home,
                                                                monkeypatch):
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(3).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    family = module.__name__.rsplit(".", 1)[-1]
    np.testing.assert_array_equal(module.preprocess_input(x), getattr(keras.applications, family).preprocess_input(x))
    tensor = ops.convert_to_tensor(x)
    assert module.preprocess_input(tensor) is tensor
    url, folder = local_server
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    (folder / "imagenet_class_index.json").write_text(json.dumps(index))
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", None)
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_PATH", url + "imagenet_class_index.json")
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_HASH", None)
    preds = np.full((1, 1000), 0.1, "float32")
    preds[0, 3] = 0.7
    assert module.decode_predictions(preds, top=1) == [[("n00000003", "class_3", pytest.approx(0.7))]]


@pytest.mark.parametrize("name", ["EfficientNetB0", "EfficientNetB5", "EfficientNetV2B0", "EfficientNetV2M"])
def test_bad_arguments(engine, tmp_path, name):
    make = getattr(applications, name)
    with pytest.raises(ValueError, match=f"{name}: Input size must be at least 32x32.*16, 16, 3"):
        make(weights=None, include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match=f"{name}: .*`classes` should be 1000.*classes=10"):
        make(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match=f"{name}: the `weights` argument .*nowhere.h5"):
        make(weights=str(tmp_path / "nowhere.h5"))
    with pytest.raises(ValueError, match=f"{name}: .*static `input_shape`"):
        make(weights=None, input_shape=(None, None, 3))
