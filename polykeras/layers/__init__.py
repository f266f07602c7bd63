"""Layers: the :class:`Layer` base and the built-in layers.

Example:
    >>> from polykeras import layers
    >>> class Double(layers.Layer):
    ...     def call(self, x):
    ...         return x * 2
"""

from polykeras.layers.config import LAYER_CLASSES
from polykeras.layers.core import Activation, Dense, EinsumDense, Embedding, Identity, Lambda, Masking
from polykeras.layers.convolutional import Conv1D, Conv2D, Conv3D, Convolution1D, Convolution2D, Convolution3D
from polykeras.layers.merging import Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract
from polykeras.layers.normalization import (
    BatchNormalization, GroupNormalization, LayerNormalization, UnitNormalization,
)
from polykeras.layers.pooling import (
    AveragePooling1D, AveragePooling2D, AveragePooling3D, AvgPool1D, AvgPool2D, AvgPool3D, GlobalAveragePooling1D,
    GlobalAveragePooling2D, GlobalAveragePooling3D, GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D,
    GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D, GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D,
    MaxPool1D, MaxPool2D, MaxPool3D, MaxPooling1D, MaxPooling2D, MaxPooling3D,
)
from polykeras.layers.regularization import Dropout
from polykeras.layers.reshaping import (
    Flatten, Permute, RepeatVector, Reshape, UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D,
    ZeroPadding3D,
)
from polykeras.layers.rnn import (
    GRU, LSTM, RNN, Bidirectional, ConvLSTM1D, ConvLSTM2D, ConvLSTM3D, ConvLSTMCell, GRUCell, LSTMCell, SimpleRNN,
    SimpleRNNCell, StackedRNNCells,
)
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer, set_symbolic_call_handler
from polykeras.layers.input_layer import Input, InputLayer
from polykeras.layers.masking import get_mask, set_mask
from polykeras.layers.op_layer import OpLayer  # noqa: F401 - registers the graph node of ops
from polykeras import registry as _registry


def serialize(layer: Layer) -> dict:
    """A layer's config as JSON-safe data. Example: ``serialize(Dense(2))``"""
    return _registry.serialize(layer)


def deserialize(config: dict, custom_objects: dict | None = None) -> Layer:
    """A layer from :func:`serialize`'s output; only built-in, registered or
    ``custom_objects`` classes are allowed. Example: ``deserialize(cfg)``"""
    return _registry.deserialize(config, custom_objects, LAYER_CLASSES, kind="layer")


__all__ = [
    "Activation", "Add", "Average", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "BatchNormalization", "Concatenate", "Conv1D", "Conv2D", "Conv3D", "Dot", "Dropout", "EinsumDense",
    "Embedding", "Flatten", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GroupNormalization", "Identity", "Lambda",
    "LayerNormalization", "Masking", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "Maximum", "Minimum",
    "Multiply", "Permute", "RepeatVector", "Reshape", "Subtract", "UnitNormalization", "UpSampling1D",
    "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
    "AvgPool1D", "AvgPool2D", "AvgPool3D", "Convolution1D", "Convolution2D", "Convolution3D", "GlobalAvgPool1D",
    "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D", "MaxPool1D",
    "MaxPool2D", "MaxPool3D",
    "Dense", "Input", "InputLayer", "InputSpec", "Layer", "deserialize", "get_mask", "serialize", "set_mask",
    "set_symbolic_call_handler",
    "Bidirectional", "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "SimpleRNN", "SimpleRNNCell", "StackedRNNCells",
    "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "ConvLSTMCell",
]

# Attention, more convolutions, cropping, noise, TimeDistributed (issue 8).
from polykeras.layers.attention import (  # noqa: E402
    AdditiveAttention, Attention, GroupedQueryAttention, GroupQueryAttention, MultiHeadAttention,
)
from polykeras.layers.convolutional import (  # noqa: E402
    Conv1DTranspose, Conv2DTranspose, Conv3DTranspose, Convolution1DTranspose, Convolution2DTranspose,
    Convolution3DTranspose, DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D,
    SeparableConvolution1D, SeparableConvolution2D,
)
from polykeras.layers.core import TimeDistributed  # noqa: E402
from polykeras.layers.regularization import (  # noqa: E402
    ActivityRegularization, AlphaDropout, GaussianDropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D,
    SpatialDropout3D,
)
from polykeras.layers.reshaping import Cropping1D, Cropping2D, Cropping3D, UpSampling3D  # noqa: E402

__all__ += [
    "ActivityRegularization", "AdditiveAttention", "AlphaDropout", "Attention", "Conv1DTranspose", "Conv2DTranspose",
    "Conv3DTranspose", "Convolution1DTranspose", "Convolution2DTranspose", "Convolution3DTranspose", "Cropping1D",
    "Cropping2D", "Cropping3D", "DepthwiseConv1D", "DepthwiseConv2D", "GaussianDropout", "GaussianNoise",
    "GroupQueryAttention", "GroupedQueryAttention", "MultiHeadAttention", "SeparableConv1D", "SeparableConv2D",
    "SeparableConvolution1D", "SeparableConvolution2D", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
    "TimeDistributed", "UpSampling3D",
]
from polykeras.layers.preprocessing import (  # noqa: E402
    CategoryEncoding, CenterCrop, Discretization, IntegerLookup, Normalization, Rescaling, Resizing, StringLookup,
)

__all__ += [
    "CategoryEncoding", "CenterCrop", "Discretization", "IntegerLookup", "Normalization", "Rescaling", "Resizing",
    "StringLookup",
]
from polykeras.layers.activations import ELU, LeakyReLU, PReLU, ReLU, Softmax  # noqa: E402
from polykeras.layers.merging.functions import (  # noqa: E402
    add, average, concatenate, dot, maximum, minimum, multiply, subtract,
)

__all__ += [
    "ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax",
    "add", "average", "concatenate", "dot", "maximum", "minimum", "multiply", "subtract",
]
from polykeras.layers.core import ReversibleEmbedding, Wrapper  # noqa: E402
from polykeras.layers.normalization import RMSNormalization, SpectralNormalization  # noqa: E402
from polykeras.layers.preprocessing import Pipeline  # noqa: E402

__all__ += ["Pipeline", "RMSNormalization", "ReversibleEmbedding", "SpectralNormalization", "Wrapper"]

from polykeras.layers.preprocessing import (  # noqa: E402
    AutoContrast, RandomBrightness, RandomContrast, RandomFlip, RandomGrayscale, RandomInvert,
)

__all__ += ["AutoContrast", "RandomBrightness", "RandomContrast", "RandomFlip", "RandomGrayscale", "RandomInvert"]

from polykeras.layers.preprocessing import RandomRotation, RandomTranslation, RandomZoom  # noqa: E402

__all__ += ["RandomRotation", "RandomTranslation", "RandomZoom"]

from polykeras.layers.preprocessing import RandomPosterization, Solarization  # noqa: E402

__all__ += ["RandomPosterization", "Solarization"]

from polykeras.layers.preprocessing import RandomCrop  # noqa: E402

__all__ += ["RandomCrop"]

from polykeras.layers.preprocessing import MixUp  # noqa: E402

__all__ += ["MixUp"]

from polykeras.layers.pooling import (  # noqa: E402
    AdaptiveAveragePooling1D, AdaptiveAveragePooling2D, AdaptiveAveragePooling3D, AdaptiveMaxPooling1D,
    AdaptiveMaxPooling2D, AdaptiveMaxPooling3D,
)

__all__ += [
    "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D", "AdaptiveMaxPooling1D",
    "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D",
]

from polykeras.layers.preprocessing import MelSpectrogram, STFTSpectrogram  # noqa: E402

__all__ += ["MelSpectrogram", "STFTSpectrogram"]

from polykeras.layers.preprocessing import HashedCrossing, Hashing, TextVectorization  # noqa: E402

__all__ += ["HashedCrossing", "Hashing", "TextVectorization"]

from polykeras.layers.preprocessing import (  # noqa: E402
    Equalization, RandomColorDegeneration, RandomColorJitter, RandomGaussianBlur, RandomHue, RandomSaturation,
    RandomSharpness,
)

__all__ += ["Equalization", "RandomColorDegeneration", "RandomColorJitter", "RandomGaussianBlur", "RandomHue",
            "RandomSaturation", "RandomSharpness"]

from polykeras.layers.interop import FlaxLayer, JaxLayer, TFSMLayer, TorchModuleWrapper  # noqa: E402

__all__ += ["FlaxLayer", "JaxLayer", "TFSMLayer", "TorchModuleWrapper"]

from polykeras.layers.preprocessing import RandomElasticTransform, RandomPerspective, RandomShear  # noqa: E402

__all__ += ["RandomElasticTransform", "RandomPerspective", "RandomShear"]

from polykeras.layers.preprocessing import CutMix, MaxNumBoundingBoxes, RandomErasing  # noqa: E402

__all__ += ["CutMix", "MaxNumBoundingBoxes", "RandomErasing"]

from polykeras.layers.preprocessing import ContrastLimitedAdaptiveHistogramEqualization  # noqa: E402

__all__ += ["ContrastLimitedAdaptiveHistogramEqualization"]

from polykeras.layers.preprocessing import AugMix, RandAugment  # noqa: E402

__all__ += ["AugMix", "RandAugment"]
