"""InceptionResNetV2, as ``keras.applications.inception_resnet_v2``: Keras
3's signature, layer names (auto-named branches in Keras's creation order)
and weight layout, so Keras's ImageNet weight files load. Inputs are
preprocessed in "tf" mode (scaled to [-1, 1]); the default input is
299x299, the smallest 75x75.

Example:
    >>> from polykeras.applications import inception_resnet_v2
    >>> model = inception_resnet_v2.InceptionResNetV2(weights=None, include_top=False, input_shape=(75, 75, 3))
    >>> model.output_shape
    (None, 1, 1, 1536)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import layers
from polykeras.applications import _builder, imagenet_utils


class CustomScaleLayer(layers.Layer, builtin=False):
    """``inputs[0] + inputs[1] * scale``: a residual branch added to its
    shortcut after scaling, as Keras's layer of this name.

    Example:
        >>> CustomScaleLayer(0.17)([shortcut, residual])
    """

    def __init__(self, scale: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, inputs: Sequence[Any]) -> Any:
        return inputs[0] + inputs[1] * self.scale

    def compute_output_shape(self, input_shape: Sequence[Any]) -> Any:
        return input_shape[0]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale}


def conv2d_bn(x: Any, filters: int, kernel_size: int | Sequence[int], strides: int = 1, padding: str = "same",
              activation: str | None = "relu", use_bias: bool = False, name: str | None = None) -> Any:
    """A convolution, then (without bias) batch norm without scale, then the
    activation; named ``name``, ``name_bn``, ``name_ac`` when ``name`` is given.
    Example: ``conv2d_bn(x, 32, 3, strides=2, padding="valid")``"""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias, name=name)(x)
    if not use_bias:
        x = layers.BatchNormalization(axis=_builder.channel_axis(), scale=False,
                                      name=None if name is None else f"{name}_bn")(x)
    if activation is not None:
        x = layers.Activation(activation, name=None if name is None else f"{name}_ac")(x)
    return x


def _chain(x: Any, specs: Sequence[tuple[Any, ...]]) -> Any:
    """``conv2d_bn`` in turn: each spec is (filters, kernel_size[, strides, padding])."""
    for filters, kernel, *rest in specs:
        strides, padding = rest if rest else (1, "same")
        x = conv2d_bn(x, filters, kernel, strides=strides, padding=padding)
    return x


_BRANCHES: dict[str, list[list[tuple[int, Any]]]] = {
    "block35": [[(32, 1)], [(32, 1), (32, 3)], [(32, 1), (48, 3), (64, 3)]],
    "block17": [[(192, 1)], [(128, 1), (160, [1, 7]), (192, [7, 1])]],
    "block8": [[(192, 1)], [(192, 1), (224, [1, 3]), (256, [3, 1])]],
}


def inception_resnet_block(x: Any, scale: float, block_type: str, block_idx: int,
                           activation: str | None = "relu") -> Any:
    """An Inception-ResNet block (``block35``, ``block17`` or ``block8``):
    its branches concatenated (``{type}_{idx}_mixed``), projected back by a
    1x1 convolution with bias (``{type}_{idx}_conv``), scaled and added to
    the input, then ``activation`` (``{type}_{idx}_ac``).
    Example: ``inception_resnet_block(x, 0.17, "block35", 1)``"""
    if block_type not in _BRANCHES:
        raise ValueError('inception_resnet_block: unknown Inception-ResNet block type. Expects "block35", "block17" '
                         f'or "block8", but got: {block_type}')
    axis = _builder.channel_axis()
    block_name = f"{block_type}_{block_idx}"
    branches = [_chain(x, specs) for specs in _BRANCHES[block_type]]
    mixed = layers.Concatenate(axis=axis, name=f"{block_name}_mixed")(branches)
    up = conv2d_bn(mixed, x.shape[axis], 1, activation=None, use_bias=True, name=f"{block_name}_conv")
    x = CustomScaleLayer(scale)([x, up])
    if activation is not None:
        x = layers.Activation(activation, name=f"{block_name}_ac")(x)
    return x


def InceptionResNetV2(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                      input_shape: Sequence[int | None] | None = None, pooling: str | None = None,
                      classes: int = 1000, classifier_activation: Any = "softmax",
                      name: str = "inception_resnet_v2") -> Any:
    """InceptionResNetV2 (55.9M parameters with the top), as Keras's.

    Example:
        >>> model = InceptionResNetV2(weights=None, include_top=False, pooling="avg")
    """
    img_input = _builder.start("InceptionResNetV2", include_top, weights, input_tensor, input_shape, classes,
                               classifier_activation, default_size=299, min_size=75)
    axis = _builder.channel_axis()
    x = _chain(img_input, [(32, 3, 2, "valid"), (32, 3, 1, "valid"), (64, 3)])
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = _chain(x, [(80, 1, 1, "valid"), (192, 3, 1, "valid")])
    x = layers.MaxPooling2D(3, strides=2)(x)
    branches = [_chain(x, [(96, 1)]), _chain(x, [(48, 1), (64, 5)]), _chain(x, [(64, 1), (96, 3), (96, 3)]),
                conv2d_bn(layers.AveragePooling2D(3, strides=1, padding="same")(x), 64, 1)]
    x = layers.Concatenate(axis=axis, name="mixed_5b")(branches)
    for idx in range(1, 11):
        x = inception_resnet_block(x, scale=0.17, block_type="block35", block_idx=idx)
    branches = [_chain(x, [(384, 3, 2, "valid")]), _chain(x, [(256, 1), (256, 3), (384, 3, 2, "valid")]),
                layers.MaxPooling2D(3, strides=2, padding="valid")(x)]
    x = layers.Concatenate(axis=axis, name="mixed_6a")(branches)
    for idx in range(1, 21):
        x = inception_resnet_block(x, scale=0.1, block_type="block17", block_idx=idx)
    branches = [_chain(x, [(256, 1), (384, 3, 2, "valid")]), _chain(x, [(256, 1), (288, 3, 2, "valid")]),
                _chain(x, [(256, 1), (288, 3), (320, 3, 2, "valid")]),
                layers.MaxPooling2D(3, strides=2, padding="valid")(x)]
    x = layers.Concatenate(axis=axis, name="mixed_7a")(branches)
    for idx in range(1, 10):
        x = inception_resnet_block(x, scale=0.2, block_type="block8", block_idx=idx)
    x = inception_resnet_block(x, scale=1.0, activation=None, block_type="block8", block_idx=10)
    x = conv2d_bn(x, 1536, 1, name="conv_7b")
    return _builder.finish(x, img_input, input_tensor, include_top, pooling, weights, name, "inception_resnet_v2",
                           classes=classes, classifier_activation=classifier_activation, named_pooling=False)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """InceptionResNetV2's preprocessing: "tf" mode (pixels scaled to [-1, 1]).
    Example: ``preprocess_input(images)``"""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """ImageNet class names of ``preds`` (see ``imagenet_utils.decode_predictions``).
    Example: ``decode_predictions(model.predict(images), top=3)``"""
    return imagenet_utils.decode_predictions(preds, top=top)


__all__ = ["InceptionResNetV2", "decode_predictions", "preprocess_input"]
