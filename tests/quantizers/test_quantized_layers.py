"""layer.quantize / model.quantize against Keras 3 (NumPy backend, in this
process): same float weights in, same quantized variables (names, shapes,
dtypes, order, values) and outputs out, on every engine."""

from __future__ import annotations


import numpy as np
import pytest

from polykeras import layers, ops, quantizers
from tests.layers.keras_reference import import_keras

CONFIGS = {
    "int8": lambda q: None,
    "int8_weight_only": lambda q: q.Int8QuantizationConfig(activation_quantizer=None),
    "int4": lambda q: None,
    "int4_per_channel": lambda q: q.Int4QuantizationConfig(block_size=-1),
    "int4_block4": lambda q: q.Int4QuantizationConfig(block_size=4),
    "float8": lambda q: None,
}


def _mode(case: str) -> str:
    return case.split("_")[0]


def _np(x):
    return np.asarray(ops.convert_to_numpy(x))


def _pair(make_ours, make_theirs, build_shape, rng, case):
    """Ours and Keras's layer, same float weights, both quantized as ``case``."""
    keras = import_keras()
    ours, theirs = make_ours(), make_theirs(keras)
    ours.build(build_shape)
    theirs.build(build_shape)
    weights = [(rng.standard_normal(tuple(w.shape)) * 0.5).astype("float32") for w in theirs.weights]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    mode = _mode(case)
    theirs.quantize(mode, config=CONFIGS[case](keras.quantizers))
    ours.quantize(mode, config=CONFIGS[case](quantizers))
    return ours, theirs


def _assert_same_variables(ours, theirs):
    assert [(v.name, tuple(v.shape), v.dtype, v.trainable) for v in ours.weights] == [
        (v.name, tuple(v.shape), v.dtype, v.trainable) for v in theirs.weights]
    for a, b in zip(ours.weights, theirs.weights):
        np.testing.assert_allclose(_np(a), np.asarray(b), rtol=1e-6, atol=1e-7, err_msg=a.name)
    assert ours.dtype_policy.name == theirs.dtype_policy.name


@pytest.mark.parametrize("case", list(CONFIGS))
def test_dense_matches_keras(engine, rng, case):
    ours, theirs = _pair(lambda: layers.Dense(6, activation="relu"), lambda k: k.layers.Dense(6, activation="relu"),
                         (None, 12), rng, case)
    _assert_same_variables(ours, theirs)
    x = rng.standard_normal((4, 12)).astype("float32")
    np.testing.assert_allclose(_np(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", ["int8", "int4", "int4_per_channel", "int4_block4"])
def test_embedding_matches_keras(engine, rng, case):
    ours, theirs = _pair(lambda: layers.Embedding(11, 9), lambda k: k.layers.Embedding(11, 9), None, rng, case)
    _assert_same_variables(ours, theirs)
    ids = rng.integers(0, 11, (3, 5)).astype("int32")
    np.testing.assert_allclose(_np(ours(ids)), np.asarray(theirs(ids)), rtol=1e-6, atol=1e-6)


def test_embedding_refuses_float8(engine):
    layer = layers.Embedding(5, 3)
    layer.build()
    with pytest.raises(NotImplementedError, match=r"Expected one of \('int8', 'int4'\).*float8"):
        layer.quantize("float8")


EINSUMS = [("ab,bc->ac", 6, None, (None, 5)), ("abc,cde->abde", (None, 4, 3), "de", (None, 7, 5)),
           ("btd,ndh->btnh", (None, 2, 3), "h", (None, 4, 5))]


@pytest.mark.parametrize("case", ["int8", "int8_weight_only", "float8", "int4_per_channel", "int4_block4"])
@pytest.mark.parametrize("equation,output_shape,bias_axes,shape", EINSUMS)
def test_einsum_dense_matches_keras(engine, rng, case, equation, output_shape, bias_axes, shape):
    kwargs = {"equation": equation, "output_shape": output_shape, "bias_axes": bias_axes}
    ours, theirs = _pair(lambda: layers.EinsumDense(**kwargs), lambda k: k.layers.EinsumDense(**kwargs), shape,
                         rng, case)
    _assert_same_variables(ours, theirs)
    x = rng.standard_normal((2, *shape[1:])).astype("float32")
    np.testing.assert_allclose(_np(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["int8", "float8"])
def test_einsum_dense_with_ellipsis(engine, rng, mode):
    """Keras 3.15 cannot int8-quantize an equation with '...' (its analysis
    takes the input rank for a shape); ours can: within quantization error
    of the float layer."""
    layer = layers.EinsumDense("...b,bc->...c", output_shape=6, bias_axes="c")
    x = rng.standard_normal((2, 3, 5)).astype("float32")
    y_float = _np(layer(x))
    layer.quantize(mode)
    assert [(v.name, tuple(v.shape)) for v in layer.weights][:3] == (
        [("bias", (6,)), ("kernel", (5, 6)), ("kernel_scale", (1, 1, 6))] if mode == "int8"
        else [("kernel", (5, 6)), ("bias", (6,)), ("inputs_scale", ())])
    share = 0.03 if mode == "int8" else 0.15  # float8 e4m3 keeps 3 mantissa bits
    np.testing.assert_allclose(_np(layer(x)), y_float, atol=share * np.abs(y_float).max())
