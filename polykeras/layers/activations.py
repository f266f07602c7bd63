"""Activation layers, as Keras 3's: ``ReLU``, ``LeakyReLU``, ``PReLU`` (a
learned slope), ``ELU`` and ``Softmax`` (which honours a mask). Each keeps its
input's shape and passes masks on.

Example:
    >>> x = np.array([-2.0, 1.0, 8.0], "float32")
    >>> ops.to_numpy(ReLU(max_value=6.0)(x))
    array([0., 1., 6.], dtype=float32)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from polykeras import activations, constraints, initializers, ops, regularizers
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer

__all__ = ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _ShapeKeeping(Layer):
    """An elementwise layer: the output shape is the input's, masks pass on."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)


class ReLU(_ShapeKeeping):
    """``max(x, 0)``, generalised: values below ``threshold`` become
    ``negative_slope * (x - threshold)``, and outputs are capped at
    ``max_value``.

    Args:
        max_value: a non-negative cap, or None.
        negative_slope: the non-negative slope below ``threshold``.
        threshold: the non-negative point where the slope changes.

    Example:
        >>> ops.to_numpy(ReLU(negative_slope=0.1)(np.array([-2.0, 3.0], "float32")))
        array([-0.2,  3. ], dtype=float32)
    """

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0,
                 **kwargs: Any):
        super().__init__(**kwargs)
        who = describe_layer(self)
        if max_value is not None and (not _number(max_value) or max_value < 0):
            raise ValueError(f"{who}: expected max_value to be None or a non-negative number, "
                             f"received max_value={max_value!r}.")
        for name, value in (("negative_slope", negative_slope), ("threshold", threshold)):
            if not _number(value) or value < 0:
                raise ValueError(f"{who}: expected {name} to be a non-negative number, received {name}={value!r}.")
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold

    def call(self, inputs: Any) -> Any:
        return activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(_ShapeKeeping):
    """``x`` where positive, else ``negative_slope * x``. The older name
    ``alpha`` is accepted with a warning, as in Keras 3.

    Example:
        >>> ops.to_numpy(LeakyReLU(negative_slope=0.5)(np.array([-2.0, 3.0], "float32")))
        array([-1.,  3.], dtype=float32)
    """

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: the argument `alpha` is deprecated; use `negative_slope`.", stacklevel=2)
        super().__init__(**kwargs)
        if not _number(negative_slope) or negative_slope < 0:
            raise ValueError(f"{describe_layer(self)}: expected negative_slope to be a non-negative number, "
                             f"received negative_slope={negative_slope!r}.")
        self.negative_slope = negative_slope

    def call(self, inputs: Any) -> Any:
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "negative_slope": self.negative_slope}


class PReLU(_ShapeKeeping):
    """Leaky ReLU with a learned slope per input position: ``x`` where
    positive, else ``alpha * x``. ``alpha`` has the input's shape without the
    batch axis, with size 1 along ``shared_axes`` (Keras 3's layout, so
    ``set_weights`` takes a Keras PReLU's weights).

    Args:
        alpha_initializer, alpha_regularizer, alpha_constraint: for ``alpha``.
        shared_axes: axes (counting the batch axis as 0) that share one slope,
            e.g. ``[1, 2]`` for one slope per channel of an image.

    Example:
        >>> layer = PReLU(shared_axes=[1])
        >>> layer.build((None, 5, 3))
        >>> layer.alpha.shape
        (1, 3)
    """

    def __init__(self, alpha_initializer: Any = "Zeros", alpha_regularizer: Any = None, alpha_constraint: Any = None,
                 shared_axes: int | Sequence[int] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, int) and not isinstance(shared_axes, bool):
            self.shared_axes = [shared_axes]
        elif isinstance(shared_axes, (list, tuple)) and all(
                isinstance(a, int) and not isinstance(a, bool) for a in shared_axes):
            self.shared_axes = list(shared_axes)
        else:
            raise ValueError(f"{describe_layer(self)}: expected shared_axes as None, an int or a list of ints, "
                             f"received shared_axes={shared_axes!r}.")

    def build(self, input_shape: Any) -> None:
        input_shape = tuple(input_shape)
        who = describe_layer(self)
        if len(input_shape) < 2:
            raise ValueError(f"{who}: expected an input of rank 2 or more (batch, ...), received shape {input_shape}.")
        shared = set()
        for axis in self.shared_axes or ():
            if not 1 <= axis < len(input_shape):
                raise ValueError(f"{who}: expected shared_axes between 1 and {len(input_shape) - 1} for an input "
                                 f"of shape {input_shape}, received shared_axes={self.shared_axes}.")
            shared.add(axis)
        param_shape = [1 if axis in shared else size for axis, size in enumerate(input_shape) if axis > 0]
        if any(size is None for size in param_shape):
            raise ValueError(f"{who}: the non-shared axes need known sizes to hold one slope each, received shape "
                             f"{input_shape} with shared_axes={self.shared_axes}.")
        self.alpha = self.add_weight(shape=tuple(param_shape), initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint,
                                     name="alpha")
        self.input_spec = InputSpec(ndim=len(input_shape),
                                    axes={axis: input_shape[axis] for axis in range(1, len(input_shape))
                                          if axis not in shared})

    def call(self, inputs: Any) -> Any:
        positive = ops.relu(inputs)
        negative = ops.multiply(ops.negative(self.alpha), ops.relu(ops.negative(inputs)))
        return ops.add(positive, negative)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        }


class ELU(_ShapeKeeping):
    """``x`` where positive, else ``alpha * (exp(x) - 1)``.

    Example:
        >>> ops.to_numpy(ELU()(np.array([0.0, 2.0], "float32")))
        array([0., 2.], dtype=float32)
    """

    def __init__(self, alpha: float = 1.0, **kwargs: Any):
        super().__init__(**kwargs)
        if not _number(alpha):
            raise ValueError(f"{describe_layer(self)}: expected alpha to be a number, received alpha={alpha!r}.")
        self.alpha = alpha

    def call(self, inputs: Any) -> Any:
        return activations.elu(inputs, alpha=self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(_ShapeKeeping):
    """Softmax along ``axis`` (an int, or several axes normalised together).
    With a ``mask`` (given, or carried by the input), masked positions get no
    probability: they output 0 and the rest renormalise among themselves.

    Example:
        >>> x = np.zeros((1, 3), "float32")
        >>> ops.to_numpy(Softmax()(x, mask=np.array([[True, True, False]])))
        array([[0.5, 0.5, 0. ]], dtype=float32)
    """

    def __init__(self, axis: int | Sequence[int] = -1, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if not axis or not all(isinstance(a, int) and not isinstance(a, bool) for a in axis):
                raise ValueError(f"{describe_layer(self)}: expected axis as an int or a non-empty list of ints, "
                                 f"received axis={axis!r}.")
            axis = list(axis)
        elif not isinstance(axis, int) or isinstance(axis, bool):
            raise ValueError(f"{describe_layer(self)}: expected axis as an int or a list of ints, "
                             f"received axis={axis!r}.")
        self.axis = axis

    def call(self, inputs: Any, mask: Any = None) -> Any:
        if mask is not None:
            self._check_mask(inputs, mask)
            keep = mask if ops.dtype(mask) == "bool" else ops.greater(mask, 0.5)
            lowest = -3e4 if ops.dtype(inputs) in ("float16", "bfloat16") else -1e9
            inputs = ops.where(keep, inputs, ops.full((), lowest, ops.dtype(inputs)))
        if isinstance(self.axis, list) and len(self.axis) > 1:
            axes = tuple(self.axis)
            outputs = ops.exp(ops.subtract(inputs, ops.logsumexp(inputs, axis=axes, keepdims=True)))
        else:
            outputs = activations.softmax(inputs, axis=self.axis[0] if isinstance(self.axis, list) else self.axis)
        if mask is not None:
            outputs = ops.multiply(outputs, ops.cast(keep, ops.dtype(outputs)))
        return outputs

    def _check_mask(self, inputs: Any, mask: Any) -> None:
        shape, mask_shape = tuple(ops.shape(inputs)), tuple(ops.shape(mask))
        fits = len(mask_shape) <= len(shape) and all(
            m is None or i is None or m in (1, i) for m, i in zip(mask_shape[::-1], shape[::-1]))
        if not fits:
            raise ValueError(f"{describe_layer(self)}: expected a mask that broadcasts to the inputs (each mask size "
                             f"1 or the input's, aligned from the last axis), received inputs of shape {shape} and "
                             f"a mask of shape {mask_shape}.")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
