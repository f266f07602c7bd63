"""NumPy engine, part 4: activations, convolutions and pooling.

The convolution and pooling kernels here are the reference the other engines are
checked against, so they are written for exactness, not speed: a convolution is
a sum over kernel offsets of strided input slices times kernel matrices,
accumulated in float64 (complex128 for complex, int64 for integers) and cast to
the result dtype once. One code path serves 1, 2 and 3 spatial axes, strides,
dilation, groups and both data formats.

The padding arithmetic (``conv_padding``, ``conv_transpose_padding``) is
engine-free and shared with engines that hand explicit pads to a native kernel.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from polykeras.backends.base import Tensor, op_error


if TYPE_CHECKING:  # Backend plus the helpers the NumPy mixins share
    from polykeras.backends.numpy.host import NumpyHost as _Host
else:
    _Host = object


# ------------------------------------------------------------ padding rules
def same_padding(length: int, kernel_size: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's "same" padding for one axis: total
    ``max((ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)``, the odd cell at the end.

    Example: ``same_padding(5, 3, 2)`` -> ``(1, 1)``
    """
    effective = (kernel_size - 1) * dilation + 1
    total = max((-(-length // stride) - 1) * stride + effective - length, 0)
    return total // 2, total - total // 2


def conv_padding(spatial: Sequence[int], kernel_size: Sequence[int], strides: Sequence[int],
                 dilation_rate: Sequence[int], padding: str) -> list[tuple[int, int]]:
    """(before, after) pads per spatial axis for a convolution or pooling.

    Example: ``conv_padding((5, 5), (3, 3), (2, 2), (1, 1), "same")`` -> ``[(1, 1), (1, 1)]``
    """
    if padding == "valid":
        return [(0, 0)] * len(spatial)
    if padding != "same":
        raise op_error("conv", "padding valid or same", repr(padding))
    return [same_padding(n, k, s, d) for n, k, s, d in zip(spatial, kernel_size, strides, dilation_rate)]


def conv_transpose_padding(kernel_size: int, stride: int, dilation: int, padding: str,
                           output_padding: int | None) -> tuple[int, int]:
    """(before, after) pads of the stride-dilated input that make a transposed
    convolution match Keras 3 / TensorFlow: output length ``n * s + max(k - s, 0)``
    ("valid") or ``n * s`` ("same") with no ``output_padding``, else
    ``(n - 1) * s + k - 2 * pad + output_padding`` (``k`` dilated).

    Example: ``conv_transpose_padding(3, 2, 1, "same", None)`` -> ``(2, 1)``
    """
    k = (kernel_size - 1) * dilation + 1
    if padding == "valid":
        extra = max(k, stride) - k if output_padding is None else output_padding
        return k - 1, k - 1 + extra
    if padding != "same":
        raise op_error("conv_transpose", "padding valid or same", repr(padding))
    total = stride + k - 2 if output_padding is None else k + k % 2 - 2 + output_padding
    before = min(total // 2 + total % 2, k - 1)
    return before, total - before


# ----------------------------------------------------------------- helpers
def _channels_last(x: np.ndarray, data_format: str) -> np.ndarray:
    return np.moveaxis(x, 1, -1) if data_format == "channels_first" else x


def _restore(x: np.ndarray, data_format: str) -> np.ndarray:
    return np.moveaxis(x, -1, 1) if data_format == "channels_first" else x


def _work_dtype(dtype: np.dtype) -> np.dtype:
    if dtype.kind == "c":
        return np.dtype(np.complex128)
    if dtype.kind in "biu":
        return np.dtype(np.int64)
    return np.dtype(np.float64)


def _window(offset: Sequence[int], dilation: Sequence[int], out: Sequence[int], strides: Sequence[int]) -> tuple:
    """Index of the input cells that kernel ``offset`` meets, for every output cell."""
    return (slice(None),) + tuple(
        slice(o * d, o * d + (m - 1) * s + 1, s) for o, d, m, s in zip(offset, dilation, out, strides)
    ) + (slice(None),)


def output_sizes(op: str, padded: Sequence[int], kernel_size: Sequence[int], strides: Sequence[int],
                 dilation: Sequence[int]) -> list[int]:
    """Output length per spatial axis of a window op over already padded axes;
    refuses windows longer than their axis.

    Example: ``output_sizes("conv", (7,), (3,), (2,), (1,))`` -> ``[3]``
    """
    sizes = [(n - (k - 1) * d - 1) // s + 1 for n, k, s, d in zip(padded, kernel_size, strides, dilation)]
    if min(sizes, default=1) <= 0:
        raise op_error(op, "spatial axes at least as long as the (dilated) window",
                       f"padded spatial shape {tuple(padded)} with window {tuple(kernel_size)} "
                       f"and dilation {tuple(dilation)}")
    return sizes


def reference_conv(inputs: np.ndarray, kernel: np.ndarray, strides: Sequence[int], padding: str,
                   data_format: str, dilation_rate: Sequence[int]) -> np.ndarray:
    """Grouped N-D cross-correlation with a Keras kernel
    ``spatial + (in_channels // groups, filters)``, computed exactly.

    Example: ``reference_conv(x, k, (1, 1), "same", "channels_last", (1, 1))``
    """
    out_dtype = inputs.dtype
    work = _work_dtype(out_dtype)
    x = _channels_last(inputs, data_format).astype(work)
    kernel = kernel.astype(work)
    *kernel_size, per_group, filters = kernel.shape
    channels = x.shape[-1]
    if per_group == 0 or channels % per_group or filters % (channels // per_group):
        raise op_error("conv",
                       f"input channels and filters divisible by the group count (kernel in_channels {per_group})",
                       f"{channels} input channels and {filters} filters")
    groups = channels // per_group
    pads = conv_padding(x.shape[1:-1], kernel_size, strides, dilation_rate, padding)
    x = np.pad(x, [(0, 0), *pads, (0, 0)])
    out_sizes = output_sizes("conv", x.shape[1:-1], kernel_size, strides, dilation_rate)
    x = x.reshape((*x.shape[:-1], groups, per_group))
    kernel = kernel.reshape(tuple(kernel_size) + (per_group, groups, filters // groups))
    out = np.zeros((x.shape[0], *out_sizes, groups, filters // groups), dtype=work)
    for offset in itertools.product(*(range(k) for k in kernel_size)):
        window = x[_window(offset, dilation_rate, out_sizes, strides)]
        out += np.einsum("...gc,cgf->...gf", window, kernel[offset])
    out = out.reshape(out.shape[:-2] + (filters,))
    return _restore(out, data_format).astype(out_dtype)


def reference_pool(inputs: np.ndarray, pool_size: Sequence[int], strides: Sequence[int], padding: str,
                   data_format: str, kind: str) -> np.ndarray:
    """Max or average pooling, exact. "same" pads with -inf for max and averages
    over the valid cells only."""
    x = _channels_last(inputs, data_format)
    ones = (1,) * len(pool_size)
    pads = [(0, 0), *conv_padding(x.shape[1:-1], pool_size, strides, ones, padding), (0, 0)]
    if kind == "max":
        lowest = -np.inf if x.dtype.kind in "fc" or x.dtype.kind == "V" else np.iinfo(x.dtype).min
        if x.dtype.kind == "b":
            lowest = False
        x = np.pad(x, pads, constant_values=lowest)
    else:
        out_dtype = x.dtype if x.dtype.kind in "fV" else np.dtype(np.float32)
        count = np.pad(np.ones((1, *x.shape[1:-1], 1)), pads)
        x = np.pad(x.astype(np.float64), pads)
    out_sizes = output_sizes(f"{kind}_pool", x.shape[1:-1], pool_size, strides, ones)
    out = None
    total = None
    for offset in itertools.product(*(range(k) for k in pool_size)):
        index = _window(offset, ones, out_sizes, strides)
        if kind == "max":
            out = x[index] if out is None else np.maximum(out, x[index])
        else:
            out = x[index] if out is None else out + x[index]
            total = count[index] if total is None else total + count[index]
    assert out is not None  # product() yields at least one offset, even of no windows
    if kind != "max":
        assert total is not None
        out = (out / total).astype(out_dtype)
    return _restore(out, data_format)


def reference_conv_transpose(inputs: np.ndarray, kernel: np.ndarray, strides: Sequence[int], padding: str,
                             output_padding: Sequence[int] | None, data_format: str,
                             dilation_rate: Sequence[int]) -> np.ndarray:
    """Transposed convolution with a Keras kernel ``spatial + (filters, in_channels)``:
    every input cell scatters ``kernel @ value`` into the full output, which is
    then cropped (or zero-extended) to the Keras 3 / TensorFlow length."""
    out_dtype = inputs.dtype
    work = _work_dtype(out_dtype)
    x = _channels_last(inputs, data_format).astype(work)
    kernel = kernel.astype(work)
    *kernel_size, filters, channels = kernel.shape
    if x.shape[-1] != channels:
        raise op_error("conv_transpose", f"inputs with {channels} channels (the kernel's last axis)",
                       f"{x.shape[-1]} channels")
    spatial = x.shape[1:-1]
    rank = len(spatial)
    effective = [(k - 1) * d + 1 for k, d in zip(kernel_size, dilation_rate)]
    full = np.zeros((x.shape[0], *[(n - 1) * s + k for n, s, k in zip(spatial, strides, effective)], filters), work)
    for offset in itertools.product(*(range(k) for k in kernel_size)):
        index = (slice(None),) + tuple(
            slice(o * d, o * d + (n - 1) * s + 1, s)
            for o, d, n, s in zip(offset, dilation_rate, spatial, strides)
        ) + (slice(None),)
        full[index] += np.einsum("...c,fc->...f", x, kernel[offset])
    crop = []
    for axis in range(rank):
        before, after = conv_transpose_padding(
            kernel_size[axis], strides[axis], dilation_rate[axis], padding,
            None if output_padding is None else output_padding[axis],
        )
        length = (spatial[axis] - 1) * strides[axis] + before + after - effective[axis] + 2
        start = effective[axis] - 1 - before
        extend = max(start + length - full.shape[axis + 1], 0)
        crop.append((start, length, extend))
    full = np.pad(full, [(0, 0), *[(0, extend) for _, _, extend in crop], (0, 0)])
    out = full[(slice(None),) + tuple(slice(start, start + length) for start, length, _ in crop)]
    return _restore(out, data_format).astype(out_dtype)


class NumpyNN(_Host):
    """Activations, convolution and pooling of the NumPy engine (see
    :class:`polykeras.backends.numpy.NumpyBackend`)."""

    # --------------------------------------------------------- activations
    def relu(self, x: Tensor) -> Tensor:
        return self.xp.maximum(self._tensor(x), 0)

    def sigmoid(self, x: Tensor) -> Tensor:
        xp = self.xp
        x = self._floating(x)
        small = xp.exp(-xp.abs(x))  # never overflows
        return xp.where(x >= 0, 1 / (1 + small), small / (1 + small)).astype(x.dtype)

    def softplus(self, x: Tensor) -> Tensor:
        return self.xp.logaddexp(self._floating(x), 0)

    def softmax(self, x: Tensor, axis: int = -1) -> Tensor:
        xp = self.xp
        x = self._floating(x)
        e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
        return e / xp.sum(e, axis=axis, keepdims=True)

    def log_softmax(self, x: Tensor, axis: int = -1) -> Tensor:
        xp = self.xp
        x = self._floating(x)
        shifted = x - xp.max(x, axis=axis, keepdims=True)
        return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))

    # ------------------------------------------------------- convolutions
    def _spatial_pair(self, inputs: Tensor, kernel: Tensor) -> tuple[np.ndarray, np.ndarray]:
        inputs, kernel = self._tensor(inputs), self._tensor(kernel)
        if inputs.dtype != kernel.dtype:
            inputs, kernel = self._promote(inputs, kernel)
        return np.asarray(inputs), np.asarray(kernel)

    def conv(self, inputs: Tensor, kernel: Tensor, strides: Sequence[int], padding: str,
             data_format: str, dilation_rate: Sequence[int]) -> Tensor:
        inputs, kernel = self._spatial_pair(inputs, kernel)
        return reference_conv(inputs, kernel, tuple(strides), padding, data_format, tuple(dilation_rate))

    def depthwise_conv(self, inputs: Tensor, kernel: Tensor, strides: Sequence[int], padding: str,
                       data_format: str, dilation_rate: Sequence[int]) -> Tensor:
        inputs, kernel = self._spatial_pair(inputs, kernel)
        # A grouped conv with one group per channel: filter c * M + m reads channel c.
        kernel = kernel.reshape(kernel.shape[:-2] + (1, kernel.shape[-2] * kernel.shape[-1]))
        return reference_conv(inputs, kernel, tuple(strides), padding, data_format, tuple(dilation_rate))

    def conv_transpose(self, inputs: Tensor, kernel: Tensor, strides: Sequence[int], padding: str,
                       output_padding: Sequence[int] | None, data_format: str,
                       dilation_rate: Sequence[int]) -> Tensor:
        inputs, kernel = self._spatial_pair(inputs, kernel)
        return reference_conv_transpose(inputs, kernel, tuple(strides), padding,
                                        None if output_padding is None else tuple(output_padding),
                                        data_format, tuple(dilation_rate))

    # ------------------------------------------------------------ pooling
    def max_pool(self, inputs: Tensor, pool_size: Sequence[int], strides: Sequence[int],
                 padding: str, data_format: str) -> Tensor:
        return reference_pool(np.asarray(self._tensor(inputs)), tuple(pool_size), tuple(strides),
                              padding, data_format, "max")

    def average_pool(self, inputs: Tensor, pool_size: Sequence[int], strides: Sequence[int],
                     padding: str, data_format: str) -> Tensor:
        return reference_pool(np.asarray(self._tensor(inputs)), tuple(pool_size), tuple(strides),
                              padding, data_format, "average")

