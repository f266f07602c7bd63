"""More of ``keras.ops.math``: ``erfc``, ``logdet``, the segment
reductions (``segment_sum``/``max``/``min``/``prod``) and
``extract_sequences``, composed from the engine's primitives.

Example:
    >>> from polykeras import ops
    >>> ops.to_numpy(ops.segment_sum(ops.convert_to_tensor([1.0, 2.0, 3.0]), ops.convert_to_tensor([0, 0, 1]), 2))
    array([3., 3.], dtype=float32)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from polykeras.backends import active
from polykeras.ops._dispatch import check, describe, op

Tensor = Any

__all__ = ["erfc", "extract_sequences", "logdet", "segment_max", "segment_min", "segment_prod", "segment_sum"]


def _float(e: Any, x: Any) -> Any:
    x = e.convert_to_tensor(x)
    return x if e.dtype(x).startswith(("float", "bfloat")) else e.cast(x, "float32")


@op("a tensor", body=True)
def erfc(x: Tensor) -> Tensor:
    """The complementary error function ``1 - erf(x)``. Example: ``ops.erfc(x)``"""
    e = active()
    return e.subtract(1.0, e.erf(_float(e, x)))


@op("symmetric positive-definite matrices", body=True)
def logdet(x: Tensor) -> Tensor:
    """``log(det(x))`` of symmetric positive-definite matrices, through the
    Cholesky factor (``2 * sum(log(diag(L)))``). Example: ``ops.logdet(a)``"""
    e = active()
    x = _float(e, x)
    shape = e.shape(x)
    check(len(shape) >= 2 and shape[-1] == shape[-2], "logdet", "square matrices", describe(x))
    factor = e.cholesky(x)
    diagonal = e.sum(e.multiply(factor, e.eye(shape[-1], dtype=e.dtype(x))), axis=-1)
    return e.multiply(e.sum(e.log(diagonal), axis=-1), 2.0)


def _segments(name: str, data: Any, segment_ids: Any, num_segments: Any) -> tuple[Any, Any, Any, int]:
    e = active()
    data = e.convert_to_tensor(data)
    ids = e.convert_to_tensor(segment_ids)
    check(len(e.shape(ids)) == 1 and len(e.shape(data)) >= 1 and e.shape(ids)[0] == e.shape(data)[0], name,
          "data (n, ...) and 1-D integer segment_ids of length n",
          f"data {describe(data)}, segment_ids {describe(ids)}")
    if num_segments is None:
        num_segments = int(np.max(e.to_numpy(ids))) + 1 if e.shape(ids)[0] else 0
    check(isinstance(num_segments, (int, np.integer)) and num_segments >= 0, name, "a non-negative int num_segments",
          f"num_segments={num_segments!r}")
    member = e.equal(e.expand_dims(e.cast(ids, "int32"), 0),
                     e.expand_dims(e.arange(int(num_segments), dtype="int32"), 1))  # (segments, n)
    member = e.reshape(member, (*e.shape(member), *([1] * (len(e.shape(data)) - 1))))
    return e, data, member, int(num_segments)


@op("data (n, ...) and segment_ids (n,) in [0, num_segments)", body=True)
def segment_sum(data: Tensor, segment_ids: Tensor, num_segments: int | None = None, sorted: bool = False) -> Tensor:  # noqa: A002
    """Sums of the rows of ``data`` sharing a segment id (0 for an empty
    segment). Example: ``ops.segment_sum(x, ids, num_segments=3)``"""
    e, data, member, _ = _segments("segment_sum", data, segment_ids, num_segments)
    return e.sum(e.where(member, e.expand_dims(data, 0), e.zeros_like(e.expand_dims(data, 0))), axis=1)


@op("data (n, ...) and segment_ids (n,) in [0, num_segments)", body=True)
def segment_prod(data: Tensor, segment_ids: Tensor, num_segments: int | None = None, sorted: bool = False) -> Tensor:  # noqa: A002
    """Products of the rows of ``data`` sharing a segment id (1 for an empty
    segment). Example: ``ops.segment_prod(x, ids, num_segments=3)``"""
    e, data, member, _ = _segments("segment_prod", data, segment_ids, num_segments)
    return e.prod(e.where(member, e.expand_dims(data, 0), e.ones_like(e.expand_dims(data, 0))), axis=1)


def _extreme(name: str, data: Any, segment_ids: Any, num_segments: Any, largest: bool) -> Any:
    e, data, member, _ = _segments(name, data, segment_ids, num_segments)
    dtype = e.dtype(data)
    info = np.finfo(dtype) if dtype.startswith("float") else np.iinfo(dtype)
    fill = e.cast(e.convert_to_tensor(-np.inf if largest and dtype.startswith("float") else
                                      np.inf if dtype.startswith("float") else
                                      info.min if largest else info.max), dtype)
    candidates = e.where(member, e.expand_dims(data, 0), fill)
    return e.max(candidates, axis=1) if largest else e.min(candidates, axis=1)


@op("data (n, ...) and segment_ids (n,) in [0, num_segments)", body=True)
def segment_max(data: Tensor, segment_ids: Tensor, num_segments: int | None = None, sorted: bool = False) -> Tensor:  # noqa: A002
    """Maxima of the rows of ``data`` sharing a segment id (``-inf``, or the
    dtype's minimum, for an empty segment). Example: ``ops.segment_max(x, ids, 3)``"""
    return _extreme("segment_max", data, segment_ids, num_segments, True)


@op("data (n, ...) and segment_ids (n,) in [0, num_segments)", body=True)
def segment_min(data: Tensor, segment_ids: Tensor, num_segments: int | None = None, sorted: bool = False) -> Tensor:  # noqa: A002
    """Minima of the rows of ``data`` sharing a segment id (``inf``, or the
    dtype's maximum, for an empty segment). Example: ``ops.segment_min(x, ids, 3)``"""
    return _extreme("segment_min", data, segment_ids, num_segments, False)


@op("a tensor (..., length) and positive sequence_length and sequence_stride", body=True)
def extract_sequences(x: Tensor, sequence_length: int, sequence_stride: int) -> Tensor:
    """Overlapping frames of the last axis: ``(..., num_frames,
    sequence_length)`` with ``num_frames = 1 + (length - sequence_length) // sequence_stride``.
    Example: ``ops.extract_sequences(signal, 4, 2)``"""
    e = active()
    x = e.convert_to_tensor(x)
    length = e.shape(x)[-1] if e.shape(x) else 0
    check(isinstance(sequence_length, int) and isinstance(sequence_stride, int) and sequence_length >= 1
          and sequence_stride >= 1 and length >= sequence_length, "extract_sequences",
          "positive int sequence_length (at most the last axis) and sequence_stride",
          f"{describe(x)}, sequence_length={sequence_length!r}, sequence_stride={sequence_stride!r}")
    frames = 1 + (length - sequence_length) // sequence_stride
    index = np.arange(frames)[:, None] * sequence_stride + np.arange(sequence_length)[None, :]
    return e.take(x, e.convert_to_tensor(index.astype(np.int32)), axis=len(e.shape(x)) - 1)
