"""Metric state in Keras 3 files. Keras 3 writes none (its ``Metric`` has no
``save_own_variables``, so ``model.weights.h5`` holds layers and optimizer
only) and a model it loads starts with fresh metrics. polykeras does the same
both ways: a Keras file's metrics start fresh here, Keras starts ours fresh,
and groups beyond the model's layers and optimizer (metric state written by
some other tool) are ignored as Keras ignores them. Keras 3 runs once for
every file of the module, on its NumPy backend (in this process where it
can)."""

from __future__ import annotations

import importlib.util
import json
import os
from typing import Any

import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import Input, Sequential, backends, layers, metrics
from polykeras.saving import load_model

from layers.helpers import run_keras  # tests/ is on sys.path

pytestmark = [pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras is not installed"),
              # The files hold an unbuilt optimizer (evaluated, never fitted) and loading builds it: Keras
              # warns and skips that state ("Skipping variable loading for optimizer") as polykeras does.
              pytest.mark.filterwarnings("ignore:.*optimizer state does not fit:UserWarning")]

RNG = np.random.default_rng(7)
KERNELS = [RNG.normal(size=(4, 3)).astype("float32"), RNG.normal(size=(3,)).astype("float32"),
           RNG.normal(size=(3, 1)).astype("float32"), RNG.normal(size=(1,)).astype("float32")]
X_FIT, Y_FIT = RNG.random((24, 4)).astype("float32"), (RNG.random((24, 1)) > 0.5).astype("float32")
X, Y = RNG.random((16, 4)).astype("float32"), (RNG.random((16, 1)) > 0.5).astype("float32")

#: Keras' side, in one run: it evaluates (building up metric state), saves and reloads its own model (and
#: a copy of the file with stray metric groups), then reloads each of ours; for each file, the metric names, whether
#: ``get_metrics_result`` had state to report, and after one ``test_on_batch`` the logs and every metric
#: variable by path.
KERAS_SIDE = r'''
import io, json, zipfile, h5py
folder = str(data["folder"])

def model():
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1, activation="sigmoid")])
    m.set_weights([data[f"w{i}"] for i in range(4)])
    m.compile("adam", "binary_crossentropy",
              metrics=["accuracy", keras.metrics.AUC(num_thresholds=5), keras.metrics.Precision()])
    return m

used = model()
used.evaluate(data["x_fit"], data["y_fit"], batch_size=8, verbose=0)
out["saved_count"] = np.asarray(used.metrics[0].variables[1])
used.save(f"{folder}/keras.keras")
with zipfile.ZipFile(f"{folder}/keras.keras") as src, zipfile.ZipFile(f"{folder}/keras_extra.keras", "w") as dst:
    for item in src.namelist():
        payload = src.read(item)
        if item == "model.weights.h5":
            buffer = io.BytesIO(payload)
            with h5py.File(buffer, "a") as f:
                for group in ("metrics/vars", "_compile_metrics/vars"):
                    f.create_group(group).create_dataset("0", data=np.float32([99.0, 7.0]))
            payload = buffer.getvalue()
        dst.writestr(item, payload)

for name in json.loads(str(data["names"])):
    loaded = keras.saving.load_model(f"{folder}/{name}.keras")
    try:
        had_state = bool(loaded.get_metrics_result())
    except ValueError:  # the compiled metrics are not built until their first update
        had_state = "unbuilt"
    logs = loaded.test_on_batch(data["x"], data["y"], return_dict=True)
    out[name] = {"names": [m.name for m in loaded.metrics], "had_state": had_state,
                 "logs": {k: float(v) for k, v in logs.items()},
                 "variables": {v.path: np.asarray(v).tolist() for m in loaded.metrics for v in m.variables}}
'''


def _engines(config: Any) -> list[str]:
    chosen = config.getoption("--engines") or os.environ.get("POLYKERAS_TEST_ENGINES")
    return chosen.split(",") if chosen else backends.installed()


def _model() -> Sequential:
    model = Sequential([Input((4,)), layers.Dense(3), layers.Dense(1, activation="sigmoid")])
    model.set_weights(KERNELS)
    model.compile("adam", "binary_crossentropy",
                  metrics=["accuracy", metrics.AUC(num_thresholds=5), metrics.Precision()])
    return model


@pytest.fixture(scope="module")
def keras_side(request, tmp_path_factory) -> dict[str, Any]:
    """Our files (one per engine, saved with metric state built up by
    ``evaluate``), then Keras' record of its own files and of ours."""
    folder = tmp_path_factory.mktemp("metric_state")
    names = ["keras", "keras_extra"]
    for engine in _engines(request.config):
        with backends.use(engine):
            model = _model()
            model.evaluate(X_FIT, Y_FIT, batch_size=8, verbose=0)
            model.save(folder / f"ours_{engine}.keras")
        names.append(f"ours_{engine}")
    data = {"folder": np.array(str(folder)), "names": np.array(json.dumps(names)), "x_fit": X_FIT, "y_fit": Y_FIT,
            "x": X, "y": Y, **{f"w{i}": w for i, w in enumerate(KERNELS)}}
    return {"folder": folder, **run_keras(KERAS_SIDE, data, backend="numpy")}


def _state(model: Any) -> tuple[list[str], dict[str, float], dict[str, np.ndarray]]:
    """After one ``test_on_batch``: metric names, logs, every metric variable by path."""
    logs = model.test_on_batch(X, Y, return_dict=True)
    variables = {v.path: np.asarray(v.numpy()) for m in model.metrics for v in m.variables}
    return [m.name for m in model.metrics], {k: float(v) for k, v in logs.items()}, variables


def _assert_same_as_keras(ours: tuple[list[str], dict[str, float], dict[str, np.ndarray]],
                          keras: dict[str, Any], name: str) -> None:
    names, logs, variables = ours
    assert names == keras["names"]
    assert sorted(logs) == sorted(keras["logs"])
    assert_close(np.float32([logs[k] for k in sorted(logs)]), np.float32([keras["logs"][k] for k in sorted(logs)]),
                 "model", err_msg=f"{name}: logs")
    assert sorted(variables) == sorted(keras["variables"])
    for path, value in variables.items():
        assert_close(value, np.asarray(keras["variables"][path], value.dtype), "model",
                     err_msg=f"{name}: metric variable {path}")


def test_a_keras_file_loads_with_fresh_metrics_as_keras_loads_it(engine, keras_side):
    """The Keras file was saved after evaluating 24 rows; after loading and one
    16-row batch, the loss tracker counts 16 rows here as in Keras."""
    assert float(keras_side["saved_count"]) == len(X_FIT)
    assert keras_side["keras"]["had_state"] == "unbuilt"
    loaded = load_model(keras_side["folder"] / "keras.keras")
    with pytest.raises(ValueError, match="compile_metrics.*first batch"):  # as Keras: nothing built, nothing kept
        loaded.get_metrics_result()
    state = _state(loaded)
    assert float(state[2]["loss/count"]) == len(X)
    _assert_same_as_keras(state, keras_side["keras"], "keras")


def test_stray_metric_groups_in_a_keras_file_are_ignored_as_keras_ignores_them(engine, keras_side):
    loaded = load_model(keras_side["folder"] / "keras_extra.keras")
    _assert_same_as_keras(_state(loaded), keras_side["keras_extra"], "keras_extra")


def test_keras_loads_our_file_with_fresh_metrics(engine, keras_side):
    """Ours was saved after ``evaluate`` on 24 rows: it carries no metric
    state, so Keras starts fresh, and so does our own reload of it."""
    name = f"ours_{engine.name}"
    assert keras_side[name]["had_state"] == "unbuilt"
    reloaded = load_model(keras_side["folder"] / f"{name}.keras")
    with pytest.raises(ValueError, match="compile_metrics.*first batch"):
        reloaded.get_metrics_result()
    state = _state(reloaded)
    assert float(state[2]["loss/count"]) == len(X)
    _assert_same_as_keras(state, keras_side[name], name)
