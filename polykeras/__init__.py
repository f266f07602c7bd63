"""polykeras: one Keras-style API on TensorFlow, PyTorch, JAX and NumPy.

Example:
    >>> import polykeras
    >>> polykeras.backend()          # the active engine's name
    'torch'
"""

from polykeras import backends, ops

__version__ = "0.1.0"


def backend() -> str:
    """The active engine's name. Example: ``polykeras.backend()`` -> ``'jax'``"""
    return backends.active().name


__all__ = ["backend", "backends", "ops", "__version__"]
