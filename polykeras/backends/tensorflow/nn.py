"""TensorFlow engine, part 5: activations, convolutions, pooling and the native
cross-entropy kernels.

Convolutions call the raw ``Conv2D``/``Conv3D``/``DepthwiseConv2dNative``
kernels, which on CPU take strides and dilation together (``tf.nn.convolution``
refuses that pair); 1-D inputs run as 2-D with a unit axis. The CPU kernels
are channels_last only, so channels_first inputs are transposed in and out.
Grouped 3-D convolution has no CPU kernel and runs group by group. Outside
oneDNN's dtypes (float64, and integers, which convolve in float64) TF refuses
dilated or grouped gradients: there the kernel is dilated explicitly and groups
run one by one (see :func:`_native_ok`); dilated depthwise always takes the
explicit kernel, as TF's dilated depthwise gradients are wrong on CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import tensorflow as tf

from polykeras.backends.base import Tensor, op_error
from polykeras.backends.numpy import conv_transpose_padding
from polykeras.backends.tensorflow.core import (
    INEXACT, INT32, TENSORS, R, floating, ints, promote, scalar, tensor, tf_dtype,
)


if TYPE_CHECKING:  # the engine class this mixin is part of
    from polykeras.backends.base import Backend as _Host
else:
    _Host = object


def _activation(raw: Any, argument: str = "features") -> Any:
    """A float activation ``raw(features=)`` (int inputs become float32)."""

    def method(self: Any, x: Tensor) -> Tensor:
        if type(x) in TENSORS and x.dtype in INEXACT:
            return raw(**{argument: x})
        return raw(**{argument: floating(x)})

    return method


#: The ops TF's graph optimiser fuses with a bias add (and an add) and a following activation.
_CONTRACTIONS = frozenset({"MatMul", "BatchMatMulV2", "BatchMatMulV3", "Conv2D", "Conv3D", "DepthwiseConv2dNative"})
_ADDS = frozenset({"BiasAdd", "Add", "AddV2"})


def _fusable(x: Tensor, adds: int = 2) -> bool:
    """Whether ``x`` is a traced contraction followed by up to ``adds`` adds
    (bias, then a residual): the chain TF's remapper may fuse with an
    activation into one oneDNN kernel. Eager tensors never are."""
    try:
        producer = x.op
    except AttributeError:  # an eager tensor: no graph, no fusion
        return False
    if adds == 0 or producer.type not in _ADDS:
        return False
    return any(i.op.type in _CONTRACTIONS or _fusable(i, adds - 1) for i in producer.inputs)


@tf.custom_gradient
def _nan_keeping_relu(x: Tensor) -> Any:
    """``maximum(x, 0)``, which keeps NaN and which TF's optimiser does not
    fuse into a contraction, with Relu's own gradient kernel (``Maximum``'s
    gradient would also reduce a gradient for the zero over the whole tensor)."""
    out = R.Maximum(x=x, y=tf.zeros((), x.dtype))
    return out, lambda dy: R.ReluGrad(gradients=dy, features=out)


def _to_last(x: Tensor, data_format: str) -> Tensor:
    """channels_first -> channels_last (no-op for channels_last)."""
    if data_format != "channels_first":
        return x
    rank = x.shape.rank
    return R.Transpose(x=x, perm=ints(x, [0, *range(2, rank), 1]))


def _to_format(x: Tensor, data_format: str) -> Tensor:
    """channels_last -> ``data_format``."""
    if data_format != "channels_first":
        return x
    rank = x.shape.rank
    return R.Transpose(x=x, perm=ints(x, [0, rank - 1, *range(1, rank - 1)]))


def _pair(inputs: Any, kernel: Any) -> tuple[Tensor, Tensor, tf.DType | None]:
    """Inputs and kernel in one dtype, and the dtype to cast the result back to
    (integers convolve in float64, exact below 2**53, as TF has few int kernels)."""
    inputs, kernel = promote(inputs, kernel)
    if inputs.dtype in INEXACT:
        return inputs, kernel, None
    back = inputs.dtype
    return R.Cast(x=inputs, DstT=tf.float64), R.Cast(x=kernel, DstT=tf.float64), back


def _back(out: Tensor, back: tf.DType | None) -> Tensor:
    if back is None:
        return out
    whole = R.Cast(x=R.Round(x=out), DstT=tf.int64)  # then wrap to narrow ints, as NumPy
    return whole if back == tf.int64 else R.Cast(x=whole, DstT=back)


def _native_conv(x: Tensor, kernel: Tensor, strides: Sequence[int], padding: str,
                 dilation_rate: Sequence[int], depthwise: bool = False) -> Tensor:
    """A channels_last convolution on the raw 2-D/3-D kernels (1-D as 2-D)."""
    rank = len(kernel.shape) - 2
    pad = padding.upper()
    if rank == 1:  # the unit axis takes the same stride and rate: a 1-tap window over 1 cell
        x = R.ExpandDims(input=x, axis=1)
        kernel = R.ExpandDims(input=kernel, axis=0)
        strides, dilation_rate = (strides[0], *strides), (dilation_rate[0], *dilation_rate)
    strides, dilations = [1, *strides, 1], [1, *dilation_rate, 1]
    if depthwise:
        out = R.DepthwiseConv2dNative(input=x, filter=kernel, strides=strides, padding=pad, dilations=dilations)
    elif rank == 3:
        out = R.Conv3D(input=x, filter=kernel, strides=strides, padding=pad, dilations=dilations)
    elif rank in (1, 2):
        out = R.Conv2D(input=x, filter=kernel, strides=strides, padding=pad, dilations=dilations)
    else:
        raise op_error("conv", "a kernel with 1, 2 or 3 spatial axes", f"kernel shape {tuple(kernel.shape)}")
    return R.Squeeze(input=out, axis=[1]) if rank == 1 else out


_NATIVE_OK: dict[tf.DType, bool] = {}


def _native_ok(dtype: tf.DType) -> bool:
    """Whether TF's CPU kernels take dilation and groups in ``dtype``, forward
    and backward. oneDNN's float32/bfloat16 kernels do; Eigen's (float16,
    float64) refuse dilated or grouped gradients and some dilated forwards.
    Probed once per dtype, eagerly even while tracing."""
    ok = _NATIVE_OK.get(dtype)
    if ok is None:
        with tf.init_scope():
            x, x3 = tf.ones((1, 4, 4, 2), dtype), tf.ones((1, 4, 4, 4, 1), dtype)
            k, kd, k3 = tf.ones((2, 2, 1, 2), dtype), tf.ones((2, 2, 2, 1), dtype), tf.ones((2, 2, 2, 1, 1), dtype)
            try:
                with tf.GradientTape() as tape:
                    tape.watch([x, x3, k, kd, k3])
                    outs = [
                        R.Conv2D(input=x, filter=k, strides=[1, 1, 1, 1], padding="SAME", dilations=[1, 2, 2, 1]),
                        R.DepthwiseConv2dNative(input=x, filter=kd, strides=[1, 1, 1, 1], padding="SAME",
                                                dilations=[1, 2, 2, 1]),
                        R.Conv3D(input=x3, filter=k3, strides=[1] * 5, padding="SAME", dilations=[1, 2, 2, 2, 1]),
                    ]
                    total = tf.add_n([tf.reduce_sum(out) for out in outs])
                tape.gradient(total, [x, x3, k, kd, k3])
                ok = True
            except (tf.errors.OpError, TypeError, ValueError):
                ok = False
        _NATIVE_OK[dtype] = ok
    return ok


def _dilate_kernel(kernel: Tensor, dilation_rate: Sequence[int]) -> Tensor:
    """The kernel with ``d - 1`` zeros between taps along each spatial axis: a
    dilated convolution as a plain one, for dtypes whose kernels refuse dilation."""
    for axis, rate in enumerate(dilation_rate):
        if rate == 1:
            continue
        shape = list(kernel.shape)
        taps = shape[axis]
        spread = R.ExpandDims(input=kernel, axis=axis + 1)
        widths = [[0, 0]] * (len(shape) + 1)
        widths[axis + 1] = [0, rate - 1]
        spread = tf.pad(spread, widths)
        spread = R.Reshape(tensor=spread, shape=shape[:axis] + [taps * rate] + shape[axis + 1:])
        size = [-1] * len(shape)
        size[axis] = (taps - 1) * rate + 1
        kernel = R.Slice(input=spread, begin=[0] * len(shape), size=size)
    return kernel


def _grouped_conv(x: Tensor, kernel: Tensor, groups: int, strides: Sequence[int], padding: str,
                  dilation_rate: Sequence[int]) -> Tensor:
    """Group by group, for the kernels TF has no grouped CPU form of (3-D)."""
    if groups == 1:  # one group is a plain conv (and ConcatV2 refuses a single value)
        return _native_conv(x, kernel, strides, padding, dilation_rate)
    xs = tf.split(x, groups, axis=-1)
    kernels = tf.split(kernel, groups, axis=-1)
    outs = [_native_conv(a, k, strides, padding, dilation_rate) for a, k in zip(xs, kernels)]
    return R.ConcatV2(values=outs, axis=-1)


def _check_window(op: str, spatial: tuple, window: Sequence[int], dilation_rate: Sequence[int],
                  padding: str) -> None:
    """Refuse a "valid" window longer than the input (TF would return an empty tensor)."""
    if padding != "valid" or None in spatial:
        return
    if any(n < (k - 1) * d + 1 for n, k, d in zip(spatial, window, dilation_rate)):
        raise op_error(op, "spatial axes at least as long as the (dilated) window",
                       f"spatial shape {spatial} with window {tuple(window)} and dilation {tuple(dilation_rate)}")


def _transpose_length(n: int, k: int, stride: int, dilation: int, padding: str, output_padding: int | None) -> int:
    """Keras 3 / TF output length of a transposed convolution along one axis."""
    k = (k - 1) * dilation + 1
    if output_padding is None:
        return n * stride + max(k - stride, 0) if padding == "valid" else n * stride
    pad = k // 2 if padding == "same" else 0
    return (n - 1) * stride + k - 2 * pad + output_padding


class TensorflowNN(_Host):
    """Activations, convolutions, pooling and losses of the TensorFlow engine
    (see :class:`polykeras.backends.tensorflow.TensorflowBackend`)."""

    # --------------------------------------------------------- activations
    relu6 = _activation(R.Relu6)
    selu = _activation(R.Selu)
    softplus = _activation(R.Softplus)
    softsign = _activation(R.Softsign)
    sigmoid = _activation(R.Sigmoid, "x")

    def relu(self, x: Tensor) -> Tensor:
        if type(x) not in TENSORS:
            x = tensor(x)
        if x.dtype in INEXACT and _fusable(x):
            # NaN stays NaN, as on every engine: TF's graph optimiser fuses
            # MatMul/Conv + BiasAdd + Relu into one oneDNN kernel that turns
            # NaN into 0, so a compiled step saw a finite loss while its
            # gradients (through the NaN input) turned the weights NaN. Where
            # that fusion could happen, relu is _nan_keeping_relu: one pass
            # each way, as Relu, left unfused.
            return _nan_keeping_relu(x)
        return R.Relu(features=x)  # keeps integer dtypes, as ``maximum(x, 0)``

    def leaky_relu(self, x: Tensor, negative_slope: float = 0.2) -> Tensor:
        x = floating(x)
        if x.dtype == tf.float64:  # the kernel's ``alpha`` is a float32 attribute
            return R.SelectV2(condition=R.GreaterEqual(x=x, y=scalar(0.0, x.dtype)), t=x,
                              e=R.Mul(x=x, y=scalar(float(negative_slope), x.dtype)))
        return R.LeakyRelu(features=x, alpha=float(negative_slope))

    def elu(self, x: Tensor, alpha: float = 1.0) -> Tensor:
        x = floating(x)
        out = R.Elu(features=x)
        if alpha == 1.0:
            return out
        return R.SelectV2(condition=R.Greater(x=x, y=scalar(0, x.dtype)), t=out,
                          e=R.Mul(x=out, y=scalar(float(alpha), x.dtype)))

    def softmax(self, x: Tensor, axis: int = -1) -> Tensor:
        x = floating(x)
        if axis == -1 or axis == x.shape.rank - 1:
            return R.Softmax(logits=x)
        return tf.nn.softmax(x, axis=axis)

    def log_softmax(self, x: Tensor, axis: int = -1) -> Tensor:
        x = floating(x)
        if axis == -1 or axis == x.shape.rank - 1:
            return R.LogSoftmax(logits=x)
        return tf.nn.log_softmax(x, axis=axis)

    def one_hot(self, x: Tensor, num_classes: int, axis: int = -1, dtype: str = "float32") -> Tensor:
        x = tensor(x)
        if x.dtype not in (tf.uint8, INT32, tf.int64):
            x = R.Cast(x=x, DstT=tf.int64 if x.dtype.is_integer else INT32)
        return tf.one_hot(x, int(num_classes), axis=axis, dtype=tf_dtype(dtype))

    # ------------------------------------------------------ normalization
    def fused_batch_normalization(self, x: Tensor, axis: int, offset: Tensor | None = None,
                                  scale: Tensor | None = None, epsilon: float = 1e-3) -> tuple[Tensor, Tensor, Tensor]:
        # TF's training kernel (oneDNN's on CPU): one pass for the statistics and one for the output,
        # one backward kernel, where the composite runs a dozen ops each way. With the features last,
        # any other rank folds its other axes into one (a free reshape) for the 4-D kernel.
        x = tensor(x)
        scale, offset = (None if p is None else tensor(p) for p in (scale, offset))
        rank = x.shape.rank
        features = x.shape[-1] if rank else None
        rows = x.shape[:-1].num_elements() if rank else None  # None while a dimension is unknown
        if (x.dtype != tf.float32 or (rank or 0) < 2 or axis % rank != rank - 1 or features is None
                or rows == 0 or any(p is not None and p.dtype != tf.float32 for p in (scale, offset))):
            return super().fused_batch_normalization(x, axis, offset, scale, epsilon)
        flat = x if rank == 4 else R.Reshape(tensor=x, shape=[-1, 1, 1, features])
        y, mean, corrected, *_ = R.FusedBatchNormV3(
            x=flat, scale=tf.ones((features,)) if scale is None else scale,
            offset=tf.zeros((features,)) if offset is None else offset,
            mean=tf.zeros((0,)), variance=tf.zeros((0,)), epsilon=float(epsilon),
            exponential_avg_factor=1.0, data_format="NHWC", is_training=True)
        # the kernel reports the sample variance (divided by rows - 1); the layer wants the population's
        n = tf.cast(tf.size(x) // features, tf.float32) if rows is None else float(rows)
        variance = corrected * ((n - 1.0) / n)
        return (y if rank == 4 else R.Reshape(tensor=y, shape=tf.shape(x))), mean, variance

    # ------------------------------------------------------ cross-entropy
    # categorical_crossentropy stays the composite: TF's fused kernel's gradient
    # assumes targets that sum to 1.
    def sparse_categorical_crossentropy(self, target: Tensor, output: Tensor, from_logits: bool = False,
                                        axis: int = -1) -> Tensor:
        output = tensor(output)
        target = tensor(target)
        rank = output.shape.rank
        if not from_logits or axis not in (-1, rank - 1):
            return super().sparse_categorical_crossentropy(target, output, from_logits, axis)
        if target.shape.rank == rank and target.shape[-1] == 1:
            target = R.Squeeze(input=target, axis=[-1])
        if target.dtype not in (INT32, tf.int64):
            target = R.Cast(x=target, DstT=INT32)
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target, logits=floating(output))

    def binary_crossentropy(self, target: Tensor, output: Tensor, from_logits: bool = False) -> Tensor:
        if not from_logits:
            return super().binary_crossentropy(target, output, from_logits)
        target, output = promote(target, output)
        output = floating(output)
        return tf.nn.sigmoid_cross_entropy_with_logits(labels=R.Cast(x=target, DstT=output.dtype), logits=output)

    # ------------------------------------------------------- convolutions
    def conv(self, inputs: Tensor, kernel: Tensor, strides: Sequence[int], padding: str,
             data_format: str, dilation_rate: Sequence[int]) -> Tensor:
        x, kernel, back = _pair(inputs, kernel)
        x = _to_last(x, data_format)
        x_shape, k_shape = tuple(x.shape), tuple(kernel.shape)
        rank = len(k_shape) - 2
        channels, per_group = x_shape[-1], k_shape[-2]
        if not per_group or channels % per_group:
            raise op_error("conv", f"input channels divisible by the kernel's input channels {per_group}",
                           f"{channels} input channels")
        groups = channels // per_group
        _check_window("conv", x_shape[1:-1], k_shape[:-2], dilation_rate, padding)
        native = _native_ok(x.dtype)
        if not native and any(d > 1 for d in dilation_rate):
            kernel, dilation_rate = _dilate_kernel(kernel, dilation_rate), (1,) * rank
        if groups > 1 and (rank == 3 or not native):
            out = _grouped_conv(x, kernel, groups, strides, padding, dilation_rate)
        else:
            out = _native_conv(x, kernel, strides, padding, dilation_rate)
        return _to_format(_back(out, back), data_format)

    def depthwise_conv(self, inputs: Tensor, kernel: Tensor, strides: Sequence[int], padding: str,
                       data_format: str, dilation_rate: Sequence[int]) -> Tensor:
        x, kernel, back = _pair(inputs, kernel)
        x = _to_last(x, data_format)
        rank = kernel.shape.rank - 2
        _check_window("depthwise_conv", tuple(x.shape)[1:-1], tuple(kernel.shape)[:-2], dilation_rate, padding)
        if any(d > 1 for d in dilation_rate):
            # TF's dilated depthwise gradients are wrong or refused on CPU (oneDNN
            # and Eigen alike): dilate the (small) kernel instead.
            kernel, dilation_rate = _dilate_kernel(kernel, dilation_rate), (1,) * rank
        if rank == 3 or (rank == 2 and strides[0] != strides[1] and not _native_ok(x.dtype)):
            # No depthwise kernel (3-D, or unequal strides outside oneDNN): a grouped
            # conv, filter c * M + m reading channel c.
            shape = list(kernel.shape)
            flat = R.Reshape(tensor=kernel, shape=shape[:-2] + [1, shape[-2] * shape[-1]])
            out = _grouped_conv(x, flat, shape[-2], strides, padding, dilation_rate)
        else:
            out = _native_conv(x, kernel, strides, padding, dilation_rate, depthwise=True)
        return _to_format(_back(out, back), data_format)

    def conv_transpose(self, inputs: Tensor, kernel: Tensor, strides: Sequence[int], padding: str,
                       output_padding: Sequence[int] | None, data_format: str,
                       dilation_rate: Sequence[int]) -> Tensor:
        x, kernel, back = _pair(inputs, kernel)
        x = _to_last(x, data_format)
        kernel_size, filters = list(kernel.shape[:-2]), kernel.shape[-2]
        if x.shape[-1] != kernel.shape[-1]:
            raise op_error("conv_transpose", f"inputs with {kernel.shape[-1]} channels (the kernel's last axis)",
                           f"{x.shape[-1]} channels")
        spatial = list(x.shape[1:-1])
        batch = x.shape[0] if x.shape[0] is not None else tf.shape(x)[0]
        strides, dilation_rate = list(strides), list(dilation_rate)
        if not _native_ok(x.dtype) and any(d > 1 for d in dilation_rate):
            kernel = _dilate_kernel(kernel, dilation_rate)
            kernel_size = [(k - 1) * d + 1 for k, d in zip(kernel_size, dilation_rate)]
            dilation_rate = [1] * len(spatial)
        if output_padding is None:
            # TF's own output shape rule is the Keras one here: one native call.
            lengths = [_transpose_length(n, k, s, d, padding, None)
                       for n, k, s, d in zip(spatial, kernel_size, strides, dilation_rate)]
            out = tf.nn.conv_transpose(x, kernel, output_shape=[batch, *lengths, filters], strides=strides,
                                       padding=padding.upper(), dilations=dilation_rate)
            return _to_format(_back(out, back), data_format)
        # With output_padding TF may refuse the shape: take the full ("valid")
        # result, then crop it (or extend it with zeros) to the Keras window.
        full = [(n - 1) * s + (k - 1) * d + 1 for n, s, k, d in zip(spatial, strides, kernel_size, dilation_rate)]
        out = tf.nn.conv_transpose(x, kernel, output_shape=[batch, *full, filters], strides=strides,
                                   padding="VALID", dilations=dilation_rate)
        begin, size, extend = [0], [-1], [[0, 0]]
        for n, k, s, d, p, total in zip(spatial, kernel_size, strides, dilation_rate, output_padding, full):
            before, after = conv_transpose_padding(k, s, d, padding, p)
            start = (k - 1) * d - before
            length = (n - 1) * s + before + after - (k - 1) * d + 1
            begin.append(start)
            size.append(min(length, total - start))
            extend.append([0, max(start + length - total, 0)])
        begin.append(0)
        size.append(-1)
        extend.append([0, 0])
        out = R.Slice(input=out, begin=begin, size=size)
        if any(after for _, after in extend):
            out = tf.pad(out, extend)
        return _to_format(_back(out, back), data_format)

    # ------------------------------------------------------------ pooling
    def _pool(self, kind: str, inputs: Tensor, pool_size: Sequence[int], strides: Sequence[int],
              padding: str, data_format: str) -> Tensor:
        x = _to_last(tensor(inputs), data_format)
        _check_window(f"{'max' if kind == 'MAX' else 'average'}_pool", tuple(x.shape)[1:-1], pool_size,
                      [1] * len(pool_size), padding)
        if kind == "AVG" and x.dtype not in INEXACT:
            x = R.Cast(x=x, DstT=tf.float32)
        if x.dtype == tf.bool:
            out = _native_pool(kind, R.Cast(x=x, DstT=INT32), list(pool_size), list(strides), padding.upper())
            return _to_format(R.Cast(x=out, DstT=tf.bool), data_format)
        return _to_format(_native_pool(kind, x, list(pool_size), list(strides), padding.upper()), data_format)

    def max_pool(self, inputs: Tensor, pool_size: Sequence[int], strides: Sequence[int],
                 padding: str, data_format: str) -> Tensor:
        return self._pool("MAX", inputs, pool_size, strides, padding, data_format)

    def average_pool(self, inputs: Tensor, pool_size: Sequence[int], strides: Sequence[int],
                     padding: str, data_format: str) -> Tensor:
        return self._pool("AVG", inputs, pool_size, strides, padding, data_format)


def _native_pool(kind: str, x: Tensor, pool_size: list[int], strides: list[int], padding: str) -> Tensor:
    """Channels_last pooling on the raw kernels (which, unlike ``tf.nn.pool``,
    take strides larger than the window). 1-D runs as 2-D. 3-D max, and 3-D
    average on dtypes without a 3-D kernel, run as 2-D over (H, W) then along
    D: both are separable, padding included. (``MaxPool3D``'s gradient goes to
    every tied maximum of a window; the separable one goes to the first, as
    the 2-D kernel's and the other engines' do.)"""
    rank = len(pool_size)
    if rank == 1:
        out = _native_pool(kind, R.ExpandDims(input=x, axis=1), [1, *pool_size], [1, *strides], padding)
        return R.Squeeze(input=out, axis=[1])
    ksize, stride = [1, *pool_size, 1], [1, *strides, 1]
    if rank == 2:
        if kind == "MAX":
            return R.MaxPool(input=x, ksize=ksize, strides=stride, padding=padding)
        return R.AvgPool(value=x, ksize=ksize, strides=stride, padding=padding)
    if rank != 3:
        raise op_error(f"{kind.lower()}_pool", "1, 2 or 3 spatial axes", f"shape {tuple(x.shape)}")
    if kind == "AVG" and x.dtype in (tf.float32, tf.bfloat16):
        return R.AvgPool3D(input=x, ksize=ksize, strides=stride, padding=padding)
    _, depth, height, width, channels = x.shape
    planes = _native_pool(kind, R.Reshape(tensor=x, shape=[-1, height, width, channels]),
                          pool_size[1:], strides[1:], padding)
    _, out_h, out_w, _ = planes.shape
    columns = R.Reshape(tensor=planes, shape=[-1, depth, out_h * out_w, channels])
    out = _native_pool(kind, columns, [pool_size[0], 1], [strides[0], 1], padding)
    return R.Reshape(tensor=out, shape=[-1, out.shape[1], out_h, out_w, channels])
