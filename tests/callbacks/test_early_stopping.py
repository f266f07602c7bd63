"""EarlyStopping: Keras 3 patience, min_delta, baseline, warm-up and restore semantics."""

from __future__ import annotations

import numpy as np
import pytest

from polykeras.callbacks import EarlyStopping
from polykeras.callbacks.monitor_callback import infer_direction

from ._fakes import FakeModel, simulate_fit


def val_losses(*values: float) -> list[dict[str, float]]:
    return [{"loss": 1.0, "val_loss": v} for v in values]


def test_stops_after_patience_epochs_without_improvement():
    stop = EarlyStopping(patience=2)
    history = simulate_fit(FakeModel(), [stop], val_losses(1.0, 0.8, 0.9, 0.85, 0.7, 0.6))
    # best 0.8 at epoch 1; epochs 2 and 3 do not improve -> stop at the end of epoch 3
    assert history.epoch == [0, 1, 2, 3]
    assert stop.stopped_epoch == 3 and stop.best == 0.8 and stop.best_epoch == 1


def test_patience_zero_stops_at_first_non_improvement_but_never_at_epoch_0():
    stop = EarlyStopping(patience=0, monitor="loss")
    history = simulate_fit(FakeModel(), [stop], [{"loss": 1.0}, {"loss": 0.5}, {"loss": 0.6}, {"loss": 0.1}])
    assert history.epoch == [0, 1, 2]


def test_min_delta_requires_a_large_enough_improvement():
    stop = EarlyStopping(patience=1, min_delta=0.1)
    history = simulate_fit(FakeModel(), [stop], val_losses(1.0, 0.95, 0.92, 0.5))
    assert history.epoch == [0, 1]  # 0.95 is not 0.1 better than 1.0
    assert stop.best == 1.0


def test_max_mode_and_auto_mode_for_accuracy():
    for mode in ("max", "auto"):
        stop = EarlyStopping(monitor="val_accuracy", patience=1, mode=mode)
        logs = [{"val_accuracy": a} for a in (0.5, 0.7, 0.6, 0.9)]
        assert simulate_fit(FakeModel(), [stop], logs).epoch == [0, 1, 2]
        assert stop.best == 0.7


def test_baseline_must_be_beaten_within_patience():
    stop = EarlyStopping(patience=2, baseline=0.5)
    # improving but never beating the baseline: wait is not reset
    history = simulate_fit(FakeModel(), [stop], val_losses(0.9, 0.8, 0.85, 0.7, 0.1))
    assert history.epoch == [0, 1, 2]
    stop = EarlyStopping(patience=1, baseline=0.5)
    assert simulate_fit(FakeModel(), [stop], val_losses(0.4, 0.3, 0.2, 0.1)).epoch == [0, 1, 2, 3]


def test_start_from_epoch_ignores_warm_up_epochs():
    stop = EarlyStopping(patience=0, start_from_epoch=2)
    history = simulate_fit(FakeModel(), [stop], val_losses(1.0, 2.0, 3.0, 2.5, 4.0))
    assert history.epoch == [0, 1, 2, 3, 4]
    assert stop.stopped_epoch == 4 and stop.best == 2.5


def test_restore_best_weights_sets_the_best_epochs_weights(capsys):
    model = FakeModel()
    start = model.get_weights()
    stop = EarlyStopping(patience=1, restore_best_weights=True, verbose=1)
    simulate_fit(model, [stop], val_losses(1.0, 0.5, 0.7, 0.6), steps=2)
    # each epoch bumps the weights by +2; the best epoch (1) ended at +4
    for got, first in zip(model.get_weights(), start):
        np.testing.assert_array_equal(got, first + 4)
    out = capsys.readouterr().out
    assert "Epoch 3: early stopping" in out
    assert "Restoring model weights from the end of the best epoch: 2." in out


def test_restore_best_weights_without_stopping_still_restores():
    model = FakeModel()
    start = model.get_weights()
    simulate_fit(model, [EarlyStopping(patience=5, restore_best_weights=True)], val_losses(0.3, 0.5, 0.4), steps=1)
    np.testing.assert_array_equal(model.get_weights()[0], start[0] + 1)


def test_state_resets_between_fits():
    stop, model = EarlyStopping(patience=0), FakeModel()
    simulate_fit(model, [stop], val_losses(1.0, 2.0))
    assert stop.stopped_epoch == 1
    assert simulate_fit(model, [stop], val_losses(5.0, 4.0, 3.0)).epoch == [0, 1, 2]
    assert stop.stopped_epoch == 0 and stop.best == 3.0


def test_missing_monitor_warns_and_keeps_training():
    with pytest.warns(UserWarning, match="`val_loss`, which is not in the logs. Available keys: loss"):
        history = simulate_fit(FakeModel(), [EarlyStopping()], [{"loss": 1.0}, {"loss": 2.0}])
    assert history.epoch == [0, 1]


def test_unknown_direction_in_auto_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="monitor='val_wobble'.*mode='max'"):
        simulate_fit(FakeModel(), [EarlyStopping(monitor="val_wobble")], [{"val_wobble": 1.0}])
    with pytest.warns(UserWarning, match="mode 'lowest' is unknown"):
        assert EarlyStopping(mode="lowest").mode == "auto"


def test_direction_from_model_metrics_and_names():
    class Metric:
        name, _direction = "wobble", "up"

    model = FakeModel()
    model.metrics = [Metric()]
    assert infer_direction("val_wobble", model) == "max"
    assert infer_direction("val_loss") == infer_direction("output_1_loss") == "min"
    assert infer_direction("dense_accuracy") == infer_direction("auc") == "max"
    assert infer_direction("val_mae") == "min" and infer_direction("wobble") is None


def test_get_monitor_value_reads_the_logs_and_a_subclass_can_judge_by_something_else():
    stop = EarlyStopping(monitor="val_loss")
    assert stop.get_monitor_value({"val_loss": 0.25}) == 0.25
    with pytest.warns(UserWarning, match="val_loss"):
        assert stop.get_monitor_value({"loss": 0.25}) is None

    class StopOnGap(EarlyStopping):  # judged by how far validation trails training
        def get_monitor_value(self, logs):
            return logs["val_loss"] - logs["loss"]

    stop = StopOnGap(patience=1, mode="min")
    logs = [{"loss": 1.0, "val_loss": v} for v in (1.5, 1.25, 1.0, 1.5, 1.75, 0.5)]
    history = simulate_fit(FakeModel(), [stop], logs)
    assert history.epoch == [0, 1, 2, 3]  # the gap is best (0.0) at epoch 2 and worse at epoch 3
    assert stop.best == 0.0 and stop.best_epoch == 2 and stop.stopped_epoch == 3
