"""The datasets polykeras' data utilities return, and the array ones:
``timeseries_dataset_from_array``, ``split_dataset``.

Keras returns a ``tf.data.Dataset`` (or a Grain dataset); polykeras needs no
TensorFlow and returns an :class:`IndexedDataset` instead: a
:class:`~polykeras.utils.PyDataset` whose batches are NumPy arrays, which
``model.fit``/``evaluate``/``predict`` read on every engine. It keeps the
``tf.data`` methods Keras programs commonly chain (``map``, ``batch``,
``take``, ``shuffle``, ``prefetch``, ``cache``, ``as_numpy_iterator``,
``cardinality``) and the attributes the Keras loaders set (``class_names``,
``file_paths``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from polykeras.symbolic import map_structure
from polykeras.utils.py_dataset import PyDataset

Fetch = Callable[[np.ndarray], Any]


def stack_samples(samples: list[Any]) -> Any:
    """One batch from a list of samples of the same structure (tuples, lists,
    dicts of arrays)."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return type(first)(stack_samples([s[i] for s in samples]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: stack_samples([s[k] for s in samples]) for k in first}
    return np.stack([np.asarray(s) for s in samples])


class IndexedDataset(PyDataset):
    """Samples ``0..size-1`` read by ``fetch(indices)`` (a structure of arrays
    with one row per index), optionally shuffled and batched.

    With ``batch_size`` each element is a batch; with ``batch_size=None``
    each element is one sample. Shuffling draws a new order each epoch from
    ``seed``.

    Example:
        >>> data = IndexedDataset(lambda i: (x[i], y[i]), len(x), batch_size=32)
        >>> model.fit(data, epochs=3)
        >>> for xb, yb in data.take(1): ...
    """

    #: ``fit(shuffle=True)`` leaves the order alone: it stands for a ``tf.data`` dataset, whose order Keras
    #: never changes (shuffle it with ``shuffle=``/``seed=`` where it is made).
    shuffle_batches = False

    def __init__(self, fetch: Fetch, size: int, batch_size: int | None = None, shuffle: bool = False,
                 seed: int | None = None, drop_remainder: bool = False, **attributes: Any):
        super().__init__()
        if batch_size is not None and (isinstance(batch_size, bool) or int(batch_size) != batch_size
                                       or batch_size < 1):
            raise ValueError(f"expected a positive integer batch_size or None, received {batch_size!r}.")
        self._fetch = fetch
        self.size = int(size)
        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_remainder = drop_remainder
        self.shuffle_each_epoch = shuffle
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._maps: list[Callable[..., Any]] = []
        self._limit: int | None = None
        self._order = self._rng.permutation(self.size) if shuffle else np.arange(self.size)
        for name, value in attributes.items():
            setattr(self, name, value)

    # ------------------------------------------------------------- reading
    def __len__(self) -> int:
        if self.batch_size is None:
            count = self.size
        elif self.drop_remainder:
            count = self.size // self.batch_size
        else:
            count = math.ceil(self.size / self.batch_size)
        return count if self._limit is None else min(count, self._limit)

    def __getitem__(self, index: int) -> Any:
        if not -len(self) <= index < len(self):
            raise IndexError(f"{type(self).__name__} index {index} out of range for {len(self)} elements.")
        index %= len(self)
        if self.batch_size is None:
            element = map_structure(lambda leaf: leaf[0], self._fetch(self._order[index:index + 1]))
        else:
            element = self._fetch(self._order[index * self.batch_size:(index + 1) * self.batch_size])
        for fn in self._maps:
            element = fn(*element) if isinstance(element, tuple) else fn(element)
        return element

    def __iter__(self) -> Iterator[Any]:
        for index in range(len(self)):
            yield self[index]
        self._reshuffle()

    def _reshuffle(self) -> None:
        if self.shuffle_each_epoch:
            self._order = self._rng.permutation(self.size)

    def on_epoch_end(self) -> None:
        self._reshuffle()

    # ------------------------------------------------- tf.data-style chaining
    def _copy(self) -> IndexedDataset:
        new = copy.copy(self)
        new._maps = list(self._maps)
        return new

    def map(self, map_func: Callable[..., Any], num_parallel_calls: Any = None, deterministic: Any = None,
            name: str | None = None) -> IndexedDataset:
        """A dataset of ``map_func(element)`` (a tuple element is unpacked
        into arguments, as ``tf.data`` does). Example: ``ds.map(lambda x, y: (x / 255, y))``"""
        new = self._copy()
        new._maps.append(map_func)
        return new

    def take(self, count: int, name: str | None = None) -> IndexedDataset:
        """The first ``count`` elements (all for ``-1``). Example: ``ds.take(1)``"""
        new = self._copy()
        new._limit = None if count is None or count < 0 else int(count)
        return new

    def batch(self, batch_size: int, drop_remainder: bool = False, **kwargs: Any) -> IndexedDataset:
        """Group consecutive samples of an unbatched dataset into batches.
        Example: ``split_dataset(x, 0.8)[0].batch(32)``"""
        if self.batch_size is not None:
            raise ValueError(f"batch: this dataset is already batched (batch_size={self.batch_size}).")
        source = self._copy()
        source.shuffle_each_epoch, source._order = False, np.arange(source.size)

        def fetch(indices: np.ndarray) -> Any:
            return stack_samples([source[int(i)] for i in indices])

        size = len(source)
        return IndexedDataset(fetch, size, batch_size, self.shuffle_each_epoch, self.seed, drop_remainder,
                              **self._attributes())

    def shuffle(self, buffer_size: int, seed: int | None = None, reshuffle_each_iteration: bool | None = None,
                name: str | None = None) -> IndexedDataset:
        """The elements in a new random order each epoch (the whole dataset is
        shuffled; ``buffer_size`` is accepted for Keras code and ignored).
        Example: ``ds.shuffle(1000, seed=0)``"""
        new = self._copy()
        new.shuffle_each_epoch, new.seed = True, seed
        new._rng = np.random.default_rng(seed)
        new._order = new._rng.permutation(new.size)
        return new

    def prefetch(self, buffer_size: Any = None, name: str | None = None) -> IndexedDataset:
        """This dataset (``fit`` reads ahead through ``workers``). Example: ``ds.prefetch(2)``"""
        return self

    def cache(self, filename: str = "", name: str | None = None) -> IndexedDataset:
        """This dataset (elements are read from their source each epoch). Example: ``ds.cache()``"""
        return self

    def cardinality(self) -> int:
        """The number of elements. Example: ``int(ds.cardinality())``"""
        return len(self)

    def as_numpy_iterator(self) -> Iterator[Any]:
        """The elements as NumPy arrays. Example: ``next(ds.as_numpy_iterator())``"""
        for element in self:
            yield map_structure(np.asarray, element)

    def _attributes(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("class_names", "file_paths") if hasattr(self, k)}

    def __repr__(self) -> str:
        what = f"batch_size={self.batch_size}" if self.batch_size else "unbatched"
        return f"<{type(self).__name__} {self.size} samples, {what}, {len(self)} elements>"


def timeseries_dataset_from_array(data: Any, targets: Any, sequence_length: int, sequence_stride: int = 1,
                                  sampling_rate: int = 1, batch_size: int | None = 128, shuffle: bool = False,
                                  seed: int | None = None, start_index: int | None = None,
                                  end_index: int | None = None, format: str = "tf") -> IndexedDataset:
    """Sliding windows over a timeseries: element ``i`` is
    ``data[start + p, start + p + sampling_rate, ...]`` (``sequence_length``
    steps, ``p = i * sequence_stride``) with target ``targets[start + p]``.
    Returns an :class:`IndexedDataset` (``format`` ``"tf"`` or ``"grain"``
    is accepted for Keras code; neither library is needed).

    Example:
        >>> ds = timeseries_dataset_from_array(x[:-10], x[10:], sequence_length=10, batch_size=32)
        >>> model.fit(ds)
    """
    where = "timeseries_dataset_from_array"
    if format not in ("tf", "grain"):
        raise ValueError(f'{where}: expected format "tf" or "grain", received {format!r}.')
    data = np.asarray(data)
    for name, value in (("sequence_length", sequence_length), ("sampling_rate", sampling_rate),
                        ("sequence_stride", sequence_stride)):
        if isinstance(value, bool) or int(value) != value or value <= 0:
            raise ValueError(f"{where}: expected a positive integer {name}, received {value!r}.")
    if sampling_rate >= len(data) or sequence_stride >= len(data):
        raise ValueError(f"{where}: expected sampling_rate and sequence_stride below the data's length "
                         f"{len(data)}, received sampling_rate={sampling_rate}, sequence_stride={sequence_stride}.")
    start = 0 if start_index is None else int(start_index)
    end = len(data) if end_index is None else int(end_index)
    if start < 0 or start >= len(data):
        raise ValueError(f"{where}: expected start_index in [0, {len(data)}), received {start_index!r}.")
    if end <= start or end > len(data):
        raise ValueError(f"{where}: expected end_index in ({start}, {len(data)}], received {end_index!r}.")
    if targets is not None:
        targets = np.asarray(targets)
    count = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        count = min(count, len(targets))
    if count <= 0:
        raise ValueError(f"{where}: no window of sequence_length={sequence_length} and sampling_rate="
                         f"{sampling_rate} fits between index {start} and {end}.")
    positions = np.arange(0, count, sequence_stride)
    if shuffle:
        np.random.RandomState(np.random.randint(1_000_000) if seed is None else seed).shuffle(positions)
    steps = np.arange(sequence_length) * sampling_rate
    windowed = data[start:end]
    labels = None if targets is None else targets[start:end]

    def fetch(indices: np.ndarray) -> Any:
        first = positions[indices]
        windows = windowed[first[:, None] + steps[None, :]]
        return windows if labels is None else (windows, labels[first])

    return IndexedDataset(fetch, len(positions), batch_size, shuffle=shuffle, seed=seed)


def _sample_source(dataset: Any) -> tuple[Fetch, int]:
    """``fetch(indices)`` and the sample count for arrays, a tuple/list/dict
    of arrays, an unbatched :class:`IndexedDataset` or any sized indexable
    (a torch ``Dataset``)."""
    if isinstance(dataset, IndexedDataset):
        if dataset.batch_size is not None:
            raise ValueError(f"split_dataset: expected an unbatched dataset, received one with batch_size="
                             f"{dataset.batch_size}; split before batching.")
        source = dataset

        def fetch_samples(indices: np.ndarray) -> Any:
            return stack_samples([source[int(i)] for i in indices])

        return fetch_samples, len(dataset)
    if isinstance(dataset, (np.ndarray, tuple, list, dict)) or hasattr(dataset, "__array__"):
        arrays = map_structure(np.asarray, tuple(dataset) if isinstance(dataset, list) else dataset)
        from polykeras.symbolic import flatten

        lengths = {len(leaf) for leaf in flatten(arrays)}
        if len(lengths) != 1:
            raise ValueError(f"split_dataset: expected arrays with the same number of samples, received lengths "
                             f"{sorted(lengths)}.")
        return (lambda indices: map_structure(lambda leaf: leaf[indices], arrays)), lengths.pop()
    if hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__"):
        def fetch_items(indices: np.ndarray) -> Any:
            return stack_samples([dataset[int(i)] for i in indices])

        return fetch_items, len(dataset)
    raise TypeError(f"split_dataset: expected a NumPy array, a list/tuple/dict of arrays or a sized dataset, "
                    f"received {type(dataset).__name__}.")


def _split_sizes(total: int, left_size: Any, right_size: Any) -> tuple[int, int]:
    def count(size: Any, name: str) -> int | None:
        if size is None:
            return None
        if isinstance(size, float):
            if not 0.0 < size < 1.0:
                raise ValueError(f"split_dataset: expected a float {name} in (0, 1), received {size!r}.")
            return int(round(size * total))
        if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
            if not 0 < size <= total:
                raise ValueError(f"split_dataset: expected an int {name} in (0, {total}], received {size!r}.")
            return int(size)
        raise TypeError(f"split_dataset: expected {name} as an int, a float or None, received {size!r}.")

    left, right = count(left_size, "left_size"), count(right_size, "right_size")
    if left is None and right is None:
        left = total // 2
    if left is None:
        left = total - right  # type: ignore[operator]
    if right is None:
        right = total - left
    if left + right > total:
        raise ValueError(f"split_dataset: left_size + right_size ({left} + {right}) exceeds the {total} samples.")
    if left == 0 or right == 0:
        raise ValueError(f"split_dataset: a split of {total} samples into {left} and {right} leaves one side empty.")
    return left, right


def split_dataset(dataset: Any, left_size: Any = None, right_size: Any = None, shuffle: bool = False,
                  seed: int | None = None, preferred_backend: str | None = None) -> tuple[IndexedDataset,
                                                                                          IndexedDataset]:
    """Split samples into a left and a right :class:`IndexedDataset`
    (unbatched: chain ``.batch(n)``); sizes are counts or fractions, either
    one may be left out. ``preferred_backend`` is accepted for Keras code.

    Example:
        >>> train, test = split_dataset((x, y), left_size=0.8)
        >>> model.fit(train.batch(32))
    """
    fetch, total = _sample_source(dataset)
    left, right = _split_sizes(total, left_size, right_size)
    order = np.arange(total)
    if shuffle:
        np.random.default_rng(seed).shuffle(order)
    left_indices, right_indices = order[:left], order[left:left + right]
    return (IndexedDataset(lambda i: fetch(left_indices[i]), left),
            IndexedDataset(lambda i: fetch(right_indices[i]), right))
