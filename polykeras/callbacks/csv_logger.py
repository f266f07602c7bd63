""":class:`CSVLogger`: stream each epoch's results to a CSV file."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from typing import IO, Any

import numpy as np

from polykeras.callbacks._utils import is_chief
from polykeras.callbacks.callback import Callback, Logs


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, Iterable) and not (isinstance(value, np.ndarray) and value.ndim == 0):
        return f"[{', '.join(map(str, value))}]"
    return value


class CSVLogger(Callback):
    """Write one CSV row per epoch: ``epoch`` then the log keys, sorted.

    The columns are fixed by the first epoch's logs; if those hold no
    ``val_`` keys, ``val_`` columns are added for every key so that
    validation run on later epochs only (``validation_freq``) still has a
    place (they read ``NA`` until then). Keys that appear later and have no
    column are left out. The file is flushed after every row. In a
    multi-process run only the chief (rank 0) opens and writes the file.

    Args:
        filename: the CSV file.
        separator: the field separator. Default ``","``.
        append: add to an existing file (writing the header only if the
            file is empty) instead of overwriting it.

    Example:
        >>> model.fit(x, y, epochs=3, callbacks=[CSVLogger("training.csv")])
        >>> open("training.csv").readline()
        'epoch,loss,val_loss\\n'
    """

    def __init__(self, filename: str | os.PathLike[str], separator: str = ",", append: bool = False) -> None:
        super().__init__()
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"CSVLogger: expected `separator` to be one character, received {separator!r}.")
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.keys: list[str] | None = None
        self.append_header = True
        self.csv_file: IO[str] | None = None
        self.writer: csv.DictWriter[str] | None = None
        self._silent = False  # True on a non-chief rank: nothing is opened or written

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._close()
        self._silent = not is_chief()
        if self._silent:
            return
        if self.append and os.path.exists(self.filename):
            with open(self.filename, encoding="utf-8") as existing:
                self.append_header = not existing.readline()
        else:
            self.append_header = True
        folder = os.path.dirname(self.filename)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="", encoding="utf-8")
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs or {}
        if self._silent:
            return
        if self.csv_file is None:
            raise RuntimeError("CSVLogger: expected on_train_begin to open the file before on_epoch_end; "
                               "use the callback through model.fit.")
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys += [f"val_{key}" for key in self.keys]
        if self.writer is None:
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch", *self.keys], delimiter=self.sep,
                                         lineterminator="\n")
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch, **{key: _cell(logs.get(key, "NA")) for key in self.keys}}
        self.writer.writerow(row)
        self.csv_file.flush()

    def _close(self) -> None:
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = None
        self.writer = None

    def on_train_end(self, logs: Logs | None = None) -> None:
        self._close()
