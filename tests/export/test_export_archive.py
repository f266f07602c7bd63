"""``ExportArchive``: custom endpoints and variable collections in a SavedModel,
from a model trained on any engine."""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import polykeras as pk
from polykeras import layers, ops
from polykeras.export import ExportArchive
from tests._keras_api import assert_same_signature


def _model() -> pk.Model:
    x = pk.Input((6,), name="features")
    h = layers.Dense(4, activation="tanh", name="hidden")(x)
    h = layers.BatchNormalization(name="norm")(h)
    return pk.Model(x, layers.Dense(2, name="head")(h), name="archived")


def test_endpoints_and_collections_round_trip(engine: Any, tmp_path: Path) -> None:
    tf = pytest.importorskip("tensorflow")
    model = _model()
    x = np.random.default_rng(0).uniform(size=(5, 6)).astype("float32")
    model(x, training=True)  # BatchNormalization's moving statistics leave their initial values
    archive = ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", model.__call__, input_signature=[pk.InputSpec(shape=(None, 6))])
    archive.add_endpoint("features", model.get_layer("hidden").__call__, input_signature=[(None, 6)])
    archive.add_variable_collection("kernels", [model.get_layer("hidden").kernel, model.get_layer("head").kernel])
    archive.write_out(tmp_path / "archive", verbose=False)

    loaded = tf.saved_model.load(str(tmp_path / "archive"))
    np.testing.assert_allclose(loaded.serve(x).numpy(), model.predict(x, verbose=0), atol=1e-5)
    np.testing.assert_allclose(loaded.features(x[:3]).numpy(), ops.convert_to_numpy(model.get_layer("hidden")(x[:3])),
                               atol=1e-5)
    assert set(loaded.signatures) == {"serve", "features", "serving_default"}
    np.testing.assert_allclose(loaded.signatures["serving_default"](args_0=x)["output_0"].numpy(),
                               model.predict(x, verbose=0), atol=1e-5)
    assert [tuple(v.shape) for v in loaded.kernels] == [(6, 4), (4, 2)]
    assert len(loaded.variables) == len(model.variables)
    assert len(loaded.trainable_variables) == len(model.trainable_variables)


def test_track_and_add_endpoint(engine: Any, tmp_path: Path) -> None:
    tf = pytest.importorskip("tensorflow")
    model = _model()
    archive = ExportArchive()
    archive.track_and_add_endpoint("predict", model, [(None, 6)])
    archive.write_out(tmp_path / "a", verbose=False)
    x = np.ones((3, 6), "float32")
    loaded = tf.saved_model.load(str(tmp_path / "a"))
    np.testing.assert_allclose(loaded.predict(x).numpy(), model.predict(x, verbose=0), atol=1e-5)
    assert "serving_default" in loaded.signatures


def test_bad_archive_input(engine: Any, tmp_path: Path) -> None:
    archive = ExportArchive()
    with pytest.raises(TypeError, match="ExportArchive.track: expected a polykeras Layer or Model, received str"):
        archive.track("model")
    with pytest.raises(ValueError, match="expected a built layer .* the unbuilt 'lazy'"):
        archive.track(layers.Dense(2, name="lazy"))
    with pytest.raises(ValueError, match=r"add_endpoint\('serve'\): expected an input_signature"):
        archive.add_endpoint("serve", lambda x: x)
    with pytest.raises(ValueError, match="expected a name that is a Python identifier, received 'my endpoint'"):
        archive.add_endpoint("my endpoint", lambda x: x, [(None, 2)])
    archive.add_endpoint("serve", lambda x: x, [(None, 2)])
    with pytest.raises(ValueError, match="the name 'serve' is already used"):
        archive.add_endpoint("serve", lambda x: x, [(None, 2)])
    with pytest.raises(ValueError, match="the name 'variables' is already used"):
        archive.add_variable_collection("variables", [])
    with pytest.raises(TypeError, match="expected polykeras Variables, received int"):
        archive.add_variable_collection("weights", [3])
    with pytest.raises(ValueError, match="ExportArchive export: expected at least one endpoint"):
        ExportArchive().write_out(tmp_path / "empty", verbose=False)
    assert os.listdir(tmp_path) == []


def test_a_layer_on_another_engine_must_travel_in_its_model(engine: Any, tmp_path: Path) -> None:
    with pk.backends.use("numpy"):  # an engine that does not write SavedModels: its layers must move
        layer = layers.Dense(2, name="loose")
        layer.build((None, 3))
    archive = ExportArchive()
    archive.track(layer)
    archive.add_endpoint("serve", layer.__call__, [(None, 3)])
    with pytest.raises(ValueError, match="layer 'loose' lives on engine 'numpy'.* track the model that holds it"):
        archive.write_out(tmp_path / "a", verbose=False)
    assert os.listdir(tmp_path) == []


def test_the_api_is_keras_3s(engine: Any) -> None:
    import keras

    assert_same_signature(pk.Model.export, keras.Model.export, "Model.export")
    def params(cls: Any) -> list[tuple[str, Any, Any]]:
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]

    assert params(ExportArchive) == params(keras.export.ExportArchive)
    for name in ("track", "add_endpoint", "add_variable_collection", "track_and_add_endpoint", "write_out"):
        assert_same_signature(getattr(ExportArchive, name), getattr(keras.export.ExportArchive, name),
                              f"ExportArchive.{name}")
    with pytest.raises(ValueError, match="expected format 'saved_model', received 'neptune_model' \\(a Keras 3 "
                                         "format polykeras does not write\\)"):
        ExportArchive(format="neptune_model")
