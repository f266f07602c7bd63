"""What one ``polykeras.ops`` call adds over calling the framework directly.

For each installed engine: a small elementwise add, a 64x64 matmul and a 3x3
conv2d on a 1x16x16x8 image, each timed as the median of repeated batches, for
the native call and the same call through ``polykeras.ops``.

    python bench/ops_overhead.py [--engines torch,jax] [--repeat 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import polykeras.backends as B  # noqa: E402
from polykeras import ops  # noqa: E402


def per_call_us(fn, repeat: int, rounds: int = 7) -> float:
    for _ in range(50):
        fn()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        samples.append((time.perf_counter() - start) / repeat * 1e6)
    return statistics.median(samples)


def native_cases(name: str, a, w, img, k):
    """The framework's own calls, given engine tensors (NHWC image, HWIO kernel)."""
    if name == "torch":
        import torch
        import torch.nn.functional as F

        img_nchw = img.permute(0, 3, 1, 2).contiguous()
        k_oihw = k.permute(3, 2, 0, 1).contiguous()
        return {"add": lambda: torch.add(a, a), "matmul": lambda: torch.matmul(w, w),
                "conv2d": lambda: F.conv2d(img_nchw, k_oihw)}
    if name == "tensorflow":
        import tensorflow as tf

        return {"add": lambda: tf.add(a, a), "matmul": lambda: tf.matmul(w, w),
                "conv2d": lambda: tf.nn.convolution(img, k)}
    if name == "jax":
        import jax
        import jax.numpy as jnp

        dn = ("NHWC", "HWIO", "NHWC")
        return {"add": lambda: jnp.add(a, a).block_until_ready(),
                "matmul": lambda: jnp.matmul(w, w).block_until_ready(),
                "conv2d": lambda: jax.lax.conv_general_dilated(
                    img, k, (1, 1), "VALID", dimension_numbers=dn).block_until_ready()}
    return {"add": lambda: np.add(a, a), "matmul": lambda: np.matmul(w, w), "conv2d": None}


def _ready(x):
    wait = getattr(x, "block_until_ready", None)
    return wait() if wait else x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default=",".join(B.installed()))
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'engine':<11} {'op':<7} {'native µs':>10} {'polykeras µs':>13} {'added µs':>9} {'ratio':>6}")
    for name in args.engines.split(","):
        with B.use(name):
            a = ops.convert_to_tensor(rng.standard_normal((8,)).astype("float32"))
            w = ops.convert_to_tensor(rng.standard_normal((64, 64)).astype("float32"))
            img = ops.convert_to_tensor(rng.standard_normal((1, 16, 16, 8)).astype("float32"))
            k = ops.convert_to_tensor(rng.standard_normal((3, 3, 8, 8)).astype("float32"))
            ours = {"add": lambda a=a: _ready(ops.add(a, a)), "matmul": lambda w=w: _ready(ops.matmul(w, w)),
                    "conv2d": lambda img=img, k=k: _ready(ops.conv(img, k))}
            for op_name, native in native_cases(name, a, w, img, k).items():
                repeat = args.repeat if op_name != "conv2d" else max(args.repeat // 10, 50)
                ours_us = per_call_us(ours[op_name], repeat)
                if native is None:
                    print(f"{name:<11} {op_name:<7} {'-':>10} {ours_us:>13.2f} {'-':>9} {'-':>6}")
                    continue
                native_us = per_call_us(native, repeat)
                print(f"{name:<11} {op_name:<7} {native_us:>10.2f} {ours_us:>13.2f} "
                      f"{ours_us - native_us:>9.2f} {ours_us / native_us:>6.2f}")


if __name__ == "__main__":
    main()
