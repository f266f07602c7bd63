"""What the data-parallel workers share: the model, its seeded weights, the
data, the largest difference, and a user's own training loop. Import it after
the worker has set its environment (POLYKERAS_BACKEND, XLA_FLAGS)."""

import numpy as np

import polykeras as pk
import polykeras.distribution as dist
from polykeras import ops
from polykeras.trainers.step import compile_step


def make(batch_norm=False):
    """8 -> [BatchNormalization] -> Dense(16, relu) -> Dense(3), Adam, mse + mae."""
    head = [pk.layers.Input((8,))] + ([pk.layers.BatchNormalization()] if batch_norm else [])
    model = pk.Sequential([*head, pk.layers.Dense(16, activation="relu"), pk.layers.Dense(3)])
    model.compile("adam", "mse", metrics=["mae"])
    return model


def make_synchronized():
    """8 -> Dense(16, no bias) -> BatchNormalization(synchronized=True) -> relu -> Dense(3):
    the first kernel's gradient flows through the batch statistics."""
    model = pk.Sequential([pk.layers.Input((8,)), pk.layers.Dense(16, use_bias=False),
                           pk.layers.BatchNormalization(synchronized=True),
                           pk.layers.Activation("relu"), pk.layers.Dense(3)])
    model.compile("adam", "mse")
    return model


def thread_names():
    """The names of this process's threads (Linux): after ``shutdown()`` no
    gloo or store thread may be left, or the process aborts at exit."""
    import glob

    return sorted(open(task).read().strip() for task in glob.glob("/proc/self/task/*/comm"))


def seeded(model):
    """The same weights in every process (drawn from a fixed NumPy seed)."""
    draw = np.random.default_rng(42)
    model.set_weights([draw.normal(scale=0.3, size=w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


def data(rows):
    """``rows`` inputs (8 features, not centred) and targets (3)."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(rows, 8)).astype("float32") * 3 + 1, rng.normal(size=(rows, 3)).astype("float32")


def diff(a, b):
    """The largest absolute difference between two lists of arrays."""
    return float(max(np.abs(np.asarray(p) - np.asarray(q)).max() for p, q in zip(a, b)))


def custom_loop(model, batches, steps, sync_every=None):
    """A user's own loop (value_and_grad, all_reduce_gradients, optimizer.apply)
    compiled by compile_step, cycling through ``batches``; reads the loss every
    ``sync_every`` steps (None: never). Returns the weights and the last loss."""
    optimizer = pk.optimizers.SGD(0.05)
    optimizer.build(model.trainable_variables)
    trainable = model.trainable_variables

    def step(batch):
        bx, by = batch

        def loss_fn(values):
            with pk.variables.StatelessScope(zip(trainable, values)) as scope:
                loss = ops.mean(ops.square(model(bx, training=True) - by))
            return loss, scope.updates

        (loss, updates), grads = ops.value_and_grad(loss_fn, has_aux=True)([v.value for v in trainable])
        for variable, value in updates:
            variable.assign(value)
        optimizer.apply(dist.all_reduce_gradients(grads), trainable)
        return {"loss": loss}

    run = compile_step(step, model.variables + optimizer.variables)
    for i in range(steps):
        logs = run(batches[i % len(batches)])
        if sync_every and i % sync_every == 0:
            float(logs["loss"])
    return model.get_weights(), float(logs["loss"])
