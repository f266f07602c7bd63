"""Normalization layers."""

from polykeras.layers.normalization.batch_normalization import BatchNormalization

__all__ = ["BatchNormalization"]
