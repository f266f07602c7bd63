"""``StackedRNNCells``: several cells run as one, each step feeding the next."""

from __future__ import annotations

import inspect
from typing import Any

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.layer import Layer
from polykeras import registry

__all__ = ["StackedRNNCells", "cell_output_size"]


def cell_output_size(cell: Any) -> int:
    """A cell's ``output_size``, else the first entry of its ``state_size``."""
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    state_size = cell.state_size
    return state_size[0] if isinstance(state_size, (list, tuple)) else state_size


def _caller(cell: Any) -> Any:
    if getattr(cell, "_pk_direct_call", False) or not isinstance(cell, Layer):
        return cell.call
    return cell



def zero_state(layer: Layer, batch_size: int | None, size: int) -> Any:
    """A ``(batch_size, size)`` zero state in ``layer``'s compute dtype; the
    batch size must be known. Example: ``zero_state(cell, 2, 4)``"""
    if batch_size is None:
        raise ValueError(f"{describe_layer(layer)}: get_initial_state expected an int batch_size, received None.")
    return ops.zeros((batch_size, size), layer.compute_dtype)

class StackedRNNCells(Layer):
    """A stack of RNN cells that behaves as one cell: at each step the
    output of a cell is the input of the next; the states are one list per
    cell (``state_size`` is the list of the cells' state sizes).

    Example:
        >>> cells = StackedRNNCells([LSTMCell(8), GRUCell(4)])
        >>> y = RNN(cells)(np.ones((2, 5, 3), "float32"))      # (2, 4)
    """

    def __init__(self, cells: list[Any], **kwargs: Any):
        super().__init__(**kwargs)
        cells = list(cells)
        if not cells:
            raise ValueError(f"{describe_layer(self)}: expected a non-empty list of cells, received {cells!r}.")
        for cell in cells:
            if not callable(getattr(cell, "call", None)) or getattr(cell, "state_size", None) is None:
                raise ValueError(f"{describe_layer(self)}: expected cells with a call method and a state_size, "
                                 f"received {cell!r}.")
        self.cells = cells
        self._pk_direct_call = all(getattr(c, "_pk_direct_call", False) for c in cells)

    @property
    def state_size(self) -> list[Any]:
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self) -> int:
        return cell_output_size(self.cells[-1])

    def get_initial_state(self, batch_size: int | None = None) -> list[Any]:
        """One zero state (or list of states) per cell."""
        states = []
        for cell in self.cells:
            make = getattr(cell, "get_initial_state", None)
            if make is not None:
                state = make(batch_size=batch_size)
            elif isinstance(cell.state_size, int):
                state = zero_state(self, batch_size, cell.state_size)
            else:
                state = [zero_state(self, batch_size, size) for size in cell.state_size]
            if isinstance(cell.state_size, int) and isinstance(state, (list, tuple)):
                state = state[0]
            states.append(state)
        return states

    def build(self, input_shape: Any) -> None:
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(input_shape)
            input_shape = (input_shape[0], cell_output_size(cell))

    def call(self, inputs: Any, states: Any, training: Any = False) -> tuple[Any, list[Any]]:
        new_states = []
        for cell, cell_states in zip(self.cells, states):
            nested = isinstance(cell_states, (list, tuple))
            cell_states = list(cell_states) if nested else [cell_states]
            call = _caller(cell)
            if "training" in inspect.signature(cell.call).parameters:
                inputs, cell_states = call(inputs, cell_states, training=training)
            else:
                inputs, cell_states = call(inputs, cell_states)
            if not isinstance(cell_states, (list, tuple)):
                cell_states = [cell_states]
            new_states.append(list(cell_states) if nested or len(cell_states) != 1 else cell_states[0])
        return inputs, new_states

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "cells": [registry.serialize(cell, f"{describe_layer(self)} cell") for cell in self.cells]}
