"""ImageNet helpers shared by every application, as
``keras.applications.imagenet_utils``: ``preprocess_input`` (the "caffe",
"tf" and "torch" recipes), ``decode_predictions`` (the class index JSON
fetched through :func:`polykeras.utils.get_file`, as Keras does), and the
builders' checks (``obtain_input_shape``, ``correct_pad``,
``validate_activation``, the ``weights`` argument, the input tensor and
the weight download) so every family says the same thing the same way.

Example:
    >>> import numpy as np
    >>> from polykeras.applications import imagenet_utils
    >>> imagenet_utils.preprocess_input(np.full((1, 2, 2, 3), 127.5), mode="tf")[0, 0, 0]
    array([0., 0., 0.])
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from polykeras import activations, config, ops
from polykeras.utils.file_utils import get_file

#: Where Keras fetches the ImageNet class index, and its md5 (data, not code).
CLASS_INDEX_PATH = "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
CLASS_INDEX_HASH = "c2c37ea517e94d9795004a39431a14cb"
#: The loaded class index (``{"0": ["n01440764", "tench"], ...}``), read once.
CLASS_INDEX: dict[str, list[str]] | None = None

#: Per-channel statistics of each preprocessing mode (RGB order).
_CAFFE_MEAN = (103.939, 116.779, 123.68)  # applied after RGB -> BGR, so in BGR order
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)
_MODES = ("caffe", "tf", "torch")
_FORMATS = ("channels_first", "channels_last")


def _check_format(data_format: str | None, who: str) -> str:
    if data_format is None:
        return config.image_data_format()
    if data_format not in _FORMATS:
        raise ValueError(f"{who}: expected data_format to be one of `channels_first` or `channels_last`. "
                         f"Received: data_format={data_format}")
    return data_format


def _channel_shape(ndim: int, data_format: str) -> tuple[int, ...]:
    """The broadcast shape of a per-channel vector for an ``ndim`` image."""
    if data_format == "channels_first":
        return (3,) + (1,) * (ndim - 1) if ndim == 3 else (1, 3) + (1,) * (ndim - 2)
    return (1,) * (ndim - 1) + (3,)


def preprocess_input(x: Any, data_format: str | None = None, mode: str = "caffe") -> Any:
    """Preprocess a batch of images (values in [0, 255], 3-D or 4-D) for an
    ImageNet model. ``mode`` "caffe": RGB -> BGR, then subtract the ImageNet
    channel means; "tf": scale to [-1, 1]; "torch": scale to [0, 1], then
    normalise each channel by the ImageNet mean and std. A floating NumPy
    array is processed in place (as Keras does); tensors, symbolic ones too,
    go through ``polykeras.ops``.

    Example:
        >>> import numpy as np
        >>> preprocess_input(np.zeros((1, 2, 2, 3)))[0, 0, 0]
        array([-103.939, -116.779, -123.68 ])
    """
    if mode not in _MODES:
        raise ValueError("preprocess_input: expected mode to be one of `caffe`, `tf` or `torch`. "
                         f"Received: mode={mode}")
    data_format = _check_format(data_format, "preprocess_input")
    if isinstance(x, np.ndarray):
        return _preprocess_numpy(x, data_format, mode)
    return _preprocess_tensor(x, data_format, mode)


def _mode_statistics(mode: str) -> tuple[tuple[float, ...], tuple[float, ...] | None]:
    return (_TORCH_MEAN, _TORCH_STD) if mode == "torch" else (_CAFFE_MEAN, None)


def _preprocess_numpy(x: np.ndarray, data_format: str, mode: str) -> np.ndarray:
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(config.floatx(), copy=False)
    if mode == "tf":
        x /= 127.5
        x -= 1.0
        return x
    if mode == "torch":
        x /= 255.0
    else:  # caffe: RGB -> BGR on a view, as Keras does
        channel_axis = (0 if x.ndim == 3 else 1) if data_format == "channels_first" else x.ndim - 1
        x = np.flip(x, axis=channel_axis)
    mean, std = _mode_statistics(mode)
    shape = _channel_shape(x.ndim, data_format)
    x -= np.asarray(mean, dtype=x.dtype).reshape(shape)
    if std is not None:
        x /= np.asarray(std, dtype=x.dtype).reshape(shape)
    return x


def _preprocess_tensor(x: Any, data_format: str, mode: str) -> Any:
    if mode == "tf":
        return x / 127.5 - 1.0
    ndim = len(x.shape)
    if mode == "torch":
        x = x / 255.0
    else:
        channel_axis = (0 if ndim == 3 else 1) if data_format == "channels_first" else -1
        x = ops.flip(x, axis=channel_axis)
    mean, std = _mode_statistics(mode)
    shape = _channel_shape(ndim, data_format)
    x = x - ops.convert_to_tensor(np.asarray(mean).reshape(shape), dtype=x.dtype)
    if std is not None:
        x = x / ops.convert_to_tensor(np.asarray(std).reshape(shape), dtype=x.dtype)
    return x


def _class_index() -> dict[str, list[str]]:
    global CLASS_INDEX
    if CLASS_INDEX is None:
        path = get_file("imagenet_class_index.json", CLASS_INDEX_PATH, cache_subdir="models",
                        file_hash=CLASS_INDEX_HASH)
        with open(path, encoding="utf-8") as f:
            CLASS_INDEX = json.load(f)
    return CLASS_INDEX


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """Turn ImageNet predictions ``(samples, 1000)`` into, per sample, the
    ``top`` ``(class_name, description, score)`` tuples, best first. The
    class index is downloaded once through ``get_file`` (cached under
    ``~/.keras/models``).

    Example:
        >>> decode_predictions(model.predict(images), top=3)[0]
        [('n02504458', 'African_elephant', 0.81), ...]
    """
    shape = tuple(preds.shape)
    if len(shape) != 2 or shape[1] != 1000:
        raise ValueError("decode_predictions: expects a batch of predictions (i.e. a 2D array of shape "
                         f"(samples, 1000)). Received array with shape: {shape}")
    index = _class_index()
    values = np.asarray(ops.convert_to_numpy(preds))
    results = []
    for row in values:
        best = [int(i) for i in np.argsort(row, kind="stable")[::-1][:max(top, 0)]]
        found = [(*index[str(int(i))], row[i]) for i in best]
        found.sort(key=lambda entry: entry[2], reverse=True)
        results.append(found)
    return results


def _prefix(application: str | None) -> str:
    return f"{application}: " if application else ""


def obtain_input_shape(input_shape: Sequence[int | None] | None, default_size: int, min_size: int,
                       data_format: str, require_flatten: bool, weights: Any = None, *,
                       application: str | None = None) -> tuple[int | None, ...]:
    """The model's input shape (one sample), checked as Keras checks it:
    three dimensions, 3 channels with ImageNet weights, each spatial size
    at least ``min_size``, the default shape when ImageNet weights feed a
    flattening top, and static sizes whenever the top flattens.
    ``application`` names the model in the errors.

    Example:
        >>> obtain_input_shape(None, 224, 32, "channels_last", require_flatten=False)
        (None, None, 3)
    """
    who = _prefix(application)
    shape = None if input_shape is None else tuple(input_shape)
    first = data_format == "channels_first"
    if weights != "imagenet" and shape and len(shape) == 3:
        channels = shape[0] if first else shape[-1]
        if channels not in (1, 3):
            warnings.warn(f"{who}This model usually expects 1 or 3 input channels. However, it was passed an "
                          f"input_shape with {channels} input channels.", stacklevel=2)
        default = (channels, default_size, default_size) if first else (default_size, default_size, channels)
    else:
        default = (3, default_size, default_size) if first else (default_size, default_size, 3)
    if weights == "imagenet" and require_flatten:
        if shape is not None and shape != default:
            raise ValueError(f"{who}When setting `include_top=True` and loading `imagenet` weights, `input_shape` "
                             f"should be {default}.  Received: input_shape={input_shape}")
        return default
    if shape:
        if len(shape) != 3:
            raise ValueError(f"{who}`input_shape` must be a tuple of three integers. Received: "
                             f"input_shape={input_shape}")
        channels, spatial = (shape[0], shape[1:]) if first else (shape[-1], shape[:2])
        if channels != 3 and weights == "imagenet":
            raise ValueError(f"{who}The input must have 3 channels; Received `input_shape={input_shape}`")
        if any(size is not None and size < min_size for size in spatial):
            raise ValueError(f"{who}Input size must be at least {min_size}x{min_size}; Received: "
                             f"input_shape={input_shape}")
    elif require_flatten:
        shape = default
    else:
        shape = (3, None, None) if first else (None, None, 3)
    if require_flatten and None in shape:
        raise ValueError(f"{who}If `include_top` is True, you should specify a static `input_shape`. "
                         f"Received: input_shape={input_shape}")
    return shape


def correct_pad(inputs: Any, kernel_size: int | Sequence[int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """The ``ZeroPadding2D`` padding that makes a stride-2 "valid" convolution
    of ``kernel_size`` behave like TensorFlow's "same" on ``inputs``.

    Example:
        >>> correct_pad(polykeras.Input((224, 224, 3)), 3)
        ((0, 1), (0, 1))
    """
    first = config.image_data_format() == "channels_first"
    size = tuple(inputs.shape[2:4] if first else inputs.shape[1:3])
    kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    half = (kernel[0] // 2, kernel[1] // 2)
    return (half[0] - adjust[0], half[0]), (half[1] - adjust[1], half[1])


def validate_activation(classifier_activation: Any, weights: Any, *, application: str | None = None) -> None:
    """Refuse a classifier activation other than None or softmax when
    pretrained weights are loaded (they were trained with softmax).

    Example:
        >>> validate_activation("softmax", "imagenet")      # fine
    """
    if weights is None:
        return
    found = activations.get(classifier_activation)
    if found not in (activations.get("softmax"), activations.get(None)):
        raise ValueError(f"{_prefix(application)}Only `None` and `softmax` activations are allowed for the "
                         "`classifier_activation` argument when using pretrained weights, with "
                         f"`include_top=True`; Received: classifier_activation={classifier_activation}")


def validate_weights(application: str, weights: Any, include_top: bool, classes: int) -> None:
    """Keras's checks of the ``weights`` argument: None, "imagenet" or an
    existing file; 1000 classes with ImageNet weights and a top.

    Example:
        >>> validate_weights("ResNet50", None, True, 10)     # fine
    """
    if not (weights in ("imagenet", None) or (isinstance(weights, (str, os.PathLike)) and os.path.exists(weights))):
        raise ValueError(f"{application}: the `weights` argument should be either `None` (random initialization), "
                         "'imagenet' (pre-training on ImageNet), or the path to the weights file to be loaded.  "
                         f"Received: weights={weights}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(f'{application}: if using `weights="imagenet"` with `include_top=True`, `classes` '
                         f"should be 1000.  Received: classes={classes}")


def image_input(input_shape: Sequence[int | None], input_tensor: Any = None) -> Any:
    """The model's image input: a new ``Input`` of ``input_shape``, the given
    symbolic tensor, or an ``Input`` wrapping a tensor no layer produced.

    Example:
        >>> image_input((224, 224, 3)).shape
        (None, 224, 224, 3)
    """
    from polykeras.backend import is_keras_tensor
    from polykeras.layers import Input

    if input_tensor is None:
        return Input(shape=input_shape)
    if not is_keras_tensor(input_tensor):
        return Input(tensor=input_tensor, shape=input_shape)
    return input_tensor


def model_inputs(input_tensor: Any, img_input: Any) -> Any:
    """The inputs of the finished model: ``input_tensor``'s source inputs
    when one was given, else ``img_input``.

    Example:
        >>> model_inputs(None, x) is x
        True
    """
    if input_tensor is None:
        return img_input
    from polykeras.utils import get_source_inputs

    return get_source_inputs(input_tensor)


def pooled(x: Any, pooling: str | None) -> Any:
    """The headless model's last feature map, or its global "avg"/"max"
    pooling (Keras's layer names ``avg_pool``/``max_pool``).

    Example:
        >>> pooled(features, "avg").shape
        (None, 2048)
    """
    from polykeras import layers

    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


def load_weights(model: Any, weights: Any, fname: str | None = None, file_hash: str | None = None,
                 base_url: str = "", cache_subdir: str = "models") -> None:
    """Load ``weights`` into a built application: "imagenet" downloads
    ``base_url + fname`` through ``get_file`` (cached under
    ``~/.keras/<cache_subdir>``, checked against ``file_hash``); a path is
    loaded as it is; None loads nothing.

    Example:
        >>> load_weights(model, "imagenet", "resnet50_weights_tf_dim_ordering_tf_kernels.h5",
        ...              "2cb95161c43110f7111970584f804107", base_url=RESNET_URL)
    """
    if weights is None:
        return
    if weights == "imagenet":
        if fname is None:
            raise ValueError(f"{model.name}: no ImageNet weights are known for this configuration.")
        path = get_file(fname, base_url + fname, cache_subdir=cache_subdir, file_hash=file_hash)
        model.load_weights(path)
        return
    model.load_weights(weights)


__all__ = ["decode_predictions", "preprocess_input"]
