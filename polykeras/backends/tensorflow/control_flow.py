"""Control flow of the TensorFlow engine: ``tf.cond``, ``tf.switch_case``,
``tf.while_loop`` and ``tf.vectorized_map``.

They work eagerly and inside ``tf.function`` alike, and are differentiable
under ``tf.GradientTape`` (``while_loop`` and ``fori_loop`` included).
``associative_scan`` and ``map`` keep the protocol's versions eagerly and
build on ``tf.while_loop`` (through ``scan``) when traced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf

from polykeras.backends.control_flow import as_tuple, body_tuple


class TensorflowControlFlow:
    """TensorFlow control flow (see :class:`polykeras.backends.tensorflow.TensorflowBackend`).

    Example: ``B.get("tensorflow").cond(x > 0, lambda: x, lambda: -x)``
    """

    def cond(self, pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
        if tf.executing_eagerly() or isinstance(pred, bool):
            return super().cond(pred, true_fn, false_fn)  # type: ignore[misc]
        return tf.cond(pred, true_fn, false_fn)

    def switch(self, index: Any, branches: Sequence[Callable[..., Any]], *operands: Any) -> Any:
        if tf.executing_eagerly() or isinstance(index, int):
            return super().switch(index, branches, *operands)  # type: ignore[misc]
        index = tf.clip_by_value(tf.cast(index, tf.int32), 0, len(branches) - 1)
        return tf.switch_case(index, [lambda b=b: b(*operands) for b in branches])

    def while_loop(self, cond: Callable[..., Any], body: Callable[..., Any], loop_vars: Any,
                   maximum_iterations: int | None = None) -> Any:
        values, is_tuple = as_tuple(loop_vars)
        out = tf.while_loop(cond, lambda *v: body_tuple(body(*v), is_tuple), values,
                            maximum_iterations=maximum_iterations)
        out = tuple(out) if isinstance(out, (list, tuple)) else (out,)
        return out if is_tuple else out[0]

    def fori_loop(self, lower: Any, upper: Any, body_fun: Callable[[Any, Any], Any], init_val: Any) -> Any:
        if tf.executing_eagerly():
            return super().fori_loop(lower, upper, body_fun, init_val)  # type: ignore[misc]
        lower = tf.cast(lower, tf.int32)
        _, out = tf.while_loop(lambda i, _: i < upper, lambda i, v: (i + 1, body_fun(i, v)), (lower, init_val))
        return out

    def vectorized_map(self, function: Callable[[Any], Any], elements: Any) -> Any:
        return tf.vectorized_map(function, elements)

    def custom_gradient(self, f: Callable[..., tuple[Any, Callable[..., Any]]]) -> Callable[..., Any]:
        return tf.custom_gradient(f)

    def jvp(self, fun: Callable[..., Any], primals: Any, tangents: Any, has_aux: bool = False) -> tuple[Any, ...]:
        primals = [tf.convert_to_tensor(p) for p in primals]
        with tf.autodiff.ForwardAccumulator(primals, [tf.convert_to_tensor(t) for t in tangents]) as accumulator:
            result = fun(*primals)
        out, aux = result if has_aux else (result, None)
        tangent = tf.nest.map_structure(
            lambda o: accumulator.jvp(o, unconnected_gradients=tf.UnconnectedGradients.ZERO), out)
        return (out, tangent, aux) if has_aux else (out, tangent)
