"""How long building a functional graph takes: a symbolic call's shape
inference, per engine.

Each case calls a layer on ``polykeras.Input`` and times that call (the
median of ``--rounds``). "build" cases create the layer each time, so its
weights' initialisation on the host is counted; "trace" cases call an
already built layer that has no ``compute_output_shape``, so its output
shape comes from the engine's abstract evaluation (``jax.eval_shape``, torch
fake tensors, a TensorFlow trace, the NumPy engine's shape-only arrays)
run at two probe sizes of the unknown batch axis.

    python bench/shape_inference.py [--engines numpy,jax] [--rounds 3]

Measured on the shared 2-core CPU box (ms, one run each; the box was loaded,
so read the orders of magnitude): "numpy before" is the NumPy engine running
its kernels on zero-stride placeholder arrays, as it did before its
shape-only arrays (``polykeras/backends/numpy/abstract.py``):

    case                                         numpy before  numpy now     jax   torch  tensorflow
    build Dense(8192) on Input((8192,))                  2739       1424    2592    2213        2150
    build Conv2D(64, 3) on Input((512, 512, 3))           0.7        1.1    13.5     8.9        13.9
    trace relu(x @ w), w (8192, 8192)                     789        0.2    10.7    11.3        13.0
    trace Lambda conv 3x3x3x64 on 512x512x3            210382        0.2     1.1    12.5        11.7
    trace max_pool + softmax on 256x256x64               7564        0.5     1.1    11.8        11.5

(The build cases never ran kernels: Dense and Conv2D answer their
``compute_output_shape``; their time is the initialisation of the weights.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _cases() -> dict[str, Callable[[], Callable[[], Any]]]:
    """Case name -> a setup returning the call to time."""
    import polykeras as pk
    from polykeras import layers, ops

    class MatMul(layers.Layer):  # no compute_output_shape: the engine's abstract evaluation answers
        def build(self, input_shape: Any) -> None:
            self.w = self.add_weight(shape=(input_shape[-1], 8192), initializer="zeros")

        def call(self, x: Any) -> Any:
            return ops.relu(ops.matmul(x, self.w))

    def built(layer: Any, shape: tuple) -> Callable[[], Any]:
        layer(pk.Input(shape))
        return lambda: layer(pk.Input(shape))

    kernel = ops.ones((3, 3, 3, 64))
    return {
        "build Dense(8192) on Input((8192,))": lambda: lambda: layers.Dense(8192)(pk.Input((8192,))),
        "build Conv2D(64, 3) on Input((512, 512, 3))": lambda: lambda: layers.Conv2D(64, 3)(pk.Input((512, 512, 3))),
        "trace relu(x @ w), w (8192, 8192)": lambda: built(MatMul(), (8192,)),
        "trace Lambda conv 3x3x3x64 on 512x512x3": lambda: built(
            layers.Lambda(lambda x: ops.conv(x, kernel, 1, "valid")), (512, 512, 3)),
        "trace max_pool + softmax on 256x256x64": lambda: built(
            layers.Lambda(lambda x: ops.softmax(ops.max_pool(x, 2, 1, "same"), axis=-1)), (256, 256, 64)),
    }


def measure(engine: str, rounds: int) -> dict[str, float]:
    """Median milliseconds of each case's symbolic call on ``engine``."""
    from polykeras import backends

    out = {}
    with backends.use(engine):
        for name, setup in _cases().items():
            call = setup()
            samples = []
            for _ in range(rounds):
                start = time.perf_counter()
                call()
                samples.append((time.perf_counter() - start) * 1e3)
            out[name] = statistics.median(samples)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="numpy,jax")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    engines = args.engines.split(",")
    results = {engine: measure(engine, args.rounds) for engine in engines}
    print(f"{'case':48s}" + "".join(f"{e:>12s}" for e in engines) + "   (ms)")
    for name in results[engines[0]]:
        print(f"{name:48s}" + "".join(f"{results[e][name]:12.1f}" for e in engines))


if __name__ == "__main__":
    main()
