"""MNIST digits: 60,000 + 10,000 grayscale 28x28 images of 0-9."""

from __future__ import annotations

from polykeras.datasets._common import KERAS_DATASETS, fetch, load_npz

_HASH = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def load_data(path: str = "mnist.npz") -> tuple[tuple, tuple]:
    """``(x_train, y_train), (x_test, y_test)``: uint8 ``(n, 28, 28)`` images
    and uint8 ``(n,)`` labels; ``path`` is the name in ``~/.keras/datasets``.

    Example: ``(x_train, y_train), (x_test, y_test) = mnist.load_data()``
    """
    f = load_npz(fetch(path, KERAS_DATASETS + "mnist.npz", _HASH))
    return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
