"""Utilities: ``plot_model``, ``model_to_dot``, ``set_random_seed``.

Example:
    >>> from polykeras.utils import plot_model
    >>> plot_model(model, "model.png")
"""

from polykeras.models.plot import model_to_dot, plot_model
from polykeras.random import set_seed as set_random_seed

__all__ = ["model_to_dot", "plot_model", "set_random_seed"]
