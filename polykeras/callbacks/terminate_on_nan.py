""":class:`TerminateOnNaN`: stop training as soon as the loss is NaN or infinite,
keeping the last finite weights."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.callbacks._utils import print_msg, to_float
from polykeras.callbacks.callback import Callback, Logs


class InvalidLossError(RuntimeError):
    """Raised by ``TerminateOnNaN(raise_error=True)`` on a NaN or infinite loss."""


class TerminateOnNaN(Callback):
    """Stop ``fit`` right after a batch whose loss is NaN or infinite, and
    give the model back its last finite weights.

    By default it sets ``model.stop_training = True`` (the trainer checks it
    after every batch, so no further step runs, and ``on_train_end`` still
    runs for every callback). With ``raise_error=True`` it raises
    :class:`InvalidLossError` (a ``RuntimeError``) naming the epoch, the batch
    and the loss value; the other callbacks' ``on_train_end`` does not run, so
    for example a :class:`BackupAndRestore` backup is kept.

    The step that produced the bad loss has already updated the weights (and
    the optimizer's state) when the callback sees its loss. With
    ``restore_weights=True`` (the default; an addition to Keras 3, whose
    stopped model keeps the bad step's weights) the callback copies the
    model's and the optimizer's variables, on the device, before every batch,
    and on a bad loss writes back the newest copy whose weights are all
    finite: the weights from before the bad step, or from before the step
    before it when that one turned the weights NaN while its own loss was
    still finite. Cost: two copies of the weights and optimizer slots in
    memory, one device copy per batch; ``restore_weights=False`` skips it.

    Args:
        raise_error: raise instead of stopping quietly.
        restore_weights: give the stopped model its last finite weights.

    Example:
        >>> model.fit(x, y, epochs=10, callbacks=[TerminateOnNaN()])
        Epoch 1, batch 7: invalid loss nan, terminating training (weights restored from before batch 7)
    """

    def __init__(self, raise_error: bool = False, restore_weights: bool = True) -> None:
        super().__init__()
        self.raise_error = raise_error
        self.restore_weights = restore_weights
        self._epoch = 0
        self._copies: list[tuple[int, list[Any], list[Any]]] = []  # (batch, variables, values): newest last

    def _variables(self) -> list[Any]:
        model = self.model
        optimizer = getattr(model, "optimizer", None)
        extra = list(getattr(optimizer, "variables", None) or []) if getattr(optimizer, "built", False) else []
        return [*(getattr(model, "variables", None) or []), *extra]

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._copies = []

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self.on_batch_begin(batch, logs)
        if not self.restore_weights:
            return
        variables = self._variables()
        self._copies = [*self._copies[-1:], (batch, variables, [ops.copy(v.value) for v in variables])]

    def _restore(self) -> int | None:
        """Write back the newest copy whose model weights are all finite; its batch."""
        weights = {id(v) for v in getattr(self.model, "variables", None) or []}
        for batch, variables, values in reversed(self._copies):
            if all(np.isfinite(ops.to_numpy(value)).all() for v, value in zip(variables, values)
                   if id(v) in weights):
                for variable, value in zip(variables, values):
                    variable.assign(value)
                self._copies = []
                return batch
        self._copies = []
        return None

    def on_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        value = to_float(loss)
        if math.isfinite(value):
            return
        restored = self._restore() if self.restore_weights else None
        note = "" if restored is None else f" (weights restored from before batch {restored})"
        if self.raise_error:
            raise InvalidLossError(f"TerminateOnNaN: expected a finite loss, received loss={value} at batch {batch} "
                                   f"of epoch {self._epoch + 1} (0-based batch index). Training stopped{note}; "
                                   "lower the learning rate, clip gradients or check the data for NaN/inf values.")
        print_msg(f"Epoch {self._epoch + 1}, batch {batch}: invalid loss {value}, terminating training{note}")
        self.model.stop_training = True
