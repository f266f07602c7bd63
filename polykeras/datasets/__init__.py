"""Datasets, as ``keras.datasets``: ``mnist``, ``fashion_mnist``, ``cifar10``,
``cifar100``, ``imdb``, ``reuters``, ``boston_housing``,
``california_housing``, each with Keras' ``load_data`` signature and
results. Files are downloaded once into ``~/.keras/datasets`` (shared with
Keras), checked against Keras' hashes and read without unpickling anything
but NumPy arrays (see ``_common.py``). Set ``ORIGIN`` (or
``$POLYKERAS_DATASETS_ORIGIN``) to a base URL to use a mirror.

Example:
    >>> from polykeras.datasets import mnist
    >>> (x_train, y_train), (x_test, y_test) = mnist.load_data()
"""

from polykeras.datasets import (
    boston_housing, california_housing, cifar10, cifar100, fashion_mnist, imdb, mnist, reuters,
)
from polykeras.datasets._common import DatasetFileError

#: A base URL replacing Keras' origins for every dataset (None: Keras' origins).
ORIGIN: str | None = None

__all__ = ["ORIGIN", "DatasetFileError", "boston_housing", "california_housing", "cifar10", "cifar100",
           "fashion_mnist", "imdb", "mnist", "reuters"]
