"""The frame every application shares: the argument checks and the input
(:func:`start`), then the top or pooling, the model and its weights
(:func:`finish`), each saying what Keras's builders say, prefixed with the
application's name.

Example:
    >>> img_input = start("VGG16", True, None, None, None, 1000, "softmax", default_size=224, min_size=32)
    >>> ...                                          # the family's layers
    >>> model = finish("VGG16", x, img_input, None, True, None, None, "vgg16", "vgg16")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import config, layers
from polykeras.applications import _weights, imagenet_utils


def channel_axis() -> int:
    """The channel axis of a 4-D image batch under the configured data format.
    Example: ``channel_axis()`` -> ``3``"""
    return 1 if config.image_data_format() == "channels_first" else 3


def start(application: str, include_top: bool, weights: Any, input_tensor: Any,
          input_shape: Sequence[int | None] | None, classes: int, classifier_activation: Any, *,
          default_size: int, min_size: int) -> Any:
    """Check the arguments as Keras does and return the image input.
    Example: ``start("ResNet50", True, None, None, (64, 64, 3), 10, "softmax", default_size=224, min_size=32)``"""
    imagenet_utils.validate_weights(application, weights, include_top, classes)
    if include_top:
        imagenet_utils.validate_activation(classifier_activation, weights, application=application)
    shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=min_size,
                                              data_format=config.image_data_format(), require_flatten=include_top,
                                              weights=weights, application=application)
    return imagenet_utils.image_input(shape, input_tensor)


def finish(x: Any, img_input: Any, input_tensor: Any, include_top: bool, pooling: str | None, weights: Any,
           name: str, weights_key: str | None, *, classes: int = 1000, classifier_activation: Any = "softmax",
           named_pooling: bool = True) -> Any:
    """The top (``avg_pool`` + ``predictions``) or the pooling (named
    ``avg_pool``/``max_pool`` when ``named_pooling``, else auto-named, as
    the family has it in Keras), the model, and its weights.
    Example: ``finish(x, img_input, None, False, "avg", None, "densenet121", "densenet121")``"""
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif named_pooling:
        x = imagenet_utils.pooled(x, pooling)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    return make_model(x, img_input, input_tensor, include_top, weights, name, weights_key)


def make_model(x: Any, img_input: Any, input_tensor: Any, include_top: bool, weights: Any, name: str,
               weights_key: str | None) -> Any:
    """The functional model from the image input to ``x``, with ``weights`` loaded.
    Example: ``make_model(x, img_input, None, True, None, "vgg16", "vgg16")``"""
    from polykeras.models import Functional

    model = Functional(imagenet_utils.model_inputs(input_tensor, img_input), x, name=name)
    if weights_key is None:
        if weights == "imagenet":
            raise ValueError(f"{name}: no ImageNet weights are published for this configuration.")
        imagenet_utils.load_weights(model, weights)
    else:
        _weights.load(model, weights, weights_key, include_top)
    return model
