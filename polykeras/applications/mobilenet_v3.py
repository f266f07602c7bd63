"""MobileNetV3Small and MobileNetV3Large, as ``keras.applications``'
MobileNetV3: inverted residual blocks with squeeze-and-excite and
hard-swish, or (``minimalistic=True``) without them; the [0, 255] ->
[-1, 1] rescaling is part of the model unless ``include_preprocessing=False``,
so :func:`preprocess_input` passes inputs through. Layer names, weight
shapes and order follow Keras 3, so its ImageNet ``.h5`` files load.

Example:
    >>> from polykeras.applications import MobileNetV3Small
    >>> MobileNetV3Small(input_shape=(32, 32, 3), weights=None, include_top=False).output_shape
    (None, 1, 1, 576)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from polykeras import config, layers
from polykeras.applications import imagenet_utils
from polykeras.applications.mobilenet_v2 import make_divisible
from polykeras.models import Functional

__all__ = ["MobileNetV3Large", "MobileNetV3Small", "decode_predictions", "preprocess_input"]

#: Where Keras keeps MobileNetV3's ImageNet weights, and their md5 hashes (with top, without top).
BASE_WEIGHT_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/"
WEIGHTS_HASHES = {
    "large_224_0.75_float": ("765b44a33ad4005b3ac83185abf1d0eb", "40af19a13ebea4e2ee0c676887f69a2e"),
    "large_224_1.0_float": ("59e551e166be033d707958cf9e29a6a7", "07fb09a5933dd0c8eaafa16978110389"),
    "large_minimalistic_224_1.0_float": ("675e7b876c45c57e9e63e6d90a36599c", "ec5221f64a2f6d1ef965a614bdae7973"),
    "small_224_0.75_float": ("cb65d4e5be93758266aa0a7f2c6708b7", "ebdb5cc8e0b497cd13a7c275d475c819"),
    "small_224_1.0_float": ("8768d4c2e7dee89b9d02b2d03d65d862", "d3e8ec802a04aa4fc771ee12a9a9b836"),
    "small_minimalistic_224_1.0_float": ("99cd97fb2fcdad2bf028eb838de69e37", "cde8136e733e811080d9fcd8a252f7e4"),
}

#: Each block: (expansion, output filters, kernel ("k": 5 unless minimalistic), stride, squeeze-excite,
#: activation ("relu", or "act": hard-swish unless minimalistic)).
SMALL_BLOCKS = (
    (1, 16, 3, 2, True, "relu"), (72 / 16, 24, 3, 2, False, "relu"), (88 / 24, 24, 3, 1, False, "relu"),
    (4, 40, "k", 2, True, "act"), (6, 40, "k", 1, True, "act"), (6, 40, "k", 1, True, "act"),
    (3, 48, "k", 1, True, "act"), (3, 48, "k", 1, True, "act"), (6, 96, "k", 2, True, "act"),
    (6, 96, "k", 1, True, "act"), (6, 96, "k", 1, True, "act"),
)
LARGE_BLOCKS = (
    (1, 16, 3, 1, False, "relu"), (4, 24, 3, 2, False, "relu"), (3, 24, 3, 1, False, "relu"),
    (3, 40, "k", 2, True, "relu"), (3, 40, "k", 1, True, "relu"), (3, 40, "k", 1, True, "relu"),
    (6, 80, 3, 2, False, "act"), (2.5, 80, 3, 1, False, "act"), (2.3, 80, 3, 1, False, "act"),
    (2.3, 80, 3, 1, False, "act"), (6, 112, 3, 1, True, "act"), (6, 112, 3, 1, True, "act"),
    (6, 160, "k", 2, True, "act"), (6, 160, "k", 1, True, "act"), (6, 160, "k", 1, True, "act"),
)


def _relu(x: Any) -> Any:
    return layers.ReLU()(x)


def _hard_swish(x: Any) -> Any:
    return layers.Activation("hard_swish")(x)


def _hard_sigmoid(x: Any) -> Any:
    return layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)


def _check_input(app: str, input_shape: Any, input_tensor: Any, first: bool) -> Any:
    """Keras's checks of ``input_shape`` against ``input_tensor``; the shape
    to build (taken from the tensor when not given)."""
    from polykeras.backend import is_keras_tensor

    if input_shape is not None and input_tensor is not None:
        if not is_keras_tensor(input_tensor):
            raise ValueError(f"{app}: input_tensor specified: {input_tensor} is not a keras tensor")
        axis = 1 if first else 2
        if input_tensor.shape[axis] != input_shape[1]:
            raise ValueError(f"{app}: input_shape[1] must equal input_tensor.shape[{axis}].  Received "
                             f"input_shape={input_shape}, input_tensor.shape={input_tensor.shape}")
    if input_shape is None and input_tensor is not None and is_keras_tensor(input_tensor):
        if first:
            input_shape = (3, input_tensor.shape[3], input_tensor.shape[2])
        else:
            input_shape = (input_tensor.shape[2], input_tensor.shape[1], 3)
    if input_shape is None:
        input_shape = (3, None, None) if first else (None, None, 3)
    rows, cols = (input_shape[1], input_shape[2]) if first else (input_shape[0], input_shape[1])
    if rows and cols and (rows < 32 or cols < 32):
        raise ValueError(f"{app}: Input size must be at least 32x32; Received `input_shape={input_shape}`")
    return input_shape


def _mobilenet_v3(app: str, blocks: tuple[tuple[Any, ...], ...], last_point_ch: int, model_type: str,
                  input_shape: Any, alpha: float, minimalistic: bool, include_top: bool, weights: Any,
                  input_tensor: Any, classes: int, pooling: str | None, dropout_rate: float,
                  classifier_activation: Any, include_preprocessing: bool, name: str | None) -> Functional:
    imagenet_utils.validate_weights(app, weights, include_top, classes)
    first = config.image_data_format() == "channels_first"
    input_shape = _check_input(app, input_shape, input_tensor, first)
    rows, cols = (input_shape[1], input_shape[2]) if first else (input_shape[0], input_shape[1])
    if weights == "imagenet":
        if (not minimalistic and alpha not in (0.75, 1.0)) or (minimalistic and alpha != 1.0):
            raise ValueError(f"{app}: if imagenet weights are being loaded, alpha can be one of `0.75`, `1.0` for "
                             f"non minimalistic or `1.0` for minimalistic only. Received alpha={alpha}")
        if rows != cols or rows != 224:
            warnings.warn(f"{app}: `input_shape` is undefined or non-square, or `rows` is not 224. Weights for "
                          "input shape (224, 224) will be loaded as the default.", stacklevel=3)
    img_input = imagenet_utils.image_input(input_shape, input_tensor)
    channel_axis = 1 if first else -1
    kernel, activation, se_ratio = (3, _relu, None) if minimalistic else (5, _hard_swish, 0.25)

    x = img_input
    if include_preprocessing:
        x = layers.Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)
    x = layers.Conv2D(16, kernel_size=3, strides=(2, 2), padding="same", use_bias=False, name="conv")(x)
    x = _bn(x, channel_axis, "conv_bn")
    x = activation(x)
    for block_id, (expansion, filters, size, stride, se, act) in enumerate(blocks):
        x = _inverted_res_block(x, expansion, make_divisible(filters * alpha), kernel if size == "k" else size,
                                stride, se_ratio if se else None, activation if act == "act" else _relu, block_id,
                                channel_axis)
    last_conv_ch = make_divisible(x.shape[channel_axis] * 6)
    if alpha > 1.0:
        last_point_ch = make_divisible(last_point_ch * alpha)
    x = layers.Conv2D(last_conv_ch, kernel_size=1, padding="same", use_bias=False, name="conv_1")(x)
    x = _bn(x, channel_axis, "conv_1_bn")
    x = activation(x)

    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Conv2D(last_point_ch, kernel_size=1, padding="same", use_bias=True, name="conv_2")(x)
        x = activation(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate)(x)
        x = layers.Conv2D(classes, kernel_size=1, padding="same", name="logits")(x)
        x = layers.Flatten()(x)
        imagenet_utils.validate_activation(classifier_activation, weights, application=app)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    else:
        x = imagenet_utils.pooled(x, pooling)

    model = Functional(imagenet_utils.model_inputs(input_tensor, img_input), x, name=name)
    fname = file_hash = None
    if weights == "imagenet":
        key = f"{model_type}{'_minimalistic' if minimalistic else ''}_224_{alpha}_float"
        fname = f"weights_mobilenet_v3_{key}{'' if include_top else '_no_top_v2'}.h5"
        file_hash = WEIGHTS_HASHES[key][0 if include_top else 1]
    imagenet_utils.load_weights(model, weights, fname, file_hash, base_url=BASE_WEIGHT_PATH)
    return model


def MobileNetV3Small(input_shape: Any = None, alpha: float = 1.0, minimalistic: bool = False,
                     include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                     classes: int = 1000, pooling: str | None = None, dropout_rate: float = 0.2,
                     classifier_activation: Any = "softmax", include_preprocessing: bool = True,
                     name: str | None = "MobileNetV3Small") -> Functional:
    """MobileNetV3Small: inputs in [0, 255] (or [-1, 1] with
    ``include_preprocessing=False``); spatial size at least 32, any size
    without a fixed ``input_shape``.

    Example:
        >>> model = MobileNetV3Small(input_shape=(64, 64, 3), minimalistic=True, weights=None, classes=10)
        >>> model.output_shape
        (None, 10)
    """
    return _mobilenet_v3("MobileNetV3Small", SMALL_BLOCKS, 1024, "small", input_shape, alpha, minimalistic,
                         include_top, weights, input_tensor, classes, pooling, dropout_rate, classifier_activation,
                         include_preprocessing, name)


def MobileNetV3Large(input_shape: Any = None, alpha: float = 1.0, minimalistic: bool = False,
                     include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                     classes: int = 1000, pooling: str | None = None, dropout_rate: float = 0.2,
                     classifier_activation: Any = "softmax", include_preprocessing: bool = True,
                     name: str | None = "MobileNetV3Large") -> Functional:
    """MobileNetV3Large: inputs in [0, 255] (or [-1, 1] with
    ``include_preprocessing=False``); spatial size at least 32.

    Example:
        >>> MobileNetV3Large(input_shape=(64, 64, 3), weights=None, include_top=False).output_shape
        (None, 2, 2, 960)
    """
    return _mobilenet_v3("MobileNetV3Large", LARGE_BLOCKS, 1280, "large", input_shape, alpha, minimalistic,
                         include_top, weights, input_tensor, classes, pooling, dropout_rate, classifier_activation,
                         include_preprocessing, name)


def _bn(x: Any, channel_axis: int, name: str) -> Any:
    return layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999, name=name)(x)


def _se_block(inputs: Any, filters: int, se_ratio: float, prefix: str) -> Any:
    x = layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}squeeze_excite_avg_pool")(inputs)
    x = layers.Conv2D(make_divisible(filters * se_ratio), kernel_size=1, padding="same",
                      name=f"{prefix}squeeze_excite_conv")(x)
    x = layers.ReLU(name=f"{prefix}squeeze_excite_relu")(x)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", name=f"{prefix}squeeze_excite_conv_1")(x)
    x = _hard_sigmoid(x)
    return layers.Multiply(name=f"{prefix}squeeze_excite_mul")([inputs, x])


def _inverted_res_block(x: Any, expansion: float, filters: int, kernel_size: int, stride: int,
                        se_ratio: float | None, activation: Callable[[Any], Any], block_id: int,
                        channel_axis: int) -> Any:
    shortcut = x
    in_filters = x.shape[channel_axis]
    prefix = f"expanded_conv_{block_id}_" if block_id else "expanded_conv_"
    if block_id:
        x = layers.Conv2D(make_divisible(in_filters * expansion), kernel_size=1, padding="same", use_bias=False,
                          name=f"{prefix}expand")(x)
        x = _bn(x, channel_axis, f"{prefix}expand_bn")
        x = activation(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size), name=f"{prefix}depthwise_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=stride, padding="same" if stride == 1 else "valid",
                               use_bias=False, name=f"{prefix}depthwise")(x)
    x = _bn(x, channel_axis, f"{prefix}depthwise_bn")
    x = activation(x)
    if se_ratio:
        x = _se_block(x, make_divisible(in_filters * expansion), se_ratio, prefix)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = _bn(x, channel_axis, f"{prefix}project_bn")
    if stride == 1 and in_filters == filters:
        x = layers.Add(name=f"{prefix}add")([shortcut, x])
    return x


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """A pass-through: MobileNetV3 rescales its inputs itself (the model's
    ``Rescaling`` layer). Example: ``preprocess_input(images) is images`` -> True"""
    return x


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """The ``top`` ImageNet classes of each prediction row, best first.

    Example:
        >>> decode_predictions(model.predict(images), top=3)[0][0]
        ('n02504458', 'African_elephant', 0.81)
    """
    return imagenet_utils.decode_predictions(preds, top=top)
