"""JAX engine, part 2: native activations (``jax.nn``), convolutions
(``lax.conv_general_dilated``) and pooling (``lax.reduce_window`` for the
average; the max separably, over strided slices, whose gradient XLA runs far
faster on the CPU than reduce_window's).

Pads are computed by the NumPy engine's engine-free rules
(:func:`~polykeras.backends.numpy.conv_padding`,
:func:`~polykeras.backends.numpy.conv_transpose_padding`) and handed to XLA
explicitly, so both engines pad the same way by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from polykeras.backends.base import Axis, Tensor
from polykeras.backends.jax.core import kernel, precision
from polykeras.backends.numpy.nn import conv_padding, conv_transpose_padding, output_sizes


if TYPE_CHECKING:  # the NumPy engine these JAX mixins specialise
    from polykeras.backends.numpy import NumpyBackend as _Host
else:
    _Host = object


def _layouts(rank: int, data_format: str, kernel: str = "IO") -> tuple[str, str, str]:
    """lax dimension numbers: ``("NHWC", "HWIO", "NHWC")`` and its 1-D/3-D and
    channels_first kin."""
    spatial = "DHW"[3 - rank:]
    lhs = f"N{spatial}C" if data_format == "channels_last" else f"NC{spatial}"
    return lhs, spatial + kernel, lhs


def _spatial_shape(x: Tensor, data_format: str) -> tuple[int, ...]:
    return tuple(x.shape[1:-1] if data_format == "channels_last" else x.shape[2:])


def _full_window(values: Sequence[Any], fill: Any, data_format: str) -> tuple:
    """A per-spatial-axis tuple widened with ``fill`` for the batch and channel axes."""
    values = tuple(values)
    return (fill, *values, fill) if data_format == "channels_last" else (fill, fill, *values)


# jax.nn functions with a custom gradient re-trace on every eager call (hundreds
# of microseconds); compiled once here, they dispatch in microseconds, and run
# inline under an enclosing trace.
_relu = kernel(jax.nn.relu)
_relu6 = kernel(jax.nn.relu6)
_gelu = kernel(jax.nn.gelu, static_argnames="approximate")
_softmax = kernel(jax.nn.softmax, static_argnames="axis")
_logsumexp = kernel(jax.nn.logsumexp, static_argnames=("axis", "keepdims"))
_one_hot = kernel(jax.nn.one_hot, static_argnames=("num_classes", "dtype", "axis"))


class JaxNN(_Host):
    """Activations, convolution and pooling of the JAX engine (see
    :class:`polykeras.backends.jax.JaxBackend`)."""

    # --------------------------------------------------------- activations
    def relu(self, x: Tensor) -> Tensor:
        return _relu(self._tensor(x))

    def relu6(self, x: Tensor) -> Tensor:
        return _relu6(self._tensor(x))

    def sigmoid(self, x: Tensor) -> Tensor:
        return jax.nn.sigmoid(self._floating(x))

    def softplus(self, x: Tensor) -> Tensor:
        return jax.nn.softplus(self._floating(x))

    def softmax(self, x: Tensor, axis: int = -1) -> Tensor:
        return _softmax(self._floating(x), axis=axis)

    def log_softmax(self, x: Tensor, axis: int = -1) -> Tensor:
        return jax.nn.log_softmax(self._floating(x), axis=axis)

    def leaky_relu(self, x: Tensor, negative_slope: float = 0.2) -> Tensor:
        x = self._floating(x)  # the slope at 0 is negative_slope, as on the other engines
        return jnp.where(x > 0, x, x * jnp.asarray(negative_slope, x.dtype))

    def elu(self, x: Tensor, alpha: float = 1.0) -> Tensor:
        return jax.nn.elu(self._floating(x), alpha)

    def selu(self, x: Tensor) -> Tensor:
        return jax.nn.selu(self._floating(x))

    def gelu(self, x: Tensor, approximate: bool = True) -> Tensor:
        return _gelu(self._floating(x), approximate=bool(approximate))

    def silu(self, x: Tensor) -> Tensor:
        return jax.nn.silu(self._floating(x))

    def logsumexp(self, x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
        axis = tuple(axis) if isinstance(axis, list) else axis
        return _logsumexp(self._floating(x), axis=axis, keepdims=bool(keepdims))

    def one_hot(self, x: Tensor, num_classes: int, axis: int = -1, dtype: str = "float32") -> Tensor:
        return _one_hot(self._tensor(x), int(num_classes), dtype=self._native_dtype(dtype), axis=axis)

    # ------------------------------------------------------- convolutions
    def _conv_pair(self, inputs: Tensor, kernel: Tensor) -> tuple[Tensor, Tensor]:
        inputs, kernel = self._tensor(inputs), self._tensor(kernel)
        if inputs.dtype != kernel.dtype:
            inputs, kernel = self._promote(inputs, kernel)
        return inputs, kernel

    def conv(self, inputs: Tensor, kernel: Tensor, strides: Sequence[int], padding: str,
             data_format: str, dilation_rate: Sequence[int]) -> Tensor:
        inputs, kernel = self._conv_pair(inputs, kernel)
        strides, dilation_rate = tuple(strides), tuple(dilation_rate)
        spatial = _spatial_shape(inputs, data_format)
        pads = conv_padding(spatial, kernel.shape[:-2], strides, dilation_rate, padding)
        padded = [n + before + after for n, (before, after) in zip(spatial, pads)]
        output_sizes("conv", padded, kernel.shape[:-2], strides, dilation_rate)
        channels = inputs.shape[-1 if data_format == "channels_last" else 1]
        return _conv(inputs, kernel, strides, tuple(pads), dilation_rate, data_format,
                     channels // kernel.shape[-2], precision())

    def depthwise_conv(self, inputs: Tensor, kernel: Tensor, strides: Sequence[int], padding: str,
                       data_format: str, dilation_rate: Sequence[int]) -> Tensor:
        inputs, kernel = self._conv_pair(inputs, kernel)
        # One group per channel: filter c * M + m reads channel c.
        kernel = kernel.reshape(kernel.shape[:-2] + (1, kernel.shape[-2] * kernel.shape[-1]))
        return self.conv(inputs, kernel, strides, padding, data_format, dilation_rate)

    def conv_transpose(self, inputs: Tensor, kernel: Tensor, strides: Sequence[int], padding: str,
                       output_padding: Sequence[int] | None, data_format: str,
                       dilation_rate: Sequence[int]) -> Tensor:
        inputs, kernel = self._conv_pair(inputs, kernel)
        strides, dilation_rate = tuple(strides), tuple(dilation_rate)
        pads = tuple(
            conv_transpose_padding(k, s, d, padding, None if output_padding is None else output_padding[i])
            for i, (k, s, d) in enumerate(zip(kernel.shape[:-2], strides, dilation_rate))
        )
        return _conv_transpose(inputs, kernel, strides, pads, dilation_rate, data_format, precision())

    # ------------------------------------------------------------ pooling
    def _pool_geometry(self, x: Tensor, pool_size: Sequence[int], strides: Sequence[int], padding: str,
                       data_format: str, op: str) -> tuple[tuple, tuple, tuple]:
        ones = (1,) * len(pool_size)
        spatial = _spatial_shape(x, data_format)
        pads = conv_padding(spatial, pool_size, strides, ones, padding)
        output_sizes(op, [n + a + b for n, (a, b) in zip(spatial, pads)], pool_size, strides, ones)
        return (
            _full_window(pool_size, 1, data_format),
            _full_window(strides, 1, data_format),
            _full_window(pads, (0, 0), data_format),
        )

    def max_pool(self, inputs: Tensor, pool_size: Sequence[int], strides: Sequence[int],
                 padding: str, data_format: str) -> Tensor:
        x = self._tensor(inputs)
        return _max_pool(x, *self._pool_geometry(x, pool_size, strides, padding, data_format, "max_pool"))

    def average_pool(self, inputs: Tensor, pool_size: Sequence[int], strides: Sequence[int],
                     padding: str, data_format: str) -> Tensor:
        x = self._floating(inputs)
        window, steps, pads = self._pool_geometry(x, pool_size, strides, padding, data_format, "average_pool")
        return _average_pool(x, window, steps, pads, padding == "same")


# Kernels: compiled once per static geometry, so an eager call is one XLA
# dispatch; under an enclosing trace they run inline.
@kernel(static_argnums=(2, 3, 4, 5, 6, 7))
def _conv(inputs: Tensor, kernel: Tensor, strides: tuple, pads: tuple, dilation: tuple,
          data_format: str, groups: int, precision: Any) -> Tensor:
    return lax.conv_general_dilated(
        inputs, kernel, window_strides=strides, padding=pads, rhs_dilation=dilation,
        dimension_numbers=_layouts(kernel.ndim - 2, data_format), feature_group_count=groups,
        precision=precision,
    )


@kernel(static_argnums=(2, 3, 4, 5, 6))
def _conv_transpose(inputs: Tensor, kernel: Tensor, strides: tuple, pads: tuple, dilation: tuple,
                    data_format: str, precision: Any) -> Tensor:
    # A stride-dilated input convolved with the spatially flipped kernel, whose
    # (filters, in_channels) axes read as (O, I).
    rank = kernel.ndim - 2
    return lax.conv_general_dilated(
        inputs, jnp.flip(kernel, axis=tuple(range(rank))), window_strides=(1,) * rank, padding=pads,
        lhs_dilation=strides, rhs_dilation=dilation, dimension_numbers=_layouts(rank, data_format, kernel="OI"),
        precision=precision,
    )


@kernel(static_argnums=(1, 2, 3))
def _max_pool(x: Tensor, window: tuple, steps: tuple, pads: tuple) -> Tensor:
    # Separable: a window's maximum is the maximum along the last axis, then
    # the next, ...; each axis's is the maximum of `size` strided slices.
    lowest: Any
    if x.dtype.kind in "iu":
        lowest = np.iinfo(x.dtype).min
    elif x.dtype.kind == "b":
        lowest = False
    else:
        lowest = -np.inf
    for axis in reversed(range(x.ndim)):
        size, step, (before, after) = window[axis], steps[axis], pads[axis]
        if size == step == 1:
            continue
        pad = [(0, 0, 0)] * x.ndim
        pad[axis] = (before, after, 0)
        x = lax.pad(x, np.asarray(lowest, x.dtype), pad)
        last = (x.shape[axis] - size) // step * step
        x = _first_max(tuple(lax.slice_in_dim(x, i, i + last + 1, step, axis) for i in range(size)))
    return x


# XLA differentiates a max reduce_window with select-and-scatter, which the CPU
# runs as a scatter: 47 ms of a 2x2 pool's forward and backward at
# (128, 26, 26, 32), 161 ms of a 3x3 stride-2 pool's at (32, 56, 56, 64). The
# separable slices' maxima take 2.4 ms and 49 ms, their gradient elementwise.
@jax.custom_jvp
def _first_max(slices: tuple) -> Tensor:
    out = slices[0]
    for s in slices[1:]:
        out = jnp.maximum(out, s)
    return out


@_first_max.defjvp
def _first_max_jvp(primals: tuple, tangents: tuple) -> tuple[Tensor, Tensor]:
    # The tangent flows from one slice per output cell: the first that holds
    # the maximum (or a NaN), so a pool's gradient goes to the first maximum
    # of its window in row-major order, as every engine's max pool gradient
    # does; jnp.maximum's own rule would split ties.
    (slices,), (slice_tangents,) = primals, tangents
    out = _first_max(slices)
    taken = jnp.zeros(out.shape, bool)
    tangent = jnp.zeros_like(slice_tangents[0])
    for s, t in zip(slices, slice_tangents):
        hit = ((s == out) | jnp.isnan(s)) & ~taken
        tangent = jnp.where(hit, t, tangent)
        taken = taken | hit
    return out, tangent


@kernel(static_argnums=(1, 2, 3, 4))
def _average_pool(x: Tensor, window: tuple, steps: tuple, pads: tuple, same: bool) -> Tensor:
    zero = np.asarray(0, x.dtype)
    total = lax.reduce_window(x, zero, lax.add, window, steps, pads)
    if not same:
        return total / int(np.prod(window))
    # "same": divide by the number of real (unpadded) cells in each window.
    ones = jnp.ones((1,) + x.shape[1:], x.dtype)
    count = lax.reduce_window(ones, zero, lax.add, window, steps, pads)
    return total / count
