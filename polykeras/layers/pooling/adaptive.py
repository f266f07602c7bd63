"""Adaptive pooling layers: ``AdaptiveAveragePooling1D/2D/3D`` and
``AdaptiveMaxPooling1D/2D/3D`` pool any input size to a fixed
``output_size``, through :func:`polykeras.ops.adaptive_average_pool` and
:func:`polykeras.ops.adaptive_max_pool` (bin ``i`` of an axis of length ``L``
pooled to ``n`` covers ``[floor(i L / n), ceil((i + 1) L / n))``, the bins of
Keras 3 and PyTorch).
"""

from __future__ import annotations

from typing import Any

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer, standardize_data_format
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer

__all__ = [
    "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D", "AdaptiveMaxPooling1D",
    "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D",
]


def _output_size(value: Any, rank: int, who: str) -> tuple[int, ...]:
    sizes = (value,) * rank if isinstance(value, int) and not isinstance(value, bool) else value
    if isinstance(sizes, list):
        sizes = tuple(sizes)
    if not (isinstance(sizes, tuple) and len(sizes) == rank
            and all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sizes)):
        raise ValueError(f"{who}: expected output_size to be a positive int or a tuple of {rank} positive ints, "
                         f"received output_size={value!r}.")
    return sizes


class _AdaptivePooling(Layer):
    """Pools the ``rank`` spatial axes to ``output_size`` (an int for every
    axis, or one per axis).

    Example:
        >>> AdaptiveAveragePooling2D((7, 7))   # see the subclasses
    """

    rank = 2
    largest = False

    def __init__(self, output_size: Any, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        who = describe_layer(self)
        self.output_size = _output_size(output_size, self.rank, who)
        self.data_format = standardize_data_format(data_format, who)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs: Any) -> Any:
        pool = ops.adaptive_max_pool if self.largest else ops.adaptive_average_pool
        return pool(inputs, self.output_size, data_format=self.data_format)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{describe_layer(self)}: expected an input shape of rank {self.rank + 2}, "
                             f"received {input_shape}.")
        if self.data_format == "channels_last":
            return (input_shape[0], *self.output_size, input_shape[-1])
        return (input_shape[0], input_shape[1], *self.output_size)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "output_size": self.output_size, "data_format": self.data_format}


class AdaptiveAveragePooling1D(_AdaptivePooling):
    """Mean over ``output_size`` bins of the steps of ``(batch, steps, channels)``.

    Example:
        >>> ops.shape(AdaptiveAveragePooling1D(4)(np.ones((2, 10, 3), "float32")))
        (2, 4, 3)
    """

    rank, largest = 1, False


class AdaptiveAveragePooling2D(_AdaptivePooling):
    """Mean over ``output_size`` bins of an image's height and width.

    Example:
        >>> ops.shape(AdaptiveAveragePooling2D((2, 3))(np.ones((2, 7, 9, 3), "float32")))
        (2, 2, 3, 3)
    """

    rank, largest = 2, False


class AdaptiveAveragePooling3D(_AdaptivePooling):
    """Mean over ``output_size`` bins of a volume's three spatial axes.

    Example:
        >>> ops.shape(AdaptiveAveragePooling3D(2)(np.ones((1, 5, 5, 5, 2), "float32")))
        (1, 2, 2, 2, 2)
    """

    rank, largest = 3, False


class AdaptiveMaxPooling1D(_AdaptivePooling):
    """Max over ``output_size`` bins of the steps of ``(batch, steps, channels)``.

    Example:
        >>> ops.shape(AdaptiveMaxPooling1D(4)(np.ones((2, 10, 3), "float32")))
        (2, 4, 3)
    """

    rank, largest = 1, True


class AdaptiveMaxPooling2D(_AdaptivePooling):
    """Max over ``output_size`` bins of an image's height and width.

    Example:
        >>> ops.shape(AdaptiveMaxPooling2D(1)(np.ones((2, 7, 9, 3), "float32")))
        (2, 1, 1, 3)
    """

    rank, largest = 2, True


class AdaptiveMaxPooling3D(_AdaptivePooling):
    """Max over ``output_size`` bins of a volume's three spatial axes.

    Example:
        >>> ops.shape(AdaptiveMaxPooling3D((1, 2, 3))(np.ones((1, 4, 4, 6, 2), "float32")))
        (1, 1, 2, 3, 2)
    """

    rank, largest = 3, True
