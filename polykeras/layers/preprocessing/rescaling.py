"""``Rescaling``: ``inputs * scale + offset`` in the layer's dtype."""

from __future__ import annotations

from typing import Any

import numpy as np

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.layer import Layer

__all__ = ["Rescaling"]


def _number_or_list(value: Any, arg: str, who: str) -> Any:
    array = np.asarray(value)
    if array.dtype.kind not in "biuf" or not np.all(np.isfinite(array)):
        raise ValueError(f"{who}: expected {arg} as a finite number or a list of numbers (per channel), "
                         f"received {arg}={value!r}.")
    return float(array) if array.ndim == 0 else array.astype(np.float64).tolist()


class Rescaling(Layer):
    """Rescales inputs: ``inputs * scale + offset``, cast to the layer's
    dtype (float32 by default), so integer images become floats.

    Args:
        scale: a number, or one number per channel (broadcast over the last axis).
        offset: a number, or one number per channel.

    Example:
        >>> layer = Rescaling(1 / 127.5, offset=-1)      # [0, 255] -> [-1, 1]
        >>> ops.to_numpy(layer(np.array([0, 255], "uint8")))
        array([-1.,  1.], dtype=float32)
    """

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        who = describe_layer(self)
        self.scale = _number_or_list(scale, "scale", who)
        self.offset = _number_or_list(offset, "offset", who)
        self.supports_masking = True

    def call(self, inputs: Any) -> Any:
        dtype = self.dtype
        scale = ops.convert_to_tensor(np.asarray(self.scale), dtype)
        offset = ops.convert_to_tensor(np.asarray(self.offset), dtype)
        return ops.add(ops.multiply(ops.cast(inputs, dtype), scale), offset)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
