"""Only join a run (env as torchrun / JAX / TF_CONFIG set it); print JSON with
the error, if any. argv[1]: engine, argv[2]: timeout seconds, argv[3]
(optional) ``late``: run an op before joining."""

import json
import os
import sys
import time

os.environ["POLYKERAS_BACKEND"] = sys.argv[1]

import polykeras.distribution as dist  # noqa: E402

start = time.monotonic()
try:
    if sys.argv[3:] == ["late"]:
        from polykeras import ops

        ops.to_numpy(ops.add(1.0, 1.0))
    dist.initialize(timeout=float(sys.argv[2]))
    result = {"ok": True, "rank": dist.rank(), "world": dist.process_count()}
    dist.shutdown()
except Exception as error:  # noqa: BLE001
    result = {"ok": False, "type": type(error).__name__, "message": str(error)}
result["seconds"] = time.monotonic() - start
print(json.dumps(result), flush=True)
