""":class:`ModelCheckpoint`: save the model or its weights during ``fit``,
never leaving a partial file behind."""

from __future__ import annotations

import os
import warnings

from polykeras.callbacks._utils import is_chief, print_msg, remove_path, temp_path_beside, whole_state
from polykeras.callbacks.callback import Logs
from polykeras.callbacks.monitor_callback import MonitorCallback

MODEL_SUFFIX = ".keras"
MODEL_SUFFIXES = (".pkeras", ".keras")  # both hold a polykeras archive when saved by polykeras
WEIGHTS_SUFFIX = ".weights.h5"


class ModelCheckpoint(MonitorCallback):
    """Save the model (``.pkeras`` or ``.keras``) or its weights (``.weights.h5``) every epoch
    or every ``save_freq`` batches, optionally only when ``monitor`` improves.

    ``filepath`` is formatted with ``epoch`` (1-based), ``batch`` (1-based,
    for batch-level saves) and the logs: ``"ckpt/{epoch:02d}-{val_loss:.2f}.keras"``.

    Saving is all-or-nothing: the model is written to a hidden temporary file
    beside the target, which then replaces the target in one rename. If
    saving raises, the temporary file is removed, the previous checkpoint at
    that path stays as it was, ``best`` is unchanged, and the error propagates.
    In a multi-process run only the chief (rank 0) writes and prints; every
    rank keeps the same ``best`` (the logs are reduced across ranks).

    Args:
        filepath: where to save; must end in ``.pkeras`` or ``.keras``, or in
            ``.weights.h5`` with ``save_weights_only=True``.
        monitor: the log key judged by ``save_best_only``. Default ``"val_loss"``.
        verbose: 1 prints a message at each save decision.
        save_best_only: save only when ``monitor`` improves on the best so far
            (a missing ``monitor`` warns and saves, as in Keras 3).
        save_weights_only: call ``model.save_weights`` instead of ``model.save``.
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        save_freq: ``"epoch"`` or a number of batches.
        initial_value_threshold: the best value to beat at the start.

    Example:
        >>> checkpoint = ModelCheckpoint("ckpt/best-{epoch:02d}-{val_loss:.2f}.keras",
        ...                              monitor="val_loss", save_best_only=True)
        >>> model.fit(x, y, validation_split=0.2, epochs=10, callbacks=[checkpoint])
    """

    def __init__(self, filepath: str | os.PathLike[str], monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False, mode: str = "auto",
                 save_freq: str | int = "epoch", initial_value_threshold: float | None = None) -> None:
        super().__init__(monitor, mode, baseline=initial_value_threshold)
        self.filepath = os.fspath(filepath)
        suffixes = (WEIGHTS_SUFFIX,) if save_weights_only else MODEL_SUFFIXES
        suffix = next((s for s in suffixes if self.filepath.endswith(s)), None)
        if suffix is None:
            what = "with `save_weights_only=True`" if save_weights_only else "to save the whole model"
            raise ValueError(f"ModelCheckpoint: {what}, expected a filepath ending in "
                             f"{' or one ending in '.join(f'`{s}`' for s in suffixes)}, "
                             f"received filepath={self.filepath!r}.")
        if save_freq != "epoch" and (not isinstance(save_freq, int) or isinstance(save_freq, bool)
                                     or save_freq < 1):
            raise ValueError(f"ModelCheckpoint: expected save_freq='epoch' or a positive number of batches, "
                             f"received save_freq={save_freq!r}.")
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._suffix = suffix
        self._current_epoch = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen: int | None = None

    # --------------------------------------------------------------- hooks
    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.save_best_only:
            self._ensure_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    # ------------------------------------------------------------- helpers
    def _should_save_on_batch(self, batch: int) -> bool:
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:  # a new epoch began
            added = batch + 1
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= int(self.save_freq):
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _get_file_path(self, epoch: int, batch: int | None, logs: Logs | None) -> str:
        """``filepath`` formatted with the 1-based epoch (and batch) and the logs."""
        fields = dict(logs or {})
        fields["epoch"] = epoch + 1
        if batch is not None and "batch" not in fields:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except (KeyError, IndexError, ValueError) as error:
            raise KeyError(f"ModelCheckpoint: failed to format filepath {self.filepath!r} with epoch, batch and "
                           f"the logs ({', '.join(fields)}): {error!r}. Use only those names, e.g. "
                           "'{epoch:02d}-{val_loss:.2f}'.") from None

    def _should_save(self, epoch: int, logs: Logs | None, filepath: str) -> tuple[bool, float | None]:
        """Whether to save now, and the new best value to record if the save succeeds."""
        if not self.save_best_only:
            if self.verbose > 0:
                print_msg(f"Epoch {epoch + 1}: saving model to {filepath}")
            return True, None
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"ModelCheckpoint: can save the best model only with `{self.monitor}` in the logs; "
                          f"available keys: {', '.join(logs or {}) or '(none)'}. Saving anyway.", stacklevel=3)
            return True, None
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print_msg(f"Epoch {epoch + 1}: {self.monitor} improved from {best_str} to {current:.5f}, "
                          f"saving model to {filepath}")
            return True, current
        if self.verbose > 0:
            print_msg(f"Epoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False, None

    def _save_model(self, epoch: int, batch: int | None, logs: Logs | None) -> None:
        filepath = self._get_file_path(epoch, batch, logs)
        save, new_best = self._should_save(epoch, logs, filepath)
        if not save:
            return
        if os.path.isdir(filepath):
            raise IsADirectoryError(f"ModelCheckpoint: expected a file path to save to, but {filepath!r} is a "
                                    "directory. Pass a filepath such as 'ckpt/model-{epoch:02d}.keras'.")
        folder = os.path.dirname(filepath)
        with whole_state(self.model):  # every process gathers sharded weights; only the chief writes
            if is_chief():
                if folder:
                    os.makedirs(folder, exist_ok=True)
                self._write_atomically(filepath)
        if new_best is not None:
            self.best = new_best

    def _write_atomically(self, filepath: str) -> None:
        temp = temp_path_beside(filepath, self._suffix)
        try:
            if self.save_weights_only:
                self.model.save_weights(temp)
            else:
                self.model.save(temp)
            if not os.path.exists(temp):
                raise FileNotFoundError(f"ModelCheckpoint: the model's save method returned without writing "
                                        f"{temp!r}; nothing was saved to {filepath!r}.")
            os.replace(temp, filepath)
        except BaseException:
            remove_path(temp)
            raise
