""":class:`LearningRateScheduler`: set the learning rate from a function of the epoch."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from polykeras.callbacks._utils import get_learning_rate, print_msg, require_optimizer, set_learning_rate
from polykeras.callbacks.callback import Callback, Logs


def _takes_two_arguments(function: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in parameters)


class LearningRateScheduler(Callback):
    """At each epoch's start, set the learning rate to ``schedule(epoch, lr)``.

    ``epoch`` is 0-based and ``lr`` the current rate as a float; a schedule
    taking one argument is called as ``schedule(epoch)``. The rate in force
    is recorded as ``logs["learning_rate"]`` at each epoch's end.

    Args:
        schedule: ``(epoch, lr) -> new_lr`` (a Python or NumPy float).
        verbose: 1 prints each update.

    Example:
        >>> def schedule(epoch, lr):
        ...     return lr if epoch < 10 else lr * 0.9
        >>> model.fit(x, y, epochs=15, callbacks=[LearningRateScheduler(schedule)])
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: expected `schedule` to be a function (epoch, lr) -> lr, "
                            f"received {schedule!r}.")
        self.schedule = schedule
        self.verbose = verbose
        self._two_arguments = _takes_two_arguments(schedule)

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        optimizer = require_optimizer(self.model, "LearningRateScheduler")
        if self._two_arguments:
            learning_rate = self.schedule(epoch, get_learning_rate(optimizer))
        else:
            learning_rate = self.schedule(epoch)
        if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float, np.floating, np.integer)):
            raise ValueError(f"LearningRateScheduler: expected the schedule to return a float, received "
                             f"{learning_rate!r} (of type {type(learning_rate).__name__}) at epoch {epoch}.")
        set_learning_rate(optimizer, float(learning_rate))
        if self.verbose > 0:
            print_msg(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(learning_rate)}.")

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = get_learning_rate(require_optimizer(self.model, "LearningRateScheduler"))
