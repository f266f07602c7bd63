""":class:`ReduceLROnPlateau`: lower the learning rate when a value plateaus."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from polykeras.callbacks._utils import get_learning_rate, print_msg, require_optimizer, set_learning_rate
from polykeras.callbacks.callback import Logs
from polykeras.callbacks.monitor_callback import MonitorCallback


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs
    without improvement of ``monitor``, then wait ``cooldown`` epochs.

    Each epoch it also records the current rate as ``logs["learning_rate"]``
    (so :class:`History` and :class:`CSVLogger` placed after it see it).
    The rate never goes below ``min_lr``. The optimizer's learning rate must
    be settable (a float rate, not a schedule).

    Args:
        monitor: the log key to watch. Default ``"val_loss"``.
        factor: the multiplier, in ``(0, 1)``. Default 0.1.
        patience: epochs without improvement before a reduction. Default 10.
        verbose: 1 prints each reduction.
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        min_delta: the smallest change that counts as improvement. Default 1e-4.
        cooldown: epochs after a reduction during which waiting is paused.
        min_lr: the lower bound on the learning rate. Default 0.

    Example:
        >>> reduce_lr = ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=5, min_lr=1e-5)
        >>> model.fit(x, y, validation_split=0.2, epochs=50, callbacks=[reduce_lr])
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0,
                 **kwargs: Any) -> None:
        if "epsilon" in kwargs:
            warnings.warn("ReduceLROnPlateau: `epsilon` is deprecated, use `min_delta` instead.", stacklevel=2)
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unexpected argument(s) {sorted(kwargs)}.")
        super().__init__(monitor, mode, min_delta=min_delta)
        if not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau: expected 0 < factor < 1, received factor={factor}.")
        if patience < 0 or cooldown < 0 or min_lr < 0:
            raise ValueError(f"ReduceLROnPlateau: expected non-negative patience, cooldown and min_lr, received "
                             f"patience={patience}, cooldown={cooldown}, min_lr={min_lr}.")
        self.factor = float(factor)
        self.patience = int(patience)
        self.verbose = verbose
        self.cooldown = int(cooldown)
        self.min_lr = float(min_lr)
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self) -> None:
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self) -> bool:
        """Whether the callback is in its cooldown period after a reduction."""
        return self.cooldown_counter > 0

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._reset()

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._ensure_monitor_op()
        optimizer = require_optimizer(self.model, "ReduceLROnPlateau")
        if logs is None:
            logs = {}
        logs["learning_rate"] = get_learning_rate(optimizer)
        current = self._monitor_value(logs, "learning rate reduction")
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
            return
        if self.in_cooldown():
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        old_lr = logs["learning_rate"]
        if old_lr > np.float32(self.min_lr):
            new_lr = max(old_lr * self.factor, self.min_lr)
            set_learning_rate(optimizer, new_lr)
            if self.verbose > 0:
                print_msg(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
            self.cooldown_counter = self.cooldown
            self.wait = 0
