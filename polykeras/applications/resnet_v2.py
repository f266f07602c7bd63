"""ResNet50V2, ResNet101V2 and ResNet152V2 (pre-activation residual
blocks), as ``keras.applications.resnet_v2``: Keras 3's signatures, layer
names and weight layout. Inputs are preprocessed in "tf" mode (scaled to
[-1, 1]).

Example:
    >>> from polykeras.applications import resnet_v2
    >>> model = resnet_v2.ResNet50V2(weights=None, include_top=False, pooling="avg", input_shape=(64, 64, 3))
    >>> model.output_shape
    (None, 2048)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from polykeras.applications import imagenet_utils
from polykeras.applications.resnet import build_resnet, stack_residual_blocks_v2


def _v2_stacks(depths: Sequence[int]) -> Callable[[Any], Any]:
    def stack_fn(x: Any) -> Any:
        for i, (filters, blocks) in enumerate(zip((64, 128, 256, 512), depths, strict=True)):
            x = stack_residual_blocks_v2(x, filters, blocks, stride1=1 if i == 3 else 2, name=f"conv{i + 2}")
        return x
    return stack_fn


def ResNet50V2(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
               input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
               classifier_activation: Any = "softmax", name: str = "resnet50v2") -> Any:
    """ResNet50V2 (25.6M parameters with the top), as Keras's.

    Example:
        >>> model = ResNet50V2(weights=None, classes=10)
    """
    return build_resnet(_v2_stacks((3, 4, 6, 3)), True, True, name, include_top, weights, input_tensor, input_shape,
                        pooling, classes, classifier_activation, application="ResNet50V2", weights_key="resnet50v2")


def ResNet101V2(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "resnet101v2") -> Any:
    """ResNet101V2 (44.7M parameters with the top), as Keras's.

    Example:
        >>> model = ResNet101V2(weights=None, include_top=False)
    """
    return build_resnet(_v2_stacks((3, 4, 23, 3)), True, True, name, include_top, weights, input_tensor,
                        input_shape, pooling, classes, classifier_activation, application="ResNet101V2",
                        weights_key="resnet101v2")


def ResNet152V2(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "resnet152v2") -> Any:
    """ResNet152V2 (60.4M parameters with the top), as Keras's.

    Example:
        >>> model = ResNet152V2(weights=None, include_top=False)
    """
    return build_resnet(_v2_stacks((3, 8, 36, 3)), True, True, name, include_top, weights, input_tensor,
                        input_shape, pooling, classes, classifier_activation, application="ResNet152V2",
                        weights_key="resnet152v2")


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """ResNetV2's preprocessing: "tf" mode (pixels scaled to [-1, 1]).
    Example: ``preprocess_input(images)``"""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """ImageNet class names of ``preds`` (see ``imagenet_utils.decode_predictions``).
    Example: ``decode_predictions(model.predict(images), top=3)``"""
    return imagenet_utils.decode_predictions(preds, top=top)


__all__ = ["ResNet50V2", "ResNet101V2", "ResNet152V2", "decode_predictions", "preprocess_input"]
