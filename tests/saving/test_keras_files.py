"""Keras 3 files: ``.keras`` archives and ``.weights.h5`` written by real Keras
3 (in a subprocess, on its JAX backend, since Keras fixes its engine at
import) load into polykeras on every engine: the config is translated (layer
names kept), the weights mapped, the optimizer state restored, and the
predictions match Keras' own. A layer with no polykeras twin and Keras
Lambda bytecode are refused with errors naming them."""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import Input, Model, Sequential, layers
from polykeras.layers.config import LAYER_CLASSES
from polykeras.saving import ArchiveError, WeightsError, load_model
from polykeras.saving.keras_config import KerasConfigError

pytestmark = pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras is not installed")


def _subclassed_net(base, layers):
    """A subclassed model, written once for both sides: the writer builds it over
    Keras (this function's source heads ``WRITER``), the tests over polykeras."""

    class Net(base):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = layers.Dense(4, activation="relu")
            self.blocks = [layers.Dense(3), layers.Dense(3)]
            self.out = layers.Dense(2)

        def call(self, x):
            h = self.hidden(x)
            for block in self.blocks:
                h = block(h)
            return self.out(h)

    return Net


#: Runs in a fresh interpreter with KERAS_BACKEND=jax; argv[1] is the output folder.
WRITER = inspect.getsource(_subclassed_net) + r'''
import sys, numpy as np, keras
from keras import layers
out = sys.argv[1]
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

img = keras.Input((6, 6, 2), name="image")
h = layers.Conv2D(3, 3, activation="relu", name="conv")(img)
h = layers.BatchNormalization(name="bn")(h)
h = layers.MaxPooling2D(name="pool")(h)
h = layers.Flatten(name="flat")(h)
h = layers.Dropout(0.25, name="drop")(h)
h = layers.Dense(4, activation="tanh", kernel_regularizer="l2", name="hidden")(h)
functional = keras.Model(img, layers.Dense(2, name="head")(h), name="functional_net")
functional.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
x_img = rng.normal(size=(8, 6, 6, 2)).astype("float32")
functional.fit(x_img, rng.normal(size=(8, 2)).astype("float32"), batch_size=4, epochs=2, verbose=0)

sequential = keras.Sequential([keras.Input((5,), dtype="int32"), layers.Embedding(10, 3, name="embed"),
                               layers.GlobalAveragePooling1D(name="gap"), layers.Dense(3),
                               layers.LayerNormalization(), layers.Dense(2)], name="sequential_net")
x_ids = rng.integers(0, 10, size=(4, 5)).astype("int32")

a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
shared = layers.Dense(3, name="shared")
inner = keras.Sequential([keras.Input((3,)), layers.Dense(3, name="inner_dense"),
                          layers.BatchNormalization(name="inner_bn")], name="inner")
merged = layers.Concatenate(name="cat")([inner(layers.Add(name="add")([shared(a), shared(b)])), shared(b)])
nested = keras.Model({"a": a, "b": b}, layers.Dense(1, name="out")(merged), name="nested_net")
x_a, x_b = rng.normal(size=(4, 4)).astype("float32"), rng.normal(size=(4, 4)).astype("float32")
for layer in inner.layers:
    if layer.name == "inner_bn":
        layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in layer.get_weights()])

for name, model, xs in [("functional", functional, [x_img]), ("sequential", sequential, [x_ids]),
                        ("nested", nested, [{"a": x_a, "b": x_b}])]:
    model.save(f"{out}/{name}.keras")
    model.save_weights(f"{out}/{name}.weights.h5")
    np.save(f"{out}/{name}_y.npy", np.asarray(model.predict(xs[0], verbose=0)))
np.save(f"{out}/x_img.npy", x_img); np.save(f"{out}/x_ids.npy", x_ids)
np.save(f"{out}/x_a.npy", x_a); np.save(f"{out}/x_b.npy", x_b)
np.save(f"{out}/adam_iterations.npy", np.asarray(functional.optimizer.iterations))

lstm = keras.Sequential([keras.Input((3, 2)), layers.LSTM(2, name="recurrent"), layers.Dense(1)])
lstm.save(f"{out}/lstm.keras")
x_seq = rng.normal(size=(2, 3, 2)).astype("float32")
np.save(f"{out}/x_seq.npy", x_seq); np.save(f"{out}/lstm_y.npy", np.asarray(lstm.predict(x_seq, verbose=0)))

net = _subclassed_net(keras.Model, layers)()
x_net = rng.normal(size=(3, 5)).astype("float32")
np.save(f"{out}/x_net.npy", x_net); np.save(f"{out}/net_y.npy", np.asarray(net.predict(x_net, verbose=0)))
net.save_weights(f"{out}/net.weights.h5")

for name, layer, shape in [("RandomFlip", layers.RandomFlip(), (4, 4, 1)),
                           ("RandomRotation", layers.RandomRotation(0.1), (4, 4, 1)),
                           ("Hashing", layers.Hashing(num_bins=4), (2,)), ("Rescaling", layers.Rescaling(0.5), (2,))]:
    keras.Sequential([keras.Input(shape), layer]).save(f"{out}/twinless_{name}.keras")
lam = keras.Sequential([keras.Input((2,)), layers.Lambda(lambda t: t * 2.0, name="doubler")])
lam.save(f"{out}/lambda.keras")
'''


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("keras_files")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", WRITER, str(folder)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


def _inputs(folder: Path, name: str):
    if name == "functional":
        return np.load(folder / "x_img.npy")
    if name == "sequential":
        return np.load(folder / "x_ids.npy")
    return {"a": np.load(folder / "x_a.npy"), "b": np.load(folder / "x_b.npy")}


@pytest.mark.parametrize("name", ["functional", "sequential", "nested"])
def test_keras_archives_load_and_predict_like_keras(engine, keras_files, name):
    model = load_model(keras_files / f"{name}.keras")
    expected = np.load(keras_files / f"{name}_y.npy")
    assert_close(model.predict(_inputs(keras_files, name), verbose=0), expected, "layer",
                 err_msg=f"Keras {name} model on {engine.name}")
    keras_config = json.loads(zipfile.ZipFile(keras_files / f"{name}.keras").read("config.json"))
    keras_names = [entry["config"]["name"] for entry in keras_config["config"]["layers"]]
    ours = [layer.name for layer in model.layers]
    assert [n for n in keras_names if n in ours] == [n for n in ours if n in keras_names]  # names kept
    assert set(ours) <= set(keras_names)


def test_keras_compile_config_and_optimizer_state_are_restored(diff_engine, keras_files):
    model = load_model(keras_files / "functional.keras")
    assert model.compiled and type(model.optimizer).__name__ == "Adam"
    assert_close(np.float32(model.optimizer.learning_rate), np.float32(0.01), "elementwise")
    assert int(model.optimizer.iterations.numpy()) == int(np.load(keras_files / "adam_iterations.npy")) == 4
    slots = model.optimizer.slots_for(model.get_layer("head").kernel)
    assert all(np.abs(v.numpy()).max() > 0 for v in slots.values())  # Keras' moments, not fresh zeros
    x = _inputs(keras_files, "functional")
    model.fit(x, np.zeros((8, 2), "float32"), batch_size=4, verbose=0)  # training continues
    assert int(model.optimizer.iterations.numpy()) == 6
    assert not load_model(keras_files / "functional.keras", compile=False).compiled


@pytest.mark.parametrize("name", ["functional", "sequential", "nested"])
def test_keras_weights_files_load_into_a_translated_model(engine, keras_files, name):
    model = load_model(keras_files / f"{name}.keras", compile=False)
    fresh = [np.zeros(w.shape, w.dtype) for w in model.get_weights()]
    model.set_weights(fresh)
    model.load_weights(keras_files / f"{name}.weights.h5")
    assert_close(model.predict(_inputs(keras_files, name), verbose=0), np.load(keras_files / f"{name}_y.npy"),
                 "layer")


def test_keras_weights_load_into_a_polykeras_model_built_by_hand(engine, keras_files):
    model = Sequential([Input((5,), dtype="int32"), layers.Embedding(10, 3), layers.GlobalAveragePooling1D(),
                        layers.Dense(3), layers.LayerNormalization(), layers.Dense(2)])
    model.load_weights(keras_files / "sequential.weights.h5")  # names differ: matched by Keras' keys
    assert_close(model.predict(_inputs(keras_files, "sequential"), verbose=0),
                 np.load(keras_files / "sequential_y.npy"), "layer")


def test_keras_weights_that_do_not_fit_are_refused_whole(engine, keras_files):
    model = Sequential([Input((5,), dtype="int32"), layers.Embedding(10, 3), layers.GlobalAveragePooling1D(),
                        layers.Dense(4), layers.LayerNormalization(), layers.Dense(2)])
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(WeightsError, match=r"layer 'dense(_\d+)?': weight 'kernel' \(Keras vars/0\) expected "
                                           r"shape \(3, 4\), received \(3, 3\)[\s\S]*nothing was loaded|"
                                           r"nothing was loaded[\s\S]*expected shape \(3, 4\), received \(3, 3\)"):
        model.load_weights(keras_files / "sequential.weights.h5")
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_keras_layer_without_twin_is_named(engine, keras_files):
    candidates = ("RandomFlip", "RandomRotation", "Hashing", "Rescaling")  # Keras layers, twinless at writing
    missing = [name for name in candidates if name not in LAYER_CLASSES]
    if not missing:
        pytest.skip("polykeras has twins for every candidate layer; nothing to refuse")
    with pytest.raises(KerasConfigError, match=rf"twinless_{missing[0]}\.keras: layer '\w+' \(Keras class "
                                               rf"{missing[0]}\) has no polykeras twin"):
        load_model(keras_files / f"twinless_{missing[0]}.keras")


def test_sub_layers_load_from_their_attribute_groups(engine, keras_files):
    if "LSTM" not in LAYER_CLASSES:
        pytest.skip("polykeras has no LSTM yet")
    model = load_model(keras_files / "lstm.keras")  # Keras keeps the cell's weights in lstm/cell/vars
    assert_close(model.predict(np.load(keras_files / "x_seq.npy"), verbose=0), np.load(keras_files / "lstm_y.npy"),
                 "layer")


def test_keras_subclassed_weights_load_by_attribute(engine, keras_files):
    model = _subclassed_net(Model, layers)()  # the writer's class, attribute for attribute
    model.build((None, 5))
    model.load_weights(keras_files / "net.weights.h5")
    assert_close(model.predict(np.load(keras_files / "x_net.npy"), verbose=0), np.load(keras_files / "net_y.npy"),
                 "layer")


@pytest.mark.parametrize("safe_mode", [True, False])
def test_keras_lambda_bytecode_is_never_loaded(engine, keras_files, safe_mode):
    with pytest.raises(KerasConfigError, match=r"lambda\.keras: .*'doubler'.*never loads code"):
        load_model(keras_files / "lambda.keras", safe_mode=safe_mode)


def test_keras_only_arguments_are_refused_unless_switched_off(engine, keras_files, tmp_path):
    with zipfile.ZipFile(keras_files / "sequential.keras") as source:
        members = {name: source.read(name) for name in source.namelist()}
    config = json.loads(members["config.json"])
    norm = next(e for e in config["config"]["layers"] if e["class_name"] == "LayerNormalization")
    norm["config"]["rms_scaling"] = True  # a Keras-only option, switched on
    members["config.json"] = json.dumps(config).encode()
    path = tmp_path / "tweaked.keras"
    with zipfile.ZipFile(path, "w") as target:
        for name, data in members.items():
            target.writestr(name, data)
    with pytest.raises(KerasConfigError, match=r"tweaked\.keras: layer 'layer_normalization(_\d+)?' \(Keras class "
                                               r"LayerNormalization\): argument rms_scaling=True has no polykeras"):
        load_model(path)


def test_keras_archive_with_an_extra_member_is_refused(engine, keras_files, tmp_path):
    path = tmp_path / "extra.keras"
    with zipfile.ZipFile(keras_files / "sequential.keras") as source, zipfile.ZipFile(path, "w") as target:
        for name in source.namelist():
            target.writestr(name, source.read(name))
        target.writestr("assets/payload.py", "import os")
    with pytest.raises(ArchiveError, match=r"extra\.keras: member 'assets/payload\.py' is refused"):
        load_model(path)
