"""model.quantize: errors as Keras 3's, predictions near the float model's,
saving and loading on any engine, and Keras 3 files of quantized models."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import polykeras
from polykeras import backends, layers, ops, quantizers
from polykeras.saving import load_model

#: Largest |quantized - float| prediction difference, as a share of the float output's largest magnitude.
TOLERANCE = {"int8": 0.03, "int4": 0.25, "float8": 0.15}


def _mlp(seed: int = 0) -> polykeras.Model:
    rng = np.random.default_rng(seed)
    inputs = polykeras.Input((6,), dtype="int32")
    x = layers.Embedding(20, 8, name="embed")(inputs)
    x = layers.EinsumDense("abc,cd->abd", output_shape=(6, 12), bias_axes="d", activation="relu",
                           name="proj")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(16, activation="relu", name="hidden")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(3, name="head")(x)
    model = polykeras.Model(inputs, outputs)
    model.set_weights([(rng.standard_normal(tuple(w.shape)) * 0.3).astype("float32") for w in model.weights])
    return model


def _ids(seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 20, (5, 6)).astype("int32")


@pytest.mark.parametrize("mode", ["int8", "int4", "float8"])
def test_model_quantize_predicts_near_float(engine, mode):
    model = _mlp()
    expected = model.predict(_ids(), verbose=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.quantize(mode)
    said = " ".join(str(w.message) for w in caught)
    assert "Layer Dropout does not have a `quantize` method implemented." in said
    modes = {layer.name: layer.quantization_mode for layer in model.layers if hasattr(layer, "quantization_mode")}
    assert modes["hidden"] == modes["head"] == mode
    assert modes["embed"] == (None if mode == "float8" else mode)
    assert modes["proj"] == mode
    got = model.predict(_ids(), verbose=0)
    assert np.abs(got - expected).max() <= TOLERANCE[mode] * np.abs(expected).max()


def test_model_quantize_filters(engine):
    model = _mlp()
    model.quantize("int8", filters=["hidden", "^head$"])
    assert [layer.name for layer in model.layers if getattr(layer, "quantization_mode", None)] == ["hidden", "head"]
    model = _mlp()
    model.quantize("int8", filters=lambda layer: layer.name == "embed")
    assert model.get_layer("embed").quantization_mode == "int8" and model.get_layer("head").quantization_mode is None
    with pytest.raises(ValueError, match="`filters` argument must be a regex string"):
        model.quantize("int8", filters=3)


def test_quantize_errors(engine):
    model = polykeras.Sequential([layers.Dense(3)])
    with pytest.raises(ValueError, match="isn't yet built.*'sequential.*'Sequential'"):
        model.quantize("int8")
    model = _mlp()
    with pytest.raises(ValueError, match=r"Invalid quantization mode. Expected one of \('int8', 'float8', 'int4', "
                                         r"'gptq', 'awq'\). Received: mode=int3"):
        model.quantize("int3")
    with pytest.raises(ValueError, match="either `mode` or `config`"):
        model.quantize()
    with pytest.raises(ValueError, match="Unrecognized keyword arguments.*'bits'"):
        model.quantize("int8", bits=8)
    head = model.get_layer("head")
    head.quantize("int8")
    with pytest.raises(ValueError, match="Layer 'head' is already quantized with dtype_policy='int8_from_float32'. "
                                         "Received: mode=int4"):
        head.quantize("int4")
    with pytest.raises(ValueError, match=r"isn't yet built. Layer 'fresh' \(of type 'Dense'\)"):
        layers.Dense(2, name="fresh").quantize("int8")
    norm = layers.BatchNormalization(name="norm")
    norm.build((None, 4))
    with pytest.raises(NotImplementedError, match="BatchNormalization does not have a `quantize` method.*'norm'.*"
                                                  "mode='int8'.*Dense, EinsumDense and Embedding"):
        norm.quantize("int8")
    embed = model.get_layer("embed")
    with pytest.raises(NotImplementedError, match=r"Expected one of \('int8', 'int4'\).*float8"):
        embed.quantize("float8")


def test_subclass_of_a_quantizable_layer_is_refused(engine):
    class MyDense(layers.Dense):
        pass

    layer = MyDense(2)
    layer.build((None, 3))
    with pytest.raises(NotImplementedError, match="Layer MyDense does not have a `quantize` method"):
        layer.quantize("int8")
    layer.quantize("int8", type_check=False)
    assert layer.kernel.dtype == "int8"


def test_gptq_and_awq_are_not_implemented(engine):
    model = _mlp()
    for config in (quantizers.GPTQConfig(dataset=None, tokenizer=None),
                   quantizers.AWQConfig(dataset=None, tokenizer=None)):
        with pytest.raises(NotImplementedError, match=f"{config.mode.upper()} calibration.*not implement"):
            model.quantize(config=config)
    with pytest.raises(NotImplementedError, match="gptq/4/128_from_float32.*GPTQ"):
        layers.Dense(2, dtype="gptq/4/128_from_float32").build((None, 3))


def test_float8_training_is_not_implemented(engine):
    layer = layers.Dense(2, name="f8")
    layer.build((None, 3))
    layer.quantize("float8")
    x = np.ones((1, 3), "float32")
    assert ops.shape(layer(x, training=False)) == (1, 2)
    with pytest.raises(NotImplementedError, match="Layer 'f8'.*training through float8"):
        layer(x, training=True)


def test_gradients_reach_layers_before_a_quantized_one(diff_engine):
    model = polykeras.Sequential([polykeras.Input((4,)), layers.Dense(5, name="a"), layers.Dense(2, name="b")])
    model.get_layer("b").quantize("int8")
    model.compile(optimizer="sgd", loss="mse")
    before = model.get_layer("a").get_weights()[0].copy()
    frozen = model.get_layer("b").get_weights()[1].copy()
    model.fit(np.ones((8, 4), "float32"), np.zeros((8, 2), "float32"), epochs=1, verbose=0)
    assert not np.allclose(model.get_layer("a").get_weights()[0], before)
    np.testing.assert_array_equal(model.get_layer("b").get_weights()[1], frozen)  # int8 kernel untouched


@pytest.mark.parametrize("mode", ["int8", "int4", "float8"])
@pytest.mark.parametrize("suffix", [".keras", ".weights.h5"])
def test_quantized_model_saves_and_loads_on_every_engine(engine, tmp_path, mode, suffix):
    model = _mlp()
    model.quantize(mode)
    expected = model.predict(_ids(), verbose=0)
    path = tmp_path / f"q{suffix}"
    if suffix == ".keras":
        model.save(path)
    else:
        model.save_weights(path)
    installed = list(backends.installed())
    other = installed[(installed.index(engine.name) + 1) % len(installed)]  # each engine saves, the next loads
    for name in dict.fromkeys([engine.name, other]):
        with backends.use(name):
            if suffix == ".keras":
                loaded = load_model(path)
            else:
                loaded = _mlp(seed=5)
                loaded.quantize(mode)
                loaded.load_weights(path)
            assert [v.path for v in loaded.weights] == [v.path for v in model.weights]
            np.testing.assert_allclose(loaded.predict(_ids(), verbose=0), expected, rtol=1e-5, atol=1e-5,
                                       err_msg=f"saved on {engine.name}, loaded on {name}")


KERAS_WRITER = r'''
import sys, numpy as np, keras
out = sys.argv[1]
rng = np.random.default_rng(0)
for mode in ("int8", "int4", "float8"):
    inputs = keras.Input((6,), dtype="int32")
    x = keras.layers.Embedding(20, 8, name="embed")(inputs)
    x = keras.layers.EinsumDense("abc,cd->abd", output_shape=(6, 12), bias_axes="d", activation="relu",
                                 name="proj")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(16, activation="relu", name="hidden")(x)
    outputs = keras.layers.Dense(3, name="head")(x)
    model = keras.Model(inputs, outputs)
    model.set_weights([(rng.standard_normal(tuple(w.shape)) * 0.3).astype("float32") for w in model.weights])
    model.quantize(mode)
    ids = rng.integers(0, 20, (5, 6)).astype("int32")
    np.save(f"{out}/{mode}_x.npy", ids)
    np.save(f"{out}/{mode}_y.npy", np.asarray(model.predict(ids, verbose=0)))
    model.save(f"{out}/{mode}.keras")
'''


@pytest.fixture(scope="module")
def keras_quantized(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("keras_quantized")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", KERAS_WRITER, str(folder)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


@pytest.mark.parametrize("mode", ["int8", "int4", "float8"])
def test_keras_quantized_files_load_and_predict_like_keras(engine, keras_quantized, mode):
    model = load_model(keras_quantized / f"{mode}.keras")
    assert model.get_layer("head").quantization_mode == mode
    got = model.predict(np.load(keras_quantized / f"{mode}_x.npy"), verbose=0)
    np.testing.assert_allclose(got, np.load(keras_quantized / f"{mode}_y.npy"), rtol=1e-4, atol=1e-4)
