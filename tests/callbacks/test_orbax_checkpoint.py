"""OrbaxCheckpoint: the saved state, read back with Orbax, equals the model's
variables at the saved step, on every engine (NumPy trees: one code path)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from polykeras import callbacks, layers, ops, optimizers
from polykeras.callbacks.orbax_checkpoint import OrbaxCheckpoint, state_tree
from polykeras.models import Sequential

pytest.importorskip("orbax.checkpoint")

X = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
Y = X.sum(axis=1, keepdims=True)


def _model():
    model = Sequential([layers.Input((3,)), layers.Dense(2, name="a"), layers.Dense(1, name="b")])
    model.compile(optimizer=optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    return model


def _flat(tree, prefix=""):
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}/"))
        else:
            out[prefix + key] = np.asarray(value)
    return out


def test_epoch_checkpoints_hold_the_state(diff_engine, tmp_path):
    model = _model()
    snapshots = {}
    record = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.__setitem__(
        epoch, _flat(state_tree(model))))
    checkpoint = OrbaxCheckpoint(str(tmp_path / "ckpt"), max_to_keep=2)
    model.fit(X, Y, epochs=3, batch_size=4, verbose=0, callbacks=[record, checkpoint])
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["1", "2"]  # max_to_keep=2
    restored = checkpoint.restore()
    saved = _flat(restored["state"])
    assert set(saved) == set(snapshots[2])
    # (no non-trainable variables here: that branch of the tree has no leaves)
    assert {k.split("/")[0] for k in saved} == {"trainable_variables", "optimizer_variables", "metrics_variables"}
    for key, value in snapshots[2].items():
        np.testing.assert_array_equal(saved[key], value)
    np.testing.assert_array_equal(saved["trainable_variables/a/kernel"], ops.convert_to_numpy(model.layers[0].kernel))
    assert json.loads(restored["model_config"]["config"])["class_name"] == "Sequential"
    np.testing.assert_array_equal(_flat(checkpoint.restore(1)["state"])["trainable_variables/b/bias"],
                                  snapshots[1]["trainable_variables/b/bias"])


def test_batch_frequency_best_only_and_weights_only(engine, tmp_path):
    model = _model()
    model.optimizer.build(model.trainable_variables)
    checkpoint = OrbaxCheckpoint(str(tmp_path / "ckpt"), monitor="loss", save_best_only=True, save_freq=2,
                                 max_to_keep=None, save_on_background=False, save_weights_only=True)
    checkpoint.set_model(model)
    checkpoint.on_train_begin()
    for batch, loss in enumerate([4.0, 3.0, 5.0, 6.0, 2.0, 1.0]):
        checkpoint.on_train_batch_end(batch, {"loss": loss})
    checkpoint.on_train_end()
    # every 2nd batch, only when the loss improved: 3.0 at batch 2, (6.0 no), 1.0 at batch 6
    assert sorted(os.listdir(tmp_path / "ckpt"), key=int) == ["2", "6"]
    restored = checkpoint.restore(6)
    assert set(restored) == {"state"}
    assert {k.split("/")[0] for k in _flat(restored["state"])} == {"trainable_variables"}
    with pytest.raises(ValueError, match="save_freq"):
        OrbaxCheckpoint(str(tmp_path / "other"), save_freq="sometimes")
