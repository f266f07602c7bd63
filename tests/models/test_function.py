"""``polykeras.Function`` (Keras 3's ``keras.Function``): a recorded graph run
without being a layer, on the same node graph functional models run; compared
with Keras 3 on the same weights and data."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras as pk
from polykeras import layers, ops
from polykeras.models import Function
from polykeras.symbolic import SymbolicTensor


def _dense_graph(weights):
    x = pk.Input((4,), name="x")
    d1, d2 = layers.Dense(3, activation="relu", name="d1"), layers.Dense(2, name="d2")
    h = d1(x)
    y = d2(h)
    d1.set_weights([np.asarray(w, "float32") for w in weights[:2]])
    d2.set_weights([np.asarray(w, "float32") for w in weights[2:]])
    return x, h, y, d1, d2


def test_function_runs_a_layer_graph_like_keras(engine, keras_graphs):
    data, ref = keras_graphs[0]["x"], keras_graphs[1]
    x, _, y, _, _ = _dense_graph(ref["weights"])
    f = Function(x, y)
    np.testing.assert_allclose(ops.to_numpy(f(data)), ref["y"], rtol=1e-5, atol=1e-5)
    assert [type(op).__name__ for op in f.operations] == ref["ops"]
    assert list(f.compute_output_shape((None, 4))) == ref["shape"]
    spec = f.compute_output_spec(SymbolicTensor((None, 4)))
    assert isinstance(spec, SymbolicTensor) and spec.shape == (None, 2) and spec.dtype == "float32"
    assert f.inputs == [x] and f.outputs == [y]
    assert pk.Function is Function


def test_function_from_an_intermediate_tensor_and_with_dict_inputs(engine, keras_graphs):
    data, ref = keras_graphs[0]["x"], keras_graphs[1]
    x, h, _, d1, d2 = _dense_graph(ref["weights"])
    head = Function(h, layers.Dense(5)(h))  # inputs need not be Input tensors
    assert [type(op).__name__ for op in head.operations] == ref["head_ops"]
    assert ops.shape(head(data[:, :3])) == tuple(ref["head_y"].shape)
    a, b = pk.Input((4,), name="a"), pk.Input((4,), name="b")
    two = Function({"a": a, "b": b}, [d1(a), d2(d1(b))])
    ya, yb = two({"a": data, "b": data * 2})
    np.testing.assert_allclose(ops.to_numpy(ya), ref["two_a"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ops.to_numpy(yb), ref["two_b"], rtol=1e-5, atol=1e-5)


def test_function_on_symbolic_inputs_records_a_graph(engine, keras_graphs):
    data, ref = keras_graphs[0]["x"], keras_graphs[1]
    x, _, y, _, _ = _dense_graph(ref["weights"])
    f = Function(x, y)
    z = pk.Input((4,))
    model = pk.Model(z, f(z))  # the Function's layers, called again on z
    np.testing.assert_allclose(ops.to_numpy(model(data)), ref["y"], rtol=1e-5, atol=1e-5)


def test_functional_models_run_the_same_graph(engine, keras_graphs):
    data, ref = keras_graphs[0]["x"], keras_graphs[1]
    x, _, y, _, _ = _dense_graph(ref["weights"])
    model = pk.Model(x, y)
    assert model.operations == model.layers
    np.testing.assert_allclose(ops.to_numpy(model(data)), ops.to_numpy(Function(x, y)(data)), rtol=1e-6)


def test_function_errors_name_the_function(engine):
    x, other = pk.Input((4,), name="x"), pk.Input((4,), name="other")
    y = layers.Dense(2)(x)
    with pytest.raises(ValueError, match=r"Function 'f'.*disconnected.*'x'.*\(other\)"):
        Function(other, y, name="f")
    f = Function(x, y, name="f")
    with pytest.raises(ValueError,
                       match=r"Function 'f': input 'x' expected shape \(None, 4\), received shape \(3, 5\)"):
        f(np.ones((3, 5), "float32"))
    with pytest.raises(ValueError, match=r"Function 'f': expected 1 input\(s\) \(x\), received 2"):
        f([np.ones((3, 4), "float32")] * 2)
    with pytest.raises(TypeError, match=r"Function 'f': expected symbolic tensors as outputs.*received output 0"):
        Function(x, np.ones(3), name="f")
