"""Per-sample normalization layers: ``LayerNormalization``,
``GroupNormalization`` and ``UnitNormalization``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import constraints, initializers, ops, regularizers
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.layer import Layer

__all__ = ["GroupNormalization", "LayerNormalization", "UnitNormalization"]


def _axes(axis: Any, ndim: int, who: str, input_shape: Sequence[Any]) -> tuple[int, ...]:
    """``axis`` (an int or ints) as sorted non-negative axes of a rank-``ndim`` input."""
    values = [axis] if isinstance(axis, int) and not isinstance(axis, bool) else axis
    if not isinstance(values, (list, tuple)) or not values or not all(
            isinstance(a, int) and not isinstance(a, bool) for a in values):
        raise ValueError(f"{who}: expected axis as an int or a list of ints, received axis={axis!r}.")
    if not all(-ndim <= a < ndim for a in values):
        raise ValueError(f"{who}: expected axis within the input's rank {ndim}, received axis={axis!r} for input "
                         f"shape {tuple(input_shape)}.")
    return tuple(sorted({a % ndim for a in values}))


def at_least_float32(x: Any) -> Any:
    """``x`` cast to float32 when it is float16 or bfloat16: normalizations
    compute their statistics in at least float32 under mixed precision (Keras
    3's choice; half-precision variances overflow or lose the mean).
    Example: ``at_least_float32(ops.ones((2,), "bfloat16"))`` -> float32"""
    return ops.cast(x, "float32") if ops.dtype(x) in ("float16", "bfloat16") else x


def in_compute_dtype(layer: Layer, x: Any) -> Any:
    """``x`` in ``layer.compute_dtype`` (a no-op when it already is).
    Example: ``in_compute_dtype(self, outputs)``"""
    return x if ops.dtype(x) == layer.compute_dtype else ops.cast(x, layer.compute_dtype)


class _ScaleCenter(Layer):
    """The ``gamma``/``beta`` arguments shared by the per-sample normalizations.
    Like Keras 3's, they do not autocast: under a mixed policy they read their
    float32 weights as stored, compute in at least float32 and return the
    compute dtype."""

    def __init__(self, axis: Any, epsilon: float, center: bool, scale: bool, beta_initializer: Any,
                 gamma_initializer: Any, beta_regularizer: Any, gamma_regularizer: Any, beta_constraint: Any,
                 gamma_constraint: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.autocast = False
        self.axis = list(axis) if isinstance(axis, tuple) else axis
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def _add_scale_center(self, shape: tuple[int, ...], scale: bool | None = None, center: bool | None = None) -> None:
        self.gamma = self.beta = None
        if self.scale if scale is None else scale:
            self.gamma = self.add_weight(shape=shape, initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                                         name="gamma")
        if self.center if center is None else center:
            self.beta = self.add_weight(shape=shape, initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint,
                                        name="beta")

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }


class LayerNormalization(_ScaleCenter):
    """Normalises each sample over ``axis`` (the last by default, or several)
    to zero mean and unit variance: ``(x - mean) / sqrt(var + epsilon) * gamma
    + beta``, with ``gamma``/``beta`` of the normalised axes' shape.
    Keras' deprecated ``rms_scaling=True`` (a keyword argument) gives
    ``x / sqrt(var + epsilon) * gamma`` with no ``beta``.

    Example:
        >>> ln = LayerNormalization()
        >>> y = ln(np.random.rand(2, 5, 8).astype("float32"))   # each (2, 5) row normalised
        >>> [w.shape for w in ln.weights]
        [(8,), (8,)]
    """

    def __init__(self, axis: int | Sequence[int] = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, **kwargs: Any):
        rms_scaling = bool(kwargs.pop("rms_scaling", False))
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, **kwargs)
        self.rms_scaling = rms_scaling

    def build(self, input_shape: Any) -> None:
        input_shape = tuple(input_shape)
        who = describe_layer(self)
        self._norm_axes = _axes(self.axis, len(input_shape), who, input_shape)
        shape = tuple(input_shape[a] for a in self._norm_axes)
        if any(d is None for d in shape):
            raise ValueError(f"{who}: expected known sizes on axis {self.axis}, received input shape {input_shape}.")
        self._broadcast = tuple(input_shape[a] if a in self._norm_axes else 1 for a in range(len(input_shape)))
        self._add_scale_center(shape, scale=self.scale or self.rms_scaling,
                               center=self.center and not self.rms_scaling)

    def _param(self, weight: Any) -> Any:
        return weight if len(self._norm_axes) == 1 and self._norm_axes[0] == len(self._broadcast) - 1 \
            else ops.reshape(weight, self._broadcast)

    def call(self, inputs: Any) -> Any:
        inputs = at_least_float32(inputs)
        if not self.rms_scaling:  # the engine's layer_normalization (torch: its fused kernel)
            gamma, beta = (None if w is None else self._param(w) for w in (self.gamma, self.beta))
            return in_compute_dtype(self, ops.layer_normalization(inputs, gamma, beta, axis=self._norm_axes,
                                                                  epsilon=self.epsilon))
        _, variance = ops.moments(inputs, axes=self._norm_axes, keepdims=True)  # rms_scaling: no centring
        outputs = ops.multiply(inputs, ops.rsqrt(ops.add(variance, self.epsilon)))
        if self.gamma is not None:
            outputs = ops.multiply(outputs, self._param(self.gamma))
        return in_compute_dtype(self, outputs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rms_scaling": self.rms_scaling}


class GroupNormalization(_ScaleCenter):
    """Splits the channels (``axis``) into ``groups`` and normalises each
    group of each sample over its channels and all other non-batch axes.
    ``groups=-1`` normalises each channel alone (instance normalization);
    ``gamma``/``beta`` have shape ``(channels,)``.

    Example:
        >>> gn = GroupNormalization(groups=2)
        >>> ops.shape(gn(np.random.rand(2, 4, 4, 6).astype("float32")))
        (2, 4, 4, 6)
    """

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, **kwargs: Any):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, **kwargs)
        who = describe_layer(self)
        if isinstance(groups, bool) or not isinstance(groups, int) or (groups <= 0 and groups != -1):
            raise ValueError(f"{who}: expected groups to be a positive int or -1, received groups={groups!r}.")
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"{who}: expected axis to be an int, received axis={axis!r}.")
        self.groups = groups

    def build(self, input_shape: Any) -> None:
        input_shape = tuple(input_shape)
        who = describe_layer(self)
        (self._channel_axis,) = _axes(self.axis, len(input_shape), who, input_shape)
        if self._channel_axis == 0:
            raise ValueError(f"{who}: axis {self.axis} is the batch axis of input shape {input_shape}.")
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError(f"{who}: expected a known size on axis {self.axis}, received input shape {input_shape}.")
        self._groups = channels if self.groups == -1 else self.groups
        if channels < self._groups:
            raise ValueError(f"{who}: expected at most {channels} groups for {channels} channels on axis "
                             f"{self.axis}, received groups={self.groups} (input shape {input_shape}).")
        if channels % self._groups:
            raise ValueError(f"{who}: expected the {channels} channels on axis {self.axis} to be divisible by "
                             f"groups={self.groups} (input shape {input_shape}).")
        self._add_scale_center((channels,))

    def call(self, inputs: Any) -> Any:
        shape = list(ops.shape(inputs))
        axis = self._channel_axis
        grouped_shape = [-1, *shape[1:axis], self._groups, shape[axis] // self._groups, *shape[axis + 1:]]
        grouped = ops.reshape(at_least_float32(inputs), grouped_shape)
        reduce = tuple(a for a in range(1, len(grouped_shape)) if a != axis)
        mean, variance = ops.moments(grouped, axes=reduce, keepdims=True)
        inv = ops.rsqrt(ops.add(variance, self.epsilon))
        param_shape = [1] * len(grouped_shape)
        param_shape[axis], param_shape[axis + 1] = self._groups, shape[axis] // self._groups
        if self.gamma is not None:
            inv = ops.multiply(inv, ops.reshape(self.gamma, param_shape))
        outputs = ops.multiply(ops.subtract(grouped, mean), inv)
        if self.beta is not None:
            outputs = ops.add(outputs, ops.reshape(self.beta, param_shape))
        return in_compute_dtype(self, ops.reshape(outputs, [-1, *shape[1:]]))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "groups": self.groups}


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over ``axis``:
    ``x / sqrt(max(sum(x ** 2), 1e-12))``.

    Example:
        >>> y = UnitNormalization()(np.array([[3.0, 4.0]], "float32"))
        >>> ops.to_numpy(y)
        array([[0.6, 0.8]], dtype=float32)
    """

    def __init__(self, axis: int | Sequence[int] = -1, **kwargs: Any):
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, tuple) else axis
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        self._norm_axes = _axes(self.axis, len(tuple(input_shape)), describe_layer(self), input_shape)

    def call(self, inputs: Any) -> Any:
        square_sum = ops.sum(ops.square(inputs), axis=self._norm_axes, keepdims=True)
        return ops.multiply(inputs, ops.rsqrt(ops.maximum(square_sum, 1e-12)))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
