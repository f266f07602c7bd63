"""Running means of per-sample errors and losses: regression errors,
cross-entropies and hinges as metrics, Keras 3 names and defaults."""

from __future__ import annotations

from typing import Any

from polykeras import losses, ops
from polykeras.losses.loss import align_same_shape
from polykeras.metrics.metric import Tensor, to_float
from polykeras.metrics.reduction import Mean, MeanMetricWrapper


class MeanSquaredError(MeanMetricWrapper):
    """Running mean of ``mean(square(y_true - y_pred), axis=-1)``.

    Example: ``MeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [0, 0]])`` -> 0.25
    """

    def __init__(self, name: str = "mean_squared_error", dtype: str | None = None):
        super().__init__(losses.mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """Running mean of ``mean(abs(y_true - y_pred), axis=-1)``.

    Example: ``MeanAbsoluteError()([[0, 1], [0, 0]], [[1, 1], [0, 0]])`` -> 0.25
    """

    def __init__(self, name: str = "mean_absolute_error", dtype: str | None = None):
        super().__init__(losses.mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """Running mean of the absolute percentage error.

    Example: ``MeanAbsolutePercentageError()([[2., 4.]], [[1., 4.]])`` -> 25.0
    """

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: str | None = None):
        super().__init__(losses.mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """Running mean of the squared logarithmic error.

    Example: ``MeanSquaredLogarithmicError()([[1., 3.]], [[1., 1.]])``
    """

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype: str | None = None):
        super().__init__(losses.mean_squared_logarithmic_error, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """``sqrt`` of the running mean of squared errors (over every entry).

    Example: ``RootMeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [0, 0]])`` -> 0.5
    """

    def __init__(self, name: str = "root_mean_squared_error", dtype: str | None = None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        y_true, y_pred = to_float(y_true, self.dtype), to_float(y_pred, self.dtype)
        y_true, y_pred = align_same_shape("RootMeanSquaredError", y_true, y_pred)
        super().update_state(ops.square(ops.subtract(y_pred, y_true)), sample_weight=sample_weight)

    def result(self) -> Tensor:
        return ops.sqrt(super().result())


def _cosine(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """Cosine similarity (positive: 1 for aligned vectors)."""
    return ops.negative(losses.cosine_similarity(y_true, y_pred, axis=axis))


class CosineSimilarity(MeanMetricWrapper):
    """Running mean of the cosine similarity along ``axis`` (1 for aligned
    vectors; the loss of the same name is its negative).

    Example: ``CosineSimilarity(axis=1)([[0., 1.], [1., 1.]], [[1., 0.], [1., 1.]])`` -> 0.5
    """

    def __init__(self, name: str = "cosine_similarity", dtype: str | None = None, axis: int = -1):
        super().__init__(_cosine, name=name, dtype=dtype, axis=axis)


class LogCoshError(MeanMetricWrapper):
    """Running mean of ``log(cosh(y_pred - y_true))``.

    Example: ``LogCoshError()([[0.]], [[1.]])`` -> 0.4338
    """

    def __init__(self, name: str = "logcosh", dtype: str | None = None):
        super().__init__(losses.log_cosh, name=name, dtype=dtype)


class BinaryCrossentropy(MeanMetricWrapper):
    """Running mean of the binary cross-entropy.

    Example: ``BinaryCrossentropy(from_logits=True)(labels, logits)``
    """

    def __init__(self, name: str = "binary_crossentropy", dtype: str | None = None, from_logits: bool = False,
                 label_smoothing: float = 0.0):
        super().__init__(losses.binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


class CategoricalCrossentropy(MeanMetricWrapper):
    """Running mean of the categorical cross-entropy (one-hot targets).

    Example: ``CategoricalCrossentropy(from_logits=True)(one_hot, logits)``
    """

    def __init__(self, name: str = "categorical_crossentropy", dtype: str | None = None, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1):
        super().__init__(losses.categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Running mean of the sparse categorical cross-entropy (integer targets).

    Example: ``SparseCategoricalCrossentropy(from_logits=True)(ids, logits)``
    """

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype: str | None = None,
                 from_logits: bool = False, axis: int = -1):
        super().__init__(losses.sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         axis=axis)


class KLDivergence(MeanMetricWrapper):
    """Running mean of the Kullback-Leibler divergence.

    Example: ``KLDivergence()([[0.5, 0.5]], [[0.9, 0.1]])``
    """

    def __init__(self, name: str = "kl_divergence", dtype: str | None = None):
        super().__init__(losses.kl_divergence, name=name, dtype=dtype)


class Poisson(MeanMetricWrapper):
    """Running mean of the Poisson loss.

    Example: ``Poisson()([[1., 0.]], [[1., 1.]])`` -> 1.0
    """

    def __init__(self, name: str = "poisson", dtype: str | None = None):
        super().__init__(losses.poisson, name=name, dtype=dtype)


class Hinge(MeanMetricWrapper):
    """Running mean of the hinge loss.

    Example: ``Hinge()([[1., -1.]], [[0.5, 0.5]])`` -> 1.0
    """

    def __init__(self, name: str = "hinge", dtype: str | None = None):
        super().__init__(losses.hinge, name=name, dtype=dtype)


class SquaredHinge(MeanMetricWrapper):
    """Running mean of the squared hinge loss.

    Example: ``SquaredHinge()([[1., -1.]], [[0.5, 0.5]])`` -> 1.25
    """

    def __init__(self, name: str = "squared_hinge", dtype: str | None = None):
        super().__init__(losses.squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(MeanMetricWrapper):
    """Running mean of the categorical hinge loss.

    Example: ``CategoricalHinge()([[0., 1.]], [[0.3, 0.7]])`` -> 0.6
    """

    def __init__(self, name: str = "categorical_hinge", dtype: str | None = None):
        super().__init__(losses.categorical_hinge, name=name, dtype=dtype)
