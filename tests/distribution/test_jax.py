"""JAX: a 1-D mesh over 4 host CPU devices, in a subprocess (XLA_FLAGS must
precede the jax import)."""

import importlib.util

import numpy as np
import pytest

from tests.distribution._launch import last_json, run_workers

pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")


@pytest.fixture(scope="module")
def result():
    [(rc, out, err)] = run_workers("jax_data_parallel.py", [{}], deadline=240)
    assert rc == 0, f"worker failed (rc {rc}):\n{err[-4000:]}"
    return last_json(out)


def test_mesh_over_four_devices(result):
    assert result["devices"] == ["cpu:0", "cpu:1", "cpu:2", "cpu:3"]
    assert result["active"] and result["active_after"]
    assert result["kernel_replicated"] == [True, 4]


def test_fit_matches_single_device_on_the_global_batch(result):
    assert result["weights_diff"] <= 1e-6, result["weights_diff"]
    for key, values in result["history_single"].items():
        np.testing.assert_allclose(result["history_parallel"][key], values, rtol=1e-5, atol=1e-6)


def test_batch_normalization_statistics_are_global(result):
    assert result["bn_diff"] <= 1e-6, result["bn_diff"]


def test_evaluate_metrics_and_predict_are_reduced_over_replicas(result):
    for key, value in result["eval_single"].items():
        np.testing.assert_allclose(result["eval_parallel"][key], value, rtol=1e-5, atol=1e-6)
    assert result["predict_diff"] <= 1e-5


def test_custom_loop(result):
    assert result["custom_loop_diff"] <= 1e-6, result["custom_loop_diff"]
