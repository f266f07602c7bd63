"""Array composites: reshaping and stacking (``ravel``, ``swapaxes``,
``hstack``...), diagonals and triangles, rolls and rotations, products
(``outer``, ``inner``, ``kron``, ``cross``, ``vander``) and construction
(``linspace``, ``tri``, the window functions). Shapes are static: every size
is known when the composite runs.

Creation from Python numbers alone (``tri``, ``linspace`` of two numbers, the
windows) is computed on the host in float64 and handed to the engine, as the
initializers are, so every engine gets the same bits.

Example:
    >>> engine.tril(engine.ones((3, 3)), k=-1)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from polykeras.backends.dtypes import floatx, result_type

if TYPE_CHECKING:  # the Backend primitives these composites are written with
    from polykeras.backends.host import EngineHost as _Host
else:
    _Host = object


Tensor = Any
_NUMBERS = (bool, int, float, np.number)


def _axis(axis: int, ndim: int, op: str) -> int:
    if not -ndim <= axis < max(ndim, 1):
        raise ValueError(f"{op}: axis {axis} is out of bounds for a tensor of rank {ndim}")
    return axis % max(ndim, 1)


class ArrayComposites(_Host):
    """Array ops of ``keras.ops.numpy`` composed from the primitives."""

    # ------------------------------------------------------------ helpers
    def _nf_common(self, xs: Sequence[Any]) -> list[Tensor]:
        """Tensors of one promoted dtype (``result_type`` of their dtypes)."""
        xs = [self._nf_tensor(x) for x in xs]
        dtype = result_type(*[self.dtype(x) for x in xs])
        return [x if self.dtype(x) == dtype else self.cast(x, dtype) for x in xs]

    def _nf_at_least(self, x: Tensor, rank: int) -> Tensor:
        shape = tuple(self.shape(x))
        if len(shape) >= rank:
            return x
        if rank == 3 and len(shape) == 1:
            return self.reshape(x, (1, shape[0], 1))
        if rank == 3 and len(shape) == 2:
            return self.reshape(x, (*shape, 1))
        return self.reshape(x, (1,) * (rank - len(shape)) + shape)

    # ------------------------------------------------------------- shapes
    def ravel(self, x: Tensor) -> Tensor:
        return self.reshape(x, (-1,))

    def ndim(self, x: Tensor) -> int:
        return len(self.shape(self._nf_tensor(x)))

    def size(self, x: Tensor) -> int:
        return int(math.prod(self.shape(self._nf_tensor(x))))

    def swapaxes(self, x: Tensor, axis1: int, axis2: int) -> Tensor:
        x = self._nf_tensor(x)
        ndim = len(self.shape(x))
        perm = list(range(ndim))
        a, b = _axis(axis1, ndim, "swapaxes"), _axis(axis2, ndim, "swapaxes")
        perm[a], perm[b] = perm[b], perm[a]
        return self.transpose(x, perm)

    def fliplr(self, x: Tensor) -> Tensor:
        return self.flip(x, axis=1)

    def flipud(self, x: Tensor) -> Tensor:
        return self.flip(x, axis=0)

    def append(self, x1: Tensor, x2: Tensor, axis: int | None = None) -> Tensor:
        x1, x2 = self._nf_common([x1, x2])
        if axis is None:
            return self.concatenate([self.ravel(x1), self.ravel(x2)], axis=0)
        return self.concatenate([x1, x2], axis=axis)

    def hstack(self, xs: Sequence[Tensor]) -> Tensor:
        xs = [self._nf_at_least(x, 1) for x in self._nf_common(xs)]
        return self.concatenate(xs, axis=0 if len(self.shape(xs[0])) == 1 else 1)

    def vstack(self, xs: Sequence[Tensor]) -> Tensor:
        return self.concatenate([self._nf_at_least(x, 2) for x in self._nf_common(xs)], axis=0)

    def dstack(self, xs: Sequence[Tensor]) -> Tensor:
        return self.concatenate([self._nf_at_least(x, 3) for x in self._nf_common(xs)], axis=2)

    def array_split(self, x: Tensor, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
        x = self._nf_tensor(x)
        if isinstance(indices_or_sections, int):
            sections = indices_or_sections
            if sections <= 0:
                raise ValueError(f"array_split: expected a positive number of sections, received {sections}")
            n = self.shape(x)[axis]
            sizes = [n // sections + 1] * (n % sections) + [n // sections] * (sections - n % sections)
            indices_or_sections = list(np.cumsum(sizes)[:-1].tolist())
        return self.split(x, list(indices_or_sections), axis=axis)

    def hsplit(self, x: Tensor, indices_or_sections: Any) -> list[Tensor]:
        x = self._nf_tensor(x)
        return self.split(x, indices_or_sections, axis=0 if len(self.shape(x)) == 1 else 1)

    def vsplit(self, x: Tensor, indices_or_sections: Any) -> list[Tensor]:
        return self.split(x, indices_or_sections, axis=0)

    def dsplit(self, x: Tensor, indices_or_sections: Any) -> list[Tensor]:
        return self.split(x, indices_or_sections, axis=2)

    # ------------------------------------------------------- moves and diffs
    def roll(self, x: Tensor, shift: int | Sequence[int], axis: int | Sequence[int] | None = None) -> Tensor:
        x = self._nf_tensor(x)
        if axis is None:
            return self.reshape(self.roll(self.ravel(x), shift, axis=0), self.shape(x))
        shifts = [shift] * len(axis) if isinstance(axis, (list, tuple)) and isinstance(shift, int) else shift
        axes = list(axis) if isinstance(axis, Sequence) else [axis]
        shifts = list(shifts) if isinstance(shifts, Sequence) else [shifts]
        shape = self.shape(x)
        for s, a in zip(shifts, axes):
            a = _axis(a, len(shape), "roll")
            n = shape[a]
            s = int(s) % n if n else 0
            if s:
                head = [slice(None)] * a
                x = self.concatenate([x[(*head, slice(n - s, None))], x[(*head, slice(0, n - s))]], axis=a)
        return x

    def rot90(self, array: Tensor, k: int = 1, axes: tuple[int, int] = (0, 1)) -> Tensor:
        x = self._nf_tensor(array)
        ndim = len(self.shape(x))
        a0, a1 = _axis(axes[0], ndim, "rot90"), _axis(axes[1], ndim, "rot90")
        if a0 == a1:
            raise ValueError(f"rot90: expected two different axes, received {tuple(axes)}")
        k %= 4
        if k == 0:
            return x
        if k == 2:
            return self.flip(self.flip(x, axis=a0), axis=a1)
        if k == 1:
            return self.swapaxes(self.flip(x, axis=a1), a0, a1)
        return self.flip(self.swapaxes(x, a0, a1), axis=a1)

    def diff(self, a: Tensor, n: int = 1, axis: int = -1) -> Tensor:
        x = self._nf_tensor(a)
        ndim = len(self.shape(x))
        axis = _axis(axis, ndim, "diff")
        head = [slice(None)] * axis
        for _ in range(n):
            x = self.subtract(x[(*head, slice(1, None))], x[(*head, slice(None, -1))])
        return x

    # --------------------------------------------------- diagonals, triangles
    def diagonal(self, x: Tensor, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
        x = self._nf_tensor(x)
        ndim = len(self.shape(x))
        a1, a2 = _axis(axis1, ndim, "diagonal"), _axis(axis2, ndim, "diagonal")
        rest = [i for i in range(ndim) if i not in (a1, a2)]
        x = self.transpose(x, [*rest, a1, a2])
        *batch, rows, cols = self.shape(x)
        start_row, start_col = max(0, -offset), max(0, offset)
        length = max(0, min(rows - start_row, cols - start_col))
        flat = (np.arange(length) + start_row) * cols + np.arange(length) + start_col
        return self.take(self.reshape(x, (*batch, rows * cols)), self.convert_to_tensor(flat.astype(np.int32)), axis=-1)

    def trace(self, x: Tensor, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
        return self.sum(self.diagonal(x, offset, axis1, axis2), axis=-1)

    def diag(self, x: Tensor, k: int = 0) -> Tensor:
        x = self._nf_tensor(x)
        shape = self.shape(x)
        if len(shape) == 2:
            return self.diagonal(x, k)
        if len(shape) != 1:
            raise ValueError(f"diag: expected a 1-D or 2-D tensor, received shape {tuple(shape)}")
        n = shape[0]
        on = self.convert_to_tensor(np.eye(n, dtype=bool))
        square = self.where(on, self.reshape(x, (n, 1)), self.zeros((), self.dtype(x)))
        if k == 0:
            return square
        pad = [(0, k), (k, 0)] if k > 0 else [(-k, 0), (0, -k)]
        return self.pad(square, pad)

    def diagflat(self, x: Tensor, k: int = 0) -> Tensor:
        return self.diag(self.ravel(x), k)

    def tri(self, N: int, M: int | None = None, k: int = 0, dtype: str | None = None) -> Tensor:
        return self.convert_to_tensor(np.tri(N, M, k), dtype or floatx())

    def _nf_triangle(self, x: Tensor, k: int, lower: bool) -> Tensor:
        x = self._nf_tensor(x)
        rows, cols = self.shape(x)[-2:]
        mask = np.tri(rows, cols, k, dtype=bool) if lower else ~np.tri(rows, cols, k - 1, dtype=bool)
        return self.where(self.convert_to_tensor(mask), x, self.zeros((), self.dtype(x)))

    def tril(self, x: Tensor, k: int = 0) -> Tensor:
        return self._nf_triangle(x, k, True)

    def triu(self, x: Tensor, k: int = 0) -> Tensor:
        return self._nf_triangle(x, k, False)

    # -------------------------------------------------------------- products
    def outer(self, x1: Tensor, x2: Tensor) -> Tensor:
        x1, x2 = self._nf_common([x1, x2])
        return self.multiply(self.reshape(x1, (-1, 1)), self.reshape(x2, (1, -1)))

    def inner(self, x1: Tensor, x2: Tensor) -> Tensor:
        x1, x2 = self._nf_common([x1, x2])
        if not self.shape(x1) or not self.shape(x2):
            return self.multiply(x1, x2)
        return self.tensordot(x1, x2, axes=([len(self.shape(x1)) - 1], [len(self.shape(x2)) - 1]))

    def vdot(self, x1: Tensor, x2: Tensor) -> Tensor:
        x1, x2 = self._nf_common([x1, x2])
        return self.sum(self.multiply(self.ravel(x1), self.ravel(x2)))

    def kron(self, x1: Tensor, x2: Tensor) -> Tensor:
        x1, x2 = self._nf_common([x1, x2])
        s1, s2 = tuple(self.shape(x1)), tuple(self.shape(x2))
        ndim = max(len(s1), len(s2))
        s1, s2 = (1,) * (ndim - len(s1)) + s1, (1,) * (ndim - len(s2)) + s2
        a = self.reshape(x1, [d for size in s1 for d in (size, 1)])
        b = self.reshape(x2, [d for size in s2 for d in (1, size)])
        return self.reshape(self.multiply(a, b), [p * q for p, q in zip(s1, s2)])

    def cross(self, x1: Tensor, x2: Tensor, axisa: int = -1, axisb: int = -1, axisc: int = -1,
              axis: int | None = None) -> Tensor:
        if axis is not None:
            axisa = axisb = axisc = axis
        x1, x2 = self._nf_common([x1, x2])
        a, b = self.moveaxis(x1, axisa, -1), self.moveaxis(x2, axisb, -1)
        na, nb = self.shape(a)[-1], self.shape(b)[-1]
        if na not in (2, 3) or nb not in (2, 3):
            raise ValueError(f"cross: expected vectors of length 2 or 3, received lengths {na} and {nb}")
        if na == nb == 2:
            return self.subtract(self.multiply(a[..., 0], b[..., 1]), self.multiply(a[..., 1], b[..., 0]))
        a0, a1, a2 = a[..., 0], a[..., 1], (a[..., 2] if na == 3 else None)
        b0, b1, b2 = b[..., 0], b[..., 1], (b[..., 2] if nb == 3 else None)

        def prod(p: Any, q: Any) -> Any:
            return None if p is None or q is None else self.multiply(p, q)

        def minus(p: Any, q: Any) -> Any:
            if p is None:
                return self.negative(q) if q is not None else None
            return p if q is None else self.subtract(p, q)

        parts = [minus(prod(a1, b2), prod(a2, b1)), minus(prod(a2, b0), prod(a0, b2)),
                 minus(prod(a0, b1), prod(a1, b0))]
        full = self.shape(self.add(a0, b0))
        parts = [self.broadcast_to(p, full) if p is not None else self.zeros(full, self.dtype(a0)) for p in parts]
        return self.moveaxis(self.stack(parts, axis=-1), -1, axisc)

    def vander(self, x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
        x = self._nf_tensor(x)
        if len(self.shape(x)) != 1:
            raise ValueError(f"vander: expected a 1-D tensor, received shape {tuple(self.shape(x))}")
        n = self.shape(x)[0] if N is None else N
        powers = np.arange(n) if increasing else np.arange(n)[::-1].copy()
        return self.power(self.reshape(x, (-1, 1)), self.convert_to_tensor(powers.reshape(1, -1), self.dtype(x)))

    # ---------------------------------------------------------- selection
    def select(self, condlist: Sequence[Tensor], choicelist: Sequence[Tensor], default: Any = 0) -> Tensor:
        if len(condlist) != len(choicelist):
            raise ValueError(f"select: expected as many conditions as choices, received {len(condlist)} and "
                             f"{len(choicelist)}")
        choices = self._nf_common(list(choicelist))
        out = self.cast(self._nf_tensor(default), self.dtype(choices[0]))
        for condition, choice in reversed(list(zip(condlist, choices))):
            out = self.where(condition, choice, out)
        return out

    def unravel_index(self, indices: Tensor, shape: Sequence[int]) -> tuple[Tensor, ...]:
        indices = self._nf_tensor(indices)
        out = []
        for size in reversed(tuple(shape)):
            out.append(self.mod(indices, size))
            indices = self.floor_divide(indices, size)
        return tuple(reversed(out))

    def meshgrid(self, *x: Tensor, indexing: str = "xy") -> list[Tensor]:
        if indexing not in ("xy", "ij"):
            raise ValueError(f"meshgrid: expected indexing 'xy' or 'ij', received {indexing!r}")
        xs = [self.ravel(v) for v in x]
        sizes = [self.shape(v)[0] for v in xs]
        order = list(range(len(xs)))
        if indexing == "xy" and len(xs) > 1:
            order[0], order[1] = 1, 0
        full = [sizes[order.index(i)] for i in range(len(xs))]
        out = []
        for i, v in enumerate(xs):
            shape = [1] * len(xs)
            shape[order[i]] = sizes[i]
            out.append(self.broadcast_to(self.reshape(v, shape), full))
        return out

    # ----------------------------------------------------------- creation
    def array(self, x: Any, dtype: str | None = None) -> Tensor:
        return self.convert_to_tensor(x, dtype)

    def identity(self, n: int, dtype: str | None = None) -> Tensor:
        return self.eye(n, dtype=dtype or floatx())

    def full_like(self, x: Tensor, fill_value: Any, dtype: str | None = None) -> Tensor:
        x = self._nf_tensor(x)
        return self.full(self.shape(x), fill_value, dtype or self.dtype(x))

    def empty(self, shape: Sequence[int], dtype: str | None = None) -> Tensor:
        return self.zeros(tuple(shape) if isinstance(shape, Sequence) else (shape,), dtype or floatx())

    def empty_like(self, x: Tensor, dtype: str | None = None) -> Tensor:
        return self.zeros_like(x, dtype)

    def linspace(self, start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False,
                 dtype: str | None = None, axis: int = 0) -> Any:
        dtype = dtype or floatx()
        if isinstance(start, _NUMBERS) and isinstance(stop, _NUMBERS):
            values, step = np.linspace(float(start), float(stop), num, endpoint=endpoint, retstep=True)
            out = self.convert_to_tensor(values, dtype)
            return (out, self.convert_to_tensor(step, dtype)) if retstep else out
        start, stop = self._nf_float(start), self._nf_float(stop)
        work = result_type(self.dtype(start), self.dtype(stop))
        div = (num - 1) if endpoint else num
        step = self.divide(self.subtract(stop, start), float(max(div, 1)))
        grid = self.reshape(self.arange(num, dtype=work), (num, *([1] * len(self.shape(self.add(start, stop))))))
        values = self.add(start, self.multiply(grid, step))
        if endpoint and num > 1:
            last = self.expand_dims(self.broadcast_to(stop, self.shape(values)[1:]), 0)
            values = self.concatenate([values[:-1], self.cast(last, self.dtype(values))], axis=0)
        out = self.cast(self.moveaxis(values, 0, axis), dtype)
        return (out, self.cast(step, dtype)) if retstep else out

    def logspace(self, start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: float = 10,
                 dtype: str | None = None, axis: int = 0) -> Tensor:
        dtype = dtype or floatx()
        if isinstance(start, _NUMBERS) and isinstance(stop, _NUMBERS):
            return self.convert_to_tensor(np.logspace(float(start), float(stop), num, endpoint=endpoint, base=base),
                                          dtype)
        exponents = self.linspace(start, stop, num, endpoint, dtype=result_type(dtype, "float32"), axis=axis)
        return self.cast(self.power(self.full((), float(base), self.dtype(exponents)), exponents), dtype)

    def geomspace(self, start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: str | None = None,
                  axis: int = 0) -> Tensor:
        dtype = dtype or floatx()
        if isinstance(start, _NUMBERS) and isinstance(stop, _NUMBERS):
            return self.convert_to_tensor(np.geomspace(float(start), float(stop), num, endpoint=endpoint), dtype)
        start, stop = self._nf_float(start), self._nf_float(stop)
        logs = self.linspace(self.log(self.abs(start)), self.log(self.abs(stop)), num, endpoint,
                             dtype=self.dtype(self.add(start, stop)))
        return self.cast(self.moveaxis(self.multiply(self.sign(start), self.exp(logs)), 0, axis), dtype)

    # ------------------------------------------------------------ windows
    def _nf_window(self, fn: Any, x: Any, *args: Any) -> Tensor:
        length = int(np.asarray(self.to_numpy(x) if self.is_tensor(x) else x))
        return self.convert_to_tensor(fn(length, *args), floatx())

    def bartlett(self, x: int) -> Tensor:
        return self._nf_window(np.bartlett, x)

    def blackman(self, x: int) -> Tensor:
        return self._nf_window(np.blackman, x)

    def hamming(self, x: int) -> Tensor:
        return self._nf_window(np.hamming, x)

    def hanning(self, x: int) -> Tensor:
        return self._nf_window(np.hanning, x)

    def kaiser(self, x: int, beta: float) -> Tensor:
        return self._nf_window(np.kaiser, x, float(beta))

    def slogdet(self, x: Tensor) -> tuple[Tensor, Tensor]:
        determinant = self.det(self._nf_float(x))
        return self.sign(determinant), self.log(self.abs(determinant))
