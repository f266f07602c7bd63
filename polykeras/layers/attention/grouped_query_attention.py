"""``GroupedQueryAttention``, as Keras 3: ``num_query_heads`` query heads
share ``num_key_value_heads`` key/value heads (each key/value head serves
``num_query_heads // num_key_value_heads`` query heads). Projections are
``EinsumDense`` sub-layers ``query``, ``key``, (``gate``,) ``value``,
``attention_output`` with Keras' shapes and order.
"""

from __future__ import annotations

import math
from typing import Any

from polykeras import ops
from polykeras.layers.attention.masks import masked_softmax
from polykeras.layers.attention.projected import _ProjectedAttention
from polykeras.layers.convolutional.arguments import describe_layer, positive_int

__all__ = ["GroupedQueryAttention"]


class GroupedQueryAttention(_ProjectedAttention):
    """Grouped-query attention (Ainslie et al., 2023) over ``(batch, steps,
    features)`` inputs.

    Args:
        head_dim: size of each head.
        num_query_heads: number of query heads.
        num_key_value_heads: number of key and value heads; must divide
            ``num_query_heads``.
        dropout: dropout rate on the attention weights while training.
        use_bias: whether the projections have biases.
        sliding_window: attend only to keys with ``|i - j| < sliding_window``.
        flash_attention: accepted for Keras compatibility; the numbers are the same.
        use_gate: multiply the attention output by a sigmoid gate of the query.
        kernel_* / bias_*: the projections' initializers, regularizers, constraints.
        seed: seed of the dropout's generator.

    Call arguments are those of :class:`MultiHeadAttention`; the attention
    scores have shape ``(batch, num_query_heads, Tq, Tv)``.

    Weights (Keras 3's order): ``query/kernel`` ``(dim, num_query_heads,
    head_dim)``, ``query/bias`` ``(num_query_heads, head_dim)``, ``key`` and
    ``value`` with ``num_key_value_heads``, ``attention_output/kernel``
    ``(num_query_heads, head_dim, dim)``, ``attention_output/bias`` ``(dim,)``.

    Example:
        >>> gqa = GroupedQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2)
        >>> x = np.ones((2, 6, 8), "float32")
        >>> ops.shape(gqa(x, x, use_causal_mask=True))
        (2, 6, 8)
    """

    def __init__(self, head_dim: int, num_query_heads: int, num_key_value_heads: int, dropout: float = 0.0,
                 use_bias: bool = True, sliding_window: int | None = None, flash_attention: bool | None = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, use_gate: bool = False,
                 seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        who = describe_layer(self)
        self.head_dim = positive_int(head_dim, "head_dim", who)
        self.num_query_heads = positive_int(num_query_heads, "num_query_heads", who)
        self.num_key_value_heads = positive_int(num_key_value_heads, "num_key_value_heads", who)
        if num_query_heads % num_key_value_heads:
            raise ValueError(f"{who}: expected num_query_heads divisible by num_key_value_heads, received "
                             f"num_query_heads={num_query_heads}, num_key_value_heads={num_key_value_heads}.")
        self.num_repeats = num_query_heads // num_key_value_heads
        if sliding_window is not None:
            sliding_window = positive_int(sliding_window, "sliding_window", who)
        self.sliding_window = sliding_window
        self._init_projections(dropout, use_bias, flash_attention, kernel_initializer, bias_initializer,
                               kernel_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
                               bias_constraint, use_gate, seed)

    def _check_shapes(self, query_shape: tuple, value_shape: tuple, key_shape: tuple) -> None:
        who = describe_layer(self)
        if len(query_shape) != 3 or len(value_shape) != 3 or len(key_shape) != 3:
            raise ValueError(f"{who}: expected query, value and key of rank 3 (batch, steps, features), "
                             f"received query {query_shape}, value {value_shape}, key {key_shape}.")
        if query_shape[-1] is not None and value_shape[-1] is not None and query_shape[-1] != value_shape[-1]:
            raise ValueError(f"{who}: expected query and value with the same last dimension, received query "
                             f"{query_shape} and value {value_shape}.")
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(f"{who}: expected value and key equal in every axis but the last, received value "
                             f"{value_shape} and key {key_shape}.")

    def build(self, query_shape: Any, value_shape: Any = None, key_shape: Any = None) -> None:
        shapes = self._input_shapes(query_shape, value_shape, key_shape)
        self.feature_dim = shapes[0][-1]
        query = ("bqm,muh->bquh", (None, self.num_query_heads, self.head_dim), "uh")
        key_value = ("bkm,mvh->bkvh", (None, self.num_key_value_heads, self.head_dim), "vh")
        self._build_projections(
            shapes, query=query, key=key_value, gate=query, value=key_value,
            output=("bquh,uhm->bqm", (None, self.feature_dim), "m"),
            output_input_shape=(None, None, self.num_query_heads, self.head_dim))

    def _attend(self, query: Any, key: Any, value: Any, mask: Any, training: Any,
                weights_wanted: bool) -> tuple[Any, Any]:
        output = self._fused_attention(query, key, value, mask, training, weights_wanted,
                                       1.0 / math.sqrt(float(self.head_dim)))
        if output is not None:
            return output, None
        key = ops.repeat(key, self.num_repeats, axis=2)
        value = ops.repeat(value, self.num_repeats, axis=2)
        query = ops.multiply(query, ops.cast(1.0 / math.sqrt(float(self.head_dim)), ops.dtype(query)))
        scores = ops.einsum("bquh,bkuh->buqk", query, key)
        if mask is not None and len(ops.shape(mask)) == 3:
            mask = ops.expand_dims(mask, 1)
        weights = masked_softmax(scores, mask, axis=-1)
        return ops.einsum("buqk,bkuh->bquh", self._dropout(weights, training), value), weights

    def compute_output_shape(self, query_shape: Any, value_shape: Any = None, key_shape: Any = None) -> tuple:
        return self._input_shapes(query_shape, value_shape, key_shape)[0]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "head_dim": self.head_dim,
            "num_query_heads": self.num_query_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "sliding_window": self.sliding_window,
            "dropout": self.dropout,
            **self._projection_config(),
        }
