"""``ContrastLimitedAdaptiveHistogramEqualization`` (CLAHE), Keras 3's
numbers: per tile of a ``tile_grid_size`` grid, a 256-bin histogram clipped
at ``clip_limit`` times the mean bin (the excess spread evenly), its
normalised cumulative sum as the tile's mapping, and each pixel mapped by
the bilinear blend of its four nearest tiles' mappings.

The histograms are one ``segment_sum`` over (tile, value) pairs (a static
length, so it compiles), so memory grows with the pixels, not with
pixels x 256.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from polykeras import ops
from polykeras.layers.convolutional.arguments import describe_layer
from polykeras.layers.preprocessing.data_augmentation import _DataAugmentation, to_range

__all__ = ["ContrastLimitedAdaptiveHistogramEqualization"]


class ContrastLimitedAdaptiveHistogramEqualization(_DataAugmentation):
    """Contrast-limited adaptive histogram equalization (deterministic; it
    runs whatever ``training`` says, as Keras 3).

    Args:
        value_range: the images' value range (mapped to ``[0, 255]`` inside).
        clip_limit: the histogram clip, in multiples of a tile's mean bin
            (0 or less: no clipping).
        tile_grid_size: ``(rows, columns)`` of tiles.

    Example:
        >>> layer = ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2))
        >>> y = layer(np.random.rand(1, 16, 16, 3).astype("float32") * 100)
    """

    _RANDOM = False

    def __init__(self, value_range: Sequence[float] = (0, 255), clip_limit: float = 4.0,
                 tile_grid_size: Sequence[int] = (8, 8), data_format: str | None = None, **kwargs: Any):
        super().__init__(data_format=data_format, **kwargs)
        who = describe_layer(self)
        self._range = self._parse_value_range(value_range)
        self.value_range = list(value_range)
        if isinstance(clip_limit, bool) or not isinstance(clip_limit, (int, float)):
            raise ValueError(f"{who}: expected clip_limit to be a number, received clip_limit={clip_limit!r}.")
        if not isinstance(tile_grid_size, (list, tuple)) or len(tile_grid_size) != 2 or not all(
                isinstance(t, (int, np.integer)) and not isinstance(t, bool) and t > 0 for t in tile_grid_size):
            raise ValueError(f"{who}: expected tile_grid_size as two positive ints, received "
                             f"tile_grid_size={tile_grid_size!r}.")
        self.clip_limit = clip_limit
        self.tile_grid_size = [int(t) for t in tile_grid_size]

    def call(self, inputs: Any, training: Any = True) -> Any:
        return super().call(inputs, training=True)

    def _apply(self, images: Any, transformation: Any) -> Any:
        x = images if self.data_format == "channels_last" else ops.transpose(images, (0, 2, 3, 1))
        x = to_range(ops.cast(x, "float32"), self._range, (0.0, 255.0))
        out = self._clahe(x)
        out = ops.cast(to_range(out, (0.0, 255.0), self._range), self.dtype)
        return out if self.data_format == "channels_last" else ops.transpose(out, (0, 3, 1, 2))

    def _clahe(self, images: Any) -> Any:
        batch, height, width, channels = (int(s) for s in ops.shape(images))
        grid_h, grid_w = self.tile_grid_size
        tile_h, tile_w = -(-height // grid_h), -(-width // grid_w)
        pad_h, pad_w = tile_h * grid_h - height, tile_w * grid_w - width
        padded = images if pad_h == pad_w == 0 else ops.pad(images, [(0, 0), (0, pad_h), (0, pad_w), (0, 0)],
                                                            mode="symmetric")
        values = ops.clip(ops.cast(padded, "int32"), 0, 255)  # (batch, H, W, channels)
        # one histogram per (image, tile row, tile column, channel): counts of tile_id * 256 + value
        tiles = batch * grid_h * grid_w * channels
        tile_id = (np.arange(batch)[:, None, None, None] * grid_h + (np.arange(grid_h * tile_h) // tile_h)[
            None, :, None, None]) * grid_w + (np.arange(grid_w * tile_w) // tile_w)[None, None, :, None]
        tile_id = tile_id * channels + np.arange(channels)[None, None, None, :]
        flat = ops.add(ops.convert_to_tensor((tile_id * 256).astype("int32")), values)
        flat = ops.reshape(flat, (-1,))
        hists = ops.reshape(ops.segment_sum(ops.ones_like(flat, dtype="float32"), flat, num_segments=tiles * 256),
                            (batch, grid_h, grid_w, channels, 256))
        if self.clip_limit > 0:
            limit = self.clip_limit * (tile_h * tile_w) / 256.0
            clipped = ops.clip(hists, 0.0, limit)
            excess = ops.sum(ops.subtract(hists, clipped), axis=-1, keepdims=True)
            hists = ops.add(clipped, ops.divide(excess, 256.0))
        cdf = ops.cumsum(hists, axis=-1)
        cdf_min = ops.min(cdf, axis=-1, keepdims=True)
        denominator = ops.subtract(float(tile_h * tile_w), cdf_min)
        denominator = ops.where(ops.equal(denominator, 0.0), 1.0, denominator)
        maps = ops.clip(ops.divide(ops.multiply(ops.subtract(cdf, cdf_min), 255.0), denominator), 0.0, 255.0)
        # repeat the border tiles once on every side: (batch, grid_h + 2, grid_w + 2, channels, 256)
        maps = ops.concatenate([maps[:, :1], maps, maps[:, -1:]], axis=1)
        maps = ops.concatenate([maps[:, :, :1], maps, maps[:, :, -1:]], axis=2)
        # each pixel's four neighbouring tiles and blend weights (static: computed on the host)
        ys = (np.arange(grid_h * tile_h, dtype="float32") - tile_h / 2.0) / tile_h + 1.0
        xs = (np.arange(grid_w * tile_w, dtype="float32") - tile_w / 2.0) / tile_w + 1.0
        y0, x0 = np.floor(ys), np.floor(xs)
        wy, wx = (ys - y0)[None, :, None, None], (xs - x0)[None, None, :, None]
        y0i, y1i = np.clip(y0, 0, grid_h + 1).astype("int64"), np.clip(y0 + 1, 0, grid_h + 1).astype("int64")
        x0i, x1i = np.clip(x0, 0, grid_w + 1).astype("int64"), np.clip(x0 + 1, 0, grid_w + 1).astype("int64")
        stride_x = 256 * channels
        stride_y = stride_x * (grid_w + 2)
        stride_b = stride_y * (grid_h + 2)
        base = np.arange(batch)[:, None, None, None] * stride_b + np.arange(channels)[None, None, None, :] * 256
        flat_maps = ops.reshape(maps, (-1,))

        def lookup(y_index: np.ndarray, x_index: np.ndarray) -> Any:
            offset = base + y_index[None, :, None, None] * stride_y + x_index[None, None, :, None] * stride_x
            return ops.take(flat_maps, ops.add(ops.convert_to_tensor(offset.astype("int32")), values))

        wx_t, wy_t = ops.convert_to_tensor(wx, "float32"), ops.convert_to_tensor(wy, "float32")
        top = ops.add(ops.multiply(lookup(y0i, x0i), ops.subtract(1.0, wx_t)), ops.multiply(lookup(y0i, x1i), wx_t))
        bottom = ops.add(ops.multiply(lookup(y1i, x0i), ops.subtract(1.0, wx_t)),
                         ops.multiply(lookup(y1i, x1i), wx_t))
        result = ops.add(ops.multiply(top, ops.subtract(1.0, wy_t)), ops.multiply(bottom, wy_t))
        return result[:, :height, :width, :]

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "value_range": self.value_range, "clip_limit": self.clip_limit,
                  "tile_grid_size": self.tile_grid_size}
        config.pop("seed")
        return config
