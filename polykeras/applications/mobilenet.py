"""MobileNet (V1), as ``keras.applications.mobilenet``: depthwise-separable
convolution blocks with a width multiplier ``alpha`` and a depth multiplier
for the depthwise convolutions. Layer names, weight shapes and order follow
Keras 3, so its ImageNet ``.h5`` files load.

Example:
    >>> from polykeras.applications import MobileNet
    >>> model = MobileNet(input_shape=(32, 32, 3), weights=None, include_top=False)
    >>> model.output_shape
    (None, 1, 1, 1024)
"""

from __future__ import annotations

import warnings
from typing import Any

from polykeras import config, layers
from polykeras.applications import imagenet_utils
from polykeras.models import Functional

__all__ = ["MobileNet", "decode_predictions", "preprocess_input"]

#: Where Keras keeps MobileNet's ImageNet weights (no published hashes).
BASE_WEIGHT_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet/"
#: The widths and input sizes with ImageNet weights, and the width's spelling in the file names.
IMAGENET_ALPHAS = {0.25: "2_5", 0.50: "5_0", 0.75: "7_5", 1.0: "1_0"}
IMAGENET_SIZES = (128, 160, 192, 224)
#: (pointwise filters, stride) of the thirteen depthwise-separable blocks.
BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1),
          (512, 1), (1024, 2), (1024, 1))


def MobileNet(input_shape: Any = None, alpha: float = 1.0, depth_multiplier: int = 1, dropout: float = 1e-3,
              include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
              pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax",
              name: str | None = None) -> Functional:
    """MobileNet: ``alpha`` scales every layer's width, ``depth_multiplier``
    the depthwise convolutions' outputs per channel. Inputs in [-1, 1]
    (see :func:`preprocess_input`); spatial size at least 32.

    Example:
        >>> model = MobileNet(input_shape=(128, 128, 3), alpha=0.25, weights=None, classes=10)
        >>> model.output_shape
        (None, 10)
    """
    app = "MobileNet"
    imagenet_utils.validate_weights(app, weights, include_top, classes)
    first = config.image_data_format() == "channels_first"
    default_size = 224
    if input_shape is not None:
        rows, cols = (input_shape[1], input_shape[2]) if first else (input_shape[0], input_shape[1])
        if rows == cols and rows in IMAGENET_SIZES:
            default_size = rows
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                                    data_format=config.image_data_format(),
                                                    require_flatten=include_top, weights=weights, application=app)
    rows, cols = (input_shape[1], input_shape[2]) if first else (input_shape[0], input_shape[1])
    if weights == "imagenet":
        if depth_multiplier != 1:
            raise ValueError(f"{app}: if imagenet weights are being loaded, depth multiplier must be 1.  "
                             f"Received depth_multiplier={depth_multiplier}")
        if alpha not in IMAGENET_ALPHAS:
            raise ValueError(f"{app}: if imagenet weights are being loaded, alpha can be one of `0.25`, `0.50`, "
                             f"`0.75` or `1.0` only.  Received alpha={alpha}")
        if rows != cols or rows not in IMAGENET_SIZES:
            rows = 224
            warnings.warn(f"{app}: `input_shape` is undefined or non-square, or `rows` is not in "
                          "[128, 160, 192, 224]. Weights for input shape (224, 224) will be loaded as the default.",
                          stacklevel=2)
    img_input = imagenet_utils.image_input(input_shape, input_tensor)
    channel_axis = 1 if first else -1

    x = layers.Conv2D(int(32 * alpha), (3, 3), padding="same", use_bias=False, strides=(2, 2),
                      name="conv1")(img_input)
    x = layers.BatchNormalization(axis=channel_axis, name="conv1_bn")(x)
    x = layers.ReLU(6.0, name="conv1_relu")(x)
    for block_id, (filters, stride) in enumerate(BLOCKS, start=1):
        x = _depthwise_conv_block(x, int(filters * alpha), depth_multiplier, stride, block_id, channel_axis)

    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights, application=app)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)

    model = Functional(imagenet_utils.model_inputs(input_tensor, img_input), x,
                       name=name if name is not None else f"mobilenet_{alpha:0.2f}_{rows}")
    fname = f"mobilenet_{IMAGENET_ALPHAS.get(alpha)}_{rows}_tf{'' if include_top else '_no_top'}.h5"
    imagenet_utils.load_weights(model, weights, fname, None, base_url=BASE_WEIGHT_PATH)
    return model


def _depthwise_conv_block(x: Any, filters: int, depth_multiplier: int, stride: int, block_id: int,
                          channel_axis: int) -> Any:
    """Depthwise 3x3 (zero-padded bottom-right when strided), BN, ReLU6,
    then pointwise 1x1, BN, ReLU6."""
    if stride != 1:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D((3, 3), padding="same" if stride == 1 else "valid", depth_multiplier=depth_multiplier,
                               strides=(stride, stride), use_bias=False, name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(axis=channel_axis, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(filters, (1, 1), padding="same", use_bias=False, strides=(1, 1), name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=channel_axis, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Scale pixels from [0, 255] to [-1, 1] (the "tf" mode).

    Example:
        >>> preprocess_input(np.full((1, 2, 2, 3), 255.0))[0, 0, 0]
        array([1., 1., 1.])
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """The ``top`` ImageNet classes of each prediction row, best first.

    Example:
        >>> decode_predictions(model.predict(images), top=3)[0][0]
        ('n02504458', 'African_elephant', 0.81)
    """
    return imagenet_utils.decode_predictions(preds, top=top)
