"""RandomShear, RandomPerspective and RandomElasticTransform on every
engine: a drawn transformation fed to Keras 3's own transform methods gives
our images and boxes; identity for zero factors and at inference; masks
keep their values; seeds; configs and errors."""

from __future__ import annotations

import numpy as np
import pytest

from conformance.tolerances import assert_close, tolerance
from polykeras import layers, ops

from ..helpers import check_layer, layer_outputs, to_numpy_tree
from ..keras_reference import import_keras

LAYER_TOL = dict(zip(("rtol", "atol"), tolerance("layer")))
_X = (np.random.default_rng(0).random((3, 8, 10, 3)) * 255).astype("float32")
_BOXES = np.array([[[1.0, 1.0, 5.0, 6.0], [2.0, 3.0, 9.0, 7.5]]] * 3, "float32")


def _data(boxes: bool = True) -> dict:
    data = {"images": ops.convert_to_tensor(_X),
            "segmentation_masks": ops.convert_to_tensor(np.arange(240, dtype="int32").reshape(3, 8, 10, 1) % 5)}
    if boxes:
        data["bounding_boxes"] = {"boxes": ops.convert_to_tensor(_BOXES),
                                  "labels": ops.convert_to_tensor(np.array([[1, 2]] * 3, "int32"))}
    return data


def test_shear_matches_keras_for_the_drawn_transformation(engine):
    keras = import_keras()
    ours = layers.RandomShear(0.3, 0.2, seed=4, bounding_box_format="xyxy")
    images = ops.convert_to_tensor(_X)
    shear_x, shear_y = (ops.to_numpy(t) for t in ours._transformation(images))
    transformation = {"shear_factor": np.stack([shear_x, shear_y], axis=1), "input_shape": _X.shape}
    theirs = keras.layers.RandomShear(0.3, 0.2, bounding_box_format="xyxy")
    expected = np.asarray(theirs.transform_images(_X, transformation))
    actual = ops.to_numpy(ours._apply(images, (ops.convert_to_tensor(shear_x), ops.convert_to_tensor(shear_y))))
    assert_close(actual, expected, "layer", err_msg="RandomShear images vs Keras 3")
    boxes = theirs.transform_bounding_boxes({"boxes": _BOXES.copy(), "labels": np.ones((3, 2))}, transformation)
    ours_boxes = ours._apply_boxes(ops.convert_to_tensor(_BOXES), (ops.convert_to_tensor(shear_x),
                                                                   ops.convert_to_tensor(shear_y)), images)
    assert_close(ops.to_numpy(ours_boxes), np.asarray(boxes["boxes"]), "layer", err_msg="RandomShear boxes")


def test_perspective_matches_keras_for_the_drawn_transformation(engine):
    keras = import_keras()
    ours = layers.RandomPerspective((1.0, 1.0), scale=0.4, seed=2, bounding_box_format="xyxy")
    images = ops.convert_to_tensor(_X)
    apply, start, end = (ops.to_numpy(t) for t in ours._transformation(images))
    transformation = {"apply_perspective": apply, "start_points": start, "end_points": end, "input_shape": _X.shape}
    theirs = keras.layers.RandomPerspective(scale=0.4, bounding_box_format="xyxy")
    expected = np.asarray(theirs.transform_images(_X, transformation))
    mine = tuple(ops.convert_to_tensor(t) for t in (apply, start, end))
    assert_close(ops.to_numpy(ours._apply(images, mine)), expected, "layer", err_msg="RandomPerspective images")
    boxes = theirs.transform_bounding_boxes({"boxes": _BOXES.copy(), "labels": np.ones((3, 2))}, transformation)
    ours_boxes = ours._apply_boxes(ops.convert_to_tensor(_BOXES), mine, images)
    np.testing.assert_allclose(ops.to_numpy(ours_boxes), np.asarray(boxes["boxes"]), rtol=1e-4, atol=1e-3)


MAKERS = {
    "RandomShear": lambda seed=1: layers.RandomShear(0.3, 0.3, seed=seed),
    "RandomPerspective": lambda seed=1: layers.RandomPerspective((1.0, 1.0), scale=0.5, seed=seed),
    "RandomElasticTransform": lambda seed=1: layers.RandomElasticTransform((1.0, 1.0), scale=(0.5, 0.5),
                                                                           seed=seed),
}


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_inference_identity_seeds_masks_and_config(engine, name):
    make = MAKERS[name]
    layer = check_layer(make, (2, 8, 10, 3), call_kwargs={"training": False}, **LAYER_TOL)
    np.testing.assert_array_equal(layer_outputs(layer, _X, training=False), _X)
    first = layer_outputs(make(seed=5), _X)
    np.testing.assert_array_equal(first, layer_outputs(make(seed=5), _X))
    assert not np.allclose(first, _X), f"{name} changed nothing in training"
    assert layer_outputs(make(), _X[0]).shape == _X[0].shape
    out = to_numpy_tree(make(seed=5)(_data(boxes=False)))
    assert out["segmentation_masks"].dtype == np.int32
    assert set(np.unique(out["segmentation_masks"])) <= set(range(5))  # nearest sampling: no new classes
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


def test_zero_factors_are_identity_and_boxes_follow(engine):
    np.testing.assert_allclose(layer_outputs(layers.RandomShear(0.0, 0.0, seed=1), _X), _X, atol=1e-3)
    np.testing.assert_allclose(layer_outputs(layers.RandomPerspective(scale=0.0, seed=1), _X), _X, atol=1e-3)
    np.testing.assert_array_equal(layer_outputs(layers.RandomElasticTransform(scale=0.0, seed=1), _X), _X)
    for layer in (layers.RandomShear(0.3, 0.3, seed=3, bounding_box_format="xyxy"),
                  layers.RandomPerspective(scale=0.5, seed=3, bounding_box_format="xyxy")):
        boxes = to_numpy_tree(layer(_data()))["bounding_boxes"]["boxes"]
        assert boxes.shape == _BOXES.shape
        assert np.all((boxes[..., 0::2] >= 0) & (boxes[..., 0::2] <= 10) & (boxes[..., 1::2] >= 0)
                      & (boxes[..., 1::2] <= 8)), "boxes stay inside the image"
        assert np.all(boxes[..., 2:] >= boxes[..., :2])
    rel = layers.RandomShear(0.0, 0.0, seed=1, bounding_box_format="rel_xyxy")
    data = _data()
    data["bounding_boxes"]["boxes"] = ops.convert_to_tensor(_BOXES / np.array([10, 8, 10, 8], "float32"))
    np.testing.assert_allclose(to_numpy_tree(rel(data))["bounding_boxes"]["boxes"],
                               _BOXES / np.array([10, 8, 10, 8]), atol=1e-6)


def test_errors_name_the_layer(engine):
    with pytest.raises(ValueError, match=r"random_shear.*x_factor.*0, 1.*1.5"):
        layers.RandomShear(1.5)
    with pytest.raises(ValueError, match=r"random_shear.*fill_mode.*'mirror'"):
        layers.RandomShear(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match=r"random_perspective.*scale.*\[0, 1\].*2"):
        layers.RandomPerspective(scale=2)
    with pytest.raises(ValueError, match=r"random_elastic_transform.*interpolation.*'bicubic'"):
        layers.RandomElasticTransform(interpolation="bicubic")
    with pytest.raises(ValueError, match=r"random_shear.*bounding_box_format"):
        layers.RandomShear(0.1, seed=1)(_data())
    with pytest.raises(NotImplementedError, match=r"random_elastic_transform.*bounding boxes"):
        layers.RandomElasticTransform(seed=1, bounding_box_format="xyxy")(_data())
