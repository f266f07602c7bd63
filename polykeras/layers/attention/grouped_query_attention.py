"""``GroupedQueryAttention``, as Keras 3: ``num_query_heads`` query heads
share ``num_key_value_heads`` key/value heads (each key/value head serves
``num_query_heads // num_key_value_heads`` query heads). Projections are
``EinsumDense`` sub-layers ``query``, ``key``, (``gate``,) ``value``,
``attention_output`` with Keras' shapes and order.
"""

from __future__ import annotations

import math
from typing import Any

from polykeras import constraints, initializers, ops, regularizers
from polykeras.layers.attention.masks import attention_mask as build_attention_mask
from polykeras.layers.attention.masks import mask_of, masked_softmax
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.core.einsum_dense import EinsumDense
from polykeras.layers.layer import Layer
from polykeras.random import SeedGenerator

__all__ = ["GroupedQueryAttention"]


def _positive_int(value: Any, arg: str, who: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{who}: expected {arg} to be a positive int, received {arg}={value!r}.")
    return value


class GroupedQueryAttention(Layer):
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
        self.head_dim = _positive_int(head_dim, "head_dim", who)
        self.num_query_heads = _positive_int(num_query_heads, "num_query_heads", who)
        self.num_key_value_heads = _positive_int(num_key_value_heads, "num_key_value_heads", who)
        if num_query_heads % num_key_value_heads:
            raise ValueError(f"{who}: expected num_query_heads divisible by num_key_value_heads, received "
                             f"num_query_heads={num_query_heads}, num_key_value_heads={num_key_value_heads}.")
        self.num_repeats = num_query_heads // num_key_value_heads
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"{who}: expected dropout to be a float in [0, 1), received dropout={dropout!r}.")
        self.dropout = float(dropout)
        self.use_bias = use_bias
        self.use_gate = use_gate
        if sliding_window is not None:
            sliding_window = _positive_int(sliding_window, "sliding_window", who)
        self.sliding_window = sliding_window
        self.flash_attention = flash_attention
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        # As Keras 3: the projections, not this layer, apply the activity regularizer.
        self.projection_activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        if self.dropout > 0:
            self.seed_generator = SeedGenerator(seed, name="seed_generator")
        self.supports_masking = True

    def _dense(self, equation: str, output_shape: tuple, bias_axes: str, name: str,
               activation: Any = None) -> EinsumDense:
        return EinsumDense(
            equation, output_shape=output_shape, bias_axes=bias_axes if self.use_bias else None,
            activation=activation, name=name, kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer, kernel_regularizer=self.kernel_regularizer,
            bias_regularizer=self.bias_regularizer, kernel_constraint=self.kernel_constraint,
            bias_constraint=self.bias_constraint, activity_regularizer=self.projection_activity_regularizer,
            dtype=self.dtype)

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
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
        self.feature_dim = query_shape[-1]
        q_heads, kv_heads = (None, self.num_query_heads, self.head_dim), (None, self.num_key_value_heads,
                                                                          self.head_dim)
        self._query_dense = self._dense("bqm,muh->bquh", q_heads, "uh", "query")
        self._query_dense.build(query_shape)
        self._key_dense = self._dense("bkm,mvh->bkvh", kv_heads, "vh", "key")
        self._key_dense.build(key_shape)
        if self.use_gate:
            self._gate_dense = self._dense("bqm,muh->bquh", q_heads, "uh", "gate", activation="sigmoid")
            self._gate_dense.build(query_shape)
        self._value_dense = self._dense("bkm,mvh->bkvh", kv_heads, "vh", "value")
        self._value_dense.build(value_shape)
        self._output_dense = self._dense("bquh,uhm->bqm", (None, self.feature_dim), "m", "attention_output")
        self._output_dense.build((None, None, self.num_query_heads, self.head_dim))

    def call(self, query: Any, value: Any, key: Any = None, query_mask: Any = None, value_mask: Any = None,
             key_mask: Any = None, attention_mask: Any = None, return_attention_scores: bool = False,
             training: Any = None, use_causal_mask: bool = False) -> Any:
        key = value if key is None else key
        self._check_shapes(tuple(ops.shape(query)), tuple(ops.shape(value)), tuple(ops.shape(key)))
        mask = build_attention_mask(
            query, value, query_mask=mask_of(query, query_mask), value_mask=mask_of(value, value_mask),
            key_mask=mask_of(key, key_mask) if key is not value else key_mask, attention_mask=attention_mask,
            use_causal_mask=use_causal_mask, sliding_window=self.sliding_window)
        gate = self._gate_dense(query) if self.use_gate else None
        q = self._query_dense(query)
        k = ops.repeat(self._key_dense(key), self.num_repeats, axis=2)
        v = ops.repeat(self._value_dense(value), self.num_repeats, axis=2)
        q = ops.multiply(q, ops.cast(1.0 / math.sqrt(float(self.head_dim)), ops.dtype(q)))
        scores = ops.einsum("bquh,bkuh->buqk", q, k)
        if mask is not None and len(ops.shape(mask)) == 3:
            mask = ops.expand_dims(mask, 1)
        weights = masked_softmax(scores, mask, axis=-1)
        dropped = weights
        if training and self.dropout > 0:
            dropped = ops.random.dropout(weights, self.dropout, seed=self.seed_generator)
        output = ops.einsum("buqk,bkuh->bquh", dropped, v)
        if gate is not None:
            output = ops.multiply(output, gate)
        output = self._output_dense(output)
        return (output, weights) if return_attention_scores else output

    def compute_output_shape(self, query_shape: Any, value_shape: Any = None, key_shape: Any = None) -> tuple:
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
        return query_shape

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
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.projection_activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        }
