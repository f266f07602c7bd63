"""Keras 3 ``.keras`` configs go through the same whole-config check as
polykeras' own before any layer is built: a nested functional model Keras
wrote loads (Keras numbers its endpoint nodes from 1), and a broken
``keras_history``, an unknown output layer or two layers of one name are
refused with an error naming the file, the model and the layer."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras.saving import ArchiveError, load_model
from polykeras.saving.keras_config import KerasConfigError
from tests.layers.helpers import run_keras

_KERAS = r'''
import os, tempfile
Dense = keras.layers.Dense
a = keras.Input((3,), name="a")
inner = keras.Model(a, [Dense(2, name="i0")(a), Dense(4, name="i1")(a)], name="inner")
x, y = keras.Input((3,), name="x"), keras.Input((3,), name="y")
on_x, on_y = inner(x), inner(y)
outer = keras.Model([x, y], [Dense(1, name="head")(on_x[1]), on_y[0]], name="outer")
rng = np.random.default_rng(0)
outer.set_weights([rng.standard_normal(w.shape).astype("float32") for w in outer.get_weights()])
head, tail = outer([data["x"], data["y"]])
out["head"], out["tail"] = np.asarray(head), np.asarray(tail)
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "outer.keras")
    outer.save(path)
    out["archive"] = np.frombuffer(open(path, "rb").read(), np.uint8)
'''


@pytest.fixture(scope="module")
def keras_nested():
    rng = np.random.default_rng(1)
    data = {"x": rng.standard_normal((2, 3)).astype("float32"), "y": rng.standard_normal((2, 3)).astype("float32")}
    return data, run_keras(_KERAS, data, backend="numpy")


def _archive(tmp_path: Path, keras_nested, edit=None) -> Path:
    """The Keras archive, its ``config.json`` passed through ``edit``."""
    source = zipfile.ZipFile(io.BytesIO(keras_nested[1]["archive"].tobytes()))
    path = tmp_path / "outer.keras"
    with zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "config.json" and edit is not None:
                config = json.loads(content)
                edit(config["config"])
                content = json.dumps(config).encode()
            target.writestr(info.filename, content)
    return path


def _layer(config: dict, name: str) -> dict:
    return next(e for e in config["layers"] if e["name"] == name)


def test_a_nested_functional_model_written_by_keras_loads(engine, keras_nested, tmp_path):
    data, out = keras_nested
    model = load_model(_archive(tmp_path, keras_nested))  # output ['inner', 2, 0]: Keras' node 2 is call 1
    head, tail = model.predict([data["x"], data["y"]], verbose=0)
    assert_close(head, out["head"], "layer", err_msg="head")
    assert_close(tail, out["tail"], "layer", err_msg="the nested model's second call")


def test_keras_node_zero_of_a_nested_model_is_refused(engine, keras_nested, tmp_path):
    def edit(config):
        config["output_layers"][1] = ["inner", 0, 0]

    with pytest.raises(KerasConfigError, match=r"outer.keras: field 'output_layers': \['inner', 0, 0\] names node 0 "
                                               r"of the nested model 'inner', Keras' own node"):
        load_model(_archive(tmp_path, keras_nested, edit))


@pytest.mark.parametrize("case", ["tensor_index", "unknown_output", "duplicate", "node_index"])
def test_broken_keras_configs_name_model_and_layer(engine, keras_nested, tmp_path, case):
    def edit(config):
        history = _layer(config, "head")["inbound_nodes"][0]["args"][0]["config"]["keras_history"]
        if case == "tensor_index":
            history[:] = ["inner", 0, 5]
        elif case == "unknown_output":
            config["output_layers"][0] = ["nope", 0, 0]
        elif case == "duplicate":
            entry = _layer(config, "head")
            entry["name"] = entry["config"]["name"] = "x"
            config["output_layers"][0][0] = "x"
        else:
            history[:] = ["inner", 3, 1]

    expected = {
        "tensor_index": r"layer 'head' call 0 argument args\[0\] refers to tensor \['inner', 0, 5\]; layer 'inner' "
                        r"has 2 outputs: expected a tensor index below 2, received 5",
        "unknown_output": r"field output_layers\[0\] refers to tensor \['nope', 0, 0\], but the config defines no "
                          r"layer named 'nope'",
        "duplicate": r"layer entries \d and \d are both named 'x'; expected unique layer names",
        "node_index": r"layer 'head' call 0 argument args\[0\] refers to tensor \['inner', 3, 1\], but layer 'inner' "
                      r"has 2 nodes \(node indexes 0 to 1\) in the config; expected a node index below 2, received 3",
    }[case]
    with pytest.raises(ArchiveError, match=r"outer.keras: the translated Keras config cannot be built: "
                                           r"Functional.from_config: model 'outer': " + expected):
        load_model(_archive(tmp_path, keras_nested, edit))



_KERAS_READS = r'''
import os, tempfile
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "ours.keras")
    open(path, "wb").write(data["archive"].tobytes())
    model = keras.saving.load_model(path)
    first, second = model([data["x"], data["y"]])
out["first"], out["second"] = np.asarray(first), np.asarray(second)
'''


def _ours_nested(folder: Path) -> tuple[Path, Any]:
    """A polykeras model whose outputs are calls 0 and 1 of a nested model, fixed weights, saved as .keras."""
    from polykeras import Input, Model, layers

    a = Input((3,), name="a")
    inner = Model(a, layers.Dense(2, name="i0")(a), name="inner")
    x, y = Input((3,), name="x"), Input((3,), name="y")
    model = Model([x, y], [inner(x), inner(y)], name="outer")
    model.set_weights([np.arange(6, dtype="float32").reshape(3, 2) / 7.0, np.float32([0.5, -0.25])])
    model.save(folder / "ours.keras")
    return folder / "ours.keras", model


@pytest.fixture(scope="module")
def keras_reads_ours(tmp_path_factory):
    """What Keras 3 computes from a polykeras-written nested model (written once, on the NumPy engine)."""
    from polykeras import backends

    with backends.use("numpy"):
        path, _ = _ours_nested(tmp_path_factory.mktemp("ours"))
    rng = np.random.default_rng(2)
    data = {"x": rng.standard_normal((2, 3)).astype("float32"), "y": rng.standard_normal((2, 3)).astype("float32"),
            "archive": np.frombuffer(path.read_bytes(), np.uint8)}
    return data, run_keras(_KERAS_READS, data, backend="numpy")


def test_keras_reads_a_nested_model_written_by_polykeras_in_order(engine, keras_reads_ours, tmp_path):
    data, out = keras_reads_ours
    path, model = _ours_nested(tmp_path)
    written = json.loads(zipfile.ZipFile(path).read("config.json"))["config"]
    assert written["output_layers"] == [["inner", 1, 0], ["inner", 2, 0]]  # Keras' numbering: calls from 1
    theirs = json.loads(zipfile.ZipFile(io.BytesIO(data["archive"].tobytes())).read("config.json"))["config"]
    assert written == theirs  # the file Keras read below, written on the NumPy engine
    first, second = model.predict([data["x"], data["y"]], verbose=0)
    assert_close(out["first"], first, "layer", err_msg="the nested model's call on x")  # were swapped before
    assert_close(out["second"], second, "layer", err_msg="the nested model's call on y")
