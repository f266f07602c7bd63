"""Core layers."""

from polykeras.layers.core.dense import Dense
from polykeras.layers.core.embedding import Embedding
from polykeras.layers.core.passthrough import Activation, Identity, Masking

__all__ = ["Activation", "Dense", "Embedding", "Identity", "Masking"]
