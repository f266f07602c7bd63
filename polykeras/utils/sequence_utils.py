"""``pad_sequences``: ragged lists of sequences as one padded NumPy array."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np


def pad_sequences(sequences: Iterable[Any], maxlen: int | None = None, dtype: Any = "int32", padding: str = "pre",
                  truncating: str = "pre", value: Any = 0.0) -> np.ndarray:
    """Pad (or cut) every sequence to one length: ``(num_samples, maxlen, ...)``.

    ``padding``/``truncating`` say at which end values are added or removed
    (``"pre"`` or ``"post"``); ``maxlen`` defaults to the longest sequence.

    Example:
        >>> pad_sequences([[1, 2, 3], [4]], maxlen=2)
        array([[2, 3],
               [0, 4]], dtype=int32)
    """
    for name, choice in (("padding", padding), ("truncating", truncating)):
        if choice not in ("pre", "post"):
            raise ValueError(f"pad_sequences: expected {name}='pre' or 'post', received {choice!r}.")
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"pad_sequences: expected a list of sequences, received {type(sequences).__name__}.")
    lengths, sample_shape, seen_shape = [], (), False
    for i, seq in enumerate(sequences):
        if not hasattr(seq, "__len__"):
            raise ValueError(f"pad_sequences: expected every entry to be a sequence, received {seq!r} at index {i}.")
        lengths.append(len(seq))
        if not seen_shape and len(seq):
            sample_shape, seen_shape = np.asarray(seq).shape[1:], True
    if maxlen is None:
        maxlen = max(lengths, default=0)
    is_text = np.issubdtype(np.dtype(dtype), np.str_) or np.issubdtype(np.dtype(dtype), np.object_)
    if isinstance(value, str) and np.dtype(dtype) != object and not is_text:
        raise ValueError(f"pad_sequences: a string value ({value!r}) needs dtype=object or a string dtype, "
                         f"received dtype={dtype!r}.")
    out = np.full((len(lengths), maxlen) + tuple(sample_shape), value, dtype=dtype)
    for i, seq in enumerate(sequences):
        if not len(seq) or not maxlen:
            continue
        kept = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != tuple(sample_shape):
            raise ValueError(f"pad_sequences: sequence {i} has items of shape {kept.shape[1:]}, expected "
                             f"{tuple(sample_shape)} as the first non-empty sequence.")
        if padding == "post":
            out[i, :len(kept)] = kept
        else:
            out[i, -len(kept):] = kept
    return out
