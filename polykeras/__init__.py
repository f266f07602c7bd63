"""polykeras: one Keras-style API on TensorFlow, PyTorch, JAX and NumPy.

Example:
    >>> import polykeras
    >>> polykeras.backend()          # the active engine's name
    'torch'
    >>> x = polykeras.Input((8,))
    >>> model = polykeras.Model(x, polykeras.layers.Dense(1)(x))
"""

from polykeras import backends, ops
from polykeras.variables import Variable

__version__ = "0.1.0"


def backend() -> str:
    """The active engine's name. Example: ``polykeras.backend()`` -> ``'jax'``"""
    return backends.active().name


def __getattr__(name: str):
    # The upper floors load on first use, so ``import polykeras`` stays light.
    if name in ("Input", "Model", "Sequential", "Functional", "InputLayer"):
        from polykeras import models

        return getattr(models, name)
    if name in ("layers", "models", "losses", "metrics", "optimizers", "callbacks", "initializers",
                "regularizers", "constraints", "activations", "random", "saving", "utils", "trainers"):
        import importlib

        return importlib.import_module(f"polykeras.{name}")
    raise AttributeError(f"module 'polykeras' has no attribute {name!r}")


__all__ = ["Input", "Model", "Sequential", "Variable", "backend", "backends", "ops", "__version__"]
