"""Warping augmentations with Keras 3's arguments and numbers:
``RandomShear`` and ``RandomPerspective`` (images, segmentation masks with
nearest sampling, bounding boxes) and ``RandomElasticTransform`` (images and
masks; Keras 3 has no box rule for it, so boxes are refused by name).

Built on ``ops.image.affine_transform``, ``perspective_transform`` and
``elastic_transform``; one transformation is drawn per call from the
layer's ``SeedGenerator``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.preprocessing.data_augmentation import _DataAugmentation
from polykeras.ops import image as image_ops

__all__ = ["RandomElasticTransform", "RandomPerspective", "RandomShear"]

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")


def _boxes() -> Any:
    """``polykeras.utils.bounding_boxes``, imported on the first box moved:
    ``polykeras.utils`` brings the saving stack, which importing layers must not."""
    from polykeras.utils import bounding_boxes

    return bounding_boxes


class _Warp(_DataAugmentation):
    """Interpolation and fill checks; the image size of a batch."""

    _FACTOR_BOUNDS = (0.0, 1.0)

    def _check_modes(self, interpolation: str, fill_mode: str | None = None) -> None:
        who = describe_layer(self)
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"{who}: expected interpolation 'nearest' or 'bilinear', received "
                             f"interpolation={interpolation!r}.")
        if fill_mode is not None and fill_mode not in _FILL_MODES:
            raise ValueError(f"{who}: expected fill_mode in {_FILL_MODES}, received fill_mode={fill_mode!r}.")

    def _hw(self, images: Any) -> tuple[int, int]:
        h_axis, w_axis, _ = self._axes()
        shape = ops.shape(images)
        return int(shape[h_axis]), int(shape[w_axis])

    def _apply(self, images: Any, transformation: Any) -> Any:
        return self._warp(images, transformation, self.interpolation)

    def _apply_masks(self, masks: Any, transformation: Any) -> Any:
        dtype = ops.dtype(masks)
        out = self._warp(ops.cast(masks, self.dtype), transformation, "nearest")
        return ops.cast(out, dtype)

    def _warp(self, images: Any, transformation: Any, interpolation: str) -> Any:
        raise NotImplementedError


class RandomShear(_Warp):
    """Shears each image along x by ``x_factor`` and along y by
    ``y_factor`` (numbers in ``[0, 1]``: ``f`` gives ``[-f, f]``; the same
    random sign for both), as Keras 3's matrix ``[[1, sx], [sy, 1]]``.
    Bounding boxes (with ``bounding_box_format``) follow, clipped to the image.

    Example:
        >>> y = RandomShear(x_factor=0.2, seed=1)(np.random.rand(2, 8, 8, 3).astype("float32"))
    """

    def __init__(self, x_factor: float | Sequence[float] = 0.0, y_factor: float | Sequence[float] = 0.0,
                 interpolation: str = "bilinear", fill_mode: str = "reflect", fill_value: float = 0.0,
                 data_format: str | None = None, seed: int | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.x_factor = self._shear_range(x_factor, "x_factor")
        self.y_factor = self._shear_range(y_factor, "y_factor")
        self._check_modes(interpolation, fill_mode)
        self.interpolation = interpolation
        self.fill_mode = fill_mode
        self.fill_value = fill_value

    def _shear_range(self, factor: Any, name: str) -> list[float]:
        values = list(factor) if isinstance(factor, (list, tuple)) else [factor]
        low = 0.0 if len(values) == 1 else -1.0  # a pair may be negative, so get_config's [-f, f] loads again
        if len(values) not in (1, 2) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                and low <= v <= 1.0 for v in values):
            raise ValueError(f"{describe_layer(self)}: expected {name} as a number in [0, 1] or two numbers in "
                             f"[-1, 1], received {name}={factor!r}.")
        return [-float(values[0]), float(values[0])] if len(values) == 1 else sorted(float(v) for v in values)

    def _transformation(self, images: Any) -> Any:
        batch = ops.shape(images)[0]
        sign = ops.where(ops.greater(self._uniform((batch,), 0.0, 1.0), 0.5), -1.0, 1.0)
        shear_x = ops.multiply(self._uniform((batch,), *self.x_factor), sign)
        shear_y = ops.multiply(self._uniform((batch,), *self.y_factor), sign)
        return shear_x, shear_y

    def _warp(self, images: Any, transformation: Any, interpolation: str) -> Any:
        shear_x, shear_y = transformation
        ones, zeros = ops.ones_like(shear_x), ops.zeros_like(shear_x)
        matrix = ops.stack([ones, shear_x, zeros, shear_y, ones, zeros, zeros, zeros], axis=1)
        return image_ops.affine_transform(images, matrix, interpolation=interpolation, fill_mode=self.fill_mode,
                                          fill_value=self.fill_value, data_format=self.data_format)

    def _apply_boxes(self, boxes: Any, transformation: Any, images: Any) -> Any:
        height, width = self._hw(images)
        rel = _boxes().convert_format(boxes, self.bounding_box_format, "rel_xyxy", height, width, self.dtype)
        sx, sy = (ops.reshape(t, (-1, 1)) for t in transformation)
        x1, y1, x2, y2 = (rel[..., i] for i in range(4))
        negative_x = ops.less(sx, 0.0)
        x1 = ops.where(negative_x, ops.subtract(x1, ops.multiply(sx, y1)), ops.subtract(x1, ops.multiply(sx, y2)))
        x2 = ops.where(negative_x, ops.subtract(x2, ops.multiply(sx, y2)), ops.subtract(x2, ops.multiply(sx, y1)))
        positive_y = ops.greater(sy, 0.0)
        y1 = ops.where(positive_y, ops.subtract(y1, ops.multiply(sy, x2)), ops.subtract(y1, ops.multiply(sy, x1)))
        y2 = ops.where(positive_y, ops.subtract(y2, ops.multiply(sy, x1)), ops.subtract(y2, ops.multiply(sy, x2)))
        boxes_module = _boxes()
        clipped = boxes_module.clip_to_image_size({"boxes": ops.stack([x1, y1, x2, y2], axis=-1)},
                                                  bounding_box_format="rel_xyxy")
        return boxes_module.convert_format(clipped["boxes"], "rel_xyxy", self.bounding_box_format, height, width,
                                           self.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "x_factor": self.x_factor, "y_factor": self.y_factor,
                "fill_mode": self.fill_mode, "interpolation": self.interpolation, "fill_value": self.fill_value}


class RandomPerspective(_Warp):
    """Moves each image's four corners by up to ``scale / 2`` of their
    coordinates (uniform per corner) and warps the image to match, with
    probability drawn from ``factor`` (in ``[0, 1]``); points read from
    outside get ``fill_value``. Bounding boxes follow (the box of the moved
    corners, clipped to the image).

    Example:
        >>> y = RandomPerspective(scale=0.3, seed=1)(np.random.rand(2, 8, 8, 3).astype("float32"))
    """

    def __init__(self, factor: float | Sequence[float] = 1.0, scale: float = 1.0, interpolation: str = "bilinear",
                 fill_value: float = 0.0, seed: int | None = None, data_format: str | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = self._factor_range(factor)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0.0 <= scale <= 1.0:
            raise ValueError(f"{describe_layer(self)}: expected scale as a number in [0, 1], received "
                             f"scale={scale!r}.")
        self._check_modes(interpolation)
        self.scale = scale
        self.interpolation = interpolation
        self.fill_value = fill_value

    def _transformation(self, images: Any) -> Any:
        batch = ops.shape(images)[0]
        height, width = self._hw(images)
        probability = self._uniform((batch,), *self.factor)
        apply = ops.less(ops.random.uniform((batch,), 0.0, 1.0, seed=self.generator), probability)
        moves = self._uniform((batch, 4, 2), -0.5 * self.scale, 0.5 * self.scale)
        corners = np.array([[0.0, 0.0], [width - 1, 0.0], [0.0, height - 1], [width - 1, height - 1]])
        start = ops.multiply(ops.ones((batch, 4, 2), self.dtype), ops.convert_to_tensor(corners, self.dtype))
        end = ops.add(start, ops.multiply(start, moves))
        return apply, start, end

    def _warp(self, images: Any, transformation: Any, interpolation: str) -> Any:
        apply, start, end = transformation
        out = image_ops.perspective_transform(images, start, end, interpolation=interpolation,
                                              fill_value=self.fill_value, data_format=self.data_format)
        return ops.where(ops.reshape(apply, (-1, 1, 1, 1)), out, images)

    def _apply_boxes(self, boxes: Any, transformation: Any, images: Any) -> Any:
        apply, start, end = transformation
        height, width = self._hw(images)
        xyxy = _boxes().convert_format(boxes, self.bounding_box_format, "xyxy", height, width, self.dtype)
        # the homography maps output points to input points; boxes go the other way: its inverse
        matrix = ops.concatenate([image_ops._homography(start, end), ops.ones((ops.shape(start)[0], 1), self.dtype)],
                                 axis=1)
        inverse = ops.linalg.inv(ops.reshape(matrix, (-1, 3, 3)))
        x0, y0, x1, y1 = (xyxy[..., i] for i in range(4))
        xs, ys = [], []
        for x, y in ((x0, y0), (x1, y1), (x0, y1), (x1, y0)):
            points = ops.stack([x, y, ops.ones_like(x)], axis=-1)  # (batch, n, 3)
            moved = ops.einsum("bij,bnj->bni", inverse, points)
            xs.append(ops.divide(moved[..., 0], moved[..., 2]))
            ys.append(ops.divide(moved[..., 1], moved[..., 2]))
        xs, ys = ops.stack(xs, axis=-1), ops.stack(ys, axis=-1)
        moved_boxes = ops.stack([ops.min(xs, axis=-1), ops.min(ys, axis=-1), ops.max(xs, axis=-1),
                                 ops.max(ys, axis=-1)], axis=-1)
        xyxy = ops.where(ops.reshape(apply, (-1, 1, 1)), moved_boxes, xyxy)
        clipped = _boxes().clip_to_image_size({"boxes": xyxy}, height, width, "xyxy")
        return _boxes().convert_format(clipped["boxes"], "xyxy", self.bounding_box_format, height, width, self.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "scale": self.scale,
                "interpolation": self.interpolation, "fill_value": self.fill_value}


class RandomElasticTransform(_Warp):
    """Elastic distortion (``ops.image.elastic_transform``) with probability
    drawn from ``factor``: a strength ``s`` drawn once per call from
    ``scale`` gives ``alpha = 0.1 s max(h, w)`` and ``sigma = 0.05 s min(h, w)``;
    the result is clipped to ``value_range``. ``s`` sizes the field's Gaussian
    kernel, so it is drawn on the host (seeded by ``seed``; fixed at trace
    time inside a compiled step, while the field is drawn at every step). Boxes are refused (Keras 3 has
    no rule for them either).

    Example:
        >>> y = RandomElasticTransform(scale=0.5, seed=1)(np.random.rand(2, 16, 16, 3).astype("float32") * 255)
    """

    def __init__(self, factor: float | Sequence[float] = 1.0, scale: float | Sequence[float] = 1.0,
                 interpolation: str = "bilinear", fill_mode: str = "reflect", fill_value: float = 0.0,
                 value_range: Sequence[float] = (0, 255), seed: int | None = None, data_format: str | None = None,
                 **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = self._factor_range(factor)
        self.scale = self._factor_range(scale, "scale")
        self._check_modes(interpolation, fill_mode)
        self.interpolation = interpolation
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self._range = self._parse_value_range(value_range)
        self.value_range = list(value_range) if isinstance(value_range, (list, tuple)) else value_range
        self._strengths = np.random.default_rng(seed)

    def _transformation(self, images: Any) -> Any:
        if self.scale[1] == 0 or self.factor[1] == 0:
            return None
        batch = ops.shape(images)[0]
        probability = self._uniform((batch,), *self.factor)
        apply = ops.less(ops.random.uniform((batch,), 0.0, 1.0, seed=self.generator), probability)
        # the strength sizes the field's Gaussian kernel, so it is a host number: drawn on the host from the
        # layer's seed (fixed at trace time inside a compiled step; the field itself is drawn per call)
        low, high = self.scale
        strength = float(self._strengths.uniform(low, high)) if low != high else low
        return apply, strength

    def _warp(self, images: Any, transformation: Any, interpolation: str) -> Any:
        if transformation is None:
            return images
        apply, strength = transformation
        height, width = self._hw(images)
        alpha, sigma = max(height, width) * 0.1 * strength, min(height, width) * 0.05 * strength
        if sigma <= 0:
            return images
        out = image_ops.elastic_transform(images, alpha=alpha, sigma=sigma, interpolation=interpolation,
                                          fill_mode=self.fill_mode, fill_value=self.fill_value,
                                          seed=self.generator, data_format=self.data_format)
        out = ops.where(ops.reshape(apply, (-1, 1, 1, 1)), out, images)
        return ops.clip(out, self._range[0], self._range[1])

    def _apply_masks(self, masks: Any, transformation: Any) -> Any:
        return masks if transformation is None else super()._apply_masks(masks, transformation)

    def _apply_boxes(self, boxes: Any, transformation: Any, images: Any) -> Any:
        raise NotImplementedError(f"{describe_layer(self)}: bounding boxes are not supported (Keras 3 has no rule "
                                  "for moving them under an elastic field); expected no 'bounding_boxes' key.")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "scale": self.scale,
                "interpolation": self.interpolation, "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                "value_range": self.value_range}
