"""Recurrent layers on every engine, part 1: SimpleRNN/LSTM/GRU against a
NumPy (float64) implementation of Keras' equations and against Keras 3 with
Keras' weights; shapes for every return_sequences/return_state combination;
the fused sequence kernels against the step-by-step loop; check_layer
(configs, weight round trips, gradients, the numbers against the NumPy
engine). Part 2 (masks, states, dropout, wrappers, training) is
test_rnn_features.py; the references below serve both."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pytest

import polykeras.backends as B
from conformance.tolerances import assert_close, tolerance
from polykeras import layers, ops

from .helpers import check_layer, layer_outputs, run_keras
from .keras_reference import keras_reference  # noqa: F401  (sets KERAS_BACKEND=numpy before Keras loads)

LAYER_TOL = dict(zip(("rtol", "atol"), tolerance("layer")))
KINDS = {"SimpleRNN": layers.SimpleRNN, "LSTM": layers.LSTM, "GRU": layers.GRU}


SHAPE = (2, 4, 3)  # one shape (and units=3) throughout: JAX and TF compile each op once


def sequences(shape: tuple[int, ...] = SHAPE, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def random_weights(layer: Any, seed: int = 1) -> list[np.ndarray]:
    """Weights of order 0.5 for every weight of ``layer`` (not the
    initializers' values: the reference must not lean on them)."""
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(w.shape) * 0.5).astype("float32") for w in layer.weights]


# ------------------------------------------------------- NumPy reference
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def cell_step(kind: str, x: np.ndarray, states: list[np.ndarray], weights: list[np.ndarray],
              reset_after: bool = True) -> tuple[np.ndarray, list[np.ndarray]]:
    """One step of Keras' equations in float64."""
    kernel, recurrent = weights[0], weights[1]
    bias = weights[2] if len(weights) > 2 else None
    h = states[0]
    if kind == "SimpleRNN":
        out = np.tanh(x @ kernel + (0 if bias is None else bias) + h @ recurrent)
        return out, [out]
    if kind == "LSTM":
        z = x @ kernel + h @ recurrent + (0 if bias is None else bias)
        i, f, g, o = np.split(z, 4, axis=-1)
        c = _sigmoid(f) * states[1] + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        return h, [h, c]
    units = recurrent.shape[0]
    if reset_after:
        x_all = x @ kernel + (0 if bias is None else bias[0])
        h_all = h @ recurrent + (0 if bias is None else bias[1])
        z = _sigmoid(x_all[:, :units] + h_all[:, :units])
        r = _sigmoid(x_all[:, units:2 * units] + h_all[:, units:2 * units])
        candidate = np.tanh(x_all[:, 2 * units:] + r * h_all[:, 2 * units:])
    else:
        x_all = x @ kernel + (0 if bias is None else bias)
        h_zr = h @ recurrent[:, :2 * units]
        z = _sigmoid(x_all[:, :units] + h_zr[:, :units])
        r = _sigmoid(x_all[:, units:2 * units] + h_zr[:, units:])
        candidate = np.tanh(x_all[:, 2 * units:] + (r * h) @ recurrent[:, 2 * units:])
    h = z * h + (1 - z) * candidate
    return h, [h]


def reference_rnn(kind: str, x: np.ndarray, weights: list[np.ndarray], *, initial_state: list[np.ndarray] | None = None,
                  mask: np.ndarray | None = None, go_backwards: bool = False, reset_after: bool = True,
                  zero_output_for_mask: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
    """``(outputs (batch, time, units) in processing order, final states)``
    by the Keras (TensorFlow) rules: masked steps keep the states and repeat
    the previous output (zeros before any)."""
    x = x.astype(np.float64)
    weights = [w.astype(np.float64) for w in weights]
    batch, steps = x.shape[:2]
    units = weights[1].shape[0]
    count = 2 if kind == "LSTM" else 1
    states = ([s.astype(np.float64) for s in initial_state] if initial_state is not None
              else [np.zeros((batch, units)) for _ in range(count)])
    previous = np.zeros((batch, units))
    outputs = []
    for t in (range(steps - 1, -1, -1) if go_backwards else range(steps)):
        out, new = cell_step(kind, x[:, t], states, weights, reset_after)
        if mask is not None:
            keep = mask[:, t][:, None]
            new = [np.where(keep, n, s) for n, s in zip(new, states)]
            out = np.where(keep, out, 0.0 if zero_output_for_mask else previous)
        states, previous = new, out
        outputs.append(out)
    return np.stack(outputs, axis=1), states


# ----------------------------------------------------------- Keras 3
_KERAS_CACHE: dict[str, dict[str, Any]] = {}


def keras_run(code: str, data: dict[str, np.ndarray]) -> dict[str, Any]:
    """Run ``code`` with Keras 3 (NumPy backend, in this process when
    possible; ``keras``, ``np``, ``data`` and ``out`` defined), cached."""
    key = hashlib.sha1(code.encode() + b"".join(k.encode() + v.tobytes() for k, v in sorted(data.items()))).hexdigest()
    if key not in _KERAS_CACHE:
        _KERAS_CACHE[key] = run_keras(code, data, backend="numpy")
    return _KERAS_CACHE[key]


_KERAS_LAYER = """
spec = json.loads(SPEC)
layer = getattr(keras.layers, spec["class_name"])(**spec["kwargs"])
kwargs = {"mask": data["mask"].astype(bool)} if "mask" in data else {}
layer(data["x"], **kwargs)
rng = np.random.default_rng(1)
layer.set_weights([(rng.standard_normal(w.shape) * 0.5).astype("float32") for w in layer.weights])
y = layer(data["x"], **kwargs)
y = list(y) if isinstance(y, (list, tuple)) else [y]
for i, value in enumerate(y):
    out[f"y{i}"] = np.asarray(value)
for i, w in enumerate(layer.get_weights()):
    out[f"w{i}"] = np.asarray(w)
out["names"] = [w.path for w in layer.weights]
"""


def keras_layer(class_name: str, kwargs: dict[str, Any], x: np.ndarray, mask: np.ndarray | None = None) -> dict:
    """Keras' ``class_name(**kwargs)`` with random weights called on ``x``:
    ``{"y": [outputs], "weights": [...], "names": [weight paths]}``."""
    data = {"x": x} if mask is None else {"x": x, "mask": mask.astype("int8")}
    spec = json.dumps({"class_name": class_name, "kwargs": kwargs})
    out = keras_run(f"import json\nSPEC = {spec!r}\n{_KERAS_LAYER}", data)
    return {"y": [np.asarray(out[f"y{i}"]) for i in range(len([k for k in out if k.startswith("y")]))],
            "weights": [np.asarray(out[f"w{i}"]) for i in range(len(out["names"]))], "names": list(out["names"])}


def outputs_list(layer: Any, x: Any, **kwargs: Any) -> list[np.ndarray]:
    y = layer_outputs(layer, x, **kwargs)
    return y if isinstance(y, list) else [y]


# ------------------------------------------------------------- tests
CASES = [  # (kind, extra arguments, go_backwards)
    ("SimpleRNN", {}, False),
    ("SimpleRNN", {}, True),
    ("LSTM", {}, False),
    ("LSTM", {"use_bias": False}, True),
    ("GRU", {}, True),
    ("GRU", {"reset_after": False}, False),
    ("GRU", {"use_bias": False}, False),
]


@pytest.mark.parametrize("kind, extra, go_backwards", CASES,
                         ids=[f"{k}{e}{'-backwards' if b else ''}" for k, e, b in CASES])
def test_layers_follow_keras_equations(engine, kind, extra, go_backwards):
    x = sequences()
    layer = KINDS[kind](3, return_sequences=True, return_state=True, go_backwards=go_backwards, **extra)
    layer_outputs(layer, x)
    weights = random_weights(layer)
    layer.set_weights(weights)
    got = outputs_list(layer, x)
    want, states = reference_rnn(kind, x, weights, go_backwards=go_backwards,
                                 reset_after=extra.get("reset_after", True))
    assert_close(got[0], want, "layer", err_msg=f"{kind} outputs")
    for i, state in enumerate(states):
        assert_close(got[1 + i], state, "layer", err_msg=f"{kind} state {i}")


@pytest.mark.parametrize("kind, kwargs", [
    ("SimpleRNN", {"units": 3, "return_sequences": True}),
    ("LSTM", {"units": 3, "return_sequences": True, "return_state": True}),
    ("LSTM", {"units": 3, "go_backwards": True}),
    ("GRU", {"units": 3, "return_state": True}),
    ("GRU", {"units": 3, "reset_after": False, "return_sequences": True}),
], ids=str)
def test_layers_match_keras(engine, kind, kwargs):
    x = sequences(seed=3)
    ref = keras_layer(kind, kwargs, x)
    ours = KINDS[kind](**kwargs)
    layer_outputs(ours, x)
    relative = [w.path.split("/", 1)[1] for w in ours.weights]
    assert relative == [p.split("/", 1)[1] for p in ref["names"]], "weight paths/order differ from Keras 3"
    ours.set_weights(ref["weights"])
    for i, (got, want) in enumerate(zip(outputs_list(ours, x), ref["y"])):
        assert_close(got, want, "layer", err_msg=f"{kind}{kwargs} output {i} vs Keras 3")


@pytest.mark.parametrize("kind", list(KINDS))
def test_shapes_for_every_return_combination(engine, kind):
    x = sequences()
    states = {"SimpleRNN": 1, "LSTM": 2, "GRU": 1}[kind]
    for return_sequences in (False, True):
        for return_state in (False, True):
            layer = KINDS[kind](3, return_sequences=return_sequences, return_state=return_state)
            got = layer_outputs(layer, x)
            output_shape = (2, 4, 3) if return_sequences else (2, 3)
            expected = [output_shape] + [(2, 3)] * states if return_state else output_shape
            shapes = [a.shape for a in got] if return_state else got.shape
            assert shapes == expected, f"{kind} return_sequences={return_sequences} return_state={return_state}"
            predicted = layer.compute_output_shape((None, 4, 3))
            assert predicted == (tuple([(None, *output_shape[1:])] + [(None, 3)] * states) if return_state
                                 else (None, *output_shape[1:]))


@pytest.mark.parametrize("factory", [
    lambda: layers.SimpleRNN(3, return_sequences=True),
    lambda: layers.LSTM(3, return_state=True),
    lambda: layers.GRU(3, go_backwards=True, return_sequences=True),
    lambda: layers.GRU(3, reset_after=False),
    lambda: layers.RNN(layers.LSTMCell(3), return_sequences=True),
    lambda: layers.RNN([layers.SimpleRNNCell(3), layers.GRUCell(3)], return_state=True),
    lambda: layers.Bidirectional(layers.LSTM(3, return_sequences=True)),
], ids=["SimpleRNN", "LSTM-state", "GRU-backwards", "GRU-reset-before", "RNN-LSTMCell", "RNN-stacked",
        "Bidirectional"])
def test_check_layer(engine, factory):
    check_layer(factory, SHAPE, **LAYER_TOL)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_fused_kernel_equals_the_step_loop(diff_engine, kind):
    """The engine's sequence kernel (torch's fused one; the scan composite
    elsewhere), its portable definition and the cell loop agree, values and
    gradients."""
    x = sequences(seed=5)
    fused = KINDS[kind](3, return_sequences=True, return_state=True, go_backwards=True)
    loop = KINDS[kind](3, return_sequences=True, return_state=True, go_backwards=True, use_cudnn=False)
    layer_outputs(fused, x)
    layer_outputs(loop, x)
    weights = random_weights(fused)
    fused.set_weights(weights)
    loop.set_weights(weights)

    def loss_and_grads(layer: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
        from polykeras.variables import StatelessScope

        def loss(params: list[Any]) -> Any:
            with StatelessScope(list(zip(layer.trainable_weights, params))):
                out = layer(ops.convert_to_tensor(x))
            return ops.sum(ops.square(out[0])) + ops.sum(out[1])

        value, grads = ops.value_and_grad(loss)([v.value for v in layer.trainable_weights])
        return outputs_list(layer, x), [ops.to_numpy(g) for g in grads]

    fused_out, fused_grads = loss_and_grads(fused)
    loop_out, loop_grads = loss_and_grads(loop)
    with B.composite():
        composite_out = outputs_list(fused, x)
    for a, b, c in zip(fused_out, loop_out, composite_out):
        assert_close(a, b, "layer", err_msg=f"{kind}: fused kernel vs step loop")
        assert_close(c, b, "layer", err_msg=f"{kind}: portable kernel vs step loop")
    for a, b, w in zip(fused_grads, loop_grads, fused.trainable_weights):
        assert_close(a, b, "gradient", err_msg=f"{kind}: gradient of {w.path}")


def test_use_cudnn_true_refuses_what_the_kernel_cannot_do(engine):
    layer = layers.LSTM(2, use_cudnn=True, activation="relu")
    with pytest.raises(ValueError, match=r"LSTM 'lstm.*'.*use_cudnn=True"):
        layer(sequences())
    with pytest.raises(ValueError, match="use_cudnn"):
        layers.GRU(2, use_cudnn="sometimes")


def test_bad_arguments_name_the_layer(engine):
    with pytest.raises(ValueError, match=r"LSTMCell.*units.*received units=0"):
        layers.LSTM(0)
    with pytest.raises(ValueError, match=r"rank >= 3.*received shape \(2, 3\)"):
        layers.RNN(layers.SimpleRNNCell(2))(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="state_size"):
        layers.RNN(layers.Dense(2))
    with pytest.raises(ValueError, match=r"initial_state of 2 tensors.*received 1"):
        layers.LSTM(2)(sequences(), initial_state=[np.zeros((2, 2), "float32")])
