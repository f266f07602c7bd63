"""``models.clone_model`` against ``keras.models.clone_model``: functional
(shared layers, nested models, several inputs), Sequential and subclassed
models; ``clone_function``, ``call_function``, ``input_tensors`` and
``recursive``; new weights, the same numbers after ``set_weights``, on every
engine."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras
from polykeras import layers, ops
from polykeras.models import Model, Sequential, clone_model

from _keras_api import assert_same_signature
from layers.keras_reference import import_keras

X = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")
Y = np.random.default_rng(1).standard_normal((3, 2)).astype("float32")


def _functional(lib):
    """Two inputs, a layer used twice and a nested Sequential: the same
    architecture in Keras (``lib=keras``) and here (``lib=polykeras``)."""
    a, b = lib.Input((4,), name="a"), lib.Input((2,), name="b")
    shared = lib.layers.Dense(3, activation="tanh", name="shared")
    inner = lib.Sequential([lib.Input((3,)), lib.layers.Dense(3, name="inner_dense")], name="inner")
    h = lib.layers.Concatenate(name="join")([inner(shared(a)), shared(lib.layers.Dense(4, name="lift")(b))])
    return lib.Model([a, b], lib.layers.Dense(1, name="head")(h), name="two_inputs")


def _structure(model):
    return [(type(layer).__name__, layer.name) for layer in model.layers]


def _outputs(model, inputs):
    return ops.to_numpy(model([ops.convert_to_tensor(x) for x in inputs]))


def test_signature_matches_keras(engine):
    assert_same_signature(clone_model, import_keras().models.clone_model, "models.clone_model")
    assert polykeras.models.clone_model is clone_model


def test_functional_clone_has_new_weights_and_keeps_sharing_like_keras(engine):
    keras = import_keras()
    keras_clone = keras.models.clone_model(_functional(keras))
    model = _functional(polykeras)
    clone = clone_model(model)
    assert _structure(clone) == _structure(model)
    assert sorted(name for _, name in _structure(clone)) == sorted(layer.name for layer in keras_clone.layers)
    assert len(clone.weights) == len(keras_clone.weights) == len(model.weights)
    assert all(c is not o for c, o in zip(clone.layers, model.layers))
    assert not any(np.array_equal(c, o) for c, o in zip(clone.get_weights(), model.get_weights()) if c.ndim == 2)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(_outputs(clone, [X, Y]), _outputs(model, [X, Y]), rtol=1e-6)
    assert clone.get_layer("shared") is not model.get_layer("shared")
    assert [t.name for t in clone.inputs] == ["a", "b"]


def test_clone_function_and_call_function_like_keras(engine):
    keras = import_keras()

    def widen(layer):
        config = layer.get_config()
        if config.get("name") == "head":
            config["units"] = 2
        return layer.__class__.from_config(config)

    assert clone_model(_functional(polykeras), clone_function=widen).output_shape == \
        tuple(keras.models.clone_model(_functional(keras), clone_function=widen).output.shape)

    def dropout_after_dense(lib):
        def call(layer, *args, **kwargs):
            out = layer(*args, **kwargs)
            return lib.layers.Dropout(0.5)(out) if isinstance(layer, lib.layers.Dense) else out
        return call

    model = _functional(polykeras)
    shared = clone_model(model, clone_function=lambda layer: layer, call_function=dropout_after_dense(polykeras))
    keras_shared = keras.models.clone_model(_functional(keras), clone_function=lambda layer: layer,
                                            call_function=dropout_after_dense(keras))
    assert sorted(type(layer).__name__ for layer in shared.layers) == \
        sorted(type(layer).__name__ for layer in keras_shared.layers)
    assert shared.get_layer("shared") is model.get_layer("shared")  # the identity clone shares the layer
    np.testing.assert_allclose(_outputs(shared, [X, Y]), _outputs(model, [X, Y]), rtol=1e-6)  # dropout off


def test_input_tensors_and_recursive(engine):
    model = _functional(polykeras)
    new_a, new_b = polykeras.Input((4,), name="new_a"), polykeras.Input((2,), name="new_b")
    clone = clone_model(model, input_tensors=[new_a, new_b])
    assert clone.inputs[0] is new_a and clone.inputs[1] is new_b
    seen = []

    def record(layer):
        seen.append(layer.name)
        return layer.__class__.from_config(layer.get_config())

    clone_model(model, clone_function=record)
    assert "inner" in seen and "inner_dense" not in seen
    seen.clear()
    deep = clone_model(model, clone_function=record, recursive=True)
    assert "inner_dense" in seen and "inner" not in seen
    assert deep.get_layer("inner").layers[0] is not model.get_layer("inner").layers[0]
    with pytest.raises(ValueError, match=r"clone_model: expected input_tensors in the structure of the model's inputs"):
        clone_model(model, input_tensors=[new_a])


def test_sequential_like_keras(engine):
    keras = import_keras()

    def stack(lib, with_input):
        body = [lib.layers.Dense(5, activation="relu", name="d1"), lib.layers.Dense(2, name="d2")]
        return lib.Sequential(([lib.Input((4,), name="x")] if with_input else []) + body, name="stack")

    for with_input in (True, False):
        model, keras_clone = stack(polykeras, with_input), keras.models.clone_model(stack(keras, with_input))
        clone = clone_model(model)
        assert isinstance(clone, Sequential) and clone.name == keras_clone.name == "stack"
        assert [layer.name for layer in clone.layers] == [layer.name for layer in keras_clone.layers]
        assert clone.built == keras_clone.built == with_input
    model = stack(polykeras, True)
    clone = clone_model(model)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(ops.to_numpy(clone(X)), ops.to_numpy(model(X)), rtol=1e-6)
    assert clone.inputs[0].name == "x"
    given = polykeras.Input((4,), name="given")
    assert clone_model(model, input_tensors=given).inputs[0] is given
    with pytest.raises(ValueError, match="call_function applies to functional models only"):
        clone_model(model, call_function=lambda layer, *a, **k: layer(*a, **k))


@polykeras.saving.register_keras_serializable(package="clone_test")
class Doubler(Model):
    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = layers.Dense(units)

    def call(self, x):
        return ops.multiply(self.dense(x), 2.0)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_subclassed_models_clone_through_their_config(engine):
    model = Doubler(units=5, name="doubler")
    model(X)
    clone = clone_model(model)
    assert isinstance(clone, Doubler) and clone.units == 5 and clone.name == "doubler"
    clone(X)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(ops.to_numpy(clone(X)), ops.to_numpy(model(X)), rtol=1e-6)
    with pytest.raises(ValueError, match="clone_function, input_tensors and call_function need a functional or "
                                         "Sequential model; Doubler 'doubler'"):
        clone_model(model, clone_function=lambda layer: layer)


def test_compiled_models_clone_compiled(engine):
    model = _functional(polykeras)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    clone = clone_model(model)
    assert clone.compiled and clone.get_compile_config() == model.get_compile_config()
    assert not clone_model(_functional(polykeras)).compiled


@pytest.mark.parametrize("call, message", [
    (lambda: clone_model(layers.Dense(2)), "clone_model: expected a Model .* received Dense"),
    (lambda: clone_model(_functional(polykeras), colour="red"),
     r"clone_model: unexpected keyword arguments \['colour'\]"),
    (lambda: clone_model(_functional(polykeras), clone_function=3), "expected clone_function to be a callable"),
])
def test_bad_arguments_are_named(engine, call, message):
    with pytest.raises(ValueError, match=message):
        call()
