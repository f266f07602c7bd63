"""Running means of per-sample errors and losses: regression errors,
cross-entropies and hinges as metrics, Keras 3 names and defaults."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import losses, ops
from polykeras.losses.loss import align_same_shape, same_shape, squeeze_or_expand_to_same_rank
from polykeras.metrics.metric import Metric, Tensor, to_float
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
    Entries labelled ``ignore_class`` add 0; as in Keras 3 they still count
    toward the mean unless a ``sample_weight`` is given, which they then leave out.

    Example: ``SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)(ids, logits)``
    """

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype: str | None = None,
                 from_logits: bool = False, ignore_class: int | None = None, axis: int = -1):
        super().__init__(losses.sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        ignore_class = self._fn_kwargs["ignore_class"]
        if ignore_class is not None and sample_weight is not None:
            ids = to_float(y_true, self.dtype)
            rank, pred_rank = len(ops.shape(ids)), len(ops.shape(to_float(y_pred)))
            if rank == pred_rank and ops.shape(ids)[self._fn_kwargs["axis"]] == 1:
                ids = ops.squeeze(ids, axis=self._fn_kwargs["axis"])
            valid = ops.cast(ops.not_equal(ids, float(ignore_class)), self.dtype)
            weight = to_float(sample_weight, self.dtype)
            while len(ops.shape(weight)) < len(ops.shape(valid)):
                weight = ops.expand_dims(weight, -1)
            sample_weight = ops.multiply(weight, valid)
        super().update_state(y_true, y_pred, sample_weight=sample_weight)


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


CLASS_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """The coefficient of determination ``1 - SS_res / SS_tot`` per output of
    ``(batch, outputs)`` data, accumulated over batches, then aggregated by
    ``class_aggregation``: ``"uniform_average"`` (mean), ``"variance_weighted_average"``
    (weighted by each output's variance) or None (per output). With
    ``num_regressors`` > 0 the adjusted R2 ``1 - (1 - R2) (n - 1) / (n - p - 1)``
    (``n`` every value seen, as Keras 3 counts; plain R2 where ``n - 1 <= p``).

    State, in Keras 3's order: ``num_samples``, then (made by :meth:`build`, one
    per output) ``squared_sum``, ``sum``, ``residual``, ``count``.

    Example:
        >>> m = R2Score()
        >>> m.update_state([[1.0], [4.0], [3.0]], [[2.0], [4.0], [4.0]])
        >>> m.result()      # 0.5714
    """

    def __init__(self, class_aggregation: str | None = "uniform_average", num_regressors: int = 0,
                 name: str = "r2_score", dtype: str | None = None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in CLASS_AGGREGATIONS:
            raise ValueError(f"R2Score: expected class_aggregation in {CLASS_AGGREGATIONS}, "
                             f"received class_aggregation={class_aggregation!r}.")
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, int) or num_regressors < 0:
            raise ValueError(f"R2Score: expected an int num_regressors >= 0, "
                             f"received num_regressors={num_regressors!r}.")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable((), "zeros", name="num_samples")
        self.built = False

    def build(self, y_true_shape: Sequence[int | None], y_pred_shape: Sequence[int | None]) -> None:
        if self.built:
            return
        if len(y_true_shape) != 2 or len(y_pred_shape) != 2 or y_pred_shape[-1] is None:
            raise ValueError(
                "R2Score: expected y_true and y_pred of shape (batch, outputs) with outputs known, received "
                f"y_true.shape={tuple(y_true_shape)} and y_pred.shape={tuple(y_pred_shape)}."
            )
        outputs = (int(y_pred_shape[-1]),)
        self.squared_sum = self.add_variable(outputs, "zeros", name="squared_sum")
        self.sum = self.add_variable(outputs, "zeros", name="sum")
        self.total_mse = self.add_variable(outputs, "zeros", name="residual")
        self.count = self.add_variable(outputs, "zeros", name="count")
        self.built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = to_float(y_true, self.dtype), to_float(y_pred, self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if not self.built:
            self.build(tuple(ops.shape(y_true)), tuple(ops.shape(y_pred)))
        if len(ops.shape(y_true)) != 2 or not same_shape(tuple(ops.shape(y_true)), tuple(ops.shape(y_pred))):
            raise ValueError(
                "R2Score: expected y_true and y_pred of one shape (batch, outputs), received "
                f"y_true.shape={tuple(ops.shape(y_true))} and y_pred.shape={tuple(ops.shape(y_pred))}."
            )
        weight = ops.ones_like(y_true) if sample_weight is None else to_float(sample_weight, self.dtype)
        if len(ops.shape(weight)) == 1:
            weight = ops.expand_dims(weight, 1)
        try:
            weight = ops.broadcast_to(weight, ops.shape(y_true))
        except ValueError as err:
            raise ValueError(
                f"R2Score: expected sample_weight that broadcasts to y_true's shape {tuple(ops.shape(y_true))}, "
                f"received sample_weight.shape={tuple(ops.shape(to_float(sample_weight)))}."
            ) from err
        weighted = ops.multiply(y_true, weight)
        for variable, term in ((self.sum, weighted), (self.squared_sum, ops.multiply(y_true, weighted)),
                               (self.total_mse, ops.multiply(ops.square(ops.subtract(y_true, y_pred)), weight)),
                               (self.count, weight)):
            variable.assign(ops.add(variable.value, ops.sum(term, axis=0)))
        self.num_samples.assign(ops.add(self.num_samples.value, ops.sum(ops.ones_like(y_true))))

    def result(self) -> Tensor:
        if not self.built:
            return ops.convert_to_tensor(0.0)
        total_sum = self.sum.value
        mean = ops.divide(total_sum, self.count.value)
        total = ops.subtract(self.squared_sum.value, ops.multiply(total_sum, mean))
        raw = ops.subtract(1.0, ops.divide(self.total_mse.value, total))
        raw = ops.where(ops.isinf(raw), ops.zeros_like(raw), raw)
        if self.class_aggregation == "uniform_average":
            score = ops.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = ops.divide(ops.sum(ops.multiply(total, raw)), ops.sum(total))
        else:
            score = raw
        if self.num_regressors:
            n, p = self.num_samples.value, float(self.num_regressors)
            adjusted = ops.subtract(1.0, ops.divide(ops.multiply(ops.subtract(1.0, score), ops.subtract(n, 1.0)),
                                                    ops.subtract(ops.subtract(n, p), 1.0)))
            score = ops.where(ops.greater(ops.subtract(n, 1.0), p), adjusted, score)
        return score

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
