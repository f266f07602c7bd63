"""Models: functional graphs, ``Sequential`` and subclassed ``Model``.

Example:
    >>> from polykeras import Input, layers, models
    >>> x = Input((8,))
    >>> model = models.Model(x, layers.Dense(2)(x))
"""

from polykeras.layers.input_layer import Input, InputLayer
from polykeras.models.functional import Functional
from polykeras.models.model import Model
from polykeras.models.sequential import Sequential

__all__ = ["Functional", "Input", "InputLayer", "Model", "Sequential"]
