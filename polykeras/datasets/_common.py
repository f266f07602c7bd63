"""Where the datasets come from, and how their files are read without
running code from them.

Files are fetched with :func:`polykeras.utils.get_file` from Keras' own
origins and checked against Keras' hashes, so ``~/.keras/datasets`` is shared
with Keras. A mirror (a local copy, a test server) replaces the origin:
set ``POLYKERAS_DATASETS_ORIGIN`` (or ``polykeras.datasets.ORIGIN``) to a base
URL holding the same file names; files from a mirror are not checked against
Keras' hashes (the mirror is yours), and are still read safely.

Safety: numeric arrays are read with pickling off; the object arrays of the
IMDB/Reuters ``.npz`` files and the CIFAR batches (Python pickles) are read by
a restricted unpickler that only rebuilds NumPy arrays, dtypes and scalars
(and plain dicts, lists, strings, numbers, bytes, which need no lookup), so a
tampered file cannot run code: any other global it names is refused.
"""

from __future__ import annotations

import io
import os
import pickle
import urllib.parse
import zipfile
from typing import Any, BinaryIO

import numpy as np

from polykeras.utils.file_utils import get_file

ORIGIN_ENV = "POLYKERAS_DATASETS_ORIGIN"
KERAS_DATASETS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

_ALLOWED_GLOBALS = frozenset({
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),  # how protocol-2 pickles spell bytes
})


class DatasetFileError(ValueError):
    """A dataset file names something the safe reader refuses, or is malformed.
    Example: an ``.npz`` whose pickle calls ``os.system``."""


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays and plain Python data only.
    Example: ``RestrictedUnpickler(f, encoding="bytes").load()``"""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise DatasetFileError(f"Refusing to load {module}.{name} from a dataset file: only NumPy arrays and plain "
                               "data are read. The file may be corrupted or malicious.")


def mirror() -> str | None:
    """The base URL replacing Keras' origins, if one is set."""
    from polykeras import datasets

    return datasets.ORIGIN or os.environ.get(ORIGIN_ENV) or None


def fetch(fname: str | None, origin: str, file_hash: str | None = None, **kwargs: Any) -> str:
    """``get_file`` from ``origin``, or from the mirror with the same file name."""
    base = mirror()
    if base:
        origin = base.rstrip("/") + "/" + os.path.basename(urllib.parse.urlsplit(origin).path)
        file_hash = None
    return get_file(fname, origin=origin, file_hash=file_hash, **kwargs)


def read_npy(stream: BinaryIO, where: str) -> np.ndarray:
    """One ``.npy`` array: pickling off for numbers, the restricted unpickler for objects."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise DatasetFileError(f"{where}: unsupported .npy format version {version}.")
    if dtype.hasobject:
        array = RestrictedUnpickler(stream, encoding="latin1").load()
        if not isinstance(array, np.ndarray):
            raise DatasetFileError(f"{where}: expected an array, the file holds a {type(array).__name__}.")
        return array
    count = int(np.prod(shape, dtype=np.int64))
    data = stream.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        raise DatasetFileError(f"{where}: the array is truncated.")
    array = np.frombuffer(data, dtype=dtype, count=count).copy()
    return array.reshape(shape[::-1]).transpose() if fortran else array.reshape(shape)


def load_npz(path: str) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, read safely (see the module notes)."""
    arrays = {}
    where = os.path.basename(path)
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.endswith(".npy"):
                with archive.open(name) as member:
                    arrays[name[:-4]] = read_npy(io.BytesIO(member.read()), f"{where}:{name}")
    return arrays


def load_pickle(path: str) -> Any:
    """A Python-2 pickled CIFAR batch (dict of bytes keys), read safely."""
    with open(path, "rb") as f:
        return RestrictedUnpickler(f, encoding="bytes").load()


def shuffled_split(x: np.ndarray, y: np.ndarray, test_split: float, seed: int) -> tuple[tuple, tuple]:
    """Keras' housing split: shuffle with ``RandomState(seed)``, cut at ``1 - test_split``."""
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))


def check_test_split(test_split: float) -> None:
    if not 0 <= test_split < 1:
        raise ValueError(f"load_data: expected test_split in [0, 1), received {test_split!r}.")
