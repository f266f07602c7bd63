"""The time loop of the TensorFlow engine: ``tf.while_loop`` in graphs.

Inside ``tf.function`` ``scan`` reads the steps from ``TensorArray`` s and
writes the outputs into others in a ``tf.while_loop``, so the graph holds
the step once. The first step runs before the loop: it gives the outputs'
structure, shapes and dtypes for the arrays, and it is real work, not a
probe. Eagerly (or with ``unroll=True``) the protocol's Python loop runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from polykeras.backends.recurrent import tree_flatten, tree_unflatten


class TensorflowRecurrent:
    """``scan`` of the TensorFlow engine (see :class:`polykeras.backends.tensorflow.TensorflowBackend`).

    Example: ``carry, ys = B.get("tensorflow").scan(step, init, xs)``
    """

    def scan(self, fn: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any, reverse: bool = False,
             unroll: bool = False) -> tuple[Any, Any]:
        if unroll or tf.executing_eagerly():
            return super().scan(fn, init, xs, reverse=reverse, unroll=unroll)  # type: ignore[misc]
        leaves, structure = tree_flatten(xs)
        leaves = [tf.convert_to_tensor(leaf) for leaf in leaves]
        if not leaves or leaves[0].shape.rank == 0:
            raise ValueError(f"scan: expected xs holding tensors with a leading (time) axis, received {xs!r}.")
        static = leaves[0].shape[0]
        length = static if static is not None else tf.shape(leaves[0])[0]
        inputs = [tf.TensorArray(leaf.dtype, size=length, element_shape=leaf.shape[1:]).unstack(leaf)
                  for leaf in leaves]

        def step_input(t: Any) -> Any:
            return tree_unflatten(structure, [ta.read(t) for ta in inputs])

        first = length - 1 if reverse else 0
        carry, y = fn(init, step_input(first))
        carry_leaves, carry_structure = tree_flatten(carry)
        y_leaves, y_structure = tree_flatten(y)
        has_outputs = y is not None
        outputs = [tf.TensorArray(v.dtype, size=length, element_shape=v.shape).write(first, v)
                   for v in (y_leaves if has_outputs else [])]

        def body(i: Any, carry_leaves: list[Any], outputs: list[Any]) -> tuple[Any, list[Any], list[Any]]:
            t = length - 1 - i if reverse else i
            carry, y = fn(tree_unflatten(carry_structure, carry_leaves), step_input(t))
            written = [ta.write(t, v) for ta, v in zip(outputs, tree_flatten(y)[0])] if has_outputs else []
            return i + 1, tree_flatten(carry)[0], written

        _, carry_leaves, outputs = tf.while_loop(
            lambda i, *_: i < length, body, (tf.constant(1), carry_leaves, outputs),
            maximum_iterations=length - 1 if static is None else max(static - 1, 0),
        )
        carry = tree_unflatten(carry_structure, list(carry_leaves))
        if not has_outputs:
            return carry, None
        return carry, tree_unflatten(y_structure, [ta.stack() for ta in outputs])
