"""Recurrent layers on every engine, part 2: masks (kept states and outputs,
propagation, Keras 3), stateful layers, dropout masks shared over time,
unroll, custom cells through ``RNN``, ``StackedRNNCells``,
``Bidirectional`` (merge modes, states, backward_layer, Keras 3), compiled
steps equal to eager calls, and an LSTM learning a toy task through fit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import polykeras as pk
from conformance.tolerances import assert_close
from polykeras import layers, ops

from .helpers import layer_outputs
from .test_rnn import KINDS, keras_layer, outputs_list, random_weights, reference_rnn, sequences

MASK = np.array([[1, 1, 1, 0], [0, 1, 0, 1]], bool)  # right-padded, and holes


# ------------------------------------------------------------------ masks
@pytest.mark.parametrize("kind, go_backwards", [("SimpleRNN", True), ("LSTM", False), ("LSTM", True), ("GRU", False)],
                         ids=["SimpleRNN-backwards", "LSTM", "LSTM-backwards", "GRU"])
def test_masked_steps_keep_states_and_outputs(engine, kind, go_backwards):
    x = sequences()
    layer = KINDS[kind](3, return_sequences=True, return_state=True, go_backwards=go_backwards)
    layer_outputs(layer, x)
    weights = random_weights(layer)
    layer.set_weights(weights)
    got = outputs_list(layer, x, mask=ops.convert_to_tensor(MASK))
    want, states = reference_rnn(kind, x, weights, mask=MASK, go_backwards=go_backwards)
    assert_close(got[0], want, "layer", err_msg=f"{kind} masked outputs")
    for i, state in enumerate(states):
        assert_close(got[1 + i], state, "layer", err_msg=f"{kind} masked state {i}")


def test_zero_output_for_mask(engine):
    x = sequences()
    layer = layers.GRU(3, return_sequences=True, zero_output_for_mask=True)
    layer_outputs(layer, x)
    weights = random_weights(layer)
    layer.set_weights(weights)
    want, _ = reference_rnn("GRU", x, weights, mask=MASK, zero_output_for_mask=True)
    got = layer_outputs(layer, x, mask=ops.convert_to_tensor(MASK))
    assert_close(got, want, "layer")
    assert np.all(got[~MASK] == 0)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_masked_layers_match_keras(engine, kind):
    x = sequences(seed=7)
    ref = keras_layer(kind, {"units": 3, "return_sequences": True, "return_state": True}, x, mask=MASK)
    ours = KINDS[kind](3, return_sequences=True, return_state=True)
    layer_outputs(ours, x)
    ours.set_weights(ref["weights"])
    for i, (got, want) in enumerate(zip(outputs_list(ours, x, mask=ops.convert_to_tensor(MASK)), ref["y"])):
        assert_close(got, want, "layer", err_msg=f"masked {kind} output {i} vs Keras 3")


def test_masks_flow_from_masking_into_the_next_layer(engine):
    x = sequences()
    x[0, 3:] = 0.0
    x[1, :1] = 0.0
    masked = layers.Masking(0.0)(ops.convert_to_tensor(x))
    sequence_layer = layers.LSTM(3, return_sequences=True, return_state=True)
    outputs = sequence_layer(masked)
    expected = np.any(x != 0, axis=-1)
    np.testing.assert_array_equal(ops.to_numpy(layers.get_mask(outputs[0])), expected)
    assert all(layers.get_mask(s) is None for s in outputs[1:])
    last = layers.GRU(3)(masked)
    assert layers.get_mask(last) is None
    explicit = outputs_list(sequence_layer, x, mask=ops.convert_to_tensor(expected))
    for a, b in zip(explicit, outputs):
        assert_close(a, ops.to_numpy(b), "layer")


def test_custom_cell_output_size_differs_from_its_state(engine):
    """A cell whose output is not its state: masked steps repeat the
    previous output (zeros first) shaped by ``output_size``."""
    x = sequences()
    layer = layers.RNN(RunningSum(), return_sequences=True, return_state=True)
    out, state = layer_outputs(layer, x, mask=ops.convert_to_tensor(MASK))
    running, previous, want = np.zeros((2, 3)), np.zeros((2, 1)), []
    for t in range(4):
        keep = MASK[:, t][:, None]
        running = np.where(keep, running + x[:, t], running)
        previous = np.where(keep, running.sum(-1, keepdims=True), previous)
        want.append(previous)
    assert_close(out, np.stack(want, 1), "reduction")
    assert_close(state, running, "reduction")
    assert layer.compute_output_shape((2, 4, 3)) == ((2, 4, 1), (2, 3))


# ------------------------------------------------------------ custom cells
class MinimalCell(layers.Layer):
    """Keras' documentation example: ``h = x @ kernel + h @ recurrent_kernel``."""

    def __init__(self, units: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape: Any) -> None:
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), name="recurrent_kernel")

    def call(self, inputs: Any, states: Any) -> Any:
        output = ops.add(ops.matmul(inputs, self.kernel), ops.matmul(states[0], self.recurrent_kernel))
        return output, [output]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units}


class RunningSum:
    """A cell that is not a Layer: state = running sum of the inputs,
    output = the sum of that state's features."""

    state_size = 3
    output_size = 1

    def call(self, inputs: Any, states: Any) -> Any:
        total = ops.add(states[0], inputs)
        return ops.sum(total, axis=-1, keepdims=True), [total]


def test_rnn_runs_a_custom_cell(engine):
    x = sequences()
    layer = layers.RNN(MinimalCell(3), return_sequences=True, go_backwards=True)
    layer_outputs(layer, x)
    kernel, recurrent = random_weights(layer)
    layer.set_weights([kernel, recurrent])
    h, want = np.zeros((2, 3)), []
    for t in reversed(range(4)):
        h = x[:, t] @ kernel + h @ recurrent
        want.append(h)
    assert_close(layer_outputs(layer, x), np.stack(want, 1), "layer")
    clone = layers.RNN.from_config(layer.get_config(), custom_objects={"MinimalCell": MinimalCell})
    layer_outputs(clone, x)
    clone.set_weights([kernel, recurrent])
    assert_close(layer_outputs(clone, x), np.stack(want, 1), "layer")


def test_stacked_cells_equal_chained_layers(engine):
    x = sequences()
    stacked = layers.RNN(layers.StackedRNNCells([layers.LSTMCell(3), layers.GRUCell(3)]), return_sequences=True,
                         return_state=True)
    out, (h1, c1), h2 = layer_outputs(stacked, x)
    weights = random_weights(stacked)
    stacked.set_weights(weights)
    first, second = layers.LSTM(3, return_sequences=True, return_state=True), layers.GRU(3, return_sequences=True)
    first(x)
    first.set_weights(weights[:3])
    middle, h, c = outputs_list(first, x)
    second(middle)
    second.set_weights(weights[3:])
    out, (h1, c1), h2 = layer_outputs(stacked, x)
    assert_close(out, layer_outputs(second, middle), "layer")
    assert_close(h1, h, "layer")
    assert_close(c1, c, "layer")
    assert_close(h2, out[:, -1], "layer")
    assert stacked.compute_output_shape((2, 4, 3)) == ((2, 4, 3), [(2, 3), (2, 3)], (2, 3))


# ----------------------------------------------------------------- states
def test_stateful_layer_carries_states_across_calls(engine):
    x = sequences((2, 8, 3))
    layer = layers.LSTM(3, stateful=True, return_sequences=True)
    first = layer_outputs(layer, x[:, :4])
    assert len(layer.weights) == 3 and len(layer.variables) == 5, "states are variables, not weights"
    weights = layer.get_weights()
    middle = [v.numpy() for v in layer.states]
    second = layer_outputs(layer, x[:, 4:])
    plain = layers.LSTM(3, return_sequences=True)
    plain(x)
    plain.set_weights(weights)
    assert_close(np.concatenate([first, second], 1), layer_outputs(plain, x), "layer")
    h, c = (v.numpy() for v in layer.states)
    assert_close(h, second[:, -1], "layer")
    layer.reset_state()
    assert all(np.all(v.numpy() == 0) for v in layer.states)
    assert_close(layer_outputs(layer, x[:, :4]), first, "layer")
    layer.reset_state(middle)
    assert_close(layer_outputs(layer, x[:, 4:]), second, "layer")
    with pytest.raises(ValueError, match=r"fixed batch size: batches of 2 sequences.*received 3"):
        layer(sequences((3, 4, 3)), initial_state=[np.zeros((3, 3), "float32")] * 2)
    with pytest.raises(ValueError, match=r"reset_state: expected states of shapes"):
        layer.reset_state([h])
    with pytest.raises(ValueError, match="fixed batch size"):
        pk.Sequential([pk.Input((4, 3)), layers.GRU(2, stateful=True)])


def test_initial_state_and_encoder_decoder_graph(engine):
    x = sequences()
    encoder = layers.LSTM(3, return_state=True)
    decoder = layers.LSTM(3, return_sequences=True)
    source, target = pk.Input((4, 3)), pk.Input((4, 3))
    _, h, c = encoder(source)
    model = pk.Model([source, target], decoder(target, initial_state=[h, c]))
    _, h_eager, c_eager = encoder(x)
    want = decoder(x, initial_state=[h_eager, c_eager])
    assert_close(ops.to_numpy(model([x, x])), ops.to_numpy(want), "layer")
    zero_start = decoder(x)
    assert not np.allclose(ops.to_numpy(zero_start), ops.to_numpy(want))


# ---------------------------------------------------------------- dropout
def test_dropout_masks_are_shared_across_steps(engine):
    x = np.ones((8, 4, 3), "float32")
    layer = layers.SimpleRNN(3, activation=None, use_bias=False, kernel_initializer="identity",
                             recurrent_initializer="zeros", dropout=0.5, seed=1, return_sequences=True)
    y = layer_outputs(layer, x, training=True)
    assert set(np.unique(y)) <= {0.0, 2.0} and 0 < (y == 0).mean() < 1
    assert np.all(y == y[:, :1]), "one input mask for every step"
    assert not np.array_equal(y, layer_outputs(layer, x, training=True)), "a new mask for each call"
    np.testing.assert_array_equal(layer_outputs(layer, x), x)


def test_stacked_cells_share_their_dropout_masks_across_steps(diff_engine):
    """A cell inside a stack draws its masks before the time loop too, also
    in the compiled training step."""
    x = np.ones((8, 4, 3), "float32")
    cell = layers.SimpleRNNCell(3, activation=None, use_bias=False, kernel_initializer="identity",
                                recurrent_initializer="zeros", dropout=0.5, seed=1)
    layer = layers.RNN([cell], return_sequences=True)
    y = layer_outputs(layer, x, training=True)
    assert set(np.unique(y)) <= {0.0, 2.0} and 0 < (y == 0).mean() < 1
    assert np.all(y == y[:, :1]), "one input mask for every step"
    model = pk.Sequential([pk.Input((4, 3)), layer])
    model.compile(pk.optimizers.SGD(0.0), "mse")
    history = model.fit(x, np.zeros_like(x), batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_recurrent_dropout_trains_with_finite_gradients(diff_engine, kind):
    from polykeras.variables import StatelessScope

    x = sequences()
    layer = KINDS[kind](3, dropout=0.3, recurrent_dropout=0.3, seed=2)
    inference = layer_outputs(layer, x)
    assert not np.allclose(layer_outputs(layer, x, training=True), inference)
    variables = layer.trainable_weights

    def loss(params: list[Any]) -> Any:
        with StatelessScope(list(zip(variables, params))):
            return ops.sum(ops.square(layer(ops.convert_to_tensor(x), training=True)))

    _, grads = ops.value_and_grad(loss)([v.value for v in variables])
    for g, v in zip(grads, variables):
        g = ops.to_numpy(g)
        assert np.all(np.isfinite(g)) and np.any(g != 0), f"gradient of {v.path}"


# ----------------------------------------------------- unroll, compiled
def test_unroll_and_compiled_steps_equal_the_eager_loop(diff_engine):
    """model.predict runs jax.jit / tf.function (lax.scan, tf.while_loop,
    masks inside them); unroll=True gives the same numbers."""
    data = sequences()
    data[0, 3:] = 0.0
    inputs = pk.Input((4, 3))
    h = layers.Bidirectional(layers.GRU(3, return_sequences=True), merge_mode="sum")(layers.Masking(0.0)(inputs))
    model = pk.Model(inputs, layers.LSTM(3, go_backwards=True)(h))
    eager = ops.to_numpy(model(data))
    assert_close(model.predict(data, batch_size=2, verbose=0), eager, "layer")
    config = model.get_config()
    for layer_config in config["layers"]:
        if layer_config["class_name"] == "LSTM":
            layer_config["config"]["unroll"] = True
    unrolled = type(model).from_config(config)
    unrolled.set_weights(model.get_weights())
    assert unrolled.layers[-1].unroll
    assert_close(ops.to_numpy(unrolled(data)), eager, "layer")


# ---------------------------------------------------------- Bidirectional
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_merge_modes(engine, merge_mode):
    x = sequences()
    layer = layers.Bidirectional(layers.LSTM(3, return_sequences=True, return_state=True), merge_mode=merge_mode)
    layer_outputs(layer, x)
    weights = random_weights(layer)
    layer.set_weights(weights)
    got = outputs_list(layer, x)
    forward, f_states = reference_rnn("LSTM", x, weights[:3])
    backward, b_states = reference_rnn("LSTM", x, weights[3:], go_backwards=True)
    backward = backward[:, ::-1]
    merged = {"concat": [np.concatenate([forward, backward], -1)], "sum": [forward + backward],
              "mul": [forward * backward], "ave": [(forward + backward) / 2], None: [forward, backward]}[merge_mode]
    want = merged + f_states + b_states
    assert len(got) == len(want)
    for i, (a, b) in enumerate(zip(got, want)):
        assert_close(a, b, "layer", err_msg=f"merge_mode={merge_mode} output {i}")
    shapes = layer.compute_output_shape((2, 4, 3))
    assert [tuple(s) for s in (shapes if isinstance(shapes, (list, tuple)) and isinstance(shapes[0], tuple)
                               else [shapes])] == [a.shape for a in got]


def test_bidirectional_matches_keras_and_takes_a_backward_layer(engine):
    x = sequences(seed=9)
    code_ref = _keras_bidirectional(x)
    ours = layers.Bidirectional(layers.GRU(3, return_sequences=True))
    layer_outputs(ours, x)
    def tail(path: str) -> str:  # the direction, cell and weight: auto-name counters differ
        parts = path.split("/")
        return "/".join([parts[-3].split("_")[0], *parts[-2:]])

    assert [tail(w.path) for w in ours.weights] == [tail(p) for p in code_ref["names"]]
    ours.set_weights(code_ref["weights"])
    assert_close(layer_outputs(ours, x), code_ref["y"][0], "layer", err_msg="Bidirectional(GRU) vs Keras 3")
    mixed = layers.Bidirectional(layers.LSTM(3), backward_layer=layers.GRU(3, go_backwards=True), merge_mode="sum")
    assert layer_outputs(mixed, x).shape == (2, 3)
    owners = [w.path.split("/")[1] for w in mixed.weights]
    assert owners == [mixed.forward_layer.name] * 3 + [mixed.backward_layer.name] * 3
    assert mixed.forward_layer.name.startswith("forward_lstm")
    with pytest.raises(ValueError, match="opposite directions"):
        layers.Bidirectional(layers.LSTM(3), backward_layer=layers.LSTM(3))
    with pytest.raises(ValueError, match="return_sequences"):
        layers.Bidirectional(layers.LSTM(3), backward_layer=layers.LSTM(3, go_backwards=True, return_sequences=True))
    with pytest.raises(ValueError, match="merge_mode"):
        layers.Bidirectional(layers.LSTM(3), merge_mode="max")


def _keras_bidirectional(x: np.ndarray) -> dict:
    from .test_rnn import keras_run

    code = """
layer = keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True))
layer(data["x"])
rng = np.random.default_rng(1)
layer.set_weights([(rng.standard_normal(w.shape) * 0.5).astype("float32") for w in layer.weights])
out["y0"] = np.asarray(layer(data["x"]))
for i, w in enumerate(layer.get_weights()):
    out[f"w{i}"] = np.asarray(w)
out["names"] = [w.path for w in layer.weights]
"""
    out = keras_run(code, {"x": x})
    return {"y": [np.asarray(out["y0"])], "weights": [np.asarray(out[f"w{i}"]) for i in range(len(out["names"]))],
            "names": list(out["names"])}


def test_bidirectional_masks_give_zeros_on_masked_steps(engine):
    x = sequences()
    layer = layers.Bidirectional(layers.SimpleRNN(3, return_sequences=True), merge_mode=None)
    forward, backward = layer_outputs(layer, x, mask=ops.convert_to_tensor(MASK))
    assert np.all(forward[~MASK] == 0) and np.all(backward[~MASK] == 0)
    assert layer.forward_layer.zero_output_for_mask and layer.backward_layer.zero_output_for_mask


# --------------------------------------------------------------- training
def test_lstm_learns_a_toy_sequence_task(diff_engine):
    """Regress the mean of the first feature over time, with input dropout:
    the loss falls through model.fit on every differentiable engine."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6, 2)).astype("float32")
    y = x[:, :, :1].mean(axis=1) * 3.0
    pk.random.set_seed(0)
    model = pk.Sequential([pk.Input((6, 2)), layers.LSTM(8, dropout=0.1, seed=0), layers.Dense(1)])
    model.compile(pk.optimizers.Adam(0.03), "mse")
    history = model.fit(x, y, batch_size=16, epochs=12, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.3 * losses[0], losses


# ----------------------------------------------------------------- saving
def test_recurrent_models_save_and_load(engine, tmp_path):
    """A model archive brings back the weights by path and a stateful
    layer's states; the states stay out of the weights file."""
    x = sequences()
    inputs = pk.Input((4, 3), batch_size=2)
    h = layers.Bidirectional(layers.GRU(3, return_sequences=True))(inputs)
    h = layers.RNN([layers.LSTMCell(3), layers.SimpleRNNCell(2)], return_sequences=True)(h)
    model = pk.Model(inputs, layers.LSTM(3, stateful=True)(h))
    model(x)  # the stateful layer's states move away from zero
    model.save(tmp_path / "model.pkeras")  # polykeras' archive keeps the states; a Keras .keras file does not
    loaded = pk.saving.load_model(tmp_path / "model.pkeras")
    assert [w.path for w in loaded.weights] == [w.path for w in model.weights]
    for a, b in zip(loaded.layers[-1].states, model.layers[-1].states):
        assert np.any(b.numpy() != 0)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert_close(ops.to_numpy(loaded(x)), ops.to_numpy(model(x)), "layer")
    model.save_weights(tmp_path / "model.weights.h5")
    fresh = type(model).from_config(model.get_config())
    fresh.load_weights(tmp_path / "model.weights.h5")
    assert all(np.all(v.numpy() == 0) for v in fresh.layers[-1].states), "states are not weights"
    model.layers[-1].reset_state()
    assert_close(ops.to_numpy(fresh(x)), ops.to_numpy(model(x)), "layer")


_KERAS_WRITER = r'''
import sys, numpy as np, keras
from keras import layers
out = sys.argv[1]
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(2, 4, 3)).astype("float32")
x[0, 3:] = 0.0
model = keras.Sequential([keras.Input((4, 3)), layers.Masking(0.0),
                          layers.Bidirectional(layers.LSTM(3, return_sequences=True), name="bi"),
                          layers.GRU(3, return_sequences=True, go_backwards=True, name="gru"),
                          layers.RNN([layers.SimpleRNNCell(2), layers.LSTMCell(2)], name="stacked")])
for w in model.weights:
    w.assign(rng.normal(size=w.shape).astype("float32") * 0.5)
model.save(f"{out}/rnn.keras")
np.savez(f"{out}/io.npz", x=x, y=np.asarray(model.predict(x, verbose=0)))
'''


@pytest.fixture(scope="module")
def keras_rnn_file(tmp_path_factory):
    """A .keras archive of recurrent layers written by Keras 3 (JAX backend)."""
    import importlib.util
    import os
    import subprocess
    import sys

    if importlib.util.find_spec("keras") is None or importlib.util.find_spec("jax") is None:
        pytest.skip("needs keras and jax")
    folder = tmp_path_factory.mktemp("keras_rnn")
    script = folder / "write.py"
    script.write_text(_KERAS_WRITER)
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, str(script), str(folder)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


def test_keras_saved_recurrent_model_loads(engine, keras_rnn_file):
    io = np.load(keras_rnn_file / "io.npz")
    model = pk.saving.load_model(keras_rnn_file / "rnn.keras")
    assert [w.path for w in model.weights][:2] == ["bi/forward_lstm/lstm_cell/kernel",
                                                   "bi/forward_lstm/lstm_cell/recurrent_kernel"]
    assert_close(ops.to_numpy(model(io["x"])), io["y"], "model", err_msg="Keras 3 model's predictions")
