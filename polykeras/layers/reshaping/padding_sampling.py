"""Spatial padding and resizing: ``ZeroPadding1D/2D/3D`` and
``UpSampling1D/2D``."""

from __future__ import annotations

from typing import Any

import numpy as np

from polykeras import ops
from polykeras.layers.convolutional.arguments import (
    describe_layer, standardize_data_format, standardize_pair, standardize_tuple,
)
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer

__all__ = ["UpSampling1D", "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D"]


def _spatial_axes(rank: int, data_format: str) -> tuple[int, ...]:
    first = 1 if data_format == "channels_last" else 2
    return tuple(range(first, first + rank))


def _plus(size: int | None, extra: int) -> int | None:
    return None if size is None else size + extra


class _ZeroPadding(Layer):
    """Zeros before and after each spatial axis.

    Example:
        >>> ZeroPadding2D(1)   # see the subclasses
    """

    rank = 2

    def __init__(self, padding: Any, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        who = describe_layer(self)
        self.data_format = standardize_data_format(data_format, who)
        self.padding = self._standardize(padding, who)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _standardize(self, padding: Any, who: str) -> tuple[tuple[int, int], ...]:
        expected = (f"padding as a non-negative int, {self.rank} ints, or {self.rank} pairs of ints "
                    "(before, after)")
        if self.rank == 1 and isinstance(padding, (list, tuple)) and len(padding) == 2 and all(
                isinstance(p, int) for p in padding):
            pair = standardize_pair(tuple(padding), "padding", who, allow_zero=True)
            return (pair,)
        if isinstance(padding, (list, tuple)) and len(padding) == self.rank and all(
                isinstance(p, (list, tuple)) for p in padding):
            try:
                return tuple(standardize_pair(tuple(p), "padding", who, allow_zero=True) for p in padding)
            except ValueError:
                raise ValueError(f"{who}: expected {expected}, received padding={padding!r}.") from None
        try:
            sizes = standardize_tuple(padding if not isinstance(padding, list) else tuple(padding), self.rank,
                                      "padding", who, allow_zero=True)
        except ValueError:
            raise ValueError(f"{who}: expected {expected}, received padding={padding!r}.") from None
        return tuple((p, p) for p in sizes)

    def call(self, inputs: Any) -> Any:
        widths: list[tuple[int, int]] = [(0, 0)] * (self.rank + 2)
        for axis, pair in zip(_spatial_axes(self.rank, self.data_format), self.padding):
            widths[axis] = pair
        return ops.pad(inputs, widths)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = list(input_shape)
        for axis, (before, after) in zip(_spatial_axes(self.rank, self.data_format), self.padding):
            shape[axis] = _plus(shape[axis], before + after)
        return tuple(shape)

    def get_config(self) -> dict[str, Any]:
        padding: Any = self.padding[0] if self.rank == 1 else self.padding
        return {**super().get_config(), "padding": padding, "data_format": self.data_format}


class ZeroPadding1D(_ZeroPadding):
    """Zeros at the start and end of the steps axis: ``padding`` is an int or
    ``(left, right)``.

    Example:
        >>> ops.shape(ZeroPadding1D((1, 2))(np.ones((2, 5, 3), "float32")))
        (2, 8, 3)
    """

    rank = 1

    def __init__(self, padding: Any = 1, data_format: str | None = None, **kwargs: Any):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding2D(_ZeroPadding):
    """Zeros around an image: ``padding`` is an int, ``(rows, cols)`` (both
    sides) or ``((top, bottom), (left, right))``.

    Example:
        >>> ops.shape(ZeroPadding2D(((1, 0), (2, 2)))(np.ones((2, 4, 4, 3), "float32")))
        (2, 5, 8, 3)
    """

    rank = 2

    def __init__(self, padding: Any = (1, 1), data_format: str | None = None, **kwargs: Any):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    """Zeros around a volume, like :class:`ZeroPadding2D` with three axes.

    Example:
        >>> ops.shape(ZeroPadding3D(1)(np.ones((1, 2, 2, 2, 1), "float32")))
        (1, 4, 4, 4, 1)
    """

    rank = 3

    def __init__(self, padding: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None, **kwargs: Any):
        super().__init__(padding, data_format, **kwargs)


class UpSampling1D(Layer):
    """Repeats each step ``size`` times along the steps axis.

    Example:
        >>> ops.shape(UpSampling1D(3)(np.ones((2, 4, 5), "float32")))
        (2, 12, 5)
    """

    def __init__(self, size: int = 2, **kwargs: Any):
        super().__init__(**kwargs)
        (self.size,) = standardize_tuple(size, 1, "size", describe_layer(self))
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs: Any) -> Any:
        return ops.repeat(inputs, self.size, axis=1)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        batch, steps, features = tuple(input_shape)
        return (batch, None if steps is None else steps * self.size, features)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size}


def bilinear_matrix(in_size: int, out_size: int) -> np.ndarray:
    """The ``(out_size, in_size)`` matrix of half-pixel-centre linear
    interpolation (the sampling of TensorFlow's and JAX's ``resize``)."""
    matrix = np.zeros((out_size, in_size), np.float64)
    scale = in_size / out_size
    for i in range(out_size):
        src = min(max((i + 0.5) * scale - 0.5, 0.0), in_size - 1.0)
        low = int(np.floor(src))
        high = min(low + 1, in_size - 1)
        frac = src - low
        matrix[i, low] += 1.0 - frac
        matrix[i, high] += frac
    return matrix


class UpSampling2D(Layer):
    """Enlarges an image by ``size = (rows, cols)``: ``"nearest"`` repeats
    pixels, ``"bilinear"`` interpolates (half-pixel centres, as Keras).

    Example:
        >>> ops.shape(UpSampling2D((2, 3), interpolation="bilinear")(np.ones((1, 4, 4, 2), "float32")))
        (1, 8, 12, 2)
    """

    interpolations = ("nearest", "bilinear")

    def __init__(self, size: Any = (2, 2), data_format: str | None = None, interpolation: str = "nearest",
                 **kwargs: Any):
        super().__init__(**kwargs)
        who = describe_layer(self)
        self.size = standardize_tuple(size, 2, "size", who)
        self.data_format = standardize_data_format(data_format, who)
        if interpolation not in self.interpolations:
            raise ValueError(f"{who}: expected interpolation to be one of {self.interpolations}, received "
                             f"interpolation={interpolation!r}.")
        self.interpolation = interpolation
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs: Any) -> Any:
        axes = _spatial_axes(2, self.data_format)
        if self.interpolation == "nearest":
            for axis, size in zip(axes, self.size):
                inputs = ops.repeat(inputs, size, axis=axis)
            return inputs
        shape = ops.shape(inputs)
        dtype = ops.dtype(inputs)
        rows = ops.convert_to_tensor(bilinear_matrix(shape[axes[0]], shape[axes[0]] * self.size[0]), dtype)
        cols = ops.convert_to_tensor(bilinear_matrix(shape[axes[1]], shape[axes[1]] * self.size[1]), dtype)
        if self.data_format == "channels_last":
            return ops.einsum("bhwc,Hh,Ww->bHWc", inputs, rows, cols)
        return ops.einsum("bchw,Hh,Ww->bcHW", inputs, rows, cols)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = list(input_shape)
        for axis, size in zip(_spatial_axes(2, self.data_format), self.size):
            shape[axis] = None if shape[axis] is None else shape[axis] * size
        return tuple(shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}
