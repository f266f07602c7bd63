"""Keras 3's functional spellings of the merge layers: ``add([a, b])`` is
``Add()([a, b])``, on real or symbolic tensors.

Example:
    >>> a, b = Input((4,)), Input((4,))
    >>> model = Model([a, b], concatenate([a, add([a, b])]))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras.layers.merging.merge import Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract

__all__ = ["add", "average", "concatenate", "dot", "maximum", "minimum", "multiply", "subtract"]


def add(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """The sum of ``inputs``: ``Add(**kwargs)(inputs)``. Example: ``add([a, b])``"""
    return Add(**kwargs)(inputs)


def subtract(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """``inputs[0] - inputs[1]``: ``Subtract(**kwargs)(inputs)``. Example: ``subtract([a, b])``"""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """The elementwise product: ``Multiply(**kwargs)(inputs)``. Example: ``multiply([a, b])``"""
    return Multiply(**kwargs)(inputs)


def average(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """The elementwise mean: ``Average(**kwargs)(inputs)``. Example: ``average([a, b])``"""
    return Average(**kwargs)(inputs)


def maximum(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """The elementwise maximum: ``Maximum(**kwargs)(inputs)``. Example: ``maximum([a, b])``"""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """The elementwise minimum: ``Minimum(**kwargs)(inputs)``. Example: ``minimum([a, b])``"""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: Sequence[Any], axis: int = -1, **kwargs: Any) -> Any:
    """Join ``inputs`` along ``axis``: ``Concatenate(axis, **kwargs)(inputs)``.
    Example: ``concatenate([a, b], axis=1)``"""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: Sequence[Any], axes: int | Sequence[int] = -1, **kwargs: Any) -> Any:
    """Per-sample dot products along ``axes``: ``Dot(axes, **kwargs)(inputs)``.
    Example: ``dot([a, b], axes=1, normalize=True)``"""
    return Dot(axes=axes, **kwargs)(inputs)
