"""The shape rules of NumPy functions for :class:`~polykeras.backends.numpy.abstract.ShapedArray`.

Each rule takes the NumPy function and its arguments (shape-only arrays,
real arrays, Python values) and returns what NumPy would, as shape-only
arrays: views are NumPy's own function on zero-byte probes; copies,
reductions, elementwise functions and contractions are worked out here, with
dtypes from the same function on one-element samples. ``abstract.py``
dispatches to them through ``ShapedArray.__array_function__``.

Example:
    >>> np.einsum("bij,bjk->bik", ShapedArray((8, 2, 3), "float32"), np.ones((8, 3, 4), "float32")).shape
    (8, 2, 4)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from polykeras.backends.numpy.abstract import (
    _RULES, ShapedArray, _abstract, _axes, _bound, _call, _dtype, _is_array, _matmul_shape, _no_values, _probe,
    _rule, _sample, _shape,
)

__all__ = ["RULES"]

#: NumPy function -> its shape rule (the registry ``ShapedArray`` dispatches through).
RULES = _RULES


def _moving(data: Callable[[dict[str, Any]], Any]) -> Callable[..., Any]:
    """A rule for data movement: NumPy's function on probes; the result's
    dtype is the promoted dtype of the ``data(arguments)`` arrays."""

    def rule(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        bound = _bound(func, args, kwargs)
        arrays = data(bound.arguments)
        dtype = np.result_type(*(_dtype(a) for a in arrays)) if arrays else np.dtype("float64")
        probed = {key: _probed(value) for key, value in bound.arguments.items()}
        return _abstract(_call(func, bound, probed), dtype)

    return rule


def _probed(value: Any) -> Any:
    if isinstance(value, (ShapedArray, np.ndarray)):
        return _probe(value)
    if isinstance(value, (list, tuple)) and any(isinstance(v, (ShapedArray, np.ndarray)) for v in value):
        return type(value)(_probe(v) if _is_array(v) else v for v in value)
    return value


def _first(bound: dict[str, Any]) -> list[Any]:
    return [next(iter(bound.values()))]


# Views: NumPy's own function on probes, at no cost whatever the sizes.
_rule(np.reshape, np.transpose, np.expand_dims, np.squeeze, np.moveaxis, np.swapaxes, np.flip, np.broadcast_to,
      np.split, np.array_split, np.ravel, np.diagonal, np.rot90, np.atleast_1d, np.atleast_2d,
      np.atleast_3d)(_moving(_first))


# Copies: shape rules (a copy of a probe still walks its elements).
@_rule(np.concatenate)
def _concatenate(func: Callable[..., Any], arrays: Sequence[Any], axis: Any = 0, out: Any = None,
                 **kwargs: Any) -> ShapedArray:
    shapes = [_shape(a) for a in arrays]
    dtype = kwargs.get("dtype") or np.result_type(*(_sample(a, 0) for a in arrays))
    if axis is None:
        return ShapedArray((sum(math.prod(s) for s in shapes),), dtype)
    first = shapes[0]
    if not first:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    axis = _axes(axis, len(first))[0]
    for shape in shapes[1:]:
        if len(shape) != len(first) or any(a != b for i, (a, b) in enumerate(zip(shape, first)) if i != axis):
            raise ValueError(f"all the input array dimensions except for the concatenation axis must match "
                             f"exactly: shapes {shapes} along axis {axis}")
    return ShapedArray((*first[:axis], sum(s[axis] for s in shapes), *first[axis + 1:]), dtype)


@_rule(np.stack)
def _stack(func: Callable[..., Any], arrays: Sequence[Any], axis: int = 0, out: Any = None,
           **kwargs: Any) -> ShapedArray:
    shapes = {_shape(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"all input arrays must have the same shape, received {sorted(shapes)}")
    shape = shapes.pop()
    axis = _axes(axis, len(shape) + 1)[0]
    dtype = kwargs.get("dtype") or np.result_type(*(_sample(a, 0) for a in arrays))
    return ShapedArray((*shape[:axis], len(arrays), *shape[axis:]), dtype)


@_rule(np.tile)
def _tile(func: Callable[..., Any], a: Any, reps: Any) -> ShapedArray:
    if isinstance(reps, ShapedArray):
        raise _no_values("numpy.tile with repetitions given as a tensor")
    reps = (int(reps),) if np.ndim(reps) == 0 else tuple(int(r) for r in reps)
    shape = _shape(a)
    ndim = max(len(shape), len(reps))
    shape = (1,) * (ndim - len(shape)) + shape
    reps = (1,) * (ndim - len(reps)) + reps
    return ShapedArray(tuple(d * r for d, r in zip(shape, reps)), _dtype(a))


@_rule(np.repeat)
def _repeat(func: Callable[..., Any], a: Any, repeats: Any, axis: int | None = None) -> ShapedArray:
    if isinstance(repeats, ShapedArray):
        raise _no_values("numpy.repeat with repeats given as a tensor")
    shape = (math.prod(_shape(a)),) if axis is None else _shape(a)
    axis = 0 if axis is None else _axes(axis, len(shape))[0]
    counts = np.broadcast_to(np.asarray(repeats), (shape[axis],))
    return ShapedArray((*shape[:axis], int(counts.sum()), *shape[axis + 1:]), _dtype(a))


@_rule(np.pad)
def _pad(func: Callable[..., Any], array: Any, pad_width: Any, mode: Any = "constant", **kwargs: Any) -> Any:
    shape = _shape(array)
    widths = np.asarray(pad_width, dtype=np.int64)
    widths = np.broadcast_to(widths.reshape(-1, 2) if widths.ndim > 1 else widths, (len(shape), 2))
    return ShapedArray(tuple(int(d + before + after) for d, (before, after) in zip(shape, widths)), _dtype(array))


@_rule(np.roll, np.copy)
def _same(func: Callable[..., Any], a: Any, *args: Any, **kwargs: Any) -> ShapedArray:
    return ShapedArray(_shape(a), _dtype(a))


@_rule(np.take)
def _take(func: Callable[..., Any], a: Any, indices: Any, axis: int | None = None, out: Any = None,
          mode: str = "raise") -> ShapedArray:
    shape = _shape(a)
    if axis is None:
        return ShapedArray(_shape(indices), _dtype(a))
    axis = _axes(axis, len(shape))[0]
    return ShapedArray((*shape[:axis], *_shape(indices), *shape[axis + 1:]), _dtype(a))


@_rule(np.take_along_axis)
def _take_along_axis(func: Callable[..., Any], arr: Any, indices: Any, axis: int | None = -1) -> ShapedArray:
    shape, index = list(_shape(arr)), list(_shape(indices))
    if axis is None:
        return ShapedArray(tuple(index), _dtype(arr))
    if len(shape) != len(index):
        raise ValueError(f"`indices` and `arr` must have the same number of dimensions: {tuple(index)} vs "
                         f"{tuple(shape)}")
    axis = _axes(axis, len(shape))[0]
    size = index[axis]
    shape[axis] = index[axis] = 1
    out = list(np.broadcast_shapes(tuple(shape), tuple(index)))
    out[axis] = size
    return ShapedArray(tuple(out), _dtype(arr))


def _reduction() -> Callable[..., Any]:
    def rule(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        bound = _bound(func, args, kwargs)
        name = next(iter(bound.arguments))
        x = bound.arguments[name]
        shape = _shape(x)
        axes = _axes(bound.arguments.get("axis"), len(shape))
        keep = bool(bound.arguments.get("keepdims", False))
        with np.errstate(all="ignore"):
            sample = _call(func, bound, {name: _sample(x)})
        out = tuple(1 if i in axes else d for i, d in enumerate(shape) if keep or i not in axes)
        return ShapedArray(out, np.asarray(sample).dtype)

    return rule


_rule(np.sum, np.mean, np.max, np.min, np.amax, np.amin, np.prod, np.any, np.all, np.argmax, np.argmin, np.std,
      np.var, np.median, np.nansum, np.nanmean, np.nanmax, np.nanmin, np.count_nonzero, np.ptp, np.average,
      np.nanprod, np.nanstd, np.nanvar, np.nanargmax, np.nanargmin, np.quantile, np.percentile)(_reduction())


@_rule(np.cumsum, np.cumprod, np.sort, np.argsort, np.nancumsum, np.nancumprod)
def _along(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    bound = _bound(func, args, kwargs)
    name = next(iter(bound.arguments))
    x = bound.arguments[name]
    default = -1 if func in (np.sort, np.argsort) else None
    axis = bound.arguments.get("axis", default)
    shape = (math.prod(_shape(x)),) if axis is None else _shape(x)
    if axis is not None:
        _axes(axis, len(shape))
    sample = _call(func, bound, {name: _sample(x)})
    return ShapedArray(shape, sample.dtype)


def _elementwise(arrays: Callable[[dict[str, Any]], list[Any]]) -> Callable[..., Any]:
    """A rule for functions whose result has the broadcast shape of ``arrays(arguments)``."""

    def rule(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        bound = _bound(func, args, kwargs)
        shape = np.broadcast_shapes(*(_shape(a) for a in arrays(bound.arguments)))
        with np.errstate(all="ignore"):
            sample = _call(func, bound, {k: _sample(v) for k, v in bound.arguments.items() if _is_array(v)})
        if isinstance(sample, tuple):
            return tuple(ShapedArray(shape, np.asarray(s).dtype) for s in sample)
        return ShapedArray(shape, np.asarray(sample).dtype)

    return rule


def _array_values(bound: dict[str, Any]) -> list[Any]:
    return [v for v in bound.values() if _is_array(v) or isinstance(v, (int, float, bool, complex))]


_rule(np.clip, np.round, np.around, np.real, np.imag, np.nan_to_num, np.tril, np.triu, np.isclose, np.angle,
      np.fix, np.sinc, np.i0, np.heaviside)(_elementwise(_array_values))


@_rule(np.where)
def _where(func: Callable[..., Any], condition: Any, *values: Any) -> Any:
    if not values:
        raise _no_values("numpy.where(condition) (its size depends on the values)")
    return _elementwise(_array_values)(func, condition, *values)


@_rule(np.zeros_like, np.ones_like, np.empty_like, np.full_like)
def _like(func: Callable[..., Any], a: Any, *args: Any, **kwargs: Any) -> Any:
    bound = _bound(func, (a, *args), kwargs).arguments
    shape = bound.get("shape")
    dtype = bound.get("dtype")
    return ShapedArray(_shape(a) if shape is None else ((shape,) if isinstance(shape, int) else shape),
                       _dtype(a) if dtype is None else dtype)


@_rule(np.shape)
def _np_shape(func: Callable[..., Any], a: Any) -> tuple[int, ...]:
    return _shape(a)


@_rule(np.ndim)
def _np_ndim(func: Callable[..., Any], a: Any) -> int:
    return len(_shape(a))


@_rule(np.size)
def _np_size(func: Callable[..., Any], a: Any, axis: int | None = None) -> int:
    return math.prod(_shape(a)) if axis is None else _shape(a)[axis]


@_rule(np.result_type)
def _result_type(func: Callable[..., Any], *arrays_and_dtypes: Any) -> np.dtype:
    return np.result_type(*(_sample(a, 0) if _is_array(a) else a for a in arrays_and_dtypes))


@_rule(np.iscomplexobj, np.isrealobj)
def _kind_test(func: Callable[..., Any], x: Any) -> bool:
    return func(np.empty((), _dtype(x)))


@_rule(np.broadcast_arrays)
def _broadcast_arrays(func: Callable[..., Any], *args: Any, **kwargs: Any) -> list[ShapedArray]:
    shape = np.broadcast_shapes(*(_shape(a) for a in args))
    return [ShapedArray(shape, _dtype(a)) for a in args]


# --------------------------------------------------------- contractions
def _promoted(*arrays: Any) -> np.dtype:
    return np.result_type(*(_sample(a, 0) for a in arrays))


@_rule(np.dot)
def _dot(func: Callable[..., Any], a: Any, b: Any, out: Any = None) -> ShapedArray:
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        shape = sa or sb
    elif len(sb) == 1:
        if sa[-1] != sb[0]:
            raise ValueError(f"shapes {sa} and {sb} not aligned: {sa[-1]} (dim {len(sa) - 1}) != {sb[0]} (dim 0)")
        shape = sa[:-1]
    else:
        if sa[-1] != sb[-2]:
            raise ValueError(f"shapes {sa} and {sb} not aligned: {sa[-1]} (dim {len(sa) - 1}) != "
                             f"{sb[-2]} (dim {len(sb) - 2})")
        shape = sa[:-1] + sb[:-2] + sb[-1:]
    return ShapedArray(shape, _promoted(a, b))


@_rule(np.matmul)
def _np_matmul(func: Callable[..., Any], a: Any, b: Any, **kwargs: Any) -> ShapedArray:
    return ShapedArray(_matmul_shape(_shape(a), _shape(b)), _promoted(a, b))


@_rule(np.tensordot)
def _tensordot(func: Callable[..., Any], a: Any, b: Any, axes: Any = 2) -> ShapedArray:
    sa, sb = _shape(a), _shape(b)
    if isinstance(axes, (int, np.integer)):
        first: Any = range(len(sa) - int(axes), len(sa))
        second: Any = range(int(axes))
    else:
        first, second = axes
    axes_a = [int(i) % len(sa) for i in np.atleast_1d(first)]
    axes_b = [int(i) % len(sb) for i in np.atleast_1d(second)]
    if len(axes_a) != len(axes_b) or any(sa[i] != sb[j] for i, j in zip(axes_a, axes_b)):
        raise ValueError(f"shape-mismatch for sum: tensordot of shapes {sa} and {sb} over axes {axes}")
    shape = tuple(d for i, d in enumerate(sa) if i not in axes_a) + tuple(d for i, d in enumerate(sb)
                                                                         if i not in axes_b)
    return ShapedArray(shape, _promoted(a, b))


@_rule(np.einsum)
def _einsum(func: Callable[..., Any], subscripts: Any, *operands: Any, **kwargs: Any) -> ShapedArray:
    if not isinstance(subscripts, str):
        raise NotImplementedError("numpy.einsum in sublist form has no shape rule for the shape-only evaluation")
    spec = subscripts.replace(" ", "")
    inputs, arrow, output = spec.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum: {len(terms)} operands in the subscripts {subscripts!r}, received {len(operands)}")
    sizes: dict[str, int] = {}
    ellipses = []
    for term, operand in zip(terms, operands):
        shape = _shape(operand)
        before, dots, after = term.partition("...")
        count = len(shape) - len(before) - len(after) if dots else 0
        if count < 0 or (not dots and len(term) != len(shape)):
            raise ValueError(f"einsum: operand of shape {shape} does not fit subscripts {term!r}")
        ellipses.append(shape[len(before):len(before) + count])
        for letter, size in zip(before + after, shape[:len(before)] + shape[len(shape) - len(after):]):
            known = sizes.setdefault(letter, size)
            if known != size and 1 not in (known, size):
                raise ValueError(f"einsum: subscript {letter!r} has sizes {known} and {size}")
            sizes[letter] = max(known, size) if 1 in (known, size) else size
    ellipsis = np.broadcast_shapes(*ellipses)
    if not arrow:
        letters = "".join(terms).replace(".", "")
        output = ("..." if any("..." in t for t in terms) else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1))
    before, dots, after = output.partition("...")
    shape = tuple(sizes[c] for c in before) + (tuple(ellipsis) if dots else ()) + tuple(sizes[c] for c in after)
    return ShapedArray(shape, _promoted(*operands))


@_rule(np.outer)
def _outer(func: Callable[..., Any], a: Any, b: Any, out: Any = None) -> ShapedArray:
    return ShapedArray((math.prod(_shape(a)), math.prod(_shape(b))), _promoted(a, b))


@_rule(np.linalg.inv, np.linalg.cholesky, np.linalg.matrix_power)
def _square(func: Callable[..., Any], a: Any, *args: Any, **kwargs: Any) -> ShapedArray:
    shape = _shape(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise np.linalg.LinAlgError(f"Last 2 dimensions of the array must be square, received shape {shape}")
    return ShapedArray(shape, func(np.eye(1, dtype=_dtype(a)), *args, **kwargs).dtype)


@_rule(np.linalg.det)
def _det(func: Callable[..., Any], a: Any) -> ShapedArray:
    shape = _shape(a)
    return ShapedArray(shape[:-2], func(np.eye(1, dtype=_dtype(a))).dtype)


@_rule(np.linalg.solve)
def _solve(func: Callable[..., Any], a: Any, b: Any) -> ShapedArray:
    sb = _shape(b)
    batch = np.broadcast_shapes(_shape(a)[:-2], sb[:-2] if len(sb) > 1 else ())
    return ShapedArray((*batch, *sb[-2:]) if len(sb) > 1 else sb, _promoted(a, b))


def _matrices(a: Any, op: str) -> tuple[tuple[int, ...], int, int]:
    shape = _shape(a)
    if len(shape) < 2:
        raise np.linalg.LinAlgError(f"{op}: {len(shape)}-dimensional array given. Array must be at least "
                                    "two-dimensional")
    return shape[:-2], shape[-2], shape[-1]


@_rule(np.linalg.eigh, np.linalg.eig)
def _eig(func: Callable[..., Any], a: Any, *args: Any, **kwargs: Any) -> tuple[ShapedArray, ShapedArray]:
    batch, m, n = _matrices(a, func.__name__)
    if m != n:
        raise np.linalg.LinAlgError(f"Last 2 dimensions of the array must be square, received shape {_shape(a)}")
    w, v = func(np.eye(1, dtype=_dtype(a)), *args, **kwargs)  # NumPy's eig: real when the values allow it
    return ShapedArray((*batch, m), w.dtype), ShapedArray((*batch, m, m), v.dtype)


@_rule(np.linalg.svd)
def _svd(func: Callable[..., Any], a: Any, full_matrices: bool = True, compute_uv: bool = True,
         hermitian: bool = False) -> Any:
    batch, m, n = _matrices(a, "svd")
    k = min(m, n)
    u, s, vh = func(np.eye(1, dtype=_dtype(a)))
    values = ShapedArray((*batch, k), s.dtype)
    if not compute_uv:
        return values
    rows, cols = (m, n) if full_matrices else (k, k)
    return ShapedArray((*batch, m, rows), u.dtype), values, ShapedArray((*batch, cols, n), vh.dtype)


@_rule(np.linalg.qr)
def _qr(func: Callable[..., Any], a: Any, mode: str = "reduced") -> Any:
    batch, m, n = _matrices(a, "qr")
    k = min(m, n)
    q, r = func(np.eye(1, dtype=_dtype(a)))
    if mode == "r":
        return ShapedArray((*batch, k, n), r.dtype)
    if mode not in ("reduced", "complete"):
        raise NotImplementedError(f"numpy.linalg.qr mode={mode!r} has no shape rule for the shape-only evaluation")
    rows = m if mode == "complete" else k
    return ShapedArray((*batch, m, rows), q.dtype), ShapedArray((*batch, rows, n), r.dtype)


def _fft_lengths(func: Callable[..., Any], shape: tuple[int, ...], lengths: dict[int, int | None]) -> tuple[int, ...]:
    out = list(shape)
    for axis, n in lengths.items():
        given = shape[axis]
        if func in (np.fft.rfft, np.fft.rfft2, np.fft.rfftn):
            out[axis] = (given if n is None else n) // 2 + 1
        elif func in (np.fft.irfft, np.fft.irfft2, np.fft.irfftn):
            out[axis] = 2 * (given - 1) if n is None else n
        else:
            out[axis] = given if n is None else n
    return tuple(out)


@_rule(np.fft.fft, np.fft.ifft, np.fft.rfft, np.fft.irfft)
def _fft(func: Callable[..., Any], a: Any, n: int | None = None, axis: int = -1, norm: Any = None,
         out: Any = None) -> ShapedArray:
    shape = _shape(a)
    axis = _axes(axis, len(shape))[0]
    sample = func(np.ones((2,), _dtype(a)), norm=norm)
    return ShapedArray(_fft_lengths(func, shape, {axis: n}), sample.dtype)


@_rule(np.fft.fft2, np.fft.ifft2, np.fft.rfft2, np.fft.irfft2, np.fft.fftn, np.fft.ifftn)
def _fft_axes(func: Callable[..., Any], a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None,
              out: Any = None) -> ShapedArray:
    shape = _shape(a)
    chosen = _axes(range(len(shape)) if axes is None else axes, len(shape))
    lengths = [None] * len(chosen) if s is None else list(s)
    sample = func(np.ones((2,) * len(chosen), _dtype(a)), norm=norm)
    return ShapedArray(_fft_lengths(func, shape, dict(zip(chosen, lengths))), sample.dtype)
