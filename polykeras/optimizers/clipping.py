"""Gradient clipping, as the optimizers' ``clipnorm``, ``global_clipnorm``
and ``clipvalue`` apply it (Keras 3's formulas), written with ops so it runs
inside compiled steps.

Example:
    >>> clipped = clip_by_global_norm(grads, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import ops

Tensor = Any

__all__ = ["clip_by_global_norm", "clip_by_norm", "global_norm"]


def clip_by_norm(grad: Tensor, clipnorm: float) -> Tensor:
    """``grad * clipnorm / max(||grad||, clipnorm)`` (a zero gradient stays zero).

    Example: ``clip_by_norm(g, 1.0)``
    """
    l2sum = ops.sum(ops.square(grad))
    positive = ops.greater(l2sum, 0.0)
    safe = ops.where(positive, l2sum, ops.ones_like(l2sum))
    norm = ops.where(positive, ops.sqrt(safe), l2sum)
    return ops.divide(ops.multiply(grad, clipnorm), ops.maximum(norm, clipnorm))


def global_norm(grads: Sequence[Tensor]) -> Tensor:
    """The L2 norm of all gradients together (float32).

    Example: ``global_norm([g1, g2])``
    """
    squares = [ops.sum(ops.square(ops.cast(g, "float32") if ops.dtype(g) != "float32" else g)) for g in grads]
    return ops.sqrt(ops.sum(ops.stack(squares)))


def clip_by_global_norm(grads: Sequence[Tensor], clipnorm: float) -> list[Tensor]:
    """Scale all gradients by ``clipnorm / max(global_norm, clipnorm)``; a
    non-finite global norm makes every gradient NaN, as in Keras.

    Example: ``clip_by_global_norm([g1, g2], 1.0)``
    """
    norm = global_norm(grads)
    scale = ops.multiply(ops.minimum(ops.reciprocal(norm), 1.0 / clipnorm), clipnorm)
    scale = ops.add(scale, ops.subtract(norm, norm))  # NaN for an inf/NaN norm
    out = []
    for g in grads:
        dtype = ops.dtype(g)
        out.append(ops.multiply(g, scale if dtype == "float32" else ops.cast(scale, dtype)))
    return out
