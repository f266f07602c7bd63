"""JAX data parallel over 4 forced host CPU devices vs one device; prints JSON.
XLA_FLAGS must be set before jax is imported (done here, first thing)."""

import json
import os

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
os.environ["POLYKERAS_BACKEND"] = "jax"

import numpy as np  # noqa: E402

import polykeras as pk  # noqa: E402
import polykeras.distribution as dist  # noqa: E402
from polykeras import ops  # noqa: E402
from polykeras.trainers.step import compile_step  # noqa: E402


def make():
    model = pk.Sequential([pk.layers.Input((8,)), pk.layers.BatchNormalization(),
                           pk.layers.Dense(16, activation="relu"), pk.layers.Dense(3)])
    model.compile("adam", "mse", metrics=["mae"])
    return model


def diff(a, b):
    return float(max(np.abs(np.asarray(p) - np.asarray(q)).max() for p, q in zip(a, b)))


rng = np.random.default_rng(0)
x = rng.normal(size=(62, 8)).astype("float32") * 3 + 1  # batches of 16, 16, 16, 14 (the last one replicated)
y = rng.normal(size=(62, 3)).astype("float32")
out = {"devices": dist.list_devices("cpu")}

single = make()
initial = single.get_weights()
h_single = single.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False).history
parallel = make()
parallel.set_weights(initial)
with dist.DataParallel(devices=dist.list_devices()) as dp:
    out["active"] = repr(dist.distribution()) == repr(dp)
    h_parallel = parallel.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False).history
    sharding = parallel.layers[1].kernel.value.sharding
    out["kernel_replicated"] = [bool(sharding.is_fully_replicated), len(sharding.device_set)]
    out["eval_parallel"] = parallel.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    predicted = parallel.predict(x, batch_size=16, verbose=0)
out["active_after"] = dist.distribution() is None
out["weights_diff"] = diff(single.get_weights(), parallel.get_weights())
out["bn_diff"] = diff([single.layers[0].moving_mean.value, single.layers[0].moving_variance.value],
                      [parallel.layers[0].moving_mean.value, parallel.layers[0].moving_variance.value])
out["history_single"], out["history_parallel"] = h_single, h_parallel
out["eval_single"] = single.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
out["predict_diff"] = float(np.abs(predicted - single.predict(x, batch_size=16, verbose=0)).max())


def custom_loop(model, steps):
    """A user's own loop: value_and_grad + optimizer.apply, compiled by compile_step."""
    optimizer = pk.optimizers.SGD(0.1)
    model.build((None, 8))
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
        logs = run((x[:32], y[:32]))
        if i % 10 == 0:
            float(logs["loss"])  # synchronise now and then
    return model.get_weights()


a, b = make(), make()
b.set_weights(a.get_weights())
ref = custom_loop(a, 12)
with dist.DataParallel():
    got = custom_loop(b, 12)
out["custom_loop_diff"] = diff(ref, got)
print(json.dumps(out))
