"""Depthwise convolutions: ``DepthwiseConv1D`` and ``DepthwiseConv2D``.

Each input channel is convolved with its own ``depth_multiplier`` filters.
Weights as Keras 3, in order: ``kernel`` ``(*kernel_size, channels,
depth_multiplier)`` and ``bias`` ``(channels * depth_multiplier,)``.
"""

from __future__ import annotations

from typing import Any

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer, positive_int
from polykeras.layers.convolutional.base import _BaseConv

__all__ = ["DepthwiseConv1D", "DepthwiseConv2D"]


class _DepthwiseConv(_BaseConv):
    """The N-D depthwise convolution shared by ``DepthwiseConv1D/2D``.

    Example:
        >>> DepthwiseConv2D(3, depth_multiplier=2)   # see the subclasses
    """

    weight_arguments = ("depthwise", "bias")
    config_keys = ("depth_multiplier", "kernel_size", "strides", "padding", "data_format", "dilation_rate")
    get_config = _BaseConv.get_config  # this class's own config, not captured arguments: see there

    def __init__(self, kernel_size: Any, strides: Any = 1, padding: str = "valid", depth_multiplier: int = 1,
                 data_format: str | None = None, dilation_rate: Any = 1, activation: Any = None,
                 use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", depthwise_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, depthwise_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.depth_multiplier = positive_int(depth_multiplier, "depth_multiplier", describe_layer(self))
        self._init_arguments(
            kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
            depthwise_initializer=depthwise_initializer, bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer, bias_regularizer=bias_regularizer,
            depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint)

    def _output_channels(self, channels: int | None) -> int | None:
        return None if channels is None else channels * self.depth_multiplier

    def _build_kernels(self, input_shape: Any, channels: int) -> None:
        self.kernel = self.add_weight(shape=(*self.kernel_size, channels, self.depth_multiplier),
                                      initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
                                      constraint=self.depthwise_constraint, name="kernel")

    def _convolve(self, inputs: Any) -> Any:
        return ops.depthwise_conv(inputs, self.kernel, strides=self.strides, padding=self.padding,
                                  data_format=self.data_format, dilation_rate=self.dilation_rate)


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
