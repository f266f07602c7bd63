"""Depthwise convolutions: ``DepthwiseConv1D`` and ``DepthwiseConv2D``.

Each input channel is convolved with its own ``depth_multiplier`` filters.
Weights as Keras 3, in order: ``kernel`` ``(*kernel_size, channels,
depth_multiplier)`` and ``bias`` ``(channels * depth_multiplier,)``.
"""

from __future__ import annotations

from typing import Any

from polykeras import activations, constraints, initializers, ops, regularizers
from polykeras.layers.convolutional.arguments import (
    conv_output_length, describe_layer, standardize_data_format, standardize_padding, standardize_tuple,
)
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer

__all__ = ["DepthwiseConv1D", "DepthwiseConv2D", "positive_int", "spatial_output_shape"]


def positive_int(value: Any, arg: str, who: str) -> int:
    """``value`` checked to be a positive int (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{who}: expected {arg} to be a positive int, received {arg}={value!r}.")
    return value


def spatial_output_shape(layer: Any, input_shape: Any, channels_out: int) -> tuple:
    """The output shape of a (depthwise/separable) convolution ``layer`` with
    ``channels_out`` output channels, checking the input rank."""
    input_shape = tuple(input_shape)
    if len(input_shape) != layer.rank + 2:
        raise ValueError(f"{describe_layer(layer)}: expected an input shape of rank {layer.rank + 2}, "
                         f"received {input_shape}.")
    first = 1 if layer.data_format == "channels_last" else 2
    spatial = [conv_output_length(input_shape[first + i], k, layer.padding, s, d)
               for i, (k, s, d) in enumerate(zip(layer.kernel_size, layer.strides, layer.dilation_rate))]
    if layer.data_format == "channels_last":
        return (input_shape[0], *spatial, channels_out)
    return (input_shape[0], channels_out, *spatial)


class _DepthwiseConv(Layer):
    """The N-D depthwise convolution shared by ``DepthwiseConv1D/2D``.

    Example:
        >>> DepthwiseConv2D(3, depth_multiplier=2)   # see the subclasses
    """

    rank = 2

    def __init__(self, kernel_size: Any, strides: Any = 1, padding: str = "valid", depth_multiplier: int = 1,
                 data_format: str | None = None, dilation_rate: Any = 1, activation: Any = None,
                 use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", depthwise_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, depthwise_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who = describe_layer(self)
        self.depth_multiplier = positive_int(depth_multiplier, "depth_multiplier", who)
        self.kernel_size = standardize_tuple(kernel_size, self.rank, "kernel_size", who)
        self.strides = standardize_tuple(strides, self.rank, "strides", who)
        self.dilation_rate = standardize_tuple(dilation_rate, self.rank, "dilation_rate", who)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{who}: strides > 1 together with dilation_rate > 1 is not supported, received "
                             f"strides={self.strides}, dilation_rate={self.dilation_rate}.")
        self.padding = standardize_padding(padding, ("valid", "same"), who)
        self.data_format = standardize_data_format(data_format, who)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    @property
    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def build(self, input_shape: Any) -> None:
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError(f"{describe_layer(self)}: expected a known channel axis, received input shape "
                             f"{tuple(input_shape)}.")
        self.kernel = self.add_weight(shape=(*self.kernel_size, channels, self.depth_multiplier),
                                      initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
                                      constraint=self.depthwise_constraint, name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(channels * self.depth_multiplier,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})

    def call(self, inputs: Any) -> Any:
        outputs = ops.depthwise_conv(inputs, self.kernel, strides=self.strides, padding=self.padding,
                                     data_format=self.data_format, dilation_rate=self.dilation_rate)
        if self.bias is not None:
            bias = self.bias
            if self.data_format == "channels_first":
                bias = ops.reshape(bias, (-1,) + (1,) * self.rank)
            outputs = ops.add(outputs, bias)
        return self.activation(outputs) if self.activation is not None else outputs

    def compute_output_shape(self, input_shape: Any) -> tuple:
        channels = tuple(input_shape)[self._channel_axis]
        return spatial_output_shape(self, input_shape, None if channels is None else channels * self.depth_multiplier)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class DepthwiseConv1D(_DepthwiseConv):
    """Depthwise 1-D convolution over ``(batch, steps, channels)``; output
    channels ``channels * depth_multiplier``.

    Example:
        >>> layer = DepthwiseConv1D(3, depth_multiplier=2, padding="same")
        >>> ops.shape(layer(np.ones((2, 8, 3), "float32")))
        (2, 8, 6)
    """

    rank = 1


class DepthwiseConv2D(_DepthwiseConv):
    """Depthwise 2-D convolution over ``(batch, height, width, channels)``
    (or channels first); kernel ``(kh, kw, channels, depth_multiplier)``.

    Example:
        >>> layer = DepthwiseConv2D((3, 3), strides=2, padding="same")
        >>> ops.shape(layer(np.ones((1, 8, 8, 4), "float32")))
        (1, 4, 4, 4)
    """

    rank = 2
