"""Shape-keeping core layers: ``Activation``, ``Identity`` and ``Masking``."""

from __future__ import annotations

from typing import Any

from polykeras import activations, ops
from polykeras.layers.layer import Layer

__all__ = ["Activation", "Identity", "Masking"]


class Activation(Layer):
    """Applies an activation function (a name, a registered function or a
    callable) to its input; masks pass through.

    Example:
        >>> ops.to_numpy(Activation("relu")(np.array([-1.0, 2.0], "float32")))
        array([0., 2.], dtype=float32)
    """

    def __init__(self, activation: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs: Any) -> Any:
        return self.activation(inputs)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Identity(Layer):
    """Returns its input unchanged (a placeholder layer); masks pass through.

    Example:
        >>> x = np.ones((2, 3), "float32")
        >>> ops.shape(Identity()(x))
        (2, 3)
    """

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs: Any) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


class Masking(Layer):
    """Masks the timesteps whose features all equal ``mask_value``: those
    steps are zeroed in the output and the mask ``any(x != mask_value, -1)``
    rides with it to the following layers.

    Example:
        >>> x = np.array([[[1.0], [0.0], [2.0]]], "float32")
        >>> y = Masking(0.0)(x)
        >>> ops.to_numpy(polykeras.layers.get_mask(y))
        array([[ True, False,  True]])
    """

    def __init__(self, mask_value: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        return ops.any(ops.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs: Any) -> Any:
        keep = ops.any(ops.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        return ops.multiply(inputs, ops.cast(keep, ops.dtype(inputs)))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mask_value": self.mask_value}
