"""Functional configs: node indices that survive a round trip, rebuilding in
one pass whatever order the layers are listed in, and the errors of a broken
config."""

from __future__ import annotations

import json

import numpy as np
import pytest

import polykeras as pk
from polykeras import layers, ops
from polykeras.models import Functional, Model
from polykeras.models import config_check


def test_shared_layer_called_out_of_order_keeps_its_wiring(engine, rng):
    # ``shared`` is called on b first, but the graph runs its call on a first:
    # the config must still say which call feeds which head.
    a, b = pk.Input((4,), name="a"), pk.Input((4,), name="b")
    shared = layers.Dense(3, name="shared")
    on_b = shared(b)
    on_a = shared(a)
    model = Model([a, b], [layers.Dense(2, name="head_a")(on_a), layers.Dense(1, name="head_b")(on_b)])
    clone = Functional.from_config(json.loads(json.dumps(model.get_config())))
    clone.set_weights(model.get_weights())
    xa, xb = rng.standard_normal((3, 4)).astype("float32"), rng.standard_normal((3, 4)).astype("float32")
    for ours, theirs in zip(model([xa, xb]), clone([xa, xb])):
        np.testing.assert_allclose(ops.to_numpy(theirs), ops.to_numpy(ours), rtol=1e-6, atol=1e-6)
    assert clone.get_config() == model.get_config()


def _chain(depth: int) -> Model:
    x = pk.Input((3,), name="x")
    h = x
    for i in range(depth):
        h = layers.Dense(3, name=f"d{i}")(h)
    return Model(x, h, name="chain")


def test_layers_listed_backwards_rebuild_in_one_pass(engine, rng, monkeypatch):
    model = _chain(60)
    config = model.get_config()
    backwards = dict(config, layers=config["layers"][::-1])
    looked_at = []
    walk = config_check._walk
    monkeypatch.setattr(config_check, "_walk", lambda structure: looked_at.append(1) or walk(structure))
    clone = Functional.from_config(backwards)
    # a few reads per call (its arguments, walked once); sweeping until every
    # call is ready would read them about 60 * 60 / 2 times
    assert len(looked_at) <= 5 * 60
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    clone.set_weights(model.get_weights())
    data = rng.standard_normal((2, 3)).astype("float32")
    np.testing.assert_allclose(ops.to_numpy(clone(data)), ops.to_numpy(model(data)), rtol=1e-5, atol=1e-6)


def test_broken_configs_name_the_layers(engine):
    config = _chain(3).get_config()
    dangling = json.loads(json.dumps(config))
    dangling["layers"][2]["inbound_nodes"][0]["args"][0]["__tensor__"] = ["nowhere", 0, 0]
    with pytest.raises(ValueError, match=r"layer 'd1' call 0 .*\['nowhere', 0, 0\].*no layer named 'nowhere'"):
        Functional.from_config(dangling)
    cycle = json.loads(json.dumps(config))
    cycle["layers"][1]["inbound_nodes"][0]["args"][0]["__tensor__"] = ["d2", 0, 0]
    with pytest.raises(ValueError, match=r"layers \['d0', 'd1', 'd2'\].*cycle"):
        Functional.from_config(cycle)
