"""The :class:`ProgbarLogger`: a live rich progress bar on a terminal, one
line per epoch elsewhere."""

from __future__ import annotations

import atexit
import time
from typing import Any

from polykeras.callbacks._utils import format_duration, format_logs, is_chief, print_msg, pythonify_logs
from polykeras.callbacks._utils import format_clock as _clock
from polykeras.callbacks.callback import Callback, Logs


_CONSOLE: Any = None
_OPEN_BARS = 0  # live bars showing now on _CONSOLE
_REFRESH_SECONDS = 0.1  # the live bar redraws 10 times a second


def _console() -> Any:
    """The rich Console bars draw on: the one in use while a bar is showing, so
    a bar started inside another nests instead of fighting it; otherwise a new
    one, which reads the terminal (and ``sys.stdout``) as they are now."""
    global _CONSOLE
    if _CONSOLE is None or _OPEN_BARS == 0:
        from rich.console import Console

        _CONSOLE = Console()
    return _CONSOLE


class _LineDisplay:
    """Prints one line when the run finishes: ``Epoch 3/10 - 2s - loss: 0.1234``."""

    def __init__(self, title: str | None, target: int | None) -> None:
        self.title = title
        self.start = time.perf_counter()

    def update(self, seen: int, logs: Logs | None) -> None:
        pass

    def finish(self, seen: int, target: int, logs: Logs | None) -> None:
        parts = [self.title or f"{seen}/{target}", format_duration(time.perf_counter() - self.start)]
        if logs:
            parts.append(format_logs(logs))
        print_msg(" - ".join(parts))

    def close(self) -> None:
        pass


class _LiveDisplay:
    """A rich progress bar: ``Epoch 3/10 ━━━━━━╸━━━ 12/32 eta 4s - loss: 0.1234``,
    left on screen with the final time and results when the run finishes."""

    def __init__(self, title: str | None, target: int | None) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn
        from rich.text import Text

        class TimeColumn(ProgressColumn):
            def render(self, task: Any) -> Text:
                elapsed = task.finished_time if task.finished and task.finished_time else task.elapsed or 0.0
                if task.finished or task.stop_time is not None:
                    per_step = elapsed / task.completed if task.completed else 0.0
                    return Text(f"{format_duration(elapsed)} {format_duration(per_step)}/step", style="cyan")
                remaining = task.time_remaining
                return Text(f"eta {_clock(remaining)}" if remaining is not None else format_duration(elapsed),
                            style="cyan")

        class LogsColumn(ProgressColumn):
            def render(self, task: Any) -> Text:
                text = format_logs(task.fields.get("logs"))
                return Text(f"- {text}" if text else "")

        columns: list[Any] = [BarColumn(bar_width=30), MofNCompleteColumn(), TimeColumn(), LogsColumn()]
        if title:
            columns.insert(0, TextColumn("[bold]{task.description}"))
        global _OPEN_BARS
        self.progress = Progress(*columns, console=_console(), transient=False,
                                 refresh_per_second=round(1 / _REFRESH_SECONDS))
        self.progress.start()  # raises rich.errors.LiveError when another live display runs
        _OPEN_BARS += 1
        atexit.register(self.close)
        self.task = self.progress.add_task(title or "", total=target, logs={})

    def update(self, seen: int, logs: Logs | None) -> None:
        self.progress.update(self.task, completed=seen, logs=logs or {})

    def finish(self, seen: int, target: int, logs: Logs | None) -> None:
        self.progress.update(self.task, total=target, completed=seen, logs=logs or {})
        self.progress.stop_task(self.task)
        self.close()

    def close(self) -> None:
        global _OPEN_BARS
        if self.progress.live.is_started:
            _OPEN_BARS -= 1
        self.progress.stop()
        atexit.unregister(self.close)


class ProgbarLogger(Callback):
    """Shows progress and results of ``fit``, ``evaluate`` and ``predict``.

    The trainer adds one when ``verbose != 0``. With ``verbose=1`` on a
    terminal, each epoch gets a live bar (steps done, ETA, running loss and
    metrics) that stays on screen with the epoch's time and final results.
    With ``verbose=2``, or when stdout is not a terminal (a log file, CI),
    each epoch prints exactly one line::

        Epoch 3/10 - 2s - loss: 0.1234 - accuracy: 0.9500 - val_loss: 0.1410

    ``evaluate`` prints ``32/32 - 0s - loss: 0.1234``; ``predict`` ``32/32 - 0s``.
    Validation inside ``fit`` shows no separate bar: its results join the
    epoch's line. ``verbose=0`` prints nothing.

    Args:
        interactive: force the live bar (True) or the one-line mode (False);
            by default the live bar is used when stdout is a terminal.

    Example:
        >>> model.fit(x, y, epochs=10, verbose=2)   # adds ProgbarLogger itself
        Epoch 1/10 - 1s - loss: 0.6931
        ...
    """

    #: Batch logs come as the step returned them (on the device); the bar
    #: reads them only when it redraws.
    reads_logs_lazily = True

    def __init__(self, interactive: bool | None = None) -> None:
        super().__init__()
        self.interactive = interactive
        self.verbose = 1
        self.epochs = 1
        self.target: int | None = None
        self.seen = 0
        self._called_in_fit = False
        self._display: _LineDisplay | _LiveDisplay | None = None
        self._shown_at = 0.0

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else int(verbose)
        if not is_chief():  # in a multi-process run only the chief prints
            self.verbose = 0
        self.epochs = int(params.get("epochs") or 1)
        steps = params.get("steps")
        self.target = None if steps is None else int(steps)

    # ------------------------------------------------------------- display
    def _use_live(self) -> bool:
        if self.verbose != 1:
            return False
        if self.interactive is not None:
            return self.interactive
        console = _console()
        return console.is_terminal and not console.is_dumb_terminal

    def _open(self, title: str | None) -> None:
        self._close()
        self.seen = 0
        if self.verbose == 0:
            return
        if self._use_live():
            from rich.errors import LiveError

            try:
                self._display = _LiveDisplay(title, self.target)
                return
            except LiveError:  # another bar is live (e.g. evaluate called inside fit): fall back
                pass
        self._display = _LineDisplay(title, self.target)

    def _update(self, batch: int, logs: Logs | None) -> None:
        self.seen = batch + 1
        if isinstance(self._display, _LiveDisplay):
            now = time.perf_counter()
            if now - self._shown_at >= _REFRESH_SECONDS or self.seen == self.target:
                # Reading the logs waits for the device: only as often as the bar redraws.
                self._shown_at = now
                self._display.update(self.seen, pythonify_logs(logs))

    def _finish(self, logs: Logs | None) -> None:
        if self._display is not None:
            target = self.target if self.target is not None else self.seen
            stopped = bool(getattr(self.model, "stop_training", False))
            # a run stopped early (TerminateOnNaN) shows the steps it really ran
            self._display.finish(self.seen if stopped else target, target, logs)
            self._display = None

    def _close(self) -> None:
        if self._display is not None:
            self._display.close()
            self._display = None

    # --------------------------------------------------------------- hooks
    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._called_in_fit = True

    def on_train_end(self, logs: Logs | None = None) -> None:
        self._close()
        self._called_in_fit = False

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._open(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._update(batch, logs)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._finish(logs)

    def on_test_begin(self, logs: Logs | None = None) -> None:
        if not self._called_in_fit:
            self._open(None)

    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs: Logs | None = None) -> None:
        if not self._called_in_fit:
            self._finish(logs)

    def on_predict_begin(self, logs: Logs | None = None) -> None:
        self._open(None)

    def on_predict_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._update(batch, None)  # never show the batch's outputs

    def on_predict_end(self, logs: Logs | None = None) -> None:
        self._finish(None)
