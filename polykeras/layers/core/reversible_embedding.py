"""``ReversibleEmbedding``: an embedding that also projects back to logits."""

from __future__ import annotations

from typing import Any

from polykeras import ops
from polykeras.layers import masking
from polykeras.layers.core.embedding import Embedding

__all__ = ["ReversibleEmbedding"]


class ReversibleEmbedding(Embedding):
    """An :class:`Embedding` whose ``call(x, reverse=True)`` maps vectors of
    size ``output_dim`` back to ``input_dim`` logits: ``x @ embeddings.T``
    with ``tie_weights=True`` (default), else ``x @ reverse_embeddings``
    (its own ``(output_dim, input_dim)`` weight). ``reverse_dtype`` casts
    both sides of that product; ``logit_soft_cap`` gives
    ``tanh(logits / cap) * cap``.

    Example:
        >>> emb = ReversibleEmbedding(100, 8)
        >>> h = emb(np.array([[4, 2, 0]]))             # (1, 3, 8)
        >>> ops.shape(emb(h, reverse=True))            # logits over the 100 ids
        (1, 3, 100)
    """

    def __init__(self, input_dim: int, output_dim: int, tie_weights: bool = True,
                 embeddings_initializer: Any = "uniform", embeddings_regularizer: Any = None,
                 embeddings_constraint: Any = None, mask_zero: bool = False, reverse_dtype: Any = None,
                 logit_soft_cap: float | None = None, **kwargs: Any):
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer, embeddings_constraint=embeddings_constraint,
                         mask_zero=mask_zero, **kwargs)
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = reverse_dtype
        self.logit_soft_cap = logit_soft_cap

    def build(self, input_shape: Any = None) -> None:
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(shape=(self.output_dim, self.input_dim),
                                                      initializer=self.embeddings_initializer,
                                                      regularizer=self.embeddings_regularizer,
                                                      constraint=self.embeddings_constraint,
                                                      name="reverse_embeddings")

    def call(self, inputs: Any, reverse: bool = False) -> Any:
        if not reverse:
            outputs = super().call(inputs)
            if self.mask_zero:
                masking.set_mask(outputs, ops.not_equal(inputs, 0))
            return outputs
        kernel = ops.transpose(self.embeddings) if self.tie_weights else self.reverse_embeddings
        if self.reverse_dtype is not None:
            inputs, kernel = ops.cast(inputs, self.reverse_dtype), ops.cast(kernel, self.reverse_dtype)
        logits = ops.matmul(inputs, kernel)
        if self.logit_soft_cap is not None:
            cap = self.logit_soft_cap
            logits = ops.multiply(ops.tanh(ops.divide(logits, cap)), cap)
        return logits

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        return None  # the forward call sets its mask itself; the reverse call has none

    def compute_output_shape(self, input_shape: Any, reverse: bool = False) -> tuple:
        if reverse:
            return (*tuple(input_shape)[:-1], self.input_dim)
        return super().compute_output_shape(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "tie_weights": self.tie_weights, "reverse_dtype": self.reverse_dtype,
                "logit_soft_cap": self.logit_soft_cap}
