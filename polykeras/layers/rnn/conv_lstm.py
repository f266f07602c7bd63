"""Convolutional LSTMs (Shi et al. 2015): ``ConvLSTM1D``/``2D``/``3D`` and
their ``ConvLSTMCell``: an LSTM whose input and recurrent transformations
are convolutions, over sequences of 1-, 2- or 3-D feature maps.

Weights as Keras 3: ``kernel`` ``(*kernel_size, channels, 4 * filters)``,
``recurrent_kernel`` ``(*kernel_size, filters, 4 * filters)``, ``bias``
``(4 * filters,)``, gates i, f, c, o along the last axis. The recurrent
convolution is "same" with stride 1, so the state keeps the shape of the
input convolution's output. The cell's convolution arguments, their checks,
the channel axis and output shapes are the convolution layers'
(:class:`~polykeras.layers.convolutional.base._BaseConv`).
"""

from __future__ import annotations

from typing import Any

from polykeras import activations, constraints, initializers, ops, regularizers
from polykeras.layers.convolutional.arguments import describe_layer, positive_int, windowed_output_shape
from polykeras.layers.convolutional.base import _BaseConv
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer
from polykeras.layers.rnn.cell_base import forward_to_cell
from polykeras.layers.rnn.dropout_cell import DropoutRNNCell
from polykeras.layers.rnn.loop import filled
from polykeras.layers.rnn.lstm import _UnitForgetBias, gates_per_mask, lstm_update
from polykeras.layers.rnn.rnn import RNN

__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "ConvLSTMCell"]

_SHARED = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
           "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
           "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
           "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout")


class ConvLSTMCell(DropoutRNNCell, _BaseConv):
    """One ConvLSTM step over a ``rank``-D feature map: the LSTM equations
    with ``conv(inputs, kernel)`` and ``conv(h, recurrent_kernel)`` in place
    of the matrix products; returns ``h', [h', c']``.

    Args:
        rank: 1, 2 or 3 spatial axes.
        filters, kernel_size, strides, padding (``"valid"``/``"same"``),
        data_format, dilation_rate: the input convolution's, as ``Conv*D``.
        Others as :class:`LSTMCell`; dropout masks are drawn per gate.

    Example:
        >>> y = RNN(ConvLSTMCell(2, 4, 3, padding="same"))(np.ones((1, 5, 8, 8, 3), "float32"))   # (1, 8, 8, 4)
    """

    _pk_direct_call = True
    weight_arguments = ("kernel", "recurrent", "bias")

    def __init__(self, rank: int, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        who = describe_layer(self)
        if rank not in (1, 2, 3):
            raise ValueError(f"{who}: expected rank 1, 2 or 3, received rank={rank!r}.")
        self.rank = rank
        self.filters = positive_int(filters, "filters", who)
        self._init_arguments(
            kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint)
        self.input_spec = None  # a step's shape is checked in build, with this cell's own message
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = unit_forget_bias
        self._init_dropout(dropout, recurrent_dropout, seed)
        self.dropout_mask_count = 4
        self.state_size = [filters, filters]

    def build(self, input_shape: Any) -> None:
        spatial = input_shape[1:-1] if self.data_format == "channels_last" else input_shape[2:]
        channels = input_shape[self._channel_axis]
        if len(spatial) != self.rank or channels is None:
            raise ValueError(f"{describe_layer(self)}: expected steps of shape (batch, {self.rank} spatial sizes, "
                             f"known channels) ({self.data_format}), received step shape {tuple(input_shape)}.")
        self.spatial_dims = tuple(spatial)  # None where unknown: the ConvLSTM layer reads them from its input
        self.input_dim = channels
        self.kernel = self.add_weight(shape=(*self.kernel_size, channels, 4 * self.filters),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(*self.kernel_size, self.filters, 4 * self.filters),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint, name="recurrent_kernel")
        self.bias = None
        if self.use_bias:
            initializer = _UnitForgetBias(self.bias_initializer, self.filters) if self.unit_forget_bias \
                else self.bias_initializer
            self.bias = self.add_weight(shape=(4 * self.filters,), initializer=initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")

    def _input_conv(self, x: Any, kernel: Any, bias: Any) -> Any:
        out = ops.conv(x, kernel, strides=self.strides, padding=self.padding, data_format=self.data_format,
                       dilation_rate=self.dilation_rate)
        if bias is None:
            return out
        if self.data_format == "channels_first":
            bias = ops.reshape(bias, (-1,) + (1,) * self.rank)
        return ops.add(out, bias)

    def _recurrent_conv(self, h: Any, kernel: Any) -> Any:
        return ops.conv(h, kernel, strides=1, padding="same", data_format=self.data_format)

    # A recurrent cell's call (inputs, states): _BaseConv lends the kernels, not its call.
    def call(self, inputs: Any, states: Any, training: Any = False) -> tuple[Any, list[Any]]:  # type: ignore[override]
        h, c = states[0], states[1]
        masks, recurrent_masks = self._step_masks(inputs, h, training)
        if masks is None and recurrent_masks is None:  # all four gates in one convolution each
            z = ops.add(self._input_conv(inputs, self.kernel, self.bias),
                        self._recurrent_conv(h, self.recurrent_kernel))
            gates = ops.split(z, 4, axis=self._channel_axis)
        else:
            gates = gates_per_mask(self, inputs, h, masks, recurrent_masks, self._input_conv, self._recurrent_conv)
        i, f, g, o = gates
        h, c = lstm_update(i, f, g, o, c, self.activation, self.recurrent_activation)
        return h, [h, c]

    def compute_output_shape(self, inputs_shape: Any, states_shape: Any = None) -> Any:
        shape = windowed_output_shape(self, inputs_shape, self._output_length, self._output_channels)
        return shape, [shape, shape]

    def get_initial_state(self, batch_size: int | None = None, spatial_dims: Any = None) -> list[Any]:
        """Zero ``h`` and ``c`` shaped like the input convolution's output,
        for steps of ``spatial_dims`` (default: the sizes the cell was built with)."""
        spatial = tuple(self.spatial_dims if spatial_dims is None else spatial_dims)
        if None in spatial:
            raise ValueError(f"{describe_layer(self)}: zero states need known spatial sizes; the cell was built "
                             f"for unknown ones {spatial}: give spatial_dims=.")
        step = (batch_size, *spatial, self.input_dim) if self.data_format == "channels_last" \
            else (batch_size, self.input_dim, *spatial)
        shape = self.compute_output_shape(step)[0]
        return [ops.zeros(shape, self.compute_dtype), ops.zeros(shape, self.compute_dtype)]

    def _cell_config(self) -> dict[str, Any]:
        """The arguments a ``ConvLSTM*D`` layer shares with its cell, in Keras 3's config order."""
        return {
            "filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
            "padding": self.padding, "data_format": self.data_format, "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            **self._serialized("initializer", initializers),
            "unit_forget_bias": self.unit_forget_bias,
            **self._serialized("regularizer", regularizers),
            **self._serialized("constraint", constraints),
            "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed,
        }

    def get_config(self) -> dict[str, Any]:
        return {**Layer.get_config(self), "rank": self.rank, **self._cell_config()}  # a cell's, not _BaseConv's


@forward_to_cell(*_SHARED)
class _ConvLSTM(RNN):
    """A :class:`ConvLSTMCell` of a fixed rank run by :class:`RNN`."""

    rank = 2

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, seed: int | None = None,
                 return_sequences: bool = False, return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, **kwargs: Any):
        cell = ConvLSTMCell(
            self.rank, filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
            dilation_rate=dilation_rate, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, name="conv_lstm_cell", dtype=kwargs.get("dtype"),
        )
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, activity_regularizer=activity_regularizer,
                         **kwargs)
        self.input_spec = InputSpec(ndim=self.rank + 3)

    def _zero_states(self, sequences: Any) -> list[Any]:
        # The cell may be built for unknown spatial sizes: the states take the sequences' own.
        shape = tuple(ops.shape(sequences))
        spatial = shape[2:-1] if self.cell.data_format == "channels_last" else shape[3:]
        if None in spatial:  # sizes known only when it runs (a relaxed trace): zeros like a convolved step
            step = ops.take(sequences, 0, axis=1)
            zeros = ops.zeros_like(self.cell._input_conv(step, self.cell.kernel[..., :self.cell.filters], None))
            return [zeros, zeros]
        if shape[0] is not None:
            return self.cell.get_initial_state(shape[0], spatial_dims=spatial)
        return [filled(sequences, tuple(ops.shape(s)[1:]), 0.0, self.compute_dtype)
                for s in self.cell.get_initial_state(1, spatial_dims=spatial)]

    def compute_output_shape(self, sequences_shape: Any, initial_state_shape: Any = None) -> Any:
        sequences_shape = tuple(sequences_shape)
        if len(sequences_shape) != self.cell.rank + 3:
            raise ValueError(f"{describe_layer(self)}: expected an input shape of rank {self.cell.rank + 3} "
                             f"(batch, time, {self.cell.rank} spatial axes, channels), received {sequences_shape}.")
        batch, steps = sequences_shape[0], sequences_shape[1]
        state = self.cell.compute_output_shape((batch, *sequences_shape[2:]))[0]
        output = (batch, steps, *state[1:]) if self.return_sequences else state
        return (output, state, state) if self.return_state else output

    def get_config(self) -> dict[str, Any]:
        return {**Layer.get_config(self), **self._rnn_config(), **self.cell._cell_config()}


class ConvLSTM1D(_ConvLSTM):
    """1-D convolutional LSTM over ``(batch, time, steps, channels)``
    (channels_last). Arguments as :class:`ConvLSTMCell` plus ``RNN``'s.

    Example:
        >>> ops.shape(ConvLSTM1D(4, 3, padding="same")(np.ones((2, 5, 8, 3), "float32")))
        (2, 8, 4)
    """

    rank = 1


class ConvLSTM2D(_ConvLSTM):
    """2-D convolutional LSTM over ``(batch, time, rows, cols, channels)``
    (channels_last). Arguments as :class:`ConvLSTMCell` plus ``RNN``'s.

    Example:
        >>> ops.shape(ConvLSTM2D(4, 3)(np.ones((2, 5, 8, 8, 3), "float32")))
        (2, 6, 6, 4)
    """

    rank = 2


class ConvLSTM3D(_ConvLSTM):
    """3-D convolutional LSTM over ``(batch, time, d1, d2, d3, channels)``
    (channels_last). Arguments as :class:`ConvLSTMCell` plus ``RNN``'s.

    Example:
        >>> ops.shape(ConvLSTM3D(2, 3, padding="same")(np.ones((1, 3, 4, 4, 4, 1), "float32")))
        (1, 4, 4, 4, 2)
    """

    rank = 3
