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


def make():
    model = pk.Sequential([pk.layers.Input((8,)), pk.layers.BatchNormalization(),
                           pk.layers.Dense(16, activation="relu"), pk.layers.Dense(3)])
    model.compile("adam", "mse", metrics=["mae"])
    return model


def diff(a, b):
    return float(max(np.abs(np.asarray(p) - np.asarray(q)).max() for p, q in zip(a, b)))


def seeded(model):
    """The same initial weights on every rank (drawn from a fixed NumPy seed)."""
    draw = np.random.default_rng(42)
    model.set_weights([draw.normal(scale=0.3, size=w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


scratch = sys.argv[1]
dist.initialize(timeout=60)
rank = dist.rank()
rng = np.random.default_rng(0)
x = rng.normal(size=(61, 8)).astype("float32") * 3 + 1  # batches 16, 16, 16, 13 (split 6/7)
y = rng.normal(size=(61, 3)).astype("float32")
out = {"rank": rank, "world": dist.process_count(), "chief": dist.is_chief()}

# Dense-only model: data parallel must equal single-process training on the global batch.
def dense():
    model = pk.Sequential([pk.layers.Input((8,)), pk.layers.Dense(16, activation="relu"), pk.layers.Dense(3)])
    model.compile("adam", "mse", metrics=["mae"])
    return model


reference = seeded(dense())
h_ref = reference.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False).history
model = dense()  # rank 1 starts from other weights: the first step broadcasts rank 0's
if rank == 0:
    seeded(model)
checkpoint = os.path.join(scratch, f"ckpt-rank{rank}-{{epoch}}.weights.h5")
with dist.DataParallel():
    h_dp = model.fit(x, y, batch_size=16, epochs=3, verbose=1, shuffle=False,
                     callbacks=[pk.callbacks.ModelCheckpoint(checkpoint, save_weights_only=True, monitor="loss")]
                     ).history
    out["eval_dp"] = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    predicted = model.predict(x, batch_size=16, verbose=0)
out["weights_diff"] = diff(reference.get_weights(), model.get_weights())
out["history_ref"], out["history_dp"] = h_ref, h_dp
out["eval_ref"] = reference.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
out["predict_diff"] = float(np.abs(predicted - reference.predict(x, batch_size=16, verbose=0)).max())
out["weights_sum"] = float(sum(np.abs(w).sum() for w in model.get_weights()))

# BatchNormalization on the inputs: one step; the moving mean is the global batch's.
bn_ref, bn = seeded(make()), seeded(make())
bn_ref.train_on_batch(x[:32], y[:32])
with dist.DataParallel():
    bn.train_on_batch(x[:32], y[:32])
out["bn_mean_diff"] = diff([bn_ref.layers[0].moving_mean.value], [bn.layers[0].moving_mean.value])
out["bn_variance"] = ops.to_numpy(bn.layers[0].moving_variance.value).tolist()

# A custom loop: value_and_grad + all_reduce_gradients + optimizer.apply.
def custom(model, steps, parallel):
    optimizer = pk.optimizers.SGD(0.1)
    optimizer.build(model.trainable_variables)
    trainable = model.trainable_variables
    for _ in range(steps):
        bx, by = x[:32], y[:32]
        if parallel:
            bx, by = bx[rank * 16:(rank + 1) * 16], by[rank * 16:(rank + 1) * 16]

        def loss_fn(values):
            with pk.variables.StatelessScope(zip(trainable, values)):
                return ops.mean(ops.square(model(ops.convert_to_tensor(bx), training=True) - ops.convert_to_tensor(by)))

        _, grads = ops.value_and_grad(loss_fn)([v.value for v in trainable])
        optimizer.apply(dist.all_reduce_gradients(grads), trainable)
    return model.get_weights()


a, b = seeded(dense()), seeded(dense())
ref = custom(a, 5, parallel=False)
with dist.DataParallel():
    got = custom(b, 5, parallel=True)
out["custom_loop_diff"] = diff(ref, got)
out["files"] = sorted(os.listdir(scratch))
dist.shutdown()
print(json.dumps(out))
