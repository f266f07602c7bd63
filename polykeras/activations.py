"""Activation functions: Keras 3's set, names and defaults, computed with
``polykeras.ops``.

Layers take ``activation=`` as a name, a function or None (linear);
:func:`get` resolves it and :func:`serialize` turns it back into a name.

Example:
    >>> from polykeras import activations
    >>> activations.get("relu") is activations.relu
    True
    >>> activations.serialize(activations.gelu)
    'gelu'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polykeras import ops
from polykeras import registry

__all__ = [
    "celu", "deserialize", "elu", "exponential", "gelu", "get", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish", "relu", "relu6", "selu",
    "serialize", "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign", "sparse_plus",
    "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink", "threshold",
]

Tensor = Any


def relu(x: Tensor, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0) -> Tensor:
    """``max(x, 0)``; with ``threshold`` values below it become 0 (or
    ``negative_slope * (x - threshold)``), with ``max_value`` capped.
    Example: ``relu(x, max_value=6.0)``"""
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return ops.relu(x)
    x = ops.convert_to_tensor(x)
    dtype = ops.dtype(x)
    if negative_slope == 0.0 and threshold == 0.0:
        # The engines' own kernels (one pass, NaN kept), as Keras 3: relu6 for a cap of 6.
        if max_value == 6 and "float" in dtype:
            return ops.relu6(x)
        return ops.minimum(ops.relu(x), ops.cast(max_value, dtype))
    above = ops.greater(x, threshold) if threshold != 0.0 else ops.greater(x, 0.0)
    positive = ops.where(above, x, ops.zeros_like(x))
    if max_value is not None:
        positive = ops.minimum(positive, ops.cast(max_value, dtype))
    if negative_slope != 0.0:
        negative = ops.multiply(negative_slope, ops.subtract(x, threshold))
        return ops.where(above, positive, negative)
    return positive


def relu6(x: Tensor) -> Tensor:
    """``min(max(x, 0), 6)``. Example: ``relu6(x)``"""
    return ops.relu6(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.2) -> Tensor:
    """``x`` if positive else ``negative_slope * x``. Example: ``leaky_relu(x, 0.1)``"""
    return ops.leaky_relu(x, negative_slope=negative_slope)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """``x`` if positive else ``alpha * (exp(x) - 1)``. Example: ``elu(x)``"""
    return ops.elu(x, alpha=alpha)


def selu(x: Tensor) -> Tensor:
    """Scaled ELU with the self-normalising constants. Example: ``selu(x)``"""
    return ops.selu(x)


def gelu(x: Tensor, approximate: bool = False) -> Tensor:
    """Gaussian error linear unit; exact (erf) by default, as Keras 3's
    activation. Example: ``gelu(x, approximate=True)``"""
    return ops.gelu(x, approximate=approximate)


def silu(x: Tensor) -> Tensor:
    """``x * sigmoid(x)``. Example: ``silu(x)``"""
    return ops.silu(x)


swish = silu


def mish(x: Tensor) -> Tensor:
    """``x * tanh(softplus(x))``. Example: ``mish(x)``"""
    return ops.mish(x)


def sigmoid(x: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``. Example: ``sigmoid(x)``"""
    return ops.sigmoid(x)


def hard_sigmoid(x: Tensor) -> Tensor:
    """``clip(x / 6 + 0.5, 0, 1)``. Example: ``hard_sigmoid(x)``"""
    return ops.hard_sigmoid(x)


def hard_silu(x: Tensor) -> Tensor:
    """``x * hard_sigmoid(x)``. Example: ``hard_silu(x)``"""
    return ops.hard_silu(x)


hard_swish = hard_silu


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent. Example: ``tanh(x)``"""
    return ops.tanh(x)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """Normalised exponentials along ``axis``. Example: ``softmax(logits)``"""
    return ops.softmax(x, axis=axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """``log(softmax(x))``, stable. Example: ``log_softmax(logits)``"""
    return ops.log_softmax(x, axis=axis)


def softplus(x: Tensor) -> Tensor:
    """``log(1 + exp(x))``. Example: ``softplus(x)``"""
    return ops.softplus(x)


def softsign(x: Tensor) -> Tensor:
    """``x / (1 + |x|)``. Example: ``softsign(x)``"""
    return ops.softsign(x)


def exponential(x: Tensor) -> Tensor:
    """``exp(x)``. Example: ``exponential(x)``"""
    return ops.exp(x)


def linear(x: Tensor) -> Tensor:
    """The identity. Example: ``linear(x)``"""
    return x


def celu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """``max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))``. Example: ``celu(x, alpha=0.5)``"""
    return ops.celu(x, alpha=alpha)


def glu(x: Tensor, axis: int = -1) -> Tensor:
    """Gated linear unit: ``a * sigmoid(b)`` for the two halves of ``axis``. Example: ``glu(x)``"""
    return ops.glu(x, axis=axis)


def hard_shrink(x: Tensor, threshold: float = 0.5) -> Tensor:
    """``x`` where ``|x| > threshold``, else 0. Example: ``hard_shrink(x, 0.3)``"""
    return ops.hard_shrink(x, threshold=threshold)


def hard_tanh(x: Tensor) -> Tensor:
    """``clip(x, -1, 1)``. Example: ``hard_tanh(x)``"""
    return ops.hard_tanh(x)


def log_sigmoid(x: Tensor) -> Tensor:
    """``log(sigmoid(x))``, stable for large ``|x|``. Example: ``log_sigmoid(x)``"""
    return ops.log_sigmoid(x)


def soft_shrink(x: Tensor, threshold: float = 0.5) -> Tensor:
    """``x - threshold`` above it, ``x + threshold`` below ``-threshold``, else 0. Example: ``soft_shrink(x)``"""
    return ops.soft_shrink(x, threshold=threshold)


def sparse_plus(x: Tensor) -> Tensor:
    """0 below -1, ``(x + 1)**2 / 4`` on [-1, 1], ``x`` above. Example: ``sparse_plus(x)``"""
    return ops.sparse_plus(x)


def sparse_sigmoid(x: Tensor) -> Tensor:
    """0 below -1, ``(x + 1) / 2`` on [-1, 1], 1 above. Example: ``sparse_sigmoid(x)``"""
    return ops.sparse_sigmoid(x)


def sparsemax(x: Tensor, axis: int = -1) -> Tensor:
    """The Euclidean projection of ``x`` onto the simplex along ``axis``. Example: ``sparsemax(logits)``"""
    return ops.sparsemax(x, axis=axis)


def squareplus(x: Tensor, b: float = 4) -> Tensor:
    """``(x + sqrt(x**2 + b)) / 2``. Example: ``squareplus(x, b=2)``"""
    return ops.squareplus(x, b=b)


def tanh_shrink(x: Tensor) -> Tensor:
    """``x - tanh(x)``. Example: ``tanh_shrink(x)``"""
    return ops.tanh_shrink(x)


def threshold(x: Tensor, threshold: float, default_value: float) -> Tensor:
    """``x`` where ``x > threshold``, else ``default_value``. Example: ``threshold(x, 0.1, 0.0)``"""
    return ops.threshold(x, threshold, default_value)


ALL_OBJECTS_DICT: dict[str, Callable[..., Tensor]] = {
    fn.__name__: fn
    for fn in (
        relu, relu6, leaky_relu, elu, selu, gelu, silu, mish, sigmoid, hard_sigmoid, hard_silu, tanh,
        softmax, log_softmax, softplus, softsign, exponential, linear, celu, glu, hard_shrink, hard_tanh,
        log_sigmoid, soft_shrink, sparse_plus, sparse_sigmoid, sparsemax, squareplus, tanh_shrink, threshold,
    )
}
ALL_OBJECTS_DICT.update({"swish": silu, "hard_swish": hard_silu})
for _name, _fn in ALL_OBJECTS_DICT.items():
    if _fn.__name__ == _name:
        registry.register_builtin(_fn, _name)
del _name, _fn


def serialize(activation: Callable[..., Tensor] | None) -> Any:
    """The name of a built-in or registered activation (``"relu"``), or the
    config of an activation object. Example: ``serialize(relu)`` -> ``'relu'``"""
    if activation is None:
        return "linear"
    return registry.serialize(activation, where="activation")


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Callable[..., Tensor]:
    """The activation named (or configured) by ``config``."""
    if isinstance(config, dict) and config.get("class_name") == "function":
        config = config.get("config")  # Keras 3's form for functions
    return registry.deserialize(config, custom_objects, ALL_OBJECTS_DICT, kind="activation")


def get(identifier: Any) -> Callable[..., Tensor]:
    """An activation function from a name, config, or callable; None gives
    :func:`linear`. Example: ``get("swish") is silu``"""
    if identifier is None:
        return linear
    if isinstance(identifier, (str, dict)):
        found = deserialize(identifier)
        if not callable(found):
            raise ValueError(f"activations.get: {identifier!r} is not callable.")
        return found
    if callable(identifier):
        return identifier
    raise ValueError(f"activations.get: expected a name, config or callable, received {identifier!r}.")
