"""``SimpleRNNCell`` and ``SimpleRNN``: ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``."""

from __future__ import annotations

from typing import Any

from polykeras import ops
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer
from polykeras.layers.rnn.cell_base import CELL_ATTRIBUTES, _CellBase, forward_to_cell
from polykeras.layers.rnn.rnn import RNN

__all__ = ["SimpleRNN", "SimpleRNNCell"]


class SimpleRNNCell(_CellBase):
    """One step of a fully connected RNN:
    ``output = activation(inputs @ kernel + bias + state @ recurrent_kernel)``;
    the output is the new state. Weights as Keras 3: ``kernel``
    ``(features, units)``, ``recurrent_kernel`` ``(units, units)``, ``bias`` ``(units,)``.

    Args:
        units: size of the output and state.
        activation: default ``"tanh"``.
        use_bias, kernel_initializer (``"glorot_uniform"``),
        recurrent_initializer (``"orthogonal"``), bias_initializer
        (``"zeros"``), ``*_regularizer``, ``*_constraint``: as Keras.
        dropout / recurrent_dropout: fraction of the inputs / previous state
            dropped while training (one mask for the whole sequence).
        seed: seed of the dropout masks.

    Example:
        >>> y = RNN(SimpleRNNCell(4))(np.ones((2, 5, 3), "float32"))   # (2, 4)
    """

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                         kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed, **kwargs)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape: Any) -> None:
        self._add_kernels(input_shape, 1, (self.units,) if self.use_bias else None)

    def call(self, sequence: Any, states: Any, training: Any = False) -> tuple[Any, Any]:
        nested = isinstance(states, (list, tuple))
        previous = states[0] if nested else states
        if training and self.dropout > 0:
            sequence = ops.multiply(sequence, self.get_dropout_mask(sequence))
        h = ops.matmul(sequence, self.kernel)
        if self.bias is not None:
            h = ops.add(h, self.bias)
        if training and self.recurrent_dropout > 0:
            previous = ops.multiply(previous, self.get_recurrent_dropout_mask(previous))
        output = ops.add(h, ops.matmul(previous, self.recurrent_kernel))
        if self.activation is not None:
            output = self.activation(output)
        return output, ([output] if nested else output)


@forward_to_cell(*CELL_ATTRIBUTES)
class SimpleRNN(RNN):
    """A fully connected RNN whose output is fed back as the next step's
    state (a :class:`SimpleRNNCell` run by :class:`RNN`). Arguments are the
    cell's plus ``RNN``'s (``return_sequences``, ``return_state``,
    ``go_backwards``, ``stateful``, ``unroll``).

    Example:
        >>> layer = SimpleRNN(4, return_sequences=True)
        >>> ops.shape(layer(np.ones((2, 5, 3), "float32")))
        (2, 5, 4)
    """

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False, seed: int | None = None,
                 **kwargs: Any):
        cell = SimpleRNNCell(
            units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True), name="simple_rnn_cell",
        )
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=3)

    def get_config(self) -> dict[str, Any]:
        return {**Layer.get_config(self), **self._rnn_config(), **self.cell._cell_config()}
