"""``Bidirectional``: one recurrent layer reads the sequence forwards, a copy
(or ``backward_layer``) reads it backwards, and their outputs are merged."""

from __future__ import annotations

from typing import Any

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.layer import Layer
from polykeras import registry

__all__ = ["Bidirectional"]

MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _copy(layer: Layer, name: str, **changes: Any) -> Layer:
    config = {**layer.get_config(), "name": name, **changes}
    return type(layer).from_config(config)


class Bidirectional(Layer):
    """Runs ``layer`` (an RNN) forwards and a copy of it backwards over the
    sequence and merges the two outputs; the backward outputs are flipped
    back to the input order when ``return_sequences``.

    Args:
        layer: the recurrent layer to copy as ``forward_<name>`` (and, with
            ``go_backwards`` flipped, ``backward_<name>``).
        merge_mode: ``"concat"`` (default), ``"sum"``, ``"mul"``, ``"ave"``,
            or None (a list of both outputs).
        weights: initial weights, forward's then backward's.
        backward_layer: a recurrent layer to use as the backward one (it must
            read the other way and agree on ``stateful``,
            ``return_sequences`` and ``return_state``).

    With ``return_state`` the outputs are ``(output, *forward_states,
    *backward_states)``; ``initial_state`` takes the same order.

    Example:
        >>> layer = Bidirectional(LSTM(4, return_sequences=True))
        >>> ops.shape(layer(np.ones((2, 5, 3), "float32")))
        (2, 5, 8)
    """

    def __init__(self, layer: Layer, merge_mode: str | None = "concat", weights: Any = None,
                 backward_layer: Layer | None = None, **kwargs: Any):
        if not isinstance(layer, Layer):
            raise ValueError(f"Bidirectional: expected a Layer to wrap, received {layer!r}.")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"Bidirectional: expected backward_layer to be a Layer, received {backward_layer!r}.")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"Bidirectional: expected merge_mode in {MERGE_MODES}, received {merge_mode!r}.")
        super().__init__(**kwargs)
        self.forward_layer = _copy(layer, "forward_" + layer.name.removeprefix("forward_"))
        if backward_layer is None:
            backward_layer = _copy(layer, "backward_" + layer.name.removeprefix("backward_"),
                                   go_backwards=not layer.go_backwards)
        self.backward_layer = backward_layer
        self._check_pair()
        for inner in (self.forward_layer, self.backward_layer):
            if hasattr(inner, "zero_output_for_mask"):
                inner.zero_output_for_mask = inner.return_sequences
        self.merge_mode = merge_mode
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.input_spec = layer.input_spec
        self.__dict__["_pending_weights"] = list(weights) if weights else None

    def _check_pair(self) -> None:
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError(f"{describe_layer(self)}: expected the forward and backward layers to read in "
                             f"opposite directions, received go_backwards={forward.go_backwards} for both.")
        for attribute in ("stateful", "return_sequences", "return_state"):
            a, b = getattr(forward, attribute), getattr(backward, attribute)
            if a != b:
                raise ValueError(f"{describe_layer(self)}: expected the forward and backward layers to agree on "
                                 f"{attribute}, received {a} (forward) and {b} (backward).")

    @property
    def states(self) -> Any:
        """Both layers' state variables (forward's first), or None."""
        forward, backward = self.forward_layer.states, self.backward_layer.states
        if forward and backward:
            return tuple(forward) + tuple(backward)
        return None

    def reset_state(self) -> None:
        """Zero both layers' states (stateful layers only)."""
        if not self.stateful:
            raise AttributeError(f"{describe_layer(self)}: reset_state() needs a stateful layer.")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def reset_states(self) -> None:
        """Alias of :meth:`reset_state`."""
        self.reset_state()

    def build(self, sequences_shape: Any, initial_state_shape: Any = None) -> None:
        for inner in (self.forward_layer, self.backward_layer):
            if not inner.built:
                inner.build(sequences_shape)
        pending = self.__dict__.get("_pending_weights")
        if pending:
            half = len(pending) // 2
            self.forward_layer.set_weights(pending[:half])
            self.backward_layer.set_weights(pending[half:])
            self.__dict__["_pending_weights"] = None

    def call(self, sequences: Any, initial_state: Any = None, mask: Any = None, training: Any = None) -> Any:
        forward_state = backward_state = None
        if initial_state is not None:
            initial_state = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            if len(initial_state) % 2:
                raise ValueError(f"{describe_layer(self)}: expected an initial_state with the forward states then "
                                 f"the backward states (an even count), received {len(initial_state)} tensors.")
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        y = self.forward_layer(sequences, initial_state=forward_state, mask=mask, training=training)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, mask=mask, training=training)
        states: tuple = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = ops.flip(y_rev, axis=1)
        if self.merge_mode == "concat":
            output: Any = ops.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = ops.add(y, y_rev)
        elif self.merge_mode == "ave":
            output = ops.divide(ops.add(y, y_rev), 2.0)
        elif self.merge_mode == "mul":
            output = ops.multiply(y, y_rev)
        else:
            output = (y, y_rev)
        if self.return_state:
            return (*output, *states) if self.merge_mode is None else (output, *states)
        return output

    def compute_output_shape(self, sequences_shape: Any, initial_state_shape: Any = None) -> Any:
        shape = self.forward_layer.compute_output_shape(sequences_shape)
        state_shapes: tuple = ()
        if self.return_state:
            shape, state_shapes = shape[0], tuple(shape[1:])
        if self.merge_mode == "concat":
            shape = (*shape[:-1], shape[-1] * 2)
        outputs = [tuple(shape), tuple(shape)] if self.merge_mode is None else [tuple(shape)]
        if self.return_state:
            return (*outputs, *state_shapes, *state_shapes)
        return outputs if self.merge_mode is None else outputs[0]

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        mask = previous_mask[0] if isinstance(previous_mask, (list, tuple)) else previous_mask
        output_mask = mask if self.return_sequences else None
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            count = len(getattr(self.forward_layer, "state_size", ())) * 2
            return masks + [None] * count
        return masks if self.merge_mode is None else output_mask

    def get_config(self) -> dict[str, Any]:
        who = describe_layer(self)
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": registry.serialize(self.forward_layer, f"{who} layer"),
                "backward_layer": registry.serialize(self.backward_layer, f"{who} backward_layer")}
