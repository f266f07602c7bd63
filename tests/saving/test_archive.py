"""The whole-model archive: config, weights, compile config, optimizer state
and random-seed states, so that training resumes exactly where it stopped."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import Input, Sequential, layers
from polykeras.saving import load_model

from ._models import KINDS, compiled, data, weights


def _optimizer_state(model):
    return [np.asarray(v.numpy()) for v in model.optimizer.variables]


@pytest.mark.parametrize("kind", KINDS)
def test_training_resumes_exactly_where_it_stopped(diff_engine, tmp_path, kind):
    x, y = data(kind, n=12)
    straight = compiled(kind)
    straight.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)  # N + M = 6 steps
    first = compiled(kind)
    first.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)  # N = 3 steps
    first.save(tmp_path / "m.pkeras")
    resumed = load_model(tmp_path / "m.pkeras")
    assert type(resumed) is type(first) and resumed.compiled
    assert int(resumed.optimizer.iterations.numpy()) == 3
    for a, b in zip(_optimizer_state(resumed), _optimizer_state(first)):
        np.testing.assert_array_equal(a, b)
    resumed.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)  # M = 3 more
    for a, b in zip(weights(resumed), weights(straight)):
        assert_close(a, b, "model")
    for a, b in zip(_optimizer_state(resumed), _optimizer_state(straight)):
        assert_close(a, b, "model")
    assert_close(resumed.predict(x, verbose=0), straight.predict(x, verbose=0), "model")


def test_dropout_streams_resume_too(diff_engine, tmp_path):
    def make():
        model = Sequential([Input((4,)), layers.Dense(8, name="d1"), layers.Dropout(0.5, seed=3, name="drop"),
                            layers.Dense(2, name="d2")])
        model.set_weights([np.full(w.shape, 0.1 * (i + 1), "float32") for i, w in enumerate(model.get_weights())])
        model.compile(optimizer="sgd", loss="mse")
        return model

    x, y = data("sequential", n=8)
    straight = make()
    straight.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    first = make()
    first.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    first.save(tmp_path / "d.pkeras")
    resumed = load_model(tmp_path / "d.pkeras")
    resumed.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(weights(resumed), weights(straight)):
        assert_close(a, b, "model")


def test_compile_config_is_restored_and_compile_false_skips_it(diff_engine, tmp_path):
    model = compiled("sequential")
    x, y = data("sequential")
    model.fit(x, y, batch_size=4, verbose=0)
    model.save(tmp_path / "m.pkeras")
    again = load_model(tmp_path / "m.pkeras")
    assert again.get_compile_config() == model.get_compile_config()
    logs = again.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "mae"}
    assert_close(logs["loss"], model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)["loss"], "model")
    bare = load_model(tmp_path / "m.pkeras", compile=False)
    assert not bare.compiled
    np.testing.assert_array_equal(bare.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("kind", KINDS)
def test_archive_layout_and_uncompiled_models(engine, tmp_path, kind):
    from ._models import build

    model = build(kind)
    path = tmp_path / "m.pkeras"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
        metadata = json.loads(archive.read("metadata.json"))
        config = json.loads(archive.read("config.json"))
    assert metadata["format"] == "polykeras.model" and metadata["engine"] == engine.name
    assert config["compile_config"] is None
    again = load_model(path)
    x, _ = data(kind, n=3)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_polykeras_archive_named_dot_keras_loads_as_polykeras(engine, tmp_path):
    from ._models import build

    model = build("sequential")
    model.save(tmp_path / "m.keras")
    again = load_model(tmp_path / "m.keras")
    assert [lay.name for lay in again.layers] == ["d1", "bn", "d2"]


def test_overwrite_false_and_missing_files(engine, tmp_path):
    from ._models import build

    model = build("sequential")
    model.save(tmp_path / "m.pkeras")
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        model.save(tmp_path / "m.pkeras", overwrite=False)
    with pytest.raises(FileNotFoundError, match="no file at"):
        load_model(tmp_path / "absent.pkeras")


def test_custom_objects_are_needed_for_unregistered_classes(engine, tmp_path):
    from polykeras import Model

    class Offset(layers.Layer):
        def __init__(self, offset=1.0, **kwargs):
            super().__init__(**kwargs)
            self.offset = offset

        def call(self, x):
            return x + self.offset

    x = Input((2,))
    Model(x, Offset(2.5, name="offset")(layers.Dense(2, name="d")(x))).save(tmp_path / "c.pkeras")
    with pytest.raises(ValueError, match=r"c\.pkeras: member 'config\.json' cannot be rebuilt: Unknown layer "
                                         r"'Offset'.*custom_objects"):
        load_model(tmp_path / "c.pkeras")
    model = load_model(tmp_path / "c.pkeras", custom_objects={"Offset": Offset})
    assert model.get_layer("offset").offset == 2.5


def _with_optimizer_paths(source, target, rename):
    """Copy the archive ``source`` to ``target`` with its optimizer state's
    recorded paths passed through ``rename``."""
    import io

    import h5py

    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    buffer = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buffer, "r+") as f:
        group = f["__optimizer__"]
        group.attrs["paths"] = [rename(str(p)) for p in group.attrs["paths"]]
    members["model.weights.h5"] = buffer.getvalue()
    with zipfile.ZipFile(target, "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)


def test_optimizer_state_of_earlier_slot_paths_loads(diff_engine, tmp_path):
    """Slots are named as Keras 3 names them (``adam/d1_kernel_momentum``);
    archives that recorded them as ``adam/momentum/d1/kernel`` load the same
    state, and a slot of another kind in its place is refused."""
    x, y = data("sequential", n=8)
    first = compiled("sequential")
    first.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    first.save(tmp_path / "new.pkeras")
    kinds = ("momentum", "velocity")

    def earlier(path):
        optimizer, name = path.split("/")
        for kind in kinds:
            if name.endswith(f"_{kind}"):
                return f"{optimizer}/{kind}/{name[:-len(kind) - 1].replace('_', '/', 1)}"
        return path

    _with_optimizer_paths(tmp_path / "new.pkeras", tmp_path / "old.pkeras", earlier)
    resumed = load_model(tmp_path / "old.pkeras")
    for a, b in zip(_optimizer_state(resumed), _optimizer_state(first)):
        np.testing.assert_array_equal(a, b)
    _with_optimizer_paths(tmp_path / "new.pkeras", tmp_path / "swapped.pkeras",
                          lambda path: path.replace("_momentum", "_velocity"))
    with pytest.raises(Exception, match=r"expected a 'momentum' variable, received '.*_velocity'"):
        load_model(tmp_path / "swapped.pkeras")
