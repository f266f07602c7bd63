"""EfficientNetV2B0-B3, S, M and L, as ``keras.applications.efficientnet_v2``:
fused MBConv stages (one full convolution instead of expand + depthwise)
followed by MBConv stages with squeeze-and-excite. The model rescales its
[0, 255] inputs itself unless ``include_preprocessing=False``, so
:func:`preprocess_input` passes them through. Layer names, weight shapes
and order follow Keras 3, so its ImageNet ``.h5`` files load.

Example:
    >>> from polykeras.applications import EfficientNetV2B0
    >>> EfficientNetV2B0(input_shape=(32, 32, 3), weights=None, include_top=False).output_shape
    (None, 1, 1, 1280)
"""

from __future__ import annotations

import math
from typing import Any

from polykeras import config, initializers, layers
from polykeras.applications import imagenet_utils
from polykeras.applications.efficientnet import conv_kernel_initializer, dense_kernel_initializer, squeeze_excite
from polykeras.models import Functional

__all__ = [
    "EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2B3", "EfficientNetV2L",
    "EfficientNetV2M", "EfficientNetV2S", "decode_predictions", "preprocess_input",
]

#: Where Keras keeps EfficientNetV2's ImageNet weights, and their md5 hashes (with top, without top).
BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/efficientnet_v2/"
WEIGHTS_HASHES = {
    "b0": ("21ecbf6da12460d5c40bb2f29ceb2188", "893217f2bb855e2983157299931e43ff"),
    "b1": ("069f0534ff22adf035c89e2d9547a9dc", "0e80663031ca32d657f9caa404b6ec37"),
    "b2": ("424e49f28180edbde1e94797771950a7", "1dfe2e7a5d45b6632553a8961ea609eb"),
    "b3": ("1f1fc43bd98a6e4fd8fdfd551e02c7a0", "f6abf7b5849ac99a89b50dd3fd532856"),
    "-s": ("e1d88a8495beba45748fedd0cecbe016", "af0682fb74e8c54910f2d4393339c070"),
    "-m": ("a3bf6aa3276309f4fc6a34aa114c95cd", "1b8dc055df72dde80d614482840fe342"),
    "-l": ("27e6d408b53c7ebc868fefa357689935", "b0b66b5c863aef5b46e8608fe1711615"),
}
#: Stages: (fused, kernel size, repeats, filters in, filters out, expansion, stride, squeeze-excite ratio).
_B_STAGES = ((True, 3, 1, 32, 16, 1, 1, 0), (True, 3, 2, 16, 32, 4, 2, 0), (True, 3, 2, 32, 48, 4, 2, 0),
             (False, 3, 3, 48, 96, 4, 2, 0.25), (False, 3, 5, 96, 112, 6, 1, 0.25),
             (False, 3, 8, 112, 192, 6, 2, 0.25))
STAGES = {
    "b0": _B_STAGES, "b1": _B_STAGES, "b2": _B_STAGES, "b3": _B_STAGES,
    "-s": ((True, 3, 2, 24, 24, 1, 1, 0), (True, 3, 4, 24, 48, 4, 2, 0), (True, 3, 4, 48, 64, 4, 2, 0),
           (False, 3, 6, 64, 128, 4, 2, 0.25), (False, 3, 9, 128, 160, 6, 1, 0.25),
           (False, 3, 15, 160, 256, 6, 2, 0.25)),
    "-m": ((True, 3, 3, 24, 24, 1, 1, 0), (True, 3, 5, 24, 48, 4, 2, 0), (True, 3, 5, 48, 80, 4, 2, 0),
           (False, 3, 7, 80, 160, 4, 2, 0.25), (False, 3, 14, 160, 176, 6, 1, 0.25),
           (False, 3, 18, 176, 304, 6, 2, 0.25), (False, 3, 5, 304, 512, 6, 1, 0.25)),
    "-l": ((True, 3, 4, 32, 32, 1, 1, 0), (True, 3, 7, 32, 64, 4, 2, 0), (True, 3, 7, 64, 96, 4, 2, 0),
           (False, 3, 10, 96, 192, 4, 2, 0.25), (False, 3, 19, 192, 224, 6, 1, 0.25),
           (False, 3, 25, 224, 384, 6, 2, 0.25), (False, 3, 7, 384, 640, 6, 1, 0.25)),
}
#: Each variant: (application name, width coefficient, depth coefficient, default size).
VARIANTS = {"b0": ("EfficientNetV2B0", 1.0, 1.0, 224), "b1": ("EfficientNetV2B1", 1.0, 1.1, 240),
            "b2": ("EfficientNetV2B2", 1.1, 1.2, 260), "b3": ("EfficientNetV2B3", 1.2, 1.4, 300),
            "-s": ("EfficientNetV2S", 1.0, 1.0, 384), "-m": ("EfficientNetV2M", 1.0, 1.0, 480),
            "-l": ("EfficientNetV2L", 1.0, 1.0, 480)}
#: The B variants normalise with ImageNet's channel statistics; S, M and L only rescale to [-1, 1].
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_VARIANCE = (0.229 ** 2, 0.224 ** 2, 0.225 ** 2)


def _round_filters(filters: float, width: float, min_depth: int = 8, divisor: int = 8) -> int:
    filters *= width
    return int(max(min_depth or divisor, int(filters + divisor / 2) // divisor * divisor))


def _efficientnet_v2(variant: str, name: str, include_top: bool, weights: Any, input_tensor: Any,
                     input_shape: Any, pooling: str | None, classes: int, classifier_activation: Any,
                     include_preprocessing: bool, dropout_rate: float = 0.2, drop_connect_rate: float = 0.2,
                     bn_momentum: float = 0.9, activation: str = "swish") -> Functional:
    app, width, depth, default_size = VARIANTS[variant]
    imagenet_utils.validate_weights(app, weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                                    data_format=config.image_data_format(),
                                                    require_flatten=include_top, weights=weights, application=app)
    img_input = imagenet_utils.image_input(input_shape, input_tensor)
    bn_axis = 3 if config.image_data_format() == "channels_last" else 1

    x = img_input
    if include_preprocessing:
        if variant.startswith("b") and input_shape[bn_axis - 1] == 3:
            x = layers.Rescaling(scale=1.0 / 255)(x)
            x = layers.Normalization(mean=list(IMAGENET_MEAN), variance=list(IMAGENET_VARIANCE), axis=bn_axis)(x)
        else:
            x = layers.Rescaling(scale=1.0 / 128.0, offset=-1)(x)
    stages = STAGES[variant]
    x = layers.Conv2D(_round_filters(stages[0][3], width), kernel_size=3, strides=2,
                      kernel_initializer=conv_kernel_initializer(), padding="same", use_bias=False,
                      name="stem_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, momentum=bn_momentum, name="stem_bn")(x)
    x = layers.Activation(activation, name="stem_activation")(x)

    total, index = float(sum(stage[2] for stage in stages)), 0
    for i, (fused, kernel, repeats, filters_in, filters_out, expansion, strides, se_ratio) in enumerate(stages):
        filters_in, filters_out = _round_filters(filters_in, width), _round_filters(filters_out, width)
        block = _fused_mbconv if fused else _mbconv
        for j in range(int(math.ceil(depth * repeats))):
            x = block(x, filters_out if j else filters_in, filters_out, expansion, kernel, 1 if j else strides,
                      se_ratio, bn_momentum, activation, drop_connect_rate * index / total,
                      f"block{i + 1}{chr(j + 97)}_", bn_axis)
            index += 1
    x = layers.Conv2D(_round_filters(1280, width), kernel_size=1, strides=1,
                      kernel_initializer=conv_kernel_initializer(), padding="same", use_bias=False,
                      name="top_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, momentum=bn_momentum, name="top_bn")(x)
    x = layers.Activation(activation=activation, name="top_activation")(x)

    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        imagenet_utils.validate_activation(classifier_activation, weights, application=app)
        x = layers.Dense(classes, activation=classifier_activation, kernel_initializer=dense_kernel_initializer(),
                         bias_initializer=initializers.Constant(0.0), name="predictions")(x)
    else:
        x = imagenet_utils.pooled(x, pooling)

    model = Functional(imagenet_utils.model_inputs(input_tensor, img_input), x, name=name)
    imagenet_utils.load_weights(model, weights, f"{name}{'' if include_top else '_notop'}.h5",
                                WEIGHTS_HASHES[variant][0 if include_top else 1], base_url=BASE_WEIGHTS_PATH)
    return model


def _residual(x: Any, inputs: Any, strides: int, filters_in: int, filters_out: int, drop_rate: float,
              name: str) -> Any:
    if strides == 1 and filters_in == filters_out:
        if drop_rate:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.add([x, inputs], name=f"{name}add")
    return x


def _mbconv(inputs: Any, filters_in: int, filters_out: int, expand_ratio: int, kernel_size: int, strides: int,
            se_ratio: float, bn_momentum: float, activation: str, drop_rate: float, name: str, bn_axis: int) -> Any:
    """Expand 1x1, depthwise, squeeze-excite, project 1x1, residual."""
    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = layers.Conv2D(filters=filters, kernel_size=1, strides=1, kernel_initializer=conv_kernel_initializer(),
                          padding="same", use_bias=False, name=f"{name}expand_conv")(x)
        x = layers.BatchNormalization(axis=bn_axis, momentum=bn_momentum, name=f"{name}expand_bn")(x)
        x = layers.Activation(activation, name=f"{name}expand_activation")(x)
    x = layers.DepthwiseConv2D(kernel_size=kernel_size, strides=strides,
                               depthwise_initializer=conv_kernel_initializer(), padding="same", use_bias=False,
                               name=f"{name}dwconv2")(x)
    x = layers.BatchNormalization(axis=bn_axis, momentum=bn_momentum, name=f"{name}bn")(x)
    x = layers.Activation(activation, name=f"{name}activation")(x)
    if 0 < se_ratio <= 1:
        x = squeeze_excite(x, filters, max(1, int(filters_in * se_ratio)), activation, bn_axis, name)
    x = layers.Conv2D(filters=filters_out, kernel_size=1, strides=1, kernel_initializer=conv_kernel_initializer(),
                      padding="same", use_bias=False, name=f"{name}project_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, momentum=bn_momentum, name=f"{name}project_bn")(x)
    return _residual(x, inputs, strides, filters_in, filters_out, drop_rate, name)


def _fused_mbconv(inputs: Any, filters_in: int, filters_out: int, expand_ratio: int, kernel_size: int,
                  strides: int, se_ratio: float, bn_momentum: float, activation: str, drop_rate: float, name: str,
                  bn_axis: int) -> Any:
    """One full convolution expands (or, without expansion, is the block),
    squeeze-excite, project 1x1, residual."""
    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = layers.Conv2D(filters, kernel_size=kernel_size, strides=strides,
                          kernel_initializer=conv_kernel_initializer(), padding="same", use_bias=False,
                          name=f"{name}expand_conv")(x)
        x = layers.BatchNormalization(axis=bn_axis, momentum=bn_momentum, name=f"{name}expand_bn")(x)
        x = layers.Activation(activation=activation, name=f"{name}expand_activation")(x)
    if 0 < se_ratio <= 1:
        x = squeeze_excite(x, filters, max(1, int(filters_in * se_ratio)), activation, bn_axis, name)
    expanded = expand_ratio != 1
    x = layers.Conv2D(filters_out, kernel_size=1 if expanded else kernel_size, strides=1 if expanded else strides,
                      kernel_initializer=conv_kernel_initializer(), padding="same", use_bias=False,
                      name=f"{name}project_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, momentum=bn_momentum, name=f"{name}project_bn")(x)
    if not expanded:
        x = layers.Activation(activation=activation, name=f"{name}project_activation")(x)
    return _residual(x, inputs, strides, filters_in, filters_out, drop_rate, name)


def EfficientNetV2B0(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                     input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                     classifier_activation: Any = "softmax", include_preprocessing: bool = True,
                     name: str = "efficientnetv2-b0") -> Functional:
    """EfficientNetV2B0 (224x224 by default), inputs in [0, 255].

    Example:
        >>> EfficientNetV2B0(input_shape=(64, 64, 3), weights=None, classes=10).output_shape
        (None, 10)
    """
    return _efficientnet_v2("b0", name, include_top, weights, input_tensor, input_shape, pooling, classes,
                            classifier_activation, include_preprocessing)


def EfficientNetV2B1(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                     input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                     classifier_activation: Any = "softmax", include_preprocessing: bool = True,
                     name: str = "efficientnetv2-b1") -> Functional:
    """EfficientNetV2B1 (240x240 by default), inputs in [0, 255].

    Example:
        >>> EfficientNetV2B1(input_shape=(64, 64, 3), weights=None, include_top=False).output_shape
        (None, 2, 2, 1280)
    """
    return _efficientnet_v2("b1", name, include_top, weights, input_tensor, input_shape, pooling, classes,
                            classifier_activation, include_preprocessing)


def EfficientNetV2B2(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                     input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                     classifier_activation: Any = "softmax", include_preprocessing: bool = True,
                     name: str = "efficientnetv2-b2") -> Functional:
    """EfficientNetV2B2 (260x260 by default), inputs in [0, 255].

    Example:
        >>> EfficientNetV2B2(input_shape=(64, 64, 3), weights=None, include_top=False).output_shape
        (None, 2, 2, 1408)
    """
    return _efficientnet_v2("b2", name, include_top, weights, input_tensor, input_shape, pooling, classes,
                            classifier_activation, include_preprocessing)


def EfficientNetV2B3(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                     input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                     classifier_activation: Any = "softmax", include_preprocessing: bool = True,
                     name: str = "efficientnetv2-b3") -> Functional:
    """EfficientNetV2B3 (300x300 by default), inputs in [0, 255].

    Example:
        >>> EfficientNetV2B3(input_shape=(64, 64, 3), weights=None, include_top=False).output_shape
        (None, 2, 2, 1536)
    """
    return _efficientnet_v2("b3", name, include_top, weights, input_tensor, input_shape, pooling, classes,
                            classifier_activation, include_preprocessing)


def EfficientNetV2S(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                    input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                    classifier_activation: Any = "softmax", include_preprocessing: bool = True,
                    name: str = "efficientnetv2-s") -> Functional:
    """EfficientNetV2S (384x384 by default), inputs in [0, 255].

    Example:
        >>> EfficientNetV2S(input_shape=(64, 64, 3), weights=None, include_top=False).output_shape
        (None, 2, 2, 1280)
    """
    return _efficientnet_v2("-s", name, include_top, weights, input_tensor, input_shape, pooling, classes,
                            classifier_activation, include_preprocessing)


def EfficientNetV2M(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                    input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                    classifier_activation: Any = "softmax", include_preprocessing: bool = True,
                    name: str = "efficientnetv2-m") -> Functional:
    """EfficientNetV2M (480x480 by default), inputs in [0, 255].

    Example:
        >>> EfficientNetV2M(input_shape=(64, 64, 3), weights=None, include_top=False).output_shape
        (None, 2, 2, 1280)
    """
    return _efficientnet_v2("-m", name, include_top, weights, input_tensor, input_shape, pooling, classes,
                            classifier_activation, include_preprocessing)


def EfficientNetV2L(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                    input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                    classifier_activation: Any = "softmax", include_preprocessing: bool = True,
                    name: str = "efficientnetv2-l") -> Functional:
    """EfficientNetV2L (480x480 by default), inputs in [0, 255].

    Example:
        >>> EfficientNetV2L(input_shape=(64, 64, 3), weights=None, include_top=False).output_shape
        (None, 2, 2, 1280)
    """
    return _efficientnet_v2("-l", name, include_top, weights, input_tensor, input_shape, pooling, classes,
                            classifier_activation, include_preprocessing)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """A pass-through: EfficientNetV2 rescales its inputs itself. Example:
    ``preprocess_input(images) is images`` -> True"""
    return x


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """The ``top`` ImageNet classes of each prediction row, best first.

    Example:
        >>> decode_predictions(model.predict(images), top=3)[0][0]
        ('n02504458', 'African_elephant', 0.81)
    """
    return imagenet_utils.decode_predictions(preds, top=top)
