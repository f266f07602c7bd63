"""Regularization layers."""

from polykeras.layers.regularization.dropout import Dropout

__all__ = ["Dropout"]

from polykeras.layers.regularization.noise import (
    ActivityRegularization, AlphaDropout, GaussianDropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D,
    SpatialDropout3D,
)

__all__ += [
    "ActivityRegularization", "AlphaDropout", "GaussianDropout", "GaussianNoise", "SpatialDropout1D",
    "SpatialDropout2D", "SpatialDropout3D",
]
