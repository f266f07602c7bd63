"""EfficientNetB0-B7, as ``keras.applications.efficientnet``: MBConv blocks
with squeeze-and-excite, scaled in width, depth and resolution per variant.
The model rescales and normalises its [0, 255] inputs itself, so
:func:`preprocess_input` passes them through. Layer names, weight shapes
and order follow Keras 3, so its ImageNet ``.h5`` files load.

Example:
    >>> from polykeras.applications import EfficientNetB0
    >>> EfficientNetB0(input_shape=(32, 32, 3), weights=None, include_top=False).output_shape
    (None, 1, 1, 1280)
"""

from __future__ import annotations

import math
from typing import Any

from polykeras import config, initializers, layers
from polykeras.applications import imagenet_utils
from polykeras.models import Functional

__all__ = [
    "EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3", "EfficientNetB4", "EfficientNetB5",
    "EfficientNetB6", "EfficientNetB7", "decode_predictions", "preprocess_input",
]

#: Where Keras keeps EfficientNet's ImageNet weights, and their md5 hashes (with top, without top).
BASE_WEIGHTS_PATH = "https://storage.googleapis.com/keras-applications/"
WEIGHTS_HASHES = {
    "b0": ("902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d"),
    "b1": ("1d254153d4ab51201f1646940f018540", "74c4e6b3e1f6a1eea24c589628592432"),
    "b2": ("b15cce36ff4dcbd00b6dd88e7857a6ad", "111f8e2ac8aa800a7a99e3239f7bfb39"),
    "b3": ("ffd1fdc53d0ce67064dc6a9c7960ede0", "af6d107764bb5b1abb91932881670226"),
    "b4": ("18c95ad55216b8f92d7e70b3a046e2fc", "ebc24e6d6c33eaebbd558eafbeedf1ba"),
    "b5": ("ace28f2a6363774853a83a0b21b9421a", "38879255a25d3c92d5e44e04ae6cec6f"),
    "b6": ("165f6e37dce68623721b423839de8be5", "9ecce42647a20130c1f39a5d4cb75743"),
    "b7": ("8c03f828fec3ef71311cd463b6759d99", "cbcfe4450ddf6f3ad90b1b398090fe4a"),
}
#: The B0 stages: (kernel size, repeats, filters in, filters out, expansion, stride); squeeze-excite 0.25
#: and the identity skip in every stage.
BLOCKS = ((3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2), (3, 3, 40, 80, 6, 2),
          (5, 3, 80, 112, 6, 1), (5, 4, 112, 192, 6, 2), (3, 1, 192, 320, 6, 1))
SE_RATIO = 0.25
#: Each variant: (width coefficient, depth coefficient, default size, top dropout rate).
VARIANTS = {"b0": (1.0, 1.0, 224, 0.2), "b1": (1.0, 1.1, 240, 0.2), "b2": (1.1, 1.2, 260, 0.3),
            "b3": (1.2, 1.4, 300, 0.3), "b4": (1.4, 1.8, 380, 0.4), "b5": (1.6, 2.2, 456, 0.4),
            "b6": (1.8, 2.6, 528, 0.5), "b7": (2.0, 3.1, 600, 0.5)}
#: Keras's ImageNet channel standard deviations (the model divides by their square roots, as Keras's does).
IMAGENET_STDDEV_RGB = (0.229, 0.224, 0.225)


def conv_kernel_initializer() -> Any:
    """He-like truncated normal over the fan-out (the convolutions' initializer)."""
    return initializers.VarianceScaling(scale=2.0, mode="fan_out", distribution="truncated_normal")


def dense_kernel_initializer() -> Any:
    """Uniform over the fan-out, scale 1/3 (the classifier's initializer)."""
    return initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_out", distribution="uniform")


def _round_filters(filters: float, width: float, divisor: int = 8) -> int:
    filters *= width
    rounded = max(divisor, int(filters + divisor / 2) // divisor * divisor)
    return int(rounded + divisor if rounded < 0.9 * filters else rounded)


def _efficientnet(variant: str, name: str, include_top: bool, weights: Any, input_tensor: Any, input_shape: Any,
                  pooling: str | None, classes: int, classifier_activation: Any,
                  drop_connect_rate: float = 0.2, activation: str = "swish") -> Functional:
    app = f"EfficientNet{variant.upper()}"
    width, depth, default_size, dropout_rate = VARIANTS[variant]
    imagenet_utils.validate_weights(app, weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                                    data_format=config.image_data_format(),
                                                    require_flatten=include_top, weights=weights, application=app)
    img_input = imagenet_utils.image_input(input_shape, input_tensor)
    bn_axis = 3 if config.image_data_format() == "channels_last" else 1

    x = layers.Rescaling(1.0 / 255.0)(img_input)
    x = layers.Normalization(axis=bn_axis)(x)
    if weights == "imagenet":
        x = layers.Rescaling([1.0 / math.sqrt(stddev) for stddev in IMAGENET_STDDEV_RGB])(x)
    x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name="stem_conv_pad")(x)
    x = layers.Conv2D(_round_filters(32, width), 3, strides=2, padding="valid", use_bias=False,
                      kernel_initializer=conv_kernel_initializer(), name="stem_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, name="stem_bn")(x)
    x = layers.Activation(activation, name="stem_activation")(x)

    repeats = [int(math.ceil(depth * stage[1])) for stage in BLOCKS]
    total, index = float(sum(repeats)), 0
    for i, ((kernel, _, filters_in, filters_out, expansion, strides), count) in enumerate(zip(BLOCKS, repeats)):
        filters_in, filters_out = _round_filters(filters_in, width), _round_filters(filters_out, width)
        for j in range(count):
            x = _block(x, activation, drop_connect_rate * index / total, f"block{i + 1}{chr(j + 97)}_",
                       filters_out if j else filters_in, filters_out, kernel, 1 if j else strides, expansion,
                       bn_axis)
            index += 1
    x = layers.Conv2D(_round_filters(1280, width), 1, padding="same", use_bias=False,
                      kernel_initializer=conv_kernel_initializer(), name="top_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, name="top_bn")(x)
    x = layers.Activation(activation, name="top_activation")(x)

    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        imagenet_utils.validate_activation(classifier_activation, weights, application=app)
        x = layers.Dense(classes, activation=classifier_activation, kernel_initializer=dense_kernel_initializer(),
                         name="predictions")(x)
    else:
        x = imagenet_utils.pooled(x, pooling)

    model = Functional(imagenet_utils.model_inputs(input_tensor, img_input), x, name=name)
    imagenet_utils.load_weights(model, weights, f"{name}{'' if include_top else '_notop'}.h5",
                                WEIGHTS_HASHES[variant][0 if include_top else 1], base_url=BASE_WEIGHTS_PATH)
    return model


def _block(inputs: Any, activation: str, drop_rate: float, name: str, filters_in: int, filters_out: int,
           kernel_size: int, strides: int, expand_ratio: int, bn_axis: int) -> Any:
    """MBConv: expand 1x1, depthwise, squeeze-excite, project 1x1, and the
    residual add (with drop-connect) where the shape is kept."""
    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = layers.Conv2D(filters, 1, padding="same", use_bias=False, kernel_initializer=conv_kernel_initializer(),
                          name=f"{name}expand_conv")(x)
        x = layers.BatchNormalization(axis=bn_axis, name=f"{name}expand_bn")(x)
        x = layers.Activation(activation, name=f"{name}expand_activation")(x)
    if strides == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size), name=f"{name}dwconv_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=strides, padding="valid" if strides == 2 else "same",
                               use_bias=False, depthwise_initializer=conv_kernel_initializer(),
                               name=f"{name}dwconv")(x)
    x = layers.BatchNormalization(axis=bn_axis, name=f"{name}bn")(x)
    x = layers.Activation(activation, name=f"{name}activation")(x)
    x = squeeze_excite(x, filters, max(1, int(filters_in * SE_RATIO)), activation, bn_axis, name)
    x = layers.Conv2D(filters_out, 1, padding="same", use_bias=False, kernel_initializer=conv_kernel_initializer(),
                      name=f"{name}project_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, name=f"{name}project_bn")(x)
    if strides == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.add([x, inputs], name=f"{name}add")
    return x


def squeeze_excite(x: Any, filters: int, filters_se: int, activation: str, bn_axis: int, name: str) -> Any:
    """Squeeze (global average) and excite (1x1 reduce, 1x1 expand, sigmoid
    gate) ``x``'s ``filters`` channels, with EfficientNet's layer names."""
    se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
    se = layers.Reshape((filters, 1, 1) if bn_axis == 1 else (1, 1, filters), name=f"{name}se_reshape")(se)
    se = layers.Conv2D(filters_se, 1, padding="same", activation=activation,
                       kernel_initializer=conv_kernel_initializer(), name=f"{name}se_reduce")(se)
    se = layers.Conv2D(filters, 1, padding="same", activation="sigmoid", kernel_initializer=conv_kernel_initializer(),
                       name=f"{name}se_expand")(se)
    return layers.multiply([x, se], name=f"{name}se_excite")


def EfficientNetB0(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                   input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                   classifier_activation: Any = "softmax", name: str = "efficientnetb0") -> Functional:
    """EfficientNetB0 (224x224 by default), inputs in [0, 255].

    Example:
        >>> EfficientNetB0(input_shape=(64, 64, 3), weights=None, classes=10).output_shape
        (None, 10)
    """
    return _efficientnet("b0", name, include_top, weights, input_tensor, input_shape, pooling, classes,
                         classifier_activation)


def EfficientNetB1(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                   input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                   classifier_activation: Any = "softmax", name: str = "efficientnetb1") -> Functional:
    """EfficientNetB1 (240x240 by default), inputs in [0, 255].

    Example:
        >>> EfficientNetB1(input_shape=(64, 64, 3), weights=None, include_top=False).output_shape
        (None, 2, 2, 1280)
    """
    return _efficientnet("b1", name, include_top, weights, input_tensor, input_shape, pooling, classes,
                         classifier_activation)


def EfficientNetB2(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                   input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                   classifier_activation: Any = "softmax", name: str = "efficientnetb2") -> Functional:
    """EfficientNetB2 (260x260 by default), inputs in [0, 255].

    Example:
        >>> EfficientNetB2(input_shape=(64, 64, 3), weights=None, include_top=False).output_shape
        (None, 2, 2, 1408)
    """
    return _efficientnet("b2", name, include_top, weights, input_tensor, input_shape, pooling, classes,
                         classifier_activation)


def EfficientNetB3(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                   input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                   classifier_activation: Any = "softmax", name: str = "efficientnetb3") -> Functional:
    """EfficientNetB3 (300x300 by default), inputs in [0, 255].

    Example:
        >>> EfficientNetB3(input_shape=(64, 64, 3), weights=None, include_top=False).output_shape
        (None, 2, 2, 1536)
    """
    return _efficientnet("b3", name, include_top, weights, input_tensor, input_shape, pooling, classes,
                         classifier_activation)


def EfficientNetB4(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                   input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                   classifier_activation: Any = "softmax", name: str = "efficientnetb4") -> Functional:
    """EfficientNetB4 (380x380 by default), inputs in [0, 255].

    Example:
        >>> EfficientNetB4(input_shape=(64, 64, 3), weights=None, include_top=False).output_shape
        (None, 2, 2, 1792)
    """
    return _efficientnet("b4", name, include_top, weights, input_tensor, input_shape, pooling, classes,
                         classifier_activation)


def EfficientNetB5(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                   input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                   classifier_activation: Any = "softmax", name: str = "efficientnetb5") -> Functional:
    """EfficientNetB5 (456x456 by default), inputs in [0, 255].

    Example:
        >>> EfficientNetB5(input_shape=(64, 64, 3), weights=None, include_top=False).output_shape
        (None, 2, 2, 2048)
    """
    return _efficientnet("b5", name, include_top, weights, input_tensor, input_shape, pooling, classes,
                         classifier_activation)


def EfficientNetB6(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                   input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                   classifier_activation: Any = "softmax", name: str = "efficientnetb6") -> Functional:
    """EfficientNetB6 (528x528 by default), inputs in [0, 255].

    Example:
        >>> EfficientNetB6(input_shape=(64, 64, 3), weights=None, include_top=False).output_shape
        (None, 2, 2, 2304)
    """
    return _efficientnet("b6", name, include_top, weights, input_tensor, input_shape, pooling, classes,
                         classifier_activation)


def EfficientNetB7(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                   input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                   classifier_activation: Any = "softmax", name: str = "efficientnetb7") -> Functional:
    """EfficientNetB7 (600x600 by default), inputs in [0, 255].

    Example:
        >>> EfficientNetB7(input_shape=(64, 64, 3), weights=None, include_top=False).output_shape
        (None, 2, 2, 2560)
    """
    return _efficientnet("b7", name, include_top, weights, input_tensor, input_shape, pooling, classes,
                         classifier_activation)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """A pass-through: EfficientNet rescales and normalises its inputs
    itself. Example: ``preprocess_input(images) is images`` -> True"""
    return x


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """The ``top`` ImageNet classes of each prediction row, best first.

    Example:
        >>> decode_predictions(model.predict(images), top=3)[0][0]
        ('n02504458', 'African_elephant', 0.81)
    """
    return imagenet_utils.decode_predictions(preds, top=top)
