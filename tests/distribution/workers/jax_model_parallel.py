"""JAX ModelParallel on a 2 x 2 ("batch", "model") mesh vs single-device
training on the global batch; prints JSON (its last line). One process with 4
forced host CPU devices, or, with JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES
/ JAX_PROCESS_ID set, one of 2 processes with 2 devices each. XLA_FLAGS must
be set before jax is imported (done here, first thing)."""

import json
import os

MULTI = "JAX_NUM_PROCESSES" in os.environ
os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={2 if MULTI else 4}"
os.environ["POLYKERAS_BACKEND"] = "jax"

import numpy as np  # noqa: E402

import polykeras.distribution as dist  # noqa: E402
from tests.distribution.workers._common import data, diff, make, seeded  # noqa: E402


def layout(variable):
    """Its partition spec (trailing Nones dropped) and this process's shards' shapes."""
    sharding = variable.value.sharding
    spec = list(sharding.spec)
    while spec and spec[-1] is None:
        spec.pop()
    return {"spec": spec, "shards": sorted({tuple(s.data.shape) for s in variable.value.addressable_shards})}


if MULTI:
    dist.initialize(timeout=60)
x, y = data(62)  # batches of 16, 16, 16, 14
out = {"devices": dist.list_devices(), "rank": dist.rank()}

# 8 -> BatchNormalization -> Dense(16, relu) -> Dense(3), Adam: the kernels'
# rows and BatchNormalization's gamma/beta split over "model"; the rest replicated.
single = seeded(make(batch_norm=True))
h_single = single.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False).history
parallel = make(batch_norm=True)
if dist.rank() == 0:  # across processes, process 1 starts from other weights: the first step takes process 0's
    seeded(parallel)
mesh = dist.DeviceMesh((2, 2), ["batch", "model"], devices=dist.list_devices())
layout_map = dist.LayoutMap(mesh)
layout_map[r".*dense(_\d+)?/kernel"] = ("model", None)
layout_map[".*batch_normalization.*/(gamma|beta)"] = ("model",)
with dist.ModelParallel(layout_map=layout_map).scope() as mp:
    out["active"] = dist.distribution() is mp
    h_parallel = parallel.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False).history
    state = parallel.variables + parallel.optimizer.variables
    out["layouts"] = {v.path: layout(v) for v in state}
    out["eval_parallel"] = parallel.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    predicted = parallel.predict(x, batch_size=16, verbose=0)
    out["weights_inside_diff"] = diff(parallel.get_weights(), single.get_weights())
out["active_after"] = dist.distribution() is None
out["weights_diff"] = diff(single.get_weights(), parallel.get_weights())
out["history_single"], out["history_parallel"] = h_single, h_parallel
out["eval_single"] = single.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
out["predict_shape"] = list(predicted.shape)
out["predict_diff"] = float(np.abs(predicted - single.predict(x, batch_size=16, verbose=0)).max())
out["kernel_paths"] = [parallel.layers[1].kernel.path, parallel.layers[2].kernel.path]
if MULTI:
    dist.shutdown()
print(json.dumps(out), flush=True)
