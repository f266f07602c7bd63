"""Mean, Sum, MeanMetricWrapper and the regression / loss metrics built on
them: accumulation over batches, sample weights, reset."""

from __future__ import annotations

import numpy as np
import pytest

from polykeras import losses, metrics

from ._helpers import close, keras_metric


def test_mean_and_sum_accumulate_and_reset(engine):
    mean, total = metrics.Mean(), metrics.Sum()
    for m in (mean, total):
        m.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0])
        m.update_state(np.array([2.0, 4.0]))
    close(mean.result(), (1 + 3 + 2 + 4) / 4)
    close(total.result(), 1 + 3 + 2 + 4)
    mean.reset_state()
    total.reset_state()
    close(mean.result(), 0.0)
    close(total.result(), 0.0)
    mean.update_state(10.0)
    close(mean.result(), 10.0)


def test_mean_folds_non_batch_axes_like_keras(engine, rng):
    values = rng.normal(size=(6, 4)).astype("float32")
    weight = rng.uniform(0, 1, size=(6,)).astype("float32")
    weight_2d = rng.uniform(0, 1, size=(6, 4)).astype("float32")
    m = metrics.Mean()
    m.update_state(values, sample_weight=weight)
    m.update_state(values, sample_weight=weight_2d)
    m.update_state(values)
    expected = keras_metric("Mean", [(values, weight), (values, weight_2d), (values,)])
    close(m.result(), expected)
    per_sample = values.mean(1)
    total = (per_sample * weight).sum() + (values * weight_2d).mean(1).sum() + per_sample.sum()
    count = weight.sum() + weight_2d.mean(1).sum() + 6
    close(m.result(), total / count)


@pytest.mark.parametrize("cls, reference", [
    (metrics.MeanSquaredError, lambda t, p: ((t - p) ** 2).mean(-1)),
    (metrics.MeanAbsoluteError, lambda t, p: np.abs(t - p).mean(-1)),
    (metrics.MeanAbsolutePercentageError, lambda t, p: 100 * np.abs((t - p) / np.maximum(np.abs(t), 1e-7)).mean(-1)),
    (metrics.LogCoshError, lambda t, p: np.log(np.cosh(p - t)).mean(-1)),
    (metrics.CosineSimilarity, lambda t, p: (t * p).sum(-1) / np.linalg.norm(t, axis=-1) / np.linalg.norm(p, axis=-1)),
], ids=lambda x: getattr(x, "__name__", ""))
def test_error_metrics_accumulate(engine, rng, cls, reference):
    batches = [(rng.normal(size=(6, 4)).astype("float32"), rng.normal(size=(6, 4)).astype("float32"),
                rng.uniform(0, 1, size=(6,)).astype("float32")) for _ in range(2)]
    m = cls()
    for t, p, w in batches:
        m.update_state(t, p, sample_weight=w)
    values = np.concatenate([reference(t.astype("float64"), p.astype("float64")) for t, p, _ in batches])
    weights = np.concatenate([w for _, _, w in batches])
    close(m.result(), (values * weights).sum() / weights.sum())


def test_root_mean_squared_error(engine, rng):
    t, p = rng.normal(size=(2, 6, 4)).astype("float32"), rng.normal(size=(2, 6, 4)).astype("float32")
    m = metrics.RootMeanSquaredError()
    m.update_state(t[0], p[0])
    m.update_state(t[1], p[1])
    close(m.result(), np.sqrt(((t - p) ** 2).mean()))
    close(m.result(), keras_metric("RootMeanSquaredError", [(t[0], p[0]), (t[1], p[1])]))


def test_loss_metrics_match_losses(engine, rng):
    logits = rng.normal(size=(6, 4)).astype("float32")
    ids = rng.integers(0, 4, size=(6,))
    labels = rng.integers(0, 2, size=(6, 4)).astype("float32")
    close(metrics.SparseCategoricalCrossentropy(from_logits=True)(ids, logits),
          losses.SparseCategoricalCrossentropy(from_logits=True)(ids, logits))
    close(metrics.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)(np.eye(4)[ids], logits),
          losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)(np.eye(4)[ids], logits))
    close(metrics.BinaryCrossentropy(from_logits=True)(labels, logits),
          losses.BinaryCrossentropy(from_logits=True)(labels, logits))
    close(metrics.Hinge()(labels, logits), losses.Hinge()(labels, logits))


def test_mean_metric_wrapper_passes_kwargs(engine, rng):
    t, p = rng.normal(size=(6, 4)).astype("float32"), rng.normal(size=(6, 4)).astype("float32")
    m = metrics.MeanMetricWrapper(losses.huber, name="huber", delta=0.3)
    m.update_state(t, p)
    close(m.result(), losses.Huber(delta=0.3)(t, p))
    assert m.name == "huber"
    restored = metrics.deserialize(metrics.serialize(m))
    assert restored.get_config() == m.get_config() and restored.get_config()["delta"] == 0.3


def test_bad_sample_weight_names_the_metric(engine):
    with pytest.raises(ValueError, match=r"Mean.*sample_weight.*\(3,\)"):
        metrics.Mean().update_state(np.ones((2,)), sample_weight=np.ones((3,)))
    with pytest.raises(ValueError, match=r"MeanSquaredError.*\(2, 3\).*\(2, 4\)"):
        metrics.MeanSquaredError().update_state(np.ones((2, 3)), np.ones((2, 4)))
