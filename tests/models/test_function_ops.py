"""``polykeras.Function`` over ops alone: operators and ``ops`` calls on
symbolic tensors are recorded as op nodes, and the Function runs them as it
runs layer calls; compared with Keras 3's ``keras.Function`` on the same data."""

from __future__ import annotations

import numpy as np

import polykeras as pk
from polykeras import ops
from polykeras.models import Function


def test_function_runs_an_op_graph_without_layers(engine, keras_graphs):
    data, ref = keras_graphs
    x = pk.Input((4,), name="x")
    f = Function(x, ops.mean(ops.abs(x * 2.0 - 1.0), axis=-1))
    np.testing.assert_allclose(ops.to_numpy(f(data["x"])), ref["ops_only_y"], rtol=1e-6, atol=1e-6)
    assert len(f.operations) == ref["ops_only_count"][0]  # the input and one node per op
    assert f.compute_output_shape((None, 4)) == (None,)


def test_function_from_a_bare_symbolic_tensor(engine):
    # keras.KerasTensor(shape) as the input: no Input layer at all, as Keras allows
    t = pk.KerasTensor((None, 3))
    f = Function(t, {"total": ops.sum(t, axis=1), "double": t * 2.0})
    assert f.operations and all(type(op).__name__ == "OpLayer" for op in f.operations)
    out = f(np.arange(6, dtype="float32").reshape(2, 3))
    np.testing.assert_allclose(ops.to_numpy(out["total"]), [3.0, 12.0])
    np.testing.assert_allclose(ops.to_numpy(out["double"])[1], [6.0, 8.0, 10.0])
