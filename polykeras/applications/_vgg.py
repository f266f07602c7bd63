"""The VGG builder VGG16 and VGG19 share: five blocks of 3x3 ReLU
convolutions (``block{b}_conv{i}``) each closed by a 2x2 max pool
(``block{b}_pool``), then ``flatten``, ``fc1``, ``fc2`` and ``predictions``.

Example:
    >>> model = build_vgg((2, 2, 3, 3, 3), "VGG16", "vgg16", weights=None, include_top=False)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras import layers
from polykeras.applications import _builder

_FILTERS = (64, 128, 256, 512, 512)


def build_vgg(convs: Sequence[int], application: str, name: str, include_top: bool = True,
              weights: Any = "imagenet", input_tensor: Any = None, input_shape: Sequence[int | None] | None = None,
              pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax") -> Any:
    """A VGG with ``convs[b]`` convolutions in block ``b + 1``.
    Example: ``build_vgg((2, 2, 4, 4, 4), "VGG19", "vgg19", weights=None)``"""
    img_input = _builder.start(application, include_top, weights, input_tensor, input_shape, classes,
                               classifier_activation, default_size=224, min_size=32)
    x = img_input
    for block, (filters, count) in enumerate(zip(_FILTERS, convs, strict=True), start=1):
        for i in range(1, count + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same", name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    return _builder.make_model(x, img_input, input_tensor, include_top, weights, name, application.lower())
