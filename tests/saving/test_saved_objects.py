"""Archives of objects other than Functional/Sequential models: an adapted
``FeatureSpace`` (``.pkeras`` and Keras 3 ``.keras``, both ways with Keras 3
itself), a registered subclassed model, and safe mode's limits on them.
(Distiller archives: tests/test_distillation.py.)"""

from __future__ import annotations

import functools
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

import polykeras
from polykeras import layers, ops
from polykeras.saving import load_model
from polykeras.saving.keras_config import KerasConfigError
from polykeras.saving.safety import ArchiveError
from polykeras.utils import FeatureSpace

from layers.helpers import run_keras  # tests/ is on sys.path (no __init__.py)


def _columns() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    n = 24
    return {"city": rng.choice(["lyon", "oslo", "kyiv"], n), "age": rng.uniform(20, 70, n).astype("float32"),
            "zone": rng.integers(0, 4, n).astype("int32"), "tag": rng.choice(["x", "y"], n)}


def _space() -> FeatureSpace:
    return FeatureSpace({"city": "string_categorical", "age": "float_normalized", "zone": "integer_categorical",
                         "tag": "string_hashed"}, crosses=[("city", "zone")], crossing_dim=4, hashing_dim=3)


KERAS_CODE = """
import numpy as np
columns = {k: data[k].astype(object) if data[k].dtype.kind == "U" else data[k] for k in ("city", "age", "zone", "tag")}
ours = keras.models.load_model(str(data["ours_path"]))
out["ours_in_keras"] = keras.ops.convert_to_numpy(ours(columns))
space = keras.utils.FeatureSpace({"city": "string_categorical", "age": "float_normalized",
                                  "zone": "integer_categorical", "tag": "string_hashed"},
                                 crosses=[("city", "zone")], crossing_dim=4, hashing_dim=3)
space.adapt(__import__("tensorflow").data.Dataset.from_tensor_slices(columns))
space.save(str(data["keras_path"]))
out["keras"] = keras.ops.convert_to_numpy(space(columns))
"""


@functools.lru_cache(maxsize=1)
def _keras_round_trip() -> tuple[Path, dict]:
    """Keras 3 (TensorFlow) loads a FeatureSpace polykeras saved and saves its
    own; one run for every engine."""
    folder = Path(tempfile.mkdtemp(prefix="feature_space_"))
    with polykeras.backends.use("numpy"):
        space = _space()
        space.adapt(_columns())
        space.save(str(folder / "ours.keras"))
        ours = ops.to_numpy(space(_columns()))
    data = {**_columns(), "ours_path": np.array(str(folder / "ours.keras")),
            "keras_path": np.array(str(folder / "keras.keras"))}
    out = run_keras(KERAS_CODE, data, backend="tensorflow")
    out["ours"] = ours
    return folder, out


@pytest.mark.parametrize("suffix", [".pkeras", ".keras"])
def test_feature_space_saves_and_loads_adapted(engine, tmp_path, suffix):
    data = _columns()
    space = _space()
    space.adapt(data)
    path = tmp_path / f"features{suffix}"
    space.save(str(path))
    loaded = load_model(path)
    assert type(loaded) is FeatureSpace
    unnamed = lambda config: {k: v for k, v in config.items() if k != "name"}  # noqa: E731 - Keras keeps no name
    assert unnamed(loaded.get_config()) == unnamed(space.get_config())
    assert loaded.preprocessors["city"].get_vocabulary() == space.preprocessors["city"].get_vocabulary()
    np.testing.assert_allclose(ops.to_numpy(loaded(data)), ops.to_numpy(space(data)), rtol=1e-6)
    model = polykeras.Model(loaded.get_inputs(), layers.Dense(1)(loaded.get_encoded_features()))
    assert model.predict(data, verbose=0).shape == (24, 1)


def test_feature_space_files_cross_with_keras(engine):
    folder, out = _keras_round_trip()
    data = _columns()
    np.testing.assert_allclose(out["ours_in_keras"], out["ours"], rtol=1e-5, atol=1e-6)  # Keras reads ours
    theirs = load_model(folder / "keras.keras")  # we read Keras's (vocabularies from its assets)
    assert type(theirs) is FeatureSpace
    np.testing.assert_allclose(ops.to_numpy(theirs(data)), out["keras"], rtol=1e-5, atol=1e-6)


@polykeras.saving.register_keras_serializable("saved_objects_test")
class _TwoLayers(polykeras.Model):
    def __init__(self, units: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = layers.Dense(5, activation="relu")
        self.out = layers.Dense(units)

    def call(self, x):
        return self.out(self.hidden(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@pytest.mark.parametrize("suffix", [".pkeras", ".keras"])
def test_registered_subclassed_model_round_trips(engine, tmp_path, suffix):
    x = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
    model = _TwoLayers(2, name="two")
    model(x)
    model.save(tmp_path / f"two{suffix}")
    again = load_model(tmp_path / f"two{suffix}")
    assert type(again) is _TwoLayers and again.units == 2
    np.testing.assert_allclose(ops.to_numpy(again(x)), ops.to_numpy(model(x)), rtol=1e-6)


def _rewrite_config(path: Path, target: Path, edit) -> None:
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as out:
        for name in source.namelist():
            content = source.read(name)
            if name == "config.json":
                config = json.loads(content)
                edit(config)
                content = json.dumps(config).encode()
            out.writestr(name, content)


def test_safe_mode_still_holds_for_saved_objects(engine, tmp_path):
    space = _space()
    space.adapt(_columns())
    space.save(str(tmp_path / "fs.pkeras"))

    def unknown_preprocessor(config):
        config["model"]["config"]["features"]["city"]["config"]["preprocessor"]["class_name"] = "Popen"
        config["model"]["config"]["features"]["city"]["config"]["preprocessor"]["module"] = "subprocess"

    _rewrite_config(tmp_path / "fs.pkeras", tmp_path / "bad.pkeras", unknown_preprocessor)
    with pytest.raises(ArchiveError, match="cannot be rebuilt.*Popen"):
        load_model(tmp_path / "bad.pkeras")

    def a_loss(config):
        config["model"] = {"module": "polykeras.losses", "class_name": "MeanSquaredError", "config": {},
                           "registered_name": None}

    _rewrite_config(tmp_path / "fs.pkeras", tmp_path / "loss.pkeras", a_loss)
    with pytest.raises(ArchiveError, match="cannot be rebuilt|expected a Model or another layer"):
        load_model(tmp_path / "loss.pkeras")
    with pytest.raises(KerasConfigError, match="'Unregistered'; expected a Keras Functional or Sequential model, a "
                                               "FeatureSpace, or a class registered"):
        _keras_copy_as(tmp_path, "Unregistered")


def _keras_copy_as(tmp_path: Path, class_name: str) -> None:
    x = np.ones((2, 4), "float32")
    model = _TwoLayers(2, name="two")
    model(x)
    model.save(tmp_path / "two.keras")

    def rename(config):
        config["class_name"], config["registered_name"] = class_name, f"nowhere>{class_name}"

    _rewrite_config(tmp_path / "two.keras", tmp_path / "renamed.keras", rename)
    load_model(tmp_path / "renamed.keras")
