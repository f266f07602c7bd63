"""Box format conversion, clipping, cropping and padding (Keras 3's rules)."""

from __future__ import annotations

from typing import Any

from polykeras import ops

__all__ = ["FORMATS", "clip_to_image_size", "convert_format", "crop", "pad"]

FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh",
           "rel_center_xywh")


def _split(boxes: Any) -> list[Any]:
    return [boxes[..., i] for i in range(4)]


def _to_xyxy(b: list[Any], source: str, height: Any, width: Any) -> list[Any]:
    base = source[4:] if source.startswith("rel_") else source
    if base == "xyxy":
        x1, y1, x2, y2 = b
    elif base == "yxyx":
        y1, x1, y2, x2 = b
    elif base == "xywh":
        x1, y1 = b[0], b[1]
        x2, y2 = ops.add(b[0], b[2]), ops.add(b[1], b[3])
    elif base == "center_xywh":
        x1, y1 = ops.subtract(b[0], ops.divide(b[2], 2.0)), ops.subtract(b[1], ops.divide(b[3], 2.0))
        x2, y2 = ops.add(b[0], ops.divide(b[2], 2.0)), ops.add(b[1], ops.divide(b[3], 2.0))
    else:  # center_yxhw
        x1, y1 = ops.subtract(b[1], ops.divide(b[3], 2.0)), ops.subtract(b[0], ops.divide(b[2], 2.0))
        x2, y2 = ops.add(b[1], ops.divide(b[3], 2.0)), ops.add(b[0], ops.divide(b[2], 2.0))
    if source.startswith("rel_"):
        x1, x2 = ops.multiply(x1, width), ops.multiply(x2, width)
        y1, y2 = ops.multiply(y1, height), ops.multiply(y2, height)
    return [x1, y1, x2, y2]


def _from_xyxy(b: list[Any], target: str, height: Any, width: Any) -> list[Any]:
    x1, y1, x2, y2 = b
    if target.startswith("rel_"):
        x1, x2 = ops.divide(x1, width), ops.divide(x2, width)
        y1, y2 = ops.divide(y1, height), ops.divide(y2, height)
    base = target[4:] if target.startswith("rel_") else target
    if base == "xyxy":
        return [x1, y1, x2, y2]
    if base == "yxyx":
        return [y1, x1, y2, x2]
    w, h = ops.subtract(x2, x1), ops.subtract(y2, y1)
    if base == "xywh":
        return [x1, y1, w, h]
    cx, cy = ops.divide(ops.add(x1, x2), 2.0), ops.divide(ops.add(y1, y2), 2.0)
    if base == "center_xywh":
        return [cx, cy, w, h]
    return [cy, cx, h, w]  # center_yxhw


def convert_format(boxes: Any, source: str, target: str, height: Any = None, width: Any = None,
                   dtype: str = "float32") -> Any:
    """Boxes (a ``(..., 4)`` tensor, or a dict whose ``"boxes"`` is one)
    converted from ``source`` format to ``target``; relative formats need
    ``height`` and ``width``.

    Example:
        >>> convert_format(np.array([[10., 20., 30., 40.]]), "xyxy", "xywh")   # [[10, 20, 20, 20]]
    """
    if isinstance(boxes, dict):
        out = dict(boxes)
        out["boxes"] = convert_format(boxes["boxes"], source, target, height, width, dtype)
        return out
    source, target = source.lower(), target.lower()
    for name, value in (("source", source), ("target", target)):
        if value not in FORMATS:
            raise ValueError(f"bounding_boxes.convert_format: expected {name} in {FORMATS}, received "
                             f"{name}={value!r}.")
    values = ops.cast(ops.convert_to_tensor(boxes), dtype)
    shape = tuple(ops.shape(values))
    if len(shape) not in (2, 3) or shape[-1] != 4:
        raise ValueError(f"bounding_boxes.convert_format: expected boxes of shape (N, 4) or (batch, N, 4), "
                         f"received shape {shape}.")
    if (source.startswith("rel_") or target.startswith("rel_")) and (height is None or width is None):
        raise ValueError(f"bounding_boxes.convert_format: converting {source!r} to {target!r} needs height and "
                         f"width, received height={height!r}, width={width!r}.")
    if source == target:
        return values
    if height is not None:
        height, width = ops.cast(height, dtype), ops.cast(width, dtype)
    return ops.stack(_from_xyxy(_to_xyxy(_split(values), source, height, width), target, height, width), axis=-1)


def clip_to_image_size(bounding_boxes: dict, height: Any = None, width: Any = None,
                       bounding_box_format: str = "xyxy") -> dict:
    """Boxes clipped to the image (``xyxy``: to ``[0, width] x [0, height]``,
    ``rel_xyxy``: to ``[0, 1]``); a box left with no area gets label -1.

    Example:
        >>> clip_to_image_size({"boxes": np.array([[-10., -20., 150., 160.]]), "labels": np.array([0])}, 100, 120)
    """
    if bounding_box_format not in ("xyxy", "rel_xyxy"):
        raise NotImplementedError(f"bounding_boxes.clip_to_image_size: expected bounding_box_format 'xyxy' or "
                                  f"'rel_xyxy', received {bounding_box_format!r}.")
    if bounding_box_format == "xyxy" and (height is None or width is None):
        raise ValueError("bounding_boxes.clip_to_image_size: format 'xyxy' needs height and width, received "
                         f"height={height!r}, width={width!r}.")
    boxes = ops.convert_to_tensor(bounding_boxes["boxes"])
    high_x, high_y = (1.0, 1.0) if bounding_box_format == "rel_xyxy" else (float(width), float(height))
    x1, y1, x2, y2 = _split(boxes)
    x1, x2 = ops.clip(x1, 0.0, high_x), ops.clip(x2, 0.0, high_x)
    y1, y2 = ops.clip(y1, 0.0, high_y), ops.clip(y2, 0.0, high_y)
    result = dict(bounding_boxes)
    result["boxes"] = ops.stack([x1, y1, x2, y2], axis=-1)
    if bounding_boxes.get("labels") is not None:
        area = ops.multiply(ops.subtract(x2, x1), ops.subtract(y2, y1))
        labels = ops.convert_to_tensor(bounding_boxes["labels"])
        result["labels"] = ops.where(ops.greater(area, 0.0), labels, ops.cast(-1, ops.dtype(labels)))
    return result


def crop(boxes: Any, top: Any, left: Any, height: Any, width: Any, bounding_box_format: str = "xyxy") -> Any:
    """``xyxy`` boxes moved by ``(-left, -top)`` and clipped to the
    ``height x width`` window. Example: ``crop(boxes, 10, 20, 100, 100)``"""
    if bounding_box_format != "xyxy":
        raise NotImplementedError(f"bounding_boxes.crop: expected bounding_box_format 'xyxy', received "
                                  f"{bounding_box_format!r}.")
    x1, y1, x2, y2 = _split(ops.convert_to_tensor(boxes))
    x1, x2 = ops.clip(ops.subtract(x1, left), 0, width), ops.clip(ops.subtract(x2, left), 0, width)
    y1, y2 = ops.clip(ops.subtract(y1, top), 0, height), ops.clip(ops.subtract(y2, top), 0, height)
    return ops.stack([x1, y1, x2, y2], axis=-1)


def pad(boxes: Any, top: Any, left: Any, height: Any = None, width: Any = None,
        bounding_box_format: str = "xyxy") -> Any:
    """``xyxy`` boxes moved by ``(left, top)`` (the image padded on its top
    and left). Example: ``pad(boxes, 10, 20)``"""
    if bounding_box_format != "xyxy":
        raise NotImplementedError(f"bounding_boxes.pad: expected bounding_box_format 'xyxy', received "
                                  f"{bounding_box_format!r}.")
    x1, y1, x2, y2 = _split(ops.convert_to_tensor(boxes))
    return ops.stack([ops.add(x1, left), ops.add(y1, top), ops.add(x2, left), ops.add(y2, top)], axis=-1)
