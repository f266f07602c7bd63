"""Symbolic string inputs (``Input(dtype="string")``): the host layers
(StringLookup, Hashing, HashedCrossing, TextVectorization, FeatureSpace's
preprocessors) on them, and functional models that predict, fit and evaluate
on NumPy string columns on every engine, against Keras 3's FeatureSpace model
(Keras supports string inputs on TensorFlow only: its JAX and torch backends
refuse string data in ``predict``)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import polykeras
from polykeras import layers, ops
from polykeras.utils import FeatureSpace

from layers.helpers import run_keras  # tests/ is on sys.path (no __init__.py)


def _columns(n: int = 48) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    return {"city": rng.choice(["lyon", "oslo", "kyiv", "rome"], n), "age": rng.uniform(20, 70, n).astype("float32"),
            "zone": rng.integers(0, 5, n).astype("int32"), "tag": rng.choice(["x", "y", "z"], n),
            "y": rng.integers(0, 2, (n, 1)).astype("float32")}


KERAS_CODE = """
import numpy as np
space = keras.utils.FeatureSpace({"city": "string_categorical", "age": "float_normalized",
                                  "zone": "integer_categorical", "tag": "string_hashed"},
                                 crosses=[("city", "zone")], crossing_dim=8, hashing_dim=4)
columns = {k: data[k].astype(object) if data[k].dtype.kind == "U" else data[k] for k in ("city", "age", "zone", "tag")}
space.adapt(__import__("tensorflow").data.Dataset.from_tensor_slices(columns))
inputs = space.get_inputs()
model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid", kernel_initializer="ones")(
    space.get_encoded_features()))
model.compile(keras.optimizers.SGD(0.1), "binary_crossentropy")
out["before"] = model.predict(columns, batch_size=16, verbose=0)
model.fit(columns, data["y"], batch_size=16, epochs=1, shuffle=False, verbose=0)
out["after"] = model.predict(columns, batch_size=16, verbose=0)
out["loss"] = np.array([model.evaluate(columns, data["y"], batch_size=16, verbose=0)])
"""


@functools.lru_cache(maxsize=1)
def _keras_reference() -> dict:
    return run_keras(KERAS_CODE, _columns(), backend="tensorflow")  # one Keras run serves every engine


def _feature_space_model():
    space = FeatureSpace({"city": "string_categorical", "age": "float_normalized", "zone": "integer_categorical",
                          "tag": "string_hashed"}, crosses=[("city", "zone")], crossing_dim=8, hashing_dim=4)
    return space


def test_feature_space_model_matches_keras(engine):
    data = _columns()
    columns = {k: data[k] for k in ("city", "age", "zone", "tag")}
    space = _feature_space_model()
    space.adapt(columns)
    inputs = space.get_inputs()
    assert inputs["city"].dtype == "string" and inputs["city"].shape == (None, 1)
    model = polykeras.Model(inputs, layers.Dense(1, activation="sigmoid", kernel_initializer="ones")(
        space.get_encoded_features()))
    model.compile(polykeras.optimizers.SGD(0.1), "binary_crossentropy")
    before = model.predict(columns, batch_size=16, verbose=0)
    eager = ops.to_numpy(model({k: v[:5, None] for k, v in columns.items()}))  # (n, 1) columns, called eagerly
    theirs = _keras_reference()
    np.testing.assert_allclose(before, theirs["before"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(eager, before[:5], rtol=1e-5, atol=1e-6)
    if engine.name == "numpy":  # inference only
        return
    model.fit(columns, data["y"], batch_size=16, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(model.predict(columns, batch_size=16, verbose=0), theirs["after"], rtol=1e-4,
                               atol=1e-5)
    loss = model.evaluate(columns, data["y"], batch_size=16, verbose=0)
    np.testing.assert_allclose(loss, theirs["loss"][0], rtol=1e-4)


def test_text_vectorization_and_lookup_on_string_inputs(engine):
    text = polykeras.Input((), dtype="string", name="text")
    word = polykeras.Input((1,), dtype="string", name="word")
    vectorize = layers.TextVectorization(vocabulary=["the", "cat", "sat"], output_sequence_length=4)
    lookup = layers.StringLookup(vocabulary=["a", "b"], output_mode="one_hot")
    tokens = vectorize(text)
    assert tokens.shape == (None, 4) and tokens.dtype == "int64"
    hidden = layers.Concatenate()([layers.Flatten()(layers.Embedding(6, 2)(tokens)), lookup(word)])
    model = polykeras.Model({"text": text, "word": word}, layers.Dense(1)(hidden))
    x = {"text": np.array(["the cat sat", "a cat", "sat sat the cat"]), "word": np.array(["a", "c", "b"])}
    expected = ops.to_numpy(model(x))
    np.testing.assert_allclose(model.predict(x, batch_size=2, verbose=0), expected, rtol=1e-5, atol=1e-6)
    if engine.name != "numpy":
        model.compile("sgd", "mse", steps_per_execution=2)
        history = model.fit(x, np.zeros((3, 1), "float32"), batch_size=1, epochs=2, verbose=0)
        assert history.history["loss"][1] < history.history["loss"][0]


def test_string_tensors_stop_at_numeric_layers(engine):
    city = polykeras.Input((1,), dtype="string", name="city")
    with pytest.raises(ValueError, match=r"Layer 'dense_on_text' \(Dense\): expected a numeric input, received the "
                                         r"string tensor 'city' \(dtype string, shape \(None, 1\)\)"):
        layers.Dense(2, name="dense_on_text")(city)
    inverted = layers.StringLookup(vocabulary=["a"], invert=True)(layers.Input((1,), dtype="int64"))
    assert inverted.dtype == "string"
    echo = polykeras.Model(city, layers.StringLookup(vocabulary=["a"], invert=True)(
        layers.StringLookup(vocabulary=["a"])(city)))
    assert echo(np.array([["a"], ["b"]])).tolist() == [["a"], ["[UNK]"]]  # called eagerly, strings may come out
    with pytest.raises(ValueError, match="expected only numeric tensors after the host layers, received the string "
                                         "tensor 'string_lookup.*' as an output"):
        echo.predict(np.array([["a"]]), verbose=0)
    number = polykeras.Input((1,), name="number")
    model = polykeras.Model([city, number], layers.Add()([layers.StringLookup(vocabulary=["a"])(city), number]))
    with pytest.raises(ValueError, match=r"input 'city' expected strings \(dtype string\), received an array of "
                                         r"dtype float32"):
        model.predict([np.ones((2, 1), "float32"), np.ones((2, 1), "float32")], verbose=0)
    with pytest.raises(ValueError, match=r"input 'city' expected shape \(None, 1\), received shape \(2, 3\)"):
        model.predict([np.full((2, 3), "a"), np.ones((2, 1), "float32")], verbose=0)
    with pytest.raises(ValueError, match=r"input 'number' expected numeric data \(dtype float32\), received an array "
                                         r"of dtype <U1; only Input\(dtype='string'\) takes text"):
        model.predict([np.full((2, 1), "a"), np.full((2, 1), "b")], verbose=0)


def test_sequential_with_a_string_input(engine):
    model = polykeras.Sequential([polykeras.Input((1,), dtype="string"),
                                  layers.StringLookup(vocabulary=["a", "b"], output_mode="one_hot"), layers.Dense(1)])
    x = np.array([["a"], ["b"], ["c"]])
    np.testing.assert_allclose(model.predict(x, verbose=0), ops.to_numpy(model(x)), rtol=1e-6)
    if engine.name != "numpy":
        model.compile("sgd", "mse")
        before = model.get_weights()[0].copy()
        model.fit(x, np.ones((3, 1), "float32"), epochs=1, verbose=0)
        assert not np.allclose(model.get_weights()[0], before)  # the Dense after the host lookup learns


def test_weights_before_a_host_layer_are_refused_in_training(engine):
    """A weighted layer upstream of a host layer would get no gradient: fit
    says so instead of leaving it untrained; predict runs it."""
    number = polykeras.Input((2,), name="number")
    hashed = layers.Hashing(num_bins=3, output_mode="one_hot")(layers.Dense(1, name="scale")(number))
    model = polykeras.Model(number, layers.Dense(1)(hashed))
    x, y = np.ones((4, 2), "float32"), np.zeros((4, 1), "float32")
    assert model.predict(x, verbose=0).shape == (4, 1)
    if not engine.differentiable:
        return
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"layers \['scale'\] run on the host, before the compiled step .* would "
                                         r"receive no gradient"):
        model.fit(x, y, verbose=0)
    model.get_layer("scale").trainable = False
    model.compile("sgd", "mse")
    model.fit(x, y, verbose=0)
