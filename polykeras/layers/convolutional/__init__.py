"""Convolution layers."""

from polykeras.layers.convolutional.conv import Conv1D, Conv2D, Conv3D

# Keras 3's long names for the same classes.
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D

__all__ = ["Conv1D", "Conv2D", "Conv3D", "Convolution1D", "Convolution2D", "Convolution3D"]
