"""torch.distributed (gloo, CPU): two processes started as torchrun starts them."""

import importlib.util
import socket

import numpy as np
import pytest

from tests.distribution._launch import free_port, last_json, run_ok, run_workers

pytestmark = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")


def _ranks(port: int, world: int, ranks: list[int]) -> list[dict[str, str]]:
    return [{"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": str(world), "RANK": str(r)}
            for r in ranks]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("torch_dp")
    return run_ok("torch_data_parallel.py", _ranks(free_port(), 2, [0, 1]), [str(scratch)], deadline=240)


def test_two_ranks_joined(results):
    assert [(r["rank"], r["world"], r["chief"]) for r, _ in results] == [(0, 2, True), (1, 2, False)]


def _group_threads(result):
    return [name for name in result["threads_after_shutdown"] if "gloo" in name or "tcpstore" in name]


def test_shutdown_stops_every_thread_of_the_process_group(results):
    # after a run that built a model with a custom layer (its symbolic call
    # loads torch._dynamo) no gloo or store thread outlives the group
    for result, _ in results:
        assert not _group_threads(result), result["threads_after_shutdown"]


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
        assert result["predict_diff"] <= 1e-6, result["predict_diff"]


def test_predict_splits_rows_and_gathers_every_output(results):
    for result, _ in results:
        rank = result["rank"]
        for name, got in result["predict_multi"].items():
            assert got["diff"] <= 1e-6 and got["one_diff"] <= 1e-6, (name, got)
            assert got["rows"] == 61, (name, got)
            # batches of 16, 16, 16, 13 rows: rank 0 runs rows [0, 8) of each, [0, 6) of the last; rank 1 the rest
            assert got["rows_seen"] == [8, 8, 8, 6 + rank], (name, got)


def test_synchronized_batch_normalization_matches_one_device(results):
    """synchronized=True: every replica normalises with the global batch's
    moments, so training equals one device's (moving variance included)."""
    for result, _ in results:
        assert result["sync_bn_diff"] <= 1e-6, result["sync_bn_diff"]


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
    assert [f for f in chief["files"] if f.startswith("log")] == ["log-rank0.csv"]  # CSVLogger
    assert "Epoch 1/3" in chief_out and "Epoch" not in other_out  # the progress bar
    assert "saving model to" in chief_out and "saving model" not in other_out  # ModelCheckpoint(verbose=1)
    assert "Epoch 2: early stopping" in chief_out and "early stopping" not in other_out


@pytest.fixture(scope="module")
def backup_runs(tmp_path_factory):
    """Two launches of two ranks sharing a backup folder: one dies at epoch 2, one resumes."""
    backup = tmp_path_factory.mktemp("torch_backup") / "backup"
    runs = {}
    for phase in ("crash", "resume"):
        launched = run_ok("torch_backup_and_restore.py", _ranks(free_port(), 2, [0, 1]), [str(backup), phase],
                          deadline=120, what=f"{phase} worker")
        runs[phase] = [result for result, _ in launched]
    return runs


def test_backup_written_by_rank_zero_only(backup_runs):
    for phase in ("crash", "resume"):
        chief, other = backup_runs[phase]
        assert chief["writes"] and other["writes"] == [], (phase, other["writes"])
    files = backup_runs["crash"][0]["files"]  # one complete backup: no temporary or second copy left
    assert len(files) == 3 and "training_metadata.json" in files, files
    assert sum(f.endswith(".weights.h5") for f in files) == sum(f.endswith(".optimizer.npz") for f in files) == 1
    assert backup_runs["resume"][0]["backup_left"] is False  # the chief deleted it after the finished fit


def test_every_rank_resumes_at_the_same_epoch_with_the_same_state(backup_runs):
    assert [r["begun"] for r in backup_runs["crash"]] == [[0, 1, 2], [0, 1, 2]]
    chief, other = backup_runs["resume"]
    assert chief["begun"] == other["begun"] == [2, 3, 4]
    # the ranks started from different weights; both restored the same backup before any step
    assert chief["restored_weights_sum"] == other["restored_weights_sum"]
    for result in backup_runs["resume"]:
        assert result["weights_diff"] <= 1e-6, result["weights_diff"]  # as an uninterrupted fit
    assert chief["weights"] == other["weights"]


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
    for _rc, out, _ in runs:
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


# ----------------------------------------------------------------- fully sharded
@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("torch_fsdp")
    return [result for result, _ in run_ok("torch_fully_sharded.py", _ranks(free_port(), 2, [0, 1]),
                                           [str(scratch)], deadline=240)]


def test_fully_sharded_fit_matches_single_process(sharded):
    """Dense with an L2 regulariser, synchronised BatchNormalization, LSTM,
    Dense with a max-norm constraint over the sharded axis, Adam."""
    for result in sharded:
        assert result["weights_diff"] <= 1e-6, result["weights_diff"]
        assert result["weights_inside"] <= 1e-6, result["weights_inside"]  # get_weights gathers inside the scope
        for key, values in result["history_ref"].items():
            np.testing.assert_allclose(result["history_fsdp"][key], values, rtol=1e-5, atol=1e-6)
        for key, value in result["eval_ref"].items():
            np.testing.assert_allclose(result["eval_fsdp"][key], value, rtol=1e-5, atol=1e-6)
        # The single process runs Adam as torch's fused kernel, the shards as foreach kernels: the
        # weights agree within 1e-6 and the outputs computed from them within 1e-5, as on JAX.
        assert result["predict_diff"] <= 1e-5, result["predict_diff"]
        assert result["custom_loop_diff"] <= 1e-6, result["custom_loop_diff"]


def test_fully_sharded_every_optimizer_rule_updates_shards(sharded):
    """Fused and portable rules, weight decay, norm clipping, EMA with gradient accumulation."""
    for result in sharded:
        assert len(result["optimizers"]) == 9
        for name, difference in result["optimizers"].items():
            assert difference <= 1e-6, (name, difference)


def test_fully_sharded_ranks_store_only_their_rows(sharded):
    for result in sharded:
        stored = result["stored"]
        assert stored["kernel"] == ["DTensor", [4, 16]]  # (8, 16) over two ranks
        assert stored["gamma"] == ["DTensor", [8]]
        assert stored["slots"] == ["DTensor"]  # Adam's moments sharded alike
        assert stored["moving_mean"] == "Tensor" and stored["iterations"] == "Tensor"  # small state replicated
        assert 0.49 < result["stored_fraction"] < 0.51, result["stored_fraction"]
        assert result["after_exit"] == "Tensor"  # leaving the scope stores whole values again


def test_fully_sharded_whole_weights_live_only_during_their_layer_call(sharded):
    """Once the forward pass is done no whole weight is alive (2 are without
    keeping saved weights as shards); gradients are shards."""
    for result in sharded:
        assert result["whole_alive"] == [0, 0]
        assert result["probe_grads"] == ["DTensor"]


def test_fully_sharded_checkpoints_are_gathered_and_written_once(sharded):
    for result in sharded:
        assert result["checkpoints"] == ["ckpt-1.weights.h5", "ckpt-2.weights.h5", "ckpt-3.weights.h5"]
        assert result["checkpoint_diff"] == 0.0


def test_two_ranks_join_from_keras_variables():
    """Keras 3's variables: the coordinator's address, the world size, the rank."""
    port = free_port()
    envs = [{"KERAS_DISTRIBUTION_JOB_ADDRESSES": f"127.0.0.1:{port}", "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
             "KERAS_DISTRIBUTION_PROCESS_ID": str(r)} for r in (0, 1)]
    runs = run_workers("join.py", envs, ["torch", "20"], deadline=60)
    assert [(last_json(out)["ok"], last_json(out).get("world")) for _, out, _ in runs] == [(True, 2), (True, 2)], runs


def test_fully_sharded_shutdown_stops_every_thread_of_the_process_group(sharded):
    # the run's device meshes (and torch's copies of them) hold the group
    for result in sharded:
        assert not _group_threads(result), result["threads_after_shutdown"]
