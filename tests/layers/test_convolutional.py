"""Conv1D/Conv2D/Conv3D on every engine: the standard layer checks, a NumPy
computation of the convolution, Keras 3's numbers with Keras' weights,
parameter counts, output shapes and bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from conformance import reference as ref
from conformance import strategies as cs
from conformance.tolerances import assert_close, tolerance
from polykeras.layers import Conv1D, Conv2D, Conv3D

from .helpers import check_layer, layer_outputs
from .keras_reference import assert_matches_keras

LAYER_TOL = dict(zip(("rtol", "atol"), tolerance("layer")))


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def numpy_conv(x, kernel, bias, strides, padding, dilation, groups):
    """Direct channels-last N-D convolution in float64."""
    rank = x.ndim - 2
    x = x.astype(np.float64)
    k_size = kernel.shape[:rank]
    spans = [d * (k - 1) + 1 for k, d in zip(k_size, dilation)]
    if padding == "causal":
        x = np.pad(x, [(0, 0), (spans[0] - 1, 0), (0, 0)])
    elif padding == "same":
        pads = []
        for length, span, s in zip(x.shape[1:-1], spans, strides):
            out = -(-length // s)
            total = max((out - 1) * s + span - length, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, [(0, 0), *pads, (0, 0)])
    out_sizes = [(length - span) // s + 1 for length, span, s in zip(x.shape[1:-1], spans, strides)]
    cin_g, filters = kernel.shape[-2], kernel.shape[-1]
    fout_g = filters // groups
    out = np.zeros((x.shape[0], *out_sizes, filters))
    for index in np.ndindex(*out_sizes):
        window = tuple(slice(i * s, i * s + span, d) for i, s, span, d in zip(index, strides, spans, dilation))
        patch = x[(slice(None), *window)]  # (batch, *k, cin)
        for g in range(groups):
            p = patch[..., g * cin_g:(g + 1) * cin_g].reshape(x.shape[0], -1)
            k = kernel[..., g * fout_g:(g + 1) * fout_g].reshape(-1, fout_g)
            out[(slice(None), *index, slice(g * fout_g, (g + 1) * fout_g))] = p @ k
    return out + (0 if bias is None else bias)


CASES_1D = [
    dict(filters=4, kernel_size=2, strides=2, padding="same"),
    dict(filters=4, kernel_size=3, padding="causal", dilation_rate=2, groups=2, use_bias=False),
]
CASES_2D = [
    dict(filters=4, kernel_size=(2, 3), strides=(2, 1), padding="same", activation="relu"),
    dict(filters=2, kernel_size=2, dilation_rate=(2, 1)),
    dict(filters=4, kernel_size=3, groups=2, padding="same"),
]


@pytest.mark.parametrize("kwargs", CASES_1D, ids=str)
def test_conv1d_checks_and_numpy_reference(engine, kwargs):
    x = _x((2, 7, 4))
    layer = check_layer(lambda: Conv1D(**kwargs), x.shape, **LAYER_TOL)
    kernel, *bias = layer.get_weights()
    expected = numpy_conv(x, kernel, bias[0] if bias else None, layer.strides, layer.padding, layer.dilation_rate,
                          layer.groups)
    if kwargs.get("activation") == "relu":
        expected = np.maximum(expected, 0)
    assert_close(layer_outputs(layer, x), expected, "conv")


@pytest.mark.parametrize("kwargs", CASES_2D, ids=str)
def test_conv2d_checks_and_numpy_reference(engine, kwargs):
    x = _x((2, 6, 5, 4))
    layer = check_layer(lambda: Conv2D(**kwargs), x.shape, **LAYER_TOL)
    kernel, *bias = layer.get_weights()
    expected = numpy_conv(x, kernel, bias[0] if bias else None, layer.strides, layer.padding, layer.dilation_rate,
                          layer.groups)
    if kwargs.get("activation") == "relu":
        expected = np.maximum(expected, 0)
    assert_close(layer_outputs(layer, x), expected, "conv")


def test_conv2d_channels_first_equals_channels_last(engine):
    x = _x((2, 5, 6, 3))
    last = Conv2D(4, 3, padding="same")
    first = Conv2D(4, 3, padding="same", data_format="channels_first")
    y_last = layer_outputs(last, x)
    layer_outputs(first, np.transpose(x, (0, 3, 1, 2)))
    first.set_weights(last.get_weights())
    y_first = layer_outputs(first, np.transpose(x, (0, 3, 1, 2)))
    assert_close(np.transpose(y_first, (0, 2, 3, 1)), y_last, "conv")
    assert first.compute_output_shape((None, 3, 5, 6)) == (None, 4, 5, 6)


@settings(max_examples=6)
@given(config=cs.conv_configs("conv", ranks=(1, 2, 3)))
def test_conv_layers_match_the_reference_on_random_geometries(engine, config):
    cls = {1: Conv1D, 2: Conv2D, 3: Conv3D}[config.rank]
    layer = cls(config.filters, config.kernel_size, strides=config.strides, padding=config.padding,
                data_format=config.data_format, dilation_rate=config.dilation_rate, groups=config.groups,
                bias_initializer="glorot_uniform")
    x = _x(config.input_shape, seed=7)
    out = layer_outputs(layer, x)
    assert out.shape == layer.compute_output_shape(config.input_shape), str(config)
    kernel, bias = layer.get_weights()
    channel_axis = -1 if config.data_format == "channels_last" else 1
    bias_shape = [1] * out.ndim
    bias_shape[channel_axis] = -1
    expected = ref.conv(x.astype(np.float64), kernel.astype(np.float64), config.strides, config.padding,
                        config.data_format, config.dilation_rate) + bias.reshape(bias_shape)
    assert_close(out, expected, "conv", err_msg=str(config))


def test_conv3d_checks(engine):
    check_layer(lambda: Conv3D(2, 2, padding="same"), (1, 3, 4, 3, 2), **LAYER_TOL)


@pytest.mark.parametrize("name, cls, kwargs, shape", [
    ("Conv1D", Conv1D, dict(filters=4, kernel_size=3, padding="causal", dilation_rate=2, groups=2), (2, 8, 4)),
    ("Conv2D", Conv2D, dict(filters=4, kernel_size=(3, 2), padding="same", strides=2), (2, 7, 6, 3)),
    ("Conv2D", Conv2D, dict(filters=6, kernel_size=3, groups=3, activation="tanh"), (2, 6, 6, 3)),
    ("Conv2D", Conv2D, dict(filters=3, kernel_size=2, data_format="channels_first"), (2, 2, 5, 5)),
])
def test_conv_matches_keras(engine, name, cls, kwargs, shape):
    assert_matches_keras(lambda: cls(**kwargs), name, kwargs, _x(shape))


def test_conv_weight_layout_and_config(engine):
    layer = Conv2D(8, (3, 2), groups=2, name="c")
    layer_outputs(layer, _x((1, 5, 5, 4)))
    assert [(w.name, w.shape) for w in layer.weights] == [("kernel", (3, 2, 2, 8)), ("bias", (8,))]
    assert layer.count_params() == 3 * 2 * 2 * 8 + 8
    config = layer.get_config()
    assert config["kernel_size"] == (3, 2) and config["strides"] == (1, 1) and config["padding"] == "valid"
    assert config["data_format"] == "channels_last" and config["groups"] == 2 and config["activation"] == "linear"
    assert Conv1D(2, 3).compute_output_shape((None, 10, 4)) == (None, 8, 2)
    assert Conv1D(2, 3, strides=2, padding="same").compute_output_shape((None, 9, 4)) == (None, 5, 2)
    assert Conv2D(2, 3, dilation_rate=2).compute_output_shape((4, None, 9, 4)) == (4, None, 5, 2)


def test_conv_bad_arguments_name_the_layer(engine):
    with pytest.raises(ValueError, match=r"Conv2D 'c2'.*padding.*'full'"):
        Conv2D(2, 3, padding="full", name="c2")
    with pytest.raises(ValueError, match=r"Conv2D.*padding.*'causal'"):
        Conv2D(2, 3, padding="causal")
    with pytest.raises(ValueError, match=r"Conv1D 'c1'.*filters"):
        Conv1D(0, 3, name="c1")
    with pytest.raises(ValueError, match=r"Conv2D.*kernel_size"):
        Conv2D(2, (3, 3, 3))
    with pytest.raises(ValueError, match=r"Conv2D.*divisible by groups"):
        Conv2D(3, 3, groups=2)
    with pytest.raises(ValueError, match=r"Conv2D.*data_format"):
        Conv2D(3, 3, data_format="nhwc")
    layer = Conv2D(4, 3, groups=2, name="grouped")
    with pytest.raises(ValueError, match=r"grouped.*divisible by groups=2.*3 channels"):
        layer(_x((1, 5, 5, 3)))
    conv = Conv2D(2, 3, name="rank_check")
    with pytest.raises(ValueError, match=r"rank_check.*expected ndim=4.*\(2, 5, 3\)"):
        conv(_x((2, 5, 3)))
    layer_outputs(conv, _x((1, 5, 5, 3)))
    with pytest.raises(ValueError, match=r"rank_check.*axis -1 of size 3.*\(1, 5, 5, 2\)"):
        conv(_x((1, 5, 5, 2)))


#: Keras 3's standardized-weight convolution: a subclass overriding convolution_op.
_STANDARDIZED = '''
class Standardized(keras.layers.Conv2D):
    def convolution_op(self, inputs, kernel):
        mean, var = keras.ops.moments(kernel, axes=[0, 1, 2], keepdims=True)
        return keras.ops.conv(inputs, (kernel - mean) / keras.ops.sqrt(var + 1e-5), padding="same",
                              strides=self.strides, data_format=self.data_format)
layer = Standardized(4, 3, activation="relu")
layer.build((None, 6, 6, 3))
layer.set_weights([data["kernel"], data["bias"]])
out["y"] = keras.ops.convert_to_numpy(layer(data["x"]))
'''


def test_convolution_op_overrides_the_convolution_as_in_keras(engine):
    """A subclass's ``convolution_op`` is the convolution the layer runs (the
    bias and activation still follow), with Keras 3's numbers."""
    from polykeras import ops

    from .helpers import run_keras

    class Standardized(Conv2D):
        def convolution_op(self, inputs, kernel):
            mean, var = ops.moments(kernel, axes=[0, 1, 2], keepdims=True)
            return ops.conv(inputs, (kernel - mean) / ops.sqrt(var + 1e-5), padding="same", strides=self.strides,
                            data_format=self.data_format)

    data = {"x": _x((2, 6, 6, 3)), "kernel": _x((3, 3, 3, 4), seed=1), "bias": _x((4,), seed=2)}
    layer = Standardized(4, 3, activation="relu")
    layer.build((None, 6, 6, 3))
    layer.set_weights([data["kernel"], data["bias"]])
    got = layer_outputs(layer, data["x"])
    assert got.shape == (2, 6, 6, 4)  # "same" from the override, where the layer's own padding is "valid"
    assert_close(got, run_keras(_STANDARDIZED, data, backend="numpy")["y"], "layer")
    plain = Conv2D(4, 3, padding="same", activation="relu")
    plain.build((None, 6, 6, 3))
    plain.set_weights([data["kernel"], data["bias"]])
    assert not np.allclose(layer_outputs(plain, data["x"]), got)  # the override changed the numbers
