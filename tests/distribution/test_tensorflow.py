"""TensorFlow: MirroredStrategy over two logical CPU devices in one process,
MultiWorkerMirroredStrategy over two worker processes (TF_CONFIG), and the
ways joining or running a multi-worker run fails."""

import importlib.util
import json
import socket

import numpy as np
import pytest

from tests.distribution._launch import free_port, last_json, run_ok, run_workers

pytestmark = pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="tensorflow not installed")


def _workers(ports: list[int], ranks: list[int]) -> list[dict[str, str]]:
    cluster = [f"127.0.0.1:{p}" for p in ports]
    return [{"TF_CONFIG": json.dumps({"cluster": {"worker": cluster}, "task": {"type": "worker", "index": r}})}
            for r in ranks]


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory):
    return run_ok("tensorflow_data_parallel.py", [{}], [str(tmp_path_factory.mktemp("tf_mirrored"))], deadline=240)


@pytest.fixture(scope="module")
def multi_worker(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("tf_multi_worker")
    return run_ok("tensorflow_data_parallel.py", _workers([free_port(), free_port()], [0, 1]), [str(scratch)],
                  deadline=240)


@pytest.fixture(params=["mirrored", "multi_worker"])
def results(request):
    return request.getfixturevalue(request.param)


def test_replicas(mirrored, multi_worker):
    [(one, _)] = mirrored
    assert (one["devices"], one["replicas"], one["world"]) == (["cpu:0", "cpu:1"], 2, 1)
    assert [(r["rank"], r["world"], r["chief"], r["devices"], r["replicas"]) for r, _ in multi_worker] == [
        (0, 2, True, ["cpu:0"], 2), (1, 2, False, ["cpu:0"], 2)]


def test_fit_matches_one_device_on_the_global_batch(results):
    for result, _ in results:
        assert result["weights_diff"] <= 1e-6, result["weights_diff"]
        for key, values in result["history_ref"].items():
            np.testing.assert_allclose(result["history_dp"][key], values, rtol=1e-5, atol=1e-6)


def test_training_outside_the_scope_keeps_the_copies_equal(mirrored):
    [(result, _)] = mirrored
    assert result["copies_apart"] == 0.0


def test_metrics_reduced_and_predict_gathered(results):
    for result, _ in results:
        for key, value in result["eval_ref"].items():
            np.testing.assert_allclose(result["eval_dp"][key], value, rtol=1e-5, atol=1e-6)
        assert result["predict_shape"] == [61, 3]  # every row, on every worker
        assert result["predict_diff"] <= 1e-5
        assert result["predict_outside"] <= 1e-6  # the mirrored model predicts outside the scope too


def test_synchronized_batch_normalization_matches_one_device(results):
    """synchronized=True: every replica normalises with the global batch's
    moments, so training equals one device's (moving variance included)."""
    for result, _ in results:
        assert result["sync_bn_diff"] <= 1e-6, result["sync_bn_diff"]


def test_batch_normalization_statistics_reduced(results):
    for result, _ in results:
        assert result["bn_mean_diff"] <= 1e-6  # the moving mean is the global batch's
    assert len({json.dumps(r["bn_variance"]) for r, _ in results}) == 1  # workers agree


def test_custom_loop_compiled_by_compile_step(results):
    for result, _ in results:
        assert result["custom_loop_diff"] <= 1e-6, result["custom_loop_diff"]


def test_only_the_chief_logs_and_writes_checkpoints(multi_worker):
    (chief, chief_out), (_, other_out) = multi_worker
    assert [f for f in chief["files"] if f.startswith("ckpt")] == [f"ckpt-rank0-{e}.weights.h5" for e in (1, 2, 3)]
    assert "Epoch 1/3" in chief_out and "Epoch" not in other_out


def test_missing_worker_fails_within_the_timeout():
    [(rc, out, _)] = run_workers("join.py", _workers([free_port(), free_port()], [0]), ["tensorflow", "3"],
                                 deadline=60)
    result = last_json(out)
    assert rc == 0 and not result["ok"] and result["type"] == "RuntimeError", result
    assert "worker 0 of 2" in result["message"] and "[1]" in result["message"] and result["seconds"] < 30


def test_workers_disagreeing_on_the_cluster_fail_within_the_timeout():
    ports = [free_port(), free_port(), free_port()]
    envs = _workers(ports[:2], [0]) + _workers(ports, [1])
    for _rc, out, _ in run_workers("join.py", envs, ["tensorflow", "10"], deadline=60):
        result = last_json(out)
        assert not result["ok"] and result["type"] == "RuntimeError", result
        assert "disagree on the cluster" in result["message"] and result["seconds"] < 30


def test_two_workers_join():
    runs = run_workers("join.py", _workers([free_port(), free_port()], [0, 1]), ["tensorflow", "20"], deadline=60)
    assert [last_json(out)["ok"] for _, out, _ in runs] == [True, True], runs


def test_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        [(rc, out, _)] = run_workers("join.py", _workers([port], [0]), ["tensorflow", "3"], deadline=60)
    result = last_json(out)
    assert not result["ok"] and result["type"] == "RuntimeError", result
    assert str(port) in result["message"]


def test_joining_after_tensorflow_started_says_so():
    [(rc, out, _)] = run_workers("join.py", _workers([free_port(), free_port()], [0]), ["tensorflow", "3", "late"],
                                 deadline=60)
    result = last_json(out)
    assert not result["ok"] and result["type"] == "RuntimeError", result
    assert "before any TensorFlow work" in result["message"]


def test_a_worker_dying_mid_training_ends_the_run_with_a_clear_error():
    runs = run_workers("tensorflow_worker_dies.py", _workers([free_port(), free_port()], [0, 1]), deadline=120)
    survivor = last_json(runs[0][1])
    assert not survivor["ok"] and survivor["type"] == "RuntimeError", survivor
    assert "a replica of the run failed" in survivor["message"] and survivor["seconds"] < 60


def test_two_workers_join_from_keras_job_addresses():
    """Keras 3's variables, every worker's address and no TF_CONFIG."""
    addresses = ",".join(f"127.0.0.1:{free_port()}" for _ in range(2))
    envs = [{"KERAS_DISTRIBUTION_JOB_ADDRESSES": addresses, "KERAS_DISTRIBUTION_PROCESS_ID": str(r)} for r in (0, 1)]
    runs = run_workers("join.py", envs, ["tensorflow", "20"], deadline=60)
    assert [(last_json(out)["ok"], last_json(out).get("rank")) for _, out, _ in runs] == [(True, 0), (True, 1)], runs
