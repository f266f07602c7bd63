"""Transposed convolutions: ``Conv1DTranspose``, ``Conv2DTranspose``,
``Conv3DTranspose`` on one base.

Kernel shape ``(*kernel_size, filters, input_channels)`` and bias
``(filters,)``, in that order, as Keras 3, so
``set_weights(keras_layer.get_weights())`` gives Keras' outputs. Output sizes
follow Keras 3 (:func:`deconv_output_length`).
"""

from __future__ import annotations

from typing import Any

from polykeras import activations, constraints, initializers, ops, regularizers
from polykeras.layers.convolutional.arguments import (
    describe_layer, standardize_data_format, standardize_padding, standardize_tuple,
)
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer

__all__ = ["Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose", "deconv_output_length"]


def deconv_output_length(length: int | None, kernel: int, padding: str, output_padding: int | None = None,
                         stride: int = 1, dilation: int = 1) -> int | None:
    """Output size of a transposed convolution along one axis, as Keras 3:
    ``n * s + max(k - s, 0)`` ("valid") or ``n * s`` ("same") without
    ``output_padding``, else ``(n - 1) * s + k - 2 * pad + output_padding``
    (``k`` dilated; ``pad = k // 2`` for "same"). ``None`` stays unknown.

    Example:
        >>> deconv_output_length(4, 3, "same", stride=2)
        8
    """
    if length is None:
        return None
    span = kernel + (kernel - 1) * (dilation - 1)
    if output_padding is None:
        return length * stride + max(span - stride, 0) if padding == "valid" else length * stride
    pad = span // 2 if padding == "same" else 0
    return (length - 1) * stride + span - 2 * pad + output_padding


class _ConvTranspose(Layer):
    """The N-D transposed convolution shared by ``Conv1D/2D/3DTranspose``.

    Example:
        >>> Conv2DTranspose(8, 3, strides=2)   # see the subclasses
    """

    rank = 2

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 output_padding: Any = None, data_format: str | None = None, dilation_rate: Any = 1,
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who = describe_layer(self)
        if isinstance(filters, bool) or not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"{who}: expected filters to be a positive int, received filters={filters!r}.")
        self.filters = filters
        self.kernel_size = standardize_tuple(kernel_size, self.rank, "kernel_size", who)
        self.strides = standardize_tuple(strides, self.rank, "strides", who)
        self.dilation_rate = standardize_tuple(dilation_rate, self.rank, "dilation_rate", who)
        self.padding = standardize_padding(padding, ("valid", "same"), who)
        self.output_padding = None if output_padding is None else standardize_tuple(
            output_padding, self.rank, "output_padding", who, allow_zero=True)
        if self.output_padding is not None:
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(f"{who}: expected each output_padding strictly smaller than its stride, "
                                 f"received output_padding={self.output_padding}, strides={self.strides}.")
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
        if channels is None:
            raise ValueError(f"{describe_layer(self)}: expected a known channel axis, received input shape "
                             f"{tuple(input_shape)}.")
        self.kernel = self.add_weight(shape=(*self.kernel_size, self.filters, channels),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})

    def call(self, inputs: Any) -> Any:
        outputs = ops.conv_transpose(inputs, self.kernel, strides=self.strides, padding=self.padding,
                                     output_padding=self.output_padding, data_format=self.data_format,
                                     dilation_rate=self.dilation_rate)
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
        first = 1 if self.data_format == "channels_last" else 2
        paddings = self.output_padding or (None,) * self.rank
        spatial = [deconv_output_length(input_shape[first + i], k, self.padding, p, s, d)
                   for i, (k, p, s, d) in enumerate(zip(self.kernel_size, paddings, self.strides,
                                                        self.dilation_rate))]
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
            "output_padding": self.output_padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
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


class Conv1DTranspose(_ConvTranspose):
    """1-D transposed convolution over ``(batch, steps, channels)``: the
    gradient of :class:`Conv1D`, used to up-sample sequences.

    Example:
        >>> layer = Conv1DTranspose(4, 3, strides=2, padding="same")
        >>> ops.shape(layer(np.ones((2, 5, 3), "float32")))
        (2, 10, 4)
    """

    rank = 1


class Conv2DTranspose(_ConvTranspose):
    """2-D transposed convolution over ``(batch, height, width, channels)``
    (or channels first). Kernel ``(kh, kw, filters, channels)``.

    Example:
        >>> layer = Conv2DTranspose(8, 3, strides=2, padding="same", output_padding=1)
        >>> ops.shape(layer(np.ones((1, 4, 4, 2), "float32")))
        (1, 8, 8, 8)
    """

    rank = 2


class Conv3DTranspose(_ConvTranspose):
    """3-D transposed convolution over ``(batch, depth, height, width, channels)``.

    Example:
        >>> ops.shape(Conv3DTranspose(2, 2, strides=2)(np.ones((1, 2, 2, 2, 1), "float32")))
        (1, 4, 4, 4, 2)
    """

    rank = 3
