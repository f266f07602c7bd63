"""``keras.utils.bounding_boxes``: box format conversion, clipping, crop, pad,
affine moves, IoU and complete IoU, and the anchor-delta encoding, written
once with ``ops`` so it runs on every engine (and inside the augmentation
layers' compiled steps).

Formats (Keras 3's): ``xyxy`` (left, top, right, bottom), ``yxyx``, ``xywh``
(left, top, width, height), ``center_xywh``, ``center_yxhw`` and the relative
``rel_xyxy``, ``rel_yxyx``, ``rel_xywh``, ``rel_center_xywh`` (coordinates
divided by the image ``width`` / ``height``).
"""

from polykeras.utils.bounding_boxes.converters import FORMATS, clip_to_image_size, convert_format, crop, pad
from polykeras.utils.bounding_boxes.iou import compute_ciou, compute_iou
from polykeras.utils.bounding_boxes.transforms import affine_transform, decode_deltas_to_boxes, encode_box_to_deltas

__all__ = ["FORMATS", "affine_transform", "clip_to_image_size", "compute_ciou", "compute_iou", "convert_format", "crop",
           "decode_deltas_to_boxes", "encode_box_to_deltas", "pad"]
