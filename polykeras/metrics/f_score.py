"""``FBetaScore`` and ``F1Score`` for (multi-label or one-hot) classification."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import ops
from polykeras.losses.loss import same_shape
from polykeras.metrics.metric import Metric, Tensor, to_float
from polykeras.config import epsilon

AVERAGES = (None, "micro", "macro", "weighted")


class FBetaScore(Metric):
    """``(1 + beta**2) * precision * recall / (beta**2 * precision + recall)``,
    per class (``average=None``) or averaged: ``"micro"`` (counts pooled over
    classes), ``"macro"`` (plain mean of the per-class scores) or
    ``"weighted"`` (mean weighted by each class's true count).

    Inputs are ``(batch, classes)``. With ``threshold=None`` the highest score
    of each row is the positive prediction; otherwise scores above
    ``threshold`` are. The class count is taken from the first batch
    (or :meth:`build`).

    Example:
        >>> m = FBetaScore(beta=2.0, average="macro", threshold=0.5)
        >>> m.update_state([[1, 1, 1], [1, 0, 0]], [[0.9, 0.6, 0.3], [0.2, 0.4, 0.1]])
    """

    def __init__(self, average: str | None = None, beta: float = 1.0, threshold: float | None = None,
                 name: str = "fbeta_score", dtype: str | None = None):
        super().__init__(name=name, dtype=dtype)
        owner = type(self).__name__
        if average not in AVERAGES:
            raise ValueError(f"{owner}: expected average in {AVERAGES}, received average={average!r}.")
        if not isinstance(beta, (int, float)) or isinstance(beta, bool) or beta <= 0:
            raise ValueError(f"{owner}: expected a float beta > 0, received beta={beta!r}.")
        if threshold is not None and (not isinstance(threshold, (int, float)) or not 0.0 < threshold <= 1.0):
            raise ValueError(f"{owner}: expected threshold None or in (0, 1], received threshold={threshold!r}.")
        self.average = average
        self.beta = float(beta)
        self.threshold = threshold
        self._axis = None if average == "micro" else 0
        self.built = False

    def build(self, y_true_shape: Sequence[int | None], y_pred_shape: Sequence[int | None]) -> None:
        if self.built:
            return
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2 or y_pred_shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__}: expected y_true and y_pred of shape (batch, classes), received "
                f"y_true.shape={tuple(y_true_shape)} and y_pred.shape={tuple(y_pred_shape)}."
            )
        shape = () if self.average == "micro" else (int(y_pred_shape[-1]),)
        self.true_positives = self.add_variable(shape, "zeros", name="true_positives")
        self.false_positives = self.add_variable(shape, "zeros", name="false_positives")
        self.false_negatives = self.add_variable(shape, "zeros", name="false_negatives")
        self.intermediate_weights = self.add_variable(shape, "zeros", name="intermediate_weights")
        self.built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = to_float(y_true, self.dtype), to_float(y_pred, self.dtype)
        if not self.built:
            self.build(tuple(ops.shape(y_true)), tuple(ops.shape(y_pred)))
        if not same_shape(tuple(ops.shape(y_true)), tuple(ops.shape(y_pred))):
            raise ValueError(
                f"{type(self).__name__}: expected y_true and y_pred of the same shape (batch, classes), received "
                f"y_true.shape={tuple(ops.shape(y_true))} and y_pred.shape={tuple(ops.shape(y_pred))}."
            )
        if self.threshold is None:
            top = ops.max(y_pred, axis=-1, keepdims=True)
            predicted = ops.logical_and(ops.greater_equal(y_pred, top), ops.greater(ops.abs(y_pred), 1e-9))
        else:
            predicted = ops.greater(y_pred, float(self.threshold))
        predicted = ops.cast(predicted, self.dtype)
        weight = None if sample_weight is None else ops.expand_dims(to_float(sample_weight, self.dtype), 1)

        def total(x: Tensor) -> Tensor:
            return ops.sum(x if weight is None else ops.multiply(x, weight), axis=self._axis)

        missed = ops.subtract(1.0, predicted)
        for variable, term in (
            (self.true_positives, ops.multiply(predicted, y_true)),
            (self.false_positives, ops.multiply(predicted, ops.subtract(1.0, y_true))),
            (self.false_negatives, ops.multiply(missed, y_true)),
            (self.intermediate_weights, y_true),
        ):
            variable.assign(ops.add(variable.value, total(term)))

    def result(self) -> Tensor:
        if not self.built:
            return ops.convert_to_tensor(0.0)
        tp, fp, fn = self.true_positives.value, self.false_positives.value, self.false_negatives.value
        precision = ops.divide(tp, ops.add(ops.add(tp, fp), epsilon()))
        recall = ops.divide(tp, ops.add(ops.add(tp, fn), epsilon()))
        beta2 = self.beta**2
        score = ops.divide(ops.multiply(precision, recall),
                           ops.add(ops.add(ops.multiply(precision, beta2), recall), epsilon()))
        score = ops.multiply(score, 1.0 + beta2)
        if self.average == "weighted":
            weights = self.intermediate_weights.value
            weights = ops.divide(weights, ops.add(ops.sum(weights), epsilon()))
            return ops.sum(ops.multiply(score, weights))
        if self.average is not None:
            return ops.mean(score)
        return score

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """The harmonic mean of precision and recall (``FBetaScore`` with beta 1).

    Example:
        >>> m = F1Score(threshold=0.5)
        >>> m.update_state([[1, 1, 1], [1, 0, 0]], [[0.9, 0.6, 0.3], [0.2, 0.4, 0.1]])
        >>> m.result()       # per class: [0.6667, 1.0, 0.0]
    """

    def __init__(self, average: str | None = None, threshold: float | None = None, name: str = "f1_score",
                 dtype: str | None = None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config
