"""Reshaping layers."""

from polykeras.layers.reshaping.flatten import Flatten
from polykeras.layers.reshaping.padding_sampling import (
    UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D, ZeroPadding3D,
)
from polykeras.layers.reshaping.reshape import Permute, RepeatVector, Reshape

__all__ = [
    "Flatten", "Permute", "RepeatVector", "Reshape", "UpSampling1D", "UpSampling2D", "ZeroPadding1D",
    "ZeroPadding2D", "ZeroPadding3D",
]

from polykeras.layers.reshaping.cropping import Cropping1D, Cropping2D, Cropping3D
from polykeras.layers.reshaping.padding3d import UpSampling3D

__all__ += ["Cropping1D", "Cropping2D", "Cropping3D", "UpSampling3D"]
