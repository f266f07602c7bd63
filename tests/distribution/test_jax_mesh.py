"""Keras 3's mesh API on a real mesh: 4 host CPU devices (XLA_FLAGS, in a
subprocess), polykeras's jax engine beside Keras 3 on its jax backend: the
same devices, meshes, shardings, LayoutMap lookups and DataParallel layouts,
and ModelParallel training to Keras 3's numbers (and one device's), in one process
and across two processes of 2 devices each."""

import importlib.util

import numpy as np
import pytest

from tests.distribution._launch import free_port, run_ok
from tests.distribution._paths import optimizer_name

pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None or importlib.util.find_spec("keras") is None,
                                reason="jax or keras not installed")


@pytest.fixture(scope="module")
def result():
    [(result, _)] = run_ok("jax_mesh_api.py", [{}], deadline=240)
    return result


def _spec(text: str) -> tuple:
    """``P('model', None)`` and ``P('model',)`` alike: the axes without trailing Nones."""
    axes = [None if a.strip() == "None" else a.strip().strip("'") for a in text[2:-1].split(",") if a.strip()]
    while axes and axes[-1] is None:
        axes.pop()
    return tuple(axes)


def test_devices_and_counts_as_keras(result):
    polykeras_default, keras_default, polykeras_cpu, keras_cpu = result["devices"]
    assert polykeras_default == keras_default == polykeras_cpu == keras_cpu == [f"cpu:{i}" for i in range(4)]
    assert result["count"] == [4, 4, 4, 4]


def test_mesh_and_layout_are_keras_jax_objects(result):
    assert result["mesh"]["devices_equal"] and result["mesh"]["backend_equal"]
    assert result["mesh"]["repr"][0] == result["mesh"]["repr"][1]
    assert result["layout_equal"]


def test_distribute_tensor_places_as_keras(result):
    assert len(result["placements"]) == 5
    for axes, placed in result["placements"].items():
        assert placed["sharding_equal"] and placed["values_equal"], (axes, placed)
        assert placed["shard_shape"][0] == placed["shard_shape"][1], (axes, placed)
    assert result["placements"]["('model', 'batch')"]["shard_shape"][0] == [4, 3]
    traced = result["traced"]
    assert traced["sharding_equal"] and traced["values_equal"] and traced["spec"] == "P(None, 'model')"


def test_layout_map_lookups_as_keras(result):
    assert result["map_len"] == [4, 4]
    for key, (got, want) in result["lookups"].items():
        assert got == want, key
    assert result["lookups"]["hidden/kernel"] == ["ValueError", "ValueError"]  # two keys match


def test_data_parallel_as_keras(result):
    ours, keras = result["data_parallel"]
    assert ours == keras == [[4], ["batch"], "batch", 4, ["batch", None]]


def test_model_parallel_trains_to_keras_numbers(result):
    mp = result["model_parallel"]
    np.testing.assert_allclose(mp["history"], mp["history_keras"], rtol=1e-5)
    np.testing.assert_allclose(mp["history"], mp["history_single"], rtol=1e-5)
    assert mp["weights_vs_keras"] <= 1e-5 and mp["weights_vs_single"] <= 1e-5
    assert mp["predict_vs_keras"] <= 1e-5
    assert result["after_scope"]


def test_model_parallel_lays_variables_out_as_keras(result):
    mp = result["model_parallel"]
    ours = {path: _spec(spec) for path, spec in mp["specs"].items()}
    keras = {path.removeprefix("sequential/"): _spec(spec) for path, spec in mp["keras_specs"].items()}
    adam = optimizer_name(ours)
    assert {p: s for p, s in ours.items() if not p.startswith(f"{adam}/")} == keras
    assert keras == {"hidden/kernel": (None, "model"), "hidden/bias": ("model",), "out/kernel": ("model",),
                     "out/bias": ()}
    for path, spec in keras.items():  # Adam's slots lie as their variables do
        assert ours[f"{adam}/{path.replace('/', '_')}_momentum"] == spec, path


# ------------------------------------- ModelParallel: one process of 4 devices, two of 2
@pytest.fixture(scope="module", params=["one process", "two processes"])
def model_parallel(request):
    """The ModelParallel worker's result per process."""
    if request.param == "one process":
        envs = [{}]
    else:
        port = free_port()
        envs = [{"JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{port}", "JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": str(i)}
                for i in (0, 1)]
    return [result for result, _ in run_ok("jax_model_parallel.py", envs, deadline=240)]


def test_model_parallel_trains_as_one_device(model_parallel):
    """Process 1 starts from other weights across processes: the first step takes process 0's."""
    for result in model_parallel:
        assert len(result["devices"]) == 4 and result["active"] and result["active_after"]
        assert result["weights_diff"] <= 1e-6 and result["weights_inside_diff"] <= 1e-6, result["weights_diff"]
        for key, values in result["history_single"].items():
            np.testing.assert_allclose(result["history_parallel"][key], values, rtol=1e-5, atol=1e-6)
        for key, value in result["eval_single"].items():
            np.testing.assert_allclose(result["eval_parallel"][key], value, rtol=1e-5, atol=1e-6)
        assert result["predict_shape"] == [62, 3] and result["predict_diff"] <= 1e-5


def test_model_parallel_lays_out_variables_and_slots_by_the_map(model_parallel):
    for result in model_parallel:
        layouts = result["layouts"]
        first, second = result["kernel_paths"]
        split = {p for p, layout in layouts.items() if layout["spec"] == ["model"]}
        adam = optimizer_name(layouts)
        gamma, beta = (p for p in layouts if p.endswith(("/gamma", "/beta")) and not p.startswith(f"{adam}/"))
        variables = {first, second, gamma, beta}
        slots = {f"{adam}/{p.replace('/', '_')}_{slot}" for p in variables for slot in ("momentum", "velocity")}
        assert split == variables | slots
        assert layouts[first]["shards"] == [[4, 16]] and layouts[second]["shards"] == [[8, 3]]  # rows halved
        assert all(layouts[p]["spec"] == [] for p in set(layouts) - split)  # biases, statistics, counters


def test_data_parallel_trains_to_keras_numbers(result):
    fit = result["data_parallel_fit"]
    np.testing.assert_allclose(fit["history"], fit["history_keras"], rtol=1e-5)
    assert fit["weights_vs_keras"] <= 1e-5
    assert fit["kernel_replicated"] == [True, True] and fit["kernel_devices"] == [4, 4]
