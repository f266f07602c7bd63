"""ResNet50, ResNet101 and ResNet152 (v1, post-activation residual blocks),
as ``keras.applications.resnet``: Keras 3's signatures, layer names and
weight layout, so Keras's ImageNet weight files load. Inputs are
preprocessed in "caffe" mode (RGB -> BGR, ImageNet means subtracted).

Example:
    >>> from polykeras.applications import resnet
    >>> model = resnet.ResNet50(weights=None, include_top=False, input_shape=(64, 64, 3))
    >>> model.output_shape
    (None, 2, 2, 2048)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from polykeras import layers
from polykeras.applications import _builder, imagenet_utils

_BN_EPSILON = 1.001e-5


def _bn_axis() -> int:
    return _builder.channel_axis()


def build_resnet(stack_fn: Callable[[Any], Any], preact: bool, use_bias: bool, name: str,
                 include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                 input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
                 classifier_activation: Any = "softmax", *, application: str, weights_key: str) -> Any:
    """A ResNet: the stem, ``stack_fn``'s residual stages, then the top
    (``avg_pool`` + ``predictions``) or the chosen pooling; ``preact`` puts
    batch norm before each block (v2) and one after the last.

    Example:
        >>> build_resnet(lambda x: stack_residual_blocks_v1(x, 64, 2, name="conv2"), False, True, "tiny",
        ...              weights=None, input_shape=(32, 32, 3), application="ResNet", weights_key="resnet50")
    """
    img_input = _builder.start(application, include_top, weights, input_tensor, input_shape, classes,
                               classifier_activation, default_size=224, min_size=32)
    bn_axis = _bn_axis()
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    if not preact:
        x = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON, name="conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = stack_fn(x)
    if preact:
        x = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON, name="post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    return _builder.finish(x, img_input, input_tensor, include_top, pooling, weights, name, weights_key,
                           classes=classes, classifier_activation=classifier_activation)


def residual_block_v1(x: Any, filters: int, kernel_size: int = 3, stride: int = 1, conv_shortcut: bool = True,
                      name: str | None = None) -> Any:
    """A v1 bottleneck block: 1x1, ``kernel_size``, 1x1 (x4) convolutions with
    batch norm, added to the shortcut (a strided 1x1 convolution when
    ``conv_shortcut``), then ReLU. Example: ``residual_block_v1(x, 64, name="conv2_block1")``"""
    bn_axis = _bn_axis()
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON, name=f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, kernel_size, padding="same", name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON, name=f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def stack_residual_blocks_v1(x: Any, filters: int, blocks: int, stride1: int = 2, name: str | None = None) -> Any:
    """``blocks`` v1 blocks, the first strided by ``stride1`` with a
    projection shortcut. Example: ``stack_residual_blocks_v1(x, 128, 4, name="conv3")``"""
    x = residual_block_v1(x, filters, stride=stride1, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = residual_block_v1(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def residual_block_v2(x: Any, filters: int, kernel_size: int = 3, stride: int = 1, conv_shortcut: bool = False,
                      name: str | None = None) -> Any:
    """A v2 (pre-activation) bottleneck block; the stride sits on the 3x3
    convolution and an identity shortcut is max-pooled to match.
    Example: ``residual_block_v2(x, 64, conv_shortcut=True, name="conv2_block1")``"""
    bn_axis = _bn_axis()
    preact = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON, name=f"{name}_preact_bn")(x)
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    else:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, kernel_size, strides=stride, use_bias=False, name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def stack_residual_blocks_v2(x: Any, filters: int, blocks: int, stride1: int = 2, name: str | None = None) -> Any:
    """``blocks`` v2 blocks: a projection first, the stride on the last.
    Example: ``stack_residual_blocks_v2(x, 64, 3, name="conv2")``"""
    x = residual_block_v2(x, filters, conv_shortcut=True, name=f"{name}_block1")
    for i in range(2, blocks):
        x = residual_block_v2(x, filters, name=f"{name}_block{i}")
    return residual_block_v2(x, filters, stride=stride1, name=f"{name}_block{blocks}")


def _v1_stacks(depths: Sequence[int]) -> Callable[[Any], Any]:
    def stack_fn(x: Any) -> Any:
        for i, (filters, blocks) in enumerate(zip((64, 128, 256, 512), depths, strict=True)):
            x = stack_residual_blocks_v1(x, filters, blocks, stride1=1 if i == 0 else 2, name=f"conv{i + 2}")
        return x
    return stack_fn


def ResNet50(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
             input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
             classifier_activation: Any = "softmax", name: str = "resnet50") -> Any:
    """ResNet50 (25.6M parameters with the top), as Keras's.

    Example:
        >>> model = ResNet50(weights=None, classes=10)
    """
    return build_resnet(_v1_stacks((3, 4, 6, 3)), False, True, name, include_top, weights, input_tensor, input_shape,
                        pooling, classes, classifier_activation, application="ResNet50", weights_key="resnet50")


def ResNet101(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
              input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
              classifier_activation: Any = "softmax", name: str = "resnet101") -> Any:
    """ResNet101 (44.7M parameters with the top), as Keras's.

    Example:
        >>> model = ResNet101(weights=None, include_top=False, pooling="avg")
    """
    return build_resnet(_v1_stacks((3, 4, 23, 3)), False, True, name, include_top, weights, input_tensor,
                        input_shape, pooling, classes, classifier_activation, application="ResNet101",
                        weights_key="resnet101")


def ResNet152(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
              input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
              classifier_activation: Any = "softmax", name: str = "resnet152") -> Any:
    """ResNet152 (60.4M parameters with the top), as Keras's.

    Example:
        >>> model = ResNet152(weights=None, include_top=False, pooling="max")
    """
    return build_resnet(_v1_stacks((3, 8, 36, 3)), False, True, name, include_top, weights, input_tensor,
                        input_shape, pooling, classes, classifier_activation, application="ResNet152",
                        weights_key="resnet152")


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """ResNet's preprocessing: "caffe" mode (RGB -> BGR, ImageNet channel
    means subtracted, no scaling). Example: ``preprocess_input(images)``"""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """ImageNet class names of ``preds`` (see ``imagenet_utils.decode_predictions``).
    Example: ``decode_predictions(model.predict(images), top=3)``"""
    return imagenet_utils.decode_predictions(preds, top=top)


__all__ = ["ResNet50", "ResNet101", "ResNet152", "decode_predictions", "preprocess_input"]
