"""Image preprocessing in the model: ``Resizing`` and ``CenterCrop``.

Resizing is :func:`polykeras.ops.image.resize` (half-pixel centres, as
Keras 3, without antialiasing): fixed linear maps built on the host and
applied with ``ops``, so they run on every engine, differentiate, and compile.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from polykeras import ops
from polykeras.backends.dtypes import is_float
from polykeras.layers.convolutional.arguments import describe_layer, standardize_data_format
from polykeras.layers.layer import Layer

__all__ = ["CenterCrop", "Resizing", "resize_images"]

INTERPOLATIONS = ("nearest", "bilinear")


def _spatial_axes(rank: int, data_format: str) -> tuple[int, int]:
    return (rank - 3, rank - 2) if data_format == "channels_last" else (rank - 2, rank - 1)


def _crop(images: Any, axes: tuple[int, int], top: int, left: int, height: int, width: int) -> Any:
    shape = list(ops.shape(images))
    start = [0] * len(shape)
    start[axes[0]], start[axes[1]] = top, left
    shape[axes[0]], shape[axes[1]] = height, width
    return ops.slice(images, start, shape)


def resize_images(images: Any, height: int, width: int, interpolation: str, data_format: str,
                  crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
                  fill_value: float = 0.0) -> Any:
    """Float images of rank 3 or 4 resized to ``(height, width)`` as Keras 3:
    :func:`polykeras.ops.image.resize` without antialiasing.
    Example: ``resize_images(x, 4, 5, "bilinear", "channels_last")``"""
    return ops.image.resize(images, (height, width), interpolation, crop_to_aspect_ratio=crop_to_aspect_ratio,
                            pad_to_aspect_ratio=pad_to_aspect_ratio, fill_value=fill_value,
                            data_format=data_format)


class _ImageLayer(Layer):
    """Shared parts: target size, data format, images of rank 3 or 4.

    Example:
        >>> Resizing(32, 32)   # see the subclasses
    """

    def _init_size(self, height: Any, width: Any, data_format: str | None) -> None:
        who = describe_layer(self)
        for arg, value in (("height", height), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{who}: expected {arg} to be a positive int, received {arg}={value!r}.")
        self.height, self.width = height, width
        self.data_format = standardize_data_format(data_format, who)

    def _check_rank(self, shape: tuple) -> None:
        if len(shape) not in (3, 4):
            raise ValueError(f"{describe_layer(self)}: expected images of rank 3 (height, width, channels) or 4 "
                             f"(batch, height, width, channels) ({self.data_format}), received shape {shape}.")

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = list(input_shape)
        self._check_rank(tuple(shape))
        axes = _spatial_axes(len(shape), self.data_format)
        shape[axes[0]], shape[axes[1]] = self.height, self.width
        return tuple(shape)


class Resizing(_ImageLayer):
    """Resizes images to ``(height, width)``, batched ``(batch, h, w, c)`` or
    single ``(h, w, c)`` (channels first with ``data_format``).

    Args:
        height, width: the output size.
        interpolation: ``"bilinear"`` (default) or ``"nearest"`` (Keras'
            half-pixel convention, see the module docstring).
        crop_to_aspect_ratio: first crop the largest centred window with the
            target aspect ratio (no distortion).
        pad_to_aspect_ratio: first pad (with ``fill_value``) to the target
            aspect ratio instead.
        fill_mode: ``"constant"`` (Keras' only mode).
        fill_value: the padding value.
        antialias: must be False (no antialiasing filter here).

    Integer images come back rounded, in their own dtype (clipped to its range).

    Example:
        >>> layer = Resizing(4, 6, interpolation="nearest")
        >>> ops.shape(layer(np.ones((2, 8, 3, 1), "float32")))
        (2, 4, 6, 1)
    """

    def __init__(self, height: int, width: int, interpolation: str = "bilinear", crop_to_aspect_ratio: bool = False,
                 pad_to_aspect_ratio: bool = False, fill_mode: str = "constant", fill_value: float = 0.0,
                 antialias: bool = False, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        who = describe_layer(self)
        self._init_size(height, width, data_format)
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"{who}: expected interpolation to be one of {INTERPOLATIONS}, received "
                             f"interpolation={interpolation!r}.")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(f"{who}: expected at most one of crop_to_aspect_ratio and pad_to_aspect_ratio, "
                             "received both True.")
        if fill_mode != "constant":
            raise ValueError(f"{who}: expected fill_mode='constant', received fill_mode={fill_mode!r}.")
        if antialias:
            raise NotImplementedError(f"{who}: antialiasing is not supported; expected antialias=False, received "
                                      f"antialias={antialias!r}.")
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = fill_mode
        self.fill_value = float(fill_value)
        self.antialias = False

    def call(self, inputs: Any) -> Any:
        shape = tuple(ops.shape(inputs))
        self._check_rank(shape)
        dtype = ops.dtype(inputs)
        images = inputs if is_float(dtype) else ops.cast(inputs, self.dtype)
        out = resize_images(images, self.height, self.width, self.interpolation, self.data_format,
                            self.crop_to_aspect_ratio, self.pad_to_aspect_ratio, self.fill_value)
        if is_float(dtype):
            return out
        if dtype == "bool":
            return ops.cast(out, dtype)
        info = np.iinfo(dtype)
        return ops.cast(ops.clip(ops.round(out), float(info.min), float(info.max)), dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias, "data_format": self.data_format}


class CenterCrop(_ImageLayer):
    """Crops the centre ``(height, width)`` window of images (batched or
    single); an image smaller than the target along an axis is instead
    cropped to the target aspect ratio and resized (bilinear), as Keras 3.
    Outputs are in the layer's dtype.

    Example:
        >>> ops.shape(CenterCrop(2, 3)(np.ones((1, 5, 5, 3), "float32")))
        (1, 2, 3, 3)
    """

    def __init__(self, height: int, width: int, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self._init_size(height, width, data_format)

    def call(self, inputs: Any) -> Any:
        shape = tuple(ops.shape(inputs))
        self._check_rank(shape)
        images = ops.cast(inputs, self.dtype)
        axes = _spatial_axes(len(shape), self.data_format)
        in_h, in_w = shape[axes[0]], shape[axes[1]]
        if in_h >= self.height and in_w >= self.width:
            return _crop(images, axes, (in_h - self.height) // 2, (in_w - self.width) // 2, self.height,
                         self.width)
        return resize_images(images, self.height, self.width, "bilinear", self.data_format,
                             crop_to_aspect_ratio=True)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width, "data_format": self.data_format}
