"""The word-index encoding IMDB and Reuters share (Keras' conventions:
0 padding, 1 start, 2 out-of-vocabulary, real words from ``index_from``)."""

from __future__ import annotations

from typing import Any

import numpy as np


def remove_long(maxlen: int, seqs: list[list[int]], labels: Any) -> tuple[list[list[int]], np.ndarray]:
    """The sequences (and labels) shorter than ``maxlen``, as Keras keeps them."""
    kept = [(s, label) for s, label in zip(seqs, labels) if len(s) < maxlen]
    return [s for s, _ in kept], np.asarray([label for _, label in kept])


def shift(seqs: Any, start_char: int | None, index_from: int) -> list[list[int]]:
    """Each sequence with ``start_char`` first and every id moved up by ``index_from``."""
    if start_char is not None:
        return [[start_char] + [w + index_from for w in s] for s in seqs]
    if index_from:
        return [[w + index_from for w in s] for s in seqs]
    return [list(s) for s in seqs]


def limit_vocabulary(seqs: list[list[int]], num_words: int | None, skip_top: int,
                     oov_char: int | None) -> list[list[int]]:
    """Ids outside ``[skip_top, num_words)`` replaced by ``oov_char`` (dropped when None)."""
    if not num_words:
        num_words = max(max(s) for s in seqs if s)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in s] for s in seqs]
    return [[w for w in s if skip_top <= w < num_words] for s in seqs]


def shuffled(rng: np.random.RandomState, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.arange(len(x))
    rng.shuffle(order)
    return x[order], y[order]


def as_object_array(seqs: list[list[int]]) -> np.ndarray:
    out = np.empty(len(seqs), dtype=object)
    out[:] = seqs
    return out
