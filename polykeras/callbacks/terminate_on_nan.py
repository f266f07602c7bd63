""":class:`TerminateOnNaN`: stop training as soon as the loss is NaN or infinite."""

from __future__ import annotations

import math

from polykeras.callbacks._utils import print_msg, to_float
from polykeras.callbacks.callback import Callback, Logs


class InvalidLossError(RuntimeError):
    """Raised by ``TerminateOnNaN(raise_error=True)`` on a NaN or infinite loss."""


class TerminateOnNaN(Callback):
    """Stop ``fit`` right after a batch whose loss is NaN or infinite.

    By default it sets ``model.stop_training = True`` (the trainer checks it
    after every batch, so no further step runs, and ``on_train_end`` still
    runs for every callback). With ``raise_error=True`` it raises
    :class:`InvalidLossError` (a ``RuntimeError``) naming the epoch, the batch
    and the loss value; the other callbacks' ``on_train_end`` does not run, so
    for example a :class:`BackupAndRestore` backup is kept.

    Args:
        raise_error: raise instead of stopping quietly.

    Example:
        >>> model.fit(x, y, epochs=10, callbacks=[TerminateOnNaN()])
        Epoch 1, batch 7: invalid loss nan, terminating training
    """

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = raise_error
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._epoch = epoch

    def on_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        value = to_float(loss)
        if math.isfinite(value):
            return
        if self.raise_error:
            raise InvalidLossError(f"TerminateOnNaN: expected a finite loss, received loss={value} at batch {batch} "
                                   f"of epoch {self._epoch + 1} (0-based batch index). Training stopped; lower "
                                   "the learning rate, clip gradients or check the data for NaN/inf values.")
        print_msg(f"Epoch {self._epoch + 1}, batch {batch}: invalid loss {value}, terminating training")
        self.model.stop_training = True
