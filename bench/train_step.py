"""Steady-state training-step time: polykeras vs hand-written native loops vs Keras 3.

Models (batch 128, Adam, sparse cross-entropy from logits):
  mlp: 784-512-256-10
  cnn: conv32(3x3)-maxpool-conv64(3x3)-maxpool-flatten-dense10 on 28x28x1

For each engine, each implementation runs in its own process (Keras 3 fixes its
engine at import), warms up, then times ``--steps`` steps; the median of
``--rounds`` rounds is reported with the ratio to the native loop.

    python bench/train_step.py [--engines torch,jax,tensorflow] [--models mlp,cnn]
"""

from __future__ import annotations

import numpy as np
from _harness import main, polykeras_step_ms, timed

BATCH = 128


def data(model: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    shape = (BATCH, 784) if model == "mlp" else (BATCH, 28, 28, 1)
    return rng.standard_normal(shape).astype("float32"), rng.integers(0, 10, BATCH).astype("int32")


# ----------------------------------------------------------------- polykeras
def run_polykeras(engine: str, model_name: str, steps: int, rounds: int) -> float:
    import polykeras as pk
    import polykeras.backends as B
    from polykeras import layers

    x, y = data(model_name)
    with B.use(engine):
        pk.random.set_seed(0)
        if model_name == "mlp":
            model = pk.Sequential([pk.Input((784,)), layers.Dense(512, activation="relu"),
                                   layers.Dense(256, activation="relu"), layers.Dense(10)])
        else:
            model = pk.Sequential([pk.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
                                   layers.MaxPooling2D(), layers.Conv2D(64, 3, activation="relu"),
                                   layers.MaxPooling2D(), layers.Flatten(), layers.Dense(10)])
        model.compile(pk.optimizers.Adam(1e-3), pk.losses.SparseCategoricalCrossentropy(from_logits=True))
        return polykeras_step_ms(model, x, y, BATCH, steps, rounds)


# -------------------------------------------------------------------- native
def run_native(engine: str, model_name: str, steps: int, rounds: int) -> float:
    x, y = data(model_name)
    native = {"torch": _native_torch, "jax": _native_jax, "tensorflow": _native_tf}[engine]
    return native(model_name, x, y, steps, rounds)


def _native_torch(model_name, x, y, steps, rounds):
    import torch
    from torch import nn

    torch.manual_seed(0)
    if model_name == "mlp":
        net = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
        xt = torch.from_numpy(x)
    else:
        net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 5 * 5, 10))
        xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    yt = torch.from_numpy(y).long()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(net(xt), yt)
        loss.backward()
        optimizer.step()

    return timed(step, steps, rounds)


def _native_jax(model_name, x, y, steps, rounds):
    import jax
    import jax.numpy as jnp
    import optax

    key = jax.random.PRNGKey(0)
    keys = jax.random.split(key, 4)

    def glorot(k, shape):
        fan_in, fan_out = np.prod(shape[:-1]), shape[-1]
        if len(shape) == 4:
            fan_in, fan_out = np.prod(shape[:-1]), shape[-1] * np.prod(shape[:2])
        limit = np.sqrt(6 / (fan_in + fan_out))
        return jax.random.uniform(k, shape, minval=-limit, maxval=limit)

    if model_name == "mlp":
        sizes = [(784, 512), (512, 256), (256, 10)]
        params = [(glorot(k, s), jnp.zeros(s[-1])) for k, s in zip(keys, sizes)]

        def forward(params, xb):
            h = xb
            for i, (w, b) in enumerate(params):
                h = h @ w + b
                if i < len(params) - 1:
                    h = jax.nn.relu(h)
            return h
    else:
        params = [(glorot(keys[0], (3, 3, 1, 32)), jnp.zeros(32)), (glorot(keys[1], (3, 3, 32, 64)), jnp.zeros(64)),
                  (glorot(keys[2], (1600, 10)), jnp.zeros(10))]
        dn = ("NHWC", "HWIO", "NHWC")

        def forward(params, xb):
            h = xb
            for w, b in params[:2]:
                h = jax.nn.relu(jax.lax.conv_general_dilated(h, w, (1, 1), "VALID", dimension_numbers=dn) + b)
                h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
            h = h.reshape(h.shape[0], -1)
            return h @ params[2][0] + params[2][1]

    tx = optax.adam(1e-3, eps=1e-7)
    opt_state = tx.init(params)

    @jax.jit
    def train(params, opt_state, xb, yb):
        def loss_fn(p):
            return optax.softmax_cross_entropy_with_integer_labels(forward(p, xb), yb).mean()

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    xj, yj = jnp.asarray(x), jnp.asarray(y)
    state = {"p": params, "o": opt_state, "loss": None}

    def step():
        state["p"], state["o"], state["loss"] = train(state["p"], state["o"], xj, yj)

    return timed(step, steps, rounds, lambda: state["loss"].block_until_ready())


def _native_tf(model_name, x, y, steps, rounds):
    import tensorflow as tf

    tf.random.set_seed(0)
    init = tf.initializers.GlorotUniform(seed=0)
    if model_name == "mlp":
        shapes = [(784, 512), (512, 256), (256, 10)]
        params = [(tf.Variable(init(s)), tf.Variable(tf.zeros(s[-1]))) for s in shapes]

        def forward(xb):
            h = xb
            for i, (w, b) in enumerate(params):
                h = tf.matmul(h, w) + b
                if i < len(params) - 1:
                    h = tf.nn.relu(h)
            return h
    else:
        params = [(tf.Variable(init((3, 3, 1, 32))), tf.Variable(tf.zeros(32))),
                  (tf.Variable(init((3, 3, 32, 64))), tf.Variable(tf.zeros(64))),
                  (tf.Variable(init((1600, 10))), tf.Variable(tf.zeros(10)))]

        def forward(xb):
            h = xb
            for w, b in params[:2]:
                h = tf.nn.relu(tf.nn.conv2d(h, w, 1, "VALID") + b)
                h = tf.nn.max_pool2d(h, 2, 2, "VALID")
            h = tf.reshape(h, (tf.shape(h)[0], -1))
            return tf.matmul(h, params[2][0]) + params[2][1]

    variables = [v for pair in params for v in pair]
    optimizer = tf.optimizers.Adam(1e-3)

    @tf.function
    def train(xb, yb):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(yb, forward(xb)))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    xt, yt = tf.constant(x), tf.constant(y)
    state = {}

    def step():
        state["loss"] = train(xt, yt)

    return timed(step, steps, rounds, lambda: state["loss"].numpy())


# -------------------------------------------------------------------- keras 3
def run_keras(engine: str, model_name: str, steps: int, rounds: int) -> float:
    import keras

    x, y = data(model_name)
    keras.utils.set_random_seed(0)
    if model_name == "mlp":
        model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(512, activation="relu"),
                                  keras.layers.Dense(256, activation="relu"), keras.layers.Dense(10)])
    else:
        model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(32, 3, activation="relu"),
                                  keras.layers.MaxPooling2D(), keras.layers.Conv2D(64, 3, activation="relu"),
                                  keras.layers.MaxPooling2D(), keras.layers.Flatten(), keras.layers.Dense(10)])
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    state = {}

    def step():
        state["loss"] = model.train_on_batch(x, y)

    return timed(step, steps, rounds)


RUNNERS = {"polykeras": run_polykeras, "native": run_native, "keras": run_keras}


if __name__ == "__main__":
    main(__file__, __doc__.splitlines()[0], RUNNERS, engines="torch,jax,tensorflow", models="mlp,cnn", steps=30)
