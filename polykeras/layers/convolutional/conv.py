"""Convolution layers: ``Conv1D``, ``Conv2D``, ``Conv3D`` on one base.

Kernel shape ``(*kernel_size, input_channels // groups, filters)`` and bias
``(filters,)``, as Keras 3, so ``set_weights(keras_layer.get_weights())`` gives
the same outputs.
"""

from __future__ import annotations

from typing import Any

from polykeras import backends, ops
from polykeras.layers.convolutional.arguments import describe_layer, positive_int
from polykeras.layers.convolutional.base import _BaseConv
from polykeras.layers.core.lora import LoraMixin, LoraWeight
from polykeras.variables import value_of

__all__ = ["Conv1D", "Conv2D", "Conv3D"]


class _Conv(LoraMixin, _BaseConv):
    """The N-D convolution shared by ``Conv1D/2D/3D`` (``rank`` spatial axes).
    ``enable_lora(rank)`` (or the keyword ``lora_rank``) freezes the kernel
    and trains a low-rank update instead (see :mod:`polykeras.layers.core.lora`).

    Example:
        >>> Conv2D(8, 3)   # see the subclasses
    """

    config_keys = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups")
    kernel = LoraWeight()

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who = describe_layer(self)
        self.filters = positive_int(filters, "filters", who)
        self.groups = positive_int(groups, "groups", who)
        if filters % groups:
            raise ValueError(f"{who}: expected filters divisible by groups, received filters={filters}, "
                             f"groups={groups}.")
        self._init_arguments(
            kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
            kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        self._enable_lora_after_build()

    def get_config(self) -> dict[str, Any]:
        """Keras 3's config, with ``lora_rank``/``lora_alpha`` when set."""
        return {**_BaseConv.get_config(self), **self._lora_config()}

    def _build_kernels(self, input_shape: Any, channels: int) -> None:
        if channels % self.groups:
            raise ValueError(f"{describe_layer(self)}: expected input channels divisible by groups={self.groups}, "
                             f"received {channels} channels (input shape {tuple(input_shape)}).")
        self.kernel = self.add_weight(shape=(*self.kernel_size, channels // self.groups, self.filters),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")

    def convolution_op(self, inputs: Any, kernel: Any) -> Any:
        """The convolution of ``inputs`` with ``kernel``, before bias and
        activation. Override it for a convolution of your own (weight
        standardisation, say), as in Keras 3.

        Example: ``layer.convolution_op(images, layer.kernel)``
        """
        return ops.conv(inputs, kernel, strides=self.strides, padding=self.padding,
                        data_format=self.data_format, dilation_rate=self.dilation_rate)

    def _convolve(self, inputs: Any) -> Any:
        return self.convolution_op(inputs, self.kernel)

    def _convolve_with_bias(self, inputs: Any) -> Any:
        if self.bias is None or self.padding == "causal" or type(self).convolution_op is not _Conv.convolution_op:
            return super()._convolve_with_bias(inputs)
        # One kernel for the convolution and its bias where the engine has it.
        kernel = value_of(self.kernel)  # the merged value when LoRA is on
        return backends.active().conv_bias(inputs, kernel, self.bias.value, self.strides, self.padding,
                                           self.data_format, self.dilation_rate)


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
