"""Argument checks shared by the spatial layers (convolution, pooling,
padding, up-sampling) and the attention layers: positive ints, tuples of ints,
padding names, data formats and output lengths. Every error names the layer,
what it expected and what it received.

Example:
    >>> standardize_tuple(3, 2, "kernel_size", "Conv2D 'conv2d'")
    (3, 3)
    >>> conv_output_length(7, 3, "same", stride=2)
    4
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

from polykeras.config import image_data_format

__all__ = [
    "DATA_FORMATS", "conv_output_length", "describe_layer", "positive_int", "refuse_unsupported",
    "standardize_data_format", "standardize_padding", "standardize_tuple", "static_shape",
]

DATA_FORMATS = ("channels_last", "channels_first")


def describe_layer(layer: Any) -> str:
    """``"Conv2D 'conv2d_1'"``: how errors name a layer."""
    return f"{type(layer).__name__} '{getattr(layer, 'name', '?')}'"


def static_shape(shape: Any) -> tuple:
    """``shape`` with only the sizes known before running: inside a traced
    step a size known only at run time (a scalar tensor, as TensorFlow's
    ``ops.shape`` gives it) becomes ``None``, so shape checks compare static
    sizes and never ask a traced value for its truth.

    Example: ``static_shape((batch_tensor, 8))`` -> ``(None, 8)``
    """
    return tuple(d if isinstance(d, numbers.Integral) and not isinstance(d, bool) else None for d in shape)


def positive_int(value: Any, arg: str, who: str, allow_none: bool = False) -> Any:
    """``value`` checked to be a positive int (not a bool); ``None`` passes
    with ``allow_none``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{who}: expected {arg} to be a positive int{' or None' if allow_none else ''}, "
                         f"received {arg}={value!r}.")
    return value


def standardize_tuple(value: Any, n: int, arg: str, who: str, allow_zero: bool = False) -> tuple[int, ...]:
    """``value`` (an int or ``n`` ints) as a tuple of ``n`` positive ints
    (non-negative with ``allow_zero``)."""
    if isinstance(value, bool):
        values: Any = None
    elif isinstance(value, int):
        values = (value,) * n
    elif isinstance(value, (list, tuple)) and len(value) == n and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        values = tuple(value)
    else:
        values = None
    low = 0 if allow_zero else 1
    if values is None or any(v < low for v in values):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{who}: expected {arg} as a {kind} int or a tuple of {n} {kind} ints, "
                         f"received {arg}={value!r}.")
    return tuple(int(v) for v in values)


def standardize_pair(value: Any, arg: str, who: str, allow_zero: bool = False) -> tuple[int, int]:
    """:func:`standardize_tuple` of two ints, as a pair. Example: ``standardize_pair(1, "padding", "ZeroPadding1D")``"""
    first, second = standardize_tuple(value, 2, arg, who, allow_zero=allow_zero)
    return first, second


def standardize_padding(value: Any, allowed: Sequence[str], who: str) -> str:
    """``value`` lower-cased, checked against ``allowed``."""
    padding = value.lower() if isinstance(value, str) else value
    if padding not in allowed:
        raise ValueError(f"{who}: expected padding to be one of {tuple(allowed)}, received padding={value!r}.")
    return padding


def standardize_data_format(value: Any, who: str) -> str:
    """``None`` -> ``polykeras.config.image_data_format()`` (``"channels_last"``
    unless changed); otherwise one of :data:`DATA_FORMATS`."""
    if value is None:
        return image_data_format()
    data_format = value.lower() if isinstance(value, str) else value
    if data_format not in DATA_FORMATS:
        raise ValueError(f"{who}: expected data_format to be one of {DATA_FORMATS}, received data_format={value!r}.")
    return data_format


def conv_output_length(length: int | None, kernel: int, padding: str, stride: int = 1, dilation: int = 1) -> int | None:
    """Output size of a convolution or pooling window along one axis
    (``None`` stays unknown)."""
    if length is None:
        return None
    if padding in ("same", "causal"):
        return -(-length // stride)
    span = dilation * (kernel - 1) + 1
    return max(0, (length - span) // stride + 1)


def windowed_output_shape(layer: Any, input_shape: Any, length: Callable[[int | None, int], int | None],
                          channels: Callable[[int | None], int | None] = lambda c: c) -> tuple:
    """The output shape of a sliding-window layer (``layer.rank`` spatial axes,
    ``layer.data_format``): ``length(n, axis)`` for each spatial length,
    ``channels(c)`` for the channel count; a clear error for a wrong rank.

    Example: ``windowed_output_shape(pool, (None, 8, 8, 3), lambda n, axis: n // 2)``
    """
    input_shape = tuple(input_shape)
    if len(input_shape) != layer.rank + 2:
        raise ValueError(f"{describe_layer(layer)}: expected an input shape of rank {layer.rank + 2}, "
                         f"received {input_shape}.")
    last = layer.data_format == "channels_last"
    first = 1 if last else 2
    spatial = [length(input_shape[first + axis], axis) for axis in range(layer.rank)]
    if last:
        return (input_shape[0], *spatial, channels(input_shape[-1]))
    return (input_shape[0], channels(input_shape[1]), *spatial)


def refuse_unsupported(layer: Any, **arguments: Any) -> None:
    """Accept Keras 3 arguments polykeras does not implement (GPTQ sizes,
    batch renormalization, ...) only at their off values, so Keras configs load."""
    for arg, value in arguments.items():
        if value not in (None, False):
            raise NotImplementedError(f"{describe_layer(layer)}: {arg} is not supported; expected {arg}=None, "
                                      f"received {arg}={value!r}.")
