"""A functional config is checked whole before any layer is built: unique
layer names, every tensor reference resolvable (layer, node index, tensor
index), endpoints that are tensor references, no cycle, nested models too.
Each refusal is a SerializationError naming the model, the layer, what was
expected and what was received."""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pytest

import polykeras as pk
from polykeras import layers, ops
from polykeras.models import Functional, Model
from polykeras.models import functional as functional_module
from polykeras.registry import SerializationError


def _chain() -> dict:
    x = pk.Input((3,), name="x")
    h = layers.Dense(3, name="d0")(x)
    h = layers.Dense(3, name="d1")(h)
    return Model(x, layers.Dense(3, name="d2")(h), name="chain").get_config()


def _entry(config: dict, name: str) -> dict:
    return next(e for e in config["layers"] if e["name"] == name)


@pytest.fixture
def built(monkeypatch):
    """The names of the layers ``Functional.from_config`` creates."""
    names: list[str] = []
    deserialize = functional_module.deserialize

    def counting(config, **kwargs):
        names.append(config["config"].get("name"))
        return deserialize(config, **kwargs)

    monkeypatch.setattr(functional_module, "deserialize", counting)
    return names


def _refused(config: dict, pattern: str, built: list[str], cls=Functional) -> None:
    with pytest.raises(SerializationError, match=pattern):
        cls.from_config(config)
    assert built == [], f"layers {built} were built before the config was refused"


def test_two_layers_with_one_name_are_refused(engine, built):
    x = pk.Input((3,), name="x")
    config = Model(x, [layers.Dense(2, name=n)(x) for n in ("a", "b", "c")], name="three").get_config()
    assert len(Functional.from_config(config).weights) == 6
    built.clear()
    twin = copy.deepcopy(config)
    entry = _entry(twin, "b")
    entry["config"]["name"] = entry["name"] = "a"
    twin["output_layers"][1]["__tensor__"][0] = "a"
    # accepted before, as a model of 4 weights: the second "a" silently replaced the first
    _refused(twin, r"model 'three': layer entries 1 and 2 are both named 'a'; expected unique layer names", built)


def test_output_naming_an_unknown_layer(engine, built):
    config = _chain()
    config["output_layers"] = {"__tensor__": ["nope", 0, 0]}
    _refused(config, r"model 'chain': field output_layers refers to tensor \['nope', 0, 0\], but the config "
                     r"defines no layer named 'nope'; expected one of the 4 layers it lists \('x', 'd0', 'd1', "
                     r"'d2'\)", built)
    config["output_layers"] = [{"__tensor__": ["d2", 0, 0]}, {"not": "a tensor"}]
    _refused(config, r"field output_layers\[1\]\['not'\]: expected a tensor reference, received 'a tensor'", built)
    config["output_layers"] = []
    _refused(config, r"field 'output_layers': expected tensor references", built)


def test_tensor_index_past_the_outputs(engine, built):
    # a Dense's output count is known once it is called: checked when the graph is replayed
    config = _chain()
    _entry(config, "d2")["inbound_nodes"][0]["args"][0]["__tensor__"] = ["d1", 0, 3]
    with pytest.raises(SerializationError, match=r"model 'chain': layer 'd2' call 0 refers to tensor \['d1', 0, 3\], "
                                                 r"but that call of layer 'd1' made 1 output; expected a tensor "
                                                 r"index below 1, received 3"):
        Functional.from_config(config)  # before: a raw IndexError
    # an InputLayer's is known before building: refused before any layer is built
    built.clear()
    config = _chain()
    _entry(config, "d0")["inbound_nodes"][0]["args"][0]["__tensor__"] = ["x", 0, 1]
    _refused(config, r"layer 'd0' call 0 argument args\[0\] refers to tensor \['x', 0, 1\]; layer 'x' has 1 output: "
                     r"expected a tensor index below 1, received 1", built)
    config["output_layers"]["__tensor__"] = ["d2", 0, -1]
    _refused(config, r"field output_layers refers to tensor \['d2', 0, -1\]: expected a tensor index of 0 or more",
             built)


def test_node_index_past_the_calls(engine, built):
    config = _chain()
    _entry(config, "d1")["inbound_nodes"][0]["args"][0]["__tensor__"] = ["d0", 4, 0]
    _refused(config, r"model 'chain': layer 'd1' call 0 argument args\[0\] refers to tensor \['d0', 4, 0\], but "
                     r"layer 'd0' has 1 node \(node index 0\) in the config; expected a node index below 1, "
                     r"received 4", built)
    config = _chain()
    config["input_layers"]["__tensor__"] = ["x", 1, 0]
    _refused(config, r"field input_layers refers to tensor \['x', 1, 0\], but layer 'x' has 1 node", built)
    config["input_layers"]["__tensor__"] = ["d0", 0, 0]
    _refused(config, r"field input_layers refers to tensor \['d0', 0, 0\]: expected an InputLayer, received layer "
                     r"'d0' of class Dense", built)
    config["input_layers"] = {"__tensor__": ["x", "0", 0]}
    _refused(config, r"field input_layers: expected a tensor reference \[layer name, node index, tensor index\], "
                     r"received \['x', '0', 0\]", built)


def test_cycles_are_spelled_out(engine, built):
    config = _chain()
    _entry(config, "d0")["inbound_nodes"][0]["args"][0]["__tensor__"] = ["d2", 0, 0]
    _refused(config, re.escape("model 'chain': the calls of layers ['d0', 'd1', 'd2'] cannot run: they wait on each "
                               "other's outputs in a cycle (layer 'd0' call 0 -> layer 'd2' call 0 -> layer 'd1' "
                               "call 0 -> layer 'd0' call 0, each using the output of the next)"), built)
    config = _chain()
    _entry(config, "d1")["inbound_nodes"][0]["args"][0]["__tensor__"] = ["d1", 0, 0]  # its own output
    _refused(config, r"layers \['d1', 'd2'\] cannot run.*\(layer 'd1' call 0 -> layer 'd1' call 0,", built)


def test_malformed_entries(engine, built):
    config = _chain()
    config["layers"][1] = ["Dense"]
    _refused(config, r"model 'chain': layer entry 1: expected a dict with 'class_name'", built)
    config = _chain()
    _entry(config, "d1")["inbound_nodes"] = [["d0", 0, 0, {}]]
    _refused(config, r"layer 'd1' call 0: expected \{'args': \[...\], 'kwargs': \{...\}\}", built)
    config = _chain()
    _entry(config, "d1")["name"] = ""
    _refused(config, r"layer entry 2 \(Dense\): expected a non-empty string 'name', received ''", built)
    with pytest.raises(SerializationError, match=r"model 'chain': field 'layers': expected a list"):
        Functional.from_config(dict(_chain(), layers={"d0": {}}))


def _nested() -> tuple[Model, dict]:
    a = pk.Input((3,), name="a")
    inner = Model(a, [layers.Dense(2, name="i0")(a), layers.Dense(4, name="i1")(a)], name="inner")
    x, y = pk.Input((3,), name="x"), pk.Input((3,), name="y")
    first, second = inner(x), inner(y)
    outer = Model([x, y], [layers.Dense(1, name="head")(first[1]), second[0]], name="outer")
    return outer, outer.get_config()


def test_nested_models_are_checked_before_the_outer_one_builds(engine, built, rng):
    model, config = _nested()
    clone = Functional.from_config(copy.deepcopy(config))  # node 1 and tensor 1 of the nested model are valid
    clone.set_weights(model.get_weights())
    data = [rng.standard_normal((2, 3)).astype("float32") for _ in range(2)]
    for ours, theirs in zip(model(data), clone(data)):
        np.testing.assert_allclose(ops.to_numpy(theirs), ops.to_numpy(ours), rtol=1e-5, atol=1e-6)
    built.clear()

    broken = copy.deepcopy(config)
    inner = _entry(broken, "inner")["config"]
    inner["output_layers"][1]["__tensor__"] = ["i9", 0, 0]
    _refused(broken, r"model 'outer', in nested model 'inner': field output_layers\[1\] refers to tensor "
                     r"\['i9', 0, 0\], but the config defines no layer named 'i9'", built)
    broken = copy.deepcopy(config)
    entry = _entry(_entry(broken, "inner")["config"], "i0")
    entry["config"]["name"] = entry["name"] = "i1"
    _refused(broken, r"in nested model 'inner': layer entries 1 and 2 are both named 'i1'", built)
    broken = copy.deepcopy(config)
    _entry(broken, "head")["inbound_nodes"][0]["args"][0]["__tensor__"] = ["inner", 0, 2]
    _refused(broken, r"model 'outer': layer 'head' call 0 argument args\[0\] refers to tensor \['inner', 0, 2\]; "
                     r"layer 'inner' has 2 outputs: expected a tensor index below 2, received 2", built)
    broken = copy.deepcopy(config)
    broken["output_layers"][1]["__tensor__"] = ["inner", 2, 0]
    _refused(broken, r"field output_layers\[1\] refers to tensor \['inner', 2, 0\], but layer 'inner' has 2 nodes "
                     r"\(node indexes 0 to 1\) in the config; expected a node index below 2, received 2", built)


def test_model_from_config_runs_the_same_check(engine, built):
    config = _chain()
    config["output_layers"] = {"__tensor__": ["d2", 1, 0]}
    _refused(config, r"Functional.from_config: model 'chain': field output_layers refers to tensor \['d2', 1, 0\]",
             built, cls=Model)
    with pytest.raises(SerializationError, match=r"model 'chain': layer entries 1 and 2 are both named 'd0'"):
        config = _chain()
        config["layers"][2]["name"] = "d0"
        pk.saving.model_from_json(json.dumps({"class_name": "Functional", "config": config}))
