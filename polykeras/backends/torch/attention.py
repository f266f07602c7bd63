"""``dot_product_attention`` of the PyTorch engine: the fused
``torch.nn.functional.scaled_dot_product_attention`` (flash / memory-efficient
kernels where the device has them). A logit soft cap, which the fused kernel
does not take, falls back to the protocol's composite. Masks go in as an
additive float mask: a row with nothing to attend gives the composite's
uniform average forward, but (unlike the composite) its gradient reaches
that row's logits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from polykeras.backends.attention import large_negative


if TYPE_CHECKING:  # the engine class this mixin is part of
    from polykeras.backends.base import Backend as _Host
else:
    _Host = object


class TorchAttention(_Host):
    """Fused attention (see :class:`polykeras.backends.torch.TorchBackend`).

    Example: ``B.get("torch").dot_product_attention(q, k, v, is_causal=True)``
    """

    def dot_product_attention(self, query: Any, key: Any, value: Any, bias: Any = None, mask: Any = None,
                              scale: float | None = None, is_causal: bool = False,
                              attn_logits_soft_cap: float | None = None) -> Any:
        if attn_logits_soft_cap is not None:
            return super().dot_product_attention(
                query, key, value, bias, mask, scale, is_causal, attn_logits_soft_cap)
        query, key, value = (self.convert_to_tensor(t) for t in (query, key, value))
        heads, kv_heads = query.shape[2], key.shape[2]
        if kv_heads != heads:
            key = key.repeat_interleave(heads // kv_heads, dim=2)
            value = value.repeat_interleave(heads // kv_heads, dim=2)
        q, k, v = (t.transpose(1, 2) for t in (query, key, value))
        attn_mask = None
        if bias is not None or mask is not None:
            keep = self.attention_mask(mask, is_causal, q.shape[-2], k.shape[-2])
            if bias is None:
                attn_mask = keep
            else:
                attn_mask = self.convert_to_tensor(bias).to(q.dtype)
                if keep is not None:
                    attn_mask = torch.where(keep, attn_mask,
                                            torch.tensor(large_negative(self.dtype(query)), dtype=q.dtype))
            is_causal = False
        if attn_mask is not None and attn_mask.dtype == torch.bool:
            # a fully masked row averages value, as the composite does (not NaN)
            attn_mask = torch.where(attn_mask, torch.zeros((), dtype=q.dtype),
                                    torch.tensor(large_negative(self.dtype(query)), dtype=q.dtype))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=is_causal, scale=scale)
        return out.transpose(1, 2)
