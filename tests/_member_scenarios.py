"""Keras 3 class members that programs use, as one scenario run by a
library given as ``keras`` (polykeras or Keras 3 itself): the results are
plain JSON data, compared by ``tests/test_keras_members.py``.

Example:
    >>> import polykeras
    >>> members(polykeras)["run_eagerly"]
    [False, True, False]
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

__all__ = ["members", "summaries"]


def members(keras: Any) -> dict[str, Any]:
    """Model.run_eagerly/jit_compile, Layer.quantization_mode,
    MultiHeadAttention's projections and Layer.add_variable's argument order."""
    out: dict[str, Any] = {}
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")])
    eager = [model.run_eagerly]
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    eager.append(model.run_eagerly)
    model.run_eagerly = False
    out["run_eagerly"] = eager + [model.run_eagerly]
    model.compile(optimizer="sgd", loss="mse", jit_compile=False)
    jit = [model.jit_compile]
    model.jit_compile = False
    out["jit_compile"] = jit + [model.jit_compile]

    dense = keras.layers.Dense(2)
    dense.build((None, 3))
    modes = [dense.quantization_mode, model.quantization_mode]
    dense.quantize("int8")
    out["quantization_mode"] = modes + [dense.quantization_mode]

    mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    x = np.ones((1, 3, 5), "float32")
    mha(x, x)
    out["attention"] = {name: [type(getattr(mha, name)).__name__, list(getattr(mha, name).kernel.shape)]
                        for name in ("query_dense", "key_dense", "value_dense", "output_dense")}

    layer = keras.layers.Layer()
    count = layer.add_variable((2,), "ones", "float32", False, name="count")
    kept = layer.add_variable((2,), "zeros", constraint=keras.constraints.NonNeg(), regularizer="l2", name="kept")
    out["add_variable"] = [[list(v.shape), v.trainable, v.name, np.asarray(v.numpy()).tolist(),
                            type(v.constraint).__name__, type(v.regularizer).__name__] for v in (count, kept)]
    return out


def summaries(keras: Any) -> dict[str, Any]:
    """Which layers ``Model.summary`` shows with ``expand_nested``,
    ``layer_range`` and ``positions``; ``Metric.add_weight`` and
    ``Optimizer.add_variable`` in Keras's argument order."""
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="inner_a"),
                              keras.layers.Dense(2, name="inner_b")], name="inner")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4, name="first"), inner,
                              keras.layers.Dense(1, name="last")], name="outer")
    names = ("first", "inner", "inner_a", "inner_b", "last")

    def shown(**kwargs: Any) -> list[str]:
        lines: list[str] = []
        model.summary(print_fn=lambda line, *args, **kw: lines.append(line), **kwargs)
        text = "\n".join(lines)
        return [name for name in names if re.search(rf"\b{name}\b", text)]

    out: dict[str, Any] = {
        "plain": shown(), "nested": shown(expand_nested=True),
        "range": shown(layer_range=["inner", "last"]), "range_pattern": shown(layer_range=["fi.*", "inn"]),
        "range_nested": shown(layer_range=["first", "inner"], expand_nested=True),
        "positions": shown(positions=[0.4, 0.7, 1.0], line_length=80),
    }
    metric = keras.metrics.Mean()
    weights = [metric.add_weight(initializer="zeros", dtype="float32", name="scalar"),
               metric.add_weight((2,), "ones", "float32", "pair")]
    out["metric_add_weight"] = [[list(w.shape), w.name, np.asarray(w.numpy()).tolist()] for w in weights]
    optimizer = keras.optimizers.SGD(name="opt")
    slot = optimizer.add_variable((3,), "ones", "float32", "none", None, "slot")
    out["optimizer_add_variable"] = [list(slot.shape), slot.name, slot.path, np.asarray(slot.numpy()).tolist()]
    return out
