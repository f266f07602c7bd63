"""Depthwise-separable convolutions: ``SeparableConv1D`` and ``SeparableConv2D``.

A depthwise convolution (``depth_multiplier`` filters per input channel)
followed by a 1x1 pointwise convolution mixing channels. Weights as Keras 3,
in order: ``depthwise_kernel`` ``(*kernel_size, channels, depth_multiplier)``,
``pointwise_kernel`` ``(1, ..., channels * depth_multiplier, filters)``,
``bias`` ``(filters,)``.
"""

from __future__ import annotations

from typing import Any

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer, positive_int
from polykeras.layers.convolutional.base import _BaseConv

__all__ = ["SeparableConv1D", "SeparableConv2D"]


class _SeparableConv(_BaseConv):
    """The N-D separable convolution shared by ``SeparableConv1D/2D``.

    Example:
        >>> SeparableConv2D(8, 3)   # see the subclasses
    """

    weight_arguments = ("depthwise", "pointwise", "bias")
    config_keys = ("depth_multiplier", "filters", "kernel_size", "strides", "padding", "data_format",
                   "dilation_rate")
    get_config = _BaseConv.get_config  # this class's own config, not captured arguments: see there

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
        self._init_arguments(
            kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
            depthwise_initializer=depthwise_initializer, pointwise_initializer=pointwise_initializer,
            bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
            pointwise_regularizer=pointwise_regularizer, bias_regularizer=bias_regularizer,
            depthwise_constraint=depthwise_constraint, pointwise_constraint=pointwise_constraint,
            bias_constraint=bias_constraint)

    def _build_kernels(self, input_shape: Any, channels: int) -> None:
        self.depthwise_kernel = self.add_weight(
            shape=(*self.kernel_size, channels, self.depth_multiplier), initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint, name="depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            shape=(1,) * self.rank + (channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, name="pointwise_kernel")

    def _convolve(self, inputs: Any) -> Any:
        depthwise = ops.depthwise_conv(inputs, self.depthwise_kernel, strides=self.strides, padding=self.padding,
                                       data_format=self.data_format, dilation_rate=self.dilation_rate)
        return ops.conv(depthwise, self.pointwise_kernel, strides=1, padding="valid", data_format=self.data_format)


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
