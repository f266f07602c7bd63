"""Xception, as ``keras.applications.xception``: Keras 3's signature, layer
names and weight layout, so Keras's ImageNet weight files load. Inputs are
preprocessed in "tf" mode (scaled to [-1, 1]); the default input is
299x299, the smallest 71x71.

Example:
    >>> from polykeras.applications import xception
    >>> model = xception.Xception(weights=None, include_top=False, input_shape=(71, 71, 3))
    >>> model.output_shape
    (None, 3, 3, 2048)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import layers
from polykeras.applications import _builder, imagenet_utils


def _sepconv_bn(x: Any, filters: int, prefix: str, relu_first: bool) -> Any:
    """(ReLU) then a 3x3 separable conv and its batch norm, named ``prefix``."""
    if relu_first:
        x = layers.Activation("relu", name=f"{prefix}_act")(x)
    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=prefix)(x)
    return layers.BatchNormalization(axis=_builder.channel_axis(), name=f"{prefix}_bn")(x)


def _downsampling_block(x: Any, filters: tuple[int, int], block: int, relu_first: bool) -> Any:
    """Two separable convs and a strided max pool, added to a strided 1x1
    projection of the input (auto-named, as in Keras)."""
    residual = layers.Conv2D(filters[1], (1, 1), strides=(2, 2), padding="same", use_bias=False)(x)
    residual = layers.BatchNormalization(axis=_builder.channel_axis())(residual)
    x = _sepconv_bn(x, filters[0], f"block{block}_sepconv1", relu_first)
    x = _sepconv_bn(x, filters[1], f"block{block}_sepconv2", True)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"block{block}_pool")(x)
    return layers.add([x, residual])


def Xception(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
             input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
             classifier_activation: Any = "softmax", name: str = "xception") -> Any:
    """Xception (22.9M parameters with the top), as Keras's.

    Example:
        >>> model = Xception(weights=None, include_top=False, pooling="avg")
    """
    img_input = _builder.start("Xception", include_top, weights, input_tensor, input_shape, classes,
                               classifier_activation, default_size=299, min_size=71)
    axis = _builder.channel_axis()
    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(img_input)
    x = layers.BatchNormalization(axis=axis, name="block1_conv1_bn")(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = layers.BatchNormalization(axis=axis, name="block1_conv2_bn")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)
    x = _downsampling_block(x, (128, 128), 2, relu_first=False)
    x = _downsampling_block(x, (256, 256), 3, relu_first=True)
    x = _downsampling_block(x, (728, 728), 4, relu_first=True)
    for block in range(5, 13):  # the middle flow: eight residual blocks of three separable convs
        residual = x
        for i in (1, 2, 3):
            x = _sepconv_bn(x, 728, f"block{block}_sepconv{i}", True)
        x = layers.add([x, residual])
    x = _downsampling_block(x, (728, 1024), 13, relu_first=True)
    for i, filters in ((1, 1536), (2, 2048)):
        x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=f"block14_sepconv{i}")(x)
        x = layers.BatchNormalization(axis=axis, name=f"block14_sepconv{i}_bn")(x)
        x = layers.Activation("relu", name=f"block14_sepconv{i}_act")(x)
    return _builder.finish(x, img_input, input_tensor, include_top, pooling, weights, name, "xception",
                           classes=classes, classifier_activation=classifier_activation, named_pooling=False)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Xception's preprocessing: "tf" mode (pixels scaled to [-1, 1]).
    Example: ``preprocess_input(images)``"""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """ImageNet class names of ``preds`` (see ``imagenet_utils.decode_predictions``).
    Example: ``decode_predictions(model.predict(images), top=3)``"""
    return imagenet_utils.decode_predictions(preds, top=top)


__all__ = ["Xception", "decode_predictions", "preprocess_input"]
