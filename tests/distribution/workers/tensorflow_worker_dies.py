"""A two-worker TensorFlow run whose worker 1 dies after the first epoch; the
survivor prints JSON with the error it got and how long it took."""

import json
import os
import time

os.environ["POLYKERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402

import polykeras as pk  # noqa: E402
import polykeras.distribution as dist  # noqa: E402

dist.initialize(timeout=20)
x = np.random.default_rng(0).normal(size=(64, 8)).astype("float32")
start = time.monotonic()
try:
    with dist.DataParallel():
        model = pk.Sequential([pk.layers.Input((8,)), pk.layers.Dense(3)])
        model.compile("sgd", "mse")
        model.fit(x, x[:, :3], batch_size=16, epochs=1, verbose=0)
        if dist.rank() == 1:
            time.sleep(1)  # let the chief take in this worker's last step
            os._exit(0)  # then die without a word
        start = time.monotonic()
        model.fit(x, x[:, :3], batch_size=16, epochs=2, verbose=0)
    result = {"ok": True}
except Exception as error:  # noqa: BLE001
    result = {"ok": False, "type": type(error).__name__, "message": str(error)}
result["seconds"] = time.monotonic() - start
print(json.dumps(result), flush=True)
