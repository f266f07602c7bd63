"""Models: functional graphs, ``Sequential`` and subclassed ``Model``.

Example:
    >>> from polykeras import Input, layers, models
    >>> x = Input((8,))
    >>> model = models.Model(x, layers.Dense(2)(x))
"""

from typing import Any

from polykeras.layers.input_layer import Input, InputLayer
from polykeras.models.function import Function
from polykeras.models.functional import Functional
from polykeras.models.model import Model
from polykeras.models.sequential import Sequential
from polykeras.models.cloning import clone_model  # noqa: E402 - needs the three above


def __getattr__(name: str) -> Any:
    # Keras' spellings: polykeras.models.load_model / model_from_json / ...
    if name in ("load_model", "save_model", "model_from_json", "model_from_yaml", "model_from_config"):
        from polykeras import saving

        return getattr(saving, name)
    raise AttributeError(f"module 'polykeras.models' has no attribute {name!r}")


__all__ = ["Function", "Functional", "Input", "InputLayer", "Model", "Sequential", "clone_model", "load_model",
           "model_from_config", "model_from_json", "model_from_yaml", "save_model"]
