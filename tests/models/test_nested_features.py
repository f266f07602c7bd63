"""Features cut out of models inside models, and Sequential models built by
their first call, as Keras 3 has them (``keras_graphs`` holds Keras' answers)."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras as pk
from polykeras import layers, ops
from polykeras.models import Model, Sequential


def _shape(tensor) -> list:
    return list(tensor.shape)


def _nested_sequential(weights):
    s1, s2 = layers.Dense(3, name="s1"), layers.Dense(2, name="s2")
    inner = Sequential([pk.Input((4,)), s1, s2], name="inner")
    s1.set_weights([np.asarray(w, "float32") for w in weights[:2]])
    s2.set_weights([np.asarray(w, "float32") for w in weights[2:]])
    x = pk.Input((4,), name="outer_x")
    outer = Model(x, layers.Dense(1)(inner(x)))
    return x, inner, outer


def test_a_nested_sequential_output_cuts_features_out_of_the_outer_graph(engine, keras_graphs):
    data, ref = keras_graphs
    x, inner, outer = _nested_sequential(ref["inner_weights"])
    features = Model(outer.inputs, outer.layers[1].output)
    assert _shape(features.output) == ref["features_shape"]
    assert [type(layer).__name__ for layer in features.layers] == ref["features_layers"]
    np.testing.assert_allclose(ops.to_numpy(features(data["x"])), ref["features_y"], rtol=1e-5, atol=1e-5)
    # .input/.output of a called Sequential are those of its first call in the outer graph
    assert str(inner.input is x and inner.output is outer.layers[1].output) == ref["seq_input_is_call_input"]
    assert outer.get_layer("inner").output is inner.output
    # its own graph stays in .inputs/.outputs, and its layers' tensors belong to that graph
    assert inner.inputs[0] is not x
    assert _shape(Model(inner.inputs, inner.layers[0].output).output) == ref["inner_layer_from_inner"]
    assert ref["inner_layer_from_outer"] == "ValueError"
    with pytest.raises(ValueError, match=r"disconnected.*Model\(inner.inputs, inner.get_layer\(...\).output\)"):
        Model(outer.inputs, inner.layers[0].output)


def test_a_nested_functional_model_keeps_its_own_graph(engine, keras_graphs):
    _, ref = keras_graphs
    fx = pk.Input((4,))
    inner = Model(fx, layers.Dense(2, name="hid")(layers.Dense(3)(fx)), name="inner_f")
    x = pk.Input((4,))
    outer = Model(x, layers.Dense(1)(inner(x)))
    assert ref["functional_output_from_outer"] == "ValueError"
    with pytest.raises(ValueError, match="disconnected"):
        Model(outer.inputs, outer.layers[1].output)
    assert _shape(Model(inner.input, inner.get_layer("hid").output).output) == ref["functional_layer_from_inner"]


def test_a_sequential_built_inside_a_graph_has_an_unknown_batch(engine, keras_graphs, rng):
    _, ref = keras_graphs
    lazy = Sequential([layers.Dense(3), layers.Dense(2)])
    x = pk.Input((4,))
    y = lazy(x)
    assert _shape(lazy.inputs[0]) == ref["lazy_inputs_shape"]
    assert str(lazy.input is x) == ref["lazy_input_is_call_input"]
    assert _shape(Model(lazy.inputs, lazy.layers[0].output).output) == ref["lazy_first_layer"]
    model = Model(x, layers.Dense(1)(y))
    for batch in (2, 3, 7):  # it was traced with 2 rows and then refused 3
        assert ops.shape(model(rng.standard_normal((batch, 4)).astype("float32"))) == (batch, 1)


def test_a_sequential_built_by_data_takes_any_batch(engine, keras_graphs, rng):
    _, ref = keras_graphs
    model = Sequential([layers.Dense(8), layers.Dense(1)])
    model(rng.standard_normal((2, 4)).astype("float32"))
    assert model.input_shape == (None, 4)
    assert list(ops.shape(model(np.ones((3, 4), "float32")))) == ref["eager_built_then_3"]


def test_the_batch_axis_of_an_input_is_not_checked(engine, keras_graphs):
    _, ref = keras_graphs
    x = pk.Input(batch_shape=(5, 4))
    model = Model(x, layers.Dense(1)(x))
    assert list(ops.shape(model(np.ones((3, 4), "float32")))) == ref["fixed_batch_call"]
    with pytest.raises(ValueError, match=r"expected shape \(5, 4\), received shape \(3, 5\)"):
        model(np.ones((3, 5), "float32"))


def test_fit_on_a_sequential_without_input_with_a_short_last_batch(diff_engine, rng):
    model = Sequential([layers.Dense(8), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = rng.standard_normal((70, 4)).astype("float32")
    history = model.fit(x, x[:, :1], batch_size=32, epochs=1, verbose=0)  # batches of 32, 32 and 6
    assert np.isfinite(history.history["loss"][0])
    assert model.input_shape == (None, 4)
