"""Every format from every training engine: the four models (MLP, CNN with
BatchNormalization, LSTM, Transformer block) are trained on the engine under
test, exported, then loaded by the format's own runtime in a fresh
subprocess that never imports polykeras (one subprocess per format runs all
four), and must predict within 1e-5 of the model at batch sizes 3 and 7
(the tracers saw batch 2, or none); SavedModels are also run by Keras 3's
``TFSMLayer(path, call_endpoint="serve")``. The NumPy engine cannot fit: its
models carry weights set off their initial values instead (see ``trained``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.export._models import MODELS, trained

FORMATS = {"tf_saved_model": "savedmodel", "onnx": "onnx", "torch": "pt2", "jax": "stablehlo"}
BATCHES = (3, 7)
RUNNER = Path(__file__).with_name("_run_artifacts.py")

_trained: dict[str, dict[str, Any]] = {}


def _models(engine: Any) -> dict[str, Any]:
    if engine.name not in _trained:
        _trained.clear()  # one engine's models at a time
        _trained[engine.name] = {name: trained(name, engine.differentiable) for name in MODELS}
    return _trained[engine.name]


@pytest.mark.parametrize("format", list(FORMATS))
def test_exported_artifact_predicts_like_the_model(engine: Any, format: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    inputs, expected = {}, {}
    for name, model in _models(engine).items():
        model.export(tmp_path / f"{name}.{FORMATS[format]}", format=format, verbose=False)
        for batch in BATCHES:
            x = rng.uniform(size=(batch, *MODELS[name][1])).astype("float32")
            inputs[f"{name}__{batch}"] = x
            expected[f"{name}__{batch}"] = np.asarray(model.predict(x, verbose=0))
    np.savez(tmp_path / "inputs.npz", **inputs)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    done = subprocess.run([sys.executable, str(RUNNER), format, str(tmp_path)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"polykeras_imported": False}
    outputs = np.load(tmp_path / "outputs.npz")
    readers = [""] + (["keras_tfsmlayer__"] if format == "tf_saved_model" else [])
    for reader in readers:
        for key, want in expected.items():
            got = outputs[reader + key]
            assert got.shape == want.shape, key
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-5,
                                       err_msg=f"{format} {reader}{key} from {engine.name}")
