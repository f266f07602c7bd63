"""Pooling layers: ``MaxPooling1D/2D/3D``, ``AveragePooling1D/2D/3D`` and the
global ``GlobalMaxPooling1D/2D/3D``, ``GlobalAveragePooling1D/2D/3D``.
"""

from __future__ import annotations

from typing import Any

from polykeras import ops
from polykeras.layers.convolutional.arguments import (
    conv_output_length, describe_layer, standardize_data_format, standardize_padding, standardize_tuple,
    windowed_output_shape,
)
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer

__all__ = [
    "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "GlobalAveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "MaxPooling1D",
    "MaxPooling2D", "MaxPooling3D",
]


class _Pooling(Layer):
    """Window pooling over ``rank`` spatial axes (``strides`` default to
    ``pool_size``).

    Example:
        >>> MaxPooling2D(2)   # see the subclasses
    """

    rank = 2
    mode = "max"

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid", data_format: str | None = None,
                 name: str | None = None, **kwargs: Any):
        super().__init__(name=name, **kwargs)
        who = describe_layer(self)
        self.pool_size = standardize_tuple(pool_size, self.rank, "pool_size", who)
        self.strides = self.pool_size if strides is None else standardize_tuple(strides, self.rank, "strides", who)
        self.padding = standardize_padding(padding, ("valid", "same"), who)
        self.data_format = standardize_data_format(data_format, who)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs: Any) -> Any:
        pool = ops.max_pool if self.mode == "max" else ops.average_pool
        return pool(inputs, self.pool_size, self.strides, self.padding, self.data_format)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return windowed_output_shape(
            self, input_shape,
            lambda n, axis: conv_output_length(n, self.pool_size[axis], self.padding, self.strides[axis]))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


class MaxPooling1D(_Pooling):
    """Max over windows of ``pool_size`` steps.

    Example:
        >>> ops.shape(MaxPooling1D(2)(np.ones((2, 8, 3), "float32")))
        (2, 4, 3)
    """

    rank, mode = 1, "max"

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, name: str | None = None, **kwargs: Any):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class MaxPooling2D(_Pooling):
    """Max over ``pool_size`` windows of an image.

    Example:
        >>> ops.shape(MaxPooling2D((2, 2))(np.ones((2, 8, 8, 3), "float32")))
        (2, 4, 4, 3)
    """

    rank, mode = 2, "max"

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, name: str | None = None, **kwargs: Any):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class MaxPooling3D(_Pooling):
    """Max over ``pool_size`` windows of a volume.

    Example:
        >>> ops.shape(MaxPooling3D()(np.ones((1, 4, 4, 4, 2), "float32")))
        (1, 2, 2, 2, 2)
    """

    rank, mode = 3, "max"

    def __init__(self, pool_size: Any = (2, 2, 2), strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, name: str | None = None, **kwargs: Any):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class AveragePooling1D(_Pooling):
    """Mean over windows of ``pool_size`` steps (``same`` padding averages the
    real cells only).

    Example:
        >>> ops.shape(AveragePooling1D(2)(np.ones((2, 8, 3), "float32")))
        (2, 4, 3)
    """

    rank, mode = 1, "average"

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, name: str | None = None, **kwargs: Any):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class AveragePooling2D(_Pooling):
    """Mean over ``pool_size`` windows of an image.

    Example:
        >>> ops.shape(AveragePooling2D(2, padding="same")(np.ones((2, 5, 5, 3), "float32")))
        (2, 3, 3, 3)
    """

    rank, mode = 2, "average"

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, name: str | None = None, **kwargs: Any):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class AveragePooling3D(_Pooling):
    """Mean over ``pool_size`` windows of a volume.

    Example:
        >>> ops.shape(AveragePooling3D(2)(np.ones((1, 4, 4, 4, 2), "float32")))
        (1, 2, 2, 2, 2)
    """

    rank, mode = 3, "average"

    def __init__(self, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, name: str | None = None, **kwargs: Any):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class _GlobalPooling(Layer):
    """Max or mean over every spatial axis (kept as size 1 with ``keepdims``).

    Example:
        >>> GlobalAveragePooling2D()   # see the subclasses
    """

    rank = 2
    mode = "max"

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, describe_layer(self))
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    @property
    def _spatial_axes(self) -> tuple[int, ...]:
        first = 1 if self.data_format == "channels_last" else 2
        return tuple(range(first, first + self.rank))

    def call(self, inputs: Any) -> Any:
        reduce = ops.max if self.mode == "max" else ops.mean
        return reduce(inputs, axis=self._spatial_axes, keepdims=self.keepdims)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{describe_layer(self)}: expected an input shape of rank {self.rank + 2}, "
                             f"received {input_shape}.")
        axes = self._spatial_axes
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalMaxPooling1D(_GlobalPooling):
    """Max over the steps of ``(batch, steps, features)``.

    Example:
        >>> ops.shape(GlobalMaxPooling1D()(np.ones((2, 5, 3), "float32")))
        (2, 3)
    """

    rank, mode = 1, "max"


class GlobalMaxPooling2D(_GlobalPooling):
    """Max over height and width.

    Example:
        >>> ops.shape(GlobalMaxPooling2D(keepdims=True)(np.ones((2, 4, 4, 3), "float32")))
        (2, 1, 1, 3)
    """

    rank, mode = 2, "max"


class GlobalMaxPooling3D(_GlobalPooling):
    """Max over the three spatial axes.

    Example:
        >>> ops.shape(GlobalMaxPooling3D()(np.ones((1, 2, 2, 2, 3), "float32")))
        (1, 3)
    """

    rank, mode = 3, "max"


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps of ``(batch, steps, features)``; with a mask
    (``Embedding(mask_zero=True)``, ``Masking``) only the unmasked steps count.

    Example:
        >>> ops.shape(GlobalAveragePooling1D()(np.ones((2, 5, 3), "float32")))
        (2, 3)
    """

    rank, mode = 1, "average"

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any):
        super().__init__(data_format, keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None:
            return super().call(inputs)
        steps_axis = self._spatial_axes[0]
        weights = ops.cast(mask, ops.dtype(inputs))
        weights = ops.expand_dims(weights, 2 if self.data_format == "channels_last" else 1)
        total = ops.sum(ops.multiply(inputs, weights), axis=steps_axis, keepdims=self.keepdims)
        count = ops.sum(weights, axis=steps_axis, keepdims=self.keepdims)
        return ops.divide(total, count)

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> None:
        return None


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over height and width.

    Example:
        >>> ops.shape(GlobalAveragePooling2D()(np.ones((2, 4, 4, 3), "float32")))
        (2, 3)
    """

    rank, mode = 2, "average"


class GlobalAveragePooling3D(_GlobalPooling):
    """Mean over the three spatial axes.

    Example:
        >>> ops.shape(GlobalAveragePooling3D()(np.ones((1, 2, 2, 2, 3), "float32")))
        (1, 3)
    """

    rank, mode = 3, "average"
