"""Accuracy metrics: per-sample match functions and their running means,
Keras 3 names and defaults."""

from __future__ import annotations

from typing import Any

from polykeras import ops
from polykeras.losses.loss import LossInputError, align_same_shape, same_shape
from polykeras.metrics.metric import Tensor, to_float, value_of
from polykeras.metrics.reduction import MeanMetricWrapper


def _matches(a: Tensor, b: Tensor) -> Tensor:
    return ops.cast(ops.equal(a, b), "float32")


def _class_ids(name: str, y_true: Any, y_pred: Tensor) -> Tensor:
    """Integer ids shaped like ``y_pred`` less its last axis (a trailing
    axis of size 1 is dropped)."""
    y_true = value_of(y_true)
    if not ops.is_tensor(y_true):
        y_true = ops.convert_to_tensor(y_true)
    pred_shape, true_shape = tuple(ops.shape(y_pred)), tuple(ops.shape(y_true))
    if len(true_shape) == len(pred_shape) and true_shape and true_shape[-1] == 1:
        y_true = ops.squeeze(y_true, axis=-1)
    if not same_shape(tuple(ops.shape(y_true)), pred_shape[:-1]):
        raise LossInputError(
            f"{name}: expected integer class ids y_true of shape {pred_shape[:-1]} (y_pred's shape without "
            f"its class axis), received y_true.shape={true_shape} and y_pred.shape={pred_shape}."
        )
    return ops.cast(y_true, "int32")


def _one_hot_ids(name: str, y_true: Any, y_pred: Tensor) -> Tensor:
    y_true = to_float(y_true)
    if not same_shape(tuple(ops.shape(y_true)), tuple(ops.shape(y_pred))):
        raise LossInputError(
            f"{name}: expected one-hot y_true of the same shape as y_pred, received "
            f"y_true.shape={tuple(ops.shape(y_true))} and y_pred.shape={tuple(ops.shape(y_pred))}. "
            "For integer class ids use the sparse_ variant."
        )
    return ops.argmax(y_true, axis=-1)


def in_top_k(targets: Tensor, predictions: Tensor, k: int) -> Tensor:
    """True where the score of class ``targets`` is among the ``k`` largest of
    ``predictions`` (ties with the k-th score count as in).

    Example: ``in_top_k(ops.convert_to_tensor([2]), ops.convert_to_tensor([[0.1, 0.5, 0.4]]), 2)`` -> ``[True]``
    """
    at_target = ops.take_along_axis(predictions, ops.expand_dims(targets, -1), axis=-1)
    higher = ops.sum(ops.cast(ops.greater(predictions, at_target), "int32"), axis=-1)
    return ops.less(higher, k)


def accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """1.0 where ``y_true == y_pred`` exactly, else 0.0.

    Example: ``accuracy([1, 2, 3], [1, 2, 4])`` -> ``[1., 1., 0.]``
    """
    y_pred = to_float(y_pred)
    y_true, y_pred = align_same_shape("accuracy", to_float(y_true), y_pred)
    return _matches(y_true, y_pred)


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> Tensor:
    """1.0 where ``(y_pred > threshold) == y_true``.

    Example: ``binary_accuracy([[1.], [0.]], [[0.7], [0.6]])`` -> ``[[1.], [0.]]``
    """
    y_true, y_pred = align_same_shape("binary_accuracy", to_float(y_true), to_float(y_pred))
    return _matches(y_true, ops.cast(ops.greater(y_pred, float(threshold)), "float32"))


def categorical_accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """1.0 where the argmax of one-hot ``y_true`` equals the argmax of ``y_pred``.

    Example: ``categorical_accuracy([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])`` -> ``[0., 1.]``
    """
    y_pred = to_float(y_pred)
    ids = _one_hot_ids("categorical_accuracy", y_true, y_pred)
    return _matches(ids, ops.argmax(y_pred, axis=-1))


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """1.0 where the integer id ``y_true`` equals the argmax of ``y_pred``.

    Example: ``sparse_categorical_accuracy([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])`` -> ``[0., 1.]``
    """
    y_pred = to_float(y_pred)
    ids = _class_ids("sparse_categorical_accuracy", y_true, y_pred)
    return _matches(ids, ops.cast(ops.argmax(y_pred, axis=-1), "int32"))


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> Tensor:
    """1.0 where the one-hot target's class is among the ``k`` top scores.

    Example: ``top_k_categorical_accuracy([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], k=1)``
    """
    y_pred = to_float(y_pred)
    ids = _one_hot_ids("top_k_categorical_accuracy", y_true, y_pred)
    return ops.cast(in_top_k(ops.cast(ids, "int32"), y_pred, k), "float32")


def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5, from_sorted_ids: bool = False) -> Tensor:
    """1.0 where the id ``y_true`` is among the ``k`` top scores of ``y_pred``;
    with ``from_sorted_ids``, ``y_pred`` holds class ids sorted best first.

    Example: ``sparse_top_k_categorical_accuracy([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], k=1)``
    """
    y_pred = value_of(y_pred)
    if from_sorted_ids:
        y_pred = ops.cast(y_pred if ops.is_tensor(y_pred) else ops.convert_to_tensor(y_pred), "int32")
        ids = _class_ids("sparse_top_k_categorical_accuracy", y_true, y_pred)
        shape = tuple(ops.shape(y_pred))
        best = ops.slice(y_pred, (0,) * len(shape), shape[:-1] + (min(k, shape[-1]),))
        return ops.cast(ops.any(ops.equal(ops.expand_dims(ids, -1), best), axis=-1), "float32")
    y_pred = to_float(y_pred)
    ids = _class_ids("sparse_top_k_categorical_accuracy", y_true, y_pred)
    return ops.cast(in_top_k(ids, y_pred, k), "float32")


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly.

    Example: ``Accuracy()([1, 2, 3, 4], [0, 2, 3, 4])`` -> 0.75
    """

    def __init__(self, name: str = "accuracy", dtype: str | None = None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches the 0/1 label.

    Example: ``BinaryAccuracy(threshold=0.5)([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])`` -> 0.75
    """

    def __init__(self, name: str = "binary_accuracy", dtype: str | None = None, threshold: float = 0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of the prediction matches the one-hot label.

    Example: ``CategoricalAccuracy()([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])`` -> 0.5
    """

    def __init__(self, name: str = "categorical_accuracy", dtype: str | None = None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of the prediction matches the integer label.

    Example: ``SparseCategoricalAccuracy()([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])`` -> 0.5
    """

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: str | None = None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target is among the top ``k`` predictions.

    Example: ``TopKCategoricalAccuracy(k=1)([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])`` -> 0.5
    """

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: str | None = None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer target is among the top ``k`` predictions.

    Example: ``SparseTopKCategoricalAccuracy(k=1)([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])`` -> 0.5
    """

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype: str | None = None,
                 from_sorted_ids: bool = False):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids
