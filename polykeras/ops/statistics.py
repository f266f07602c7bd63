"""More of ``keras.ops.numpy``'s statistics: quantiles (``median``,
``percentile``, ``quantile`` and the NaN-ignoring ``nan*`` forms), the
``nan*`` reductions, ``average``, ``ptp``, ``count_nonzero``, ``trapezoid``,
``corrcoef``, ``correlate``, ``digitize`` and ``searchsorted``. Each
dispatches to the engine method of its name (a portable composite in
``backends/numpy_family/statistics.py``).

Example:
    >>> from polykeras import ops
    >>> ops.to_numpy(ops.median(ops.convert_to_tensor([3.0, 1.0, 2.0])))
    array(2., dtype=float32)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras.ops._dispatch import op

Tensor = Any
Axis = int | Sequence[int] | None

_AXES = "a tensor and axes within its rank"
_QUANTILE = ("a tensor, quantiles in [0, 1], axes within its rank and a method "
             "(linear, lower, higher, midpoint, nearest)")
_PERCENTILE = ("a tensor, percentiles in [0, 100], axes within its rank and a method "
               "(linear, lower, higher, midpoint, nearest)")


@op(_AXES)
def amax(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """``max``, NumPy's other name. Example: ``ops.amax(x, axis=0)``"""


@op(_AXES)
def amin(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """``min``, NumPy's other name. Example: ``ops.amin(x, axis=0)``"""


@op(_AXES)
def ptp(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Range, ``max - min``. Example: ``ops.ptp(x, axis=-1)``"""


@op(_AXES)
def count_nonzero(x: Tensor, axis: Axis = None) -> Tensor:
    """Number of non-zero entries (int32). Example: ``ops.count_nonzero(mask, axis=1)``"""


@op("a tensor, an axis within its rank and weights of its shape or of the axis's length")
def average(x: Tensor, axis: int | None = None, weights: Tensor | None = None) -> Tensor:
    """Weighted mean (the mean without weights). Example: ``ops.average(x, axis=1, weights=w)``"""


@op(_AXES)
def nansum(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Sum, NaN counted as 0. Example: ``ops.nansum(x)``"""


@op(_AXES)
def nanprod(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Product, NaN counted as 1. Example: ``ops.nanprod(x)``"""


@op(_AXES)
def nanmean(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Mean of the entries that are not NaN. Example: ``ops.nanmean(x, axis=0)``"""


@op(_AXES)
def nanvar(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Population variance of the entries that are not NaN. Example: ``ops.nanvar(x)``"""


@op(_AXES)
def nanstd(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Population standard deviation of the entries that are not NaN. Example: ``ops.nanstd(x)``"""


@op(_AXES)
def nanmax(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Maximum ignoring NaN (NaN for an all-NaN slice). Example: ``ops.nanmax(x, axis=1)``"""


@op(_AXES)
def nanmin(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Minimum ignoring NaN (NaN for an all-NaN slice). Example: ``ops.nanmin(x, axis=1)``"""


@op("a tensor and an axis within its rank")
def nanargmax(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the first maximum ignoring NaN (int32). Example: ``ops.nanargmax(x, axis=-1)``"""


@op("a tensor and an axis within its rank")
def nanargmin(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the first minimum ignoring NaN (int32). Example: ``ops.nanargmin(x, axis=-1)``"""


@op("a tensor and an axis within its rank")
def nancumsum(x: Tensor, axis: int | None = None, dtype: str | None = None) -> Tensor:
    """Running sum, NaN counted as 0. Example: ``ops.nancumsum(x, axis=1)``"""


@op("a tensor and an axis within its rank")
def nancumprod(x: Tensor, axis: int | None = None, dtype: str | None = None) -> Tensor:
    """Running product, NaN counted as 1. Example: ``ops.nancumprod(x, axis=1)``"""


@op(_QUANTILE)
def quantile(x: Tensor, q: Any, axis: Axis = None, method: str = "linear", keepdims: bool = False) -> Tensor:
    """The ``q``-th quantiles (a scalar or 1-D ``q``, its axis first). Example: ``ops.quantile(x, [0.25, 0.75])``"""


@op(_PERCENTILE)
def percentile(x: Tensor, q: Any, axis: Axis = None, method: str = "linear", keepdims: bool = False) -> Tensor:
    """The ``q``-th percentiles. Example: ``ops.percentile(x, 90, axis=0)``"""


@op(_AXES)
def median(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Median (float). Example: ``ops.median(x, axis=-1)``"""


@op(_QUANTILE)
def nanquantile(x: Tensor, q: Any, axis: Axis = None, method: str = "linear", keepdims: bool = False) -> Tensor:
    """``quantile`` of the entries that are not NaN. Example: ``ops.nanquantile(x, 0.5)``"""


@op(_PERCENTILE)
def nanpercentile(x: Tensor, q: Any, axis: Axis = None, method: str = "linear", keepdims: bool = False) -> Tensor:
    """``percentile`` of the entries that are not NaN. Example: ``ops.nanpercentile(x, 50)``"""


@op(_AXES)
def nanmedian(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """``median`` of the entries that are not NaN. Example: ``ops.nanmedian(x, axis=0)``"""


@op("samples y, optional sample points x (1-D or of y's shape) and an axis within y's rank")
def trapezoid(y: Tensor, x: Tensor | None = None, dx: float = 1.0, axis: int = -1) -> Tensor:
    """Integral of ``y`` by the trapezoidal rule. Example: ``ops.trapezoid(y, x)``"""


@op("two 1-D tensors and mode valid, same or full")
def correlate(x1: Tensor, x2: Tensor, mode: str = "valid") -> Tensor:
    """Cross-correlation of two 1-D sequences (NumPy's). Example: ``ops.correlate(signal, kernel, mode="same")``"""


@op("a 1-D or 2-D tensor of variables (rows) by observations (columns)")
def corrcoef(x: Tensor) -> Tensor:
    """Pearson correlation coefficients between the rows. Example: ``ops.corrcoef(x)``"""


@op("a 1-D ascending sequence, values of any shape and side left or right")
def searchsorted(sorted_sequence: Tensor, values: Tensor, side: str = "left") -> Tensor:
    """Insertion indices keeping the sequence sorted (int32). Example: ``ops.searchsorted(edges, x)``"""


@op("a tensor and 1-D ascending bin edges")
def digitize(x: Tensor, bins: Tensor) -> Tensor:
    """Index of the bin of each value: ``bins[i-1] <= x < bins[i]`` (int32). Example: ``ops.digitize(x, edges)``"""


# Every op defined above (tests/ops/test_exports.py checks the list), written out so type checkers see
# what `from polykeras.ops.statistics import *` brings into polykeras.ops.
__all__ = [
    "amax", "amin", "ptp", "count_nonzero", "average", "nansum", "nanprod", "nanmean", "nanvar", "nanstd", "nanmax",
    "nanmin", "nanargmax", "nanargmin", "nancumsum", "nancumprod", "quantile", "percentile", "median", "nanquantile",
    "nanpercentile", "nanmedian", "trapezoid", "correlate", "corrcoef", "searchsorted", "digitize",
]
