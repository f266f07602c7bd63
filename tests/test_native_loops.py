"""Keras 3's "writing a training loop from scratch" guides, in JAX, TensorFlow
and PyTorch, run unchanged with ``polykeras`` as ``keras``: the same source
runs in Keras 3 (a subprocess, same engine) and here, from the same initial
weights on the same batches, and the losses, metric and weights agree.

The loops use the engines' own tools (``jax.value_and_grad`` and ``jax.jit``
over ``stateless_call``, ``tf.GradientTape`` eagerly and inside
``tf.function``, ``loss.backward()`` with ``torch.optim``), which polykeras
supports through the engines' ``NativeHooks``. The NumPy engine has no
framework of its own to loop in: its ``native_module`` raises.
"""

from __future__ import annotations

import numpy as np
import pytest

import polykeras
from polykeras import layers

from layers.helpers import run_keras  # tests/ is on sys.path (no __init__.py)

# Shared by both sides: ``keras``, ``np``, ``data`` and ``out`` are defined.
PRELUDE = """
inputs = keras.Input(shape=(8,))
hidden = keras.layers.Dense(16, activation="relu")(inputs)
hidden = keras.layers.BatchNormalization()(hidden)
model = keras.Model(inputs, keras.layers.Dense(4)(hidden))
model.set_weights([data[f"w{i}"] for i in range(len(model.weights))])
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
optimizer = keras.optimizers.Adam(learning_rate=1e-2)
metric = keras.metrics.SparseCategoricalAccuracy()
batches = [(data["x"][i:i + 16], data["y"][i:i + 16]) for i in range(0, 64, 16)]
losses = []
"""

EPILOGUE = """
out["losses"] = [float(v) for v in losses]
out["metric"] = [float(metric.result())]
for i, w in enumerate(model.get_weights()):
    out[f"w{i}"] = np.asarray(w)
"""

# The JAX guide. Its state starts from the variables' values: this JAX
# refuses Keras 3's own variables as jax.jit arguments (``__jax_array__`` is
# no longer honoured), and polykeras variables are not pytrees either.
JAX_GUIDE = """
import jax

def compute_loss_and_updates(trainable_variables, non_trainable_variables, metric_variables, x, y):
    y_pred, non_trainable_variables = model.stateless_call(
        trainable_variables, non_trainable_variables, x, training=True)
    loss = loss_fn(y, y_pred)
    metric_variables = metric.stateless_update_state(metric_variables, y, y_pred)
    return loss, (non_trainable_variables, metric_variables)

grad_fn = jax.value_and_grad(compute_loss_and_updates, has_aux=True)

@jax.jit
def train_step(state, data):
    trainable_variables, non_trainable_variables, optimizer_variables, metric_variables = state
    x, y = data
    (loss, (non_trainable_variables, metric_variables)), grads = grad_fn(
        trainable_variables, non_trainable_variables, metric_variables, x, y)
    trainable_variables, optimizer_variables = optimizer.stateless_apply(
        optimizer_variables, grads, trainable_variables)
    return loss, (trainable_variables, non_trainable_variables, optimizer_variables, metric_variables)

optimizer.build(model.trainable_variables)
state = tuple([v.value for v in variables] for variables in (
    model.trainable_variables, model.non_trainable_variables, optimizer.variables, metric.variables))
for batch in batches:
    loss, state = train_step(state, batch)
    losses.append(loss)
trainable_variables, non_trainable_variables, optimizer_variables, metric_variables = state
for variable, value in zip(model.trainable_variables, trainable_variables):
    variable.assign(value)
for variable, value in zip(model.non_trainable_variables, non_trainable_variables):
    variable.assign(value)
for variable, value in zip(metric.variables, metric_variables):
    variable.assign(value)
out["stateless_result"] = [float(metric.stateless_result(metric_variables))]
out["reset"] = [float(np.sum(np.asarray(v))) for v in metric.stateless_reset_state()]
"""

# The TensorFlow guide: a tape eagerly, then the same step in tf.function.
TF_GUIDE = """
import tensorflow as tf

def train_step(x, y):
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss_value = loss_fn(y, logits)
    grads = tape.gradient(loss_value, model.trainable_weights)
    optimizer.apply(grads, model.trainable_weights)
    metric.update_state(y, logits)
    return loss_value

@tf.function
def compiled_step(x, y):
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss_value = loss_fn(y, logits)
    grads = tape.gradient(loss_value, model.trainable_weights)
    optimizer.apply_gradients(zip(grads, model.trainable_weights))
    metric.update_state(y, logits)
    return loss_value

for step, (x, y) in enumerate(batches):
    losses.append((train_step if step < 2 else compiled_step)(x, y))
"""

# The PyTorch guide: backward() into the variables' .grad and a Keras
# optimizer, then torch.optim over model.parameters() with a torch loss.
TORCH_GUIDE = """
import torch

for x, y in batches[:2]:
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    logits = model(x)
    loss = loss_fn(y, logits)
    model.zero_grad()
    trainable_weights = [v for v in model.trainable_weights]
    loss.backward()
    gradients = [v.value.grad for v in trainable_weights]
    with torch.no_grad():
        optimizer.apply(gradients, trainable_weights)
    metric.update_state(y, logits)
    losses.append(loss.detach())

torch_optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
torch_loss = torch.nn.CrossEntropyLoss()
for x, y in batches[2:]:
    x, y = torch.from_numpy(x), torch.from_numpy(y).long()
    logits = model(x, training=True)
    loss = torch_loss(logits, y)
    model.zero_grad()
    loss.backward()
    torch_optimizer.step()
    losses.append(loss.detach())
"""

GUIDES = {"jax": JAX_GUIDE, "tensorflow": TF_GUIDE, "torch": TORCH_GUIDE}
SHAPES = [(8, 16), (16,), (16,), (16,), (16,), (16,), (16, 4), (4,)]  # BatchNormalization's variance: index 5


def _data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    data = {"x": rng.standard_normal((64, 8)).astype("float32"), "y": rng.integers(0, 4, 64).astype("int32")}
    for i, shape in enumerate(SHAPES):
        w = rng.uniform(0.5, 1.5, shape) if i == 5 else rng.standard_normal(shape) * 0.3
        data[f"w{i}"] = w.astype("float32")
    return data


def _run_polykeras(code: str, data: dict[str, np.ndarray]) -> dict:
    out: dict = {}
    exec(compile(code, "polykeras_guide", "exec"), {"keras": polykeras, "np": np, "data": data, "out": out})
    return out


def _model() -> polykeras.Model:
    inputs = polykeras.Input(shape=(8,))
    return polykeras.Model(inputs, layers.Dense(4)(layers.BatchNormalization()(layers.Dense(16)(inputs))))


def test_guide_loop_matches_keras(engine):
    guide = GUIDES.get(engine.name)
    if guide is None:  # the NumPy engine: no framework of its own, so no native module
        with pytest.raises(NotImplementedError, match=f"'{engine.name}' engine offers no native module of a layer"):
            engine.native_module(_model())
        return
    data = _data()
    code = PRELUDE + guide + EPILOGUE
    ours = _run_polykeras(code, data)
    theirs = run_keras(code, data, backend=engine.name)
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours["metric"], theirs["metric"], rtol=1e-6)
    for i in range(len(SHAPES)):
        np.testing.assert_allclose(ours[f"w{i}"], theirs[f"w{i}"], rtol=1e-4, atol=1e-5, err_msg=f"weight {i}")
        assert not np.allclose(ours[f"w{i}"], data[f"w{i}"]) or i == 5, f"weight {i} never changed"
    for key in ("stateless_result", "reset"):
        if key in theirs:
            np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-6)


def test_stateless_call_touches_no_variable(engine):
    model = _model()
    x = np.random.default_rng(1).standard_normal((5, 8)).astype("float32")
    before = model.get_weights()
    doubled = [engine.multiply(v.value, 2.0) for v in model.trainable_variables]
    y, non_trainable = model.stateless_call(doubled, model.non_trainable_variables, x, training=True)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    moving_mean = np.asarray(engine.to_numpy(non_trainable[0]))
    assert not np.allclose(moving_mean, 0.0)  # BatchNormalization's update came back as a value
    for variable, value in zip(model.trainable_variables, doubled):
        variable.assign(value)
    np.testing.assert_allclose(engine.to_numpy(y), engine.to_numpy(model(x, training=True)), rtol=1e-5, atol=1e-6)
    y, _, losses = model.stateless_call(model.trainable_variables, model.non_trainable_variables, x,
                                        return_losses=True)
    assert losses == []


def test_stateless_call_errors_name_the_layer(engine):
    model = _model()
    with pytest.raises(ValueError, match=r"'functional.*'\.stateless_call: expected 6 trainable values .* received 3"):
        model.stateless_call(model.trainable_variables[:3], model.non_trainable_variables, np.zeros((1, 8)))
    with pytest.raises(ValueError, match=r"expected 2 non-trainable values .* received dict"):
        model.stateless_call(model.trainable_variables, {}, np.zeros((1, 8)))
    with pytest.raises(ValueError, match=r"'lazy'\.stateless_call: expected a built layer"):
        layers.Dense(2, name="lazy").stateless_call([], [], np.zeros((1, 8)))


def test_layer_lends_only_its_engines_module_names(engine):
    model = _model()
    for name in engine.native_module_names:
        assert callable(getattr(model, name)), name
    for name in {"parameters", "zero_grad"} - engine.native_module_names:
        with pytest.raises(AttributeError, match=f"object has no attribute '{name}'"):
            getattr(model, name)
    with pytest.raises(AttributeError, match="'Functional' object has no attribute 'no_such_thing'"):
        model.no_such_thing  # noqa: B018


def test_native_module_shares_the_weights(engine):
    model = _model()
    if "named_parameters" not in engine.native_module_names:  # jax/tensorflow: see tests/interop/test_native_out.py
        if not engine.native_framework:
            with pytest.raises(NotImplementedError, match="native_module"):
                engine.native_module(model)
        return
    parameters = dict(model.named_parameters())
    assert list(parameters) == [v.path for v in model.variables]
    assert all(p is v.value for p, v in zip(parameters.values(), model.variables))  # the weights, not copies
    module = engine.native_module(model)
    np.testing.assert_allclose(engine.to_numpy(module(np.ones((2, 8), "float32"))),
                               engine.to_numpy(model(np.ones((2, 8), "float32"))))
