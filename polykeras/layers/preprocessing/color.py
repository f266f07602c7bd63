"""Colour augmentations with Keras 3's arguments and numbers:
``RandomColorDegeneration``, ``RandomSaturation``, ``RandomHue``,
``RandomSharpness``, ``RandomColorJitter``, ``RandomGaussianBlur`` and the
deterministic ``Equalization``.

Each draws its factors per image from its ``SeedGenerator`` (a factor given
as ``(a, a)`` fixes the draw, which is how the tests meet Keras 3's numbers),
takes images or the data dict (labels, masks and boxes pass unchanged) and
returns its inputs unchanged with ``training=False``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.preprocessing.data_augmentation import _DataAugmentation, to_range
from polykeras.ops import image as image_ops

__all__ = ["Equalization", "RandomColorDegeneration", "RandomColorJitter", "RandomGaussianBlur", "RandomHue",
           "RandomSaturation", "RandomSharpness"]

_EPSILON = 1e-7


class _ColorAugmentation(_DataAugmentation):
    """A ``factor`` and a ``value_range``; images of 3 channels."""

    _NEEDS_RGB = True

    def __init__(self, factor: Any, value_range: Sequence[float] = (0, 255), data_format: str | None = None,
                 seed: int | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = self._factor_range(factor)
        self.value_range = self._parse_value_range(value_range)

    def _images(self, inputs: Any) -> tuple[Any, bool]:
        images, added = super()._images(inputs)
        if self._NEEDS_RGB:
            self._check_channels(images)
        return images, added

    def _transformation(self, images: Any) -> Any:
        return self._uniform((ops.shape(images)[0], 1, 1, 1), *self.factor)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}


def degenerate(images: Any, factor: Any, value_range: Sequence[float], data_format: str) -> Any:
    """Blend toward grayscale by ``factor`` and clip to ``value_range``."""
    gray = image_ops.rgb_to_grayscale(images, data_format=data_format)
    out = ops.add(images, ops.multiply(factor, ops.subtract(gray, images)))
    return ops.clip(out, value_range[0], value_range[1])


def saturate(images: Any, factor: Any, value_range: Sequence[float], data_format: str) -> Any:
    """Keras 3's saturation step: ``factor`` (per image, shape ``(batch,)``)
    becomes ``f / (1 - f + eps)``, multiplies the HSV saturation, which is
    clipped to ``value_range``."""
    scale = ops.reshape(ops.divide(factor, ops.add(ops.subtract(1.0, factor), _EPSILON)), (-1, 1, 1))
    axis = 3 if data_format == "channels_last" else 1
    hue, sat, value = ops.unstack(image_ops.rgb_to_hsv(images, data_format=data_format), axis=axis)
    sat = ops.clip(ops.multiply(sat, scale), value_range[0], value_range[1])
    return image_ops.hsv_to_rgb(ops.stack([hue, sat, value], axis=axis), data_format=data_format)


def shift_hue(images: Any, shift: Any, value_range: Sequence[float], data_format: str) -> Any:
    """Add ``shift`` (per image, shape ``(batch,)``) to the hue, wrapped into [0, 1]."""
    x = to_range(images, value_range, (0, 1))
    axis = 3 if data_format == "channels_last" else 1
    hue, sat, value = ops.unstack(image_ops.rgb_to_hsv(x, data_format=data_format), axis=axis)
    hue = ops.add(hue, ops.reshape(shift, (-1, 1, 1)))
    hue = ops.where(ops.greater(hue, 1.0), ops.subtract(hue, 1.0), hue)
    hue = ops.where(ops.less(hue, 0.0), ops.add(hue, 1.0), hue)
    x = ops.clip(image_ops.hsv_to_rgb(ops.stack([hue, sat, value], axis=axis), data_format=data_format), 0.0, 1.0)
    return to_range(x, (0, 1), value_range)


class RandomColorDegeneration(_ColorAugmentation):
    """Blends each image toward its grayscale version by a factor drawn from
    ``factor`` (a number ``f`` gives ``[-f, f]``; 1 is fully gray, negative
    values add colour), then clips to ``value_range``.

    Example:
        >>> y = RandomColorDegeneration((0.5, 0.5))(np.random.rand(2, 8, 8, 3).astype("float32") * 255)
    """

    def __init__(self, factor: float | Sequence[float], value_range: Sequence[float] = (0, 255),
                 data_format: str | None = None, seed: int | None = None, **kwargs: Any):
        super().__init__(factor, value_range, data_format, seed, **kwargs)

    def _apply(self, images: Any, transformation: Any) -> Any:
        return degenerate(images, transformation, self.value_range, self.data_format)


class RandomSaturation(_ColorAugmentation):
    """Scales each image's HSV saturation by ``f / (1 - f)`` with ``f``
    drawn from ``factor`` (a number gives ``[-f, f]``; 0.5 keeps the image,
    1 saturates fully, 0 or less gives grayscale), as Keras 3.

    Example:
        >>> y = RandomSaturation((0.7, 0.7))(np.random.rand(2, 8, 8, 3).astype("float32") * 255)
    """

    def __init__(self, factor: float | Sequence[float], value_range: Sequence[float] = (0, 255),
                 data_format: str | None = None, seed: int | None = None, **kwargs: Any):
        super().__init__(factor, value_range, data_format, seed, **kwargs)

    def _transformation(self, images: Any) -> Any:
        return self._uniform((ops.shape(images)[0],), *self.factor)

    def _apply(self, images: Any, transformation: Any) -> Any:
        return saturate(images, transformation, self.value_range, self.data_format)


class RandomHue(_ColorAugmentation):
    """Rotates each image's hue by ``±f / 2`` of the colour circle, ``f``
    drawn from ``factor`` (in ``[0, 1]``) and the sign at random, as Keras 3.

    Example:
        >>> y = RandomHue(0.2, seed=1)(np.random.rand(2, 8, 8, 3).astype("float32") * 255)
    """

    _FACTOR_BOUNDS = (0.0, 1.0)

    def __init__(self, factor: float | Sequence[float], value_range: Sequence[float] = (0, 255),
                 data_format: str | None = None, seed: int | None = None, **kwargs: Any):
        super().__init__(factor, value_range, data_format, seed, **kwargs)

    def _transformation(self, images: Any) -> Any:
        batch = ops.shape(images)[0]
        sign = ops.where(ops.greater(self._uniform((batch,), 0.0, 1.0), 0.5), -1.0, 1.0)
        return ops.multiply(ops.multiply(sign, self._uniform((batch,), *self.factor)), 0.5)

    def _apply(self, images: Any, transformation: Any) -> Any:
        return shift_hue(images, transformation, self.value_range, self.data_format)


class RandomSharpness(_ColorAugmentation):
    """Sharpens (or blurs) each image: blends it with its 3x3 smoothed version
    (centre weight 5/13, the rest 1/13, zero padding) by ``1 - 2 f``, ``f``
    drawn from ``factor`` in ``[0, 1]`` (0.5 keeps the image, 1 sharpens,
    0 blurs), then clips to ``value_range``.

    Example:
        >>> y = RandomSharpness((0.9, 0.9))(np.random.rand(2, 8, 8, 3).astype("float32") * 255)
    """

    _FACTOR_BOUNDS = (0.0, 1.0)
    _NEEDS_RGB = False

    def __init__(self, factor: float | Sequence[float], value_range: Sequence[float] = (0, 255),
                 data_format: str | None = None, seed: int | None = None, **kwargs: Any):
        super().__init__(factor, value_range, data_format, seed, **kwargs)

    def _apply(self, images: Any, transformation: Any) -> Any:
        channels = int(ops.shape(images)[self._axes()[2]])
        a, b = 1.0 / 13.0, 5.0 / 13.0
        kernel = np.tile(np.array([[a, a, a], [a, b, a], [a, a, a]])[:, :, None, None], (1, 1, channels, 1))
        smoothed = ops.depthwise_conv(images, ops.convert_to_tensor(kernel, self.dtype), padding="same",
                                      data_format=self.data_format)
        weight = ops.subtract(1.0, ops.multiply(transformation, 2.0))
        out = ops.add(images, ops.multiply(weight, ops.subtract(smoothed, images)))
        return ops.clip(out, self.value_range[0], self.value_range[1])


class RandomColorJitter(_DataAugmentation):
    """Random brightness, contrast, saturation and hue, applied in that order
    (each with Keras 3's rules of ``RandomBrightness``, ``RandomContrast``,
    ``RandomSaturation`` and ``RandomHue``); a factor left ``None`` skips
    its step.

    Example:
        >>> jitter = RandomColorJitter(brightness_factor=0.2, hue_factor=0.1, seed=1)
        >>> y = jitter(np.random.rand(2, 8, 8, 3).astype("float32") * 255)
    """

    def __init__(self, value_range: Sequence[float] = (0, 255), brightness_factor: Any = None,
                 contrast_factor: Any = None, saturation_factor: Any = None, hue_factor: Any = None,
                 seed: int | None = None, data_format: str | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = list(value_range) if isinstance(value_range, (list, tuple)) else value_range
        self._range = self._parse_value_range(value_range)
        listed = [list(f) if isinstance(f, tuple) else f
                  for f in (brightness_factor, contrast_factor, saturation_factor, hue_factor)]
        self.brightness_factor, self.contrast_factor, self.saturation_factor, self.hue_factor = listed
        self._brightness = None if brightness_factor is None else self._factor_range(
            brightness_factor, "brightness_factor", (-1.0, 1.0))
        self._contrast = None if contrast_factor is None else self._factor_range(
            contrast_factor, "contrast_factor", (0.0, 1.0))
        self._saturation = None if saturation_factor is None else self._factor_range(
            saturation_factor, "saturation_factor", (-1.0, 1.0))
        self._hue = None if hue_factor is None else self._factor_range(hue_factor, "hue_factor", (0.0, 1.0))

    def _apply(self, images: Any, transformation: Any) -> Any:
        low, high = self._range
        batch = ops.shape(images)[0]
        if self._brightness is not None:
            delta = ops.multiply(self._uniform((batch, 1, 1, 1), *self._brightness), high - low)
            images = ops.clip(ops.add(images, delta), low, high)
        if self._contrast is not None:
            contrast = self._uniform((batch, 1, 1, 1), 1.0 - self._contrast[0], 1.0 + self._contrast[1])
            h_axis, w_axis, _ = self._axes()
            mean = ops.mean(images, axis=(h_axis, w_axis), keepdims=True)
            images = ops.clip(ops.add(ops.multiply(ops.subtract(images, mean), contrast), mean), low, high)
        if self._saturation is not None or self._hue is not None:
            self._check_channels(images)
        if self._saturation is not None:
            images = saturate(images, self._uniform((batch,), *self._saturation), self._range, self.data_format)
        if self._hue is not None:
            sign = ops.where(ops.greater(self._uniform((batch,), 0.0, 1.0), 0.5), -1.0, 1.0)
            shift = ops.multiply(ops.multiply(sign, self._uniform((batch,), *self._hue)), 0.5)
            images = shift_hue(images, shift, self._range, self.data_format)
        return images

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "value_range": self.value_range,
                "brightness_factor": self.brightness_factor, "contrast_factor": self.contrast_factor,
                "saturation_factor": self.saturation_factor, "hue_factor": self.hue_factor}


class RandomGaussianBlur(_DataAugmentation):
    """Blurs each image with probability drawn from ``factor`` (in
    ``[0, 1]``), with a ``kernel_size`` Gaussian (odd; a number or
    ``(width, height)``) of standard deviations drawn once per call from
    ``sigma`` (plus 1e-6; zero padding), then clips to ``value_range``.

    Example:
        >>> y = RandomGaussianBlur(1.0, kernel_size=3, sigma=(1.0, 1.0))(np.random.rand(2, 8, 8, 3) * 255)
    """

    _FACTOR_BOUNDS = (0.0, 1.0)

    def __init__(self, factor: float | Sequence[float] = 1.0, kernel_size: int | Sequence[int] = 3,
                 sigma: float | Sequence[float] = 1.0, value_range: Sequence[float] = (0, 255),
                 data_format: str | None = None, seed: int | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = self._factor_range(factor)
        self.kernel_size = self._kernel_size(kernel_size)
        self.sigma = self._factor_range(sigma, "sigma")
        self._range = self._parse_value_range(value_range)
        self.value_range = list(value_range)

    def _kernel_size(self, size: Any) -> list[int]:
        values = list(size) if isinstance(size, (list, tuple)) else [size, size]
        if len(values) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0
                                       and v % 2 == 1 for v in values):
            raise ValueError(f"{describe_layer(self)}: expected kernel_size as an odd positive int or two of them, "
                             f"received kernel_size={size!r}.")
        return [int(values[0]), int(values[1])]

    def _transformation(self, images: Any) -> Any:
        batch = ops.shape(images)[0]
        probability = self._uniform((batch,), *self.factor)
        apply = ops.less(ops.random.uniform((batch,), 0.0, 1.0, seed=self.generator), probability)
        sigma = ops.add(self._uniform((2,), *self.sigma), 1e-6)
        return apply, sigma

    def _kernel_1d(self, size: int, sigma: Any) -> Any:
        x = ops.convert_to_tensor(np.arange(size) - (size - 1) / 2, self.dtype)
        kernel = ops.exp(ops.multiply(-0.5, ops.square(ops.divide(x, sigma))))
        return ops.divide(kernel, ops.sum(kernel))

    def _apply(self, images: Any, transformation: Any) -> Any:
        apply, sigma = transformation
        size_w, size_h = self.kernel_size
        kernel = ops.multiply(ops.expand_dims(self._kernel_1d(size_h, sigma[1]), 1),
                              ops.expand_dims(self._kernel_1d(size_w, sigma[0]), 0))
        channels = int(ops.shape(images)[self._axes()[2]])
        kernel = ops.tile(ops.reshape(kernel, (size_h, size_w, 1, 1)), (1, 1, channels, 1))
        widths = [(0, 0)] * 4
        h_axis, w_axis, _ = self._axes()
        widths[h_axis] = ((size_h - 1) // 2, size_h - 1 - (size_h - 1) // 2)
        widths[w_axis] = ((size_w - 1) // 2, size_w - 1 - (size_w - 1) // 2)
        blurred = ops.depthwise_conv(ops.pad(images, widths), kernel, padding="valid", data_format=self.data_format)
        out = ops.where(ops.reshape(apply, (-1, 1, 1, 1)), blurred, images)
        return ops.clip(out, self._range[0], self._range[1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "kernel_size": self.kernel_size,
                "sigma": self.sigma, "value_range": self.value_range}


class Equalization(_DataAugmentation):
    """Histogram equalization, as Keras 3: per channel, one histogram of
    ``bins`` over the whole batch (on the ``[0, 255]`` scale of
    ``value_range``) maps each value through the normalised cumulative
    histogram; a channel with one occupied bin is kept. Deterministic; runs
    in training, returns the inputs unchanged with ``training=False``.

    Example:
        >>> y = Equalization()(np.random.rand(2, 8, 8, 3).astype("float32") * 100)
    """

    _RANDOM = False

    def __init__(self, value_range: Sequence[float] = (0, 255), bins: int = 256, data_format: str | None = None,
                 **kwargs: Any):
        super().__init__(data_format=data_format, **kwargs)
        if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
            raise ValueError(f"{describe_layer(self)}: expected bins to be an int of at least 2, received "
                             f"bins={bins!r}.")
        self.bins = int(bins)
        self.value_range = self._parse_value_range(value_range)

    def _equalize(self, channel: Any) -> Any:
        bins = self.bins
        x = to_range(channel, self.value_range, (0.0, 255.0))
        flat = ops.reshape(ops.clip(ops.cast(ops.multiply(x, (bins - 1) / 255.0), "int32"), 0, bins - 1), (-1,))
        # segment_sum with a static length compiles (bincount sizes its result from the values)
        hist = ops.cast(ops.segment_sum(ops.ones_like(flat, dtype="float32"), flat, num_segments=bins), "int32")
        occupied = ops.count_nonzero(hist)
        cdf = ops.cast(ops.cumsum(hist), "int32")
        cdf_min = ops.take(cdf, ops.argmax(ops.cast(ops.greater(cdf, 0), "int32")))
        denominator = ops.subtract(cdf[-1], cdf_min)
        denominator = ops.where(ops.equal(denominator, 0), 1, denominator)
        # round((cdf - cdf_min) * 255 / denominator) half to even, in integers: exact where float32 is not
        numerator = ops.multiply(ops.subtract(cdf, cdf_min), 255)
        quotient = ops.floor_divide(numerator, denominator)
        twice_rest = ops.multiply(ops.subtract(numerator, ops.multiply(quotient, denominator)), 2)
        up = ops.logical_or(ops.greater(twice_rest, denominator),
                            ops.logical_and(ops.equal(twice_rest, denominator), ops.equal(ops.mod(quotient, 2), 1)))
        table = ops.clip(ops.cast(ops.add(quotient, ops.cast(up, "int32")), "float32"), 0.0, 255.0)
        index = ops.cast(ops.clip(ops.multiply(ops.divide(x, 255.0), bins - 1), 0.0, bins - 1), "int32")
        out = ops.where(ops.less_equal(occupied, 1), x, ops.cast(ops.take(table, index), self.dtype))
        return to_range(out, (0.0, 255.0), self.value_range)

    def _apply(self, images: Any, transformation: Any) -> Any:
        axis = self._axes()[2]
        channels = ops.unstack(images, axis=axis)
        return ops.stack([self._equalize(c) for c in channels], axis=axis)

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "bins": self.bins, "value_range": self.value_range}
        config.pop("seed")
        return config
