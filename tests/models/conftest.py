"""Keras 3's answers for the graph-model tests, from one Keras run (NumPy
backend, in a subprocess) shared by every test and engine: ``keras_graphs``
is ``(data, out)`` with the inputs given to Keras and what it computed."""

from __future__ import annotations

import numpy as np
import pytest

from tests.layers.helpers import run_keras

_KERAS = r'''
import inspect
rng = np.random.default_rng(0)
Dense = keras.layers.Dense


def set_random(*layers):
    for layer in layers:
        layer.set_weights([rng.standard_normal(w.shape).astype("float32") for w in layer.get_weights()])
    return [w.tolist() for layer in layers for w in layer.get_weights()]


def error_of(make):
    try:
        make()
    except Exception as err:
        return type(err).__name__
    return ""


# keras.Function over a layer graph
x = keras.Input((4,), name="x")
d1, d2 = Dense(3, activation="relu", name="d1"), Dense(2, name="d2")
h = d1(x)
y = d2(h)
out["weights"] = set_random(d1, d2)
f = keras.Function(x, y)
out["y"] = np.asarray(f(data["x"]))
out["ops"] = [type(op).__name__ for op in f.operations]
out["shape"] = list(f.compute_output_shape((None, 4)))
head = keras.Function(h, Dense(5)(h))
out["head_ops"] = [type(op).__name__ for op in head.operations]
out["head_y"] = np.asarray(head(data["x"][:, :3]))
a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
two = keras.Function({"a": a, "b": b}, [d1(a), d2(d1(b))])
ya, yb = two({"a": data["x"], "b": data["x"] * 2})
out["two_a"], out["two_b"] = np.asarray(ya), np.asarray(yb)
x = keras.Input((4,), name="x")
ops_only = keras.Function(x, keras.ops.mean(keras.ops.abs(x * 2.0 - 1.0), axis=-1))
out["ops_only_y"] = np.asarray(ops_only(data["x"]))
out["ops_only_count"] = [len(ops_only.operations)]

# features through a nested Sequential / Functional
s1, s2 = Dense(3, name="s1"), Dense(2, name="s2")
inner = keras.Sequential([keras.Input((4,)), s1, s2], name="inner")
out["inner_weights"] = set_random(s1, s2)
x = keras.Input((4,), name="outer_x")
outer = keras.Model(x, Dense(1)(inner(x)))
features = keras.Model(outer.inputs, outer.layers[1].output)
out["features_shape"] = list(features.output.shape)
out["features_layers"] = [type(layer).__name__ for layer in features.layers]
out["features_y"] = np.asarray(features(data["x"]))
out["seq_input_is_call_input"] = str(inner.input is x and inner.output is outer.layers[1].output)
out["inner_layer_from_outer"] = error_of(lambda: keras.Model(outer.inputs, inner.layers[0].output))
out["inner_layer_from_inner"] = list(keras.Model(inner.inputs, inner.layers[0].output).output.shape)
fx = keras.Input((4,))
inner_f = keras.Model(fx, Dense(2, name="hid")(Dense(3)(fx)), name="inner_f")
x = keras.Input((4,))
outer_f = keras.Model(x, Dense(1)(inner_f(x)))
out["functional_output_from_outer"] = error_of(lambda: keras.Model(outer_f.inputs, outer_f.layers[1].output))
out["functional_layer_from_inner"] = list(keras.Model(inner_f.input, inner_f.get_layer("hid").output).output.shape)
lazy = keras.Sequential([Dense(3), Dense(2)])
x = keras.Input((4,))
lazy(x)
out["lazy_inputs_shape"] = list(lazy.inputs[0].shape)
out["lazy_input_is_call_input"] = str(lazy.input is x)
out["lazy_first_layer"] = list(keras.Model(lazy.inputs, lazy.layers[0].output).output.shape)

# batch sizes
xb = keras.Input(batch_shape=(5, 4))
out["fixed_batch_call"] = list(keras.Model(xb, Dense(1)(xb))(np.ones((3, 4), "float32")).shape)
eager = keras.Sequential([Dense(8), Dense(1)])
eager(np.ones((2, 4), "float32"))
out["eager_built_then_3"] = list(eager(np.ones((3, 4), "float32")).shape)

# configs and constructors
x = keras.Input((4,))
functional = keras.Model(x, Dense(2)(x))
out["model_from_functional_config"] = type(keras.Model.from_config(functional.get_config())).__name__


class Classifier(keras.Model):
    def __init__(self, units, classes, **kwargs):
        super().__init__(**kwargs)
        self.units, self.classes = units, classes
        self.hidden, self.out = Dense(units), Dense(classes)

    def call(self, inputs):
        return self.out(self.hidden(inputs))


model = Classifier(4, 2)
out["positional_subclass"] = [type(model).__name__, *model(np.ones((3, 5), "float32")).shape]


class Wide(keras.Model):
    def __init__(self, units, **kwargs):
        inputs = keras.Input((4,))
        super().__init__(inputs, Dense(units)(inputs), **kwargs)
        self.units = units


wide = Wide(3)
out["graph_subclass"] = [type(wide).__name__, "Functional" in [k.__name__ for k in type(wide).__mro__],
                         *wide.output.shape[1:], len(wide.layers)]


class AddOptional(keras.layers.Layer):
    def call(self, x, y=None):
        return x if y is None else x + y


a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b", optional=True)
with_optional = keras.Model([a, b], AddOptional()(a, b))
out["optional_none"] = np.asarray(with_optional([data["x"], None]))
out["optional_given"] = np.asarray(with_optional([data["x"], data["x"]]))
out["input_params"] = [[p.name, p.kind.name, repr(p.default)]
                       for p in inspect.signature(keras.Input).parameters.values()]
out["input_layer_params"] = [[p.name, p.kind.name, repr(p.default)]
                             for p in list(inspect.signature(keras.layers.InputLayer.__init__).parameters.values())[1:]]
out["input_layer_config"] = {k: (list(v) if isinstance(v, tuple) else v)
                             for k, v in keras.layers.InputLayer(shape=(3,), name="i",
                                                                 optional=True).get_config().items()}
out["input_positional"] = [list(keras.Input((3,), 7, "int32").shape), keras.Input((3,), 7, "int32").dtype]
'''


@pytest.fixture(scope="session")
def keras_graphs():
    """``(data, out)``: Keras 3's results for the graphs above on ``data``."""
    data = {"x": np.random.default_rng(1).standard_normal((5, 4)).astype("float32")}
    return data, run_keras(_KERAS, data, backend="numpy")
