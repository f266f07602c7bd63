"""Ops and Python operators on symbolic tensors: each records an OpLayer node,
and a functional model over such nodes gives the eager results, trains,
round-trips its config, and loads from the archive onto another engine."""

from __future__ import annotations

import json

import numpy as np
import pytest

import polykeras as pk
import polykeras.backends as B
from polykeras import layers, ops
from polykeras.layers.op_layer import OpLayer
from polykeras.models import Functional
from polykeras.ops import OpError
from polykeras.ops import image as image_ops
from polykeras.saving import load_model
from polykeras.symbolic import SymbolicTensor, flatten

W = np.arange(12, dtype="float32").reshape(3, 4) / 10 - 0.5
KERNEL = np.linspace(-1, 1, 12, dtype="float32").reshape(2, 2, 1, 3)
IDS = np.array([3, 0], dtype="int32")


def _data(rng):
    return rng.standard_normal((5, 4)).astype("float32"), rng.standard_normal((5, 4)).astype("float32")


def _model(fn):
    x, y = pk.Input((4,), name="x"), pk.Input((4,), name="y")
    return Functional([x, y], flatten(fn(x, y)))


def _close(got, expected, rtol=1e-5):
    got, expected = flatten(got), flatten(expected)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        g = ops.to_numpy(g) if not isinstance(g, np.ndarray) else g
        e = ops.to_numpy(e) if not isinstance(e, (np.ndarray, np.generic)) else np.asarray(e)
        assert g.shape == e.shape
        if e.dtype == bool or g.dtype == bool:
            np.testing.assert_array_equal(g, e)
        else:
            np.testing.assert_allclose(g.astype("float64"), e.astype("float64"), rtol=rtol, atol=1e-5)


# Python operators: the NumPy result on the same data is the reference.
OPERATORS = {
    "add": lambda x, y: (x + y, x + 1.5, 2.0 + x),
    "subtract": lambda x, y: (x - y, 1 - x),
    "multiply": lambda x, y: (x * y, 3 * x),
    "divide": lambda x, y: (x / 4, 1 / (x * x + 1)),
    "floor_divide": lambda x, y: (x // 0.5, 7.0 // (x * x + 1)),
    "mod": lambda x, y: (x % 0.75, 5.0 % (x * x + 1)),
    "power": lambda x, y: (x ** 2, 2.0 ** x),
    "matmul": lambda x, y: (x @ W.T, W @ x[..., None]),
    "compare": lambda x, y: (x < y, x <= 0, x > y, x >= 0.5, x != y, 1 < x),
    "logical": lambda x, y: ((x > 0) & (y > 0), (x > 0) | (y > 0), (x > 0) ^ (y > 0), ~(x > 0)),
    "unary": lambda x, y: (-x, +x, abs(x), np.round(x * 3) if isinstance(x, np.ndarray) else round(x * 3)),
    "getitem": lambda x, y: (x[:, 1], x[:, 1:3], x[:, None, ::2], x[..., -1], x[:, ::-1], x[:, IDS]),
    "astype": lambda x, y: (x.astype("int32"), (x > 0).astype("float32")),
}

# Ops of every family: the same function on engine tensors is the reference.
def _SQUARE(x):
    return ops.reshape(x, (-1, 2, 2)) + ops.eye(2) * 3


def _IMAGE(x):
    return ops.reshape(ops.concatenate([x, x * 2, -x, x], axis=-1), (-1, 4, 4, 1))


OPS = {
    "elementwise": lambda x, y: (ops.exp(x), ops.maximum(x, y), ops.clip(x, -0.5, 0.5),
                                 ops.where(ops.greater(x, 0), x, y),
                                 ops.sqrt(ops.abs(x)), ops.cast(x, "int32"), ops.zeros_like(x)),
    "reductions": lambda x, y: (ops.mean(x, axis=1), ops.max(x, axis=-1, keepdims=True), ops.logsumexp(x, axis=-1),
                                ops.argmax(x, axis=-1), ops.cumsum(x, axis=1), ops.var(x, axis=(1,))),
    "shapes": lambda x, y: (ops.reshape(x, (-1, 2, 2)), ops.transpose(ops.reshape(x, (-1, 2, 2)), (0, 2, 1)),
                            ops.expand_dims(x, 1), ops.concatenate([x, y], axis=-1), ops.stack([x, y], axis=1),
                            ops.split(x, 2, axis=-1), ops.pad(x, [(0, 0), (1, 2)]), ops.tile(x, (1, 2)),
                            ops.repeat(x, 2, axis=1), ops.flip(x, axis=1), ops.squeeze(ops.expand_dims(x, -1), -1)),
    "indexing": lambda x, y: (ops.take(x, IDS, axis=1), ops.top_k(x, 2), ops.sort(x, axis=-1),
                              ops.get_item(x, (slice(None), 2)),
                              ops.take_along_axis(x, ops.argsort(y, axis=-1), axis=1)),
    "contraction": lambda x, y: (ops.einsum("bi,bi->b", x, y), ops.tensordot(x, W.T, axes=1), ops.matmul(x, W.T),
                                 ops.dot(x, W.T)),
    "nn": lambda x, y: (ops.relu(x), ops.softmax(x), ops.gelu(x), ops.log_softmax(x), ops.leaky_relu(x, 0.1),
                        ops.one_hot(ops.argmax(x, axis=-1), 4), ops.moments(x, axes=[1]),
                        ops.conv(_IMAGE(x), KERNEL, padding="same"), ops.max_pool(_IMAGE(x), 2),
                        ops.binary_crossentropy(ops.sigmoid(y), ops.sigmoid(x))),
    "linalg": lambda x, y: (ops.linalg.inv(_SQUARE(x)), ops.linalg.det(_SQUARE(x)),
                            ops.linalg.solve(_SQUARE(x), ops.reshape(y, (-1, 2, 2))),
                            ops.linalg.cholesky(ops.matmul(_SQUARE(x), ops.transpose(_SQUARE(x), (0, 2, 1)))),
                            ops.linalg.svd(_SQUARE(x), compute_uv=False)),
    "random": lambda x, y: (ops.random.dropout(x, 0.5, seed=3),),
    "image": lambda x, y: (image_ops.resize(_IMAGE(x), (2, 2)), image_ops.resize(_IMAGE(y), (8, 6), "nearest")),
}
#: Results that another engine computes differently by design (its own random stream).
ENGINE_OWN = {"random"}


@pytest.mark.parametrize("case", sorted(OPERATORS))
def test_operator_records_a_node_with_numpy_results(engine, rng, case):
    fn = OPERATORS[case]
    model = _model(fn)
    assert all(isinstance(t, SymbolicTensor) for t in model.outputs)
    assert any(isinstance(op, OpLayer) for op in model.operations)
    assert not any(isinstance(layer, OpLayer) for layer in model.layers)  # as in Keras 3: operations, not layers
    x, y = _data(rng)
    got = model([x, y])
    _close(got, fn(x, y))
    for spec, value in zip(model.outputs, flatten(got)):
        assert spec.dtype == ops.dtype(value) and spec.shape[1:] == tuple(ops.shape(value))[1:]


@pytest.mark.parametrize("family", sorted(OPS))
def test_op_family_gives_the_eager_results(engine, rng, family):
    fn = OPS[family]
    model = _model(fn)
    x, y = _data(rng)
    got = model([x, y])
    _close(got, fn(ops.convert_to_tensor(x), ops.convert_to_tensor(y)), rtol=1e-4)
    for spec, value in zip(model.outputs, flatten(got)):
        assert spec.dtype == ops.dtype(value)
        assert all(s is None or s == v for s, v in zip(spec.shape, ops.shape(value)))


def _other(name):
    names = B.installed()
    return names[(names.index(name) + 1) % len(names)]


@pytest.mark.parametrize("family", ["operators", *sorted(OPS)])
def test_config_and_archive_round_trip_onto_another_engine(engine, rng, tmp_path, family):
    def operators(x, y):
        return [out for case in sorted(OPERATORS) for out in flatten(OPERATORS[case](x, y))]

    fn = operators if family == "operators" else OPS[family]
    model = _model(fn)
    x, y = _data(rng)
    expected = [ops.to_numpy(t) for t in flatten(model([x, y]))]
    again = Functional.from_config(json.loads(json.dumps(model.get_config())))
    _close(again([x, y]), expected)
    model.save(tmp_path / "ops.pkeras")
    with B.use(_other(engine.name)):
        loaded = load_model(tmp_path / "ops.pkeras")
        assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in model.layers]
        got = loaded.predict([x, y], verbose=0)
        if family in ENGINE_OWN:
            assert [np.shape(g) for g in flatten(got)] == [e.shape for e in expected]
        else:
            _close(got, expected, rtol=1e-4)


def test_a_model_over_ops_trains(diff_engine, rng):
    pk.random.set_seed(1)
    x = pk.Input((4,))
    h = layers.Dense(8)(x)
    h = ops.relu(h) * 2 + ops.mean(h, axis=-1, keepdims=True)
    out = layers.Dense(1)(ops.concatenate([h[:, :4], x ** 2], axis=-1))
    model = pk.Model(x, out)
    model.compile(pk.optimizers.Adam(0.05), "mse")
    data = rng.standard_normal((128, 4)).astype("float32")
    target = (data ** 2).sum(axis=1, keepdims=True) - data[:, :1]
    history = model.fit(data, target, batch_size=32, epochs=15, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    np.testing.assert_allclose(model.predict(data[:8], verbose=0), ops.to_numpy(model(data[:8])), rtol=1e-5, atol=1e-5)


BAD = {
    "add": (lambda x: x + pk.Input((3,)), ["add", "(None, 4)", "(None, 3)", "do not broadcast"]),
    "matmul": (lambda x: x @ np.ones((3, 2), "float32"), ["matmul", "(None, 4)", "(3, 2)"]),
    "concatenate": (lambda x: ops.concatenate([x, pk.Input((2, 2))], axis=-1), ["concatenate", "(None, 2, 2)"]),
    "reshape": (lambda x: ops.reshape(x, (3,)), ["reshape", "(None, 4)", "(3,)"]),
    "get_item": (lambda x: x[:, 5], ["get_item", "(None, 4)", "axis 1 of size 4"]),
    "linalg.inv": (lambda x: ops.linalg.inv(pk.Input((2, 3))), ["linalg.inv", "(None, 2, 3)", "square"]),
    "conv": (lambda x: ops.conv(x, KERNEL), ["conv", "(None, 4)", "rank 4"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_shapes_are_refused_when_the_node_is_built(engine, case):
    build, words = BAD[case]
    with pytest.raises(OpError) as info:
        build(pk.Input((4,)))
    for word in words:
        assert word in str(info.value)


def test_wrong_arguments_name_the_op(engine):
    x = pk.Input((4,))
    with pytest.raises(TypeError, match="mean"):
        ops.mean(x, axes=1)
    with pytest.raises(ValueError, match="public op"):
        OpLayer("os.system", {})
    with pytest.raises(ValueError, match="takes no argument"):
        OpLayer("add", {"x1": {"__input__": 0}, "alpha": 2})


def test_shape_dtype_and_non_recording_ops(engine):
    x = pk.Input((None, 3), dtype="float32")
    assert ops.shape(x) == (None, None, 3) and x.ndim == 3
    assert ops.dtype(x) == "float32" and x.dtype == "float32"
    assert ops.is_tensor(x) is False
    with pytest.raises(TypeError, match="to_numpy"):
        ops.to_numpy(x)
    with pytest.raises(TypeError, match="iterated"):
        list(x)
    assert (x == x) is True and len({x, x}) == 1  # noqa: PLR0124 - identity, as Keras 3
    y = x.astype("int32")[:, 0]
    assert (y.shape, y.dtype) == ((None, 3), "int32")
    assert isinstance(y.node.layer, OpLayer) and y.node.layer.op == "get_item"


def test_op_node_config_is_plain_json(engine):
    x = pk.Input((4,))
    y = ops.sum(x[:, None, ::2], axis=(1, 2)) + np.float32(1)
    config = y.node.layer.get_config()
    assert config["op"] == "add"
    inner = y.node.input_tensors[0].node.layer.get_config()
    assert inner == {"name": inner["name"], "op": "sum",
                     "arguments": {"x": {"__input__": 0}, "axis": {"__tuple__": [1, 2]}}}
    sliced = y.node.input_tensors[0].node.input_tensors[0].node.layer.get_config()
    assert sliced["arguments"]["key"] == {"__tuple__": [{"__slice__": [None, None, None]}, None,
                                                        {"__slice__": [None, None, 2]}]}
    constant = (x @ W.T).node.layer.get_config()["arguments"]["x2"]
    assert constant["__constant__"]["dtype"] == "float32" and np.allclose(constant["__constant__"]["value"], W.T)


def test_a_mask_stops_at_an_op_node_as_in_keras(engine):
    ids = pk.Input((5,), dtype="int32")
    embedded = layers.Embedding(10, 3, mask_zero=True, name="embedding")(ids)
    doubled = embedded * 2.0
    model = pk.Model(ids, [layers.GlobalAveragePooling1D()(embedded), layers.GlobalAveragePooling1D()(doubled)])
    data = np.array([[1, 2, 0, 0, 0], [3, 0, 0, 0, 0]], "int32")
    masked, unmasked = (ops.to_numpy(t) for t in model(data))
    table = model.get_layer("embedding").get_weights()[0]
    np.testing.assert_allclose(masked, (table[data] * (data > 0)[..., None]).sum(1) / (data > 0).sum(1, keepdims=True),
                               rtol=1e-5)
    np.testing.assert_allclose(unmasked, 2 * table[data].mean(1), rtol=1e-5)


#: Runs in a fresh interpreter with KERAS_BACKEND=jax (Keras fixes its engine
#: at import); argv[1] is the output folder.
KERAS_WRITER = r'''
import sys, numpy as np, keras
from keras import layers, ops
out = sys.argv[1]
keras.utils.set_random_seed(0)
x, y = keras.Input((4,), name="x"), keras.Input((4,), name="y")
h = layers.Dense(4, name="dense")(x)
a = (h + 1) * y
b = -a[:, :2]
c = ops.concatenate([b, x[..., 2:]], axis=-1)
d = ops.mean(c, axis=1, keepdims=True)
e = ops.where(x > 0, x, d)
f = ops.softmax(ops.matmul(e, ops.ones((4, 3))) + 2.0 ** h[:, :3], axis=-1)
model = keras.Model([x, y], [e, f, ops.sum(ops.abs(h), axis=-1)])
rng = np.random.default_rng(0)
data = [rng.normal(size=(5, 4)).astype("float32") for _ in range(2)]
model.save(out + "/ops.keras")
np.savez(out + "/ops.npz", x=data[0], y=data[1], *model.predict(data, verbose=0))
'''


@pytest.fixture(scope="module")
def keras_ops_file(tmp_path_factory):
    import os
    import subprocess
    import sys

    pytest.importorskip("keras")
    folder = tmp_path_factory.mktemp("keras_ops")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", KERAS_WRITER, str(folder)], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


def test_a_keras_model_with_op_nodes_loads_and_predicts_the_same(engine, keras_ops_file):
    saved = np.load(keras_ops_file / "ops.npz")
    model = load_model(keras_ops_file / "ops.keras")
    recorded = {op.op for op in model.operations if isinstance(op, OpLayer)}
    assert recorded >= {"add", "multiply", "get_item", "negative", "concatenate", "mean", "greater", "where", "matmul",
                        "softmax", "power", "sum"}
    assert recorded & {"abs", "absolute"}  # Keras' ops.abs records an Absolute node
    got = model.predict([saved["x"], saved["y"]], verbose=0)
    _close(got, [saved[f"arr_{i}"] for i in range(3)], rtol=1e-4)


def test_a_random_op_with_a_seed_generator_draws_anew_and_round_trips(engine):
    x = pk.Input((6,))
    model = pk.Model(x, ops.random.dropout(x, 0.5, seed=pk.random.SeedGenerator(1)))
    data = np.ones((4, 6), "float32")
    first, second = ops.to_numpy(model(data)), ops.to_numpy(model(data))
    assert not np.array_equal(first, second)  # the generator advances between calls
    again = Functional.from_config(json.loads(json.dumps(model.get_config())))
    np.testing.assert_array_equal(ops.to_numpy(again(data)), first)  # a fresh generator from the same seed


@pytest.mark.parametrize("op, old, new, value", [
    ("reshape", "shape", "newshape", [-1, 2]),
    ("stack", "xs", "x", [{"__input__": 0}, {"__input__": 0}]),
    ("stop_gradient", "x", "variable", {"__input__": 0}),
])
def test_configs_saved_with_older_parameter_names_load(engine, op, old, new, value):
    arguments = {old: value} if op != "reshape" else {"x": {"__input__": 0}, old: value}
    layer = OpLayer.from_config({"name": f"old_{op}", "op": op, "arguments": arguments})
    assert new in layer.get_config()["arguments"] and old not in layer.get_config()["arguments"]
    data = np.arange(8, dtype="float32").reshape(2, 4)
    expected = {"reshape": data.reshape(-1, 2), "stack": np.stack([data, data]), "stop_gradient": data}[op]
    np.testing.assert_array_equal(ops.to_numpy(layer(ops.convert_to_tensor(data))), expected)
