"""Quantized dtype policies: names, configs and checks as Keras 3.15's."""

from __future__ import annotations

import pytest

from polykeras import dtype_policies
from tests.layers.keras_reference import import_keras

NAMES = ["int8_from_float32", "int8_from_mixed_bfloat16", "float8_from_float32", "float8_from_mixed_bfloat16",
         "int4_from_float32", "int4/128_from_float32", "int4/-1_from_bfloat16", "gptq/4/128_from_float32",
         "gptq/8/-1_from_float32", "awq/4/64_from_float32"]


@pytest.mark.parametrize("name", NAMES)
def test_policy_matches_keras(name):
    keras = import_keras()
    ours = dtype_policies.get(name)
    theirs = keras.dtype_policies.get(name)
    assert type(ours).__name__ == type(theirs).__name__
    assert (ours.name, ours.quantization_mode, ours.compute_dtype, ours.variable_dtype) == (
        theirs.name, theirs.quantization_mode, theirs.compute_dtype, theirs.variable_dtype)
    config = keras.dtype_policies.serialize(theirs)
    assert dtype_policies.serialize(ours) == config
    assert dtype_policies.deserialize(config) == ours
    assert keras.dtype_policies.deserialize(dtype_policies.serialize(ours)) == theirs


def test_float8_history_length():
    policy = dtype_policies.QuantizedFloat8DTypePolicy("float8", "float32", amax_history_length=16)
    assert policy.amax_history_length == 16
    assert dtype_policies.deserialize(dtype_policies.serialize(policy)).amax_history_length == 16
    with pytest.raises(TypeError, match="amax_history_length.*1.5"):
        dtype_policies.QuantizedFloat8DTypePolicy("float8", "float32", amax_history_length=1.5)


@pytest.mark.parametrize("make,message", [
    (lambda: dtype_policies.QuantizedDTypePolicy("int2", "float32"), r"Expected one of \('int8'.*mode=int2"),
    (lambda: dtype_policies.QuantizedDTypePolicy("int8", "float16"), "compute_dtype='float16'"),
    (lambda: dtype_policies.Int4DTypePolicy("int4", "float32"), "'int4/<block_size>', but got 'int4'"),
    (lambda: dtype_policies.Int4DTypePolicy("int4/x", "float32"), "must be an integer"),
    (lambda: dtype_policies.Int4DTypePolicy("int4/0", "float32"), "block_size.*but got 0"),
    (lambda: dtype_policies.GPTQDTypePolicy("gptq/5/128", "float32"), "weight_bits.*but got 5"),
    (lambda: dtype_policies.AWQDTypePolicy("awq/8/128", "float32"), "4-bit.*but got 8"),
    (lambda: dtype_policies.get("int4/128"), "mode.*source_name.*int4/128"),
])
def test_bad_policies(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_plain_int_dtype_names_stay_float_policies():
    assert dtype_policies.get("int8").quantization_mode is None
    assert dtype_policies.get("int32").quantization_mode is None
