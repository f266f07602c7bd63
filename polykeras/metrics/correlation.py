"""Correlation metrics: ``pearson_correlation`` and ``concordance_correlation``
per sample along ``axis``, and their running means ``PearsonCorrelation`` and
``ConcordanceCorrelation``, Keras 3 names and defaults.

Example:
    >>> from polykeras import metrics
    >>> metrics.pearson_correlation([[1., 2., 3.]], [[2., 4., 7.]])     # [0.9934]
"""

from __future__ import annotations

from typing import Any

from polykeras import ops
from polykeras.config import epsilon
from polykeras.losses.functions import _pair
from polykeras.metrics.metric import Tensor
from polykeras.metrics.reduction import MeanMetricWrapper


def pearson_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """Pearson's correlation coefficient of ``y_true`` and ``y_pred`` along
    ``axis`` (``cov / (std_true * std_pred)``; NaN where either is constant,
    as in Keras 3).

    Example: ``pearson_correlation([[1., 2., 3.]], [[2., 4., 7.]])`` -> ``[0.9934]``
    """
    y_true, y_pred = _pair("pearson_correlation", y_true, y_pred)
    t = ops.subtract(y_true, ops.mean(y_true, axis=axis, keepdims=True))
    p = ops.subtract(y_pred, ops.mean(y_pred, axis=axis, keepdims=True))
    t = ops.divide(t, ops.std(t, axis=axis, keepdims=True))
    p = ops.divide(p, ops.std(p, axis=axis, keepdims=True))
    return ops.mean(ops.multiply(t, p), axis=axis)


def concordance_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """Lin's concordance correlation coefficient along ``axis``:
    ``2 * cov / (var_true + var_pred + (mean_true - mean_pred) ** 2 + eps)``.

    Example: ``concordance_correlation([[1., 2., 3.]], [[1., 2., 3.]])`` -> ``[1.0]``
    """
    y_true, y_pred = _pair("concordance_correlation", y_true, y_pred)
    mean_t = ops.mean(y_true, axis=axis, keepdims=True)
    mean_p = ops.mean(y_pred, axis=axis, keepdims=True)
    var_t, var_p = ops.var(y_true, axis=axis, keepdims=True), ops.var(y_pred, axis=axis, keepdims=True)
    products = ops.multiply(ops.subtract(y_true, mean_t), ops.subtract(y_pred, mean_p))
    norm = ops.add(ops.add(ops.add(var_t, var_p), ops.square(ops.subtract(mean_t, mean_p))), epsilon())
    return ops.mean(ops.divide(ops.multiply(products, 2.0), norm), axis=axis)


class PearsonCorrelation(MeanMetricWrapper):
    """Running mean of the per-sample Pearson correlation along ``axis``.

    Example: ``PearsonCorrelation()([[1., 2., 3.]], [[2., 4., 7.]])`` -> 0.9934
    """

    def __init__(self, name: str = "pearson_correlation", dtype: str | None = None, axis: int = -1):
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


class ConcordanceCorrelation(MeanMetricWrapper):
    """Running mean of the per-sample concordance correlation along ``axis``.

    Example: ``ConcordanceCorrelation()([[1., 2., 3.]], [[1., 2., 3.]])`` -> 1.0
    """

    def __init__(self, name: str = "concordance_correlation", dtype: str | None = None, axis: int = -1):
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}
