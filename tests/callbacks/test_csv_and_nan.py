"""CSVLogger content and TerminateOnNaN in both modes."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from polykeras.callbacks import (BackupAndRestore, Callback, CallbackList, CSVLogger, InvalidLossError, LambdaCallback,
                                 TerminateOnNaN)

from ._fakes import FakeModel, simulate_fit


def read_csv(path, delimiter=","):
    with open(path, newline="") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


def test_csv_has_sorted_columns_and_one_row_per_epoch(tmp_path):
    path = tmp_path / "log.csv"
    simulate_fit(FakeModel(), [CSVLogger(path)], [{"loss": 0.5, "val_loss": 0.75, "acc": 0.25},
                                                 {"loss": 0.125, "val_loss": 0.5, "acc": 0.5}])
    assert read_csv(path) == [["epoch", "acc", "loss", "val_loss"], ["0", "0.25", "0.5", "0.75"],
                              ["1", "0.5", "0.125", "0.5"]]


def test_csv_adds_val_columns_when_the_first_epoch_has_none(tmp_path):
    path = tmp_path / "log.csv"
    simulate_fit(FakeModel(), [CSVLogger(path)], [{"loss": 0.5}, {"loss": 0.25, "val_loss": 0.125}])
    assert read_csv(path) == [["epoch", "loss", "val_loss"], ["0", "0.5", "NA"], ["1", "0.25", "0.125"]]


def test_csv_separator_append_and_overwrite(tmp_path):
    path = tmp_path / "sub" / "log.tsv"
    simulate_fit(FakeModel(), [CSVLogger(path, separator="\t")], [{"loss": 1.0, "val_loss": 2.0}])
    simulate_fit(FakeModel(), [CSVLogger(path, separator="\t", append=True)], [{"loss": 3.0, "val_loss": 4.0}])
    assert read_csv(path, "\t") == [["epoch", "loss", "val_loss"], ["0", "1.0", "2.0"], ["0", "3.0", "4.0"]]
    simulate_fit(FakeModel(), [CSVLogger(path, separator="\t")], [{"loss": 5.0, "val_loss": 6.0}])
    assert read_csv(path, "\t") == [["epoch", "loss", "val_loss"], ["0", "5.0", "6.0"]]
    with pytest.raises(ValueError, match="one character"):
        CSVLogger(path, separator="::")


def test_csv_rows_are_flushed_each_epoch(tmp_path):
    path = tmp_path / "log.csv"
    logger = CSVLogger(path)
    seen = []

    class Peek(Callback):  # placed after the logger
        def on_epoch_end(self, epoch, logs=None):
            seen.append(len(read_csv(path)))

    simulate_fit(FakeModel(), [logger, Peek()], [{"loss": 1.0, "val_loss": 1.0}] * 2)
    assert seen == [2, 3]


def test_csv_writes_array_values_as_a_list(tmp_path):
    path = tmp_path / "log.csv"
    simulate_fit(FakeModel(), [CSVLogger(path)], [{"loss": 1.0, "val_loss": 1.0, "per_class": np.array([1, 2])}])
    assert read_csv(path)[1][2] == "[1, 2]"


def nan_on(epoch_and_batch):
    return lambda epoch, batch: float("nan") if (epoch, batch) == epoch_and_batch else 0.5


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_terminate_on_nan_stops_right_after_the_bad_batch(capsys, bad):
    model = FakeModel()
    seen_batches = []
    record = LambdaCallback(on_train_batch_end=lambda batch, logs: seen_batches.append(batch))
    ended = LambdaCallback(on_train_end=lambda logs: seen_batches.append("end"))
    loss = lambda epoch, batch: bad if (epoch, batch) == (1, 2) else 0.5  # noqa: E731
    history = simulate_fit(model, [TerminateOnNaN(), record, ended], [{"loss": 0.5}] * 3, steps=5,
                           batch_loss=loss)
    assert model.stop_training is True
    assert seen_batches == [0, 1, 2, 3, 4, 0, 1, 2, "end"]  # no step after the bad one; on_train_end runs
    assert history.epoch == [0, 1]
    assert f"Epoch 2, batch 2: invalid loss {bad}, terminating training" in capsys.readouterr().out


def test_terminate_on_nan_raise_error_names_batch_and_value(tmp_path):
    model = FakeModel()
    backup = BackupAndRestore(tmp_path / "backup")
    with pytest.raises(InvalidLossError, match=r"received loss=nan at batch 3 of epoch 2") as info:
        simulate_fit(model, [TerminateOnNaN(raise_error=True), backup], [{"loss": 0.5}] * 3, steps=4,
                     batch_loss=nan_on((1, 3)))
    assert isinstance(info.value, RuntimeError)
    assert (tmp_path / "backup" / "training_metadata.json").exists()  # on_train_end did not delete the backup


def test_terminate_on_nan_ignores_finite_and_missing_losses():
    model = FakeModel()
    history = simulate_fit(model, [TerminateOnNaN(raise_error=True)], [{"loss": 0.5}] * 2, steps=3)
    assert history.epoch == [0, 1] and model.stop_training is False
    cbs = CallbackList([TerminateOnNaN(raise_error=True)], model=model)
    cbs.on_train_batch_end(0, {"accuracy": float("nan")})  # only the loss is checked
    cbs.on_train_batch_end(1, None)
    assert model.stop_training is False
