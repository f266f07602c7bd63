"""JAX data parallelism, in subprocesses (XLA_FLAGS must precede the jax import):
a 1-D mesh over 4 host CPU devices of one process, then over 2 processes of 2
devices each (joined through ``polykeras.distribution.initialize``)."""

import importlib.util
import socket

import numpy as np
import pytest

from tests.distribution._launch import free_port, last_json, run_workers

pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")

TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}


def _processes(port: int, world: int, ids: list[int]) -> list[dict[str, str]]:
    return [{"JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{port}", "JAX_NUM_PROCESSES": str(world),
             "JAX_PROCESS_ID": str(i)} for i in ids]


def _join(envs: list[dict[str, str]], timeout: str = "3") -> list[dict]:
    runs = run_workers("join.py", envs, ["jax", timeout], deadline=60)
    for rc, out, err in runs:
        assert rc == 0, f"join worker failed (rc {rc}):\n{err[-4000:]}"
    return [last_json(out) for _, out, _ in runs]


# ----------------------------------------------------------------- one process, 4 devices
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
        np.testing.assert_allclose(result["history_parallel"][key], values, **TOLERANCE)


def test_batch_normalization_statistics_are_global(result):
    assert result["bn_diff"] <= 1e-6, result["bn_diff"]


def test_evaluate_metrics_and_predict_are_reduced_over_replicas(result):
    for key, value in result["eval_single"].items():
        np.testing.assert_allclose(result["eval_parallel"][key], value, **TOLERANCE)
    assert result["predict_diff"] <= 1e-5


def test_custom_loop(result):
    assert result["custom_loop_diff"] <= 1e-6, result["custom_loop_diff"]


# ---------------------------------------------------------- two processes, 2 devices each
@pytest.fixture(scope="module")
def processes(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("jax_mp")
    runs = run_workers("jax_multi_process.py", _processes(free_port(), 2, [0, 1]), [str(scratch)], deadline=150)
    for rc, _, err in runs:
        assert rc == 0, f"worker failed (rc {rc}):\n{err[-4000:]}"
    return [(last_json(out), out) for _, out, _ in runs]


def test_two_processes_joined_into_one_mesh(processes):
    assert [(r["rank"], r["world"], r["chief"]) for r, _ in processes] == [(0, 2, True), (1, 2, False)]
    for result, _ in processes:
        assert len(result["devices"]) == 4 and result["mesh"] == result["devices"]
        assert result["kernel_replicated"] == [True, 4]


def test_fit_across_processes_matches_single_process_on_the_global_batch(processes):
    for result, _ in processes:  # process 1 started from other weights: process 0's were taken
        assert result["weights_diff"] <= 1e-6, result["weights_diff"]
        for key, values in result["history_single"].items():
            np.testing.assert_allclose(result["history_parallel"][key], values, **TOLERANCE)


def test_batch_normalization_statistics_are_the_global_batch_s(processes):
    for result, _ in processes:
        assert result["bn_diff"] <= 1e-6, result["bn_diff"]


def test_evaluate_and_predict_across_processes(processes):
    for result, _ in processes:
        for key, value in result["eval_single"].items():
            np.testing.assert_allclose(result["eval_parallel"][key], value, **TOLERANCE)
        assert result["predict_shape"] == [62, 3]  # every row, on every process
        assert result["predict_diff"] <= 1e-6, result["predict_diff"]


def test_custom_loop_of_many_unwaited_steps(processes):
    for result, _ in processes:
        assert result["custom_loop_diff"] <= 1e-6, result["custom_loop_diff"]
        np.testing.assert_allclose(*result["custom_loop_loss"], **TOLERANCE)


def test_only_process_zero_logs_and_writes_checkpoints(processes):
    (chief, chief_out), (_, other_out) = processes
    assert [f for f in chief["files"] if f.startswith("ckpt")] == [f"ckpt-rank0-{e}.weights.h5" for e in (1, 2, 3)]
    assert "Epoch 1/3" in chief_out and "Epoch" not in other_out


def test_missing_peer_fails_within_the_timeout():
    [result] = _join(_processes(port := free_port(), 2, [0]))
    assert not result["ok"] and result["type"] == "RuntimeError", result
    assert f"127.0.0.1:{port} as process 0 of 2" in result["message"] and "[1] did not arrive" in result["message"]
    assert result["seconds"] < 30


def test_missing_coordinator_fails_within_the_timeout():
    [result] = _join(_processes(free_port(), 2, [1]))
    assert not result["ok"] and result["type"] == "RuntimeError", result
    assert "as process 1 of 2" in result["message"] and result["seconds"] < 30


def test_wrong_process_id():
    [result] = _join(_processes(free_port(), 2, [2]))
    assert not result["ok"] and result["type"] == "ValueError", result
    assert "rank (process_id) in [0, 2)" in result["message"]


def test_processes_disagreeing_on_the_world_size_fail_within_the_timeout():
    envs = _processes(free_port(), 2, [0, 1])
    envs[1]["JAX_NUM_PROCESSES"] = "3"
    for result in _join(envs, timeout="20"):
        assert not result["ok"] and result["type"] == "RuntimeError", result
        assert "expected a world of 3 processes, process 0 of 2" in result["message"]
        assert result["seconds"] < 15  # at once, not at the timeout


def test_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        [result] = _join(_processes(port, 2, [0]))
    assert not result["ok"] and result["type"] == "RuntimeError", result
    assert f"port {port}" in result["message"]
