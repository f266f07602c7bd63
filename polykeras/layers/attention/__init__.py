"""Attention layers: ``Attention``, ``AdditiveAttention``,
``MultiHeadAttention`` and ``GroupedQueryAttention`` (also exported as
Keras' ``GroupQueryAttention``)."""

from polykeras.layers.attention.attention import AdditiveAttention, Attention
from polykeras.layers.attention.grouped_query_attention import GroupedQueryAttention
from polykeras.layers.attention.multi_head_attention import MultiHeadAttention

GroupQueryAttention = GroupedQueryAttention

__all__ = ["AdditiveAttention", "Attention", "GroupQueryAttention", "GroupedQueryAttention", "MultiHeadAttention"]
