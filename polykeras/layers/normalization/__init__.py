"""Normalization layers."""

from polykeras.layers.normalization.batch_normalization import BatchNormalization
from polykeras.layers.normalization.layer_normalization import (
    GroupNormalization, LayerNormalization, UnitNormalization,
)

__all__ = ["BatchNormalization", "GroupNormalization", "LayerNormalization", "UnitNormalization"]

from polykeras.layers.normalization.rms_normalization import RMSNormalization  # noqa: E402
from polykeras.layers.normalization.spectral_normalization import SpectralNormalization  # noqa: E402

__all__ += ["RMSNormalization", "SpectralNormalization"]
