"""``PyDataset`` (alias ``Sequence``): batches built by Python code, read in
order by a thread or process pool while the model trains.

A subclass gives ``__len__`` (batches per epoch) and ``__getitem__(index)``
(one whole batch: ``x``, ``(x, y)`` or ``(x, y, sample_weight)``). ``fit``,
``evaluate`` and ``predict`` read it through the trainer's data adapter
(``polykeras/trainers/data.py``), which calls ``on_epoch_begin``/
``on_epoch_end`` around each epoch and fetches batches ahead with ``workers``
threads (processes with ``use_multiprocessing=True``), at most
``max_queue_size`` at a time. Iterating a ``PyDataset`` directly
(``for batch in dataset``) reads the batches one by one, as in Keras.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np


class PyDataset:
    """Base class for a dataset written in Python, read in parallel by ``fit``.

    Args:
        workers: threads (or processes) reading batches ahead.
        use_multiprocessing: read in processes (the dataset must pickle).
        max_queue_size: the most batches read ahead.

    Example:
        >>> class Batches(PyDataset):
        ...     def __init__(self, x, y, batch_size, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.x, self.y, self.batch_size = x, y, batch_size
        ...     def __len__(self):
        ...         return math.ceil(len(self.x) / self.batch_size)
        ...     def __getitem__(self, index):
        ...         part = slice(index * self.batch_size, (index + 1) * self.batch_size)
        ...         return self.x[part], self.y[part]
        >>> model.fit(Batches(x, y, 32, workers=4), epochs=2)
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size
        _check_settings(self)

    # Subclasses that forget super().__init__() still get Keras' defaults.
    @property
    def workers(self) -> int:
        return getattr(self, "_workers", 1)

    @workers.setter
    def workers(self, value: int) -> None:
        self._workers = value

    @property
    def use_multiprocessing(self) -> bool:
        return getattr(self, "_use_multiprocessing", False)

    @use_multiprocessing.setter
    def use_multiprocessing(self, value: bool) -> None:
        self._use_multiprocessing = value

    @property
    def max_queue_size(self) -> int:
        return getattr(self, "_max_queue_size", 10)

    @max_queue_size.setter
    def max_queue_size(self, value: int) -> None:
        self._max_queue_size = value

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) returning one batch.")

    @property
    def num_batches(self) -> int | None:
        """Batches per epoch (``len(self)``), or None for an endless dataset."""
        if type(self).__len__ is not PyDataset.__len__:
            return len(self)
        return None

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__ (the number of batches) or a "
                                  "num_batches property returning None for an endless dataset.")

    def __iter__(self) -> Iterator[Any]:
        indices = range(self.num_batches) if self.num_batches is not None else itertools.count()
        for index in indices:
            yield self[index]

    def on_epoch_begin(self) -> None:
        """Called before each epoch's first batch is read (by ``fit``)."""

    def on_epoch_end(self) -> None:
        """Called after each epoch's last batch was read (by ``fit``)."""


#: Keras' older name for :class:`PyDataset`.
Sequence = PyDataset


def _check_settings(dataset: Any) -> None:
    workers = dataset.workers
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"{type(dataset).__name__}: expected workers >= 1, received {workers!r}.")
    queue = dataset.max_queue_size
    if isinstance(queue, bool) or not isinstance(queue, (int, np.integer)) or queue < 1:
        raise ValueError(f"{type(dataset).__name__}: expected max_queue_size >= 1, received {queue!r}.")
