"""The portable ``dot_product_attention``: ``softmax(q k^T * scale + bias,
masked) v`` in einsums, for engines without a fused kernel (TensorFlow,
NumPy) and for the cases a fused kernel does not take (a logit soft cap).
PyTorch (``scaled_dot_product_attention``) and JAX
(``jax.nn.dot_product_attention``) override it.

Layout as Keras 3: ``query (batch, T, heads, dim)``, ``key``/``value``
``(batch, S, kv_heads, dim)`` with ``heads`` a multiple of ``kv_heads``
(grouped-query attention); ``bias`` and the boolean ``mask`` (True =
attend) broadcast to ``(batch, heads, T, S)``. Masked logits take
``-0.7 * finfo(float32).max``, so a row with nothing to attend averages ``value``.

Example:
    >>> out = engine.dot_product_attention(q, k, v, None, None, None, True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # the Backend primitives these composites are written with
    from polykeras.backends.host import EngineHost as _Host
else:
    _Host = object


Tensor = Any


def large_negative(dtype: str) -> float:
    """The logit a masked position takes: Keras 3's ``-0.7 * finfo.max``,
    of float32 for float32 and wider (a float64 value would overflow a
    float32 conversion on the way in)."""
    return float(-0.7 * np.finfo("float16" if dtype == "float16" else "float32").max)


class AttentionComposites(_Host):
    """``dot_product_attention`` written with einsum, softmax and where."""

    def dot_product_attention(self, query: Tensor, key: Tensor, value: Tensor, bias: Tensor | None = None,
                              mask: Tensor | None = None, scale: float | None = None, is_causal: bool = False,
                              attn_logits_soft_cap: float | None = None) -> Tensor:
        """Scaled dot-product attention (see the module docstring)."""
        heads, kv_heads = self.shape(query)[2], self.shape(key)[2]
        if kv_heads != heads:
            key = self.repeat(key, heads // kv_heads, axis=2)
            value = self.repeat(value, heads // kv_heads, axis=2)
        dtype = self.dtype(query)
        if scale is None:
            scale = 1.0 / float(np.sqrt(self.shape(query)[-1]))
        # The queries take the scale: (T, h) entries where the logits have (T, S).
        logits = self.einsum("btnh,bsnh->bnts", self.multiply(query, float(scale)), key)
        if attn_logits_soft_cap is not None:
            logits = self.multiply(self.tanh(self.divide(logits, attn_logits_soft_cap)), attn_logits_soft_cap)
        if bias is not None:
            logits = self.add(logits, self.cast(bias, dtype))
        keep = self.attention_mask(mask, is_causal, self.shape(logits)[-2], self.shape(logits)[-1])
        if keep is not None:
            logits = self.where(keep, logits, self.cast(large_negative(dtype), dtype))
        weights = self.softmax(logits, axis=-1)
        return self.einsum("bnts,bsnh->btnh", weights, value)

    def attention_mask(self, mask: Tensor | None, is_causal: bool, t: int, s: int) -> Tensor | None:
        """The boolean mask (True = attend) combining ``mask`` and the causal
        lower triangle of a ``(t, s)`` logit grid, or None for neither."""
        keep = None if mask is None else self.cast(mask, "bool")
        if is_causal:
            rows = self.expand_dims(self.arange(t, dtype="int32"), 1)
            causal = self.greater_equal(rows, self.expand_dims(self.arange(s, dtype="int32"), 0))
            keep = causal if keep is None else self.logical_and(keep, causal)
        return keep
