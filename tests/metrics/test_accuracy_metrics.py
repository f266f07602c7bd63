"""Accuracy metrics against NumPy, accumulated over batches, and the
"accuracy" shortcut resolved the Keras 3 way."""

from __future__ import annotations

import numpy as np
import pytest

from polykeras import losses, metrics

from ._helpers import close, keras_metric


def _batches(rng, n=2, batch=6, classes=4):
    return [(rng.integers(0, classes, size=(batch,)), rng.uniform(size=(batch, classes)).astype("float32"),
             rng.uniform(0, 1, size=(batch,)).astype("float32")) for _ in range(n)]


def _weighted(hits, weights):
    hits, weights = np.concatenate(hits), np.concatenate(weights)
    return (hits * weights).sum() / weights.sum()


def test_sparse_and_categorical_accuracy(engine, rng):
    batches = _batches(rng)
    sparse, categorical = metrics.SparseCategoricalAccuracy(), metrics.CategoricalAccuracy()
    for ids, scores, weight in batches:
        sparse.update_state(ids[:, None], scores, sample_weight=weight)  # (batch, 1) ids work too
        categorical.update_state(np.eye(4)[ids], scores, sample_weight=weight)
    expected = _weighted([s.argmax(-1) == i for i, s, _ in batches], [w for *_, w in batches])
    close(sparse.result(), expected)
    close(categorical.result(), expected)
    sparse.reset_state()
    close(sparse.result(), 0.0)


@pytest.mark.parametrize("k", [1, 3])
def test_top_k_accuracy(engine, rng, k):
    batches = _batches(rng)
    sparse, dense = metrics.SparseTopKCategoricalAccuracy(k=k), metrics.TopKCategoricalAccuracy(k=k)
    for ids, scores, weight in batches:
        sparse.update_state(ids, scores, sample_weight=weight)
        dense.update_state(np.eye(4)[ids], scores, sample_weight=weight)
    hits = [(s > s[np.arange(len(i)), i][:, None]).sum(-1) < k for i, s, _ in batches]
    expected = _weighted(hits, [w for *_, w in batches])
    close(sparse.result(), expected)
    close(dense.result(), expected)
    close(sparse.result(), keras_metric("SparseTopKCategoricalAccuracy", batches, k=k))


def test_top_k_from_sorted_ids_and_ties(engine):
    sorted_ids = np.array([[2, 0, 1], [1, 2, 0]])
    close(metrics.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True)([0, 0], sorted_ids), 0.5)
    # A tie with the k-th score counts as inside the top k.
    close(metrics.sparse_top_k_categorical_accuracy([1], [[0.5, 0.5, 0.1]], k=1), [1.0])


def test_binary_accuracy_and_accuracy(engine, rng):
    labels = rng.integers(0, 2, size=(2, 6, 1)).astype("float32")
    scores = rng.uniform(size=(2, 6, 1)).astype("float32")
    m = metrics.BinaryAccuracy(threshold=0.3)
    m.update_state(labels[0], scores[0])
    m.update_state(labels[1, :, 0], scores[1])  # (batch,) labels against (batch, 1) scores
    close(m.result(), ((scores > 0.3) == labels).mean())
    close(metrics.Accuracy()([1, 2, 3, 4], [0, 2, 3, 4]), 0.75)
    close(metrics.binary_accuracy([[1.0], [0.0]], [[0.7], [0.6]]), [[1.0], [0.0]])


def test_accuracy_in_sequences(engine, rng):
    ids = rng.integers(0, 4, size=(2, 3))
    scores = rng.uniform(size=(2, 3, 4)).astype("float32")
    close(metrics.sparse_categorical_accuracy(ids, scores), (scores.argmax(-1) == ids).astype("float32"))
    close(metrics.SparseCategoricalAccuracy()(ids, scores), (scores.argmax(-1) == ids).mean())


def test_resolve_accuracy_the_keras_3_way():
    resolve = metrics.resolve
    assert type(resolve("accuracy", y_true_shape=(8, 1), y_pred_shape=(8, 1))) is metrics.BinaryAccuracy
    assert type(resolve("accuracy", y_true_shape=(8,), y_pred_shape=(8, 10))) is metrics.SparseCategoricalAccuracy
    assert type(resolve("acc", y_true_shape=(8, 1), y_pred_shape=(8, 10))) is metrics.SparseCategoricalAccuracy
    assert type(resolve("accuracy", y_true_shape=(8, 10), y_pred_shape=(8, 10))) is metrics.CategoricalAccuracy
    assert type(resolve("accuracy", y_true_shape=(8,), y_pred_shape=(8,))) is metrics.BinaryAccuracy
    assert type(resolve("acc", loss="binary_crossentropy")) is metrics.BinaryAccuracy
    assert type(resolve("acc", loss=losses.SparseCategoricalCrossentropy())) is metrics.SparseCategoricalAccuracy
    assert type(resolve("accuracy", loss="categorical_crossentropy")) is metrics.CategoricalAccuracy
    assert resolve("acc", loss="bce").name == "acc"
    assert resolve("Accuracy", y_true_shape=(4, 1), y_pred_shape=(4, 1)).name == "Accuracy"
    wrapped = resolve(losses.mean_squared_error)
    assert isinstance(wrapped, metrics.MeanMetricWrapper) and wrapped.name == "mean_squared_error"
    assert type(resolve("mae")) is metrics.MeanAbsoluteError and resolve("mae").name == "mae"
    with pytest.raises(ValueError, match=r"y_true_shape.*loss"):
        resolve("accuracy")


def test_bad_inputs_name_the_metric(engine):
    with pytest.raises(ValueError, match=r"SparseCategoricalAccuracy.*\(4,\).*\(3,\)"):
        metrics.SparseCategoricalAccuracy().update_state(np.zeros(3), np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"CategoricalAccuracy.*sparse_"):
        metrics.CategoricalAccuracy().update_state(np.zeros(4), np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"BinaryAccuracy.*\(4, 2\).*\(4, 3\)"):
        metrics.BinaryAccuracy().update_state(np.zeros((4, 2)), np.ones((4, 3)))
