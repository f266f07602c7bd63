"""RandomErasing, CutMix and MaxNumBoundingBoxes on every engine: what the
rectangles may do (erased area within ``scale``, pasted pixels come from the
partner image, labels mixed by the kept area), seeds, identity at
inference, MaxNumBoundingBoxes against Keras 3, configs and errors."""

from __future__ import annotations

import numpy as np
import pytest

from conformance.tolerances import tolerance
from polykeras import layers, ops

from ..helpers import check_layer, layer_outputs, to_numpy_tree
from ..keras_reference import import_keras

LAYER_TOL = dict(zip(("rtol", "atol"), tolerance("layer")))
_X = (np.random.default_rng(0).random((6, 12, 14, 3)) * 200 + 20).astype("float32")


def test_random_erasing(engine):
    y = layer_outputs(layers.RandomErasing((1.0, 1.0), scale=(0.1, 0.3), fill_value=0.0, seed=3), _X)
    erased = np.all(y == 0.0, axis=-1)
    np.testing.assert_array_equal(y[~erased], _X[~erased])
    for image in erased:
        rows, cols = np.nonzero(image)
        assert rows.size, "every image has an erased rectangle (factor 1)"
        h, w = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert image.sum() == h * w, "the erased region is a rectangle"
        assert np.sqrt(0.1) * 12 - 1 <= h <= np.sqrt(0.3) * 12 + 1
        assert np.sqrt(0.1) * 14 - 1 <= w <= np.sqrt(0.3) * 14 + 1
    noisy = layer_outputs(layers.RandomErasing((1.0, 1.0), seed=3), _X)
    assert noisy.min() >= 0.0 and noisy.max() <= 255.0 and not np.array_equal(noisy, _X)
    np.testing.assert_array_equal(layer_outputs(layers.RandomErasing(0.0, seed=3), _X), _X)
    per_channel = layer_outputs(layers.RandomErasing((1.0, 1.0), fill_value=(1.0, 2.0, 3.0), seed=3), _X)
    assert np.all(np.isin(per_channel[per_channel != _X], [1.0, 2.0, 3.0]))
    make = lambda seed=1: layers.RandomErasing(seed=seed)  # noqa: E731
    layer = check_layer(make, (2, 12, 14, 3), call_kwargs={"training": False}, **LAYER_TOL)
    np.testing.assert_array_equal(layer_outputs(make(seed=4), _X), layer_outputs(make(seed=4), _X))
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()


def test_cut_mix(engine):
    x = np.broadcast_to(np.arange(6, dtype="float32")[:, None, None, None], (6, 12, 14, 3)).copy()
    labels = np.eye(6, dtype="float32")
    masks = x[..., :1].astype("int32")
    out = to_numpy_tree(layers.CutMix(seed=2)({"images": ops.convert_to_tensor(x),
                                               "labels": ops.convert_to_tensor(labels),
                                               "segmentation_masks": ops.convert_to_tensor(masks)}))
    images, mixed = out["images"], out["labels"]
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, rtol=1e-5)
    for i in range(6):
        values, counts = np.unique(images[i, ..., 0], return_counts=True)
        assert i in values and len(values) <= 2, "an image keeps its pixels and pastes one partner's"
        share = dict(zip(values, counts / counts.sum()))
        partner = [v for v in values if v != i]
        if partner:  # labels mixed by area (up to the pixel grid)
            assert abs(mixed[i, int(partner[0])] - share[partner[0]]) < 0.2
            assert abs(mixed[i, i] - share[i]) < 0.2
        np.testing.assert_array_equal(out["segmentation_masks"][i, ..., 0], images[i, ..., 0])
    again = to_numpy_tree(layers.CutMix(seed=2)({"images": ops.convert_to_tensor(x),
                                                 "labels": ops.convert_to_tensor(labels)}))
    np.testing.assert_array_equal(again["images"], images)
    np.testing.assert_array_equal(layer_outputs(layers.CutMix(seed=2), x[0]), x[0])  # one image: unchanged
    layer = check_layer(lambda: layers.CutMix(seed=1), (2, 12, 14, 3), call_kwargs={"training": False}, **LAYER_TOL)
    assert layers.CutMix.from_config(layer.get_config()).get_config() == layer.get_config()


def test_max_num_bounding_boxes_matches_keras(engine):
    keras = import_keras()
    boxes = np.random.default_rng(1).random((2, 5, 4)).astype("float32")
    labels = np.arange(10, dtype="int32").reshape(2, 5)
    for max_number in (3, 7):
        theirs = keras.layers.MaxNumBoundingBoxes(max_number, bounding_box_format="xyxy")(
            {"images": _X[:2], "bounding_boxes": {"boxes": boxes.copy(), "labels": labels.copy()}})
        ours = to_numpy_tree(layers.MaxNumBoundingBoxes(max_number, bounding_box_format="xyxy")(
            {"images": ops.convert_to_tensor(_X[:2]),
             "bounding_boxes": {"boxes": ops.convert_to_tensor(boxes), "labels": ops.convert_to_tensor(labels)}}))
        np.testing.assert_array_equal(ours["bounding_boxes"]["boxes"], np.asarray(theirs["bounding_boxes"]["boxes"]))
        np.testing.assert_array_equal(ours["bounding_boxes"]["labels"],
                                      np.asarray(theirs["bounding_boxes"]["labels"]))
        np.testing.assert_array_equal(ours["images"], _X[:2])
    layer = layers.MaxNumBoundingBoxes(4, fill_value=-2)
    assert layers.MaxNumBoundingBoxes.from_config(layer.get_config()).get_config() == layer.get_config()
    np.testing.assert_array_equal(layer_outputs(layer, _X), _X)
    shape = layer.compute_output_shape({"images": (2, 12, 14, 3),
                                        "bounding_boxes": {"boxes": (2, 9, 4), "labels": (2, 9)}})
    assert shape["bounding_boxes"] == {"boxes": (2, 4, 4), "labels": (2, 4)}


def test_errors_name_the_layer(engine):
    with pytest.raises(ValueError, match=r"random_erasing.*scale.*1.5"):
        layers.RandomErasing(scale=1.5)
    with pytest.raises(ValueError, match=r"random_erasing.*fill_value.*\[1, 2\]"):
        layers.RandomErasing(fill_value=[1, 2])
    with pytest.raises(ValueError, match=r"cut_mix.*factor.*-0.5"):
        layers.CutMix(factor=-0.5)
    with pytest.raises(ValueError, match=r"max_num_bounding_boxes.*max_number.*positive int.*0"):
        layers.MaxNumBoundingBoxes(0)
    data = {"images": ops.convert_to_tensor(_X), "bounding_boxes": {"boxes": ops.convert_to_tensor(
        np.zeros((6, 2, 4), "float32")), "labels": ops.convert_to_tensor(np.zeros((6, 2), "int32"))}}
    with pytest.raises(ValueError, match=r"max_num_bounding_boxes.*bounding_box_format"):
        layers.MaxNumBoundingBoxes(3)(data)
    with pytest.raises(NotImplementedError, match=r"cut_mix.*bounding boxes"):
        layers.CutMix(seed=1, bounding_box_format="xyxy")(data)
