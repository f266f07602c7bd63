"""``MultiHeadAttention``, as Keras 3: the projections are ``EinsumDense``
sub-layers named ``query``, ``key``, (``gate``,) ``value`` and
``attention_output`` with Keras' kernel and bias shapes and order, so
``set_weights(keras_layer.get_weights())`` gives Keras' outputs.

The attention is always computed as scaled scores -> masked softmax ->
dropout -> weighted values (Keras' explicit path); masked-out rows give zero
weights.
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence
from typing import Any

from polykeras import constraints, initializers, ops, regularizers
from polykeras.layers.attention.masks import attention_mask as build_attention_mask
from polykeras.layers.attention.masks import mask_of, masked_softmax
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.core.einsum_dense import EinsumDense
from polykeras.layers.layer import Layer
from polykeras.random import SeedGenerator

__all__ = ["MultiHeadAttention", "attention_equations", "projection_equation"]


def projection_equation(free_dims: int, bound_dims: int, output_dims: int) -> tuple[str, str, int]:
    """``(equation, bias_axes, output_rank)`` of a projection that keeps
    ``free_dims`` leading axes, contracts ``bound_dims`` and adds
    ``output_dims`` new ones. Example: ``(2, 1, 2)`` -> ``("abc,cde->abde", "de", 4)``"""
    letters = string.ascii_lowercase
    free = letters[:free_dims]
    bound = letters[free_dims:free_dims + bound_dims]
    out = letters[free_dims + bound_dims:free_dims + bound_dims + output_dims]
    return f"{free}{bound},{bound}{out}->{free}{out}", out, len(free) + len(out)


def attention_equations(rank: int, attention_axes: Sequence[int]) -> tuple[str, str, int]:
    """``(scores_equation, combine_equation, scores_rank)`` for projected
    tensors of ``rank`` (batch, ..., heads, features) attending over
    ``attention_axes``: ``einsum(scores_equation, key, query)`` gives the
    scores ``(batch..., heads, *query_axes, *key_axes)`` and
    ``einsum(combine_equation, weights, value)`` the output.

    Example: ``attention_equations(4, (1,))`` -> ``("aecd,abcd->acbe", "acbe,aecd->abcd", 4)``
    """
    letters = string.ascii_lowercase
    target = letters[:rank]
    batch_axes = [i for i in range(rank) if i not in attention_axes and i != rank - 1]
    extra = iter(letters[rank:])
    source = "".join(target[i] if i in batch_axes or i == rank - 1 else next(extra) for i in range(rank))
    product = ("".join(target[i] for i in batch_axes) + "".join(target[i] for i in attention_axes)
               + "".join(source[i] for i in attention_axes))
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


def _positive_int(value: Any, arg: str, who: str, allow_none: bool = False) -> Any:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{who}: expected {arg} to be a positive int{' or None' if allow_none else ''}, "
                         f"received {arg}={value!r}.")
    return value


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al.) with Keras 3's arguments.

    ``query`` ``(batch, Tq, dim)`` attends to ``key`` ``(batch, Tv, dim_k)``
    (default: ``value``) and mixes ``value`` ``(batch, Tv, dim_v)``; inputs
    may have more axes (``attention_axes`` picks those attended over).

    Args:
        num_heads: number of heads.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value (default ``key_dim``).
        dropout: dropout rate on the attention weights while training.
        use_bias: whether the projections have biases.
        output_shape: the output's trailing shape (default: query's last axis).
        attention_axes: the axes attended over (default: all but batch, heads
            and features).
        sliding_window: attend only to keys with ``|i - j| < sliding_window``.
        flash_attention: accepted for Keras compatibility; the numbers are the same.
        use_gate: multiply the attention output by a sigmoid gate of the query.
        kernel_* / bias_*: initializers, regularizers and constraints of the
            projections.
        seed: seed of the dropout's generator.

    Call arguments:
        query, value, key: the tensors.
        query_mask, value_mask, key_mask: ``(batch, T)`` padding masks
            (default: the masks riding with the tensors).
        attention_mask: ``(batch, Tq, Tv)`` boolean, True where query ``i``
            may attend to key ``j``.
        return_attention_scores: also return the ``(batch, heads, Tq, Tv)`` weights.
        use_causal_mask: query ``i`` attends only to keys ``j <= i``.
        training: dropout only while training.

    Weights (Keras 3's order): ``query/kernel`` ``(dim, heads, key_dim)``,
    ``query/bias`` ``(heads, key_dim)``, the same for ``key`` and ``value``
    (``value_dim``), then ``attention_output/kernel`` ``(heads, value_dim,
    dim)`` and ``attention_output/bias`` ``(dim,)``.

    Example:
        >>> mha = MultiHeadAttention(num_heads=2, key_dim=4)
        >>> x = np.ones((3, 5, 8), "float32")
        >>> out, scores = mha(x, x, return_attention_scores=True, use_causal_mask=True)
        >>> ops.shape(out), ops.shape(scores)
        ((3, 5, 8), (3, 2, 5, 5))
    """

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None, dropout: float = 0.0,
                 use_bias: bool = True, output_shape: Any = None, attention_axes: Any = None,
                 sliding_window: int | None = None, flash_attention: bool | None = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, use_gate: bool = False,
                 seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        who = describe_layer(self)
        # As Keras 3: the projections, not this layer, apply the activity regularizer.
        self.projection_activity_regularizer = regularizers.get(activity_regularizer)
        self.num_heads = _positive_int(num_heads, "num_heads", who)
        self.key_dim = _positive_int(key_dim, "key_dim", who)
        self.value_dim = _positive_int(value_dim, "value_dim", who, allow_none=True) or self.key_dim
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"{who}: expected dropout to be a float in [0, 1), received dropout={dropout!r}.")
        self.dropout = float(dropout)
        self.use_bias = use_bias
        self.use_gate = use_gate
        if output_shape:
            if isinstance(output_shape, int):
                output_shape = (output_shape,)
            if not isinstance(output_shape, (list, tuple)) or not all(
                    isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in output_shape):
                raise ValueError(f"{who}: expected output_shape as a positive int or a tuple of positive ints, "
                                 f"received output_shape={output_shape!r}.")
            output_shape = tuple(output_shape)
        self._output_shape = output_shape or None
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes is not None:
            if not isinstance(attention_axes, (list, tuple)) or not all(
                    isinstance(a, int) and not isinstance(a, bool) for a in attention_axes):
                raise ValueError(f"{who}: expected attention_axes as an int, a tuple of ints or None, received "
                                 f"attention_axes={attention_axes!r}.")
            attention_axes = tuple(attention_axes)
        self.attention_axes = attention_axes
        self.sliding_window = _positive_int(sliding_window, "sliding_window", who, allow_none=True)
        self.flash_attention = flash_attention
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        if self.dropout > 0:
            self.seed_generator = SeedGenerator(seed, name="seed_generator")
        self.supports_masking = True

    # ------------------------------------------------------------- build
    def _projection(self, name: str, input_rank: int, bound: int, trailing: Sequence[int],
                    activation: Any = None) -> EinsumDense:
        equation, bias_axes, output_rank = projection_equation(input_rank - bound, bound, len(trailing))
        return EinsumDense(
            equation, output_shape=[None] * (output_rank - 1 - len(trailing)) + list(trailing),
            bias_axes=bias_axes if self.use_bias else None, activation=activation, name=name,
            kernel_initializer=self.kernel_initializer, bias_initializer=self.bias_initializer,
            kernel_regularizer=self.kernel_regularizer, bias_regularizer=self.bias_regularizer,
            kernel_constraint=self.kernel_constraint, bias_constraint=self.bias_constraint,
            activity_regularizer=self.projection_activity_regularizer, dtype=self.dtype)

    def _check_shapes(self, query_shape: tuple, value_shape: tuple, key_shape: tuple) -> None:
        who = describe_layer(self)
        if len(query_shape) < 3 or len(value_shape) < 3 or len(key_shape) < 3:
            raise ValueError(f"{who}: expected query, value and key of rank 3 or more (batch, steps, features), "
                             f"received query {query_shape}, value {value_shape}, key {key_shape}.")
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(f"{who}: expected value and key equal in every axis but the last, received value "
                             f"{value_shape} and key {key_shape}.")

    def build(self, query_shape: Any, value_shape: Any = None, key_shape: Any = None) -> None:
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
        rank = len(query_shape)
        self._query_dense = self._projection("query", rank, 1, (self.num_heads, self.key_dim))
        self._query_dense.build(query_shape)
        self._key_dense = self._projection("key", len(key_shape), 1, (self.num_heads, self.key_dim))
        self._key_dense.build(key_shape)
        if self.use_gate:
            self._gate_dense = self._projection("gate", rank, 1, (self.num_heads, self.value_dim), "sigmoid")
            self._gate_dense.build(query_shape)
        self._value_dense = self._projection("value", len(value_shape), 1, (self.num_heads, self.value_dim))
        self._value_dense.build(value_shape)
        projected_rank = rank + 1
        axes = self.attention_axes if self.attention_axes is not None else tuple(range(1, projected_rank - 2))
        axes = tuple(a if a >= 0 else projected_rank - 1 + a for a in axes)
        if not axes or any(not 1 <= a < projected_rank - 2 for a in axes):
            raise ValueError(f"{describe_layer(self)}: expected attention_axes among the query's non-batch, "
                             f"non-feature axes {tuple(range(1, rank - 1))}, received "
                             f"attention_axes={self.attention_axes} for query shape {query_shape}.")
        self._axes = axes
        self._scores_equation, self._combine_equation, scores_rank = attention_equations(projected_rank, axes)
        self._softmax_axes = tuple(range(scores_rank - len(axes), scores_rank))
        self._output_dense = self._projection("attention_output", projected_rank, 2,
                                              self._output_shape or (query_shape[-1],))
        self._output_dense.build((*query_shape[:-1], self.num_heads, self.value_dim))

    # -------------------------------------------------------------- call
    def _attend(self, query: Any, key: Any, value: Any, mask: Any, training: Any) -> tuple[Any, Any]:
        query = ops.multiply(query, ops.cast(1.0 / math.sqrt(float(self.key_dim)), ops.dtype(query)))
        scores = ops.einsum(self._scores_equation, key, query)
        if mask is not None:
            for _ in range(len(ops.shape(scores)) - len(ops.shape(mask))):
                mask = ops.expand_dims(mask, -2 * len(self._axes) - 1)
        weights = masked_softmax(scores, mask, axis=self._softmax_axes)
        dropped = weights
        if training and self.dropout > 0:
            dropped = ops.random.dropout(weights, self.dropout, seed=self.seed_generator)
        return ops.einsum(self._combine_equation, dropped, value), weights

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
        output, weights = self._attend(self._query_dense(query), self._key_dense(key), self._value_dense(value),
                                       mask, training)
        if gate is not None:
            output = ops.multiply(output, gate)
        output = self._output_dense(output)
        return (output, weights) if return_attention_scores else output

    def compute_output_shape(self, query_shape: Any, value_shape: Any = None, key_shape: Any = None) -> tuple:
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
        if self._output_shape:
            return query_shape[:-1] + self._output_shape
        return query_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "output_shape": self._output_shape,
            "attention_axes": self.attention_axes,
            "sliding_window": self.sliding_window,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.projection_activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        }
