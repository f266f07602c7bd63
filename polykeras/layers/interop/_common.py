"""What the native-module layers share: weights made from given values, and
the safe-mode refusal for configs whose loading runs code from the data."""

from __future__ import annotations

from typing import Any

import numpy as np

from polykeras.backends.dtypes import standardize_dtype
from polykeras.safe_mode import in_safe_mode

__all__ = ["add_weight_from", "refuse_in_safe_mode"]


def add_weight_from(layer: Any, name: str, value: Any, trainable: bool) -> Any:
    """A weight of ``layer`` starting at ``value`` (floating values take the
    layer's variable dtype, others keep theirs)."""
    array = np.asarray(value)
    dtype = layer.variable_dtype if array.dtype.kind == "f" else standardize_dtype(array.dtype.name)

    def initial(shape: Any, dtype: Any = None) -> np.ndarray:
        return array.astype(dtype or array.dtype)

    return layer.add_weight(shape=array.shape, initializer=initial, dtype=dtype, trainable=trainable, name=name)


def refuse_in_safe_mode(who: str, what: str, safe_mode: bool | None) -> None:
    """Raise unless safe mode is off (``safe_mode=False`` given, or off around the call)."""
    effective = in_safe_mode() if safe_mode is None else safe_mode
    if effective is not False:
        raise ValueError(
            f"{who}: refusing to load {what} while safe mode is on: loading it runs code from the saved data "
            "(arbitrary code execution if the file is untrusted). If you trust the file, pass safe_mode=False "
            "to the loading function, or load it inside `with polykeras.saving.safe_mode.safe_mode(False):`, "
            "or call polykeras.config.enable_unsafe_deserialization().")
