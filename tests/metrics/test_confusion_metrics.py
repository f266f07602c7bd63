"""Precision, Recall, the counts, AUC, F1/FBeta and IoU against NumPy,
scikit-learn and Keras 3."""

from __future__ import annotations

import numpy as np
import pytest

from polykeras import metrics

from ._helpers import close, keras_metric


def _binary_batches(rng, n=2, shape=(6, 4)):
    return [(rng.integers(0, 2, size=shape).astype("float32"), rng.uniform(size=shape).astype("float32"),
             rng.uniform(0, 1, size=shape[:1]).astype("float32")) for _ in range(n)]


def _counts(batches, threshold):
    out = dict(tp=0.0, fp=0.0, tn=0.0, fn=0.0)
    for t, p, w in batches:
        w = np.broadcast_to(w.reshape(w.shape + (1,) * (t.ndim - 1)), t.shape)
        pos = p > threshold
        out["tp"] += (w * (pos & (t == 1))).sum()
        out["fp"] += (w * (pos & (t == 0))).sum()
        out["tn"] += (w * (~pos & (t == 0))).sum()
        out["fn"] += (w * (~pos & (t == 1))).sum()
    return out


def test_precision_recall_and_counts_accumulate(engine, rng):
    batches = _binary_batches(rng)
    thresholds = [0.2, 0.5, 0.9]
    made = {cls: cls(thresholds=thresholds) for cls in (
        metrics.Precision, metrics.Recall, metrics.TruePositives, metrics.FalsePositives,
        metrics.TrueNegatives, metrics.FalseNegatives)}
    for m in made.values():
        for t, p, w in batches:
            m.update_state(t, p, sample_weight=w)
    counts = [_counts(batches, th) for th in thresholds]
    column = lambda key: np.array([c[key] for c in counts])  # noqa: E731
    close(made[metrics.Precision].result(), column("tp") / (column("tp") + column("fp")))
    close(made[metrics.Recall].result(), column("tp") / (column("tp") + column("fn")))
    for cls, key in ((metrics.TruePositives, "tp"), (metrics.FalsePositives, "fp"),
                     (metrics.TrueNegatives, "tn"), (metrics.FalseNegatives, "fn")):
        close(made[cls].result(), column(key))
    single = metrics.Precision()
    single.update_state(*batches[0][:2])
    assert ops_shape(single.result()) == ()
    close(single.result(), keras_metric("Precision", [batches[0][:2]]))


def ops_shape(x):
    from polykeras import ops

    return tuple(ops.shape(x))


def test_precision_top_k_and_class_id(engine, rng):
    labels = rng.integers(0, 2, size=(6, 4)).astype("float32")
    scores = rng.uniform(size=(6, 4)).astype("float32")
    for kwargs in (dict(top_k=2), dict(class_id=1), dict(top_k=1, class_id=2), dict(thresholds=[0.3, 0.6], class_id=3)):
        for name in ("Precision", "Recall"):
            m = getattr(metrics, name)(**kwargs)
            m.update_state(labels, scores)
            close(m.result(), keras_metric(name, [(labels, scores)], **kwargs))


@pytest.mark.parametrize("curve, method", [("ROC", "interpolation"), ("PR", "interpolation"),
                                           ("ROC", "majoring"), ("PR", "minoring"), ("PRGAIN", "interpolation")])
def test_auc_matches_keras(engine, rng, curve, method):
    batches = _binary_batches(rng)
    m = metrics.AUC(curve=curve, summation_method=method)
    for batch in batches:
        m.update_state(*batch)
    close(m.result(), keras_metric("AUC", batches, curve=curve, summation_method=method),
          rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("curve, multi_label", [("ROC", False), ("PR", False), ("ROC", True)])
def test_auc_interpolate_pr_auc_matches_keras(engine, rng, curve, multi_label):
    batches = _binary_batches(rng)
    m = metrics.AUC(curve=curve, multi_label=multi_label)
    close(m.interpolate_pr_auc(), 0.0)  # nothing counted yet
    for batch in batches:
        m.update_state(*batch)
    expected = keras_metric("AUC", batches, method="interpolate_pr_auc", curve=curve, multi_label=multi_label)
    close(m.interpolate_pr_auc(), expected, rtol=1e-4, atol=1e-5)


def test_auc_approaches_sklearn_and_resets(engine, rng):
    from sklearn.metrics import roc_auc_score

    labels = rng.integers(0, 2, size=(8, 6, 4))
    scores = np.clip(labels * 0.3 + rng.uniform(size=labels.shape) * 0.7, 0, 1).astype("float32")
    m = metrics.AUC()
    for t, p in zip(labels, scores):
        m.update_state(t, p)
    close(m.result(), roc_auc_score(labels.ravel(), scores.ravel()), atol=3e-3)
    m.reset_state()
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    close(metrics.AUC(num_thresholds=3)([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]), 0.75)


def test_auc_multi_label_logits_and_explicit_thresholds(engine, rng):
    labels = rng.integers(0, 2, size=(6, 4)).astype("float32")
    logits = rng.normal(size=(6, 4)).astype("float32")
    weights = [0.2, 0.5, 0.3, 0.6]
    lazy = metrics.AUC(multi_label=True, from_logits=True, label_weights=weights)
    assert lazy.variables == []
    lazy.update_state(labels, logits)
    assert len(lazy.variables) == 4 and lazy.variables[0].shape == (200, 4)
    close(lazy.result(), keras_metric("AUC", [(labels, logits)], multi_label=True, from_logits=True,
                                      label_weights=weights))
    explicit = metrics.AUC(thresholds=[0.2, 0.45, 0.7], curve="PR")
    explicit.update_state(labels, 1 / (1 + np.exp(-logits)))
    close(explicit.result(), keras_metric("AUC", [(labels, 1 / (1 + np.exp(-logits)))],
                                          thresholds=[0.2, 0.45, 0.7], curve="PR"))


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
def test_f1_score_matches_sklearn(engine, rng, average):
    from sklearn.metrics import f1_score

    labels = rng.integers(0, 2, size=(2, 6, 4)).astype("float32")
    scores = rng.uniform(size=(2, 6, 4)).astype("float32")
    m = metrics.F1Score(average=average, threshold=0.5)
    m.update_state(labels[0], scores[0])
    m.update_state(labels[1], scores[1])
    close(m.result(), f1_score(labels.reshape(12, 4), scores.reshape(12, 4) > 0.5, average=average,
                               zero_division=0), atol=1e-5)


def test_fbeta_argmax_and_weights_match_keras(engine, rng):
    ids = rng.integers(0, 4, size=(6,))
    labels = np.eye(4, dtype="float32")[ids]
    scores = rng.uniform(size=(6, 4)).astype("float32")
    weight = rng.uniform(size=(6,)).astype("float32")
    m = metrics.FBetaScore(beta=2.0, average="weighted")
    m.update_state(labels, scores, sample_weight=weight)
    close(m.result(), keras_metric("FBetaScore", [(labels, scores, weight)], beta=2.0, average="weighted"))


def test_mean_iou(engine, rng):
    t = rng.integers(0, 4, size=(6, 4))
    p = rng.integers(0, 4, size=(6, 4))
    t[0, 0] = 255
    m = metrics.MeanIoU(num_classes=4, ignore_class=255)
    m.update_state(t[:3], p[:3])
    m.update_state(t[3:], p[3:])
    keep = t != 255
    cm = np.zeros((4, 4))
    np.add.at(cm, (t[keep], p[keep]), 1)
    tp = np.diag(cm)
    denominator = cm.sum(0) + cm.sum(1) - tp
    present = denominator > 0
    close(m.result(), (tp[present] / denominator[present]).mean())
    close(metrics.MeanIoU(num_classes=2)([0, 0, 1, 1], [0, 1, 0, 1]), 1 / 3)
    one_hot = metrics.MeanIoU(num_classes=4, sparse_y_pred=False)
    scores = np.eye(4, dtype="float32")[p]
    one_hot.update_state(np.where(keep, t, 0), scores, sample_weight=keep.astype("float32"))
    close(one_hot.result(), m.result())
    iou = metrics.IoU(num_classes=4, target_class_ids=[1])
    iou.update_state(t[keep], p[keep])
    close(iou.result(), tp[1] / denominator[1])


def test_bad_arguments(engine):
    with pytest.raises(ValueError, match=r"thresholds in \[0, 1\].*1.5"):
        metrics.Precision(thresholds=[0.5, 1.5])
    with pytest.raises(ValueError, match=r"curve.*'XY'"):
        metrics.AUC(curve="XY")
    with pytest.raises(ValueError, match=r"num_thresholds.*1"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match=r"average.*'median'"):
        metrics.F1Score(average="median")
    with pytest.raises(ValueError, match=r"F1Score.*\(batch, classes\).*\(4,\)"):
        metrics.F1Score().update_state(np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match=r"target_class_ids.*\[5\]"):
        metrics.IoU(num_classes=3, target_class_ids=[5])
    with pytest.raises(ValueError, match=r"Recall.*\(4,\).*\(5,\)"):
        metrics.Recall().update_state(np.ones(4), np.ones(5))
