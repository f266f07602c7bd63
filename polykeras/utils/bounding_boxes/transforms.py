"""Box affine transforms and the anchor-delta encoding (Keras 3's
``affine_transform``, ``encode_box_to_deltas``, ``decode_deltas_to_boxes``)."""

from __future__ import annotations

import math
from typing import Any

from polykeras import ops
from polykeras.utils.bounding_boxes.converters import convert_format

__all__ = ["affine_transform", "decode_deltas_to_boxes", "encode_box_to_deltas"]

_EPSILON = 1e-7


def _inverse_affine(center_x: Any, center_y: Any, angle: Any, translate_x: Any, translate_y: Any, scale: Any,
                    shear_x: Any, shear_y: Any, height: Any, width: Any) -> Any:
    """``(batch, 3, 3)``: the map of an image's rotation (degrees about the
    centre), scale, shear (degrees) and translation (fractions), as the
    image layers apply it, taking input points to output points."""
    rot = ops.multiply(ops.negative(angle), math.pi / 180.0)
    sx = ops.multiply(ops.negative(shear_x), math.pi / 180.0)
    sy = ops.multiply(ops.negative(shear_y), math.pi / 180.0)
    cx, cy = ops.multiply(center_x, width - 1), ops.multiply(center_y, height - 1)
    tx, ty = ops.multiply(ops.negative(translate_x), width - 1), ops.multiply(ops.negative(translate_y), height - 1)
    cos_sy, tan_sx = ops.cos(sy), ops.tan(sx)
    a = ops.divide(ops.cos(ops.subtract(rot, sy)), cos_sy)
    b = ops.add(ops.multiply(a, tan_sx), ops.sin(rot))
    c = ops.divide(ops.negative(ops.sin(ops.subtract(rot, sy))), cos_sy)
    d = ops.subtract(ops.cos(rot), ops.multiply(c, tan_sx))
    a0, a1 = ops.multiply(d, scale), ops.multiply(ops.negative(b), scale)
    b0, b1 = ops.multiply(ops.negative(c), scale), ops.multiply(a, scale)
    x_shift, y_shift = ops.add(cx, tx), ops.add(cy, ty)
    a2 = ops.subtract(ops.subtract(cx, ops.multiply(a0, x_shift)), ops.multiply(a1, y_shift))
    b2 = ops.subtract(ops.subtract(cy, ops.multiply(b0, x_shift)), ops.multiply(b1, y_shift))
    return ops.stack([ops.stack([a0, a1, a2], axis=-1), ops.stack([b0, b1, b2], axis=-1)], axis=-2)  # (batch, 2, 3)


def affine_transform(boxes: Any, angle: Any, translate_x: Any, translate_y: Any, scale: Any, shear_x: Any,
                     shear_y: Any, height: Any, width: Any, center_x: Any = None, center_y: Any = None,
                     bounding_box_format: str = "xyxy") -> Any:
    """``(batch, N, 4)`` ``xyxy`` boxes moved by one affine map per image
    (``angle`` and shears in degrees, translations and centre as fractions
    of the image, each of shape ``(batch,)``): the box around each moved box.

    Example:
        >>> affine_transform(boxes, angle=np.zeros(1), translate_x=np.full(1, 0.1), translate_y=np.zeros(1),
        ...                  scale=np.ones(1), shear_x=np.zeros(1), shear_y=np.zeros(1), height=100, width=100)
    """
    if bounding_box_format != "xyxy":
        raise NotImplementedError(f"bounding_boxes.affine_transform: expected bounding_box_format 'xyxy', received "
                                  f"{bounding_box_format!r}.")
    boxes = ops.cast(ops.convert_to_tensor(boxes), "float32")
    if len(ops.shape(boxes)) != 3 or ops.shape(boxes)[-1] != 4:
        raise ValueError(f"bounding_boxes.affine_transform: expected boxes of shape (batch, N, 4), received shape "
                         f"{tuple(ops.shape(boxes))}.")
    angle, translate_x, translate_y, scale, shear_x, shear_y = (
        ops.cast(ops.convert_to_tensor(v), "float32")
        for v in (angle, translate_x, translate_y, scale, shear_x, shear_y))
    matrix = _inverse_affine(0.5 if center_x is None else center_x, 0.5 if center_y is None else center_y,
                             angle, translate_x, translate_y, scale, shear_x, shear_y, float(height), float(width))
    x1, y1, x2, y2 = (boxes[..., i] for i in range(4))
    corners = ops.stack([ops.stack([x1, y1], -1), ops.stack([x2, y1], -1), ops.stack([x2, y2], -1),
                         ops.stack([x1, y2], -1)], axis=2)  # (batch, N, 4, 2)
    corners = ops.concatenate([corners, ops.ones_like(corners[..., :1])], axis=-1)
    moved = ops.einsum("bnkj,bij->bnki", corners, matrix)  # (batch, N, 4, 2)
    return ops.concatenate([ops.min(moved, axis=2), ops.max(moved, axis=2)], axis=-1)


def _check_variance(variance: Any, who: str) -> Any:
    if variance is None:
        return None
    variance = ops.convert_to_tensor(variance, "float32")
    if tuple(ops.shape(variance))[-1:] != (4,):
        raise ValueError(f"bounding_boxes.{who}: expected variance of length 4, received shape "
                         f"{tuple(ops.shape(variance))}.")
    return variance


def _size(image_shape: Any) -> tuple[Any, Any]:
    return (None, None) if image_shape is None else (image_shape[0], image_shape[1])


def encode_box_to_deltas(anchors: Any, boxes: Any, anchor_format: str, box_format: str,
                         encoding_format: str = "center_yxhw", variance: Any = None, image_shape: Any = None) -> Any:
    """Deltas from ``anchors`` to ``boxes`` in ``encoding_format`` (centre
    offsets over the anchor size, log size ratios), divided by ``variance``.

    Example:
        >>> encode_box_to_deltas(np.array([[0., 0., 10., 10.]]), np.array([[1., 1., 11., 11.]]), "xyxy", "xyxy")
    """
    variance = _check_variance(variance, "encode_box_to_deltas")
    if encoding_format not in ("center_xywh", "center_yxhw"):
        raise ValueError(f"bounding_boxes.encode_box_to_deltas: expected encoding_format 'center_xywh' or "
                         f"'center_yxhw', received {encoding_format!r}.")
    height, width = _size(image_shape)
    a = convert_format(anchors, anchor_format, encoding_format, height, width)
    b = convert_format(boxes, box_format, encoding_format, height, width)
    anchor_size = ops.maximum(a[..., 2:], _EPSILON)
    box_size = ops.maximum(b[..., 2:], _EPSILON)
    deltas = ops.concatenate([ops.divide(ops.subtract(b[..., :2], a[..., :2]), anchor_size),
                              ops.log(ops.divide(box_size, anchor_size))], axis=-1)
    return deltas if variance is None else ops.divide(deltas, variance)


def decode_deltas_to_boxes(anchors: Any, boxes_delta: Any, anchor_format: str, box_format: str,
                           encoded_format: str = "center_yxhw", variance: Any = None, image_shape: Any = None) -> Any:
    """The inverse of :func:`encode_box_to_deltas`: boxes in ``box_format``
    (dicts of levels map level by level).

    Example:
        >>> decode_deltas_to_boxes(np.array([[0., 0., 10., 10.]]), np.zeros((1, 4)), "xyxy", "xyxy")
    """
    variance = _check_variance(variance, "decode_deltas_to_boxes")
    if encoded_format not in ("center_xywh", "center_yxhw"):
        raise ValueError(f"bounding_boxes.decode_deltas_to_boxes: expected encoded_format 'center_xywh' or "
                         f"'center_yxhw', received {encoded_format!r}.")
    height, width = _size(image_shape)

    def decode(anchor: Any, delta: Any) -> Any:
        a = convert_format(anchor, anchor_format, encoded_format, height, width)
        delta = ops.cast(ops.convert_to_tensor(delta), "float32")
        delta = delta if variance is None else ops.multiply(delta, variance)
        box = ops.concatenate([ops.add(ops.multiply(delta[..., :2], a[..., 2:]), a[..., :2]),
                               ops.multiply(ops.exp(delta[..., 2:]), a[..., 2:])], axis=-1)
        return convert_format(box, encoded_format, box_format, height, width)

    if isinstance(anchors, dict) and isinstance(boxes_delta, dict):
        return {level: decode(anchor, boxes_delta[level]) for level, anchor in anchors.items()}
    return decode(anchors, boxes_delta)
