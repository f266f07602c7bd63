""":class:`MonitorCallback`: the shared "is this value better?" logic of
EarlyStopping, ModelCheckpoint and ReduceLROnPlateau."""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from polykeras.callbacks.callback import Callback, Logs

#: Metric names (after removing ``val_`` and any output-name prefix) whose
#: direction is known without asking the model.
_HIGHER_IS_BETTER = frozenset({
    "accuracy", "acc", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "auc", "precision", "recall",
    "f1_score", "fbeta_score", "r2_score", "iou", "mean_iou", "binary_iou", "one_hot_iou",
    "one_hot_mean_iou", "true_positives", "true_negatives", "precision_at_recall", "recall_at_precision",
    "sensitivity_at_specificity", "specificity_at_sensitivity", "cosine_similarity",
})
_LOWER_IS_BETTER = frozenset({
    "loss", "mean_squared_error", "mse", "mean_absolute_error", "mae", "mean_absolute_percentage_error",
    "mape", "mean_squared_logarithmic_error", "msle", "root_mean_squared_error", "rmse", "log_cosh_error",
    "logcosh", "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "binary_focal_crossentropy", "categorical_focal_crossentropy", "hinge", "squared_hinge",
    "categorical_hinge", "kl_divergence", "kld", "poisson", "false_positives", "false_negatives",
})


def _model_metrics(model: Any) -> Iterator[Any]:
    for metric in getattr(model, "metrics", None) or ():
        inner = getattr(metric, "metrics", None)
        if isinstance(inner, (list, tuple)):  # a container of compiled metrics
            yield from inner
        yield metric


def infer_direction(monitor: str, model: Any = None) -> str | None:
    """``"max"``, ``"min"`` or None (unknown) for a monitored log key.

    Asks the model's metrics first (a metric with ``_direction`` ``"up"`` or
    ``"down"`` and the same name), then known names; ``dense_1_accuracy``
    counts as ``accuracy``.

    Example: ``infer_direction("val_accuracy")`` -> ``"max"``
    """
    name = monitor.removeprefix("val_")
    for metric in _model_metrics(model):
        direction = getattr(metric, "_direction", None) or getattr(metric, "direction", None)
        if getattr(metric, "name", None) == name and direction in ("up", "down"):
            return "max" if direction == "up" else "min"
    for known, direction in ((_LOWER_IS_BETTER, "min"), (_HIGHER_IS_BETTER, "max")):
        if name in known or any(name.endswith("_" + k) for k in known):
            return direction
    return None


class MonitorCallback(Callback):
    """Base for callbacks that watch one logged value and judge improvement.

    ``_is_improvement(value, reference)`` is ``value - min_delta < reference``
    in min mode and ``value - min_delta > reference`` in max mode (a None
    reference always counts as improved). In ``"auto"`` mode the direction
    comes from :func:`infer_direction`, decided at the first epoch end.

    Args:
        monitor: the log key to watch, e.g. ``"val_loss"``.
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        baseline: the starting best value (None: the first value seen).
        min_delta: the smallest change that counts as an improvement.

    Example:
        >>> class BestPrinter(MonitorCallback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         self._ensure_monitor_op()
        ...         if self._is_improvement(logs[self.monitor], self.best):
        ...             self.best = logs[self.monitor]
        ...             print("new best", self.best)
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", baseline: float | None = None,
                 min_delta: float = 0.0) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__}: mode {mode!r} is unknown, expected 'auto', 'min' or "
                          "'max'; falling back to 'auto'.", stacklevel=3)
            mode = "auto"
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"{type(self).__name__}: expected `monitor` to be a log key such as 'val_loss', "
                             f"received monitor={monitor!r}.")
        self.monitor = monitor
        self.mode = mode
        self.best: float | None = baseline
        self.min_delta = abs(float(min_delta))
        self.monitor_op: Callable[[Any, Any], bool] | None = None

    def _set_monitor_op(self) -> None:
        direction = self.mode if self.mode != "auto" else infer_direction(self.monitor, self.model)
        if direction is None:
            raise ValueError(
                f"{type(self).__name__}: received monitor={self.monitor!r}, but cannot tell whether that "
                "value should be maximized or minimized. Pass mode='max' to track the highest value or "
                "mode='min' to track the lowest.")
        self.monitor_op = operator.lt if direction == "min" else operator.gt
        if direction == "min":
            self.min_delta = -abs(self.min_delta)
        else:
            self.min_delta = abs(self.min_delta)

    def _ensure_monitor_op(self) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        if reference is None:
            return True
        self._ensure_monitor_op()
        assert self.monitor_op is not None
        return bool(self.monitor_op(value - self.min_delta, reference))

    def _monitor_value(self, logs: Logs | None, what: str) -> float | None:
        """``logs[self.monitor]``, or None with a warning naming the keys there are."""
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{type(self).__name__}: {what} is conditioned on `{self.monitor}`, which is not "
                          f"in the logs. Available keys: {', '.join(logs or {}) or '(none)'}.", stacklevel=3)
        return value
