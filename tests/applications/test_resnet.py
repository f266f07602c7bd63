"""ResNet50/101/152 and ResNet50V2/101V2/152V2 against Keras 3. On every
engine the smallest member of each family loads weights Keras wrote (the
legacy ``.h5`` of the ImageNet files through a local "imagenet" download;
a ``.weights.h5`` by path) and gives Keras's outputs at 32x32 with the same
layer names, weight paths, shapes and parameter count; the big members'
structure is compared once. Preprocessing and the argument checks too."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras
from polykeras import applications, ops
from polykeras.applications import _weights, imagenet_utils, resnet, resnet50, resnet_v2

from ._reference import assert_matches_keras_structure, build, keras_application, serve_as_imagenet

X32 = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")


def test_resnet50_imagenet_weights_from_a_local_server(engine, tmp_path_factory, local_server, keras_home,
                                                       monkeypatch):
    kwargs = {"weights": None, "include_top": False, "pooling": "max", "input_shape": (32, 32, 3)}
    legacy = str(tmp_path_factory.getbasetemp() / "resnet50_keras_legacy.h5")
    ref = keras_application("ResNet50", kwargs, X32, files=(legacy,))
    fname = serve_as_imagenet("resnet50", False, legacy, local_server, monkeypatch)
    model = build("ResNet50", **{**kwargs, "weights": "imagenet"})
    assert_matches_keras_structure(model, ref)
    assert model.layers[-1].name == "max_pool"
    np.testing.assert_allclose(model.predict(X32, verbose=0), ref["y"], atol=1e-4, rtol=1e-4)
    cached = keras_home / "models" / fname
    assert cached.is_file()  # where Keras caches it
    (local_server[1] / fname).unlink()
    model.set_weights([np.zeros_like(w) for w in ref["weights"]])
    _weights.load(model, "imagenet", "resnet50", include_top=False)  # a cache hit: the server lacks it now
    np.testing.assert_allclose(model.predict(X32, verbose=0), ref["y"], atol=1e-4, rtol=1e-4)


def test_resnet50v2_keras_weights_file_by_path(engine, tmp_path_factory):
    kwargs = {"weights": None, "input_shape": (32, 32, 3), "classes": 7}
    path = str(tmp_path_factory.getbasetemp() / "resnet50v2_keras.weights.h5")
    ref = keras_application("ResNet50V2", kwargs, X32, files=(path,))
    image = polykeras.Input((32, 32, 3), name="input_layer")  # the name Keras gives its own input
    model = build("ResNet50V2", **{**kwargs, "weights": path, "input_tensor": image})
    assert model.inputs[0] is image
    assert_matches_keras_structure(model, ref)
    np.testing.assert_allclose(model.predict(X32, verbose=0), ref["y"], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", ["ResNet101", "ResNet152", "ResNet101V2", "ResNet152V2"])
def test_big_members_match_keras_structure(name):
    # The layer graph is engine-independent code; these builds take seconds each, so they run once, on the
    # default engine, while the smallest members above compare numbers on every engine.
    kwargs = {"weights": None, "include_top": False}
    assert_matches_keras_structure(build(name, **kwargs), keras_application(name, kwargs))


def test_modules_and_names(engine):
    assert resnet50.ResNet50 is resnet.ResNet50 and applications.ResNet152V2 is resnet_v2.ResNet152V2
    assert applications.resnet is resnet and "ResNet101" in dir(applications)


@pytest.mark.parametrize("module", [resnet, resnet_v2, resnet50])
def test_preprocess_input_and_decode_predictions_match_keras(engine, module, local_server, keras_home,
                                                             monkeypatch):
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(3).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    family = module.__name__.rsplit(".", 1)[-1]
    expected = getattr(keras.applications, family).preprocess_input(x.copy())
    np.testing.assert_allclose(module.preprocess_input(x.copy()), expected, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(module.preprocess_input(ops.convert_to_tensor(x))), expected,
                               rtol=1e-6, atol=1e-5)
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", {str(i): [f"n{i}", f"c{i}"] for i in range(1000)})
    preds = np.eye(1000, dtype="float32")[[5, 9]]
    assert [row[0][:2] for row in module.decode_predictions(preds, top=2)] == [("n5", "c5"), ("n9", "c9")]


@pytest.mark.parametrize("name", ["ResNet50", "ResNet101V2"])
def test_bad_arguments(engine, tmp_path, name):
    make = getattr(applications, name)
    with pytest.raises(ValueError, match=f"{name}: Input size must be at least 32x32.*16, 16, 3"):
        make(weights=None, include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match=f"{name}: .*`classes` should be 1000.*classes=10"):
        make(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match=f"{name}: the `weights` argument .*nowhere.h5"):
        make(weights=str(tmp_path / "nowhere.h5"))
    (tmp_path / "w.h5").write_bytes(b"")
    with pytest.raises(ValueError, match=f"{name}: Only `None` and `softmax`.*relu"):
        make(weights=str(tmp_path / "w.h5"), classifier_activation="relu")
    with pytest.raises(ValueError, match=f"{name}: .*static `input_shape`"):
        make(weights=None, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match=f"{name}: .*should be \\(224, 224, 3\\)"):
        make(weights="imagenet", input_shape=(64, 64, 3))
