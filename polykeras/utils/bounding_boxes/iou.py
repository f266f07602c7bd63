"""Intersection over union: pairwise (``compute_iou``) and the complete IoU of
matching boxes (``compute_ciou``), Keras 3's formulas."""

from __future__ import annotations

import math
from typing import Any

from polykeras import ops
from polykeras.utils.bounding_boxes.converters import convert_format

__all__ = ["compute_ciou", "compute_iou"]

_EPSILON = 1e-7


def compute_iou(boxes1: Any, boxes2: Any, bounding_box_format: str, use_masking: bool = False,
                mask_val: int = -1, image_shape: Any = None) -> Any:
    """Pairwise IoU: ``(M, 4)`` and ``(N, 4)`` boxes give ``(M, N)``; a batch
    axis on either gives ``(batch, M, N)``. With ``use_masking``, pairs where
    either box is all negative (padding) get ``mask_val``.

    Example:
        >>> compute_iou(np.array([[0., 0., 2., 2.]]), np.array([[1., 1., 3., 3.]]), "xyxy")   # [[1/7]]
    """
    ranks = (len(ops.shape(boxes1)), len(ops.shape(boxes2)))
    if not all(r in (2, 3) for r in ranks):
        raise ValueError(f"bounding_boxes.compute_iou: expected boxes1 and boxes2 of rank 2 or 3, received ranks "
                         f"{ranks}.")
    if bounding_box_format.lower().startswith("rel") and image_shape is None:
        raise ValueError("bounding_boxes.compute_iou: a relative bounding_box_format needs image_shape, received "
                         "image_shape=None.")
    height, width = (None, None) if image_shape is None else (image_shape[0], image_shape[1])
    a = convert_format(boxes1, bounding_box_format, "xyxy", height, width)
    b = convert_format(boxes2, bounding_box_format, "xyxy", height, width)
    a_ = ops.expand_dims(a, -2)  # (..., M, 1, 4)
    b_ = ops.expand_dims(b, -3)  # (..., 1, N, 4)
    width_i = ops.maximum(ops.subtract(ops.minimum(a_[..., 2], b_[..., 2]), ops.maximum(a_[..., 0], b_[..., 0])), 0.0)
    height_i = ops.maximum(ops.subtract(ops.minimum(a_[..., 3], b_[..., 3]), ops.maximum(a_[..., 1], b_[..., 1])),
                           0.0)
    intersection = ops.multiply(width_i, height_i)
    area_a = ops.multiply(ops.subtract(a_[..., 2], a_[..., 0]), ops.subtract(a_[..., 3], a_[..., 1]))
    area_b = ops.multiply(ops.subtract(b_[..., 2], b_[..., 0]), ops.subtract(b_[..., 3], b_[..., 1]))
    union = ops.subtract(ops.add(area_a, area_b), intersection)
    iou = ops.divide(intersection, ops.add(union, _EPSILON))
    if not use_masking:
        return iou
    background = ops.logical_or(ops.less(ops.max(a_, axis=-1), 0.0), ops.less(ops.max(b_, axis=-1), 0.0))
    return ops.where(background, ops.cast(mask_val, ops.dtype(iou)), iou)


def compute_ciou(boxes1: Any, boxes2: Any, bounding_box_format: str, image_shape: Any = None) -> Any:
    """Complete IoU of matching boxes (``(..., 4)`` each, broadcast): IoU
    minus the squared centre distance over the enclosing box's squared
    diagonal, minus the aspect-ratio term ``v * alpha``.

    Example:
        >>> compute_ciou(np.array([[0., 0., 2., 2.]]), np.array([[1., 1., 3., 3.]]), "xyxy")
    """
    if bounding_box_format.lower().startswith("rel") and image_shape is None:
        raise ValueError("bounding_boxes.compute_ciou: a relative bounding_box_format needs image_shape, received "
                         "image_shape=None.")
    height, width = (None, None) if image_shape is None else (image_shape[0], image_shape[1])
    a = convert_format(boxes1, bounding_box_format, "xyxy", height, width)
    b = convert_format(boxes2, bounding_box_format, "xyxy", height, width)
    ax1, ay1, ax2, ay2 = (a[..., i] for i in range(4))
    bx1, by1, bx2, by2 = (b[..., i] for i in range(4))
    width_a, height_a = ops.subtract(ax2, ax1), ops.add(ops.subtract(ay2, ay1), _EPSILON)
    width_b, height_b = ops.subtract(bx2, bx1), ops.add(ops.subtract(by2, by1), _EPSILON)
    intersection = ops.multiply(ops.maximum(ops.subtract(ops.minimum(ax2, bx2), ops.maximum(ax1, bx1)), 0.0),
                                ops.maximum(ops.subtract(ops.minimum(ay2, by2), ops.maximum(ay1, by1)), 0.0))
    union = ops.add(ops.subtract(ops.add(ops.multiply(width_a, height_a), ops.multiply(width_b, height_b)),
                                 intersection), _EPSILON)
    iou = ops.divide(intersection, ops.add(union, _EPSILON))
    enclosing_w = ops.subtract(ops.maximum(ax2, bx2), ops.minimum(ax1, bx1))
    enclosing_h = ops.subtract(ops.maximum(ay2, by2), ops.minimum(ay1, by1))
    diagonal = ops.add(ops.add(ops.square(enclosing_w), ops.square(enclosing_h)), _EPSILON)
    distance = ops.add(ops.square(ops.subtract(ops.divide(ops.add(ax1, ax2), 2.0), ops.divide(ops.add(bx1, bx2), 2.0))),
                       ops.square(ops.subtract(ops.divide(ops.add(ay1, ay2), 2.0), ops.divide(ops.add(by1, by2), 2.0))))
    v = ops.multiply(4.0 / math.pi ** 2, ops.square(ops.subtract(ops.arctan(ops.divide(width_b, height_b)),
                                                                 ops.arctan(ops.divide(width_a, height_a)))))
    alpha = ops.divide(v, ops.add(ops.subtract(v, iou), 1.0 + _EPSILON))
    return ops.subtract(iou, ops.add(ops.divide(distance, diagonal), ops.multiply(v, alpha)))
