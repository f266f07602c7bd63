"""More of ``keras.ops.numpy``'s array ops: reshaping and stacking,
diagonals and triangles, rolls and rotations, products (``outer``, ``kron``,
``cross``...), selection and construction (``linspace``, ``tri``, the window
functions). Each dispatches to the engine method of its name (a portable
composite in ``backends/numpy_family/arrays.py``).

Example:
    >>> from polykeras import ops
    >>> ops.to_numpy(ops.tril(ops.ones((2, 2))))
    array([[1., 0.],
           [1., 1.]], dtype=float32)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from polykeras.ops._dispatch import op

Tensor = Any


def _static_size(x: Any) -> int | None:
    return None if any(d is None for d in x.shape) else int(math.prod(x.shape))


@op("a tensor")
def ravel(x: Tensor) -> Tensor:
    """Flatten to one axis. Example: ``ops.ravel(x)``"""


@op("a tensor", symbolic=lambda x: len(x.shape))
def ndim(x: Tensor) -> int:
    """The rank, as a Python int. Example: ``ops.ndim(x)`` -> ``2``"""


@op("a tensor", symbolic=_static_size)
def size(x: Tensor) -> int:
    """The number of entries, as a Python int. Example: ``ops.size(x)`` -> ``6``"""


@op("a tensor and two axes within its rank")
def swapaxes(x: Tensor, axis1: int, axis2: int) -> Tensor:
    """Exchange two axes. Example: ``ops.swapaxes(x, 0, -1)``"""


@op("a tensor of rank 2 or more")
def fliplr(x: Tensor) -> Tensor:
    """Reverse axis 1. Example: ``ops.fliplr(x)``"""


@op("a tensor of rank 1 or more")
def flipud(x: Tensor) -> Tensor:
    """Reverse axis 0. Example: ``ops.flipud(x)``"""


@op("two tensors whose shapes agree except along axis (any shapes when axis is None)")
def append(x1: Tensor, x2: Tensor, axis: int | None = None) -> Tensor:
    """``x2`` joined after ``x1`` (both flattened when ``axis`` is None). Example: ``ops.append(x, y, axis=0)``"""


@op("tensors whose shapes agree except along the stacking axis")
def hstack(xs: Sequence[Tensor]) -> Tensor:
    """Join along axis 1 (axis 0 for 1-D tensors). Example: ``ops.hstack([a, b])``"""


@op("tensors whose shapes agree except along the stacking axis")
def vstack(xs: Sequence[Tensor]) -> Tensor:
    """Join along axis 0, 1-D tensors as rows. Example: ``ops.vstack([a, b])``"""


@op("tensors whose shapes agree except along the stacking axis")
def dstack(xs: Sequence[Tensor]) -> Tensor:
    """Join along axis 2 (depth), lower ranks lifted to 3-D. Example: ``ops.dstack([a, b])``"""


@op("a positive section count or increasing split indices")
def array_split(x: Tensor, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Tensor]:
    """Like ``split``, but sections need not divide the axis (the first ones are
    one longer). Example: ``ops.array_split(x, 3)``"""


@op("a section count dividing the axis, or increasing split indices")
def hsplit(x: Tensor, indices_or_sections: int | Sequence[int]) -> list[Tensor]:
    """Split along axis 1 (axis 0 for 1-D). Example: ``ops.hsplit(x, 2)``"""


@op("a section count dividing the axis, or increasing split indices")
def vsplit(x: Tensor, indices_or_sections: int | Sequence[int]) -> list[Tensor]:
    """Split along axis 0. Example: ``ops.vsplit(x, 2)``"""


@op("a section count dividing the axis, or increasing split indices")
def dsplit(x: Tensor, indices_or_sections: int | Sequence[int]) -> list[Tensor]:
    """Split along axis 2. Example: ``ops.dsplit(x, 2)``"""


@op("a tensor, integer shifts and axes within its rank")
def roll(x: Tensor, shift: int | Sequence[int], axis: int | Sequence[int] | None = None) -> Tensor:
    """Shift entries cyclically (over the flattened tensor when ``axis`` is None).

    Example: ``ops.roll(x, 1, axis=0)``"""


@op("a tensor of rank 2 or more and two different axes")
def rot90(array: Tensor, k: int = 1, axes: tuple[int, int] = (0, 1)) -> Tensor:
    """Rotate by ``k`` quarter turns in the plane of ``axes``. Example: ``ops.rot90(image)``"""


@op("a tensor and an axis within its rank")
def diff(a: Tensor, n: int = 1, axis: int = -1) -> Tensor:
    """The ``n``-th forward difference along ``axis``. Example: ``ops.diff(x)``"""


@op("a tensor of rank 2 or more and two different axes")
def diagonal(x: Tensor, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The diagonal of the ``(axis1, axis2)`` planes, as the last axis. Example: ``ops.diagonal(x)``"""


@op("a tensor of rank 2 or more and two different axes")
def trace(x: Tensor, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """Sum of the diagonal. Example: ``ops.trace(matrix)``"""


@op("a 1-D or 2-D tensor")
def diag(x: Tensor, k: int = 0) -> Tensor:
    """A 2-D tensor with ``x`` on its ``k``-th diagonal, or a 2-D tensor's ``k``-th diagonal.

    Example: ``ops.diag(v)``"""


@op("a tensor")
def diagflat(x: Tensor, k: int = 0) -> Tensor:
    """A 2-D tensor with flattened ``x`` on its ``k``-th diagonal. Example: ``ops.diagflat(x)``"""


@op("non-negative matrix sizes")
def tri(N: int, M: int | None = None, k: int = 0, dtype: str | None = None) -> Tensor:
    """Ones at and below the ``k``-th diagonal. Example: ``ops.tri(3)``"""


@op("a tensor of rank 2 or more")
def tril(x: Tensor, k: int = 0) -> Tensor:
    """Zeros above the ``k``-th diagonal of the last two axes. Example: ``ops.tril(x)``"""


@op("a tensor of rank 2 or more")
def triu(x: Tensor, k: int = 0) -> Tensor:
    """Zeros below the ``k``-th diagonal of the last two axes. Example: ``ops.triu(x, 1)``"""


@op("two tensors")
def outer(x1: Tensor, x2: Tensor) -> Tensor:
    """Outer product of the flattened tensors. Example: ``ops.outer(u, v)``"""


@op("two tensors whose last axes have the same size")
def inner(x1: Tensor, x2: Tensor) -> Tensor:
    """Sum over the last axes' products. Example: ``ops.inner(u, v)``"""


@op("two tensors with the same number of entries")
def vdot(x1: Tensor, x2: Tensor) -> Tensor:
    """Dot product of the flattened tensors. Example: ``ops.vdot(a, b)``"""


@op("two tensors")
def kron(x1: Tensor, x2: Tensor) -> Tensor:
    """Kronecker product. Example: ``ops.kron(a, b)``"""


@op("two tensors of 2- or 3-vectors along the given axes, whose other axes broadcast")
def cross(x1: Tensor, x2: Tensor, axisa: int = -1, axisb: int = -1, axisc: int = -1,
          axis: int | None = None) -> Tensor:
    """Cross product of 3-vectors (the z component for 2-vectors). Example: ``ops.cross(u, v)``"""


@op("a 1-D tensor")
def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """Vandermonde matrix: columns are powers of ``x``. Example: ``ops.vander(x, 3)``"""


@op("as many boolean conditions as choices, all broadcasting together")
def select(condlist: Sequence[Tensor], choicelist: Sequence[Tensor], default: Any = 0) -> Tensor:
    """Per entry, the choice of the first true condition, else ``default``.
    Example: ``ops.select([x < 0, x > 1], [-x, x * 2], default=x)``"""


@op("integer flat indices within the shape's size")
def unravel_index(indices: Tensor, shape: Sequence[int]) -> tuple[Tensor, ...]:
    """Flat indices as a tuple of coordinate tensors. Example: ``rows, cols = ops.unravel_index(i, (3, 4))``"""


@op("1-D tensors and indexing 'xy' or 'ij'")
def meshgrid(*x: Tensor, indexing: str = "xy") -> list[Tensor]:
    """Coordinate grids from 1-D coordinates. Example: ``xx, yy = ops.meshgrid(xs, ys)``"""


@op("array-like data and a dtype")
def array(x: Any, dtype: str | None = None) -> Tensor:
    """A tensor from array-like data. Example: ``ops.array([1, 2, 3])``"""


@op("a non-negative size")
def identity(n: int, dtype: str | None = None) -> Tensor:
    """The ``n x n`` identity matrix. Example: ``ops.identity(3)``"""


@op("a tensor and a fill value")
def full_like(x: Tensor, fill_value: Any, dtype: str | None = None) -> Tensor:
    """``fill_value`` in ``x``'s shape (and dtype unless given). Example: ``ops.full_like(x, 0.5)``"""


@op("a shape of non-negative ints")
def empty(shape: Sequence[int], dtype: str | None = None) -> Tensor:
    """A tensor of ``shape`` (zeros: no engine hands out uninitialised memory here). Example: ``ops.empty((2, 3))``"""


@op("a tensor")
def empty_like(x: Tensor, dtype: str | None = None) -> Tensor:
    """A tensor shaped like ``x`` (zeros). Example: ``ops.empty_like(x)``"""


@op("start and stop values and a non-negative count")
def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype: str | None = None, axis: int = 0) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop``. Example: ``ops.linspace(0.0, 1.0, 5)``"""


@op("start and stop exponents and a non-negative count")
def logspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: float = 10,
             dtype: str | None = None, axis: int = 0) -> Tensor:
    """``base ** linspace(start, stop)``. Example: ``ops.logspace(0, 3, 4)``"""


@op("non-zero start and stop values of the same sign and a non-negative count")
def geomspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: str | None = None,
              axis: int = 0) -> Tensor:
    """``num`` values evenly spaced on a log scale. Example: ``ops.geomspace(1.0, 1000.0, 4)``"""


@op("a non-negative window length")
def bartlett(x: int) -> Tensor:
    """The Bartlett (triangular) window. Example: ``ops.bartlett(8)``"""


@op("a non-negative window length")
def blackman(x: int) -> Tensor:
    """The Blackman window. Example: ``ops.blackman(8)``"""


@op("a non-negative window length")
def hamming(x: int) -> Tensor:
    """The Hamming window. Example: ``ops.hamming(8)``"""


@op("a non-negative window length")
def hanning(x: int) -> Tensor:
    """The Hann window. Example: ``ops.hanning(8)``"""


@op("a non-negative window length and a shape parameter")
def kaiser(x: int, beta: float) -> Tensor:
    """The Kaiser window. Example: ``ops.kaiser(8, 5.0)``"""



@op("square matrices (a batch of them along the leading axes)")
def slogdet(x: Tensor) -> tuple[Tensor, Tensor]:
    """Sign and log of the absolute determinant. Example: ``sign, logdet = ops.slogdet(a)``"""


# Every op defined above (tests/ops/test_exports.py checks the list), written out so type checkers see
# what `from polykeras.ops.arrays import *` brings into polykeras.ops.
__all__ = [
    "ravel", "ndim", "size", "swapaxes", "fliplr", "flipud", "append", "hstack", "vstack", "dstack", "array_split",
    "hsplit", "vsplit", "dsplit", "roll", "rot90", "diff", "diagonal", "trace", "diag", "diagflat", "tri", "tril",
    "triu", "outer", "inner", "vdot", "kron", "cross", "vander", "select", "unravel_index", "meshgrid", "array",
    "identity", "full_like", "empty", "empty_like", "linspace", "logspace", "geomspace", "bartlett", "blackman",
    "hamming", "hanning", "kaiser", "slogdet",
]
