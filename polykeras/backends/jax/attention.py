"""``dot_product_attention`` of the JAX engine: ``jax.nn.dot_product_attention``
(XLA's fused attention; cuDNN's where the device and dtype allow) on
accelerators. On the CPU, and for a logit soft cap or float64 inputs, which
it does not take, the protocol's composite: there XLA gets no fused kernel
from it, and its layout (an extra group axis, the scale applied to the
logits) makes more passes over the logits than the composite's einsums.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


def _rank4(x: Any) -> Any:
    return None if x is None else jnp.reshape(x, (1,) * (4 - x.ndim) + tuple(x.shape))


class JaxAttention:
    """Fused attention (see :class:`polykeras.backends.jax.JaxBackend`).

    Example: ``B.get("jax").dot_product_attention(q, k, v, is_causal=True)``
    """

    def dot_product_attention(self, query: Any, key: Any, value: Any, bias: Any = None, mask: Any = None,
                              scale: float | None = None, is_causal: bool = False,
                              attn_logits_soft_cap: float | None = None) -> Any:
        query, key, value = (jnp.asarray(t) for t in (query, key, value))
        if attn_logits_soft_cap is not None or query.dtype == jnp.float64 or jax.default_backend() == "cpu":
            return super().dot_product_attention(  # type: ignore[misc]
                query, key, value, bias, mask, scale, is_causal, attn_logits_soft_cap)
        bias = None if bias is None else _rank4(jnp.asarray(bias, query.dtype))
        mask = None if mask is None else _rank4(jnp.asarray(mask, bool))
        return jax.nn.dot_product_attention(query, key, value, bias=bias, mask=mask, scale=scale, is_causal=is_causal)
