"""Metrics: stateful ``Metric`` objects (state in non-trainable variables,
``metric.variables``), the per-sample accuracy functions, and the lookups a
trainer uses (``get``, ``serialize``, ``deserialize``, ``resolve``).

Example:
    >>> from polykeras import metrics
    >>> m = metrics.get("accuracy")                          # Accuracy()
    >>> m = metrics.resolve("accuracy", y_true_shape=(32,), y_pred_shape=(32, 10))
    >>> type(m).__name__
    'SparseCategoricalAccuracy'
    >>> m.update_state(labels, scores); m.result(); m.reset_state()
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from polykeras import losses as _losses
from polykeras.losses.loss import snake_case
from polykeras.metrics.accuracy import (
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy, accuracy, binary_accuracy, categorical_accuracy, in_top_k,
    sparse_categorical_accuracy, sparse_top_k_categorical_accuracy, top_k_categorical_accuracy,
)
from polykeras.metrics.auc import AUC
from polykeras.metrics.confusion import (
    FalseNegatives, FalsePositives, Precision, PrecisionAtRecall, Recall, RecallAtPrecision, SensitivityAtSpecificity,
    SpecificityAtSensitivity, TrueNegatives, TruePositives,
)
from polykeras.metrics.correlation import (
    ConcordanceCorrelation, PearsonCorrelation, concordance_correlation, pearson_correlation,
)
from polykeras.metrics.f_score import F1Score, FBetaScore
from polykeras.metrics.iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from polykeras.metrics.metric import Metric
from polykeras.metrics.reduction import Mean, MeanMetricWrapper, Sum
from polykeras.metrics.regression import (
    BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge, CosineSimilarity, Hinge, KLDivergence,
    LogCoshError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError, MeanSquaredLogarithmicError,
    Poisson, R2Score, RootMeanSquaredError, SparseCategoricalCrossentropy, SquaredHinge,
)
from polykeras import registry as _registry

# keras.metrics exports these loss functions: the very objects of keras.losses.
from polykeras.losses import (  # noqa: E402
    binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy, categorical_focal_crossentropy,
    categorical_hinge, hinge, huber, kl_divergence, log_cosh, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_error, mean_squared_logarithmic_error, poisson, sparse_categorical_crossentropy, squared_hinge,
)

METRIC_CLASSES: tuple[type[Metric], ...] = (
    Mean, Sum, MeanMetricWrapper,
    MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, CosineSimilarity, LogCoshError,
    AUC, Precision, Recall, TruePositives, FalsePositives, TrueNegatives, FalseNegatives,
    Hinge, SquaredHinge, CategoricalHinge,
    KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    F1Score, FBetaScore, IoU, MeanIoU,
    R2Score, PearsonCorrelation, ConcordanceCorrelation, PrecisionAtRecall, RecallAtPrecision,
    SensitivityAtSpecificity, SpecificityAtSensitivity, BinaryIoU, OneHotIoU, OneHotMeanIoU,
)

METRIC_FUNCTIONS: tuple[Callable[..., Any], ...] = (
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy,
    sparse_top_k_categorical_accuracy, pearson_correlation, concordance_correlation,
)

#: Per-sample functions by name (what ``MeanMetricWrapper`` configs name).
FUNCTIONS: dict[str, Callable[..., Any]] = {
    **{fn.__name__: fn for fn in _losses.LOSS_FUNCTIONS},
    **{fn.__name__: fn for fn in METRIC_FUNCTIONS},
}

#: Names ``get``/``deserialize`` know: class names, their snake-case names and
#: Keras 3's short names; then the loss functions (usable with MeanMetricWrapper).
ALL_OBJECTS: dict[str, Any] = {
    **FUNCTIONS,
    Metric.__name__: Metric,
    **{cls.__name__: cls for cls in METRIC_CLASSES},
    **{snake_case(cls.__name__): cls for cls in METRIC_CLASSES},
    "mse": MeanSquaredError, "MSE": MeanSquaredError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy, "logcosh": LogCoshError, "acc": Accuracy,
    "mean_iou": MeanIoU, "iou": IoU,
}

for _fn in METRIC_FUNCTIONS:
    _registry.register_builtin(_fn, _fn.__name__)
for _cls in (Metric, *METRIC_CLASSES):
    _cls.__module__ = __name__  # the public path, as configs show it

__all__ = [
    "AUC", "Accuracy", "BinaryAccuracy", "BinaryCrossentropy", "CategoricalAccuracy",
    "CategoricalCrossentropy", "CategoricalHinge", "CosineSimilarity", "F1Score", "FBetaScore",
    "FalseNegatives", "FalsePositives", "Hinge", "IoU", "KLDivergence", "LogCoshError", "Mean",
    "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanIoU", "MeanMetricWrapper", "MeanSquaredError",
    "MeanSquaredLogarithmicError", "Metric", "Poisson", "Precision", "Recall", "RootMeanSquaredError",
    "SparseCategoricalAccuracy", "SparseCategoricalCrossentropy", "SparseTopKCategoricalAccuracy",
    "SquaredHinge", "Sum", "TopKCategoricalAccuracy", "TrueNegatives", "TruePositives", "accuracy",
    "binary_accuracy", "categorical_accuracy", "deserialize", "get", "in_top_k", "resolve", "serialize",
    "sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy", "top_k_categorical_accuracy",
    "BinaryIoU", "ConcordanceCorrelation", "OneHotIoU", "OneHotMeanIoU", "PearsonCorrelation", "PrecisionAtRecall",
    "R2Score", "RecallAtPrecision", "SensitivityAtSpecificity", "SpecificityAtSensitivity",
    "concordance_correlation", "pearson_correlation",
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy", "categorical_focal_crossentropy",
    "categorical_hinge", "hinge", "huber", "kl_divergence", "log_cosh", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_error", "mean_squared_logarithmic_error", "poisson",
    "sparse_categorical_crossentropy", "squared_hinge",
]


def serialize(metric: Metric | Callable[..., Any]) -> Any:
    """JSON-safe data for a metric object, or the name of a built-in function.

    Example: ``serialize(AUC(curve="PR"))["config"]["curve"]`` -> ``'PR'``
    """
    return _registry.serialize(metric, where=f"metric {getattr(metric, 'name', getattr(metric, '__name__', metric))!r}")


def deserialize(config: Any, custom_objects: Mapping[str, Any] | None = None) -> Any:
    """The metric (or metric function) described by ``config``: built-ins
    first, then ``custom_objects`` and registered objects; nothing is imported.

    Example: ``deserialize({"class_name": "AUC", "config": {"curve": "PR"}})``
    """
    table = {**ALL_OBJECTS, **(custom_objects or {})}
    if isinstance(config, str):
        found = _registry.get_registered_object(config, table)
        if found is None:
            raise ValueError(
                f"metrics.deserialize: expected the name of a built-in or registered metric, received {config!r}."
            )
        return found
    return _registry.deserialize(config, custom_objects=table, kind="metric")


def get(identifier: Any) -> Any:
    """A metric from an identifier: None, a name (``"mse"``, ``"accuracy"``,
    ``"AUC"``; classes are instantiated with their defaults), a config dict, a
    callable or a :class:`Metric` (returned as is).

    Example: ``get("mae")`` -> ``MeanAbsoluteError()``
    """
    return _registry.get_object(identifier, ALL_OBJECTS, deserialize, "metric",
                                "'accuracy', 'mae' or 'AUC'")


_BINARY_LOSSES = ("binary_crossentropy", "binary_focal_crossentropy", "hinge", "squared_hinge")
_SPARSE_LOSSES = ("sparse_categorical_crossentropy",)


def _loss_name(loss: Any) -> str | None:
    if loss is None:
        return None
    if isinstance(loss, str):
        found = _losses.ALL_OBJECTS.get(loss)
        return _loss_name(found) if found is not None and found is not loss else loss
    if isinstance(loss, _losses.LossFunctionWrapper):
        return getattr(loss.fn, "__name__", None)
    return getattr(loss, "__name__", None)


def resolve(
    identifier: Any, loss: Any = None, y_true_shape: Sequence[int | None] | None = None,
    y_pred_shape: Sequence[int | None] | None = None,
) -> Metric:
    """A :class:`Metric` object for a trainer. ``"accuracy"``/``"acc"`` pick
    ``BinaryAccuracy`` (y_pred's last axis is 1), ``SparseCategoricalAccuracy``
    (y_true has a lower rank, or a last axis of 1 against several classes) or
    ``CategoricalAccuracy``, from the shapes as Keras 3 does; 1-D predictions
    give ``BinaryAccuracy``. Without shapes the ``loss`` decides (binary or
    sparse cross-entropy / hinge). Functions are wrapped in
    :class:`MeanMetricWrapper`; a string identifier becomes the metric's name.
    Given both shapes, metrics whose state depends on them (``F1Score``) are
    built, so ``metric.variables`` is complete before a compiled step.

    Example: ``resolve("acc", loss="binary_crossentropy")`` -> ``BinaryAccuracy(name="acc")``
    """
    if identifier is None:
        raise ValueError("metrics.resolve: expected a metric identifier, received None.")
    name = identifier if isinstance(identifier, str) else None
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        cls = _accuracy_class(identifier, loss, y_true_shape, y_pred_shape)
        return cls(name=identifier)
    found = get(identifier)
    if not isinstance(found, Metric):
        if isinstance(found, _losses.Loss):
            found = MeanMetricWrapper(found.call, name=name or found.name)
        else:
            found = MeanMetricWrapper(found, name=name or getattr(found, "__name__", None))
    elif name is not None:
        found.name = name
    if not found.built and y_true_shape is not None and y_pred_shape is not None:
        found.build(tuple(y_true_shape), tuple(y_pred_shape))  # state known before a compiled step
    return found


def _accuracy_class(identifier: str, loss: Any, y_true_shape: Any, y_pred_shape: Any) -> type[Metric]:
    if y_true_shape is not None and y_pred_shape is not None:
        if len(tuple(y_pred_shape)) <= 1:
            return BinaryAccuracy
        binary, sparse = _losses.is_binary_or_sparse_categorical(y_true_shape, y_pred_shape)
        return BinaryAccuracy if binary else SparseCategoricalAccuracy if sparse else CategoricalAccuracy
    loss_name = _loss_name(loss)
    if loss_name in _BINARY_LOSSES:
        return BinaryAccuracy
    if loss_name in _SPARSE_LOSSES:
        return SparseCategoricalAccuracy
    if loss_name == "categorical_crossentropy":
        return CategoricalAccuracy
    raise ValueError(
        f"metrics.resolve({identifier!r}): expected y_true_shape and y_pred_shape (or a cross-entropy loss) to "
        f"choose binary, categorical or sparse categorical accuracy, received y_true_shape={y_true_shape}, "
        f"y_pred_shape={y_pred_shape} and loss={loss!r}."
    )
