"""BackupAndRestore: resume epoch, restored weights and optimizer state, atomic backups."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from polykeras.callbacks import BackupAndRestore, LambdaCallback, consume_resume_epoch

from ._fakes import FakeModel, FakeVariable, SaveFailure, simulate_fit

LOGS = [{"loss": 1.0}] * 6


def metadata(folder) -> dict:
    with open(os.path.join(folder, "training_metadata.json")) as handle:
        return json.load(handle)


def test_interrupted_fit_resumes_from_the_last_finished_epoch(tmp_path):
    folder = tmp_path / "backup"
    model = FakeModel()
    model.optimizer.variables[1].assign([1.0, 2.0, 3.0])
    with pytest.raises(KeyboardInterrupt):
        simulate_fit(model, [BackupAndRestore(folder)], LOGS, steps=2, interrupt_at=3)
    assert metadata(folder)["epoch"] == 3

    fresh = FakeModel()  # a new process: new weights, new optimizer state
    epochs_run = []
    record = LambdaCallback(on_epoch_begin=lambda epoch, logs: epochs_run.append(epoch))
    cbs_seen = {}
    probe = LambdaCallback(on_epoch_begin=lambda epoch, logs: cbs_seen.setdefault(epoch, fresh.get_weights()))
    history = simulate_fit(fresh, [BackupAndRestore(folder), record, probe], LOGS, steps=2)
    assert epochs_run == [3, 4, 5] and history.epoch == [3, 4, 5]
    np.testing.assert_array_equal(cbs_seen[3][0], np.arange(3) + 6)  # 3 epochs x 2 steps were restored
    np.testing.assert_array_equal(fresh.optimizer.variables[1].numpy(), [1.0, 2.0, 3.0])
    assert not folder.exists()  # deleted after a finished fit
    assert getattr(fresh, "_resume_epoch", None) is None  # consumed by the trainer


def test_no_backup_means_a_normal_start(tmp_path):
    model = FakeModel()
    history = simulate_fit(model, [BackupAndRestore(tmp_path / "b")], LOGS[:2])
    assert history.epoch == [0, 1] and getattr(model, "_resume_epoch", None) is None


def test_a_failed_backup_keeps_the_previous_one(tmp_path):
    folder = tmp_path / "backup"
    model = FakeModel()
    fail_at_epoch_2 = LambdaCallback(on_epoch_begin=lambda epoch, logs: setattr(model, "fail_saves", int(epoch == 2)))
    with pytest.raises(SaveFailure):
        simulate_fit(model, [fail_at_epoch_2, BackupAndRestore(folder)], LOGS, steps=1)
    assert metadata(folder)["epoch"] == 2  # the backup from the end of epoch 1
    assert sorted(os.listdir(folder)) == sorted(["training_metadata.json", metadata(folder)["weights"],
                                                 metadata(folder)["optimizer"]])
    fresh = FakeModel()
    simulate_fit(fresh, [BackupAndRestore(folder, delete_checkpoint=False)], LOGS[:2], steps=1)
    np.testing.assert_array_equal(fresh.get_weights()[0], np.arange(3) + 2)  # restored, then no epoch left


def test_batch_level_backups_record_the_epoch_in_progress(tmp_path):
    folder = tmp_path / "backup"
    model = FakeModel()
    interrupt = LambdaCallback(on_train_batch_end=lambda batch, logs: _raise_at(model, 7))
    with pytest.raises(KeyboardInterrupt):
        simulate_fit(model, [BackupAndRestore(folder, save_freq=3), interrupt], LOGS, steps=4)
    # batches 3 and 6 (counting from 1) were backed up; the 6th is batch 1 of epoch 1
    assert metadata(folder)["epoch"] == 1 and metadata(folder)["batch"] == 1
    fresh = FakeModel()
    history = simulate_fit(fresh, [BackupAndRestore(folder)], LOGS[:3], steps=4)
    assert history.epoch == [1, 2]


def _raise_at(model: FakeModel, bumps: int) -> None:
    if model.get_weights()[0][0] >= bumps:
        raise KeyboardInterrupt


def test_keep_checkpoint_and_never_delete_other_files(tmp_path):
    folder = tmp_path / "backup"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    simulate_fit(FakeModel(), [BackupAndRestore(folder)], LOGS[:2])
    assert sorted(os.listdir(folder)) == ["notes.txt"]
    simulate_fit(FakeModel(), [BackupAndRestore(folder, delete_checkpoint=False)], LOGS[:2])
    assert metadata(folder)["epoch"] == 2 and len(os.listdir(folder)) == 4


def test_consume_resume_epoch():
    model = FakeModel()
    assert consume_resume_epoch(model, 2) == 2
    model._resume_epoch = 4
    assert consume_resume_epoch(model, 1) == 4 and model._resume_epoch is None
    model._resume_epoch = 4
    assert consume_resume_epoch(model, 6) == 6


def test_optimizer_is_built_before_restoring_its_state(tmp_path):
    folder = tmp_path / "b"
    simulate_fit(FakeModel(), [BackupAndRestore(folder, delete_checkpoint=False)], LOGS[:1])
    fresh = FakeModel()
    built_with = []
    slots = fresh.optimizer.variables
    fresh.optimizer.variables = []
    fresh.optimizer.built = False
    fresh.trainable_variables = ["kernel"]

    def build(variables):
        built_with.append(variables)
        fresh.optimizer.variables = slots
        fresh.optimizer.built = True

    fresh.optimizer.build = build
    simulate_fit(fresh, [BackupAndRestore(folder)], LOGS[:2])
    assert built_with == [["kernel"]]


def test_optimizer_state_restores_in_order_into_renamed_and_nested_optimizers(tmp_path):
    """A restarted optimizer may be numbered (adam -> adam_1), and a wrapper
    holds two optimizers whose variables share names under them."""
    folder = tmp_path / "b"
    model = FakeModel()
    model.optimizer.variables = [FakeVariable(3.0, "outer/iteration"), FakeVariable(7.0, "adam/iteration"),
                                 FakeVariable(np.arange(3.0), "adam/dense_kernel_momentum")]
    simulate_fit(model, [BackupAndRestore(folder, delete_checkpoint=False)], LOGS[:1])
    fresh = FakeModel()
    fresh.optimizer.variables = [FakeVariable(0.0, "outer_1/iteration"), FakeVariable(0.0, "adam_1/iteration"),
                                 FakeVariable(np.zeros(3), "adam_1/dense_kernel_momentum")]
    simulate_fit(fresh, [BackupAndRestore(folder)], LOGS[:2])
    assert [v.numpy().tolist() for v in fresh.optimizer.variables] == [3.0, 7.0, [0.0, 1.0, 2.0]]


def test_mismatched_optimizer_state_warns_and_restores_the_rest(tmp_path):
    folder = tmp_path / "b"
    simulate_fit(FakeModel(), [BackupAndRestore(folder, delete_checkpoint=False)], LOGS[:1])
    fresh = FakeModel()
    fresh.optimizer.variables = [FakeVariable(0.0, "adam/iteration")]
    with pytest.warns(UserWarning, match="does not match the optimizer.*dense_kernel_momentum"):
        history = simulate_fit(fresh, [BackupAndRestore(folder)], LOGS[:2])
    assert history.epoch == [1]


def test_bad_arguments_and_foreign_metadata(tmp_path):
    with pytest.raises(ValueError, match="expected a folder path"):
        BackupAndRestore("")
    with pytest.raises(ValueError, match="received save_freq='batch'"):
        BackupAndRestore(tmp_path, save_freq="batch")
    (tmp_path / "training_metadata.json").write_text(json.dumps({"epoch": 3}))
    with pytest.raises(ValueError, match="written by this callback"):
        simulate_fit(FakeModel(), [BackupAndRestore(tmp_path)], LOGS[:1])
    folder = tmp_path / "b"
    simulate_fit(FakeModel(), [BackupAndRestore(folder, delete_checkpoint=False)], LOGS[:1])
    unbuilt = FakeModel()
    unbuilt.built = False
    with pytest.raises(ValueError, match="expected a built model"):
        simulate_fit(unbuilt, [BackupAndRestore(folder)], LOGS[:1])


@pytest.mark.parametrize("wrapped", [False, True], ids=["adam", "loss-scaled-adam"])
def test_resumed_fit_ends_as_an_uninterrupted_one(diff_engine, tmp_path, wrapped):
    """Each model here has a new optimizer (adam, adam_1, ...), as a relaunched
    process may; a loss-scaled one holds two optimizers' `iteration`."""
    from polykeras import layers, optimizers
    from polykeras.models import Sequential

    def make():
        # named layers: the optimizer state is keyed by variable path, as in a relaunched process
        model = Sequential([layers.Input((4,)), layers.Dense(3, activation="relu", name="hidden"),
                            layers.Dense(1, name="out")])
        model.compile(optimizer=optimizers.LossScaleOptimizer(optimizers.Adam()) if wrapped else "adam", loss="mse")
        draw = np.random.default_rng(7)
        model.set_weights([draw.normal(scale=0.5, size=w.shape).astype("float32") for w in model.get_weights()])
        return model

    x = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)

    def fit(model, callbacks):
        return model.fit(x, y, epochs=4, batch_size=16, shuffle=False, verbose=0, callbacks=callbacks)

    reference = make()
    fit(reference, None)
    folder = tmp_path / "backup"
    crash = LambdaCallback(on_epoch_begin=lambda epoch, logs: _raise_at_epoch(epoch, 2))
    with pytest.raises(KeyboardInterrupt):
        fit(make(), [BackupAndRestore(folder), crash])
    assert metadata(folder)["epoch"] == 2 and len(os.listdir(folder)) == 3  # metadata, weights, optimizer
    resumed = make()
    resumed.set_weights([w * 0 for w in resumed.get_weights()])  # a new process: other weights
    history = fit(resumed, [BackupAndRestore(folder)])
    assert history.epoch == [2, 3] and not folder.exists()
    for got, want in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    for got, want in zip(resumed.optimizer.variables, reference.optimizer.variables, strict=True):  # counters too
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-6, err_msg=got.path)


def _raise_at_epoch(epoch: int, at: int) -> None:
    if epoch == at:
        raise KeyboardInterrupt
