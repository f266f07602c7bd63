"""Depthwise-separable convolutions: ``SeparableConv1D`` and ``SeparableConv2D``.

A depthwise convolution (``depth_multiplier`` filters per input channel)
followed by a 1x1 pointwise convolution mixing channels. Weights as Keras 3,
in order: ``depthwise_kernel`` ``(*kernel_size, channels, depth_multiplier)``,
``pointwise_kernel`` ``(1, ..., channels * depth_multiplier, filters)``,
``bias`` ``(filters,)``.
"""

from __future__ import annotations

from typing import Any

from polykeras import activations, constraints, initializers, ops, regularizers
from polykeras.layers.convolutional.arguments import (
    describe_layer, standardize_data_format, standardize_padding, standardize_tuple,
)
from polykeras.layers.convolutional.depthwise import positive_int, spatial_output_shape
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer

__all__ = ["SeparableConv1D", "SeparableConv2D"]


class _SeparableConv(Layer):
    """The N-D separable convolution shared by ``SeparableConv1D/2D``.

    Example:
        >>> SeparableConv2D(8, 3)   # see the subclasses
    """

    rank = 2

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, depth_multiplier: int = 1,
                 activation: Any = None, use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, pointwise_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, depthwise_constraint: Any = None,
                 pointwise_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who = describe_layer(self)
        self.filters = positive_int(filters, "filters", who)
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
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)
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
        self.depthwise_kernel = self.add_weight(
            shape=(*self.kernel_size, channels, self.depth_multiplier), initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint, name="depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            shape=(1,) * self.rank + (channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, name="pointwise_kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})

    def call(self, inputs: Any) -> Any:
        depthwise = ops.depthwise_conv(inputs, self.depthwise_kernel, strides=self.strides, padding=self.padding,
                                       data_format=self.data_format, dilation_rate=self.dilation_rate)
        outputs = ops.conv(depthwise, self.pointwise_kernel, strides=1, padding="valid",
                           data_format=self.data_format)
        if self.bias is not None:
            bias = self.bias
            if self.data_format == "channels_first":
                bias = ops.reshape(bias, (self.filters,) + (1,) * self.rank)
            outputs = ops.add(outputs, bias)
        return self.activation(outputs) if self.activation is not None else outputs

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return spatial_output_shape(self, input_shape, self.filters)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class SeparableConv1D(_SeparableConv):
    """Depthwise-separable 1-D convolution over ``(batch, steps, channels)``;
   

    Example:
        >>> layer = SeparableConv1D(8, 3, depth_multiplier=2, padding="same")
        >>> ops.shape(layer(np.ones((2, 10, 3), "float32")))
        (2, 10, 8)
    """

    rank = 1


class SeparableConv2D(_SeparableConv):
    """Depthwise-separable 2-D convolution over ``(batch, height, width,
    channels)`` (or channels first).

    Example:
        >>> layer = SeparableConv2D(16, (3, 3), strides=2, padding="same", activation="relu")
        >>> ops.shape(layer(np.ones((1, 8, 8, 4), "float32")))
        (1, 4, 4, 16)
    """

    rank = 2
