"""Convolution layers."""

from polykeras.layers.convolutional.conv import Conv1D, Conv2D, Conv3D
from polykeras.layers.convolutional.depthwise import DepthwiseConv1D, DepthwiseConv2D
from polykeras.layers.convolutional.separable import SeparableConv1D, SeparableConv2D
from polykeras.layers.convolutional.transpose import Conv1DTranspose, Conv2DTranspose, Conv3DTranspose

# Keras 3's long names for the same classes.
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D

__all__ = ["Conv1D", "Conv2D", "Conv3D", "Convolution1D", "Convolution2D", "Convolution3D"]

Convolution1DTranspose, Convolution2DTranspose, Convolution3DTranspose = (
    Conv1DTranspose, Conv2DTranspose, Conv3DTranspose)
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D

__all__ += [
    "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose", "Convolution1DTranspose", "Convolution2DTranspose",
    "Convolution3DTranspose", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
    "SeparableConvolution1D", "SeparableConvolution2D",
]
