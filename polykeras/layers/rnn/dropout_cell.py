"""``DropoutRNNCell``: the dropout masks of a recurrent cell, drawn once per
sequence and reused at every step (Keras 3's behaviour).

The :class:`~polykeras.layers.rnn.RNN` layer draws the masks *before* its
time loop (``get_dropout_mask`` / ``get_recurrent_dropout_mask`` on the first
step's input and state) and clears them after it, so the loop body is free
of random draws and state updates: that is what lets JAX trace it once into
``lax.scan`` and TensorFlow into ``tf.while_loop``.
"""

from __future__ import annotations

from typing import Any

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.random import SeedGenerator

__all__ = ["DropoutRNNCell"]


def dropout_masks(step_input: Any, rate: float, seed_generator: Any, count: int | None) -> Any:
    """Keep-masks shaped like ``step_input`` (ones scaled by ``1 / (1 - rate)``
    where kept), one tensor or a list of ``count``."""
    ones = ops.ones_like(step_input)

    def one() -> Any:
        if rate >= 1.0:
            return ops.zeros_like(step_input)
        return ops.random.dropout(ones, rate, seed=seed_generator)

    return one() if count is None else [one() for _ in range(count)]


class DropoutRNNCell:
    """Mixin for cells with ``dropout``, ``recurrent_dropout`` and a
    ``seed_generator``: caches one mask per call of the RNN (a list of
    ``dropout_mask_count`` masks when that attribute is set: one per gate).

    Example:
        >>> class MyCell(DropoutRNNCell, Layer):
        ...     def call(self, inputs, states, training=False):
        ...         if training and self.dropout:
        ...             inputs = inputs * self.get_dropout_mask(inputs)
        ...         ...
    """

    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    #: None: one mask; an int: that many independent masks (one per gate).
    dropout_mask_count: int | None = None

    def _init_dropout(self, dropout: float, recurrent_dropout: float, seed: int | None) -> None:
        """Set ``dropout`` and ``recurrent_dropout`` (clamped to [0, 1]), ``seed``
        and the masks' ``seed_generator`` (None when both rates are 0)."""
        for arg, value in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{describe_layer(self)}: expected {arg} to be a float in [0, 1], "
                                 f"received {arg}={value!r}.")
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.seed = seed
        self.seed_generator = (SeedGenerator(seed, name="seed_generator")
                               if self.dropout or self.recurrent_dropout else None)

    def _step_masks(self, step_input: Any, step_state: Any, training: Any) -> tuple[Any, Any]:
        """The input and recurrent masks a gated cell applies at this step:
        each None unless training with a rate strictly between 0 and 1 (Keras'
        LSTM / GRU rule)."""
        masks = self.get_dropout_mask(step_input) if training and 0.0 < self.dropout < 1.0 else None
        recurrent_masks = (self.get_recurrent_dropout_mask(step_state)
                           if training and 0.0 < self.recurrent_dropout < 1.0 else None)
        return masks, recurrent_masks

    def get_dropout_mask(self, step_input: Any) -> Any:
        """The input mask for this sequence (drawn on first use), or None."""
        mask = self.__dict__.get("_dropout_mask")
        if mask is None and self.dropout > 0:
            mask = dropout_masks(step_input, self.dropout, self.seed_generator, self.dropout_mask_count)
            self.__dict__["_dropout_mask"] = mask
        return mask

    def get_recurrent_dropout_mask(self, step_state: Any) -> Any:
        """The recurrent-state mask for this sequence (drawn on first use), or None."""
        mask = self.__dict__.get("_recurrent_dropout_mask")
        if mask is None and self.recurrent_dropout > 0:
            mask = dropout_masks(step_state, self.recurrent_dropout, self.seed_generator, self.dropout_mask_count)
            self.__dict__["_recurrent_dropout_mask"] = mask
        return mask

    def reset_dropout_mask(self) -> None:
        """Forget the input mask: the next sequence draws a new one."""
        self.__dict__["_dropout_mask"] = None

    def reset_recurrent_dropout_mask(self) -> None:
        """Forget the recurrent mask: the next sequence draws a new one."""
        self.__dict__["_recurrent_dropout_mask"] = None
