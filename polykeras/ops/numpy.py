"""NumPy-named math: elementwise, reductions, shapes, indexing, sorting.

Each function dispatches to the active engine (see ``_dispatch.op``).
"""

from __future__ import annotations

import builtins as _builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from polykeras.backends import active
from polykeras.ops._dispatch import check, describe, op

_builtin_sum = _builtins.sum

Tensor = Any
Axis = int | tuple[int, ...] | None


@op("two tensors whose shapes broadcast together", broadcast=True)
def add(x1: Tensor, x2: Tensor) -> Tensor:
    """Elementwise sum. Example: ``ops.add(x, 1.0)``"""


@op("two tensors whose shapes broadcast together", broadcast=True)
def subtract(x1: Tensor, x2: Tensor) -> Tensor:
    """Elementwise difference. Example: ``ops.subtract(x, y)``"""


@op("two tensors whose shapes broadcast together", broadcast=True)
def multiply(x1: Tensor, x2: Tensor) -> Tensor:
    """Elementwise product. Example: ``ops.multiply(x, 2.0)``"""


@op("two tensors whose shapes broadcast together", broadcast=True)
def divide(x1: Tensor, x2: Tensor) -> Tensor:
    """True division (integers give floats). Example: ``ops.divide(x, 2.0)``"""


@op("two tensors whose shapes broadcast together", broadcast=True)
def floor_divide(x1: Tensor, x2: Tensor) -> Tensor:
    """Division rounded toward minus infinity. Example: ``ops.floor_divide(x, 2)``"""


@op("two tensors whose shapes broadcast together", broadcast=True)
def mod(x1: Tensor, x2: Tensor) -> Tensor:
    """Remainder with the sign of the divisor, as NumPy. Example: ``ops.mod(x, 3)``"""


@op("two tensors whose shapes broadcast together", broadcast=True)
def power(x1: Tensor, x2: Tensor) -> Tensor:
    """``x1 ** x2`` elementwise. Example: ``ops.power(x, 2.0)``"""


@op("two tensors whose shapes broadcast together", broadcast=True)
def maximum(x1: Tensor, x2: Tensor) -> Tensor:
    """Elementwise maximum. Example: ``ops.maximum(x, 0.0)``"""


@op("two tensors whose shapes broadcast together", broadcast=True)
def minimum(x1: Tensor, x2: Tensor) -> Tensor:
    """Elementwise minimum. Example: ``ops.minimum(x, 1.0)``"""


@op("two tensors whose shapes broadcast together", broadcast=True)
def arctan2(x1: Tensor, x2: Tensor) -> Tensor:
    """Elementwise ``arctan(x1 / x2)`` with the quadrant. Example: ``ops.arctan2(y, x)``"""


@op("two tensors whose shapes broadcast together", broadcast=True)
def equal(x1: Tensor, x2: Tensor) -> Tensor:
    """Elementwise ``==``. Example: ``ops.equal(x, 0)``"""


@op("two tensors whose shapes broadcast together", broadcast=True)
def not_equal(x1: Tensor, x2: Tensor) -> Tensor:
    """Elementwise ``!=``. Example: ``ops.not_equal(x, 0)``"""


@op("two tensors whose shapes broadcast together", broadcast=True)
def less(x1: Tensor, x2: Tensor) -> Tensor:
    """Elementwise ``<``. Example: ``ops.less(x, y)``"""


@op("two tensors whose shapes broadcast together", broadcast=True)
def less_equal(x1: Tensor, x2: Tensor) -> Tensor:
    """Elementwise ``<=``. Example: ``ops.less_equal(x, y)``"""


@op("two tensors whose shapes broadcast together", broadcast=True)
def greater(x1: Tensor, x2: Tensor) -> Tensor:
    """Elementwise ``>``. Example: ``ops.greater(x, y)``"""


@op("two tensors whose shapes broadcast together", broadcast=True)
def greater_equal(x1: Tensor, x2: Tensor) -> Tensor:
    """Elementwise ``>=``. Example: ``ops.greater_equal(x, y)``"""


@op("two tensors whose shapes broadcast together", broadcast=True)
def logical_and(x1: Tensor, x2: Tensor) -> Tensor:
    """Elementwise AND of truth values. Example: ``ops.logical_and(a, b)``"""


@op("two tensors whose shapes broadcast together", broadcast=True)
def logical_or(x1: Tensor, x2: Tensor) -> Tensor:
    """Elementwise OR of truth values. Example: ``ops.logical_or(a, b)``"""


@op("two tensors whose shapes broadcast together", broadcast=True)
def logical_xor(x1: Tensor, x2: Tensor) -> Tensor:
    """Elementwise XOR of truth values. Example: ``ops.logical_xor(a, b)``"""


@op("a tensor")
def negative(x: Tensor) -> Tensor:
    """``-x``. Example: ``ops.negative(x)``"""


@op("a tensor")
def abs(x: Tensor) -> Tensor:
    """Absolute value. Example: ``ops.abs(x)``"""


@op("a tensor")
def sign(x: Tensor) -> Tensor:
    """-1, 0 or 1. Example: ``ops.sign(x)``"""


@op("a tensor")
def exp(x: Tensor) -> Tensor:
    """``e ** x``. Example: ``ops.exp(x)``"""


@op("a tensor")
def log(x: Tensor) -> Tensor:
    """Natural logarithm. Example: ``ops.log(x)``"""


@op("a tensor")
def log1p(x: Tensor) -> Tensor:
    """``log(1 + x)``, accurate near 0. Example: ``ops.log1p(x)``"""


@op("a tensor")
def expm1(x: Tensor) -> Tensor:
    """``exp(x) - 1``, accurate near 0. Example: ``ops.expm1(x)``"""


@op("a tensor")
def sqrt(x: Tensor) -> Tensor:
    """Square root. Example: ``ops.sqrt(x)``"""


@op("a tensor")
def rsqrt(x: Tensor) -> Tensor:
    """``1 / sqrt(x)``. Example: ``ops.rsqrt(x)``"""


@op("a tensor")
def square(x: Tensor) -> Tensor:
    """``x * x``. Example: ``ops.square(x)``"""


@op("a tensor")
def reciprocal(x: Tensor) -> Tensor:
    """``1 / x``. Example: ``ops.reciprocal(x)``"""


@op("a tensor")
def sin(x: Tensor) -> Tensor:
    """Sine. Example: ``ops.sin(x)``"""


@op("a tensor")
def cos(x: Tensor) -> Tensor:
    """Cosine. Example: ``ops.cos(x)``"""


@op("a tensor")
def tan(x: Tensor) -> Tensor:
    """Tangent. Example: ``ops.tan(x)``"""


@op("a tensor")
def arctan(x: Tensor) -> Tensor:
    """Inverse tangent. Example: ``ops.arctan(x)``"""


@op("a tensor")
def sinh(x: Tensor) -> Tensor:
    """Hyperbolic sine. Example: ``ops.sinh(x)``"""


@op("a tensor")
def cosh(x: Tensor) -> Tensor:
    """Hyperbolic cosine. Example: ``ops.cosh(x)``"""


@op("a tensor")
def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent. Example: ``ops.tanh(x)``"""


@op("a tensor")
def floor(x: Tensor) -> Tensor:
    """Round down. Example: ``ops.floor(x)``"""


@op("a tensor")
def ceil(x: Tensor) -> Tensor:
    """Round up. Example: ``ops.ceil(x)``"""


@op("a tensor and an integer number of decimals", body=True)
def round(x: Tensor, decimals: int = 0) -> Tensor:
    """Round half to even, to ``decimals`` places (negative: to tens,
    hundreds...); integers change only for negative ``decimals``.
    Example: ``ops.round(x, decimals=2)``"""
    engine = active()
    if not decimals:
        return engine.round(x)
    x = engine.convert_to_tensor(x)
    dtype = engine.dtype(x)
    floating = dtype.startswith(("float", "bfloat"))
    if not floating and decimals > 0:
        return x
    scaled = x if floating else engine.cast(x, "float32")
    factor = engine.cast(engine.convert_to_tensor(10.0 ** _builtins.abs(int(decimals))), engine.dtype(scaled))
    if decimals > 0:
        out = engine.divide(engine.round(engine.multiply(scaled, factor)), factor)
    else:
        out = engine.multiply(engine.round(engine.divide(scaled, factor)), factor)
    return out if floating else engine.cast(out, dtype)


@op("a tensor")
def erf(x: Tensor) -> Tensor:
    """Gauss error function. Example: ``ops.erf(x)``"""


@op("a tensor")
def logical_not(x: Tensor) -> Tensor:
    """Elementwise NOT. Example: ``ops.logical_not(x)``"""


@op("a tensor")
def isnan(x: Tensor) -> Tensor:
    """True where NaN. Example: ``ops.isnan(x)``"""


@op("a tensor")
def isinf(x: Tensor) -> Tensor:
    """True where +-inf. Example: ``ops.isinf(x)``"""


@op("a tensor")
def isfinite(x: Tensor) -> Tensor:
    """True where neither NaN nor inf. Example: ``ops.isfinite(x)``"""


@op("a tensor and axes within its rank")
def sum(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` (all axes when None). Example: ``ops.sum(x, axis=-1)``"""


@op("a tensor and axes within its rank")
def mean(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (all axes when None). Example: ``ops.mean(x, axis=-1)``"""


def _extreme(name: str, x: Tensor, axis: Axis, keepdims: bool, initial: Any) -> Tensor:
    """``max``/``min`` over ``axis``, with ``initial`` taking part in every
    reduction (the result of an empty one)."""
    engine = active()
    reduce, combine = (engine.max, engine.maximum) if name == "max" else (engine.min, engine.minimum)
    if initial is None:
        return reduce(x, axis=axis, keepdims=keepdims)
    x = engine.convert_to_tensor(x)
    shape, dtype = tuple(engine.shape(x)), engine.dtype(x)
    axes = tuple(range(len(shape))) if axis is None else tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    check(_builtins.all(isinstance(a, (int, np.integer)) and -len(shape) <= a < _builtins.max(len(shape), 1)
                        for a in axes), name, f"axes within the rank {len(shape)}", repr(axis))
    reduced = {int(a) % _builtins.max(len(shape), 1) for a in axes}
    start = engine.cast(engine.convert_to_tensor(initial), dtype)
    if _builtins.any(shape[a] == 0 for a in reduced if a < len(shape)):  # an empty reduction: initial alone
        out_shape = tuple(1 if i in reduced else d for i, d in enumerate(shape) if keepdims or i not in reduced)
        return engine.broadcast_to(start, out_shape)
    return combine(reduce(x, axis=axis, keepdims=keepdims), start)


@op("a tensor and axes within its rank", body=True)
def max(x: Tensor, axis: Axis = None, keepdims: bool = False, initial: Any = None) -> Tensor:
    """Maximum over ``axis`` (all axes when None), at least ``initial`` when
    given (which an empty reduction returns). Example: ``ops.max(x, axis=-1)``"""
    return _extreme("max", x, axis, keepdims, initial)


@op("a tensor and axes within its rank", body=True)
def min(x: Tensor, axis: Axis = None, keepdims: bool = False, initial: Any = None) -> Tensor:
    """Minimum over ``axis`` (all axes when None), at most ``initial`` when
    given (which an empty reduction returns). Example: ``ops.min(x, axis=-1)``"""
    return _extreme("min", x, axis, keepdims, initial)


@op("a tensor, axes within its rank and a known dtype", body=True)
def prod(x: Tensor, axis: Axis = None, keepdims: bool = False, dtype: str | None = None) -> Tensor:
    """Product over ``axis`` (all axes when None), computed in ``dtype`` when
    given. Example: ``ops.prod(x, axis=-1)``"""
    engine = active()
    return engine.prod(x if dtype is None else engine.cast(x, dtype), axis=axis, keepdims=keepdims)


@op("a tensor and axes within its rank")
def any(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Logical OR over ``axis`` (all axes when None). Example: ``ops.any(x, axis=-1)``"""


@op("a tensor and axes within its rank")
def all(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Logical AND over ``axis`` (all axes when None). Example: ``ops.all(x, axis=-1)``"""


@op("a tensor and axes within its rank")
def var(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Population variance over ``axis`` (all axes when None). Example: ``ops.var(x, axis=-1)``"""


@op("a tensor and axes within its rank")
def std(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Population standard deviation over ``axis`` (all axes when None). Example: ``ops.std(x, axis=-1)``"""


@op("a tensor and axes within its rank")
def logsumexp(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """``log(sum(exp(x)))``, computed stably, over ``axis`` (all axes when None).

    Example: ``ops.logsumexp(x, axis=-1)``"""


@op("a tensor and an axis within its rank")
def argmax(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the first maximum (int32). Example: ``ops.argmax(logits, axis=-1)``"""


@op("a tensor and an axis within its rank")
def argmin(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the first minimum (int32). Example: ``ops.argmin(x, axis=0)``"""


@op("a tensor, an axis within its rank and a known dtype", body=True)
def cumsum(x: Tensor, axis: int | None = None, dtype: str | None = None) -> Tensor:
    """Running sum (flattened when ``axis`` is None), accumulated in ``dtype``
    when given. Example: ``ops.cumsum(x, axis=1)``"""
    engine = active()
    return engine.cumsum(x if dtype is None else engine.cast(x, dtype), axis=axis)


@op("a tensor, an axis within its rank and a known dtype", body=True)
def cumprod(x: Tensor, axis: int | None = None, dtype: str | None = None) -> Tensor:
    """Running product, accumulated in ``dtype`` when given. Example: ``ops.cumprod(x, axis=1)``"""
    engine = active()
    return engine.cumprod(x if dtype is None else engine.cast(x, dtype), axis=axis)


@op("a condition and two values whose shapes broadcast together (or neither value)", broadcast=True, body=True)
def where(condition: Tensor, x1: Tensor | None = None, x2: Tensor | None = None) -> Tensor:
    """``x1`` where ``condition`` holds, else ``x2``; with neither value, the
    indices of the true entries (``ops.nonzero(condition)``).
    Example: ``ops.where(x > 0, x, 0.0)``"""
    if x1 is None and x2 is None:
        from polykeras.ops.counting import nonzero

        return nonzero(condition)
    if x1 is None or x2 is None:
        check(False, "where", "both x1 and x2, or neither", f"x1={describe(x1)}, x2={describe(x2)}")
    return active().where(condition, x1, x2)


@op("a tensor and scalar or broadcastable bounds")
def clip(x: Tensor, x_min: Any, x_max: Any) -> Tensor:
    """``x`` limited to ``[x_min, x_max]``. Example: ``ops.clip(x, 0.0, 1.0)``"""


@op("a tensor and an axis within its rank")
def sort(x: Tensor, axis: int = -1) -> Tensor:
    """Ascending sort. Example: ``ops.sort(x)``"""


@op("a tensor and an axis within its rank")
def argsort(x: Tensor, axis: int = -1) -> Tensor:
    """Indices (int32) that sort ``x``, stable. Example: ``ops.argsort(x)``"""


@op("a tensor with at least k entries on its last axis")
def top_k(x: Tensor, k: int, sorted: bool = True) -> tuple[Tensor, Tensor]:
    """The ``k`` largest entries of the last axis and their indices.

    Example: ``values, indices = ops.top_k(scores, 5)``
    """


@op("x1's last axis to match x2's second-to-last axis (NumPy matmul rules)")
def matmul(x1: Tensor, x2: Tensor) -> Tensor:
    """Matrix product, batched. Example: ``ops.matmul(x, w)``"""


@op("x1's last axis to match x2's second-to-last axis")
def dot(x1: Tensor, x2: Tensor) -> Tensor:
    """NumPy's ``dot``. Example: ``ops.dot(x, w)``"""


@op("tensors whose contracted axes have equal sizes")
def tensordot(x1: Tensor, x2: Tensor, axes: Any = 2) -> Tensor:
    """Contract ``axes`` of ``x1`` with those of ``x2``. Example: ``ops.tensordot(a, b, axes=([1], [0]))``"""


_EINSUM_OPTIONS = ("optimize",)


@op("a subscripts string whose labels match the operands' ranks and sizes", body=True)
def einsum(subscripts: str, *operands: Tensor, **kwargs: Any) -> Tensor:
    """Einstein summation. ``optimize`` (False, True, ``"greedy"``,
    ``"optimal"``), Keras 3's one option, chooses how an engine that searches
    contraction orders (NumPy's, JAX's) searches; the result is the same.
    Example: ``ops.einsum("bi,ij->bj", x, w)``"""
    unknown = sorted(set(kwargs) - set(_EINSUM_OPTIONS))
    if unknown:
        raise TypeError(f"einsum: expected only the keyword arguments {list(_EINSUM_OPTIONS)}, received {unknown}.")
    return active().einsum(subscripts, *operands, **kwargs)


@op("a tensor and a shape with the same number of elements", body=True)
def reshape(x: Tensor, newshape: Sequence[int]) -> Tensor:
    """Same data, new shape (one entry may be -1). Example: ``ops.reshape(x, (-1, 4))``"""
    return active().reshape(x, newshape)


@op("a permutation of the tensor's axes")
def transpose(x: Tensor, axes: Sequence[int] | None = None) -> Tensor:
    """Permute axes (reverse them when None). Example: ``ops.transpose(x, (0, 2, 1))``"""


@op("a tensor and an axis within its rank + 1")
def expand_dims(x: Tensor, axis: int) -> Tensor:
    """Insert a length-1 axis. Example: ``ops.expand_dims(x, -1)``"""


@op("a tensor whose squeezed axes have length 1")
def squeeze(x: Tensor, axis: Axis = None) -> Tensor:
    """Drop length-1 axes. Example: ``ops.squeeze(x, axis=-1)``"""


@op("tensors of the same rank whose shapes agree except along axis")
def concatenate(xs: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join along an existing axis. Example: ``ops.concatenate([a, b], axis=-1)``"""


@op("tensors of the same shape", body=True)
def stack(x: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join the tensors of ``x`` along a new axis. Example: ``ops.stack([a, b])``"""
    return active().stack(x, axis=axis)


@op("a section count dividing the axis, or increasing split indices")
def split(x: Tensor, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Tensor]:
    """Cut into pieces. Example: ``a, b = ops.split(x, 2, axis=-1)``"""


@op("one (before, after) pair of non-negative ints per axis and mode constant, reflect or symmetric", body=True)
def pad(x: Tensor, pad_width: Sequence[tuple[int, int]], mode: str = "constant", constant_values: Any = None
        ) -> Tensor:
    """Pad each axis; ``constant_values`` (0 when None) only with mode
    ``"constant"``. Example: ``ops.pad(x, [(0, 0), (1, 1)], constant_values=-1)``"""
    check(constant_values is None or mode == "constant", "pad", "constant_values only with mode='constant'",
          f"mode={mode!r}, constant_values={describe(constant_values)}")
    return active().pad(x, pad_width, mode=mode, constant_values=0 if constant_values is None else constant_values)


@op("one repeat count per axis")
def tile(x: Tensor, repeats: Sequence[int]) -> Tensor:
    """Repeat the whole tensor. Example: ``ops.tile(x, (2, 1))``"""


@op("a non-negative repeat count")
def repeat(x: Tensor, repeats: int, axis: int | None = None) -> Tensor:
    """Repeat each element. Example: ``ops.repeat(x, 2, axis=1)``"""


@op("a target shape the tensor broadcasts to")
def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    """Broadcast to ``shape``. Example: ``ops.broadcast_to(b, (4, 3))``"""


@op("a tensor and axes within its rank")
def flip(x: Tensor, axis: Axis = None) -> Tensor:
    """Reverse along ``axis``. Example: ``ops.flip(x, axis=1)``"""


@op("source and destination axes within the tensor's rank")
def moveaxis(x: Tensor, source: int, destination: int) -> Tensor:
    """Move one axis. Example: ``ops.moveaxis(x, 1, -1)``"""


@op("integer indices within the axis length")
def take(x: Tensor, indices: Tensor, axis: int | None = None) -> Tensor:
    """Gather entries along ``axis``. Example: ``ops.take(table, ids, axis=0)``"""


@op("integer indices of the tensor's rank (1-D when axis is None), within the axis length", body=True)
def take_along_axis(x: Tensor, indices: Tensor, axis: int | None = None) -> Tensor:
    """Gather with per-position indices (from the flattened tensor, with 1-D
    indices, when ``axis`` is None). Example: ``ops.take_along_axis(x, order, axis=-1)``"""
    engine = active()
    if axis is None:
        indices = engine.convert_to_tensor(indices)
        check(len(engine.shape(indices)) == 1, "take_along_axis", "1-D indices when axis is None",
              describe(indices))
        return engine.take_along_axis(engine.reshape(x, (-1,)), indices, axis=0)
    return engine.take_along_axis(x, indices, axis=axis)


@op("indices of shape (n, len(shape)) and n values")
def scatter(indices: Tensor, values: Tensor, shape: Sequence[int]) -> Tensor:
    """Zeros of ``shape`` with ``values`` added at ``indices``. Example: ``ops.scatter([[0], [2]], [1., 2.], (4,))``"""


_REDUCTIONS = (None, "add", "max", "min", "mul")


@op("indices of shape (n, k <= rank) and n updates of the indexed entries' shape", body=True)
def scatter_update(inputs: Tensor, indices: Tensor, updates: Tensor, reduction: str | None = None) -> Tensor:
    """``inputs`` with the entries (or slices, for ``k < rank``) at
    ``indices`` replaced by ``updates``, or combined with them by
    ``reduction`` (``"add"``, ``"max"``, ``"min"``, ``"mul"``: repeated
    indices all take part). Example: ``ops.scatter_update(x, [[1]], [9.0])``"""
    check(reduction in _REDUCTIONS, "scatter_update", f"reduction in {list(_REDUCTIONS)}", repr(reduction))
    engine = active()
    if reduction is None:
        return engine.scatter_update(inputs, indices, updates)
    from polykeras.ops.math_extra import segment_max, segment_min, segment_prod, segment_sum

    x = engine.convert_to_tensor(inputs)
    shape, dtype = tuple(engine.shape(x)), engine.dtype(x)
    indices = engine.cast(engine.convert_to_tensor(indices), "int32")
    index_shape = tuple(engine.shape(indices))
    check(len(index_shape) == 2 and 1 <= index_shape[1] <= len(shape), "scatter_update",
          f"indices of shape (n, k) with 1 <= k <= {len(shape)}", describe(indices))
    k = index_shape[1]
    cells = int(np.prod(shape[:k], dtype=np.int64))
    strides = np.cumprod((1, *shape[1:k][::-1]), dtype=np.int64)[::-1].astype("int32")
    wrapped = engine.add(indices, engine.multiply(engine.cast(engine.less(indices, 0), "int32"),
                                                   engine.convert_to_tensor(np.asarray(shape[:k], "int32"))))
    flat = engine.sum(engine.multiply(wrapped, engine.convert_to_tensor(strides)), axis=1)
    rows = engine.reshape(x, (cells, -1))
    data = engine.reshape(engine.cast(engine.convert_to_tensor(updates), dtype), (index_shape[0], -1))
    reduce = {"add": segment_sum, "mul": segment_prod, "max": segment_max, "min": segment_min}[reduction]
    gathered = reduce(data, flat, num_segments=cells)
    combine = {"add": engine.add, "mul": engine.multiply, "max": engine.maximum, "min": engine.minimum}[reduction]
    return engine.reshape(combine(rows, engine.cast(gathered, dtype)), shape)


@op("a key of ints, slices, None, Ellipsis and at most one integer tensor, within the tensor's shape", body=True)
def get_item(x: Tensor, key: Any) -> Tensor:
    """``x[key]``: NumPy's basic indexing (ints, slices, None, ``...``) plus
    one integer tensor index, which gathers along its axis. A list key is
    a tuple, as in Keras 3. ``x[key]`` on a symbolic tensor is this op.

    Example: ``ops.get_item(x, (slice(None), 0))`` is ``x[:, 0]``
    """
    engine = active()
    parts = tuple(key) if isinstance(key, (list, tuple)) else (key,)
    shape = tuple(engine.shape(x))
    consuming = _builtin_sum(1 for p in parts if p is not None and p is not Ellipsis)
    check(consuming <= len(shape) and _builtin_sum(p is Ellipsis for p in parts) <= 1, "get_item",
          f"at most {len(shape)} indices and one Ellipsis for a tensor of shape {shape}", repr(key))
    basic: list[Any] = []
    axis_in = axis_out = 0
    gather: tuple[int, Any] | None = None
    for part in parts:
        if part is Ellipsis:
            skipped = len(shape) - consuming
            basic.append(part)
            axis_in, axis_out = axis_in + skipped, axis_out + skipped
        elif part is None:
            basic.append(None)
            axis_out += 1
        elif isinstance(part, _builtins.slice) and (part.step is None or part.step > 0):
            basic.append(part)
            axis_in, axis_out = axis_in + 1, axis_out + 1
        elif isinstance(part, _builtins.slice):  # a negative step: not every engine slices so, so gather
            size = shape[axis_in]
            check(size is not None and gather is None, "get_item",
                  "a negative slice step on an axis of known size, and no tensor index beside it", repr(key))
            basic.append(_builtins.slice(None))
            gather = (axis_out, engine.convert_to_tensor(np.arange(size, dtype="int32")[part]))
            axis_in, axis_out = axis_in + 1, axis_out + 1
        elif isinstance(part, (int, np.integer)) and not isinstance(part, bool):
            size = shape[axis_in]
            check(size is None or -size <= part < size, "get_item", f"an index within axis {axis_in} of size {size}",
                  f"{int(part)} (tensor shape {shape})")
            basic.append(int(part))
            axis_in += 1
        elif engine.is_tensor(part) or isinstance(part, np.ndarray):
            index = engine.convert_to_tensor(part)
            check(gather is None and engine.dtype(index).startswith(("int", "uint")), "get_item",
                  "at most one tensor index, of an integer dtype (a boolean mask has a data-dependent shape: "
                  "use ops.where)", f"a tensor index of dtype {engine.dtype(index)} in {describe(key)}")
            basic.append(_builtins.slice(None))
            gather = (axis_out, index)
            axis_in, axis_out = axis_in + 1, axis_out + 1
        else:
            check(False, "get_item", "ints, slices, None, Ellipsis or an integer tensor as indices", repr(part))
    out = x[tuple(basic)]
    if gather is not None:
        out = engine.take(out, gather[1], axis=gather[0])
    return out


@op("start indices and a block shape inside the tensor", body=True)
def slice(inputs: Tensor, start_indices: Sequence[Any], shape: Sequence[int]) -> Tensor:
    """The block of ``shape`` at ``start_indices``. Example: ``ops.slice(x, (0, 2), (4, 3))``"""
    return active().slice(inputs, start_indices, shape)


@op("start indices and an update block inside the tensor", body=True)
def slice_update(inputs: Tensor, start_indices: Sequence[Any], updates: Tensor) -> Tensor:
    """``inputs`` with a block replaced. Example: ``ops.slice_update(x, (0, 2), block)``"""
    return active().slice_update(inputs, start_indices, updates)


# keras.ops.numpy also names the ops of these families (defined beside this module)
from polykeras.ops.elementwise import *  # noqa: E402,F401,F403
from polykeras.ops.arrays import *  # noqa: E402,F401,F403
from polykeras.ops.statistics import *  # noqa: E402,F401,F403
from polykeras.ops.core import arange, eye, full, ones, ones_like, zeros, zeros_like  # noqa: E402,F401
from polykeras.ops.bitwise import *  # noqa: E402,F401,F403
from polykeras.ops.counting import *  # noqa: E402,F401,F403
from polykeras.ops.numpy_tail import *  # noqa: E402,F401,F403
