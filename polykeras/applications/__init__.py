"""Ready-made image models, as ``keras.applications``: each family module
(``resnet``, ``vgg16``, ``densenet``, ...) holds its model functions with
Keras 3's signatures, layer names and weight layouts (so Keras's ImageNet
weight files load), plus its ``preprocess_input`` and
``decode_predictions``. Models are built with ``weights=None``, a local
weights file, or ``weights="imagenet"`` (downloaded through
``polykeras.utils.get_file``, cached and hash-checked).

Example:
    >>> from polykeras import applications
    >>> model = applications.ResNet50(weights=None, input_shape=(64, 64, 3), include_top=False)
"""

import importlib
from typing import Any

from polykeras.applications import imagenet_utils

#: Model functions: name -> family module (loaded on first use).
_MODELS = {
    "ResNet50": "resnet", "ResNet101": "resnet", "ResNet152": "resnet",
    "ResNet50V2": "resnet_v2", "ResNet101V2": "resnet_v2", "ResNet152V2": "resnet_v2",
    "VGG16": "vgg16",
    "VGG19": "vgg19",
    "DenseNet121": "densenet", "DenseNet169": "densenet", "DenseNet201": "densenet",
    "ConvNeXtTiny": "convnext", "ConvNeXtSmall": "convnext", "ConvNeXtBase": "convnext",
    "ConvNeXtLarge": "convnext", "ConvNeXtXLarge": "convnext",
    "Xception": "xception",
    "InceptionV3": "inception_v3",
    "InceptionResNetV2": "inception_resnet_v2",
    "MobileNet": "mobilenet", "MobileNetV2": "mobilenet_v2", "MobileNetV3Small": "mobilenet_v3",
    "MobileNetV3Large": "mobilenet_v3",
    **{f"EfficientNetB{i}": "efficientnet" for i in range(8)},
    **{f"EfficientNetV2{v}": "efficientnet_v2" for v in ("B0", "B1", "B2", "B3", "S", "M", "L")},
    "NASNetMobile": "nasnet", "NASNetLarge": "nasnet",
}

#: Family submodules, importable as attributes (``applications.resnet``).
_FAMILIES = {
    "resnet", "resnet50", "resnet_v2", "vgg16", "vgg19", "densenet", "convnext", "xception", "inception_v3",
    "inception_resnet_v2",
    "mobilenet", "mobilenet_v2", "mobilenet_v3", "efficientnet", "efficientnet_v2", "nasnet",
}


def __getattr__(name: str) -> Any:
    if name in _MODELS:
        return getattr(importlib.import_module(f"polykeras.applications.{_MODELS[name]}"), name)
    if name in _FAMILIES:
        return importlib.import_module(f"polykeras.applications.{name}")
    raise AttributeError(f"module 'polykeras.applications' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODELS) | set(_FAMILIES))


__all__ = ["imagenet_utils", *sorted(_MODELS)]
