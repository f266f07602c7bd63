"""JAX data parallelism, in subprocesses (XLA_FLAGS must precede the jax import):
a 1-D mesh over 4 host CPU devices of one process, then over 2 processes of 2
devices each (joined through ``polykeras.distribution.initialize``); fully
sharded data parallelism on both."""

import importlib.util
import socket

import numpy as np
import pytest

from tests.distribution._launch import free_port, run_ok
from tests.distribution._paths import optimizer_name

pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")

TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}


def _processes(port: int, world: int, ids: list[int]) -> list[dict[str, str]]:
    return [{"JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{port}", "JAX_NUM_PROCESSES": str(world),
             "JAX_PROCESS_ID": str(i)} for i in ids]


def _join(envs: list[dict[str, str]], timeout: str = "3") -> list[dict]:
    return [result for result, _ in run_ok("join.py", envs, ["jax", timeout], deadline=60, what="join worker")]


# ----------------------------------------------------------------- one process, 4 devices
@pytest.fixture(scope="module")
def result():
    [(result, _)] = run_ok("jax_data_parallel.py", [{}], deadline=240)
    return result


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


# ------------------------------------------- fully sharded: one process of 4 devices, two of 2
@pytest.fixture(scope="module", params=["one process", "two processes"])
def sharded(request, tmp_path_factory):
    """The fully sharded worker's result per process."""
    envs = [{}] if request.param == "one process" else _processes(free_port(), 2, [0, 1])
    scratch = tmp_path_factory.mktemp("jax_fsdp")
    return [result for result, _ in run_ok("jax_fully_sharded.py", envs, [str(scratch)], deadline=240)]


def _split_on_axis_0(layout: dict) -> bool:
    shape = layout["shape"]
    return (len(shape) > 0 and layout["spec"] == "P('batch',)" and not layout["replicated"]
            and layout["devices"] == 4 and layout["shards"] == [[shape[0] // 4, *shape[1:]]])


def _replicated(layout: dict) -> bool:
    return layout["spec"] == "P()" and layout["replicated"] and layout["shards"] == [layout["shape"]]


def test_fully_sharded_fit_matches_single_device_on_the_global_batch(sharded):
    for result in sharded:  # across processes, process 1 started from other weights: process 0's were taken
        assert result["active"] and result["active_after"]
        assert result["weights_diff"] <= 1e-6, result["weights_diff"]
        for key, values in result["history_single"].items():
            np.testing.assert_allclose(result["history_parallel"][key], values, **TOLERANCE)


def test_fully_sharded_trainable_variables_and_optimizer_slots_split_on_axis_0(sharded):
    for result in sharded:
        layouts = result["layouts"]
        adam = optimizer_name(layouts)
        [kernel] = [p for p, layout in layouts.items() if layout["shape"] == [8, 16] and not p.startswith(f"{adam}/")]
        slot = f"{adam}/{kernel.replace('/', '_')}"
        for path in (kernel, f"{slot}_momentum", f"{slot}_velocity"):
            assert _split_on_axis_0(layouts[path]), (path, layouts[path])
        assert _split_on_axis_0(result["kernel_after_predict"])
        split = [p for p, layout in layouts.items() if _split_on_axis_0(layout)]
        assert len(split) == 5 * 3, split  # gamma, beta, 2 kernels, the (16,) bias, and their Adam slots


def test_fully_sharded_keeps_other_state_replicated(sharded):
    for result in sharded:
        layouts = result["layouts"]
        for suffix in ("loss/total", f"{optimizer_name(layouts)}/iteration", "moving_mean", "moving_variance"):
            [path] = [p for p in layouts if p.endswith(suffix)]
            assert _replicated(layouts[path]), (path, layouts[path])
        indivisible = {p: layout for p, layout in layouts.items() if layout["shape"] == [3]}  # 4 does not divide 3
        assert len(indivisible) == 3 and all(map(_replicated, indivisible.values())), indivisible  # bias, 2 slots
        assert sum(map(_split_on_axis_0, layouts.values())) + sum(map(_replicated, layouts.values())) == len(layouts)


def test_fully_sharded_get_weights_returns_whole_arrays(sharded):
    for result in sharded:
        assert result["weights_inside_shapes"] == result["weight_shapes"]
        assert result["weights_inside_diff"] == 0.0


def test_fully_sharded_checkpoints_are_gathered_and_written_once(sharded):
    for result in sharded:
        assert result["checkpoints"] == ["fsdp-1.weights.h5", "fsdp-2.weights.h5", "fsdp-3.weights.h5"]
        assert result["checkpoint_diff"] == 0.0


def test_fully_sharded_batch_normalization_statistics_are_global(sharded):
    for result in sharded:
        assert result["bn_diff"] <= 1e-6, result["bn_diff"]


def test_fully_sharded_evaluate_and_predict(sharded):
    for result in sharded:
        for key, value in result["eval_single"].items():
            np.testing.assert_allclose(result["eval_parallel"][key], value, **TOLERANCE)
        assert result["predict_shape"] == [62, 3]
        assert result["predict_diff"] <= 1e-5, result["predict_diff"]


def test_fully_sharded_custom_loop(sharded):
    for result in sharded:
        assert _split_on_axis_0(result["custom_loop_kernel"])
        assert result["custom_loop_diff"] <= 1e-6, result["custom_loop_diff"]


# ---------------------------------------------------------- two processes, 2 devices each
@pytest.fixture(scope="module")
def processes(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("jax_mp")
    return run_ok("jax_multi_process.py", _processes(free_port(), 2, [0, 1]), [str(scratch)], deadline=150)


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


def test_two_processes_join_from_keras_variables():
    """Keras 3's variables: the coordinator's address, the world size, the process id."""
    port = free_port()
    envs = [{"KERAS_DISTRIBUTION_JOB_ADDRESSES": f"127.0.0.1:{port}", "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
             "KERAS_DISTRIBUTION_PROCESS_ID": str(i)} for i in (0, 1)]
    assert [(r["ok"], r.get("world")) for r in _join(envs, timeout="20")] == [(True, 2), (True, 2)]
