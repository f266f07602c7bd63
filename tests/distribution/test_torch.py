"""torch.distributed (gloo, CPU): two processes started as torchrun starts them."""

import importlib.util
import socket

import numpy as np
import pytest

from tests.distribution._launch import free_port, last_json, run_workers

pytestmark = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")


def _ranks(port: int, world: int, ranks: list[int]) -> list[dict[str, str]]:
    return [{"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": str(world), "RANK": str(r)}
            for r in ranks]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("torch_dp")
    runs = run_workers("torch_data_parallel.py", _ranks(free_port(), 2, [0, 1]), [str(scratch)], deadline=240)
    for rc, _, err in runs:
        assert rc == 0, f"worker failed (rc {rc}):\n{err[-4000:]}"
    return [(last_json(out), out) for _, out, _ in runs]


def test_two_ranks_joined(results):
    assert [(r["rank"], r["world"], r["chief"]) for r, _ in results] == [(0, 2, True), (1, 2, False)]


def test_fit_matches_single_process_on_the_global_batch(results):
    for result, _ in results:
        assert result["weights_diff"] <= 1e-6, result["weights_diff"]
        for key, values in result["history_ref"].items():
            np.testing.assert_allclose(result["history_dp"][key], values, rtol=1e-5, atol=1e-6)
    # rank 1 started from other weights: the first step broadcast rank 0's
    assert results[0][0]["weights_sum"] == results[1][0]["weights_sum"]


def test_metrics_reduced_across_ranks(results):
    for result, _ in results:
        for key, value in result["eval_ref"].items():
            np.testing.assert_allclose(result["eval_dp"][key], value, rtol=1e-5, atol=1e-6)
        assert result["predict_diff"] <= 1e-5


def test_batch_normalization_statistics_reduced(results):
    for result, _ in results:
        assert result["bn_mean_diff"] <= 1e-6  # moving mean: the global batch's
    assert results[0][0]["bn_variance"] == results[1][0]["bn_variance"]  # replicas agree


def test_custom_loop_with_all_reduce_gradients(results):
    for result, _ in results:
        assert result["custom_loop_diff"] <= 1e-6, result["custom_loop_diff"]


def test_only_rank_zero_logs_and_writes_checkpoints(results):
    (chief, chief_out), (_, other_out) = results
    assert [f for f in chief["files"] if f.startswith("ckpt")] == [f"ckpt-rank0-{e}.weights.h5" for e in (1, 2, 3)]
    assert "Epoch 1/3" in chief_out and "Epoch" not in other_out


def test_missing_peer_fails_within_the_timeout():
    [(rc, out, _)] = run_workers("join.py", _ranks(free_port(), 2, [0]), ["torch", "3"], deadline=60)
    result = last_json(out)
    assert rc == 0 and not result["ok"] and result["type"] == "RuntimeError", result
    assert "rank 0 of 2" in result["message"] and result["seconds"] < 30


def test_wrong_world_size():
    [(rc, out, _)] = run_workers("join.py", _ranks(free_port(), 2, [2]), ["torch", "3"], deadline=60)
    result = last_json(out)
    assert not result["ok"] and result["type"] == "ValueError", result
    assert "rank (process_id) in [0, 2)" in result["message"]


def test_ranks_disagreeing_on_the_world_size_fail_within_the_timeout():
    port = free_port()
    envs = _ranks(port, 2, [0, 1])
    envs[1]["WORLD_SIZE"] = "3"
    runs = run_workers("join.py", envs, ["torch", "3"], deadline=60)
    for rc, out, _ in runs:
        result = last_json(out)
        assert not result["ok"] and result["seconds"] < 30, result


def test_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        [(rc, out, _)] = run_workers("join.py", _ranks(port, 1, [0]), ["torch", "3"], deadline=60)
    result = last_json(out)
    assert not result["ok"] and result["type"] == "RuntimeError", result
    assert str(port) in result["message"]
