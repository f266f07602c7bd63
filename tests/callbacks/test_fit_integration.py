"""The callbacks through a real ``model.fit`` on every engine that trains."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest

from polykeras import callbacks, layers, optimizers
from polykeras.models import Sequential


def make_model(learning_rate: float = 0.01) -> Sequential:
    model = Sequential([layers.Input((4,)), layers.Dense(1)])
    model.compile(optimizer=optimizers.SGD(learning_rate), loss="mse")
    return model


def data(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(0).normal(size=(n, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def test_fit_runs_the_callbacks(diff_engine, tmp_path, capsys):
    model = make_model()
    x, y = data()
    snapshots, batch_logs = [], []
    stop = callbacks.EarlyStopping(monitor="val_loss", mode="max", patience=1, restore_best_weights=True)
    history = model.fit(x, y, epochs=5, batch_size=16, validation_split=0.25, shuffle=False, verbose=2, callbacks=[
        callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(model.get_weights()),
                                 on_train_batch_end=lambda batch, logs: batch_logs.append(logs)),
        callbacks.ReduceLROnPlateau(monitor="val_loss", mode="max", patience=0, factor=0.5),
        callbacks.CSVLogger(tmp_path / "log.csv"),
        stop,
    ])
    # val_loss falls, so in "max" mode epoch 0 stays best: stop after epoch 1, restore epoch 0's weights
    assert history is model.history and history.epoch == [0, 1]
    assert stop.stopped_epoch == 1 and stop.best_epoch == 0
    for restored, best in zip(model.get_weights(), snapshots[0]):
        np.testing.assert_array_equal(restored, best)
    assert history.history["learning_rate"] == pytest.approx([0.01, 0.01])  # the rate each epoch ran with
    assert float(np.asarray(model.optimizer.learning_rate)) == pytest.approx(0.005)  # reduced after epoch 1
    assert all(type(v) is float for values in history.history.values() for v in values)
    assert len(batch_logs) == 2 * 3 and all(type(logs["loss"]) is float for logs in batch_logs)
    with open(tmp_path / "log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["0", "1"]
    assert float(rows[1]["val_loss"]) == pytest.approx(history.history["val_loss"][1])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Epoch")]
    assert len(lines) == 2
    assert re.fullmatch(r"Epoch 1/5 - \d+(s|ms|us) - loss: \S+ - val_loss: \S+ - learning_rate: 0\.0100", lines[0])


def test_learning_rate_scheduler_sets_the_optimizer_rate(diff_engine):
    model = make_model()
    x, y = data(32)
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0,
                        callbacks=[callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch)])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])
    assert float(np.asarray(model.optimizer.learning_rate)) == pytest.approx(0.025)


def test_terminate_on_nan_stops_after_the_first_bad_batch(diff_engine):
    model = make_model()
    x, y = data(64)
    x[0, 0] = np.nan
    batches = []
    model.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0, callbacks=[
        callbacks.TerminateOnNaN(), callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: batches.append(b))])
    assert batches == [0] and model.stop_training is True
    with pytest.raises(callbacks.InvalidLossError, match="at batch 0 of epoch 1"):
        make_model().fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0,
                         callbacks=[callbacks.TerminateOnNaN(raise_error=True)])


def test_evaluate_and_predict_print_one_line_each(diff_engine, capsys):
    model = make_model()
    x, y = data(32)
    model.evaluate(x, y, batch_size=8, verbose=1)
    model.predict(x, batch_size=8, verbose=1)
    evaluate_line, predict_line = capsys.readouterr().out.splitlines()[-2:]
    assert re.fullmatch(r"4/4 - \d+(s|ms|us) - loss: \S+", evaluate_line)
    assert re.fullmatch(r"4/4 - \d+(s|ms|us)", predict_line)


def test_checkpoint_and_backup_through_fit(diff_engine, tmp_path):
    model = make_model()
    if not hasattr(model, "save_weights") or not hasattr(model, "load_weights"):
        pytest.skip("model saving is not available yet")
    x, y = data(32)
    path = tmp_path / "best.weights.h5"
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, validation_split=0.25, callbacks=[
        callbacks.ModelCheckpoint(path, save_best_only=True, save_weights_only=True)])
    other = make_model()
    other.load_weights(path)
    for a, b in zip(other.get_weights(), model.get_weights()):  # val_loss falls: the last epoch is best
        np.testing.assert_array_equal(a, b)

    interrupted = make_model()
    stop_at_2 = callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: _interrupt(epoch == 2))
    backup = tmp_path / "backup"
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(x, y, epochs=4, batch_size=16, verbose=0,
                        callbacks=[callbacks.BackupAndRestore(backup), stop_at_2])
    resumed = make_model()
    history = resumed.fit(x, y, epochs=4, batch_size=16, verbose=0, callbacks=[callbacks.BackupAndRestore(backup)])
    assert history.epoch == [2, 3]


def _interrupt(now: bool) -> None:
    if now:
        raise KeyboardInterrupt
