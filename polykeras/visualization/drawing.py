"""Drawing boxes and masks onto batches of images, on the host with NumPy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from polykeras import config, ops
from polykeras.utils.bounding_boxes import convert_format

__all__ = ["draw_bounding_boxes", "draw_segmentation_masks"]


def _host(x: Any) -> np.ndarray:
    return x if isinstance(x, np.ndarray) else np.asarray(ops.to_numpy(ops.convert_to_tensor(x)))


def _channels_last(images: np.ndarray, data_format: str | None, who: str) -> np.ndarray:
    if images.ndim != 4:
        raise ValueError(f"visualization.{who}: expected a batch of images of rank 4, received shape "
                         f"{images.shape}.")
    data_format = data_format or config.image_data_format()
    return images.transpose(0, 2, 3, 1) if data_format == "channels_first" else images


def _rectangle(image: np.ndarray, x1: int, y1: int, x2: int, y2: int, color: np.ndarray, thickness: int) -> None:
    """Edges of width ``thickness`` centred on the box's border (clipped to the image)."""
    height, width = image.shape[:2]
    before, after = (thickness - 1) // 2 + (thickness - 1) % 2, (thickness - 1) // 2

    def fill(top: int, bottom: int, left: int, right: int) -> None:
        top, left = max(top, 0), max(left, 0)
        bottom, right = min(bottom, height - 1), min(right, width - 1)
        if top <= bottom and left <= right:
            image[top:bottom + 1, left:right + 1] = color

    fill(y1 - before, y1 + after, x1 - before, x2 + after)  # top
    fill(y2 - before, y2 + after, x1 - before, x2 + after)  # bottom
    fill(y1 - before, y2 + after, x1 - before, x1 + after)  # left
    fill(y1 - before, y2 + after, x2 - before, x2 + after)  # right


def _text(image: np.ndarray, text: str, x: int, y: int, color: tuple, font_scale: float) -> np.ndarray:
    try:
        from PIL import Image, ImageDraw
    except ImportError as err:  # pragma: no cover - Pillow is the "image" extra
        raise ImportError("visualization.draw_bounding_boxes: writing class names needs Pillow; install "
                          "polykeras[image] (or pass class_mapping=None).") from err
    picture = Image.fromarray(image)
    ImageDraw.Draw(picture).text((x, max(y - int(12 * font_scale) - 2, 0)), text, fill=tuple(int(c) for c in color))
    return np.asarray(picture).copy()


def draw_bounding_boxes(images: Any, bounding_boxes: Mapping[str, Any], bounding_box_format: str,
                        class_mapping: Mapping[int, str] | None = None, color: Sequence[int] = (128, 128, 128),
                        line_thickness: int = 2, text_thickness: int = 1, font_scale: float = 1.0,
                        data_format: str | None = None) -> np.ndarray:
    """uint8 copies of ``images`` (float images in ``[0, 1]`` are scaled by
    255, others clipped to ``[0, 255]``) with each box drawn in ``color``;
    boxes labelled -1 are skipped, and labels found in ``class_mapping`` are
    written above their box (with the confidence when
    ``bounding_boxes["confidences"]`` is given).

    Example:
        >>> drawn = draw_bounding_boxes(np.zeros((1, 32, 32, 3)), {"boxes": np.array([[[4., 4., 20., 20.]]]),
        ...                             "labels": np.array([[0]])}, "xyxy")
    """
    images = _channels_last(_host(images), data_format, "draw_bounding_boxes")
    if not isinstance(bounding_boxes, Mapping) or "boxes" not in bounding_boxes or "labels" not in bounding_boxes:
        raise ValueError("visualization.draw_bounding_boxes: expected bounding_boxes as a dict with 'boxes' and "
                         f"'labels', received {type(bounding_boxes).__name__}.")
    height, width = images.shape[1], images.shape[2]
    boxes = _host(convert_format(_host(bounding_boxes["boxes"]), bounding_box_format, "xyxy", height, width))
    labels = _host(bounding_boxes["labels"])
    confidences = _host(bounding_boxes["confidences"]) if "confidences" in bounding_boxes else None
    if images.dtype.kind == "f" and images.size:
        images = np.clip(images, 0, 1) * 255 if images.max() <= 1.0 else np.clip(images, 0, 255)
    images = images.astype("uint8")
    class_mapping = class_mapping or {}
    paint = np.asarray(color, "uint8")
    result = []
    for i in range(images.shape[0]):
        image = images[i].copy()
        for j in range(boxes.shape[1]):
            label = int(labels[i][j])
            if label == -1:
                continue
            x1, y1, x2, y2 = (int(v) for v in boxes[i][j].astype("int32"))
            _rectangle(image, x1, y1, x2, y2, paint, int(line_thickness))
            if label in class_mapping:
                text = str(class_mapping[label])
                if confidences is not None:
                    text = f"{text} | {float(confidences[i][j]):.2f}"
                image = _text(image, text, x1, y1, tuple(color), font_scale)
        result.append(image)
    return np.stack(result, axis=0)


def _palette(num_classes: int) -> list[list[int]]:
    """Keras 3's class colours: ``i * (2^25 - 1, 2^15 - 1, 2^21 - 1) mod 255``."""
    palette = np.array([2 ** 25 - 1, 2 ** 15 - 1, 2 ** 21 - 1])
    return [((i * palette) % 255).tolist() for i in range(num_classes)]


def draw_segmentation_masks(images: Any, segmentation_masks: Any, num_classes: int | None = None,
                            color_mapping: Mapping[int, Sequence[int]] | None = None, alpha: float = 0.8,
                            blend: bool = True, ignore_index: int = -1, data_format: str | None = None) -> np.ndarray:
    """``images`` with each pixel of class ``c`` (``segmentation_masks``:
    integer, ``(batch, h, w, 1)``) painted in class ``c``'s colour, blended
    by ``alpha`` (pixels equal to ``ignore_index`` keep the image) and cast
    to uint8; with ``blend=False`` the painted float images. Without
    ``num_classes`` the classes are ``0 .. max - 1``, as Keras 3.

    Example:
        >>> out = draw_segmentation_masks(np.zeros((1, 4, 4, 3)), np.ones((1, 4, 4, 1), "int32"), num_classes=2)
    """
    images = _host(images)
    masks = _host(segmentation_masks)
    data_format = data_format or config.image_data_format()
    images = _channels_last(images, data_format, "draw_segmentation_masks").astype("float32")
    if data_format == "channels_first":
        masks = masks.transpose(0, 2, 3, 1)
    if masks.dtype.kind not in "iu":
        raise TypeError(f"visualization.draw_segmentation_masks: expected integer segmentation_masks, received "
                        f"dtype {masks.dtype}.")
    if num_classes is None:
        num_classes = int(masks.max())
    colors = _palette(num_classes) if color_mapping is None else [color_mapping[i] for i in range(num_classes)]
    classes = masks[..., 0]
    painted = images.copy()
    for index, colour in enumerate(colors):
        painted[classes == index] = np.asarray(colour, "float32")
    if not blend:
        return painted
    out = images * (1 - alpha) + painted * alpha
    out = np.where((classes != ignore_index)[..., None], out, images)
    return out.astype("uint8")
