"""``GRUCell`` and ``GRU`` (Cho et al. 2014), Keras 3's formulation: gates in
the order z (update), r (reset), h (candidate) along the kernels' last axis.

``reset_after=True`` (the default) applies the reset gate after the
recurrent projection and keeps a separate recurrent bias: ``bias`` is
``(2, 3 * units)``; that is also torch's GRU, so ``GRU`` runs the engine's
``gru`` sequence kernel when the settings allow (see ``LSTM``).
"""

from __future__ import annotations

from typing import Any

from polykeras import activations, backends, ops
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer
from polykeras.layers.rnn.cell_base import CELL_ATTRIBUTES, _CellBase, forward_to_cell
from polykeras.layers.rnn.lstm import checked_use_cudnn, fused_allowed, input_dropout
from polykeras.layers.rnn.rnn import RNN
from polykeras.layers.rnn.stacked_cells import zero_state

__all__ = ["GRU", "GRUCell"]


class GRUCell(_CellBase):
    """One GRU step: ``z = sigmoid(x_z + h_z)``, ``r = sigmoid(x_r + h_r)``,
    ``h~ = tanh(x_h + r * (h @ U_h + b'_h))`` (``reset_after=True``; else
    ``tanh(x_h + (r * h) @ U_h)``), ``h' = z * h + (1 - z) * h~``. Weights as
    Keras 3: ``kernel`` ``(features, 3 * units)``, ``recurrent_kernel``
    ``(units, 3 * units)``, ``bias`` ``(2, 3 * units)`` (input and recurrent
    biases) with ``reset_after``, else ``(3 * units,)``.

    Args:
        units: size of the output and state.
        activation: candidate activation, default ``"tanh"``.
        recurrent_activation: gate activation, default ``"sigmoid"``.
        reset_after: see above (default True, the cuDNN / torch convention).
        Others as :class:`SimpleRNNCell`.

    Example:
        >>> y = RNN(GRUCell(4))(np.ones((2, 5, 3), "float32"))   # (2, 4)
    """

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, reset_after: bool = True,
                 seed: int | None = None, implementation: int = 2, **kwargs: Any):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                         kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = reset_after
        self.implementation = 1 if self.recurrent_dropout else implementation
        if self.implementation == 1:
            self.dropout_mask_count = 3
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape: Any) -> None:
        bias_shape = ((2, 3 * self.units) if self.reset_after else (3 * self.units,)) if self.use_bias else None
        self._add_kernels(input_shape, 3, bias_shape)

    def call(self, inputs: Any, states: Any, training: Any = False) -> tuple[Any, Any]:
        nested = isinstance(states, (list, tuple))
        h = states[0] if nested else states
        input_bias = recurrent_bias = None
        if self.bias is not None:
            if self.reset_after:
                input_bias, recurrent_bias = (ops.squeeze(b, 0) for b in ops.split(self.bias, 2, axis=0))
            else:
                input_bias = self.bias
        masks, recurrent_masks = self._step_masks(inputs, h, training)
        if self.implementation == 1:
            xs = [inputs if masks is None else ops.multiply(inputs, masks[k]) for k in range(3)]
            hs = [h if recurrent_masks is None else ops.multiply(h, recurrent_masks[k]) for k in range(3)]
            x_parts = [ops.matmul(x, k) for x, k in zip(xs, ops.split(self.kernel, 3, axis=1))]
        else:
            x = inputs if masks is None else ops.multiply(inputs, masks)
            hs = [h, h, h]
            x_parts = ops.split(ops.matmul(x, self.kernel), 3, axis=-1)
        if input_bias is not None:
            x_parts = [ops.add(p, b) for p, b in zip(x_parts, ops.split(input_bias, 3, axis=0))]
        x_z, x_r, x_h = x_parts
        u_z, u_r, u_h = ops.split(self.recurrent_kernel, 3, axis=1)
        h_z, h_r = ops.matmul(hs[0], u_z), ops.matmul(hs[1], u_r)
        if recurrent_bias is not None:
            b_z, b_r, b_h = ops.split(recurrent_bias, 3, axis=0)
            h_z, h_r = ops.add(h_z, b_z), ops.add(h_r, b_r)
        z = self.recurrent_activation(ops.add(x_z, h_z))
        r = self.recurrent_activation(ops.add(x_r, h_r))
        if self.reset_after:
            h_h = ops.matmul(hs[2], u_h)
            if recurrent_bias is not None:
                h_h = ops.add(h_h, b_h)
            h_h = ops.multiply(r, h_h)
        else:
            h_h = ops.matmul(ops.multiply(r, hs[2]), u_h)
        candidate = self.activation(ops.add(x_h, h_h))
        new_h = ops.add(ops.multiply(z, h), ops.multiply(ops.subtract(1.0, z), candidate))
        return new_h, ([new_h] if nested else new_h)

    def _cell_config(self) -> dict[str, Any]:
        return {**super()._cell_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after}

    def get_initial_state(self, batch_size: int | None = None) -> list[Any]:
        return [zero_state(self, batch_size, self.units)]


@forward_to_cell(*CELL_ATTRIBUTES, "recurrent_activation", "reset_after")
class GRU(RNN):
    """Gated Recurrent Unit layer: a :class:`GRUCell` run by :class:`RNN`.
    ``return_state=True`` returns ``(output, h)``.

    Args:
        units, activation, recurrent_activation, reset_after, ...: the
            cell's (see :class:`GRUCell`), with ``activity_regularizer``.
        return_sequences, return_state, go_backwards, stateful, unroll: see :class:`RNN`.
        use_cudnn: as :class:`LSTM` (the fused kernel also needs ``reset_after=True``).

    Example:
        >>> layer = GRU(8, return_state=True)
        >>> output, h = layer(np.ones((2, 5, 3), "float32"))
        >>> ops.shape(output), ops.shape(h)
        ((2, 8), (2, 8))
    """

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False, reset_after: bool = True,
                 use_cudnn: Any = "auto", **kwargs: Any):
        cell = GRUCell(
            units, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
            reset_after=reset_after, dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
            name="gru_cell", seed=seed, implementation=kwargs.pop("implementation", 2),
        )
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.use_cudnn = checked_use_cudnn(self, use_cudnn)
        self.input_spec = InputSpec(ndim=3)

    def inner_loop(self, sequences: Any, initial_state: list[Any], mask: Any, training: Any = False) -> tuple:
        cell = self.cell
        standard = type(cell).call is GRUCell.call and (cell.implementation == 2 or not cell.dropout)
        if fused_allowed(self, mask, cell.recurrent_dropout, standard):
            sequences = input_dropout(cell, sequences, training)
            h0 = initial_state[0]
            bias = None if cell.bias is None else cell.bias.value
            outputs, h = backends.active().gru(sequences, h0, cell.kernel.value, cell.recurrent_kernel.value, bias,
                                               go_backwards=self.go_backwards, unroll=self.unroll,
                                               return_sequences=self.return_sequences)
            return h, outputs, [h]
        return super().inner_loop(sequences, initial_state, mask, training=training)

    def get_config(self) -> dict[str, Any]:
        return {**Layer.get_config(self), **self._rnn_config(), **self.cell._cell_config()}
