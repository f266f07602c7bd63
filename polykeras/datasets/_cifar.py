"""The CIFAR batches: Python pickles read by the restricted unpickler."""

from __future__ import annotations

from typing import Any

import numpy as np

from polykeras.datasets._common import DatasetFileError, load_pickle


def load_batch(fpath: str, label_key: str = "labels") -> tuple[np.ndarray, Any]:
    """``(data (n, 3, 32, 32) uint8, labels)`` of one CIFAR batch file."""
    content = load_pickle(fpath)
    if not isinstance(content, dict):
        raise DatasetFileError(f"{fpath}: expected a dict, the file holds a {type(content).__name__}.")
    decoded = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in content.items()}
    if "data" not in decoded or label_key not in decoded:
        raise DatasetFileError(f"{fpath}: expected the keys 'data' and {label_key!r}, found {sorted(decoded)}.")
    data = np.asarray(decoded["data"])
    return data.reshape(data.shape[0], 3, 32, 32), decoded[label_key]


def to_image_format(x: np.ndarray) -> np.ndarray:
    from polykeras import config

    return x.transpose(0, 2, 3, 1) if config.image_data_format() == "channels_last" else x
