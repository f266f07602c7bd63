"""An independent float64 NumPy reference for the ops NumPy lacks.

Written from the definitions (Keras 3 semantics, TensorFlow "same" padding),
not from any engine: convolutions are direct sums over kernel taps, pools loop
over window cells. Slow and plain on purpose; fine for the small tensors the
strategies draw. Every function takes and returns float64 NumPy arrays (ints
for indices) and accepts anything ``np.asarray`` does.

Example:
    >>> import numpy as np
    >>> from conformance import reference as ref
    >>> ref.softmax(np.array([0.0, 0.0]))
    array([0.5, 0.5])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Array = np.ndarray
Axis = int | tuple[int, ...] | None

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
EPSILON = 1e-7  # Keras' probability clip in the cross-entropies


def _f64(x: Any) -> Array:
    return np.asarray(x, dtype=np.float64)


# ------------------------------------------------------------- activations
def erf(x: Any) -> Array:
    """Gauss error function, from :func:`math.erf`. Example: ``erf([0.0])`` -> ``[0.]``"""
    return np.vectorize(math.erf, otypes=[np.float64])(_f64(x))


def relu(x: Any) -> Array:
    """``max(x, 0)``. Example: ``relu([-1.0, 2.0])`` -> ``[0., 2.]``"""
    return np.maximum(_f64(x), 0.0)


def relu6(x: Any) -> Array:
    """``min(max(x, 0), 6)``. Example: ``relu6([7.0])`` -> ``[6.]``"""
    return np.minimum(np.maximum(_f64(x), 0.0), 6.0)


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Array:
    """``x`` where ``x >= 0`` else ``negative_slope * x``. Example: ``leaky_relu([-1.0])`` -> ``[-0.2]``"""
    x = _f64(x)
    return np.where(x >= 0, x, negative_slope * x)


def elu(x: Any, alpha: float = 1.0) -> Array:
    """``x`` where ``x > 0`` else ``alpha * (exp(x) - 1)``. Example: ``elu([0.0])``"""
    x = _f64(x)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def selu(x: Any) -> Array:
    """Scaled ELU with the self-normalising constants. Example: ``selu([1.0])``"""
    return SELU_SCALE * elu(x, SELU_ALPHA)


def sigmoid(x: Any) -> Array:
    """Logistic function, stable for large ``|x|``. Example: ``sigmoid([0.0])`` -> ``[0.5]``"""
    x = _f64(x)
    with np.errstate(over="ignore"):
        pos = 1.0 / (1.0 + np.exp(-np.abs(x)))
    return np.where(x >= 0, pos, 1.0 - pos)


def softplus(x: Any) -> Array:
    """``log(1 + exp(x))``. Example: ``softplus([0.0])`` -> ``[0.693...]``"""
    return np.logaddexp(0.0, _f64(x))


def softsign(x: Any) -> Array:
    """``x / (1 + |x|)``. Example: ``softsign([1.0])`` -> ``[0.5]``"""
    x = _f64(x)
    return x / (1.0 + np.abs(x))


def silu(x: Any) -> Array:
    """``x * sigmoid(x)``. Example: ``silu([0.0])`` -> ``[0.]``"""
    x = _f64(x)
    return x * sigmoid(x)


def mish(x: Any) -> Array:
    """``x * tanh(softplus(x))``. Example: ``mish([0.0])`` -> ``[0.]``"""
    x = _f64(x)
    return x * np.tanh(softplus(x))


def gelu(x: Any, approximate: bool = True) -> Array:
    """GELU: tanh approximation (Keras' default) or the exact erf form.

    Example: ``gelu([1.0], approximate=False)`` -> ``[0.841...]``
    """
    x = _f64(x)
    if approximate:
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def hard_sigmoid(x: Any) -> Array:
    """``relu6(x + 3) / 6``. Example: ``hard_sigmoid([0.0])`` -> ``[0.5]``"""
    return relu6(_f64(x) + 3.0) / 6.0


def hard_silu(x: Any) -> Array:
    """``x * hard_sigmoid(x)``. Example: ``hard_silu([3.0])`` -> ``[3.]``"""
    x = _f64(x)
    return x * hard_sigmoid(x)


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Array:
    """``log(sum(exp(x)))`` over ``axis``, shifted by the max (infinities
    handled). Example: ``logsumexp([0.0, 0.0])`` -> ``0.693...``"""
    x = _f64(x)
    peak = np.max(x, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - peak), axis=axis, keepdims=True)) + peak
    return out if keepdims else np.squeeze(out, axis=axis)


def softmax(x: Any, axis: int = -1) -> Array:
    """Normalised exponentials. Example: ``softmax([0.0, 0.0])`` -> ``[0.5, 0.5]``"""
    x = _f64(x)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x: Any, axis: int = -1) -> Array:
    """``x - logsumexp(x)``. Example: ``log_softmax([0.0, 0.0])`` -> ``[-0.693..., -0.693...]``"""
    x = _f64(x)
    return x - logsumexp(x, axis=axis, keepdims=True)


# ----------------------------------------------------------- nn utilities
def one_hot(x: Any, num_classes: int, axis: int = -1) -> Array:
    """One-hot rows; ids outside ``[0, num_classes)`` give all zeros.

    Example: ``one_hot([1], 3)`` -> ``[[0., 1., 0.]]``
    """
    ids = np.asarray(x)
    hot = (ids[..., None] == np.arange(num_classes)).astype(np.float64)
    return np.moveaxis(hot, -1, axis) if axis != -1 else hot


def moments(x: Any, axes: Axis, keepdims: bool = False) -> tuple[Array, Array]:
    """Mean and population variance over ``axes``. Example: ``moments([1.0, 3.0], 0)`` -> ``(2., 1.)``"""
    x = _f64(x)
    axes = tuple(axes) if isinstance(axes, (list, tuple)) else axes
    return np.mean(x, axis=axes, keepdims=keepdims), np.var(x, axis=axes, keepdims=keepdims)


def batch_normalization(
    x: Any, mean: Any, variance: Any, axis: int, offset: Any = None, scale: Any = None, epsilon: float = 1e-3,
) -> Array:
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset`` with the
    statistics (vectors) laid along ``axis``. Example: ``batch_normalization(x, m, v, axis=-1)``"""
    x = _f64(x)
    shape = [1] * x.ndim
    shape[axis] = -1

    def along(v: Any) -> Array:
        return _f64(v).reshape(shape)

    out = (x - along(mean)) / np.sqrt(along(variance) + epsilon)
    if scale is not None:
        out = out * along(scale)
    if offset is not None:
        out = out + along(offset)
    return out


def top_k(x: Any, k: int) -> tuple[Array, Array]:
    """The ``k`` largest entries of the last axis, ties to the lower index.

    Example: ``top_k([1.0, 3.0, 3.0], 2)`` -> ``([3., 3.], [1, 2])``
    """
    x = _f64(x)
    order = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    return np.take_along_axis(x, order, axis=-1), order


# ----------------------------------------------------------------- losses
def _clip_bounds(dtype: str) -> tuple[float, float]:
    # The bounds as the engine holds them: 1 - 1e-7 rounds to 1 - 1.19e-7 in
    # float32, which moves -log(1 - p) at p = 1 from 16.12 to 15.94.
    return float(np.asarray(EPSILON, dtype)), float(np.asarray(1.0 - EPSILON, dtype))


def categorical_crossentropy(
    target: Any, output: Any, from_logits: bool = False, axis: int = -1, dtype: str = "float64",
) -> Array:
    """Per-sample ``-sum(target * log p)``; probabilities renormalised and
    clipped to ``[1e-7, 1 - 1e-7]`` (Keras), the bounds rounded to ``dtype``
    (the engine's). Example: ``categorical_crossentropy([[0, 1]], [[0.5, 0.5]])``"""
    target, output = _f64(target), _f64(output)
    if from_logits:
        log_p = log_softmax(output, axis=axis)
    else:
        output = output / np.sum(output, axis=axis, keepdims=True)
        log_p = np.log(np.clip(output, *_clip_bounds(dtype)))
    return -np.sum(target * log_p, axis=axis)


def sparse_categorical_crossentropy(
    target: Any, output: Any, from_logits: bool = False, axis: int = -1, dtype: str = "float64",
) -> Array:
    """``categorical_crossentropy`` against integer class ids (a trailing
    size-1 axis on the ids is dropped). Example: ``sparse_categorical_crossentropy([1], [[0.5, 0.5]])``"""
    ids = np.asarray(target)
    output = _f64(output)
    if ids.ndim == output.ndim and ids.shape[-1] == 1:
        ids = ids[..., 0]
    return categorical_crossentropy(one_hot(ids, output.shape[axis], axis=axis), output, from_logits, axis, dtype)


def binary_crossentropy(target: Any, output: Any, from_logits: bool = False, dtype: str = "float64") -> Array:
    """Elementwise binary cross-entropy; probabilities clipped to
    ``[1e-7, 1 - 1e-7]``, the bounds rounded to ``dtype`` (the engine's).
    Example: ``binary_crossentropy([1.0], [0.5])`` -> ``[0.693...]``"""
    target, output = _f64(target), _f64(output)
    if from_logits:
        # -z log s(x) - (1 - z) log(1 - s(x)), with log s(x) = -softplus(-x).
        return target * softplus(-output) + (1.0 - target) * softplus(output)
    p = np.clip(output, *_clip_bounds(dtype))
    return -(target * np.log(p) + (1.0 - target) * np.log(1.0 - p))


# ------------------------------------------------------- conv and pooling
def _tuple(value: int | Sequence[int], n: int) -> tuple[int, ...]:
    return (int(value),) * n if isinstance(value, (int, np.integer)) else tuple(int(v) for v in value)


def _channels_last(x: Array, data_format: str) -> Array:
    return np.moveaxis(x, 1, -1) if data_format == "channels_first" else x


def _restore(x: Array, data_format: str) -> Array:
    return np.moveaxis(x, -1, 1) if data_format == "channels_first" else x


def same_padding(size: int, window: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "same" padding of one axis: ``ceil(size / stride)``
    outputs, the odd cell at the end. Example: ``same_padding(5, 2, 2)`` -> ``(0, 1)``"""
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def conv(
    inputs: Any, kernel: Any, strides: int | Sequence[int] = 1, padding: str = "valid",
    data_format: str = "channels_last", dilation_rate: int | Sequence[int] = 1,
) -> Array:
    """N-D cross-correlation; kernel ``spatial + (in // groups, filters)``, the
    group count ``in_channels // kernel.shape[-2]``.

    Example: ``conv(np.ones((1, 3, 1)), np.ones((2, 1, 1)))`` -> ``[[[2.], [2.]]]``
    """
    x = _channels_last(_f64(inputs), data_format)
    k = _f64(kernel)
    rank = k.ndim - 2
    strides, dilation = _tuple(strides, rank), _tuple(dilation_rate, rank)
    per_group, filters = k.shape[-2:]
    groups = x.shape[-1] // per_group
    if groups * per_group != x.shape[-1] or filters % groups:
        raise ValueError(f"conv: {x.shape[-1]} input channels and kernel {k.shape} do not form groups.")
    pads = [(0, 0)]
    for n, size, s, d in zip(x.shape[1:-1], k.shape[:rank], strides, dilation):
        pads.append(same_padding(n, (size - 1) * d + 1, s) if padding == "same" else (0, 0))
    x = np.pad(x, pads + [(0, 0)])
    outs = [(x.shape[1 + i] - (k.shape[i] - 1) * dilation[i] - 1) // strides[i] + 1 for i in range(rank)]
    if min(outs) < 1:
        raise ValueError(f"conv: kernel {k.shape[:rank]} (dilated) larger than the input {x.shape[1:-1]}.")
    out = np.zeros((x.shape[0], *outs, filters))
    per_out = filters // groups
    for tap in np.ndindex(*k.shape[:rank]):
        cells = tuple(slice(t * d, t * d + (o - 1) * s + 1, s) for t, d, s, o in zip(tap, dilation, strides, outs))
        window = x[(slice(None), *cells)]
        for g in range(groups):
            block = k[tap][:, g * per_out:(g + 1) * per_out]
            out[..., g * per_out:(g + 1) * per_out] += window[..., g * per_group:(g + 1) * per_group] @ block
    return _restore(out, data_format)


def depthwise_conv(
    inputs: Any, kernel: Any, strides: int | Sequence[int] = 1, padding: str = "valid",
    data_format: str = "channels_last", dilation_rate: int | Sequence[int] = 1,
) -> Array:
    """Per-channel convolution; kernel ``spatial + (in, multiplier)``, output
    channel ``c * multiplier + m``. Example: ``depthwise_conv(x, np.ones((3, 2, 1)))``"""
    k = _f64(kernel)
    grouped = k.reshape(*k.shape[:-2], 1, k.shape[-2] * k.shape[-1])
    return conv(inputs, grouped, strides, padding, data_format, dilation_rate)


def conv_transpose_length(
    size: int, kernel_size: int, stride: int, padding: str, output_padding: int | None, dilation: int = 1,
) -> int:
    """Output length of a transposed convolution along one axis (Keras 3).

    Example: ``conv_transpose_length(4, 3, 2, "same", None)`` -> ``8``
    """
    k = (kernel_size - 1) * dilation + 1
    if padding == "valid":
        extra = max(k, stride) - k if output_padding is None else output_padding
        return (size - 1) * stride + k + extra
    if output_padding is None:
        return size * stride
    return (size - 1) * stride + k - 2 * (k // 2) + output_padding


def conv_transpose(
    inputs: Any, kernel: Any, strides: int | Sequence[int] = 1, padding: str = "valid",
    output_padding: int | Sequence[int] | None = None, data_format: str = "channels_last",
    dilation_rate: int | Sequence[int] = 1,
) -> Array:
    """The adjoint of :func:`conv` (its gradient w.r.t. the input) for the
    output length of :func:`conv_transpose_length`; kernel
    ``spatial + (filters, in_channels)``.

    Example: ``conv_transpose(np.ones((1, 2, 1)), np.ones((2, 1, 1)), strides=2)`` -> ones of length 4
    """
    x = _channels_last(_f64(inputs), data_format)
    k = _f64(kernel)
    rank = k.ndim - 2
    strides, dilation = _tuple(strides, rank), _tuple(dilation_rate, rank)
    extras = [None] * rank if output_padding is None else list(_tuple(output_padding, rank))
    lengths, befores, fulls = [], [], []
    for n, size, s, d, extra in zip(x.shape[1:-1], k.shape[:rank], strides, dilation, extras):
        length = conv_transpose_length(n, size, s, padding, extra, d)
        k_eff = (size - 1) * d + 1
        before = max((n - 1) * s + k_eff - length, 0) // 2 if padding == "same" else 0
        lengths.append(length)
        befores.append(before)
        fulls.append(max((n - 1) * s + k_eff, before + length))
    full = np.zeros((x.shape[0], *fulls, k.shape[-2]))
    for tap in np.ndindex(*k.shape[:rank]):
        cells = tuple(slice(t * d, t * d + (n - 1) * s + 1, s)
                      for t, d, s, n in zip(tap, dilation, strides, x.shape[1:-1]))
        full[(slice(None), *cells)] += x @ k[tap].T
    crop = tuple(slice(b, b + length) for b, length in zip(befores, lengths))
    return _restore(full[(slice(None), *crop)], data_format)


def _pool(inputs: Any, pool_size: Any, strides: Any, padding: str, data_format: str, kind: str) -> Array:
    x = _channels_last(_f64(inputs), data_format)
    rank = x.ndim - 2
    pool_size = _tuple(pool_size, rank)
    strides = pool_size if strides is None else _tuple(strides, rank)
    pads = [(0, 0)]
    for n, p, s in zip(x.shape[1:-1], pool_size, strides):
        pads.append(same_padding(n, p, s) if padding == "same" else (0, 0))
    pads.append((0, 0))
    filler = -np.inf if kind == "max" else 0.0
    padded = np.pad(x, pads, constant_values=filler)
    valid = np.pad(np.ones(x.shape), pads)
    outs = [(padded.shape[1 + i] - pool_size[i]) // strides[i] + 1 for i in range(rank)]
    result = np.full((x.shape[0], *outs, x.shape[-1]), filler)
    count = np.zeros_like(result)
    for cell in np.ndindex(*pool_size):
        where = (slice(None), *(slice(c, c + (o - 1) * s + 1, s) for c, s, o in zip(cell, strides, outs)))
        if kind == "max":
            result = np.maximum(result, padded[where])
        else:
            result = result + padded[where]
            count = count + valid[where]
    if kind == "average":
        result = result / count
    return _restore(result, data_format)


def max_pool(inputs: Any, pool_size: Any, strides: Any = None, padding: str = "valid",
             data_format: str = "channels_last") -> Array:
    """N-D max pooling, "same" padded with -inf. Example: ``max_pool(x, 2)``"""
    return _pool(inputs, pool_size, strides, padding, data_format, "max")


def average_pool(inputs: Any, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str = "channels_last") -> Array:
    """N-D average pooling; "same" averages the valid cells only. Example: ``average_pool(x, 2)``"""
    return _pool(inputs, pool_size, strides, padding, data_format, "average")


# --------------------------------------------------------------- gradients
def numeric_grad(fn: Callable[..., Any], inputs: Sequence[Any], step: float = 1e-6) -> list[Array]:
    """Central finite differences of the scalar ``fn(*inputs)`` w.r.t. every
    input, in float64; the step scales with ``max(1, |x|)``.

    Example: ``numeric_grad(lambda x: np.sum(x ** 2), [np.array([3.0])])`` -> ``[array([6.])]``
    """
    inputs = [_f64(x).copy() for x in inputs]
    grads = []
    for x in inputs:
        grad = np.zeros_like(x)
        for index in np.ndindex(*x.shape):
            original = x[index]
            h = step * max(1.0, abs(original))
            x[index] = original + h
            up = float(fn(*inputs))
            x[index] = original - h
            down = float(fn(*inputs))
            x[index] = original
            grad[index] = (up - down) / (2 * h)
        grads.append(grad)
    return grads
