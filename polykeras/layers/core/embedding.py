"""``Embedding``: integer ids -> rows of a trainable matrix."""

from __future__ import annotations

from typing import Any

from polykeras import constraints, initializers, ops, regularizers
from polykeras.layers.convolutional.arguments import describe_layer, refuse_unsupported
from polykeras.layers.layer import Layer

__all__ = ["Embedding"]


class Embedding(Layer):
    """Looks up row ``i`` of ``embeddings`` (shape ``(input_dim, output_dim)``)
    for each integer id ``i``: ``(batch, *dims)`` -> ``(batch, *dims, output_dim)``.

    Args:
        input_dim: vocabulary size (ids lie in ``[0, input_dim)``).
        output_dim: size of each vector.
        embeddings_initializer: default ``"uniform"`` (``±0.05``), as Keras.
        mask_zero: id 0 is padding: the output carries the mask ``ids != 0``
            to the following layers (so the vocabulary holds ``input_dim - 1``
            real ids).
        weights: optional initial ``[matrix]``.

    Example:
        >>> emb = Embedding(100, 8, mask_zero=True)
        >>> y = emb(np.array([[4, 2, 0]]))
        >>> ops.shape(y), ops.to_numpy(polykeras.layers.get_mask(y))
        ((1, 3, 8), array([[ True,  True, False]]))
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, embeddings_constraint: Any = None, mask_zero: bool = False,
                 weights: Any = None, lora_rank: int | None = None, lora_alpha: float | None = None,
                 quantization_config: Any = None, activity_regularizer: Any = None, **kwargs: Any):
        kwargs.pop("input_length", None)  # Keras 2's argument, not needed to build
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        refuse_unsupported(self, lora_rank=lora_rank, lora_alpha=lora_alpha, quantization_config=quantization_config)
        who = describe_layer(self)
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{who}: expected {arg} to be a positive int, received {arg}={value!r}.")
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero
        if weights is not None:
            self.build()
            if not isinstance(weights, (list, tuple)):
                weights = [weights]
            self.set_weights(weights)

    def build(self, input_shape: Any = None) -> None:
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint, name="embeddings")

    def call(self, inputs: Any) -> Any:
        dtype = ops.dtype(inputs)
        if not dtype.startswith(("int", "uint")):
            inputs = ops.cast(inputs, "int32")
        return ops.take(self.embeddings, inputs, axis=0)

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (*tuple(input_shape), self.output_dim)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
        }
