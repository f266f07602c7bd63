"""MobileNetV2, as ``keras.applications.mobilenet_v2``: inverted residual
blocks (1x1 expansion, depthwise 3x3, linear 1x1 projection) with a width
multiplier ``alpha``. Layer names, weight shapes and order follow Keras 3,
so its ImageNet ``.h5`` files load.

Example:
    >>> from polykeras.applications import MobileNetV2
    >>> MobileNetV2(input_shape=(32, 32, 3), weights=None, include_top=False).output_shape
    (None, 1, 1, 1280)
"""

from __future__ import annotations

import warnings
from typing import Any

from polykeras import config, layers
from polykeras.applications import imagenet_utils
from polykeras.applications.mobilenet import decode_predictions, preprocess_input
from polykeras.models import Functional

__all__ = ["MobileNetV2", "decode_predictions", "preprocess_input"]

#: Where Keras keeps MobileNetV2's ImageNet weights (no published hashes).
BASE_WEIGHT_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
IMAGENET_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
IMAGENET_SIZES = (96, 128, 160, 192, 224)
#: (output filters, stride, expansion) of the seventeen inverted residual blocks.
BLOCKS = ((16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6), (64, 2, 6), (64, 1, 6),
          (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6), (160, 2, 6), (160, 1, 6), (160, 1, 6),
          (320, 1, 6))


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """``value`` rounded to the nearest multiple of ``divisor`` (at least
    ``min_value``), never more than 10% below it. Example: ``make_divisible(32 * 0.35)`` -> 16"""
    floor = divisor if min_value is None else min_value
    rounded = max(floor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _square_size(shape: Any, first: bool) -> int | None:
    rows, cols = (shape[-2], shape[-1]) if first else (shape[-3], shape[-2])
    return rows if rows == cols and rows in IMAGENET_SIZES else None


def MobileNetV2(input_shape: Any = None, alpha: float = 1.0, include_top: bool = True, weights: Any = "imagenet",
                input_tensor: Any = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str | None = None) -> Functional:
    """MobileNetV2: ``alpha`` scales every block's width. Inputs in [-1, 1]
    (see :func:`preprocess_input`); spatial size at least 32.

    Example:
        >>> model = MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, weights=None, classes=10)
        >>> model.output_shape
        (None, 10)
    """
    app = "MobileNetV2"
    imagenet_utils.validate_weights(app, weights, include_top, classes)
    first = config.image_data_format() == "channels_first"
    from polykeras.backend import is_keras_tensor

    if input_tensor is not None and not is_keras_tensor(input_tensor) and not hasattr(input_tensor, "shape"):
        raise ValueError(f"{app}: input_tensor must be a valid Keras tensor type; Received {input_tensor} of type "
                         f"{type(input_tensor)}")
    if input_shape is not None and input_tensor is not None:
        if not is_keras_tensor(input_tensor):
            raise ValueError(f"{app}: input_tensor is not a Keras tensor; Received `input_tensor={input_tensor}`")
        axis = 1 if first else 2
        if input_tensor.shape[axis] != input_shape[1]:
            raise ValueError(f"{app}: input_tensor.shape[{axis}] must equal input_shape[1]; Received "
                             f"`input_tensor.shape={input_tensor.shape}`, `input_shape={input_shape}`")
    if input_shape is not None:
        default_size = _square_size(input_shape, first) or 224
    elif input_tensor is not None and is_keras_tensor(input_tensor):
        default_size = _square_size(input_tensor.shape, first) or 224
    else:
        default_size = 224
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                                    data_format=config.image_data_format(),
                                                    require_flatten=include_top, weights=weights, application=app)
    rows, cols = (input_shape[1], input_shape[2]) if first else (input_shape[0], input_shape[1])
    if weights == "imagenet":
        if alpha not in IMAGENET_ALPHAS:
            raise ValueError(f"{app}: if imagenet weights are being loaded, alpha must be one of `0.35`, `0.50`, "
                             f"`0.75`, `1.0`, `1.3` or `1.4` only; Received `alpha={alpha}`")
        if rows != cols or rows not in IMAGENET_SIZES:
            rows = 224
            warnings.warn(f"{app}: `input_shape` is undefined or non-square, or `rows` is not in "
                          "[96, 128, 160, 192, 224]. Weights for input shape (224, 224) will be loaded as the "
                          "default.", stacklevel=2)
    img_input = imagenet_utils.image_input(input_shape, input_tensor)
    channel_axis = 1 if first else -1

    x = layers.Conv2D(make_divisible(32 * alpha, 8), kernel_size=3, strides=(2, 2), padding="same", use_bias=False,
                      name="Conv1")(img_input)
    x = _bn(x, channel_axis, "bn_Conv1")
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(BLOCKS):
        x = _inverted_res_block(x, expansion, stride, alpha, filters, block_id, channel_axis)
    last_filters = make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last_filters, kernel_size=1, use_bias=False, name="Conv_1")(x)
    x = _bn(x, channel_axis, "Conv_1_bn")
    x = layers.ReLU(6.0, name="out_relu")(x)

    if include_top:
        x = layers.GlobalAveragePooling2D()(x)
        imagenet_utils.validate_activation(classifier_activation, weights, application=app)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)

    model = Functional(imagenet_utils.model_inputs(input_tensor, img_input), x,
                       name=name if name is not None else f"mobilenetv2_{alpha:0.2f}_{rows}")
    fname = (f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}"
             f"{'' if include_top else '_no_top'}.h5")
    imagenet_utils.load_weights(model, weights, fname, None, base_url=BASE_WEIGHT_PATH)
    return model


def _bn(x: Any, channel_axis: int, name: str) -> Any:
    return layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999, name=name)(x)


def _inverted_res_block(inputs: Any, expansion: int, stride: int, alpha: float, filters: int, block_id: int,
                        channel_axis: int) -> Any:
    """Expand (all but the first block), depthwise 3x3, project linearly; a
    residual add where the shape is kept."""
    in_channels = inputs.shape[channel_axis]
    out_channels = make_divisible(int(filters * alpha), 8)
    x = inputs
    prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
    if block_id:
        x = layers.Conv2D(expansion * in_channels, kernel_size=1, padding="same", use_bias=False, activation=None,
                          name=f"{prefix}expand")(x)
        x = _bn(x, channel_axis, f"{prefix}expand_BN")
        x = layers.ReLU(6.0, name=f"{prefix}expand_relu")(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(kernel_size=3, strides=stride, activation=None, use_bias=False,
                               padding="same" if stride == 1 else "valid", name=f"{prefix}depthwise")(x)
    x = _bn(x, channel_axis, f"{prefix}depthwise_BN")
    x = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(x)
    x = layers.Conv2D(out_channels, kernel_size=1, padding="same", use_bias=False, activation=None,
                      name=f"{prefix}project")(x)
    x = _bn(x, channel_axis, f"{prefix}project_BN")
    if in_channels == out_channels and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x
