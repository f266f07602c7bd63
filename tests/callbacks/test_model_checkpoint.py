"""ModelCheckpoint: formatting, best-only, save frequency, and all-or-nothing saves."""

from __future__ import annotations

import os

import numpy as np
import pytest

from polykeras.callbacks import CallbackList, ModelCheckpoint

from ._fakes import FakeModel, SaveFailure, read_weights, simulate_fit


def files(folder) -> list[str]:
    return sorted(os.listdir(folder))


def test_filepath_is_formatted_with_epoch_and_logs(tmp_path):
    path = str(tmp_path / "ckpt" / "model-{epoch:02d}-{val_loss:.2f}.keras")
    simulate_fit(FakeModel(), [ModelCheckpoint(path)], [{"val_loss": 0.5}, {"val_loss": 0.25}])
    assert files(tmp_path / "ckpt") == ["model-01-0.50.keras", "model-02-0.25.keras"]


def test_save_best_only_saves_on_improvement_and_keeps_the_best_weights(tmp_path, capsys):
    path = str(tmp_path / "best.weights.h5")
    model = FakeModel()
    checkpoint = ModelCheckpoint(path, save_best_only=True, save_weights_only=True, verbose=1)
    simulate_fit(model, [checkpoint], [{"val_loss": v} for v in (0.5, 0.7, 0.3, 0.4)], steps=1)
    # epoch 2 (0-based) was best; weights had been bumped 3 times by then
    np.testing.assert_array_equal(read_weights(path)[0], np.arange(3) + 3)
    assert len(model.saved_paths) == 2 and checkpoint.best == 0.3
    out = capsys.readouterr().out
    assert "Epoch 1: val_loss improved from None to 0.50000, saving model to" in out
    assert "Epoch 2: val_loss did not improve from 0.50000" in out
    assert files(tmp_path) == ["best.weights.h5"]


def test_save_best_only_max_mode_and_formatted_names(tmp_path):
    path = str(tmp_path / "acc-{val_accuracy:.3f}.keras")
    checkpoint = ModelCheckpoint(path, monitor="val_accuracy", save_best_only=True)
    simulate_fit(FakeModel(), [checkpoint], [{"val_accuracy": a} for a in (0.5, 0.4, 0.75)])
    assert files(tmp_path) == ["acc-0.500.keras", "acc-0.750.keras"]


def test_initial_value_threshold_must_be_beaten(tmp_path):
    model = FakeModel()
    checkpoint = ModelCheckpoint(str(tmp_path / "m.keras"), save_best_only=True, initial_value_threshold=0.4)
    simulate_fit(model, [checkpoint], [{"val_loss": 0.5}, {"val_loss": 0.3}])
    assert len(model.saved_paths) == 1


def test_missing_monitor_warns_and_saves_as_keras_does(tmp_path):
    model = FakeModel()
    with pytest.warns(UserWarning, match="only with `val_loss`"):
        simulate_fit(model, [ModelCheckpoint(str(tmp_path / "m.keras"), save_best_only=True)], [{"loss": 1.0}])
    assert files(tmp_path) == ["m.keras"]


def test_failed_save_leaves_the_previous_checkpoint_intact(tmp_path):
    path = str(tmp_path / "model.keras")
    model = FakeModel()
    checkpoint = ModelCheckpoint(path, save_best_only=True)
    cbs = CallbackList([checkpoint], model=model, epochs=3, steps=1)
    cbs.on_train_begin()
    cbs.on_epoch_end(0, {"val_loss": 0.5})
    before = open(path, "rb").read()
    model.bump()
    model.fail_saves = 1
    with pytest.raises(SaveFailure, match="disk full"):
        cbs.on_epoch_end(1, {"val_loss": 0.3})
    assert open(path, "rb").read() == before  # the old checkpoint, byte for byte
    assert files(tmp_path) == ["model.keras"]  # the partial temp file is gone
    assert checkpoint.best == 0.5  # the failed save did not count as the new best
    cbs.on_epoch_end(2, {"val_loss": 0.4})  # so 0.4 still improves on 0.5 and is saved
    np.testing.assert_array_equal(read_weights(path)[0], np.arange(3) + 1)


def test_saver_writes_to_a_temp_path_with_the_same_extension(tmp_path):
    model = FakeModel()
    simulate_fit(model, [ModelCheckpoint(str(tmp_path / "w.weights.h5"), save_weights_only=True)], [{"loss": 1.0}])
    (temp,) = model.saved_paths
    assert os.path.dirname(temp) == str(tmp_path) and temp.endswith(".weights.h5")
    assert temp != str(tmp_path / "w.weights.h5")


def test_integer_save_freq_counts_batches_across_epochs(tmp_path):
    path = str(tmp_path / "e{epoch}-b{batch}.keras")
    simulate_fit(FakeModel(), [ModelCheckpoint(path, save_freq=3)], [{"loss": 1.0}] * 2, steps=4)
    # batches seen: 3 (epoch 1, batch 3) and 6 (epoch 2, batch 2)
    assert files(tmp_path) == ["e1-b3.keras", "e2-b2.keras"]


@pytest.mark.parametrize("kwargs, match", [
    ({"filepath": "m.h5"}, r"ending in `\.keras`, received filepath='m\.h5'"),
    ({"filepath": "m.keras", "save_weights_only": True}, r"ending in `\.weights\.h5`"),
    ({"filepath": "m.keras", "save_freq": "batch"}, "save_freq='epoch' or a positive number"),
    ({"filepath": "m.keras", "save_freq": 0}, "received save_freq=0"),
])
def test_bad_arguments_name_what_was_expected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ModelCheckpoint(**kwargs)


def test_unknown_format_key_and_directory_target(tmp_path):
    checkpoint = ModelCheckpoint(str(tmp_path / "{val_acc}.keras"))
    with pytest.raises(KeyError, match="failed to format filepath"):
        simulate_fit(FakeModel(), [checkpoint], [{"loss": 1.0}])
    (tmp_path / "dir.keras").mkdir()
    with pytest.raises(IsADirectoryError, match="is a directory"):
        simulate_fit(FakeModel(), [ModelCheckpoint(str(tmp_path / "dir.keras"))], [{"loss": 1.0}])
