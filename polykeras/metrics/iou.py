"""Intersection-over-union metrics from an accumulated confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import ops
from polykeras.losses.loss import same_shape
from polykeras.metrics.metric import Metric, Tensor, to_float, value_of
from polykeras.config import epsilon


class IoU(Metric):
    """Mean IoU ``tp / (tp + fp + fn)`` over ``target_class_ids``, from a
    ``(num_classes, num_classes)`` confusion matrix (rows: true class,
    columns: predicted class). Classes absent from both labels and
    predictions are left out of the mean.

    Args:
        num_classes: number of classes.
        target_class_ids: the classes averaged.
        ignore_class: a label id left out (e.g. 255 for "void").
        sparse_y_true / sparse_y_pred: False when that input holds per-class
            scores (its argmax along ``axis`` is taken).
        dtype: dtype of the confusion matrix, ``"int32"`` by default (exact
            counts at any size; sample weights are truncated to integers).
            Give ``"float32"`` for fractional weights.

    Example:
        >>> m = IoU(num_classes=2, target_class_ids=[0])
        >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
        >>> m.result()      # 1 / (1 + 1 + 1)
    """

    def __init__(self, num_classes: int, target_class_ids: Sequence[int], name: str | None = None,
                 dtype: str | None = None, ignore_class: int | None = None, sparse_y_true: bool = True,
                 sparse_y_pred: bool = True, axis: int = -1):
        super().__init__(name=name, dtype=dtype or "int32")
        owner = type(self).__name__
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"{owner}: expected an int num_classes >= 1, received num_classes={num_classes!r}.")
        ids = [int(i) for i in target_class_ids]
        if not ids or min(ids) < 0 or max(ids) >= num_classes:
            raise ValueError(
                f"{owner}: expected target_class_ids in [0, {num_classes}), received target_class_ids={ids}."
            )
        self.num_classes = num_classes
        self.target_class_ids = ids
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable((num_classes, num_classes), "zeros", name="total_confusion_matrix")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = value_of(y_true), value_of(y_pred)
        y_true = ops.argmax(to_float(y_true), axis=self.axis) if not self.sparse_y_true else to_float(y_true)
        y_pred = ops.argmax(to_float(y_pred), axis=self.axis) if not self.sparse_y_pred else to_float(y_pred)
        y_true = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        y_pred = ops.reshape(ops.cast(y_pred, "int32"), (-1,))
        if not same_shape(tuple(ops.shape(y_true)), tuple(ops.shape(y_pred))):
            raise ValueError(
                f"{type(self).__name__}: expected as many labels as predictions, received {ops.shape(y_true)[0]} "
                f"labels and {ops.shape(y_pred)[0]} predictions."
            )
        weight = ops.ones(ops.shape(y_true), dtype=self.dtype)
        if sample_weight is not None:
            w = ops.reshape(to_float(sample_weight, self.dtype), (-1,))
            weight = ops.broadcast_to(w, ops.shape(y_true))
        inside = ops.logical_and(
            ops.logical_and(ops.greater_equal(y_true, 0), ops.less(y_true, self.num_classes)),
            ops.logical_and(ops.greater_equal(y_pred, 0), ops.less(y_pred, self.num_classes)),
        )
        if self.ignore_class is not None:
            inside = ops.logical_and(inside, ops.not_equal(y_true, int(self.ignore_class)))
        zero = ops.zeros_like(y_true)
        index = ops.stack([ops.where(inside, y_true, zero), ops.where(inside, y_pred, zero)], axis=1)
        weight = ops.where(inside, weight, ops.zeros_like(weight))
        matrix = ops.scatter(index, weight, (self.num_classes, self.num_classes))
        self.total_cm.assign(ops.add(self.total_cm.value, matrix))

    def _per_class(self) -> tuple[Tensor, Tensor]:
        cm = to_float(self.total_cm.value)
        tp = ops.sum(ops.multiply(cm, ops.eye(self.num_classes)), axis=1)
        denominator = ops.subtract(ops.add(ops.sum(cm, axis=0), ops.sum(cm, axis=1)), tp)
        ids = ops.convert_to_tensor(self.target_class_ids)
        return ops.take(tp, ids), ops.take(denominator, ids)

    def result(self) -> Tensor:
        tp, denominator = self._per_class()
        valid = ops.greater(denominator, 1e-9)
        iou = ops.where(valid, ops.divide(tp, ops.add(denominator, epsilon())), ops.zeros_like(tp))
        return ops.divide_no_nan(ops.sum(iou), ops.sum(ops.cast(valid, "float32")))

    def get_config(self) -> dict[str, Any]:
        return {
            "num_classes": self.num_classes, "target_class_ids": self.target_class_ids, "name": self.name,
            "dtype": self.dtype, "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
            "sparse_y_pred": self.sparse_y_pred, "axis": self.axis,
        }


class MeanIoU(IoU):
    """IoU averaged over all ``num_classes`` classes (those present).

    Example:
        >>> m = MeanIoU(num_classes=2)
        >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
        >>> m.result()      # (1/3 + 1/3) / 2
    """

    def __init__(self, num_classes: int, name: str | None = None, dtype: str | None = None,
                 ignore_class: int | None = None, sparse_y_true: bool = True, sparse_y_pred: bool = True,
                 axis: int = -1):
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred,
                         axis=axis)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["target_class_ids"]
        return config


class BinaryIoU(IoU):
    """IoU of a binary task: predictions at or above ``threshold`` are class 1,
    the rest class 0; the mean over ``target_class_ids`` (``[0]``, ``[1]`` or both).

    Example:
        >>> m = BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
        >>> m.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7])
        >>> m.result()      # 0.3333
    """

    def __init__(self, target_class_ids: Sequence[int] = (0, 1), threshold: float = 0.5, name: str | None = None,
                 dtype: str | None = None):
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise ValueError(f"BinaryIoU: expected a float threshold, received threshold={threshold!r}.")
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        predicted = ops.cast(ops.greater_equal(to_float(value_of(y_pred)), float(self.threshold)), "int32")
        super().update_state(y_true, predicted, sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": self.dtype}


class OneHotIoU(IoU):
    """:class:`IoU` of one-hot labels (their argmax along ``axis`` is the
    class); predictions are scores unless ``sparse_y_pred``.

    Example:
        >>> m = OneHotIoU(num_classes=3, target_class_ids=[0, 2])
        >>> m.update_state([[0, 0, 1], [1, 0, 0]], [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7]])
    """

    def __init__(self, num_classes: int, target_class_ids: Sequence[int], name: str | None = None,
                 dtype: str | None = None, ignore_class: int | None = None, sparse_y_pred: bool = False,
                 axis: int = -1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["sparse_y_true"]
        return config


class OneHotMeanIoU(MeanIoU):
    """:class:`MeanIoU` of one-hot labels (their argmax along ``axis``).

    Example:
        >>> m = OneHotMeanIoU(num_classes=3)
        >>> m.update_state([[0, 0, 1], [1, 0, 0]], [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7]])
    """

    def __init__(self, num_classes: int, name: str | None = None, dtype: str | None = None,
                 ignore_class: int | None = None, sparse_y_pred: bool = False, axis: int = -1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["sparse_y_true"]
        return config
