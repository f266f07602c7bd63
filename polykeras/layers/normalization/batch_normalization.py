"""``BatchNormalization``: normalise with the batch's statistics while
training and with moving averages of them at inference."""

from __future__ import annotations

from typing import Any

from polykeras import backends, constraints, initializers, ops, regularizers
from polykeras.layers.convolutional.arguments import describe_layer, refuse_unsupported
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer
from polykeras.layers.normalization.layer_normalization import at_least_float32, in_compute_dtype

__all__ = ["BatchNormalization"]


class BatchNormalization(Layer):
    """Normalises ``axis`` (the features) to zero mean and unit variance, then
    scales by ``gamma`` and shifts by ``beta``.

    In training (``training=True`` and the layer trainable) the statistics
    are the batch's (masked entries left out) and the non-trainable
    ``moving_mean``/``moving_variance`` move towards them:
    ``moving = moving * momentum + batch * (1 - momentum)``. The update is a
    ``Variable.assign``, so inside a compiled step it is recorded as new
    state. Otherwise the moving statistics are used.

    ``synchronized=True``: under data parallelism (``polykeras.distribution``)
    the statistics are the *global* batch's on every engine (each replica's
    count, sum and sum of squares are added up across replicas); otherwise
    each replica normalises its own rows (JAX's sharded step always sees the
    global batch).

    Weights, in order: ``gamma`` (if ``scale``), ``beta`` (if ``center``),
    ``moving_mean``, ``moving_variance``; each of shape ``(features,)``.

    Example:
        >>> bn = BatchNormalization()
        >>> y = bn(np.random.rand(8, 4).astype("float32"), training=True)   # moves the statistics
        >>> [w.name for w in bn.weights]
        ['gamma', 'beta', 'moving_mean', 'moving_variance']
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 moving_mean_initializer: Any = "zeros", moving_variance_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, renorm: bool = False, renorm_clipping: Any = None,
                 renorm_momentum: float = 0.99, synchronized: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        who = describe_layer(self)
        refuse_unsupported(self, renorm=renorm, renorm_clipping=renorm_clipping)
        self.renorm_momentum = renorm_momentum
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"{who}: expected axis to be an int, received axis={axis!r}.")
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.synchronized = synchronized
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        input_shape = tuple(input_shape)
        ndim = len(input_shape)
        who = describe_layer(self)
        if not -ndim <= self.axis < ndim:
            raise ValueError(f"{who}: expected axis within the input's rank {ndim}, received axis={self.axis} "
                             f"for input shape {input_shape}.")
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(f"{who}: expected a known size on axis {self.axis}, received input shape {input_shape}.")
        self._axis = self.axis % ndim
        self.input_spec = InputSpec(ndim=ndim, axes={self._axis: dim})
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight(shape=(dim,), initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                                         name="gamma")
        if self.center:
            self.beta = self.add_weight(shape=(dim,), initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint,
                                        name="beta")
        self.moving_mean = self.add_weight(shape=(dim,), initializer=self.moving_mean_initializer,
                                           trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(shape=(dim,), initializer=self.moving_variance_initializer,
                                               trainable=False, name="moving_variance")
        self._reduction_axes = tuple(i for i in range(ndim) if i != self._axis)

    def _moments(self, inputs: Any, mask: Any) -> tuple[Any, Any]:
        if self.synchronized:
            return self._global_moments(inputs, mask)
        if mask is None:
            return ops.moments(inputs, axes=self._reduction_axes)
        weights = ops.cast(mask, ops.dtype(inputs))
        while len(ops.shape(weights)) < len(ops.shape(inputs)):
            weights = ops.expand_dims(weights, -1)
        count = ops.sum(ops.multiply(weights, ops.ones_like(inputs)), axis=self._reduction_axes, keepdims=True)
        count = ops.maximum(count, 1.0)
        mean = ops.divide(ops.sum(ops.multiply(weights, inputs), axis=self._reduction_axes, keepdims=True), count)
        centred = ops.subtract(inputs, mean)
        variance = ops.divide(ops.sum(ops.multiply(weights, ops.square(centred)), axis=self._reduction_axes,
                                      keepdims=True), count)
        return ops.squeeze(mean, self._reduction_axes), ops.squeeze(variance, self._reduction_axes)

    def _global_moments(self, inputs: Any, mask: Any) -> tuple[Any, Any]:
        """Moments over the global batch of a data-parallel step: every
        replica's count, sum and sum of squares added up (``replica_sum``)."""
        weights = ops.ones_like(inputs)
        if mask is not None:
            mask = ops.cast(mask, ops.dtype(inputs))
            while len(ops.shape(mask)) < len(ops.shape(inputs)):
                mask = ops.expand_dims(mask, -1)
            weights = ops.multiply(weights, mask)
        axes = self._reduction_axes
        sums = [ops.sum(weights, axis=axes), ops.sum(ops.multiply(weights, inputs), axis=axes),
                ops.sum(ops.multiply(weights, ops.square(inputs)), axis=axes)]
        count, total, squares = backends.active().replica_sum(sums)
        count = ops.maximum(count, 1.0)
        mean = ops.divide(total, count)
        return mean, ops.maximum(ops.subtract(ops.divide(squares, count), ops.square(mean)), 0.0)

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        # Under mixed precision the statistics are computed in float32 (Keras 3's choice: half-precision
        # variances overflow); the output comes back in the compute dtype.
        inputs = at_least_float32(inputs)
        dtype = ops.dtype(inputs)

        def read(variable: Any) -> Any:  # in the inputs' dtype (a mixed layer reads its weights in half)
            if variable is None:
                return None
            value = variable.value
            return value if ops.dtype(value) == dtype else ops.cast(value, dtype)

        moving_mean, moving_variance = read(self.moving_mean), read(self.moving_variance)
        offset, scale = read(self.beta), read(self.gamma)

        def normalize(mean: Any, variance: Any) -> Any:
            return in_compute_dtype(self, ops.batch_normalization(
                inputs, mean, variance, axis=self._axis, offset=offset, scale=scale, epsilon=self.epsilon))

        if not (training and self.trainable):
            return normalize(moving_mean, moving_variance)
        if mask is None and not self.synchronized:  # the engine's training kernel, statistics included
            outputs, mean, variance = backends.active().fused_batch_normalization(
                inputs, self._axis, offset, scale, self.epsilon)
            outputs = in_compute_dtype(self, outputs)
        else:
            mean, variance = self._moments(inputs, mask)
            outputs = normalize(mean, variance)
        keep = self.momentum
        self.moving_mean.assign(ops.add(ops.multiply(moving_mean, keep), ops.multiply(mean, 1.0 - keep)))
        self.moving_variance.assign(ops.add(ops.multiply(moving_variance, keep), ops.multiply(variance, 1.0 - keep)))
        return outputs

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
            "renorm": False,
            "renorm_clipping": None,
            "renorm_momentum": self.renorm_momentum,
            "synchronized": self.synchronized,
        }
