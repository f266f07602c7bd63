"""Transposed, depthwise and separable convolutions, cropping, UpSampling3D
and the 3-D global pooling layers on every engine: the standard layer checks,
the NumPy reference (``conformance.reference``) in both data formats, Keras 3's
numbers with Keras' weights, weight names/shapes/order, bad arguments. Also:
Keras 3 configs of every layer of this group (attention, noise, wrappers,
preprocessing too) load and keep Keras' values and auto names."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from conformance import reference as ref
from conformance.tolerances import assert_close, tolerance
from polykeras import layers

from .helpers import check_layer, layer_outputs
from .keras_reference import assert_matches_keras, import_keras

LAYER_TOL = dict(zip(("rtol", "atol"), tolerance("layer")))


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _bias(bias, rank, data_format):
    return bias if data_format == "channels_last" else bias.reshape((-1,) + (1,) * rank)


def _case_id(value):
    """Test ids: classes and functions by name, other values as written."""
    return getattr(value, "__name__", str(value)).lstrip("_")


# ------------------------------------------------- transposed, depthwise, separable
# Each NumPy reference takes the layer, the input and the layer's kernels (its
# weights less the bias) and returns the output before bias and activation.
def _transpose_reference(layer, x, kernel):
    return ref.conv_transpose(x, kernel, layer.strides, layer.padding, layer.output_padding, layer.data_format,
                              layer.dilation_rate)


def _depthwise_reference(layer, x, kernel):
    return ref.depthwise_conv(x, kernel, layer.strides, layer.padding, layer.data_format, layer.dilation_rate)


def _separable_reference(layer, x, depthwise, pointwise):
    return ref.conv(_depthwise_reference(layer, x, depthwise), pointwise, 1, "valid", layer.data_format)


TRANSPOSE_CASES = [
    (layers.Conv1DTranspose, dict(filters=3, kernel_size=3, strides=2), (2, 5, 2)),
    (layers.Conv1DTranspose, dict(filters=2, kernel_size=4, strides=2, padding="same", data_format="channels_first"),
     (2, 3, 5)),
    (layers.Conv2DTranspose, dict(filters=3, kernel_size=(3, 2), strides=(2, 1), padding="same", output_padding=(1, 0)),
     (2, 4, 3, 2)),
    (layers.Conv2DTranspose, dict(filters=2, kernel_size=2, dilation_rate=2, use_bias=False,
                                  data_format="channels_first"), (1, 3, 4, 4)),
    (layers.Conv3DTranspose, dict(filters=2, kernel_size=2, strides=2, activation="relu"), (1, 2, 3, 2, 2)),
]
DEPTHWISE_CASES = [
    (layers.DepthwiseConv1D, dict(kernel_size=3, depth_multiplier=2, padding="same"), (2, 6, 3)),
    (layers.DepthwiseConv1D, dict(kernel_size=2, strides=2, data_format="channels_first"), (2, 3, 7)),
    (layers.DepthwiseConv2D, dict(kernel_size=(3, 2), strides=(2, 1), padding="same", activation="relu"), (2, 5, 4, 2)),
    (layers.DepthwiseConv2D, dict(kernel_size=2, depth_multiplier=3, dilation_rate=2, use_bias=False,
                                  data_format="channels_first"), (1, 2, 5, 5)),
]
SEPARABLE_CASES = [
    (layers.SeparableConv1D, dict(filters=4, kernel_size=3, depth_multiplier=2, padding="same"), (2, 6, 3)),
    (layers.SeparableConv2D, dict(filters=3, kernel_size=(2, 3), strides=2, activation="relu"), (2, 5, 6, 2)),
    (layers.SeparableConv2D, dict(filters=2, kernel_size=2, dilation_rate=2, use_bias=False,
                                  data_format="channels_first"), (1, 3, 5, 5)),
]
#: (class, arguments, input shape, NumPy reference)
REFERENCE_CASES = ([(*case, _transpose_reference) for case in TRANSPOSE_CASES]
                   + [(*case, _depthwise_reference) for case in DEPTHWISE_CASES]
                   + [(*case, _separable_reference) for case in SEPARABLE_CASES])


@pytest.mark.parametrize("cls, kwargs, shape, reference", REFERENCE_CASES, ids=_case_id)
def test_conv_variants_checks_and_numpy_reference(engine, cls, kwargs, shape, reference):
    x = _x(shape)
    layer = check_layer(lambda: cls(**kwargs), shape, **LAYER_TOL)
    kernels = layer.get_weights()
    bias = kernels.pop() if layer.use_bias else None
    expected = reference(layer, x, *kernels)
    if bias is not None:
        expected = expected + _bias(bias, layer.rank, layer.data_format)
    if kwargs.get("activation") == "relu":
        expected = np.maximum(expected, 0)
    assert_close(layer_outputs(layer, x), expected, "conv")


@pytest.mark.parametrize("name, kwargs, shape", [
    ("Conv1DTranspose", dict(filters=3, kernel_size=3, strides=2, padding="same"), (2, 5, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2, padding="same", output_padding=1), (1, 4, 3, 3)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=(2, 3), dilation_rate=(2, 1), data_format="channels_first"),
     (1, 3, 4, 4)),
    ("Conv3DTranspose", dict(filters=2, kernel_size=2, strides=(1, 2, 1), padding="valid"), (1, 2, 2, 3, 2)),
    ("DepthwiseConv1D", dict(kernel_size=3, depth_multiplier=2, strides=2, padding="same"), (2, 7, 3)),
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=2), (1, 5, 5, 2)),
    ("DepthwiseConv2D", dict(kernel_size=2, padding="same", data_format="channels_first"), (1, 3, 4, 5)),
    ("SeparableConv1D", dict(filters=4, kernel_size=3, depth_multiplier=2, strides=2), (2, 7, 3)),
    ("SeparableConv2D", dict(filters=3, kernel_size=3, padding="same", activation="tanh"), (1, 5, 4, 2)),
    ("SeparableConv2D", dict(filters=2, kernel_size=2, depth_multiplier=2, data_format="channels_first"),
     (1, 3, 4, 4)),
])
def test_conv_variants_match_keras(engine, name, kwargs, shape):
    assert_matches_keras(lambda: getattr(layers, name)(**kwargs), name, kwargs, _x(shape))


def test_conv_transpose_weights_shapes_and_errors(engine):
    layer = layers.Conv2DTranspose(5, (3, 2), strides=2, name="up")
    assert layer_outputs(layer, _x((1, 4, 4, 3))).shape == (1, 9, 8, 5)
    assert [(w.name, w.shape) for w in layer.weights] == [("kernel", (3, 2, 5, 3)), ("bias", (5,))]
    assert layer.compute_output_shape((None, None, 4, 3)) == (None, None, 8, 5)
    assert layers.Conv1DTranspose(2, 3, padding="same", strides=3).compute_output_shape((2, 4, 1)) == (2, 12, 2)
    with pytest.raises(ValueError, match=r"Conv2DTranspose 'bad'.*output_padding.*strides"):
        layers.Conv2DTranspose(2, 3, strides=2, output_padding=2, name="bad")
    with pytest.raises(ValueError, match=r"Conv1DTranspose .*padding.*'causal'"):
        layers.Conv1DTranspose(2, 3, padding="causal")
    with pytest.raises(ValueError, match=r"Conv3DTranspose .*filters.*0"):
        layers.Conv3DTranspose(0, 3)
    with pytest.raises(ValueError, match=r"up.*ndim|up.*rank"):
        layer(_x((4, 3)))


def test_depthwise_separable_weights_and_errors(engine):
    depthwise = layers.DepthwiseConv2D(3, depth_multiplier=2)
    layer_outputs(depthwise, _x((1, 5, 5, 4)))
    assert [(w.name, w.shape) for w in depthwise.weights] == [("kernel", (3, 3, 4, 2)), ("bias", (8,))]
    separable = layers.SeparableConv1D(6, 3, depth_multiplier=2)
    layer_outputs(separable, _x((1, 5, 4)))
    assert [(w.name, w.shape) for w in separable.weights] == [
        ("depthwise_kernel", (3, 4, 2)), ("pointwise_kernel", (1, 8, 6)), ("bias", (6,))]
    assert separable.count_params() == 3 * 4 * 2 + 8 * 6 + 6
    assert depthwise.compute_output_shape((None, 7, 7, 4)) == (None, 5, 5, 8)
    with pytest.raises(ValueError, match=r"DepthwiseConv2D 'dw'.*depth_multiplier.*0"):
        layers.DepthwiseConv2D(3, depth_multiplier=0, name="dw")
    with pytest.raises(ValueError, match=r"SeparableConv2D .*padding.*'causal'"):
        layers.SeparableConv2D(2, 3, padding="causal")
    with pytest.raises(ValueError, match=r"DepthwiseConv1D .*strides.*dilation_rate"):
        layers.DepthwiseConv1D(3, strides=2, dilation_rate=2)


# --------------------------------------------------------- cropping, up-sampling
@pytest.mark.parametrize("cls, kwargs, shape, index", [
    (layers.Cropping1D, dict(cropping=(1, 2)), (2, 6, 3), np.s_[:, 1:4, :]),
    (layers.Cropping2D, dict(cropping=((1, 0), (2, 1))), (2, 4, 5, 3), np.s_[:, 1:, 2:4, :]),
    (layers.Cropping2D, dict(cropping=(1, 2), data_format="channels_first"), (2, 3, 4, 6), np.s_[:, :, 1:3, 2:4]),
    (layers.Cropping3D, dict(cropping=1), (1, 3, 4, 5, 2), np.s_[:, 1:2, 1:3, 1:4, :]),
    (layers.Cropping3D, dict(cropping=((0, 1), (1, 0), (2, 2)), data_format="channels_first"), (1, 2, 3, 3, 5),
     np.s_[:, :, 0:2, 1:3, 2:3]),
], ids=_case_id)
def test_cropping_checks_and_numpy_slices(engine, cls, kwargs, shape, index):
    x = _x(shape)
    layer = check_layer(lambda: cls(**kwargs), shape)
    np.testing.assert_array_equal(layer_outputs(layer, x), x[index])


def test_cropping_defaults_config_and_errors(engine):
    assert layers.Cropping1D().cropping == ((1, 1),) and layers.Cropping1D().get_config()["cropping"] == (1, 1)
    assert "data_format" not in layers.Cropping1D().get_config()
    assert layers.Cropping2D().get_config()["cropping"] == ((0, 0), (0, 0))
    assert layers.Cropping3D().cropping == ((1, 1), (1, 1), (1, 1))
    assert layers.Cropping2D(((1, 1), (0, 2))).compute_output_shape((None, 5, None, 3)) == (None, 3, None, 3)
    with pytest.raises(ValueError, match=r"Cropping2D 'crop'.*cropping.*smaller.*\(2, 2, 3, 1\)"):
        layer_outputs(layers.Cropping2D(((1, 1), (1, 1)), name="crop"), _x((2, 3, 3, 1))[:, :2])
    with pytest.raises(ValueError, match=r"Cropping3D .*cropping.*pairs"):
        layers.Cropping3D(((1, 2, 3), (1, 1), (1, 1)))
    with pytest.raises(ValueError, match=r"Cropping1D .*cropping.*-1"):
        layers.Cropping1D(-1)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_up_sampling_3d(engine, data_format):
    shape = (2, 2, 3, 2, 3) if data_format == "channels_last" else (2, 3, 2, 3, 2)
    x = _x(shape)
    layer = check_layer(lambda: layers.UpSampling3D((2, 1, 3), data_format=data_format), shape)
    axes = (1, 2, 3) if data_format == "channels_last" else (2, 3, 4)
    expected = x
    for axis, size in zip(axes, (2, 1, 3)):
        expected = np.repeat(expected, size, axis=axis)
    np.testing.assert_array_equal(layer_outputs(layer, x), expected)
    assert layers.UpSampling3D().size == (2, 2, 2)
    with pytest.raises(ValueError, match=r"UpSampling3D .*size.*0"):
        layers.UpSampling3D((2, 0, 2))


# ------------------------------------------------------------ 3-D global pooling
@pytest.mark.parametrize("cls, reduce", [(layers.GlobalMaxPooling3D, np.max), (layers.GlobalAveragePooling3D, np.mean)],
                         ids=_case_id)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_global_pooling_3d(engine, cls, reduce, data_format):
    shape = (2, 2, 3, 2, 4)
    x = _x(shape)
    axes = (1, 2, 3) if data_format == "channels_last" else (2, 3, 4)
    layer = check_layer(lambda: cls(data_format=data_format), shape, rtol=1e-5, atol=1e-6)
    assert_close(layer_outputs(layer, x), reduce(x.astype(np.float64), axis=axes), "pool")


# ------------------------------------------------------------ Keras 3 configs
KERAS_CONFIGS = {
    "Conv1DTranspose": dict(filters=2, kernel_size=3, strides=2, output_padding=1),
    "Conv2DTranspose": dict(filters=2, kernel_size=3, padding="same"),
    "Conv3DTranspose": dict(filters=2, kernel_size=2),
    "DepthwiseConv1D": dict(kernel_size=3, depth_multiplier=2), "DepthwiseConv2D": dict(kernel_size=3),
    "SeparableConv1D": dict(filters=2, kernel_size=3),
    "SeparableConv2D": dict(filters=2, kernel_size=3, depth_multiplier=2),
    "Cropping1D": dict(cropping=(1, 2)), "Cropping2D": dict(cropping=((1, 0), (2, 2))), "Cropping3D": {},
    "UpSampling3D": dict(size=(1, 2, 3)),
    "MultiHeadAttention": dict(num_heads=2, key_dim=3, output_shape=4, attention_axes=1),
    "Attention": dict(use_scale=True, score_mode="concat"), "AdditiveAttention": {},
    "GroupQueryAttention": dict(head_dim=2, num_query_heads=4, num_key_value_heads=2),
    "SpatialDropout1D": dict(rate=0.2, seed=1), "SpatialDropout2D": dict(rate=0.3, data_format="channels_first"),
    "SpatialDropout3D": dict(rate=0.1), "GaussianNoise": dict(stddev=0.1, seed=2), "GaussianDropout": dict(rate=0.2),
    "AlphaDropout": dict(rate=0.2, noise_shape=(None, 1)), "ActivityRegularization": dict(l1=0.1),
    "Rescaling": dict(scale=0.5, offset=1.0), "Normalization": dict(mean=[1.0, 2.0], variance=[1.0, 4.0]),
    "CenterCrop": dict(height=2, width=3), "Resizing": dict(height=4, width=5, interpolation="nearest"),
    "CategoryEncoding": dict(num_tokens=4, output_mode="count"), "Discretization": dict(bin_boundaries=[0.0, 1.0]),
    "StringLookup": dict(vocabulary=["a", "b"], mask_token=""),
    "IntegerLookup": dict(vocabulary=[3, 5], num_oov_indices=2),
}


def _compare_configs(name, ours, theirs):
    assert set(ours) <= set(theirs), f"{name}: keys Keras 3 does not write: {set(ours) - set(theirs)}"
    for key, value in ours.items():
        if key in ("name", "dtype"):
            continue
        if isinstance(value, dict) and "class_name" in value:  # an object: same class (and config, but a layer's)
            assert value["class_name"] == theirs[key]["class_name"], f"{name}.{key}"
            assert key == "layer" or value["config"] == theirs[key]["config"], f"{name}.{key}"
        else:
            assert value == theirs[key], f"{name}.{key}: ours {value!r}, Keras 3 {theirs[key]!r}"


def test_keras_configs_load_and_keep_their_values(engine):
    keras = import_keras()
    for name, kwargs in KERAS_CONFIGS.items():
        keras_layer = getattr(keras.layers, name)(**kwargs)
        assert re.sub(r"_\d+$", "", getattr(layers, name)(**kwargs).name) == re.sub(r"_\d+$", "", keras_layer.name)
        config = json.loads(json.dumps(keras_layer.get_config()))
        config["dtype"] = "float32"  # Keras writes a DTypePolicy object here
        _compare_configs(name, json.loads(json.dumps(getattr(layers, name).from_config(config).get_config())), config)
    wrapped = keras.layers.TimeDistributed(keras.layers.Dense(2))
    config = json.loads(json.dumps(wrapped.get_config()))
    config["dtype"] = "float32"
    ours = layers.TimeDistributed.from_config(config)
    assert isinstance(ours.layer, layers.Dense) and ours.layer.units == 2
    _compare_configs("TimeDistributed", json.loads(json.dumps(ours.get_config())), config)
