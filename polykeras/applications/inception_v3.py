"""InceptionV3, as ``keras.applications.inception_v3``: Keras 3's signature,
layer names (the branches' layers auto-named in Keras's creation order)
and weight layout, so Keras's ImageNet weight files load. Inputs are
preprocessed in "tf" mode (scaled to [-1, 1]); the default input is
299x299, the smallest 75x75.

Example:
    >>> from polykeras.applications import inception_v3
    >>> model = inception_v3.InceptionV3(weights=None, include_top=False, input_shape=(75, 75, 3))
    >>> model.output_shape
    (None, 1, 1, 2048)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import layers
from polykeras.applications import _builder, imagenet_utils


def conv2d_bn(x: Any, filters: int, num_row: int, num_col: int, padding: str = "same",
              strides: tuple[int, int] = (1, 1), name: str | None = None) -> Any:
    """A bias-free convolution, batch norm without scale, ReLU; named
    ``name_conv``/``name_bn``/``name`` when ``name`` is given.
    Example: ``conv2d_bn(x, 64, 3, 3)``"""
    x = layers.Conv2D(filters, (num_row, num_col), strides=strides, padding=padding, use_bias=False,
                      name=None if name is None else f"{name}_conv")(x)
    x = layers.BatchNormalization(axis=_builder.channel_axis(), scale=False,
                                  name=None if name is None else f"{name}_bn")(x)
    return layers.Activation("relu", name=name)(x)


def _chain(x: Any, specs: Sequence[tuple[Any, ...]]) -> Any:
    """``conv2d_bn`` applied in turn: each spec is (filters, rows, cols[, strides, padding])."""
    for spec in specs:
        filters, rows, cols, *rest = spec
        strides, padding = rest if rest else ((1, 1), "same")
        x = conv2d_bn(x, filters, rows, cols, padding=padding, strides=strides)
    return x


def _avg_branch(x: Any, filters: int) -> Any:
    x = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x)
    return conv2d_bn(x, filters, 1, 1)


def _block_35(x: Any, pool_filters: int, name: str) -> Any:
    """The 35x35 module: 1x1, 5x5, double 3x3 and pooled branches."""
    axis = _builder.channel_axis()
    branches = [_chain(x, [(64, 1, 1)]), _chain(x, [(48, 1, 1), (64, 5, 5)]),
                _chain(x, [(64, 1, 1), (96, 3, 3), (96, 3, 3)]), _avg_branch(x, pool_filters)]
    return layers.concatenate(branches, axis=axis, name=name)


def _block_17(x: Any, width: int, name: str) -> Any:
    """The 17x17 module with factorised 7x7 convolutions of ``width`` channels."""
    axis = _builder.channel_axis()
    branches = [_chain(x, [(192, 1, 1)]),
                _chain(x, [(width, 1, 1), (width, 1, 7), (192, 7, 1)]),
                _chain(x, [(width, 1, 1), (width, 7, 1), (width, 1, 7), (width, 7, 1), (192, 1, 7)]),
                _avg_branch(x, 192)]
    return layers.concatenate(branches, axis=axis, name=name)


def _block_8(x: Any, index: int) -> Any:
    """The 8x8 module with split 1x3/3x1 convolutions."""
    axis = _builder.channel_axis()
    branch1x1 = conv2d_bn(x, 320, 1, 1)
    branch3x3 = conv2d_bn(x, 384, 1, 1)
    branch3x3 = layers.concatenate([conv2d_bn(branch3x3, 384, 1, 3), conv2d_bn(branch3x3, 384, 3, 1)], axis=axis,
                                   name=f"mixed9_{index}")
    double = _chain(x, [(448, 1, 1), (384, 3, 3)])
    double = layers.concatenate([conv2d_bn(double, 384, 1, 3), conv2d_bn(double, 384, 3, 1)], axis=axis)
    return layers.concatenate([branch1x1, branch3x3, double, _avg_branch(x, 192)], axis=axis,
                              name=f"mixed{9 + index}")


def InceptionV3(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "inception_v3") -> Any:
    """InceptionV3 (23.9M parameters with the top), as Keras's.

    Example:
        >>> model = InceptionV3(weights=None, include_top=False, pooling="avg")
    """
    img_input = _builder.start("InceptionV3", include_top, weights, input_tensor, input_shape, classes,
                               classifier_activation, default_size=299, min_size=75)
    axis = _builder.channel_axis()
    x = _chain(img_input, [(32, 3, 3, (2, 2), "valid"), (32, 3, 3, (1, 1), "valid"), (64, 3, 3)])
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = _chain(x, [(80, 1, 1, (1, 1), "valid"), (192, 3, 3, (1, 1), "valid")])
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    for i, pool_filters in enumerate((32, 64, 64)):
        x = _block_35(x, pool_filters, name=f"mixed{i}")
    reduce = [_chain(x, [(384, 3, 3, (2, 2), "valid")]),
              _chain(x, [(64, 1, 1), (96, 3, 3), (96, 3, 3, (2, 2), "valid")]),
              layers.MaxPooling2D((3, 3), strides=(2, 2))(x)]
    x = layers.concatenate(reduce, axis=axis, name="mixed3")
    for i, width in enumerate((128, 160, 160, 192)):
        x = _block_17(x, width, name=f"mixed{4 + i}")
    reduce = [_chain(x, [(192, 1, 1), (320, 3, 3, (2, 2), "valid")]),
              _chain(x, [(192, 1, 1), (192, 1, 7), (192, 7, 1), (192, 3, 3, (2, 2), "valid")]),
              layers.MaxPooling2D((3, 3), strides=(2, 2))(x)]
    x = layers.concatenate(reduce, axis=axis, name="mixed8")
    for i in range(2):
        x = _block_8(x, i)
    return _builder.finish(x, img_input, input_tensor, include_top, pooling, weights, name, "inception_v3",
                           classes=classes, classifier_activation=classifier_activation, named_pooling=False)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """InceptionV3's preprocessing: "tf" mode (pixels scaled to [-1, 1]).
    Example: ``preprocess_input(images)``"""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """ImageNet class names of ``preds`` (see ``imagenet_utils.decode_predictions``).
    Example: ``decode_predictions(model.predict(images), top=3)``"""
    return imagenet_utils.decode_predictions(preds, top=top)


__all__ = ["InceptionV3", "decode_predictions", "preprocess_input"]
