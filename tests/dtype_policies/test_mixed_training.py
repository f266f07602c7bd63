"""Training under mixed_bfloat16 and mixed_float16 on every engine: close to
float32 training, and to Keras 3's mixed-precision training on the same
engine from the same weights and data.

Tolerances (after 2 epochs of 4 SGD steps on an 8-16-1 MLP, mse): the loss
history agrees with float32 training within 2e-2 relative (bfloat16 keeps 8
significant bits, ~4e-3 per rounding, and the step adds a few roundings) and
1e-2 for float16 (11 bits); against Keras, which makes the same casts, the
weights agree within 1e-2 and the losses within 1e-2 (what differs is only
where each engine's kernels accumulate in higher precision).

float16 runs twice: with the LossScaleOptimizer that compile adds (initial
scale 2**15, where the first step's float16 gradients overflow: Keras and
polykeras both skip it and halve the scale, so that run is compared with
Keras only), and with an explicit initial scale of 2**10 (no overflow, so
it tracks float32).
"""

from __future__ import annotations

import numpy as np
import pytest

import polykeras as pk
from polykeras import layers, optimizers

from layers.helpers import run_keras  # tests/ is on sys.path

POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
_RNG = np.random.default_rng(0)
X = _RNG.standard_normal((64, 8)).astype("float32")
Y = (X[:, :1] * 0.5 - X[:, 1:2] ** 2 * 0.1).astype("float32")
WEIGHTS = [(_RNG.standard_normal(s) * 0.4).astype("float32") for s in ((8, 16), (16,), (16, 1), (1,))]

_KERAS = """
for run in ["float32", "mixed_bfloat16", "mixed_float16", "mixed_float16_scale1024"]:
    policy = run.split("_scale")[0]
    keras.config.set_dtype_policy(policy)
    x = keras.Input((8,))
    model = keras.Model(x, keras.layers.Dense(1)(keras.layers.Dense(16, activation="relu")(x)))
    model.set_weights([data[f"w{i}"] for i in range(4)])
    optimizer = keras.optimizers.SGD(0.05)
    if run.endswith("scale1024"):
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=1024.0)
    model.compile(optimizer, "mse")
    history = model.fit(data["x"], data["y"], batch_size=16, epochs=2, shuffle=False, verbose=0)
    out[run + "_loss"] = np.asarray(history.history["loss"])
    out[run + "_optimizer"] = type(model.optimizer).__name__
    out[run + "_scale"] = np.asarray(float(model.optimizer.dynamic_scale) if policy == "mixed_float16" else 0.0)
    for i, w in enumerate(model.get_weights()):
        out[f"{run}_w{i}"] = np.asarray(w)
keras.config.set_dtype_policy("float32")
"""
_CACHE: dict[str, dict] = {}


def _train(run: str):
    policy = run.split("_scale")[0]
    pk.config.set_dtype_policy(policy)
    x = pk.Input((8,))
    model = pk.Model(x, layers.Dense(1)(layers.Dense(16, activation="relu")(x)))
    model.set_weights(WEIGHTS)
    optimizer = optimizers.SGD(0.05)
    if run.endswith("scale1024"):
        optimizer = optimizers.LossScaleOptimizer(optimizer, initial_scale=1024.0)
    model.compile(optimizer, "mse")
    history = model.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    return model, np.asarray(history.history["loss"])


def _keras(engine_name: str) -> dict:
    if engine_name not in _CACHE:
        data = {"x": X, "y": Y, **{f"w{i}": w for i, w in enumerate(WEIGHTS)}}
        _CACHE[engine_name] = run_keras(_KERAS, data, backend=engine_name)
    return _CACHE[engine_name]


def test_mixed_training_tracks_float32_and_keras(engine):
    if not engine.differentiable:
        with pytest.raises(NotImplementedError, match="value_and_grad"):
            _train("mixed_bfloat16")
        return
    keras = _keras(engine.name)
    _, reference = _train("float32")
    np.testing.assert_allclose(reference, keras["float32_loss"], rtol=1e-5)
    for run, rtol in (("mixed_bfloat16", 2e-2), ("mixed_float16", None), ("mixed_float16_scale1024", 1e-2)):
        model, losses = _train(run)
        assert type(model.optimizer).__name__ == keras[run + "_optimizer"]
        assert all(w.dtype == np.float32 for w in model.get_weights())
        if rtol is not None:
            np.testing.assert_allclose(losses, reference, rtol=rtol, err_msg=run)
        else:  # the first step overflowed and was skipped, on both sides
            assert float(model.optimizer.dynamic_scale.numpy()) == float(keras[run + "_scale"]) == 2.0 ** 14
        np.testing.assert_allclose(losses, keras[run + "_loss"], rtol=1e-2, err_msg=run)
        for i, w in enumerate(model.get_weights()):
            np.testing.assert_allclose(w, keras[f"{run}_w{i}"], rtol=1e-2, atol=1e-2, err_msg=f"{run} w{i}")
