"""Cropping: ``Cropping1D``, ``Cropping2D`` and ``Cropping3D`` remove rows at
the start and end of each spatial axis (Keras 3 arguments and defaults)."""

from __future__ import annotations

from typing import Any

from polykeras import ops
from polykeras.layers.convolutional.arguments import (
    describe_layer, standardize_data_format, standardize_pair, standardize_tuple,
)
from polykeras.layers.input_spec import InputSpec
from polykeras.layers.layer import Layer

__all__ = ["Cropping1D", "Cropping2D", "Cropping3D"]


class _Cropping(Layer):
    """Crops ``(before, after)`` cells from each of ``rank`` spatial axes.

    Example:
        >>> Cropping2D(1)   # see the subclasses
    """

    rank = 2

    def __init__(self, cropping: Any, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        who = describe_layer(self)
        self.data_format = standardize_data_format(data_format, who)
        self.cropping = self._standardize(cropping, who)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _standardize(self, cropping: Any, who: str) -> tuple[tuple[int, int], ...]:
        expected = (f"cropping as a non-negative int, {self.rank} non-negative ints (symmetric), or {self.rank} "
                    "pairs (before, after) of non-negative ints")
        try:
            if isinstance(cropping, (list, tuple)) and len(cropping) == self.rank and all(
                    isinstance(c, (list, tuple)) for c in cropping):
                return tuple(standardize_pair(tuple(c), "cropping", who, allow_zero=True) for c in cropping)
            sizes = standardize_tuple(tuple(cropping) if isinstance(cropping, list) else cropping, self.rank,
                                      "cropping", who, allow_zero=True)
        except ValueError:
            raise ValueError(f"{who}: expected {expected}, received cropping={cropping!r}.") from None
        return tuple((c, c) for c in sizes)

    @property
    def _spatial_axes(self) -> range:
        first = 1 if self.data_format == "channels_last" else 2
        return range(first, first + self.rank)

    def _check(self, shape: tuple) -> None:
        for axis, (before, after) in zip(self._spatial_axes, self.cropping):
            if shape[axis] is not None and before + after >= shape[axis]:
                raise ValueError(f"{describe_layer(self)}: expected cropping smaller than the spatial size, received "
                                 f"cropping={self._config_cropping()} for inputs of shape {tuple(shape)}.")

    def call(self, inputs: Any) -> Any:
        shape = tuple(ops.shape(inputs))
        self._check(shape)
        start, size = [0] * len(shape), list(shape)
        for axis, (before, after) in zip(self._spatial_axes, self.cropping):
            start[axis] = before
            size[axis] = shape[axis] - before - after
        return ops.slice(inputs, start, size)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = list(input_shape)
        if len(shape) != self.rank + 2:
            raise ValueError(f"{describe_layer(self)}: expected an input shape of rank {self.rank + 2}, "
                             f"received {tuple(shape)}.")
        self._check(tuple(shape))
        for axis, (before, after) in zip(self._spatial_axes, self.cropping):
            shape[axis] = None if shape[axis] is None else shape[axis] - before - after
        return tuple(shape)

    def _config_cropping(self) -> Any:
        return self.cropping

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": self._config_cropping(), "data_format": self.data_format}


class Cropping1D(_Cropping):
    """Crops the steps axis of ``(batch, steps, features)``: ``cropping`` is an
    int (both ends) or ``(start, end)``.

    Example:
        >>> ops.shape(Cropping1D((1, 2))(np.ones((2, 6, 3), "float32")))
        (2, 3, 3)
    """

    rank = 1

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any):
        super().__init__(cropping, None, **kwargs)

    def _standardize(self, cropping: Any, who: str) -> tuple[tuple[int, int], ...]:
        try:
            return (standardize_pair(tuple(cropping) if isinstance(cropping, list) else cropping, "cropping",
                                     who, allow_zero=True),)
        except ValueError:
            raise ValueError(f"{who}: expected cropping as a non-negative int or a pair (start, end) of "
                             f"non-negative ints, received cropping={cropping!r}.") from None

    def _config_cropping(self) -> Any:
        return self.cropping[0]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["data_format"]
        return config


class Cropping2D(_Cropping):
    """Crops an image: ``cropping`` is an int, ``(rows, cols)`` (both sides)
    or ``((top, bottom), (left, right))``.

    Example:
        >>> ops.shape(Cropping2D(((1, 0), (2, 2)))(np.ones((2, 5, 8, 3), "float32")))
        (2, 4, 4, 3)
    """

    rank = 2

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None, **kwargs: Any):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    """Crops a volume, like :class:`Cropping2D` with three spatial axes.

    Example:
        >>> ops.shape(Cropping3D(1)(np.ones((1, 4, 4, 4, 2), "float32")))
        (1, 2, 2, 2, 2)
    """

    rank = 3

    def __init__(self, cropping: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None, **kwargs: Any):
        super().__init__(cropping, data_format, **kwargs)
