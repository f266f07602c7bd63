"""ReduceLROnPlateau and LearningRateScheduler."""

from __future__ import annotations

import numpy as np
import pytest

from polykeras.callbacks import CallbackList, LearningRateScheduler, ReduceLROnPlateau

from ._fakes import FakeModel, simulate_fit


def lr_per_epoch(model: FakeModel, callback, monitored: list[float], key: str = "val_loss") -> list[float]:
    history = simulate_fit(model, [callback], [{key: v} for v in monitored], steps=1)
    return history.history["learning_rate"]


def test_reduces_after_patience_and_records_the_rate():
    model = FakeModel(learning_rate=1.0)
    rates = lr_per_epoch(model, ReduceLROnPlateau(factor=0.5, patience=2), [1.0, 1.0, 1.0, 1.0, 1.0, 0.5])
    # logs hold the rate in force during the epoch; the reduction applies from the next one
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25]
    assert model.optimizer.learning_rate == 0.25


def test_cooldown_pauses_waiting_after_a_reduction():
    model = FakeModel(learning_rate=1.0)
    callback = ReduceLROnPlateau(factor=0.1, patience=1, cooldown=2)
    rates = lr_per_epoch(model, callback, [1.0] * 7)
    # Keras 3 counting: reduce at epoch 1 (counter=2); epoch 2 counts down to 1 and waits not;
    # epoch 3 counts down to 0 and waits again -> reduce; the same at epoch 5
    assert np.allclose(rates, [1.0, 1.0, 0.1, 0.1, 0.01, 0.01, 0.001])


def test_improvement_resets_wait_and_min_delta_counts():
    model = FakeModel(learning_rate=1.0)
    rates = lr_per_epoch(model, ReduceLROnPlateau(patience=2, min_delta=0.1), [1.0, 0.95, 0.8, 0.75, 0.72, 0.5])
    # 0.95 is < 0.1 better: wait 1; 0.8 resets; 0.75 and 0.72 -> reduce at epoch 4
    assert np.allclose(rates, [1.0, 1.0, 1.0, 1.0, 1.0, 0.1])


def test_min_lr_is_a_floor_and_max_mode(capsys):
    model = FakeModel(learning_rate=0.01)
    callback = ReduceLROnPlateau(monitor="val_accuracy", factor=0.1, patience=1, min_lr=0.005, verbose=1)
    rates = lr_per_epoch(model, callback, [0.9, 0.8, 0.8, 0.8], key="val_accuracy")
    assert np.allclose(rates, [0.01, 0.01, 0.005, 0.005])
    assert "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.005." in capsys.readouterr().out


def test_reads_a_tensor_or_variable_learning_rate(engine):
    from polykeras import ops

    model = FakeModel()
    model.optimizer.learning_rate = ops.convert_to_tensor(np.float32(0.5))
    callback = ReduceLROnPlateau(patience=0, factor=0.5)
    rates = lr_per_epoch(model, callback, [1.0, 2.0])
    assert rates == [0.5, 0.5] and model.optimizer.learning_rate == 0.25


def test_reduce_lr_bad_arguments_and_missing_optimizer():
    with pytest.raises(ValueError, match="expected 0 < factor < 1, received factor=1.5"):
        ReduceLROnPlateau(factor=1.5)
    with pytest.warns(UserWarning, match="deprecated"):
        assert ReduceLROnPlateau(epsilon=0.01).min_delta == 0.01
    model = FakeModel()
    model.optimizer = None
    with pytest.raises(ValueError, match="compiled model"):
        lr_per_epoch(model, ReduceLROnPlateau(), [1.0])


def test_missing_monitor_warns_and_keeps_the_rate():
    model = FakeModel(learning_rate=0.1)
    with pytest.warns(UserWarning, match="`val_loss`, which is not in the logs"):
        simulate_fit(model, [ReduceLROnPlateau(patience=0)], [{"loss": 1.0}] * 3)
    assert model.optimizer.learning_rate == 0.1


def test_scheduler_sets_the_rate_each_epoch_with_epoch_and_lr(capsys):
    model = FakeModel(learning_rate=1.0)
    calls = []

    def schedule(epoch, lr):
        calls.append((epoch, lr))
        return lr * 0.5 if epoch >= 1 else lr

    history = simulate_fit(model, [LearningRateScheduler(schedule, verbose=1)], [{"loss": 1.0}] * 3)
    assert calls == [(0, 1.0), (1, 1.0), (2, 0.5)]
    assert history.history["learning_rate"] == [1.0, 0.5, 0.25]
    assert "Epoch 3: LearningRateScheduler setting learning rate to 0.25." in capsys.readouterr().out


def test_scheduler_accepts_a_one_argument_schedule_and_numpy_floats():
    model = FakeModel()
    simulate_fit(model, [LearningRateScheduler(lambda epoch: np.float32(0.1 * (epoch + 1)))], [{"loss": 1.0}] * 2)
    assert model.optimizer.learning_rate == pytest.approx(0.2)
    assert type(model.optimizer.learning_rate) is float


def test_scheduler_rejects_non_float_results():
    with pytest.raises(ValueError, match="return a float, received '0.1'.*at epoch 0"):
        simulate_fit(FakeModel(), [LearningRateScheduler(lambda epoch, lr: "0.1")], [{"loss": 1.0}])
    with pytest.raises(TypeError, match="expected `schedule` to be a function"):
        LearningRateScheduler(0.1)


def test_reduce_lr_state_resets_on_train_begin():
    model = FakeModel(learning_rate=1.0)
    callback = ReduceLROnPlateau(patience=1)
    cbs = CallbackList([callback], model=model)
    cbs.on_train_begin()
    cbs.on_epoch_end(0, {"val_loss": 1.0})
    cbs.on_epoch_end(1, {"val_loss": 2.0})
    assert model.optimizer.learning_rate == pytest.approx(0.1)
    cbs.on_train_begin()
    assert callback.best is None and callback.wait == 0 and callback.cooldown_counter == 0
