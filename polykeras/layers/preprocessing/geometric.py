"""Geometric image augmentations built on ``ops.image.affine_transform``:
``RandomRotation``, ``RandomTranslation`` and ``RandomZoom``.

Each draws one transform per image from its ``SeedGenerator`` when called
with ``training=True`` (the default) and returns its inputs unchanged with
``training=False``; points that fall outside the image follow ``fill_mode``
(``"reflect"`` by default, as Keras 3). A factor given as ``(a, a)`` fixes
the transform, which is how the tests compare the numbers with Keras 3.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer, standardize_data_format
from polykeras.layers.preprocessing.augmentation import _ImageAugmentation
from polykeras.ops import image as image_ops

__all__ = ["RandomCrop", "RandomRotation", "RandomTranslation", "RandomZoom"]

#: Keras 3's layers take these (``ops.image.affine_transform`` also takes ``"mirror"``).
FILL_MODES = ("reflect", "wrap", "constant", "nearest")


class _AffineAugmentation(_ImageAugmentation):
    """Shared parts: fill mode, interpolation, fill value, data format."""

    def __init__(self, fill_mode: str, interpolation: str, seed: int | None, fill_value: float,
                 data_format: str | None, **kwargs: Any):
        super().__init__(seed=seed, **kwargs)
        who = describe_layer(self)
        if fill_mode not in FILL_MODES:
            raise ValueError(f"{who}: expected fill_mode in {FILL_MODES}, received fill_mode={fill_mode!r}.")
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"{who}: expected interpolation 'nearest' or 'bilinear', received "
                             f"interpolation={interpolation!r}.")
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = float(fill_value)
        self.data_format = standardize_data_format(data_format, who)

    def _range(self, factor: Any, name: str) -> list[float]:
        """A number ``f`` -> ``[-f, f]``; two numbers sorted; each in ``(-1, 1]``."""
        message = (f"{describe_layer(self)}: expected {name} as a number or a list of two numbers in (-1, 1], "
                   f"received {name}={factor!r}.")
        values = list(factor) if isinstance(factor, (list, tuple)) else [factor]
        if len(values) not in (1, 2) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and -1.0 < v <= 1.0 for v in values):
            raise ValueError(message)
        if len(values) == 1:
            return [-abs(float(values[0])), abs(float(values[0]))]
        return [float(v) for v in sorted(values)]

    def _draw(self, batch: int, bounds: Sequence[float]) -> Any:
        """One draw per image in ``[bounds[0], bounds[1]]``, shape ``(batch,)``."""
        if bounds[0] == bounds[1]:
            return ops.full((batch,), bounds[0], dtype="float32")
        return ops.random.uniform((batch,), minval=bounds[0], maxval=bounds[1], seed=self.generator)

    def _size(self, images: Any) -> tuple[int, int, int]:
        shape = ops.shape(images)
        h, w = (shape[1], shape[2]) if self.data_format == "channels_last" else (shape[2], shape[3])
        return shape[0], h, w

    def _augment(self, images: Any) -> Any:
        transform = ops.stack(self._transform(*self._size(images)), axis=1)
        return image_ops.affine_transform(images, transform, interpolation=self.interpolation,
                                          fill_mode=self.fill_mode, fill_value=self.fill_value,
                                          data_format=self.data_format)

    def _transform(self, batch: int, height: int, width: int) -> list[Any]:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "fill_value": self.fill_value, "data_format": self.data_format}


class RandomRotation(_AffineAugmentation):
    """Rotates each image about its centre by an angle drawn from
    ``[factor[0], factor[1]] * 360`` degrees (a number ``f`` gives
    ``[-f, f]``; positive is counter-clockwise).

    Example:
        >>> y = RandomRotation(0.1, seed=1)(np.random.rand(2, 8, 8, 3).astype("float32"))
    """

    def __init__(self, factor: float | Sequence[float], fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, data_format: str | None = None, **kwargs: Any):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = self._range(factor, "factor")

    def _transform(self, batch: int, height: int, width: int) -> list[Any]:
        angle = ops.multiply(self._draw(batch, self.factor), 2.0 * math.pi)
        cos, sin = ops.cos(angle), ops.sin(angle)
        cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
        a0, a1, b0, b1 = cos, ops.negative(sin), sin, cos
        a2 = ops.subtract(ops.subtract(cx, ops.multiply(a0, cx)), ops.multiply(a1, cy))
        b2 = ops.subtract(ops.subtract(cy, ops.multiply(b0, cx)), ops.multiply(b1, cy))
        zeros = ops.zeros_like(angle)
        return [a0, a1, a2, b0, b1, b2, zeros, zeros]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


class RandomTranslation(_AffineAugmentation):
    """Shifts each image by ``height_factor * height`` rows and
    ``width_factor * width`` columns, each drawn per image (a number ``f``
    gives ``[-f, f]``; positive moves the content down / right).

    Example:
        >>> y = RandomTranslation(0.2, 0.2, seed=1)(np.random.rand(2, 8, 8, 3).astype("float32"))
    """

    def __init__(self, height_factor: float | Sequence[float], width_factor: float | Sequence[float],
                 fill_mode: str = "reflect", interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, data_format: str | None = None, **kwargs: Any):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = list(height_factor) if isinstance(height_factor, tuple) else height_factor
        self.width_factor = list(width_factor) if isinstance(width_factor, tuple) else width_factor
        self._height_range = self._range(height_factor, "height_factor")
        self._width_range = self._range(width_factor, "width_factor")

    def _transform(self, batch: int, height: int, width: int) -> list[Any]:
        dy = ops.multiply(self._draw(batch, self._height_range), float(height))
        dx = ops.multiply(self._draw(batch, self._width_range), float(width))
        ones, zeros = ops.ones_like(dx), ops.zeros_like(dx)
        return [ones, zeros, ops.negative(dx), zeros, ones, ops.negative(dy), zeros, zeros]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomZoom(_AffineAugmentation):
    """Zooms each image about its centre: the source window is ``1 + z``
    times the image, ``z`` drawn per image from ``height_factor`` (and from
    ``width_factor``, or the same ``z`` when it is ``None``); positive ``z``
    zooms out, negative in.

    Example:
        >>> y = RandomZoom(0.2, seed=1)(np.random.rand(2, 8, 8, 3).astype("float32"))
    """

    def __init__(self, height_factor: float | Sequence[float], width_factor: float | Sequence[float] | None = None,
                 fill_mode: str = "reflect", interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, data_format: str | None = None, **kwargs: Any):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = list(height_factor) if isinstance(height_factor, tuple) else height_factor
        self.width_factor = list(width_factor) if isinstance(width_factor, tuple) else width_factor
        self._height_range = self._range(height_factor, "height_factor")
        self._width_range = None if width_factor is None else self._range(width_factor, "width_factor")

    def _transform(self, batch: int, height: int, width: int) -> list[Any]:
        zoom_h = ops.add(self._draw(batch, self._height_range), 1.0)
        zoom_w = zoom_h if self._width_range is None else ops.add(self._draw(batch, self._width_range), 1.0)
        zeros = ops.zeros_like(zoom_h)
        x_offset = ops.multiply(ops.subtract(1.0, zoom_w), (width - 1.0) / 2.0)
        y_offset = ops.multiply(ops.subtract(1.0, zoom_h), (height - 1.0) / 2.0)
        return [zoom_w, zeros, x_offset, zeros, zoom_h, y_offset, zeros, zeros]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomCrop(_ImageAugmentation):
    """Crops a random ``height x width`` window in training (one window for
    the whole batch, as Keras 3); where the images are not larger than the
    target on both axes, keeps up to ``height x width`` pixels from the
    corner of the centred window of the target's aspect ratio and resizes
    them to the target instead (Keras 3's rule). Returns the inputs unchanged with
    ``training=False``, as Keras 3.15.

    Example:
        >>> ops.shape(RandomCrop(4, 4, seed=1)(np.random.rand(2, 8, 8, 3).astype("float32")))
        (2, 4, 4, 3)
    """

    def __init__(self, height: int, width: int, seed: int | None = None, data_format: str | None = None,
                 name: str | None = None, **kwargs: Any):
        super().__init__(seed=seed, name=name, **kwargs)
        who = describe_layer(self)
        for arg, value in (("height", height), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{who}: expected {arg} to be a positive int, received {arg}={value!r}.")
        self.height = height
        self.width = width
        self.data_format = standardize_data_format(data_format, who)

    def _augment(self, images: Any) -> Any:
        shape = list(ops.shape(images))
        h_axis, w_axis = (1, 2) if self.data_format == "channels_last" else (2, 3)
        in_h, in_w = int(shape[h_axis]), int(shape[w_axis])
        if in_h > self.height and in_w > self.width:
            top = ops.cast(ops.random.uniform((), 0.0, float(in_h - self.height + 1), seed=self.generator), "int32")
            left = ops.cast(ops.random.uniform((), 0.0, float(in_w - self.width + 1), seed=self.generator), "int32")
            zero = ops.zeros((), "int32")
            start = [zero] * 4
            start[h_axis], start[w_axis] = top, left
            shape[h_axis], shape[w_axis] = self.height, self.width
            return ops.slice(images, start, shape)
        # as Keras 3: start at the centred window of the target's aspect ratio, keep up to height x width
        # pixels from there, and resize what was kept to the target
        crop_h = max(min(in_h, int(float(in_w * self.height) / self.width)), 1)
        crop_w = max(min(in_w, int(float(in_h * self.width) / self.height)), 1)
        top, left = int(float(in_h - crop_h) / 2), int(float(in_w - crop_w) / 2)
        start = [0] * 4
        start[h_axis], start[w_axis] = top, left
        shape[h_axis], shape[w_axis] = min(self.height, in_h - top), min(self.width, in_w - left)
        return image_ops.resize(ops.slice(images, start, shape), (self.height, self.width),
                                data_format=self.data_format)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = list(input_shape)
        rank = len(shape)
        h_axis, w_axis = (rank - 3, rank - 2) if self.data_format == "channels_last" else (rank - 2, rank - 1)
        shape[h_axis], shape[w_axis] = self.height, self.width
        return tuple(shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width, "data_format": self.data_format}
