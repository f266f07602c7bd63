"""In a multi-process run only the chief (rank 0) prints and writes files.

A non-chief rank is simulated in one process: the active engine answers rank 1
of 2. The real two-rank runs are in tests/distribution/test_torch.py.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import polykeras.backends as B
from polykeras.callbacks import (BackupAndRestore, CSVLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint,
                                 ReduceLROnPlateau, TerminateOnNaN)
from polykeras.callbacks import backup_and_restore as backup_module
from polykeras.distribution import launch

from ._fakes import FakeModel, simulate_fit

LOGS = [{"loss": 1.0, "val_loss": 0.5}, {"loss": float("nan"), "val_loss": 0.75}]


@pytest.fixture
def rank_one(monkeypatch):
    """The active engine says this process is rank 1 of 2."""
    engine = B.active()
    monkeypatch.setattr(engine, "process_index", lambda: 1)
    monkeypatch.setattr(engine, "process_count", lambda: 2)
    return engine


def writers(folder) -> list:
    return [ModelCheckpoint(folder / "ckpt-{epoch}.keras", monitor="loss", verbose=1),
            CSVLogger(folder / "logs" / "log.csv"),
            LearningRateScheduler(lambda epoch, lr: lr, verbose=1),
            ReduceLROnPlateau(monitor="val_loss", patience=0, verbose=1),
            EarlyStopping(monitor="val_loss", patience=0, verbose=1),
            TerminateOnNaN()]


def test_a_non_chief_rank_prints_and_writes_nothing(rank_one, tmp_path, capsys):
    model = FakeModel()
    history = simulate_fit(model, writers(tmp_path), LOGS, verbose=2)
    assert history.epoch == [0, 1] and model.stop_training  # the ranks still stop alike
    assert os.listdir(tmp_path) == [] and model.saved_paths == []
    assert capsys.readouterr().out == ""


def test_the_chief_prints_and_writes_as_before(tmp_path, capsys):
    model = FakeModel()
    simulate_fit(model, writers(tmp_path), LOGS, verbose=2)
    assert sorted(os.listdir(tmp_path)) == ["ckpt-1.keras", "ckpt-2.keras", "logs"]
    assert os.listdir(tmp_path / "logs") == ["log.csv"]
    out = capsys.readouterr().out
    for message in ("Epoch 1/2 - ", "saving model to", "setting learning rate", "invalid loss nan",
                    "reducing learning rate", "Epoch 2: early stopping"):
        assert message in out, message


def test_a_non_chief_rank_restores_but_never_writes_or_deletes_the_backup(rank_one, tmp_path, monkeypatch):
    folder = tmp_path / "backup"
    with monkeypatch.context() as chief:  # rank 0 leaves a backup of its first two epochs
        chief.setattr(rank_one, "process_index", lambda: 0)
        with pytest.raises(KeyboardInterrupt):
            simulate_fit(FakeModel(), [BackupAndRestore(folder)], LOGS * 2, interrupt_at=2)
    before = {name: os.path.getmtime(folder / name) for name in os.listdir(folder)}
    fresh = FakeModel()
    history = simulate_fit(fresh, [BackupAndRestore(folder, save_freq=1)], LOGS[:1] * 4)
    assert history.epoch == [2, 3]  # resumed from the chief's backup
    np.testing.assert_array_equal(fresh.get_weights()[0], np.arange(3) + 8)  # 2 restored + 2 run epochs x 2 steps
    assert {name: os.path.getmtime(folder / name) for name in os.listdir(folder)} == before  # untouched
    assert fresh.saved_paths == []


def test_ranks_wait_for_each_other_around_the_restore(rank_one, tmp_path, monkeypatch):
    events = []
    monkeypatch.setattr(backup_module, "barrier", lambda: events.append("barrier"))
    folder = tmp_path / "backup"
    with monkeypatch.context() as chief:
        chief.setattr(rank_one, "process_index", lambda: 0)
        with pytest.raises(KeyboardInterrupt):
            simulate_fit(FakeModel(), [BackupAndRestore(folder)], LOGS * 2, interrupt_at=1)
    assert events == ["barrier", "barrier"]  # nothing to restore: still in step with the other ranks
    events.clear()
    model = FakeModel()
    model.load_weights = lambda path: events.append("restore")
    simulate_fit(model, [BackupAndRestore(folder)], LOGS[:2])
    assert events == ["barrier", "restore", "barrier"]


def test_alone_every_rank_helper_is_a_no_op(engine):
    assert launch.is_chief() and launch.process_count() == 1
    launch.barrier()  # returns at once


def test_barrier_is_the_engines(monkeypatch):
    calls = []
    monkeypatch.setattr(B.active(), "distribution_barrier", lambda: calls.append("wait"))
    launch.barrier()
    assert calls == ["wait"]
