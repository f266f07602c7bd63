"""Keras 3 class members that programs use, as one scenario run by a
library given as ``keras`` (polykeras or Keras 3 itself): the results are
plain JSON data, compared by ``tests/test_keras_members.py``.

Example:
    >>> import polykeras
    >>> members(polykeras)["run_eagerly"]
    [False, True, False]
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["members"]


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
