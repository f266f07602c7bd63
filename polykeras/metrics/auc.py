"""``AUC``: the area under the ROC or precision-recall curve, approximated
with a Riemann sum over ``num_thresholds`` thresholds, as Keras 3 does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.metrics.confusion import confusion_counts, evenly_spaced, parse_thresholds
from polykeras.metrics.metric import Metric, Tensor, to_float
from polykeras.config import epsilon

CURVES = ("ROC", "PR", "PRGAIN")
SUMMATION_METHODS = ("interpolation", "majoring", "minoring")


class AUC(Metric):
    """Area under the ROC (``curve="ROC"``) or precision-recall (``"PR"``)
    curve. Predictions are scores in ``[0, 1]`` (``from_logits=True`` applies a
    sigmoid first); labels are 0/1.

    Args:
        num_thresholds: thresholds ``[0 - eps, 1/(n-1), ..., 1 + eps]``; more
            gives a finer approximation.
        curve: ``"ROC"``, ``"PR"`` or ``"PRGAIN"``.
        summation_method: ``"interpolation"`` (trapezoids; for PR the
            interpolation of Davis & Goadrich), ``"majoring"`` or ``"minoring"``.
        thresholds: explicit thresholds in ``[0, 1]`` instead of ``num_thresholds``.
        multi_label: one curve per label of ``(batch, labels)`` data, averaged
            (weighted by ``label_weights``), instead of one curve over all entries.
        num_labels: the label count with ``multi_label`` (else the first batch sets it).
        label_weights: per-label weights.

    Example:
        >>> m = AUC(num_thresholds=3)
        >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
        >>> m.result()      # 0.75
    """

    def __init__(
        self, num_thresholds: int = 200, curve: str = "ROC", summation_method: str = "interpolation",
        name: str | None = None, dtype: str | None = None, thresholds: Sequence[float] | None = None,
        multi_label: bool = False, num_labels: int | None = None, label_weights: Any = None,
        from_logits: bool = False,
    ):
        super().__init__(name=name, dtype=dtype)
        curve_key = str(curve).upper()
        if curve_key not in CURVES:
            raise ValueError(f"AUC: expected curve in {CURVES}, received curve={curve!r}.")
        method = str(summation_method).lower()
        if method not in SUMMATION_METHODS:
            raise ValueError(
                f"AUC: expected summation_method in {SUMMATION_METHODS}, "
                f"received summation_method={summation_method!r}."
            )
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(parse_thresholds("AUC", thresholds, 0.5))
            self.num_thresholds = len(inner) + 2
            self._evenly = evenly_spaced([0.0, *inner, 1.0])
        else:
            if not isinstance(num_thresholds, int) or num_thresholds <= 1:
                raise ValueError(
                    f"AUC: expected an int num_thresholds > 1, received num_thresholds={num_thresholds!r}."
                )
            self.num_thresholds = num_thresholds
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        self._thresholds = [0.0 - epsilon(), *inner, 1.0 + epsilon()]
        self.curve = curve_key
        self.summation_method = method
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else [float(w) for w in np.ravel(label_weights)]
        self._from_logits = from_logits
        if num_labels and not multi_label:
            raise ValueError(f"AUC: num_labels is used only with multi_label=True, received num_labels={num_labels}.")
        self.built = False
        if not multi_label:
            self._make_state(None)
        elif num_labels:
            self._make_state(int(num_labels))

    @property
    def thresholds(self) -> list[float]:
        """The thresholds, including the two outside ``[0, 1]``."""
        return list(self._thresholds)

    def _make_state(self, labels: int | None) -> None:
        shape = (self.num_thresholds,) if labels is None else (self.num_thresholds, labels)
        self._num_labels = labels
        self.true_positives = self.add_variable(shape, "zeros", name="true_positives")
        self.false_positives = self.add_variable(shape, "zeros", name="false_positives")
        self.true_negatives = self.add_variable(shape, "zeros", name="true_negatives")
        self.false_negatives = self.add_variable(shape, "zeros", name="false_negatives")
        self.built = True

    def build(self, y_true_shape: Sequence[int | None], y_pred_shape: Sequence[int | None]) -> None:
        if self.built:
            return
        if len(y_pred_shape) != 2 or y_pred_shape[-1] is None:
            raise ValueError(
                "AUC(multi_label=True): expected y_pred of shape (batch, labels), "
                f"received shape {tuple(y_pred_shape)}."
            )
        self._make_state(int(y_pred_shape[-1]))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = to_float(y_pred)
        if not self.built:
            self.build(tuple(ops.shape(to_float(y_true))), tuple(ops.shape(y_pred)))
        if self._from_logits:
            y_pred = ops.sigmoid(y_pred)
        label_weights = None if self.multi_label or self.label_weights is None else \
            ops.convert_to_tensor(np.asarray(self.label_weights, "float32"))
        counts = confusion_counts(
            "AUC", y_true, y_pred, self._thresholds, ("tp", "fp", "tn", "fn"), sample_weight=sample_weight,
            multi_label=self.multi_label, label_weights=label_weights, evenly=self._evenly,
        )
        for variable, kind in ((self.true_positives, "tp"), (self.false_positives, "fp"),
                               (self.true_negatives, "tn"), (self.false_negatives, "fn")):
            variable.assign(ops.add(variable.value, counts[kind]))

    # --------------------------------------------------------------- result
    def _head(self, x: Tensor) -> Tensor:
        shape = tuple(ops.shape(x))
        return ops.slice(x, (0,) * len(shape), (shape[0] - 1,) + shape[1:])

    def _tail(self, x: Tensor) -> Tensor:
        shape = tuple(ops.shape(x))
        return ops.slice(x, (1,) + (0,) * (len(shape) - 1), (shape[0] - 1,) + shape[1:])

    def _by_label(self, terms: Tensor) -> Tensor:
        if not self.multi_label:
            return ops.sum(terms)
        per_label = ops.sum(terms, axis=0)
        if self.label_weights is None:
            return ops.mean(per_label)
        weights = ops.convert_to_tensor(np.asarray(self.label_weights, "float32"))
        return ops.divide_no_nan(ops.sum(ops.multiply(per_label, weights)), ops.sum(weights))

    def interpolate_pr_auc(self) -> Tensor:
        """The area under the precision-recall curve of the counts so far,
        precision interpolated between thresholds (Davis & Goadrich 2006):
        ``result()`` of a ``curve="PR"`` AUC, whatever this one's curve.

        Example:
            >>> auc = AUC()
            >>> auc.update_state([0, 1, 1], [0.2, 0.6, 0.9])
            >>> pr_auc = auc.interpolate_pr_auc()
        """
        if not self.built:
            return ops.convert_to_tensor(0.0)
        tp, fp, fn = self.true_positives.value, self.false_positives.value, self.false_negatives.value
        head, tail = self._head, self._tail
        dtp = ops.subtract(head(tp), tail(tp))
        p = ops.add(tp, fp)
        dp = ops.subtract(head(p), tail(p))
        slope = ops.divide_no_nan(dtp, ops.maximum(dp, 0.0))
        intercept = ops.subtract(tail(tp), ops.multiply(slope, tail(p)))
        both = ops.logical_and(ops.greater(head(p), 0.0), ops.greater(tail(p), 0.0))
        ratio = ops.where(both, ops.divide_no_nan(head(p), ops.maximum(tail(p), 0.0)), ops.ones_like(tail(p)))
        increment = ops.divide_no_nan(
            ops.multiply(slope, ops.add(dtp, ops.multiply(intercept, ops.log(ratio)))),
            ops.maximum(ops.add(tail(tp), tail(fn)), 0.0),
        )
        return self._by_label(increment)

    def result(self) -> Tensor:
        if not self.built:
            return ops.convert_to_tensor(0.0)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self.interpolate_pr_auc()
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        recall = ops.divide_no_nan(tp, ops.add(tp, fn))
        if self.curve == "ROC":
            x, y = ops.divide_no_nan(fp, ops.add(fp, tn)), recall
        elif self.curve == "PR":
            x, y = recall, ops.divide_no_nan(tp, ops.add(tp, fp))
        else:
            scale = ops.divide_no_nan(ops.add(tp, fn), ops.add(tn, fp))
            no_tp = ops.equal(tp, 0.0)
            recall_gain = ops.subtract(1.0, ops.multiply(scale, ops.divide_no_nan(fn, tp)))
            precision_gain = ops.subtract(1.0, ops.multiply(scale, ops.divide_no_nan(fp, tp)))
            x = ops.maximum(ops.where(no_tp, ops.zeros_like(tp), recall_gain), 0.0)
            y = ops.where(no_tp, ops.ones_like(tp), precision_gain)
        if self.summation_method == "interpolation":
            heights = ops.divide(ops.add(self._head(y), self._tail(y)), 2.0)
        elif self.summation_method == "minoring":
            heights = ops.minimum(self._head(y), self._tail(y))
        else:
            heights = ops.maximum(self._head(y), self._tail(y))
        return self._by_label(ops.multiply(ops.subtract(self._head(x), self._tail(x)), heights))

    def get_config(self) -> dict[str, Any]:
        config = {
            **super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
            "summation_method": self.summation_method, "multi_label": self.multi_label,
            "num_labels": self.num_labels, "label_weights": self.label_weights, "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self._thresholds[1:-1]
        return config
