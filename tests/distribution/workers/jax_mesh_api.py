"""Keras 3's mesh API on 4 forced host CPU devices, polykeras (jax engine)
beside Keras 3 (jax backend) in one process; prints JSON. XLA_FLAGS must be
set before jax is imported (done here, first thing)."""

import json
import os

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
os.environ["POLYKERAS_BACKEND"] = "jax"
os.environ["KERAS_BACKEND"] = "jax"

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

import polykeras as pk  # noqa: E402
import polykeras.distribution as dist  # noqa: E402

kd = keras.distribution
out: dict = {}

# ------------------------------------------------------------------ devices
out["devices"] = [dist.list_devices(), kd.list_devices(), dist.list_devices("cpu"), kd.list_devices("cpu")]
out["count"] = [dist.get_device_count(), kd.get_device_count(), dist.get_device_count("CPU"),
                kd.get_device_count("cpu")]

# ----------------------------------------------------------- mesh and layouts
mesh, kmesh = (m.DeviceMesh((2, 2), ["batch", "model"]) for m in (dist, kd))
out["mesh"] = {"devices_equal": bool((mesh.devices == kmesh.devices).all()), "repr": [repr(mesh), repr(kmesh)],
               "backend_equal": mesh.backend_mesh == kmesh.backend_mesh}
layout, klayout = dist.TensorLayout(("batch", None), mesh), kd.TensorLayout(("batch", None), kmesh)
out["layout_equal"] = layout.backend_layout == klayout.backend_layout

x = np.arange(8 * 6, dtype="float32").reshape(8, 6)
placements = {}
for axes in [("batch", None), (None, "model"), ("model", "batch"), (None,), ("batch",)]:
    got = dist.distribute_tensor(x, dist.TensorLayout(axes, mesh))
    want = kd.distribute_tensor(x, kd.TensorLayout(axes, kmesh))
    placements[str(axes)] = {"sharding_equal": got.sharding == want.sharding,
                             "shard_shape": [list(got.sharding.shard_shape(got.shape)),
                                             list(want.sharding.shard_shape(want.shape))],
                             "values_equal": bool(np.array_equal(np.asarray(got), np.asarray(want)))}
out["placements"] = placements
traced = jax.jit(lambda t: dist.distribute_tensor(t * 2, dist.TensorLayout((None, "model"), mesh)))(x)
ktraced = jax.jit(lambda t: kd.distribute_tensor(t * 2, kd.TensorLayout((None, "model"), kmesh)))(x)
out["traced"] = {"sharding_equal": traced.sharding.is_equivalent_to(ktraced.sharding, 2),
                 "spec": str(traced.sharding.spec), "values_equal": bool(np.array_equal(traced, ktraced))}

# ---------------------------------------------------------------- LayoutMap
lookups = {}
maps = []
for m, mm in ((dist, mesh), (kd, kmesh)):
    layout_map = m.LayoutMap(mm)
    layout_map[".*hidden/kernel"] = (None, "model")
    layout_map[".*hidden/bias"] = ("model",)
    layout_map["out/kernel"] = m.TensorLayout(("model", None))
    layout_map[".*kernel"] = ("batch", None)  # overlaps the first key for hidden/kernel
    maps.append(layout_map)
for key in ["out/kernel", "hidden/bias", "m/hidden/bias", "out/bias", "x/out/kernel", "conv/kernel"]:
    found = [lm[key] for lm in maps]
    lookups[key] = [None if f is None else [list(f.axes), f.device_mesh is not None] for f in found]
for key in ["hidden/kernel"]:
    raised = []
    for lm in maps:
        try:
            lm[key]
            raised.append("no error")
        except ValueError as error:
            raised.append(type(error).__name__)
    lookups[key] = raised
out["lookups"] = lookups
out["map_len"] = [len(lm) for lm in maps]

# ------------------------------------------------------------- DataParallel
dp, kdp = dist.DataParallel(), kd.DataParallel()
out["data_parallel"] = [[list(d.device_mesh.shape), list(d.device_mesh.axis_names), d.batch_dim_name,
                         d.num_model_replicas, list(d.get_data_layout((16, 8)).axes)] for d in (dp, kdp)]

# ----------------------------------------------- ModelParallel fit vs Keras 3
rng = np.random.default_rng(0)
xs, ys = rng.normal(size=(64, 8)).astype("float32"), rng.normal(size=(64, 4)).astype("float32")


def model_of(m):
    model = m.Sequential([m.layers.Input((8,)), m.layers.Dense(16, activation="relu", name="hidden"),
                          m.layers.Dense(4, name="out")])
    model.compile(optimizer=m.optimizers.Adam(0.01), loss="mse")
    return model


draw = np.random.default_rng(1)
initial = [draw.normal(scale=0.3, size=s).astype("float32") for s in [(8, 16), (16,), (16, 4), (4,)]]


def model_parallel_of(m, mm):
    layout_map = m.LayoutMap(mm)
    layout_map[".*hidden/kernel"] = (None, "model")
    layout_map[".*hidden/bias"] = ("model",)
    layout_map[".*out/kernel"] = ("model", None)
    return m.ModelParallel(layout_map=layout_map, batch_dim_name="batch")


single = model_of(pk)
single.set_weights(initial)
history_single = single.fit(xs, ys, batch_size=16, epochs=3, verbose=0, shuffle=False).history["loss"]
parallel = model_of(pk)
parallel.set_weights(initial)
with model_parallel_of(dist, mesh).scope():
    history = parallel.fit(xs, ys, batch_size=16, epochs=3, verbose=0, shuffle=False).history["loss"]
    specs = {v.path: str(v.value.sharding.spec) for v in parallel.variables + parallel.optimizer.variables
             if v.path.startswith(("hidden", "out")) or v.path.endswith("_momentum")}
    predicted = parallel.predict(xs, batch_size=16, verbose=0)
out["after_scope"] = dist.distribution() is None

kdistribution = model_parallel_of(kd, kmesh)
with kdistribution.scope():
    kmodel = model_of(keras)
    kmodel.set_weights(initial)
    khistory = kmodel.fit(xs, ys, batch_size=16, epochs=3, verbose=0, shuffle=False).history["loss"]
    kspecs = {v.path: str(v.value.sharding.spec) for v in kmodel.variables}
    kpredicted = kmodel.predict(xs, batch_size=16, verbose=0)
out["model_parallel"] = {
    "history": history, "history_single": history_single, "history_keras": khistory,
    "weights_vs_single": max(float(np.max(np.abs(a - b))) for a, b in zip(parallel.get_weights(),
                                                                          single.get_weights())),
    "weights_vs_keras": max(float(np.max(np.abs(a - b))) for a, b in zip(parallel.get_weights(),
                                                                         kmodel.get_weights())),
    "predict_vs_keras": float(np.max(np.abs(predicted - kpredicted))),
    "specs": specs, "keras_specs": kspecs,
}

# ------------------------------------------------ DataParallel fit vs Keras 3
parallel = model_of(pk)
parallel.set_weights(initial)
with dist.DataParallel(devices=dist.list_devices()).scope():
    history = parallel.fit(xs, ys, batch_size=16, epochs=3, verbose=0, shuffle=False).history["loss"]
    kernel = parallel.layers[0].kernel.value.sharding
with kd.DataParallel(devices=kd.list_devices()).scope():
    kmodel = model_of(keras)
    kmodel.set_weights(initial)
    khistory = kmodel.fit(xs, ys, batch_size=16, epochs=3, verbose=0, shuffle=False).history["loss"]
    kkernel = kmodel.layers[0].kernel.value.sharding
out["data_parallel_fit"] = {
    "history": history, "history_keras": khistory,
    "weights_vs_keras": max(float(np.max(np.abs(a - b))) for a, b in zip(parallel.get_weights(),
                                                                         kmodel.get_weights())),
    "kernel_replicated": [bool(kernel.is_fully_replicated), bool(kkernel.is_fully_replicated)],
    "kernel_devices": [len(kernel.device_set), len(kkernel.device_set)],
}
print(json.dumps(out))
