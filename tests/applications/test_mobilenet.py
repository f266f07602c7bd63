"""MobileNet, MobileNetV2, MobileNetV3Small/Large against Keras 3. On every
engine the smallest member of each family takes weights Keras wrote (the
legacy ``.h5`` of the ImageNet files through a local "imagenet" download,
or a ``.weights.h5`` by path) and gives Keras's outputs at 32x32, with the
same layer names, weight paths, shapes and parameter count; the bigger
members' structure is compared once. Preprocessing and the argument checks
too."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

import polykeras
from polykeras import applications, ops
from polykeras.applications import imagenet_utils, mobilenet, mobilenet_v2, mobilenet_v3

from ._reference import assert_matches_keras_structure, build, keras_application

X32 = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
PIXELS32 = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype("float32")


def _outputs(model, x):
    # predict runs the graph compiled (one XLA program on jax, far quicker than op-by-op there)
    return ops.convert_to_numpy(model.predict(x, verbose=0))


def _serve(path, fname, local_server):
    url, folder = local_server
    data = open(path, "rb").read()
    (folder / fname).write_bytes(data)
    return url, hashlib.md5(data).hexdigest()


def test_mobilenet_imagenet_weights_from_a_local_server(engine, tmp_path_factory, local_server, keras_home,
                                                        monkeypatch):
    kwargs = {"weights": None, "include_top": False, "alpha": 0.25, "input_shape": (32, 32, 3)}
    legacy = str(tmp_path_factory.getbasetemp() / "mobilenet_keras_legacy.h5")
    ref = keras_application("MobileNet", kwargs, X32, files=(legacy,))
    # 32x32 has no weights of its own: Keras warns and loads the 224x224 ones, which fit every size
    fname = "mobilenet_2_5_224_tf_no_top.h5"
    url, _ = _serve(legacy, fname, local_server)
    monkeypatch.setattr(mobilenet, "BASE_WEIGHT_PATH", url)
    with pytest.warns(UserWarning, match="MobileNet: .*Weights for input shape \\(224, 224\\)"):
        model = build("MobileNet", **{**kwargs, "weights": "imagenet"})
    assert model.name == "mobilenet_0.25_224"
    assert_matches_keras_structure(model, ref)
    np.testing.assert_allclose(_outputs(model, X32), ref["y"], atol=1e-4, rtol=1e-4)
    assert (keras_home / "models" / fname).is_file()  # cached where Keras caches it


def test_mobilenet_v2_keras_weights_file_by_path(engine, tmp_path_factory):
    kwargs = {"weights": None, "alpha": 0.35, "input_shape": (32, 32, 3), "classes": 7,
              "classifier_activation": None}
    path = str(tmp_path_factory.getbasetemp() / "mobilenet_v2_keras.weights.h5")
    ref = keras_application("MobileNetV2", kwargs, X32, files=(path,))
    image = polykeras.Input((32, 32, 3), name="input_layer")  # the name Keras gives its own input
    model = build("MobileNetV2", **{**kwargs, "weights": path, "input_tensor": image})
    assert model.inputs[0] is image and model.name == "mobilenetv2_0.35_32"
    assert_matches_keras_structure(model, ref)
    np.testing.assert_allclose(_outputs(model, X32), ref["y"], atol=1e-4, rtol=1e-4)


def test_mobilenet_v3_small_imagenet_weights_from_a_local_server(engine, tmp_path_factory, local_server,
                                                                 keras_home, monkeypatch):
    kwargs = {"weights": None, "include_top": False, "pooling": "avg", "input_shape": (32, 32, 3)}
    legacy = str(tmp_path_factory.getbasetemp() / "mobilenet_v3_small_keras_legacy.h5")
    ref = keras_application("MobileNetV3Small", kwargs, PIXELS32, files=(legacy,))
    fname = "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"
    url, md5 = _serve(legacy, fname, local_server)
    monkeypatch.setattr(mobilenet_v3, "BASE_WEIGHT_PATH", url)
    top_hash = mobilenet_v3.WEIGHTS_HASHES["small_224_1.0_float"][0]
    monkeypatch.setitem(mobilenet_v3.WEIGHTS_HASHES, "small_224_1.0_float", (top_hash, md5))
    with pytest.warns(UserWarning, match="MobileNetV3Small: .*rows` is not 224"):
        model = build("MobileNetV3Small", **{**kwargs, "weights": "imagenet"})
    assert_matches_keras_structure(model, ref)
    assert model.layers[-1].name == "avg_pool"
    np.testing.assert_allclose(_outputs(model, PIXELS32), ref["y"], atol=1e-4, rtol=1e-4)
    # a file whose hash does not match is refused, and nothing is kept
    monkeypatch.setitem(mobilenet_v3.WEIGHTS_HASHES, "small_224_1.0_float", (top_hash, "0" * 32))
    (keras_home / "models" / fname).unlink()
    with pytest.raises(ValueError, match="hash does not match"), pytest.warns(UserWarning, match="224"):
        mobilenet_v3.MobileNetV3Small(**{**kwargs, "weights": "imagenet"})
    assert not (keras_home / "models" / fname).exists()


@pytest.mark.parametrize("name, kwargs", [
    ("MobileNet", {"alpha": 1.0, "depth_multiplier": 2, "input_shape": (64, 64, 3), "classes": 10}),
    ("MobileNetV2", {"alpha": 1.4, "include_top": False, "input_shape": (96, 96, 3)}),
    ("MobileNetV3Small", {"alpha": 0.75, "minimalistic": True, "include_preprocessing": False}),
    ("MobileNetV3Large", {"input_shape": (64, 64, 3)}),
    ("MobileNetV3Large", {"alpha": 1.25, "minimalistic": True, "include_top": False, "pooling": "max"}),
])
def test_other_members_match_keras_structure(name, kwargs):
    # The layer graph is engine-independent code; these builds take seconds each, so they run once, on the
    # default engine, while the smallest members above compare numbers on every engine.
    kwargs = {"weights": None, **kwargs}
    assert_matches_keras_structure(build(name, **kwargs), keras_application(name, kwargs))


def test_modules_and_names(engine):
    assert applications.MobileNet is mobilenet.MobileNet and applications.mobilenet_v2 is mobilenet_v2
    assert applications.MobileNetV3Large is mobilenet_v3.MobileNetV3Large
    assert {"MobileNetV3Small", "mobilenet_v3"} <= set(dir(applications))


@pytest.mark.parametrize("module", [mobilenet, mobilenet_v2, mobilenet_v3])
def test_preprocess_input_and_decode_predictions_match_keras(engine, module, local_server, keras_home,
                                                             monkeypatch):
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(3).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    family = module.__name__.rsplit(".", 1)[-1]
    expected = getattr(keras.applications, family).preprocess_input(x.copy())
    np.testing.assert_allclose(module.preprocess_input(x.copy()), expected, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(module.preprocess_input(ops.convert_to_tensor(x))), expected,
                               rtol=1e-6, atol=1e-5)
    # the class index comes through get_file, here from the local server
    url, folder = local_server
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    (folder / "imagenet_class_index.json").write_text(__import__("json").dumps(index))
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", None)
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_PATH", url + "imagenet_class_index.json")
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_HASH", None)
    preds = np.full((2, 1000), 0.1, "float32")
    preds[0, 7], preds[1, 998] = 0.9, 0.8
    decoded = module.decode_predictions(ops.convert_to_tensor(preds), top=2)
    assert [row[0][:2] for row in decoded] == [("n00000007", "class_7"), ("n00000998", "class_998")]
    assert len(decoded[0]) == 2 and (keras_home / "models" / "imagenet_class_index.json").is_file()


@pytest.mark.parametrize("name", ["MobileNet", "MobileNetV2", "MobileNetV3Small", "MobileNetV3Large"])
def test_bad_arguments(engine, tmp_path, name):
    make = getattr(applications, name)
    with pytest.raises(ValueError, match=f"{name}: Input size must be at least 32x32.*16, 16, 3"):
        make(weights=None, include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match=f"{name}: .*`classes` should be 1000.*classes=10"):
        make(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match=f"{name}: the `weights` argument .*nowhere.h5"):
        make(weights=str(tmp_path / "nowhere.h5"))
    with pytest.raises(ValueError, match=f"{name}: if imagenet weights are being loaded, alpha .*0.3"):
        make(weights="imagenet", alpha=0.3, include_top=False)


def test_family_specific_argument_checks(engine):
    with pytest.raises(ValueError, match="MobileNet: .*depth multiplier must be 1.*depth_multiplier=2"):
        mobilenet.MobileNet(weights="imagenet", depth_multiplier=2)
    with pytest.raises(ValueError, match="MobileNetV3Large: .*`1.0` for minimalistic only"):
        mobilenet_v3.MobileNetV3Large(weights="imagenet", alpha=0.75, minimalistic=True)
    with pytest.raises(ValueError, match="MobileNetV2: .*should be \\(224, 224, 3\\)"):
        mobilenet_v2.MobileNetV2(weights="imagenet", input_shape=(64, 64, 3))
    with pytest.raises(ValueError, match="MobileNetV2: input_tensor.shape\\[2\\] must equal input_shape\\[1\\]"):
        mobilenet_v2.MobileNetV2(weights=None, input_tensor=polykeras.Input((64, 64, 3)), input_shape=(96, 96, 3))
    with pytest.raises(ValueError, match="MobileNetV3Small: input_shape\\[1\\] must equal input_tensor.shape\\[2\\]"):
        mobilenet_v3.MobileNetV3Small(weights=None, input_tensor=polykeras.Input((64, 64, 3)),
                                      input_shape=(96, 96, 3))
