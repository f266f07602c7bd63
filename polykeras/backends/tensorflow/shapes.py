"""TensorFlow engine, part 4: shapes and indexing.

Shapes, axes and permutations go to the raw ops as cached int32 tensors on the
eager path (see :func:`~polykeras.backends.tensorflow.core.ints`). Indices
follow NumPy: negative ones count from the end. ``slice``/``slice_update`` take
tensor start indices, so they work inside ``jit``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from polykeras.backends.base import Axis, Tensor, op_error
from polykeras.backends.tensorflow.core import (
    INT32, TENSORS, EagerTensor, R, all_axes, convert, ints, promote_all, scalar, tensor,
)


def _index(indices: Any) -> Tensor:
    """Integer indices as a tensor (int32 unless they are int64)."""
    indices = tensor(indices)
    if not indices.dtype.is_integer:
        raise TypeError(f"expected integer indices, received dtype {indices.dtype.name}")
    return indices


def _wrap(indices: Tensor, length: Any) -> Tensor:
    """Negative indices counted from the end of an axis of ``length``."""
    if indices.dtype.is_unsigned:
        return indices
    length = R.Cast(x=length, DstT=indices.dtype) if tf.is_tensor(length) else scalar(length, indices.dtype)
    return R.SelectV2(condition=R.Less(x=indices, y=scalar(0, indices.dtype)),
                      t=R.AddV2(x=indices, y=length), e=indices)


def _length(x: Tensor, axis: int) -> Any:
    n = x.shape[axis]
    return n if n is not None else tf.shape(x)[axis]


def _sizes(x: Tensor) -> list[Any]:
    """Every axis length: an int where known, else a scalar tensor (while tracing)."""
    dynamic = None
    sizes: list[Any] = []
    for axis, n in enumerate(x.shape):
        if n is None:
            dynamic = tf.shape(x) if dynamic is None else dynamic
            n = dynamic[axis]
        sizes.append(n)
    return sizes


def _larger(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        return max(a, b)
    return R.Maximum(x=convert(a, INT32), y=convert(b, INT32))


def _stack_sizes(sizes: list[Any]) -> Any:
    if all(isinstance(n, int) for n in sizes):
        return sizes
    return tf.stack([convert(n, INT32) for n in sizes])


def _same_dtype(xs: Sequence[Any]) -> bool:
    """All native tensors of one dtype (the raw op can take them as they are)."""
    if not xs or any(type(x) not in TENSORS for x in xs):
        return False
    dtype = xs[0].dtype
    return all(x.dtype == dtype for x in xs)


def _starts(start_indices: Sequence[Any]) -> Any:
    """Start indices (ints or scalar tensors) as one int32 vector."""
    if all(isinstance(s, (int, np.integer)) for s in start_indices):
        return [int(s) for s in start_indices]
    return tf.stack([convert(s, INT32) for s in start_indices])


class TensorflowShapes:
    """Shape manipulation and indexing of the TensorFlow engine (see
    :class:`polykeras.backends.tensorflow.TensorflowBackend`)."""

    # ------------------------------------------------------------- shapes
    def reshape(self, x: Tensor, shape: Sequence[int]) -> Tensor:
        if type(x) is not EagerTensor:
            x = tensor(x)
        if isinstance(shape, int):
            shape = (shape,)
        return R.Reshape(tensor=x, shape=ints(x, shape))

    def transpose(self, x: Tensor, axes: Sequence[int] | None = None) -> Tensor:
        if type(x) is not EagerTensor:
            x = tensor(x)
        if axes is None:
            axes = range(x.shape.rank - 1, -1, -1)
        return R.Transpose(x=x, perm=ints(x, axes))

    def expand_dims(self, x: Tensor, axis: int) -> Tensor:
        x = tensor(x)
        if isinstance(axis, int):
            return R.ExpandDims(input=x, axis=axis)
        rank = x.shape.rank + len(axis)
        for a in sorted(a % rank for a in axis):
            x = R.ExpandDims(input=x, axis=a)
        return x

    def squeeze(self, x: Tensor, axis: Axis = None) -> Tensor:
        x = tensor(x)
        if axis is None:
            axes = [i for i, n in enumerate(x.shape) if n == 1]
        elif isinstance(axis, int):
            axes = [axis]
        else:
            axes = list(axis)
        for a in axes:
            if x.shape[a] is not None and x.shape[a] != 1:
                raise ValueError(f"cannot squeeze axis {a} of shape {tuple(x.shape)}: its length is not 1")
        return R.Squeeze(input=x, axis=axes)

    def moveaxis(self, x: Tensor, source: int, destination: int) -> Tensor:
        x = tensor(x)
        order = list(range(x.shape.rank))
        order.insert(destination % len(order), order.pop(source % len(order)))
        return R.Transpose(x=x, perm=ints(x, order))

    def concatenate(self, xs: Sequence[Tensor], axis: int = 0) -> Tensor:
        if len(xs) == 1:  # ConcatV2 takes two or more
            x = tensor(xs[0])
            if not -x.shape.rank <= axis < x.shape.rank:
                raise op_error("concatenate", f"an axis within the rank {x.shape.rank}", f"axis={axis}")
            return R.Identity(input=x)
        if _same_dtype(xs):
            return R.ConcatV2(values=xs, axis=axis)
        return R.ConcatV2(values=promote_all(xs), axis=axis)

    def stack(self, xs: Sequence[Tensor], axis: int = 0) -> Tensor:
        if _same_dtype(xs):
            return R.Pack(values=xs, axis=axis)
        return R.Pack(values=promote_all(xs), axis=axis)

    def unstack(self, x: Tensor, axis: int = 0) -> list[Tensor]:
        return tf.unstack(tensor(x), axis=axis)

    def split(self, x: Tensor, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Tensor]:
        x = tensor(x)
        length = x.shape[axis]
        if isinstance(indices_or_sections, (int, np.integer)):
            sections = int(indices_or_sections)
            if length % sections:
                raise op_error("split", f"a section count dividing the axis length {length}", str(sections))
            return tf.split(x, sections, axis=axis)
        cuts = [min(max(int(i) if i >= 0 else int(i) + length, 0), length) for i in indices_or_sections]
        bounds = [0, *cuts, length]
        sizes = [max(end - begin, 0) for begin, end in zip(bounds, bounds[1:])]
        starts = bounds[:-1]
        rank = x.shape.rank
        axis %= rank
        out = []
        for start, size in zip(starts, sizes):
            start = min(start, length)
            begin = [0] * rank
            begin[axis] = start
            shape = [-1] * rank
            shape[axis] = size
            out.append(R.Slice(input=x, begin=begin, size=shape))
        return out

    def pad(self, x: Tensor, pad_width: Sequence[tuple[int, int]], mode: str = "constant",
            constant_values: Any = 0) -> Tensor:
        x = tensor(x)
        pairs = [[int(v) for v in pair] for pair in pad_width]
        if len(pairs) != x.shape.rank:
            raise op_error("pad", f"one (before, after) pair per axis ({x.shape.rank})", f"{len(pairs)} pairs")
        if mode == "constant":
            return tf.pad(x, pairs, constant_values=convert(constant_values, x.dtype))
        if mode not in ("reflect", "symmetric"):
            raise op_error("pad", "mode constant, reflect or symmetric", repr(mode))
        return tf.pad(x, pairs, mode=mode.upper())

    def tile(self, x: Tensor, repeats: Sequence[int]) -> Tensor:
        x = tensor(x)
        repeats = [int(repeats)] if isinstance(repeats, (int, np.integer)) else [int(r) for r in repeats]
        rank = x.shape.rank
        if len(repeats) > rank:
            x = R.Reshape(tensor=x, shape=[1] * (len(repeats) - rank) + list(x.shape))
        repeats = [1] * (rank - len(repeats)) + repeats
        return R.Tile(input=x, multiples=ints(x, repeats))

    def repeat(self, x: Tensor, repeats: int, axis: int | None = None) -> Tensor:
        x = tensor(x)
        if axis is None:
            x, axis = R.Reshape(tensor=x, shape=[-1]), 0
        return tf.repeat(x, repeats, axis=axis)

    def broadcast_to(self, x: Tensor, shape: Sequence[int]) -> Tensor:
        x = tensor(x)
        return R.BroadcastTo(input=x, shape=ints(x, shape))

    def flip(self, x: Tensor, axis: Axis = None) -> Tensor:
        x = tensor(x)
        axis = all_axes(x) if axis is None else ints(x, [axis] if isinstance(axis, int) else axis)
        return R.ReverseV2(tensor=x, axis=axis)

    # ----------------------------------------------------------- indexing
    def take(self, x: Tensor, indices: Tensor, axis: int | None = None) -> Tensor:
        if type(x) is EagerTensor and type(indices) is EagerTensor and axis is not None:
            try:  # TF's CPU gather refuses negative indices: wrap them only then
                return R.GatherV2(params=x, indices=indices, axis=axis, batch_dims=0)
            except tf.errors.InvalidArgumentError:
                pass
        x, indices = tensor(x), _index(indices)
        if axis is None:
            x, axis = R.Reshape(tensor=x, shape=ints(x, (-1,))), 0
        indices = _wrap(indices, _length(x, axis))
        return R.GatherV2(params=x, indices=indices, axis=axis, batch_dims=0)

    def take_along_axis(self, x: Tensor, indices: Tensor, axis: int) -> Tensor:
        x, indices = tensor(x), _index(indices)
        if axis is None:
            x, axis = R.Reshape(tensor=x, shape=[-1]), 0
            indices = R.Reshape(tensor=indices, shape=[-1])
        rank = x.shape.rank
        if indices.shape.rank != rank:
            raise op_error("take_along_axis", f"indices of the same rank as x ({rank})",
                           f"indices of shape {tuple(indices.shape)}")
        axis %= rank
        indices = _wrap(indices, _length(x, axis))
        # Broadcast every axis but ``axis``, then gather along it as the last axis.
        x_shape, i_shape = _sizes(x), _sizes(indices)
        x_target = [_larger(a, b) if k != axis else a for k, (a, b) in enumerate(zip(x_shape, i_shape))]
        i_target = [_larger(a, b) if k != axis else b for k, (a, b) in enumerate(zip(x_shape, i_shape))]
        x = R.BroadcastTo(input=x, shape=_stack_sizes(x_target))
        indices = R.BroadcastTo(input=indices, shape=_stack_sizes(i_target))
        perm = [k for k in range(rank) if k != axis] + [axis]
        inverse = list(np.argsort(perm))
        out = tf.gather(R.Transpose(x=x, perm=perm), R.Transpose(x=indices, perm=perm),
                        axis=rank - 1, batch_dims=rank - 1)
        return R.Transpose(x=out, perm=inverse)

    def scatter(self, indices: Tensor, values: Tensor, shape: Sequence[int]) -> Tensor:
        indices, values = _index(indices), tensor(values)
        return R.ScatterNd(indices=indices, updates=values, shape=[int(d) for d in shape])

    def scatter_update(self, x: Tensor, indices: Tensor, updates: Tensor) -> Tensor:
        x, indices = tensor(x), _index(indices)
        return R.TensorScatterUpdate(tensor=x, indices=indices, updates=convert(updates, x.dtype))

    def slice(self, x: Tensor, start_indices: Sequence[Any], shape: Sequence[int]) -> Tensor:
        x = tensor(x)
        _check_block("slice", x, start_indices, shape)
        return R.Slice(input=x, begin=_starts(start_indices), size=[int(d) for d in shape])

    def slice_update(self, x: Tensor, start_indices: Sequence[Any], updates: Tensor) -> Tensor:
        x = tensor(x)
        updates = convert(updates, x.dtype)
        _check_block("slice_update", x, start_indices, tuple(updates.shape))
        begin = _starts(start_indices)
        end = R.AddV2(x=convert(begin, INT32), y=tf.constant(list(updates.shape), INT32))
        return R.TensorStridedSliceUpdate(input=x, begin=begin, end=end, strides=[1] * x.shape.rank,
                                          value=updates)


def _check_block(op: str, x: Tensor, start_indices: Sequence[Any], shape: Sequence[int]) -> None:
    """Refuse a block that is not inside ``x`` (when the starts are known)."""
    rank = x.shape.rank
    if len(start_indices) != rank or len(shape) != rank:
        raise op_error(op, f"{rank} start indices and block sizes (one per axis)",
                       f"{len(start_indices)} start indices and block shape {tuple(shape)}")
    known = [int(s) if isinstance(s, (int, np.integer)) else None for s in start_indices]
    for start, size, length in zip(known, shape, x.shape):
        if size < 0 or (start is not None and length is not None and not 0 <= start <= length - size):
            raise op_error(op, f"a block inside the tensor of shape {tuple(x.shape)}",
                           f"start indices {tuple(start_indices)} and block shape {tuple(shape)}")
