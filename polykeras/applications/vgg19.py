"""VGG19, as ``keras.applications.vgg19``: Keras 3's signature, layer names
and weight layout, so Keras's ImageNet weight files load. Inputs are
preprocessed in "caffe" mode (RGB -> BGR, ImageNet means subtracted).

Example:
    >>> from polykeras.applications import vgg19
    >>> model = vgg19.VGG19(weights=None, include_top=False, input_shape=(32, 32, 3))
    >>> model.output_shape
    (None, 1, 1, 512)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras.applications import imagenet_utils
from polykeras.applications._vgg import build_vgg


def VGG19(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
          input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
          classifier_activation: Any = "softmax", name: str = "vgg19") -> Any:
    """VGG19 (143.7M parameters with the top), as Keras's.

    Example:
        >>> model = VGG19(weights=None, include_top=False, pooling="avg")
    """
    return build_vgg((2, 2, 4, 4, 4), "VGG19", name, include_top, weights, input_tensor, input_shape, pooling, classes,
                     classifier_activation)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """VGG's preprocessing: "caffe" mode (RGB -> BGR, ImageNet channel means
    subtracted, no scaling). Example: ``preprocess_input(images)``"""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """ImageNet class names of ``preds`` (see ``imagenet_utils.decode_predictions``).
    Example: ``decode_predictions(model.predict(images), top=3)``"""
    return imagenet_utils.decode_predictions(preds, top=top)


__all__ = ["VGG19", "decode_predictions", "preprocess_input"]
