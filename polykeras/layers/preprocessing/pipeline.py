"""``Pipeline``: a sequence of preprocessing layers applied one after another."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras.layers import masking
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.layer import Layer
from polykeras.layers.lifecycle import call_info
from polykeras import registry

__all__ = ["Pipeline"]


class Pipeline(Layer):
    """Applies ``layers`` in order, like a ``Sequential`` without a model:
    meant for chains of preprocessing and augmentation layers. ``training``
    (default ``True``, as Keras) and the mask reach every layer whose
    ``call`` takes them.

    Example:
        >>> pipe = Pipeline([Rescaling(1 / 255.0), Rescaling(2.0, offset=-1.0)])
        >>> ops.to_numpy(pipe(np.array([0.0, 255.0], "float32")))
        array([-1.,  1.], dtype=float32)
    """

    def __init__(self, layers: Sequence[Layer], name: str | None = None, **kwargs: Any):
        super().__init__(name=name, **kwargs)
        layers = list(layers)
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise ValueError(f"{describe_layer(self)}: expected a list of Layer instances, received "
                                 f"{type(layer).__name__} {layer!r} at position {i}.")
        self._pipeline_layers = layers

    @property
    def layers(self) -> list[Layer]:
        return list(self._pipeline_layers)

    def call(self, inputs: Any, training: Any = True, mask: Any = None) -> Any:
        for layer in self._pipeline_layers:
            has_training, has_mask = call_info(type(layer).call)[:2]
            kwargs: dict[str, Any] = {}
            if has_mask:
                kwargs["mask"] = mask
            if has_training and training is not None:
                kwargs["training"] = training
            inputs = layer(inputs, **kwargs)
            mask = masking.get_mask(inputs)
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        for layer in self._pipeline_layers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "layers": [registry.serialize(layer, where=f"layer '{self.name}'")
                                                     for layer in self._pipeline_layers]}
        return config
