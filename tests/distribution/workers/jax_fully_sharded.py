"""JAX fully sharded data parallel on a 4-device mesh vs single-device training
on the global batch; prints JSON (its last line). One process with 4 forced
host CPU devices, or, with JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES /
JAX_PROCESS_ID set, one of 2 processes with 2 devices each. argv[1]: a
scratch folder (shared by the processes). XLA_FLAGS must be set before jax is
imported (done here, first thing)."""

import json
import os
import sys

MULTI = "JAX_NUM_PROCESSES" in os.environ
os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={2 if MULTI else 4}"
os.environ["POLYKERAS_BACKEND"] = "jax"

import numpy as np  # noqa: E402

import polykeras as pk  # noqa: E402
import polykeras.distribution as dist  # noqa: E402
from tests.distribution.workers._common import custom_loop, data, diff, make, seeded  # noqa: E402


def layout(variable):
    """Where ``variable`` lies: its shape, partition spec, device count and this process's shards' shapes."""
    sharding = variable.value.sharding
    return {"shape": list(variable.shape), "spec": str(sharding.spec), "replicated": bool(sharding.is_fully_replicated),
            "devices": len(sharding.device_set),
            "shards": sorted({tuple(s.data.shape) for s in variable.value.addressable_shards})}


if MULTI:
    dist.initialize(timeout=60)
x, y = data(62)  # batches of 16, 16, 16, 14 (the last one replicated)
out = {"devices": dist.list_devices("cpu"), "rank": dist.rank()}

# 8 -> BatchNormalization -> Dense(16) -> Dense(3), Adam: the kernels (8, 16)
# and (16, 3), BatchNormalization's gamma and beta (8,) and the first bias
# (16,) shard over 4 devices; the last bias (3,) cannot.
single = seeded(make(batch_norm=True))
h_single = single.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False).history
parallel = make(batch_norm=True)
if dist.rank() == 0:  # across processes, process 1 starts from other weights: the first step takes process 0's
    seeded(parallel)
with dist.FullyShardedDataParallel() as fsdp:
    out["active"] = repr(dist.distribution()) == repr(fsdp)
    checkpoint = pk.callbacks.ModelCheckpoint(os.path.join(sys.argv[1], "fsdp-{epoch}.weights.h5"),
                                              save_weights_only=True)  # every process gathers, one writes
    h_parallel = parallel.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False,
                              callbacks=[checkpoint]).history
    state = parallel.variables + parallel.optimizer.variables + parallel.metrics_variables
    out["layouts"] = {v.path: layout(v) for v in state}
    inside = parallel.get_weights()
    out["eval_parallel"] = parallel.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    predicted = parallel.predict(x, batch_size=16, verbose=0)
    out["kernel_after_predict"] = layout(parallel.layers[1].kernel)
out["active_after"] = dist.distribution() is None
dist.barrier()
out["checkpoints"] = sorted(name for name in os.listdir(sys.argv[1]) if name.startswith("fsdp-"))
saved = make(batch_norm=True)
saved.load_weights(os.path.join(sys.argv[1], "fsdp-3.weights.h5"))
out["checkpoint_diff"] = diff(saved.get_weights(), parallel.get_weights())
out["weight_shapes"] = [list(w.shape) for w in single.get_weights()]
out["weights_inside_shapes"] = [list(w.shape) for w in inside]
out["weights_inside_diff"] = diff(inside, parallel.get_weights())
out["weights_diff"] = diff(single.get_weights(), parallel.get_weights())
out["bn_diff"] = diff([single.layers[0].moving_mean.value, single.layers[0].moving_variance.value],
                      [parallel.layers[0].moving_mean.value, parallel.layers[0].moving_variance.value])
out["history_single"], out["history_parallel"] = h_single, h_parallel
out["eval_single"] = single.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
out["predict_shape"] = list(predicted.shape)
out["predict_diff"] = float(np.abs(predicted - single.predict(x, batch_size=16, verbose=0)).max())

ref, _ = custom_loop(seeded(make(batch_norm=True)), [(x[:32], y[:32])], 12, sync_every=10)
with dist.FullyShardedDataParallel():
    looped = seeded(make(batch_norm=True))
    got, _ = custom_loop(looped, [(x[:32], y[:32])], 12, sync_every=10)
    out["custom_loop_kernel"] = layout(looped.layers[1].kernel)
out["custom_loop_diff"] = diff(ref, got)
if MULTI:
    dist.shutdown()
print(json.dumps(out), flush=True)
