"""Keras 3 reads what polykeras writes: ``model.save("m.keras")`` and
``save_weights("m.weights.h5")`` on every engine, loaded by real Keras 3 (on
its NumPy backend, in this process where it can) with the same predictions
and, after training, the same optimizer state."""

from __future__ import annotations

import importlib.util
import json
import zipfile

import h5py
import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import Input, Model, Sequential, layers, optimizers
from polykeras.saving import load_model

from layers.helpers import run_keras  # tests/ is on sys.path

pytestmark = pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras is not installed")

#: Keras loads each file of ``data["names"]`` from ``data["folder"]`` and predicts on the saved inputs.
READER = r'''
import json
folder = str(data["folder"])
for name in json.loads(str(data["names"])):
    model = keras.saving.load_model(f"{folder}/{name}.keras")
    x = {k.split(":", 1)[1]: data[k] for k in data if k.startswith(name + ":")} if name == "nested" \
        else data["x_" + name]
    out[name] = np.asarray(model.predict(x, verbose=0))
    if getattr(model, "optimizer", None) is not None and model.optimizer.built and len(model.optimizer.variables) > 2:
        out[name + "_optimizer"] = np.concatenate([np.ravel(np.asarray(v)) for v in model.optimizer.variables])
    for w in model.weights:
        w.assign(np.zeros(w.shape, w.dtype))
    model.load_weights(f"{folder}/{name}.weights.h5")
    out[name + "_weights"] = np.asarray(model.predict(x, verbose=0))
'''


def _models(rng):
    """(name, model, inputs): a conv net, a Sequential over ids, a two-input graph
    with a shared layer and a nested Sequential, and an LSTM."""
    img = Input((6, 6, 2), name="image")
    h = layers.Conv2D(3, 3, activation="relu", name="conv")(img)
    h = layers.BatchNormalization(name="bn")(h)
    h = layers.MaxPooling2D(name="pool")(h)
    h = layers.Dense(4, activation="tanh", kernel_regularizer="l2", name="hidden")(layers.Flatten(name="flat")(h))
    functional = Model(img, layers.Dense(2, name="head")(h), name="functional_net")

    sequential = Sequential([Input((5,), dtype="int32"), layers.Embedding(10, 3, name="embed"),
                             layers.GlobalAveragePooling1D(), layers.Dense(3), layers.LayerNormalization(),
                             layers.Dense(2)], name="sequential_net")

    a, b = Input((4,), name="a"), Input((4,), name="b")
    shared = layers.Dense(3, name="shared")
    inner = Sequential([Input((3,)), layers.Dense(3, name="inner_dense"), layers.BatchNormalization(name="inner_bn")],
                       name="inner")
    merged = layers.Concatenate(name="cat")([inner(layers.Add(name="add")([shared(a), shared(b)])), shared(b)])
    nested = Model({"a": a, "b": b}, layers.Dense(1, name="out")(merged), name="nested_net")

    lstm = Sequential([Input((3, 2)), layers.LSTM(2, name="recurrent"), layers.Dense(1)], name="lstm_net")
    return [("functional", functional, rng.normal(size=(8, 6, 6, 2)).astype("float32")),
            ("sequential", sequential, rng.integers(0, 10, size=(4, 5)).astype("int32")),
            ("nested", nested, {"a": rng.normal(size=(4, 4)).astype("float32"),
                                "b": rng.normal(size=(4, 4)).astype("float32")}),
            ("lstm", lstm, rng.normal(size=(2, 3, 2)).astype("float32"))]


def _keras_reads(folder, cases):
    data = {"folder": np.asarray(str(folder)), "names": np.asarray(json.dumps([name for name, _, _ in cases]))}
    for name, _, x in cases:
        if isinstance(x, dict):
            data.update({f"{name}:{k}": v for k, v in x.items()})
        else:
            data[f"x_{name}"] = x
    return run_keras(READER, data, backend="numpy")


def test_keras_loads_our_archives_and_weights(engine, tmp_path, rng):
    cases = _models(rng)
    for name, model, _ in cases:
        model.save(tmp_path / f"{name}.keras")
        model.save_weights(tmp_path / f"{name}.weights.h5")
    out = _keras_reads(tmp_path, cases)
    for name, model, x in cases:
        ours = model.predict(x, verbose=0)
        assert_close(out[name], ours, "layer", err_msg=f"Keras 3 loading our {name} model ({engine.name})")
        assert_close(out[name + "_weights"], ours, "layer", err_msg=f"Keras 3 loading our {name} weights")


def test_keras_resumes_our_training_state(diff_engine, tmp_path, rng):
    (name, model, x), = [case for case in _models(rng) if case[0] == "functional"]
    model.compile(optimizer=optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    model.fit(x, rng.normal(size=(8, 2)).astype("float32"), batch_size=4, epochs=2, verbose=0)
    model.save(tmp_path / f"{name}.keras")
    model.save_weights(tmp_path / f"{name}.weights.h5")
    out = _keras_reads(tmp_path, [(name, model, x)])
    assert_close(out[name], model.predict(x, verbose=0), "layer")
    ours = np.concatenate([np.ravel(v.numpy()) for v in model.optimizer.variables])
    assert_close(out[name + "_optimizer"], ours, "elementwise", err_msg="optimizer state as Keras 3 reads it")


def test_our_keras_archive_reloads_on_another_engine(engine, tmp_path, rng):
    from polykeras import backends

    (_, model, x), = [case for case in _models(rng) if case[0] == "nested"]
    model.save(tmp_path / "nested.keras")
    metadata = json.loads(zipfile.ZipFile(tmp_path / "nested.keras").read("metadata.json"))
    assert metadata["keras_version"].startswith("3.")
    expected = model.predict(x, verbose=0)
    for name in backends.installed():
        with backends.use(name):
            again = load_model(tmp_path / "nested.keras")
            assert [layer.name for layer in again.layers] == [layer.name for layer in model.layers]
            assert_close(again.predict(x, verbose=0), expected, "layer", err_msg=f"reloaded on {name}")


def test_weights_files_hold_keras_layout_as_links(engine, tmp_path, rng):
    (_, model, x), = [case for case in _models(rng) if case[0] == "functional"]
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    with h5py.File(path, "r") as f:
        assert f["layers/conv2d/vars"].attrs["name"] == "conv"
        assert f["layers/conv2d/vars/0"] == f["conv/kernel"]  # one dataset under two names
        assert f["layers/dense_1/vars/1"] == f["head/bias"]
    other = _models(np.random.default_rng(1))[0][1]
    other.load_weights(path)
    assert_close(other.predict(x, verbose=0), model.predict(x, verbose=0), "layer")


def test_a_layer_named_like_a_keras_group_keeps_polykeras_layout(engine, tmp_path):
    x = Input((2,))
    model = Model(x, layers.Dense(1, name="layers")(x))
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5", "r") as f:
        assert "vars" not in f and list(f["layers"]) == ["bias", "kernel"]
    fresh = Model(x, layers.Dense(1, name="layers")(x))
    fresh.load_weights(tmp_path / "w.weights.h5")
    assert_close(fresh.get_weights()[0], model.get_weights()[0], "elementwise")


def test_a_registered_custom_layer_round_trips_through_a_keras_file(engine, tmp_path, rng):
    from polykeras.saving import register_keras_serializable

    @register_keras_serializable(package="writing_tests")
    class Gain(layers.Layer):
        def build(self, input_shape):
            self.gain = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="gain")

        def call(self, x):
            return x * self.gain

    x = Input((3,))
    model = Model(x, layers.Dense(2)(Gain(name="gain_layer")(x)))
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    model.save(tmp_path / "custom.keras")
    config = json.loads(zipfile.ZipFile(tmp_path / "custom.keras").read("config.json"))
    assert config["config"]["layers"][1]["registered_name"] == "writing_tests>Gain"
    again = load_model(tmp_path / "custom.keras")  # found by its registered name, no custom_objects
    data = rng.normal(size=(2, 3)).astype("float32")
    assert isinstance(again.get_layer("gain_layer"), Gain)
    assert_close(again.predict(data, verbose=0), model.predict(data, verbose=0), "layer")


def test_an_op_keras_has_no_class_for_is_refused_before_anything_is_written(engine, tmp_path):
    from polykeras import ops
    from polykeras.saving import SerializationError

    x = Input((4,))
    model = Model(x, layers.Dense(2)(ops.mean(ops.mish(x * 2.0), axis=-1, keepdims=True)))
    refused = r"op node 'mish(_\d+)?' \(mish\): op 'mish' has no Keras 3 Operation class"
    with pytest.raises(SerializationError, match=refused):
        model.save(tmp_path / "ops.keras")
    assert list(tmp_path.iterdir()) == []
    model.save(tmp_path / "ops.pkeras")  # polykeras' own archive holds them
    assert_close(load_model(tmp_path / "ops.pkeras").predict(np.ones((1, 4), "float32"), verbose=0),
                 model.predict(np.ones((1, 4), "float32"), verbose=0), "layer")
