"""Image augmentation layers: ``RandomFlip``, ``RandomContrast``,
``RandomBrightness``, ``RandomInvert``, ``RandomGrayscale`` and the
deterministic ``AutoContrast``.

Each random layer draws from its own :class:`polykeras.random.SeedGenerator`
(so a compiled training step draws new values at every step and the same
seed repeats the same sequence on one engine), augments when called with
``training=True`` (the default when called directly, as Keras 3) and returns
its inputs unchanged with ``training=False``. Images are rank 3 or 4;
random choices are drawn per image. Arguments, defaults and factor rules are
Keras 3's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer, standardize_data_format
from polykeras.layers.layer import Layer
from polykeras.ops import image as image_ops
from polykeras.random import SeedGenerator

__all__ = ["AutoContrast", "RandomBrightness", "RandomContrast", "RandomFlip", "RandomGrayscale", "RandomInvert",
           "RandomPosterization", "Solarization", "MixUp"]


class _ImageAugmentation(Layer):
    """Shared parts: the seed generator, the rank check, ``factor`` and
    ``value_range`` parsing (Keras 3's rules)."""

    _FACTOR_BOUNDS = (-1.0, 1.0)
    _RANDOM = True

    def __init__(self, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.seed = seed
        if self._RANDOM:
            self.generator = SeedGenerator(seed, name="seed_generator")

    def _parse_factor(self, factor: Any) -> list[float]:
        low_bound, high_bound = self._FACTOR_BOUNDS
        message = (f"{describe_layer(self)}: expected factor as a number or a list of two numbers in "
                   f"[{low_bound}, {high_bound}], received factor={factor!r}.")
        if isinstance(factor, (list, tuple)):
            if len(factor) != 2 or not all(isinstance(f, (int, float)) and not isinstance(f, bool) for f in factor):
                raise ValueError(message)
            if factor[0] > high_bound or factor[1] < low_bound:
                raise ValueError(message)
            return [float(f) for f in sorted(factor)]
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not low_bound <= factor <= high_bound:
            raise ValueError(message)
        factor = abs(float(factor))
        return [max(-factor, low_bound), factor]

    def _parse_value_range(self, value_range: Any) -> list[float]:
        if not isinstance(value_range, (list, tuple)) or len(value_range) != 2:
            raise ValueError(f"{describe_layer(self)}: expected value_range as a list of two numbers, received "
                             f"value_range={value_range!r}.")
        return sorted(float(v) for v in value_range)

    def _images(self, inputs: Any) -> tuple[Any, bool]:
        """Float images of rank 4 and whether a batch axis was added."""
        rank = len(ops.shape(inputs))
        if rank not in (3, 4):
            raise ValueError(f"{describe_layer(self)}: expected images of rank 3 or 4, received inputs of shape "
                             f"{tuple(ops.shape(inputs))}.")
        images = ops.cast(inputs, self.dtype)
        return (ops.expand_dims(images, 0), True) if rank == 3 else (images, False)

    def _per_image(self, images: Any, minval: float = 0.0, maxval: float = 1.0) -> Any:
        """One uniform draw per image, shaped ``(batch, 1, 1, 1)``."""
        batch = ops.shape(images)[0]
        if minval == maxval:  # a fixed factor, e.g. (1.0, 1.0)
            return ops.full((batch, 1, 1, 1), minval, dtype=self.dtype)
        return ops.random.uniform((batch, 1, 1, 1), minval=minval, maxval=maxval, seed=self.generator)

    def call(self, inputs: Any, training: Any = True) -> Any:
        if not training:
            return inputs
        images, added = self._images(inputs)
        out = self._augment(images)
        return ops.squeeze(out, 0) if added else out

    def _augment(self, images: Any) -> Any:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed}


class RandomFlip(_ImageAugmentation):
    """Flips each image left-right (``"horizontal"``), up-down
    (``"vertical"``) or both (``"horizontal_and_vertical"``, default), each
    image with probability 1/2.

    Example:
        >>> y = RandomFlip("horizontal", seed=1)(np.random.rand(4, 8, 8, 3).astype("float32"))
    """

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(seed=seed, **kwargs)
        if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
            raise ValueError(f"{describe_layer(self)}: expected mode 'horizontal', 'vertical' or "
                             f"'horizontal_and_vertical', received mode={mode!r}.")
        self.mode = mode
        self.data_format = standardize_data_format(data_format, describe_layer(self))

    def _augment(self, images: Any) -> Any:
        flips = ops.less_equal(self._per_image(images), 0.5)
        height, width = (1, 2) if self.data_format == "channels_last" else (2, 3)
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            images = ops.where(flips, ops.flip(images, axis=width), images)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            images = ops.where(flips, ops.flip(images, axis=height), images)
        return images

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode, "data_format": self.data_format}


class RandomContrast(_ImageAugmentation):
    """Scales each image's deviation from its per-channel mean by a factor
    drawn from ``[1 - factor[0], 1 + factor[1]]`` (a number ``f`` gives
    ``[1, 1 + f]``, Keras 3's rule), then clips to ``value_range``.

    Example:
        >>> y = RandomContrast(0.5, value_range=(0, 1), seed=1)(np.random.rand(2, 8, 8, 3).astype("float32"))
    """

    _FACTOR_BOUNDS = (0.0, 1.0)

    def __init__(self, factor: float | Sequence[float], value_range: Sequence[float] = (0, 255),
                 seed: int | None = None, **kwargs: Any):
        super().__init__(seed=seed, **kwargs)
        self.factor = self._parse_factor(factor)
        self.value_range = self._parse_value_range(value_range)

    def _augment(self, images: Any) -> Any:
        contrast = self._per_image(images, 1.0 - self.factor[0], 1.0 + self.factor[1])
        mean = ops.mean(images, axis=(1, 2), keepdims=True)
        out = ops.add(ops.multiply(ops.subtract(images, mean), contrast), mean)
        return ops.clip(out, self.value_range[0], self.value_range[1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}


class RandomBrightness(_ImageAugmentation):
    """Adds to each image ``delta * (value_range[1] - value_range[0])`` with
    ``delta`` drawn from ``[factor[0], factor[1]]`` (a number ``f`` gives
    ``[-f, f]``), then clips to ``value_range``.

    Example:
        >>> y = RandomBrightness(0.2, seed=1)(np.full((2, 4, 4, 3), 128.0, "float32"))
    """

    def __init__(self, factor: float | Sequence[float], value_range: Sequence[float] = (0, 255),
                 seed: int | None = None, **kwargs: Any):
        super().__init__(seed=seed, **kwargs)
        self.factor = self._parse_factor(factor)
        self.value_range = self._parse_value_range(value_range)

    def _augment(self, images: Any) -> Any:
        delta = self._per_image(images, self.factor[0], self.factor[1])
        delta = ops.multiply(delta, self.value_range[1] - self.value_range[0])
        return ops.clip(ops.add(images, delta), self.value_range[0], self.value_range[1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}


class RandomInvert(_ImageAugmentation):
    """Replaces an image by ``value_range[1] - image`` with a probability
    drawn per image from ``[factor[0], factor[1]]`` (default ``(0, 1)``).

    Example:
        >>> y = RandomInvert(seed=1)(np.random.rand(2, 4, 4, 3).astype("float32") * 255)
    """

    _FACTOR_BOUNDS = (0.0, 1.0)

    def __init__(self, factor: float | Sequence[float] = 1.0, value_range: Sequence[float] = (0, 255),
                 seed: int | None = None, data_format: str | None = None, **kwargs: Any):
        super().__init__(seed=seed, **kwargs)
        self.factor = self._parse_factor(factor)
        self.value_range = self._parse_value_range(value_range)
        self.data_format = standardize_data_format(data_format, describe_layer(self))

    def _augment(self, images: Any) -> Any:
        probability = self._per_image(images, self.factor[0], self.factor[1])
        apply = ops.less(self._per_image(images), probability)
        return ops.where(apply, ops.subtract(self.value_range[1], images), images)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range,
                "data_format": self.data_format}


class RandomGrayscale(_ImageAugmentation):
    """Converts each RGB image to grayscale (kept on 3 channels) with
    probability ``factor`` (default 0.5).

    Example:
        >>> y = RandomGrayscale(1.0)(np.random.rand(2, 4, 4, 3).astype("float32"))   # all gray
    """

    def __init__(self, factor: float = 0.5, data_format: str | None = None, seed: int | None = None,
                 **kwargs: Any):
        super().__init__(seed=seed, **kwargs)
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0.0 <= factor <= 1.0:
            raise ValueError(f"{describe_layer(self)}: expected factor between 0 and 1, received factor={factor!r}.")
        self.factor = float(factor)
        self.data_format = standardize_data_format(data_format, describe_layer(self))

    def _augment(self, images: Any) -> Any:
        apply = ops.less(self._per_image(images), self.factor)
        gray = image_ops.rgb_to_grayscale(images, data_format=self.data_format)
        return ops.where(apply, gray, images)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "data_format": self.data_format}


class AutoContrast(_ImageAugmentation):
    """Stretches each image's channels to the full ``value_range``: each
    channel's minimum maps to the low end and its maximum to the high end
    (a constant channel is kept as is). Deterministic; runs in training and
    inference alike, as Keras 3.

    Example:
        >>> y = AutoContrast(value_range=(0, 1))(np.random.rand(2, 4, 4, 3).astype("float32") * 0.5)
    """

    _RANDOM = False

    def __init__(self, value_range: Sequence[float] = (0, 255), **kwargs: Any):
        super().__init__(**kwargs)
        self.value_range = self._parse_value_range(value_range)

    def call(self, inputs: Any, training: Any = True) -> Any:
        images, added = self._images(inputs)
        low_v, high_v = self.value_range
        scaled = ops.multiply(ops.subtract(images, low_v), 255.0 / (high_v - low_v))
        low = ops.min(scaled, axis=(1, 2), keepdims=True)
        high = ops.max(scaled, axis=(1, 2), keepdims=True)
        scale = ops.divide(255.0, ops.subtract(high, low))
        out = ops.clip(ops.add(ops.multiply(scaled, scale), ops.multiply(ops.negative(low), scale)), 0.0, 255.0)
        out = ops.add(ops.multiply(out, (high_v - low_v) / 255.0), low_v)
        out = ops.where(ops.isnan(out), images, out)
        return ops.squeeze(out, 0) if added else out

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "value_range": self.value_range}
        config.pop("seed")
        return config


def _to_255(images: Any, value_range: Sequence[float]) -> Any:
    low, high = value_range
    return ops.multiply(ops.subtract(images, low), 255.0 / (high - low))


def _from_255(images: Any, value_range: Sequence[float]) -> Any:
    low, high = value_range
    return ops.add(ops.multiply(images, (high - low) / 255.0), low)


class Solarization(_ImageAugmentation):
    """Solarizes each image: on the ``[0, 255]`` scale of ``value_range``,
    adds a value drawn from ``[addition_factor[0], addition_factor[1] * 255]``,
    clips, then inverts (``255 - x``) every pixel at or above a threshold
    drawn from ``[threshold_factor[0], threshold_factor[1] * 255]`` (Keras
    3's ranges; a number ``f`` gives ``(0, f)``). With the defaults every
    pixel is inverted.

    Example:
        >>> y = Solarization(threshold_factor=0.5, seed=1)(np.random.rand(2, 4, 4, 3).astype("float32") * 255)
    """

    def __init__(self, addition_factor: float | Sequence[float] = 0.0,
                 threshold_factor: float | Sequence[float] = 0.0, value_range: Sequence[float] = (0, 255),
                 seed: int | None = None, **kwargs: Any):
        super().__init__(seed=seed, **kwargs)
        self.addition_factor = self._unit_range(addition_factor, "addition_factor")
        self.threshold_factor = self._unit_range(threshold_factor, "threshold_factor")
        self.value_range = self._parse_value_range(value_range)

    def _unit_range(self, factor: Any, name: str) -> list[float]:
        values = list(factor) if isinstance(factor, (list, tuple)) else [factor]
        if len(values) not in (1, 2) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v <= 1.0 for v in values):
            raise ValueError(f"{describe_layer(self)}: expected {name} as a number or two numbers in [0, 1], "
                             f"received {name}={factor!r}.")
        return [0.0, float(values[0])] if len(values) == 1 else [float(v) for v in sorted(values)]

    def _augment(self, images: Any) -> Any:
        additions = self._per_image(images, self.addition_factor[0], self.addition_factor[1] * 255)
        thresholds = self._per_image(images, self.threshold_factor[0], self.threshold_factor[1] * 255)
        x = ops.clip(ops.add(_to_255(images, self.value_range), additions), 0.0, 255.0)
        x = ops.where(ops.less(x, thresholds), x, ops.subtract(255.0, x))
        return _from_255(x, self.value_range)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "addition_factor": self.addition_factor,
                "threshold_factor": self.threshold_factor, "value_range": self.value_range}


class RandomPosterization(_ImageAugmentation):
    """Keeps the ``b`` most significant bits of each 8-bit channel value
    (on the ``[0, 255]`` scale of ``value_range``), ``b`` drawn per image
    from ``[factor[0], factor[1])`` (a number ``f`` gives ``[1, f)``; a pair
    ``(b, b)`` fixes it), each in ``[1, 8]``.

    Example:
        >>> y = RandomPosterization((4, 4))(np.random.rand(2, 4, 4, 3).astype("float32") * 255)   # 16 levels
    """

    _FACTOR_BOUNDS = (1.0, 8.0)

    def __init__(self, factor: int | Sequence[int], value_range: Sequence[float] = (0, 255),
                 data_format: str | None = None, seed: int | None = None, **kwargs: Any):
        super().__init__(seed=seed, **kwargs)
        self.factor = [int(f) for f in self._parse_factor(factor)]
        self.value_range = self._parse_value_range(value_range)
        self.data_format = standardize_data_format(data_format, describe_layer(self))

    def _augment(self, images: Any) -> Any:
        batch = ops.shape(images)[0]
        if self.factor[0] == self.factor[1]:
            bits = ops.full((batch, 1, 1, 1), float(self.factor[0]), dtype=self.dtype)
        else:
            bits = ops.cast(ops.random.randint((batch, 1, 1, 1), self.factor[0], self.factor[1],
                                               seed=self.generator), self.dtype)
        step = ops.power(2.0, ops.subtract(8.0, bits))
        x = ops.floor(ops.clip(_to_255(images, self.value_range), 0.0, 255.0))
        return _from_255(ops.multiply(ops.floor(ops.divide(x, step)), step), self.value_range)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range,
                "data_format": self.data_format}


class MixUp(_ImageAugmentation):
    """MixUp (Zhang et al., 2018): each image becomes ``w * x_i + (1 - w) *
    x_j`` with ``j`` a random permutation of the batch and ``w`` drawn per
    image from ``Beta(alpha, alpha)``. Called on a dict ``{"images",
    "labels"}`` (as Keras 3), the labels are mixed with the same weights and
    partners.

    Example:
        >>> out = MixUp(seed=1)({"images": np.random.rand(4, 8, 8, 3).astype("float32"),
        ...                      "labels": np.eye(4, dtype="float32")})
    """

    def __init__(self, alpha: float = 0.2, data_format: str | None = None, seed: int | None = None, **kwargs: Any):
        super().__init__(seed=seed, **kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha <= 0:
            raise ValueError(f"{describe_layer(self)}: expected alpha to be a positive number, received "
                             f"alpha={alpha!r}.")
        self.alpha = float(alpha)
        self.data_format = standardize_data_format(data_format, describe_layer(self))

    def call(self, inputs: Any, training: Any = True) -> Any:
        if not training:
            return inputs
        is_dict = isinstance(inputs, dict)
        images, added = self._images(inputs["images"] if is_dict else inputs)
        batch = ops.shape(images)[0]
        order = ops.random.shuffle(ops.arange(batch, dtype="int32"), seed=self.generator)
        weight = ops.random.beta((batch,), self.alpha, self.alpha, seed=self.generator)
        weight = ops.cast(weight, self.dtype)
        w = ops.reshape(weight, (-1, 1, 1, 1))
        mixed = ops.add(ops.multiply(w, images), ops.multiply(ops.subtract(1.0, w), ops.take(images, order, axis=0)))
        mixed = ops.squeeze(mixed, 0) if added else mixed
        if not is_dict:
            return mixed
        out = dict(inputs)
        out["images"] = mixed
        if "labels" in inputs:
            labels = ops.cast(inputs["labels"], self.dtype)
            wl = ops.reshape(weight, (-1,) + (1,) * (len(ops.shape(labels)) - 1))
            out["labels"] = ops.add(ops.multiply(wl, labels),
                                    ops.multiply(ops.subtract(1.0, wl), ops.take(labels, order, axis=0)))
        return out

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha, "data_format": self.data_format}
