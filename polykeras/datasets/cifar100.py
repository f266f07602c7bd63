"""CIFAR-100: 50,000 + 10,000 color 32x32 images of 100 fine / 20 coarse classes."""

from __future__ import annotations

import os

import numpy as np

from polykeras.datasets._cifar import load_batch, to_image_format
from polykeras.datasets._common import fetch

_HASH = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"


def load_data(label_mode: str = "fine") -> tuple[tuple, tuple]:
    """``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 32, 32, 3)``
    and labels ``(n, 1)`` of the ``"fine"`` or ``"coarse"`` classes.

    Example: ``(x_train, y_train), _ = cifar100.load_data(label_mode="coarse")``
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"cifar100.load_data: expected label_mode 'fine' or 'coarse', received {label_mode!r}.")
    root = fetch("cifar-100-python-target", "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz", _HASH,
                 extract=True)
    root = os.path.join(root, "cifar-100-python")
    x_train, y_train = load_batch(os.path.join(root, "train"), label_key=f"{label_mode}_labels")
    x_test, y_test = load_batch(os.path.join(root, "test"), label_key=f"{label_mode}_labels")
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(y_test, (len(y_test), 1))
    return (to_image_format(x_train), y_train), (to_image_format(x_test), y_test)
