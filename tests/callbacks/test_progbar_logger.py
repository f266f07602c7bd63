"""ProgbarLogger: one line per epoch off a terminal, a rich bar on one."""

from __future__ import annotations

import re

import pytest

from polykeras.callbacks import CallbackList, ProgbarLogger

from ._fakes import FakeModel, simulate_fit

EPOCH_LOGS = [{"loss": 0.5, "accuracy": 0.95, "val_loss": 0.6}, {"loss": 0.25, "accuracy": 0.975, "val_loss": 0.5}]
TIME = r"\d+(s|ms|us)"


def test_not_a_terminal_prints_one_keras_line_per_epoch(capsys):
    simulate_fit(FakeModel(), None, EPOCH_LOGS, steps=3, verbose=1, validation=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert re.fullmatch(rf"Epoch 1/2 - {TIME} - loss: 0\.5000 - accuracy: 0\.9500 - val_loss: 0\.6000", lines[0])
    assert re.fullmatch(rf"Epoch 2/2 - {TIME} - loss: 0\.2500 - accuracy: 0\.9750 - val_loss: 0\.5000", lines[1])


def test_verbose_2_is_one_line_even_when_interactive(capsys):
    simulate_fit(FakeModel(), [ProgbarLogger(interactive=True)], EPOCH_LOGS, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/2", "Epoch 2/2"]


def test_verbose_0_prints_nothing(capsys):
    simulate_fit(FakeModel(), None, EPOCH_LOGS, verbose=0)
    cbs = CallbackList([ProgbarLogger()], verbose=0, epochs=1, steps=2)
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    cbs.on_train_batch_end(0, {"loss": 1.0})
    cbs.on_epoch_end(0, {"loss": 1.0})
    cbs.on_train_end()
    assert capsys.readouterr().out == ""


def test_evaluate_and_predict_lines(capsys):
    cbs = CallbackList(None, add_progbar=True, verbose=1, epochs=1, steps=4)
    cbs.on_test_begin()
    for batch in range(4):
        cbs.on_test_batch_end(batch, {"loss": 9.0})
    cbs.on_test_end({"loss": 0.25, "mae": 1e-5})
    cbs = CallbackList(None, add_progbar=True, verbose=1, epochs=1, steps=None)  # unknown length
    cbs.on_predict_begin()
    for batch in range(3):
        cbs.on_predict_batch_end(batch, {"outputs": [1, 2]})
    cbs.on_predict_end()
    evaluate_line, predict_line = capsys.readouterr().out.splitlines()
    assert re.fullmatch(rf"4/4 - {TIME} - loss: 0\.2500 - mae: 1\.0000e-05", evaluate_line)
    assert re.fullmatch(rf"3/3 - {TIME}", predict_line)


def test_non_finite_values_are_shown_plainly(capsys):
    simulate_fit(FakeModel(), None, [{"loss": float("nan"), "val_loss": float("inf")}], verbose=2)
    assert capsys.readouterr().out.strip().endswith("loss: nan - val_loss: inf")


def test_live_bar_leaves_the_final_epoch_line(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    simulate_fit(FakeModel(), [ProgbarLogger(interactive=True)], EPOCH_LOGS, steps=5, verbose=1)
    out = capsys.readouterr().out
    for epoch, logs in enumerate(EPOCH_LOGS, start=1):
        line = next(line for line in out.splitlines() if f"Epoch {epoch}/2" in line)
        assert "5/5" in line and "/step" in line
        assert f"loss: {logs['loss']:.4f}" in line and f"val_loss: {logs['val_loss']:.4f}" in line


def test_live_bar_inside_another_falls_back_or_nests(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    outer = CallbackList([ProgbarLogger(interactive=True)], verbose=1, epochs=1, steps=2)
    outer.on_train_begin()
    outer.on_epoch_begin(0)
    outer.on_train_batch_end(0, {"loss": 1.0})
    inner = CallbackList([ProgbarLogger(interactive=True)], verbose=1, epochs=1, steps=1)
    inner.on_test_begin()  # e.g. a callback calling model.evaluate mid-epoch
    inner.on_test_batch_end(0, {"loss": 2.0})
    inner.on_test_end({"loss": 2.0})
    outer.on_epoch_end(0, {"loss": 1.0})
    outer.on_train_end()
    out = capsys.readouterr().out
    assert "loss: 2.0000" in out and "Epoch 1/1" in out


@pytest.mark.parametrize("verbose", ["auto", 1])
def test_auto_verbose_means_1(verbose):
    progbar = ProgbarLogger()
    progbar.set_params({"verbose": verbose, "epochs": 3, "steps": 7})
    assert (progbar.verbose, progbar.epochs, progbar.target) == (1, 3, 7)


def test_live_bar_of_a_stopped_epoch_shows_the_steps_run(capsys, monkeypatch):
    from polykeras.callbacks import TerminateOnNaN

    monkeypatch.setenv("COLUMNS", "200")
    loss = lambda epoch, batch: float("nan") if batch == 1 else 0.5  # noqa: E731
    simulate_fit(FakeModel(), [TerminateOnNaN(), ProgbarLogger(interactive=True)], [{"loss": 0.5}] * 2, steps=5,
                 verbose=1, batch_loss=loss)
    out = capsys.readouterr().out
    assert "Epoch 1, batch 1: invalid loss nan" in out
    (line,) = [line for line in out.splitlines() if line.startswith("Epoch 1/2")]
    assert "2/5" in line and "/step" in line
