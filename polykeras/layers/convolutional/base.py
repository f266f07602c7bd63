"""``_BaseConv``: what every convolution layer here shares.

The window arguments (``kernel_size``, ``strides``, ``padding``,
``data_format``, ``dilation_rate``) and their checks; ``activation``,
``use_bias`` and the ``*_initializer`` / ``*_regularizer`` / ``*_constraint``
arguments of each weight, with their config entries; the channel axis; the
bias weight, added after the convolution, then the activation; output shapes.

A layer family sets ``weight_arguments`` (the prefixes of its weights'
arguments, ``("kernel", "bias")`` by default) and ``config_keys`` (its own
arguments in Keras 3's config order), calls :meth:`_BaseConv._init_arguments`
from ``__init__``, binds ``get_config = _BaseConv.get_config`` and writes
:meth:`_BaseConv._build_kernels` and :meth:`_BaseConv._convolve`. The leading underscore keeps the base out of the
table of layer classes a config may name. ``ConvLSTMCell`` takes only the
arguments, the channel axis and the output shape from here (its weights, step
and config are a recurrent cell's).
"""

from __future__ import annotations

from typing import Any

from polykeras import activations, constraints, initializers, ops, regularizers
from polykeras.layers.convolutional.arguments import (
    conv_output_length, describe_layer, standardize_data_format, standardize_padding, standardize_tuple,
    windowed_output_shape,
)
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer

__all__ = ["_BaseConv"]

#: The kinds of per-weight arguments, in the order Keras 3 lists them.
_WEIGHT_ARGUMENT_KINDS = (("initializer", initializers), ("regularizer", regularizers), ("constraint", constraints))


class _BaseConv(Layer):
    """The base of ``Conv*``, ``Conv*Transpose``, ``DepthwiseConv*`` and
    ``SeparableConv*`` (``rank`` spatial axes).

    Example:
        >>> Conv2D(8, 3).get_config()["kernel_size"]   # see the subclasses
        (3, 3)
    """

    rank = 2
    paddings: tuple[str, ...] = ("valid", "same")
    #: Whether ``strides > 1`` may go with ``dilation_rate > 1``.
    strided_dilation = False
    #: Prefixes of the weights' ``*_initializer/_regularizer/_constraint`` arguments, in config order.
    weight_arguments: tuple[str, ...] = ("kernel", "bias")
    #: The layer's own config entries before ``activation``, read from attributes of the same names.
    config_keys: tuple[str, ...] = ()

    def _init_arguments(self, kernel_size: Any, strides: Any, padding: Any, data_format: Any, dilation_rate: Any,
                        activation: Any, use_bias: bool, **weight_arguments: Any) -> None:
        """Check and keep the shared arguments; ``weight_arguments`` holds
        each ``<prefix>_<kind>`` of :attr:`weight_arguments`."""
        who = describe_layer(self)
        self.kernel_size = standardize_tuple(kernel_size, self.rank, "kernel_size", who)
        self.strides = standardize_tuple(strides, self.rank, "strides", who)
        self.dilation_rate = standardize_tuple(dilation_rate, self.rank, "dilation_rate", who)
        if not self.strided_dilation and max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{who}: strides > 1 together with dilation_rate > 1 is not supported, received "
                             f"strides={self.strides}, dilation_rate={self.dilation_rate}.")
        self.padding = standardize_padding(padding, self.paddings, who)
        self.data_format = standardize_data_format(data_format, who)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        for kind, module in _WEIGHT_ARGUMENT_KINDS:
            for prefix in self.weight_arguments:
                name = f"{prefix}_{kind}"
                setattr(self, name, module.get(weight_arguments[name]))
        self.input_spec = InputSpec(ndim=self.rank + 2)

    @property
    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def _output_channels(self, channels: int | None) -> int | None:
        """Output channels for ``channels`` input channels (also the bias size)."""
        return self.filters

    def _build_kernels(self, input_shape: Any, channels: int) -> None:
        """Create the weights before ``bias``."""
        raise NotImplementedError

    def _convolve(self, inputs: Any) -> Any:
        """The convolution, before bias and activation."""
        raise NotImplementedError

    def _output_length(self, length: int | None, axis: int) -> int | None:
        """The output size along spatial axis ``axis`` (``None`` stays unknown)."""
        return conv_output_length(length, self.kernel_size[axis], self.padding, self.strides[axis],
                                  self.dilation_rate[axis])

    def build(self, input_shape: Any) -> None:
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError(f"{describe_layer(self)}: expected a known channel axis, received input shape "
                             f"{tuple(input_shape)}.")
        self._build_kernels(input_shape, channels)
        self.bias = None
        if self.use_bias:
            size = self._output_channels(channels)
            assert size is not None  # the channel count is known here (checked above)
            self.bias = self.add_weight(shape=(size,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})

    def _convolve_with_bias(self, inputs: Any) -> Any:
        """The convolution plus the bias, before the activation."""
        outputs = self._convolve(inputs)
        if self.bias is not None:
            bias = self.bias
            if self.data_format == "channels_first":
                bias = ops.reshape(bias, (-1,) + (1,) * self.rank)
            outputs = ops.add(outputs, bias)
        return outputs

    def call(self, inputs: Any) -> Any:
        outputs = self._convolve_with_bias(inputs)
        return self.activation(outputs) if self.activation is not None else outputs

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return windowed_output_shape(self, input_shape, self._output_length, self._output_channels)

    def _serialized(self, kind: str, module: Any) -> dict[str, Any]:
        return {f"{prefix}_{kind}": module.serialize(getattr(self, f"{prefix}_{kind}"))
                for prefix in self.weight_arguments}

    def get_config(self) -> dict[str, Any]:
        """Keras 3's config. Each layer family binds it as its own
        ``get_config`` (``get_config = _BaseConv.get_config``): a class whose
        ``__init__`` sits below the class defining ``get_config`` would also
        get its captured ``__init__`` arguments (``polykeras.layers.config``)."""
        return {
            **super().get_config(),
            **{key: getattr(self, key) for key in self.config_keys},
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            **self._serialized("initializer", initializers),
            **self._serialized("regularizer", regularizers),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            **self._serialized("constraint", constraints),
        }
