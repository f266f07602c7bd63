"""CIFAR-10: 50,000 + 10,000 color 32x32 images of 10 classes."""

from __future__ import annotations

import os

import numpy as np

from polykeras.datasets._cifar import load_batch, to_image_format
from polykeras.datasets._common import fetch

_HASH = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"


def load_data() -> tuple[tuple, tuple]:
    """``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 32, 32, 3)``
    (channels first under ``image_data_format() == "channels_first"``) and
    uint8 labels ``(n, 1)``. The pickled batches are read without running
    code from them.

    Example: ``(x_train, y_train), _ = cifar10.load_data()``
    """
    root = fetch("cifar-10-batches-py-target", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", _HASH,
                 extract=True)
    root = os.path.join(root, "cifar-10-batches-py")
    parts = [load_batch(os.path.join(root, f"data_batch_{i}")) for i in range(1, 6)]
    x_train = np.concatenate([p[0] for p in parts]).astype("uint8")
    y_train = np.concatenate([np.asarray(p[1]) for p in parts]).astype("uint8")
    x_test, y_test = load_batch(os.path.join(root, "test_batch"))
    y_train = y_train.reshape(len(y_train), 1)
    y_test = np.reshape(y_test, (len(y_test), 1)).astype(y_train.dtype)
    return (to_image_format(x_train), y_train), (to_image_format(x_test.astype(x_train.dtype)), y_test)
