"""``RMSNormalization``: scale by the reciprocal root mean square."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.layer import Layer
from polykeras.layers.normalization.layer_normalization import _axes

__all__ = ["RMSNormalization"]


class RMSNormalization(Layer):
    """Root-mean-square normalization (Zhang & Sennrich, 2019):
    ``x * rsqrt(mean(x ** 2, axis) + epsilon) * scale``, with a trainable
    ``scale`` of the normalised axes' shape (initialised to ones) and no
    centring.

    Args:
        axis: the axis or axes to normalise over (default the last).
        epsilon: added to the mean square (default ``1e-6``, as Keras).

    Example:
        >>> rms = RMSNormalization()
        >>> y = rms(np.random.rand(2, 5, 8).astype("float32"))
        >>> [w.shape for w in rms.weights]
        [(8,)]
    """

    def __init__(self, axis: int | Sequence[int] = -1, epsilon: float = 1e-6, **kwargs: Any):
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        self.epsilon = float(epsilon)
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        input_shape = tuple(input_shape)
        who = describe_layer(self)
        self._norm_axes = _axes(self.axis, len(input_shape), who, input_shape)
        shape = tuple(input_shape[a] for a in self._norm_axes)
        if any(d is None for d in shape):
            raise ValueError(f"{who}: expected known sizes on axis {self.axis}, received input shape {input_shape}.")
        self._broadcast = tuple(input_shape[a] if a in self._norm_axes else 1 for a in range(len(input_shape)))
        self.scale = self.add_weight(shape=shape, initializer="ones", name="scale")

    def call(self, inputs: Any) -> Any:
        mean_square = ops.mean(ops.square(inputs), axis=self._norm_axes, keepdims=True)
        outputs = ops.multiply(inputs, ops.rsqrt(ops.add(mean_square, self.epsilon)))
        scale = self.scale if self._norm_axes == (len(self._broadcast) - 1,) \
            else ops.reshape(self.scale, self._broadcast)
        return ops.multiply(outputs, scale)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}
