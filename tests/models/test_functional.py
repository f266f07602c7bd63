"""Functional models on every engine: graphs, shared layers, nesting, config round trips, input checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

import polykeras as pk
from polykeras import layers, ops
from polykeras.models import Functional, Model


def _two_in_two_out():
    a = pk.Input((4,), name="left")
    b = pk.Input((4,), name="right")
    shared = layers.Dense(3, name="shared")
    ha, hb = shared(a), shared(b)
    out_sum = layers.Dense(2, name="sum_head")(ops_add_layer()([ha, hb]))
    out_b = layers.Dense(1, name="right_head")(hb)
    return Model([a, b], [out_sum, out_b]), shared


class Add2(layers.Layer):
    """A two-input layer (a list in, one tensor out)."""

    def call(self, inputs):
        return ops.add(inputs[0], inputs[1])


def ops_add_layer():
    return Add2()


def test_two_inputs_two_outputs_share_one_set_of_weights(engine, rng):
    model, shared = _two_in_two_out()
    assert isinstance(model, Functional)
    kernels = [w for w in model.weights if w is shared.kernel]
    assert len(kernels) == 1
    assert model.count_params() == (4 * 3 + 3) + (3 * 2 + 2) + (3 * 1 + 1)
    a = rng.standard_normal((5, 4)).astype("float32")
    b = rng.standard_normal((5, 4)).astype("float32")
    out_sum, out_b = model([a, b])
    k, bias = shared.get_weights()
    hidden_b = b @ k + bias
    head = model.get_layer("right_head").get_weights()
    expected_b = hidden_b @ head[0] + head[1]
    np.testing.assert_allclose(ops.to_numpy(out_b), expected_b, rtol=1e-5, atol=1e-5)
    assert ops.shape(out_sum) == (5, 2)
    assert model.output_shape == [(None, 2), (None, 1)]


def test_dict_inputs_by_name(engine, rng):
    model, _ = _two_in_two_out()
    a = rng.standard_normal((2, 4)).astype("float32")
    b = rng.standard_normal((2, 4)).astype("float32")
    by_list = model([a, b])
    by_name = model({"left": a, "right": b})
    for x, y in zip(by_list, by_name):
        np.testing.assert_array_equal(ops.to_numpy(x), ops.to_numpy(y))


def test_nested_model_and_feature_extractor(engine, rng):
    inner_in = pk.Input((6,))
    inner = Model(inner_in, layers.Dense(5, activation="relu", name="inner_dense")(inner_in), name="inner")
    x = pk.Input((6,))
    out = layers.Dense(2, name="top")(inner(x))
    outer = Model(x, out)
    data = rng.standard_normal((3, 6)).astype("float32")
    assert ops.shape(outer(data)) == (3, 2)
    assert outer.count_params() == (6 * 5 + 5) + (5 * 2 + 2)
    hidden = layers.Dense(4, name="hidden")
    x2 = pk.Input((6,))
    classifier = Model(x2, layers.Dense(2)(hidden(x2)))
    features = Model(classifier.input, classifier.get_layer("hidden").output)
    np.testing.assert_allclose(ops.to_numpy(features(data)), ops.to_numpy(hidden(data)), rtol=1e-6)


def test_config_round_trip_gives_same_outputs(engine, rng):
    model, _ = _two_in_two_out()
    config = model.get_config()
    json.dumps(config)  # JSON-safe
    clone = Functional.from_config(config, custom_objects={"Add2": Add2})
    clone.set_weights(model.get_weights())
    a = rng.standard_normal((3, 4)).astype("float32")
    b = rng.standard_normal((3, 4)).astype("float32")
    for x, y in zip(model([a, b]), clone([a, b])):
        np.testing.assert_allclose(ops.to_numpy(x), ops.to_numpy(y), rtol=1e-6, atol=1e-6)
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    # the shared layer is still shared after the round trip
    assert len(clone.get_layer("shared").weights) == 2
    assert clone.count_params() == model.count_params()


def test_wrong_input_shape_names_the_model_input(engine):
    x = pk.Input((4,), name="features")
    model = Model(x, layers.Dense(2)(x), name="clf")
    with pytest.raises(ValueError, match=r"clf.*features.*\(None, 4\).*\(2, 5\)"):
        model(np.ones((2, 5), "float32"))
    with pytest.raises(ValueError, match="expected 1 input"):
        model([np.ones((2, 4), "float32"), np.ones((2, 4), "float32")])


def test_disconnected_graph_is_refused(engine):
    a, b = pk.Input((2,), name="a"), pk.Input((2,), name="b")
    out = layers.Dense(1)(b)
    with pytest.raises(ValueError, match="disconnected.*'b'"):
        Model(a, out)


def test_same_definition_same_shapes_and_counts_on_every_engine(engine):
    x = pk.Input((8,))
    h = layers.Dense(16, activation="relu")(x)
    model = Model(x, layers.Dense(3)(h))
    assert model.output_shape == (None, 3)
    assert model.count_params() == 8 * 16 + 16 + 16 * 3 + 3


def test_summary_lists_layers_and_totals(engine):
    model, _ = _two_in_two_out()
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "shared (Dense)" in text
    assert "Connected to" in text
    assert f"Total params: {model.count_params():,}" in text
    assert "left[0][0]" in text
