"""Load exported artifacts with their own runtime only (no polykeras) and
write their predictions: ``python _run_artifacts.py FORMAT FOLDER``.

FOLDER holds ``inputs.npz`` (arrays named ``<model>__<batch>``) and one
artifact per model; ``outputs.npz`` gets the predictions under the same keys.
For SavedModels, Keras 3's ``TFSMLayer`` runs them too (keys prefixed
``keras_tfsmlayer__``). The last line printed is a JSON object: whether
polykeras was imported.
"""

from __future__ import annotations

import json
import os
import sys

from typing import Any

import numpy as np


def _runner(fmt: str, path: str) -> tuple[Any, Any]:
    if fmt == "tf_saved_model":
        import tensorflow as tf

        loaded = tf.saved_model.load(path)
        return lambda x: loaded.serve(x).numpy(), loaded
    if fmt == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return lambda x: session.run(None, {name: x})[0], session
    if fmt == "torch":
        import torch

        program = torch.export.load(path).module()
        return lambda x: program(torch.from_numpy(x)).detach().numpy(), program
    if fmt == "jax":
        import jax

        with open(path, "rb") as file:
            exported = jax.export.deserialize(bytearray(file.read()))
        return lambda x: np.asarray(exported.call(x)), exported
    raise SystemExit(f"unknown format {fmt!r}")


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    fmt, folder = sys.argv[1], sys.argv[2]
    inputs = np.load(os.path.join(folder, "inputs.npz"))
    outputs = {}
    runners: dict[str, Any] = {}  # also keeps each loaded artifact alive while it runs
    for key in inputs.files:
        model = key.split("__")[0]
        if model not in runners:
            artifact = next(os.path.join(folder, f) for f in os.listdir(folder) if f.startswith(model + "."))
            runners[model] = _runner(fmt, artifact)
        outputs[key] = runners[model][0](inputs[key])
    if fmt == "tf_saved_model":
        # Keras 3's own TFSMLayer (KERAS_BACKEND=tensorflow) reads the serve endpoint too.
        import keras

        for key in inputs.files:
            model = key.split("__")[0]
            artifact = next(os.path.join(folder, f) for f in os.listdir(folder) if f.startswith(model + "."))
            layer = keras.layers.TFSMLayer(artifact, call_endpoint="serve")
            outputs[f"keras_tfsmlayer__{key}"] = keras.ops.convert_to_numpy(layer(inputs[key]))
    np.savez(os.path.join(folder, "outputs.npz"), **outputs)
    print(json.dumps({"polykeras_imported": any(m.split(".")[0] == "polykeras" for m in sys.modules)}))


if __name__ == "__main__":
    main()
