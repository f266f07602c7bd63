"""A mask a layer attaches to its output weighs losses and metrics, on every engine."""

from __future__ import annotations

import numpy as np

import polykeras as pk
from polykeras import layers, ops


def test_mask_on_predictions_leaves_entries_out(engine):
    y_true = np.array([[1.0, 2.0, 3.0]], "float32")[..., None]  # (batch, steps, features)
    y_pred = ops.convert_to_tensor(np.array([[1.0, 2.0, 100.0]], "float32")[..., None])
    layers.set_mask(y_pred, ops.convert_to_tensor(np.array([[True, True, False]])))
    loss = pk.losses.MeanSquaredError()(y_true, y_pred)
    assert float(ops.to_numpy(loss)) == 0.0
    metric = pk.metrics.MeanSquaredError()
    metric.update_state(y_true, y_pred)
    assert float(ops.to_numpy(metric.result())) == 0.0
