"""Per-batch cost of a preprocessing layer inside a ``tf.data`` pipeline:
polykeras's host bridge (``tf.numpy_function``) against calling the layer
directly on the same NumPy batches, beside Keras 3's layer in the same
pipeline (its own process, same engine) and a hand-written ``tf`` map.

Run: ``python bench/data_pipeline.py [--engines torch jax ...]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
BATCHES, BATCH, WIDTH = 200, 32, 16


def _time_pipeline(tf, fn, x) -> float:
    ds = tf.data.Dataset.from_tensor_slices(x).batch(BATCH).map(fn)
    for _ in ds.take(5):
        pass
    start = time.perf_counter()
    for _ in ds:
        pass
    return (time.perf_counter() - start) * 1e3 / (len(x) // BATCH)


def run(impl: str, engine: str) -> dict[str, float]:
    import numpy as np
    import tensorflow as tf

    x = np.random.default_rng(0).normal(size=(BATCHES * BATCH, WIDTH)).astype("float32")
    if impl == "keras":
        import keras

        layer = keras.layers.Normalization(mean=1.0, variance=4.0)
        layer.build((None, WIDTH))
        return {"keras_map": _time_pipeline(tf, layer, x)}
    import polykeras.backends as B
    from polykeras import layers, ops

    with B.use(engine):
        layer = layers.Normalization(mean=1.0, variance=4.0)
        batches = [x[i:i + BATCH] for i in range(0, len(x), BATCH)]
        for b in batches[:5]:
            ops.to_numpy(layer(b))
        start = time.perf_counter()
        for b in batches:
            ops.to_numpy(layer(b))
        direct = (time.perf_counter() - start) * 1e3 / len(batches)
        bridged = _time_pipeline(tf, layer, x)
        native = _time_pipeline(tf, lambda b: (b - 1.0) / 2.0, x)
    return {"direct": direct, "polykeras_map": bridged, "tf_native_map": native}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engines", nargs="*", default=["tensorflow", "torch", "jax", "numpy"])
    parser.add_argument("--child", nargs=2)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run(*args.child)))
        return
    print(f"Normalization, batch {BATCH}x{WIDTH}, {BATCHES} batches: ms per batch")
    print(f"{'engine':<11}{'direct':>9}{'pk map':>9}{'overhead':>10}{'keras map':>11}{'tf map':>9}")
    for engine in args.engines:
        row = {}
        for impl in ("polykeras", "keras"):
            env = {**os.environ, "KERAS_BACKEND": "jax" if engine == "numpy" else engine}
            out = subprocess.run([sys.executable, __file__, "--child", impl, engine], env=env, check=True,
                                 capture_output=True, text=True).stdout.strip().splitlines()[-1]
            row.update(json.loads(out))
        print(f"{engine:<11}{row['direct']:>9.3f}{row['polykeras_map']:>9.3f}"
              f"{row['polykeras_map'] - row['direct']:>+10.3f}{row['keras_map']:>11.3f}{row['tf_native_map']:>9.3f}")


if __name__ == "__main__":
    main()
