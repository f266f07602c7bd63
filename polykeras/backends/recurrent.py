"""The protocol's recurrent composites: ``scan`` (the time loop) and the
``lstm`` / ``gru`` sequence kernels written on it.

They are plain functions taking the engine as ``self``; :class:`~polykeras.
backends.base.Backend` binds them as methods, so they are composites like any
other (``polykeras.backends.composite()`` forces them). Engines override them
where they do better: JAX with ``jax.lax.scan`` and TensorFlow with
``tf.while_loop`` when traced, PyTorch's ``lstm``/``gru`` with its own fused
sequence kernels.

Each step projects its own input (``x_t @ kernel``) beside the recurrent
product, as Keras's cells do. One projection of every step before the loop
measured slower in both compiled loops: XLA fuses the per-step slice of the
projected sequence into the gates' elementwise kernel, which then ran ten
times slower than on a materialised slice (batch 64, 128 units), and
``tf.while_loop`` carries the projected sequence through its ``TensorArray``
each way.

Nested structures (``init``, ``xs``, the step's outputs) are tensors inside
lists and tuples, flattened with :func:`tree_flatten`.

Example:
    >>> import polykeras.backends as B
    >>> engine = B.get("numpy")
    >>> total, running = engine.scan(lambda c, x: (c + x, c + x), engine.zeros(()), engine.arange(1.0, 4.0))
    >>> engine.to_numpy(running)
    array([1., 3., 6.], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["gru", "lstm", "scan", "tree_flatten", "tree_unflatten"]

Tensor = Any
_LEAF = object()


def tree_flatten(tree: Any) -> tuple[list[Any], Any]:
    """The leaves of nested lists/tuples (in order) and the structure to
    rebuild them with :func:`tree_unflatten`. ``None`` is a leaf.

    Example: ``tree_flatten([a, (b, c)])`` -> ``([a, b, c], <structure>)``
    """
    leaves: list[Any] = []

    def walk(node: Any) -> Any:
        if isinstance(node, (list, tuple)):
            return (type(node), [walk(item) for item in node])
        leaves.append(node)
        return _LEAF

    return leaves, walk(tree)


def tree_unflatten(structure: Any, leaves: list[Any]) -> Any:
    """Inverse of :func:`tree_flatten`. Example: ``tree_unflatten(s, [a, b, c])``"""
    it = iter(leaves)

    def build(node: Any) -> Any:
        if node is _LEAF:
            return next(it)
        kind, items = node
        return kind(build(item) for item in items)

    return build(structure)


def _error(op: str, expected: str, received: str) -> ValueError:
    return ValueError(f"{op}: expected {expected}, received {received}.")


def scan(self: Any, fn: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any, reverse: bool = False,
         unroll: bool = False) -> tuple[Any, Any]:
    """Loop ``carry, y_t = fn(carry, x_t)`` over the leading axis of ``xs``,
    as ``jax.lax.scan``.

    ``init`` (and every carry ``fn`` returns) is a tensor or nested
    lists/tuples of tensors keeping one structure, shapes and dtypes;
    ``xs`` is a tensor or nested lists/tuples of tensors sharing their
    leading (time) length; ``y_t`` is a tensor, a nested structure or None.
    Returns ``(final carry, ys)``: ``ys`` stacks the ``y_t`` on a new leading
    axis in the order of ``xs`` (``ys[t]`` comes from ``xs[t]``, also with
    ``reverse=True``, which runs from the last step to the first); None when
    ``fn`` returns None. ``unroll`` asks compiling engines to unroll the
    loop; this portable definition is a Python loop, unrolled by nature.
    """
    leaves, structure = tree_flatten(xs)
    if not leaves:
        raise _error("scan", "xs holding at least one tensor", repr(xs))
    length = self.shape(leaves[0])[0] if self.shape(leaves[0]) else None
    if not length:
        raise _error("scan", "xs with a known, non-zero leading (time) length",
                     f"shape {self.shape(leaves[0])}")
    for leaf in leaves[1:]:
        if self.shape(leaf)[:1] != (length,):
            raise _error("scan", f"every tensor of xs with leading length {length}", f"shape {self.shape(leaf)}")
    order = range(length - 1, -1, -1) if reverse else range(length)
    carry = init
    ys: list[Any] = [None] * length
    if structure is _LEAF:  # one tensor: no tree to rebuild per step (the loop's cost is per step)
        xs_t = self.unstack(leaves[0], 0)
        for t in order:
            carry, ys[t] = fn(carry, xs_t[t])
    else:
        steps = [self.unstack(leaf, 0) for leaf in leaves]
        for t in order:
            carry, ys[t] = fn(carry, tree_unflatten(structure, [step[t] for step in steps]))
    if ys[0] is None:
        return carry, None
    if self.is_tensor(ys[0]):
        return carry, self.stack(ys, axis=0)
    flat = [tree_flatten(y)[0] for y in ys]
    stacked = [self.stack([row[i] for row in flat], axis=0) for i in range(len(flat[0]))]
    return carry, tree_unflatten(tree_flatten(ys[0])[1], stacked)


def _time_major(self: Any, inputs: Tensor, go_backwards: bool) -> Tensor:
    rank = len(self.shape(inputs))
    if rank != 3:
        raise _error("lstm/gru", "inputs of shape (batch, time, features)", f"shape {self.shape(inputs)}")
    x = self.transpose(inputs, (1, 0, 2))
    return self.flip(x, axis=0) if go_backwards else x


def lstm(self: Any, inputs: Tensor, initial_h: Tensor, initial_c: Tensor, kernel: Tensor, recurrent_kernel: Tensor,
         bias: Tensor | None = None, go_backwards: bool = False, unroll: bool = False,
         return_sequences: bool = True) -> tuple[Tensor, Tensor, Tensor]:
    """Keras 3's LSTM (tanh cell, sigmoid gates, gate order i, f, c, o) over
    ``inputs`` ``(batch, time, features)``: ``kernel`` ``(features, 4 * units)``,
    ``recurrent_kernel`` ``(units, 4 * units)``, ``bias`` ``(4 * units,)`` or
    None. ``go_backwards`` reads the steps last to first.

    Returns ``(outputs, h, c)``: ``outputs`` ``(batch, time, units)`` in
    processing order (reversed when ``go_backwards``), then the last states.
    With ``return_sequences=False`` the loop keeps no per-step outputs and
    ``outputs`` is the last one, ``(batch, 1, units)``.
    """
    def step(carry: tuple[Tensor, Tensor], x_t: Tensor) -> tuple[tuple[Tensor, Tensor], Tensor]:
        h, c = carry
        z = self.add(self.matmul(x_t, kernel), self.matmul(h, recurrent_kernel))
        if bias is not None:
            z = self.add(z, bias)
        i, f, g, o = self.split(z, 4, axis=-1)
        c = self.add(self.multiply(self.sigmoid(f), c), self.multiply(self.sigmoid(i), self.tanh(g)))
        h = self.multiply(self.sigmoid(o), self.tanh(c))
        return (h, c), (h if return_sequences else None)

    (h, c), ys = self.scan(step, (initial_h, initial_c), _time_major(self, inputs, go_backwards), unroll=unroll)
    return _batch_major(self, ys, h), h, c


def gru(self: Any, inputs: Tensor, initial_h: Tensor, kernel: Tensor, recurrent_kernel: Tensor,
        bias: Tensor | None = None, go_backwards: bool = False, unroll: bool = False,
        return_sequences: bool = True) -> tuple[Tensor, Tensor]:
    """Keras 3's GRU with ``reset_after=True`` (tanh candidate, sigmoid
    gates, gate order z, r, h; the reset gate multiplies the recurrent
    projection after its bias): ``kernel`` ``(features, 3 * units)``,
    ``recurrent_kernel`` ``(units, 3 * units)``, ``bias`` ``(2, 3 * units)``
    (input bias, recurrent bias) or None.

    Returns ``(outputs, h)``: ``outputs`` ``(batch, time, units)`` in
    processing order (``(batch, 1, units)`` with ``return_sequences=False``),
    then the last state.
    """
    input_bias = recurrent_bias = None
    if bias is not None:
        input_bias, recurrent_bias = (self.squeeze(b, 0) for b in self.split(bias, 2, axis=0))

    def step(h: Tensor, x_t: Tensor) -> tuple[Tensor, Tensor]:
        outer = self.matmul(x_t, kernel)
        inner = self.matmul(h, recurrent_kernel)
        if bias is not None:
            outer, inner = self.add(outer, input_bias), self.add(inner, recurrent_bias)
        x_z, x_r, x_h = self.split(outer, 3, axis=-1)
        h_z, h_r, h_h = self.split(inner, 3, axis=-1)
        z = self.sigmoid(self.add(x_z, h_z))
        r = self.sigmoid(self.add(x_r, h_r))
        candidate = self.tanh(self.add(x_h, self.multiply(r, h_h)))
        h = self.add(self.multiply(z, h), self.multiply(self.subtract(1.0, z), candidate))
        return h, (h if return_sequences else None)

    h, ys = self.scan(step, initial_h, _time_major(self, inputs, go_backwards), unroll=unroll)
    return _batch_major(self, ys, h), h


def _batch_major(self: Any, ys: Tensor | None, last: Tensor) -> Tensor:
    """Stacked step outputs ``(time, batch, units)`` as ``(batch, time, units)``;
    the last output as ``(batch, 1, units)`` when none were kept."""
    return self.expand_dims(last, 1) if ys is None else self.transpose(ys, (1, 0, 2))
