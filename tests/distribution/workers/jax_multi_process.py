"""One of two JAX processes (env JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES /
JAX_PROCESS_ID), each with 2 forced host CPU devices: a 4-device mesh across
processes vs single-process training on the global batch, in the same process.
argv[1]: a scratch folder. Prints JSON (its last line)."""

import json
import os
import sys
import time

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
os.environ["POLYKERAS_BACKEND"] = "jax"

import numpy as np  # noqa: E402

import polykeras as pk  # noqa: E402
import polykeras.distribution as dist  # noqa: E402
from tests.distribution.workers._common import custom_loop, data, diff, make, seeded  # noqa: E402

start = time.monotonic()
dist.initialize(timeout=60)
rank = dist.rank()
out = {"rank": rank, "world": dist.process_count(), "chief": dist.is_chief(), "devices": dist.list_devices()}
x, y = data(62)  # fit: 16, 16, 16, 14 (14: not divisible by 4 devices)

# The single-process reference: the same process, no distribution (runs on this process's first device).
single = seeded(make(batch_norm=True))
h_single = single.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False).history
out["eval_single"] = single.evaluate(x, y, batch_size=20, verbose=0, return_dict=True)  # 20, 20, 20, 2
predicted_single = single.predict(x, batch_size=24, verbose=0)  # 24, 24, 14

parallel = make(batch_norm=True)
if rank == 0:  # process 1 starts from other weights: the first step takes process 0's
    seeded(parallel)
checkpoint = os.path.join(sys.argv[1], f"ckpt-rank{rank}-{{epoch}}.weights.h5")
with dist.DataParallel() as dp:
    out["mesh"] = dp.devices
    h_parallel = parallel.fit(x, y, batch_size=16, epochs=3, verbose=1, shuffle=False, callbacks=[
        pk.callbacks.ModelCheckpoint(checkpoint, save_weights_only=True, monitor="loss"),
        pk.callbacks.BackupAndRestore(os.path.join(sys.argv[1], "backup"))]).history
    sharding = parallel.layers[1].kernel.value.sharding
    out["kernel_replicated"] = [bool(sharding.is_fully_replicated), len(sharding.device_set)]
    out["eval_parallel"] = parallel.evaluate(x, y, batch_size=20, verbose=0, return_dict=True)
    predicted = parallel.predict(x, batch_size=24, verbose=0)
out["history_single"], out["history_parallel"] = h_single, h_parallel
out["weights_diff"] = diff(single.get_weights(), parallel.get_weights())
out["bn_diff"] = diff([single.layers[0].moving_mean.value, single.layers[0].moving_variance.value],
                      [parallel.layers[0].moving_mean.value, parallel.layers[0].moving_variance.value])
out["predict_shape"] = list(predicted.shape)
out["predict_diff"] = float(np.abs(predicted - predicted_single).max())


STEPS = int(os.environ.get("CUSTOM_STEPS", "120"))
BATCHES = [(x[:32], y[:32]), (x[32:], y[32:])]  # 32 and 30 rows (30: replicated), never waited on
ref, ref_loss = custom_loop(seeded(make(batch_norm=True)), BATCHES, STEPS)
with dist.DataParallel():
    got, got_loss = custom_loop(seeded(make(batch_norm=True)), BATCHES, STEPS)
out["custom_loop_diff"] = diff(ref, got)
out["custom_loop_loss"] = [ref_loss, got_loss]
dist.barrier()  # the chief's files are all written
out["files"] = sorted(os.listdir(sys.argv[1]))
out["seconds"] = time.monotonic() - start
dist.shutdown()
print(json.dumps(out), flush=True)
