""":class:`BackupAndRestore`: resume an interrupted ``fit`` from its last backup."""

from __future__ import annotations

import json
import os
import re
import uuid
import warnings
from typing import Any

import numpy as np

from polykeras.callbacks._utils import atomic_write_text, barrier, is_chief, remove_path, whole_state
from polykeras.callbacks.callback import Callback, Logs

METADATA_FILE = "training_metadata.json"
_FORMAT = 1
_OWN_FILE = re.compile(r"^backup-[0-9a-f]{16}\.(weights\.h5|optimizer\.npz)$")

#: The attribute :class:`BackupAndRestore` sets on the model in ``on_train_begin``.
RESUME_ATTRIBUTE = "_resume_epoch"


def consume_resume_epoch(model: Any, initial_epoch: int = 0) -> int:
    """The epoch ``fit`` should start from: ``max(initial_epoch, model._resume_epoch)``.

    The trainer calls it right after ``callbacks.on_train_begin()``; it also
    clears ``model._resume_epoch`` so a later ``fit`` without
    :class:`BackupAndRestore` starts where the user asks.

    Example:
        >>> callbacks.on_train_begin()
        >>> initial_epoch = consume_resume_epoch(model, initial_epoch)
    """
    resume = getattr(model, RESUME_ATTRIBUTE, None)
    if resume is not None:
        setattr(model, RESUME_ATTRIBUTE, None)
        return max(int(initial_epoch), int(resume))
    return int(initial_epoch)


def _to_numpy(variable: Any) -> np.ndarray:
    return np.array(variable.numpy() if hasattr(variable, "numpy") else variable, copy=True)


def _optimizer_variables(model: Any) -> list[Any] | None:
    variables = getattr(getattr(model, "optimizer", None), "variables", None)
    if callable(variables):
        variables = variables()
    return list(variables) if variables else None


def _variable_key(variable: Any, index: int) -> str:
    return str(getattr(variable, "path", None) or getattr(variable, "name", None) or index)


def _under_optimizer(key: str) -> str:
    """A state variable's path under its optimizer's name
    (``dense_kernel_momentum`` of ``adam/dense_kernel_momentum``): what
    another instance of the optimizer (``adam_1``) shares."""
    return key.split("/", 1)[-1]


class BackupAndRestore(Callback):
    """Back up training state so that an interrupted ``fit`` resumes where it stopped.

    What is saved, in ``backup_dir``: the model's weights
    (``model.save_weights``), the optimizer's state (every variable in
    ``model.optimizer.variables``, when it has any, as a NumPy ``.npz`` in
    order, with their paths, never pickled) and ``training_metadata.json`` naming
    those files, the epoch to resume from and the batch. Each backup is
    written to new files first; the metadata file is then replaced in one
    rename, so a crash at any moment leaves the previous backup valid.

    Contract with the trainer: in ``on_train_begin``, if a backup exists,
    the callback loads the weights and optimizer state and sets
    ``model._resume_epoch = n`` (0-based: the first epoch not finished). The
    trainer, right after ``callbacks.on_train_begin()``, starts the epoch loop
    at :func:`consume_resume_epoch` ``(model, initial_epoch)``, which returns
    ``max(initial_epoch, n)`` and clears the attribute. Resumption is by
    epoch: a batch-level backup (``save_freq`` an integer) restarts its epoch
    from the first batch, with the weights it had at the backup.

    When ``fit`` ends normally (also after ``EarlyStopping`` or a quiet
    ``TerminateOnNaN``), the backup files are deleted if
    ``delete_checkpoint``; after an exception they stay for the next run.
    Only this callback's own files are ever deleted.

    In a multi-process data-parallel run every rank holds the same state, so
    only the chief (rank 0) writes and deletes files in ``backup_dir``; every
    rank restores from it (a folder all ranks share). The ranks wait for each
    other before and after restoring, so all of them resume at the same epoch
    and none reads a backup the chief is replacing or deleting.

    Args:
        backup_dir: the folder for the backup (created when needed).
        save_freq: ``"epoch"``, a number of batches, or False (restore only).
        double_checkpoint: accepted for Keras compatibility; the previous
            backup is always kept until a new one is complete.
        delete_checkpoint: delete the backup when training ends.

    Example:
        >>> backup = BackupAndRestore(backup_dir="/tmp/backup")
        >>> model.fit(x, y, epochs=10, callbacks=[backup])   # interrupted in epoch 5
        >>> model.fit(x, y, epochs=10, callbacks=[backup])   # runs epochs 5..9 only
    """

    def __init__(self, backup_dir: str | os.PathLike[str], save_freq: str | int | bool = "epoch",
                 double_checkpoint: bool = False, delete_checkpoint: bool = True) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError(f"BackupAndRestore: expected a folder path for `backup_dir`, received {backup_dir!r}.")
        if save_freq not in ("epoch", False) and (not isinstance(save_freq, int) or isinstance(save_freq, bool)
                                                 or save_freq < 1):
            raise ValueError(f"BackupAndRestore: expected save_freq='epoch', a positive number of batches or "
                             f"False, received save_freq={save_freq!r}.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._metadata_path = os.path.join(self.backup_dir, METADATA_FILE)
        self._current_epoch = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen: int | None = None

    # ------------------------------------------------------------ restore
    def _read_metadata(self) -> dict[str, Any] | None:
        if not os.path.exists(self._metadata_path):
            return None
        with open(self._metadata_path, encoding="utf-8") as handle:
            metadata = json.load(handle)
        if not isinstance(metadata, dict) or metadata.get("format") != _FORMAT or "epoch" not in metadata:
            raise ValueError(f"BackupAndRestore: expected {self._metadata_path!r} to be a backup written by "
                             f"this callback (format {_FORMAT}), received {metadata!r}. Remove the folder to "
                             "start afresh.")
        return metadata

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._current_epoch = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        barrier()  # the chief finished anything before this fit (a previous fit's delete)
        self._restore()
        barrier()  # every rank has read the backup before the chief may replace or delete it

    def _restore(self) -> None:
        metadata = self._read_metadata()
        if metadata is None:
            return
        if getattr(self.model, "built", True) is False:
            raise ValueError("BackupAndRestore: expected a built model to restore the backup into, received an "
                             "unbuilt one. Build the model (call it once or `model.build(input_shape)`) before fit.")
        self.model.load_weights(os.path.join(self.backup_dir, metadata["weights"]))
        if metadata.get("optimizer"):
            self._restore_optimizer(os.path.join(self.backup_dir, metadata["optimizer"]), metadata["optimizer_keys"])
        self._current_epoch = int(metadata["epoch"])
        setattr(self.model, RESUME_ATTRIBUTE, self._current_epoch)

    def _restore_optimizer(self, path: str, keys: list[str]) -> None:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and getattr(optimizer, "built", True) is False and hasattr(optimizer, "build"):
            optimizer.build(self.model.trainable_variables)  # slots exist only once built
        variables = _optimizer_variables(self.model) or []
        with np.load(path, allow_pickle=False) as archive:
            values = [archive[f"arr_{i}"] for i in range(len(keys))]
        # In order, each under its optimizer's name: a restarted optimizer may
        # be numbered (adam_1), and a wrapped one repeats `iteration`.
        problems = [key for i, (key, value, variable) in enumerate(zip(keys, values, variables))
                    if _under_optimizer(key) != _under_optimizer(_variable_key(variable, i))
                    or tuple(np.shape(variable)) != value.shape]
        problems += keys[len(variables):]  # saved, no variable now
        problems += [_variable_key(v, i) for i, v in enumerate(variables[len(keys):], len(keys))]  # new ones
        if problems:
            warnings.warn(f"BackupAndRestore: the optimizer state in {path!r} does not match the optimizer "
                          f"(missing, moved or reshaped: {', '.join(problems[:5])}); it was not restored, the "
                          "weights and epoch were.", stacklevel=3)
            return
        for variable, value in zip(variables, values):
            variable.assign(value)

    # --------------------------------------------------------------- save
    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self._should_save_on_batch(batch):
            self._save(batch)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._current_epoch = epoch + 1
        self._last_batch_seen = None
        if self.save_freq == "epoch":
            self._save(None)

    def _should_save_on_batch(self, batch: int) -> bool:
        if self.save_freq in ("epoch", False):
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            added = batch + 1
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= int(self.save_freq):
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _save(self, batch: int | None) -> None:
        with whole_state(self.model):  # every process gathers sharded state; the chief writes it
            if is_chief():
                self._write(batch)

    def _write(self, batch: int | None) -> None:
        os.makedirs(self.backup_dir, exist_ok=True)
        stem = f"backup-{uuid.uuid4().hex[:16]}"
        weights = f"{stem}.weights.h5"
        optimizer_file: str | None = None
        keys: list[str] = []
        written = [os.path.join(self.backup_dir, weights)]
        try:
            self.model.save_weights(written[0])
            variables = _optimizer_variables(self.model)
            if variables:
                optimizer_file = f"{stem}.optimizer.npz"
                written.append(os.path.join(self.backup_dir, optimizer_file))
                keys = [_variable_key(v, i) for i, v in enumerate(variables)]
                with open(written[-1], "wb") as handle:
                    np.savez(handle, *[_to_numpy(v) for v in variables])
            metadata = {"format": _FORMAT, "epoch": self._current_epoch, "batch": batch, "weights": weights,
                        "optimizer": optimizer_file, "optimizer_keys": keys}
            atomic_write_text(self._metadata_path, json.dumps(metadata, indent=1))
        except BaseException:
            for path in written:
                remove_path(path)
            raise
        self._remove_own_files(keep={weights, optimizer_file})

    def _remove_own_files(self, keep: set[str | None]) -> None:
        if not os.path.isdir(self.backup_dir):
            return
        for name in os.listdir(self.backup_dir):
            if _OWN_FILE.match(name) and name not in keep:
                remove_path(os.path.join(self.backup_dir, name))

    def on_train_end(self, logs: Logs | None = None) -> None:
        if not self.delete_checkpoint or not is_chief() or not os.path.isdir(self.backup_dir):
            return
        remove_path(self._metadata_path)
        self._remove_own_files(keep=set())
        try:
            os.rmdir(self.backup_dir)  # only when nothing else is in it
        except OSError:
            pass
