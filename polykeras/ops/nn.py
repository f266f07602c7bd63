"""Neural-network ops: activations, convolution, pooling, normalisation and the
primitives of the losses. Channels-last unless ``data_format`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polykeras.backends import active
from polykeras.backends.dtypes import floatx
from polykeras.config import image_data_format
from polykeras.ops._dispatch import as_axis, check, op
from polykeras.ops.core import _refuse_sparse

Tensor = Any
DATA_FORMATS = ("channels_last", "channels_first")


@op("a tensor")
def relu(x: Tensor) -> Tensor:
    """``max(x, 0)``. Example: ``ops.relu(x)``"""


@op("a tensor")
def relu6(x: Tensor) -> Tensor:
    """``min(max(x, 0), 6)``. Example: ``ops.relu6(x)``"""


@op("a tensor")
def leaky_relu(x: Tensor, negative_slope: float = 0.2) -> Tensor:
    """``x`` if positive else ``negative_slope * x``. Example: ``ops.leaky_relu(x, 0.1)``"""


@op("a tensor")
def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """Exponential linear unit. Example: ``ops.elu(x)``"""


@op("a tensor")
def selu(x: Tensor) -> Tensor:
    """Scaled ELU (self-normalising constants). Example: ``ops.selu(x)``"""


@op("a tensor")
def gelu(x: Tensor, approximate: bool = True) -> Tensor:
    """Gaussian error linear unit (tanh approximation by default, as Keras).
    Example: ``ops.gelu(x, approximate=False)``"""


@op("a tensor")
def silu(x: Tensor) -> Tensor:
    """``x * sigmoid(x)`` (swish). Example: ``ops.silu(x)``"""


@op("a tensor")
def mish(x: Tensor) -> Tensor:
    """``x * tanh(softplus(x))``. Example: ``ops.mish(x)``"""


@op("a tensor")
def sigmoid(x: Tensor) -> Tensor:
    """Logistic function. Example: ``ops.sigmoid(x)``"""


@op("a tensor")
def hard_sigmoid(x: Tensor) -> Tensor:
    """Piecewise-linear sigmoid ``clip(x / 6 + 0.5, 0, 1)``. Example: ``ops.hard_sigmoid(x)``"""


@op("a tensor")
def hard_silu(x: Tensor) -> Tensor:
    """``x * hard_sigmoid(x)``. Example: ``ops.hard_silu(x)``"""


@op("a tensor")
def softplus(x: Tensor) -> Tensor:
    """``log(1 + exp(x))``, stable. Example: ``ops.softplus(x)``"""


@op("a tensor")
def softsign(x: Tensor) -> Tensor:
    """``x / (1 + |x|)``. Example: ``ops.softsign(x)``"""


@op("a tensor and an axis within its rank")
def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """Normalised exponentials along ``axis``. Example: ``ops.softmax(logits)``"""


@op("a tensor and an axis within its rank")
def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """``log(softmax(x))``, stable. Example: ``ops.log_softmax(logits)``"""


@op("integer class ids and a positive num_classes", body=True)
def one_hot(x: Tensor, num_classes: int, axis: int = -1, dtype: str | None = None, sparse: bool = False) -> Tensor:
    """One-hot encoding (ids outside ``[0, num_classes)`` give all zeros), of
    ``floatx()`` unless ``dtype`` is given; ``sparse=True`` is refused by name
    (polykeras's tensors are dense). Example: ``ops.one_hot(labels, 10)``"""
    _refuse_sparse("one_hot", sparse=sparse)
    return active().one_hot(x, num_classes, axis=axis, dtype=dtype or floatx())


@op("a tensor and axes within its rank", body=True)
def moments(x: Tensor, axes: int | Sequence[int], keepdims: bool = False, synchronized: bool = False
            ) -> tuple[Tensor, Tensor]:
    """Mean and population variance over ``axes``. ``synchronized=True``:
    inside a data-parallel step (``polykeras.distribution``), over the global
    batch (every replica's count, sum and sum of squares added up); elsewhere
    the same as the local moments. Example: ``mean, var = ops.moments(x, axes=(0,))``"""
    engine = active()
    axis = as_axis(axes)
    if not synchronized:
        return engine.moments(x, axis, keepdims=keepdims)
    x = engine.convert_to_tensor(x)
    if not engine.dtype(x).startswith(("float", "bfloat")):
        x = engine.cast(x, "float32")
    count = engine.sum(engine.ones_like(x), axis=axis, keepdims=True)
    total = engine.sum(x, axis=axis, keepdims=True)
    squares = engine.sum(engine.square(x), axis=axis, keepdims=True)
    count, total, squares = engine.replica_sum([count, total, squares])
    mean = engine.divide(total, count)
    variance = engine.maximum(engine.subtract(engine.divide(squares, count), engine.square(mean)), 0.0)
    if not keepdims:
        mean, variance = engine.squeeze(mean, axis=axis), engine.squeeze(variance, axis=axis)
    return mean, variance


@op("statistics of the size of x along axis")
def batch_normalization(
    x: Tensor, mean: Tensor, variance: Tensor, axis: int,
    offset: Tensor | None = None, scale: Tensor | None = None, epsilon: float = 1e-3,
) -> Tensor:
    """Normalise with given statistics. Example: ``ops.batch_normalization(x, m, v, axis=-1)``"""


@op("targets and probabilities (or logits) of the same shape", broadcast=True)
def categorical_crossentropy(target: Tensor, output: Tensor, from_logits: bool = False, axis: int = -1) -> Tensor:
    """Per-sample cross-entropy against one-hot targets. Example: ``ops.categorical_crossentropy(y, p)``"""


@op("integer targets with the shape of output less its class axis")
def sparse_categorical_crossentropy(target: Tensor, output: Tensor, from_logits: bool = False,
                                    axis: int = -1) -> Tensor:
    """Per-sample cross-entropy against integer class ids.

    Example: ``ops.sparse_categorical_crossentropy(ids, logits, from_logits=True)``"""


@op("targets and probabilities (or logits) of the same shape", broadcast=True)
def binary_crossentropy(target: Tensor, output: Tensor, from_logits: bool = False) -> Tensor:
    """Elementwise binary cross-entropy. Example: ``ops.binary_crossentropy(y, p)``"""


def _tuple(value: int | Sequence[int], n: int, name: str, what: str) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    value = tuple(int(v) for v in value)
    check(len(value) == n, name, f"{what} as an int or {n} ints", repr(value))
    return value


def _spatial(name: str, inputs: Any, rank: int, data_format: str | None) -> str:
    data_format = data_format or image_data_format()
    check(data_format in DATA_FORMATS, name, f"data_format in {DATA_FORMATS}", repr(data_format))
    ndim = len(active().shape(inputs))
    check(ndim == rank + 2, name, f"inputs of rank {rank + 2} (batch, {rank} spatial axes, channels)",
          f"rank {ndim} with shape {active().shape(inputs)}")
    return data_format


def _causal_pad(inputs: Tensor, kernel_size: int, dilation: int, data_format: str) -> Tensor:
    left = dilation * (kernel_size - 1)
    widths = [(0, 0), (left, 0), (0, 0)] if data_format == "channels_last" else [(0, 0), (0, 0), (left, 0)]
    return active().pad(inputs, widths)


@op("inputs (batch, *spatial, channels) and a kernel (*kernel_size, channels // groups, filters)", body=True)
def conv(
    inputs: Tensor, kernel: Tensor, strides: int | Sequence[int] = 1, padding: str = "valid",
    data_format: str | None = None, dilation_rate: int | Sequence[int] = 1,
) -> Tensor:
    """N-D convolution (1, 2 or 3 spatial axes); ``padding`` valid, same or
    causal (1-D only). The group count is ``channels // kernel.shape[-2]``.

    Example: ``ops.conv(images, kernel, strides=2, padding="same")``
    """
    engine = active()
    rank = len(engine.shape(kernel)) - 2
    data_format = _spatial("conv", inputs, rank, data_format)
    strides = _tuple(strides, rank, "conv", "strides")
    dilation_rate = _tuple(dilation_rate, rank, "conv", "dilation_rate")
    check(padding in ("valid", "same", "causal"), "conv", "padding valid, same or causal", repr(padding))
    channels = engine.shape(inputs)[-1 if data_format == "channels_last" else 1]
    per_group = engine.shape(kernel)[-2]
    check(per_group > 0 and channels % per_group == 0, "conv",
          f"input channels divisible by the kernel's input channels {per_group}",
          f"{channels} input channels (inputs {engine.shape(inputs)}, kernel {engine.shape(kernel)})")
    if padding == "causal":
        check(rank == 1, "conv", "causal padding with 1-D inputs only", f"{rank} spatial axes")
        inputs = _causal_pad(inputs, engine.shape(kernel)[0], dilation_rate[0], data_format)
        padding = "valid"
    return engine.conv(inputs, kernel, strides, padding, data_format, dilation_rate)


@op("inputs (batch, *spatial, channels) and a kernel (*kernel_size, channels, depth_multiplier)", body=True)
def depthwise_conv(
    inputs: Tensor, kernel: Tensor, strides: int | Sequence[int] = 1, padding: str = "valid",
    data_format: str | None = None, dilation_rate: int | Sequence[int] = 1,
) -> Tensor:
    """Per-channel convolution. Example: ``ops.depthwise_conv(images, kernel, padding="same")``"""
    engine = active()
    rank = len(engine.shape(kernel)) - 2
    data_format = _spatial("depthwise_conv", inputs, rank, data_format)
    strides = _tuple(strides, rank, "depthwise_conv", "strides")
    dilation_rate = _tuple(dilation_rate, rank, "depthwise_conv", "dilation_rate")
    check(padding in ("valid", "same", "causal"), "depthwise_conv", "padding valid, same or causal", repr(padding))
    if padding == "causal":
        check(rank == 1, "depthwise_conv", "causal padding with 1-D inputs only", f"{rank} spatial axes")
        inputs = _causal_pad(inputs, engine.shape(kernel)[0], dilation_rate[0], data_format)
        padding = "valid"
    return engine.depthwise_conv(inputs, kernel, strides, padding, data_format, dilation_rate)


@op("inputs (batch, *spatial, channels) and a kernel (*kernel_size, filters, channels)", body=True)
def conv_transpose(
    inputs: Tensor, kernel: Tensor, strides: int | Sequence[int] = 1, padding: str = "valid",
    output_padding: int | Sequence[int] | None = None, data_format: str | None = None,
    dilation_rate: int | Sequence[int] = 1,
) -> Tensor:
    """Transposed convolution (the gradient of ``conv``).

    Example: ``ops.conv_transpose(x, k, strides=2, padding="same")``"""
    engine = active()
    rank = len(engine.shape(kernel)) - 2
    data_format = _spatial("conv_transpose", inputs, rank, data_format)
    strides = _tuple(strides, rank, "conv_transpose", "strides")
    dilation_rate = _tuple(dilation_rate, rank, "conv_transpose", "dilation_rate")
    if output_padding is not None:
        output_padding = _tuple(output_padding, rank, "conv_transpose", "output_padding")
    check(padding in ("valid", "same"), "conv_transpose", "padding valid or same", repr(padding))
    return engine.conv_transpose(inputs, kernel, strides, padding, output_padding, data_format, dilation_rate)


def _pool(name: str, inputs: Tensor, pool_size: Any, strides: Any, padding: str, data_format: str | None) -> Tensor:
    engine = active()
    rank = len(engine.shape(inputs)) - 2
    check(rank in (1, 2, 3), name, "inputs of rank 3, 4 or 5", f"shape {engine.shape(inputs)}")
    data_format = _spatial(name, inputs, rank, data_format)
    pool_size = _tuple(pool_size, rank, name, "pool_size")
    strides = pool_size if strides is None else _tuple(strides, rank, name, "strides")
    check(padding in ("valid", "same"), name, "padding valid or same", repr(padding))
    return getattr(engine, name)(inputs, pool_size, strides, padding, data_format)


@op("inputs (batch, *spatial, channels)", body=True)
def max_pool(inputs: Tensor, pool_size: int | Sequence[int], strides: int | Sequence[int] | None = None,
             padding: str = "valid", data_format: str | None = None) -> Tensor:
    """Max pooling over 1, 2 or 3 spatial axes (``strides`` default to ``pool_size``).
    Example: ``ops.max_pool(images, 2)``"""
    return _pool("max_pool", inputs, pool_size, strides, padding, data_format)


@op("inputs (batch, *spatial, channels)", body=True)
def average_pool(inputs: Tensor, pool_size: int | Sequence[int], strides: int | Sequence[int] | None = None,
                 padding: str = "valid", data_format: str | None = None) -> Tensor:
    """Average pooling over 1, 2 or 3 spatial axes. Example: ``ops.average_pool(images, 2, padding="same")``"""
    return _pool("average_pool", inputs, pool_size, strides, padding, data_format)


from polykeras.ops.nn_extra import *  # noqa: E402, F403 - the rest of keras.ops.nn, by family
from polykeras.ops.nn_patches import *  # noqa: E402, F403 - polar, unfold, fold
