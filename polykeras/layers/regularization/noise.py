"""Noise and regularization layers, as Keras 3: ``SpatialDropout1D/2D/3D``,
``GaussianNoise``, ``GaussianDropout``, ``AlphaDropout`` (random only while
training, identity in inference) and ``ActivityRegularization``.

Random draws use a :class:`polykeras.random.SeedGenerator`, so each step of a
compiled training loop draws new noise and a seeded layer repeats its draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer, standardize_data_format
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer
from polykeras.random import SeedGenerator
from polykeras.regularizers import L1L2

__all__ = [
    "ActivityRegularization", "AlphaDropout", "GaussianDropout", "GaussianNoise", "SpatialDropout1D",
    "SpatialDropout2D", "SpatialDropout3D",
]

# SELU's constants: AlphaDropout keeps SELU activations' mean and variance.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _fraction(layer: Layer, value: Any, arg: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{describe_layer(layer)}: expected {arg} to be a float between 0 and 1, "
                         f"received {arg}={value!r}.")
    return float(value)


class _Noise(Layer):
    """Shared parts: the seed generator (only when ``active``), masks pass
    through, the output shape is the input shape.

    Example:
        >>> GaussianNoise(0.1, seed=0)   # see the subclasses
    """

    def _init_seed(self, seed: int | None, active: bool) -> None:
        self.seed = seed
        if active:
            self.seed_generator = SeedGenerator(seed, name="seed_generator")
        self.supports_masking = True

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)


class _SpatialDropout(_Noise):
    """Dropout of whole feature maps: one keep/drop draw per (sample, channel).

    Example:
        >>> SpatialDropout2D(0.5)   # see the subclasses
    """

    rank = 1

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None,
                 name: str | None = None, dtype: Any = None, **kwargs: Any):
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.rate = _fraction(self, rate, "rate")
        self.data_format = standardize_data_format(data_format, describe_layer(self))
        self._init_seed(seed, self.rate > 0)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _noise_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        if self.data_format == "channels_last":
            return (shape[0],) + (1,) * self.rank + (shape[-1],)
        return (shape[0], shape[1]) + (1,) * self.rank

    def call(self, inputs: Any, training: Any = False) -> Any:
        if not training or self.rate == 0.0:
            return inputs
        if self.rate == 1.0:
            return ops.zeros_like(inputs)
        return ops.random.dropout(inputs, self.rate, noise_shape=self._noise_shape(ops.shape(inputs)),
                                  seed=self.seed_generator)

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "rate": self.rate, "seed": self.seed, "data_format": self.data_format}
        config.pop("trainable", None)  # as Keras 3: no weights to train
        return config


class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of ``(batch, steps, channels)`` inputs while
    training (the same channels at every step), scaling the rest by
    ``1 / (1 - rate)``.

    Example:
        >>> y = SpatialDropout1D(0.5, seed=1)(np.ones((2, 4, 6), "float32"), training=True)
        >>> bool((y == y[:, :1]).all())
        True
    """

    rank = 1

    def __init__(self, rate: float, seed: int | None = None, name: str | None = None, dtype: Any = None,
                 **kwargs: Any):
        super().__init__(rate, None, seed, name, dtype, **kwargs)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["data_format"]
        return config


class SpatialDropout2D(_SpatialDropout):
    """Drops whole feature maps of ``(batch, height, width, channels)`` inputs
    (or channels first) while training.

    Example:
        >>> y = SpatialDropout2D(0.5, seed=1)(np.ones((2, 3, 3, 4), "float32"), training=True)
    """

    rank = 2

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None,
                 name: str | None = None, dtype: Any = None, **kwargs: Any):
        super().__init__(rate, data_format, seed, name, dtype, **kwargs)


class SpatialDropout3D(_SpatialDropout):
    """Drops whole feature volumes of 5-D inputs while training.

    Example:
        >>> y = SpatialDropout3D(0.5, seed=1)(np.ones((1, 2, 2, 2, 3), "float32"), training=True)
    """

    rank = 3

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None,
                 name: str | None = None, dtype: Any = None, **kwargs: Any):
        super().__init__(rate, data_format, seed, name, dtype, **kwargs)


class GaussianNoise(_Noise):
    """Adds zero-mean normal noise of standard deviation ``stddev`` while
    training; identity in inference.

    Example:
        >>> layer = GaussianNoise(0.1, seed=0)
        >>> y = layer(np.zeros((2, 3), "float32"), training=True)   # small random values
    """

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.stddev = _fraction(self, stddev, "stddev")
        self._init_seed(seed, self.stddev > 0)

    def call(self, inputs: Any, training: Any = False) -> Any:
        if not training or self.stddev == 0.0:
            return inputs
        noise = ops.random.normal(ops.shape(inputs), mean=0.0, stddev=self.stddev, dtype=ops.dtype(inputs),
                                  seed=self.seed_generator)
        return ops.add(inputs, noise)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_Noise):
    """Multiplies by normal noise of mean 1 and standard deviation
    ``sqrt(rate / (1 - rate))`` while training; identity in inference.

    Example:
        >>> y = GaussianDropout(0.2, seed=0)(np.ones((2, 3), "float32"), training=True)
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.rate = _fraction(self, rate, "rate")
        self._init_seed(seed, self.rate > 0)

    def call(self, inputs: Any, training: Any = False) -> Any:
        if not training or self.rate == 0.0:
            return inputs
        if self.rate == 1.0:
            raise ValueError(f"{describe_layer(self)}: rate=1.0 gives an infinite noise standard deviation; "
                             "expected a rate below 1 in training.")
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = ops.random.normal(ops.shape(inputs), mean=1.0, stddev=stddev, dtype=ops.dtype(inputs),
                                  seed=self.seed_generator)
        return ops.multiply(inputs, noise)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(_Noise):
    """Dropout for self-normalising (SELU) networks: dropped entries are set
    to SELU's negative saturation value and an affine correction keeps the
    inputs' mean and variance. Identity in inference.

    Args:
        rate: fraction to drop, in ``[0, 1]``.
        noise_shape: the keep/drop mask's shape (``None`` entries take the
            input's size), broadcast to the input.
        seed: int seed of the generator.

    Example:
        >>> y = AlphaDropout(0.2, seed=0)(np.ones((4, 8), "float32"), training=True)
    """

    def __init__(self, rate: float, noise_shape: Sequence[int | None] | None = None, seed: int | None = None,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.rate = _fraction(self, rate, "rate")
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self._init_seed(seed, self.rate > 0)

    def _concrete_noise_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if self.noise_shape is None:
            return shape
        if len(self.noise_shape) != len(shape):
            raise ValueError(f"{describe_layer(self)}: expected noise_shape of rank {len(shape)} for inputs of "
                             f"shape {shape}, received noise_shape={self.noise_shape}.")
        return tuple(d if n is None else n for n, d in zip(self.noise_shape, shape))

    def call(self, inputs: Any, training: Any = False) -> Any:
        if not training or self.rate == 0.0:
            return inputs
        if self.rate == 1.0:
            raise ValueError(f"{describe_layer(self)}: rate=1.0 leaves no entry to rescale; expected a rate below 1 "
                             "in training.")
        dtype = ops.dtype(inputs)
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        draws = ops.random.uniform(self._concrete_noise_shape(tuple(ops.shape(inputs))), dtype=dtype,
                                   seed=self.seed_generator)
        kept = ops.cast(ops.greater_equal(draws, self.rate), dtype)
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        x = ops.add(ops.multiply(inputs, kept), ops.multiply(ops.subtract(1.0, kept), alpha_p))
        return ops.add(ops.multiply(x, a), b)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}


class ActivityRegularization(Layer):
    """Returns its input unchanged and adds ``l1 * sum(|x|) + l2 * sum(x**2)``
    (divided by the batch size) to the layer's losses.

    Example:
        >>> layer = ActivityRegularization(l1=0.01)
        >>> y = layer(np.ones((2, 3), "float32"))
        >>> float(ops.to_numpy(layer.losses[0]))   # 0.01 * 6 / 2
        0.03
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any):
        kwargs.pop("activity_regularizer", None)
        super().__init__(activity_regularizer=L1L2(l1=l1, l2=l2), **kwargs)
        self.l1 = l1
        self.l2 = l2
        self.supports_masking = True

    def call(self, inputs: Any) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("activity_regularizer", None)
        return {**config, "l1": self.l1, "l2": self.l2}
