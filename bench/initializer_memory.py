"""Host memory an initializer needs to draw a large weight.

For each initializer, the peak of the host allocations (``tracemalloc``:
NumPy reports its buffers to it) while it draws a ``--size`` x ``--size``
float32 weight, as a multiple of the weight itself, and the time taken; then
the same for building a ``Dense(size)`` on a ``size``-wide input on the NumPy
engine (the variable included). 1.0x would be the weight alone.

    python bench/initializer_memory.py [--size 4096] [--engine numpy]
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def peak(fn: Callable[[], Any]) -> tuple[float, float]:
    """(peak bytes of host allocations during ``fn``, seconds)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return float(top), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--engine", default="numpy")
    args = parser.parse_args()

    from polykeras import backends, initializers, layers

    size = args.size
    weight = size * size * 4
    print(f"weight {size}x{size} float32 = {weight / 2**20:.0f} MiB")
    print(f"{'initializer':<18} {'peak MiB':>9} {'x weight':>9} {'seconds':>8}")
    for name in ("GlorotUniform", "GlorotNormal", "HeNormal", "RandomNormal", "RandomUniform", "TruncatedNormal",
                 "LecunUniform"):
        init = getattr(initializers, name)(seed=0)
        top, seconds = peak(lambda init=init: init.host_values((size, size), "float32"))
        print(f"{name:<18} {top / 2**20:>9.0f} {top / weight:>8.2f}x {seconds:>8.2f}")
    with backends.use(args.engine):
        def build() -> Any:
            layer = layers.Dense(size)
            layer.build((None, size))
            return layer

        top, seconds = peak(build)
        print(f"{'Dense.build':<18} {top / 2**20:>9.0f} {top / weight:>8.2f}x {seconds:>8.2f}  "
              f"(engine {args.engine}, glorot_uniform kernel + zeros bias)")


if __name__ == "__main__":
    main()
