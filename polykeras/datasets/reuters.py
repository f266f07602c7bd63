"""Reuters newswires: 11,228 newswires as word-id sequences over 46 topics."""

from __future__ import annotations

import json

import numpy as np

from polykeras.datasets._common import KERAS_DATASETS, check_test_split, fetch, load_npz
from polykeras.datasets._sequences import as_object_array, limit_vocabulary, remove_long, shift, shuffled

_HASH = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
_INDEX_HASH = "4d44cc38712099c9e383dc6e5f11a921"

_LABELS = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee", "sugar",
    "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp",
    "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail", "ipi", "iron-steel",
    "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog",
    "lead",
)


def load_data(path: str = "reuters.npz", num_words: int | None = None, skip_top: int = 0,
              maxlen: int | None = None, test_split: float = 0.2, seed: int = 113, start_char: int | None = 1,
              oov_char: int | None = 2, index_from: int = 3) -> tuple[tuple, tuple]:
    """``(x_train, y_train), (x_test, y_test)``: object arrays of word-id lists
    (encoded as :func:`polykeras.datasets.imdb.load_data`) and topic ids,
    shuffled with ``seed`` and split at ``1 - test_split``.

    Example: ``(x_train, y_train), _ = reuters.load_data(num_words=10000)``
    """
    check_test_split(test_split)
    f = load_npz(fetch(path, KERAS_DATASETS + "reuters.npz", _HASH))
    xs, labels = shuffled(np.random.RandomState(seed), f["x"], f["y"])
    seqs = shift(xs, start_char, index_from)
    if maxlen:
        seqs, labels = remove_long(maxlen, seqs, labels)
    seqs = limit_vocabulary(seqs, num_words, skip_top, oov_char)
    cut = int(len(seqs) * (1 - test_split))
    return ((as_object_array(seqs[:cut]), np.array(labels[:cut])),
            (as_object_array(seqs[cut:]), np.array(labels[cut:])))


def get_word_index(path: str = "reuters_word_index.json") -> dict[str, int]:
    """The word -> rank index. Example: ``reuters.get_word_index()["oil"]``"""
    with open(fetch(path, KERAS_DATASETS + "reuters_word_index.json", _INDEX_HASH)) as f:
        return json.load(f)


def get_label_names() -> tuple[str, ...]:
    """The 46 topic names, by label id. Example: ``reuters.get_label_names()[3]`` -> ``'earn'``"""
    return _LABELS
