"""The distribution API in one process, on every engine."""

import contextlib
import json

import pytest

import polykeras.backends as B
import polykeras.distribution as dist

PARALLEL = {"jax", "torch", "tensorflow"}  # engines with a data-parallel runtime
SHARDED = {"jax", "torch"}  # engines with fully sharded data parallelism


def test_alone_the_process_is_the_chief(engine):
    assert dist.rank() == 0 and dist.process_count() == 1 and dist.is_chief()
    dist.initialize()  # nothing to join: no-op
    assert dist.distribution() is None


def test_list_devices(engine):
    devices = dist.list_devices()
    assert devices and all(":" in d for d in devices), devices
    assert dist.list_devices("cpu") == [d for d in devices if d.startswith("cpu:")]


def test_identity_gradients_without_a_distribution(engine):
    grads = [engine.ones((2,)), engine.zeros((3,))]
    assert dist.all_reduce_gradients(grads) == grads


@pytest.mark.parametrize("args, message", [
    ({"num_processes": 0}, "world size"),
    ({"num_processes": 2, "process_id": 2, "job_addresses": "127.0.0.1:1"}, "[0, 2)"),
    ({"num_processes": 2, "process_id": -1, "job_addresses": "127.0.0.1:1"}, "[0, 2)"),
    ({"num_processes": 2, "process_id": 0}, "coordinator address"),
    ({"num_processes": 2, "process_id": 0, "job_addresses": "127.0.0.1:1", "timeout": 0}, "timeout"),
])
def test_initialize_rejects_impossible_arguments(engine, args, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace(")", r"\)")):
        dist.initialize(**args)


def test_initialize_reads_tf_config(engine, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
                                                "task": {"type": "worker", "index": 5}}))
    with pytest.raises(ValueError, match="5"):  # index 5 of 2 workers
        dist.initialize()


def test_data_parallel_scope_and_default(engine):
    if engine.name not in PARALLEL:
        pytest.skip("pinned in test_engines_without_data_parallel_say_so")
    dp = dist.DataParallel()
    with dp as active:
        assert active is dp and dist.distribution() is dp
    assert dist.distribution() is None
    dist.set_distribution(dp)
    try:
        assert dist.distribution() is dp
    finally:
        dist.set_distribution(None)
    assert dist.distribution() is None


def test_fully_sharded_scope_where_the_engine_has_one(engine):
    if engine.name not in SHARDED:
        with pytest.raises(NotImplementedError, match=f"'{engine.name}' engine.*FullyShardedDataParallel"):
            dist.FullyShardedDataParallel().__enter__()
        assert dist.distribution() is None
        return
    fsdp = dist.FullyShardedDataParallel()
    assert isinstance(fsdp, dist.DataParallel) and fsdp.sharded and not dist.DataParallel.sharded
    assert repr(fsdp).startswith("<FullyShardedDataParallel device_mesh=<DeviceMesh shape=(1,)")
    with fsdp:
        assert dist.distribution() is fsdp
    assert dist.distribution() is None


def test_unknown_devices_are_named(engine):
    if engine.name not in PARALLEL:
        pytest.skip("pinned in test_engines_without_data_parallel_say_so")
    for cls in (dist.DataParallel, dist.FullyShardedDataParallel) if engine.name in SHARDED else (dist.DataParallel,):
        with pytest.raises(ValueError, match=rf"{cls.__name__}: expected devices among .*received \['cpu:99'\]"):
            cls(devices=["cpu:99"]).__enter__()
        assert dist.distribution() is None


def test_fully_sharded_alone_trains_as_one_device(engine):
    """One process, one replica: the scope changes nothing in the numbers."""
    if engine.name not in SHARDED:
        pytest.skip("pinned in test_fully_sharded_scope_where_the_engine_has_one")
    import numpy as np

    import polykeras as pk

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(24, 4)).astype("float32"), rng.normal(size=(24, 2)).astype("float32")
    weights = []
    for scope in (dist.FullyShardedDataParallel(devices=dist.list_devices()[:1]), None):
        pk.random.set_seed(1)
        model = pk.Sequential([pk.layers.Input((4,)), pk.layers.Dense(8, activation="relu"), pk.layers.Dense(2)])
        model.compile("adam", "mse")
        with scope if scope is not None else contextlib.nullcontext():
            model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
            weights.append(model.get_weights())
    for got, want in zip(*weights):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_whole_values_is_a_no_op_without_sharded_variables(engine):
    import polykeras as pk

    layer = pk.layers.Dense(2)
    layer.build((None, 3))
    with pk.variables.whole_values(layer.weights):
        assert layer.kernel.value is layer.kernel.handle  # nothing gathered, nothing mapped


@pytest.mark.parametrize("name", sorted(set(B.installed()) - PARALLEL))
def test_engines_without_data_parallel_say_so(name):
    """numpy has no distributed runtime."""
    with B.use(name):
        with pytest.raises(NotImplementedError, match=f"'{name}' engine"):
            dist.DataParallel().__enter__()
        with pytest.raises(NotImplementedError, match=f"'{name}' engine"):
            dist.initialize("127.0.0.1:1", num_processes=2, process_id=0, timeout=1)
        assert dist.distribution() is None


def test_tensorflow_multi_worker_needs_tf_config(monkeypatch):
    if "tensorflow" not in B.installed():
        pytest.skip("tensorflow not installed")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with B.use("tensorflow"), pytest.raises(ValueError, match="TF_CONFIG is not set"):
        dist.initialize("127.0.0.1:1", num_processes=2, process_id=0, timeout=1)


def test_tensorflow_variables_made_outside_the_scope_are_named():
    """tf.distribute mirrors only the variables created in its scope."""
    if "tensorflow" not in B.installed():
        pytest.skip("tensorflow not installed")
    import numpy as np

    import polykeras as pk

    with B.use("tensorflow"):
        model = pk.Sequential([pk.layers.Input((2,)), pk.layers.Dense(1)])
        model.compile("sgd", "mse")
        with dist.DataParallel(), pytest.raises(ValueError, match=r"created inside the DataParallel scope.*kernel"):
            model.fit(np.ones((4, 2), "float32"), np.ones((4, 1), "float32"), verbose=0)
        with dist.DataParallel():
            inside = pk.Sequential([pk.layers.Input((2,)), pk.layers.Dense(1)])
            inside.compile("sgd", "mse")
            history = inside.fit(np.ones((4, 2), "float32"), np.ones((4, 1), "float32"), verbose=0)
        assert np.isfinite(history.history["loss"][0])
