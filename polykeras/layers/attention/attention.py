"""Dot-product (Luong) ``Attention`` and additive (Bahdanau)
``AdditiveAttention``, as Keras 3: called on ``[query, value]`` or
``[query, value, key]``; masks ``[query_mask, value_mask]`` come from the
inputs' riding masks or the ``mask`` argument.
"""

from __future__ import annotations

from typing import Any

from polykeras import ops
from polykeras.layers.attention.masks import as_bool, causal_mask, combine, masked_softmax
from polykeras.layers.convolutional.arguments import describe_layer, static_shape
from polykeras.layers.layer import Layer
from polykeras.random import SeedGenerator

__all__ = ["AdditiveAttention", "Attention"]

_SCORE_MODES = ("dot", "concat")


class Attention(Layer):
    """Dot-product attention: ``softmax(scores(query, key)) @ value``.

    ``score_mode="dot"`` scores ``query @ key^T`` (times a trainable scalar
    ``scale`` with ``use_scale``); ``"concat"`` scores
    ``concat_score_weight * sum(tanh(scale * (query + key)), -1)``.

    Call arguments:
        inputs: ``[query (batch, Tq, dim), value (batch, Tv, dim)]`` plus an
            optional ``key (batch, Tv, dim)`` (default: ``value``).
        mask: ``[query_mask (batch, Tq), value_mask (batch, Tv)]``: value
            positions masked ``False`` get no weight; query positions masked
            ``False`` give zero outputs. Defaults to the inputs' riding masks.
        return_attention_scores: also return the ``(batch, Tq, Tv)`` weights.
        use_causal_mask: query ``i`` attends only to keys ``j <= i``.
        training: dropout on the attention weights only while training.

    Weights: ``scale`` (shape ``()``, with ``use_scale``), then
    ``concat_score_weight`` (shape ``()``, with ``score_mode="concat"``).

    Example:
        >>> q, v = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")
        >>> out, scores = Attention()([q, v], return_attention_scores=True)
        >>> ops.shape(out), ops.shape(scores)
        ((2, 3, 4), (2, 3, 5))
    """

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        who = describe_layer(self)
        if score_mode not in _SCORE_MODES:
            raise ValueError(f"{who}: expected score_mode to be one of {_SCORE_MODES}, received "
                             f"score_mode={score_mode!r}.")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"{who}: expected dropout to be a float in [0, 1), received dropout={dropout!r}.")
        self.use_scale = use_scale
        self.score_mode = score_mode
        self.dropout = float(dropout)
        self.seed = seed
        if self.dropout > 0:
            self.seed_generator = SeedGenerator(seed, name="seed_generator")
        self.supports_masking = True

    # ------------------------------------------------------------ checks
    def _validate(self, inputs: Any, mask: Any = None) -> None:
        who = describe_layer(self)
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{who}: expected a list of inputs [query, value] or [query, value, key], received "
                             f"{type(inputs).__name__} {_shape_text(inputs)}.")
        if not 2 <= len(inputs) <= 3:
            raise ValueError(f"{who}: expected a list of 2 or 3 inputs [query, value(, key)], received "
                             f"{len(inputs)} inputs.")
        if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
            raise ValueError(f"{who}: expected mask as a list [query_mask, value_mask], received mask={mask!r}.")

    def _check_shapes(self, shapes: Any) -> None:
        if not isinstance(shapes, (list, tuple)) or not all(isinstance(s, (list, tuple)) for s in shapes):
            raise ValueError(f"{describe_layer(self)}: expected a list of inputs [query, value] or [query, value, "
                             f"key], received one input of shape {tuple(shapes)}.")
        self._validate(shapes)
        shapes = [tuple(s) for s in shapes]
        query, value = shapes[0], shapes[1]
        key = shapes[2] if len(shapes) > 2 else value
        who = describe_layer(self)
        if any(len(s) < 2 for s in shapes):
            raise ValueError(f"{who}: expected query, value and key of rank 2 or more, received shapes {shapes}.")
        if query[-1] is not None and key[-1] is not None and query[-1] != key[-1]:
            raise ValueError(f"{who}: expected query and key with the same last dimension, received query "
                             f"{tuple(query)} and key {tuple(key)}.")
        if value[-2] is not None and key[-2] is not None and value[-2] != key[-2]:
            raise ValueError(f"{who}: expected value and key with the same number of steps, received value "
                             f"{tuple(value)} and key {tuple(key)}.")

    # ------------------------------------------------------------- build
    def build(self, input_shape: Any) -> None:
        self._check_shapes(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(shape=(), initializer="ones", name="concat_score_weight")

    # -------------------------------------------------------------- call
    def _scores(self, query: Any, key: Any) -> Any:
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.moveaxis(key, -1, -2))
            return ops.multiply(scores, self.scale) if self.scale is not None else scores
        summed = ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3))
        if self.scale is not None:
            summed = ops.multiply(summed, self.scale)
        return ops.multiply(self.concat_score_weight, ops.sum(ops.tanh(summed), axis=-1))

    def call(self, inputs: Any, mask: Any = None, training: Any = False, return_attention_scores: bool = False,
             use_causal_mask: bool = False) -> Any:
        self._validate(inputs, mask)
        self._check_shapes([static_shape(ops.shape(x)) for x in inputs])
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        q_mask = as_bool(mask[0]) if mask else None
        v_mask = as_bool(mask[1]) if mask else None
        scores = self._scores(query, key)
        score_mask = None if v_mask is None else ops.expand_dims(v_mask, -2)
        if use_causal_mask:
            shape = ops.shape(scores)
            score_mask = combine(score_mask, causal_mask(shape[-2], shape[-1]))
        weights = masked_softmax(scores, score_mask, axis=-1) if score_mask is not None else ops.softmax(scores)
        dropped = weights
        if training and self.dropout > 0:
            dropped = ops.random.dropout(weights, self.dropout, seed=self.seed_generator)
        outputs = ops.matmul(dropped, value)
        if q_mask is not None:
            outputs = ops.where(ops.expand_dims(q_mask, -1), outputs, 0.0)
        return (outputs, weights) if return_attention_scores else outputs

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        if not previous_mask or previous_mask[0] is None:
            return None
        return previous_mask[0]

    def compute_output_shape(self, input_shape: Any) -> tuple:
        self._check_shapes(input_shape)
        query, value = tuple(input_shape[0]), tuple(input_shape[1])
        return (*query[:-1], value[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Additive (Bahdanau) attention: scores
    ``sum(scale * tanh(query + key), -1)`` with a trainable ``scale`` of
    shape ``(dim,)`` (``use_scale=True`` by default). Called like
    :class:`Attention`.

    Example:
        >>> q, v = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")
        >>> ops.shape(AdditiveAttention()([q, v]))
        (2, 3, 4)
    """

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, seed: int | None = None, **kwargs: Any):
        kwargs.pop("score_mode", None)
        super().__init__(use_scale=use_scale, dropout=dropout, seed=seed, **kwargs)

    def build(self, input_shape: Any) -> None:
        self._check_shapes(input_shape)
        dim = tuple(input_shape[0])[-1]
        if dim is None and self.use_scale:
            raise ValueError(f"{describe_layer(self)}: expected a known query feature size, received query shape "
                             f"{tuple(input_shape[0])}.")
        self.scale = self.add_weight(shape=(dim,), initializer="glorot_uniform", name="scale") \
            if self.use_scale else None
        self.concat_score_weight = None

    def _scores(self, query: Any, key: Any) -> Any:
        summed = ops.tanh(ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3)))
        if self.scale is not None:
            summed = ops.multiply(summed, self.scale)
        return ops.sum(summed, axis=-1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["score_mode"]
        return config


def _shape_text(x: Any) -> str:
    shape = getattr(x, "shape", None)
    return f"of shape {tuple(shape)}" if shape is not None else repr(x)[:60]
