"""``LSTMCell`` and ``LSTM`` (Hochreiter 1997), Keras 3's formulation:
gates in the order i, f, c, o along the kernels' last axis.

``LSTM`` runs the engine's ``lstm`` sequence kernel (torch's fused one on
the torch engine; the protocol's scan composite elsewhere, which computes
every step's input projection in one matmul) whenever the cell is the
standard one: tanh / sigmoid, no mask, no recurrent dropout. Anything else
runs the cell step by step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from polykeras import activations, backends, initializers, ops
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer
from polykeras.layers.rnn.cell_base import CELL_ATTRIBUTES, _CellBase, forward_to_cell, host_values
from polykeras.layers.rnn.rnn import RNN

__all__ = ["LSTM", "LSTMCell"]


class _UnitForgetBias(initializers.Initializer):
    """``bias_initializer`` values with the forget gate's block set to ones."""

    def __init__(self, bias_initializer: Any, units: int):
        self.bias_initializer = bias_initializer
        self.units = units

    def host_values(self, shape: Sequence[int], dtype: str = "float32") -> np.ndarray:
        u = self.units
        return np.concatenate([host_values(self.bias_initializer, (u,), dtype), np.ones((u,), dtype),
                               host_values(self.bias_initializer, (2 * u,), dtype)]).astype(dtype)


def lstm_update(i: Any, f: Any, g: Any, o: Any, c: Any, activation: Any, recurrent_activation: Any) -> tuple[Any, Any]:
    """One LSTM state update from the gates' pre-activations (i, f, c~, o)
    and the previous carry ``c``: ``c' = a(f) * c + a(i) * activation(c~)``,
    ``h' = a(o) * activation(c')`` with ``a = recurrent_activation``;
    returns ``h', c'`` (shared by ``LSTMCell`` and ``ConvLSTMCell``).

    Example: ``h, c = lstm_update(*ops.split(z, 4, axis=-1), c, ops.tanh, ops.sigmoid)``
    """
    c = ops.add(ops.multiply(recurrent_activation(f), c), ops.multiply(recurrent_activation(i), activation(g)))
    h = ops.multiply(recurrent_activation(o), activation(c))
    return h, c


def gates_per_mask(cell: Any, inputs: Any, h: Any, masks: Any, recurrent_masks: Any, input_projection: Any,
                   recurrent_projection: Any) -> list[Any]:
    """The four gates' pre-activations of an LSTM-like ``cell``, each from its
    own quarter of the kernels (last axis) and bias, with its own input and
    recurrent dropout masks (None: not masked). ``input_projection(x, kernel,
    bias)`` and ``recurrent_projection(h, kernel)`` are the cell's products
    (matmul for ``LSTMCell``, convolutions for ``ConvLSTMCell``).

    Example: ``i, f, g, o = gates_per_mask(cell, x, h, masks, None, project, ops.matmul)``
    """
    kernels = ops.split(cell.kernel, 4, axis=-1)
    recurrent = ops.split(cell.recurrent_kernel, 4, axis=-1)
    biases = ops.split(cell.bias, 4, axis=0) if cell.bias is not None else [None] * 4
    gates = []
    for k in range(4):
        x = inputs if masks is None else ops.multiply(inputs, masks[k])
        state = h if recurrent_masks is None else ops.multiply(h, recurrent_masks[k])
        gates.append(ops.add(input_projection(x, kernels[k], biases[k]), recurrent_projection(state, recurrent[k])))
    return gates


class LSTMCell(_CellBase):
    """One LSTM step: with ``z = inputs @ kernel + h @ recurrent_kernel + bias``
    split into i, f, c, o: ``c' = sigmoid(f) * c + sigmoid(i) * tanh(c~)``,
    ``h' = sigmoid(o) * tanh(c')``; returns ``h', [h', c']``. Weights as
    Keras 3: ``kernel`` ``(features, 4 * units)``, ``recurrent_kernel``
    ``(units, 4 * units)``, ``bias`` ``(4 * units,)``.

    Args:
        units: size of the output and of each state.
        activation: cell activation, default ``"tanh"``.
        recurrent_activation: gate activation, default ``"sigmoid"``.
        unit_forget_bias: start the forget gate's bias at 1 (default True).
        dropout / recurrent_dropout: fractions dropped while training; with
            recurrent dropout each gate gets its own mask (Keras' implementation 1).
        Others as :class:`SimpleRNNCell`.

    Example:
        >>> output, (h, c) = LSTMCell(4)(np.ones((2, 3), "float32"), [np.zeros((2, 4), "float32")] * 2)
    """

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, implementation: int = 2, **kwargs: Any):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                         kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = unit_forget_bias
        self.implementation = 1 if self.recurrent_dropout else implementation
        if self.implementation == 1:
            self.dropout_mask_count = 4
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape: Any) -> None:
        bias_initializer = _UnitForgetBias(self.bias_initializer, self.units) if self.unit_forget_bias else None
        self._add_kernels(input_shape, 4, (4 * self.units,) if self.use_bias else None, bias_initializer)

    def call(self, inputs: Any, states: Any, training: Any = False) -> tuple[Any, list[Any]]:
        h, c = states[0], states[1]
        if self.implementation == 1:
            z = self._gates_per_mask(inputs, h, training)
        else:
            if training and 0.0 < self.dropout < 1.0:
                inputs = ops.multiply(inputs, self.get_dropout_mask(inputs))
            z = ops.add(ops.matmul(inputs, self.kernel), ops.matmul(h, self.recurrent_kernel))
            if self.bias is not None:
                z = ops.add(z, self.bias)
            z = ops.split(z, 4, axis=-1)
        i, f, g, o = z
        h, c = lstm_update(i, f, g, o, c, self.activation, self.recurrent_activation)
        return h, [h, c]

    def _gates_per_mask(self, inputs: Any, h: Any, training: Any) -> list[Any]:
        """Implementation 1: each gate's projection with its own dropout masks."""
        masks, recurrent_masks = self._step_masks(inputs, h, training)
        return gates_per_mask(self, inputs, h, masks, recurrent_masks, self._input_projection, ops.matmul)

    def _input_projection(self, x: Any, kernel: Any, bias: Any) -> Any:
        """``x @ kernel (+ bias)``: one gate's input projection."""
        z = ops.matmul(x, kernel)
        return z if bias is None else ops.add(z, bias)

    def _cell_config(self) -> dict[str, Any]:
        return {**super()._cell_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


@forward_to_cell(*CELL_ATTRIBUTES, "recurrent_activation", "unit_forget_bias")
class LSTM(RNN):
    """Long Short-Term Memory layer: an :class:`LSTMCell` run by :class:`RNN`.
    ``return_state=True`` returns ``(output, h, c)``.

    Args:
        units, activation, recurrent_activation, ...: the cell's (see
            :class:`LSTMCell`), with ``activity_regularizer``.
        return_sequences, return_state, go_backwards, stateful, unroll: see :class:`RNN`.
        use_cudnn: ``"auto"`` (default) runs the engine's fused sequence
            kernel when the settings allow; ``False`` never; ``True``
            requires it (an error otherwise).

    Example:
        >>> outputs, h, c = LSTM(8, return_sequences=True, return_state=True)(np.ones((2, 5, 3), "float32"))
        >>> ops.shape(outputs), ops.shape(c)
        ((2, 5, 8), (2, 8))
    """

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, use_cudnn: Any = "auto", **kwargs: Any):
        cell = LSTMCell(
            units, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, unit_forget_bias=unit_forget_bias,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
            name="lstm_cell", seed=seed, implementation=kwargs.pop("implementation", 2),
        )
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.use_cudnn = checked_use_cudnn(self, use_cudnn)
        self.input_spec = InputSpec(ndim=3)

    def inner_loop(self, sequences: Any, initial_state: list[Any], mask: Any, training: Any = False) -> tuple:
        standard = type(self.cell).call is LSTMCell.call and (self.cell.implementation == 2 or not self.cell.dropout)
        if fused_allowed(self, mask, self.cell.recurrent_dropout, standard):
            sequences = input_dropout(self.cell, sequences, training)
            bias = None if self.cell.bias is None else self.cell.bias.value
            outputs, h, c = backends.active().lstm(
                sequences, initial_state[0], initial_state[1], self.cell.kernel.value,
                self.cell.recurrent_kernel.value, bias, go_backwards=self.go_backwards, unroll=self.unroll,
                return_sequences=self.return_sequences)
            return h, outputs, [h, c]
        return super().inner_loop(sequences, initial_state, mask, training=training)

    def get_config(self) -> dict[str, Any]:
        return {**Layer.get_config(self), **self._rnn_config(), **self.cell._cell_config()}


def checked_use_cudnn(layer: Any, use_cudnn: Any) -> Any:
    """``use_cudnn`` of an LSTM or GRU, refused unless ``"auto"``, True or False."""
    if use_cudnn not in ("auto", True, False):
        raise ValueError(f"{describe_layer(layer)}: expected use_cudnn in ('auto', True, False), "
                         f"received use_cudnn={use_cudnn!r}.")
    return use_cudnn


def fused_allowed(layer: Any, mask: Any, recurrent_dropout: float, standard_cell: bool) -> bool:
    """Whether ``layer`` (an LSTM or GRU) may run the engine's sequence kernel:
    the standard cell with tanh / sigmoid, no mask, no recurrent dropout.
    ``use_cudnn=True`` makes "no" an error, as in Keras."""
    cell = layer.cell
    allowed = (layer.use_cudnn in ("auto", True) and mask is None and not recurrent_dropout and standard_cell
               and cell.activation is activations.tanh and cell.recurrent_activation is activations.sigmoid
               and getattr(cell, "reset_after", True))
    if layer.use_cudnn is True and not allowed:
        raise ValueError(f"{describe_layer(layer)}: use_cudnn=True, but the fused kernel needs tanh / sigmoid "
                         "activations, no mask, no recurrent_dropout (and reset_after=True for GRU). "
                         "Pass use_cudnn='auto' to fall back to the step-by-step loop.")
    return allowed


def input_dropout(cell: Any, sequences: Any, training: Any) -> Any:
    """``sequences`` times the cell's input dropout mask (the same at every step)."""
    if not (training and 0.0 < cell.dropout < 1.0):
        return sequences
    mask = cell.get_dropout_mask(ops.take(sequences, 0, axis=1))
    return ops.multiply(sequences, ops.expand_dims(mask, 1))
