"""The base of the image augmentation layers that take Keras 3's data dict.

A layer built on :class:`_DataAugmentation` is called on images (rank 3 or 4)
or on a dict ``{"images", "labels", "bounding_boxes", "segmentation_masks"}``
(any keys but ``"images"`` optional). One call draws one *transformation*
(``_transformation``, from the layer's ``SeedGenerator``) and applies it to
every part: images (``_apply``), segmentation masks (``_apply_masks``:
unchanged for colour layers, warped with nearest sampling by the geometric
ones), bounding boxes (``_apply_boxes``) and labels (``_apply_labels``).
With ``training=False`` the inputs come back unchanged (the deterministic
layers, Equalization and CLAHE, say otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer, standardize_data_format
from polykeras.layers.preprocessing.augmentation import _ImageAugmentation

__all__ = ["to_range"]  # and _DataAugmentation: private, the base of the layers and not a layer itself


class _DataAugmentation(_ImageAugmentation):
    """Shared parts of the dict-aware augmentation layers: ``data_format``,
    ``bounding_box_format``, factor parsing by name, value-range rescaling.

    Example:
        >>> class Halve(_DataAugmentation):
        ...     def _apply(self, images, transformation):
        ...         return ops.multiply(images, 0.5)
    """

    def __init__(self, seed: int | None = None, data_format: str | None = None,
                 bounding_box_format: str | None = None, **kwargs: Any):
        super().__init__(seed=seed, **kwargs)
        self.data_format = standardize_data_format(data_format, describe_layer(self))
        self.bounding_box_format = bounding_box_format

    # ------------------------------------------------------------- arguments
    def _factor_range(self, factor: Any, name: str = "factor",
                      bounds: tuple[float, float] | None = None) -> list[float]:
        """Keras 3's rule: a number ``f`` gives ``(max(-|f|, low), |f|)``, two
        numbers are sorted; each must meet ``bounds``."""
        low, high = self._FACTOR_BOUNDS if bounds is None else bounds
        message = (f"{describe_layer(self)}: expected {name} as a number or a list of two numbers in "
                   f"[{low}, {high}], received {name}={factor!r}.")
        if isinstance(factor, (list, tuple)):
            if len(factor) != 2 or not all(isinstance(f, (int, float)) and not isinstance(f, bool) for f in factor):
                raise ValueError(message)
            if factor[0] > high or factor[1] < low:
                raise ValueError(message)
            return sorted(factor)
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not low <= factor <= high:
            raise ValueError(message)
        return [max(-abs(factor), low), abs(factor)]

    def _axes(self, rank: int = 4) -> tuple[int, int, int]:
        """(height, width, channels) axes of a rank-``rank`` image tensor."""
        if self.data_format == "channels_last":
            return rank - 3, rank - 2, rank - 1
        return rank - 2, rank - 1, rank - 3

    def _check_channels(self, images: Any, expected: int = 3) -> None:
        channels = ops.shape(images)[self._axes(len(ops.shape(images)))[2]]
        if channels is not None and int(channels) != expected:
            raise ValueError(f"{describe_layer(self)}: expected images with {expected} channels "
                             f"({self.data_format}), received images of shape {tuple(ops.shape(images))}.")

    def _uniform(self, shape: tuple, low: float, high: float) -> Any:
        """Uniform draws in ``[low, high)``, the constant where ``low == high``."""
        if low == high:
            return ops.full(shape, float(low), dtype=self.dtype)
        return ops.cast(ops.random.uniform(shape, minval=low, maxval=high, seed=self.generator), self.dtype)

    # ------------------------------------------------------------------ call
    def call(self, inputs: Any, training: Any = True) -> Any:
        if not training:
            return inputs
        is_dict = isinstance(inputs, dict)
        if is_dict and "images" not in inputs:
            raise ValueError(f"{describe_layer(self)}: expected a dict with an 'images' key, received keys "
                             f"{sorted(inputs)}.")
        images, added = self._images(inputs["images"] if is_dict else inputs)
        transformation = self._transformation(images)
        out_images = self._apply(images, transformation)
        out_images = ops.squeeze(out_images, 0) if added else out_images
        if not is_dict:
            return out_images
        out = dict(inputs)
        out["images"] = out_images
        if "labels" in inputs:
            out["labels"] = self._apply_labels(inputs["labels"], transformation, images)
        if "segmentation_masks" in inputs:
            masks = ops.convert_to_tensor(inputs["segmentation_masks"])
            masks = ops.expand_dims(masks, 0) if added else masks
            masks = self._apply_masks(masks, transformation)
            out["segmentation_masks"] = ops.squeeze(masks, 0) if added else masks
        if "bounding_boxes" in inputs:
            if not self.bounding_box_format:
                raise ValueError(f"{describe_layer(self)}: received a 'bounding_boxes' key but no "
                                 "bounding_box_format; pass e.g. bounding_box_format='xyxy'.")
            out["bounding_boxes"] = self._boxes(inputs["bounding_boxes"], transformation, images, added)
        return out

    def _boxes(self, boxes: dict, transformation: Any, images: Any, added: bool) -> dict:
        boxes = dict(boxes)
        values = ops.cast(ops.convert_to_tensor(boxes["boxes"]), "float32")
        values = ops.expand_dims(values, 0) if added else values
        values = self._apply_boxes(values, transformation, images)
        boxes["boxes"] = ops.squeeze(values, 0) if added else values
        return boxes

    def _transformation(self, images: Any) -> Any:
        return None

    def _apply(self, images: Any, transformation: Any) -> Any:
        raise NotImplementedError

    def _apply_labels(self, labels: Any, transformation: Any, images: Any) -> Any:
        return labels

    def _apply_masks(self, masks: Any, transformation: Any) -> Any:
        return masks

    def _apply_boxes(self, boxes: Any, transformation: Any, images: Any) -> Any:
        return boxes

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "data_format": self.data_format}
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        return config


def to_range(images: Any, source: Sequence[float], target: Sequence[float]) -> Any:
    """``images`` linearly mapped from the ``source`` value range to ``target``.
    Example: ``to_range(x, (0, 255), (0, 1))``"""
    if float(source[0]) == float(target[0]) and float(source[1]) == float(target[1]):
        return images
    scaled = ops.divide(ops.subtract(images, float(source[0])), float(source[1]) - float(source[0]))
    return ops.add(ops.multiply(scaled, float(target[1]) - float(target[0])), float(target[0]))
