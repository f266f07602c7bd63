"""Transposed convolutions: ``Conv1DTranspose``, ``Conv2DTranspose``,
``Conv3DTranspose`` on one base.

Kernel shape ``(*kernel_size, filters, input_channels)`` and bias
``(filters,)``, in that order, as Keras 3, so
``set_weights(keras_layer.get_weights())`` gives Keras' outputs. Output sizes
follow Keras 3 (:func:`deconv_output_length`).
"""

from __future__ import annotations

from typing import Any

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer, positive_int, standardize_tuple
from polykeras.layers.convolutional.base import _BaseConv

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


class _ConvTranspose(_BaseConv):
    """The N-D transposed convolution shared by ``Conv1D/2D/3DTranspose``.

    Example:
        >>> Conv2DTranspose(8, 3, strides=2)   # see the subclasses
    """

    strided_dilation = True
    config_keys = ("filters", "kernel_size", "strides", "padding", "output_padding", "data_format", "dilation_rate")
    get_config = _BaseConv.get_config  # this class's own config, not captured arguments: see there

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 output_padding: Any = None, data_format: str | None = None, dilation_rate: Any = 1,
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who = describe_layer(self)
        self.filters = positive_int(filters, "filters", who)
        self._init_arguments(
            kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
            kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        self.output_padding = None if output_padding is None else standardize_tuple(
            output_padding, self.rank, "output_padding", who, allow_zero=True)
        if self.output_padding is not None:
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(f"{who}: expected each output_padding strictly smaller than its stride, "
                                 f"received output_padding={self.output_padding}, strides={self.strides}.")

    def _build_kernels(self, input_shape: Any, channels: int) -> None:
        self.kernel = self.add_weight(shape=(*self.kernel_size, self.filters, channels),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")

    def _convolve(self, inputs: Any) -> Any:
        return ops.conv_transpose(inputs, self.kernel, strides=self.strides, padding=self.padding,
                                  output_padding=self.output_padding, data_format=self.data_format,
                                  dilation_rate=self.dilation_rate)

    def _output_length(self, length: int | None, axis: int) -> int | None:
        output_padding = None if self.output_padding is None else self.output_padding[axis]
        return deconv_output_length(length, self.kernel_size[axis], self.padding, output_padding,
                                    self.strides[axis], self.dilation_rate[axis])


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

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1, 1), padding: str = "valid",
                 data_format: str | None = None, output_padding: Any = None, dilation_rate: Any = (1, 1, 1),
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any):
        # Keras 3 takes data_format before output_padding here (after it in Conv1D/2DTranspose).
        super().__init__(filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate,
                         activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                         bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint, **kwargs)
