"""JAX data parallel over 4 forced host CPU devices vs one device; prints JSON.
XLA_FLAGS must be set before jax is imported (done here, first thing)."""

import json
import os

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
os.environ["POLYKERAS_BACKEND"] = "jax"

import numpy as np  # noqa: E402

import polykeras.distribution as dist  # noqa: E402
from tests.distribution.workers._common import custom_loop, data, diff, make  # noqa: E402

x, y = data(62)  # batches of 16, 16, 16, 14 (the last one replicated)
out = {"devices": dist.list_devices("cpu")}

single = make(batch_norm=True)
initial = single.get_weights()
h_single = single.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False).history
parallel = make(batch_norm=True)
parallel.set_weights(initial)
with dist.DataParallel(devices=dist.list_devices()) as dp:
    out["active"] = repr(dist.distribution()) == repr(dp)
    h_parallel = parallel.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False).history
    sharding = parallel.layers[1].kernel.value.sharding
    out["kernel_replicated"] = [bool(sharding.is_fully_replicated), len(sharding.device_set)]
    out["eval_parallel"] = parallel.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    predicted = parallel.predict(x, batch_size=16, verbose=0)
out["active_after"] = dist.distribution() is None
out["weights_diff"] = diff(single.get_weights(), parallel.get_weights())
out["bn_diff"] = diff([single.layers[0].moving_mean.value, single.layers[0].moving_variance.value],
                      [parallel.layers[0].moving_mean.value, parallel.layers[0].moving_variance.value])
out["history_single"], out["history_parallel"] = h_single, h_parallel
out["eval_single"] = single.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
out["predict_diff"] = float(np.abs(predicted - single.predict(x, batch_size=16, verbose=0)).max())


a, b = make(batch_norm=True), make(batch_norm=True)
b.set_weights(a.get_weights())
ref, _ = custom_loop(a, [(x[:32], y[:32])], 12, sync_every=10)
with dist.DataParallel():
    got, _ = custom_loop(b, [(x[:32], y[:32])], 12, sync_every=10)
out["custom_loop_diff"] = diff(ref, got)
print(json.dumps(out))
