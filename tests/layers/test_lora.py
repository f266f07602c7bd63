"""LoRA (``enable_lora``, ``lora_rank``) on Dense, EinsumDense, Embedding and
Conv1D/2D/3D, against Keras 3: weights (names, shapes, order, trainability),
outputs with the same weights, config, a few training steps on the same
engine, files written by either library read by the other, and the errors."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import Input, Model, layers, optimizers
from polykeras.saving import load_model

from .helpers import check_layer, layer_outputs, run_keras

needs_keras = pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras is not installed")

RNG = np.random.default_rng(7)

#: name -> (Keras/polykeras class, constructor kwargs, input)
CASES: dict[str, tuple[str, dict[str, Any], np.ndarray]] = {
    "dense": ("Dense", {"units": 3}, RNG.standard_normal((2, 5)).astype("float32")),
    "einsum": ("EinsumDense", {"equation": "abc,cde->abde", "output_shape": [None, 4, 6], "bias_axes": "de"},
               RNG.standard_normal((2, 3, 5)).astype("float32")),
    "embedding": ("Embedding", {"input_dim": 10, "output_dim": 4}, RNG.integers(0, 10, (2, 3)).astype("int32")),
    "conv1d": ("Conv1D", {"filters": 3, "kernel_size": 2}, RNG.standard_normal((2, 5, 2)).astype("float32")),
    "conv2d": ("Conv2D", {"filters": 4, "kernel_size": 3}, RNG.standard_normal((1, 6, 6, 2)).astype("float32")),
    "conv3d": ("Conv3D", {"filters": 2, "kernel_size": 2}, RNG.standard_normal((1, 3, 3, 3, 2)).astype("float32")),
}

#: Keras builds each case, enables LoRA (rank 2, alpha 3), gives every weight random values and reports.
_FORWARD = r'''
cases = json.loads(str(data["cases"]))
for key, (class_name, kwargs) in cases.items():
    x = data["x_" + key]
    layer = getattr(keras.layers, class_name)(**kwargs)
    layer(x)
    layer.enable_lora(2, lora_alpha=3)
    rng = np.random.default_rng(0)
    layer.set_weights([(rng.standard_normal(tuple(w.shape)) * 0.5).astype("float32") for w in layer.weights])
    out[key + ":y"] = np.asarray(layer(x))
    out[key + ":kernel"] = np.asarray(getattr(layer, "embeddings" if class_name == "Embedding" else "kernel"))
    for i, w in enumerate(layer.get_weights()):
        out[f"{key}:w{i}"] = w
    out[key + ":info"] = {
        "names": [w.name for w in layer.weights], "shapes": [list(w.shape) for w in layer.weights],
        "trainable": [w.name for w in layer.trainable_weights],
        "non_trainable": [w.name for w in layer.non_trainable_weights],
        "dtypes": [str(w.dtype) for w in layer.weights],
        "lora": [layer.lora_enabled, layer.lora_rank, layer.lora_alpha],
        "config": {k: v for k, v in layer.get_config().items() if k.startswith("lora")},
    }
    ctor = getattr(keras.layers, class_name)(lora_rank=4, lora_alpha=8, **kwargs)
    unbuilt = [ctor.lora_enabled, ctor.lora_rank, ctor.lora_alpha]
    ctor(x)
    out[key + ":ctor"] = {"unbuilt": unbuilt, "built": [ctor.lora_enabled, ctor.lora_rank, ctor.lora_alpha],
                          "config": {k: v for k, v in ctor.get_config().items() if k.startswith("lora")}}
    errors = {}
    for what, call in (("twice", lambda: layer.enable_lora(2)),
                       ("unbuilt", lambda: getattr(keras.layers, class_name)(**kwargs).enable_lora(2))):
        try:
            call()
            errors[what] = None
        except Exception as err:
            errors[what] = type(err).__name__
    out[key + ":errors"] = errors
'''

_FORWARD_CACHE: dict[str, Any] = {}


def keras_forward() -> dict[str, Any]:
    if not _FORWARD_CACHE:
        data = {"cases": np.asarray(json.dumps({k: [c, kw] for k, (c, kw, _) in CASES.items()}))}
        data.update({"x_" + k: x for k, (_, _, x) in CASES.items()})
        _FORWARD_CACHE.update(run_keras(_FORWARD, data, backend="numpy"))
    return _FORWARD_CACHE


def _make(key: str, **extra: Any) -> Any:
    class_name, kwargs, _ = CASES[key]
    kwargs = {**kwargs, **extra}
    if "output_shape" in kwargs:
        kwargs["output_shape"] = tuple(kwargs["output_shape"])
    return getattr(layers, class_name)(**kwargs)


def _base_name(key: str) -> str:
    return "embeddings" if key == "embedding" else "kernel"


# ------------------------------------------------------------------ forward
@needs_keras
@pytest.mark.parametrize("key", list(CASES))
def test_enable_lora_matches_keras(engine, key):
    ref = keras_forward()
    info = ref[key + ":info"]
    x = CASES[key][2]
    layer = _make(key)
    layer_outputs(layer, x)
    layer.enable_lora(2, lora_alpha=3)
    assert [w.name for w in layer.weights] == info["names"]
    assert [list(w.shape) for w in layer.weights] == info["shapes"]
    assert [str(w.dtype) for w in layer.weights] == info["dtypes"]
    assert [w.name for w in layer.trainable_weights] == info["trainable"]
    assert [w.name for w in layer.non_trainable_weights] == info["non_trainable"]
    assert [layer.lora_enabled, layer.lora_rank, layer.lora_alpha] == info["lora"]
    assert {k: v for k, v in layer.get_config().items() if k.startswith("lora")} == info["config"]
    layer.set_weights([ref[f"{key}:w{i}"] for i in range(len(info["names"]))])
    assert_close(layer_outputs(layer, x), ref[key + ":y"], "layer", err_msg=f"{key} with LoRA vs Keras 3")
    # the weight attribute reads as the merged weight (Keras's formula); the variable keeps the frozen one
    assert_close(_to_numpy(getattr(layer, _base_name(key))), ref[key + ":kernel"], "layer")
    np.testing.assert_array_equal(layer.weights[0].numpy(), ref[f"{key}:w0"])


def _to_numpy(x: Any) -> np.ndarray:
    from polykeras import ops

    return np.asarray(ops.convert_to_numpy(x))


@needs_keras
@pytest.mark.parametrize("key", list(CASES))
def test_constructor_lora_rank_matches_keras(engine, key):
    """``lora_rank`` enables LoRA when built; Keras 3's Dense and Embedding
    then take lora_alpha = lora_rank, EinsumDense and Conv keep it."""
    ref = keras_forward()[key + ":ctor"]
    layer = _make(key, lora_rank=4, lora_alpha=8)
    assert [layer.lora_enabled, layer.lora_rank, layer.lora_alpha] == ref["unbuilt"]
    layer_outputs(layer, CASES[key][2])
    assert [layer.lora_enabled, layer.lora_rank, layer.lora_alpha] == ref["built"]
    assert {k: v for k, v in layer.get_config().items() if k.startswith("lora")} == ref["config"]


@needs_keras
@pytest.mark.parametrize("key", list(CASES))
def test_errors_have_keras_types(engine, key):
    ref = keras_forward()[key + ":errors"]
    x = CASES[key][2]
    layer = _make(key)
    layer_outputs(layer, x)
    layer.enable_lora(2)
    with pytest.raises(ValueError) as twice:
        layer.enable_lora(2)
    assert type(twice.value).__name__ == ref["twice"]
    assert layer.name in str(twice.value) and "already enabled" in str(twice.value)
    fresh = _make(key)
    with pytest.raises(ValueError) as unbuilt:
        fresh.enable_lora(2)
    assert type(unbuilt.value).__name__ == ref["unbuilt"]
    assert fresh.name in str(unbuilt.value) and "built" in str(unbuilt.value)


@pytest.mark.parametrize("key", ["dense", "einsum", "embedding", "conv2d"])
def test_lora_layer_passes_the_layer_checks(engine, key):
    """Shapes, config round trip (LoRA on again), weights round trip,
    gradients (a's is zero while b is), the same numbers on every engine."""
    class_name, kwargs, x = CASES[key]
    a_name = f"lora_{_base_name(key)}_a"
    check_layer(lambda: _make(key, lora_rank=2), x.shape, input_dtype=str(x.dtype), zero_grad_ok=(a_name,))


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("rank", [0, -1, 1.5, True, "2"])
def test_enable_lora_refuses_a_bad_rank(engine, rank):
    layer = layers.Dense(3, name="bad_rank")
    layer.build((None, 4))
    with pytest.raises(ValueError, match=r"Dense 'bad_rank'.*positive int.*lora_rank="):
        layer.enable_lora(rank)
    assert not layer.lora_enabled and len(layer.weights) == 2


@pytest.mark.parametrize("rank", [-1, 2.0, "4"])
def test_constructor_refuses_a_bad_rank(engine, rank):
    with pytest.raises(ValueError, match=r"Dense 'bad_ctor'.*lora_rank="):
        layers.Dense(3, lora_rank=rank, name="bad_ctor")


def test_constraint_refuses_lora_as_keras(engine):
    for layer, arg in ((layers.Dense(3, kernel_constraint="non_neg", name="c"), "kernel_constraint"),
                       (layers.Embedding(5, 2, embeddings_constraint="non_neg", name="e"), "embeddings_constraint")):
        layer.build((None, 4))
        with pytest.raises(ValueError, match=f"'{layer.name}'.*{arg}"):
            layer.enable_lora(2)


def test_lora_with_quantization_is_refused(engine):
    quantized = layers.Dense(3, name="q")
    quantized.build((None, 4))
    quantized.quantize("int8")
    with pytest.raises(NotImplementedError, match=r"Dense 'q'.*LoRA together with quantization.*'int8'"):
        quantized.enable_lora(2)
    adapted = layers.Embedding(6, 4, name="adapted")
    adapted.build()
    adapted.enable_lora(2)
    with pytest.raises(NotImplementedError, match=r"'adapted'.*LoRA enabled.*mode='int4'"):
        adapted.quantize("int4")
    built_quantized = layers.Dense(3, lora_rank=2, dtype="int8_from_float32", name="policy")
    with pytest.raises(NotImplementedError, match=r"Dense 'policy'.*LoRA together with quantization"):
        built_quantized.build((None, 4))


# ------------------------------------------------------------------ training
def _lora_model(lora: bool = True) -> Any:
    ids = Input((6,), dtype="int32", name="ids")
    h = layers.Embedding(10, 3, name="embed")(ids)
    h = layers.Conv1D(4, 3, activation="relu", name="conv")(h)
    h = layers.GlobalAveragePooling1D(name="pool")(h)
    h = layers.Dense(4, activation="tanh", name="dense")(h)
    y = layers.EinsumDense("ab,bc->ac", output_shape=2, bias_axes="c", name="einsum")(h)
    model = Model(ids, y, name="lora_net")
    if lora:
        for layer in model.layers[1:]:
            if hasattr(layer, "enable_lora"):
                layer.enable_lora(2, lora_alpha=4)
    return model


_KERAS_MODEL = r'''
def lora_model(lora=True):
    ids = keras.Input((6,), dtype="int32", name="ids")
    h = keras.layers.Embedding(10, 3, name="embed")(ids)
    h = keras.layers.Conv1D(4, 3, activation="relu", name="conv")(h)
    h = keras.layers.GlobalAveragePooling1D(name="pool")(h)
    h = keras.layers.Dense(4, activation="tanh", name="dense")(h)
    y = keras.layers.EinsumDense("ab,bc->ac", output_shape=2, bias_axes="c", name="einsum")(h)
    model = keras.Model(ids, y, name="lora_net")
    if lora:
        for layer in model.layers[1:]:
            if hasattr(layer, "enable_lora"):
                layer.enable_lora(2, lora_alpha=4)
    return model
'''

_KERAS_FIT = _KERAS_MODEL + r'''
model = lora_model()
model.set_weights([data[f"w{i}"] for i in range(len(model.weights))])
model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
model.fit(data["x"], data["y"], batch_size=4, epochs=2, shuffle=False, verbose=0)
out["after"] = np.asarray(model.predict(data["x"], verbose=0))
for i, w in enumerate(model.get_weights()):
    out[f"w{i}"] = w
'''


def _data(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 10, (8, 6)).astype("int32"), rng.standard_normal((8, 2)).astype("float32")


def _random_weights(model: Any, seed: int = 5) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(tuple(w.shape)) * 0.3).astype("float32") for w in model.weights]


@needs_keras
def test_fit_trains_only_the_adapters_as_keras(diff_engine):
    x, y = _data()
    model = _lora_model()
    weights = _random_weights(model)
    model.set_weights(weights)
    before = np.asarray(model.predict(x, verbose=0))
    frozen = {w.path: w.numpy() for w in model.non_trainable_weights}
    assert sorted(p.rsplit("/", 1)[1] for p in frozen) == ["embeddings", "kernel", "kernel", "kernel"]
    model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    after = np.asarray(model.predict(x, verbose=0))
    assert not np.allclose(before, after), "training through LoRA did not move the outputs"
    for w in model.non_trainable_weights:
        np.testing.assert_array_equal(w.numpy(), frozen[w.path], err_msg=f"{w.path} changed in training")
    for w, start in zip(model.weights, weights):
        if w.trainable:
            assert not np.array_equal(w.numpy(), start), f"{w.path} did not train"
    theirs = run_keras(_KERAS_FIT, {"x": x, "y": y, **{f"w{i}": w for i, w in enumerate(weights)}},
                       backend=diff_engine.name)
    assert_close(after, theirs["after"], "layer", err_msg="outputs after fit vs Keras 3")
    for i, w in enumerate(model.weights):
        assert_close(w.numpy(), theirs[f"w{i}"], "layer", err_msg=f"{w.path} after fit vs Keras 3")


# ------------------------------------------------------------------ saving
_KERAS_FILES = _KERAS_MODEL + r'''
folder = str(data["folder"])
model = lora_model()
model.set_weights([data[f"w{i}"] for i in range(len(model.weights))])
out["keras_y"] = np.asarray(model.predict(data["x"], verbose=0))
model.save(folder + "/keras_made.keras")
model.save_weights(folder + "/keras_made.weights.h5")
for name in ("ours", "ours_plain"):
    loaded = keras.saving.load_model(folder + f"/{name}.keras")
    out[name + "_loaded"] = np.asarray(loaded.predict(data["x"], verbose=0))
    out[name + "_lora"] = [bool(getattr(l, "lora_enabled", False)) for l in loaded.layers]
    for target, tag in ((lora_model(), "lora"), (lora_model(lora=False), "plain")):
        target.load_weights(folder + f"/{name}.weights.h5")
        out[f"{name}_weights_{tag}"] = np.asarray(target.predict(data["x"], verbose=0))
'''


@needs_keras
def test_files_carry_lora_both_ways(engine, tmp_path):
    """Keras 3 writes the merged kernel and no adapters, and zeroes the
    adapters on load: the same outcome here, in Keras's files and ours."""
    x, _ = _data()
    model = _lora_model()
    weights = _random_weights(model)
    model.set_weights(weights)
    y = np.asarray(model.predict(x, verbose=0))
    model.save(tmp_path / "ours.keras")
    model.save_weights(tmp_path / "ours.weights.h5")
    plain = _lora_model(lora=False)
    plain.set_weights([w for w, v in zip(weights, model.weights) if not v.name.startswith("lora_")])
    plain.save(tmp_path / "ours_plain.keras")
    plain.save_weights(tmp_path / "ours_plain.weights.h5")
    y_plain = np.asarray(plain.predict(x, verbose=0))

    theirs = run_keras(_KERAS_FILES, {"folder": np.asarray(str(tmp_path)), "x": x,
                                      **{f"w{i}": w for i, w in enumerate(weights)}}, backend="numpy")
    assert_close(y, theirs["keras_y"], "layer", err_msg="the LoRA model vs Keras 3, same weights")
    # Keras 3 reads ours
    assert theirs["ours_lora"] == [False, True, True, False, True, True]
    assert_close(theirs["ours_loaded"], y, "layer", err_msg="our .keras loaded by Keras 3")
    assert_close(theirs["ours_weights_lora"], y, "layer", err_msg="our .weights.h5 into Keras's LoRA model")
    assert_close(theirs["ours_weights_plain"], y, "layer", err_msg="our .weights.h5 into Keras's plain model")
    assert_close(theirs["ours_plain_weights_lora"], y_plain, "layer", err_msg="a plain file into a LoRA model")

    # ours reads Keras 3's
    loaded = load_model(tmp_path / "keras_made.keras")
    assert [getattr(layer, "lora_enabled", False) for layer in loaded.layers] == [False, True, True, False, True, True]
    # built from the config, Embedding and Dense take lora_alpha = lora_rank, as in Keras 3 (adapters are zero)
    assert [(layer.lora_rank, layer.lora_alpha) for layer in loaded.layers if getattr(layer, "lora_enabled", 0)] \
        == [(2, 2), (2, 4), (2, 2), (2, 4)]
    assert_close(np.asarray(loaded.predict(x, verbose=0)), y, "layer", err_msg="Keras's .keras loaded here")
    for layer in loaded.layers:
        for adapter in [w for w in layer.weights if w.name.startswith("lora_")]:
            assert not adapter.numpy().any(), f"{adapter.path} is not zero after loading merged weights"
    for target in (_lora_model(), _lora_model(lora=False)):
        target.load_weights(tmp_path / "keras_made.weights.h5")
        assert_close(np.asarray(target.predict(x, verbose=0)), y, "layer", err_msg="Keras's .weights.h5 here")

    # ours reads ours: polykeras's own archive and weights file
    model.save(tmp_path / "own.pkeras")
    again = load_model(tmp_path / "own.pkeras")
    assert all(layer.lora_enabled for layer in again.layers if hasattr(layer, "lora_enabled"))
    assert_close(np.asarray(again.predict(x, verbose=0)), y, "layer", err_msg=".pkeras round trip")
    for target in (_lora_model(), _lora_model(lora=False)):
        target.load_weights(tmp_path / "ours.weights.h5")
        assert_close(np.asarray(target.predict(x, verbose=0)), y, "layer", err_msg=".weights.h5 round trip")
    # a LoRA model keeps its adapters' values in memory after saving
    np.testing.assert_array_equal(model.get_weights()[-1], weights[-1])


_REVERSIBLE = r'''
for tie in (True, False):
    layer = keras.layers.ReversibleEmbedding(10, 4, tie_weights=tie)
    layer(data["ids"])
    layer.enable_lora(2, lora_alpha=3)
    rng = np.random.default_rng(1)
    layer.set_weights([rng.standard_normal(tuple(w.shape)).astype("float32") for w in layer.weights])
    out[f"names_{tie}"] = [w.name for w in layer.weights]
    out[f"reverse_{tie}"] = np.asarray(layer(data["h"], reverse=True))
    for i, w in enumerate(layer.get_weights()):
        out[f"w{i}_{tie}"] = w
'''


@needs_keras
def test_reversible_embedding_lora_matches_keras(engine):
    """The reverse projection uses the merged matrix when tied, as Keras 3's."""
    ids = np.array([[1, 2, 3]], "int32")
    h = np.random.default_rng(2).standard_normal((1, 3, 4)).astype("float32")
    ref = run_keras(_REVERSIBLE, {"ids": ids, "h": h}, backend="numpy")
    for tie in (True, False):
        layer = layers.ReversibleEmbedding(10, 4, tie_weights=tie)
        layer_outputs(layer, ids)
        layer.enable_lora(2, lora_alpha=3)
        assert [w.name for w in layer.weights] == ref[f"names_{tie}"]
        layer.set_weights([ref[f"w{i}_{tie}"] for i in range(len(layer.weights))])
        assert_close(layer_outputs(layer, h, reverse=True), ref[f"reverse_{tie}"], "layer",
                     err_msg=f"ReversibleEmbedding(tie_weights={tie}) reverse with LoRA vs Keras 3")
