"""Mask helpers shared by the attention layers: causal and sliding-window
masks, the softmax that ignores masked scores, and reading the masks that
ride beside input tensors (:mod:`polykeras.layers.masking`).

Masks are boolean, ``True`` where a position takes part.

Example:
    >>> ops.to_numpy(causal_mask(3, 3))[0].astype(int)
    array([[1, 0, 0],
           [1, 1, 0],
           [1, 1, 1]])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import ops
from polykeras.layers import masking

__all__ = [
    "as_bool", "attention_mask", "causal_mask", "combine", "masked_softmax", "mask_of", "sliding_window_mask",
]

#: What masked scores are replaced with before the softmax (Keras 3's value).
LARGE_NEGATIVE = -1e9
LARGE_NEGATIVE_FLOAT16 = -3e4


def as_bool(mask: Any) -> Any:
    """``mask`` as a boolean tensor (non-zero is ``True``)."""
    if mask is None:
        return None
    mask = ops.convert_to_tensor(mask) if not ops.is_tensor(mask) else mask
    return mask if ops.dtype(mask) == "bool" else ops.not_equal(mask, 0)


def mask_of(x: Any, explicit: Any = None) -> Any:
    """``explicit`` when given, else the mask riding beside ``x`` (or None)."""
    if explicit is not None:
        return explicit
    return None if x is None else masking.get_mask(x)


def causal_mask(q_length: int, v_length: int) -> Any:
    """``(1, q_length, v_length)`` boolean mask: query ``i`` sees keys ``j <= i``."""
    rows = ops.expand_dims(ops.arange(q_length, dtype="int32"), -1)
    cols = ops.expand_dims(ops.arange(v_length, dtype="int32"), 0)
    return ops.expand_dims(ops.greater_equal(rows, cols), 0)


def sliding_window_mask(q_length: int, v_length: int, window: int) -> Any:
    """``(1, q_length, v_length)`` boolean mask: ``|i - j| < window``."""
    rows = ops.expand_dims(ops.arange(q_length, dtype="int32"), -1)
    cols = ops.expand_dims(ops.arange(v_length, dtype="int32"), 0)
    return ops.expand_dims(ops.less(ops.abs(ops.subtract(rows, cols)), window), 0)


def combine(*masks: Any) -> Any:
    """The logical AND of the masks that are not None (None if all are)."""
    out = None
    for mask in masks:
        if mask is not None:
            out = mask if out is None else ops.logical_and(out, mask)
    return out


def masked_softmax(scores: Any, mask: Any = None, axis: int | Sequence[int] = -1) -> Any:
    """Softmax over ``axis`` (one axis or several) where positions with a
    ``False`` mask get no weight; rows masked entirely give zeros (Keras 3's
    ``Softmax`` with a mask). ``mask`` broadcasts to ``scores``."""
    if mask is not None:
        fill = LARGE_NEGATIVE_FLOAT16 if ops.dtype(scores) == "float16" else LARGE_NEGATIVE
        scores = ops.where(mask, scores, fill)
    if isinstance(axis, (list, tuple)) and len(axis) > 1:
        weights = ops.exp(ops.subtract(scores, ops.logsumexp(scores, axis=tuple(axis), keepdims=True)))
    else:
        weights = ops.softmax(scores, axis=axis[0] if isinstance(axis, Sequence) else axis)
    if mask is not None:
        weights = ops.where(mask, weights, 0.0)
    return weights


def attention_mask(query: Any, value: Any, query_mask: Any = None, value_mask: Any = None, key_mask: Any = None,
                   attention_mask: Any = None, use_causal_mask: bool = False,
                   sliding_window: int | None = None) -> Any:
    """The ``(batch, Tq, Tv)`` boolean mask of a multi-head attention call
    (Keras 3's rules): the query mask as ``(B, Tq, 1)``, the value and key
    masks as ``(B, 1, Tv)``, the causal and sliding-window masks as
    ``(1, Tq, Tv)``, and the explicit ``attention_mask``, all AND-ed. None
    when there is no mask at all."""
    parts = []
    if query_mask is not None:
        parts.append(ops.expand_dims(as_bool(query_mask), -1))
    for mask in (value_mask, key_mask):
        if mask is not None:
            parts.append(ops.expand_dims(as_bool(mask), -2))
    if use_causal_mask or sliding_window is not None:
        q_length, v_length = ops.shape(query)[1], ops.shape(value)[1]
        if use_causal_mask:
            parts.append(causal_mask(q_length, v_length))
        if sliding_window is not None:
            parts.append(sliding_window_mask(q_length, v_length, sliding_window))
    if attention_mask is not None:
        parts.insert(0, as_bool(attention_mask))
    return combine(*parts)
