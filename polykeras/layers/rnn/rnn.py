"""``RNN``: runs a cell over the time axis of a sequence (Keras 3's base of
every recurrent layer).

The loop is :func:`polykeras.layers.rnn.loop.rnn_loop` on the engine's
``scan``; ``LSTM``/``GRU`` replace it with the engine's ``lstm``/``gru``
sequence kernel when their settings allow (see their ``inner_loop``).

Stateful layers keep their last states in non-trainable variables that are
part of ``layer.variables`` (threaded through compiled training steps,
saved in model archives) but not of ``layer.weights``, as in Keras 3:
``get_weights()`` holds the cell's kernels only.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.backends.recurrent import tree_flatten, tree_unflatten
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.layer import Layer
from polykeras.layers.rnn.dropout_cell import DropoutRNNCell
from polykeras.layers.rnn.loop import filled, rnn_loop
from polykeras.layers.rnn.stacked_cells import StackedRNNCells, cell_output_size, zero_state
from polykeras.random import SeedGenerator
from polykeras import registry
from polykeras.variables import Variable

__all__ = ["RNN"]


class _StateSlot(SeedGenerator):
    """One recurrent state of a stateful RNN in a non-trainable variable.

    Tracked the way a seed generator's state is: a variable of the layer
    (compiled steps thread it, archives save it) that is not a weight."""

    def __init__(self, value: np.ndarray, name: str):  # no seed: a plain holder
        self._initial_seed = 0
        self.name = name
        self.state = Variable(value, dtype=str(value.dtype), trainable=False, name=name)

    def next(self) -> Any:
        raise TypeError(f"{self.name} holds a recurrent state, not a random seed.")


def step_caller(cell: Any, training: Any) -> Any:
    """``fn(inputs, states) -> (output, new_states)`` calling ``cell`` with
    ``training`` when its ``call`` takes it. Built-in cells are called
    directly (they are built before the loop); other cells through
    ``__call__``, as Keras does."""
    call = cell.call if getattr(cell, "_pk_direct_call", False) or not isinstance(cell, Layer) else cell
    takes_training = "training" in inspect.signature(cell.call).parameters
    if takes_training:
        return lambda x, states: call(x, states, training=training)
    return call


def _drops(cell: Any) -> bool:
    """Whether ``cell`` (or a cell it stacks) has input or recurrent dropout."""
    if isinstance(cell, DropoutRNNCell):
        return cell.dropout > 0 or cell.recurrent_dropout > 0
    return isinstance(cell, StackedRNNCells) and any(_drops(inner) for inner in cell.cells)


class RNN(Layer):
    """Runs ``cell`` (anything with ``state_size`` and
    ``call(inputs, states) -> (output, new_states)``; a list of cells is
    stacked) over ``(batch, time, features)`` sequences.

    Args:
        cell: an RNN cell or a list of cells (wrapped in ``StackedRNNCells``).
        return_sequences: return every step's output ``(batch, time, units)``,
            not only the last ``(batch, units)``.
        return_state: also return the final states: ``(output, *states)``.
        go_backwards: read the sequence last step first (the outputs come in
            processing order, i.e. reversed).
        stateful: each batch starts from the states the previous one ended
            with (the batch size must be fixed); ``reset_state()`` zeroes them.
        unroll: unroll the loop when compiled (short sequences only).
        zero_output_for_mask: masked steps output zeros instead of the
            previous output.

    Call arguments: ``sequences``, ``initial_state`` (list of tensors),
    ``mask`` (``(batch, time)`` booleans; masked steps keep the previous
    states and output), ``training``.

    Example:
        >>> layer = RNN(LSTMCell(4), return_sequences=True, return_state=True)
        >>> outputs, h, c = layer(np.ones((2, 5, 3), "float32"))
        >>> ops.shape(outputs), ops.shape(h)
        ((2, 5, 4), (2, 4))
    """

    def __init__(self, cell: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(list(cell))
        super().__init__(**kwargs)
        who = describe_layer(self)
        if not callable(getattr(cell, "call", None)):
            raise ValueError(f"{who}: expected a cell with a call(inputs, states) method, received {cell!r}.")
        state_size = getattr(cell, "state_size", None)
        if state_size is None or not isinstance(state_size, (int, list, tuple)):
            raise ValueError(f"{who}: expected a cell whose state_size is an int or a list of ints (one per "
                             f"state), received state_size={state_size!r} on {cell!r}.")
        self.cell = cell
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = stateful
        self.unroll = unroll
        self.zero_output_for_mask = zero_output_for_mask
        self.single_state = isinstance(state_size, int)
        self.state_size = [state_size] if isinstance(state_size, int) else list(state_size)
        self.supports_masking = True
        self._state_slots: list[_StateSlot] = []
        self.__dict__["_state_structure"] = None

    # ------------------------------------------------------------ states
    @property
    def states(self) -> Any:
        """The stateful layer's state variables (nested like the initial
        state), or None."""
        if not self._state_slots:
            return None
        return tree_unflatten(self.__dict__["_state_structure"], [slot.state for slot in self._state_slots])

    def get_initial_state(self, batch_size: int | None) -> list[Any]:
        """Zero states for ``batch_size`` sequences (the cell's own
        ``get_initial_state`` when it has one), always a list."""
        make = getattr(self.cell, "get_initial_state", None)
        if make is None:
            return [zero_state(self, batch_size, size) for size in self.state_size]
        states = make(batch_size=batch_size)
        return list(states) if isinstance(states, (list, tuple)) else [states]

    def _zero_states(self, sequences: Any) -> list[Any]:
        batch = ops.shape(sequences)[0]
        if batch is not None:
            return self.get_initial_state(batch)
        # Unknown batch size (a relaxed trace): one sequence's initial state,
        # broadcast to the batch of the sequences.
        flat, structure = tree_flatten(self.get_initial_state(1))
        return tree_unflatten(structure, [
            ops.add(filled(sequences, tuple(ops.shape(s)[1:]), 0.0, self.compute_dtype), s) for s in flat])

    def reset_state(self, states: Any = None) -> None:
        """Zero the stateful layer's states, or set them to ``states`` (arrays
        in the order of :attr:`states`). Example: ``lstm.reset_state()``"""
        if not self._state_slots:
            if self.stateful:
                return
            raise AttributeError(f"{describe_layer(self)}: reset_state() needs a stateful layer (stateful=True).")
        variables = [slot.state for slot in self._state_slots]
        if states is None:
            for v in variables:
                v.assign(np.zeros(v.shape, v.dtype))
            return
        values = [np.asarray(ops.to_numpy(s) if ops.is_tensor(s) else s) for s in tree_flatten(states)[0]]
        if len(values) != len(variables) or any(tuple(a.shape) != v.shape for a, v in zip(values, variables)):
            raise ValueError(f"{describe_layer(self)}.reset_state: expected states of shapes "
                             f"{[v.shape for v in variables]}, received {[tuple(a.shape) for a in values]}.")
        for v, a in zip(variables, values):
            v.assign(a)

    def reset_states(self, states: Any = None) -> None:
        """Alias of :meth:`reset_state`."""
        self.reset_state(states)

    # ------------------------------------------------------------- build
    def build(self, sequences_shape: Any, initial_state_shape: Any = None) -> None:
        if isinstance(sequences_shape, list) and sequences_shape and isinstance(sequences_shape[0], (list, tuple)):
            sequences_shape = sequences_shape[0]
        if len(sequences_shape) < 3:
            raise ValueError(f"{describe_layer(self)}: expected sequences of rank >= 3 (batch, time, features), "
                             f"received shape {tuple(sequences_shape)}.")
        step_shape = (sequences_shape[0], *sequences_shape[2:])
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build(step_shape)
        if self.stateful and not self._state_slots:
            batch = sequences_shape[0]
            if batch is None:
                raise ValueError(f"{describe_layer(self)}: stateful=True needs a fixed batch size; received "
                                 f"sequences of shape {tuple(sequences_shape)}. Give Input(batch_size=...).")
            initial, structure = tree_flatten(self.get_initial_state(batch))
            self.__dict__["_state_structure"] = structure
            self._state_slots = [
                _StateSlot(np.zeros(ops.shape(s), self.compute_dtype), "rnn_state" + (f"_{i}" if i else ""))
                for i, s in enumerate(initial)
            ]

    # -------------------------------------------------------------- call
    def call(self, sequences: Any, initial_state: Any = None, mask: Any = None, training: Any = False) -> Any:
        who = describe_layer(self)
        shape = ops.shape(sequences)
        if len(shape) < 3:
            raise ValueError(f"{who}: expected sequences of rank >= 3 (batch, time, features), received shape {shape}.")
        if self.unroll and shape[1] is None:
            raise ValueError(f"{who}: unroll=True needs a known number of timesteps, received shape {shape}.")
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if self.stateful and shape[0] is not None and self._state_slots:
            expected = self._state_slots[0].state.shape[0]
            if shape[0] != expected:
                raise ValueError(f"{who}: a stateful RNN needs a fixed batch size: batches of {expected} sequences "
                                 f"(as when it was built), received {shape[0]}. In a model, give "
                                 f"Input(batch_size={expected}) and fit/predict with batch_size={expected}.")
        if initial_state is None:
            if self.stateful:
                initial_state = tree_unflatten(self.__dict__["_state_structure"],
                                               [ops.add(slot.state.value, 0) for slot in self._state_slots])
            else:
                initial_state = self._zero_states(sequences)
        if not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        initial_state = list(initial_state)
        if len(initial_state) != len(self.state_size):
            raise ValueError(f"{who}: expected an initial_state of {len(self.state_size)} tensors "
                             f"(state_size={self.state_size}), received {len(initial_state)}.")
        flat, structure = tree_flatten(initial_state)
        dtype = self.compute_dtype
        initial_state = tree_unflatten(structure, [s if ops.dtype(s) == dtype else ops.cast(s, dtype) for s in flat])
        if training and _drops(self.cell):
            self._draw_dropout_masks(self.cell, ops.take(sequences, 0, axis=1), initial_state)
        try:
            last_output, outputs, states = self.inner_loop(sequences, initial_state, mask, training=training)
        finally:
            self._reset_dropout_masks(self.cell)
        if self.stateful:
            for slot, value in zip(self._state_slots, tree_flatten(states)[0]):
                slot.state.assign(value)
        output = outputs if self.return_sequences else last_output
        if self.return_state:
            return (output, *states)
        return output

    def inner_loop(self, sequences: Any, initial_state: list[Any], mask: Any, training: Any = False) -> tuple:
        """``(last_output, outputs, final_states)`` of the cell over time."""
        zero_output = None
        if mask is not None:
            zero_output = self._zero_output(sequences, initial_state)
        return rnn_loop(step_caller(self.cell, training), sequences, initial_state, go_backwards=self.go_backwards,
                        mask=mask, unroll=self.unroll, zero_output_for_mask=self.zero_output_for_mask,
                        return_all_outputs=self.return_sequences, zero_output=zero_output, who=describe_layer(self))

    def _zero_output(self, sequences: Any, initial_state: list[Any]) -> Any:
        """Zeros shaped like one step's output: like the first state unless
        the cell's ``output_size`` says otherwise."""
        first = tree_flatten(initial_state)[0][0]
        size = getattr(self.cell, "output_size", None)
        if size is None or ops.shape(first)[-1] == size:
            return ops.zeros_like(first)
        return filled(sequences, (size,), 0.0, self.compute_dtype)

    def _draw_dropout_masks(self, cell: Any, step_input: Any, states: Any) -> None:
        """Draw every cell's dropout masks now, outside the time loop."""
        if isinstance(cell, DropoutRNNCell):
            state = states[0] if isinstance(states, (list, tuple)) else states
            if cell.dropout > 0:
                cell.get_dropout_mask(step_input)
            if cell.recurrent_dropout > 0:
                cell.get_recurrent_dropout_mask(state)
        elif isinstance(cell, StackedRNNCells):
            for inner, inner_states in zip(cell.cells, states):
                self._draw_dropout_masks(inner, step_input, inner_states)
                step_input = filled(step_input, (cell_output_size(inner),), 1.0, ops.dtype(step_input))

    def _reset_dropout_masks(self, cell: Any) -> None:
        if isinstance(cell, DropoutRNNCell):
            cell.reset_dropout_mask()
            cell.reset_recurrent_dropout_mask()
        for inner in getattr(cell, "cells", ()) if isinstance(cell, StackedRNNCells) else ():
            self._reset_dropout_masks(inner)

    # ------------------------------------------------------------ shapes
    def compute_output_shape(self, sequences_shape: Any, initial_state_shape: Any = None) -> Any:
        batch, length = sequences_shape[0], sequences_shape[1]
        output_size = cell_output_size(self.cell)
        output = (batch, length, output_size) if self.return_sequences else (batch, output_size)
        if not self.return_state:
            return output
        states = [[(batch, s) for s in size] if isinstance(size, (list, tuple)) else (batch, size)
                  for size in self.state_size]
        return (output, *states)

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        mask = previous_mask[0] if isinstance(previous_mask, (list, tuple)) else previous_mask
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self.state_size)
        return output_mask

    # ------------------------------------------------------------ config
    def _rnn_config(self) -> dict[str, Any]:
        return {
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        }

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self._rnn_config(),
                "cell": registry.serialize(self.cell, f"{describe_layer(self)} cell")}

