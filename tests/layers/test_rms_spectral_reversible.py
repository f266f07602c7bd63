"""RMSNormalization, SpectralNormalization, ReversibleEmbedding, Wrapper and
Pipeline on every engine: the standard checks, masks, and Keras 3's numbers
with Keras' weights."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from conformance.tolerances import assert_close, tolerance
from polykeras import layers, ops

from .helpers import check_layer, layer_outputs, run_keras
from .keras_reference import assert_matches_keras

LAYER_TOL = dict(zip(("rtol", "atol"), tolerance("layer")))


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _keras_exec(code: str, data: dict) -> dict:
    """Run ``code`` with Keras 3 on its NumPy backend (in-process where Keras
    runs on NumPy here, else in a subprocess); returns its ``out`` dict."""
    keras = sys.modules.get("keras")
    if keras is None or keras.backend.backend() == "numpy":
        keras = pytest.importorskip("keras")
        out: dict = {}
        exec(compile(code, "keras_code", "exec"), {"keras": keras, "np": np, "data": data, "out": out})
        return out
    return run_keras(code, data, backend="numpy")


# ------------------------------------------------------------ RMSNormalization
def test_rms_normalization_checks_and_keras(engine):
    layer = check_layer(lambda: layers.RMSNormalization(), (2, 4, 3), **LAYER_TOL)
    assert [w.name for w in layer.weights] == ["scale"]
    check_layer(lambda: layers.RMSNormalization(axis=[1, 2], epsilon=1e-3), (2, 4, 3), **LAYER_TOL)
    x = _x((2, 4, 6))
    assert_matches_keras(lambda: layers.RMSNormalization(), "RMSNormalization", {}, x)
    assert_matches_keras(lambda: layers.RMSNormalization(axis=[1, 2], epsilon=1e-2), "RMSNormalization",
                         {"axis": [1, 2], "epsilon": 1e-2}, x)


def test_rms_normalization_formula_mask_and_errors(engine):
    x = _x((3, 5))
    y = layer_outputs(layers.RMSNormalization(epsilon=0.0), x)
    expected = x / np.sqrt(np.mean(x.astype(np.float64) ** 2, axis=-1, keepdims=True))
    assert_close(y, expected, "layer")
    assert layers.RMSNormalization(axis=1).get_config()["axis"] == [1]
    seq = ops.convert_to_tensor(_x((2, 3, 4)))
    mask = ops.convert_to_tensor(np.array([[True, True, False], [True, False, False]]))
    out = layers.RMSNormalization()(seq, mask=mask)
    np.testing.assert_array_equal(ops.to_numpy(layers.get_mask(out)), ops.to_numpy(mask))
    with pytest.raises(ValueError, match="rms_normalization.*axis"):
        layers.RMSNormalization(axis=3)(ops.convert_to_tensor(x))


# ------------------------------------------------------- SpectralNormalization
_SPECTRAL_CODE = """
layer = keras.layers.SpectralNormalization(keras.layers.Dense(3), power_iterations=data["iters"].item())
layer(data["x"])
layer.set_weights([data["kernel"], data["u"], data["bias"]])
out["train"] = np.asarray(layer(data["x"], training=True))
out["kernel"], out["u"], out["bias"] = [np.asarray(w) for w in layer.get_weights()]
out["infer"] = np.asarray(layer(data["x"], training=False))
out["names"] = [w.name for w in layer.weights]
"""


@pytest.mark.parametrize("iters", [1, 3])
def test_spectral_normalization_matches_keras(engine, iters):
    rng = np.random.default_rng(iters)
    data = {"x": _x((4, 5)), "kernel": rng.standard_normal((5, 3)).astype("float32"),
            "u": rng.standard_normal((1, 3)).astype("float32"), "bias": rng.standard_normal(3).astype("float32"),
            "iters": np.array(iters)}
    ref = _keras_exec(_SPECTRAL_CODE, data)
    layer = layers.SpectralNormalization(layers.Dense(3), power_iterations=iters)
    layer_outputs(layer, data["x"])
    assert [w.name for w in layer.weights] == ref["names"]  # kernel, vector_u, bias: Keras 3's order
    assert [w.path.split("/", 1)[1].split("/")[0] for w in layer.weights] == [layer.layer.name, "vector_u",
                                                                               layer.layer.name]
    layer.set_weights([data["kernel"], data["u"], data["bias"]])
    assert_close(layer_outputs(layer, data["x"], training=True), ref["train"], "layer")
    for ours, theirs in zip(layer.get_weights(), (ref["kernel"], ref["u"], ref["bias"])):
        assert_close(ours, theirs, "layer")
    assert_close(layer_outputs(layer, data["x"], training=False), ref["infer"], "layer")
    # the normalised kernel's largest singular value is close to 1 after a few steps
    if iters == 3:
        for _ in range(20):
            layer(ops.convert_to_tensor(data["x"]), training=True)
        assert abs(np.linalg.svd(layer.get_weights()[0], compute_uv=False)[0] - 1.0) < 1e-3


def test_spectral_normalization_checks_and_errors(engine):
    layer = check_layer(lambda: layers.SpectralNormalization(layers.Dense(3)), (2, 4), **LAYER_TOL)
    assert [w.name for w in layer.weights] == ["kernel", "vector_u", "bias"]
    assert [w.name for w in layer.non_trainable_weights] == ["vector_u"]
    check_layer(lambda: layers.SpectralNormalization(layers.Conv2D(2, 2), power_iterations=2), (1, 4, 4, 3),
                **LAYER_TOL)
    emb = layers.SpectralNormalization(layers.Embedding(5, 3))
    layer_outputs(emb, np.array([[1, 2]]), training=True)
    assert [w.name for w in emb.weights] == ["embeddings", "vector_u"]
    with pytest.raises(ValueError, match="power_iterations"):
        layers.SpectralNormalization(layers.Dense(3), power_iterations=0)
    with pytest.raises(ValueError, match="'kernel' or 'embeddings'"):
        layers.SpectralNormalization(layers.Dropout(0.5))(ops.convert_to_tensor(_x((2, 3))))
    with pytest.raises(ValueError, match="Layer instance"):
        layers.SpectralNormalization("dense")


# --------------------------------------------------------- ReversibleEmbedding
_REVERSIBLE_CODE = """
kwargs = json.loads(str(data["kwargs"]))
layer = keras.layers.ReversibleEmbedding(6, 4, **kwargs)
layer(data["ids"])
layer.set_weights([data[f"w{i}"] for i in range(len(layer.weights))])
out["forward"] = np.asarray(layer(data["ids"]))
out["reverse"] = np.asarray(layer(data["h"], reverse=True))
out["names"] = [w.name for w in layer.weights]
"""


@pytest.mark.parametrize("kwargs", [{}, {"tie_weights": False, "logit_soft_cap": 1.5}])
def test_reversible_embedding_matches_keras(engine, kwargs):
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((6, 4)).astype("float32"), rng.standard_normal((4, 6)).astype("float32")]
    weights = weights[:1] if kwargs.get("tie_weights", True) else weights
    data = {"ids": np.array([[1, 0, 5], [2, 3, 4]]), "h": _x((2, 3, 4)), "kwargs": np.array(json.dumps(kwargs)),
            **{f"w{i}": w for i, w in enumerate(weights)}}
    ref = _keras_exec("import json\n" + _REVERSIBLE_CODE, data)
    layer = layers.ReversibleEmbedding(6, 4, **kwargs)
    layer_outputs(layer, data["ids"])
    assert [w.name for w in layer.weights] == ref["names"]
    layer.set_weights(weights)
    assert_close(layer_outputs(layer, data["ids"]), ref["forward"], "layer")
    assert_close(layer_outputs(layer, data["h"], reverse=True), ref["reverse"], "layer")


def test_reversible_embedding_checks_mask_and_shapes(engine):
    check_layer(lambda: layers.ReversibleEmbedding(6, 3), (2, 4), input_dtype="int32", check_gradients=False)
    untied = layers.ReversibleEmbedding(6, 3, tie_weights=False)
    logits = layer_outputs(untied, _x((2, 3)), reverse=True)
    w = untied.get_weights()[1]
    assert_close(logits, _x((2, 3)) @ w, "layer")
    layer = layers.ReversibleEmbedding(6, 3, mask_zero=True)
    h = layer(ops.convert_to_tensor(np.array([[1, 0, 2]])))
    np.testing.assert_array_equal(ops.to_numpy(layers.get_mask(h)), [[True, False, True]])
    logits = layer(h, reverse=True)
    assert tuple(ops.shape(logits)) == (1, 3, 6)
    assert layer.compute_output_shape((1, 3, 3), reverse=True) == (1, 3, 6)
    assert layer.get_config()["tie_weights"] is True


# ------------------------------------------------------------ Wrapper, Pipeline
def test_wrapper_base(engine):
    layer = check_layer(lambda: layers.Wrapper(layers.Dense(3)), (2, 4), **LAYER_TOL)
    assert [w.name for w in layer.weights] == ["kernel", "bias"]

    class Twice(layers.Wrapper):
        def call(self, x):
            return self.layer(self.layer(x))

    y = layer_outputs(Twice(layers.Rescaling(3.0)), np.ones((1, 2), "float32"))
    np.testing.assert_allclose(y, 9.0)
    with pytest.raises(ValueError, match="wrapper.*Layer instance.*str"):
        layers.Wrapper("dense")


def test_pipeline(engine):
    def make():
        return layers.Pipeline([layers.Rescaling(2.0, offset=-1.0), layers.Dropout(0.5, seed=1),
                                layers.Rescaling(0.5)])

    layer = check_layer(make, (2, 3), call_kwargs={"training": False}, **LAYER_TOL)
    x = _x((2, 3))
    np.testing.assert_allclose(layer_outputs(layer, x, training=False), (x * 2 - 1) * 0.5, rtol=1e-6)
    trained = layer_outputs(layer, np.ones((50, 40), "float32"))  # training defaults to True: dropout runs
    assert np.any(trained == 0.0)
    config = layer.get_config()
    assert {"layers", "name"} <= set(config) and len(config["layers"]) == 3
    assert [type(sub).__name__ for sub in layers.Pipeline.from_config(config).layers] == \
        ["Rescaling", "Dropout", "Rescaling"]
    assert layer.compute_output_shape((2, 3)) == (2, 3)
    with pytest.raises(ValueError, match="pipeline.*list of Layer instances.*position 1"):
        layers.Pipeline([layers.Rescaling(1.0), "dropout"])
