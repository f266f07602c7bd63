"""How models and inputs are made, as Keras 3 makes them: ``Model.from_config``
of a functional config, subclasses with positional arguments or with a graph
of their own, and ``Input``/``InputLayer`` with Keras' parameters in Keras'
order (``keras_graphs`` holds Keras' answers)."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

import polykeras as pk
from polykeras import layers, ops
from polykeras.layers import InputLayer
from polykeras.models import Functional, Model
from polykeras.symbolic import SymbolicTensor


class Classifier(Model):
    def __init__(self, units, classes, **kwargs):
        super().__init__(**kwargs)
        self.units, self.classes = units, classes
        self.hidden, self.out = layers.Dense(units), layers.Dense(classes)

    def call(self, inputs):
        return self.out(self.hidden(inputs))


class Wide(Model):
    """A subclass that makes its own graph and hands it to Model.__init__."""

    def __init__(self, units, **kwargs):
        inputs = pk.Input((4,))
        super().__init__(inputs, layers.Dense(units)(inputs), **kwargs)
        self.units = units


class Stepped(Model):
    """A subclass that only overrides a step: called with (inputs, outputs)."""

    def test_step(self, data):
        return super().test_step(data)


class AddOptional(layers.Layer):
    def call(self, x, y=None):
        return x if y is None else ops.add(x, y)


def test_model_from_config_of_a_functional_config(engine, keras_graphs, rng):
    _, ref = keras_graphs
    x = pk.Input((4,))
    model = Model(x, layers.Dense(2)(layers.Dense(3)(x)))
    clone = Model.from_config(json.loads(json.dumps(model.get_config())))
    assert type(clone).__name__ == ref["model_from_functional_config"]
    clone.set_weights(model.get_weights())
    data = rng.standard_normal((3, 4)).astype("float32")
    np.testing.assert_allclose(ops.to_numpy(clone(data)), ops.to_numpy(model(data)), rtol=1e-6, atol=1e-6)
    stepped = Stepped(x, layers.Dense(1)(x))
    again = Stepped.from_config(stepped.get_config())
    assert isinstance(again, Stepped) and isinstance(again, Functional)


def test_a_subclass_config_still_goes_to_its_constructor(engine):
    class Configured(Classifier):
        def get_config(self):
            return {"units": self.units, "classes": self.classes, "name": self.name}

    model = Configured.from_config({"units": 5, "classes": 3, "name": "c"})
    assert isinstance(model, Configured) and (model.units, model.classes) == (5, 3)


def test_subclass_positional_arguments_are_its_own(engine, keras_graphs):
    _, ref = keras_graphs
    model = Classifier(4, 2)  # not (inputs, outputs)
    assert not isinstance(model, Functional)
    assert [type(model).__name__, *ops.shape(model(np.ones((3, 5), "float32")))] == ref["positional_subclass"]


def test_a_subclass_that_hands_on_its_own_graph(engine, keras_graphs):
    _, ref = keras_graphs
    wide = Wide(3)
    assert [type(wide).__name__, isinstance(wide, Functional), *wide.output_shape[1:],
            len(wide.layers)] == ref["graph_subclass"]
    assert isinstance(wide, Wide) and wide.units == 3
    assert ops.shape(wide(np.ones((2, 4), "float32"))) == (2, 3)


def _keras_style(fn) -> list[list[str]]:
    params = list(inspect.signature(fn).parameters.values())
    return [[p.name, p.kind.name, repr(p.default)] for p in params]


def test_input_takes_keras_parameters_in_keras_order(engine, keras_graphs):
    _, ref = keras_graphs
    assert _keras_style(pk.Input) == ref["input_params"]
    assert _keras_style(InputLayer.__init__)[1:] == ref["input_layer_params"]
    x = pk.Input((3,), 7, "int32")  # shape, batch_size, dtype by position
    assert [list(x.shape), x.dtype] == ref["input_positional"]
    config = InputLayer(shape=(3,), name="i", optional=True).get_config()
    assert config == ref["input_layer_config"]
    assert InputLayer.from_config(config).optional


def test_input_sparse_ragged_and_tensor(engine):
    with pytest.raises(NotImplementedError, match="sparse=True inputs are not supported"):
        pk.Input((3,), sparse=True)
    with pytest.raises(NotImplementedError, match="ragged=True inputs are not supported"):
        pk.Input((3,), ragged=True)
    assert pk.Input((3,), sparse=False, ragged=None).shape == (None, 3)
    placeholder = SymbolicTensor((None, 5), "float32", name="given")
    x = pk.Input(tensor=placeholder)
    assert x is placeholder and isinstance(x.node.layer, InputLayer) and x.node.layer.batch_shape == (None, 5)
    assert ops.shape(Model(x, layers.Dense(2)(x))(np.ones((2, 5), "float32"))) == (2, 2)
    with pytest.raises(ValueError, match=r"expected shape=\(5,\) as input_tensor 'other' has, received shape=\(4,\)"):
        pk.Input((4,), tensor=SymbolicTensor((None, 5), name="other"))
    with pytest.raises(ValueError, match="expected input_tensor to be a symbolic tensor.*ndarray"):
        pk.Input(tensor=np.ones((2, 3)))
    with pytest.raises(NotImplementedError, match="is the output of layer 'made'"):
        pk.Input(tensor=layers.Dense(2, name="made")(pk.Input((3,))))


def test_an_optional_input_may_be_none(engine, keras_graphs):
    data, ref = keras_graphs
    a, b = pk.Input((4,), name="a"), pk.Input((4,), name="b", optional=True)
    model = Model([a, b], AddOptional()(a, b))
    np.testing.assert_allclose(ops.to_numpy(model([data["x"], None])), ref["optional_none"], rtol=1e-6)
    np.testing.assert_allclose(ops.to_numpy(model([data["x"], data["x"]])), ref["optional_given"], rtol=1e-6)
    with pytest.raises(ValueError, match=r"input 'a' expected a tensor of shape \(None, 4\), received None"):
        model([None, data["x"]])
