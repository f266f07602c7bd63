""":class:`EarlyStopping`: stop ``fit`` when a monitored value stops improving."""

from __future__ import annotations

from typing import Any

import numpy as np

from polykeras.callbacks._utils import print_msg
from polykeras.callbacks.callback import Logs
from polykeras.callbacks.monitor_callback import MonitorCallback


def _copy_weights(model: Any) -> list[np.ndarray]:
    """The model's weights as NumPy copies (an engine may hand out views)."""
    return [np.array(w, copy=True) for w in model.get_weights()]


class EarlyStopping(MonitorCallback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    Keras 3 semantics: an epoch improves when the value beats the best so far
    by more than ``min_delta``; the wait counter restarts only when it also
    beats ``baseline`` (if given). Training stops at the end of the first
    epoch after the start (``epoch > 0``) at which ``patience`` epochs have
    passed without a counted improvement. Epochs before ``start_from_epoch``
    are ignored (warm-up).

    Args:
        monitor: the log key to watch. Default ``"val_loss"``.
        min_delta: the smallest change that counts as improvement. Default 0.
        patience: epochs without improvement before stopping. Default 0.
        verbose: 1 prints when stopping and restoring.
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        baseline: a value the monitored quantity must beat; until it does,
            training stops after ``patience`` epochs.
        restore_best_weights: at the end of training, set the weights back
            to those of the best epoch (if no epoch improved, the first
            monitored epoch's weights).
        start_from_epoch: epochs to wait before monitoring starts.

    Attributes:
        stopped_epoch: the (0-based) epoch at which training was stopped, or 0.
        best_epoch: the (0-based) epoch with the best value.

    Example:
        >>> stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
        >>> history = model.fit(x, y, validation_split=0.2, epochs=100, callbacks=[stop])
        >>> len(history.epoch) < 100
        True
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0) -> None:
        super().__init__(monitor, mode, min_delta=min_delta)
        if int(patience) < 0 or int(start_from_epoch) < 0:
            raise ValueError(f"EarlyStopping: expected non-negative `patience` and `start_from_epoch`, received "
                             f"patience={patience}, start_from_epoch={start_from_epoch}.")
        self.patience = int(patience)
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = int(start_from_epoch)
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights: list[Any] | None = None

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._ensure_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = _copy_weights(self.model)  # until something improves, these are the best
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = _copy_weights(self.model)
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def get_monitor_value(self, logs: Logs | None) -> float | None:
        """The value this epoch is judged by: ``logs[monitor]``, or None (with
        a warning naming the keys there are). Override it to judge by
        something else.

        Example:
            >>> class StopOnGap(EarlyStopping):
            ...     def get_monitor_value(self, logs):
            ...         return logs["val_loss"] - logs["loss"]
        """
        return self._monitor_value(logs, "early stopping")

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_msg(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)
