"""Convolutional LSTMs on every engine: ConvLSTM1D/2D against Keras 3 with
Keras' weights, channels_first, strides and masks, dropout masks per gate,
check_layer (config, weights, gradients, the NumPy engine's numbers)."""

from __future__ import annotations

import numpy as np
import pytest

from conformance.tolerances import assert_close, tolerance
from polykeras import layers, ops

from .helpers import check_layer, layer_outputs
from .test_rnn import keras_layer, outputs_list, random_weights

LAYER_TOL = dict(zip(("rtol", "atol"), tolerance("layer")))


def maps(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("class_name, kwargs, shape", [
    ("ConvLSTM2D", {"filters": 2, "kernel_size": 2, "padding": "same", "return_sequences": True,
                    "return_state": True}, (2, 3, 4, 4, 2)),
    ("ConvLSTM1D", {"filters": 3, "kernel_size": 3, "strides": 2, "go_backwards": True}, (2, 3, 7, 2)),
], ids=["2D-same-states", "1D-strided-backwards"])
def test_conv_lstm_matches_keras(engine, class_name, kwargs, shape):
    x = maps(shape, seed=4)
    ref = keras_layer(class_name, kwargs, x)
    ours = getattr(layers.rnn, class_name)(**kwargs)
    layer_outputs(ours, x)
    assert [w.path.split("/", 1)[1] for w in ours.weights] == [p.split("/", 1)[1] for p in ref["names"]]
    ours.set_weights(ref["weights"])
    got = outputs_list(ours, x)
    assert len(got) == len(ref["y"])
    for i, (a, b) in enumerate(zip(got, ref["y"])):
        assert_close(a, b, "layer", err_msg=f"{class_name}{kwargs} output {i} vs Keras 3")
    predicted = ours.compute_output_shape(shape)
    predicted = list(predicted) if kwargs.get("return_state") else [predicted]
    assert [tuple(p) for p in predicted] == [a.shape for a in got]


def test_channels_first_equals_channels_last(engine):
    x = maps((2, 3, 5, 5, 2))
    last = layers.rnn.ConvLSTM2D(3, 3, return_sequences=True)
    first = layers.rnn.ConvLSTM2D(3, 3, return_sequences=True, data_format="channels_first")
    layer_outputs(last, x)
    layer_outputs(first, np.moveaxis(x, -1, 2))
    weights = random_weights(last)
    last.set_weights(weights)
    first.set_weights(weights)
    assert_close(np.moveaxis(layer_outputs(first, np.moveaxis(x, -1, 2)), 2, -1), layer_outputs(last, x), "conv")


def test_conv_lstm_masks_and_per_gate_dropout(engine):
    x = maps((2, 3, 6, 2))
    mask = np.array([[1, 1, 0], [1, 0, 0]], bool)
    layer = layers.rnn.ConvLSTM1D(2, 3, padding="same", return_sequences=True, dropout=0.4, recurrent_dropout=0.4,
                                  seed=3)
    out = layer_outputs(layer, x, mask=ops.convert_to_tensor(mask))
    np.testing.assert_array_equal(out[0, 2], out[0, 1])  # a masked step repeats the previous output
    np.testing.assert_array_equal(out[1, 2], out[1, 0])
    trained = layer_outputs(layer, x, training=True)
    assert trained.shape == out.shape and np.all(np.isfinite(trained))
    assert not np.allclose(trained, layer_outputs(layer, x))


@pytest.mark.parametrize("factory, shape", [
    (lambda: layers.rnn.ConvLSTM1D(2, 2, return_sequences=True), (2, 3, 5, 2)),
    (lambda: layers.rnn.ConvLSTM2D(2, 2, padding="same", return_state=True, data_format="channels_first"),
     (2, 3, 2, 4, 4)),
], ids=["1D", "2D-channels-first-state"])
def test_check_conv_lstm(engine, factory, shape):
    check_layer(factory, shape, **LAYER_TOL)


def test_bad_conv_lstm_arguments(engine):
    with pytest.raises(ValueError, match=r"ConvLSTMCell.*padding.*received padding='causal'"):
        layers.rnn.ConvLSTM1D(2, 3, padding="causal")
    with pytest.raises(ValueError, match="strides > 1 together with dilation_rate > 1"):
        layers.rnn.ConvLSTM2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError,
                       match=r"ConvLSTMCell.*expected dropout to be a float in \[0, 1\], received dropout='a'"):
        layers.rnn.ConvLSTM2D(2, 3, dropout="a")
    with pytest.raises(ValueError, match=r"expected recurrent_dropout to be a float in \[0, 1\], received "
                                         r"recurrent_dropout=None"):
        layers.rnn.ConvLSTM1D(2, 3, recurrent_dropout=None)
    with pytest.raises(ValueError, match=r"conv_lstm2d.*expected an input shape of rank 5 .*received \(2, 8, 2\)"):
        layers.rnn.ConvLSTM2D(2, 3).compute_output_shape((2, 8, 2))
    with pytest.raises(ValueError, match=r"expected ndim=5|ndim"):
        layers.rnn.ConvLSTM2D(2, 3)(maps((2, 3, 4, 2)))
