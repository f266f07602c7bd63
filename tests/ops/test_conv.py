"""Convolutions and pooling, rank 1-3, strides, dilation, groups, padding and
both data formats, on every engine against the direct-sum reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from conformance import reference as ref
from conformance import strategies as cs
from polykeras import ops

from ._helpers import check as assert_matches, f64, need, tensor

COVERED = {"conv", "depthwise_conv", "conv_transpose", "max_pool", "average_pool"}

_REFERENCE = {"conv": ref.conv, "depthwise": ref.depthwise_conv, "transpose": ref.conv_transpose}
_OP = {"conv": "conv", "depthwise": "depthwise_conv", "transpose": "conv_transpose"}
# Keras has depthwise convolutions in 1-D and 2-D only.
_RANKS = {"conv": (1, 2, 3), "depthwise": (1, 2), "transpose": (1, 2, 3)}


@pytest.mark.parametrize("kind", ["conv", "depthwise", "transpose"])
def test_convolution(engine, kind):
    rng = np.random.default_rng(0)

    @given(config=cs.conv_configs(kind, ranks=_RANKS[kind]))
    def prop(config):
        x = rng.uniform(-1, 1, config.input_shape).astype("float32")
        kernel = rng.uniform(-1, 1, config.kernel_shape).astype("float32")
        out = getattr(ops, _OP[kind])(tensor(x), tensor(kernel), **config.kwargs())
        assert_matches(out, _REFERENCE[kind](f64(x), f64(kernel), **config.kwargs()), "conv", "float32",
                       what=str(config))

    prop()


@pytest.mark.parametrize("name", ["max_pool", "average_pool"])
def test_pooling(engine, name):
    rng = np.random.default_rng(0)

    @given(config=cs.pool_configs())
    def prop(config):
        x = rng.uniform(-5, 5, config.input_shape).astype("float32")
        out = getattr(ops, name)(tensor(x), **config.kwargs())
        assert_matches(out, getattr(ref, name)(f64(x), **config.kwargs()), "pool", "float32", what=f"{name} {config}")

    prop()


def test_pool_strides_default_to_pool_size(engine, rng):
    x = rng.uniform(-1, 1, (1, 6, 6, 2)).astype("float32")
    assert_matches(ops.max_pool(tensor(x), 2), ref.max_pool(x, 2, 2), "pool", "float32", what="max_pool(x, 2)")
    assert_matches(ops.average_pool(tensor(x), (3, 2)), ref.average_pool(x, (3, 2), (3, 2)), "pool", "float32",
          what="average_pool(x, (3, 2))")


def test_conv_int_arguments(engine, rng):
    """Scalar ``strides`` / ``dilation_rate`` apply to every spatial axis."""
    x = rng.uniform(-1, 1, (2, 7, 7, 3)).astype("float32")
    kernel = rng.uniform(-1, 1, (3, 3, 3, 4)).astype("float32")
    assert_matches(ops.conv(tensor(x), tensor(kernel), strides=2, padding="same"),
          ref.conv(x, kernel, (2, 2), "same"), "conv", "float32", what="conv strides=2")
    assert_matches(ops.conv(tensor(x), tensor(kernel), dilation_rate=2),
          ref.conv(x, kernel, 1, "valid", dilation_rate=(2, 2)), "conv", "float32", what="conv dilation_rate=2")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_depthwise_conv_one_channel_unequal_strides(engine, rng, dtype):
    """One input channel with unequal strides (once refused by TensorFlow's
    grouped path in float64)."""
    need(dtype)
    x = rng.uniform(-1, 1, (1, 4, 4, 1)).astype(dtype)
    kernel = rng.uniform(-1, 1, (2, 1, 1, 2)).astype(dtype)
    out = ops.depthwise_conv(tensor(x), tensor(kernel), strides=(1, 2), padding="valid")
    assert_matches(out, ref.depthwise_conv(f64(x), f64(kernel), (1, 2), "valid"), "conv", dtype,
                   what=f"depthwise_conv one channel strides (1, 2) {dtype}")


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("dilation", [1, 2])
def test_causal_conv(engine, rng, data_format, dilation):
    """Causal = left-pad by ``dilation * (k - 1)``: output t sees inputs <= t."""
    x = rng.uniform(-1, 1, (2, 7, 3)).astype("float32")
    kernel = rng.uniform(-1, 1, (3, 3, 2)).astype("float32")
    padded = np.pad(f64(x), [(0, 0), (2 * dilation, 0), (0, 0)])
    expected = ref.conv(padded, kernel, 1, "valid", dilation_rate=dilation)
    if data_format == "channels_first":
        x, expected = np.moveaxis(x, -1, 1), np.moveaxis(expected, -1, 1)
    out = ops.conv(tensor(x), tensor(kernel), padding="causal", data_format=data_format, dilation_rate=dilation)
    assert_matches(out, expected, "conv", "float32", what=f"causal conv {data_format} dilation {dilation}")
    depth_kernel = rng.uniform(-1, 1, (3, 3, 2)).astype("float32")
    channels_last = x if data_format == "channels_last" else np.moveaxis(x, 1, -1)
    expected = ref.depthwise_conv(np.pad(f64(channels_last), [(0, 0), (2 * dilation, 0), (0, 0)]), depth_kernel,
                                  dilation_rate=dilation)
    if data_format == "channels_first":
        expected = np.moveaxis(expected, -1, 1)
    out = ops.depthwise_conv(tensor(x), tensor(depth_kernel), padding="causal", data_format=data_format,
                             dilation_rate=dilation)
    assert_matches(out, expected, "conv", "float32", what=f"causal depthwise_conv {data_format}")


def test_conv_float64(engine, rng):
    need("float64")
    x = rng.uniform(-1, 1, (1, 5, 5, 2))
    kernel = rng.uniform(-1, 1, (3, 3, 2, 3))
    assert_matches(ops.conv(tensor(x), tensor(kernel), padding="same"), ref.conv(x, kernel, 1, "same"),
                   "conv", "float64", what="conv float64")
    assert_matches(ops.max_pool(tensor(x), 2, padding="same"), ref.max_pool(x, 2, 2, "same"), "pool", "float64",
          what="max_pool float64")
