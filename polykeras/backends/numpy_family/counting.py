"""Counting and selection composites: ``bincount``, ``histogram``, ``unique``,
``nonzero``, ``argpartition`` and ``in_top_k``, written once with the
primitives and so the same on every engine.

Two of them have outputs whose size depends on the input's values
(``nonzero``, ``unique`` without ``size``) and one a length that does
(``bincount``): they read those values on the host, which a traced or
compiled function (``jit``, ``tf.function``) does not have, and say so by
name there. ``unique(x, size=n)`` of a flattened tensor needs no values: it
is sort-based and static-shaped, so it also runs inside ``jit``.

Example:
    >>> engine.to_numpy(engine.bincount(engine.convert_to_tensor([1, 1, 3])))
    array([0, 2, 0, 1], dtype=int32)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

Tensor = Any

_INTEGER = ("int", "uint")


def _axis_of(op: str, axis: int, ndim: int) -> int:
    if not isinstance(axis, (int, np.integer)) or not -ndim <= axis < max(ndim, 1):
        raise ValueError(f"{op}: expected an axis within the rank {ndim}, received axis={axis!r}")
    return int(axis) % max(ndim, 1)


class CountingComposites:
    """``keras.ops.numpy``'s counting and selection ops composed from the primitives."""

    def _nf_values(self, op: str, x: Tensor, hint: str) -> np.ndarray:
        """``x``'s values on the host, or an error naming ``op`` where they
        do not exist yet (a traced or compiled function)."""
        try:
            return np.asarray(self.to_numpy(x))  # type: ignore[attr-defined]
        except Exception as err:  # noqa: BLE001 - any engine's "no values while tracing"
            raise ValueError(f"{op}: the size of the result depends on the input's values, which a traced or "
                             f"compiled function (jit, tf.function) does not have; {hint}") from err

    # ------------------------------------------------------------ nonzero
    def nonzero(self, x: Tensor) -> tuple[Tensor, ...]:
        values = self._nf_values("nonzero", self.convert_to_tensor(x),  # type: ignore[attr-defined]
                                 "call it outside the compiled function, or use where(condition, x1, x2)")
        return tuple(self.convert_to_tensor(i.astype("int32")) for i in np.nonzero(values))  # type: ignore[attr-defined]

    # ----------------------------------------------------------- bincount
    def bincount(self, x: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
        e: Any = self
        x = e.convert_to_tensor(x)
        shape, dtype = tuple(e.shape(x)), e.dtype(x)
        if not (dtype.startswith(_INTEGER) or dtype == "bool") or len(shape) not in (1, 2):
            raise ValueError(f"bincount: expected a 1-D (or batched 2-D) tensor of non-negative integers, "
                             f"received shape {shape} and dtype {dtype}")
        if not isinstance(minlength, (int, np.integer)) or minlength < 0:
            raise ValueError(f"bincount: expected a non-negative int minlength, received {minlength!r}")
        values = self._nf_values("bincount", x, "call it outside the compiled function")
        if values.size and values.min() < 0:
            raise ValueError(f"bincount: expected non-negative integers, received a minimum of {values.min()}")
        length = max(int(minlength), int(values.max()) + 1 if values.size else 0)
        ids = e.cast(x, "int32")
        if weights is None:
            return e.sum(e.one_hot(ids, length, dtype="int32"), axis=-2)
        weights = e.convert_to_tensor(weights)
        if tuple(e.shape(weights)) != shape:
            raise ValueError(f"bincount: expected weights of x's shape {shape}, received {tuple(e.shape(weights))}")
        hot = e.one_hot(ids, length, dtype=e.dtype(weights))
        return e.sum(e.multiply(hot, e.expand_dims(weights, -1)), axis=-2)

    # ---------------------------------------------------------- histogram
    def histogram(self, x: Tensor, bins: int = 10, range: Sequence[float] | None = None  # noqa: A002 - Keras's name
                  ) -> tuple[Tensor, Tensor]:
        e: Any = self
        if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
            raise ValueError(f"histogram: expected a positive int number of bins, received bins={bins!r}")
        x = e.reshape(e.convert_to_tensor(x), (-1,))
        dtype = e.dtype(x)
        edge_dtype = dtype if dtype.startswith(("float", "bfloat")) else "float32"
        data = e.cast(x, edge_dtype)
        if range is not None:
            if len(range) != 2 or not float(range[0]) <= float(range[1]):
                raise ValueError(f"histogram: expected range=(low, high) with low <= high, received {range!r}")
            low, high = (e.cast(e.convert_to_tensor(float(v)), edge_dtype) for v in range)
        elif e.shape(x)[0] == 0:
            low, high = e.zeros((), edge_dtype), e.ones((), edge_dtype)
        else:
            low, high = e.min(data), e.max(data)
        flat = e.equal(low, high)  # NumPy widens an empty range by 0.5 each side
        low = e.where(flat, e.subtract(low, 0.5), low)
        high = e.where(flat, e.add(high, 0.5), high)
        steps = e.divide(e.cast(e.arange(0, bins + 1, 1, dtype="int32"), edge_dtype), float(bins))
        edges = e.add(low, e.multiply(e.subtract(high, low), steps))
        inside = e.logical_and(e.greater_equal(data, low), e.less_equal(data, high))
        scaled = e.multiply(e.divide(e.subtract(data, low), e.subtract(high, low)), float(bins))
        index = e.clip(e.cast(e.floor(scaled), "int32"), 0, bins - 1)
        # like NumPy, move an entry that rounding put beside its bin across the computed edge
        index = e.where(e.less(data, e.take(edges, index)), e.maximum(e.subtract(index, 1), 0), index)
        index = e.where(e.logical_and(e.greater_equal(data, e.take(edges, e.add(index, 1))),
                                      e.not_equal(index, bins - 1)), e.add(index, 1), index)
        index = e.where(inside, index, bins)  # out of range: one_hot gives a row of zeros
        counts = e.sum(e.one_hot(index, bins, dtype="int32"), axis=0)
        return e.cast(counts, dtype), edges

    # ------------------------------------------------------------- unique
    def unique(self, x: Tensor, sorted: bool = True, return_index: bool = False,  # noqa: A002 - Keras's name
               return_inverse: bool = False, return_counts: bool = False, axis: int | None = None,
               size: int | None = None, fill_value: Any = None) -> Any:
        e: Any = self
        x = e.convert_to_tensor(x)
        if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0):
            raise ValueError(f"unique: expected a non-negative int size, received size={size!r}")
        flags = (return_index, return_inverse, return_counts)
        if size is not None and axis is None:
            outputs = self._nf_unique_static(x, int(size), fill_value)
        else:
            outputs = self._nf_unique_host(x, axis, size, fill_value)
        chosen = [outputs[0]] + [out for flag, out in zip(flags, outputs[1:]) if flag]
        return chosen[0] if len(chosen) == 1 else tuple(chosen)

    def _nf_unique_host(self, x: Tensor, axis: int | None, size: int | None, fill_value: Any) -> list[Tensor]:
        e: Any = self
        shape = tuple(e.shape(x))
        dim = 0 if axis is None else _axis_of("unique", axis, len(shape))
        values = self._nf_values("unique", x, "pass size= (with axis=None) for a result of fixed size")
        found, index, inverse, counts = np.unique(values, return_index=True, return_inverse=True,
                                                  return_counts=True, axis=None if axis is None else dim,
                                                  equal_nan=False)
        inverse = inverse.reshape(shape if axis is None else (shape[dim],))
        if size is not None:
            have = found.shape[dim]
            if have >= size:
                found = np.take(found, np.arange(size), axis=dim)
                index, counts = index[:size], counts[:size]
            else:
                widths = [(0, 0)] * found.ndim
                widths[dim] = (0, size - have)
                found = np.pad(found, widths, constant_values=0 if fill_value is None else fill_value)
                index = np.pad(index, (0, size - have), constant_values=1)
                counts = np.pad(counts, (0, size - have), constant_values=0)
        return [e.convert_to_tensor(found.astype(values.dtype))] + [
            e.convert_to_tensor(np.asarray(v).astype("int32")) for v in (index, inverse, counts)]

    def _nf_unique_static(self, x: Tensor, size: int, fill_value: Any) -> list[Tensor]:
        """Sorted unique values of the flattened ``x``, padded or cut to
        ``size``, with the first indices, the inverse and the counts; static
        shapes throughout (sort, cumsum and scatter)."""
        e: Any = self
        shape, dtype = tuple(e.shape(x)), e.dtype(x)
        flat = e.reshape(x, (-1,))
        n = int(np.prod(shape, dtype=np.int64))
        keys = e.cast(flat, "int32") if dtype == "bool" else flat
        fill = e.cast(e.convert_to_tensor(0 if fill_value is None else fill_value), dtype)
        if n == 0:
            return [e.broadcast_to(fill, (size,)), e.ones((size,), "int32"), e.zeros(shape, "int32"),
                    e.zeros((size,), "int32")]
        order = e.cast(e.argsort(keys, axis=0), "int32")
        ranked = e.take(keys, order, axis=0)
        first = e.concatenate([e.ones((1,), "bool"), e.not_equal(ranked[1:], ranked[:-1])], axis=0)
        group = e.subtract(e.cumsum(e.cast(first, "int32"), axis=0), 1)
        found = e.add(group[-1], 1)
        kept = e.less(group, size)
        slot = e.expand_dims(e.where(e.logical_and(first, kept), group, size), -1)
        start = e.scatter(slot, e.where(first, e.arange(0, n, 1, dtype="int32"), 0), (size + 1,))[:size]
        counts = e.scatter(e.expand_dims(e.where(kept, group, size), -1), e.ones((n,), "int32"), (size + 1,))[:size]
        real = e.less(e.arange(0, size, 1, dtype="int32"), found)
        values = e.where(real, e.take(flat, e.take(order, start)), fill)
        index = e.where(real, e.take(order, start), 1)
        inverse = e.reshape(e.scatter(e.expand_dims(order, -1), group, (n,)), shape)
        return [values, index, inverse, counts]

    # ------------------------------------------------------- argpartition
    def argpartition(self, x: Tensor, kth: int, axis: int | None = -1) -> Tensor:
        e: Any = self
        x = e.convert_to_tensor(x)
        if axis is None:
            x, axis = e.reshape(x, (-1,)), 0
        shape = tuple(e.shape(x))
        axis = _axis_of("argpartition", axis, len(shape))
        length = shape[axis] if shape else 1
        if isinstance(kth, bool) or not isinstance(kth, (int, np.integer)) or not -length <= kth < length:
            raise ValueError(f"argpartition: expected kth within the axis length {length}, received kth={kth!r}")
        # a stable sort is a partition around every kth: the same indices on every engine
        return e.cast(e.argsort(x, axis=axis), "int32")

    # ----------------------------------------------------------- in_top_k
    def in_top_k(self, targets: Tensor, predictions: Tensor, k: int) -> Tensor:
        e: Any = self
        predictions, targets = e.convert_to_tensor(predictions), e.convert_to_tensor(targets)
        p_shape, t_shape = tuple(e.shape(predictions)), tuple(e.shape(targets))
        if len(p_shape) != 2 or t_shape != p_shape[:1] or not e.dtype(targets).startswith(_INTEGER):
            raise ValueError(f"in_top_k: expected predictions (batch, classes) and integer targets (batch,), "
                             f"received predictions {p_shape} and targets {t_shape} of {e.dtype(targets)}")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise ValueError(f"in_top_k: expected an int k, received k={k!r}")
        picked = e.take_along_axis(predictions, e.expand_dims(e.cast(targets, "int32"), -1), axis=1)
        above = e.sum(e.cast(e.greater(predictions, picked), "int32"), axis=1)
        # ties at the boundary are all in the top k, as TensorFlow's in_top_k counts them
        return e.logical_and(e.less(above, int(k)), e.isfinite(e.squeeze(picked, axis=1)))
