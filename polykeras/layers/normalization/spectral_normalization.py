"""``SpectralNormalization``: divide a wrapped layer's kernel by its largest
singular value, estimated by power iteration during training."""

from __future__ import annotations

from typing import Any

from polykeras import config, initializers, ops
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.core.wrapper import Wrapper
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.tracking import bump

__all__ = ["SpectralNormalization"]


def _unit(x: Any) -> Any:
    """``x`` over its L2 norm (the norm's reciprocal capped at ``1 / epsilon``)."""
    inv_norm = ops.minimum(ops.rsqrt(ops.sum(ops.square(x))), 1.0 / config.epsilon())
    return ops.multiply(x, inv_norm)


class SpectralNormalization(Wrapper):
    """Wraps a layer with a ``kernel`` (Dense, convolutions) or
    ``embeddings`` and, on each training call, replaces that weight by
    ``weight / sigma``, where ``sigma`` is its largest singular value
    estimated with ``power_iterations`` steps of power iteration from the
    non-trainable ``vector_u`` (shape ``(1, kernel.shape[-1])``), which is
    updated too. At inference the wrapped layer runs with its weight as is.
    Weights are Keras 3's: the wrapped kernel, ``vector_u``, then the wrapped
    layer's others.

    Args:
        layer: the layer to normalise.
        power_iterations: power-iteration steps per training call (default 1).

    Example:
        >>> sn = SpectralNormalization(Dense(4))
        >>> y = sn(np.ones((2, 3), "float32"), training=True)
        >>> [w.path for w in sn.weights]
        ['spectral_normalization/dense/kernel', 'spectral_normalization/vector_u', 'spectral_normalization/dense/bias']
    """

    def __init__(self, layer: Any, power_iterations: int = 1, **kwargs: Any):
        super().__init__(layer, **kwargs)
        if isinstance(power_iterations, bool) or not isinstance(power_iterations, int) or power_iterations <= 0:
            raise ValueError(f"{describe_layer(self)}: expected power_iterations to be a positive int, received "
                             f"power_iterations={power_iterations!r}.")
        self.power_iterations = power_iterations

    def build(self, input_shape: Any) -> None:
        input_shape = tuple(input_shape)
        super().build(input_shape)
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})
        kernel = getattr(self.layer, "kernel", None)
        if kernel is None:
            kernel = getattr(self.layer, "embeddings", None)
        if kernel is None:
            raise ValueError(f"{describe_layer(self)}: expected a wrapped layer with a 'kernel' or 'embeddings' "
                             f"weight, received {type(self.layer).__name__} '{self.layer.name}' with neither.")
        # Keras 3 lists the kernel among the wrapper's own weights (first).
        own = self.__dict__["_own_variables"]
        own.insert(0, kernel)
        self.__dict__["_created_trainable"].add(id(kernel))
        object.__setattr__(self, "kernel", kernel)
        bump()
        self.kernel_shape = tuple(kernel.shape)
        self.vector_u = self.add_weight(shape=(1, self.kernel_shape[-1]),
                                        initializer=initializers.TruncatedNormal(stddev=0.02), trainable=False,
                                        name="vector_u", dtype=kernel.dtype)

    def normalized_weights(self) -> tuple[Any, Any]:
        """The next ``(vector_u, kernel / sigma)``."""
        weights = ops.reshape(self.kernel, (-1, self.kernel_shape[-1]))
        vector_u = self.vector_u.value
        vector_v = None
        for _ in range(self.power_iterations):
            vector_v = _unit(ops.matmul(vector_u, ops.transpose(weights)))
            vector_u = _unit(ops.matmul(vector_v, weights))
        vector_u, vector_v = ops.stop_gradient(vector_u), ops.stop_gradient(vector_v)
        sigma = ops.matmul(ops.matmul(vector_v, weights), ops.transpose(vector_u))
        kernel = ops.reshape(ops.divide(self.kernel, sigma), self.kernel_shape)
        return ops.cast(vector_u, self.vector_u.dtype), ops.cast(kernel, self.kernel.dtype)

    def call(self, inputs: Any, training: Any = False) -> Any:
        if training:
            new_u, new_kernel = ops.cond(ops.all(ops.equal(self.kernel.value, 0)),
                                         lambda: (self.vector_u.value, self.kernel.value), self.normalized_weights)
            self.vector_u.assign(new_u)
            self.kernel.assign(new_kernel)
        return ops.cast(self.layer(inputs), ops.dtype(inputs))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "power_iterations": self.power_iterations}
