"""Data adapters: whatever the user gives ``fit`` becomes batches of engine
tensors, packed as Keras 3 hands them to ``train_step``: ``x`` alone (``(x,)``
when ``x`` is a list or tuple of inputs), ``(x, y)`` or ``(x, y, sample_weight)``
(see :func:`pack` and :func:`unpack`).

Accepted: NumPy arrays (or anything ``np.asarray`` takes) and lists/dicts of
them for several inputs/outputs; Python generators and other iterables of
batches; objects with Keras' ``PyDataset``/``Sequence`` interface
(``__len__`` and ``__getitem__`` giving whole batches; recognised by that
interface, not by class); ``tf.data.Dataset`` and torch ``DataLoader``
(recognised through ``sys.modules``, never imported here). Tensors of another
framework are moved through NumPy.
"""

from __future__ import annotations

import concurrent.futures
import math
import random
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.symbolic import flatten, map_structure

Batch = tuple[Any, Any, Any]


def _is_array_like(value: Any) -> bool:
    return (isinstance(value, (np.ndarray, list, tuple, dict, int, float)) or ops.is_tensor(value)
            or hasattr(value, "__array__"))


def _is_foreign_dataset(value: Any) -> bool:
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(value, tf.data.Dataset):
        return True
    torch_data = sys.modules.get("torch.utils.data")
    return torch_data is not None and isinstance(value, torch_data.DataLoader)


def _leaves_array(structure: Any) -> bool:
    if structure is None:
        return True
    return all(hasattr(leaf, "shape") or isinstance(leaf, (list, np.ndarray)) for leaf in flatten(structure))


def to_engine(structure: Any) -> Any:
    """Every leaf as a tensor of the active engine (foreign tensors via
    NumPy); string data stays a NumPy array, for a model's string inputs."""

    def convert(leaf: Any) -> Any:
        if leaf is None or ops.is_tensor(leaf):
            return leaf
        if hasattr(leaf, "numpy") and not isinstance(leaf, np.ndarray):
            leaf = leaf.numpy()
        array = np.asarray(leaf)
        if array.dtype.kind in "USO":
            return array  # strings stay on the host, for a model's string inputs (or its clear error)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        return ops.convert_to_tensor(array)

    return map_structure(convert, structure)


def _labelled_leaves(structure: Any, label: str) -> Iterator[tuple[str, Any]]:
    """(label, leaf) for every leaf: ``x``, ``x[1]``, ``x['image']``."""
    if isinstance(structure, dict):
        for key, value in structure.items():
            yield from _labelled_leaves(value, f"{label}[{key!r}]")
    elif isinstance(structure, (list, tuple)):  # as map_structure: a list holds several arrays
        for index, value in enumerate(structure):
            yield from _labelled_leaves(value, f"{label}[{index}]")
    else:
        yield label, structure


def check_numeric(structure: Any, what: str, names: Sequence[str | None] | None = None,
                  strings: bool = False) -> None:
    """Refuse, naming the array, data no engine can hold: strings, objects,
    dates (as Keras 3, which says ``Invalid dtype``). ``names`` are the
    model's input names, shown beside an input's position. With ``strings``
    (a model with string inputs) text passes: the model checks each input.

    Example: ``check_numeric(np.array(["a"]), "x")`` raises ``ValueError``
    """
    for label, leaf in _labelled_leaves(structure, what):
        if leaf is None:
            continue
        dtype = getattr(leaf, "dtype", None)
        if not isinstance(dtype, np.dtype):
            if ops.is_tensor(leaf) or hasattr(leaf, "numpy"):
                continue  # an engine's tensor has a numeric dtype already
            dtype = np.asarray(leaf).dtype
        if dtype.kind in "biufc" or (strings and dtype.kind in "USO"):
            continue
        if names:
            position = label[len(what):]
            if not position and len(names) == 1:
                label = f"{label} (input {names[0]!r})"
            elif position.startswith("[") and position[1:-1].isdigit() and int(position[1:-1]) < len(names):
                label = f"{label} (input {names[int(position[1:-1])]!r})"
        kind = {"U": "strings", "S": "bytes", "O": "Python objects", "M": "datetimes", "m": "timedeltas"}.get(
            dtype.kind, "non-numeric data")
        raise ValueError(f"Expected numeric or bool arrays for {label}, received dtype {dtype.str.lstrip('<>|=')} "
                         f"({kind}); convert it to numbers (float32, int32, ...) before training.")


def pack(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """A batch as Keras 3 gives it to ``train_step``: ``x`` alone when there
    are no targets (``(x,)`` when ``x`` is a list or tuple of inputs),
    ``(x, y)``, or ``(x, y, sample_weight)``.

    Example: ``pack(images, labels)`` -> ``(images, labels)``
    """
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def unpack(batch: Any) -> Batch:
    """``(x, y, sample_weight)`` from a batch given as x, (x,), (x, y) or (x, y, sw).

    Example: ``x, y, sw = unpack((images, labels))``
    """
    if isinstance(batch, tuple):
        if len(batch) == 1:
            return batch[0], None, None
        if len(batch) == 2:
            return batch[0], batch[1], None
        if len(batch) == 3:
            return batch
        raise ValueError(f"Expected a batch of x, (x, y) or (x, y, sample_weight), received a tuple of {len(batch)}.")
    return batch, None, None


def num_samples(structure: Any, what: str) -> int:
    """The common first-axis length of every array in ``structure``."""
    lengths = {int(np.shape(leaf)[0]) for leaf in flatten(structure) if leaf is not None and np.ndim(leaf) > 0}
    if len(lengths) > 1:
        raise ValueError(f"Expected every array of {what} to have the same number of samples, received lengths "
                         f"{sorted(lengths)}.")
    if not lengths:
        raise ValueError(f"Expected {what} with a batch axis, received {structure!r}.")
    return lengths.pop()


class ArrayData:
    """In-memory arrays, batched (and shuffled per epoch) by index.

    Example:
        >>> data = ArrayData(x, y, batch_size=32, shuffle=True)
        >>> for x_batch, y_batch, sw in data.epoch(): ...
    """

    def __init__(self, x: Any, y: Any = None, sample_weight: Any = None, batch_size: int = 32,
                 shuffle: bool = False, steps: int | None = None,
                 input_names: Sequence[str | None] | None = None, strings: bool = False):
        as_array = lambda leaf: None if leaf is None else np.asarray(leaf)  # noqa: E731
        self.x = map_structure(as_array, x)
        self.y = map_structure(as_array, y)
        self.sample_weight = map_structure(as_array, sample_weight)
        self.strings = strings
        check_numeric(self.x, "x", input_names, strings)
        check_numeric(self.y, "y")
        check_numeric(self.sample_weight, "sample_weight")
        self.size = num_samples(self.x, "x")
        if self.size == 0:
            raise ValueError("Expected at least one sample, received an empty x.")
        if y is not None and num_samples(self.y, "y") != self.size:
            raise ValueError(f"Expected x and y with the same number of samples, received {self.size} samples in x "
                             f"and {num_samples(self.y, 'y')} in y.")
        if sample_weight is not None and num_samples(self.sample_weight, "sample_weight") != self.size:
            raise ValueError(f"Expected sample_weight with one entry per sample ({self.size}), received "
                             f"{num_samples(self.sample_weight, 'sample_weight')}.")
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"Expected a positive integer batch_size, received {batch_size!r}.")
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.steps = steps or math.ceil(self.size / batch_size)

    def split(self, fraction: float) -> tuple[ArrayData, ArrayData]:
        """(training, validation) with the last ``fraction`` of samples held out, as Keras."""
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"Expected validation_split in (0, 1), received {fraction!r}.")
        cut = int(self.size * (1.0 - fraction))
        if cut == 0 or cut == self.size:
            raise ValueError(f"validation_split={fraction} leaves no samples for training or validation "
                             f"({self.size} samples).")
        head = lambda leaf: None if leaf is None else leaf[:cut]  # noqa: E731
        tail = lambda leaf: None if leaf is None else leaf[cut:]  # noqa: E731
        parts = []
        for take in (head, tail):
            parts.append(ArrayData(map_structure(take, self.x), map_structure(take, self.y),
                                   map_structure(take, self.sample_weight), self.batch_size, self.shuffle,
                                   strings=self.strings))
        return parts[0], parts[1]

    def epoch(self) -> Iterator[Batch]:
        order = np.random.permutation(self.size) if self.shuffle else None
        for step in range(self.steps):
            start = (step * self.batch_size) % self.size
            index: slice | np.ndarray = slice(start, min(start + self.batch_size, self.size))
            if order is not None:
                index = order[index]
            pick = lambda leaf, index=index: None if leaf is None else leaf[index]  # noqa: E731
            yield pack(to_engine(map_structure(pick, self.x)), to_engine(map_structure(pick, self.y)),
                       to_engine(map_structure(pick, self.sample_weight)))


class IterableData:
    """Batches from a generator, an iterable, a ``tf.data.Dataset`` or a torch
    ``DataLoader``. A one-shot generator is read once; give ``steps`` to cut
    each epoch short (the next epoch continues from where it stopped)."""

    def __init__(self, source: Iterable[Any], steps: int | None = None):
        self.source = source
        self.steps = steps
        self._iterator: Iterator[Any] | None = None
        self.shuffle = False

    def epoch(self) -> Iterator[Batch]:
        reusable = not isinstance(self.source, Iterator)
        if self._iterator is None or (reusable and self.steps is None):
            self._iterator = iter(self.source)
        produced = 0
        while self.steps is None or produced < self.steps:
            try:
                batch = next(self._iterator)
            except StopIteration:
                self._iterator = None
                if produced == 0:
                    raise ValueError("Expected at least one batch, received an empty dataset.") from None
                return
            produced += 1
            yield _standardize(batch)


def _standardize(batch: Any) -> Any:
    """One batch a dataset gave, as engine tensors packed by :func:`pack`."""
    if isinstance(batch, list) and len(batch) in (2, 3):
        batch = tuple(batch)
    if isinstance(batch, dict) and {"x", "y"} <= set(batch):
        batch = (batch["x"], batch["y"])
    x, y, sw = unpack(batch)
    for value, what in ((x, "x"), (y, "y"), (sw, "sample_weight")):
        check_numeric(value, f"a batch's {what}")
    return pack(to_engine(x), to_engine(y), to_engine(sw))


def is_batch_sequence(value: Any) -> bool:
    """True for an object with Keras' ``PyDataset``/``Sequence`` interface:
    ``__len__`` (or ``num_batches``) and ``__getitem__(index)`` giving whole
    batches, and not itself an array, list, tuple or dict.

    Example: ``is_batch_sequence(MyBatches())`` -> True
    """
    kind = type(value)
    return (hasattr(kind, "__getitem__") and (hasattr(kind, "__len__") or hasattr(kind, "num_batches"))
            and not _is_array_like(value) and not isinstance(value, (str, bytes)) and not _is_foreign_dataset(value))


def _worker_batch(index: int) -> Any:
    return _WORKER_SOURCE[0][index]


def _set_worker_source(source: Any) -> None:
    _WORKER_SOURCE[:] = [source]


_WORKER_SOURCE: list[Any] = []


class SequenceData:
    """Batches from an object with Keras' ``PyDataset`` interface, read by
    index: ``on_epoch_begin``/``on_epoch_end`` called around each epoch (where
    the object has them), the batch order shuffled per epoch with
    ``shuffle=True`` (Python's ``random``, as Keras), and with ``workers > 1``
    (threads, or processes with ``use_multiprocessing=True``) up to
    ``max_queue_size`` batches read ahead, still yielded in order.

    Example:
        >>> data = SequenceData(MyBatches(), shuffle=True)
        >>> for batch in data.epoch(): ...
    """

    def __init__(self, source: Any, shuffle: bool = False, steps: int | None = None):
        self.source = source
        # A source that orders itself (a dataset standing for a tf.data pipeline) is read in its order, as
        # Keras ignores shuffle for tf.data datasets.
        self.shuffle = shuffle and getattr(source, "shuffle_batches", True)
        count = getattr(source, "num_batches", None) if hasattr(type(source), "num_batches") else len(source)
        if count is None and steps is None:
            raise ValueError(f"Expected steps for the endless {type(source).__name__} (its num_batches is None), "
                             "received steps=None; give steps_per_epoch/steps.")
        if count is not None and int(count) <= 0:
            raise ValueError(f"Expected at least one batch, received a {type(source).__name__} of length {count}.")
        self.count = None if count is None else int(count)
        steps = steps or self.count
        assert steps is not None  # checked above: a count or steps is given
        self.steps = steps
        self.workers = int(getattr(source, "workers", 1) or 1)
        self.use_multiprocessing = bool(getattr(source, "use_multiprocessing", False))
        self.max_queue_size = max(1, int(getattr(source, "max_queue_size", 10) or 10))

    def _indices(self) -> list[int]:
        if self.count is None:
            return list(range(self.steps))
        order = list(range(self.count))
        if self.shuffle:
            random.shuffle(order)
        return [order[i % self.count] for i in range(self.steps)]

    def _batches(self, indices: list[int]) -> Iterator[Any]:
        if self.workers <= 1 and not self.use_multiprocessing:
            for index in indices:
                yield self.source[index]
            return
        if self.use_multiprocessing:
            pool: concurrent.futures.Executor = concurrent.futures.ProcessPoolExecutor(
                self.workers, initializer=_set_worker_source, initargs=(self.source,))
            fetch: Callable[[int], Any] = _worker_batch
        else:
            pool = concurrent.futures.ThreadPoolExecutor(self.workers)
            fetch = self.source.__getitem__
        with pool:
            pending: deque[Any] = deque()
            ahead = iter(indices)
            for index in ahead:
                pending.append(pool.submit(fetch, index))
                if len(pending) >= self.max_queue_size:
                    break
            while pending:
                batch = pending.popleft().result()
                for index in ahead:
                    pending.append(pool.submit(fetch, index))
                    break
                yield batch

    def epoch(self) -> Iterator[Any]:
        begin = getattr(self.source, "on_epoch_begin", None)
        if callable(begin):
            begin()
        try:
            for batch in self._batches(self._indices()):
                if hasattr(batch, "shape"):  # an array or tensor: x alone
                    batch = (batch,)
                if not isinstance(batch, (tuple, list, dict)) or (not isinstance(batch, dict)
                                                                   and len(batch) not in (1, 2, 3)):
                    raise ValueError(f"{type(self.source).__name__}.__getitem__: expected a batch x, (x,), (x, y) "
                                     f"or (x, y, sample_weight), received {type(batch).__name__} "
                                     f"{str(batch)[:80]}.")
                yield _standardize(tuple(batch) if isinstance(batch, list) else batch)
        finally:
            end = getattr(self.source, "on_epoch_end", None)
            if callable(end):
                end()


def reset(data: Any) -> None:
    """Before ``fit`` or ``evaluate`` reads ``data``: a ``PyDataset``-like
    source gets one ``on_epoch_end()`` first, as Keras 3's epoch iterator
    gives it when training or evaluation starts (a source that reshuffles
    there does so before the first epoch too). Example: ``reset(adapt(py_dataset))``"""
    if isinstance(data, SequenceData):
        end = getattr(data.source, "on_epoch_end", None)
        if callable(end):
            end()


def adapt(x: Any, y: Any = None, sample_weight: Any = None, batch_size: int | None = None,
          shuffle: bool = False, steps: int | None = None, input_names: Sequence[str | None] | None = None,
          strings: bool = False) -> ArrayData | IterableData | SequenceData:
    """The right adapter for ``x`` (and ``y``/``sample_weight`` with arrays).
    ``batch_size`` is a positive int or None (32 for arrays); ``input_names``
    (the model's) label errors about an input; ``strings`` lets text through
    to a model with string inputs.

    Example: ``data = adapt(x_train, y_train, batch_size=64, shuffle=True)``
    """
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                   or batch_size <= 0):
        # Keras 3 refuses negative and non-int sizes but reads 0 as "not given" (32); 0 is refused here too.
        raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size!r}.")
    if x is None:
        raise ValueError("Expected data (x), received None.")
    if is_batch_sequence(x):
        for value, what in ((y, "y"), (sample_weight, "sample_weight")):
            if value is not None:
                raise ValueError(f"Expected {what} inside the batches of the {type(x).__name__}, received a "
                                 f"separate {what}.")
        return SequenceData(x, shuffle, steps)
    if _is_foreign_dataset(x) or (not _leaves_array(x) and isinstance(x, Iterable) and not isinstance(x, dict)):
        if y is not None:
            raise ValueError("Expected y inside the dataset's batches, received a separate y with a "
                             f"{type(x).__name__}.")
        return IterableData(x, steps)
    return ArrayData(x, y, sample_weight, 32 if batch_size is None else int(batch_size), shuffle, steps,
                     input_names, strings)


def class_weights_to_sample_weights(y: Any, class_weight: dict[int, float]) -> Callable[[Any], Any]:
    """Per-sample weights ``class_weight[label]`` for sparse or one-hot ``y``."""
    y = np.asarray(y)
    labels = y.argmax(axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y), -1)[:, 0]
    table = np.ones(int(max(labels.max(), max(class_weight))) + 1, dtype="float32")
    for label, weight in class_weight.items():
        table[int(label)] = weight
    return table[labels.astype(int)]
