"""Region augmentations and box bookkeeping with Keras 3's arguments:
``RandomErasing`` (a random rectangle per image filled with noise or a
value), ``CutMix`` (a rectangle pasted from another image of the batch, the
labels mixed by area) and ``MaxNumBoundingBoxes`` (pads or cuts the box
lists to a fixed length).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.layer import Layer
from polykeras.layers.preprocessing.data_augmentation import _DataAugmentation

__all__ = ["CutMix", "MaxNumBoundingBoxes", "RandomErasing"]


class _Rectangles(_DataAugmentation):
    """One random axis-aligned rectangle per image, as a boolean mask."""

    _FACTOR_BOUNDS = (0.0, 1.0)

    def _bounds(self, batch: Any, length: int, ratio: Any) -> tuple[Any, Any]:
        size = ops.multiply(ratio, float(length))
        start = ops.multiply(self._uniform((batch,), 0.0, 1.0), ops.subtract(float(length), size))
        return start, ops.add(start, size)

    def _mask(self, images: Any, x0: Any, x1: Any, y0: Any, y1: Any) -> Any:
        h_axis, w_axis, c_axis = self._axes()
        shape = ops.shape(images)
        height, width = int(shape[h_axis]), int(shape[w_axis])
        grid_shape = [1, 1, 1, 1]
        grid_shape[h_axis] = height
        ys = ops.reshape(ops.arange(height, dtype=self.dtype), grid_shape)
        grid_shape = [1, 1, 1, 1]
        grid_shape[w_axis] = width
        xs = ops.reshape(ops.arange(width, dtype=self.dtype), grid_shape)
        x0, x1, y0, y1 = (ops.reshape(v, (-1, 1, 1, 1)) for v in (x0, x1, y0, y1))
        inside = ops.logical_and(ops.logical_and(ops.greater_equal(xs, x0), ops.less(xs, x1)),
                                 ops.logical_and(ops.greater_equal(ys, y0), ops.less(ys, y1)))
        target = list(shape)
        target[0] = ops.shape(inside)[0]
        return ops.broadcast_to(inside, tuple(target))


class RandomErasing(_Rectangles):
    """Erases one rectangle per image with probability drawn from
    ``factor``: its sides are ``sqrt(s)`` of the image's, ``s`` drawn per
    side from ``scale``; it is filled with ``fill_value`` (a number or one
    per channel) or, when ``None``, with Gaussian noise times
    ``value_range[1]``, clipped to ``value_range``.

    Example:
        >>> y = RandomErasing(fill_value=0.0, seed=1)(np.random.rand(2, 16, 16, 3).astype("float32") * 255)
    """

    def __init__(self, factor: float | Sequence[float] = 1.0, scale: float | Sequence[float] = (0.02, 0.33),
                 fill_value: float | Sequence[float] | None = None, value_range: Sequence[float] = (0, 255),
                 seed: int | None = None, data_format: str | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = self._factor_range(factor)
        self.scale = self._factor_range(scale, "scale")
        if not (fill_value is None or (isinstance(fill_value, (int, float)) and not isinstance(fill_value, bool))
                or (isinstance(fill_value, (list, tuple)) and len(fill_value) == 3)):
            raise ValueError(f"{describe_layer(self)}: expected fill_value None, a number or three numbers, received "
                             f"fill_value={fill_value!r}.")
        self.fill_value = list(fill_value) if isinstance(fill_value, tuple) else fill_value
        self._range = self._parse_value_range(value_range)
        self.value_range = list(value_range) if isinstance(value_range, (list, tuple)) else value_range

    def _transformation(self, images: Any) -> Any:
        batch = ops.shape(images)[0]
        h_axis, w_axis, c_axis = self._axes()
        height, width = int(ops.shape(images)[h_axis]), int(ops.shape(images)[w_axis])
        ratio_x = ops.sqrt(self._uniform((batch,), *self.scale))
        ratio_y = ops.sqrt(self._uniform((batch,), *self.scale))
        x0, x1 = self._bounds(batch, width, ratio_x)
        y0, y1 = self._bounds(batch, height, ratio_y)
        probability = self._uniform((batch,), *self.factor)
        apply = ops.less(ops.random.uniform((batch,), 0.0, 1.0, seed=self.generator), probability)
        mask = ops.logical_and(self._mask(images, x0, x1, y0, y1), ops.reshape(apply, (-1, 1, 1, 1)))
        if self.fill_value is None:
            fill = ops.multiply(ops.random.normal(tuple(ops.shape(images)), seed=self.generator), self._range[1])
        elif isinstance(self.fill_value, list):
            shape = [1, 1, 1, 1]
            shape[c_axis] = 3
            fill = ops.reshape(ops.convert_to_tensor(np.asarray(self.fill_value, "float32")), shape)
        else:
            fill = ops.convert_to_tensor(float(self.fill_value))
        return mask, ops.clip(ops.cast(fill, self.dtype), self._range[0], self._range[1])

    def _apply(self, images: Any, transformation: Any) -> Any:
        mask, fill = transformation
        return ops.where(mask, fill, images)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "scale": self.scale, "fill_value": self.fill_value,
                "value_range": self.value_range}


class CutMix(_Rectangles):
    """CutMix (Yun et al., 2019): each image gets a rectangle pasted from
    another image of the batch (a random permutation); the rectangle covers
    ``1 - w`` of the image with ``w ~ Beta(a, a)``, ``a`` drawn from
    ``factor``; labels (in the data dict) mix by the kept area. A single
    image is returned unchanged.

    Example:
        >>> out = CutMix(seed=1)({"images": np.random.rand(4, 8, 8, 3).astype("float32"),
        ...                       "labels": np.eye(4, dtype="float32")})
    """

    def __init__(self, factor: float | Sequence[float] = 1.0, seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = self._factor_range(factor)

    def call(self, inputs: Any, training: Any = True) -> Any:
        images = inputs["images"] if isinstance(inputs, dict) else inputs
        if len(ops.shape(images)) == 3:
            return inputs
        return super().call(inputs, training=training)

    def _transformation(self, images: Any) -> Any:
        batch = ops.shape(images)[0]
        h_axis, w_axis, _ = self._axes()
        height, width = int(ops.shape(images)[h_axis]), int(ops.shape(images)[w_axis])
        alpha = ops.add(self._uniform((), *self.factor), 1e-6)
        weight = ops.cast(ops.random.beta((batch,), alpha, alpha, seed=self.generator), self.dtype)
        ratio = ops.sqrt(ops.subtract(1.0, weight))
        x0, x1 = self._bounds(batch, width, ratio)
        y0, y1 = self._bounds(batch, height, ratio)
        mask = self._mask(images, x0, x1, y0, y1)
        kept = ops.subtract(1.0, ops.divide(ops.multiply(ops.subtract(x1, x0), ops.subtract(y1, y0)),
                                            float(width * height)))
        order = ops.random.shuffle(ops.arange(batch, dtype="int32"), seed=self.generator)
        return order, mask, kept

    def _apply(self, images: Any, transformation: Any) -> Any:
        order, mask, _ = transformation
        return ops.where(mask, ops.take(images, order, axis=0), images)

    def _apply_masks(self, masks: Any, transformation: Any) -> Any:
        order, mask, _ = transformation
        channels = ops.shape(masks)[self._axes()[2]]
        region = mask if int(channels) == int(ops.shape(mask)[self._axes()[2]]) else \
            ops.take(mask, [0] * int(channels), axis=self._axes()[2])
        return ops.where(region, ops.take(masks, order, axis=0), masks)

    def _apply_labels(self, labels: Any, transformation: Any, images: Any) -> Any:
        order, _, kept = transformation
        labels = ops.cast(ops.convert_to_tensor(labels), self.dtype)
        kept = ops.reshape(kept, (-1,) + (1,) * (len(ops.shape(labels)) - 1))
        partner = ops.take(labels, order, axis=0)
        return ops.add(ops.multiply(kept, labels), ops.multiply(ops.subtract(1.0, kept), partner))

    def _apply_boxes(self, boxes: Any, transformation: Any, images: Any) -> Any:
        raise NotImplementedError(f"{describe_layer(self)}: bounding boxes are not supported (as Keras 3); expected "
                                  "no 'bounding_boxes' key.")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


class MaxNumBoundingBoxes(Layer):
    """Gives every image exactly ``max_number`` boxes: longer box lists are
    cut, shorter ones padded with ``fill_value`` (boxes and labels alike).
    Called on the data dict (``{"images", "bounding_boxes": {"boxes",
    "labels"}}``); images and everything else pass unchanged (so do images
    called alone).

    Example:
        >>> layer = MaxNumBoundingBoxes(4, bounding_box_format="xyxy")
        >>> out = layer({"images": np.zeros((1, 8, 8, 3), "float32"), "bounding_boxes": {
        ...     "boxes": np.ones((1, 2, 4), "float32"), "labels": np.ones((1, 2), "int32")}})
    """

    def __init__(self, max_number: int, fill_value: int = -1, **kwargs: Any):
        bounding_box_format = kwargs.pop("bounding_box_format", None)
        super().__init__(**kwargs)
        self.bounding_box_format = bounding_box_format
        if isinstance(max_number, bool) or not isinstance(max_number, (int, np.integer)) or max_number < 1:
            raise ValueError(f"{describe_layer(self)}: expected max_number to be a positive int, received "
                             f"max_number={max_number!r}.")
        self.max_number = int(max_number)
        self.fill_value = int(fill_value)

    def _fit(self, values: Any, batched: bool) -> Any:
        values = ops.convert_to_tensor(values)
        axis = 1 if batched else 0
        count = int(ops.shape(values)[axis])
        if count >= self.max_number:
            start = [0] * len(ops.shape(values))
            size = list(ops.shape(values))
            size[axis] = self.max_number
            return ops.slice(values, start, size)
        widths = [(0, 0)] * len(ops.shape(values))
        widths[axis] = (0, self.max_number - count)
        return ops.pad(values, widths, constant_values=self.fill_value)

    def call(self, inputs: Any) -> Any:
        if not isinstance(inputs, dict) or "bounding_boxes" not in inputs:
            return inputs  # images alone (or a dict without boxes) pass unchanged, as Keras 3
        if not self.bounding_box_format:
            raise ValueError(f"{describe_layer(self)}: received a 'bounding_boxes' key but no bounding_box_format; "
                             "pass e.g. bounding_box_format='xyxy'.")
        boxes = dict(inputs["bounding_boxes"])
        batched = len(ops.shape(boxes["boxes"])) == 3
        boxes["boxes"] = self._fit(boxes["boxes"], batched)
        if "labels" in boxes:
            boxes["labels"] = self._fit(boxes["labels"], batched)
        out = dict(inputs)
        out["bounding_boxes"] = boxes
        return out

    def compute_output_shape(self, input_shape: Any) -> Any:
        if isinstance(input_shape, dict) and "bounding_boxes" in input_shape:
            shape = dict(input_shape)
            boxes = dict(shape["bounding_boxes"])
            for key in ("boxes", "labels"):
                if key in boxes:
                    value = list(boxes[key])
                    value[1 if len(value) == (3 if key == "boxes" else 2) else 0] = self.max_number
                    boxes[key] = tuple(value)
            shape["bounding_boxes"] = boxes
            return shape
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "max_number": self.max_number, "fill_value": self.fill_value}
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        return config
