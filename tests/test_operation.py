"""``polykeras.Operation``: Keras 3's base of a weightless computation. A
subclass with ``call`` (and ``compute_output_spec``) computes on tensors and
records a graph node on symbolic tensors, on every engine."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras
from polykeras import layers, ops
from polykeras.saving import register_keras_serializable

from conformance.keras_signatures import Entry, compare
from layers.keras_reference import import_keras  # tests/ is on sys.path (no __init__.py)


@register_keras_serializable(package="test_operation")
class Scale(polykeras.Operation):
    def __init__(self, factor, name=None):
        super().__init__(name=name)
        self.factor = factor

    def call(self, x):
        return ops.multiply(x, self.factor)

    def compute_output_spec(self, x):
        return polykeras.KerasTensor(x.shape, x.dtype)


class AddThenSum(polykeras.Operation):  # no compute_output_spec: the abstract evaluation answers
    def call(self, x, y, axis=-1):
        return ops.sum(ops.add(x, y), axis=axis)


def test_signature_and_config_match_keras():
    keras = import_keras()
    assert compare(Entry.of(keras.Operation), polykeras.Operation) == ("ok", "")

    class KerasScale(keras.Operation):
        def __init__(self, factor, name=None):
            super().__init__(name=name)
            self.factor = factor

    class KerasAdd(keras.Operation):
        pass

    assert Scale(2.0, "s").get_config() == KerasScale(2.0, "s").get_config() == {"name": "s", "factor": 2.0}
    assert AddThenSum("a").get_config() == KerasAdd("a").get_config() == {"name": "a"}
    assert polykeras.Operation("by_position").name == "by_position"


def test_eager_call_computes(engine):
    x = np.arange(6, dtype="float32").reshape(2, 3)
    y = Scale(2.0)(x)
    assert engine.is_tensor(y)
    np.testing.assert_allclose(ops.to_numpy(y), x * 2)
    np.testing.assert_allclose(ops.to_numpy(AddThenSum()(x, x, axis=0)), (2 * x).sum(0))
    # An Operation casts nothing: float64 in (where the engine has it), float64 out, as Keras 3.
    wide = ops.convert_to_tensor(x, "float16")
    assert ops.dtype(Scale(2.0)(wide)) == "float16"


def test_symbolic_call_records_a_node_and_the_graph_runs(engine):
    x = polykeras.Input((3,))
    scale = Scale(3.0, name="triple")
    y = scale(x)
    assert isinstance(y, polykeras.KerasTensor) and y.shape == (None, 3) and y.node.layer is scale
    z = AddThenSum()(y, x)  # default compute_output_spec: an abstract evaluation of call
    assert z.shape == (None,) and z.dtype == "float32"
    model = polykeras.Model(x, z)
    data = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_allclose(ops.to_numpy(model(data)), (4 * data).sum(-1), rtol=1e-6)
    assert scale.output is y and scale.input is x
    w = scale.symbolic_call(x)  # Keras 3's public name for the symbolic path
    assert w.shape == (None, 3) and w.node.layer is scale


def test_compute_output_spec_default_and_override(engine):
    spec = AddThenSum().compute_output_spec(polykeras.KerasTensor((2, 5)), polykeras.KerasTensor((2, 5)), axis=0)
    assert isinstance(spec, polykeras.KerasTensor) and spec.shape == (5,)
    assert Scale(1.0).compute_output_spec(polykeras.KerasTensor((None, 4), "float16")).dtype == "float16"


def test_functional_model_over_an_operation_round_trips_its_config(engine):
    x = polykeras.Input((4,))
    model = polykeras.Model(x, Scale(0.5, name="half")(layers.Dense(2, name="d")(x)))
    clone = polykeras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    data = np.ones((3, 4), "float32")
    np.testing.assert_allclose(ops.to_numpy(clone(data)), ops.to_numpy(model(data)), rtol=1e-6)
    half = next(op for op in clone.operations if op.name == "half")  # an operation: get_layer does not list it
    assert type(half) is Scale and half.factor == 0.5


def test_gradients_flow_through_an_operation(diff_engine):
    x = polykeras.Input((4,))
    model = polykeras.Model(x, Scale(2.0)(layers.Dense(1, kernel_initializer="zeros")(x)))
    model.compile(polykeras.optimizers.SGD(0.1), "mse")
    data, target = np.ones((8, 4), "float32"), np.ones((8, 1), "float32")
    model.fit(data, target, epochs=1, batch_size=8, verbose=0)
    # d/dk mean((2 k.x - 1)^2) at k=0 is -4 per input: SGD(0.1) moves each entry to 0.4.
    np.testing.assert_allclose(model.get_weights()[0], np.full((4, 1), 0.4), rtol=1e-5)


def test_every_layer_is_an_operation():
    assert isinstance(layers.Dense(2), polykeras.Operation)
    assert issubclass(polykeras.Model, polykeras.Operation)
    assert isinstance(Scale(1.0), polykeras.Layer)
    assert not isinstance(layers.Dense(2), Scale) and not issubclass(layers.Dense, Scale)
    assert not isinstance(np.ones(2), polykeras.Operation)


def test_errors_name_the_operation(engine):
    with pytest.raises(NotImplementedError, match="Operation Operation \\('bare'\\) does not implement call"):
        polykeras.Operation("bare")(np.ones(2, "float32"))
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'y'"):
        AddThenSum()(np.ones(2, "float32"))
    with pytest.raises(ValueError, match="expected a non-empty name without '/'"):
        Scale(1.0, name="a/b")


def test_an_operation_is_listed_as_keras_lists_it(engine):
    keras = import_keras()

    class KerasScale(keras.Operation):
        def call(self, x):
            return keras.ops.multiply(x, 2.0)

        def compute_output_spec(self, x):
            return keras.KerasTensor(x.shape, x.dtype)

    def names(lib, scale):
        x = lib.Input((4,), name="x")  # names given: automatic ones count the inputs each library has made
        model = lib.Model(x, scale(name="half")(lib.layers.Dense(2, name="d")(x)))
        return [op.name for op in model.layers], [op.name for op in model.operations]

    assert names(polykeras, lambda name: Scale(2.0, name=name)) == names(keras, KerasScale)
