"""``Wrapper``: the base of layers that add behaviour around one other layer."""

from __future__ import annotations

from typing import Any

from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.layer import Layer
from polykeras import registry

__all__ = ["Wrapper"]


class Wrapper(Layer):
    """Base class for layers that wrap one ``layer`` (Keras 3's
    ``keras.layers.Wrapper``): it checks the argument, builds the wrapped
    layer with the wrapper's input shape, and stores it in the config as
    ``"layer"``. Its own ``call`` runs the wrapped layer;
    subclasses override it.

    Example:
        >>> class Twice(Wrapper):
        ...     def call(self, x):
        ...         return self.layer(self.layer(x))
        >>> ops.shape(Twice(Dense(4))(np.ones((2, 4), "float32")))
        (2, 4)
    """

    def __init__(self, layer: Layer, **kwargs: Any):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError(f"{describe_layer(self)}: expected a Layer instance to wrap, received "
                             f"{type(layer).__name__} {layer!r}.")
        self.layer = layer

    def build(self, input_shape: Any) -> None:
        if not self.layer.built:
            self.layer.build(input_shape)

    def call(self, inputs: Any, training: Any = None) -> Any:
        """The wrapped layer's call (subclasses add their behaviour around it)."""
        return self.layer(inputs, **({} if training is None else {"training": training}))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layer": registry.serialize(self.layer, where=f"layer '{self.name}'")}
