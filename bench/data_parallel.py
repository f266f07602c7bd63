"""Data-parallel training-step time: polykeras's ``DataParallel`` vs the
engine's own data parallelism written by hand vs Keras 3.

The MLP of ``train_step.py`` (784-512-256-10, Adam, sparse cross-entropy from
logits) on a global batch of 256 split over two replicas:

* tensorflow: two logical CPU devices; native = a ``MirroredStrategy`` loop,
  Keras 3 = ``fit`` under the same strategy;
* torch: two gloo processes (one thread each); native =
  ``DistributedDataParallel`` + ``torch.optim.Adam``; Keras 3 has no torch
  data parallelism (``-``);
* jax: two forced host CPU devices; native = ``jax.jit`` over a batch sharded
  on a 1-D mesh with optax's Adam, Keras 3 = ``fit`` under
  ``keras.distribution.DataParallel``.

Model ``fsdp`` is the same step fully sharded (each replica stores half of
the weights and Adam's slots): polykeras's ``FullyShardedDataParallel``;
native = torch's ``fully_shard`` on every Linear and the root / a JAX ``jit``
with the weights and optimizer state placed ``P("batch")`` on the mesh; Keras
3 = ``keras.distribution.ModelParallel`` with every weight split on the batch
axis (JAX only). TensorFlow has no fully sharded strategy (``-``).

Each implementation runs in its own process (torch: its own pair), the
implementations taking their rounds in turn; the median of ``--rounds`` rounds
of ``--steps`` steps is reported with the ratio to the native loop.

    python bench/data_parallel.py [--engines tensorflow,torch,jax] [--models mlp,fsdp] [--steps 30] [--rounds 5]
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys

import numpy as np
from _harness import main, polykeras_step_ms, timed

BATCH = 256
REPLICAS = 2


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((BATCH, 784)).astype("float32"), rng.integers(0, 10, BATCH).astype("int32")


def strategy():
    """A MirroredStrategy over two logical CPU devices (set before TensorFlow starts)."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * REPLICAS)
    return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(REPLICAS)])


def jax_devices() -> None:
    """Two host CPU devices for JAX (set before JAX is imported)."""
    os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={REPLICAS}"


# ----------------------------------------------------------------- polykeras
def run_polykeras(engine: str, model_name: str, steps: int, rounds: int) -> float | None:
    sharded = model_name == "fsdp"
    if sharded and engine == "tensorflow":
        return None  # no fully sharded strategy on TensorFlow (NotImplementedError)
    if engine == "torch":
        return _two_ranks(lambda rank, steps, rounds: _polykeras(engine, steps, rounds, sharded, join=True),
                          steps, rounds)
    if engine == "jax":
        jax_devices()
    else:
        strategy()  # only to split the CPU; polykeras makes its own strategy
    return _polykeras(engine, steps, rounds, sharded)


def _polykeras(engine: str, steps: int, rounds: int, sharded: bool, join: bool = False) -> float:
    """The step under ``DataParallel`` (``sharded``: ``FullyShardedDataParallel``);
    ``join``: first join the run (torch's two processes)."""
    os.environ["POLYKERAS_BACKEND"] = engine
    import polykeras as pk
    import polykeras.distribution as dist
    from polykeras import layers

    if join:
        dist.initialize(timeout=120)
    x, y = data()
    with dist.FullyShardedDataParallel() if sharded else dist.DataParallel():
        pk.random.set_seed(0)
        model = pk.Sequential([pk.Input((784,)), layers.Dense(512, activation="relu"),
                               layers.Dense(256, activation="relu"), layers.Dense(10)])
        model.compile(pk.optimizers.Adam(1e-3), pk.losses.SparseCategoricalCrossentropy(from_logits=True))
        ms = polykeras_step_ms(model, x, y, BATCH, steps, rounds)
    if join:
        dist.shutdown()
    return ms


# -------------------------------------------------------------------- native
def run_native(engine: str, model_name: str, steps: int, rounds: int) -> float | None:
    sharded = model_name == "fsdp"
    if engine == "torch":
        return _two_ranks(lambda rank, steps, rounds: _native_torch(rank, steps, rounds, sharded), steps, rounds)
    if engine == "jax":
        return _native_jax(steps, rounds, sharded)
    if sharded:
        return None
    mirrored = strategy()
    import tensorflow as tf

    x, y = data()
    init = tf.initializers.GlorotUniform(seed=0)
    shapes = [(784, 512), (512, 256), (256, 10)]
    with mirrored.scope():
        params = [(tf.Variable(init(s)), tf.Variable(tf.zeros(s[-1]))) for s in shapes]
        variables = [v for pair in params for v in pair]
        slots = [(tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v))) for v in variables]
        count = tf.Variable(0.0)

    def replica(xb, yb):
        context = tf.distribute.get_replica_context()
        rows = BATCH // REPLICAS
        start = context.replica_id_in_sync_group * rows
        xb, yb = xb[start:start + rows], yb[start:start + rows]
        with tf.GradientTape() as tape:
            h = xb
            for i, (w, b) in enumerate(params):
                h = tf.matmul(h, w) + b
                h = tf.nn.relu(h) if i < len(params) - 1 else h
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(yb, h))
        grads = context.all_reduce(tf.distribute.ReduceOp.MEAN, tape.gradient(loss, variables))
        t = count + 1.0
        tf.raw_ops.AssignVariableOp(resource=count.handle, value=t)
        for v, (m, s), g in zip(variables, slots, grads):
            tf.raw_ops.ResourceApplyAdam(var=v.handle, m=m.handle, v=s.handle, beta1_power=0.9 ** t,
                                         beta2_power=0.999 ** t, lr=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-7,
                                         grad=g)
        return loss

    @tf.function
    def train(xb, yb):
        return mirrored.experimental_local_results(mirrored.run(replica, args=(xb, yb)))[0]

    xt, yt = tf.constant(x), tf.constant(y)
    state = {}

    def step():
        state["loss"] = train(xt, yt)

    return timed(step, steps, rounds, lambda: state["loss"].numpy())


# -------------------------------------------------------------------- keras 3
def run_keras(engine: str, model_name: str, steps: int, rounds: int) -> float | None:
    sharded = model_name == "fsdp"
    if engine == "torch" or sharded and engine == "tensorflow":
        return None  # Keras 3 has no data parallelism on torch, no sharded weights on TensorFlow
    if engine == "jax":
        jax_devices()
        import keras

        if sharded:  # every weight (and so its optimizer slots) split on axis 0 over the batch axis
            mesh = keras.distribution.DeviceMesh((REPLICAS,), ["batch"], keras.distribution.list_devices())
            layouts = keras.distribution.LayoutMap(mesh)
            layouts[".*kernel"] = ("batch", None)
            layouts[".*bias"] = ("batch",)
            keras.distribution.set_distribution(keras.distribution.ModelParallel(layout_map=layouts,
                                                                                 batch_dim_name="batch"))
        else:
            keras.distribution.set_distribution(keras.distribution.DataParallel())
        scope = contextlib.nullcontext()
    else:
        scope = strategy().scope()
        import keras

    x, y = data()
    with scope:
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(512, activation="relu"),
                                  keras.layers.Dense(256, activation="relu"), keras.layers.Dense(10)])
        model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def step():
        model.train_on_batch(x, y)

    return timed(step, steps, rounds)


# --------------------------------------------------------------------- torch
def _two_ranks(run, steps: int, rounds: int) -> float:
    """Run ``run`` as rank 0 of two gloo processes (this process starts rank 1,
    the same command); rank 0's figure is the result."""
    import torch

    torch.set_num_threads(1)
    rank = int(os.environ.get("RANK", "0"))
    peer = None
    if rank == 0:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE="2")
        peer = subprocess.Popen([sys.executable, *sys.argv], env=dict(os.environ, RANK="1"),
                                stdout=subprocess.DEVNULL)
    try:
        return run(rank, steps, rounds)
    finally:
        if peer is not None:
            peer.wait(timeout=600)


def _native_torch(rank: int, steps: int, rounds: int, sharded: bool) -> float:
    import torch
    import torch.distributed as torch_dist
    from torch import nn

    torch_dist.init_process_group("gloo", rank=rank, world_size=2)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    if sharded:
        from torch.distributed.fsdp import fully_shard

        for layer in model:
            if isinstance(layer, nn.Linear):
                fully_shard(layer)
        fully_shard(model)
    else:
        model = nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3, foreach=True)
    x, y = data()
    rows = slice(rank * BATCH // 2, (rank + 1) * BATCH // 2)
    xb, yb = torch.from_numpy(x[rows]), torch.from_numpy(y[rows]).long()

    def step():
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(xb), yb).backward()
        optimizer.step()

    ms = timed(step, steps, rounds)
    torch_dist.destroy_process_group()
    return ms


# ----------------------------------------------------------------------- jax
def _native_jax(steps: int, rounds: int, fully_sharded: bool) -> float:
    jax_devices()
    import jax
    import jax.numpy as jnp
    import optax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    mesh = Mesh(np.array(jax.devices()), ("batch",))
    replicated, sharded = NamedSharding(mesh, PartitionSpec()), NamedSharding(mesh, PartitionSpec("batch"))
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    sizes = [(784, 512), (512, 256), (256, 10)]
    params = [(jax.random.uniform(k, s, minval=-(6 / sum(s)) ** 0.5, maxval=(6 / sum(s)) ** 0.5), jnp.zeros(s[-1]))
              for k, s in zip(keys, sizes)]
    placed = sharded if fully_sharded else replicated  # every dimension 0 here is even
    params = jax.device_put(params, placed)
    tx = optax.adam(1e-3, eps=1e-7)
    opt_state = tx.init(params)  # the moments lie as the weights do
    if not fully_sharded:
        opt_state = jax.device_put(opt_state, replicated)

    @jax.jit
    def train(params, opt_state, xb, yb):
        def loss_fn(p):
            h = xb
            for i, (w, b) in enumerate(p):
                h = h @ w + b
                h = jax.nn.relu(h) if i < len(p) - 1 else h
            return optax.softmax_cross_entropy_with_integer_labels(h, yb).mean()

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    x, y = data()
    xb, yb = jax.device_put(x, sharded), jax.device_put(y, sharded)
    state = {"p": params, "o": opt_state, "loss": None}

    def step():
        state["p"], state["o"], state["loss"] = train(state["p"], state["o"], xb, yb)

    return timed(step, steps, rounds, lambda: state["loss"].block_until_ready())


RUNNERS = {"polykeras": run_polykeras, "native": run_native, "keras": run_keras}


if __name__ == "__main__":
    main(__file__, __doc__.splitlines()[0], RUNNERS, engines="tensorflow,torch,jax", models="mlp", steps=30)
