"""``to_categorical`` and ``normalize``: NumPy in, NumPy out; an engine tensor
in, an engine tensor out (as Keras 3 does on its non-NumPy backends)."""

from __future__ import annotations

from typing import Any

import numpy as np

from polykeras import ops

_EPSILON = 1e-7  # Keras' backend epsilon, the floor of a tensor's norm


def _engine_tensor(x: Any) -> bool:
    return not isinstance(x, np.ndarray) and ops.is_tensor(x)


def to_categorical(x: Any, num_classes: int | None = None) -> Any:
    """One-hot encode integer class ids: shape ``x.shape + (num_classes,)``
    (a trailing axis of size 1 is dropped first). NumPy or a list gives a
    float64 NumPy array, an engine tensor a float32 tensor.

    Example:
        >>> to_categorical([0, 2], num_classes=3)
        array([[1., 0., 0.],
               [0., 0., 1.]])
    """
    if num_classes is not None and (isinstance(num_classes, bool) or int(num_classes) != num_classes
                                    or num_classes <= 0):
        raise ValueError(f"to_categorical: expected a positive integer num_classes, received {num_classes!r}.")
    if _engine_tensor(x):
        shape = tuple(ops.shape(x))
        if len(shape) > 1 and shape[-1] == 1:
            x = ops.reshape(x, shape[:-1])
        if num_classes is None:
            num_classes = int(np.asarray(ops.to_numpy(ops.max(x)))) + 1
        return ops.one_hot(ops.cast(x, "int32"), int(num_classes))
    try:
        ids = np.array(x, dtype="int64")
    except (TypeError, ValueError) as error:
        raise ValueError(f"to_categorical: expected integer class ids, received {x!r}.") from error
    shape = ids.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    ids = ids.reshape(-1)
    if num_classes is None:
        num_classes = int(ids.max()) + 1 if ids.size else 0
    num_classes = int(num_classes)
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
        raise ValueError(f"to_categorical: expected class ids in [0, {num_classes}), received ids from "
                         f"{int(ids.min())} to {int(ids.max())}.")
    categorical = np.zeros((ids.size, num_classes))
    categorical[np.arange(ids.size), ids] = 1
    return categorical.reshape(shape + (num_classes,))


def normalize(x: Any, axis: int = -1, order: int = 2) -> Any:
    """Scale ``x`` to unit ``order``-norm along ``axis`` (zero vectors stay
    zero). NumPy in, NumPy out; an engine tensor in, a tensor out.

    Example:
        >>> normalize(np.array([[3.0, 4.0]]))
        array([[0.6, 0.8]])
    """
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
        raise ValueError(f"normalize: expected a positive integer order (1 for L1, 2 for L2), received {order!r}.")
    if _engine_tensor(x):
        if order == 2:
            return x * ops.rsqrt(ops.maximum(ops.sum(ops.square(x), axis=axis, keepdims=True), _EPSILON))
        norm = ops.power(ops.sum(ops.power(ops.abs(x), order), axis=axis, keepdims=True), 1.0 / order)
        return x / ops.maximum(norm, _EPSILON)
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)
