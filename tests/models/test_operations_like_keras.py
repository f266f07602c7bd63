"""``model.layers`` and ``model.operations`` of functional models with op
nodes, against Keras 3: ``operations`` lists every node (input layers, layers
and op nodes) in Keras' order, ``layers`` the same without the op nodes, and
the weights follow that order, so ``set_weights(keras_model.get_weights())``
gives Keras' numbers. Summary rows, cloning and saving follow ``operations``.

The graphs are written once (``graphs``) and built by Keras 3 in one
subprocess (NumPy backend) and by polykeras on every engine.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import Input, Model, layers, ops
from polykeras.layers.op_layer import OpLayer
from polykeras.models import clone_model
from polykeras.saving.keras_ops import KERAS_OPS
from tests.layers.helpers import run_keras


def graphs(Input: Any, Model: Any, layers: Any, ops: Any) -> dict[str, Any]:
    """Functional models whose Keras order differs from execution order
    (inputs used late, a layer shared at two depths, unused inputs), written
    once for both libraries."""
    Dense = layers.Dense
    out = {}
    x = Input((4,), name="x")
    h = Dense(3, name="d1")(x)
    out["chain"] = Model(x, Dense(2, name="d2")(ops.mean(h, axis=1, keepdims=True) + h))

    a, b = Input((4,), name="a"), Input((2,), name="b")
    h = Dense(2, name="d2")(Dense(3, name="d1")(a))
    out["late_input"] = Model([a, b], Dense(1, name="head")(ops.concatenate([h, b * 2.0], axis=-1)))

    x = Input((4,), name="x")
    shared = Dense(4, name="shared")
    deep = shared(ops.relu(Dense(4, name="pre")(x)))
    out["shared"] = Model(x, Dense(1, name="head")(shared(x) + deep))

    x = Input((4,), name="x")
    out["multi_output"] = Model(x, [ops.sum(x, axis=-1), Dense(1, name="head")(x * 2.0), x[:, :2]])

    x, unused = Input((4,), name="x"), Input((3,), name="unused")
    out["unused_input"] = Model([x, unused], Dense(2, name="d1")(ops.tanh(x)))

    a = Input((4,), name="a")
    inner = Model(a, Dense(2, name="inner_d")(a * 2.0), name="inner")
    x = Input((4,), name="x")
    out["nested"] = Model(x, Dense(1, name="top")(inner(x) + 1.0))

    x = Input((4,), name="x")
    h = Dense(3, name="d1")(x)
    left = Dense(3, name="left")(h)
    out["diamond"] = Model(x, Dense(2, name="out")(ops.concatenate([left, ops.tanh(h) * left], axis=-1)))
    return out


NAMES = ("chain", "late_input", "shared", "multi_output", "unused_input", "nested", "diamond")

_KERAS = "from typing import Any\n" + inspect.getsource(graphs) + r'''
rng = np.random.default_rng(0)
for name, model in graphs(keras.Input, keras.Model, keras.layers, keras.ops).items():
    weights = [rng.standard_normal(w.shape).astype("float32") for w in model.get_weights()]
    model.set_weights(weights)
    for i, w in enumerate(weights):
        out[f"{name}_w{i}"] = w
    inputs = [data[t.name] for t in model.inputs]
    for i, y in enumerate(model.predict(inputs, verbose=0) if len(model.outputs) > 1 else
                          [model.predict(inputs, verbose=0)]):
        out[f"{name}_y{i}"] = np.asarray(y)
    out[name] = {"operations": [type(op).__name__ for op in model.operations],
                 "layers": [layer.name for layer in model.layers], "weights": len(weights),
                 "weight_paths": [w.path for w in model.weights], "outputs": len(model.outputs)}
'''


def _data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {name: rng.standard_normal((3, size)).astype("float32")
            for name, size in (("x", 4), ("a", 4), ("b", 2), ("unused", 3))}


@pytest.fixture(scope="module")
def keras_graphs() -> dict[str, Any]:
    return run_keras(_KERAS, _data(), backend="numpy")


def _keras_class(operation: Any) -> str:
    return KERAS_OPS[operation.op].class_name if isinstance(operation, OpLayer) else type(operation).__name__


@pytest.mark.parametrize("name", NAMES)
def test_layers_and_operations_are_keras(engine, keras_graphs, name):
    model = graphs(Input, Model, layers, ops)[name]
    reference = keras_graphs[name]
    assert [_keras_class(op) for op in model.operations] == reference["operations"]
    assert [layer.name for layer in model.layers] == reference["layers"]
    assert not any(isinstance(layer, OpLayer) for layer in model.layers)
    assert [layer for layer in model.operations if not isinstance(layer, OpLayer)] == model.layers


@pytest.mark.parametrize("name", NAMES)
def test_keras_weights_in_keras_order_give_keras_numbers(engine, keras_graphs, name):
    model = graphs(Input, Model, layers, ops)[name]
    reference = keras_graphs[name]
    weights = [keras_graphs[f"{name}_w{i}"] for i in range(reference["weights"])]
    model.set_weights(weights)  # Keras' get_weights order is ours
    for ours, theirs in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(ours, theirs)
    data = _data()
    got = model.predict([data[t.name] for t in model.inputs], verbose=0)
    got = got if isinstance(got, list) else [got]
    assert len(got) == reference["outputs"]
    for i, value in enumerate(got):
        assert_close(value, keras_graphs[f"{name}_y{i}"], "layer", err_msg=f"{name} output {i}")


def test_summary_rows_are_the_operations(engine, keras_graphs):
    model = graphs(Input, Model, layers, ops)["chain"]
    lines: list[str] = []
    model.summary(print_fn=lines.append, show_trainable=True)
    rows = [line for line in lines if re.match(r"\S+ \(\w+\) ", line) and not line.startswith("Layer (type)")]
    assert len(rows) == len(keras_graphs["chain"]["operations"]) == len(model.operations)
    assert [row.split()[0] for row in rows] == [op.name for op in model.operations]
    assert all(row.rstrip().endswith(("Y", "N")) for row in rows)


def test_clone_and_config_keep_the_operations(engine):
    model = graphs(Input, Model, layers, ops)["shared"]
    data = _data()["x"]
    clone = clone_model(model)
    clone.set_weights(model.get_weights())
    assert [_keras_class(op) for op in clone.operations] == [_keras_class(op) for op in model.operations]
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    assert_close(clone.predict(data, verbose=0), model.predict(data, verbose=0), "layer")
    again = Model.from_config(model.get_config())
    assert [_keras_class(op) for op in again.operations] == [_keras_class(op) for op in model.operations]
    assert [entry["class_name"] for entry in model.get_config()["layers"]] == \
        [type(op).__name__ for op in model.operations]
