"""Convolution layers."""

from polykeras.layers.convolutional.conv import Conv1D, Conv2D, Conv3D

__all__ = ["Conv1D", "Conv2D", "Conv3D"]
