"""Architectures as JSON/YAML: functional, Sequential and registered subclassed
models rebuild; custom objects come from the registry or custom_objects=;
Keraflow's save_to_file/load_from_file; text that is not a safe config is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from polykeras import Input, Model, layers
from polykeras.saving import (
    SerializationError, load_from_file, model_from_json, model_from_yaml, register_serializable, save_to_file,
)

from ._models import KINDS, build, data, weights


def _same_predictions(a: Model, b: Model, kind: str) -> None:
    b.set_weights(a.get_weights())
    x, _ = data(kind, n=3)
    np.testing.assert_array_equal(b.predict(x, verbose=0), a.predict(x, verbose=0))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_round_trip_rebuilds_the_same_architecture(engine, kind, fmt):
    model = build(kind)
    text = model.to_json() if fmt == "json" else model.to_yaml()
    again = model_from_json(text) if fmt == "json" else model_from_yaml(text)
    assert type(again) is type(model)
    if not again.built:
        again.build((None, 4))
    assert [type(lay).__name__ for lay in again.layers] == [type(lay).__name__ for lay in model.layers]
    assert [w.shape for w in weights(again)] == [w.shape for w in weights(model)]
    if kind != "subclassed":  # sub-layers of a subclassed model get fresh automatic names
        assert (again.to_json() if fmt == "json" else again.to_yaml()) == text
    _same_predictions(model, again, kind)


def test_unregistered_subclassed_model_names_the_fix_and_loads_with_custom_objects(engine):
    class Local(Model):
        def __init__(self, units=2, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(units)

        def call(self, x):
            return self.dense(x)

    text = Local(3, name="local").to_json()
    with pytest.raises(SerializationError, match=r"Unknown model 'Local'.*register_serializable.*custom_objects"):
        model_from_json(text)
    again = model_from_json(text, custom_objects={"Local": Local})
    again.build((None, 4))
    assert isinstance(again, Local) and again.dense.units == 3


@register_serializable("polykeras_tests")
class Scale(layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor


class Shift(layers.Layer):  # not registered: needs custom_objects
    def __init__(self, offset=1.0, **kwargs):
        super().__init__(**kwargs)
        self.offset = offset

    def call(self, x):
        return x + self.offset


def test_custom_layers_come_from_the_registry_or_custom_objects(engine):
    x = Input((3,))
    model = Model(x, Shift(0.5, name="shift")(Scale(3.0, name="scale")(x)))
    text = model.to_json()
    config = json.loads(text)
    scale = next(lay for lay in config["config"]["layers"] if lay["name"] == "scale")
    assert scale["registered_name"] == "polykeras_tests>Scale"
    with pytest.raises(SerializationError, match="Unknown layer 'Shift'"):
        model_from_json(text)
    again = model_from_json(text, custom_objects={"Shift": Shift})
    ones = np.ones((2, 3), "float32")
    np.testing.assert_allclose(again.predict(ones, verbose=0), np.full((2, 3), 3.5))


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_save_to_file_and_load_from_file(engine, tmp_path, suffix):
    model = build("functional")
    arch, weights_file = tmp_path / f"arch{suffix}", tmp_path / "w.weights.h5"
    save_to_file(model, arch, weights_file)
    text = arch.read_text()
    assert text.lstrip().startswith("{") == (suffix == ".json")
    again = load_from_file(arch, weights_file)
    x, _ = data("functional", n=2)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    model.save_to_file(tmp_path / "second.json")  # the Model method too
    assert load_from_file(tmp_path / "second.json").name == "func"


def test_architecture_file_extension_is_checked(engine, tmp_path):
    with pytest.raises(ValueError, match=r"save_to_file: expected .*\.json, \.yaml or \.yml, received 'arch\.txt'"):
        save_to_file(build("sequential"), tmp_path / "arch.txt")
    assert not (tmp_path / "arch.txt").exists()


def test_lambda_layers_load_only_with_safe_mode_off_for_that_call(engine):
    @register_serializable("polykeras_tests", name="triple")
    def triple(x):
        return x * 3.0

    x = Input((2,))
    text = Model(x, layers.Lambda(triple, name="lam")(x)).to_json()
    with pytest.raises(ValueError, match="Lambda 'lam': refusing to load"):
        model_from_json(text)
    again = model_from_json(text, safe_mode=False)
    np.testing.assert_allclose(again.predict(np.ones((1, 2), "float32"), verbose=0), [[3.0, 3.0]])
    with pytest.raises(ValueError, match="refusing to load"):  # safe mode is back on for the next call
        model_from_yaml(Model(x, layers.Lambda(triple)(x)).to_yaml())


@pytest.mark.parametrize("text, match", [
    ("{not json", r"model_from_json: not valid JSON"),
    ("[" * 100_000 + "]" * 100_000, r"nested too deeply|nested deeper"),
    ('{"class_name": "Dense", "config": {"units": 2}}', r"describes a Dense; expected a Model"),
    ('{"class_name": "Functional", "config": {"layers": NaN}}', r"not valid JSON"),
    ('["a list"]', r"expected a model config"),
])
def test_bad_json_is_refused_with_a_reason(engine, text, match):
    with pytest.raises(ValueError, match=match):
        model_from_json(text)


@pytest.mark.parametrize("text, match", [
    ("!!python/object/apply:os.system ['echo hacked']", r"not valid safe YAML.*python/object/apply"),
    ("a: &x [1, 2]\nb: *x\n", r"alias \*x refused"),
    ("class_name: Functional\nconfig: {when: 2024-01-01}\n", r"field config.when holds a date"),
    ("class_name: Functional\nconfig: {1: 2}\n", r"has key 1 \(int\); expected string keys"),
])
def test_unsafe_yaml_is_refused_before_anything_is_built(engine, text, match):
    with pytest.raises(ValueError, match=match):
        model_from_yaml(text)
