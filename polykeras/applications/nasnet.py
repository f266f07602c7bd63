"""NASNetMobile and NASNetLarge, as ``keras.applications.nasnet``: the
NASNet-A normal and reduction cells found by architecture search, stacked
between two stem reductions. channels_last only, as in Keras. Layer names,
weight shapes and order follow Keras 3, so its ImageNet ``.h5`` files load.

Example:
    >>> from polykeras.applications import NASNetMobile
    >>> NASNetMobile(input_shape=(32, 32, 3), weights=None, include_top=False).output_shape
    (None, 1, 1, 1056)
"""

from __future__ import annotations

from typing import Any

from polykeras import config, layers
from polykeras.applications import imagenet_utils
from polykeras.applications.mobilenet import decode_predictions, preprocess_input
from polykeras.models import Functional
from polykeras.scopes import name_scope
from polykeras.utils.file_utils import get_file

__all__ = ["NASNetLarge", "NASNetMobile", "decode_predictions", "preprocess_input"]

#: Where Keras keeps NASNet's ImageNet weights: default size -> {include_top: (file, origin name, md5)}.
BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/nasnet/"
WEIGHTS = {
    224: {True: ("nasnet_mobile.h5", "NASNet-mobile.h5", "020fb642bf7360b370c678b08e0adf61"),
          False: ("nasnet_mobile_no_top.h5", "NASNet-mobile-no-top.h5", "1ed92395b5b598bdda52abe5c0dbfd63")},
    331: {True: ("nasnet_large.h5", "NASNet-large.h5", "11577c9a518f0070763c2b964a382f17"),
          False: ("nasnet_large_no_top.h5", "NASNet-large-no-top.h5", "d81d89dc07e6e56530c4e77faddd61b5")},
}


def _nasnet(app: str, input_shape: Any, penultimate_filters: int, num_blocks: int, stem_block_filters: int,
            skip_reduction: bool, filter_multiplier: int, include_top: bool, weights: Any, input_tensor: Any,
            pooling: str | None, classes: int, default_size: int, classifier_activation: Any,
            name: str) -> Functional:
    if config.image_data_format() == "channels_first":
        raise ValueError(f"{app} does not support the `channels_first` image data format. Switch to "
                         "`channels_last` (polykeras.config.set_image_data_format('channels_last')).")
    imagenet_utils.validate_weights(app, weights, include_top, classes)
    if isinstance(input_shape, tuple) and None in input_shape and weights == "imagenet":
        raise ValueError(f"{app}: when specifying the input shape of a NASNet and loading `ImageNet` weights, the "
                         f"input_shape argument must be static (no None entries). Got: `input_shape={input_shape}`.")
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                                    data_format=config.image_data_format(),
                                                    require_flatten=include_top, weights=weights, application=app)
    img_input = imagenet_utils.image_input(input_shape, input_tensor)
    if penultimate_filters % (24 * filter_multiplier ** 2) != 0:
        raise ValueError(f"{app}: for NASNet-A models, the `penultimate_filters` must be a multiple of "
                         f"24 * (`filter_multiplier` ** 2). Current value: {penultimate_filters}")
    filters = penultimate_filters // 24

    x = layers.Conv2D(stem_block_filters, (3, 3), strides=(2, 2), padding="valid", use_bias=False,
                      name="stem_conv1", kernel_initializer="he_normal")(img_input)
    x = _bn(x, "stem_bn1")
    p = None
    x, p = _reduction_a_cell(x, p, filters // filter_multiplier ** 2, block_id="stem_1")
    x, p = _reduction_a_cell(x, p, filters // filter_multiplier, block_id="stem_2")
    for stage in range(3):
        if stage:
            x, p0 = _reduction_a_cell(x, p, filters * filter_multiplier ** stage,
                                      block_id=f"reduce_{stage * num_blocks}")
            p = p if skip_reduction else p0
        offset = stage * num_blocks + 1 if stage else 0
        for i in range(num_blocks):
            x, p = _normal_a_cell(x, p, filters * filter_multiplier ** stage, block_id=f"{offset + i}")
    x = layers.Activation("relu")(x)

    if include_top:
        x = layers.GlobalAveragePooling2D()(x)
        imagenet_utils.validate_activation(classifier_activation, weights, application=app)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)

    model = Functional(imagenet_utils.model_inputs(input_tensor, img_input), x, name=name)
    if weights == "imagenet":  # cached under another name than the published file's, as Keras does
        fname, origin, file_hash = WEIGHTS[default_size][include_top]
        model.load_weights(get_file(fname, BASE_WEIGHTS_PATH + origin, cache_subdir="models", file_hash=file_hash))
    else:
        imagenet_utils.load_weights(model, weights)
    return model


def NASNetMobile(input_shape: Any = None, include_top: bool = True, weights: Any = "imagenet",
                 input_tensor: Any = None, pooling: str | None = None, classes: int = 1000,
                 classifier_activation: Any = "softmax", name: str = "nasnet_mobile") -> Functional:
    """NASNet-A Mobile (4 @ 1056, 224x224 by default); inputs in [-1, 1]
    (see :func:`preprocess_input`). Unlike Keras 3's, it also runs on torch.

    Example:
        >>> NASNetMobile(input_shape=(32, 32, 3), weights=None, classes=10).output_shape
        (None, 10)
    """
    if not include_top and input_shape is None:
        input_shape = (224, 224, 3)
    return _nasnet("NASNetMobile", input_shape, 1056, 4, 32, False, 2, include_top, weights, input_tensor, pooling,
                   classes, 224, classifier_activation, name)


def NASNetLarge(input_shape: Any = None, include_top: bool = True, weights: Any = "imagenet",
                input_tensor: Any = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "nasnet_large") -> Functional:
    """NASNet-A Large (6 @ 4032, 331x331 by default); inputs in [-1, 1]
    (see :func:`preprocess_input`).

    Example:
        >>> NASNetLarge(input_shape=(32, 32, 3), weights=None, include_top=False).output_shape
        (None, 1, 1, 4032)
    """
    return _nasnet("NASNetLarge", input_shape, 4032, 6, 96, True, 2, include_top, weights, input_tensor, pooling,
                   classes, 331, classifier_activation, name)


def _bn(x: Any, name: str) -> Any:
    return layers.BatchNormalization(axis=-1, momentum=0.9997, epsilon=1e-3, name=name)(x)


def _separable_conv_block(ip: Any, filters: int, kernel_size: tuple[int, int] = (3, 3),
                          strides: tuple[int, int] = (1, 1), block_id: str = "") -> Any:
    """ReLU, separable conv (zero-padded and "valid" when strided), BN, then
    ReLU, separable conv, BN."""
    with name_scope(f"separable_conv_block_{block_id}"):
        return _separable_conv_layers(ip, filters, kernel_size, strides, block_id)


def _separable_conv_layers(ip: Any, filters: int, kernel_size: tuple[int, int], strides: tuple[int, int],
                           block_id: str) -> Any:
    x = layers.Activation("relu")(ip)
    if strides == (2, 2):
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size),
                                 name=f"separable_conv_1_pad_{block_id}")(x)
    x = layers.SeparableConv2D(filters, kernel_size, strides=strides, name=f"separable_conv_1_{block_id}",
                               padding="valid" if strides == (2, 2) else "same", use_bias=False)(x)
    x = _bn(x, f"separable_conv_1_bn_{block_id}")
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(filters, kernel_size, name=f"separable_conv_2_{block_id}", padding="same",
                               use_bias=False)(x)
    return _bn(x, f"separable_conv_2_bn_{block_id}")


def _adjust_block(p: Any, ip: Any, filters: int, block_id: str) -> Any:
    """Bring the previous cell's output ``p`` to ``ip``'s size (a factorised
    stride-2 reduction) or to ``filters`` channels (a 1x1 projection). The
    weights' paths carry Keras's name scopes."""
    if p is None:
        return ip
    with name_scope("adjust_block"):
        if p.shape[-2] != ip.shape[-2]:
            with name_scope(f"adjust_reduction_block_{block_id}"):
                return _factorized_reduction(p, filters, block_id)
        if p.shape[-1] != filters:
            with name_scope(f"adjust_projection_block_{block_id}"):
                p = layers.Activation("relu")(p)
                p = layers.Conv2D(filters, (1, 1), strides=(1, 1), padding="same",
                                  name=f"adjust_conv_projection_{block_id}", use_bias=False,
                                  kernel_initializer="he_normal")(p)
                return _bn(p, f"adjust_bn_{block_id}")
    return p


def _factorized_reduction(p: Any, filters: int, block_id: str) -> Any:
    """Two stride-2 1x1 convolutions, the second on the input shifted by one
    pixel, concatenated."""
    p = layers.Activation("relu", name=f"adjust_relu_1_{block_id}")(p)
    p1 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid", name=f"adjust_avg_pool_1_{block_id}")(p)
    p1 = layers.Conv2D(filters // 2, (1, 1), padding="same", use_bias=False, name=f"adjust_conv_1_{block_id}",
                       kernel_initializer="he_normal")(p1)
    p2 = layers.ZeroPadding2D(padding=((0, 1), (0, 1)))(p)
    p2 = layers.Cropping2D(cropping=((1, 0), (1, 0)))(p2)
    p2 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid",
                                 name=f"adjust_avg_pool_2_{block_id}")(p2)
    p2 = layers.Conv2D(filters // 2, (1, 1), padding="same", use_bias=False, name=f"adjust_conv_2_{block_id}",
                       kernel_initializer="he_normal")(p2)
    p = layers.concatenate([p1, p2], axis=-1)
    return _bn(p, f"adjust_bn_{block_id}")


def _avg3(x: Any, strides: int, padding: str, name: str) -> Any:
    return layers.AveragePooling2D((3, 3), strides=(strides, strides), padding=padding, name=name)(x)


def _normal_a_cell(ip: Any, p: Any, filters: int, block_id: str) -> tuple[Any, Any]:
    with name_scope(f"normal_A_block_{block_id}"):
        p = _adjust_block(p, ip, filters, block_id)
        h = layers.Activation("relu")(ip)
        h = layers.Conv2D(filters, (1, 1), strides=(1, 1), padding="same", name=f"normal_conv_1_{block_id}",
                          use_bias=False, kernel_initializer="he_normal")(h)
        h = _bn(h, f"normal_bn_1_{block_id}")
        with name_scope("block_1"):
            x1 = layers.add([_separable_conv_block(h, filters, (5, 5), block_id=f"normal_left1_{block_id}"),
                             _separable_conv_block(p, filters, block_id=f"normal_right1_{block_id}")],
                            name=f"normal_add_1_{block_id}")
        with name_scope("block_2"):
            x2 = layers.add([_separable_conv_block(p, filters, (5, 5), block_id=f"normal_left2_{block_id}"),
                             _separable_conv_block(p, filters, (3, 3), block_id=f"normal_right2_{block_id}")],
                            name=f"normal_add_2_{block_id}")
        x3 = layers.add([_avg3(h, 1, "same", f"normal_left3_{block_id}"), p], name=f"normal_add_3_{block_id}")
        x4 = layers.add([_avg3(p, 1, "same", f"normal_left4_{block_id}"),
                         _avg3(p, 1, "same", f"normal_right4_{block_id}")], name=f"normal_add_4_{block_id}")
        with name_scope("block_5"):
            x5 = layers.add([_separable_conv_block(h, filters, block_id=f"normal_left5_{block_id}"), h],
                            name=f"normal_add_5_{block_id}")
        x = layers.concatenate([p, x1, x2, x3, x4, x5], axis=-1, name=f"normal_concat_{block_id}")
    return x, ip


def _reduction_a_cell(ip: Any, p: Any, filters: int, block_id: str) -> tuple[Any, Any]:
    with name_scope(f"reduction_A_block_{block_id}"):
        p = _adjust_block(p, ip, filters, block_id)
        h = layers.Activation("relu")(ip)
        h = layers.Conv2D(filters, (1, 1), strides=(1, 1), padding="same", name=f"reduction_conv_1_{block_id}",
                          use_bias=False, kernel_initializer="he_normal")(h)
        h = _bn(h, f"reduction_bn_1_{block_id}")
        h3 = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(h, 3), name=f"reduction_pad_1_{block_id}")(h)
        with name_scope("block_1"):
            x1 = layers.add([
                _separable_conv_block(h, filters, (5, 5), strides=(2, 2), block_id=f"reduction_left1_{block_id}"),
                _separable_conv_block(p, filters, (7, 7), strides=(2, 2), block_id=f"reduction_right1_{block_id}"),
            ], name=f"reduction_add_1_{block_id}")
        with name_scope("block_2"):
            x2 = layers.add([
                layers.MaxPooling2D((3, 3), strides=(2, 2), padding="valid", name=f"reduction_left2_{block_id}")(h3),
                _separable_conv_block(p, filters, (7, 7), strides=(2, 2), block_id=f"reduction_right2_{block_id}"),
            ], name=f"reduction_add_2_{block_id}")
        with name_scope("block_3"):
            x3 = layers.add([
                _avg3(h3, 2, "valid", f"reduction_left3_{block_id}"),
                _separable_conv_block(p, filters, (5, 5), strides=(2, 2), block_id=f"reduction_right3_{block_id}"),
            ], name=f"reduction_add3_{block_id}")
        x4 = layers.add([x2, _avg3(x1, 1, "same", f"reduction_left4_{block_id}")])
        with name_scope("block_5"):
            x5 = layers.add([
                _separable_conv_block(x1, filters, (3, 3), block_id=f"reduction_left4_{block_id}"),
                layers.MaxPooling2D((3, 3), strides=(2, 2), padding="valid", name=f"reduction_right5_{block_id}")(h3),
            ], name=f"reduction_add4_{block_id}")
        x = layers.concatenate([x2, x3, x4, x5], axis=-1, name=f"reduction_concat_{block_id}")
    return x, ip
