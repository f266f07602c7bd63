"""Activations: Keras 3 names, defaults and numbers (checked against Keras 3
itself), on every engine; get/serialize."""

from __future__ import annotations

import numpy as np
import pytest

from polykeras import activations, ops

from layers.helpers import run_keras  # tests/ is on sys.path (no __init__.py)

X = np.concatenate([np.linspace(-7, 7, 29), [0.0, -0.5, 0.5]]).astype("float32").reshape(4, 8)
XN = np.where(np.arange(32).reshape(4, 8) % 5 == 0, np.nan, X).astype("float32")  # NaN in places
CALLS = {
    "relu": "relu(x)", "relu_params": "relu(x, negative_slope=0.1, max_value=3.0, threshold=0.5)",
    "relu_max": "relu(x, max_value=6.0)", "relu_slope": "relu(x, negative_slope=0.2)",
    "relu6": "relu6(x)", "leaky_relu": "leaky_relu(x)", "elu": "elu(x)", "selu": "selu(x)", "gelu": "gelu(x)",
    "gelu_tanh": "gelu(x, approximate=True)", "silu": "silu(x)", "swish": "swish(x)", "mish": "mish(x)",
    "sigmoid": "sigmoid(x)", "hard_sigmoid": "hard_sigmoid(x)", "hard_silu": "hard_silu(x)",
    "hard_swish": "hard_swish(x)", "tanh": "tanh(x)", "softmax": "softmax(x)", "softmax_0": "softmax(x, axis=0)",
    "log_softmax": "log_softmax(x)", "softplus": "softplus(x)", "softsign": "softsign(x)",
    "exponential": "exponential(x)", "linear": "linear(x)",
    "celu": "celu(x, alpha=0.7)", "glu": "glu(x)", "hard_shrink": "hard_shrink(x, threshold=1.0)",
    "hard_tanh": "hard_tanh(x)", "log_sigmoid": "log_sigmoid(x)", "soft_shrink": "soft_shrink(x)",
    "sparse_plus": "sparse_plus(x)", "sparse_sigmoid": "sparse_sigmoid(x)", "squareplus": "squareplus(x, b=2)",
    "tanh_shrink": "tanh_shrink(x)", "threshold": "threshold(x, 0.5, -1.0)",
    # a capped relu keeps NaN, as Keras's (the engines' relu/relu6 kernels)
    "relu_max_nan": "relu(xn, max_value=6.0)", "relu_cap_nan": "relu(xn, max_value=5.0)",
}


@pytest.fixture(scope="module")
def keras_numbers():
    code = "x, xn = data['x'], data['xn']\n" + "".join(
        f"out[{k!r}] = np.asarray(keras.activations.{v})\n" for k, v in CALLS.items()
    )
    return run_keras(code, {"x": X, "xn": XN})


@pytest.mark.parametrize("case", list(CALLS))
def test_numbers_match_keras_3(engine, case, keras_numbers):
    x, xn = ops.convert_to_tensor(X), ops.convert_to_tensor(XN)
    ours = ops.to_numpy(eval(f"activations.{CALLS[case]}", {"activations": activations, "x": x, "xn": xn}))
    np.testing.assert_allclose(ours, keras_numbers[case], rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name", sorted(activations.ALL_OBJECTS_DICT))
def test_get_and_serialize_round_trip(name):
    fn = activations.get(name)
    assert callable(fn)
    assert activations.get(activations.serialize(fn)) is fn


def test_get_forms_and_errors():
    assert activations.get(None) is activations.linear
    assert activations.get("swish") is activations.silu and activations.get("hard_swish") is activations.hard_silu
    assert activations.serialize(None) == "linear"
    fn = lambda x: x  # noqa: E731
    assert activations.get(fn) is fn
    assert activations.deserialize({"module": "keras.activations", "class_name": "function", "config": "relu",
                                    "registered_name": "relu"}) is activations.relu
    with pytest.raises(ValueError, match="Unknown activation 'relu7'"):
        activations.get("relu7")
    with pytest.raises(ValueError, match="not registered"):
        activations.serialize(fn)
