"""``Flatten``: every axis but the batch axis into one."""

from __future__ import annotations

import math
from typing import Any

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer, standardize_data_format
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer

__all__ = ["Flatten"]


class Flatten(Layer):
    """Flattens the non-batch axes: ``(batch, *dims)`` -> ``(batch, prod(dims))``.
    With ``data_format="channels_first"`` the channels are moved last first, so
    the order of the features matches a channels-last model.

    Example:
        >>> ops.shape(Flatten()(np.ones((2, 3, 4), "float32")))
        (2, 12)
    """

    def __init__(self, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, describe_layer(self))
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs: Any) -> Any:
        shape = tuple(ops.shape(inputs))
        if self.data_format == "channels_first" and len(shape) > 2:
            inputs = ops.transpose(inputs, (0, *range(2, len(shape)), 1))
        rest = shape[1:]
        if rest and all(d is not None for d in rest):
            return ops.reshape(inputs, (-1, math.prod(rest)))
        if not rest:
            return ops.reshape(inputs, (-1, 1))
        return ops.reshape(inputs, (shape[0], -1))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        rest = tuple(input_shape)[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (tuple(input_shape)[0], size)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}
