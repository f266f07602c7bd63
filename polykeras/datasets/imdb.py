"""IMDB movie reviews: 25,000 + 25,000 reviews as word-id sequences, labelled
positive (1) or negative (0)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from polykeras.datasets._common import KERAS_DATASETS, fetch, load_npz
from polykeras.datasets._sequences import as_object_array, limit_vocabulary, remove_long, shift, shuffled

_HASH = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
_INDEX_HASH = "bfafd718b763782e994055a2d397834f"


def load_data(path: str = "imdb.npz", num_words: int | None = None, skip_top: int = 0, maxlen: int | None = None,
              seed: int = 113, start_char: int | None = 1, oov_char: int | None = 2, index_from: int = 3,
              **kwargs: Any) -> tuple[tuple, tuple]:
    """``(x_train, y_train), (x_test, y_test)``: object arrays of word-id lists
    (ids ranked by frequency, shifted by ``index_from``, ``start_char`` first,
    ids outside ``[skip_top, num_words)`` replaced by ``oov_char``; reviews of
    ``maxlen`` words or more dropped) and int labels, shuffled with ``seed``.

    Example: ``(x_train, y_train), _ = imdb.load_data(num_words=10000)``
    """
    if kwargs:
        raise TypeError(f"imdb.load_data: unexpected arguments {sorted(kwargs)}.")
    f = load_npz(fetch(path, KERAS_DATASETS + "imdb.npz", _HASH))
    rng = np.random.RandomState(seed)
    x_train, labels_train = shuffled(rng, f["x_train"], f["y_train"])
    x_test, labels_test = shuffled(rng, f["x_test"], f["y_test"])
    train, test = shift(x_train, start_char, index_from), shift(x_test, start_char, index_from)
    if maxlen:
        train, labels_train = remove_long(maxlen, train, labels_train)
        test, labels_test = remove_long(maxlen, test, labels_test)
        if not train or not test:
            raise ValueError(f"imdb.load_data: no review is shorter than maxlen={maxlen}; increase maxlen.")
    xs = limit_vocabulary(train + test, num_words, skip_top, oov_char)
    labels = np.concatenate([np.asarray(labels_train), np.asarray(labels_test)])
    cut = len(train)
    return (as_object_array(xs[:cut]), labels[:cut]), (as_object_array(xs[cut:]), labels[cut:])


def get_word_index(path: str = "imdb_word_index.json") -> dict[str, int]:
    """The word -> rank index (before ``index_from`` is added).
    Example: ``imdb.get_word_index()["good"]``"""
    with open(fetch(path, KERAS_DATASETS + "imdb_word_index.json", _INDEX_HASH)) as f:
        return json.load(f)
