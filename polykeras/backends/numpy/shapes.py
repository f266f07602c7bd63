"""NumPy engine, part 3: shapes and indexing, written against ``self.xp``.

The two writes NumPy does in place (``np.add.at`` and item assignment) sit
behind ``_scatter_add``/``_index_set`` so engines with immutable arrays
override just those; ``slice``/``slice_update`` read their start indices as
Python ints here and as traced values in the JAX engine.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from polykeras.backends.base import Axis, Tensor, op_error


if TYPE_CHECKING:  # Backend plus the helpers the NumPy mixins share
    from polykeras.backends.numpy.host import NumpyHost as _Host
else:
    _Host = object


def _axis(axis: Axis | list[int]) -> Axis:
    return tuple(axis) if isinstance(axis, list) else axis


class NumpyShapes(_Host):
    """Shape manipulation and indexing of the NumPy engine (see
    :class:`polykeras.backends.numpy.NumpyBackend`)."""

    # --------------------------------------------- in-place writes (hooks)
    def _scatter_add(self, out: Tensor, index: tuple, values: Tensor) -> Tensor:
        np.add.at(out, index, values)
        return out

    def _index_set(self, x: Tensor, index: tuple, updates: Tensor) -> Tensor:
        out = x.copy()
        out[index] = updates
        return out

    def _indices(self, indices: Tensor, ndim: int, op: str) -> Tensor:
        """Scatter indices ``(..., k)`` checked: integers, ``1 <= k <= ndim``."""
        indices = self._tensor(indices)
        if indices.dtype.kind not in "iu":
            raise op_error(op, "integer indices", f"dtype {indices.dtype}")
        if indices.ndim == 0 or not 0 < indices.shape[-1] <= ndim:
            raise op_error(op, f"indices of shape (n, k) with 1 <= k <= {ndim}", f"shape {tuple(indices.shape)}")
        return indices

    def _index_tuple(self, indices: Tensor, ndim: int, op: str) -> tuple:
        indices = self._indices(indices, ndim, op)
        return tuple(indices[..., i] for i in range(indices.shape[-1]))

    # ------------------------------------------------------------- shapes
    def reshape(self, x: Tensor, shape: Sequence[int]) -> Tensor:
        return self.xp.reshape(self._tensor(x), tuple(shape))

    def transpose(self, x: Tensor, axes: Sequence[int] | None = None) -> Tensor:
        return self.xp.transpose(self._tensor(x), None if axes is None else tuple(axes))

    def expand_dims(self, x: Tensor, axis: int) -> Tensor:
        return self.xp.expand_dims(self._tensor(x), _axis(axis))

    def squeeze(self, x: Tensor, axis: Axis = None) -> Tensor:
        return self.xp.squeeze(self._tensor(x), axis=_axis(axis))

    def moveaxis(self, x: Tensor, source: int, destination: int) -> Tensor:
        return self.xp.moveaxis(self._tensor(x), source, destination)

    def concatenate(self, xs: Sequence[Tensor], axis: int = 0) -> Tensor:
        return self.xp.concatenate(self._promote(*(self._tensor(x) for x in xs)), axis=axis)

    def stack(self, xs: Sequence[Tensor], axis: int = 0) -> Tensor:
        return self.xp.stack(self._promote(*(self._tensor(x) for x in xs)), axis=axis)

    def split(self, x: Tensor, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Tensor]:
        if not isinstance(indices_or_sections, int):
            indices_or_sections = [int(i) for i in indices_or_sections]
        return list(self.xp.split(self._tensor(x), indices_or_sections, axis=axis))

    def pad(self, x: Tensor, pad_width: Sequence[tuple[int, int]], mode: str = "constant",
            constant_values: Any = 0) -> Tensor:
        x = self._tensor(x)
        pairs = [tuple(int(v) for v in pair) for pair in pad_width]
        if len(pairs) != x.ndim:
            raise op_error("pad", f"one (before, after) pair per axis ({x.ndim})", f"{len(pairs)} pairs")
        if mode == "constant":
            return self.xp.pad(x, pairs, mode="constant", constant_values=constant_values)
        if mode not in ("reflect", "symmetric"):
            raise op_error("pad", "mode constant, reflect or symmetric", repr(mode))
        return self.xp.pad(x, pairs, mode=mode)

    def tile(self, x: Tensor, repeats: Sequence[int]) -> Tensor:
        return self.xp.tile(self._tensor(x), tuple(repeats) if not isinstance(repeats, int) else repeats)

    def repeat(self, x: Tensor, repeats: int, axis: int | None = None) -> Tensor:
        return self.xp.repeat(self._tensor(x), repeats, axis=axis)

    def broadcast_to(self, x: Tensor, shape: Sequence[int]) -> Tensor:
        return self.xp.broadcast_to(self._tensor(x), tuple(shape))

    def flip(self, x: Tensor, axis: Axis = None) -> Tensor:
        return self.xp.flip(self._tensor(x), axis=_axis(axis))

    # ----------------------------------------------------------- indexing
    def take(self, x: Tensor, indices: Tensor, axis: int | None = None) -> Tensor:
        return self.xp.take(self._tensor(x), self._tensor(indices), axis=axis)

    def take_along_axis(self, x: Tensor, indices: Tensor, axis: int) -> Tensor:
        return self.xp.take_along_axis(self._tensor(x), self._tensor(indices), axis=axis)

    def scatter(self, indices: Tensor, values: Tensor, shape: Sequence[int]) -> Tensor:
        values = self._tensor(values)
        shape = tuple(int(d) for d in shape)
        index = self._index_tuple(indices, len(shape), "scatter")
        return self._scatter_add(self.xp.zeros(shape, dtype=values.dtype), index, values)

    def scatter_update(self, x: Tensor, indices: Tensor, updates: Tensor) -> Tensor:
        x = self._tensor(x)
        index = self._index_tuple(indices, x.ndim, "scatter_update")
        return self._index_set(x, index, self.cast(updates, self._dtype_name(x.dtype)))

    def _block(self, x: Tensor, start_indices: Sequence[Any], shape: Sequence[int], op: str) -> tuple:
        if len(start_indices) != x.ndim or len(shape) != x.ndim:
            raise op_error(op, f"{x.ndim} start indices and block sizes (one per axis)",
                           f"{len(start_indices)} start indices and block shape {tuple(shape)}")
        block = []
        for start, size, length in zip(start_indices, shape, x.shape):
            start, size = int(start), int(size)
            if not (0 <= start and size >= 0 and start + size <= length):
                raise op_error(op, f"a block inside the tensor of shape {tuple(x.shape)}",
                               f"start indices {tuple(int(s) for s in start_indices)} and block shape {tuple(shape)}")
            block.append(builtins.slice(start, start + size))
        return tuple(block)

    def slice(self, x: Tensor, start_indices: Sequence[Any], shape: Sequence[int]) -> Tensor:
        x = self._tensor(x)
        return x[self._block(x, start_indices, shape, "slice")]

    def slice_update(self, x: Tensor, start_indices: Sequence[Any], updates: Tensor) -> Tensor:
        x = self._tensor(x)
        updates = self.cast(updates, self._dtype_name(x.dtype))
        return self._index_set(x, self._block(x, start_indices, updates.shape, "slice_update"), updates)
