"""Activations, convolution, pooling and loss primitives for the PyTorch engine.

torch's spatial kernels are channels_first with kernels ``(out, in / groups,
*spatial)``; the protocol is channels_last by default with Keras 3 kernels
``(*spatial, in / groups, out)``. A channels_last input permuted to
channels_first is exactly torch's ``channels_last`` memory format, so the
permutes cost no copy. "same" padding follows TensorFlow (the odd cell at the
end), applied with an explicit ``F.pad`` when it is asymmetric.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from polykeras.backends.numpy.nn import conv_transpose_padding, same_padding
from polykeras.backends.torch.autodiff import compiling
from polykeras.backends.torch.core import INEXACT, T, axes, floating, pair, to_tensor

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def _channels_first(x: T, data_format: str) -> T:
    if data_format == "channels_last":
        return x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))
    return x


def _restore(x: T, data_format: str) -> T:
    if data_format == "channels_last":
        return x.permute(0, *range(2, x.ndim), 1)
    return x


def same_pads(sizes: Sequence[int], window: Sequence[int], strides: Sequence[int],
              dilations: Sequence[int]) -> list[tuple[int, int]]:
    """TensorFlow's "same" padding per spatial axis: ``(before, after)`` with
    the odd cell after (the shared rule of ``polykeras.backends.numpy.nn``).

    Example: ``same_pads([5], [2], [2], [1])`` -> ``[(0, 1)]``
    """
    return [same_padding(n, k, s, d) for n, k, s, d in zip(sizes, window, strides, dilations)]


def _pad_spatial(x: T, pads: Sequence[tuple[int, int]], value: float = 0.0) -> T:
    """Pad the trailing spatial axes of a channels_first tensor."""
    flat = [w for before_after in reversed(pads) for w in before_after]
    return F.pad(x, flat, value=value)


def _padding(x: T, padding: str, window: Sequence[int], strides: Sequence[int],
             dilations: Sequence[int]) -> tuple[T, Any]:
    """``x`` (padded when "same" is asymmetric) and the ``padding`` argument
    for the torch kernel."""
    if padding.lower() == "valid":
        return x, 0
    if padding.lower() != "same":
        raise ValueError(f"expected padding 'valid' or 'same', received {padding!r}")
    pads = same_pads(x.shape[2:], window, strides, dilations)
    if all(before == after for before, after in pads):
        return x, tuple(before for before, _ in pads)
    return _pad_spatial(x, pads), 0


def _operands(inputs: Any, kernel: Any) -> tuple[T, T]:
    if type(inputs) is T and type(kernel) is T and inputs.dtype is kernel.dtype:
        return inputs, kernel
    return pair(inputs, kernel, scalars=False)


class NNMixin:
    """Neural-network ops of :class:`TorchBackend`.

    Example: ``B.get("torch").conv(images, kernel, (2, 2), "same", "channels_last", (1, 1))``
    """

    # -------------------------------------------------------------- activations
    def relu(self, x: Any) -> T:
        if type(x) is not T:
            x = to_tensor(x)
        return torch.relu(x)

    def sigmoid(self, x: Any) -> T:
        if type(x) is not T or x.dtype not in INEXACT:
            x = floating(x)
        return torch.sigmoid(x)

    def softplus(self, x: Any) -> T:
        x = floating(x)
        # torch returns x itself above `threshold`; 40 keeps float64 exact there.
        return F.softplus(x, threshold=40.0 if x.dtype is torch.float64 else 20.0)

    def softmax(self, x: Any, axis: Any = -1) -> T:
        x = floating(x)
        if isinstance(axis, int):
            return torch.softmax(x, dim=axis)
        return torch.exp(x - torch.logsumexp(x, dim=axes(axis, x.ndim), keepdim=True))

    def log_softmax(self, x: Any, axis: Any = -1) -> T:
        x = floating(x)
        if isinstance(axis, int):
            return torch.log_softmax(x, dim=axis)
        return x - torch.logsumexp(x, dim=axes(axis, x.ndim), keepdim=True)

    def relu6(self, x: Any) -> T:
        x = to_tensor(x)
        if x.dtype not in INEXACT:
            x = x.to(torch.float32)  # clip(x, 0.0, 6.0): weak floats make ints float32
        return F.relu6(x)

    def leaky_relu(self, x: Any, negative_slope: float = 0.2) -> T:
        return F.leaky_relu(floating(x), negative_slope)

    def elu(self, x: Any, alpha: float = 1.0) -> T:
        return F.elu(floating(x), alpha)

    def selu(self, x: Any) -> T:
        return F.selu(floating(x))

    def gelu(self, x: Any, approximate: bool = True) -> T:
        return F.gelu(floating(x), approximate="tanh" if approximate else "none")

    def silu(self, x: Any) -> T:
        return F.silu(floating(x))

    def mish(self, x: Any) -> T:
        return F.mish(floating(x))

    def softsign(self, x: Any) -> T:
        return F.softsign(floating(x))

    # ------------------------------------------------------------ normalisation
    def moments(self, x: Any, axes: Any, keepdims: bool = False) -> tuple[T, T]:
        # Two passes (the mean, then the mean squared deviation from it) run
        # several times faster on the CPU than torch.var_mean, forward and
        # backward; half precision is summed in float32.
        x = floating(x)
        dtype = x.dtype
        if dtype in (torch.float16, torch.bfloat16):
            x = x.float()
        dims = _dims(axes, x.ndim)
        mean = x.mean(dims, keepdim=True)
        centred = x - mean.detach()  # the variance's gradient through the mean is zero
        variance = (centred * centred).mean(dims, keepdim=keepdims)
        return mean.reshape(variance.shape).to(dtype), variance.to(dtype)

    def layer_normalization(self, x: Any, gamma: Any, beta: Any, axes: Any, epsilon: float) -> T:
        x = floating(x)
        dims = _dims(axes, x.ndim) or ()
        last = tuple(range(x.ndim - len(dims), x.ndim))
        params = [p if p is None or type(p) is T else to_tensor(p) for p in (gamma, beta)]
        if dims and tuple(sorted(dims)) == last and all(p is None or p.dtype is x.dtype for p in params):
            # the normalised axes are the trailing ones: torch's fused kernel, forward and backward
            shape = tuple(x.shape[a] for a in last)
            if all(p is None or p.numel() == math.prod(shape) for p in params):
                weight, bias = (None if p is None else p.reshape(shape) for p in params)
                return F.layer_norm(x, shape, weight, bias, epsilon)
        return super().layer_normalization(x, gamma, beta, axes, epsilon)  # type: ignore[misc]

    def fused_batch_normalization(self, x: Any, axis: int, offset: Any = None, scale: Any = None,
                                  epsilon: float = 1e-3) -> tuple[T, T, T]:
        # torch's training kernel: one pass for the statistics and one for the output, and one
        # backward kernel, where the composite makes a dozen passes each way. The features go to
        # dim 1 as a view (a channels_last image is torch's channels_last memory format).
        x = floating(x)
        params = [p if p is None or type(p) is T else to_tensor(p) for p in (scale, offset)]
        if x.ndim < 2 or x.dtype not in (torch.float32, torch.float64) \
                or any(p is not None and p.dtype is not x.dtype for p in params):
            return super().fused_batch_normalization(x, axis, offset, scale, epsilon)  # type: ignore[misc]
        axis %= x.ndim
        moved = x if axis == 1 else x.movedim(axis, 1)
        outputs, mean, invstd = torch.native_batch_norm(moved, params[0], params[1], None, None, True, 0.0, epsilon)
        # the kernel keeps 1 / sqrt(variance + epsilon), summed in double precision
        variance = (invstd.double().pow(-2) - epsilon).clamp_min(0.0).to(x.dtype)
        return (outputs if axis == 1 else outputs.movedim(1, axis)), mean, variance

    # ------------------------------------------------------------------- losses
    def sparse_categorical_crossentropy(self, target: Any, output: Any, from_logits: bool = False,
                                        axis: int = -1) -> T:
        output = floating(output)
        target = to_tensor(target)
        if target.ndim == output.ndim and target.shape[-1] == 1:
            target = target.squeeze(-1)
        axis = axes(axis, output.ndim)[0]
        if from_logits:
            log_prob = torch.log_softmax(output, dim=axis)
        else:
            output = output / output.sum(dim=axis, keepdim=True)
            log_prob = torch.log(torch.clamp(output, 1e-7, 1.0 - 1e-7))
        classes = output.shape[axis]
        index = target.long()
        # other ids give a zero loss, as a one-hot of zeros: nll_loss ignores the id -100
        index = torch.where((index >= 0) & (index < classes), index, -100)
        if log_prob.ndim > 1 and axis != 1:
            log_prob = log_prob.movedim(axis, 1)  # nll_loss wants the classes second
        return F.nll_loss(log_prob, index, reduction="none")

    # --------------------------------------------------------------- convolution
    def conv(self, inputs: Any, kernel: Any, strides: Sequence[int], padding: str,
             data_format: str, dilation_rate: Sequence[int]) -> T:
        return self.conv_bias(inputs, kernel, None, strides, padding, data_format, dilation_rate)

    def conv_bias(self, inputs: Any, kernel: Any, bias: Any, strides: Sequence[int], padding: str,
                  data_format: str, dilation_rate: Sequence[int]) -> T:
        x, k = _operands(inputs, kernel)
        rank = k.ndim - 2
        x = _channels_first(x, data_format)
        groups = x.shape[1] // k.shape[-2]
        weight = k.permute(rank + 1, rank, *range(rank))  # (filters, in / groups, *spatial)
        if bias is not None and (type(bias) is not T or bias.dtype is not x.dtype):
            bias = to_tensor(bias).to(x.dtype)
        x, pad = _padding(x, padding, k.shape[:rank], strides, dilation_rate)
        out = _CONV[rank](x, weight, bias, tuple(strides), pad, tuple(dilation_rate), groups)
        return _restore(out, data_format)

    def depthwise_conv(self, inputs: Any, kernel: Any, strides: Sequence[int], padding: str,
                       data_format: str, dilation_rate: Sequence[int]) -> T:
        x, k = _operands(inputs, kernel)
        rank = k.ndim - 2
        x = _channels_first(x, data_format)
        channels, multiplier = k.shape[-2], k.shape[-1]
        # Output channel c * multiplier + m is kernel[..., c, m]: channel-major.
        weight = k.reshape(*k.shape[:rank], channels * multiplier).permute(rank, *range(rank)).unsqueeze(1)
        x, pad = _padding(x, padding, k.shape[:rank], strides, dilation_rate)
        out = _CONV[rank](x, weight, None, tuple(strides), pad, tuple(dilation_rate), channels)
        return _restore(out, data_format)

    def conv_transpose(self, inputs: Any, kernel: Any, strides: Sequence[int], padding: str,
                       output_padding: Sequence[int] | None, data_format: str,
                       dilation_rate: Sequence[int]) -> T:
        x, k = _operands(inputs, kernel)
        rank = k.ndim - 2
        padding = padding.lower()
        if padding not in ("valid", "same"):
            raise ValueError(f"expected padding 'valid' or 'same', received {padding!r}")
        x = _channels_first(x, data_format)
        weight = k.permute(rank + 1, rank, *range(rank))  # (in_channels, filters, *spatial)
        paddings, extras, lengths = [], [], []
        for i in range(rank):
            n, size, s, d = x.shape[2 + i], k.shape[i], strides[i], dilation_rate[i]
            effective = (size - 1) * d + 1
            # Keras 3's pads of the stride-dilated input (shared with the NumPy
            # engine) give the output length and the cells cut off the start of
            # the full transposed output, which torch's `padding` removes.
            before, after = conv_transpose_padding(size, s, d, padding,
                                                   None if output_padding is None else output_padding[i])
            length = (n - 1) * s + before + after - effective + 2
            cut = effective - 1 - before
            extra = length - ((n - 1) * s + effective - 2 * cut)
            paddings.append(cut)
            extras.append(extra if 0 <= extra < max(s, d) else 0)
            lengths.append(length)
        out = _CONV_T[rank](x, weight, None, tuple(strides), tuple(paddings), tuple(extras), 1,
                            tuple(dilation_rate))
        out = _fit_spatial(out, lengths)
        return _restore(out, data_format)

    # ------------------------------------------------------------------ pooling
    def max_pool(self, inputs: Any, pool_size: Sequence[int], strides: Sequence[int],
                 padding: str, data_format: str) -> T:
        x = _channels_first(to_tensor(inputs), data_format)
        rank = x.ndim - 2
        if padding.lower() == "same":
            pads = same_pads(x.shape[2:], pool_size, strides, [1] * rank)
            if any(before or after for before, after in pads):
                low = -math.inf if x.dtype in INEXACT else torch.iinfo(x.dtype).min
                x = _pad_spatial(x, pads, value=low)
        elif padding.lower() != "valid":
            raise ValueError(f"expected padding 'valid' or 'same', received {padding!r}")
        if tuple(pool_size) == tuple(strides) and x.dtype in INEXACT and compiling():
            return _restore(_WindowMax.apply(x, tuple(pool_size)), data_format)
        out = _MAX_POOL[rank](x, tuple(pool_size), tuple(strides))
        return _restore(out, data_format)

    def average_pool(self, inputs: Any, pool_size: Sequence[int], strides: Sequence[int],
                     padding: str, data_format: str) -> T:
        x = _channels_first(floating(inputs), data_format)
        rank = x.ndim - 2
        pads = [(0, 0)] * rank
        if padding.lower() == "same":
            pads = same_pads(x.shape[2:], pool_size, strides, [1] * rank)
        elif padding.lower() != "valid":
            raise ValueError(f"expected padding 'valid' or 'same', received {padding!r}")
        if not any(before or after for before, after in pads):
            return _restore(_AVG_POOL[rank](x, tuple(pool_size), tuple(strides)), data_format)
        # Average over the valid cells only: window sums over window counts.
        mask = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
        sums = _sum_pool(_pad_spatial(x, pads), pool_size, strides)
        counts = _sum_pool(_pad_spatial(mask, pads), pool_size, strides)
        return _restore(sums / counts, data_format)


def _dims(axis: Any, ndim: int) -> Any:
    dims = axes(axis, ndim)
    return dims if dims else None


class _WindowMax(torch.autograd.Function):
    """Max pooling of windows that do not overlap (strides equal to the
    window) over a channels_first ``x``. One pass over the window's strided
    slices keeps each window's maximum and the offset of its first maximum
    in row-major order (of its last NaN, if any), which is where ATen's
    kernel sends the gradient too; the gradient is then one elementwise pass
    over ``x``.

    For compiled steps only: Inductor fuses these passes, and the ReLU before
    them, into its own kernels, where ATen's pool and its index-scatter
    gradient stay opaque to it. Forward and backward of a ReLU then a 2x2 pool
    at (128, 32, 26, 26): 1.4-1.7 ms compiled this way, 6.0-7.3 ms compiled
    with ATen's pool, 3.6-4.1 ms eager with ATen's. Eager, the slices cost
    more than ATen's kernel. Overlapping windows keep the kernel: their
    separable slices compiled took 10 ms against its 3.3-4.0 ms eager (3x3,
    stride 2).
    """

    @staticmethod
    def forward(ctx: Any, x: T, window: tuple[int, ...]) -> T:
        slices = _window_slices(x, window)
        out = next(slices)
        first = torch.zeros_like(out, dtype=torch.int32)
        for offset, piece in enumerate(slices, 1):
            later = (piece > out) | (piece != piece)  # ATen's rule; != is isnan, vectorised by Inductor
            out = torch.where(later, piece, out)
            first = torch.where(later, offset, first)
        ctx.window, ctx.shape = window, x.shape
        ctx.save_for_backward(first)
        return out

    @staticmethod
    def backward(ctx: Any, grad: T) -> tuple[T, None]:
        (first,) = ctx.saved_tensors
        window, shape = ctx.window, ctx.shape
        counts = first.shape[2:]
        # Indexed (N, C, count 1, offset 1, count 2, offset 2, ...): each cell
        # takes its window's gradient where it holds the window's first maximum.
        spread = (*first.shape[:2], *(d for n in counts for d in (n, 1)))
        offsets = torch.arange(math.prod(window), device=grad.device, dtype=first.dtype)
        offsets = offsets.reshape(*[d for k in window for d in (k, 1)][:-1])
        cells = torch.where(offsets == first.reshape(spread), grad.reshape(spread), 0)
        cells = cells.reshape(*shape[:2], *(n * k for n, k in zip(counts, window)))
        rest = [(0, full - n * k) for full, n, k in zip(shape[2:], counts, window)]
        return (_pad_spatial(cells, rest) if any(after for _, after in rest) else cells), None


def _window_slices(x: T, window: Sequence[int]) -> Iterator[T]:
    """For each offset in a window (row-major), the strided slice of ``x``
    (channels_first) holding that cell of every whole window."""
    counts = [n // k for n, k in zip(x.shape[2:], window)]
    for offset in itertools.product(*(range(k) for k in window)):
        yield x[(slice(None), slice(None),
                 *(slice(i, n * k, k) for i, n, k in zip(offset, counts, window)))]


def _sum_pool(x: T, window: Sequence[int], strides: Sequence[int]) -> T:
    """Window sums of a channels_first tensor (1-D through the 2-D kernel)."""
    if x.ndim == 3:
        out = F.avg_pool2d(x.unsqueeze(-2), (1, *window), (1, *strides), divisor_override=1)
        return out.squeeze(-2)
    kernel = F.avg_pool2d if x.ndim == 4 else F.avg_pool3d
    return kernel(x, tuple(window), tuple(strides), divisor_override=1)


def _fit_spatial(x: T, lengths: Sequence[int]) -> T:
    """Cut or zero-extend the trailing spatial axes of ``x`` to ``lengths``."""
    pads = []
    for i, length in enumerate(lengths):
        axis = 2 + i
        if x.shape[axis] > length:
            x = x.narrow(axis, 0, length)
        pads.append((0, max(length - x.shape[axis], 0)))
    if any(after for _, after in pads):
        x = _pad_spatial(x, pads)
    return x
