"""Regularizers: penalties on a weight's value, Keras 3 formulas and defaults.

A layer's weight regularization losses are computed on demand from its
variables (``layer.losses``), so they follow the variables' current values,
inside a ``StatelessScope`` too.

Example:
    >>> from polykeras import regularizers
    >>> reg = regularizers.get("l2")          # L2(l2=0.01)
    >>> penalty = reg(kernel)                 # 0.01 * sum(kernel ** 2)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from polykeras import ops
from polykeras import registry
from polykeras.variables import value_of
from polykeras.config import epsilon

__all__ = ["L1", "L1L2", "L2", "OrthogonalRegularizer", "Regularizer", "deserialize", "get", "l1", "l1_l2", "l2",
           "orthogonal_regularizer", "serialize"]



def _penalty(owner: str, name: str, value: Any) -> float:
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or math.isinf(value) or math.isnan(value)
            or value < 0):
        raise ValueError(f"{owner}: expected a non-negative float {name}, received {name}={value!r}.")
    return float(value)


class Regularizer:
    """Base class: ``__call__(x)`` returns a scalar penalty; ``get_config``
    makes it serializable.

    Example:
        >>> class Abs(Regularizer):
        ...     def __call__(self, x):
        ...         return ops.sum(ops.abs(x))
    """

    def __call__(self, x: Any) -> Any:
        return 0.0

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x ** 2)``. Example: ``L1L2(l1=1e-5, l2=1e-4)``"""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _penalty("L1L2", "l1", l1)
        self.l2 = _penalty("L1L2", "l2", l2)

    def __call__(self, x: Any) -> Any:
        x = value_of(x)
        total = 0.0
        if self.l1:
            total = ops.multiply(self.l1, ops.sum(ops.abs(x)))
        if self.l2:
            total = ops.add(total, ops.multiply(self.l2, ops.sum(ops.square(x))))
        return total if self.l1 or self.l2 else ops.zeros((), ops.dtype(x))

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """``l1 * sum(|x|)``. Example: ``L1(0.01)``"""

    def __init__(self, l1: float = 0.01):
        self.l1 = _penalty("L1", "l1", l1)

    def __call__(self, x: Any) -> Any:
        return ops.multiply(self.l1, ops.sum(ops.abs(value_of(x))))

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(x ** 2)``. Example: ``L2(0.01)``"""

    def __init__(self, l2: float = 0.01):
        self.l2 = _penalty("L2", "l2", l2)

    def __call__(self, x: Any) -> Any:
        return ops.multiply(self.l2, ops.sum(ops.square(value_of(x))))

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (``mode="rows"``) or columns of a 2-D weight toward
    orthogonality: ``factor * 0.5 * sum(|P - diag(P)|) / pairs`` where ``P``
    holds the dot products of the L2-normalised rows (columns).

    Example: ``OrthogonalRegularizer(factor=0.01, mode="columns")``
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        self.factor = _penalty("OrthogonalRegularizer", "factor", factor)
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer: expected mode 'rows' or 'columns', received mode={mode!r}.")
        self.mode = mode

    def __call__(self, x: Any) -> Any:
        x = value_of(x)
        shape = ops.shape(x)
        if len(shape) != 2:
            raise ValueError(
                f"OrthogonalRegularizer: expected a 2-D weight, received shape {tuple(shape)} of rank {len(shape)}."
            )
        axis = 1 if self.mode == "rows" else 0
        inv_norm = ops.minimum(ops.rsqrt(ops.sum(ops.square(x), axis=axis, keepdims=True)), 1.0 / epsilon())
        x = ops.multiply(x, inv_norm)
        if self.mode == "rows":
            product, size = ops.matmul(x, ops.transpose(x)), shape[0]
        else:
            product, size = ops.matmul(ops.transpose(x), x), shape[1]
        off_diagonal = ops.multiply(product, ops.subtract(1.0, ops.eye(size, dtype=ops.dtype(x))))
        pairs = size * (size - 1.0) / 2.0
        return ops.divide(ops.multiply(self.factor * 0.5, ops.sum(ops.abs(off_diagonal))), pairs)

    def get_config(self) -> dict[str, Any]:
        return {"factor": self.factor, "mode": self.mode}


ALL_OBJECTS_DICT: dict[str, type[Regularizer]] = {
    "Regularizer": Regularizer, "L1": L1, "L2": L2, "L1L2": L1L2, "OrthogonalRegularizer": OrthogonalRegularizer,
    "l1": L1, "l2": L2, "l1_l2": L1L2, "orthogonal_regularizer": OrthogonalRegularizer,
}

# Keras 3's lowercase spellings of the same classes: ``regularizers.l2(1e-4)``.
l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer


def serialize(regularizer: Regularizer | Callable[[Any], Any] | None) -> Any:
    """JSON-safe config. Example: ``serialize(L2(0.1))``"""
    return registry.serialize(regularizer)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Regularizer:
    """A regularizer from :func:`serialize`'s output or a name."""
    return registry.deserialize(config, custom_objects, ALL_OBJECTS_DICT, kind="regularizer")


def get(identifier: Any) -> Regularizer | Callable[[Any], Any] | None:
    """A regularizer from a name (``"l2"``), config, instance or callable;
    None stays None. Example: ``get("l1")`` -> ``L1(l1=0.01)``"""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier() if isinstance(identifier, type) else identifier
    raise ValueError(f"regularizers.get: expected a name, config dict or callable, received {identifier!r}.")
