"""Confusion-matrix metrics: true/false positive/negative counts at
thresholds, ``Precision``, ``Recall`` and ``AUC``, Keras 3 names and defaults.

A prediction counts as positive at threshold ``t`` when ``y_pred > t``. With
evenly spaced thresholds (AUC's default) each prediction is dropped into its
bucket once (O(n)) and the counts are suffix sums over the buckets, as Keras
does; other thresholds compare every prediction with every threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.losses.loss import same_shape, squeeze_or_expand_to_same_rank
from polykeras.metrics.metric import Metric, Tensor, to_float
from polykeras.config import epsilon

#: The score given to entries outside the top k (``top_k=``).
NEG_INF = -1e10
KINDS = ("tp", "fp", "tn", "fn")


def parse_thresholds(owner: str, thresholds: float | Sequence[float] | None, default: float) -> list[float]:
    """``thresholds`` as a list of floats in ``[0, 1]`` (``default`` if None).

    Example: ``parse_thresholds("Precision", 0.7, 0.5)`` -> ``[0.7]``
    """
    if thresholds is None:
        return [float(default)]
    values = [thresholds] if isinstance(thresholds, (int, float)) else list(thresholds)
    bad = [t for t in values if not isinstance(t, (int, float)) or not 0.0 <= t <= 1.0]
    if bad or not values:
        raise ValueError(f"{owner}: expected thresholds in [0, 1], received thresholds={thresholds!r}.")
    return [float(t) for t in values]


def evenly_spaced(thresholds: Sequence[float]) -> bool:
    """True for ``[0, 1/(n-1), ..., 1]`` (n >= 3), give or take epsilon.

    Example: ``evenly_spaced([0.0, 0.5, 1.0])`` -> True
    """
    n = len(thresholds)
    return n >= 3 and bool(np.allclose(thresholds, np.arange(n) / (n - 1), atol=epsilon()))


def _top_k_only(y_pred: Tensor, k: int) -> Tensor:
    """``y_pred`` with everything outside the top ``k`` of the last axis set to NEG_INF."""
    _, idx = ops.top_k(y_pred, k)
    keep = ops.sum(ops.one_hot(idx, ops.shape(y_pred)[-1], dtype=ops.dtype(y_pred)), axis=-2)
    return ops.add(ops.multiply(y_pred, keep), ops.multiply(ops.subtract(1.0, keep), NEG_INF))


def confusion_counts(
    owner: str, y_true: Any, y_pred: Any, thresholds: Sequence[float], kinds: Sequence[str],
    sample_weight: Any = None, top_k: int | None = None, class_id: int | None = None,
    multi_label: bool = False, label_weights: Any = None, evenly: bool = False,
) -> dict[str, Tensor]:
    """Weighted counts per threshold: ``{"tp": (T,), ...}`` (``(T, labels)``
    with ``multi_label``) for the ``kinds`` asked.

    Example: ``confusion_counts("Recall", y, p, [0.5], ("tp", "fn"))``
    """
    y_true, y_pred = to_float(y_true), to_float(y_pred)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if not same_shape(tuple(ops.shape(y_true)), tuple(ops.shape(y_pred))):
        raise ValueError(
            f"{owner}: expected y_true and y_pred of the same shape, received "
            f"y_true.shape={tuple(ops.shape(y_true))} and y_pred.shape={tuple(ops.shape(y_pred))}."
        )
    shape = tuple(ops.shape(y_pred))
    weight = ops.ones(shape)
    if sample_weight is not None:
        w = to_float(sample_weight)
        while len(ops.shape(w)) < len(shape):
            w = ops.expand_dims(w, -1)
        try:
            weight = ops.broadcast_to(w, shape)
        except ValueError as err:
            raise ValueError(
                f"{owner}: expected sample_weight that broadcasts from the batch axis to y_pred's shape "
                f"{shape}, received sample_weight.shape={tuple(ops.shape(to_float(sample_weight)))}."
            ) from err
    if top_k is not None:
        y_pred = _top_k_only(y_pred, top_k)
    if class_id is not None:
        if len(shape) < 2:
            raise ValueError(f"{owner}: expected y_pred of shape (batch, classes) with class_id, received {shape}.")
        pick = ops.convert_to_tensor([int(class_id)])
        y_true, y_pred, weight = (ops.take(x, pick, axis=-1) for x in (y_true, y_pred, weight))
    if label_weights is not None and not multi_label:
        weight = ops.multiply(weight, to_float(label_weights))
    if multi_label:
        labels = ops.shape(y_pred)[-1]
        y_true, y_pred, weight = (ops.reshape(x, (-1, labels)) for x in (y_true, y_pred, weight))
    else:
        y_true, y_pred, weight = (ops.reshape(x, (-1,)) for x in (y_true, y_pred, weight))
    positive = ops.cast(ops.not_equal(y_true, 0.0), "float32")
    pos_w, neg_w = ops.multiply(positive, weight), ops.multiply(ops.subtract(1.0, positive), weight)
    if evenly:
        with_epsilon = thresholds[0] < 0.0 or thresholds[-1] > 1.0
        tp, fp = _bucket_counts(y_pred, pos_w, neg_w, len(thresholds), multi_label, with_epsilon)
    else:
        column = (-1,) + (1,) * len(ops.shape(y_pred))
        t = ops.convert_to_tensor(np.asarray(thresholds, dtype="float32").reshape(column))
        above = ops.cast(ops.greater(ops.expand_dims(y_pred, 0), t), "float32")  # (T, n[, labels])
        tp = ops.sum(ops.multiply(above, pos_w), axis=1)
        fp = ops.sum(ops.multiply(above, neg_w), axis=1)
    out = {"tp": tp, "fp": fp}
    if "fn" in kinds:
        out["fn"] = ops.subtract(ops.sum(pos_w, axis=0), tp)
    if "tn" in kinds:
        out["tn"] = ops.subtract(ops.sum(neg_w, axis=0), fp)
    return {kind: out[kind] for kind in kinds}


def _bucket_counts(
    y_pred: Tensor, pos_w: Tensor, neg_w: Tensor, n: int, multi_label: bool, with_epsilon: bool
) -> tuple[Tensor, Tensor]:
    """tp/fp for thresholds ``[-eps, 1/(n-1), ..., 1 + eps]`` (or the same
    without the epsilons): bucket ``ceil(p * (n - 1)) - 1`` holds predictions
    above thresholds ``0..bucket``; counts are suffix sums of the buckets.
    Without the epsilons a prediction of 0 is above no threshold."""
    y_pred = ops.clip(y_pred, 0.0, 1.0)
    bucket = ops.subtract(ops.ceil(ops.multiply(y_pred, float(n - 1))), 1.0)
    if not with_epsilon:
        above_none = ops.less(bucket, 0.0)
        pos_w = ops.where(above_none, ops.zeros_like(pos_w), pos_w)
        neg_w = ops.where(above_none, ops.zeros_like(neg_w), neg_w)
    bucket = ops.cast(ops.maximum(bucket, 0.0), "int32")
    if multi_label:
        labels = ops.shape(y_pred)[-1]
        label_ids = ops.broadcast_to(ops.arange(labels, dtype="int32"), ops.shape(bucket))
        index = ops.stack([ops.reshape(bucket, (-1,)), ops.reshape(label_ids, (-1,))], axis=1)
        shape: tuple[int, ...] = (n, labels)
        pos_w, neg_w = ops.reshape(pos_w, (-1,)), ops.reshape(neg_w, (-1,))
    else:
        index, shape = ops.expand_dims(bucket, -1), (n,)
    tp_buckets, fp_buckets = ops.scatter(index, pos_w, shape), ops.scatter(index, neg_w, shape)
    suffix = lambda x: ops.flip(ops.cumsum(ops.flip(x, axis=0), axis=0), axis=0)  # noqa: E731
    return suffix(tp_buckets), suffix(fp_buckets)


class _ConfusionBase(Metric):
    """Counts per threshold, accumulated in one variable per kind."""

    _KINDS: tuple[str, ...] = ()

    def __init__(self, thresholds: Any = None, top_k: int | None = None, class_id: int | None = None,
                 name: str | None = None, dtype: str | None = None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default = 0.5 if top_k is None else NEG_INF
        self.thresholds = parse_thresholds(type(self).__name__, thresholds, default)
        self._evenly = evenly_spaced(self.thresholds)
        names = {"tp": "true_positives", "fp": "false_positives", "tn": "true_negatives", "fn": "false_negatives"}
        self._state = {kind: self.add_variable((len(self.thresholds),), "zeros", name=names[kind])
                       for kind in self._KINDS}

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        counts = confusion_counts(type(self).__name__, y_true, y_pred, self.thresholds, self._KINDS,
                                  sample_weight=sample_weight, top_k=self.top_k, class_id=self.class_id,
                                  evenly=self._evenly)
        for kind, variable in self._state.items():
            variable.assign(ops.add(variable.value, counts[kind]))

    def _single(self, x: Tensor) -> Tensor:
        return ops.reshape(x, ()) if len(self.thresholds) == 1 else x

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


def _count_metric(kind: str, class_name: str) -> type[_ConfusionBase]:
    class Count(_ConfusionBase):
        _KINDS = (kind,)

        def __init__(self, thresholds: Any = None, name: str | None = None, dtype: str | None = None):
            super().__init__(thresholds=thresholds, name=name, dtype=dtype)

        def result(self) -> Tensor:
            return self._single(ops.add(self._state[kind].value, 0.0))

        def get_config(self) -> dict[str, Any]:
            return {"name": self.name, "dtype": self.dtype, "thresholds": self.init_thresholds}

    Count.__name__ = Count.__qualname__ = class_name
    Count.__doc__ = (f"Weighted count of {class_name[:-1].lower()}s at each threshold "
                     f"(a scalar for one threshold).\n\n    Example: ``{class_name}(thresholds=[0.3, 0.7])``\n    ")
    return Count


TruePositives = _count_metric("tp", "TruePositives")
FalsePositives = _count_metric("fp", "FalsePositives")
TrueNegatives = _count_metric("tn", "TrueNegatives")
FalseNegatives = _count_metric("fn", "FalseNegatives")


class Precision(_ConfusionBase):
    """``tp / (tp + fp)`` at each threshold (a scalar for one threshold).
    ``top_k`` counts only the k best scores as positive; ``class_id`` looks at
    one class of a ``(batch, classes)`` prediction.

    Example: ``Precision()([0, 1, 1, 1], [1, 0, 1, 1])`` -> 0.6667
    """

    _KINDS = ("tp", "fp")

    def result(self) -> Tensor:
        tp, fp = self._state["tp"].value, self._state["fp"].value
        return self._single(ops.divide_no_nan(tp, ops.add(tp, fp)))


class Recall(_ConfusionBase):
    """``tp / (tp + fn)`` at each threshold (a scalar for one threshold).

    Example: ``Recall()([0, 1, 1, 1], [1, 0, 1, 1])`` -> 0.6667
    """

    _KINDS = ("tp", "fn")

    def result(self) -> Tensor:
        tp, fn = self._state["tp"].value, self._state["fn"].value
        return self._single(ops.divide_no_nan(tp, ops.add(tp, fn)))




class _ConstrainedBase(Metric):
    """The best value of one rate where another meets a constraint, read from
    counts at ``num_thresholds`` evenly spaced thresholds ``[0, 1/(n-1), ..., 1]``
    (``[0.5]`` for one). Subclasses name the constraint (``_CONSTRAINT``) and
    give ``_rates() -> (constrained, optimised)``."""

    _CONSTRAINT = ""

    def __init__(self, value: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: str | None = None):
        owner = type(self).__name__
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ValueError(f"{owner}: expected {self._CONSTRAINT} in [0, 1], received {self._CONSTRAINT}={value!r}.")
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or num_thresholds <= 0:
            raise ValueError(f"{owner}: expected an int num_thresholds > 0, "
                             f"received num_thresholds={num_thresholds!r}.")
        super().__init__(name=name, dtype=dtype)
        self.value = value
        self.num_thresholds = num_thresholds
        self.class_id = class_id
        if num_thresholds == 1:
            self.thresholds, self._evenly = [0.5], False
        else:
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds, self._evenly = [0.0, *inner, 1.0], True
        size = (len(self.thresholds),)
        self.true_positives = self.add_variable(size, "zeros", name="true_positives")
        self.false_positives = self.add_variable(size, "zeros", name="false_positives")
        self.true_negatives = self.add_variable(size, "zeros", name="true_negatives")
        self.false_negatives = self.add_variable(size, "zeros", name="false_negatives")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        counts = confusion_counts(type(self).__name__, y_true, y_pred, self.thresholds, KINDS,
                                  sample_weight=sample_weight, class_id=self.class_id, evenly=self._evenly)
        for variable, kind in ((self.true_positives, "tp"), (self.false_positives, "fp"),
                               (self.true_negatives, "tn"), (self.false_negatives, "fn")):
            variable.assign(ops.add(variable.value, counts[kind]))

    def _rate(self, kind: str) -> Tensor:
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        pairs = {"recall": (tp, fn), "precision": (tp, fp), "specificity": (tn, fp)}
        hit, miss = pairs[kind]
        return ops.divide_no_nan(hit, ops.add(hit, miss))

    def _rates(self) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def result(self) -> Tensor:
        constrained, optimised = self._rates()
        feasible = ops.greater_equal(constrained, float(self.value))
        return ops.maximum(ops.max(ops.where(feasible, optimised, ops.zeros_like(optimised))), 0.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_id": self.class_id, "num_thresholds": self.num_thresholds,
                self._CONSTRAINT: self.value}


class SensitivityAtSpecificity(_ConstrainedBase):
    """The best sensitivity (recall) at thresholds whose specificity is at
    least ``specificity``.

    Example:
        >>> m = SensitivityAtSpecificity(0.5)
        >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
        >>> m.result()      # 0.5
    """

    _CONSTRAINT = "specificity"

    def __init__(self, specificity: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: str | None = None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)
        self.specificity = specificity

    def _rates(self) -> tuple[Tensor, Tensor]:
        return self._rate("specificity"), self._rate("recall")


class SpecificityAtSensitivity(_ConstrainedBase):
    """The best specificity at thresholds whose sensitivity (recall) is at
    least ``sensitivity``.

    Example:
        >>> m = SpecificityAtSensitivity(0.5)
        >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
        >>> m.result()      # 0.6667
    """

    _CONSTRAINT = "sensitivity"

    def __init__(self, sensitivity: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: str | None = None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)
        self.sensitivity = sensitivity

    def _rates(self) -> tuple[Tensor, Tensor]:
        return self._rate("recall"), self._rate("specificity")


class PrecisionAtRecall(_ConstrainedBase):
    """The best precision at thresholds whose recall is at least ``recall``.

    Example:
        >>> m = PrecisionAtRecall(0.5)
        >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
        >>> m.result()      # 0.5
    """

    _CONSTRAINT = "recall"

    def __init__(self, recall: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: str | None = None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)
        self.recall = recall

    def _rates(self) -> tuple[Tensor, Tensor]:
        return self._rate("recall"), self._rate("precision")


class RecallAtPrecision(_ConstrainedBase):
    """The best recall at thresholds whose precision is at least ``precision``.

    Example:
        >>> m = RecallAtPrecision(0.8)
        >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
        >>> m.result()      # 0.5
    """

    _CONSTRAINT = "precision"

    def __init__(self, precision: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: str | None = None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)
        self.precision = precision

    def _rates(self) -> tuple[Tensor, Tensor]:
        return self._rate("precision"), self._rate("recall")
