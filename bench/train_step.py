"""Steady-state training-step time: polykeras vs hand-written native loops vs Keras 3.

Models (Adam, sparse cross-entropy from logits):
  mlp:         784-512-256-10, batch 128
  cnn:         conv32(3x3)-maxpool-conv64(3x3)-maxpool-flatten-dense10 on 28x28x1, batch 128
  transformer: 4 post-norm encoder layers (d_model 256, 4 heads, feed-forward 1024, relu) on
               sequences of 128, mean-pooled to dense10, batch 32
  resnet:      CIFAR-size (32x32x3): conv16-BN-relu stem, three stages of one basic block
               (16, 32, 64 filters; stride 2 and a 1x1 projection entering stages 2 and 3),
               global average pooling, dense10, batch 64
  (the LSTM and GRU steps are in bench/rnn_step.py)

A model name takes options after ``@``: ``mlp@jit`` compiles polykeras's and
Keras's steps with ``jit_compile=True`` (torch.compile on torch, XLA on
TensorFlow; the native loop stays as written), ``mlp@b32`` sets the batch
size, ``mlp@b32@spe8`` times a whole ``fit`` epoch of 64 batches with
``steps_per_execution=8`` per step (native: the same loop over the batches).

For each engine, each implementation runs in its own process (Keras 3 fixes its
engine at import) and warms up alone; then the processes take turns, one round
of ``--steps`` steps each, so that a change in the machine's load falls on all
of them. The median of ``--rounds`` rounds is reported with the ratio to the
native loop; ``--processes 3`` runs each implementation in three processes and
reports the median of their medians.

    python bench/train_step.py [--engines torch,jax,tensorflow] [--models mlp,cnn,transformer,resnet]
    python bench/train_step.py --engines torch --models mlp@jit,cnn@jit
    python bench/train_step.py --models mlp@b32@spe1,mlp@b32@spe8
"""

from __future__ import annotations

import numpy as np
from _harness import main, polykeras_step_ms, timed

CLASSES = 10
BATCHES = {"mlp": 128, "cnn": 128, "transformer": 32, "resnet": 64}
SEQ, D_MODEL, HEADS, FF, LAYERS = 128, 256, 4, 1024, 4
EPOCH_BATCHES = 64  # batches in the epoch an ``@spe`` figure times


def parse(spec: str) -> tuple[str, dict]:
    """``"mlp@b32@spe8"`` -> ``("mlp", {"batch": 32, "spe": 8, "jit": False})``."""
    name, *options = spec.split("@")
    opts = {"batch": BATCHES[name], "spe": None, "jit": False}
    for option in options:
        if option == "jit":
            opts["jit"] = True
        elif option.startswith("spe"):
            opts["spe"] = int(option[3:])
        elif option.startswith("b"):
            opts["batch"] = int(option[1:])
        else:
            raise ValueError(f"unknown model option {option!r} in {spec!r}")
    return name, opts


def data(name: str, batch: int, batches: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    shape = {"mlp": (784,), "cnn": (28, 28, 1), "transformer": (SEQ, D_MODEL), "resnet": (32, 32, 3)}[name]
    rows = batch * batches
    return rng.standard_normal((rows, *shape)).astype("float32"), rng.integers(0, CLASSES, rows).astype("int32")


# ------------------------------------------------- the model, in Keras's API
def build(keras, name: str):
    """The model in Keras 3's API (``keras`` is polykeras or Keras 3)."""
    layers = keras.layers
    if name == "mlp":
        return keras.Sequential([keras.Input((784,)), layers.Dense(512, activation="relu"),
                                 layers.Dense(256, activation="relu"), layers.Dense(CLASSES)])
    if name == "cnn":
        return keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
                                 layers.MaxPooling2D(), layers.Conv2D(64, 3, activation="relu"),
                                 layers.MaxPooling2D(), layers.Flatten(), layers.Dense(CLASSES)])
    if name == "transformer":
        inputs = keras.Input((SEQ, D_MODEL))
        h = inputs
        for _ in range(LAYERS):
            attended = layers.MultiHeadAttention(HEADS, D_MODEL // HEADS)(h, h)
            h = layers.LayerNormalization(epsilon=1e-5)(h + attended)
            ff = layers.Dense(D_MODEL)(layers.Dense(FF, activation="relu")(h))
            h = layers.LayerNormalization(epsilon=1e-5)(h + ff)
        return keras.Model(inputs, layers.Dense(CLASSES)(layers.GlobalAveragePooling1D()(h)))
    inputs = keras.Input((32, 32, 3))

    def conv_bn(h, filters, strides=1, kernel=3, relu=True):
        h = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False)(h)
        h = layers.BatchNormalization(epsilon=1e-5, momentum=0.9)(h)
        return layers.ReLU()(h) if relu else h

    h = conv_bn(inputs, 16)
    for stage, filters in enumerate((16, 32, 64)):
        strides = 1 if stage == 0 else 2
        shortcut = h if stage == 0 else conv_bn(h, filters, strides, kernel=1, relu=False)
        out = conv_bn(conv_bn(h, filters, strides), filters, relu=False)
        h = layers.ReLU()(layers.Add()([out, shortcut]))
    return keras.Model(inputs, layers.Dense(CLASSES)(layers.GlobalAveragePooling2D()(h)))


def _fit_step_ms(model, x, y, batch: int, spe: int, rounds: int, sync=lambda: None) -> float:
    """Milliseconds per step of ``fit`` over one epoch (``EPOCH_BATCHES`` batches)."""

    def epoch():
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)

    return timed(epoch, 1, rounds, sync, warmup=1) / EPOCH_BATCHES


# ----------------------------------------------------------------- polykeras
def run_polykeras(engine: str, spec: str, steps: int, rounds: int) -> float:
    import polykeras as pk
    import polykeras.backends as B

    name, opts = parse(spec)
    with B.use(engine):
        pk.random.set_seed(0)
        model = build(pk, name)
        model.compile(pk.optimizers.Adam(1e-3), pk.losses.SparseCategoricalCrossentropy(from_logits=True),
                      jit_compile=True if opts["jit"] else "auto", steps_per_execution=opts["spe"] or 1)
        if opts["spe"]:
            x, y = data(name, opts["batch"], EPOCH_BATCHES)
            return _fit_step_ms(model, x, y, opts["batch"], opts["spe"], rounds)
        x, y = data(name, opts["batch"])
        return polykeras_step_ms(model, x, y, opts["batch"], steps, rounds)


# -------------------------------------------------------------------- keras 3
def run_keras(engine: str, spec: str, steps: int, rounds: int) -> float:
    import keras

    name, opts = parse(spec)
    keras.utils.set_random_seed(0)
    model = build(keras, name)
    spe = opts["spe"] or 1
    if engine == "torch" and spe > 1:
        raise SystemExit("Keras 3 refuses steps_per_execution > 1 on torch")
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=True if opts["jit"] else "auto", steps_per_execution=spe)
    if opts["spe"]:
        x, y = data(name, opts["batch"], EPOCH_BATCHES)
        return _fit_step_ms(model, x, y, opts["batch"], spe, rounds)
    x, y = data(name, opts["batch"])
    return timed(lambda: model.train_on_batch(x, y), steps, rounds)


# -------------------------------------------------------------------- native
def run_native(engine: str, spec: str, steps: int, rounds: int) -> float:
    name, opts = parse(spec)
    batches = EPOCH_BATCHES if opts["spe"] else 1
    x, y = data(name, opts["batch"], batches)
    make = {"torch": _native_torch, "jax": _native_jax, "tensorflow": _native_tf}[engine]
    step, sync = make(name, opts["batch"])
    if opts["spe"]:  # a plain loop over the epoch's batches, per step
        b = opts["batch"]
        chunks = [(x[i * b:(i + 1) * b], y[i * b:(i + 1) * b]) for i in range(batches)]
        return timed(lambda: [step(*chunk) for chunk in chunks], 1, rounds, sync) / batches
    return timed(lambda: step(x, y), steps, rounds, sync)


def _init(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Glorot-uniform weights (every native model starts from the same kind)."""
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
    limit = np.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape).astype("float32")


def _native_torch(name: str, batch: int):
    import torch
    from torch import nn

    torch.manual_seed(0)
    if name == "mlp":
        net = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, CLASSES))
    elif name == "cnn":
        net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 5 * 5, CLASSES))
    elif name == "transformer":
        layer = nn.TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.0, batch_first=True)
        encoder = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)

        class Pool(nn.Module):
            def forward(self, h):
                return h.mean(1)

        net = nn.Sequential(encoder, Pool(), nn.Linear(D_MODEL, CLASSES))
    else:
        def conv_bn(cin, cout, stride=1, kernel=3):
            return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(cout))

        class Block(nn.Module):
            def __init__(self, cin, cout, stride):
                super().__init__()
                self.body = nn.Sequential(conv_bn(cin, cout, stride), nn.ReLU(), conv_bn(cout, cout))
                self.shortcut = nn.Identity() if cin == cout else conv_bn(cin, cout, stride, kernel=1)

            def forward(self, h):
                return torch.relu(self.body(h) + self.shortcut(h))

        net = nn.Sequential(conv_bn(3, 16), nn.ReLU(), Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2),
                            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, CLASSES))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    tensors: dict[int, tuple] = {}

    def to_torch(x, y):  # once per array, as the other loops hold their batches on the device
        if id(x) not in tensors:
            xt = torch.from_numpy(x)
            if xt.ndim == 4:
                xt = xt.permute(0, 3, 1, 2).contiguous()
            tensors[id(x)] = (xt, torch.from_numpy(y).long())
        return tensors[id(x)]

    def step(x, y):
        xt, yt = to_torch(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(net(xt), yt)
        loss.backward()
        optimizer.step()

    return step, lambda: None


def _native_jax(name: str, batch: int):
    import jax
    import jax.numpy as jnp
    import optax

    rng = np.random.default_rng(0)
    dense = lambda n_in, n_out: {"w": jnp.asarray(_init(rng, (n_in, n_out))), "b": jnp.zeros(n_out)}  # noqa: E731
    dn = ("NHWC", "HWIO", "NHWC")

    def conv(h, w, stride=1, padding="SAME"):
        return jax.lax.conv_general_dilated(h, w, (stride, stride), padding, dimension_numbers=dn)

    def layer_norm(h, p):
        mean, var = h.mean(-1, keepdims=True), h.var(-1, keepdims=True)
        return (h - mean) * jax.lax.rsqrt(var + 1e-5) * p["g"] + p["b"]

    def batch_norm(h, p, s):  # training mode: batch statistics, moving averages updated
        mean, var = h.mean((0, 1, 2)), h.var((0, 1, 2))
        new = {"mean": 0.9 * s["mean"] + 0.1 * mean, "var": 0.9 * s["var"] + 0.1 * var}
        return (h - mean) * jax.lax.rsqrt(var + 1e-5) * p["g"] + p["b"], new

    state: dict = {}
    if name == "mlp":
        params = [dense(784, 512), dense(512, 256), dense(256, CLASSES)]

        def forward(p, s, h):
            for i, d in enumerate(p):
                h = h @ d["w"] + d["b"]
                h = jax.nn.relu(h) if i < len(p) - 1 else h
            return h, s
    elif name == "cnn":
        params = [{"w": jnp.asarray(_init(rng, (3, 3, 1, 32))), "b": jnp.zeros(32)},
                  {"w": jnp.asarray(_init(rng, (3, 3, 32, 64))), "b": jnp.zeros(64)}, dense(1600, CLASSES)]

        def forward(p, s, h):
            for c in p[:2]:
                h = jax.nn.relu(conv(h, c["w"], padding="VALID") + c["b"])
                h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
            return h.reshape(h.shape[0], -1) @ p[2]["w"] + p[2]["b"], s
    elif name == "transformer":
        norm = lambda: {"g": jnp.ones(D_MODEL), "b": jnp.zeros(D_MODEL)}  # noqa: E731
        params = [{"q": dense(D_MODEL, D_MODEL), "k": dense(D_MODEL, D_MODEL), "v": dense(D_MODEL, D_MODEL),
                   "o": dense(D_MODEL, D_MODEL), "ln1": norm(), "ff1": dense(D_MODEL, FF), "ff2": dense(FF, D_MODEL),
                   "ln2": norm()} for _ in range(LAYERS)] + [dense(D_MODEL, CLASSES)]

        def forward(p, s, h):
            b, t, _ = h.shape
            for layer in p[:-1]:
                q, k, v = ((h @ layer[n]["w"] + layer[n]["b"]).reshape(b, t, HEADS, -1) for n in "qkv")
                weights = jax.nn.softmax(jnp.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(D_MODEL // HEADS), -1)
                attended = jnp.einsum("bhqk,bkhd->bqhd", weights, v).reshape(b, t, D_MODEL)
                h = layer_norm(h + attended @ layer["o"]["w"] + layer["o"]["b"], layer["ln1"])
                ff = jax.nn.relu(h @ layer["ff1"]["w"] + layer["ff1"]["b"]) @ layer["ff2"]["w"] + layer["ff2"]["b"]
                h = layer_norm(h + ff, layer["ln2"])
            return h.mean(1) @ p[-1]["w"] + p[-1]["b"], s
    else:
        def conv_bn(cin, cout, kernel=3):
            return ({"w": jnp.asarray(_init(rng, (kernel, kernel, cin, cout))), "g": jnp.ones(cout),
                     "b": jnp.zeros(cout)}, {"mean": jnp.zeros(cout), "var": jnp.ones(cout)})

        plan = [("stem", 3, 16, 1, 3)]
        for stage, (cin, cout) in enumerate(((16, 16), (16, 32), (32, 64))):
            stride = 1 if stage == 0 else 2
            plan += [(f"s{stage}a", cin, cout, stride, 3), (f"s{stage}b", cout, cout, 1, 3)]
            if stage:
                plan.append((f"s{stage}p", cin, cout, stride, 1))
        params, state = {}, {}
        for key, cin, cout, _, kernel in plan:
            params[key], state[key] = conv_bn(cin, cout, kernel)
        params["head"] = dense(64, CLASSES)
        strides = {key: stride for key, _, _, stride, _ in plan}

        def forward(p, s, h):
            new = {}

            def cbn(key, h):
                h, new[key] = batch_norm(conv(h, p[key]["w"], strides[key]), p[key], s[key])
                return h

            h = jax.nn.relu(cbn("stem", h))
            for stage in range(3):
                shortcut = cbn(f"s{stage}p", h) if stage else h
                h = jax.nn.relu(cbn(f"s{stage}b", jax.nn.relu(cbn(f"s{stage}a", h))) + shortcut)
            return h.mean((1, 2)) @ p["head"]["w"] + p["head"]["b"], new

    tx = optax.adam(1e-3, eps=1e-7)

    @jax.jit
    def train(params, state, opt_state, xb, yb):
        def loss_fn(p):
            logits, new_state = forward(p, state, xb)
            return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean(), new_state

        (loss, new_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), new_state, opt_state, loss

    arrays: dict[int, tuple] = {}
    held = {"p": params, "s": state, "o": tx.init(params), "loss": None}

    def step(x, y):
        if id(x) not in arrays:
            arrays[id(x)] = (jnp.asarray(x), jnp.asarray(y))
        held["p"], held["s"], held["o"], held["loss"] = train(held["p"], held["s"], held["o"], *arrays[id(x)])

    return step, lambda: held["loss"].block_until_ready()


def _native_tf(name: str, batch: int):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    variables: list = []

    def var(value):
        variables.append(tf.Variable(value))
        return variables[-1]

    dense = lambda n_in, n_out: (var(_init(rng, (n_in, n_out))), var(tf.zeros(n_out)))  # noqa: E731

    def apply_dense(h, d):
        return tf.matmul(h, d[0]) + d[1]

    if name == "mlp":
        params = [dense(784, 512), dense(512, 256), dense(256, CLASSES)]

        def forward(h):
            for i, d in enumerate(params):
                h = apply_dense(h, d)
                h = tf.nn.relu(h) if i < len(params) - 1 else h
            return h
    elif name == "cnn":
        convs = [(var(_init(rng, (3, 3, 1, 32))), var(tf.zeros(32))), (var(_init(rng, (3, 3, 32, 64))),
                                                                        var(tf.zeros(64)))]
        head = dense(1600, CLASSES)

        def forward(h):
            for w, b in convs:
                h = tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(h, w, 1, "VALID") + b), 2, 2, "VALID")
            return apply_dense(tf.reshape(h, (tf.shape(h)[0], -1)), head)
    elif name == "transformer":
        norm = lambda: (var(tf.ones(D_MODEL)), var(tf.zeros(D_MODEL)))  # noqa: E731
        blocks = [{"q": dense(D_MODEL, D_MODEL), "k": dense(D_MODEL, D_MODEL), "v": dense(D_MODEL, D_MODEL),
                   "o": dense(D_MODEL, D_MODEL), "ln1": norm(), "ff1": dense(D_MODEL, FF), "ff2": dense(FF, D_MODEL),
                   "ln2": norm()} for _ in range(LAYERS)]
        head = dense(D_MODEL, CLASSES)

        def layer_norm(h, p):
            mean, var_ = tf.nn.moments(h, axes=[-1], keepdims=True)
            return (h - mean) * tf.math.rsqrt(var_ + 1e-5) * p[0] + p[1]

        def forward(h):
            b, t = tf.shape(h)[0], tf.shape(h)[1]
            for layer in blocks:
                q, k, v = (tf.reshape(apply_dense(h, layer[n]), (b, t, HEADS, -1)) for n in "qkv")
                weights = tf.nn.softmax(tf.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(D_MODEL // HEADS), -1)
                attended = tf.reshape(tf.einsum("bhqk,bkhd->bqhd", weights, v), (b, t, D_MODEL))
                h = layer_norm(h + apply_dense(attended, layer["o"]), layer["ln1"])
                h = layer_norm(h + apply_dense(tf.nn.relu(apply_dense(h, layer["ff1"])), layer["ff2"]), layer["ln2"])
            return apply_dense(tf.reduce_mean(h, 1), head)
    else:
        moving: list = []

        def conv_bn(cin, cout, stride=1, kernel=3):
            stats = (tf.Variable(tf.zeros(cout), trainable=False), tf.Variable(tf.ones(cout), trainable=False))
            moving.append(stats)
            return (var(_init(rng, (kernel, kernel, cin, cout))), var(tf.ones(cout)), var(tf.zeros(cout)), stats,
                    stride)

        def apply_cbn(h, c):
            w, gamma, beta, (moving_mean, moving_var), stride = c
            h = tf.nn.conv2d(h, w, stride, "SAME")
            mean, var_ = tf.nn.moments(h, axes=[0, 1, 2])
            moving_mean.assign(0.9 * moving_mean + 0.1 * mean)
            moving_var.assign(0.9 * moving_var + 0.1 * var_)
            return tf.nn.batch_normalization(h, mean, var_, beta, gamma, 1e-5)

        stem = conv_bn(3, 16)
        stages = []
        for stage, (cin, cout) in enumerate(((16, 16), (16, 32), (32, 64))):
            stride = 1 if stage == 0 else 2
            stages.append((conv_bn(cin, cout, stride), conv_bn(cout, cout),
                           conv_bn(cin, cout, stride, kernel=1) if stage else None))
        head = dense(64, CLASSES)

        def forward(h):
            h = tf.nn.relu(apply_cbn(h, stem))
            for first, second, projection in stages:
                shortcut = apply_cbn(h, projection) if projection is not None else h
                h = tf.nn.relu(apply_cbn(tf.nn.relu(apply_cbn(h, first)), second) + shortcut)
            return apply_dense(tf.reduce_mean(h, (1, 2)), head)

    optimizer = tf.optimizers.Adam(1e-3)

    @tf.function
    def train(xb, yb):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(yb, forward(xb)))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    tensors: dict[int, tuple] = {}
    held = {}

    def step(x, y):
        if id(x) not in tensors:
            tensors[id(x)] = (tf.constant(x), tf.constant(y))
        held["loss"] = train(*tensors[id(x)])

    return step, lambda: held["loss"].numpy()


RUNNERS = {"polykeras": run_polykeras, "native": run_native, "keras": run_keras}


if __name__ == "__main__":
    main(__file__, __doc__.splitlines()[0], RUNNERS, engines="torch,jax,tensorflow",
         models="mlp,cnn,transformer,resnet", steps=30)
