"""``keras.ops.numpy``'s counting and selection ops (``bincount``,
``histogram``, ``unique``, ``nonzero``, ``argpartition``) and
``keras.ops.math.in_top_k``. Each dispatches to the engine method of its name
(a portable composite in ``backends/numpy_family/counting.py``) and has a
shape rule for symbolic tensors, with ``None`` where the size depends on the
values (``nonzero``, ``bincount``, ``unique`` without ``size``).

Example:
    >>> from polykeras import ops
    >>> ops.to_numpy(ops.unique(ops.convert_to_tensor([3, 1, 3])))
    array([1, 3], dtype=int32)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras.backends import active
from polykeras.ops._dispatch import OpSpec, check, describe, op
from polykeras.ops.core import _refuse_sparse

Tensor = Any


def _float_of(dtype: str) -> str:
    return dtype if dtype.startswith(("float", "bfloat")) else "float32"


def _bincount_spec(x: Any, weights: Any = None, minlength: int = 0, sparse: bool = False) -> OpSpec:
    shape = tuple(x.shape)
    check(len(shape) in (1, 2), "bincount", "a 1-D (or batched 2-D) tensor of non-negative integers", describe(x))
    return OpSpec((*shape[:-1], None), "int32" if weights is None else str(weights.dtype))


@op("a 1-D (or batched 2-D) tensor of non-negative integers, weights of its shape and minlength >= 0",
    body=True, spec=_bincount_spec)
def bincount(x: Tensor, weights: Tensor | None = None, minlength: int = 0, sparse: bool = False) -> Tensor:
    """Occurrences of each value ``0..max(x)`` (at least ``minlength`` of
    them), or the sums of their ``weights``; per row for a 2-D ``x``. Int32
    counts, or the weights' dtype. ``sparse=True`` is refused by name.

    Example: ``ops.bincount(ops.convert_to_tensor([1, 1, 3]))`` -> ``[0, 2, 0, 1]``
    """
    _refuse_sparse("bincount", sparse=sparse)
    return active().bincount(x, weights=weights, minlength=minlength)


def _histogram_spec(x: Any, bins: int = 10, range: Any = None) -> tuple[OpSpec, OpSpec]:  # noqa: A002
    check(isinstance(bins, int) and not isinstance(bins, bool) and bins > 0, "histogram",
          "a positive int number of bins", repr(bins))
    dtype = str(x.dtype)
    return OpSpec((bins,), dtype), OpSpec((bins + 1,), _float_of(dtype))


@op("a tensor, a positive int number of bins and range=(low, high) with low <= high", spec=_histogram_spec)
def histogram(x: Tensor, bins: int = 10, range: Sequence[float] | None = None) -> tuple[Tensor, Tensor]:  # noqa: A002
    """Counts of the (flattened) entries in ``bins`` equal-width bins over
    ``range`` (``x``'s min and max by default; the last bin includes its high
    edge, entries outside are not counted), in ``x``'s dtype, and the
    ``bins + 1`` edges. Example: ``counts, edges = ops.histogram(x, bins=4)``"""


def _unique_spec(x: Any, sorted: bool = True, return_index: bool = False,  # noqa: A002
                 return_inverse: bool = False, return_counts: bool = False, axis: int | None = None,
                 size: int | None = None, fill_value: Any = None) -> Any:
    shape = tuple(x.shape)
    values: tuple[int | None, ...] = (size,)
    if axis is not None:
        check(isinstance(axis, int) and -len(shape) <= axis < len(shape), "unique",
              f"an axis within the rank {len(shape)}", repr(axis))
        values = tuple(size if i == axis % len(shape) else d for i, d in enumerate(shape))
    outputs = [OpSpec(values, str(x.dtype))]
    if return_index:
        outputs.append(OpSpec((size,), "int32"))
    if return_inverse:
        outputs.append(OpSpec(shape if axis is None else (shape[axis % len(shape)],), "int32"))
    if return_counts:
        outputs.append(OpSpec((size,), "int32"))
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


@op("a tensor, an axis within its rank and a non-negative int size", spec=_unique_spec)
def unique(x: Tensor, sorted: bool = True, return_index: bool = False,  # noqa: A002 - Keras's name
           return_inverse: bool = False, return_counts: bool = False, axis: int | None = None,
           size: int | None = None, fill_value: Any = None) -> Any:
    """The sorted unique entries of ``x`` (flattened when ``axis`` is None;
    else its sub-tensors along ``axis``), and as asked the index of each one's
    first occurrence, the inverse that rebuilds ``x`` and the counts (int32).
    ``size`` fixes the length: cut, or padded with ``fill_value`` (0), index
    1 and count 0; with ``axis=None`` it also works inside ``jit``. Without
    ``size`` the length depends on the values, which a compiled function does
    not have: it says so. The result is sorted whatever ``sorted`` says, as
    Keras 3's NumPy backend. NaNs are each unique.

    Example: ``values, counts = ops.unique(x, return_counts=True)``
    """


def _nonzero_spec(x: Any) -> tuple[OpSpec, ...]:
    return tuple(OpSpec((None,), "int32") for _ in x.shape)


@op("a tensor", spec=_nonzero_spec)
def nonzero(x: Tensor) -> tuple[Tensor, ...]:
    """The indices of the non-zero entries, one int32 tensor per axis (their
    number depends on the values: not inside a compiled function).

    Example: ``rows, cols = ops.nonzero(mask)``
    """


def _argpartition_spec(x: Any, kth: int, axis: int | None = -1) -> OpSpec:
    shape = tuple(x.shape)
    if axis is None:
        shape = (None if any(d is None for d in shape) else _size(shape),)
    return OpSpec(shape, "int32")


def _size(shape: tuple[int, ...]) -> int:
    total = 1
    for d in shape:
        total *= d
    return total


@op("a tensor, an axis within its rank and kth within the axis length", spec=_argpartition_spec)
def argpartition(x: Tensor, kth: int, axis: int | None = -1) -> Tensor:
    """Indices (int32) that partition ``x`` along ``axis`` (flattened when
    None) around its ``kth`` smallest entry: that one in place ``kth``, no
    larger one before it, no smaller one after. Every engine gives the indices
    of a stable sort, which is such a partition.

    Example: ``ops.argpartition(x, 2)``
    """


def _in_top_k_spec(targets: Any, predictions: Any, k: int) -> OpSpec:
    check(len(tuple(predictions.shape)) == 2, "in_top_k", "predictions of shape (batch, classes)",
          describe(predictions))
    return OpSpec(tuple(predictions.shape)[:1], "bool")


@op("integer targets (batch,), predictions (batch, classes) and an int k", spec=_in_top_k_spec)
def in_top_k(targets: Tensor, predictions: Tensor, k: int) -> Tensor:
    """True where the prediction for the target class is among the ``k``
    largest of its row (ties at the boundary count as in, a non-finite one as
    out). Example: ``ops.in_top_k(labels, logits, 5)``"""


__all__ = [name for name, value in list(globals().items()) if hasattr(value, "op_key")]
