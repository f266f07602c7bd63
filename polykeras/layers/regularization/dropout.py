"""``Dropout``: random zeros while training, identity otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.layer import Layer
from polykeras.random import SeedGenerator

__all__ = ["Dropout"]


class Dropout(Layer):
    """Sets a fraction ``rate`` of the inputs to 0 during training and scales
    the others by ``1 / (1 - rate)``; identity when ``training`` is falsy.

    The random state lives in a :class:`polykeras.random.SeedGenerator`, so
    each step of a compiled training loop draws a new mask.

    Args:
        rate: fraction to drop, in ``[0, 1]``.
        noise_shape: the shape of the keep/drop mask, broadcast to the input
            (``None`` entries take the input's size), e.g. ``(batch, 1, features)``
            to drop the same features at every step.
        seed: int seed of the generator.

    Example:
        >>> layer = Dropout(0.5, seed=1)
        >>> y = layer(np.ones((4, 8), "float32"), training=True)   # zeros and 2.0s
    """

    def __init__(self, rate: float, noise_shape: Sequence[int | None] | None = None, seed: int | None = None,
                 **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
            raise ValueError(f"{describe_layer(self)}: expected rate to be a float between 0 and 1, "
                             f"received rate={rate!r}.")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        if self.rate > 0:
            self.seed_generator = SeedGenerator(seed, name="seed_generator")
        self.supports_masking = True

    def _noise_shape(self, inputs: Any) -> tuple[int, ...] | None:
        if self.noise_shape is None:
            return None
        shape = tuple(ops.shape(inputs))
        if len(self.noise_shape) != len(shape):
            raise ValueError(f"{describe_layer(self)}: expected noise_shape of rank {len(shape)} for inputs of "
                             f"shape {shape}, received noise_shape={self.noise_shape}.")
        return tuple(d if n is None else n for n, d in zip(self.noise_shape, shape))

    def call(self, inputs: Any, training: Any = False) -> Any:
        if not training or self.rate == 0.0:
            return inputs
        if self.rate == 1.0:
            return ops.zeros_like(inputs)
        return ops.random.dropout(inputs, self.rate, noise_shape=self._noise_shape(inputs), seed=self.seed_generator)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}
