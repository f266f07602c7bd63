"""polykeras: one Keras-style API on TensorFlow, PyTorch, JAX and NumPy.

``import polykeras as keras`` gives Keras 3's top level: the namespaces
(``layers``, ``ops``, ``backend``, ``config``, ``random``, ``tree``, ``saving``,
...) and the base classes (``Layer``, ``Loss``, ``Metric``, ``Optimizer``, ...).
Everything above the engines loads on first use, so ``import polykeras`` stays
light.

Example:
    >>> import polykeras
    >>> polykeras.backend()          # the active engine's name (polykeras.backend.backend())
    'torch'
    >>> x = polykeras.Input((8,))
    >>> model = polykeras.Model(x, polykeras.layers.Dense(1)(x))
"""

import importlib
import importlib.util
from typing import Any

from polykeras import backend, backends, config, ops
from polykeras.variables import Variable

__version__ = "0.1.0"


def version() -> str:
    """The polykeras version, as ``keras.version()``. Example: ``polykeras.version()`` -> ``'0.1.0'``"""
    return __version__


#: Top-level names that live in a submodule: name -> (module, attribute).
_LAZY = {
    "Input": ("polykeras.models", "Input"),
    "Model": ("polykeras.models", "Model"),
    "Sequential": ("polykeras.models", "Sequential"),
    "Functional": ("polykeras.models", "Functional"),
    "Function": ("polykeras.models", "Function"),
    "InputLayer": ("polykeras.models", "InputLayer"),
    "Layer": ("polykeras.layers", "Layer"),
    # Keras 3's Layer subclasses Operation; here Operation is a weightless Layer
    # taking its name by position, and every Layer counts as an Operation.
    "Operation": ("polykeras.layers.operation", "Operation"),
    "InputSpec": ("polykeras.layers", "InputSpec"),
    "DTypePolicy": ("polykeras.dtype_policies", "DTypePolicy"),
    "FloatDTypePolicy": ("polykeras.dtype_policies", "FloatDTypePolicy"),
    "Loss": ("polykeras.losses", "Loss"),
    "Metric": ("polykeras.metrics", "Metric"),
    "Optimizer": ("polykeras.optimizers", "Optimizer"),
    "Initializer": ("polykeras.initializers", "Initializer"),
    "Regularizer": ("polykeras.regularizers", "Regularizer"),
    "Quantizer": ("polykeras.quantizers", "Quantizer"),
    "StatelessScope": ("polykeras.variables", "StatelessScope"),
    "RematScope": ("polykeras.rematerialization", "RematScope"),
    "remat": ("polykeras.rematerialization", "remat"),
    "KerasTensor": ("polykeras.keras_tensor", "KerasTensor"),
    "name_scope": ("polykeras.scopes", "name_scope"),
    "device": ("polykeras.scopes", "device"),
}


def __getattr__(name: str) -> Any:
    # The upper floors load on first use, so ``import polykeras`` stays light.
    if name in _LAZY:
        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(module), attribute)
    if not name.startswith("_") and importlib.util.find_spec(f"polykeras.{name}") is not None:
        return importlib.import_module(f"polykeras.{name}")  # a namespace: layers, tree, distribution, ...
    raise AttributeError(f"module 'polykeras' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | {
        "activations", "applications", "callbacks", "constraints", "distribution", "initializers", "layers", "losses",
        "metrics", "models", "optimizers", "quantizers", "random", "regularizers", "saving", "tree", "utils"})


__all__ = ["Input", "Model", "Sequential", "Variable", "backend", "backends", "config", "ops", "version",
           "__version__", *sorted(set(_LAZY) - {"Input", "Model", "Sequential"})]
