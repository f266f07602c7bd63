"""Keras 3's mesh API (DeviceMesh, TensorLayout, LayoutMap, distribute_tensor,
get_device_count, DataParallel's and ModelParallel's layouts, initialize's
job_addresses) in one process, on every engine. Each engine sees one device
here; a real mesh of 4 devices is in test_jax_mesh.py."""

import contextlib
import inspect
import json
import warnings

import numpy as np
import pytest

import polykeras as pk
import polykeras.distribution as dist

MODEL_PARALLEL = {"jax"}  # engines that lay variables out over a mesh of several devices
DATA_PARALLEL = {"jax", "torch", "tensorflow"}


def _mesh(shape=(1,), names=("batch",)):
    return dist.DeviceMesh(shape, list(names), devices=dist.list_devices()[:int(np.prod(shape))])


def test_signatures_are_keras_3s():
    sig = {name: str(inspect.signature(getattr(dist, name))) for name in
           ["DeviceMesh", "TensorLayout", "LayoutMap", "DataParallel", "ModelParallel", "distribute_tensor",
            "get_device_count", "list_devices", "set_distribution", "distribution"]}
    assert sig["DeviceMesh"].startswith("(shape: 'Sequence[int]', axis_names: 'Sequence[str]', devices: 'Any' = None")
    assert [p for p in inspect.signature(dist.DataParallel).parameters] == ["device_mesh", "devices",
                                                                           "auto_shard_dataset"]
    params = inspect.signature(dist.ModelParallel).parameters
    assert [(n, p.kind.name, p.default) for n, p in params.items()] == [
        ("layout_map", "KEYWORD_ONLY", None), ("batch_dim_name", "KEYWORD_ONLY", None),
        ("auto_shard_dataset", "KEYWORD_ONLY", True), ("kwargs", "VAR_KEYWORD", inspect.Parameter.empty)]
    assert list(inspect.signature(dist.initialize).parameters)[:3] == ["job_addresses", "num_processes",
                                                                       "process_id"]


# ------------------------------------------------------------------ devices
def test_device_count_and_list(engine):
    devices = dist.list_devices()
    assert dist.get_device_count() == len(devices) >= 1
    assert len({d.split(":")[0] for d in devices}) == 1  # one type, never a mix
    assert dist.get_device_count("cpu") == dist.get_device_count("CPU") == len(dist.list_devices("cpu")) >= 1
    assert dist.get_device_count("tpu") == 0 and dist.list_devices("tpu") == []  # none here


# ------------------------------------------------------------- DeviceMesh
def test_device_mesh(engine):
    mesh = dist.DeviceMesh((2, 2), ["batch", "model"], devices=["cpu:0", "cpu:1", "cpu:2", "cpu:3"])
    assert mesh.shape == (2, 2) and mesh.axis_names == ["batch", "model"]
    assert mesh.devices.tolist() == [["cpu:0", "cpu:1"], ["cpu:2", "cpu:3"]]
    assert repr(mesh) == "<DeviceMesh shape=(2, 2), axis_names=['batch', 'model']>"  # Keras 3's
    default = dist.DeviceMesh((dist.get_device_count(),), ["batch"])
    assert default.devices.tolist() == dist.list_devices()


@pytest.mark.parametrize("args, message", [
    (((), ["batch"]), "non-empty shape and axis_names"),
    (((2,), ["batch", "model"]), "one axis name per dimension"),
    (((1, 1), ["a", "a"]), "distinct axis names"),
    (((3,), ["batch"], ["cpu:0", "cpu:1"]), r"expected 3 devices for shape \(3,\), received 2"),
])
def test_device_mesh_rejects(engine, args, message):
    with pytest.raises(ValueError, match=f"DeviceMesh: .*{message}"):
        dist.DeviceMesh(*args)


def test_backend_mesh_where_the_engine_has_one(engine):
    mesh = _mesh()
    layout = dist.TensorLayout(("batch",), mesh)
    if engine.name in MODEL_PARALLEL:
        assert tuple(mesh.backend_mesh.axis_names) == ("batch",)
        assert tuple(layout.backend_layout.spec) == ("batch",)
        return
    with pytest.raises(NotImplementedError, match=f"'{engine.name}' engine.*DeviceMesh.backend_mesh"):
        _ = mesh.backend_mesh
    with pytest.raises(NotImplementedError, match=f"'{engine.name}' engine.*TensorLayout.backend_layout"):
        _ = layout.backend_layout


# ------------------------------------------------------------ TensorLayout
def test_tensor_layout(engine):
    mesh = _mesh((1, 1), ("batch", "model"))
    layout = dist.TensorLayout(["batch", None])
    assert layout.axes == ("batch", None) and layout.device_mesh is None
    layout.device_mesh = mesh
    assert layout.device_mesh is mesh
    with pytest.raises(ValueError, match="TensorLayout: the device mesh is set already"):
        layout.device_mesh = mesh
    with pytest.raises(ValueError, match=r"expected axes among .*\['batch', 'model'\].*received \['data'\]"):
        dist.TensorLayout(("data", None), mesh)
    with pytest.raises(ValueError, match="each mesh axis at most once"):
        dist.TensorLayout(("model", "model"), mesh)
    with pytest.raises(ValueError, match="backend_layout: expected a TensorLayout with a device mesh"):
        _ = dist.TensorLayout(("batch",)).backend_layout


# --------------------------------------------------------------- LayoutMap
def test_layout_map_lookups(engine):
    mesh = _mesh((1, 1), ("batch", "model"))
    layout_map = dist.LayoutMap(mesh)
    layout_map[".*dense.*kernel"] = (None, "model")
    layout_map[".*dense.*bias"] = ("model",)
    layout_map["exact/kernel"] = dist.TensorLayout(("batch", None))
    layout_map[".*kernel"] = ("batch", "model")
    assert layout_map.device_mesh is mesh and len(layout_map) == 4 and list(layout_map)[0] == ".*dense.*kernel"
    assert layout_map["exact/kernel"].axes == ("batch", None)  # an exact key first, though ".*kernel" matches
    assert layout_map["model/dense_1/bias"].axes == ("model",)
    assert layout_map["model/dense_1/bias"].device_mesh is mesh  # tuples become layouts on the map's mesh
    assert layout_map["conv/kernel"].axes == ("batch", "model")
    assert layout_map["conv/bias"] is None and layout_map.get("conv/bias") is None
    assert layout_map["dense/bias/x"] is None  # the whole path must match
    with pytest.raises(ValueError, match=r"'dense/kernel' to match at most one key.*'\.\*dense\.\*kernel', "
                                         r"'\.\*kernel'"):
        layout_map["dense/kernel"]
    with pytest.raises(ValueError, match="expected a new key, received 'exact/kernel'"):
        layout_map["exact/kernel"] = ("batch", None)
    with pytest.raises(ValueError, match="expected a TensorLayout or a tuple of axis names for 'x'.*list"):
        layout_map["x"] = ["batch"]
    with pytest.raises(ValueError, match="TensorLayout: expected axes among"):
        layout_map["y"] = ("data",)
    del layout_map[".*kernel"]
    assert layout_map["dense/kernel"].axes == (None, "model") and len(layout_map) == 3


# -------------------------------------------------------- distribute_tensor
def test_distribute_tensor_on_one_device(engine):
    mesh = _mesh((1, 1), ("batch", "model"))
    x = np.arange(12, dtype="float32").reshape(4, 3)
    for axes in [("batch", None), (None, "model"), ("batch",), ()]:
        got = dist.distribute_tensor(x, dist.TensorLayout(axes, mesh))
        assert engine.is_tensor(got)
        np.testing.assert_array_equal(engine.to_numpy(got), x)
    tensor = engine.convert_to_tensor(x)
    np.testing.assert_array_equal(engine.to_numpy(dist.distribute_tensor(tensor, dist.TensorLayout(("batch",),
                                                                                                     mesh))), x)


def test_distribute_tensor_keeps_symbolic_tensors(engine):
    symbolic = pk.layers.Input((3,))
    assert dist.distribute_tensor(symbolic, dist.TensorLayout(("batch", None), _mesh())) is symbolic


def test_distribute_tensor_rejects(engine):
    x = np.zeros((4, 3), "float32")
    with pytest.raises(ValueError, match="distribute_tensor: expected a TensorLayout with a device mesh"):
        dist.distribute_tensor(x, dist.TensorLayout(("batch", None)))
    with pytest.raises(ValueError, match=r"at most 2 axes for a tensor of shape \(4, 3\), received axes="):
        dist.distribute_tensor(x, dist.TensorLayout((None, None, "batch"), _mesh()))
    with pytest.raises(TypeError, match="distribute_tensor: expected a TensorLayout, received"):
        dist.distribute_tensor(x, ("batch", None))
    two = dist.DeviceMesh((2,), ["batch"], devices=["cpu:0", "cpu:1"])
    if engine.name in MODEL_PARALLEL:  # one CPU device in this process: cpu:1 is not one of them
        with pytest.raises(ValueError, match=r"expected devices among \['cpu:0'\], received \['cpu:1'\]"):
            dist.distribute_tensor(x, dist.TensorLayout(("batch", None), two))
    else:
        with pytest.raises(NotImplementedError, match=f"'{engine.name}' engine cannot lay a tensor out over a "
                                                      "mesh of 2 devices"):
            dist.distribute_tensor(x, dist.TensorLayout(("batch", None), two))


# ------------------------------------------------------------- DataParallel
def test_data_parallel_mesh_and_layouts(engine):
    dp = dist.DataParallel()
    assert dp.device_mesh.shape == (len(dist.list_devices()),) and dp.device_mesh.axis_names == ["batch"]
    assert dp.batch_dim_name == "batch" and dp.num_model_replicas == dist.get_device_count()
    assert dp.devices == dist.list_devices() and dp.auto_shard_dataset and dp.num_processes == 1
    assert dp.data_shard_id == 0
    assert dp.get_data_layout((16, 8, 3)).axes == ("batch", None, None)
    assert dp.get_data_layout((16, 8)).device_mesh is dp.device_mesh
    layer = pk.layers.Dense(4)
    layer.build((None, 3))
    assert dp.get_variable_layout(layer.kernel).axes == (None, None) and dp.get_tensor_layout("dense/output") is None
    assert dp.distribute_dataset("data") == "data"  # every process is given the global data
    mesh = dist.DeviceMesh((1,), ["data"], devices=dist.list_devices()[:1])
    on_mesh = dist.DataParallel(device_mesh=mesh, auto_shard_dataset=False)
    assert on_mesh.device_mesh is mesh and on_mesh.batch_dim_name == "data" and not on_mesh.auto_shard_dataset
    assert dist.DataParallel(devices=dist.list_devices()[:1]).device_mesh.shape == (1,)


def test_data_parallel_rejects_and_warns(engine):
    with pytest.raises(ValueError, match=r"DataParallel: expected device_mesh to be a DeviceMesh, received "
                                         r"\['cpu:0'\] of type list"):
        dist.DataParallel(["cpu:0"])
    with pytest.warns(UserWarning, match=r"expected a 1-D device mesh, received one of shape \(1, 1\)"):
        dp = dist.DataParallel(device_mesh=_mesh((1, 1), ("batch", "model")))
    assert dp.batch_dim_name == "batch" and dp.num_model_replicas == 1


def test_scope_and_set_distribution_as_keras(engine):
    if engine.name not in DATA_PARALLEL:
        with pytest.raises(NotImplementedError, match=f"'{engine.name}' engine.*DataParallel"):
            dist.set_distribution(dist.DataParallel())
        assert dist.distribution() is None
        return
    dp = dist.DataParallel()
    with dp.scope():
        assert dist.distribution() is dp
    dist.set_distribution(dp)
    try:
        assert dist.distribution() is dp
    finally:
        dist.set_distribution(None)
    assert dist.distribution() is None


# ------------------------------------------------------------ ModelParallel
def _layout_map(mesh):
    layout_map = dist.LayoutMap(mesh)
    layout_map[".*hidden/kernel"] = (None, "model")
    layout_map[".*hidden/bias"] = ("model",)
    return layout_map


def test_model_parallel_layouts(engine):
    mesh = _mesh((1, 1), ("data", "model"))
    mp = dist.ModelParallel(layout_map=_layout_map(mesh), device_mesh=mesh)  # Keras 3 ignores device_mesh
    assert mp.batch_dim_name == "data" and mp.num_model_replicas == 1 and mp.device_mesh is mesh
    assert dist.ModelParallel(layout_map=_layout_map(mesh), batch_dim_name="model").batch_dim_name == "model"
    model = pk.Sequential([pk.layers.Input((3,)), pk.layers.Dense(4, name="hidden"), pk.layers.Dense(2, name="out")])
    model.compile("adam", "mse")
    model.optimizer.build(model.trainable_variables)
    layouts = {v.path: mp.get_variable_layout(v).axes for v in model.variables + model.optimizer.variables}
    assert layouts["hidden/kernel"] == (None, "model") and layouts["hidden/bias"] == ("model",)
    assert layouts["out/kernel"] == (None, None) and layouts["adam/iteration"] == ()
    # an optimizer slot lies as its variable does
    assert layouts["adam/hidden_kernel_momentum"] == layouts["adam/hidden_kernel_velocity"] == (None, "model")
    assert layouts["adam/out_bias_momentum"] == (None,)
    assert mp.get_tensor_layout("hidden/bias").axes == ("model",) and mp.get_tensor_layout("x") is None
    assert mp.get_data_layout((8, 3)).axes == ("data", None)


@pytest.mark.parametrize("kwargs, error, message", [
    ({}, ValueError, "expected a layout_map"),
    ({"layout_map": {"a": ("batch",)}}, ValueError, "expected layout_map to be a LayoutMap, received .*dict"),
    ({"batch_dim_name": "rows"}, ValueError,
     r"expected batch_dim_name among the mesh's axis names \['batch', 'model'\], received 'rows'"),
    ({"shard": True}, TypeError, r"unexpected arguments \['shard'\]"),
])
def test_model_parallel_rejects(engine, kwargs, error, message):
    if "layout_map" not in kwargs and kwargs:
        kwargs["layout_map"] = _layout_map(_mesh((1, 1), ("batch", "model")))
    with pytest.raises(error, match=f"ModelParallel: {message}"):
        dist.ModelParallel(**kwargs)


def test_model_parallel_on_one_device_trains_as_without(engine):
    """A mesh of one device: every engine runs it, to the numbers of no
    distribution (predict everywhere; fit where the engine differentiates)."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=(16, 2)).astype("float32")
    results = []
    mp = dist.ModelParallel(layout_map=_layout_map(_mesh((1, 1), ("batch", "model"))))
    for scope, active in ((mp.scope(), mp), (contextlib.nullcontext(), None)):
        pk.random.set_seed(3)
        model = pk.Sequential([pk.layers.Input((3,)), pk.layers.Dense(4, name="hidden"), pk.layers.Dense(2)])
        model.compile("adam", "mse")
        with scope:
            assert dist.distribution() is active
            if engine.differentiable:
                model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
            results.append([model.predict(x, batch_size=8, verbose=0), *model.get_weights()])
        assert dist.distribution() is None
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_model_parallel_over_several_devices_where_the_engine_has_it(engine):
    mp = dist.ModelParallel(layout_map=_layout_map(dist.DeviceMesh((1, 2), ["batch", "model"],
                                                                   devices=["cpu:0", "cpu:1"])))
    if engine.name in MODEL_PARALLEL:  # one CPU device in this process
        with pytest.raises(ValueError, match=r"ModelParallel: expected devices among .*received \['cpu:1'\]"):
            mp.scope().__enter__()
    else:
        with pytest.raises(NotImplementedError, match=f"'{engine.name}' engine does not support model "
                                                      r"parallelism \(polykeras.distribution.ModelParallel\)"):
            mp.scope().__enter__()
    assert dist.distribution() is None
    with pytest.raises(ValueError, match=r"ModelParallel: expected devices among .*received \['gpu:7'\]"):
        dist.ModelParallel(layout_map=_layout_map(dist.DeviceMesh((1, 1), ["batch", "model"],
                                                                  devices=["gpu:7"]))).scope().__enter__()


# --------------------------------------------------------------- initialize
@pytest.mark.parametrize("args, message", [
    ({"job_addresses": "127.0.0.1:1,127.0.0.1:2", "num_processes": 3}, r"number of job_addresses \(2"),
    ({"job_addresses": "127.0.0.1:1,127.0.0.1:2", "process_id": 2}, r"\[0, 2\)"),  # the list gives the world
])
def test_initialize_job_addresses(engine, args, message):
    with pytest.raises(ValueError, match=message):
        dist.initialize(**args)


def test_initialize_reads_keras_environment(engine, monkeypatch):
    monkeypatch.setenv("KERAS_DISTRIBUTION_JOB_ADDRESSES", "127.0.0.1:1,127.0.0.1:2")
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "4")
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"index": 0}}))
    with pytest.raises(ValueError, match=r"\[0, 2\) for a world of 2 processes, received 4"):
        dist.initialize()
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "two")
    with pytest.raises(ValueError, match="integer KERAS_DISTRIBUTION_NUM_PROCESSES, received 'two'"):
        dist.initialize()


def test_no_warning_for_a_plain_data_parallel(engine):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dist.DataParallel(device_mesh=_mesh())
