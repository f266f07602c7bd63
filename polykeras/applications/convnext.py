"""ConvNeXtTiny, Small, Base, Large and XLarge, as
``keras.applications.convnext``: Keras 3's signatures (with
``include_preprocessing``), layer names (the stem and downsampling layers
as nested ``Sequential`` models) and weight layout, so Keras's ImageNet
weight files load. Preprocessing is inside the model (a ``Normalization``
by the ImageNet statistics, for 0-255 inputs); ``preprocess_input`` returns
its input unchanged, as Keras's does. Only ``channels_last`` is supported.

Example:
    >>> from polykeras.applications import convnext
    >>> model = convnext.ConvNeXtTiny(weights=None, include_top=False, input_shape=(32, 32, 3))
    >>> model.output_shape
    (None, 1, 1, 768)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from polykeras import config, initializers, layers, ops
from polykeras.applications import imagenet_utils

#: Depths and widths of each published variant (Keras's table).
MODEL_CONFIGS: dict[str, dict[str, Any]] = {
    "tiny": {"depths": [3, 3, 9, 3], "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "small": {"depths": [3, 3, 27, 3], "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "base": {"depths": [3, 3, 27, 3], "projection_dims": [128, 256, 512, 1024], "default_size": 224},
    "large": {"depths": [3, 3, 27, 3], "projection_dims": [192, 384, 768, 1536], "default_size": 224},
    "xlarge": {"depths": [3, 3, 27, 3], "projection_dims": [256, 512, 1024, 2048], "default_size": 224},
}


class StochasticDepth(layers.Layer, builtin=False):
    """Drops the whole residual branch of a batch with probability
    ``drop_path_rate`` while training (scaling what is kept); identity
    otherwise.

    Example:
        >>> StochasticDepth(0.1)(x, training=True)
    """

    def __init__(self, drop_path_rate: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.drop_path_rate = drop_path_rate
        from polykeras.random import SeedGenerator

        self.seed_generator = SeedGenerator()

    def call(self, x: Any, training: bool | None = None) -> Any:
        if not training:
            return x
        from polykeras import random

        keep = 1.0 - self.drop_path_rate
        shape = (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)
        mask = ops.floor(keep + random.uniform(shape, 0.0, 1.0, seed=self.seed_generator))
        return x / keep * mask

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "drop_path_rate": self.drop_path_rate}


class LayerScale(layers.Layer, builtin=False):
    """Multiplies each channel by a learned ``gamma`` (``projection_dim``
    values, starting at ``init_values``).

    Example:
        >>> LayerScale(1e-6, 96)(x)
    """

    def __init__(self, init_values: float, projection_dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, input_shape: Any) -> None:
        self.gamma = self.add_weight(shape=(self.projection_dim,),
                                     initializer=initializers.Constant(self.init_values),
                                     trainable=True)  # unnamed ("variable"), as Keras's

    def call(self, x: Any) -> Any:
        return x * self.gamma

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "init_values": self.init_values, "projection_dim": self.projection_dim}


def ConvNeXtBlock(projection_dim: int, drop_path_rate: float = 0.0, layer_scale_init_value: float | None = 1e-6,
                  name: str | None = None) -> Callable[[Any], Any]:
    """A ConvNeXt block: 7x7 depthwise conv, layer norm, a 4x pointwise MLP
    with GELU (as Dense layers), layer scale, and the residual connection.
    Example: ``x = ConvNeXtBlock(96, name="convnext_tiny_stage_0_block_0")(x)``"""
    name = name if name is not None else "convnext_block"

    def apply(inputs: Any) -> Any:
        x = layers.Conv2D(projection_dim, kernel_size=7, padding="same", groups=projection_dim,
                          name=f"{name}_depthwise_conv")(inputs)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_layernorm")(x)
        x = layers.Dense(4 * projection_dim, name=f"{name}_pointwise_conv_1")(x)
        x = layers.Activation("gelu", name=f"{name}_gelu")(x)
        x = layers.Dense(projection_dim, name=f"{name}_pointwise_conv_2")(x)
        if layer_scale_init_value is not None:
            x = LayerScale(layer_scale_init_value, projection_dim, name=f"{name}_layer_scale")(x)
        last: layers.Layer
        if drop_path_rate:
            last = StochasticDepth(drop_path_rate, name=f"{name}_stochastic_depth")
        else:
            last = layers.Activation("linear", name=f"{name}_identity")
        return inputs + last(x)

    return apply


def ConvNeXt(depths: Sequence[int], projection_dims: Sequence[int], drop_path_rate: float = 0.0,
             layer_scale_init_value: float | None = 1e-6, default_size: int = 224, name: str = "convnext",
             include_preprocessing: bool = True, include_top: bool = True, weights: Any = None,
             input_tensor: Any = None, input_shape: Sequence[int | None] | None = None, pooling: str | None = None,
             classes: int = 1000, classifier_activation: Any = "softmax", weights_name: str | None = None) -> Any:
    """A ConvNeXt of the given stage ``depths`` and widths; ImageNet weights
    need ``weights_name`` (``"convnext_tiny"``, ...) and that variant's shape.

    Example:
        >>> model = ConvNeXt([2, 2, 2, 2], [32, 64, 128, 256], weights=None, include_top=False)
    """
    application = _application_name(weights_name)
    if config.image_data_format() == "channels_first":
        raise ValueError(f"{application}: ConvNeXt does not support the `channels_first` image data format. Switch "
                         "to `channels_last` (polykeras.config.set_image_data_format('channels_last')).")
    imagenet_utils.validate_weights(application, weights, include_top, classes)
    if include_top:
        imagenet_utils.validate_activation(classifier_activation, weights, application=application)
    if weights == "imagenet":
        _check_imagenet_variant(application, weights_name, depths, projection_dims, name)
    shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                              data_format=config.image_data_format(), require_flatten=include_top,
                                              weights=weights, application=application)
    img_input = imagenet_utils.image_input(shape, input_tensor)
    if input_tensor is not None:
        inputs, x = imagenet_utils.model_inputs(input_tensor, img_input)[0], input_tensor
    else:
        inputs = x = img_input
    if include_preprocessing and shape[-1] == 3:
        x = layers.Normalization(mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
                                 variance=[(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2],
                                 name=f"{name}_prestem_normalization")(x)
    from polykeras.models import Functional, Sequential

    downsample = [Sequential([layers.Conv2D(projection_dims[0], kernel_size=4, strides=4, name=f"{name}_stem_conv"),
                              layers.LayerNormalization(epsilon=1e-6, name=f"{name}_stem_layernorm")],
                             name=f"{name}_stem")]
    for i in range(3):
        downsample.append(Sequential([
            layers.LayerNormalization(epsilon=1e-6, name=f"{name}_downsampling_layernorm_{i}"),
            layers.Conv2D(projection_dims[i + 1], kernel_size=2, strides=2, name=f"{name}_downsampling_conv_{i}"),
        ], name=f"{name}_downsampling_block_{i}"))
    rates = [float(r) for r in np.linspace(0.0, drop_path_rate, sum(depths))]
    done = 0
    for i in range(4):
        x = downsample[i](x)
        for j in range(depths[i]):
            x = ConvNeXtBlock(projection_dims[i], drop_path_rate=rates[done + j],
                              layer_scale_init_value=layer_scale_init_value, name=f"{name}_stage_{i}_block_{j}")(x)
        done += depths[i]
    if include_top:
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_head_layernorm")(x)
        x = layers.Dense(classes, activation=classifier_activation, name=f"{name}_head_dense")(x)
    else:
        if pooling == "avg":
            x = layers.GlobalAveragePooling2D()(x)
        elif pooling == "max":
            x = layers.GlobalMaxPooling2D()(x)
        x = layers.LayerNormalization(epsilon=1e-6)(x)
    model = Functional(inputs=inputs, outputs=x, name=name)
    if weights == "imagenet":
        from polykeras.applications import _weights

        _weights.load(model, weights, str(weights_name), include_top)
    else:
        imagenet_utils.load_weights(model, weights)
    return model


_APPLICATIONS = {"tiny": "ConvNeXtTiny", "small": "ConvNeXtSmall", "base": "ConvNeXtBase", "large": "ConvNeXtLarge",
                 "xlarge": "ConvNeXtXLarge"}


def _application_name(weights_name: str | None) -> str:
    return _APPLICATIONS.get(str(weights_name).split("convnext_")[-1], "ConvNeXt")


def _check_imagenet_variant(application: str, weights_name: str | None, depths: Sequence[int],
                            projection_dims: Sequence[int], name: str) -> None:
    if weights_name is None:
        raise ValueError(f"{application}: weights='imagenet' needs a weights_name (convnext_tiny, ...).")
    expected = MODEL_CONFIGS[weights_name.split("convnext_")[-1]]
    if list(depths) != expected["depths"] or list(projection_dims) != expected["projection_dims"]:
        raise ValueError(f"{application}: the architecture does not match the {weights_name} variant, as loading "
                         f"its pre-trained weights needs. Expected depths: {expected['depths']}, got: "
                         f"{list(depths)}. Expected projection_dims: {expected['projection_dims']}, got: "
                         f"{list(projection_dims)}.")
    if weights_name not in name:
        raise ValueError(f'{application}: model name "{name}" does not match weights variant "{weights_name}". When '
                         "using imagenet weights, model name must contain the weights variant (e.g., "
                         f'"{weights_name}").')


def _variant(size: str) -> Callable[..., Any]:
    variant = MODEL_CONFIGS[size]

    def build(include_top: bool = True, include_preprocessing: bool = True, weights: Any = "imagenet",
              input_tensor: Any = None, input_shape: Sequence[int | None] | None = None,
              pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax",
              name: str = f"convnext_{size}") -> Any:
        return ConvNeXt(variant["depths"], variant["projection_dims"], drop_path_rate=0.0,
                        layer_scale_init_value=1e-6, default_size=variant["default_size"], name=name,
                        include_preprocessing=include_preprocessing, include_top=include_top, weights=weights,
                        input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                        classifier_activation=classifier_activation, weights_name=f"convnext_{size}")

    return build


def ConvNeXtTiny(include_top: bool = True, include_preprocessing: bool = True, weights: Any = "imagenet",
                 input_tensor: Any = None, input_shape: Sequence[int | None] | None = None, pooling: str | None = None,
                 classes: int = 1000, classifier_activation: Any = "softmax", name: str = "convnext_tiny") -> Any:
    """ConvNeXtTiny (28.6M parameters with the top), as Keras's.

    Example:
        >>> model = ConvNeXtTiny(weights=None, include_top=False, pooling="avg")
    """
    return _variant("tiny")(include_top, include_preprocessing, weights, input_tensor, input_shape, pooling, classes,
                            classifier_activation, name)


def ConvNeXtSmall(include_top: bool = True, include_preprocessing: bool = True, weights: Any = "imagenet",
                  input_tensor: Any = None, input_shape: Sequence[int | None] | None = None,
                  pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax",
                  name: str = "convnext_small") -> Any:
    """ConvNeXtSmall (50.2M parameters with the top), as Keras's.

    Example:
        >>> model = ConvNeXtSmall(weights=None, include_top=False)
    """
    return _variant("small")(include_top, include_preprocessing, weights, input_tensor, input_shape, pooling,
                             classes, classifier_activation, name)


def ConvNeXtBase(include_top: bool = True, include_preprocessing: bool = True, weights: Any = "imagenet",
                 input_tensor: Any = None, input_shape: Sequence[int | None] | None = None, pooling: str | None = None,
                 classes: int = 1000, classifier_activation: Any = "softmax", name: str = "convnext_base") -> Any:
    """ConvNeXtBase (88.6M parameters with the top), as Keras's.

    Example:
        >>> model = ConvNeXtBase(weights=None, include_top=False)
    """
    return _variant("base")(include_top, include_preprocessing, weights, input_tensor, input_shape, pooling, classes,
                            classifier_activation, name)


def ConvNeXtLarge(include_top: bool = True, include_preprocessing: bool = True, weights: Any = "imagenet",
                  input_tensor: Any = None, input_shape: Sequence[int | None] | None = None,
                  pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax",
                  name: str = "convnext_large") -> Any:
    """ConvNeXtLarge (197.8M parameters with the top), as Keras's.

    Example:
        >>> model = ConvNeXtLarge(weights=None, include_top=False)
    """
    return _variant("large")(include_top, include_preprocessing, weights, input_tensor, input_shape, pooling,
                             classes, classifier_activation, name)


def ConvNeXtXLarge(include_top: bool = True, include_preprocessing: bool = True, weights: Any = "imagenet",
                   input_tensor: Any = None, input_shape: Sequence[int | None] | None = None,
                   pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax",
                   name: str = "convnext_xlarge") -> Any:
    """ConvNeXtXLarge (350.2M parameters with the top), as Keras's.

    Example:
        >>> model = ConvNeXtXLarge(weights=None, include_top=False)
    """
    return _variant("xlarge")(include_top, include_preprocessing, weights, input_tensor, input_shape, pooling,
                              classes, classifier_activation, name)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Returns ``x`` unchanged: ConvNeXt normalises inside the model (kept
    for compatibility, as in Keras). Example: ``preprocess_input(images) is images``"""
    return x


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """ImageNet class names of ``preds`` (see ``imagenet_utils.decode_predictions``).
    Example: ``decode_predictions(model.predict(images), top=3)``"""
    return imagenet_utils.decode_predictions(preds, top=top)


__all__ = ["ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtSmall", "ConvNeXtTiny", "ConvNeXtXLarge", "decode_predictions",
           "preprocess_input"]
