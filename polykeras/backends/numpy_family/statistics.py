"""Statistics composites: quantiles (``median``, ``percentile``,
``quantile`` and their NaN-ignoring forms), the ``nan*`` reductions,
``average``, ``ptp``, ``count_nonzero``, ``trapezoid``, ``corrcoef``,
``correlate``, ``digitize`` and ``searchsorted``.

Quantiles sort along the reduced axes and interpolate between the two order
statistics around ``q * (n - 1)`` (NumPy's methods ``linear``, ``lower``,
``higher``, ``midpoint``, ``nearest``); the NaN-ignoring forms sort NaN last
and count, per slice, the numbers that are not NaN.

Example:
    >>> engine.quantile(engine.convert_to_tensor([1.0, 2.0, 4.0]), 0.5)  # 2.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # the Backend primitives these composites are written with
    from polykeras.backends.host import EngineHost as _Host
else:
    _Host = object


Tensor = Any
Axis = int | Sequence[int] | None

_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _axis_arg(axis: Axis) -> int | tuple[int, ...] | None:
    """``axis`` as the primitives take it: an int, a tuple of ints or None."""
    return tuple(axis) if isinstance(axis, Sequence) else axis


def _axes(axis: Axis, ndim: int, op: str) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of bounds for a tensor of rank {ndim}")
    return tuple(sorted({a % max(ndim, 1) for a in axes}))


class StatisticsComposites(_Host):
    """Statistics of ``keras.ops.numpy`` composed from the primitives."""

    # ------------------------------------------------------------ simple
    def amax(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return self.max(x, axis=_axis_arg(axis), keepdims=keepdims)

    def amin(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return self.min(x, axis=_axis_arg(axis), keepdims=keepdims)

    def ptp(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        axes = _axis_arg(axis)
        return self.subtract(self.max(x, axis=axes, keepdims=keepdims), self.min(x, axis=axes, keepdims=keepdims))

    def count_nonzero(self, x: Tensor, axis: Axis = None) -> Tensor:
        return self.sum(self.cast(self.not_equal(x, 0), "int32"), axis=_axis_arg(axis))

    def average(self, x: Tensor, axis: int | None = None, weights: Tensor | None = None) -> Tensor:
        x = self._nf_float(x)
        if weights is None:
            return self.mean(x, axis=axis)
        weights = self.cast(self._nf_tensor(weights), self.dtype(x))
        ndim = len(self.shape(x))
        if axis is not None and len(self.shape(weights)) == 1 and ndim > 1:
            shape = [1] * ndim
            shape[axis % ndim] = -1
            weights = self.reshape(weights, shape)
        weights = self.broadcast_to(weights, self.shape(x))
        return self.divide(self.sum(self.multiply(x, weights), axis=axis), self.sum(weights, axis=axis))

    # ---------------------------------------------------------- nan family
    def _nf_without_nan(self, x: Tensor, fill: float) -> Tensor:
        x = self._nf_tensor(x)
        if not self._nf_is_float(x):
            return x
        return self.where(self.isnan(x), self.full((), fill, self.dtype(x)), x)

    def nansum(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return self.sum(self._nf_without_nan(x, 0.0), axis=_axis_arg(axis), keepdims=keepdims)

    def nanprod(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return self.prod(self._nf_without_nan(x, 1.0), axis=_axis_arg(axis), keepdims=keepdims)

    def _nf_nan_count(self, x: Tensor, axis: Axis, keepdims: bool) -> Tensor:
        present = self.cast(self.logical_not(self.isnan(x)), self.dtype(x))
        return self.sum(present, axis=_axis_arg(axis), keepdims=keepdims)

    def nanmean(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        x = self._nf_float(x)
        return self.divide(self.nansum(x, axis, keepdims), self._nf_nan_count(x, axis, keepdims))

    def nanvar(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        x = self._nf_float(x)
        centred = self._nf_without_nan(self.subtract(x, self.nanmean(x, axis, keepdims=True)), 0.0)
        return self.divide(self.sum(self.square(centred), axis=_axis_arg(axis), keepdims=keepdims),
                           self._nf_nan_count(x, axis, keepdims))

    def nanstd(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return self.sqrt(self.nanvar(x, axis, keepdims))

    def _nf_nan_extreme(self, fn: Any, fill: float, x: Tensor, axis: Axis, keepdims: bool) -> Tensor:
        x = self._nf_tensor(x)
        if not self._nf_is_float(x):
            return fn(x, axis=axis, keepdims=keepdims)
        out = fn(self._nf_without_nan(x, fill), axis=axis, keepdims=keepdims)
        every = self.all(self.isnan(x), axis=_axis_arg(axis), keepdims=keepdims)
        return self.where(every, self.full((), float("nan"), self.dtype(x)), out)

    def nanmax(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return self._nf_nan_extreme(self.max, float("-inf"), x, axis, keepdims)

    def nanmin(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return self._nf_nan_extreme(self.min, float("inf"), x, axis, keepdims)

    def nanargmax(self, x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return self.argmax(self._nf_without_nan(x, float("-inf")), axis=axis, keepdims=keepdims)

    def nanargmin(self, x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return self.argmin(self._nf_without_nan(x, float("inf")), axis=axis, keepdims=keepdims)

    def nancumsum(self, x: Tensor, axis: int | None = None, dtype: str | None = None) -> Tensor:
        out = self.cumsum(self._nf_without_nan(x, 0.0), axis=axis)
        return out if dtype is None else self.cast(out, dtype)

    def nancumprod(self, x: Tensor, axis: int | None = None, dtype: str | None = None) -> Tensor:
        out = self.cumprod(self._nf_without_nan(x, 1.0), axis=axis)
        return out if dtype is None else self.cast(out, dtype)

    # ----------------------------------------------------------- quantiles
    def _nf_quantile(self, op: str, x: Tensor, q: Any, axis: Axis, method: str, keepdims: bool,
                     ignore_nan: bool) -> Tensor:
        if method not in _METHODS:
            raise ValueError(f"{op}: expected method one of {', '.join(_METHODS)}, received {method!r}")
        x = self._nf_float(x)
        dtype = self.dtype(x)
        shape = tuple(self.shape(x))
        axes = _axes(axis, len(shape), op)
        keep = [i for i in range(len(shape)) if i not in axes]
        n = int(np.prod([shape[i] for i in axes]))
        y = self.reshape(self.transpose(x, [*keep, *axes]), (*[shape[i] for i in keep], n))
        if ignore_nan:
            missing = self.isnan(y)
            y = self.sort(self.where(missing, self.full((), float("inf"), dtype), y), axis=-1)
            count = self.sum(self.cast(self.logical_not(missing), dtype), axis=-1, keepdims=True)
        else:
            y = self.sort(y, axis=-1)
            count = self.full((*[shape[i] for i in keep], 1), float(n), dtype)
        q = self.cast(self._nf_tensor(q), dtype)
        scalar_q = len(self.shape(q)) == 0
        position = self.multiply(self.reshape(q, (-1,)), self.subtract(count, 1.0))  # (*keep, Q)
        low, high = self.floor(position), self.ceil(position)
        if method == "lower":
            high = low
        elif method == "higher":
            low = high
        elif method == "nearest":
            low = high = self.round(position)

        def at(index: Tensor) -> Tensor:
            index = self.cast(self.clip(index, 0.0, float(max(n - 1, 0))), "int32")
            return self.take_along_axis(y, index, axis=-1)

        below, above = at(low), at(high)
        if method == "linear":
            out = self.add(below, self.multiply(self.subtract(above, below), self.subtract(position, low)))
        elif method == "midpoint":
            out = self.multiply(self.add(below, above), 0.5)
        else:
            out = below
        if ignore_nan:
            out = self.where(self.equal(count, 0.0), self.full((), float("nan"), dtype), out)
        if keepdims:
            full = list(shape)
            for i in axes:
                full[i] = 1
            out = self.reshape(out, (*full, -1))
        out = self.moveaxis(out, -1, 0)
        return self.squeeze(out, 0) if scalar_q else out

    def quantile(self, x: Tensor, q: Any, axis: Axis = None, method: str = "linear", keepdims: bool = False) -> Tensor:
        return self._nf_quantile("quantile", x, q, axis, method, keepdims, False)

    def percentile(self, x: Tensor, q: Any, axis: Axis = None, method: str = "linear",
                   keepdims: bool = False) -> Tensor:
        return self._nf_quantile("percentile", x, self.divide(self._nf_float(q), 100.0), axis, method, keepdims, False)

    def median(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return self._nf_quantile("median", x, 0.5, axis, "linear", keepdims, False)

    def nanquantile(self, x: Tensor, q: Any, axis: Axis = None, method: str = "linear",
                    keepdims: bool = False) -> Tensor:
        return self._nf_quantile("nanquantile", x, q, axis, method, keepdims, True)

    def nanpercentile(self, x: Tensor, q: Any, axis: Axis = None, method: str = "linear",
                      keepdims: bool = False) -> Tensor:
        return self._nf_quantile("nanpercentile", x, self.divide(self._nf_float(q), 100.0), axis, method, keepdims,
                                 True)

    def nanmedian(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return self._nf_quantile("nanmedian", x, 0.5, axis, "linear", keepdims, True)

    # ------------------------------------------------------ integrals, signals
    def trapezoid(self, y: Tensor, x: Tensor | None = None, dx: float = 1.0, axis: int = -1) -> Tensor:
        y = self._nf_float(y)
        ndim = len(self.shape(y))
        axis %= max(ndim, 1)
        head = [slice(None)] * axis
        pairs = self.add(y[(*head, slice(1, None))], y[(*head, slice(None, -1))])
        if x is None:
            return self.multiply(self.sum(pairs, axis=axis), dx * 0.5)
        steps = self.diff(self.cast(self._nf_tensor(x), self.dtype(y)), axis=-1 if len(self.shape(x)) == 1 else axis)
        if len(self.shape(steps)) == 1 and ndim > 1:
            shape = [1] * ndim
            shape[axis] = -1
            steps = self.reshape(steps, shape)
        return self.multiply(self.sum(self.multiply(pairs, steps), axis=axis), 0.5)

    def correlate(self, x1: Tensor, x2: Tensor, mode: str = "valid") -> Tensor:
        if mode not in ("valid", "same", "full"):
            raise ValueError(f"correlate: expected mode 'valid', 'same' or 'full', received {mode!r}")
        a, v = self._nf_common([self._nf_float(x1), self._nf_float(x2)])
        na, nv = self.shape(a)[0], self.shape(v)[0]
        if nv > na:  # NumPy swaps the operands and reverses the result
            return self.flip(self.correlate(v, a, mode), axis=0)
        before, after = {"valid": (0, 0), "same": (nv // 2, nv - 1 - nv // 2), "full": (nv - 1, nv - 1)}[mode]
        padded = self.pad(a, [(before, after)])
        length = na + before + after - nv + 1
        windows = np.arange(length)[:, None] + np.arange(nv)[None, :]
        return self.matmul(self.take(padded, self.convert_to_tensor(windows.astype(np.int32)), axis=0), v)

    def corrcoef(self, x: Tensor) -> Tensor:
        x = self._nf_float(x)
        if len(self.shape(x)) == 1:
            x = self.reshape(x, (1, -1))
        centred = self.subtract(x, self.mean(x, axis=1, keepdims=True))
        cov = self.matmul(centred, self.transpose(centred))
        scale = self.sqrt(self.diagonal(cov))
        out = self.divide(self.divide(cov, self.reshape(scale, (-1, 1))), self.reshape(scale, (1, -1)))
        out = self.clip(out, -1.0, 1.0)
        return self.squeeze(out) if self.shape(out) == (1, 1) else out

    # ----------------------------------------------------------- searching
    def searchsorted(self, sorted_sequence: Tensor, values: Tensor, side: str = "left") -> Tensor:
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted: expected side 'left' or 'right', received {side!r}")
        sequence, values = self._nf_common([sorted_sequence, values])
        if len(self.shape(sequence)) != 1:
            raise ValueError(f"searchsorted: expected a 1-D sorted sequence, "
                             f"received shape {tuple(self.shape(sequence))}")
        before = (self.less if side == "left" else self.less_equal)(sequence, self.expand_dims(values, -1))
        return self.sum(self.cast(before, "int32"), axis=-1)

    def digitize(self, x: Tensor, bins: Tensor) -> Tensor:
        return self.searchsorted(bins, x, side="right")
