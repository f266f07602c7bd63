"""DenseNet121, DenseNet169 and DenseNet201, as ``keras.applications.densenet``:
Keras 3's signatures, layer names and weight layout, so Keras's ImageNet
weight files load. Inputs are preprocessed in "torch" mode (scaled to
[0, 1], then normalised by the ImageNet mean and std).

Example:
    >>> from polykeras.applications import densenet
    >>> model = densenet.DenseNet121(weights=None, include_top=False, input_shape=(32, 32, 3))
    >>> model.output_shape
    (None, 1, 1, 1024)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import layers
from polykeras.applications import _builder, imagenet_utils

_EPSILON = 1.001e-5
_GROWTH = 32


def conv_block(x: Any, growth_rate: int, name: str) -> Any:
    """One dense layer: BN-ReLU-1x1 conv (4 x growth), BN-ReLU-3x3 conv
    (growth), concatenated to its input. Example: ``conv_block(x, 32, "conv2_block1")``"""
    axis = _builder.channel_axis()
    y = layers.BatchNormalization(axis=axis, epsilon=_EPSILON, name=f"{name}_0_bn")(x)
    y = layers.Activation("relu", name=f"{name}_0_relu")(y)
    y = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=f"{name}_1_conv")(y)
    y = layers.BatchNormalization(axis=axis, epsilon=_EPSILON, name=f"{name}_1_bn")(y)
    y = layers.Activation("relu", name=f"{name}_1_relu")(y)
    y = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
    return layers.Concatenate(axis=axis, name=f"{name}_concat")([x, y])


def dense_block(x: Any, blocks: int, name: str) -> Any:
    """``blocks`` dense layers. Example: ``dense_block(x, 6, "conv2")``"""
    for i in range(1, blocks + 1):
        x = conv_block(x, _GROWTH, name=f"{name}_block{i}")
    return x


def transition_block(x: Any, reduction: float, name: str) -> Any:
    """BN-ReLU, a 1x1 conv keeping ``reduction`` of the channels, 2x2
    average pool. Example: ``transition_block(x, 0.5, "pool2")``"""
    axis = _builder.channel_axis()
    x = layers.BatchNormalization(axis=axis, epsilon=_EPSILON, name=f"{name}_bn")(x)
    x = layers.Activation("relu", name=f"{name}_relu")(x)
    x = layers.Conv2D(int(x.shape[axis] * reduction), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def DenseNet(blocks: Sequence[int], include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
             input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
             classifier_activation: Any = "softmax", name: str = "densenet") -> Any:
    """A DenseNet with ``blocks[i]`` dense layers in stage ``i``; ImageNet
    weights exist for (6, 12, 24, 16), (6, 12, 32, 32) and (6, 12, 48, 32).

    Example:
        >>> model = DenseNet([6, 12, 24, 16], weights=None, include_top=False)
    """
    blocks = tuple(blocks)
    variants: dict[tuple[int, ...], str] = {(6, 12, 24, 16): "DenseNet121", (6, 12, 32, 32): "DenseNet169",
                                            (6, 12, 48, 32): "DenseNet201"}
    application = variants.get(blocks, "DenseNet")
    img_input = _builder.start(application, include_top, weights, input_tensor, input_shape, classes,
                               classifier_activation, default_size=224, min_size=32)
    axis = _builder.channel_axis()
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = layers.BatchNormalization(axis=axis, epsilon=_EPSILON, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for stage, count in enumerate(blocks, start=2):
        x = dense_block(x, count, name=f"conv{stage}")
        if stage < 5:
            x = transition_block(x, 0.5, name=f"pool{stage}")
    x = layers.BatchNormalization(axis=axis, epsilon=_EPSILON, name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    key = None if application == "DenseNet" else application.lower()
    return _builder.finish(x, img_input, input_tensor, include_top, pooling, weights, name, key, classes=classes,
                           classifier_activation=classifier_activation)


def DenseNet121(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "densenet121") -> Any:
    """DenseNet121 (8.1M parameters with the top), as Keras's.

    Example:
        >>> model = DenseNet121(weights=None, classes=10)
    """
    return DenseNet((6, 12, 24, 16), include_top, weights, input_tensor, input_shape, pooling, classes,
                    classifier_activation, name=name)


def DenseNet169(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "densenet169") -> Any:
    """DenseNet169 (14.3M parameters with the top), as Keras's.

    Example:
        >>> model = DenseNet169(weights=None, include_top=False)
    """
    return DenseNet((6, 12, 32, 32), include_top, weights, input_tensor, input_shape, pooling, classes,
                    classifier_activation, name=name)


def DenseNet201(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "densenet201") -> Any:
    """DenseNet201 (20.2M parameters with the top), as Keras's.

    Example:
        >>> model = DenseNet201(weights=None, include_top=False)
    """
    return DenseNet((6, 12, 48, 32), include_top, weights, input_tensor, input_shape, pooling, classes,
                    classifier_activation, name=name)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """DenseNet's preprocessing: "torch" mode (scaled to [0, 1], then each
    channel normalised by the ImageNet mean and std). Example: ``preprocess_input(images)``"""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="torch")


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """ImageNet class names of ``preds`` (see ``imagenet_utils.decode_predictions``).
    Example: ``decode_predictions(model.predict(images), top=3)``"""
    return imagenet_utils.decode_predictions(preds, top=top)


__all__ = ["DenseNet121", "DenseNet169", "DenseNet201", "decode_predictions", "preprocess_input"]
