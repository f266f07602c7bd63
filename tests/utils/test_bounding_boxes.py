"""``polykeras.utils.bounding_boxes`` on every engine against Keras 3's
``keras.utils.bounding_boxes``: every format pair, clipping (labels of empty
boxes become -1), crop, pad, pairwise IoU, batched and not, affine moves,
complete IoU and the anchor-delta encoding (and its round trip); errors."""

from __future__ import annotations

import numpy as np
import pytest

from polykeras import ops
from polykeras.utils import bounding_boxes as bb

_RNG = np.random.default_rng(0)
_XY = _RNG.random((2, 5, 2)) * 50
_BOXES = np.concatenate([_XY, _XY + _RNG.random((2, 5, 2)) * 60 + 1], axis=-1).astype("float32")  # xyxy


def _keras_bb():
    keras = pytest.importorskip("keras")
    return keras.utils.bounding_boxes


@pytest.mark.parametrize("target", bb.FORMATS)
def test_convert_format_matches_keras(engine, target):
    kbb = _keras_bb()
    for boxes in (_BOXES, _BOXES[0]):
        expected = np.asarray(kbb.convert_format(boxes.copy(), "xyxy", target, height=80, width=100))
        actual = ops.to_numpy(bb.convert_format(ops.convert_to_tensor(boxes), "xyxy", target, height=80, width=100))
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-4)
        back = bb.convert_format(ops.convert_to_tensor(expected), target, "xyxy", height=80, width=100)
        np.testing.assert_allclose(ops.to_numpy(back), boxes, rtol=1e-5, atol=1e-3)
    as_dict = bb.convert_format({"boxes": ops.convert_to_tensor(_BOXES), "labels": np.ones((2, 5))}, "xyxy", target,
                                height=80, width=100)
    assert set(as_dict) == {"boxes", "labels"}


def test_clip_crop_pad_and_iou_match_keras(engine):
    kbb = _keras_bb()
    labels = np.arange(10, dtype="int32").reshape(2, 5)
    shifted = _BOXES - 40.0
    expected = kbb.clip_to_image_size({"boxes": shifted.copy(), "labels": labels.copy()}, height=30, width=40)
    actual = bb.clip_to_image_size({"boxes": ops.convert_to_tensor(shifted), "labels": ops.convert_to_tensor(labels)},
                                   height=30, width=40)
    np.testing.assert_allclose(ops.to_numpy(actual["boxes"]), np.asarray(expected["boxes"]), atol=1e-5)
    np.testing.assert_array_equal(ops.to_numpy(actual["labels"]), np.asarray(expected["labels"]))
    assert (ops.to_numpy(actual["labels"]) == -1).any()
    np.testing.assert_allclose(ops.to_numpy(bb.crop(ops.convert_to_tensor(_BOXES), 10, 20, 40, 50)),
                               np.asarray(kbb.crop(_BOXES.copy(), 10, 20, 40, 50)), atol=1e-5)
    np.testing.assert_allclose(ops.to_numpy(bb.pad(ops.convert_to_tensor(_BOXES), 10, 20)),
                               np.asarray(kbb.pad(_BOXES.copy(), 10, 20)), atol=1e-5)
    for a, b in ((_BOXES[0], _BOXES[1]), (_BOXES, _BOXES[::-1]), (_BOXES, _BOXES[0])):
        expected = np.asarray(kbb.compute_iou(a.copy(), b.copy(), "xyxy"))
        actual = ops.to_numpy(bb.compute_iou(ops.convert_to_tensor(a), ops.convert_to_tensor(b), "xyxy"))
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)
    padded = np.concatenate([_BOXES[0], -np.ones((1, 4), "float32")])
    expected = np.asarray(kbb.compute_iou(padded.copy(), padded.copy(), "xyxy", use_masking=True))
    actual = ops.to_numpy(bb.compute_iou(ops.convert_to_tensor(padded), ops.convert_to_tensor(padded), "xyxy",
                                         use_masking=True))
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_affine_ciou_and_deltas_match_keras(engine):
    kbb = _keras_bb()
    rng = np.random.default_rng(3)
    args = {"angle": rng.uniform(-30, 30, 2), "translate_x": rng.uniform(-0.2, 0.2, 2),
            "translate_y": rng.uniform(-0.2, 0.2, 2), "scale": rng.uniform(0.8, 1.2, 2),
            "shear_x": rng.uniform(-10, 10, 2), "shear_y": rng.uniform(-10, 10, 2)}
    args = {k: v.astype("float32") for k, v in args.items()}
    expected = np.asarray(kbb.affine_transform(_BOXES.copy(), **args, height=80, width=100))
    actual = bb.affine_transform(ops.convert_to_tensor(_BOXES), **{k: ops.convert_to_tensor(v) for k, v in
                                                                  args.items()}, height=80, width=100)
    np.testing.assert_allclose(ops.to_numpy(actual), expected, rtol=1e-4, atol=1e-3)
    expected = np.asarray(kbb.compute_ciou(_BOXES[0].copy(), _BOXES[1].copy(), "xyxy"))
    actual = bb.compute_ciou(ops.convert_to_tensor(_BOXES[0]), ops.convert_to_tensor(_BOXES[1]), "xyxy")
    np.testing.assert_allclose(ops.to_numpy(actual), expected, rtol=1e-5, atol=1e-6)
    anchors = _BOXES[0]
    for fmt, variance in (("center_yxhw", None), ("center_xywh", [0.1, 0.1, 0.2, 0.2])):
        expected = np.asarray(kbb.encode_box_to_deltas(anchors.copy(), _BOXES.copy(), "xyxy", "xyxy",
                                                       encoding_format=fmt, variance=variance))
        deltas = bb.encode_box_to_deltas(ops.convert_to_tensor(anchors), ops.convert_to_tensor(_BOXES), "xyxy",
                                         "xyxy", encoding_format=fmt, variance=variance)
        np.testing.assert_allclose(ops.to_numpy(deltas), expected, rtol=1e-5, atol=1e-5)
        decoded = bb.decode_deltas_to_boxes(ops.convert_to_tensor(anchors), deltas, "xyxy", "xyxy",
                                            encoded_format=fmt, variance=variance)
        np.testing.assert_allclose(ops.to_numpy(decoded), _BOXES, rtol=1e-4, atol=1e-3)  # the round trip
    levels = bb.decode_deltas_to_boxes({"p3": anchors}, {"p3": np.zeros((5, 4), "float32")}, "xyxy", "xyxy")
    np.testing.assert_allclose(ops.to_numpy(levels["p3"]), anchors, rtol=1e-5, atol=1e-4)


def test_errors_name_the_function(engine):
    with pytest.raises(ValueError, match=r"convert_format.*target.*'xyz'"):
        bb.convert_format(_BOXES, "xyxy", "xyz")
    with pytest.raises(ValueError, match=r"convert_format.*height and width"):
        bb.convert_format(_BOXES, "xyxy", "rel_xyxy")
    with pytest.raises(ValueError, match=r"convert_format.*\(N, 4\).*\(2, 5, 3\)"):
        bb.convert_format(_BOXES[..., :3], "xyxy", "xywh")
    with pytest.raises(NotImplementedError, match=r"clip_to_image_size.*'xywh'"):
        bb.clip_to_image_size({"boxes": _BOXES}, 10, 10, "xywh")
    with pytest.raises(ValueError, match=r"compute_iou.*image_shape"):
        bb.compute_iou(_BOXES, _BOXES, "rel_xyxy")
    with pytest.raises(ValueError, match=r"encode_box_to_deltas.*variance.*length 4"):
        bb.encode_box_to_deltas(_BOXES[0], _BOXES, "xyxy", "xyxy", variance=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"decode_deltas_to_boxes.*encoded_format.*'xyxy'"):
        bb.decode_deltas_to_boxes(_BOXES[0], _BOXES, "xyxy", "xyxy", encoded_format="xyxy")
    with pytest.raises(NotImplementedError, match=r"affine_transform.*'yxyx'"):
        bb.affine_transform(_BOXES, 0, 0, 0, 1, 0, 0, 10, 10, bounding_box_format="yxyx")
