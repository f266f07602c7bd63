"""The recurrent time loop, engine-neutral: Keras' ``backend.rnn`` on top of
the protocol's ``scan``.

``rnn_loop(step, sequences, initial_states, ...)`` runs
``output, new_states = step(x_t, states)`` over the time axis of
``sequences`` ``(batch, time, ...)`` and returns ``(last_output, outputs,
final_states)`` with ``outputs`` ``(batch, time, ...)`` in processing order
(reversed with ``go_backwards``), as Keras 3 does.

Masked steps (``mask[b, t]`` False) keep the previous states; their output
is the previous step's output (zeros before the first unmasked step), or
zeros with ``zero_output_for_mask``: TensorFlow's (the reference) rule.

Example:
    >>> last, outputs, states = rnn_loop(lambda x, s: (x + s[0], [x + s[0]]), x, [ops.zeros((2, 3))])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polykeras import backends, ops
from polykeras.backends.recurrent import tree_flatten, tree_unflatten

__all__ = ["filled", "rnn_loop", "time_major"]

Step = Callable[[Any, Any], tuple[Any, Any]]


def time_major(x: Any) -> Any:
    """``(batch, time, ...)`` -> ``(time, batch, ...)`` (and back)."""
    rank = len(ops.shape(x))
    return ops.transpose(x, (1, 0, *range(2, rank)))


def filled(reference: Any, shape: tuple[int, ...], value: float, dtype: str) -> Any:
    """A ``(batch, *shape)`` tensor of ``value`` whose batch size is the one of
    ``reference`` ``(batch, ...)`` (works when the batch size is unknown
    while tracing)."""
    zeros = ops.zeros_like(reference)
    rank = len(ops.shape(zeros))
    column = ops.sum(zeros, axis=tuple(range(1, rank))) if rank > 1 else zeros  # (batch,) zeros
    column = ops.reshape(ops.cast(column, dtype), (-1,) + (1,) * len(shape))
    return ops.add(column, ops.full(tuple(shape), value, dtype))


def _along(mask_t: Any, like: Any) -> Any:
    """A ``(batch,)`` mask shaped to broadcast against ``like`` ``(batch, ...)``."""
    return ops.reshape(mask_t, (-1,) + (1,) * (len(ops.shape(like)) - 1))


def rnn_loop(step: Step, sequences: Any, initial_states: Any, *, go_backwards: bool = False, mask: Any = None,
             unroll: bool = False, zero_output_for_mask: bool = False, return_all_outputs: bool = True,
             zero_output: Any = None, who: str = "RNN") -> tuple[Any, Any, Any]:
    """Run ``step`` over time; see the module docstring. ``zero_output`` (a
    tensor shaped like one step's output) seeds the previous output of
    masked loops; ``who`` names the layer in errors."""
    engine = backends.active()
    flat_init, structure = tree_flatten(initial_states)
    count = len(flat_init)
    xs = time_major(sequences)
    if go_backwards:
        xs = ops.flip(xs, axis=0)

    def call_step(x: Any, flat: list[Any]) -> tuple[Any, list[Any]]:
        output, new_states = step(x, tree_unflatten(structure, flat))
        new_flat = tree_flatten(new_states)[0]
        if len(new_flat) != count:
            raise ValueError(f"{who}: the cell returned {len(new_flat)} state tensors, expected {count} "
                             f"(one per entry of its state_size).")
        return output, new_flat

    if mask is None:
        def plain(flat: list[Any], x: Any) -> tuple[list[Any], Any]:
            output, new_flat = call_step(x, flat)
            return new_flat, output

        final, ys = engine.scan(plain, list(flat_init), xs, unroll=unroll)
        length = ops.shape(ys)[0]
        last = ops.take(ys, length - 1, axis=0)
        outputs = time_major(ys) if return_all_outputs else ops.expand_dims(last, 1)
        return last, outputs, tree_unflatten(structure, final)

    steps_mask = time_major(ops.cast(mask, "bool"))
    if go_backwards:
        steps_mask = ops.flip(steps_mask, axis=0)

    def masked(carry: tuple[list[Any], Any], inputs: tuple[Any, Any]) -> tuple[tuple[list[Any], Any], Any]:
        flat, previous = carry
        x, keep = inputs
        output, new_flat = call_step(x, flat)
        new_flat = [ops.where(_along(keep, new), new, old) for new, old in zip(new_flat, flat)]
        fallback = ops.zeros_like(output) if zero_output_for_mask else previous
        output = ops.where(_along(keep, output), output, fallback)
        return (new_flat, output), (output if return_all_outputs else None)

    (final, last), ys = engine.scan(masked, (list(flat_init), zero_output), (xs, steps_mask), unroll=unroll)
    outputs = time_major(ys) if return_all_outputs else ops.expand_dims(last, 1)
    return last, outputs, tree_unflatten(structure, final)
