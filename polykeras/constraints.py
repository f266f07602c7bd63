"""Constraints: projections applied to a weight after each optimizer update,
Keras 3 formulas and axis defaults.

A :class:`~polykeras.variables.Variable` carries its constraint; the
optimizer calls ``variable.apply_constraint()`` after updating it
(``layer.apply_constraints()`` for every weight of a layer).

Example:
    >>> from polykeras import constraints
    >>> c = constraints.get("max_norm")        # MaxNorm(max_value=2, axis=0)
    >>> projected = c(kernel)                  # columns with norm <= 2
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polykeras import ops
from polykeras import registry
from polykeras.variables import value_of
from polykeras.config import epsilon

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "deserialize", "get", "max_norm",
           "min_max_norm", "non_neg", "serialize", "unit_norm"]

Axis = int | list[int] | tuple[int, ...]


def _norms(w: Any, axis: Axis) -> Any:
    axis = tuple(axis) if isinstance(axis, list) else axis
    return ops.sqrt(ops.sum(ops.square(w), axis=axis, keepdims=True))


class Constraint:
    """Base class: ``__call__(w)`` returns the projected value. Subclass it
    for a custom constraint.

    Example:
        >>> class Clip(Constraint):
        ...     def __init__(self, limit=1.0):
        ...         self.limit = limit
        ...     def __call__(self, w):
        ...         return ops.clip(w, -self.limit, self.limit)
        ...     def get_config(self):
        ...         return {"limit": self.limit}
    """

    def __call__(self, w: Any) -> Any:
        return w

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constraint:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """Rescale slices along ``axis`` whose L2 norm exceeds ``max_value``
    (``axis=0`` for a Dense kernel: each unit's incoming weights).
    Example: ``MaxNorm(max_value=3)``"""

    def __init__(self, max_value: float = 2, axis: Axis = 0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w: Any) -> Any:
        w = value_of(w)
        norms = _norms(w, self.axis)
        desired = ops.clip(norms, 0.0, self.max_value)
        return ops.multiply(w, ops.divide(desired, ops.add(norms, epsilon())))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Move slice norms toward ``[min_value, max_value]`` at ``rate``
    (1.0: exactly into the interval). Example: ``MinMaxNorm(0.5, 1.0)``"""

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis: Axis = 0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w: Any) -> Any:
        w = value_of(w)
        norms = _norms(w, self.axis)
        desired = ops.add(
            ops.multiply(self.rate, ops.clip(norms, self.min_value, self.max_value)),
            ops.multiply(1.0 - self.rate, norms),
        )
        return ops.multiply(w, ops.divide(desired, ops.add(norms, epsilon())))

    def get_config(self) -> dict[str, Any]:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


class NonNeg(Constraint):
    """Zero the negative entries. Example: ``NonNeg()``"""

    def __call__(self, w: Any) -> Any:
        w = value_of(w)
        return ops.multiply(w, ops.cast(ops.greater_equal(w, 0.0), ops.dtype(w)))


class UnitNorm(Constraint):
    """Scale slices along ``axis`` to unit L2 norm. Example: ``UnitNorm(axis=0)``"""

    def __init__(self, axis: Axis = 0):
        self.axis = axis

    def __call__(self, w: Any) -> Any:
        w = value_of(w)
        return ops.divide(w, ops.add(_norms(w, self.axis), epsilon()))

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


ALL_OBJECTS_DICT: dict[str, type[Constraint]] = {
    "Constraint": Constraint, "MaxNorm": MaxNorm, "MinMaxNorm": MinMaxNorm, "NonNeg": NonNeg,
    "UnitNorm": UnitNorm, "max_norm": MaxNorm, "min_max_norm": MinMaxNorm, "non_neg": NonNeg,
    "unit_norm": UnitNorm,
}

# Keras 3's lowercase spellings of the same classes: ``constraints.max_norm(2.0)``.
max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm


def serialize(constraint: Constraint | Callable[[Any], Any] | None) -> Any:
    """JSON-safe config. Example: ``serialize(MaxNorm(3))``"""
    return registry.serialize(constraint)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Constraint:
    """A constraint from :func:`serialize`'s output or a name."""
    return registry.deserialize(config, custom_objects, ALL_OBJECTS_DICT, kind="constraint")


def get(identifier: Any) -> Constraint | Callable[[Any], Any] | None:
    """A constraint from a name (``"non_neg"``), config, instance or
    callable; None stays None. Example: ``get("unit_norm")``"""
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier() if isinstance(identifier, type) else identifier
    raise ValueError(f"constraints.get: expected a name, config dict or callable, received {identifier!r}.")
