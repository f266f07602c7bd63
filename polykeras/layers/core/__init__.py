"""Core layers."""

from polykeras.layers.core.dense import Dense
from polykeras.layers.core.einsum_dense import EinsumDense
from polykeras.layers.core.embedding import Embedding
from polykeras.layers.core.lambda_layer import Lambda
from polykeras.layers.core.passthrough import Activation, Identity, Masking

__all__ = ["Activation", "Dense", "EinsumDense", "Embedding", "Identity", "Lambda", "Masking"]

from polykeras.layers.core.wrappers import TimeDistributed

__all__ += ["TimeDistributed"]

from polykeras.layers.core.reversible_embedding import ReversibleEmbedding  # noqa: E402
from polykeras.layers.core.wrapper import Wrapper  # noqa: E402

__all__ += ["ReversibleEmbedding", "Wrapper"]
