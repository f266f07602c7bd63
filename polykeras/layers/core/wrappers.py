"""``TimeDistributed``: apply one layer to every timestep of a sequence."""

from __future__ import annotations

from typing import Any

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.layer import Layer
from polykeras.layers.lifecycle import call_info
from polykeras import registry

__all__ = ["TimeDistributed"]


class TimeDistributed(Layer):
    """Applies ``layer`` to every slice ``inputs[:, t]`` of inputs shaped
    ``(batch, timesteps, ...)``, with the same weights at every step.

    The steps are folded into the batch axis (``(batch * timesteps, ...)``),
    so the wrapped layer runs once, with unknown step counts and inside
    compiled steps. For layers that treat samples independently (Dense,
    convolutions, pooling, inference-mode normalization) the numbers equal
    Keras 3's step-by-step loop; a layer whose training-time behaviour mixes
    the samples of a batch (BatchNormalization's batch statistics) sees the
    whole ``batch * timesteps`` slab at once. A ``(batch, timesteps)`` mask is
    folded the same way for a wrapped layer that takes ``mask``, and passes on
    to the outputs.

    Args:
        layer: the layer instance to apply at each step.

    Example:
        >>> td = TimeDistributed(Dense(8))
        >>> ops.shape(td(np.ones((2, 10, 16), "float32")))
        (2, 10, 8)
        >>> [w.shape for w in td.weights]          # one Dense, shared by the steps
        [(16, 8), (8,)]
    """

    def __init__(self, layer: Layer, **kwargs: Any):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError(f"{describe_layer(self)}: expected a Layer instance to wrap, received "
                             f"{type(layer).__name__} {layer!r}.")
        self.layer = layer
        self.supports_masking = True

    def _child_shape(self, input_shape: Any) -> tuple:
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError(f"{describe_layer(self)}: expected inputs of rank 3 or more (batch, timesteps, ...), "
                             f"received input shape {input_shape!r}.")
        batch, steps = input_shape[0], input_shape[1]
        folded = None if batch is None or steps is None else batch * steps
        return (folded, *input_shape[2:])

    def build(self, input_shape: Any) -> None:
        if not self.layer.built:
            self.layer.build(self._child_shape(tuple(input_shape)))

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        shape = tuple(ops.shape(inputs))
        if len(shape) < 3:
            raise ValueError(f"{describe_layer(self)}: expected inputs of rank 3 or more (batch, timesteps, ...), "
                             f"received inputs of shape {shape}.")
        batch, steps = shape[0], shape[1]
        folded = ops.reshape(inputs, (batch * steps, *shape[2:]))
        kwargs: dict[str, Any] = {}
        has_training, has_mask = call_info(type(self.layer).call)[:2]
        if has_training and training is not None:
            kwargs["training"] = training
        if has_mask and mask is not None:
            mask_shape = tuple(ops.shape(mask))
            if len(mask_shape) < 2 or mask_shape[:2] != (batch, steps):
                raise ValueError(f"{describe_layer(self)}: expected a mask starting with (batch, timesteps) = "
                                 f"{(batch, steps)}, received a mask of shape {mask_shape}.")
            kwargs["mask"] = ops.reshape(mask, (batch * steps, *mask_shape[2:]))
        outputs = self.layer(folded, **kwargs)
        out_shape = tuple(ops.shape(outputs))
        return ops.reshape(outputs, (batch, steps, *out_shape[1:]))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        input_shape = tuple(input_shape)
        child = tuple(self.layer.compute_output_shape(self._child_shape(input_shape)))
        return (input_shape[0], input_shape[1], *child[1:])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layer": registry.serialize(self.layer, where=f"layer '{self.name}'")}
