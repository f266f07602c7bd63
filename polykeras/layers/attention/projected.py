"""``_ProjectedAttention``: what ``MultiHeadAttention`` and
``GroupedQueryAttention`` share.

The arguments of the ``EinsumDense`` projections (``use_bias`` and the
kernel/bias initializers, regularizers and constraints, the activity
regularizer they apply) with their config entries, ``dropout``/``seed``,
building the ``query``, ``key``, (``gate``,) ``value`` and ``attention_output``
projections in Keras 3's order, and the call: masks, projections, the
layer's own :meth:`_ProjectedAttention._attend`, gate, output projection.
The leading underscore keeps the base out of the table of layer classes a
config may name.
"""

from __future__ import annotations

from typing import Any

from polykeras import constraints, initializers, ops, regularizers
from polykeras.layers.attention.masks import attention_mask as build_attention_mask
from polykeras.layers.attention.masks import mask_of
from polykeras.layers.convolutional.arguments import describe_layer, static_shape
from polykeras.layers.core.einsum_dense import EinsumDense
from polykeras.layers.layer import Layer
from polykeras.random import SeedGenerator

__all__ = ["Projection", "_ProjectedAttention"]

#: ``(equation, output_shape, bias_axes)`` of one ``EinsumDense`` projection.
Projection = tuple[str, Any, str]


class _ProjectedAttention(Layer):
    """The base of the attention layers with ``EinsumDense`` projections.

    A subclass checks its own arguments, then calls
    :meth:`_init_projections`; it writes ``_check_shapes``, ``build`` (calling
    :meth:`_build_projections`) and ``_attend``.

    Example:
        >>> MultiHeadAttention(num_heads=2, key_dim=4).get_config()["kernel_initializer"]["class_name"]
        'GlorotUniform'
    """

    def _init_projections(self, dropout: Any, use_bias: bool, flash_attention: bool | None, kernel_initializer: Any,
                          bias_initializer: Any, kernel_regularizer: Any, bias_regularizer: Any,
                          activity_regularizer: Any, kernel_constraint: Any, bias_constraint: Any, use_gate: bool,
                          seed: int | None) -> None:
        """Check and keep the shared arguments (in the layers' signature order)."""
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"{describe_layer(self)}: expected dropout to be a float in [0, 1), received "
                             f"dropout={dropout!r}.")
        self.dropout = float(dropout)
        self.use_bias = use_bias
        self.use_gate = use_gate
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

    def _projection_config(self) -> dict[str, Any]:
        """The config entries of :meth:`_init_projections`' weight arguments and ``seed``."""
        return {
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.projection_activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        }

    # ------------------------------------------------------------- build
    def _check_shapes(self, query_shape: tuple, value_shape: tuple, key_shape: tuple) -> None:
        raise NotImplementedError

    def _input_shapes(self, query_shape: Any, value_shape: Any, key_shape: Any) -> tuple[tuple, tuple, tuple]:
        """The three shapes as tuples (``value`` defaults to ``query``,
        ``key`` to ``value``), checked."""
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
        return query_shape, value_shape, key_shape

    def _einsum_dense(self, name: str, projection: Projection, activation: Any = None) -> EinsumDense:
        equation, output_shape, bias_axes = projection
        return EinsumDense(
            equation, output_shape=output_shape, bias_axes=bias_axes if self.use_bias else None,
            activation=activation, name=name, kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer, kernel_regularizer=self.kernel_regularizer,
            bias_regularizer=self.bias_regularizer, kernel_constraint=self.kernel_constraint,
            bias_constraint=self.bias_constraint, activity_regularizer=self.projection_activity_regularizer,
            dtype=self.dtype_policy)

    def _build_projections(self, shapes: tuple[tuple, tuple, tuple], query: Projection, key: Projection,
                           gate: Projection, value: Projection, output: Projection, output_input_shape: tuple) -> None:
        """Build the projections, in Keras 3's weight order; ``shapes`` are
        those of query, value and key; ``gate`` only with ``use_gate``."""
        query_shape, value_shape, key_shape = shapes
        self._query_dense = self._einsum_dense("query", query)
        self._query_dense.build(query_shape)
        self._key_dense = self._einsum_dense("key", key)
        self._key_dense.build(key_shape)
        if self.use_gate:
            self._gate_dense = self._einsum_dense("gate", gate, activation="sigmoid")
            self._gate_dense.build(query_shape)
        self._value_dense = self._einsum_dense("value", value)
        self._value_dense.build(value_shape)
        self._output_dense = self._einsum_dense("attention_output", output)
        self._output_dense.build(output_input_shape)

    # -------------------------------------------------------------- call
    def _attend(self, query: Any, key: Any, value: Any, mask: Any, training: Any,
                weights_wanted: bool) -> tuple[Any, Any]:
        """``(output, weights)`` of the projected query, key and value; the
        weights may be None unless ``weights_wanted``."""
        raise NotImplementedError

    def _fused_attention(self, query: Any, key: Any, value: Any, mask: Any, training: Any, weights_wanted: bool,
                         scale: float) -> Any:
        """The attention output by ``ops.dot_product_attention`` (each
        engine's fused kernel, as Keras 3 uses it) where that gives the
        explicit path's numbers and nobody needs the weights: no mask, no
        dropout in this call, weights not returned, key and value heads of one
        size (the op's contract). None otherwise."""
        if weights_wanted or mask is not None or (training and self.dropout > 0) \
                or ops.shape(key)[-1] != ops.shape(value)[-1]:
            return None
        return ops.nn.dot_product_attention(query, key, value, scale=scale)

    def _check_causal(self) -> None:
        """Raise if ``use_causal_mask`` cannot apply (the causal mask runs along axis 1)."""

    def _dropout(self, weights: Any, training: Any) -> Any:
        if training and self.dropout > 0:
            return ops.random.dropout(weights, self.dropout, seed=self.seed_generator)
        return weights

    def call(self, query: Any, value: Any, key: Any = None, query_mask: Any = None, value_mask: Any = None,
             key_mask: Any = None, attention_mask: Any = None, return_attention_scores: bool = False,
             training: Any = None, use_causal_mask: bool = False) -> Any:
        key = value if key is None else key
        self._check_shapes(static_shape(ops.shape(query)), static_shape(ops.shape(value)),
                           static_shape(ops.shape(key)))
        if use_causal_mask:
            self._check_causal()
        mask = build_attention_mask(
            query, value, query_mask=mask_of(query, query_mask), value_mask=mask_of(value, value_mask),
            key_mask=mask_of(key, key_mask) if key is not value else key_mask, attention_mask=attention_mask,
            use_causal_mask=use_causal_mask, sliding_window=self.sliding_window)
        gate = self._gate_dense(query) if self.use_gate else None
        output, weights = self._attend(self._query_dense(query), self._key_dense(key), self._value_dense(value),
                                       mask, training, return_attention_scores)
        if gate is not None:
            output = ops.multiply(output, gate)
        output = self._output_dense(output)
        return (output, weights) if return_attention_scores else output
