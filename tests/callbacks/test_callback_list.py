"""Callback base, CallbackList dispatch, History and LambdaCallback."""

from __future__ import annotations

import numpy as np
import pytest

from polykeras import ops
from polykeras.callbacks import Callback, CallbackList, History, LambdaCallback, ProgbarLogger

from ._fakes import FakeModel, simulate_fit


class Recorder(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple] = []

    def on_train_begin(self, logs=None):
        self.events.append(("train_begin",))

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("epoch_begin", epoch))

    def on_batch_end(self, batch, logs=None):  # the older alias: still called for train batches
        self.events.append(("batch_end", batch, dict(logs)))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch_end", epoch, dict(logs)))

    def on_train_end(self, logs=None):
        self.events.append(("train_end",))


def test_base_callback_hooks_do_nothing_and_hold_model_and_params():
    callback, model = Callback(), FakeModel()
    callback.set_model(model)
    callback.set_params({"epochs": 3, "steps": 5, "verbose": 0})
    assert callback.model is model
    assert callback.params == {"epochs": 3, "steps": 5, "verbose": 0}
    for hook in ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end", "on_predict_begin",
                 "on_predict_end"):
        assert getattr(callback, hook)({"loss": 1.0}) is None
    for hook in ("on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end",
                 "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end"):
        assert getattr(callback, hook)(0, {"loss": 1.0}) is None


def test_hooks_run_in_order_and_batch_alias_is_called():
    recorder, model = Recorder(), FakeModel()
    simulate_fit(model, [recorder], [{"loss": 0.5}, {"loss": 0.25}], steps=2)
    names = [event[0] for event in recorder.events]
    assert names == ["train_begin", "epoch_begin", "batch_end", "batch_end", "epoch_end",
                     "epoch_begin", "batch_end", "batch_end", "epoch_end", "train_end"]
    assert recorder.events[-2] == ("epoch_end", 1, {"loss": 0.25})


def test_history_is_added_attached_and_records_epochs():
    model = FakeModel()
    history = simulate_fit(model, None, [{"loss": 0.9, "val_loss": 1.0}, {"loss": 0.5, "val_loss": 0.7}])
    assert isinstance(history, History) and model.history is history
    assert history.epoch == [0, 1]
    assert history.history == {"loss": [0.9, 0.5], "val_loss": [1.0, 0.7]}
    assert history.params["epochs"] == 2 and history.params["steps"] == 2


def test_given_history_and_progbar_are_not_duplicated():
    history, progbar = History(), ProgbarLogger()
    cbs = CallbackList([history, progbar], add_history=True, add_progbar=True, model=FakeModel(), verbose=0,
                       epochs=1, steps=1)
    assert cbs.callbacks == [history, progbar]
    cbs = CallbackList(None, add_history=True, add_progbar=True, verbose=1, epochs=1, steps=1)
    assert [type(c) for c in cbs] == [History, ProgbarLogger]
    assert len(CallbackList([[Recorder()], (Recorder(),)])) == 2  # nested lists are flattened


def test_logs_become_python_floats_and_one_dict_is_shared(engine):
    seen: list[dict] = []

    class AddKey(Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["extra"] = 3.0

    record = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(logs))
    cbs = CallbackList([AddKey(), record], add_history=True, model=FakeModel(), epochs=1, steps=1)
    original = {"loss": ops.convert_to_tensor(np.float32(0.5)), "acc": np.float64(0.25), "n": 3,
                "nested": {"mae": np.float32(0.125)}}
    cbs.on_epoch_end(0, original)
    (logs,) = seen
    assert logs == {"loss": 0.5, "acc": 0.25, "n": 3.0, "mae": 0.125, "extra": 3.0}
    assert all(type(v) is float for v in logs.values())
    assert "extra" not in original  # the trainer's dict is not changed
    assert cbs.callbacks[-1].history["extra"] == [3.0]  # History, last, sees the added key


def test_predict_outputs_are_passed_through_untouched():
    got = []
    cbs = CallbackList([LambdaCallback(on_predict_batch_end=lambda batch, logs: got.append(logs))])
    outputs = np.ones((4, 2))
    cbs.on_predict_batch_end(0, {"outputs": outputs})
    assert got[0]["outputs"] is outputs


def test_batch_hooks_skip_callbacks_that_do_not_override_them():
    class EpochOnly(Callback):
        def on_epoch_end(self, epoch, logs=None):
            pass

    cbs = CallbackList([EpochOnly(), Recorder()])
    assert [type(c) for c in cbs._table["on_train_batch_end"]] == [Recorder]
    assert cbs._table["on_test_batch_end"] == []
    late = Recorder()
    cbs.append(late)
    assert cbs._table["on_train_batch_end"][-1] is late


def test_append_sets_model_and_params():
    model = FakeModel()
    cbs = CallbackList([], model=model, epochs=4, steps=2, verbose=0)
    late = Recorder()
    cbs.append(late)
    assert late.model is model and late.params["epochs"] == 4


def test_bad_callback_is_rejected_with_its_type():
    with pytest.raises(TypeError, match="received 'early' of type str"):
        CallbackList(["early"])


def test_lambda_callback_hooks_and_unknown_names():
    calls = []
    cb = LambdaCallback(on_train_begin=lambda logs: calls.append("begin"),
                        on_train_batch_end=lambda batch, logs: calls.append(("batch", batch, logs["loss"])),
                        on_test_end=lambda logs: calls.append("test_end"))
    cbs = CallbackList([cb], model=FakeModel())
    cbs.on_train_begin()
    cbs.on_train_batch_end(3, {"loss": np.float32(0.5)})
    cbs.on_test_end()
    cbs.on_epoch_end(0, {})  # not given: the base hook, silent
    assert calls == ["begin", ("batch", 3, 0.5), "test_end"]
    with pytest.raises(TypeError, match="on_epoch_finish"):
        LambdaCallback(on_epoch_finish=print)
    with pytest.raises(TypeError, match="expected `on_epoch_end` to be a function"):
        LambdaCallback(on_epoch_end=3)
