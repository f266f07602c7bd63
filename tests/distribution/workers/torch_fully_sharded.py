"""One rank of a 2-process torch fully sharded run (env as torchrun sets it);
every rank also trains the single-process reference. argv[1]: a scratch
folder. Prints JSON."""

import contextlib
import json
import os
import sys

os.environ["POLYKERAS_BACKEND"] = "torch"

import numpy as np  # noqa: E402

import polykeras as pk  # noqa: E402
import polykeras.distribution as dist  # noqa: E402
from polykeras import ops  # noqa: E402
from polykeras.trainers.step import compile_step  # noqa: E402
from tests.distribution.workers._common import custom_loop, data, diff, seeded, thread_names  # noqa: E402

scratch = sys.argv[1]
dist.initialize(timeout=60)
rank = dist.rank()
x, y = data(61)  # batches 16, 16, 16, 13 (split 6/7)
out = {"rank": rank}


def make():
    """Dense (L2-regularised) -> BatchNormalization -> LSTM -> Dense (max-norm), Adam:
    a regulariser read outside the layer call, a cell read at every time step,
    a constraint over the sharded axis."""
    model = pk.Sequential([
        pk.layers.Input((8,)),
        pk.layers.Dense(16, activation="relu", kernel_regularizer=pk.regularizers.L2(1e-3)),
        pk.layers.BatchNormalization(synchronized=True),
        pk.layers.Reshape((4, 4)),
        pk.layers.LSTM(6),
        pk.layers.Dense(3, kernel_constraint=pk.constraints.MaxNorm(0.5)),
    ])
    model.compile(pk.optimizers.Adam(0.01), "mse", metrics=["mae"])
    return model


def start(model):
    """The seeded weights, with a valid (positive) moving variance."""
    seeded(model).layers[1].moving_variance.assign(np.ones(16, "float32"))
    return model


reference = start(make())
h_ref = reference.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False).history
model = make()  # rank 1 starts from other weights: the first step scatters rank 0's
if rank == 0:
    start(model)
checkpoint = os.path.join(scratch, "ckpt-{epoch}.weights.h5")
with dist.FullyShardedDataParallel():
    h_fsdp = model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False,
                       callbacks=[pk.callbacks.ModelCheckpoint(checkpoint, save_weights_only=True)]).history
    dense, norm = model.layers[0], model.layers[1]
    slots = model.optimizer.slots_for(dense.kernel)
    out["stored"] = {
        "kernel": [type(dense.kernel.handle).__name__, list(dense.kernel.handle.to_local().shape)],
        "gamma": [type(norm.gamma.handle).__name__, list(norm.gamma.handle.to_local().shape)],
        "slots": sorted({type(s.handle).__name__ for s in slots.values()}),
        "moving_mean": type(norm.moving_mean.handle).__name__,
        "iterations": type(model.optimizer.iterations.handle).__name__,
    }
    whole = sum(int(np.prod(v.shape)) for v in model.trainable_variables + model.optimizer.variables)
    kept = sum(int(v.handle.to_local().numel()) if type(v.handle).__name__ == "DTensor" else int(np.prod(v.shape))
               for v in model.trainable_variables + model.optimizer.variables)
    out["stored_fraction"] = kept / whole
    out["weights_inside"] = diff(reference.get_weights(), model.get_weights())  # gathered on every rank

    # How many whole weights are alive once the forward pass is done (what the
    # backward needs is kept as shards), and after the backward.
    sharding, trainable, alive = dense.kernel._sharding, model.trainable_variables, []

    def probe(batch):
        def loss_fn(values):
            with pk.variables.StatelessScope(zip(trainable, values)):
                loss = ops.mean(ops.square(model(batch[0], training=True) - batch[1]))
            alive.append(len(sharding.alive))
            return loss

        loss, grads = ops.value_and_grad(loss_fn)([v.value for v in trainable])
        alive.append(len(sharding.alive))
        return {"loss": loss, "grads": sorted({type(g).__name__ for g in grads})}

    logs = compile_step(probe, model.variables)((ops.convert_to_tensor(x[:16]), ops.convert_to_tensor(y[:16])))
    out["whole_alive"], out["probe_grads"] = alive, logs["grads"]
    # A step freed, its memory then taken on rank 1 only: the next step (evaluate's)
    # may reuse the freed step's id on rank 0 alone, and must still take rank 0's
    # state on every rank (else the ranks' collectives no longer pair up).
    freed = compile_step(lambda batch: {}, model.variables)
    freed((x[:2], y[:2]))
    del freed
    placeholders = [lambda: None for _ in range(8)] if rank == 1 else []
    out["eval_fsdp"] = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    predicted = model.predict(x, batch_size=16, verbose=0)
out["after_exit"] = type(model.layers[0].kernel.handle).__name__
out["weights_diff"] = diff(reference.get_weights(), model.get_weights())
out["history_ref"], out["history_fsdp"] = h_ref, h_fsdp
out["eval_ref"] = reference.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
out["predict_diff"] = float(np.abs(predicted - reference.predict(x, batch_size=16, verbose=0)).max())
dist.barrier()
out["checkpoints"] = sorted(os.listdir(scratch))
saved = make()
saved.load_weights(os.path.join(scratch, "ckpt-3.weights.h5"))
out["checkpoint_diff"] = diff(saved.get_weights(), model.get_weights())

# Every built-in optimizer rule on shards: fused kernels (SGD, Adam, RMSprop),
# the portable ones (DTensor arithmetic), weight decay and norm clipping.
optim = pk.optimizers
rules = {"sgd_nesterov": lambda: optim.SGD(0.05, momentum=0.9, nesterov=True),
         "rmsprop_centered": lambda: optim.RMSprop(0.01, centered=True, momentum=0.5),
         "adamw": lambda: optim.AdamW(0.01, weight_decay=0.1), "amsgrad": lambda: optim.Adam(0.01, amsgrad=True),
         "clipnorm": lambda: optim.Adam(0.01, clipnorm=0.1),
         "global_clipnorm": lambda: optim.SGD(0.1, global_clipnorm=0.1),
         "lion": lambda: optim.Lion(0.001), "adagrad": lambda: optim.Adagrad(0.1),
         "ema_accumulation": lambda: optim.Adam(0.01, use_ema=True, ema_overwrite_frequency=3,
                                            gradient_accumulation_steps=2)}
out["optimizers"] = {}
for name, rule in rules.items():
    pair = []
    for sharded in (False, True):
        net = seeded(pk.Sequential([pk.layers.Input((8,)), pk.layers.Dense(16, activation="relu"),
                                    pk.layers.Dense(3)]))
        net.compile(rule(), "mse")
        with dist.FullyShardedDataParallel() if sharded else contextlib.nullcontext():
            net.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
            if sharded:
                net.set_weights(net.get_weights())  # a whole value assigned to a shard keeps this rank's rows
            pair.append(net.get_weights())
    out["optimizers"][name] = diff(*pair)

a, b = start(make()), start(make())
batches = [(ops.convert_to_tensor(x[:32]), ops.convert_to_tensor(y[:32])),
           (ops.convert_to_tensor(x[32:]), ops.convert_to_tensor(y[32:]))]
ref, _ = custom_loop(a, batches, 6)
with dist.FullyShardedDataParallel():
    got, _ = custom_loop(b, batches, 6)
out["custom_loop_diff"] = diff(ref, got)
dist.shutdown()
out["threads_after_shutdown"] = thread_names()
print(json.dumps(out))
