"""One rank of a 2-process torch data-parallel fit with BackupAndRestore (env as
torchrun sets it). argv[1]: the shared backup folder; argv[2]: the phase.

* ``crash``: fit 5 epochs; at the start of epoch 2 every rank dies at once
  (``os._exit``: no exception handling, no ``on_train_end``), as a killed job.
* ``resume``: a new process with other initial weights on each rank fits the
  same 5 epochs; it must resume at epoch 2 and end with the weights of an
  uninterrupted single-process fit.

Prints JSON: the rank, the epochs begun, the file writes this process made in
the backup folder (seen by an audit hook), and the weights compared.
"""

import json
import os
import sys

os.environ["POLYKERAS_BACKEND"] = "torch"

import numpy as np  # noqa: E402

import polykeras as pk  # noqa: E402
import polykeras.distribution as dist  # noqa: E402

backup, phase = os.path.abspath(sys.argv[1]), sys.argv[2]
writes = []


def audit(event, args):
    """Record every write, rename, removal or folder change under ``backup``."""
    if event == "open":
        path, mode, flags = args
        writing = (mode is not None and any(c in str(mode) for c in "wax+")) or (
            mode is None and isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        paths = [path] if writing else []
    elif event in ("os.rename", "os.remove", "os.rmdir", "os.mkdir", "shutil.rmtree"):
        paths = [a for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))]
    else:
        return
    for path in paths:
        if isinstance(path, (str, os.PathLike)) and os.path.abspath(os.fspath(path)).startswith(backup):
            writes.append(f"{event} {os.path.basename(os.fspath(path))}")


sys.addaudithook(audit)

rng = np.random.default_rng(0)
x = rng.normal(size=(61, 8)).astype("float32")
y = rng.normal(size=(61, 3)).astype("float32")
EPOCHS = 5


def model(seed):
    net = pk.Sequential([pk.layers.Input((8,)), pk.layers.Dense(16, activation="relu"), pk.layers.Dense(3)])
    net.compile("adam", "mse")
    draw = np.random.default_rng(seed)
    net.set_weights([draw.normal(scale=0.3, size=w.shape).astype(w.dtype) for w in net.get_weights()])
    return net


def fit(net, callbacks):
    return net.fit(x, y, batch_size=16, epochs=EPOCHS, verbose=0, shuffle=False, callbacks=callbacks)


dist.initialize(timeout=60)
rank = dist.rank()
out = {"rank": rank, "phase": phase}
begun, first_weights = [], []


def on_epoch_begin(epoch, logs):
    begun.append(epoch)
    if not first_weights:  # after the restore, before any step (whose first call broadcasts rank 0's state)
        first_weights.append(float(sum(np.abs(w).sum() for w in net.get_weights())))
    if phase == "crash" and epoch == 2:
        out.update(begun=begun, writes=writes, files=sorted(os.listdir(backup)))
        print(json.dumps(out), flush=True)
        os._exit(0)  # die as a killed job does: no cleanup, no on_train_end


net = model(seed=100 + rank if phase == "resume" else 42)  # the resumed ranks start from other weights
with dist.DataParallel():
    fit(net, [pk.callbacks.BackupAndRestore(backup), pk.callbacks.LambdaCallback(on_epoch_begin=on_epoch_begin)])
reference = model(seed=42)
fit(reference, None)  # uninterrupted, single process
out.update(begun=begun, writes=writes, restored_weights_sum=first_weights[0],
           weights_diff=float(max(np.abs(a - b).max() for a, b in zip(reference.get_weights(), net.get_weights()))),
           weights=[w.tolist() for w in net.get_weights()], backup_left=os.path.exists(backup))
dist.shutdown()
print(json.dumps(out), flush=True)
