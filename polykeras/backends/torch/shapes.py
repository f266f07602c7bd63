"""Shape manipulation and indexing for the PyTorch engine (NumPy semantics).

Where torch is laxer than NumPy the NumPy rule is enforced: ``squeeze`` of an
axis longer than 1 and ``split`` into unequal sections raise, negative pads are
refused; negative indices count from the end in ``take``/``take_along_axis``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from polykeras.backends.torch.core import T, axes, shape_tuple, tensors, to_int, to_tensor


def _tensor(x: Any) -> T:
    return x if type(x) is T else to_tensor(x)


def _index(indices: Any) -> T:
    """Integer indices as an int64 tensor (the dtype torch's gathers want)."""
    indices = _tensor(indices)
    if indices.dtype.is_floating_point or indices.dtype is torch.bool:
        raise TypeError(f"expected integer indices, received dtype {str(indices.dtype).removeprefix('torch.')}")
    return indices.long()


def _wrap(indices: T, size: int) -> T:
    """Negative indices counted from the end (NumPy)."""
    return torch.where(indices < 0, indices + size, indices)


def _pad_widths(pad_width: Any, ndim: int) -> list[tuple[int, int]]:
    widths = np.asarray(pad_width.tolist() if isinstance(pad_width, T) else pad_width, dtype=np.int64)
    widths = np.broadcast_to(widths, (ndim, 2))
    if (widths < 0).any():
        raise ValueError(f"expected non-negative pad widths, received {widths.tolist()}")
    return [(int(a), int(b)) for a, b in widths]


class ShapesMixin:
    """Shapes and indexing of :class:`TorchBackend`.

    Example: ``B.get("torch").take(table, [0, -1], axis=0)``
    """

    def reshape(self, x: Any, shape: Sequence[int]) -> T:
        return torch.reshape(_tensor(x), shape_tuple(shape))

    def transpose(self, x: Any, axes: Sequence[int] | None = None) -> T:
        x = _tensor(x)
        if axes is None:
            return x.permute(tuple(range(x.ndim - 1, -1, -1)))
        return x.permute(tuple(to_int(a) for a in axes))

    def expand_dims(self, x: Any, axis: Any) -> T:
        x = _tensor(x)
        if isinstance(axis, int):
            return torch.unsqueeze(x, axis)
        for a in sorted(_norm_new_axes(axis, x.ndim + len(tuple(axis)))):
            x = torch.unsqueeze(x, a)
        return x

    def squeeze(self, x: Any, axis: Any = None) -> T:
        x = _tensor(x)
        if axis is None:
            return torch.squeeze(x)
        dims = axes(axis, x.ndim)
        for a in dims:
            if x.shape[a] != 1:
                raise ValueError(f"cannot squeeze axis {a} of shape {tuple(x.shape)}: its length is not 1")
        return torch.squeeze(x, dims) if dims else x

    def concatenate(self, xs: Sequence[Any], axis: int = 0) -> T:
        return torch.cat(tensors(xs), dim=to_int(axis))

    def stack(self, xs: Sequence[Any], axis: int = 0) -> T:
        return torch.stack(tensors(xs), dim=to_int(axis))

    def unstack(self, x: Any, axis: int = 0) -> list[T]:
        return list(torch.unbind(_tensor(x), to_int(axis)))  # views, one op

    def split(self, x: Any, indices_or_sections: Any, axis: int = 0) -> list[T]:
        x = _tensor(x)
        axis = to_int(axis)
        if isinstance(indices_or_sections, (int, np.integer)):
            sections = int(indices_or_sections)
            length = x.shape[axis]
            if sections <= 0 or length % sections:
                raise ValueError(f"expected a section count dividing the axis length {length}, received {sections}")
            return list(torch.tensor_split(x, sections, dim=axis))
        return list(torch.tensor_split(x, [to_int(i) for i in indices_or_sections], dim=axis))

    def pad(self, x: Any, pad_width: Any, mode: str = "constant", constant_values: Any = 0) -> T:
        x = _tensor(x)
        widths = _pad_widths(pad_width, x.ndim)
        if mode == "constant":
            flat = [w for pair in reversed(widths) for w in pair]
            if x.dtype is torch.bool:
                return F.pad(x.to(torch.uint8), flat, value=int(bool(constant_values))).to(torch.bool)
            value = constant_values.item() if isinstance(constant_values, T) else constant_values
            return F.pad(x, flat, value=value)
        if mode not in ("reflect", "symmetric"):
            raise ValueError(f"expected mode 'constant', 'reflect' or 'symmetric', received {mode!r}")
        # Reflection as a gather: NumPy's own padding of the index range gives
        # the source index of every output cell, for any pad length.
        for axis, (before, after) in enumerate(widths):
            if before or after:
                source = np.pad(np.arange(x.shape[axis]), (before, after),
                                mode="reflect" if mode == "reflect" else "symmetric")
                x = torch.index_select(x, axis, torch.from_numpy(source).to(x.device))
        return x

    def tile(self, x: Any, repeats: Sequence[int]) -> T:
        return torch.tile(_tensor(x), shape_tuple(repeats))

    def repeat(self, x: Any, repeats: Any, axis: int | None = None) -> T:
        x = _tensor(x)
        if not isinstance(repeats, (int, np.integer)):
            repeats = _index(repeats)
        return torch.repeat_interleave(x, repeats, dim=axis)

    def broadcast_to(self, x: Any, shape: Sequence[int]) -> T:
        return torch.broadcast_to(_tensor(x), shape_tuple(shape))

    def flip(self, x: Any, axis: Any = None) -> T:
        x = _tensor(x)
        return torch.flip(x, axes(axis, x.ndim))

    def moveaxis(self, x: Any, source: Any, destination: Any) -> T:
        return torch.movedim(_tensor(x), source, destination)

    # ----------------------------------------------------------------- indexing
    def take(self, x: Any, indices: Any, axis: int | None = None) -> T:
        x = _tensor(x)
        indices = _index(indices)
        if axis is None:
            x, axis = x.reshape(-1), 0
        axis = axes(axis, x.ndim)[0]
        # Advanced indexing counts negative indices from the end, as NumPy.
        return x[(slice(None),) * axis + (indices,)]

    def take_along_axis(self, x: Any, indices: Any, axis: int) -> T:
        x = _tensor(x)
        indices = _index(indices)
        if axis is None:
            x, axis = x.reshape(-1), 0
        axis = axes(axis, x.ndim)[0]
        return torch.take_along_dim(x, _wrap(indices, x.shape[axis]), dim=axis)

    def scatter(self, indices: Any, values: Any, shape: Sequence[int]) -> T:
        indices, values = _index(indices), _tensor(values)
        out = torch.zeros(shape_tuple(shape), dtype=values.dtype, device=values.device)
        return out.index_put(tuple(indices.unbind(-1)), values, accumulate=True)

    def scatter_update(self, x: Any, indices: Any, updates: Any) -> T:
        x, indices = _tensor(x), _index(indices)
        updates = _tensor(updates).to(x.dtype)
        return x.index_put(tuple(indices.unbind(-1)), updates)

    def slice(self, x: Any, start_indices: Sequence[Any], shape: Sequence[int]) -> T:
        x = _tensor(x)
        return x[_block(x.shape, start_indices, shape_tuple(shape))]

    def slice_update(self, x: Any, start_indices: Sequence[Any], updates: Any) -> T:
        x = _tensor(x)
        updates = _tensor(updates).to(x.dtype)
        out = x.clone()
        out[_block(x.shape, start_indices, tuple(updates.shape))] = updates
        return out


def _norm_new_axes(axis: Sequence[int], ndim: int) -> list[int]:
    return [to_int(a) + ndim if to_int(a) < 0 else to_int(a) for a in axis]


def _block(shape: torch.Size, start_indices: Sequence[Any], size: tuple[int, ...]) -> tuple[slice, ...]:
    """The slices of the block of ``size`` at ``start_indices``."""
    start = [to_int(s) for s in (start_indices.tolist() if isinstance(start_indices, T) else start_indices)]
    if len(start) != len(shape) or len(size) != len(shape):
        raise ValueError(
            f"expected one start index and one block length per axis of a tensor of shape {tuple(shape)}, "
            f"received start {start} and block shape {size}"
        )
    for begin, length, extent in zip(start, size, shape):
        if begin < 0 or length < 0 or begin + length > extent:
            raise ValueError(
                f"expected a block inside shape {tuple(shape)}, received start {start} and block shape {size}"
            )
    return tuple(slice(begin, begin + length) for begin, length in zip(start, size))
