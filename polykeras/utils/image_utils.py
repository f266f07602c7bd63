"""Images as NumPy arrays and back, decoded and encoded by Pillow
(``pip install polykeras[image]``): ``load_img``, ``img_to_array``,
``array_to_img``, ``save_img``."""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np

#: Keras' interpolation names and the Pillow filter used for each.
_FILTERS = {"nearest": "NEAREST", "bilinear": "BILINEAR", "bicubic": "BICUBIC", "hamming": "HAMMING",
            "box": "BOX", "lanczos": "LANCZOS", "area": "BOX", "lanczos3": "LANCZOS", "lanczos5": "LANCZOS",
            "gaussian": "BILINEAR", "mitchellcubic": "BICUBIC"}
_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}


def pil() -> Any:
    """The ``PIL.Image`` module, or an error saying how to install Pillow."""
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError("Reading and writing images needs Pillow: pip install 'polykeras[image]' "
                          "(or pip install Pillow).") from error
    return Image


def _data_format(data_format: str | None) -> str:
    if data_format is None:
        from polykeras import config

        data_format = config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"expected data_format 'channels_last' or 'channels_first', received {data_format!r}.")
    return data_format


def resample_filter(interpolation: str) -> Any:
    """Pillow's resampling filter for a Keras interpolation name."""
    if interpolation not in _FILTERS:
        raise ValueError(f"expected interpolation one of {sorted(_FILTERS)}, received {interpolation!r}.")
    return getattr(pil().Resampling, _FILTERS[interpolation])


def _axis_weights(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear taps along one axis, half-pixel centers, no antialiasing
    (``tf.image.resize``'s and Keras' ``ops.image.resize``'s rule)."""
    scale = in_size / out_size
    position = (np.arange(out_size) + 0.5) * scale - 0.5
    floor = np.floor(position)
    lower = np.clip(floor, 0, in_size - 1).astype(int)
    upper = np.clip(np.ceil(position), 0, in_size - 1).astype(int)
    return lower, upper, (position - floor).astype("float32")


def resize_array(image: np.ndarray, height: int, width: int, interpolation: str = "bilinear") -> np.ndarray:
    """Resize ``(height, width, channels)`` pixels to float32. ``"bilinear"``
    and ``"nearest"`` follow ``tf.image.resize`` (half-pixel centers, no
    antialiasing); other methods use Pillow's filter of that name per channel.

    Example: ``small = resize_array(pixels, 32, 32)``
    """
    image = np.asarray(image, dtype="float32")
    in_h, in_w = image.shape[:2]
    if (in_h, in_w) == (height, width):
        return image
    if interpolation == "nearest":
        rows = np.minimum(np.floor((np.arange(height) + 0.5) * in_h / height).astype(int), in_h - 1)
        cols = np.minimum(np.floor((np.arange(width) + 0.5) * in_w / width).astype(int), in_w - 1)
        return image[rows][:, cols]
    if interpolation == "bilinear":
        top, bottom, dy = _axis_weights(in_h, height)
        left, right, dx = _axis_weights(in_w, width)
        dy, dx = dy[:, None, None], dx[None, :, None]
        upper = image[top][:, left] * (1 - dx) + image[top][:, right] * dx
        lower = image[bottom][:, left] * (1 - dx) + image[bottom][:, right] * dx
        return upper * (1 - dy) + lower * dy
    Image, kind = pil(), resample_filter(interpolation)
    channels = [np.asarray(Image.fromarray(image[:, :, c], "F").resize((width, height), kind))
                for c in range(image.shape[2])]
    return np.stack(channels, axis=-1).astype("float32")


def smart_resize(x: Any, size: tuple[int, int], interpolation: str = "bilinear",
                 data_format: str = "channels_last", **kwargs: Any) -> Any:
    """Resize images to ``size`` without distorting them: the largest centered
    window with the target's aspect ratio is cut out, then resized. Takes one
    image (rank 3) or a batch (rank 4); NumPy in, NumPy out.

    Example: ``smart_resize(image, (224, 224))``
    """
    x_array = np.asarray(x)
    if x_array.ndim not in (3, 4):
        raise ValueError(f"smart_resize: expected an image of rank 3 or a batch of rank 4, received shape "
                         f"{x_array.shape}.")
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"smart_resize: expected data_format 'channels_last' or 'channels_first', received "
                         f"{data_format!r}.")
    batch = x_array if x_array.ndim == 4 else x_array[None]
    if data_format == "channels_first":
        batch = np.moveaxis(batch, 1, -1)
    height, width = batch.shape[1:3]
    target_height, target_width = int(size[0]), int(size[1])
    left, top, right, bottom = crop_box(height, width, target_height, target_width)
    out = np.stack([resize_array(img[top:bottom, left:right], target_height, target_width, interpolation)
                    for img in batch])
    if data_format == "channels_first":
        out = np.moveaxis(out, -1, 1)
    return out if x_array.ndim == 4 else out[0]


def load_img(path: Any, color_mode: str = "rgb", target_size: tuple[int, int] | None = None,
             interpolation: str = "nearest", keep_aspect_ratio: bool = False) -> Any:
    """A PIL image from a path, ``pathlib.Path`` or file of bytes, converted to
    ``color_mode`` and resized to ``target_size`` ``(height, width)``
    (center-cropped first with ``keep_aspect_ratio``).

    Example: ``img = load_img("cat.png", target_size=(224, 224))``
    """
    Image = pil()
    if color_mode not in _MODES:
        raise ValueError(f"load_img: expected color_mode 'grayscale', 'rgb' or 'rgba', received {color_mode!r}.")
    if isinstance(path, io.BytesIO):
        img = Image.open(path)
    elif isinstance(path, (str, bytes, os.PathLike)):
        with open(path, "rb") as f:
            img = Image.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"load_img: expected a path or io.BytesIO, received {type(path).__name__}.")
    if img.mode != _MODES[color_mode]:
        img = img.convert(_MODES[color_mode])
    if target_size is not None:
        height, width = int(target_size[0]), int(target_size[1])
        if img.size != (width, height):
            if keep_aspect_ratio:
                img = img.crop(crop_box(img.size[1], img.size[0], height, width))
            img = img.resize((width, height), resample_filter(interpolation))
    return img


def crop_box(height: int, width: int, target_height: int, target_width: int) -> tuple[int, int, int, int]:
    """The centered ``(left, top, right, bottom)`` box with the target's aspect ratio."""
    crop_width = max(1, min(width, height * target_width // target_height))
    crop_height = max(1, min(height, width * target_height // target_width))
    left, top = (width - crop_width) // 2, (height - crop_height) // 2
    return left, top, left + crop_width, top + crop_height


def img_to_array(img: Any, data_format: str | None = None, dtype: str | None = None) -> np.ndarray:
    """A PIL image as a 3-D array ``(height, width, channels)`` (channels
    first with ``data_format="channels_first"``), float32 by default.

    Example: ``x = img_to_array(load_img("cat.png"))``
    """
    data_format = _data_format(data_format)
    x = np.asarray(img, dtype=dtype or "float32")
    if x.ndim == 2:
        x = x[..., None]
    if x.ndim != 3:
        raise ValueError(f"img_to_array: expected an image of rank 2 or 3, received an array of shape {x.shape}.")
    return np.transpose(x, (2, 0, 1)) if data_format == "channels_first" else x


def array_to_img(x: Any, data_format: str | None = None, scale: bool = True, dtype: str | None = None) -> Any:
    """A 3-D array as a PIL image; ``scale`` stretches values to 0-255.

    Example: ``array_to_img(np.zeros((8, 8, 3)))``
    """
    Image = pil()
    data_format = _data_format(data_format)
    x = np.asarray(x, dtype=dtype or "float32")
    if x.ndim != 3:
        raise ValueError(f"array_to_img: expected an image array of rank 3, received shape {x.shape}.")
    if data_format == "channels_first":
        x = np.transpose(x, (1, 2, 0))
    if scale:
        x = x - np.min(x)
        top = np.max(x)
        if top != 0:
            x = x / top
        x = x * 255
    channels = x.shape[2]
    if channels == 4:
        return Image.fromarray(x.astype("uint8"), "RGBA")
    if channels == 3:
        return Image.fromarray(x.astype("uint8"), "RGB")
    if channels == 1:
        if np.max(x) > 255:
            return Image.fromarray(x[:, :, 0].astype("int32"), "I")
        return Image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"array_to_img: expected 1, 3 or 4 channels, received {channels}.")


def save_img(path: Any, x: Any, data_format: str | None = None, file_format: str | None = None, scale: bool = True,
             **kwargs: Any) -> None:
    """Save a 3-D array as an image file (format from ``file_format`` or the
    extension). Example: ``save_img("out.png", x)``"""
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and (file_format == "jpeg" or str(path).lower().endswith((".jpg", ".jpeg"))):
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)
