"""``UpSampling3D``: the 3-D member of the resampling family
(``ZeroPadding3D`` and ``UpSampling1D/2D`` live in ``padding_sampling.py``)."""

from __future__ import annotations

from typing import Any

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer, standardize_data_format, standardize_tuple
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer

__all__ = ["UpSampling3D"]


class UpSampling3D(Layer):
    """Enlarges a volume by repeating each cell ``size = (depth, rows, cols)``
    times along the three spatial axes (nearest neighbour, as Keras 3).

    Example:
        >>> ops.shape(UpSampling3D((2, 1, 3))(np.ones((1, 2, 3, 4, 5), "float32")))
        (1, 4, 3, 12, 5)
    """

    def __init__(self, size: Any = (2, 2, 2), data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        who = describe_layer(self)
        self.data_format = standardize_data_format(data_format, who)
        self.size = standardize_tuple(size, 3, "size", who)
        self.input_spec = InputSpec(ndim=5)

    @property
    def _spatial_axes(self) -> tuple[int, int, int]:
        return (1, 2, 3) if self.data_format == "channels_last" else (2, 3, 4)

    def call(self, inputs: Any) -> Any:
        for axis, size in zip(self._spatial_axes, self.size):
            if size > 1:
                inputs = ops.repeat(inputs, size, axis=axis)
        return inputs

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = list(input_shape)
        if len(shape) != 5:
            raise ValueError(f"{describe_layer(self)}: expected an input shape of rank 5, received {tuple(shape)}.")
        for axis, size in zip(self._spatial_axes, self.size):
            shape[axis] = None if shape[axis] is None else shape[axis] * size
        return tuple(shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}
