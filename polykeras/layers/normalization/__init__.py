"""Normalization layers."""

from polykeras.layers.normalization.batch_normalization import BatchNormalization
from polykeras.layers.normalization.layer_normalization import (
    GroupNormalization, LayerNormalization, UnitNormalization,
)

__all__ = ["BatchNormalization", "GroupNormalization", "LayerNormalization", "UnitNormalization"]
