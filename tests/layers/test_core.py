"""Core layers on every engine: Dense and Embedding against Keras 3 with
Keras' weights, Activation, Identity, Masking, masks flowing into the next
layer, configs and bad inputs."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import polykeras
from conformance.tolerances import assert_close, tolerance
from polykeras import activations, layers, ops
from polykeras.saving.registry import SerializationError, register_serializable
from polykeras.saving.safe_mode import in_safe_mode, safe_mode

from .helpers import check_layer, layer_outputs
from .keras_reference import assert_matches_keras, import_keras

LAYER_TOL = dict(zip(("rtol", "atol"), tolerance("layer")))


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


class MaskProbe(layers.Layer):
    """Records the mask it receives."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.received = None

    def call(self, x, mask=None):
        self.received = mask
        return x


# ------------------------------------------------------------------ Dense
@pytest.mark.parametrize("kwargs, shape", [
    (dict(units=3), (2, 4)),
    (dict(units=2, activation="sigmoid", use_bias=False), (2, 3, 5)),
], ids=str)
def test_dense_matches_keras(engine, kwargs, shape):
    assert_matches_keras(lambda: layers.Dense(**kwargs), "Dense", kwargs, _x(shape))


# -------------------------------------------------------------- Activation
def test_activation(engine):
    x = _x((2, 5))
    layer = check_layer(lambda: layers.Activation("tanh"), x.shape, **LAYER_TOL)
    assert_close(layer_outputs(layer, x), np.tanh(x.astype(np.float64)), "transcendental")
    assert layer.get_config()["activation"] == "tanh"
    assert layers.Activation(activations.relu).get_config()["activation"] == "relu"
    assert layers.Activation(None).get_config()["activation"] == "linear"
    softmax = layer_outputs(layers.Activation("softmax"), x)
    e = np.exp(x - x.max(-1, keepdims=True))
    assert_close(softmax, e / e.sum(-1, keepdims=True), "nn")
    with pytest.raises(Exception, match="nope"):
        layers.Activation("nope")


# --------------------------------------------------------------- Identity
def test_identity_passes_values_and_masks(engine):
    x = _x((2, 3))
    layer = check_layer(lambda: layers.Identity(), x.shape)
    np.testing.assert_array_equal(layer_outputs(layer, x), x)
    y = layers.Masking()(np.array([[[1.0], [0.0]]], "float32"))
    np.testing.assert_array_equal(ops.to_numpy(layers.get_mask(layers.Identity()(y))), [[True, False]])


# ---------------------------------------------------------------- Masking
def test_masking_zeroes_masked_steps_and_masks_the_next_layer(engine):
    x = _x((2, 4, 3))
    x[0, 1] = 0.0
    x[1, 3] = 0.0
    check_layer(lambda: layers.Masking(), x.shape)
    masking = layers.Masking(mask_value=0.0)
    y = masking(ops.convert_to_tensor(x))
    expected_mask = np.array([[True, False, True, True], [True, True, True, False]])
    np.testing.assert_array_equal(ops.to_numpy(layers.get_mask(y)), expected_mask)
    np.testing.assert_array_equal(ops.to_numpy(y), x * expected_mask[..., None])
    probe = MaskProbe()
    probe(y)
    np.testing.assert_array_equal(ops.to_numpy(probe.received), expected_mask)
    x2 = np.full((1, 3, 2), 5.0, "float32")
    x2[0, 0, 0] = 1.0
    masked = layers.Masking(mask_value=5.0)(x2)
    np.testing.assert_array_equal(ops.to_numpy(layers.get_mask(masked)), [[True, False, False]])
    np.testing.assert_array_equal(ops.to_numpy(masked), [[[1.0, 5.0], [0.0, 0.0], [0.0, 0.0]]])
    assert layers.Masking(mask_value=-1.0).get_config()["mask_value"] == -1.0


# -------------------------------------------------------------- Embedding
def test_embedding_checks_and_lookup(engine):
    layer = check_layer(lambda: layers.Embedding(5, 3), (2, 4), input_dtype="int32", check_gradients=False)
    ids = np.array([[0, 4, 2], [1, 1, 3]])
    table = layer.get_weights()[0]
    np.testing.assert_array_equal(layer_outputs(layer, ids), table[ids])
    assert table.shape == (5, 3) and np.all(np.abs(table) <= 0.05)  # "uniform": +-0.05
    assert layer.compute_output_shape((None, 7)) == (None, 7, 3)
    config = layer.get_config()
    assert config["input_dim"] == 5 and config["output_dim"] == 3 and config["mask_zero"] is False
    assert config["embeddings_initializer"]["class_name"] == "RandomUniform"


def test_embedding_gradient_reaches_the_looked_up_rows(diff_engine):
    layer = layers.Embedding(4, 2)
    ids = ops.convert_to_tensor(np.array([[1, 1, 3]]))
    layer_outputs(layer, ids)
    from polykeras.variables import StatelessScope

    def loss(params):
        with StatelessScope([(layer.embeddings, params[0])]):
            return ops.sum(layer(ids))

    _, grads = ops.value_and_grad(loss)([layer.embeddings.value])
    np.testing.assert_allclose(ops.to_numpy(grads[0]), [[0, 0], [2, 2], [0, 0], [1, 1]])


@pytest.mark.parametrize("kwargs", [dict(input_dim=6, output_dim=3), dict(input_dim=6, output_dim=2, mask_zero=True)],
                         ids=str)
def test_embedding_matches_keras(engine, kwargs):
    ids = np.array([[0, 5, 2, 2], [1, 3, 0, 4]], "int32")
    assert_matches_keras(lambda: layers.Embedding(**kwargs), "Embedding", kwargs, ids)


def test_embedding_mask_zero_reaches_the_next_layers(engine):
    ids = np.array([[3, 1, 0], [2, 0, 0]])
    emb = layers.Embedding(4, 2, mask_zero=True)
    y = emb(ids)
    expected = ids != 0
    np.testing.assert_array_equal(ops.to_numpy(layers.get_mask(y)), expected)
    probe = MaskProbe()
    z = probe(layers.Activation("relu")(y))
    np.testing.assert_array_equal(ops.to_numpy(probe.received), expected)
    np.testing.assert_array_equal(ops.to_numpy(layers.get_mask(z)), expected)
    assert layers.get_mask(layers.Embedding(4, 2)(ids)) is None


def test_embedding_initial_weights_and_float_ids(engine):
    table = np.arange(6, dtype="float32").reshape(3, 2)
    emb = layers.Embedding(3, 2, weights=[table])
    assert emb.built
    np.testing.assert_array_equal(layer_outputs(emb, np.array([[2.0, 0.0]], "float32")), table[[[2, 0]]])


def test_core_bad_arguments_name_the_layer(engine):
    with pytest.raises(ValueError, match=r"Embedding 'e'.*input_dim.*0"):
        layers.Embedding(0, 3, name="e")
    with pytest.raises(ValueError, match=r"Embedding.*output_dim.*2.5"):
        layers.Embedding(3, 2.5)
    with pytest.raises(ValueError, match=r"'emb_w'.*shape \(3, 2\).*\(2, 2\)"):
        layers.Embedding(3, 2, weights=[np.zeros((2, 2), "float32")], name="emb_w")


# ------------------------------------------------------------- EinsumDense
EINSUM_CASES = [
    dict(equation="ab,bc->ac", output_shape=4, bias_axes="c"),
    dict(equation="abc,cde->abde", output_shape=(None, 2, 3), bias_axes="de", activation="relu"),
    dict(equation="...b,bc->...c", output_shape=4, bias_axes="c"),
    dict(equation="abc,cd->adb", output_shape=(2, 3), bias_axes="d"),
]


@pytest.mark.parametrize("kwargs", EINSUM_CASES, ids=lambda k: k["equation"])
def test_einsum_dense_checks_numpy_and_keras(engine, kwargs):
    shape = (2, 4) if kwargs["equation"] == "ab,bc->ac" else (2, 3, 4)
    layer = check_layer(lambda: layers.EinsumDense(**kwargs), shape, **LAYER_TOL)
    x = _x(shape, seed=1)
    kernel, *bias = layer.get_weights()
    expected = np.einsum(kwargs["equation"], x.astype(np.float64), kernel)
    if bias:
        expected = expected + bias[0]
    if kwargs.get("activation") == "relu":
        expected = np.maximum(expected, 0)
    assert_close(layer_outputs(layer, x), expected, "matmul")
    assert_matches_keras(lambda: layers.EinsumDense(**kwargs), "EinsumDense", kwargs, x)


def test_einsum_dense_shapes_and_errors(engine):
    layer = layers.EinsumDense("abc,cde->abde", output_shape=(None, 2, 3), bias_axes="e")
    layer_outputs(layer, _x((2, 5, 4)))
    assert [(w.name, w.shape) for w in layer.weights] == [("kernel", (4, 2, 3)), ("bias", (3,))]
    assert layer.compute_output_shape((None, 7, 4)) == (None, 7, 2, 3)
    assert layer.get_config()["output_shape"] == (None, 2, 3) and layer.get_config()["bias_axes"] == "e"
    with pytest.raises(ValueError, match=r"EinsumDense 'ed'.*equation.*'ab->b'"):
        layers.EinsumDense("ab->b", 3, name="ed")(_x((2, 3)))
    with pytest.raises(ValueError, match=r"EinsumDense 'ed2'.*bias_axes 'z'"):
        layers.EinsumDense("ab,bc->ac", 3, bias_axes="z", name="ed2")(_x((2, 3)))
    with pytest.raises(ValueError, match=r"EinsumDense 'ed3'.*rank 2.*\(2, 3, 4\)"):
        layers.EinsumDense("ab,bc->ac", 3, name="ed3")(_x((2, 3, 4)))


# ------------------------------------------------------------------ Lambda
@register_serializable("polykeras_tests")
def scale_by(x, factor=2.0):
    return ops.multiply(x, factor)


@register_serializable("polykeras_tests")
def keep_positive_steps(inputs, previous_mask):
    return ops.greater(ops.sum(inputs, axis=-1), 0.0)


def test_lambda_calls_and_round_trips_outside_safe_mode(engine):
    x = _x((2, 3))
    with safe_mode(False):
        layer = check_layer(lambda: layers.Lambda(scale_by, arguments={"factor": 3.0}), x.shape)
    assert_close(layer_outputs(layer, x), 3.0 * x.astype(np.float64), "elementwise")
    config = layer.get_config()
    assert config["function"] == "polykeras_tests>scale_by" and config["arguments"] == {"factor": 3.0}
    assert layers.Lambda(scale_by, output_shape=(3,)).compute_output_shape((None, 3)) == (None, 3)
    assert layers.Lambda(ops.relu).compute_output_shape((4, 3)) == (4, 3)  # traced
    builtin = layers.Lambda(activations.relu).get_config()
    with safe_mode(False):
        np.testing.assert_array_equal(layer_outputs(layers.Lambda.from_config(builtin), x), np.maximum(x, 0))


def test_lambda_from_config_refused_in_safe_mode(engine):
    config = layers.Lambda(scale_by, name="scaler").get_config()
    with pytest.raises(ValueError, match=r"Lambda 'scaler'.*safe mode.*safe_mode\(False\)"):
        layers.Lambda.from_config(config)
    with pytest.raises(ValueError, match=r"safe mode"):
        layers.deserialize(layers.serialize(layers.Lambda(scale_by)))
    with safe_mode(False):
        assert in_safe_mode() is False
        with pytest.raises(SerializationError, match=r"Lambda 'l'.*unknown function 'nowhere>fn'"):
            layers.Lambda.from_config({**config, "name": "l", "function": "nowhere>fn"})
        with pytest.raises(SerializationError, match=r"never loaded"):
            layers.Lambda.from_config({**config, "function": {"class_name": "__lambda__", "config": {"code": "x"}}})
    assert in_safe_mode() is True


def test_lambda_with_python_lambda_cannot_be_saved(engine):
    layer = layers.Lambda(lambda x: x + 1.0, name="adder")
    np.testing.assert_array_equal(layer_outputs(layer, np.zeros((1, 2), "float32")), np.ones((1, 2)))
    with pytest.raises(SerializationError, match=r"Lambda 'adder' cannot be saved.*<lambda>.*register_serializable"):
        layer.get_config()


def test_lambda_masks(engine):
    x = np.array([[[1.0], [-1.0], [2.0]]], "float32")
    y = layers.Lambda(scale_by, mask=keep_positive_steps)(x)
    np.testing.assert_array_equal(ops.to_numpy(layers.get_mask(y)), [[True, False, True]])
    masked = layers.Masking()(np.array([[[1.0], [0.0]]], "float32"))
    assert layers.get_mask(layers.Lambda(scale_by)(masked)) is None  # like Keras: no mask argument, no mask
    config = layers.Lambda(scale_by, mask=keep_positive_steps).get_config()
    assert config["mask"] == "polykeras_tests>keep_positive_steps"


# --------------------------------------------- Keras 3 configs and models
KERAS_CONFIG_LAYERS = {
    "Conv1D": dict(filters=2, kernel_size=3, padding="causal"), "Conv2D": dict(filters=2, kernel_size=3, strides=2),
    "MaxPooling2D": {}, "AveragePooling1D": dict(pool_size=2), "GlobalAveragePooling2D": dict(keepdims=True),
    "Flatten": {}, "Dropout": dict(rate=0.2, seed=3), "BatchNormalization": dict(momentum=0.9),
    "Activation": dict(activation="relu"), "Embedding": dict(input_dim=3, output_dim=2, mask_zero=True),
    "EinsumDense": dict(equation="ab,bc->ac", output_shape=3, bias_axes="c"), "Reshape": dict(target_shape=(2, -1)),
    "Permute": dict(dims=(2, 1)), "RepeatVector": dict(n=2), "Masking": dict(mask_value=1.0), "Identity": {},
    "LayerNormalization": dict(axis=[1, 2]), "GroupNormalization": dict(groups=2), "UnitNormalization": {},
    "ZeroPadding1D": dict(padding=(1, 2)), "ZeroPadding2D": dict(padding=((1, 0), (2, 3))), "UpSampling1D": {},
    "UpSampling2D": dict(interpolation="bilinear"), "Add": {}, "Subtract": {}, "Concatenate": dict(axis=1),
    "Dot": dict(axes=(1, 2), normalize=True), "Dense": dict(units=2),
}


def test_keras_configs_and_names_load_and_round_trip(engine):
    keras = import_keras()
    for name, kwargs in KERAS_CONFIG_LAYERS.items():
        keras_layer = getattr(keras.layers, name)(**kwargs)
        auto_name = getattr(layers, name)(**kwargs).name
        assert re.sub(r"_\d+$", "", auto_name) == re.sub(r"_\d+$", "", keras_layer.name), (auto_name, keras_layer.name)
        config = json.loads(json.dumps(keras_layer.get_config()))
        config["dtype"] = "float32"  # Keras writes a DTypePolicy object here
        ours = json.loads(json.dumps(getattr(layers, name).from_config(config).get_config()))
        assert set(ours) <= set(config), f"{name}: keys Keras 3 does not write: {set(ours) - set(config)}"
        for key, value in ours.items():
            if key in ("name", "dtype"):
                continue
            if isinstance(value, dict) and "class_name" in value:  # initializers: same class and config
                assert (value["class_name"], value["config"]) == (config[key]["class_name"], config[key]["config"])
            else:
                assert value == config[key], f"{name}.{key}: ours {value!r}, Keras 3 {config[key]!r}"


def test_masks_flow_through_a_functional_model(engine):
    polykeras.random.set_seed(0)
    ids = layers.Input((5,), dtype="int32")
    hidden = layers.Embedding(10, 4, mask_zero=True)(ids)
    hidden = layers.Dropout(0.2)(hidden)
    outputs = layers.Dense(1)(layers.GlobalAveragePooling1D()(hidden))
    model = polykeras.Model(ids, outputs)
    x = np.array([[1, 2, 0, 0, 0], [3, 0, 0, 0, 0]])
    before = model.predict(x, verbose=0)
    embedding = model.layers[1]
    table = embedding.get_weights()[0]
    table[0] += 10.0  # the padding row is masked out: changing it changes nothing
    embedding.set_weights([table])
    assert_close(model.predict(x, verbose=0), before, "layer")
    table[3] += 1.0
    embedding.set_weights([table])
    assert not np.allclose(model.predict(x, verbose=0)[1], before[1])
