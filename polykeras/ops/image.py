"""Image ops (``keras.ops.image``): resizing, cropping and padding, colour
space conversions. Images are rank 3 ``(height, width, channels)`` or rank 4
``(batch, height, width, channels)``, channels-last unless ``data_format``
(default ``keras.config.image_data_format()``) says ``"channels_first"``.

Each op composes other ops (``@op(body=True)``), so it runs, differentiates
and compiles on every engine. Resizing is a pair of fixed sampling matrices
built on the host (half-pixel centres, the kernels and antialiasing of
``jax.image.scale_and_translate``, which Keras 3 follows) applied with
``tensordot``.

Example:
    >>> from polykeras.ops import image
    >>> ops.shape(image.resize(np.ones((2, 8, 8, 3), "float32"), (4, 6)))
    (2, 4, 6, 3)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.backends.dtypes import is_float
from polykeras.config import image_data_format
from polykeras.ops._dispatch import OpError, op

__all__ = ["affine_transform", "crop_images", "elastic_transform", "extract_patches", "extract_patches_3d",
           "gaussian_blur", "hsv_to_rgb", "map_coordinates", "pad_images", "perspective_transform", "resize",
           "rgb_to_grayscale", "rgb_to_hsv", "scale_and_translate", "sobel_edges", "ssim"]

Tensor = Any
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")


def _format(data_format: str | None, who: str) -> str:
    data_format = image_data_format() if data_format is None else data_format
    if data_format not in ("channels_last", "channels_first"):
        raise OpError(f"image.{who}: expected data_format 'channels_last' or 'channels_first', received "
                      f"data_format={data_format!r}.")
    return data_format


def _rank(images: Tensor, who: str) -> int:
    rank = len(ops.shape(images))
    if rank not in (3, 4):
        raise OpError(f"image.{who}: expected images of rank 3 (height, width, channels) or 4 (batch, height, "
                      f"width, channels), received images of shape {tuple(ops.shape(images))}.")
    return rank


def _hw_axes(rank: int, data_format: str) -> tuple[int, int]:
    return (rank - 3, rank - 2) if data_format == "channels_last" else (rank - 2, rank - 1)


def _channel_axis(rank: int, data_format: str) -> int:
    return rank - 1 if data_format == "channels_last" else rank - 3


# ---------------------------------------------------------------- resizing
def _kernel(name: str, x: np.ndarray) -> np.ndarray:
    if name == "bilinear":
        return np.maximum(0.0, 1.0 - x)
    if name == "bicubic":  # Keys, a = -0.5
        near = ((1.5 * x - 2.5) * x) * x + 1.0
        far = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
        return np.where(x >= 2.0, 0.0, np.where(x >= 1.0, far, near))
    radius = 3.0 if name == "lanczos3" else 5.0
    with np.errstate(divide="ignore", invalid="ignore"):
        out = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius) / (np.pi ** 2 * x ** 2)
    return np.where(x > radius, 0.0, np.where(x < 1e-3, 1.0, out))


def _sampling_matrix(in_size: int, out_size: int, interpolation: str, antialias: bool) -> np.ndarray:
    """The ``(out_size, in_size)`` float64 matrix resizing one axis:
    half-pixel centres, kernel weights normalised per output pixel, the
    kernel widened by the downscale factor when ``antialias``.
    Example: ``_sampling_matrix(4, 2, "bilinear", False)``"""
    if interpolation == "nearest":
        matrix = np.zeros((out_size, in_size))
        source = np.minimum(np.floor((np.arange(out_size) + 0.5) * in_size / out_size), in_size - 1).astype(int)
        matrix[np.arange(out_size), source] = 1.0
        return matrix
    scale = out_size / in_size
    kernel_scale = max(1.0 / scale, 1.0) if antialias else 1.0
    sample = (np.arange(out_size) + 0.5) / scale - 0.5
    weights = _kernel(interpolation, np.abs(sample[:, None] - np.arange(in_size)[None, :]) / kernel_scale)
    total = weights.sum(axis=1, keepdims=True)
    weights = np.where(np.abs(total) > 1000 * np.finfo(np.float32).eps, weights / np.where(total != 0, total, 1), 0)
    inside = (sample >= -0.5) & (sample <= in_size - 0.5)
    return np.where(inside[:, None], weights, 0.0)


def _aspect_crop(height: int, width: int, target_h: int, target_w: int) -> tuple[int, int, int, int]:
    crop_h = max(min(height, int(float(width * target_h) / target_w)), 1)
    crop_w = max(min(width, int(float(height * target_w) / target_h)), 1)
    return int(float(height - crop_h) / 2), int(float(width - crop_w) / 2), crop_h, crop_w


def _slice_hw(images: Tensor, axes: tuple[int, int], top: int, left: int, height: int, width: int) -> Tensor:
    shape = list(ops.shape(images))
    start = [0] * len(shape)
    start[axes[0]], start[axes[1]] = top, left
    shape[axes[0]], shape[axes[1]] = height, width
    return ops.slice(images, start, shape)


@op("float or integer images of rank 3 or 4 and a size (height, width)", body=True)
def resize(images: Tensor, size: Sequence[int], interpolation: str = "bilinear", antialias: bool = False,
           crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False, fill_mode: str = "constant",
           fill_value: float = 0.0, data_format: str | None = None) -> Tensor:
    """Resize images to ``size = (height, width)`` with ``interpolation`` in
    ``"bilinear"``, ``"nearest"``, ``"bicubic"``, ``"lanczos3"``,
    ``"lanczos5"``; ``antialias`` widens the kernel when shrinking.
    ``crop_to_aspect_ratio`` first takes the largest centred window of the
    target's aspect ratio; ``pad_to_aspect_ratio`` pads with ``fill_value``
    instead. Integer images come back rounded and clipped to their dtype.
    Example: ``image.resize(x, (224, 224))``"""
    data_format = _format(data_format, "resize")
    rank = _rank(images, "resize")
    if interpolation not in INTERPOLATIONS:
        raise OpError(f"image.resize: expected interpolation in {INTERPOLATIONS}, received "
                      f"interpolation={interpolation!r}.")
    if not isinstance(size, (list, tuple)) or len(size) != 2 or not all(
            isinstance(s, (int, np.integer)) and s > 0 for s in size):
        raise OpError(f"image.resize: expected size as two positive ints (height, width), received size={size!r}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise OpError("image.resize: expected at most one of crop_to_aspect_ratio and pad_to_aspect_ratio, "
                      "received both True.")
    if fill_mode != "constant":
        raise OpError(f"image.resize: expected fill_mode='constant', received fill_mode={fill_mode!r}.")
    height, width = int(size[0]), int(size[1])
    dtype = ops.dtype(images)
    out = images if is_float(dtype) else ops.cast(images, "float32")
    axes = _hw_axes(rank, data_format)
    in_h, in_w = (int(ops.shape(out)[a]) for a in axes)
    if crop_to_aspect_ratio:
        top, left, in_h, in_w = _aspect_crop(in_h, in_w, height, width)
        out = _slice_hw(out, axes, top, left, in_h, in_w)
    elif pad_to_aspect_ratio:
        pad_h = max(in_h, int(float(in_w * height) / width))
        pad_w = max(in_w, int(float(in_h * width) / height))
        top, left = int(float(pad_h - in_h) / 2), int(float(pad_w - in_w) / 2)
        widths = [(0, 0)] * rank
        if top > 0:
            widths[axes[0]] = (top, top)
            in_h += 2 * top
        elif left > 0:
            widths[axes[1]] = (left, left)
            in_w += 2 * left
        if top > 0 or left > 0:
            out = ops.pad(out, widths, constant_values=fill_value)
    for axis, in_size, out_size in ((axes[0], in_h, height), (axes[1], in_w, width)):
        if in_size == out_size:
            continue
        if interpolation == "nearest":
            source = np.minimum(np.floor((np.arange(out_size) + 0.5) * in_size / out_size), in_size - 1)
            out = ops.take(out, ops.convert_to_tensor(source.astype("int32")), axis=axis)
        else:
            matrix = ops.convert_to_tensor(_sampling_matrix(in_size, out_size, interpolation, antialias),
                                           ops.dtype(out))
            out = ops.moveaxis(ops.tensordot(matrix, out, axes=[[1], [axis]]), 0, axis)
    if is_float(dtype):
        return out
    info = np.iinfo(dtype)
    return ops.cast(ops.clip(ops.round(out), float(info.min), float(info.max)), dtype)


# ------------------------------------------------------- cropping, padding
@op("images of rank 3 or 4 and two of each pair of top/bottom/target_height, left/right/target_width", body=True)
def crop_images(images: Tensor, top_cropping: int | None = None, left_cropping: int | None = None,
                bottom_cropping: int | None = None, right_cropping: int | None = None,
                target_height: int | None = None, target_width: int | None = None,
                data_format: str | None = None) -> Tensor:
    """Crop a box: give two of ``top_cropping``/``bottom_cropping``/
    ``target_height`` and two of ``left_cropping``/``right_cropping``/
    ``target_width`` (a missing ``top``/``left`` counts as 0 when the other
    two are given, as Keras). Example: ``image.crop_images(x, 1, 2, target_height=4, target_width=4)``"""
    data_format = _format(data_format, "crop_images")
    rank = _rank(images, "crop_images")
    axes = _hw_axes(rank, data_format)
    height, width = (int(ops.shape(images)[a]) for a in axes)
    top, kept_h = _crop_side(top_cropping, bottom_cropping, target_height, height, "top_cropping",
                             "bottom_cropping", "target_height", "crop_images")
    left, kept_w = _crop_side(left_cropping, right_cropping, target_width, width, "left_cropping",
                              "right_cropping", "target_width", "crop_images")
    return _slice_hw(images, axes, top, left, kept_h, kept_w)


def _crop_side(before: Any, after: Any, target: Any, size: int, n_before: str, n_after: str, n_target: str,
               who: str) -> tuple[int, int]:
    """``(start, kept)`` along one axis."""
    if before is None:
        before = 0 if (after is None or target is None) else size - after - target
    if target is None:
        if after is None:
            raise OpError(f"image.{who}: expected {n_after} or {n_target}, received neither.")
        target = size - before - after
    elif after is not None and before + after + target != size:
        raise OpError(f"image.{who}: {n_before}={before} + {n_after}={after} + {n_target}={target} must equal "
                      f"the image size {size}.")
    if before < 0 or target <= 0 or before + target > size:
        raise OpError(f"image.{who}: expected a box inside the image size {size}, received {n_before}={before}, "
                      f"{n_target}={target}.")
    return int(before), int(target)


@op("images of rank 3 or 4 and two of each pair of top/bottom/target_height, left/right/target_width", body=True)
def pad_images(images: Tensor, top_padding: int | None = None, left_padding: int | None = None,
               bottom_padding: int | None = None, right_padding: int | None = None,
               target_height: int | None = None, target_width: int | None = None,
               data_format: str | None = None) -> Tensor:
    """Pad with zeros: give two of ``top_padding``/``bottom_padding``/
    ``target_height`` and two of ``left_padding``/``right_padding``/
    ``target_width``. Example: ``image.pad_images(x, 1, 1, target_height=8, target_width=8)``"""
    data_format = _format(data_format, "pad_images")
    rank = _rank(images, "pad_images")
    axes = _hw_axes(rank, data_format)
    height, width = (int(ops.shape(images)[a]) for a in axes)
    widths = [(0, 0)] * rank
    for axis, size, before, after, target, names in (
            (axes[0], height, top_padding, bottom_padding, target_height,
             ("top_padding", "bottom_padding", "target_height")),
            (axes[1], width, left_padding, right_padding, target_width,
             ("left_padding", "right_padding", "target_width"))):
        if before is None:
            before = 0 if (after is None or target is None) else target - size - after
        if after is None:
            if target is None:
                raise OpError(f"image.pad_images: expected {names[1]} or {names[2]}, received neither.")
            after = target - size - before
        elif target is not None and before + size + after != target:
            raise OpError(f"image.pad_images: {names[0]}={before} + the image size {size} + {names[1]}={after} "
                          f"must equal {names[2]}={target}.")
        if before < 0 or after < 0:
            raise OpError(f"image.pad_images: expected non-negative padding, received {names[0]}={before}, "
                          f"{names[1]}={after} for an image size {size}.")
        widths[axis] = (int(before), int(after))
    return ops.pad(images, widths)


# ------------------------------------------------------------------ colour
@op("RGB images of rank 3 or 4 with 3 channels", body=True)
def rgb_to_grayscale(images: Tensor, data_format: str | None = None) -> Tensor:
    """``0.2989 R + 0.587 G + 0.114 B``, keeping a channel axis of size 1.
    Example: ``image.rgb_to_grayscale(x)``"""
    data_format = _format(data_format, "rgb_to_grayscale")
    rank = _rank(images, "rgb_to_grayscale")
    axis = _channel_axis(rank, data_format)
    _three_channels(images, axis, "rgb_to_grayscale")
    dtype = ops.dtype(images)
    x = images if is_float(dtype) else ops.cast(images, "float32")
    weights = ops.convert_to_tensor(np.array([0.2989, 0.5870, 0.1140]), ops.dtype(x))
    gray = ops.expand_dims(ops.tensordot(x, weights, axes=[[axis], [0]]), axis)
    return gray if is_float(dtype) else ops.cast(gray, dtype)


def _three_channels(images: Tensor, axis: int, who: str) -> None:
    if ops.shape(images)[axis] != 3:
        raise OpError(f"image.{who}: expected 3 channels on axis {axis}, received images of shape "
                      f"{tuple(ops.shape(images))}.")


@op("float RGB images in [0, 1] of rank 3 or 4 with 3 channels", body=True)
def rgb_to_hsv(images: Tensor, data_format: str | None = None) -> Tensor:
    """RGB in ``[0, 1]`` to HSV, each in ``[0, 1]``. Example: ``image.rgb_to_hsv(x)``"""
    data_format = _format(data_format, "rgb_to_hsv")
    rank = _rank(images, "rgb_to_hsv")
    axis = _channel_axis(rank, data_format)
    _three_channels(images, axis, "rgb_to_hsv")
    if not is_float(ops.dtype(images)):
        raise OpError(f"image.rgb_to_hsv: expected float images, received dtype {ops.dtype(images)}.")
    r, g, b = ops.unstack(images, axis=axis)
    value = ops.maximum(ops.maximum(r, g), b)
    minimum = ops.minimum(ops.minimum(r, g), b)
    delta = ops.subtract(value, minimum)
    eps = 1e-7
    saturation = ops.where(ops.greater(value, 0), ops.divide(delta, ops.maximum(value, eps)), 0.0)
    safe = ops.maximum(delta, eps)
    hue = ops.where(ops.equal(value, r), ops.divide(ops.subtract(g, b), safe),
                    ops.where(ops.equal(value, g), ops.add(ops.divide(ops.subtract(b, r), safe), 2.0),
                              ops.add(ops.divide(ops.subtract(r, g), safe), 4.0)))
    hue = ops.where(ops.greater(delta, 0), hue, 0.0)
    hue = ops.mod(ops.divide(hue, 6.0), 1.0)
    return ops.stack([hue, saturation, value], axis=axis)


@op("float HSV images in [0, 1] of rank 3 or 4 with 3 channels", body=True)
def hsv_to_rgb(images: Tensor, data_format: str | None = None) -> Tensor:
    """HSV in ``[0, 1]`` to RGB. Example: ``image.hsv_to_rgb(image.rgb_to_hsv(x))``"""
    data_format = _format(data_format, "hsv_to_rgb")
    rank = _rank(images, "hsv_to_rgb")
    axis = _channel_axis(rank, data_format)
    _three_channels(images, axis, "hsv_to_rgb")
    if not is_float(ops.dtype(images)):
        raise OpError(f"image.hsv_to_rgb: expected float images, received dtype {ops.dtype(images)}.")
    hue, saturation, value = ops.unstack(images, axis=axis)
    channels = []
    for n in (5.0, 3.0, 1.0):
        k = ops.mod(ops.add(ops.multiply(hue, 6.0), n), 6.0)
        ramp = ops.clip(ops.minimum(k, ops.subtract(4.0, k)), 0.0, 1.0)
        channels.append(ops.subtract(value, ops.multiply(ops.multiply(value, saturation), ramp)))
    return ops.stack(channels, axis=axis)


# ------------------------------------------------------ sampling, warping
FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def _fix_index(index: Tensor, size: int, fill_mode: str) -> Tensor:
    """Integer source indices mapped inside ``[0, size)`` by ``fill_mode``
    (``constant`` is handled by the caller's validity mask)."""
    if fill_mode == "nearest" or fill_mode == "constant":
        return ops.clip(index, 0, size - 1)
    if fill_mode == "wrap":
        return ops.mod(index, size)
    if fill_mode == "mirror":  # d c b | a b c d | c b a
        if size == 1:
            return ops.zeros_like(index)
        period = 2 * (size - 1)
        return ops.subtract(size - 1, ops.abs(ops.subtract(ops.mod(index, period), size - 1)))
    # reflect: d c b a | a b c d | d c b a
    period = 2 * size
    folded = ops.mod(index, period)
    return ops.where(ops.less(folded, size), folded, ops.subtract(period - 1, folded))


def _sample(inputs: Tensor, coordinates: Sequence[Tensor], order: int, fill_mode: str, fill_value: float,
            exact: Sequence[bool] = ()) -> Tensor:
    """``inputs`` (rank N) read at ``coordinates`` (N float tensors of one
    shape): nearest (``order=0``) or multilinear (``order=1``) with scipy's
    fill modes; axes marked ``exact`` hold integer coordinates (no blend)."""
    shape = [int(s) for s in ops.shape(inputs)]
    strides = [int(np.prod(shape[d + 1:])) for d in range(len(shape))]
    flat = ops.reshape(inputs, (-1,))
    dtype = ops.dtype(inputs)
    exact = list(exact) + [False] * (len(shape) - len(exact))
    # per axis: a list of (integer index, weight or None)
    corners_per_axis = []
    for d, coordinate in enumerate(coordinates):
        if exact[d]:
            corners_per_axis.append([(ops.cast(coordinate, "int32"), None)])
        elif order == 0:
            corners_per_axis.append([(ops.cast(ops.round(coordinate), "int32"), None)])
        else:
            low = ops.floor(coordinate)
            frac = ops.cast(ops.subtract(coordinate, low), dtype)
            low = ops.cast(low, "int32")
            corners_per_axis.append([(low, ops.subtract(1.0, frac)), (ops.add(low, 1), frac)])
    out = None
    for corner in itertools.product(*corners_per_axis):
        index = None
        valid = None
        weight = None
        for d, (idx, w) in enumerate(corner):
            if fill_mode == "constant":
                inside = ops.logical_and(ops.greater_equal(idx, 0), ops.less(idx, shape[d]))
                valid = inside if valid is None else ops.logical_and(valid, inside)
            term = ops.multiply(_fix_index(idx, shape[d], fill_mode), strides[d])
            index = term if index is None else ops.add(index, term)
            if w is not None:
                weight = w if weight is None else ops.multiply(weight, w)
        value = ops.take(flat, index)
        if valid is not None:
            value = ops.where(valid, value, ops.cast(fill_value, dtype))
        if weight is not None:
            value = ops.multiply(value, weight)
        out = value if out is None else ops.add(out, value)
    return out


@op("an input tensor, coordinates of shape (input rank, ...), order 0 or 1 and a known fill_mode", body=True)
def map_coordinates(inputs: Tensor, coordinates: Tensor, order: int, fill_mode: str = "constant",
                    fill_value: float = 0) -> Tensor:
    """``inputs`` read at ``coordinates[:, ...]`` (one row of coordinates
    per input axis), nearest (``order=0``) or linear (``order=1``); points
    outside follow ``fill_mode`` (``constant`` gives ``fill_value``;
    ``nearest``, ``wrap``, ``mirror``, ``reflect`` as scipy).
    Example: ``image.map_coordinates(x, np.stack([rows, cols]), order=1)``"""
    rank = len(ops.shape(inputs))
    if order not in (0, 1):
        raise OpError(f"image.map_coordinates: expected order 0 or 1, received order={order!r}.")
    if fill_mode not in FILL_MODES:
        raise OpError(f"image.map_coordinates: expected fill_mode in {FILL_MODES}, received fill_mode={fill_mode!r}.")
    if len(ops.shape(coordinates)) < 1 or ops.shape(coordinates)[0] != rank:
        raise OpError(f"image.map_coordinates: expected coordinates whose first axis is the input rank {rank}, "
                      f"received coordinates of shape {tuple(ops.shape(coordinates))}.")
    dtype = ops.dtype(inputs)
    x = inputs if is_float(dtype) else ops.cast(inputs, "float32")
    coords = ops.cast(coordinates, ops.dtype(x))
    out = _sample(x, [coords[i] for i in range(rank)], order, fill_mode, fill_value)
    return out if is_float(dtype) else ops.cast(ops.round(out), dtype)


@op("images of rank 3 or 4 and transforms of shape (8,) or (batch, 8)", body=True)
def affine_transform(images: Tensor, transform: Tensor, interpolation: str = "bilinear",
                     fill_mode: str = "constant", fill_value: float = 0, data_format: str | None = None) -> Tensor:
    """Warp each image by a projective transform ``[a0, a1, a2, b0, b1, b2,
    c0, c1]`` mapping each output point ``(x, y)`` to the input point
    ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)``, ``k = c0 x + c1 y + 1``;
    ``interpolation`` ``"nearest"`` or ``"bilinear"``, points outside
    filled per ``fill_mode``. Example: ``image.affine_transform(x, [1, 0, 2, 0, 1, 0, 0, 0])`` shifts right by 2"""
    data_format = _format(data_format, "affine_transform")
    rank = _rank(images, "affine_transform")
    if interpolation not in ("nearest", "bilinear"):
        raise OpError(f"image.affine_transform: expected interpolation 'nearest' or 'bilinear', received "
                      f"interpolation={interpolation!r}.")
    if fill_mode not in FILL_MODES:
        raise OpError(f"image.affine_transform: expected fill_mode in {FILL_MODES}, received "
                      f"fill_mode={fill_mode!r}.")
    transform = ops.convert_to_tensor(transform, "float32") if not hasattr(transform, "shape") else transform
    t_shape = tuple(ops.shape(transform))
    if t_shape[-1:] != (8,) or len(t_shape) not in (1, 2):
        raise OpError(f"image.affine_transform: expected transform of shape (8,) or (batch, 8), received "
                      f"transform of shape {t_shape}.")
    dtype = ops.dtype(images)
    x = images if is_float(dtype) else ops.cast(images, "float32")
    if rank == 3:
        x = ops.expand_dims(x, 0)
    if data_format == "channels_first":
        x = ops.transpose(x, (0, 2, 3, 1))
    batch, height, width, channels = (int(s) for s in ops.shape(x))
    coord_dtype = ops.dtype(x)  # float64 images sample at float64 points
    t = ops.cast(transform, coord_dtype)
    t = ops.broadcast_to(ops.reshape(t, (-1, 8)), (batch, 8))
    ys, xs = np.meshgrid(np.arange(height, dtype="float32"), np.arange(width, dtype="float32"), indexing="ij")
    ys = ops.convert_to_tensor(ys[None], coord_dtype)
    xs = ops.convert_to_tensor(xs[None], coord_dtype)
    a = [ops.reshape(t[:, i], (batch, 1, 1)) for i in range(8)]
    k = ops.add(ops.add(ops.multiply(a[6], xs), ops.multiply(a[7], ys)), 1.0)
    x_in = ops.divide(ops.add(ops.add(ops.multiply(a[0], xs), ops.multiply(a[1], ys)), a[2]), k)
    y_in = ops.divide(ops.add(ops.add(ops.multiply(a[3], xs), ops.multiply(a[4], ys)), a[5]), k)
    grid = (batch, height, width, channels)
    b_idx = ops.broadcast_to(ops.reshape(ops.arange(batch, dtype=coord_dtype), (batch, 1, 1, 1)), grid)
    c_idx = ops.broadcast_to(ops.reshape(ops.arange(channels, dtype=coord_dtype), (1, 1, 1, channels)), grid)
    y_in = ops.broadcast_to(ops.expand_dims(y_in, -1), grid)
    x_in = ops.broadcast_to(ops.expand_dims(x_in, -1), grid)
    out = _sample(x, [b_idx, y_in, x_in, c_idx], 0 if interpolation == "nearest" else 1, fill_mode, fill_value,
                  exact=(True, False, False, True))
    if data_format == "channels_first":
        out = ops.transpose(out, (0, 3, 1, 2))
    if rank == 3:
        out = ops.squeeze(out, 0)
    return out if is_float(dtype) else ops.cast(ops.round(out), dtype)


# ------------------------------------------------------ patches, blurring
def _pair(value: Any, name: str, who: str) -> tuple[int, int]:
    values = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != 2 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in values):
        raise OpError(f"image.{who}: expected {name} as a positive int or two positive ints, received "
                      f"{name}={value!r}.")
    return int(values[0]), int(values[1])


@op("images of rank 3 or 4 and a patch size (int or two ints)", body=True)
def extract_patches(images: Tensor, size: int | Sequence[int], strides: int | Sequence[int] | None = None,
                    dilation_rate: int | Sequence[int] = 1, padding: str = "valid",
                    data_format: str | None = None) -> Tensor:
    """Patches of ``size = (height, width)`` every ``strides`` (default
    ``size``) pixels, each flattened in (row, column, channel) order onto the
    channel axis: ``(batch, rows, cols, height * width * channels)``.
    Example: ``image.extract_patches(x, 4)``"""
    data_format = _format(data_format, "extract_patches")
    rank = _rank(images, "extract_patches")
    patch_h, patch_w = _pair(size, "size", "extract_patches")
    strides = (patch_h, patch_w) if not strides else _pair(strides, "strides", "extract_patches")
    channels = int(ops.shape(images)[_channel_axis(rank, data_format)])
    depth = patch_h * patch_w * channels
    kernel = ops.convert_to_tensor(np.eye(depth).reshape(patch_h, patch_w, channels, depth), ops.dtype(images))
    x = ops.expand_dims(images, 0) if rank == 3 else images
    out = ops.conv(x, kernel, strides=strides, padding=padding, data_format=data_format,
                   dilation_rate=dilation_rate)
    return ops.squeeze(out, 0) if rank == 3 else out


def _gaussian_1d(size: int, sigma: float) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


@op("images of rank 3 or 4, kernel_size and sigma as two numbers each", body=True)
def gaussian_blur(images: Tensor, kernel_size: Sequence[int] = (3, 3), sigma: Sequence[float] = (1.0, 1.0),
                  data_format: str | None = None) -> Tensor:
    """Blur each channel with a separable Gaussian over zero-padded edges (the
    output keeps the input's size). As Keras 3, ``kernel_size[0]`` and
    ``sigma[0]`` shape the kernel's width, ``[1]`` its height.
    Example: ``image.gaussian_blur(x, (5, 5), (1.5, 1.5))``"""
    data_format = _format(data_format, "gaussian_blur")
    rank = _rank(images, "gaussian_blur")
    size_w, size_h = _pair(kernel_size, "kernel_size", "gaussian_blur")
    if not isinstance(sigma, (list, tuple)) or len(sigma) != 2 or not all(float(s) > 0 for s in sigma):
        raise OpError(f"image.gaussian_blur: expected sigma as two positive numbers, received sigma={sigma!r}.")
    dtype = ops.dtype(images)
    x = images if is_float(dtype) else ops.cast(images, "float32")
    x = ops.expand_dims(x, 0) if rank == 3 else x
    channel_axis = 3 if data_format == "channels_last" else 1
    channels = int(ops.shape(x)[channel_axis])
    kernel2d = np.outer(_gaussian_1d(size_h, float(sigma[1])), _gaussian_1d(size_w, float(sigma[0])))
    kernel = ops.convert_to_tensor(np.tile(kernel2d[:, :, None, None], (1, 1, channels, 1)), ops.dtype(x))
    widths = [(0, 0)] * 4
    h_axis, w_axis = (1, 2) if data_format == "channels_last" else (2, 3)
    widths[h_axis] = ((size_h - 1) // 2, size_h - 1 - (size_h - 1) // 2)
    widths[w_axis] = ((size_w - 1) // 2, size_w - 1 - (size_w - 1) // 2)
    out = ops.depthwise_conv(ops.pad(x, widths), kernel, padding="valid", data_format=data_format)
    out = ops.squeeze(out, 0) if rank == 3 else out
    return out if is_float(dtype) else ops.cast(ops.round(out), dtype)


# ------------------------------------------------------ edges, similarity
def _reflect_pad1(x: Tensor, axes: tuple[int, int]) -> Tensor:
    """``x`` padded by one pixel on each side of both ``axes``, edge pixels
    repeated (scipy's ``reflect``: ``a | a b c | c``)."""
    for axis in axes:
        size = int(ops.shape(x)[axis])
        index = np.concatenate([[0], np.arange(size), [size - 1]]).astype("int32")
        x = ops.take(x, ops.convert_to_tensor(index), axis=axis)
    return x


def _shifted(x: Tensor, axis: int, start: int, size: int) -> Tensor:
    begin = [0] * len(ops.shape(x))
    shape = list(ops.shape(x))
    begin[axis], shape[axis] = start, size
    return ops.slice(x, begin, shape)


@op("images of rank 3 or 4", body=True)
def sobel_edges(images: Tensor, data_format: str | None = None) -> Tensor:
    """Sobel gradients of each channel (edges reflected), stacked on a new
    last axis as ``[dy, dx]``: ``(batch, height, width, channels, 2)``
    (``(batch, channels, height, width, 2)`` channels-first).
    Example: ``image.sobel_edges(x)[..., 1]`` is the horizontal gradient"""
    data_format = _format(data_format, "sobel_edges")
    rank = _rank(images, "sobel_edges")
    dtype = ops.dtype(images)
    x = images if is_float(dtype) else ops.cast(images, "float32")
    row, col = _hw_axes(rank, data_format)
    height, width = int(ops.shape(x)[row]), int(ops.shape(x)[col])
    padded = _reflect_pad1(x, (row, col))

    def smooth(t: Tensor, axis: int, size: int) -> Tensor:  # [1, 2, 1]
        middle = ops.multiply(_shifted(t, axis, 1, size), 2.0)
        return ops.add(ops.add(_shifted(t, axis, 0, size), middle), _shifted(t, axis, 2, size))

    def derive(t: Tensor, axis: int, size: int) -> Tensor:  # [-1, 0, 1]
        return ops.subtract(_shifted(t, axis, 2, size), _shifted(t, axis, 0, size))

    dy = smooth(derive(padded, row, height), col, width)
    dx = derive(smooth(padded, row, height), col, width)
    out = ops.stack([dy, dx], axis=-1)
    return out if is_float(dtype) else ops.cast(out, dtype)


@op("two images of one shape, rank 3 or 4, each side at least filter_size", body=True)
def ssim(image1: Tensor, image2: Tensor, max_val: float = 1.0, filter_size: int = 11, filter_sigma: float = 1.5,
         k1: float = 0.01, k2: float = 0.03, data_format: str | None = None) -> Tensor:
    """Structural similarity of two images, averaged over the valid
    ``filter_size`` Gaussian windows and the channels: one value per image.
    Example: ``image.ssim(x, y, max_val=255.0)``"""
    data_format = _format(data_format, "ssim")
    rank = _rank(image1, "ssim")
    if tuple(ops.shape(image1)) != tuple(ops.shape(image2)):
        raise OpError(f"image.ssim: expected image1 and image2 of one shape, received shapes "
                      f"{tuple(ops.shape(image1))} and {tuple(ops.shape(image2))}.")
    if not isinstance(filter_size, (int, np.integer)) or filter_size < 1 or float(filter_sigma) <= 0:
        raise OpError(f"image.ssim: expected a positive int filter_size and a positive filter_sigma, received "
                      f"filter_size={filter_size!r}, filter_sigma={filter_sigma!r}.")
    row, col = _hw_axes(rank, data_format)
    if min(int(ops.shape(image1)[row]), int(ops.shape(image1)[col])) < filter_size:
        raise OpError(f"image.ssim: expected height and width of at least filter_size={filter_size}, received "
                      f"images of shape {tuple(ops.shape(image1))}.")
    dtype = ops.dtype(image1)
    compute = dtype if is_float(dtype) else "float32"
    a, b = ops.cast(image1, compute), ops.cast(image2, compute)
    if rank == 3:
        a, b = ops.expand_dims(a, 0), ops.expand_dims(b, 0)
    if data_format == "channels_last":
        a, b = ops.transpose(a, (0, 3, 1, 2)), ops.transpose(b, (0, 3, 1, 2))
    batch, channels, height, width = (int(s) for s in ops.shape(a))
    a = ops.reshape(a, (batch * channels, height, width, 1))
    b = ops.reshape(b, (batch * channels, height, width, 1))
    g = _gaussian_1d(int(filter_size), float(filter_sigma))
    kernel = ops.convert_to_tensor(np.outer(g, g)[:, :, None, None], compute)

    def window_mean(t: Tensor) -> Tensor:
        return ops.conv(t, kernel, padding="valid", data_format="channels_last")

    mu1, mu2 = window_mean(a), window_mean(b)
    mu11, mu22, mu12 = ops.multiply(mu1, mu1), ops.multiply(mu2, mu2), ops.multiply(mu1, mu2)
    var1 = ops.subtract(window_mean(ops.multiply(a, a)), mu11)
    var2 = ops.subtract(window_mean(ops.multiply(b, b)), mu22)
    cov = ops.subtract(window_mean(ops.multiply(a, b)), mu12)
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    numerator = ops.multiply(ops.add(ops.multiply(mu12, 2.0), c1), ops.add(ops.multiply(cov, 2.0), c2))
    denominator = ops.multiply(ops.add(ops.add(mu11, mu22), c1), ops.add(ops.add(var1, var2), c2))
    per_channel = ops.mean(ops.divide(numerator, denominator), axis=(1, 2, 3))
    out = ops.mean(ops.reshape(per_channel, (batch, channels)), axis=-1)
    out = ops.squeeze(out, 0) if rank == 3 else out
    return ops.cast(out, dtype)


def _triple(value: Any, name: str, who: str) -> tuple[int, int, int]:
    values = (value,) * 3 if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != 3 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in values):
        raise OpError(f"image.{who}: expected {name} as a positive int or three positive ints, received "
                      f"{name}={value!r}.")
    return int(values[0]), int(values[1]), int(values[2])


@op("volumes of rank 4 or 5 and a patch size (int or three ints)", body=True)
def extract_patches_3d(volumes: Tensor, size: int | Sequence[int], strides: int | Sequence[int] | None = None,
                       dilation_rate: int | Sequence[int] = 1, padding: str = "valid",
                       data_format: str | None = None) -> Tensor:
    """Patches of ``size = (depth, height, width)`` every ``strides``
    (default ``size``) voxels, each flattened in (depth, row, column,
    channel) order onto the channel axis.
    Example: ``image.extract_patches_3d(v, 2)`` on ``(1, 4, 4, 4, 3)`` gives ``(1, 2, 2, 2, 24)``"""
    data_format = _format(data_format, "extract_patches_3d")
    rank = len(ops.shape(volumes))
    if rank not in (4, 5):
        raise OpError(f"image.extract_patches_3d: expected volumes of rank 4 (depth, height, width, channels) or 5 "
                      f"(batch, depth, height, width, channels), received volumes of shape "
                      f"{tuple(ops.shape(volumes))}.")
    patch = _triple(size, "size", "extract_patches_3d")
    strides = patch if strides is None else _triple(strides, "strides", "extract_patches_3d")
    channels = int(ops.shape(volumes)[-1 if data_format == "channels_last" else -4])
    depth = int(np.prod(patch)) * channels
    kernel = ops.convert_to_tensor(np.eye(depth).reshape(*patch, channels, depth), ops.dtype(volumes))
    x = ops.expand_dims(volumes, 0) if rank == 4 else volumes
    out = ops.conv(x, kernel, strides=strides, padding=padding, data_format=data_format,
                   dilation_rate=dilation_rate)
    return ops.squeeze(out, 0) if rank == 4 else out


# ------------------------------------------------------ scale, translate
SCALE_AND_TRANSLATE_METHODS = ("linear", "bilinear", "trilinear", "cubic", "bicubic", "tricubic", "lanczos3",
                               "lanczos5")


def _kernel_tensor(method: str, x: Tensor) -> Tensor:
    """The resampling kernel at distances ``x >= 0``, in tensor ops (so a
    tensor scale or translation stays differentiable)."""
    if method == "linear":
        return ops.maximum(ops.subtract(1.0, x), 0.0)
    if method == "cubic":  # Keys, a = -0.5
        near = ops.add(ops.multiply(ops.multiply(ops.subtract(ops.multiply(x, 1.5), 2.5), x), x), 1.0)
        far = ops.add(ops.multiply(ops.subtract(ops.multiply(ops.add(ops.multiply(x, -0.5), 2.5), x), 4.0), x), 2.0)
        return ops.where(ops.greater_equal(x, 2.0), 0.0, ops.where(ops.greater_equal(x, 1.0), far, near))
    radius = 3.0 if method == "lanczos3" else 5.0
    safe = ops.where(ops.greater(x, 1e-3), x, 1.0)
    value = ops.divide(ops.multiply(ops.multiply(ops.sin(ops.multiply(safe, np.pi)),
                                                 ops.sin(ops.multiply(safe, np.pi / radius))), radius),
                       ops.multiply(ops.square(safe), np.pi ** 2))
    return ops.where(ops.greater(x, radius), 0.0, ops.where(ops.greater(x, 1e-3), value, 1.0))


def _scale_matrix(in_size: int, out_size: int, scale: Tensor, translation: Tensor, method: str, antialias: bool,
                  dtype: str) -> Tensor:
    """The ``(in_size, out_size)`` weights resampling one axis: output pixel
    centre ``o + 0.5`` reads input point ``(o + 0.5 - translation) / scale``."""
    inverse = ops.divide(1.0, scale)
    kernel_scale = ops.maximum(inverse, 1.0) if antialias else 1.0
    sample = ops.subtract(ops.multiply(ops.subtract(ops.arange(out_size, dtype=dtype) + 0.5, translation), inverse),
                          0.5)
    distance = ops.abs(ops.subtract(ops.expand_dims(sample, 0), ops.expand_dims(ops.arange(in_size, dtype=dtype), 1)))
    weights = _kernel_tensor(method, ops.divide(distance, kernel_scale))
    total = ops.sum(weights, axis=0, keepdims=True)
    weights = ops.where(ops.greater(ops.abs(total), 1000.0 * float(np.finfo(np.float32).eps)),
                        ops.divide(weights, ops.where(ops.equal(total, 0.0), 1.0, total)), 0.0)
    inside = ops.logical_and(ops.greater_equal(sample, -0.5), ops.less_equal(sample, in_size - 0.5))
    return ops.where(ops.expand_dims(inside, 0), weights, 0.0)


@op("images, an output_shape of the images' rank, and one scale and translation per spatial dim", body=True)
def scale_and_translate(images: Tensor, output_shape: Sequence[int], scale: Tensor, translation: Tensor,
                        spatial_dims: Sequence[int], method: str, antialias: bool = True) -> Tensor:
    """Resample ``images`` to ``output_shape`` along ``spatial_dims``: the
    input point ``x`` lands at ``x * scale + translation`` (half-pixel
    centres), ``method`` a ``linear``/``cubic``/``lanczos3``/``lanczos5``
    kernel widened by ``1 / scale`` when shrinking with ``antialias``.
    Integer images come back rounded and clipped to their own range.
    Example: ``image.scale_and_translate(x, (1, 8, 8, 3), [2.0, 2.0], [0.0, 0.0], (1, 2), "linear")``"""
    if method not in SCALE_AND_TRANSLATE_METHODS:
        raise OpError(f"image.scale_and_translate: expected method in {SCALE_AND_TRANSLATE_METHODS}, received "
                      f"method={method!r}.")
    kernel = {"bilinear": "linear", "trilinear": "linear", "bicubic": "cubic", "tricubic": "cubic"}.get(method, method)
    in_shape = [int(s) for s in ops.shape(images)]
    rank = len(in_shape)
    if len(output_shape) != rank:
        raise OpError(f"image.scale_and_translate: expected output_shape of the images' rank {rank}, received "
                      f"output_shape={tuple(output_shape)!r}.")
    dims = [int(d) % rank for d in spatial_dims]
    n = len(dims)
    dtype = ops.dtype(images)
    compute = dtype if is_float(dtype) else "float32"
    scale, translation = (ops.cast(v, compute) if ops.is_tensor(v)  # host numbers keep float64 precision
                          else ops.convert_to_tensor(np.asarray(v, "float64"), compute) for v in (scale, translation))
    if tuple(ops.shape(scale)) != (n,) or tuple(ops.shape(translation)) != (n,):
        raise OpError(f"image.scale_and_translate: expected scale and translation of shape ({n},), one per spatial "
                      f"dim {tuple(dims)}, received shapes {tuple(ops.shape(scale))} and "
                      f"{tuple(ops.shape(translation))}.")
    for d in range(rank):
        if d not in dims and int(output_shape[d]) != in_shape[d]:
            raise OpError(f"image.scale_and_translate: output_shape[{d}]={output_shape[d]} differs from the images' "
                          f"size {in_shape[d]} on a dim not in spatial_dims={tuple(spatial_dims)}.")
    out = images if is_float(dtype) else ops.cast(images, compute)
    for i, d in enumerate(dims):
        matrix = _scale_matrix(in_shape[d], int(output_shape[d]), scale[i], translation[i], kernel, antialias,
                               compute)
        out = ops.moveaxis(ops.tensordot(out, matrix, axes=[[d], [0]]), -1, d)
    if is_float(dtype):
        return out
    low, high = ops.cast(ops.min(images), compute), ops.cast(ops.max(images), compute)
    return ops.cast(ops.clip(ops.round(out), low, high), dtype)


# ------------------------------------------------------------ perspective
def _homography(start_points: Tensor, end_points: Tensor) -> Tensor:
    """The ``(batch, 8)`` projective transforms taking each end point (an
    output pixel) to its start point (where it reads the input)."""
    from polykeras.ops import linalg

    sx, sy = start_points[..., 0], start_points[..., 1]  # (batch, 4)
    ex, ey = end_points[..., 0], end_points[..., 1]
    one, zero = ops.ones_like(ex), ops.zeros_like(ex)
    x_rows = ops.stack([ex, ey, one, zero, zero, zero, ops.negative(ops.multiply(sx, ex)),
                        ops.negative(ops.multiply(sx, ey))], axis=-1)  # (batch, 4, 8)
    y_rows = ops.stack([zero, zero, zero, ex, ey, one, ops.negative(ops.multiply(sy, ex)),
                        ops.negative(ops.multiply(sy, ey))], axis=-1)
    batch = int(ops.shape(start_points)[0])
    matrix = ops.reshape(ops.stack([x_rows, y_rows], axis=2), (batch, 8, 8))  # rows x1, y1, x2, y2, ...
    target = ops.reshape(start_points, (batch, 8, 1))
    return ops.reshape(linalg.solve(matrix, target), (batch, 8))


@op("images of rank 3 or 4 and start_points, end_points of one shape (4, 2) or (batch, 4, 2)", body=True)
def perspective_transform(images: Tensor, start_points: Tensor, end_points: Tensor, interpolation: str = "bilinear",
                          fill_value: float = 0, data_format: str | None = None) -> Tensor:
    """Warp each image so the quadrilateral ``start_points`` (four ``(x, y)``
    corners) lands on ``end_points``; points read from outside the image get
    ``fill_value``. Example: ``image.perspective_transform(x, corners, corners + 2.0)`` shifts by 2"""
    data_format = _format(data_format, "perspective_transform")
    _rank(images, "perspective_transform")
    if interpolation not in ("nearest", "bilinear"):
        raise OpError(f"image.perspective_transform: expected interpolation 'nearest' or 'bilinear', received "
                      f"interpolation={interpolation!r}.")
    compute = ops.dtype(images) if is_float(ops.dtype(images)) else "float32"
    points = []
    for name, value in (("start_points", start_points), ("end_points", end_points)):
        value = ops.cast(value, compute) if ops.is_tensor(value) else ops.convert_to_tensor(
            np.asarray(value, "float64"), compute)
        shape = tuple(ops.shape(value))
        if len(shape) not in (2, 3) or shape[-2:] != (4, 2):
            raise OpError(f"image.perspective_transform: expected {name} of shape (4, 2) or (batch, 4, 2), received "
                          f"{name} of shape {shape}.")
        points.append(ops.reshape(value, (-1, 4, 2)))
    if tuple(ops.shape(points[0])) != tuple(ops.shape(points[1])):
        raise OpError(f"image.perspective_transform: expected start_points and end_points of one shape, received "
                      f"{tuple(ops.shape(start_points))} and {tuple(ops.shape(end_points))}.")
    transform = _homography(points[0], points[1])
    return affine_transform(images, transform, interpolation=interpolation, fill_mode="constant",
                            fill_value=fill_value, data_format=data_format)


# ---------------------------------------------------------------- elastic
@op("images of rank 3 or 4, positive alpha and sigma, a known interpolation and fill_mode", body=True)
def elastic_transform(images: Tensor, alpha: float = 20.0, sigma: float = 5.0, interpolation: str = "bilinear",
                      fill_mode: str = "reflect", fill_value: float = 0.0, seed: Any = None,
                      data_format: str | None = None) -> Tensor:
    """Displace every pixel by a random field: standard normal draws times
    ``sigma``, blurred by a Gaussian of ``sigma`` (kernel ``int(6 sigma) | 1``
    wide), scaled by ``alpha``; one field per image, shared by its
    channels, sampled per ``interpolation`` with ``fill_mode``. ``seed``
    as the ``random`` ops (an int, a ``SeedGenerator`` or None).
    Example: ``image.elastic_transform(x, alpha=10.0, sigma=3.0, seed=0)``"""
    from polykeras.ops import random

    data_format = _format(data_format, "elastic_transform")
    rank = _rank(images, "elastic_transform")
    if interpolation not in ("nearest", "bilinear"):
        raise OpError(f"image.elastic_transform: expected interpolation 'nearest' or 'bilinear', received "
                      f"interpolation={interpolation!r}.")
    if fill_mode not in FILL_MODES:
        raise OpError(f"image.elastic_transform: expected fill_mode in {FILL_MODES}, received fill_mode={fill_mode!r}.")
    if not isinstance(alpha, (int, float, np.number)) or not isinstance(sigma, (int, float, np.number)) or \
            float(sigma) <= 0 or float(alpha) < 0:
        raise OpError(f"image.elastic_transform: expected a non-negative alpha and a positive sigma, received "
                      f"alpha={alpha!r}, sigma={sigma!r}.")
    dtype = ops.dtype(images)
    x = images if is_float(dtype) else ops.cast(images, "float32")
    x = ops.expand_dims(x, 0) if rank == 3 else x
    if data_format == "channels_first":
        x = ops.transpose(x, (0, 2, 3, 1))
    batch, height, width, channels = (int(s) for s in ops.shape(x))
    compute = ops.dtype(x)
    size = int(6 * float(sigma)) | 1
    field = ops.multiply(random.normal((2 * batch, height, width, 1), dtype=compute, seed=seed), float(sigma))
    field = gaussian_blur(field, (size, size), (float(sigma), float(sigma)), data_format="channels_last")
    field = ops.multiply(ops.reshape(field, (2, batch, height, width)), float(alpha))
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    grid = (batch, height, width, channels)
    y_in = ops.broadcast_to(ops.expand_dims(ops.add(field[1], ops.convert_to_tensor(rows, compute)), -1), grid)
    x_in = ops.broadcast_to(ops.expand_dims(ops.add(field[0], ops.convert_to_tensor(cols, compute)), -1), grid)
    b_idx = ops.broadcast_to(ops.reshape(ops.arange(batch, dtype=compute), (batch, 1, 1, 1)), grid)
    c_idx = ops.broadcast_to(ops.reshape(ops.arange(channels, dtype=compute), (1, 1, 1, channels)), grid)
    out = _sample(x, [b_idx, y_in, x_in, c_idx], 0 if interpolation == "nearest" else 1, fill_mode, fill_value,
                  exact=(True, False, False, True))
    if data_format == "channels_first":
        out = ops.transpose(out, (0, 3, 1, 2))
    out = ops.squeeze(out, 0) if rank == 3 else out
    return out if is_float(dtype) else ops.cast(ops.round(out), dtype)
