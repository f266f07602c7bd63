"""Fashion-MNIST: 60,000 + 10,000 grayscale 28x28 images of 10 clothing kinds."""

from __future__ import annotations

import gzip
import os

import numpy as np

from polykeras.datasets._common import KERAS_DATASETS, fetch

_FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
          "t10k-images-idx3-ubyte.gz")


def _read(path: str, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def load_data() -> tuple[tuple, tuple]:
    """``(x_train, y_train), (x_test, y_test)``: uint8 ``(n, 28, 28)`` images
    and uint8 ``(n,)`` labels, from the IDX files.

    Example: ``(x_train, y_train), _ = fashion_mnist.load_data()``
    """
    paths = [fetch(name, KERAS_DATASETS + name, cache_subdir=os.path.join("datasets", "fashion-mnist"))
             for name in _FILES]
    y_train, y_test = _read(paths[0], 8), _read(paths[2], 8)
    x_train = _read(paths[1], 16).reshape(len(y_train), 28, 28)
    x_test = _read(paths[3], 16).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)
