"""What the built-in cells (``SimpleRNNCell``, ``LSTMCell``, ``GRUCell``)
share: the Keras 3 arguments for kernel / recurrent kernel / bias, their
weights, dropout state, zero initial states and the config."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from polykeras import activations, constraints, initializers, ops, regularizers
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.layer import Layer
from polykeras.layers.rnn.dropout_cell import DropoutRNNCell
from polykeras.layers.rnn.stacked_cells import zero_state

__all__ = ["host_values"]


def host_values(initializer: Any, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """An initializer's values as a NumPy array (initializer objects or plain
    ``callable(shape, dtype)``)."""
    host = getattr(initializer, "host_values", None)
    if host is not None:
        return np.asarray(host(shape, dtype))
    return np.asarray(ops.to_numpy(initializer(shape, dtype=dtype)))


class _CellBase(DropoutRNNCell, Layer):
    """Base of the built-in cells. Subclasses set ``state_size`` and
    ``output_size`` and implement ``build`` (with :meth:`_add_kernels`) and
    ``call(inputs, states, training=False) -> (output, new_states)``."""

    #: The RNN layer may call ``call`` directly (no per-step ``__call__``
    #: bookkeeping): the cell is built before the loop and creates nothing.
    _pk_direct_call = True

    def __init__(self, units: int, activation: Any, use_bias: bool, kernel_initializer: Any,
                 recurrent_initializer: Any, bias_initializer: Any, kernel_regularizer: Any,
                 recurrent_regularizer: Any, bias_regularizer: Any, kernel_constraint: Any,
                 recurrent_constraint: Any, bias_constraint: Any, dropout: float, recurrent_dropout: float,
                 seed: int | None, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"{describe_layer(self)}: expected units to be a positive int, received units={units!r}.")
        self._init_dropout(dropout, recurrent_dropout, seed)
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _add_kernels(self, input_shape: Any, gates: int, bias_shape: tuple[int, ...] | None,
                     bias_initializer: Any = None) -> None:
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"{describe_layer(self)}: expected a known last (features) axis, received input "
                             f"shape {tuple(input_shape)}.")
        self.kernel = self.add_weight(shape=(input_dim, gates * self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, gates * self.units),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint, name="recurrent_kernel")
        self.bias = None
        if bias_shape is not None:
            self.bias = self.add_weight(shape=bias_shape, initializer=bias_initializer or self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")

    def get_initial_state(self, batch_size: int | None = None) -> list[Any]:
        """Zero states, one ``(batch_size, size)`` tensor per entry of ``state_size``."""
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [zero_state(self, batch_size, size) for size in sizes]

    def _cell_config(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self._cell_config()}


#: Cell arguments a recurrent layer exposes as read-only properties.
CELL_ATTRIBUTES = (
    "units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
    "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
    "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout",
)


def _cell_reader(name: str) -> Callable[[Any], Any]:
    def read(self: Any) -> Any:
        return getattr(self.cell, name)

    return read


def forward_to_cell(*names: str) -> Any:
    """Class decorator: read-only properties reading ``self.cell.<name>``
    (``lstm.units`` is ``lstm.cell.units``, as in Keras)."""

    def decorate(cls: type) -> type:
        for name in names:
            setattr(cls, name, property(_cell_reader(name), doc=f"The cell's ``{name}``."))
        return cls

    return decorate
