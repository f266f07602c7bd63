"""Training-step time under float32 and mixed_bfloat16: polykeras beside Keras 3.

Models and data as bench/train_step.py (batch 128, Adam, sparse cross-entropy
from logits; mlp 784-512-256-10, cnn conv32-pool-conv64-pool-dense10 on
28x28x1). Each (implementation, policy) runs in its own process (Keras 3
fixes its engine at import), warms up, then times ``--steps`` compiled steps;
the median of ``--rounds`` rounds is reported. On CPUs bfloat16 is mostly a
storage format (few CPU kernels compute in it natively), so the mixed column
measures the cost of the casts as much as any gain; on accelerators it is the
other way round.

    python bench/mixed_precision.py [--engines torch,jax,tensorflow] [--models mlp,cnn]
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from _harness import add_worker_arguments, measure, polykeras_step_ms, timed, worker

POLICIES = ("float32", "mixed_bfloat16")
BATCH = 128


def data(model: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    shape = (BATCH, 784) if model == "mlp" else (BATCH, 28, 28, 1)
    return rng.standard_normal(shape).astype("float32"), rng.integers(0, 10, BATCH).astype("int32")


def _polykeras(policy: str):
    def run(engine: str, model_name: str, steps: int, rounds: int) -> float:
        import polykeras as pk
        import polykeras.backends as B
        from polykeras import layers

        x, y = data(model_name)
        with B.use(engine):
            pk.config.set_dtype_policy(policy)
            pk.random.set_seed(0)
            if model_name == "mlp":
                model = pk.Sequential([pk.Input((784,)), layers.Dense(512, activation="relu"),
                                       layers.Dense(256, activation="relu"), layers.Dense(10)])
            else:
                model = pk.Sequential([pk.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
                                       layers.MaxPooling2D(), layers.Conv2D(64, 3, activation="relu"),
                                       layers.MaxPooling2D(), layers.Flatten(), layers.Dense(10)])
            model.compile(pk.optimizers.Adam(1e-3), pk.losses.SparseCategoricalCrossentropy(from_logits=True))
            return polykeras_step_ms(model, x, y, BATCH, steps, rounds)
    return run


def _keras(policy: str):
    def run(engine: str, model_name: str, steps: int, rounds: int) -> float:
        os.environ["KERAS_BACKEND"] = engine
        import keras

        x, y = data(model_name)
        keras.config.set_dtype_policy(policy)
        keras.utils.set_random_seed(0)
        if model_name == "mlp":
            model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(512, activation="relu"),
                                      keras.layers.Dense(256, activation="relu"), keras.layers.Dense(10)])
        else:
            model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(32, 3, activation="relu"),
                                      keras.layers.MaxPooling2D(), keras.layers.Conv2D(64, 3, activation="relu"),
                                      keras.layers.MaxPooling2D(), keras.layers.Flatten(), keras.layers.Dense(10)])
        model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        state = {}

        def step():
            state["loss"] = model.train_on_batch(x, y)

        return timed(step, steps, rounds)
    return run


RUNNERS = {f"{impl}:{policy}": make(policy) for policy in POLICIES
           for impl, make in (("polykeras", _polykeras), ("keras", _keras))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="torch,jax,tensorflow")
    parser.add_argument("--models", default="mlp,cnn")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    add_worker_arguments(parser)
    args = parser.parse_args()
    if args.worker:
        worker(RUNNERS, args)
        return
    print(f"{'model':<5} {'engine':<11} {'pk f32 ms':>10} {'pk bf16 ms':>11} {'pk bf16/f32':>12} "
          f"{'keras f32 ms':>13} {'keras bf16 ms':>14} {'keras bf16/f32':>15} {'pk/keras bf16':>14}")
    for model in args.models.split(","):
        for engine in args.engines.split(","):
            t = measure(__file__, engine, list(RUNNERS), model, args.steps, args.rounds)

            def ms(v: float | None) -> str:
                return f"{v:.2f}" if v else "-"

            def ratio(a: float | None, b: float | None) -> str:
                return f"{a / b:.2f}x" if a and b else "-"

            pf, pb = t["polykeras:float32"], t["polykeras:mixed_bfloat16"]
            kf, kb = t["keras:float32"], t["keras:mixed_bfloat16"]
            print(f"{model:<5} {engine:<11} {ms(pf):>10} {ms(pb):>11} {ratio(pb, pf):>12} {ms(kf):>13} "
                  f"{ms(kb):>14} {ratio(kb, kf):>15} {ratio(pb, kb):>14}", flush=True)


if __name__ == "__main__":
    main()
