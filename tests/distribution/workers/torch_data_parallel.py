"""One rank of a 2-process torch data-parallel run (env as torchrun sets it);
rank 0 also trains the single-process reference. argv[1]: a scratch folder.
Prints JSON."""

import json
import os
import sys

os.environ["POLYKERAS_BACKEND"] = "torch"

import numpy as np  # noqa: E402

import polykeras as pk  # noqa: E402
import polykeras.distribution as dist  # noqa: E402
from polykeras import ops  # noqa: E402
from tests.distribution.workers._common import data, diff, make, make_synchronized, seeded, thread_names  # noqa: E402

scratch = sys.argv[1]
dist.initialize(timeout=60)
rank = dist.rank()
x, y = data(61)  # batches 16, 16, 16, 13 (split 6/7)
out = {"rank": rank, "world": dist.process_count(), "chief": dist.is_chief()}

# Dense-only model: data parallel must equal single-process training on the global batch.
reference = seeded(make())
h_ref = reference.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False).history
model = make()  # rank 1 starts from other weights: the first step broadcasts rank 0's
if rank == 0:
    seeded(model)
checkpoint = os.path.join(scratch, f"ckpt-rank{rank}-{{epoch}}.weights.h5")
writers = [pk.callbacks.ModelCheckpoint(checkpoint, save_weights_only=True, monitor="loss", verbose=1),
           pk.callbacks.CSVLogger(os.path.join(scratch, f"log-rank{rank}.csv")),
           pk.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=1e9, verbose=1)]  # stops after epoch 2
with dist.DataParallel():
    h_dp = model.fit(x, y, batch_size=16, epochs=3, verbose=1, shuffle=False, callbacks=writers[:2]).history
    out["eval_dp"] = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    predicted = model.predict(x, batch_size=16, verbose=0)
out["weights_diff"] = diff(reference.get_weights(), model.get_weights())
out["history_ref"], out["history_dp"] = h_ref, h_dp
out["eval_ref"] = reference.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
out["predict_diff"] = float(np.abs(predicted - reference.predict(x, batch_size=16, verbose=0)).max())
out["weights_sum"] = float(sum(np.abs(w).sum() for w in model.get_weights()))
with dist.DataParallel():  # EarlyStopping's message: printed by the chief only
    model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False, callbacks=writers[2:])


# Predict split over the ranks: a two-output functional model (list and dict outputs).
class RowCounter(pk.layers.Layer):
    """Records how many rows each call sees (the torch engine runs steps eagerly)."""

    seen = []

    def call(self, inputs):
        if isinstance(inputs.shape[0], int):
            RowCounter.seen.append(inputs.shape[0])
        return inputs


def two_outputs(structure):
    inputs = pk.layers.Input((8,))
    hidden = pk.layers.Dense(16, activation="relu")(RowCounter()(inputs))
    first, second = pk.layers.Dense(3)(hidden), pk.layers.Dense(1, activation="sigmoid")(hidden)
    return seeded(pk.Model(inputs, structure(first, second)))


def rows_diff(ref, got):
    assert type(ref) is type(got), (type(ref), type(got))
    pairs = zip(ref.values(), got.values()) if isinstance(ref, dict) else zip(ref, got)
    return diff(*zip(*[(np.asarray(p), np.asarray(q)) for p, q in pairs]))


out["predict_multi"] = {}
for name, structure in {"list": lambda a, b: [a, b], "dict": lambda a, b: {"scores": a, "gate": b}}.items():
    multi = two_outputs(structure)
    ref_multi = multi.predict(x, batch_size=16, verbose=0)
    RowCounter.seen.clear()
    with dist.DataParallel():
        got_multi = multi.predict(x, batch_size=16, verbose=0)
        got_one = multi.predict(x[:1], verbose=0)  # fewer rows than ranks: whole on every rank
    gate = got_multi[1] if name == "list" else got_multi["gate"]
    out["predict_multi"][name] = {"diff": rows_diff(ref_multi, got_multi), "rows_seen": RowCounter.seen[:4],
                                  "rows": int(np.asarray(gate).shape[0]),
                                  "one_diff": rows_diff(multi.predict(x[:1], verbose=0), got_one)}

# BatchNormalization on the inputs: one step; the moving mean is the global batch's.
bn_ref, bn = seeded(make(batch_norm=True)), seeded(make(batch_norm=True))
bn_ref.train_on_batch(x[:32], y[:32])
with dist.DataParallel():
    bn.train_on_batch(x[:32], y[:32])
out["bn_mean_diff"] = diff([bn_ref.layers[0].moving_mean.value], [bn.layers[0].moving_mean.value])
out["bn_variance"] = ops.to_numpy(bn.layers[0].moving_variance.value).tolist()

# Synchronised BatchNormalization: normalises with the global batch's moments.
sync_ref, sync = seeded(make_synchronized()), seeded(make_synchronized())
sync_ref.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False)  # the last batch splits unevenly
with dist.DataParallel():
    sync.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False)
out["sync_bn_diff"] = diff(sync_ref.get_weights(), sync.get_weights())

# A custom loop: value_and_grad + all_reduce_gradients + optimizer.apply.
def custom(model, steps, parallel):
    optimizer = pk.optimizers.SGD(0.1)
    optimizer.build(model.trainable_variables)
    trainable = model.trainable_variables
    for _ in range(steps):
        bx, by = x[:32], y[:32]
        if parallel:
            bx, by = bx[rank * 16:(rank + 1) * 16], by[rank * 16:(rank + 1) * 16]

        def loss_fn(values, bx=bx, by=by):
            with pk.variables.StatelessScope(zip(trainable, values)):
                return ops.mean(ops.square(model(ops.convert_to_tensor(bx), training=True) - ops.convert_to_tensor(by)))

        _, grads = ops.value_and_grad(loss_fn)([v.value for v in trainable])
        optimizer.apply(dist.all_reduce_gradients(grads), trainable)
    return model.get_weights()


a, b = seeded(make()), seeded(make())
ref = custom(a, 5, parallel=False)
with dist.DataParallel():
    got = custom(b, 5, parallel=True)
out["custom_loop_diff"] = diff(ref, got)
out["files"] = sorted(os.listdir(scratch))
dist.shutdown()
out["threads_after_shutdown"] = thread_names()
print(json.dumps(out))
