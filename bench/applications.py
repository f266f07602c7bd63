"""Inference time of ready-made applications: ``predict_on_batch`` of a
batch of 4 224x224 images through MobileNetV2 and EfficientNetB0 (random
weights, ``weights=None``), polykeras against Keras 3 on the same engine,
each in its own process. There is no hand-written native column: torchvision
and its kin are not dependencies, and a hand-copied network would measure
the copy.

    python bench/applications.py [--engines jax,torch,tensorflow] [--models mobilenet_v2,efficientnet_b0]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from bench._harness import main, timed  # noqa: E402

MODELS = {"mobilenet_v2": "MobileNetV2", "efficientnet_b0": "EfficientNetB0"}
BATCH = np.random.default_rng(0).uniform(0, 255, (4, 224, 224, 3)).astype("float32")


def _run(applications, to_numpy, model: str, steps: int, rounds: int) -> float:
    net = getattr(applications, MODELS[model])(weights=None)
    last = {}

    def step() -> None:
        last["y"] = net.predict_on_batch(BATCH)

    return timed(step, steps, rounds, lambda: to_numpy(last["y"]))


def polykeras_ms(engine: str, model: str, steps: int, rounds: int) -> float:
    from polykeras import applications, backends, ops

    with backends.use(engine):
        return _run(applications, ops.convert_to_numpy, model, steps, rounds)


def keras_ms(engine: str, model: str, steps: int, rounds: int) -> float:
    import keras  # KERAS_BACKEND is the engine (set by the harness)

    return _run(keras.applications, keras.ops.convert_to_numpy, model, steps, rounds)


if __name__ == "__main__":
    main(__file__, __doc__.splitlines()[0], {"polykeras": polykeras_ms, "keras": keras_ms},
         engines="jax,torch,tensorflow", models="mobilenet_v2,efficientnet_b0", steps=5)
