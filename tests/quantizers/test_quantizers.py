"""keras.quantizers' functions and classes against Keras 3 (NumPy backend,
in this process) on every engine."""

from __future__ import annotations

import numpy as np
import pytest

from polykeras import ops, quantizers
from tests.layers.keras_reference import import_keras


def _np(x):
    return np.asarray(ops.convert_to_numpy(x))


@pytest.fixture(scope="module")
def kq():
    return import_keras().quantizers


def test_names_match_keras(kq):
    ours = {n for n in dir(quantizers) if not n.startswith("_")}
    theirs = {n for n in dir(kq) if not n.startswith("_")}
    assert theirs <= ours, sorted(theirs - ours)


@pytest.mark.parametrize("axis", [0, -1, (0, 1)])
@pytest.mark.parametrize("to_numpy", [False, True])
def test_abs_max_quantize(engine, kq, rng, axis, to_numpy):
    x = rng.standard_normal((5, 7)).astype("float32")
    q, scale = quantizers.abs_max_quantize(x, axis=axis, to_numpy=to_numpy)
    kq_, kscale = kq.abs_max_quantize(x, axis=axis, to_numpy=to_numpy)
    assert ops.dtype(q) == "int8" and ops.dtype(scale) == "float32"
    np.testing.assert_array_equal(_np(q), np.asarray(kq_))
    np.testing.assert_allclose(_np(scale), np.asarray(kscale), rtol=1e-6)


@pytest.mark.parametrize("to_numpy", [False, True])
@pytest.mark.parametrize("rows", [8, 11])
def test_grouped_with_zero_point(engine, kq, rng, to_numpy, rows):
    x = rng.standard_normal((rows, 6)).astype("float32")
    ours = quantizers.abs_max_quantize_grouped_with_zero_point(x, block_size=4, to_numpy=to_numpy)
    theirs = kq.abs_max_quantize_grouped_with_zero_point(x, block_size=4, to_numpy=True)
    np.testing.assert_array_equal(_np(ours[0]), np.asarray(theirs[0]))
    np.testing.assert_allclose(_np(ours[1]), np.asarray(theirs[1]), rtol=1e-6)
    np.testing.assert_array_equal(_np(ours[2]), np.asarray(theirs[2]))


def test_grouped_refuses_bad_input(engine):
    with pytest.raises(ValueError, match="positive int block_size.*block_size=0"):
        quantizers.abs_max_quantize_grouped_with_zero_point(np.ones((4, 4), "float32"), block_size=0)
    with pytest.raises(ValueError, match=r"2-D.*\(4,\)"):
        quantizers.abs_max_quantize_grouped_with_zero_point(np.ones(4, "float32"), block_size=2)


def test_abs_max_quantizer_class(engine, kq, rng):
    x = rng.standard_normal((3, 4)).astype("float32")
    ours, theirs = quantizers.AbsMaxQuantizer(axis=0), kq.AbsMaxQuantizer(axis=0)
    np.testing.assert_array_equal(_np(ours(x)[0]), np.asarray(theirs(x)[0]))
    np.testing.assert_array_equal(_np(quantizers.AbsMaxQuantizer()(x)[0]), np.asarray(kq.AbsMaxQuantizer()(x)[0]))
    assert ours.get_config() == theirs.get_config()
    with pytest.raises(ValueError, match=r"value_range within \[-128, 127\].*\(-200, 200\)"):
        quantizers.AbsMaxQuantizer(value_range=(-200, 200))


@pytest.mark.parametrize("axis", [None, 1])
@pytest.mark.parametrize("narrow_range", [False, True])
def test_fake_quant_forward(engine, kq, rng, axis, narrow_range):
    x = (rng.standard_normal((4, 3)) * 2).astype("float32")
    low, high = (np.float32(-1.5), np.float32(2.0)) if axis is None else (
        np.array([-1.0, -2.0, -0.5], "float32"), np.array([1.0, 0.5, 3.0], "float32"))
    ours = quantizers.fake_quant_with_min_max_vars(x, low, high, num_bits=4, narrow_range=narrow_range, axis=axis)
    theirs = kq.fake_quant_with_min_max_vars(x, low, high, num_bits=4, narrow_range=narrow_range, axis=axis)
    np.testing.assert_allclose(_np(ours), np.asarray(theirs), atol=1e-6)


def test_fake_quant_gradient(diff_engine, rng):
    """Straight-through inside the range; clipped values feed the bounds."""
    x = np.array([[-3.0, 0.2, 0.9], [0.1, 5.0, -0.4]], "float32")
    low, high = np.array([-1.0, -1.0, -1.0], "float32"), np.array([1.0, 1.0, 1.0], "float32")
    params = [ops.convert_to_tensor(v) for v in (x, low, high)]
    _, grads = ops.value_and_grad(
        lambda p: ops.sum(quantizers.fake_quant_with_min_max_vars(p[0], p[1], p[2], axis=1)))(params)
    dx, dmin, dmax = (_np(g) for g in grads)
    np.testing.assert_array_equal(dx, [[0, 1, 1], [1, 0, 1]])
    np.testing.assert_array_equal(dmin, [1, 0, 0])
    np.testing.assert_array_equal(dmax, [0, 1, 0])


@pytest.mark.parametrize("fmt", ["float8_e4m3fn", "float8_e5m2"])
def test_quantize_and_dequantize_float8(engine, kq, rng, fmt):
    x = np.concatenate([rng.standard_normal(200) * 10, rng.standard_normal(50) * 1e-3, [0.0, 1e6, -1e6, 0.5625],
                        rng.standard_normal(50) * 1e-5]).astype("float32")
    for scale in (1.0, 0.37):
        ours = quantizers.quantize_and_dequantize(x, scale, fmt, "float32")
        theirs = kq.quantize_and_dequantize(x, np.float32(scale), fmt, "float32")
        np.testing.assert_allclose(_np(ours), np.asarray(theirs), rtol=1e-6, atol=0)


def test_quantize_and_dequantize_bad_dtype(engine):
    with pytest.raises(ValueError, match="float8_e4m3fn.*'float16'"):
        quantizers.quantize_and_dequantize(np.ones(2, "float32"), 1.0, "float16", "float32")


def test_float8_scale_and_history(engine, kq):
    history = np.array([0.0, 3.0, 1.0, 2.0], "float32")
    x = np.array([-7.0, 2.0], "float32")
    np.testing.assert_array_equal(_np(quantizers.compute_float8_amax_history(x, history)),
                                  np.asarray(kq.compute_float8_amax_history(x, history)))
    for amax in (896.0, 0.0, np.inf):
        for margin in (0, 2):
            ours = quantizers.compute_float8_scale(ops.convert_to_tensor(np.float32(amax)),
                                                   ops.convert_to_tensor(np.float32(0.5)), 448.0, margin)
            theirs = kq.compute_float8_scale(np.float32(amax), np.float32(0.5), np.float32(448.0), margin)
            np.testing.assert_allclose(_np(ours), np.asarray(theirs), rtol=1e-6)


@pytest.mark.parametrize("shape,axis", [((5, 4), 0), ((4, 5), 1), ((3, 5, 2), -2)])
@pytest.mark.parametrize("dtype", ["int8", "uint8"])
def test_pack_unpack_int4(engine, kq, rng, shape, axis, dtype):
    low, high = (-8, 8) if dtype == "int8" else (0, 16)
    x = rng.integers(low, high, shape).astype(dtype)
    packed, packed_shape, n = quantizers.pack_int4(ops.convert_to_tensor(x), axis=axis, dtype=dtype)
    k_packed, k_shape, k_n = kq.pack_int4(x, axis=axis, dtype=dtype)
    np.testing.assert_array_equal(_np(packed), np.asarray(k_packed))
    assert (packed_shape, n) == (tuple(k_shape), k_n)
    back = quantizers.unpack_int4(packed, n, axis=axis, dtype=dtype)
    assert ops.dtype(back) == dtype
    np.testing.assert_array_equal(_np(back), x)


def test_pack_int4_errors(engine):
    with pytest.raises(TypeError, match="int8 tensor to pack, received dtype int32"):
        quantizers.pack_int4(ops.convert_to_tensor(np.ones((2, 2), "int32")))
    with pytest.raises(ValueError, match="'int8' or 'uint8'.*'int16'"):
        quantizers.unpack_int4(np.ones((2, 2), "int8"), 4, dtype="int16")


def test_configs_round_trip_and_check(kq):
    keras_configs = [kq.Int8QuantizationConfig(), kq.Int4QuantizationConfig(block_size=64),
                     kq.Float8QuantizationConfig(), kq.Int8QuantizationConfig(
                         weight_quantizer=kq.AbsMaxQuantizer(axis=0), activation_quantizer=None)]
    saving = import_keras().saving
    for keras_config in keras_configs:
        ours = quantizers.deserialize(saving.serialize_keras_object(keras_config))
        assert type(ours).__name__ == type(keras_config).__name__
        assert ours.get_config() == quantizers.deserialize(quantizers.serialize(ours)).get_config()
        assert ours.mode == keras_config.mode
    configs = [quantizers.Int8QuantizationConfig(), quantizers.Int8QuantizationConfig(activation_quantizer=None),
               quantizers.Int4QuantizationConfig(block_size=64), quantizers.Float8QuantizationConfig(),
               quantizers.Int4QuantizationConfig(weight_quantizer=quantizers.AbsMaxQuantizer(
                   axis=0, value_range=(-8, 7)), block_size=-1)]
    for config in configs:
        again = quantizers.deserialize(quantizers.serialize(config))
        assert type(again) is type(config) and again.get_config() == config.get_config()
    assert quantizers.GPTQConfig(None, None, weight_bits=8).dtype_policy_string() == "gptq/8/128"
    assert quantizers.AWQConfig(None, None, group_size=64).dtype_policy_string() == "awq/4/64"
    with pytest.raises(ValueError, match="does not support custom quantizers"):
        quantizers.Int4QuantizationConfig(weight_quantizer=quantizers.AbsMaxQuantizer(value_range=(-8, 7)))
    with pytest.raises(ValueError, match="value_range=\\(-8, 7\\)"):
        quantizers.Int4QuantizationConfig(weight_quantizer=quantizers.AbsMaxQuantizer(), block_size=None)
    with pytest.raises(ValueError, match="output_dtype='int8'"):
        quantizers.Int8QuantizationConfig(weight_quantizer=quantizers.AbsMaxQuantizer(output_dtype="int16"))
    with pytest.raises(ValueError, match="weight_bits 5"):
        quantizers.GPTQConfig(None, None, weight_bits=5)
    with pytest.raises(ValueError, match="4-bit"):
        quantizers.AWQConfig(None, None, weight_bits=8)


def test_get(kq):
    assert quantizers.get(None) is None
    assert isinstance(quantizers.get("AbsMaxQuantizer"), quantizers.AbsMaxQuantizer)
    assert quantizers.get("abs_max_quantizer", axis=1).axis == (1,)
    assert quantizers.get({"class_name": "AbsMaxQuantizer", "config": {"axis": [0]}}).axis == (0,)
    with pytest.raises(ValueError, match="'nope'"):
        quantizers.get("nope")


def test_validate_and_resolve_config():
    from polykeras.quantizers import validate_and_resolve_config as resolve

    assert resolve("int4", None).block_size == 128
    with pytest.raises(ValueError, match=r"Expected one of \('int8', 'float8', 'int4', 'gptq', 'awq'\).*int2"):
        resolve("int2", None)
    with pytest.raises(ValueError, match="Contradictory arguments: mode='int8' but config.mode='int4'"):
        resolve("int8", quantizers.Int4QuantizationConfig())
    with pytest.raises(ValueError, match="GPTQConfig"):
        resolve("gptq", None)
