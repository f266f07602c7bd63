"""Convolution layers: ``Conv1D``, ``Conv2D``, ``Conv3D`` on one base.

Kernel shape ``(*kernel_size, input_channels // groups, filters)`` and bias
``(filters,)``, as Keras 3, so ``set_weights(keras_layer.get_weights())`` gives
the same outputs.
"""

from __future__ import annotations

from typing import Any

from polykeras import activations, constraints, initializers, ops, regularizers
from polykeras.layers.convolutional.arguments import (
    conv_output_length, describe_layer, standardize_data_format, standardize_padding, standardize_tuple,
)
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer

__all__ = ["Conv1D", "Conv2D", "Conv3D"]


class _Conv(Layer):
    """The N-D convolution shared by ``Conv1D/2D/3D`` (``rank`` spatial axes).

    Example:
        >>> Conv2D(8, 3)   # see the subclasses
    """

    rank = 2
    paddings: tuple[str, ...] = ("valid", "same")

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who = describe_layer(self)
        if isinstance(filters, bool) or not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"{who}: expected filters to be a positive int, received filters={filters!r}.")
        if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{who}: expected groups to be a positive int, received groups={groups!r}.")
        if filters % groups:
            raise ValueError(f"{who}: expected filters divisible by groups, received filters={filters}, "
                             f"groups={groups}.")
        self.filters = filters
        self.groups = groups
        self.kernel_size = standardize_tuple(kernel_size, self.rank, "kernel_size", who)
        self.strides = standardize_tuple(strides, self.rank, "strides", who)
        self.dilation_rate = standardize_tuple(dilation_rate, self.rank, "dilation_rate", who)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{who}: strides > 1 together with dilation_rate > 1 is not supported, received "
                             f"strides={self.strides}, dilation_rate={self.dilation_rate}.")
        self.padding = standardize_padding(padding, self.paddings, who)
        self.data_format = standardize_data_format(data_format, who)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    @property
    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def build(self, input_shape: Any) -> None:
        channels = input_shape[self._channel_axis]
        who = describe_layer(self)
        if channels is None:
            raise ValueError(f"{who}: expected a known channel axis, received input shape {tuple(input_shape)}.")
        if channels % self.groups:
            raise ValueError(f"{who}: expected input channels divisible by groups={self.groups}, received "
                             f"{channels} channels (input shape {tuple(input_shape)}).")
        self.kernel = self.add_weight(shape=(*self.kernel_size, channels // self.groups, self.filters),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})

    def call(self, inputs: Any) -> Any:
        outputs = ops.conv(inputs, self.kernel, strides=self.strides, padding=self.padding,
                           data_format=self.data_format, dilation_rate=self.dilation_rate)
        if self.bias is not None:
            bias = self.bias
            if self.data_format == "channels_first":
                bias = ops.reshape(bias, (self.filters,) + (1,) * self.rank)
            outputs = ops.add(outputs, bias)
        return self.activation(outputs) if self.activation is not None else outputs

    def compute_output_shape(self, input_shape: Any) -> tuple:
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{describe_layer(self)}: expected an input shape of rank {self.rank + 2}, "
                             f"received {input_shape}.")
        spatial_axes = range(1, self.rank + 1) if self.data_format == "channels_last" else range(2, self.rank + 2)
        spatial = [conv_output_length(input_shape[a], k, self.padding, s, d)
                   for a, k, s, d in zip(spatial_axes, self.kernel_size, self.strides, self.dilation_rate)]
        if self.data_format == "channels_last":
            return (input_shape[0], *spatial, self.filters)
        return (input_shape[0], self.filters, *spatial)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class Conv1D(_Conv):
    """1-D convolution over ``(batch, steps, channels)``; ``padding`` may also be
    ``"causal"`` (output step ``t`` sees inputs up to ``t`` only).

    Example:
        >>> layer = Conv1D(4, 3, padding="causal")
        >>> ops.shape(layer(np.ones((2, 10, 3), "float32")))
        (2, 10, 4)
    """

    rank = 1
    paddings = ("valid", "same", "causal")


class Conv2D(_Conv):
    """2-D convolution over ``(batch, height, width, channels)`` (or channels
    first). Kernel ``(kh, kw, channels // groups, filters)``.

    Example:
        >>> layer = Conv2D(8, (3, 3), strides=2, padding="same", activation="relu")
        >>> ops.shape(layer(np.ones((2, 28, 28, 1), "float32")))
        (2, 14, 14, 8)
    """

    rank = 2


class Conv3D(_Conv):
    """3-D convolution over ``(batch, depth, height, width, channels)``.

    Example:
        >>> ops.shape(Conv3D(2, 3)(np.ones((1, 5, 5, 5, 1), "float32")))
        (1, 3, 3, 3, 2)
    """

    rank = 3
