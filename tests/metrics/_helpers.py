"""Shared helpers of the metric tests."""

from __future__ import annotations

import os

import numpy as np

from polykeras import ops


def close(actual, expected, rtol=1e-4, atol=1e-5):
    """``actual`` (a tensor) equals ``expected`` (NumPy) within tolerance."""
    np.testing.assert_allclose(ops.to_numpy(actual), expected, rtol=rtol, atol=atol)


def keras_metric(name: str, batches, method: str = "result", **kwargs) -> np.ndarray:
    """The result (or another reading, ``method``) of a Keras 3 metric (NumPy
    backend) after ``update_state`` on each ``(y_true, y_pred[, sample_weight])``
    in ``batches``."""
    os.environ.setdefault("KERAS_BACKEND", "numpy")
    import keras

    with np.errstate(divide="ignore", invalid="ignore"):  # Keras' own 0/0 guards
        metric = getattr(keras.metrics, name)(**kwargs)
        for batch in batches:
            metric.update_state(*batch)
        return np.asarray(getattr(metric, method)())
