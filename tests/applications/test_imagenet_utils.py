"""imagenet_utils against Keras 3: preprocess_input in every mode and data
format (NumPy arrays and engine tensors), decode_predictions through a
local download, and the builders' checks."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

import polykeras
from polykeras import ops
from polykeras.applications import imagenet_utils
from tests.layers.keras_reference import import_keras


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("ndim", [3, 4])
def test_preprocess_input_matches_keras(engine, mode, data_format, ndim):
    keras = import_keras()
    rng = np.random.default_rng(0)
    shape = (2, 3, 4, 5)[4 - ndim:] if data_format == "channels_first" else (2, 4, 5, 3)[4 - ndim:]
    x = rng.uniform(0, 255, shape).astype("float32")
    expected = keras.applications.imagenet_utils.preprocess_input(x.copy(), data_format=data_format, mode=mode)
    ours = imagenet_utils.preprocess_input(x.copy(), data_format=data_format, mode=mode)
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-5)
    tensor = imagenet_utils.preprocess_input(ops.convert_to_tensor(x), data_format=data_format, mode=mode)
    np.testing.assert_allclose(ops.convert_to_numpy(tensor), expected, rtol=1e-6, atol=1e-5)


def test_preprocess_input_works_in_place_and_on_integers(engine):
    x = np.full((1, 2, 2, 3), 255.0, dtype="float32")
    out = imagenet_utils.preprocess_input(x, mode="tf")
    assert out is x and np.all(x == 1.0)
    ints = imagenet_utils.preprocess_input(np.zeros((1, 1, 1, 3), dtype="uint8"), mode="torch")
    assert ints.dtype == np.float32
    np.testing.assert_allclose(ints[0, 0, 0], [-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225], rtol=1e-6)


def test_preprocess_input_symbolic(engine):
    inputs = polykeras.Input((4, 4, 3))
    model = polykeras.Model(inputs, imagenet_utils.preprocess_input(inputs))
    x = np.random.default_rng(1).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    expected = imagenet_utils.preprocess_input(x.copy())
    np.testing.assert_allclose(ops.convert_to_numpy(model(x)), expected, rtol=1e-6, atol=1e-4)


def test_preprocess_input_bad_arguments(engine):
    with pytest.raises(ValueError, match="preprocess_input.*mode=bgr"):
        imagenet_utils.preprocess_input(np.zeros((1, 2, 2, 3)), mode="bgr")
    with pytest.raises(ValueError, match="preprocess_input.*data_format=nhwc"):
        imagenet_utils.preprocess_input(np.zeros((1, 2, 2, 3)), data_format="nhwc")


def _class_index() -> dict[str, list[str]]:
    return {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}


@pytest.fixture
def served_class_index(local_server, keras_home, monkeypatch):
    url, folder = local_server
    data = json.dumps(_class_index()).encode()
    (folder / "imagenet_class_index.json").write_bytes(data)
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_PATH", url + "imagenet_class_index.json")
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_HASH", hashlib.md5(data).hexdigest())
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", None)
    return keras_home


def test_decode_predictions_downloads_the_class_index(engine, served_class_index):
    preds = np.zeros((2, 1000), dtype="float32")
    preds[0, [3, 7, 1]] = [0.5, 0.3, 0.2]
    preds[1, 999] = 1.0
    decoded = imagenet_utils.decode_predictions(ops.convert_to_tensor(preds), top=3)
    assert [entry[:2] for entry in decoded[0]] == [("n00000003", "class_3"), ("n00000007", "class_7"),
                                                  ("n00000001", "class_1")]
    np.testing.assert_allclose([entry[2] for entry in decoded[0]], [0.5, 0.3, 0.2])
    assert decoded[1][0][:2] == ("n00000999", "class_999")
    assert (served_class_index / "models" / "imagenet_class_index.json").is_file()  # cached where Keras caches


def test_decode_predictions_matches_keras(engine, served_class_index):
    keras = import_keras()
    from keras.src.applications import imagenet_utils as keras_utils

    keras_utils.CLASS_INDEX, saved = _class_index(), keras_utils.CLASS_INDEX
    try:
        preds = np.random.default_rng(2).random((3, 1000)).astype("float32")
        expected = keras.applications.imagenet_utils.decode_predictions(preds, top=4)
    finally:
        keras_utils.CLASS_INDEX = saved
    ours = imagenet_utils.decode_predictions(preds, top=4)
    assert [[e[:2] for e in row] for row in ours] == [[e[:2] for e in row] for row in expected]
    np.testing.assert_array_equal([[e[2] for e in row] for row in ours], [[e[2] for e in row] for row in expected])


def test_decode_predictions_refuses_other_shapes(engine):
    with pytest.raises(ValueError, match=r"decode_predictions.*\(samples, 1000\).*\(2, 10\)"):
        imagenet_utils.decode_predictions(np.zeros((2, 10)))


def test_decode_predictions_refuses_a_corrupted_index(engine, served_class_index, monkeypatch):
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_HASH", "0" * 32)
    with pytest.raises(ValueError, match="corrupted"):
        imagenet_utils.decode_predictions(np.zeros((1, 1000)))


@pytest.mark.parametrize("args", [
    ((None, 224, 32, "channels_last", False), {}),
    ((None, 224, 32, "channels_last", True), {}),
    ((None, 224, 32, "channels_first", False, "imagenet"), {}),
    (((64, 64, 3), 224, 32, "channels_last", False, "imagenet"), {}),
    (((3, None, None), 224, 32, "channels_first", False), {}),
    (((224, 224, 3), 224, 32, "channels_last", True, "imagenet"), {}),
])
def test_obtain_input_shape_matches_keras(engine, args):
    import_keras()
    from keras.src.applications.imagenet_utils import obtain_input_shape

    positional, kwargs = args
    assert imagenet_utils.obtain_input_shape(*positional, **kwargs) == tuple(obtain_input_shape(*positional,
                                                                                                **kwargs))


@pytest.mark.parametrize("args, message", [
    (((16, 16, 3), 224, 32, "channels_last", False), "ResNet50: Input size must be at least 32x32"),
    (((3, 40, 8), 224, 32, "channels_first", False), "ResNet50: Input size must be at least 32x32"),
    (((64, 64, 1), 224, 32, "channels_last", False, "imagenet"), "ResNet50: The input must have 3 channels"),
    (((64, 64), 224, 32, "channels_last", False), "ResNet50: `input_shape` must be a tuple of three"),
    (((64, 64, 3), 224, 32, "channels_last", True, "imagenet"), r"ResNet50: .*should be \(224, 224, 3\)"),
    (((None, None, 3), 224, 32, "channels_last", True), "ResNet50: .*static `input_shape`"),
])
def test_obtain_input_shape_errors(engine, args, message):
    with pytest.raises(ValueError, match=message):
        imagenet_utils.obtain_input_shape(*args, application="ResNet50")


def test_correct_pad_and_validate_activation(engine):
    assert imagenet_utils.correct_pad(polykeras.Input((224, 224, 3)), 3) == ((0, 1), (0, 1))
    assert imagenet_utils.correct_pad(polykeras.Input((225, 225, 3)), (3, 5)) == ((1, 1), (2, 2))
    assert imagenet_utils.correct_pad(polykeras.Input((None, None, 3)), 3) == ((0, 1), (0, 1))
    imagenet_utils.validate_activation("softmax", "imagenet")
    imagenet_utils.validate_activation(None, "imagenet")
    imagenet_utils.validate_activation("relu", None)
    with pytest.raises(ValueError, match="VGG16: Only `None` and `softmax`.*relu"):
        imagenet_utils.validate_activation("relu", "imagenet", application="VGG16")


def test_validate_weights(engine, tmp_path):
    imagenet_utils.validate_weights("VGG16", None, True, 10)
    path = tmp_path / "w.weights.h5"
    path.write_bytes(b"")
    imagenet_utils.validate_weights("VGG16", str(path), True, 10)
    with pytest.raises(ValueError, match="VGG16: the `weights` argument.*missing.h5"):
        imagenet_utils.validate_weights("VGG16", str(tmp_path / "missing.h5"), True, 1000)
    with pytest.raises(ValueError, match="VGG16: .*`classes` should be 1000.*classes=10"):
        imagenet_utils.validate_weights("VGG16", "imagenet", True, 10)
    imagenet_utils.validate_weights("VGG16", "imagenet", False, 10)
