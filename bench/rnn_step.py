"""Recurrent training-step time: polykeras vs hand-written native loops vs Keras 3.

One recurrent layer, 32 -> 128 units, over sequences of 32 steps, batch 64;
the last output regresses a random target (MSE) with Adam:

  lstm: LSTM(128)        gru: GRU(128) (reset_after=True)

Native: torch ``nn.LSTM`` / ``nn.GRU`` + ``torch.optim.Adam``; JAX the Keras
equations in ``lax.scan`` + optax Adam under ``jax.jit``; TensorFlow the same
equations in ``tf.scan`` + ``tf.optimizers.Adam`` under ``tf.function``.
Each implementation runs in its own process (Keras 3 fixes its engine at
import), warms up, then times ``--steps`` steps; the median of ``--rounds``
rounds is reported with the ratios.

    python bench/rnn_step.py [--engines torch,jax,tensorflow] [--models lstm,gru]
"""

from __future__ import annotations

import numpy as np
from _harness import main, polykeras_step_ms, timed

BATCH, STEPS, FEATURES, UNITS = 64, 32, 32, 128


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return (rng.standard_normal((BATCH, STEPS, FEATURES)).astype("float32"),
            rng.standard_normal((BATCH, UNITS)).astype("float32"))


# ----------------------------------------------------------------- polykeras
def run_polykeras(engine: str, model_name: str, steps: int, rounds: int) -> float:
    import polykeras as pk
    import polykeras.backends as B
    from polykeras import layers

    x, y = data()
    with B.use(engine):
        pk.random.set_seed(0)
        recurrent = layers.LSTM(UNITS) if model_name == "lstm" else layers.GRU(UNITS)
        model = pk.Sequential([pk.Input((STEPS, FEATURES)), recurrent])
        model.compile(pk.optimizers.Adam(1e-3), "mse")
        return polykeras_step_ms(model, x, y, BATCH, steps, rounds)


# -------------------------------------------------------------------- native
def run_native(engine: str, model_name: str, steps: int, rounds: int) -> float:
    return {"torch": _native_torch, "jax": _native_jax, "tensorflow": _native_tf}[engine](model_name, steps, rounds)


def _native_torch(model_name, steps, rounds):
    import torch
    from torch import nn

    x, y = (torch.from_numpy(a) for a in data())
    torch.manual_seed(0)
    net = (nn.LSTM if model_name == "lstm" else nn.GRU)(FEATURES, UNITS, batch_first=True)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()

    def step():
        optimizer.zero_grad(set_to_none=True)
        outputs, _ = net(x)
        loss = loss_fn(outputs[:, -1], y)
        loss.backward()
        optimizer.step()

    return timed(step, steps, rounds)


def _glorot(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    limit = np.sqrt(6 / sum(shape))
    return rng.uniform(-limit, limit, shape).astype("float32")


def _initial(model_name: str) -> list[np.ndarray]:
    gates = 4 if model_name == "lstm" else 3
    rng = np.random.default_rng(0)
    bias = np.zeros((gates * UNITS,) if model_name == "lstm" else (2, gates * UNITS), "float32")
    return [_glorot(rng, (FEATURES, gates * UNITS)), _glorot(rng, (UNITS, gates * UNITS)), bias]


def _cell(xp, sigmoid, model_name):
    """The Keras equations for one step, on array module ``xp``."""
    def lstm(carry, z, recurrent):
        h, c = carry
        i, f, g, o = xp.split(z + h @ recurrent, 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * xp.tanh(g)
        h = sigmoid(o) * xp.tanh(c)
        return (h, c)

    def gru(carry, z, recurrent, recurrent_bias):
        (h,) = carry
        x_z, x_r, x_h = xp.split(z, 3, axis=-1)
        h_z, h_r, h_h = xp.split(h @ recurrent + recurrent_bias, 3, axis=-1)
        zg, r = sigmoid(x_z + h_z), sigmoid(x_r + h_r)
        return (zg * h + (1 - zg) * xp.tanh(x_h + r * h_h),)

    return lstm if model_name == "lstm" else gru


def _native_jax(model_name, steps, rounds):
    import jax
    import jax.numpy as jnp
    import optax

    x, y = (jnp.asarray(a) for a in data())
    params = [jnp.asarray(p) for p in _initial(model_name)]
    cell = _cell(jnp, jax.nn.sigmoid, model_name)

    def forward(params, xb):
        kernel, recurrent, bias = params
        xs = jnp.transpose(xb, (1, 0, 2)) @ kernel + (bias if model_name == "lstm" else bias[0])
        zeros = jnp.zeros((xb.shape[0], UNITS))
        init = (zeros, zeros) if model_name == "lstm" else (zeros,)
        extra = () if model_name == "lstm" else (bias[1],)

        def step(carry, z):
            return cell(carry, z, recurrent, *extra), None

        carry, _ = jax.lax.scan(step, init, xs)
        return carry[0]

    tx = optax.adam(1e-3, eps=1e-7)
    state = {"p": params, "o": tx.init(params), "loss": None}

    @jax.jit
    def train(params, opt_state, xb, yb):
        loss, grads = jax.value_and_grad(lambda p: jnp.mean((forward(p, xb) - yb) ** 2))(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    def step():
        state["p"], state["o"], state["loss"] = train(state["p"], state["o"], x, y)

    return timed(step, steps, rounds, lambda: state["loss"].block_until_ready())


def _native_tf(model_name, steps, rounds):
    import tensorflow as tf

    x, y = (tf.constant(a) for a in data())
    variables = [tf.Variable(p) for p in _initial(model_name)]
    cell = _cell(tf, tf.sigmoid, model_name)
    optimizer = tf.optimizers.Adam(1e-3)

    def forward(xb):
        kernel, recurrent, bias = variables
        xs = tf.einsum("btf,fg->tbg", xb, kernel) + (bias if model_name == "lstm" else bias[0])
        zeros = tf.zeros((BATCH, UNITS))
        init = (zeros, zeros) if model_name == "lstm" else (zeros,)
        extra = () if model_name == "lstm" else (bias[1],)
        final = tf.scan(lambda carry, z: cell(carry, z, recurrent, *extra), xs, initializer=init)
        return final[0][-1]

    @tf.function
    def train(xb, yb):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((forward(xb) - yb) ** 2)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    state = {}

    def step():
        state["loss"] = train(x, y)

    return timed(step, steps, rounds, lambda: state["loss"].numpy())


# -------------------------------------------------------------------- keras 3
def run_keras(engine: str, model_name: str, steps: int, rounds: int) -> float:
    import keras

    x, y = data()
    keras.utils.set_random_seed(0)
    recurrent = keras.layers.LSTM(UNITS) if model_name == "lstm" else keras.layers.GRU(UNITS)
    model = keras.Sequential([keras.Input((STEPS, FEATURES)), recurrent])
    model.compile(keras.optimizers.Adam(1e-3), "mse")
    state = {}

    def step():
        state["loss"] = model.train_on_batch(x, y)

    return timed(step, steps, rounds)


RUNNERS = {"polykeras": run_polykeras, "native": run_native, "keras": run_keras}


if __name__ == "__main__":
    main(__file__, __doc__.splitlines()[0], RUNNERS, engines="torch,jax,tensorflow", models="lstm,gru", steps=20)
