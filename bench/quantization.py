"""Quantized inference: weight bytes and predict time of an int8-quantized
model against its float32 self, polykeras beside Keras 3, per engine.

Models (float32, batch 128):
    mlp          Dense 784-512-256-10 (relu)
    transformer  Embedding(4000, 128) over 32 ids -> EinsumDense q/k/v-like
                 projection (128 -> 3 x 128) -> Dense 128-512-128 feed-forward
                 -> flatten -> Dense 10

The same model code builds both (``import polykeras as keras`` works), with
the same weights; ``model.quantize("int8")`` (weights per output channel,
activations per row, as Keras 3's default) then ``predict_on_batch`` is
timed: the median of ``--rounds`` rounds of ``--steps`` calls, each
implementation in its own process. Weight bytes are the sum over
``model.weights`` of size x itemsize.

    python bench/quantization.py [--engines torch,jax,tensorflow,numpy] [--models mlp,transformer]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np
from _harness import timed

BATCH = 128


def build(lib, model: str):
    """The benchmark model, written once against the Keras API of ``lib``."""
    layers = lib.layers
    if model == "mlp":
        inputs = lib.Input((784,))
        x = layers.Dense(512, activation="relu")(inputs)
        x = layers.Dense(256, activation="relu")(x)
        outputs = layers.Dense(10)(x)
        data = np.random.default_rng(1).standard_normal((BATCH, 784)).astype("float32")
    else:
        inputs = lib.Input((32,), dtype="int32")
        x = layers.Embedding(4000, 128)(inputs)
        x = layers.EinsumDense("abc,cde->abde", output_shape=(32, 3, 128), bias_axes="de")(x)
        x = layers.Reshape((32, 3 * 128))(x)
        x = layers.Dense(128, activation="relu")(x)
        x = layers.Dense(512, activation="relu")(x)
        x = layers.Dense(128)(x)
        x = layers.Flatten()(x)
        outputs = layers.Dense(10)(x)
        data = np.random.default_rng(1).integers(0, 4000, (BATCH, 32)).astype("int32")
    net = lib.Model(inputs, outputs)
    rng = np.random.default_rng(0)
    net.set_weights([(rng.standard_normal(tuple(w.shape)) * 0.05).astype("float32") for w in net.weights])
    return net, data


def weight_bytes(net) -> int:
    return int(sum(int(np.prod(w.shape)) * np.dtype(str(w.dtype)).itemsize for w in net.weights))


def run(impl: str, engine: str, model: str, steps: int, rounds: int) -> dict[str, float]:
    if impl == "keras":
        import keras as lib
    else:
        import polykeras as lib
        import polykeras.backends as B

        B.set_default(engine)
    net, data = build(lib, model)
    out: dict[str, float] = {"float_bytes": weight_bytes(net)}
    reference = np.asarray(net.predict_on_batch(data))
    out["float_ms"] = timed(lambda: net.predict_on_batch(data), steps, rounds)
    net.quantize("int8")
    quantized = np.asarray(net.predict_on_batch(data))
    out["int8_ms"] = timed(lambda: net.predict_on_batch(data), steps, rounds)
    out["int8_bytes"] = weight_bytes(net)
    out["rel_err"] = float(np.abs(quantized - reference).max() / np.abs(reference).max())
    return out


def measure(engine: str, impl: str, model: str, steps: int, rounds: int) -> dict[str, float] | None:
    command = [sys.executable, __file__, "--worker", "--engine", engine, "--impl", impl, "--model", model,
               "--steps", str(steps), "--rounds", str(rounds)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND=engine, JAX_PLATFORMS="cpu")
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    print(f"  {engine}/{impl}/{model} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="torch,jax,tensorflow,numpy")
    parser.add_argument("--models", default="mlp,transformer")
    parser.add_argument("--impls", default="polykeras,keras")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run(args.impl, args.engine, args.model, args.steps, args.rounds)))
        return
    print(f"{'model':<12} {'engine':<11} {'impl':<10} {'f32 MB':>7} {'int8 MB':>8} {'bytes':>6} {'f32 ms':>8} "
          f"{'int8 ms':>8} {'time':>6} {'max err':>8}")
    for model in args.models.split(","):
        for engine in args.engines.split(","):
            for impl in args.impls.split(","):
                r = measure(engine, impl, model, args.steps, args.rounds)
                if r is None:
                    continue
                print(f"{model:<12} {engine:<11} {impl:<10} {r['float_bytes'] / 1e6:>7.2f} "
                      f"{r['int8_bytes'] / 1e6:>8.2f} {r['int8_bytes'] / r['float_bytes']:>5.2f}x "
                      f"{r['float_ms']:>8.2f} {r['int8_ms']:>8.2f} {r['int8_ms'] / r['float_ms']:>5.2f}x "
                      f"{r['rel_err']:>8.4f}", flush=True)


if __name__ == "__main__":
    main()
