"""TensorFlow data parallel vs one device; prints JSON.

Without arguments: ``MirroredStrategy`` over two logical CPU devices (set up
before TensorFlow starts). With TF_CONFIG set: one worker of a
``MultiWorkerMirroredStrategy`` run (``initialize()`` first thing). argv[1]: a
scratch folder.
"""

import json
import os
import sys

os.environ["POLYKERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402

import polykeras as pk  # noqa: E402
import polykeras.distribution as dist  # noqa: E402
from polykeras import ops  # noqa: E402
from tests.distribution.workers._common import custom_loop, data, diff, make, make_synchronized, seeded  # noqa: E402

multi_worker = "TF_CONFIG" in os.environ
if multi_worker:
    dist.initialize(timeout=60)
else:
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

scratch = sys.argv[1]
rank = dist.rank()
x, y = data(61)  # batches 16, 16, 16, 13 (split 8/8 and 6/7)
out = {"rank": rank, "world": dist.process_count(), "chief": dist.is_chief(), "devices": dist.list_devices()}

reference = seeded(make())
h_ref = reference.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False).history
checkpoint = os.path.join(scratch, f"ckpt-rank{rank}-{{epoch}}.weights.h5")
with dist.DataParallel() as dp:
    out["replicas"] = dp.engine._replicas.strategy.num_replicas_in_sync
    model = make()
    if rank == 0:
        seeded(model)  # the other workers start from their own weights: the chief's are broadcast
    h_dp = model.fit(x, y, batch_size=16, epochs=3, verbose=1, shuffle=False,
                     callbacks=[pk.callbacks.ModelCheckpoint(checkpoint, save_weights_only=True, monitor="loss"),
                                pk.callbacks.BackupAndRestore(os.path.join(scratch, "backup"))]).history
    out["eval_dp"] = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    predicted = model.predict(x, batch_size=16, verbose=0)
out["weights_diff"] = diff(reference.get_weights(), model.get_weights())
out["history_ref"], out["history_dp"] = h_ref, h_dp
out["eval_ref"] = reference.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
out["predict_shape"] = list(predicted.shape)
out["predict_diff"] = float(np.abs(predicted - reference.predict(x, batch_size=16, verbose=0)).max())
out["predict_outside"] = float(np.abs(model.predict(x, batch_size=16, verbose=0) - predicted).max())
if not multi_worker:  # trained outside the scope, every copy of a mirrored variable moves together
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    out["copies_apart"] = max(float(np.abs(np.asarray(c) - np.asarray(v.handle.values[0])).max())
                              for v in model.variables + model.optimizer.variables for c in v.handle.values)

# BatchNormalization: one step; the moving mean is the global batch's.
bn_ref = seeded(make(batch_norm=True))
bn_ref.train_on_batch(x[:32], y[:32])
with dist.DataParallel():
    bn = seeded(make(batch_norm=True))
    bn.train_on_batch(x[:32], y[:32])
out["bn_mean_diff"] = diff([bn_ref.layers[0].moving_mean.value], [bn.layers[0].moving_mean.value])
out["bn_variance"] = ops.to_numpy(bn.layers[0].moving_variance.value).tolist()

# Synchronised BatchNormalization: normalises with the global batch's moments.
sync_ref = seeded(make_synchronized())
sync_ref.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False)  # the last batch splits unevenly
with dist.DataParallel():
    sync = seeded(make_synchronized())
    sync.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False)
out["sync_bn_diff"] = diff(sync_ref.get_weights(), sync.get_weights())

# A user's own loop, compiled by compile_step.
ref, _ = custom_loop(seeded(make()), [(x[:32], y[:32])], 5)
with dist.DataParallel():
    got, _ = custom_loop(seeded(make()), [(x[:32], y[:32])], 5)
out["custom_loop_diff"] = diff(ref, got)
dist.barrier()  # every worker has listed nothing yet: the chief's files are all written
out["files"] = sorted(os.listdir(scratch))
print(json.dumps(out))
