"""Ready-made applications, polykeras against Keras 3 on the same engine
(random weights, ``weights=None``, 224x224 images), each in its own process:
ResNet50 inference (``predict_on_batch``) and training step
(``train_on_batch``: SGD, sparse categorical cross-entropy, 1,000 classes)
at batch 32, and MobileNetV2 and EfficientNetB0 inference at batch 4.
There is no hand-written native column: torchvision's ResNet50 would be the
torch one, but PyPI serves only its CUDA build, which does not load beside
the CPU build of torch (``libtorch_cuda.so`` missing), and a hand-copied
network would measure the copy.

    python bench/applications.py [--engines jax,torch,tensorflow] [--models resnet50,resnet50_train,...]
                                 [--batch 32] [--steps 2 --rounds 2]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from bench._harness import main, timed  # noqa: E402

#: model key -> (application, training step?, default batch)
MODELS = {
    "resnet50": ("ResNet50", False, 32),
    "resnet50_train": ("ResNet50", True, 32),
    "mobilenet_v2": ("MobileNetV2", False, 4),
    "efficientnet_b0": ("EfficientNetB0", False, 4),
}
BATCH_VARIABLE = "BENCH_APPLICATIONS_BATCH"  # --batch, handed to the measuring processes


def _run(applications, to_numpy, model: str, steps: int, rounds: int) -> float:
    name, training, default_batch = MODELS[model]
    batch = int(os.environ.get(BATCH_VARIABLE) or default_batch)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (batch, 224, 224, 3)).astype("float32")
    net = getattr(applications, name)(weights=None)
    last = {}
    if training:
        y = rng.integers(0, 1000, (batch,)).astype("int32")
        net.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")

        def step() -> None:
            last["y"] = net.train_on_batch(x, y)
    else:
        def step() -> None:
            last["y"] = net.predict_on_batch(x)

    # Seconds per step on a CPU: two warm-up calls (the first builds and compiles) instead of ten.
    return timed(step, steps, rounds, lambda: to_numpy(last["y"]), warmup=2)


def polykeras_ms(engine: str, model: str, steps: int, rounds: int) -> float:
    from polykeras import applications, backends, ops

    with backends.use(engine):
        return _run(applications, ops.convert_to_numpy, model, steps, rounds)


def keras_ms(engine: str, model: str, steps: int, rounds: int) -> float:
    import keras  # KERAS_BACKEND is the engine (set by the harness)

    return _run(keras.applications, keras.ops.convert_to_numpy, model, steps, rounds)


def _batch_option() -> None:
    """``--batch N`` (images per batch; default: the model's own), taken off the
    command line before the shared harness reads it."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--batch", type=int)
    args, rest = parser.parse_known_args()
    sys.argv[1:] = rest
    if args.batch:
        os.environ[BATCH_VARIABLE] = str(args.batch)


if __name__ == "__main__":
    _batch_option()
    main(__file__, __doc__.splitlines()[0], {"polykeras": polykeras_ms, "keras": keras_ms},
         engines="jax,torch,tensorflow", models="resnet50,resnet50_train,mobilenet_v2,efficientnet_b0", steps=2)
