"""``KerasFileEditor`` on files polykeras saved, on every engine: summary,
compare (same counts as Keras 3's editor), object and weight edits, resaving
as ``.keras`` and ``.weights.h5`` that polykeras and Keras 3 load back, and
clear errors on bad input."""

from __future__ import annotations

import importlib.util
import zipfile

import h5py
import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import Input, Sequential, layers
from polykeras.saving import ArchiveError, KerasFileEditor, WeightsError, load_model

from layers.helpers import run_keras  # tests/ is on sys.path


def _model(inputs=4, units=(3, 2)):
    return Sequential([Input((inputs,)), *[layers.Dense(u) for u in units]])


def _saved(tmp_path, model=None):
    model = model or _model()
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "m.weights.h5")
    return model


def test_summary_lists_objects_and_weights(engine, tmp_path, capsys):
    model = _saved(tmp_path)
    for name in ("m.keras", "m.weights.h5"):
        editor = KerasFileEditor(tmp_path / name)
        assert list(editor.weights_dict) == ["layers"]
        assert list(editor.weights_dict["layers"]) == ["dense", "dense_1"]
        assert_close(editor.weights_dict["layers"]["dense_1"]["0"], model.layers[1].kernel.numpy(), "elementwise")
        editor.summary()
        text = capsys.readouterr().out
        assert "dense_1" in text and "0: shape=(4, 3), dtype=float32" in text and "1: shape=(2,)" in text
    assert editor.config is None and KerasFileEditor(tmp_path / "m.keras").config["class_name"] == "Sequential"


def test_compare_counts_matches_and_mismatches(engine, tmp_path, capsys):
    model = _saved(tmp_path)
    editor = KerasFileEditor(tmp_path / "m.keras")
    assert editor.compare(model) == {"status": "success", "error_count": 0, "match_count": 4}
    # dense/0 has another shape, dense_2 is missing from the file: 2 errors, 3 weights match
    assert editor.compare(_model(5, (3, 2, 1))) == {"status": "error", "error_count": 2, "match_count": 3}
    # the file has dense_1, the reference lacks it: 1 error
    assert editor.compare(_model(4, (3,))) == {"status": "error", "error_count": 1, "match_count": 2}
    assert "shape mismatch for /layers/dense/0" in capsys.readouterr().out


def test_optimizer_state_is_an_object(engine, tmp_path):
    model = _model()
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    model.save(tmp_path / "m.keras")
    editor = KerasFileEditor(tmp_path / "m.keras")
    count = len(model.optimizer.variables)
    assert list(editor.weights_dict["optimizer"]) == [str(i) for i in range(count)]  # in numeric order
    assert editor.compare(model) == {"status": "success", "error_count": 0, "match_count": 4 + count}
    assert editor.compare(_model()) == {"status": "error", "error_count": 1, "match_count": 4}
    editor.delete_object("optimizer")
    assert editor.compare(_model())["status"] == "success"
    editor.save(tmp_path / "weights_only.keras")
    assert not load_model(tmp_path / "weights_only.keras").optimizer.built


def test_edits_resave_and_load_back(engine, tmp_path, rng):
    _saved(tmp_path)
    target = _model(4, (3, 5))  # dense_1 grows from 2 to 5 units
    editor = KerasFileEditor(tmp_path / "m.keras")
    assert editor.compare(target)["error_count"] == 2
    kernel, bias = rng.normal(size=(3, 5)).astype("float32"), rng.normal(size=(5,)).astype("float32")
    editor.delete_object("dense_1")
    editor.add_object("layers/spare", {"0": kernel})
    editor.rename_object("layers/spare", "dense_1")
    editor.add_weights("dense_1", {"1": np.zeros(5, "float32")})
    editor.add_weights("layers/dense_1", {"1": bias})  # same shape: replaced
    assert editor.compare(target) == {"status": "success", "error_count": 0, "match_count": 4}
    editor.resave_weights(tmp_path / "edited.weights.h5")
    target.load_weights(tmp_path / "edited.weights.h5")
    assert_close(target.layers[1].kernel.numpy(), kernel, "elementwise")
    assert_close(target.layers[1].bias.numpy(), bias, "elementwise")

    editor.delete_weight("dense", "1")
    assert list(editor.weights_dict["layers"]["dense"]) == ["0"]
    editor.add_weights("dense", {"1": np.ones(3, "float32")})
    editor.delete_object("layers/dense_1")
    editor.add_object("layers/dense_1", {"0": kernel[:, :2], "1": bias[:2]})
    editor.save(tmp_path / "edited.keras")  # config and metadata of the original model
    with zipfile.ZipFile(tmp_path / "m.keras") as a, zipfile.ZipFile(tmp_path / "edited.keras") as b:
        assert a.read("config.json") == b.read("config.json") and a.read("metadata.json") == b.read("metadata.json")
    again = load_model(tmp_path / "edited.keras")
    assert_close(again.layers[0].bias.numpy(), np.ones(3), "elementwise")
    assert_close(again.layers[1].kernel.numpy(), kernel[:, :2], "elementwise")


#: Keras 3's own editor compares the file polykeras wrote, and Keras loads the edited archive.
KERAS_SIDE = r'''
folder = str(data["folder"])
editor = keras.saving.KerasFileEditor(f"{folder}/m.keras")
same = keras.saving.load_model(f"{folder}/m.keras")
other = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3), keras.layers.Dense(2), keras.layers.Dense(1)])
out["same"] = editor.compare(same)
out["other"] = editor.compare(other)
edited = keras.saving.load_model(f"{folder}/edited.keras")
out["y"] = np.asarray(edited.predict(data["x"], verbose=0))
recurrent = keras.Sequential([keras.Input((3, 2)), keras.layers.LSTM(2), keras.layers.Dense(1)])
recurrent.save(f"{folder}/k.keras")
'''


@pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras is not installed")
def test_keras_agrees_and_loads_the_edit(engine, tmp_path, rng):
    model = _saved(tmp_path)
    editor = KerasFileEditor(tmp_path / "m.keras")
    editor.delete_object("layers/dense_1")
    editor.add_object("layers/dense_1", {"0": rng.normal(size=(3, 2)).astype("float32"),
                                         "1": rng.normal(size=(2,)).astype("float32")})
    editor.save(tmp_path / "edited.keras")
    x = rng.normal(size=(3, 4)).astype("float32")
    out = run_keras(KERAS_SIDE, {"folder": np.asarray(str(tmp_path)), "x": x}, backend="numpy")
    # Keras 3.15 adds each object's running counts back into the totals (for 4 matching weights it says 6;
    # for 1 shape mismatch + 1 missing layer, 3 errors and 4 matches): the statuses agree, the counts here are
    # the number of mismatches and of matching weights
    for ours, theirs, counts in ((editor.compare(model), out["same"], (0, 4)),
                                 (editor.compare(_model(5, (3, 2, 1))), out["other"], (2, 3))):
        assert ours["status"] == theirs["status"], (ours, theirs)
        assert (ours["error_count"], ours["match_count"]) == counts, ours
    assert_close(out["y"], load_model(tmp_path / "edited.keras").predict(x, verbose=0), "layer")

    # a Keras-written archive: the LSTM's weights sit under its cell
    keras_file = KerasFileEditor(tmp_path / "k.keras")
    assert sorted(keras_file.weights_dict["layers"]["lstm"]["cell"]) == ["0", "1", "2"]
    theirs = load_model(tmp_path / "k.keras")
    assert keras_file.compare(theirs) == {"status": "success", "error_count": 0, "match_count": 5}
    keras_file.add_weights("cell", {"2": np.ones(8, "float32")})
    keras_file.save(tmp_path / "k_edited.keras")
    assert_close(load_model(tmp_path / "k_edited.keras").layers[0].cell.bias.numpy(), np.ones(8), "elementwise")


def test_bad_input_is_refused_by_name(engine, tmp_path):
    _saved(tmp_path)
    editor = KerasFileEditor(tmp_path / "m.keras")
    with pytest.raises(ValueError, match=r"m.keras has no object named 'dense_7'.*'layers/dense'"):
        editor.delete_object("dense_7")
    with pytest.raises(ValueError, match=r"no object 'layers/nope'.*objects there: \['dense', 'dense_1'\]"):
        editor.rename_object("layers/nope", "x")
    with pytest.raises(ValueError, match="leaf name"):
        editor.rename_object("dense", "a/b")
    with pytest.raises(ValueError, match="already has 'dense_1' beside 'layers/dense'"):
        editor.rename_object("dense", "dense_1")
    with pytest.raises(ValueError, match=r"object 'layers/dense' of .*m.keras has no weight '5'; its weights: "
                                         r"\['0', '1'\]"):
        editor.delete_weight("dense", "5")
    with pytest.raises(ValueError, match=r"weight '0' of 'layers/dense' has shape \(4, 3\); received shape \(3, 3\)"):
        editor.add_weights("dense", {"0": np.zeros((3, 3))})
    with pytest.raises(ValueError, match="should be a dict"):
        editor.add_weights("dense", [np.zeros(3)])
    with pytest.raises(ValueError, match="numeric array"):
        editor.add_object("layers/extra", {"0": np.asarray(["a"])})
    with pytest.raises(ValueError, match="already has 'layers/dense'"):
        editor.add_object("layers/dense", {"0": np.zeros(2)})
    editor.add_object("layers/dense/dense_1", {"0": np.zeros(2)})
    with pytest.raises(ValueError, match=r"'dense_1' occurs 2 times .*pass a full path"):
        editor.delete_object("dense_1")
    with pytest.raises(ValueError, match=r"resave_weights: .*out.keras should end in '.weights.h5'"):
        editor.resave_weights(tmp_path / "out.keras")
    with pytest.raises(ValueError, match="should end in '.weights.h5' or '.keras'"):
        editor.save(tmp_path / "out.h5")
    with pytest.raises(ValueError, match="needs a model config; .*m.weights.h5 is a weights file"):
        KerasFileEditor(tmp_path / "m.weights.h5").save(tmp_path / "out.keras")
    with pytest.raises(TypeError, match="expected a model"):
        editor.compare("not a model")


def test_non_keras_files_are_refused(engine, tmp_path):
    _saved(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"notes.txt is not a Keras file; expected a '.keras' or '.weights.h5'"):
        KerasFileEditor(tmp_path / "notes.txt")
    with pytest.raises(FileNotFoundError, match="no file at"):
        KerasFileEditor(tmp_path / "missing.keras")
    with h5py.File(tmp_path / "plain.weights.h5", "w") as f:
        f.create_dataset("table", data=np.zeros(3))
    with pytest.raises(WeightsError, match=r"plain.weights.h5: not a Keras 3 weights file; expected a 'layers' or "
                                           r"'vars' group"):
        KerasFileEditor(tmp_path / "plain.weights.h5")
    (tmp_path / "fake.keras").write_bytes(b"not a zip")
    with pytest.raises(ArchiveError, match="fake.keras: not a model archive"):
        KerasFileEditor(tmp_path / "fake.keras")
    with zipfile.ZipFile(tmp_path / "partial.keras", "w") as archive:
        archive.writestr("config.json", "{}")
    with pytest.raises(ArchiveError, match="partial.keras: missing member"):
        KerasFileEditor(tmp_path / "partial.keras")
    with h5py.File(tmp_path / "linked.weights.h5", "w") as f:
        f.create_group("layers")
        f["vars"] = h5py.SoftLink("/layers")
    with pytest.raises(WeightsError, match="soft link"):
        KerasFileEditor(tmp_path / "linked.weights.h5")
