"""Every metric: state in non-trainable variables, the stateless forms (also
under ``jit``) agreeing with the stateful ones, reset, configs and lookups."""

from __future__ import annotations

import json

import numpy as np
import pytest

from polykeras import backends, metrics, ops
from polykeras.variables import Variable

from ._helpers import close


def _normal(rng, shape=(6, 4)):
    return rng.normal(size=shape).astype("float32")


def _probs(rng, shape=(6, 4)):
    return rng.uniform(0.05, 0.95, size=shape).astype("float32")


def _labels(rng, shape=(6, 4)):
    return rng.integers(0, 2, size=shape).astype("float32")


def _one_hot(rng):
    return np.eye(4, dtype="float32")[rng.integers(0, 4, size=6)]


def _ids(rng):
    return rng.integers(0, 4, size=(6,))


#: (class, constructor kwargs, make(rng) -> update_state args)
CASES = [
    (metrics.Mean, {}, lambda r: (r.normal(size=(6,)).astype("float32"),)),
    (metrics.Sum, {}, lambda r: (r.normal(size=(6, 4)).astype("float32"),)),
    (metrics.MeanMetricWrapper, {"fn": metrics.binary_accuracy, "threshold": 0.4},
     lambda r: (_labels(r), _probs(r))),
    (metrics.MeanSquaredError, {}, lambda r: (_normal(r), _normal(r))),
    (metrics.RootMeanSquaredError, {}, lambda r: (_normal(r), _normal(r))),
    (metrics.MeanAbsoluteError, {}, lambda r: (_normal(r), _normal(r))),
    (metrics.MeanAbsolutePercentageError, {}, lambda r: (_normal(r), _normal(r))),
    (metrics.MeanSquaredLogarithmicError, {}, lambda r: (_probs(r), _probs(r))),
    (metrics.CosineSimilarity, {"axis": -1}, lambda r: (_normal(r), _normal(r))),
    (metrics.LogCoshError, {}, lambda r: (_normal(r), _normal(r))),
    (metrics.Accuracy, {}, lambda r: (_ids(r), _ids(r))),
    (metrics.BinaryAccuracy, {"threshold": 0.6}, lambda r: (_labels(r), _probs(r))),
    (metrics.CategoricalAccuracy, {}, lambda r: (_one_hot(r), _probs(r))),
    (metrics.SparseCategoricalAccuracy, {}, lambda r: (_ids(r), _probs(r))),
    (metrics.TopKCategoricalAccuracy, {"k": 2}, lambda r: (_one_hot(r), _probs(r))),
    (metrics.SparseTopKCategoricalAccuracy, {"k": 2}, lambda r: (_ids(r), _probs(r))),
    (metrics.AUC, {"curve": "PR"}, lambda r: (_labels(r), _probs(r))),
    (metrics.AUC, {"multi_label": True, "num_labels": 4}, lambda r: (_labels(r), _probs(r))),
    (metrics.Precision, {"thresholds": [0.3, 0.6]}, lambda r: (_labels(r), _probs(r))),
    (metrics.Recall, {"top_k": 2}, lambda r: (_labels(r), _probs(r))),
    (metrics.TruePositives, {}, lambda r: (_labels(r), _probs(r))),
    (metrics.FalseNegatives, {"thresholds": [0.1, 0.9]}, lambda r: (_labels(r), _probs(r))),
    (metrics.FalsePositives, {}, lambda r: (_labels(r), _probs(r))),
    (metrics.TrueNegatives, {"thresholds": 0.4}, lambda r: (_labels(r), _probs(r))),
    (metrics.F1Score, {"average": "macro"}, lambda r: (_labels(r), _probs(r))),
    (metrics.FBetaScore, {"beta": 0.5, "threshold": 0.5}, lambda r: (_labels(r), _probs(r))),
    (metrics.MeanIoU, {"num_classes": 4}, lambda r: (_ids(r), _ids(r))),
    (metrics.IoU, {"num_classes": 4, "target_class_ids": [0, 2], "sparse_y_pred": False},
     lambda r: (_ids(r), _probs(r))),
    (metrics.BinaryCrossentropy, {"from_logits": True}, lambda r: (_labels(r), _normal(r))),
    (metrics.CategoricalCrossentropy, {"label_smoothing": 0.1}, lambda r: (_one_hot(r), _probs(r))),
    (metrics.SparseCategoricalCrossentropy, {}, lambda r: (_ids(r), _probs(r))),
    (metrics.KLDivergence, {}, lambda r: (_probs(r), _probs(r))),
    (metrics.Poisson, {}, lambda r: (_probs(r), _probs(r))),
    (metrics.Hinge, {}, lambda r: (_labels(r), _normal(r))),
    (metrics.SquaredHinge, {}, lambda r: (_labels(r), _normal(r))),
    (metrics.CategoricalHinge, {}, lambda r: (_one_hot(r), _probs(r))),
    (metrics.R2Score, {"num_regressors": 1}, lambda r: (_normal(r), _normal(r))),
    (metrics.PearsonCorrelation, {}, lambda r: (_normal(r), _normal(r))),
    (metrics.ConcordanceCorrelation, {}, lambda r: (_normal(r), _normal(r))),
    (metrics.PrecisionAtRecall, {"recall": 0.5, "num_thresholds": 20}, lambda r: (_labels(r), _probs(r))),
    (metrics.RecallAtPrecision, {"precision": 0.5}, lambda r: (_labels(r), _probs(r))),
    (metrics.SensitivityAtSpecificity, {"specificity": 0.5}, lambda r: (_labels(r), _probs(r))),
    (metrics.SpecificityAtSensitivity, {"sensitivity": 0.5, "class_id": 1}, lambda r: (_labels(r), _probs(r))),
    (metrics.BinaryIoU, {"threshold": 0.4}, lambda r: (_labels(r), _probs(r))),
    (metrics.OneHotIoU, {"num_classes": 4, "target_class_ids": [1, 3]}, lambda r: (_one_hot(r), _probs(r))),
    (metrics.OneHotMeanIoU, {"num_classes": 4}, lambda r: (_one_hot(r), _probs(r))),
]
IDS = [f"{cls.__name__}-{i}" for i, (cls, _, _) in enumerate(CASES)]


def _built(cls, kwargs, batch):
    metric = cls(**kwargs)
    if not metric.built:  # data-shaped state: build it before going stateless
        metric.build(np.shape(batch[0]), np.shape(batch[-1]))
    return metric


def test_every_builtin_metric_has_a_case():
    covered = {cls for cls, _, _ in CASES}
    assert set(metrics.METRIC_CLASSES) <= covered, set(metrics.METRIC_CLASSES) - covered


@pytest.mark.parametrize("cls, kwargs, make", CASES, ids=IDS)
def test_stateless_forms_agree_with_stateful(engine, rng, cls, kwargs, make):
    batches = [make(rng), make(rng)]
    stateful = cls(**kwargs)
    for batch in batches:
        stateful.update_state(*batch)
    stateless = _built(cls, kwargs, batches[0])
    assert stateless.variables and all(isinstance(v, Variable) and not v.trainable for v in stateless.variables)
    state = [v.value for v in stateless.variables]
    for batch in batches:
        state = stateless.stateless_update_state(state, *batch)
    close(stateless.stateless_result(state), ops.to_numpy(stateful.result()))
    for variable in stateless.variables:  # the variables themselves were not touched
        assert not np.any(variable.numpy())
    zeros = stateless.stateless_reset_state()
    assert all(not np.any(ops.to_numpy(z)) for z in zeros)
    stateful.reset_state()
    assert all(not np.any(v.numpy()) for v in stateful.variables)


@pytest.mark.parametrize("cls, kwargs, make", [CASES[i] for i in (1, 12, 16, 18, 24, 26)],
                         ids=[IDS[i] for i in (1, 12, 16, 18, 24, 26)])
def test_stateless_update_under_jit(diff_engine, rng, cls, kwargs, make):
    batches = [tuple(ops.convert_to_tensor(x) for x in make(rng)) for _ in range(2)]
    eager = cls(**kwargs)
    for batch in batches:
        eager.update_state(*batch)
    metric = _built(cls, kwargs, [ops.to_numpy(x) for x in batches[0]])
    step = ops.jit(lambda state, *batch: metric.stateless_update_state(state, *batch))
    state = [v.value for v in metric.variables]
    for batch in batches:
        state = step(state, *batch)
    close(metric.stateless_result(state), ops.to_numpy(eager.result()))


@pytest.fixture
def reference():
    """Configs do not depend on the engine: build the metrics on the NumPy one."""
    with backends.use("numpy") as engine:
        yield engine


@pytest.mark.parametrize("cls, kwargs, make", CASES, ids=IDS)
def test_config_round_trip(reference, cls, kwargs, make):
    metric = cls(**kwargs)
    config = metric.get_config()
    assert json.loads(json.dumps(metrics.serialize(metric))) == metrics.serialize(metric)
    assert cls.from_config(config).get_config() == config
    restored = metrics.deserialize(json.loads(json.dumps(metrics.serialize(metric))))
    assert type(restored) is cls and restored.get_config() == config


def test_get(reference):
    assert type(metrics.get("accuracy")) is metrics.Accuracy
    assert type(metrics.get("mse")) is metrics.MeanSquaredError
    assert type(metrics.get("AUC")) is metrics.AUC
    assert type(metrics.get("sparse_categorical_accuracy")) is metrics.SparseCategoricalAccuracy
    assert type(metrics.get("top_k_categorical_accuracy")) is metrics.TopKCategoricalAccuracy
    assert metrics.get("binary_accuracy").__class__ is metrics.BinaryAccuracy
    m = metrics.get({"class_name": "Precision", "config": {"thresholds": 0.7}})
    assert m.thresholds == [0.7]
    same = metrics.Recall()
    assert metrics.get(same) is same and metrics.get(None) is None
    with pytest.raises(ValueError, match="'accurcy'"):
        metrics.get("accurcy")


def test_metric_names_and_paths(engine):
    m = metrics.Mean(name="val/loss")
    assert [v.path for v in m.variables] == ["val>loss/total", "val>loss/count"]
    assert metrics.AUC().name == "auc" and metrics.MeanIoU(num_classes=2).name == "mean_io_u"
    with pytest.raises(ValueError, match=r"expected 2 values.*received 1"):
        m.stateless_update_state([ops.zeros(())], 1.0)
    with pytest.raises(RuntimeError, match=r"F1Score.*build"):
        metrics.F1Score().stateless_update_state([], np.ones((2, 3)), np.ones((2, 3)))
