"""``MultiHeadAttention``, as Keras 3: the projections are ``EinsumDense``
sub-layers named ``query``, ``key``, (``gate``,) ``value`` and
``attention_output`` with Keras' kernel and bias shapes and order, so
``set_weights(keras_layer.get_weights())`` gives Keras' outputs.

Unmasked attention over one axis, without dropout and without returning the
weights, runs ``ops.nn.dot_product_attention`` (the engine's fused kernel, as
Keras 3 does); otherwise it is computed as scaled scores -> masked softmax ->
dropout -> weighted values (Keras' explicit path); masked-out rows give zero
weights.
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence
from typing import Any

from polykeras import ops
from polykeras.layers.attention.masks import masked_softmax
from polykeras.layers.attention.projected import Projection, _ProjectedAttention
from polykeras.layers.convolutional.arguments import describe_layer, positive_int

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


class MultiHeadAttention(_ProjectedAttention):
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
        self.num_heads = positive_int(num_heads, "num_heads", who)
        self.key_dim = positive_int(key_dim, "key_dim", who)
        self.value_dim = positive_int(value_dim, "value_dim", who, allow_none=True) or self.key_dim
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
        self.sliding_window = positive_int(sliding_window, "sliding_window", who, allow_none=True)
        self._init_projections(dropout, use_bias, flash_attention, kernel_initializer, bias_initializer,
                               kernel_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
                               bias_constraint, use_gate, seed)

    # ------------------------------------------------------------- build
    @staticmethod
    def _projection(input_rank: int, bound: int, trailing: Sequence[int]) -> Projection:
        """A projection of ``input_rank`` inputs contracting the last
        ``bound`` axes into the ``trailing`` ones."""
        equation, bias_axes, output_rank = projection_equation(input_rank - bound, bound, len(trailing))
        return equation, [None] * (output_rank - 1 - len(trailing)) + list(trailing), bias_axes

    def _check_causal(self) -> None:
        if self._axes != (1,):
            raise ValueError(f"{describe_layer(self)}: use_causal_mask masks the positions of axis 1, so it "
                             f"expects attention over axis 1 alone (attention_axes=(1,)), received attention "
                             f"over axes {self._axes}.")

    def _check_shapes(self, query_shape: tuple, value_shape: tuple, key_shape: tuple) -> None:
        who = describe_layer(self)
        if len(query_shape) < 3 or len(value_shape) < 3 or len(key_shape) < 3:
            raise ValueError(f"{who}: expected query, value and key of rank 3 or more (batch, steps, features), "
                             f"received query {query_shape}, value {value_shape}, key {key_shape}.")
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(f"{who}: expected value and key equal in every axis but the last, received value "
                             f"{value_shape} and key {key_shape}.")

    def build(self, query_shape: Any, value_shape: Any = None, key_shape: Any = None) -> None:
        shapes = query_shape, value_shape, key_shape = self._input_shapes(query_shape, value_shape, key_shape)
        rank = len(query_shape)
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
        self._build_projections(
            shapes, query=self._projection(rank, 1, (self.num_heads, self.key_dim)),
            key=self._projection(len(key_shape), 1, (self.num_heads, self.key_dim)),
            gate=self._projection(rank, 1, (self.num_heads, self.value_dim)),
            value=self._projection(len(value_shape), 1, (self.num_heads, self.value_dim)),
            output=self._projection(projected_rank, 2, self._output_shape or (query_shape[-1],)),
            output_input_shape=(*query_shape[:-1], self.num_heads, self.value_dim))

    # -------------------------------------------------------------- call
    def _attend(self, query: Any, key: Any, value: Any, mask: Any, training: Any,
                weights_wanted: bool) -> tuple[Any, Any]:
        if self._axes == (1,) and len(ops.shape(query)) == 4:  # (batch, steps, heads, features)
            output = self._fused_attention(query, key, value, mask, training, weights_wanted,
                                           1.0 / math.sqrt(float(self.key_dim)))
            if output is not None:
                return output, None
        query = ops.multiply(query, ops.cast(1.0 / math.sqrt(float(self.key_dim)), ops.dtype(query)))
        scores = ops.einsum(self._scores_equation, key, query)
        if mask is not None:
            for _ in range(len(ops.shape(scores)) - len(ops.shape(mask))):
                mask = ops.expand_dims(mask, -2 * len(self._axes) - 1)
        weights = masked_softmax(scores, mask, axis=self._softmax_axes)
        return ops.einsum(self._combine_equation, self._dropout(weights, training), value), weights

    def compute_output_shape(self, query_shape: Any, value_shape: Any = None, key_shape: Any = None) -> tuple:
        query_shape, _, _ = self._input_shapes(query_shape, value_shape, key_shape)
        if self._output_shape:
            return query_shape[:-1] + self._output_shape
        return query_shape

    @property
    def query_dense(self) -> Any:
        """The query projection (an ``EinsumDense``; built with the layer),
        as Keras 3. Example: ``mha.query_dense.enable_lora(4)``"""
        return self._query_dense

    @property
    def key_dense(self) -> Any:
        """The key projection (an ``EinsumDense``), as :attr:`query_dense`."""
        return self._key_dense

    @property
    def value_dense(self) -> Any:
        """The value projection (an ``EinsumDense``), as :attr:`query_dense`."""
        return self._value_dense

    @property
    def output_dense(self) -> Any:
        """The output projection (an ``EinsumDense``), as :attr:`query_dense`."""
        return self._output_dense

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
            **self._projection_config(),
        }
