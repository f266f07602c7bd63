"""The :class:`History` callback: what ``fit`` returns."""

from __future__ import annotations

from typing import Any

from polykeras.callbacks.callback import Callback, Logs


class History(Callback):
    """Records every epoch's logs; ``fit`` returns it and sets ``model.history``.

    Attributes:
        history: ``{"loss": [0.9, 0.5, ...], "val_loss": [...], ...}``, one
            entry per finished epoch (keys appear when first logged).
        epoch: the indices of the recorded epochs.

    Example:
        >>> history = model.fit(x, y, epochs=3, validation_split=0.2)
        >>> history.history["loss"]
        [0.71, 0.52, 0.44]
        >>> history.epoch
        [0, 1, 2]
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self
