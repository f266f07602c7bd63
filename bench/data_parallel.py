"""Data-parallel training-step time on TensorFlow: polykeras's ``DataParallel``
vs a hand-written ``MirroredStrategy`` loop vs Keras 3 under the same strategy.

The MLP of ``train_step.py`` (784-512-256-10, Adam, sparse cross-entropy from
logits) on a global batch of 256 split over two logical CPU devices. Each
implementation runs in its own process; the median of ``--rounds`` rounds of
``--steps`` steps is reported with the ratio to the native loop.

    python bench/data_parallel.py [--steps 30] [--rounds 5]
"""

from __future__ import annotations

import argparse

import numpy as np
from _harness import add_worker_arguments, measure, print_header, print_row, timed, worker

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


# ----------------------------------------------------------------- polykeras
def run_polykeras(engine: str, model_name: str, steps: int, rounds: int) -> float:
    strategy()  # only to split the CPU; polykeras makes its own strategy
    import polykeras as pk
    import polykeras.distribution as dist
    from polykeras import layers

    x, y = data()
    with dist.DataParallel():
        pk.random.set_seed(0)
        model = pk.Sequential([pk.Input((784,)), layers.Dense(512, activation="relu"),
                               layers.Dense(256, activation="relu"), layers.Dense(10)])
        model.compile(pk.optimizers.Adam(1e-3), pk.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.train_on_batch(x, y)
        batch = next(model._adapt(x, y, None, BATCH, False, None).epoch())
        train = model._function("train")
        last = {}

        def step():
            last["logs"] = train(batch)

        return timed(step, steps, rounds, lambda: pk.ops.to_numpy(last["logs"]["loss"]))


# -------------------------------------------------------------------- native
def run_native(engine: str, model_name: str, steps: int, rounds: int) -> float:
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
def run_keras(engine: str, model_name: str, steps: int, rounds: int) -> float:
    mirrored = strategy()
    import keras

    x, y = data()
    with mirrored.scope():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(512, activation="relu"),
                                  keras.layers.Dense(256, activation="relu"), keras.layers.Dense(10)])
        model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def step():
        model.train_on_batch(x, y)

    return timed(step, steps, rounds)


RUNNERS = {"polykeras": run_polykeras, "native": run_native, "keras": run_keras}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    add_worker_arguments(parser)
    args = parser.parse_args()
    if args.worker:
        worker(RUNNERS, args)
        return
    print(f"global batch {BATCH} over {REPLICAS} logical CPU devices (tf.distribute.MirroredStrategy)")
    print_header()
    times = {impl: measure(__file__, "tensorflow", impl, "mlp", args.steps, args.rounds) for impl in RUNNERS}
    print_row("mlp", "tensorflow", times)


if __name__ == "__main__":
    main()
